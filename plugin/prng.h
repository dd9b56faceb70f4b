/*-------------------------------------------------------------------------
 *
 * prng.h
 *	  The node's only source of randomness: xoshiro256** seeded through
 *	  splitmix64 from quorum_config.seed.
 *
 * Every random choice a node makes (probe order, indirect helpers, nonce
 * prefix, push-pull partner) comes from here, so one seed reproduces a whole
 * simulated run bit for bit.
 *
 * plugin/prng.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef QUORUM_PRNG_H
#define QUORUM_PRNG_H

#include <stdint.h>

struct quorum__prng
{
	uint64_t	s[4];
};

void		quorum__prng_seed(struct quorum__prng *prng, uint64_t seed);
uint64_t	quorum__prng_next(struct quorum__prng *prng);

/* Uniform in [0, bound); bound 0 gives 0. */
uint32_t	quorum__prng_below(struct quorum__prng *prng, uint32_t bound);

#endif							/* QUORUM_PRNG_H */
