/*-------------------------------------------------------------------------
 *
 * bench_election.c
 *	  The election's figures: time from a leader's crash to a new leader
 *	  holding the lease, and the traffic of a steady cluster, for 3, 5 and
 *	  7 voters with the default timings.
 *
 *	  bench-election [--runs R] [--loss P] [--window-s T] [--resign-only]
 *
 * Failover: R seeds per size.  Each boots a cluster of voters, waits for a
 * leader with a lease, lets it run for a random 1-2 s (so the crash lands
 * anywhere in a heartbeat interval), crashes the leader, and measures the
 * virtual time until another node holds the lease and everyone running
 * follows it.  The floor is the election timeout itself: the survivors wait
 * election_timeout_min_ms (1200 ms) after the last heartbeat before they
 * may vote.  Resignation: the same, but the leader resigns 1 ms before it
 * crashes, as the pg_quorum worker does when its postmaster dies; the
 * others then need no timeout (--resign-only measures this alone).  Steady traffic: a stable cluster of voters only, counting every
 * sealed datagram (gossip and election) and the election's share, per
 * second of virtual time.  The benchmark measures; it asserts nothing.
 *
 * test/sim/bench_election.c
 *
 *-------------------------------------------------------------------------
 */
#include "bench_common.h"

#include <stdlib.h>
#include <string.h>

static bool
bench_stable(struct sim_world *w, int *leader)
{
	return sim_check_leader_stable(w, leader, NULL, 0);
}

static struct sim_world *
bench_world(unsigned voters, uint64_t seed, double loss)
{
	struct sim_opts o;
	struct sim_world *w;

	sim_opts_init(&o, voters, seed);
	o.join_spread_ms = 200;
	o.trace = false;
	o.check_level = SIM_CHECK_EVENTS;
	sim_opts_election(&o, voters, 0);
	w = sim_world_new(&o);
	if (w != NULL)
		w->net->params.loss = loss;
	return w;
}

/* Virtual ms from the crash to a new stable leader; -1 if none in 30 s. */
static double
bench_failover_once(unsigned voters, uint64_t seed, double loss, bool resign)
{
	struct sim_world *w = bench_world(voters, seed, loss);
	quorum_time_ms crash_at;
	int			leader = -1,
				old;
	double		took = -1;

	if (w == NULL)
		return -1;
	/* A steady cluster: gossip converged, a leader with a lease. */
	while (!w->failed && w->now_ms < 30000 &&
		   !(sim_check_converged(w, NULL, 0) && bench_stable(w, &leader)))
		sim_run_for(w, 10);
	sim_run_for(w, 1000 + sim_rng_below(&w->rng, 1000));
	if (w->failed || !bench_stable(w, &leader))
		goto out;
	old = leader;
	crash_at = w->now_ms;
	/* As the worker does when its postmaster dies: resign, then exit. */
	if (resign)
	{
		sim_host_command_named(w, (unsigned) old, QUORUM_CMD_RESIGN, "");
		sim_run_for(w, 1);
	}
	sim_host_crash(w, (unsigned) old);
	while (!w->failed && w->now_ms - crash_at < 30000)
	{
		sim_run_for(w, 1);
		if (bench_stable(w, &leader) && leader != old)
		{
			took = (double) (w->now_ms - crash_at);
			break;
		}
	}
out:
	if (w->failed)
		fprintf(stderr, "bench: %s\n", w->fail_msg);
	sim_world_free(w);
	return took;
}

static void
bench_failover(unsigned voters, unsigned runs, double loss, bool resign)
{
	double	   *t = calloc(runs, sizeof(double));
	size_t		n = 0;
	double		lo,
				hi,
				median;

	if (t == NULL)
		return;
	for (unsigned r = 0; r < runs; r++)
	{
		double		took = bench_failover_once(voters, 7000 + r, loss, resign);

		if (took >= 0)
			t[n++] = took;
	}
	if (n == 0)
	{
		printf("| %u | %.0f%% | 0 of %u runs elected anyone | | | | |\n",
			   voters, loss * 100, runs);
		free(t);
		return;
	}
	median = bench_median(t, n, &lo, &hi);
	printf("| %u | %.0f%% | %zu | %.0f | %.0f | %.0f | %.0f |\n", voters,
		   loss * 100, n, lo, median, t[(size_t) ((double) (n - 1) * 0.99)], hi);
	fflush(stdout);
	free(t);
}

