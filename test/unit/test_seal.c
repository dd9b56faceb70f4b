/*-------------------------------------------------------------------------
 *
 * test_seal.c
 *	  Unit tests of datagram sealing (plugin/seal.c) and of key file parsing
 *	  (plugin/keyring.c).
 *
 * The known-answer vector was computed outside libquorum (Python's
 * cryptography package, AESGCM with the 17-byte header as associated data),
 * so it pins the sealed layout of seal.h, not just self-consistency.
 *
 * test/unit/test_seal.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quorum/error.h"
#include "quorum/node.h"
#include "seal.h"

#define BUF_BYTES 2048

static uint8_t sealed[BUF_BYTES];
static uint8_t opened[BUF_BYTES];
static uint8_t plain[BUF_BYTES];

/* key = 00 01 .. 1f, nonce = a0 .. ab, plaintext = "pg_quorum seal test vector" */
static const uint8_t kat_sealed[] = {
	0x01, 0x63, 0x0d, 0xcd, 0x29, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6,
	0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0x96, 0x7f, 0x23, 0x5c, 0x30, 0xa4, 0x70,
	0xca, 0x0f, 0x45, 0xf4, 0xb6, 0x66, 0x16, 0xe0, 0xaa, 0x15, 0xdf, 0x2d,
	0x30, 0xe4, 0xd2, 0x21, 0x18, 0xf3, 0x7c, 0xdd, 0xcf, 0xa8, 0x7b, 0x78,
	0x3a, 0x33, 0xb4, 0x36, 0x32, 0x9b, 0xf2, 0x89, 0x32, 0xe6, 0xe3
};
static const char kat_plain[] = "pg_quorum seal test vector";

static void
make_key(uint8_t key[QUORUM_KEY_BYTES], uint8_t first)
{
	for (int i = 0; i < QUORUM_KEY_BYTES; i++)
		key[i] = (uint8_t) (first + i);
}

/* A keyring of n keys whose first bytes are firsts[0..n-1]. */
static void
make_keyring(struct quorum_keyring *kr, const uint8_t *firsts, unsigned n)
{
	memset(kr, 0, sizeof(*kr));
	kr->count = n;
	for (unsigned i = 0; i < n; i++)
		make_key(kr->keys[i], firsts[i]);
}

static void
init_sealer(struct quorum_sealer *s, const uint8_t *firsts, unsigned n,
			bool allow_plaintext)
{
	struct quorum_keyring kr;

	make_keyring(&kr, firsts, n);
	assert_int_equal(quorum__sealer_init(s, &kr, allow_plaintext), 0);
}

static void
make_nonce(uint8_t nonce[QUORUM_SEAL_NONCE_BYTES], uint64_t counter)
{
	memset(nonce, 0x11, QUORUM_SEAL_NONCE_BYTES);
	for (int i = 0; i < 8; i++)
		nonce[QUORUM_SEAL_NONCE_BYTES - 1 - i] = (uint8_t) (counter >> (8 * i));
}

static void
fill_plain(size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		plain[i] = (uint8_t) (seed + i * 7);
}

static const uint8_t k0[] = {0x00};
static const uint8_t k1[] = {0x40};

/* ---------------------------------------------------------------------
 * Sealing
 * ---------------------------------------------------------------------
 */

static void
test_key_id(void **state)
{
	uint8_t		key[QUORUM_KEY_BYTES] = {0};

	/* SHA-256 of 32 zero bytes starts 66687aad. */
	assert_int_equal(quorum__seal_key_id(key), 0x66687aad);
	make_key(key, 0);
	assert_int_equal(quorum__seal_key_id(key), 0x630dcd29);
	key[31] ^= 1;
	assert_int_not_equal(quorum__seal_key_id(key), 0x630dcd29);
}

/*
 * A key whose SHA-256 starts with four zero bytes (found by brute force) must
 * still get a non-zero id, since id 0 means plaintext.
 */
