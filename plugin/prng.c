/*-------------------------------------------------------------------------
 *
 * prng.c
 *	  xoshiro256** (Blackman and Vigna), seeded with splitmix64.
 *
 * Not cryptographic, and need not be: it decides schedules, not secrets.  The
 * nonce prefix drawn from it only has to differ between boots, which the
 * runtime's getrandom() seed provides.
 *
 * plugin/prng.c
 *
 *-------------------------------------------------------------------------
 */
#include "prng.h"

static uint64_t
prng_splitmix64(uint64_t *x)
{
	uint64_t	z = (*x += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static inline uint64_t
prng_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

void
quorum__prng_seed(struct quorum__prng *prng, uint64_t seed)
{
	uint64_t	x = seed;

	for (int i = 0; i < 4; i++)
		prng->s[i] = prng_splitmix64(&x);
}

uint64_t
quorum__prng_next(struct quorum__prng *prng)
{
	uint64_t   *s = prng->s;
	uint64_t	result = prng_rotl(s[1] * 5, 7) * 9;
	uint64_t	t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = prng_rotl(s[3], 45);
	return result;
}

/*
 * Lemire's multiply-shift with rejection, so that small bounds are unbiased
 * and the result does not depend on the platform's modulo.
 */
uint32_t
quorum__prng_below(struct quorum__prng *prng, uint32_t bound)
{
	uint64_t	m;
	uint32_t	low;

	if (bound == 0)
		return 0;
	m = (quorum__prng_next(prng) >> 32) * (uint64_t) bound;
	low = (uint32_t) m;
	if (low < bound)
	{
		uint32_t	threshold = (uint32_t) (-bound) % bound;

		while (low < threshold)
		{
			m = (quorum__prng_next(prng) >> 32) * (uint64_t) bound;
			low = (uint32_t) m;
		}
	}
	return (uint32_t) (m >> 32);
}