/* 3, 5 and 7 voters at the given loss, and at 2 % too when that is 0. */
static void
bench_failover_table(unsigned runs, double loss, bool resign)
{
	printf("| voters | loss | runs elected | min | median | p99 | max |\n");
	printf("|---|---|---|---|---|---|---|\n");
	for (unsigned v = 3; v <= 7; v += 2)
		bench_failover(v, runs, loss, resign);
	if (loss == 0)
		for (unsigned v = 3; v <= 7; v += 2)
			bench_failover(v, runs, 0.02, resign);
}

static void
bench_traffic(unsigned voters, quorum_time_ms window_ms)
{
	struct sim_world *w = bench_world(voters, 42, 0);
	uint64_t	d0 = 0,
				b0 = 0,
				ed0 = 0,
				eb0 = 0,
				d1 = 0,
				b1 = 0,
				ed1 = 0,
				eb1 = 0;
	int			leader;
	double		s = window_ms / 1000.0;

	if (w == NULL)
		return;
	while (!w->failed && !bench_stable(w, &leader) && w->now_ms < 30000)
		sim_run_for(w, 10);
	sim_run_for(w, 30000);
	for (int pass = 0; pass < 2; pass++)
	{
		for (unsigned h = 0; h < voters; h++)
		{
			struct quorum_node_stats st;

			quorum_node_stats_get(w->hosts[h].node, &st);
			*(pass ? &d1 : &d0) += st.datagrams_out;
			*(pass ? &b1 : &b0) += st.bytes_out;
			*(pass ? &ed1 : &ed0) += st.election_datagrams_out;
			*(pass ? &eb1 : &eb0) += st.election_bytes_out;
		}
		if (pass == 0)
			sim_run_for(w, window_ms);
	}
	printf("| %u | %.0f | %.0f | %.0f | %.0f | %.0f |\n", voters,
		   (double) (d1 - d0) / s, (double) (b1 - b0) / s,
		   (double) (ed1 - ed0) / s, (double) (eb1 - eb0) / s,
		   (double) (eb1 - eb0) / s / voters);
	sim_world_free(w);
}

int
main(int argc, char **argv)
{
	unsigned	runs = 1000;
	double		loss = 0;
	quorum_time_ms window_ms = 60000;
	bool		resign_only = false;
	double		t0 = bench_wall_s();

	for (int i = 1; i < argc; i++)
	{
		if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
			runs = (unsigned) strtoul(argv[++i], NULL, 0);
		else if (strcmp(argv[i], "--loss") == 0 && i + 1 < argc)
			loss = strtod(argv[++i], NULL);
		else if (strcmp(argv[i], "--window-s") == 0 && i + 1 < argc)
			window_ms = 1000 * strtoull(argv[++i], NULL, 0);
		else if (strcmp(argv[i], "--resign-only") == 0)
			resign_only = true;
		else
		{
			fprintf(stderr, "usage: %s [--runs R] [--loss P] [--window-s T] [--resign-only]\n",
					argv[0]);
			return 2;
		}
	}
	if (!resign_only)
	{
		printf("Leader crash to a new leader with the lease (virtual ms, %u runs "
			   "per row, default timings: heartbeat 100, election timeout "
			   "1200-1600, lease 1088):\n\n", runs);
		bench_failover_table(runs, loss, false);
		printf("\n");
	}
	printf("The leader resigns (QUORUM_CMD_RESIGN, as a worker whose postmaster "
		   "died does), then crashes 1 ms later (virtual ms, %u runs per row):\n\n", runs);
	bench_failover_table(runs, loss, true);
	if (resign_only)
		return 0;
	printf("\nSteady cluster of voters, whole cluster, per second of virtual "
		   "time (%llu s window):\n\n", (unsigned long long) (window_ms / 1000));
	printf("| voters | datagrams/s | bytes/s | election datagrams/s | "
		   "election bytes/s | election bytes/s per node |\n");
	printf("|---|---|---|---|---|---|\n");
	for (unsigned v = 3; v <= 7; v += 2)
		bench_traffic(v, window_ms);
	printf("\n(%.1f s of wall time)\n", bench_wall_s() - t0);
	return 0;
}
