/*-------------------------------------------------------------------------
 *
 * fuzz_unseal.c
 *	  libFuzzer target for opening sealed datagrams (plugin/seal.c).
 *
 * The receiver has a fixed two-key keyring (the corpus key ids belong to
 * it) and accepts plaintext, so every branch of quorum__unseal() is
 * reachable.  Every input must give one of the documented results; an input
 * that opens must re-seal, with the key its id names and its own nonce, to
 * exactly the same bytes, and the same input must be refused as plaintext
 * by a strict receiver.
 *
 * test/fuzz/fuzz_unseal.c
 *
 *-------------------------------------------------------------------------
 */
#include "seal.h"

#include "quorum/error.h"

#define FUZZ_NAME "fuzz_unseal"
#include "fuzz.h"

/* Keys 00..1f and 40..5f, as in test/unit/test_seal.c and the corpus. */
static struct quorum_sealer lenient;	/* both keys, plaintext allowed */
static struct quorum_sealer strict;		/* both keys, no plaintext */
static struct quorum_sealer by_key[2];	/* one key each, to re-seal */
static bool ready;
static uint8_t opened[1 << 16];
static uint8_t resealed[1 << 16];

static void
fuzz_setup(void)
{
	struct quorum_keyring kr = {.count = 2};

	for (int i = 0; i < QUORUM_KEY_BYTES; i++)
	{
		kr.keys[0][i] = (uint8_t) i;
		kr.keys[1][i] = (uint8_t) (0x40 + i);
	}
	FUZZ_CHECK(quorum__sealer_init(&lenient, &kr, true) == 0);
	FUZZ_CHECK(quorum__sealer_init(&strict, &kr, false) == 0);
	for (int k = 0; k < 2; k++)
	{
		struct quorum_keyring one = {.count = 1};

		memcpy(one.keys[0], kr.keys[k], QUORUM_KEY_BYTES);
		FUZZ_CHECK(quorum__sealer_init(&by_key[k], &one, false) == 0);
	}
	ready = true;
}

static uint32_t
fuzz_key_id(const uint8_t *p)
{
	return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16) |
		((uint32_t) p[2] << 8) | p[3];
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int			rc;
	int			strict_rc;

	if (!ready)
		fuzz_setup();
	if (size > sizeof(opened))
		return 0;

	rc = quorum__unseal(&lenient, data, size, opened, sizeof(opened));
	strict_rc = quorum__unseal(&strict, data, size, opened, sizeof(opened));
	FUZZ_CHECK(rc >= 0 || rc == QUORUM_EMALFORMED || rc == QUORUM_EAUTH);

	if (size < QUORUM_SEAL_PLAIN_HEADER_BYTES || data[0] != QUORUM_SEAL_VERSION)
	{
		FUZZ_CHECK(rc == QUORUM_EMALFORMED && strict_rc == QUORUM_EMALFORMED);
		return 0;
	}

	if (fuzz_key_id(data + 1) == 0)
	{
		/* Plaintext: the lenient side opens it as is, the strict one refuses. */
		FUZZ_CHECK(strict_rc == QUORUM_ESTATE);
		FUZZ_CHECK(rc == (int) (size - QUORUM_SEAL_PLAIN_HEADER_BYTES));
		rc = quorum__unseal(&lenient, data, size, opened, sizeof(opened));
		FUZZ_CHECK(memcmp(opened, data + QUORUM_SEAL_PLAIN_HEADER_BYTES,
						  (size_t) rc) == 0);
		return 0;
	}

	FUZZ_CHECK(strict_rc == rc);
	if (rc < 0)
	{
		FUZZ_CHECK(size >= QUORUM_SEAL_OVERHEAD || rc == QUORUM_EMALFORMED);
		return 0;
	}

	/* It opened, so its id is one of ours and re-sealing reproduces it. */
	FUZZ_CHECK(size >= QUORUM_SEAL_OVERHEAD &&
			   rc == (int) (size - QUORUM_SEAL_OVERHEAD));
	for (int k = 0; k < 2; k++)
	{
		if (by_key[k].key_ids[0] != fuzz_key_id(data + 1))
			continue;
		FUZZ_CHECK(quorum__seal(&by_key[k], data + 5, opened, (size_t) rc,
								resealed, sizeof(resealed)) == (int) size);
		FUZZ_CHECK(memcmp(resealed, data, size) == 0);
		return 0;
	}
	FUZZ_CHECK(!"opened with a key id not in the keyring");
	return 0;
}
