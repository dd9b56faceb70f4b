/*-------------------------------------------------------------------------
 *
 * keyring.c
 *	  Parsing of the cluster key file into a quorum_keyring.
 *
 * The file is text an operator edits by hand during key rotation: one key
 * per line as 64 hex digits, the first key the primary (the one that seals),
 * the others still accepted when opening.  Errors name the line and what is
 * wrong, but never echo key material.  The text comes from the host, which
 * reads the file: this module does no IO.  A fuzz target exercises it.
 *
 * plugin/keyring.c
 *
 *-------------------------------------------------------------------------
 */
#include "quorum/node.h"
#include "quorum/error.h"
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#define KEYRING_HEX_DIGITS (2 * QUORUM_KEY_BYTES)

static bool
keyring_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static int
keyring_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Decode one trimmed, non-empty, non-comment line into key; indent is how
 * many blanks were trimmed from its start, for the column.  Returns 0 or
 * QUORUM_EINVAL with the reason in errbuf.  A stray character is reported
 * by column rather than by value: it is most likely a typo inside a key.
 */
static int
keyring_parse_line(const char *line, size_t n, unsigned lineno,
				   size_t indent, uint8_t key[QUORUM_KEY_BYTES], char *errbuf,
				   size_t errbuf_len)
{
	for (size_t i = 0; i < n; i++)
	{
		if (keyring_hexval(line[i]) < 0)
			return quorum__errbuf(QUORUM_EINVAL, errbuf, errbuf_len,
								  "line %u: invalid character at column %zu: a key is %d hex digits",
								  lineno, indent + i + 1, KEYRING_HEX_DIGITS);
	}
	if (n != KEYRING_HEX_DIGITS)
		return quorum__errbuf(QUORUM_EINVAL, errbuf, errbuf_len,
							  "line %u: key has %zu hex digits, expected %d",
							  lineno, n, KEYRING_HEX_DIGITS);
	for (size_t i = 0; i < QUORUM_KEY_BYTES; i++)
		key[i] = (uint8_t) (keyring_hexval(line[2 * i]) << 4 |
							keyring_hexval(line[2 * i + 1]));
	return 0;
}

int
quorum_keyring_parse(const char *text, size_t len,
					 struct quorum_keyring *keyring,
					 char *errbuf, size_t errbuf_len)
{
	size_t		pos = 0;
	unsigned	lineno = 0;
	int			rc = 0;

	if (errbuf != NULL && errbuf_len > 0)
		errbuf[0] = '\0';
	if (keyring == NULL || (text == NULL && len > 0))
		return quorum__errbuf(QUORUM_EINVAL, errbuf, errbuf_len, "invalid argument");
	memset(keyring, 0, sizeof(*keyring));

	while (pos < len && rc == 0)
	{
		const char *start = text + pos;
		const char *line = start;
		const char *nl = memchr(line, '\n', len - pos);
		size_t		n = nl != NULL ? (size_t) (nl - line) : len - pos;

		pos += n + (nl != NULL ? 1 : 0);
		lineno++;
		while (n > 0 && keyring_space(line[0]))
		{
			line++;
			n--;
		}
		while (n > 0 && keyring_space(line[n - 1]))
			n--;
		if (n == 0 || line[0] == '#')
			continue;

		if (keyring->count == QUORUM_KEYS_MAX)
		{
			rc = quorum__errbuf(QUORUM_EINVAL, errbuf, errbuf_len,
								"line %u: too many keys (at most %d)",
								lineno, QUORUM_KEYS_MAX);
			break;
		}
		rc = keyring_parse_line(line, n, lineno, (size_t) (line - start),
								keyring->keys[keyring->count],
								errbuf, errbuf_len);
		if (rc == 0)
			keyring->count++;
	}

	if (rc == 0 && keyring->count == 0)
	{
		rc = quorum__errbuf(QUORUM_EINVAL, errbuf, errbuf_len,
							"no key found in %u line%s: expected one key of %d hex digits per line",
							lineno, lineno == 1 ? "" : "s", KEYRING_HEX_DIGITS);
	}
	if (rc != 0)
		OPENSSL_cleanse(keyring, sizeof(*keyring));
	return rc;
}
