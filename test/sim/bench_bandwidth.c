/*-------------------------------------------------------------------------
 *
 * bench_bandwidth.c
 *	  Bytes a node sends per second in steady state, against N.  SWIM's
 *	  probing costs each node a constant load whatever N (§3: one probe per
 *	  protocol period); push-pull anti-entropy sends the whole table, so its
 *	  share grows with N, and it is measured separately.
 *
 *	  bench-bandwidth [--n 10,100,1000] [--seeds S] [--window-s T]
 *	                  [--pushpull-max-n M]
 *
 * For each N: converge (bench_common.c), let the joins' gossip die out, then
 * count every node's bytes_out and datagrams_out (sealed datagrams, as they
 * go on the wire) over a window of T seconds of virtual time.  Once with
 * push-pull off, and, up to --pushpull-max-n nodes, once with the default
 * pushpull_interval_ms.
 *
 * test/sim/bench_bandwidth.c
 *
 *-------------------------------------------------------------------------
 */
#include "bench_common.h"

#include <stdlib.h>
#include <string.h>

#define BENCH_SAMPLES_MAX 64

struct bench_rate
{
	double		bytes;			/* per node per second */
	double		datagrams;
};

static bool
bench_measure(unsigned n, uint64_t seed, quorum_time_ms pushpull_ms,
			  quorum_time_ms window_ms, struct bench_rate *rate)
{
	struct bench_setup setup = {
		.n = n, .seed = seed, .pushpull_interval_ms = pushpull_ms,
		.meta_slots = false
	};
	quorum_time_ms setup_ms;
	struct sim_world *w = bench_converged(&setup, &setup_ms);
	struct sim_stats_sum before,
				after;

	if (w == NULL)
		return false;
	/* Long enough for every queued update to have used its retransmits. */
	sim_run_for(w, 30000);
	sim_check_stats_sum(w, &before);
	sim_run_for(w, window_ms);
	sim_check_stats_sum(w, &after);
	if (w->failed)
	{
		fprintf(stderr, "bench: %s\n", w->fail_msg);
		sim_world_free(w);
		return false;
	}
	rate->bytes = (double) (after.bytes_out - before.bytes_out) /
		n / (window_ms / 1000.0);
	rate->datagrams = (double) (after.datagrams_out - before.datagrams_out) /
		n / (window_ms / 1000.0);
	fprintf(stderr, "  N=%u seed=%llu pushpull=%llu ms: %.0f B/s, %.1f "
			"datagrams/s per node; RSS %.0f MB\n", n, (unsigned long long) seed,
			(unsigned long long) pushpull_ms, rate->bytes, rate->datagrams,
			bench_rss_mb());
	sim_world_free(w);
	return true;
}

static void
bench_row(const char *mode, unsigned n, struct bench_rate *r, size_t k)
{
	double		bytes[BENCH_SAMPLES_MAX];
	double		dgrams[BENCH_SAMPLES_MAX];
	double		blo,
				bhi,
				dlo,
				dhi,
				bmed,
				dmed;

	if (k == 0)
	{
		printf("| %-13s | %6u | not measured |\n", mode, n);
		return;
	}
	for (size_t i = 0; i < k; i++)
	{
		bytes[i] = r[i].bytes;
		dgrams[i] = r[i].datagrams;
	}
	bmed = bench_median(bytes, k, &blo, &bhi);
	dmed = bench_median(dgrams, k, &dlo, &dhi);
	printf("| %-13s | %6u | %7zu | %7.0f (%.0f .. %.0f) | %5.1f (%.1f .. %.1f) |\n",
		   mode, n, k, bmed, blo, bhi, dmed, dlo, dhi);
}

int
main(int argc, char **argv)
{
	unsigned	ns[16] = {10, 100, 1000};
	size_t		n_ns = 3;
	unsigned	seeds = 3;
	unsigned	pushpull_max_n = 1000;
	quorum_time_ms window_ms = 60000;
	struct quorum_config defaults;

	quorum_config_init(&defaults);
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
		else if (strcmp(argv[i], "--window-s") == 0 && i + 1 < argc)
			window_ms = 1000 * strtoull(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--pushpull-max-n") == 0 && i + 1 < argc)
			pushpull_max_n = (unsigned) strtoul(argv[++i], NULL, 10);
		else
		{
			fprintf(stderr, "usage: %s [--n 10,100,1000] [--seeds S] "
					"[--window-s T] [--pushpull-max-n M]\n", argv[0]);
			return 2;
		}
	}
	if (seeds > BENCH_SAMPLES_MAX)
		seeds = BENCH_SAMPLES_MAX;
	printf("seed=1..%u commit=%s\n", seeds, SIM_COMMIT);
	printf("# bandwidth: sealed bytes and datagrams sent per node per second "
		   "in steady state, over %llu s; median (min .. max) over seeds\n",
		   (unsigned long long) window_ms / 1000);
	printf("| mode          |      N | samples | bytes/s per node | datagrams/s per node |\n");
	fflush(stdout);

	for (size_t k = 0; k < n_ns; k++)
	{
		struct bench_rate off[BENCH_SAMPLES_MAX];
		struct bench_rate on[BENCH_SAMPLES_MAX];
		size_t		n_off = 0;
		size_t		n_on = 0;
		double		wall0 = bench_wall_s();

		for (uint64_t seed = 1; seed <= seeds; seed++)
		{
			if (bench_measure(ns[k], seed, 0, window_ms, &off[n_off]))
				n_off++;
			if (ns[k] <= pushpull_max_n &&
				bench_measure(ns[k], seed, defaults.pushpull_interval_ms,
							  window_ms, &on[n_on]))
				n_on++;
		}
		bench_row("push-pull off", ns[k], off, n_off);
		if (ns[k] <= pushpull_max_n)
			bench_row("push-pull 10s", ns[k], on, n_on);
		printf("#   N=%u: %.0f s wall\n", ns[k], bench_wall_s() - wall0);
		fflush(stdout);
	}
	return 0;
}