static void
test_key_id_never_zero(void **state)
{
	/* SHA-256 of this key is 00000000 64d2fb23... */
	static const uint8_t zero_prefix_key[QUORUM_KEY_BYTES] = {
		0x45, 0x6f, 0x3c, 0x04, 0x01
	};
	struct quorum_keyring kr = {.count = 1};
	struct quorum_sealer s;
	uint8_t		nonce[QUORUM_SEAL_NONCE_BYTES];
	int			n;

	assert_int_equal(quorum__seal_key_id(zero_prefix_key), 1);

	memcpy(kr.keys[0], zero_prefix_key, QUORUM_KEY_BYTES);
	assert_int_equal(quorum__sealer_init(&s, &kr, false), 0);
	make_nonce(nonce, 1);
	fill_plain(10, 1);
	n = quorum__seal(&s, nonce, plain, 10, sealed, sizeof(sealed));
	assert_int_equal(n, 10 + QUORUM_SEAL_OVERHEAD);
	assert_memory_equal(sealed + 1, "\0\0\0\1", 4);
	assert_int_equal(quorum__unseal(&s, sealed, (size_t) n, opened, sizeof(opened)), 10);
	assert_memory_equal(opened, plain, 10);
	quorum__sealer_destroy(&s);
}

static void
test_known_answer(void **state)
{
	struct quorum_sealer s;
	uint8_t		nonce[QUORUM_SEAL_NONCE_BYTES];
	size_t		len = strlen(kat_plain);

	for (int i = 0; i < QUORUM_SEAL_NONCE_BYTES; i++)
		nonce[i] = (uint8_t) (0xa0 + i);
	init_sealer(&s, k0, 1, false);
	assert_int_equal(quorum__seal(&s, nonce, (const uint8_t *) kat_plain, len,
								  sealed, sizeof(sealed)),
					 sizeof(kat_sealed));
	assert_memory_equal(sealed, kat_sealed, sizeof(kat_sealed));
	assert_int_equal(quorum__unseal(&s, kat_sealed, sizeof(kat_sealed),
									opened, sizeof(opened)), len);
	assert_memory_equal(opened, kat_plain, len);
	quorum__sealer_destroy(&s);
}

/* Many datagrams through the same reused contexts, of every small size. */
static void
test_round_trip_many(void **state)
{
	struct quorum_sealer s;
	uint8_t		nonce[QUORUM_SEAL_NONCE_BYTES];

	init_sealer(&s, k0, 1, false);
	for (size_t len = 0; len <= 1400; len += (len < 64 ? 1 : 97))
	{
		int			n;

		make_nonce(nonce, len + 1);
		fill_plain(len, (unsigned) len);
		n = quorum__seal(&s, nonce, plain, len, sealed, sizeof(sealed));
		assert_int_equal(n, (int) (len + QUORUM_SEAL_OVERHEAD));
		assert_int_equal(sealed[0], QUORUM_SEAL_VERSION);
		assert_memory_equal(sealed + 5, nonce, QUORUM_SEAL_NONCE_BYTES);
		if (len >= 16)
			assert_memory_not_equal(sealed + QUORUM_SEAL_HEADER_BYTES, plain, len);
		assert_int_equal(quorum__unseal(&s, sealed, (size_t) n, opened,
										sizeof(opened)), (int) len);
		assert_memory_equal(opened, plain, len);
	}
	quorum__sealer_destroy(&s);
}

/* Flipping any bit of any byte must fail, never open to something else. */
static void
test_tamper_every_byte(void **state)
{
	struct quorum_sealer s;
	uint8_t		nonce[QUORUM_SEAL_NONCE_BYTES];
	size_t		len = 100;
	int			n;

	init_sealer(&s, k0, 1, false);
	make_nonce(nonce, 9);
	fill_plain(len, 3);
	n = quorum__seal(&s, nonce, plain, len, sealed, sizeof(sealed));
	assert_int_equal(n, (int) (len + QUORUM_SEAL_OVERHEAD));

	for (int i = 0; i < n; i++)
	{
		for (int bit = 0; bit < 8; bit++)
		{
			int			rc;

			sealed[i] ^= (uint8_t) (1u << bit);
			memset(opened, 0, sizeof(opened));
			rc = quorum__unseal(&s, sealed, (size_t) n, opened, sizeof(opened));
			if (i == 0)
				assert_int_equal(rc, QUORUM_EMALFORMED);
			else
				assert_int_equal(rc, QUORUM_EAUTH);
			/* No unauthenticated plaintext is left behind. */
			for (size_t j = 0; j < len; j++)
				assert_int_equal(opened[j], 0);
			sealed[i] ^= (uint8_t) (1u << bit);
		}
	}
	assert_int_equal(quorum__unseal(&s, sealed, (size_t) n, opened, sizeof(opened)),
					 (int) len);
	quorum__sealer_destroy(&s);
}

