/*-------------------------------------------------------------------------
 *
 * scenario.h
 *	  TEST(name) registration for the hand-written scenarios and the helpers
 *	  they share (world creation with the run's seed, golden traces).
 *
 * Each file in scenarios/ declares tests with TEST(name) { ... }; the runner
 * (main_scenarios.c) runs them in name order, each under setjmp, so a failed
 * SIM_* verb ends only its own test.  Worlds made with sim_test_new() are
 * freed by the runner, failed or not.
 *
 * test/sim/scenario.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SIM_SCENARIO_H
#define SIM_SCENARIO_H

#include <stdio.h>

#include "sim.h"
#include "net.h"
#include "host.h"
#include "check.h"

typedef void (*sim_test_fn) (void);

struct sim_test
{
	const char *name;
	sim_test_fn fn;
};

void		sim_test_register(const char *name, sim_test_fn fn);

#define TEST(name) \
	static void test_##name(void); \
	__attribute__((constructor)) static void register_##name(void) \
	{ sim_test_register(#name, test_##name); } \
	static void test_##name(void)

/* Options of the current run (main_scenarios.c). */
struct sim_run_opts
{
	uint64_t	seed;
	bool		rewrite;
	bool		verbose;
	const char *trace_dir;		/* golden traces, relative to the cwd */
	const char *out_dir;		/* where a mismatching trace is written */
};

extern struct sim_run_opts sim_run;

/* Options for n hosts seeded from the run's seed (plus salt). */
void		sim_test_opts(struct sim_opts *opts, unsigned n, uint64_t salt);
/* A world the runner frees at the end of the test; fails the test on ENOMEM. */
struct sim_world *sim_test_new(const struct sim_opts *opts);
/* Free a world of this test early, so that a loop can make many. */
void		sim_test_free(struct sim_world *w);

/* Informational output of a test, shown under its result line. */
void		sim_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Compare the world's captured trace with trace_dir/name.trace byte for byte,
 * or write it there under --rewrite.
 */
void		sim_test_golden(struct sim_world *w, const char *name);

#define SIM_NEW(n) \
	do { struct sim_opts o_; sim_test_opts(&o_, (n), 0); W = sim_test_new(&o_); } while (0)

#endif							/* SIM_SCENARIO_H */
