/*-------------------------------------------------------------------------
 *
 * fuzz.h
 *	  What every libFuzzer target here shares: the entry point's prototype
 *	  and FUZZ_CHECK, which aborts (a crash libFuzzer records with its
 *	  input) when a property of the decoder does not hold.
 *
 * A target defines FUZZ_NAME before including this file.
 *
 * test/fuzz/fuzz.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef QUORUM_TEST_FUZZ_H
#define QUORUM_TEST_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond) \
	do { \
		if (!(cond)) \
		{ \
			fprintf(stderr, FUZZ_NAME ": check failed: %s (line %d)\n", #cond, __LINE__); \
			abort(); \
		} \
	} while (0)

#endif							/* QUORUM_TEST_FUZZ_H */