static void
test_truncated_or_extended(void **state)
{
	struct quorum_sealer s;
	uint8_t		nonce[QUORUM_SEAL_NONCE_BYTES];
	int			n;

	init_sealer(&s, k0, 1, false);
	make_nonce(nonce, 5);
	fill_plain(40, 5);
	n = quorum__seal(&s, nonce, plain, 40, sealed, sizeof(sealed));

	for (int len = 0; len < n; len++)
	{
		int			rc = quorum__unseal(&s, sealed, (size_t) len, opened,
										sizeof(opened));

		if (len < QUORUM_SEAL_OVERHEAD)
			assert_int_equal(rc, QUORUM_EMALFORMED);
		else
			assert_int_equal(rc, QUORUM_EAUTH);
	}
	sealed[n] = 0;
	assert_int_equal(quorum__unseal(&s, sealed, (size_t) n + 1, opened,
									sizeof(opened)), QUORUM_EAUTH);
	quorum__sealer_destroy(&s);
}

static void
test_wrong_key(void **state)
{
	struct quorum_sealer a;
	struct quorum_sealer b;
	uint8_t		nonce[QUORUM_SEAL_NONCE_BYTES];
	int			n;

	init_sealer(&a, k0, 1, false);
	init_sealer(&b, k1, 1, false);
	make_nonce(nonce, 1);
	fill_plain(30, 1);
	n = quorum__seal(&a, nonce, plain, 30, sealed, sizeof(sealed));
	assert_int_equal(quorum__unseal(&b, sealed, (size_t) n, opened, sizeof(opened)),
					 QUORUM_EAUTH);

	/* Same key id but a different key (forged id): authentication fails. */
	memcpy(sealed + 1, "\0\0\0\0", 4);
	{
		uint32_t	id_b = quorum__seal_key_id(b.keys[0]);

		sealed[1] = (uint8_t) (id_b >> 24);
		sealed[2] = (uint8_t) (id_b >> 16);
		sealed[3] = (uint8_t) (id_b >> 8);
		sealed[4] = (uint8_t) id_b;
	}
	assert_int_equal(quorum__unseal(&b, sealed, (size_t) n, opened, sizeof(opened)),
					 QUORUM_EAUTH);
	quorum__sealer_destroy(&a);
	quorum__sealer_destroy(&b);
}

/*
 * Rotation: old = [k0]; during rotation = [k1, k0]; after = [k1].  Nodes in
 * the middle seal with k1 and still open k0; the old node cannot open k1.
 */
static void
test_keyring_rotation(void **state)
{
	static const uint8_t mid_keys[] = {0x40, 0x00};
	struct quorum_sealer old_node;
	struct quorum_sealer mid;
	struct quorum_sealer new_node;
	uint8_t		nonce[QUORUM_SEAL_NONCE_BYTES];
	int			n;

	init_sealer(&old_node, k0, 1, false);
	init_sealer(&mid, mid_keys, 2, false);
	init_sealer(&new_node, k1, 1, false);
	fill_plain(64, 8);

	make_nonce(nonce, 1);
	n = quorum__seal(&old_node, nonce, plain, 64, sealed, sizeof(sealed));
	assert_int_equal(quorum__unseal(&mid, sealed, (size_t) n, opened, sizeof(opened)), 64);
	assert_memory_equal(opened, plain, 64);
	assert_int_equal(quorum__unseal(&new_node, sealed, (size_t) n, opened,
									sizeof(opened)), QUORUM_EAUTH);

	make_nonce(nonce, 2);
	n = quorum__seal(&mid, nonce, plain, 64, sealed, sizeof(sealed));
	assert_int_equal(quorum__seal_key_id(mid.keys[0]),
					 ((uint32_t) sealed[1] << 24) | ((uint32_t) sealed[2] << 16) |
					 ((uint32_t) sealed[3] << 8) | sealed[4]);
	assert_int_equal(quorum__unseal(&new_node, sealed, (size_t) n, opened,
									sizeof(opened)), 64);
	assert_memory_equal(opened, plain, 64);
	assert_int_equal(quorum__unseal(&mid, sealed, (size_t) n, opened, sizeof(opened)), 64);
	assert_int_equal(quorum__unseal(&old_node, sealed, (size_t) n, opened,
									sizeof(opened)), QUORUM_EAUTH);

	quorum__sealer_destroy(&old_node);
	quorum__sealer_destroy(&mid);
	quorum__sealer_destroy(&new_node);
}

