/*-------------------------------------------------------------------------
 *
 * fuzz_keyring.c
 *	  libFuzzer target for the key file parser (plugin/keyring.c).
 *
 * Any text must parse to 1..QUORUM_KEYS_MAX keys, or fail with
 * QUORUM_EINVAL, an empty keyring and a terminated message that names the
 * problem.  Keys that parsed, written back one per line, must parse to the
 * same keyring.
 *
 * test/fuzz/fuzz_keyring.c
 *
 *-------------------------------------------------------------------------
 */
#include "quorum/node.h"
#include "quorum/error.h"

#define FUZZ_NAME "fuzz_keyring"
#include "fuzz.h"

static struct quorum_keyring kr;
static struct quorum_keyring again;
static const uint8_t zero_keys[sizeof(kr.keys)];
static char text[QUORUM_KEYS_MAX * (2 * QUORUM_KEY_BYTES + 1) + 1];

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		errbuf[128];
	int			rc;
	size_t		len = 0;

	memset(errbuf, 'X', sizeof(errbuf));
	rc = quorum_keyring_parse((const char *) data, size, &kr, errbuf, sizeof(errbuf));
	FUZZ_CHECK(memchr(errbuf, '\0', sizeof(errbuf)) != NULL);
	if (rc != 0)
	{
		FUZZ_CHECK(rc == QUORUM_EINVAL);
		FUZZ_CHECK(errbuf[0] != '\0');
		FUZZ_CHECK(kr.count == 0 && memcmp(kr.keys, zero_keys, sizeof(zero_keys)) == 0);
		return 0;
	}
	FUZZ_CHECK(errbuf[0] == '\0');
	FUZZ_CHECK(kr.count >= 1 && kr.count <= QUORUM_KEYS_MAX);

	for (unsigned k = 0; k < kr.count; k++)
	{
		for (int i = 0; i < QUORUM_KEY_BYTES; i++)
			len += (size_t) snprintf(text + len, sizeof(text) - len, "%02x",
									 kr.keys[k][i]);
		text[len++] = '\n';
	}
	FUZZ_CHECK(quorum_keyring_parse(text, len, &again, NULL, 0) == 0);
	FUZZ_CHECK(again.count == kr.count);
	FUZZ_CHECK(memcmp(again.keys, kr.keys, sizeof(kr.keys)) == 0);
	return 0;
}
