/*-------------------------------------------------------------------------
 *
 * bench_common.h
 *	  Shared setup of the simulator benchmarks: a converged cluster of N
 *	  nodes, and small statistics helpers.
 *
 * The benchmarks measure and print; they assert nothing (a cluster that
 * does not converge is reported, not failed).  Setup joins the nodes one
 * after another through n0 at a pace that piggybacking can carry, because
 * the configuration cannot change once a node exists and the measured phase
 * wants push-pull off: with pushpull_interval_ms 0 the only full-state
 * exchange left is the join itself.
 *
 * test/sim/bench_common.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SIM_BENCH_COMMON_H
#define SIM_BENCH_COMMON_H

#include <stdio.h>

#include "sim.h"
#include "net.h"
#include "host.h"
#include "check.h"

struct bench_setup
{
	unsigned	n;				/* nodes converged before measuring */
	unsigned	extra;			/* hosts left down, to be joined later */
	uint64_t	seed;
	quorum_time_ms pushpull_interval_ms;	/* 0 = off */
	bool		meta_slots;		/* keep every member's metadata */
};

/*
 * Build and converge the cluster; NULL (and a message on stderr) if it did
 * not converge within the bound.  *setup_ms is the virtual time it took.
 */
struct sim_world *bench_converged(const struct bench_setup *setup,
								  quorum_time_ms *setup_ms);

/* Wall-clock seconds, for reporting how long a benchmark ran. */
double		bench_wall_s(void);

/* Resident set size of this process, MB (from /proc/self/statm). */
double		bench_rss_mb(void);

/* Sorts v in place and returns its median; min and max through pointers. */
double		bench_median(double *v, size_t n, double *min, double *max);

#endif							/* SIM_BENCH_COMMON_H */