/* The same key listed twice (so one id twice) and every slot filled. */
static void
test_duplicate_and_full_keyring(void **state)
{
	static const uint8_t dup[] = {0x40, 0x40};
	static const uint8_t full[QUORUM_KEYS_MAX] = {1, 2, 3, 4, 5, 6, 7, 0x40};
	struct quorum_sealer a;
	struct quorum_sealer b;
	uint8_t		nonce[QUORUM_SEAL_NONCE_BYTES];
	int			n;

	init_sealer(&a, dup, 2, false);
	init_sealer(&b, full, QUORUM_KEYS_MAX, false);
	make_nonce(nonce, 3);
	fill_plain(20, 2);
	n = quorum__seal(&a, nonce, plain, 20, sealed, sizeof(sealed));
	assert_int_equal(quorum__unseal(&a, sealed, (size_t) n, opened, sizeof(opened)), 20);
	/* The last slot of a full keyring still opens. */
	assert_int_equal(quorum__unseal(&b, sealed, (size_t) n, opened, sizeof(opened)), 20);
	assert_memory_equal(opened, plain, 20);
	quorum__sealer_destroy(&a);
	quorum__sealer_destroy(&b);
}

static void
test_plaintext_mode(void **state)
{
	struct quorum_keyring none = {0};
	struct quorum_sealer open_s;
	struct quorum_sealer keyed;
	struct quorum_sealer keyed_lenient;
	uint8_t		nonce[QUORUM_SEAL_NONCE_BYTES];
	int			n;

	/* No keys needs an explicit opt-in. */
	assert_int_equal(quorum__sealer_init(&open_s, &none, false), QUORUM_EINVAL);
	assert_int_equal(quorum__sealer_init(&open_s, &none, true), 0);

	make_nonce(nonce, 1);
	fill_plain(50, 9);
	n = quorum__seal(&open_s, nonce, plain, 50, sealed, sizeof(sealed));
	assert_int_equal(n, 50 + QUORUM_SEAL_PLAIN_HEADER_BYTES);
	assert_int_equal(sealed[0], QUORUM_SEAL_VERSION);
	assert_memory_equal(sealed + 1, "\0\0\0\0", 4);
	assert_memory_equal(sealed + 5, plain, 50);
	assert_int_equal(quorum__unseal(&open_s, sealed, (size_t) n, opened,
									sizeof(opened)), 50);
	assert_memory_equal(opened, plain, 50);
	/* An empty plaintext datagram is just its header. */
	assert_int_equal(quorum__unseal(&open_s, sealed, 5, opened, sizeof(opened)), 0);

	/* A keyed node refuses plaintext unless it also allows it. */
	init_sealer(&keyed, k0, 1, false);
	assert_int_equal(quorum__unseal(&keyed, sealed, (size_t) n, opened,
									sizeof(opened)), QUORUM_ESTATE);
	init_sealer(&keyed_lenient, k0, 1, true);
	assert_int_equal(quorum__unseal(&keyed_lenient, sealed, (size_t) n, opened,
									sizeof(opened)), 50);

	/* ...but still seals with its key, which a keyless node cannot open. */
	n = quorum__seal(&keyed_lenient, nonce, plain, 50, sealed, sizeof(sealed));
	assert_int_equal(n, 50 + QUORUM_SEAL_OVERHEAD);
	assert_int_equal(quorum__unseal(&open_s, sealed, (size_t) n, opened,
									sizeof(opened)), QUORUM_EAUTH);

	quorum__sealer_destroy(&open_s);
	quorum__sealer_destroy(&keyed);
	quorum__sealer_destroy(&keyed_lenient);
}

