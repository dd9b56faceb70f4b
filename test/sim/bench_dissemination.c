/*-------------------------------------------------------------------------
 *
 * bench_dissemination.c
 *	  How many probe intervals a membership change takes to reach every
 *	  node, against N.  SWIM's claim (§4.1, and the retransmit limit
 *	  λ·log N) is that this grows like log N.
 *
 *	  bench-dissemination [--n 10,100,1000] [--seeds S] [--reps R]
 *	                      [--meta-max-n M]
 *
 * For each N and seed: converge N nodes with push-pull off (bench_common.c),
 * then R times let one more node join through n0 and time until every other
 * node has reported it ALIVE, and R times change one node's metadata and
 * time until every other node has reported it UPDATED.  Times are exact
 * virtual milliseconds (the event that completed the spread), divided by
 * probe_interval_ms to give rounds.  Metadata is measured only up to
 * --meta-max-n nodes, since keeping every member's metadata costs about 400
 * bytes per member per node (N^2).
 *
 * test/sim/bench_dissemination.c
 *
 *-------------------------------------------------------------------------
 */
#include "bench_common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define BENCH_SAMPLES_MAX 256
/* Quiet time between two measurements, so the last change has died out. */
#define BENCH_IDLE_MS 5000

static double
bench_wait_watch(struct sim_world *w, quorum_time_ms bound_ms)
{
	quorum_time_ms start = w->now_ms;
	quorum_time_ms elapsed;

	while (!w->failed && !sim_check_watch_done(w, &elapsed))
	{
		if (w->now_ms - start > bound_ms)
			return NAN;
		sim_run_for(w, 10);
	}
	return w->failed ? NAN : (double) elapsed;
}

static void
bench_row(const char *what, unsigned n, double *v, size_t k,
		  quorum_time_ms interval_ms)
{
	double		lo,
				hi,
				med;

	if (k == 0)
	{
		printf("| %-8s | %6u | %7s | %-22s |\n", what, n, "-", "not measured");
		return;
	}
	med = bench_median(v, k, &lo, &hi);
	printf("| %-8s | %6u | %7zu | %5.1f (%4.1f .. %4.1f)    | %6.0f ms |\n", what, n, k,
		   med / (double) interval_ms, lo / (double) interval_ms,
		   hi / (double) interval_ms, med);
}

int
main(int argc, char **argv)
{
	unsigned	ns[16] = {10, 100, 1000};
	size_t		n_ns = 3;
	unsigned	seeds = 3;
	unsigned	reps = 3;
	unsigned	meta_max_n = 2000;

	for (int i = 1; i < argc; i++)
	{
		if (strcmp(argv[i], "--n") == 0 && i + 1 < argc)
		{
			char	   *p = argv[++i];

			n_ns = 0;
			while (*p && n_ns < 16)
			{
				ns[n_ns++] = (unsigned) strtoul(p, &p, 10);
				if (*p == ',')
					p++;
			}
		}
		else if (strcmp(argv[i], "--seeds") == 0 && i + 1 < argc)
			seeds = (unsigned) strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
			reps = (unsigned) strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--meta-max-n") == 0 && i + 1 < argc)
			meta_max_n = (unsigned) strtoul(argv[++i], NULL, 10);
		else
		{
			fprintf(stderr, "usage: %s [--n 10,100,1000] [--seeds S] "
					"[--reps R] [--meta-max-n M]\n", argv[0]);
			return 2;
		}
	}
	printf("seed=1..%u commit=%s\n", seeds, SIM_COMMIT);
	printf("# dissemination: probe intervals until a change reaches every "
		   "node; push-pull off; median (min .. max) over seeds x reps\n");
	fflush(stdout);

	for (size_t k = 0; k < n_ns; k++)
	{
		unsigned	n = ns[k];
		double		joins[BENCH_SAMPLES_MAX];
		double		metas[BENCH_SAMPLES_MAX];
		size_t		n_joins = 0;
		size_t		n_metas = 0;
		quorum_time_ms interval = 0;
		double		wall0 = bench_wall_s();
		double		rss = 0;

		for (uint64_t seed = 1; seed <= seeds; seed++)
		{
			struct bench_setup setup = {
				.n = n, .extra = reps, .seed = seed,
				.pushpull_interval_ms = 0, .meta_slots = n <= meta_max_n
			};
			quorum_time_ms setup_ms = 0;
			struct sim_world *w = bench_converged(&setup, &setup_ms);
			unsigned	running = n;

			if (w == NULL)
				continue;
			interval = w->opts.config.probe_interval_ms;
			fprintf(stderr, "  N=%u seed=%llu converged at %.1f s virtual, "
					"%.0f s wall, RSS %.0f MB\n", n, (unsigned long long) seed,
					setup_ms / 1000.0, bench_wall_s() - wall0, bench_rss_mb());

			for (unsigned r = 0; r < reps && n_joins < BENCH_SAMPLES_MAX; r++)
			{
				double		ms;

				sim_run_for(w, BENCH_IDLE_MS);
				sim_check_watch(w, n + r, QUORUM_EV_MEMBER_ALIVE, running);
				sim_host_boot(w, n + r);
				ms = bench_wait_watch(w, 60000);
				running++;
				if (!isnan(ms))
					joins[n_joins++] = ms;
				else
					fprintf(stderr, "  N=%u seed=%llu: join of n%u did not "
							"reach everyone in 60 s\n", n,
							(unsigned long long) seed, n + r);
			}
			for (unsigned r = 0; r < reps && setup.meta_slots &&
				 n_metas < BENCH_SAMPLES_MAX; r++)
			{
				unsigned	h = 1 + (unsigned) sim_rng_below(&w->rng, running - 1);
				struct quorum_meta facts = w->hosts[h].facts;
				double		ms;

				sim_run_for(w, BENCH_IDLE_MS);
				facts.lsn += 16 * 1024 * 1024;
				sim_check_watch(w, h, QUORUM_EV_MEMBER_UPDATED, running - 1);
				sim_host_set_facts(w, h, &facts);
				ms = bench_wait_watch(w, 60000);
				if (!isnan(ms))
					metas[n_metas++] = ms;
				else
					fprintf(stderr, "  N=%u seed=%llu: metadata of n%u did "
							"not reach everyone in 60 s\n", n,
							(unsigned long long) seed, h);
			}
			if (bench_rss_mb() > rss)
				rss = bench_rss_mb();
			if (w->failed)
				fprintf(stderr, "  N=%u: %s\n", n, w->fail_msg);
			sim_world_free(w);
		}
		printf("| what     |      N | samples | rounds median (min .. max) | median   |\n");
		bench_row("join", n, joins, n_joins, interval);
		bench_row("metadata", n, metas, n_metas, interval);
		printf("#   N=%u: %.0f s wall, peak RSS %.0f MB, log10(N) = %.2f\n", n,
			   bench_wall_s() - wall0, rss, log10((double) n));
		fflush(stdout);
	}
	return 0;
}
