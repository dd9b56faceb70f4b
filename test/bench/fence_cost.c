/*
 * test/bench/fence_cost.c: what the commit fence adds to a transaction, in
 * nanoseconds, measured on its own.
 *
 * pgbench cannot show a difference of 1% on a shared machine: rounds of the
 * same server differ by several percent.  So this times the operations the
 * fence performs on a server that holds the lease, on the same primitives:
 *
 *   statement   a statement starts (executor and utility hooks): one atomic
 *               64-bit read of the lease's end and one monotonic clock read
 *               through quorum_runtime_now_ms(), the function the fence uses;
 *   commit      a write transaction commits: an atomic add to the in-flight
 *               count (a full barrier), the same lease check, then once its
 *               record is flushed the check after the commit (whether
 *               synchronous standbys are named and hold its end position,
 *               two reads of shared memory, and the lease check again), and
 *               an atomic subtract at the transaction's end.
 *
 * The atomics are C11 sequentially consistent operations, which compile to
 * the instructions PostgreSQL's pg_atomic_* use on this machine (a plain
 * load, lock xadd).  Prints the median, min and max of the rounds, and the
 * share of a transaction given on the command line (microseconds per
 * transaction, as test/bench/fence_overhead.pl reports it).
 *
 * Usage: fence_cost [ROUNDS [us_per_xact ...]]
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "quorum/runtime.h"

#define ITERATIONS 10000000L
#define ROUNDS_MAX 100

static _Atomic uint64_t lease_until_ms;
static _Atomic uint32_t commits_in_flight;
/* WalSndCtl's flag that standbys are named, and their flush position. */
static _Atomic uint32_t standbys_defined;
static _Atomic uint64_t standbys_flush;
static volatile uint64_t sink;

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec * 1e9 + (double) ts.tv_nsec;
}

static int
has_lease(void)
{
	uint64_t	until = atomic_load(&lease_until_ms);

	return until != 0 && quorum_runtime_now_ms() < until;
}

static double
time_statement(void)
{
	double		start = now_ns();
	uint64_t	allowed = 0;

	for (long i = 0; i < ITERATIONS; i++)
		allowed += (uint64_t) has_lease();
	sink = allowed;
	return (now_ns() - start) / ITERATIONS;
}

static double
time_commit(void)
{
	double		start = now_ns();
	uint64_t	allowed = 0;

	for (long i = 0; i < ITERATIONS; i++)
	{
		atomic_fetch_add(&commits_in_flight, 1);
		allowed += (uint64_t) has_lease();
		allowed += (uint64_t) ((!atomic_load_explicit(&standbys_defined, memory_order_relaxed) ||
								atomic_load_explicit(&standbys_flush, memory_order_relaxed) >= (uint64_t) i) &&
							   has_lease());
		atomic_fetch_sub(&commits_in_flight, 1);
	}
	sink = allowed;
	return (now_ns() - start) / ITERATIONS;
}

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return x < y ? -1 : x > y;
}

static void
report(const char *what, double *ns, int rounds)
{
	qsort(ns, (size_t) rounds, sizeof(ns[0]), cmp_double);
	printf("%-9s median %.1f ns, min %.1f, max %.1f (%d rounds of %ld)\n",
		   what, ns[rounds / 2], ns[0], ns[rounds - 1], rounds, ITERATIONS);
}

int
main(int argc, char **argv)
{
	int			rounds = argc > 1 ? atoi(argv[1]) : 10;
	double		statement[ROUNDS_MAX];
	double		commit[ROUNDS_MAX];

	if (rounds < 1 || rounds > ROUNDS_MAX)
	{
		fprintf(stderr, "fence_cost: ROUNDS must be 1 to %d\n", ROUNDS_MAX);
		return 2;
	}
	/* A lease that lasts the whole run, as on a leader. */
	atomic_store(&lease_until_ms, quorum_runtime_now_ms() + 3600 * 1000);
	/* Synchronous mode, every commit already confirmed by the standbys. */
	atomic_store(&standbys_defined, 1);
	atomic_store(&standbys_flush, UINT64_MAX);
	for (int r = 0; r < rounds; r++)
	{
		statement[r] = time_statement();
		commit[r] = time_commit();
	}
	report("statement", statement, rounds);
	report("commit", commit, rounds);
	for (int a = 2; a < argc; a++)
	{
		double		us = atof(argv[a]);

		if (us <= 0)
			continue;
		printf("share of a %.1f us transaction: %.3f%% per statement, %.3f%% per write commit\n",
			   us, statement[rounds / 2] / (us * 10), commit[rounds / 2] / (us * 10));
	}
	return 0;
}