static void
test_short_buffers(void **state)
{
	struct quorum_keyring none = {0};
	struct quorum_sealer s;
	struct quorum_sealer p;
	uint8_t		nonce[QUORUM_SEAL_NONCE_BYTES];
	int			n;

	init_sealer(&s, k0, 1, false);
	assert_int_equal(quorum__sealer_init(&p, &none, true), 0);
	make_nonce(nonce, 4);
	fill_plain(100, 4);

	for (size_t out_len = 0; out_len < 100 + QUORUM_SEAL_OVERHEAD; out_len++)
		assert_int_equal(quorum__seal(&s, nonce, plain, 100, sealed, out_len),
						 QUORUM_ENOSPACE);
	n = quorum__seal(&s, nonce, plain, 100, sealed, 100 + QUORUM_SEAL_OVERHEAD);
	assert_int_equal(n, 100 + QUORUM_SEAL_OVERHEAD);
	for (size_t out_len = 0; out_len < 100; out_len++)
		assert_int_equal(quorum__unseal(&s, sealed, (size_t) n, opened, out_len),
						 QUORUM_ENOSPACE);
	assert_int_equal(quorum__unseal(&s, sealed, (size_t) n, opened, 100), 100);

	for (size_t out_len = 0; out_len < 100 + QUORUM_SEAL_PLAIN_HEADER_BYTES; out_len++)
		assert_int_equal(quorum__seal(&p, nonce, plain, 100, sealed, out_len),
						 QUORUM_ENOSPACE);
	n = quorum__seal(&p, nonce, plain, 100, sealed, sizeof(sealed));
	assert_int_equal(quorum__unseal(&p, sealed, (size_t) n, opened, 99),
					 QUORUM_ENOSPACE);
	assert_int_equal(quorum__unseal(&p, sealed, (size_t) n, opened, 100), 100);

	quorum__sealer_destroy(&s);
	quorum__sealer_destroy(&p);
}

static void
test_malformed_headers(void **state)
{
	struct quorum_keyring none = {0};
	struct quorum_sealer s;
	struct quorum_sealer p;
	uint8_t		nonce[QUORUM_SEAL_NONCE_BYTES];
	int			n;

	init_sealer(&s, k0, 1, true);
	assert_int_equal(quorum__sealer_init(&p, &none, true), 0);
	make_nonce(nonce, 4);
	fill_plain(10, 4);
	n = quorum__seal(&s, nonce, plain, 10, sealed, sizeof(sealed));

	for (unsigned v = 0; v < 256; v++)
	{
		if (v == QUORUM_SEAL_VERSION)
			continue;
		sealed[0] = (uint8_t) v;
		assert_int_equal(quorum__unseal(&s, sealed, (size_t) n, opened,
										sizeof(opened)), QUORUM_EMALFORMED);
	}
	sealed[0] = QUORUM_SEAL_VERSION;
	for (size_t len = 0; len < QUORUM_SEAL_PLAIN_HEADER_BYTES; len++)
		assert_int_equal(quorum__unseal(&p, sealed, len, opened, sizeof(opened)),
						 QUORUM_EMALFORMED);
	/* A keyless node does not know any key id. */
	assert_int_equal(quorum__unseal(&p, sealed, (size_t) n, opened, sizeof(opened)),
					 QUORUM_EAUTH);

	assert_int_equal(quorum__unseal(NULL, sealed, (size_t) n, opened, sizeof(opened)),
					 QUORUM_EINVAL);
	assert_int_equal(quorum__unseal(&s, NULL, 10, opened, sizeof(opened)),
					 QUORUM_EINVAL);
	assert_int_equal(quorum__seal(&s, NULL, plain, 10, sealed, sizeof(sealed)),
					 QUORUM_EINVAL);
	assert_int_equal(quorum__seal(&s, nonce, NULL, 10, sealed, sizeof(sealed)),
					 QUORUM_EINVAL);
	quorum__sealer_destroy(&s);
	quorum__sealer_destroy(&p);
}

static void
test_init_and_destroy(void **state)
{
	struct quorum_keyring kr;
	struct quorum_sealer s;
	static const uint8_t zero[sizeof(s.keys)];

	make_keyring(&kr, k0, 1);
	kr.count = QUORUM_KEYS_MAX + 1;
	assert_int_equal(quorum__sealer_init(&s, &kr, true), QUORUM_EINVAL);
	assert_int_equal(quorum__sealer_init(NULL, &kr, true), QUORUM_EINVAL);
	assert_int_equal(quorum__sealer_init(&s, NULL, true), QUORUM_EINVAL);

	init_sealer(&s, k0, 1, false);
	assert_int_equal(s.count, 1);
	assert_int_equal(s.key_ids[0], 0x630dcd29);
	assert_non_null(s.enc_ctx);
	quorum__sealer_destroy(&s);
	/* Key material is wiped, not just freed. */
	assert_memory_equal(s.keys, zero, sizeof(s.keys));
	assert_int_equal(s.count, 0);
	assert_null(s.enc_ctx);
	/* A destroyed sealer refuses to seal rather than fall back to plaintext. */
	assert_int_equal(quorum__seal(&s, (const uint8_t *) "123456789012",
								  (const uint8_t *) "x", 1, sealed, sizeof(sealed)),
					 QUORUM_EINVAL);
	/* Destroy is safe to repeat. */
	quorum__sealer_destroy(&s);
	quorum__sealer_destroy(NULL);
}

/* ---------------------------------------------------------------------
 * Key file parsing
 * ---------------------------------------------------------------------
 */

#define HEX_A "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define HEX_B "404142434445464748494A4B4C4D4E4F505152535455565758595A5B5C5D5E5F"

static struct quorum_keyring parsed;
static char errbuf[256];

static int
parse(const char *text)
{
	memset(errbuf, 0, sizeof(errbuf));
	return quorum_keyring_parse(text, strlen(text), &parsed, errbuf, sizeof(errbuf));
}

static void
assert_parse_error(const char *text, const char *expected_part)
{
	static const uint8_t zero[sizeof(parsed.keys)];

	assert_int_equal(parse(text), QUORUM_EINVAL);
	if (strstr(errbuf, expected_part) == NULL)
		fail_msg("error \"%s\" does not contain \"%s\"", errbuf, expected_part);
	/* A failed parse leaves no keys, not even the good ones before. */
	assert_int_equal(parsed.count, 0);
	assert_memory_equal(parsed.keys, zero, sizeof(parsed.keys));
}

static void
test_keyring_parse_good(void **state)
{
	uint8_t		a[QUORUM_KEY_BYTES];
	uint8_t		b[QUORUM_KEY_BYTES];
	char		text[1024];

	make_key(a, 0x00);
	make_key(b, 0x40);

	assert_int_equal(parse(HEX_A), 0);
	assert_int_equal(parsed.count, 1);
	assert_memory_equal(parsed.keys[0], a, QUORUM_KEY_BYTES);
	assert_string_equal(errbuf, "");

	/* Comments, blank lines, surrounding blanks, CRLF, upper case. */
	assert_int_equal(parse("# cluster key, rotated 2024-05\n"
						   "\n"
						   "   " HEX_B " \t\r\n"
						   "  # old key, remove after rollout\n"
						   "\t\r\n"
						   HEX_A "\n"), 0);
	assert_int_equal(parsed.count, 2);
	assert_memory_equal(parsed.keys[0], b, QUORUM_KEY_BYTES);
	assert_memory_equal(parsed.keys[1], a, QUORUM_KEY_BYTES);

	/* Exactly the most keys allowed. */
	text[0] = '\0';
	for (int i = 0; i < QUORUM_KEYS_MAX; i++)
		strcat(text, i % 2 ? HEX_A "\n" : HEX_B "\n");
	assert_int_equal(parse(text), 0);
	assert_int_equal(parsed.count, QUORUM_KEYS_MAX);

	/* len is honoured: nothing after it is read. */
	assert_int_equal(quorum_keyring_parse(HEX_A "zz", 64, &parsed, NULL, 0), 0);
	assert_int_equal(parsed.count, 1);
}

static void
test_keyring_parse_errors(void **state)
{
	char		text[1024];

	assert_parse_error("0001\n", "line 1: key has 4 hex digits, expected 64");
	assert_parse_error("# c\n\n" HEX_A "0\n", "line 3: key has 65 hex digits");
	assert_parse_error(HEX_A "\n" "0" HEX_A "\n", "line 2: key has 65");
	assert_parse_error(HEX_A "\n" HEX_A "\n" "  00010203g5\n",
					   "line 3: invalid character at column 11");
	assert_parse_error("000102030405060708090a0b0c0d0e0f 101112131415161718191a1b1c1d1e1f\n",
					   "line 1: invalid character at column 33");
	/* A trailing comment is not a comment. */
	assert_parse_error(HEX_A " # primary\n", "line 1: invalid character at column 65");
	assert_parse_error("", "no key found");
	assert_parse_error("# only a comment\n\n   \n", "no key found in 3 lines");

	text[0] = '\0';
	for (int i = 0; i < QUORUM_KEYS_MAX + 1; i++)
		strcat(text, HEX_A "\n# c\n");
	assert_parse_error(text, "line 17: too many keys (at most 8)");

	/* A NUL inside the given length is a bad character, not an end. */
	memcpy(text, HEX_A, 64);
	text[10] = '\0';
	assert_int_equal(quorum_keyring_parse(text, 64, &parsed, errbuf, sizeof(errbuf)),
					 QUORUM_EINVAL);
	assert_non_null(strstr(errbuf, "line 1: invalid character at column 11"));

	/* A tiny or absent error buffer is fine. */
	assert_int_equal(quorum_keyring_parse("x", 1, &parsed, errbuf, 8), QUORUM_EINVAL);
	assert_int_equal(strlen(errbuf), 7);
	assert_int_equal(quorum_keyring_parse("x", 1, &parsed, NULL, 0), QUORUM_EINVAL);
	assert_int_equal(quorum_keyring_parse(NULL, 0, &parsed, errbuf, sizeof(errbuf)),
					 QUORUM_EINVAL);
	assert_int_equal(quorum_keyring_parse(NULL, 5, &parsed, errbuf, sizeof(errbuf)),
					 QUORUM_EINVAL);
	assert_int_equal(quorum_keyring_parse(HEX_A, 64, NULL, errbuf, sizeof(errbuf)),
					 QUORUM_EINVAL);
}

/* The parsed keyring works with the sealer: the file format is the one used. */
static void
test_keyring_parse_to_sealer(void **state)
{
	struct quorum_sealer s;
	uint8_t		nonce[QUORUM_SEAL_NONCE_BYTES];

	for (int i = 0; i < QUORUM_SEAL_NONCE_BYTES; i++)
		nonce[i] = (uint8_t) (0xa0 + i);
	assert_int_equal(parse(HEX_A), 0);
	assert_int_equal(quorum__sealer_init(&s, &parsed, false), 0);
	assert_int_equal(quorum__seal(&s, nonce, (const uint8_t *) kat_plain,
								  strlen(kat_plain), sealed, sizeof(sealed)),
					 sizeof(kat_sealed));
	assert_memory_equal(sealed, kat_sealed, sizeof(kat_sealed));
	quorum__sealer_destroy(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_id),
		cmocka_unit_test(test_key_id_never_zero),
		cmocka_unit_test(test_known_answer),
		cmocka_unit_test(test_round_trip_many),
		cmocka_unit_test(test_tamper_every_byte),
		cmocka_unit_test(test_truncated_or_extended),
		cmocka_unit_test(test_wrong_key),
		cmocka_unit_test(test_keyring_rotation),
		cmocka_unit_test(test_duplicate_and_full_keyring),
		cmocka_unit_test(test_plaintext_mode),
		cmocka_unit_test(test_short_buffers),
		cmocka_unit_test(test_malformed_headers),
		cmocka_unit_test(test_init_and_destroy),
		cmocka_unit_test(test_keyring_parse_good),
		cmocka_unit_test(test_keyring_parse_errors),
		cmocka_unit_test(test_keyring_parse_to_sealer),
	};

	return cmocka_run_group_tests_name("seal", tests, NULL, NULL);
}
