/*-------------------------------------------------------------------------
 *
 * bench_common.c
 *	  Shared setup of the simulator benchmarks (see bench_common.h).
 *
 * test/sim/bench_common.c
 *
 *-------------------------------------------------------------------------
 */
#include "bench_common.h"

#include <math.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/*
 * A node piggybacks on roughly ten datagrams a second (its pings and the
 * acks to pings it receives), a dozen or more updates each, and repeats each
 * update retransmit_mult * ceil(log10(N+1)) times.  Joins arriving faster
 * than about 120 / retransmits a second would overflow the dissemination
 * queues, and with push-pull off nothing would repair that.
 */
static quorum_time_ms
bench_join_gap_ms(const struct quorum_config *c, unsigned n)
{
	unsigned	retransmits = c->retransmit_mult *
		(unsigned) ceil(log10((double) n + 1.0));

	return retransmits * 1000 / 120 + 1;
}

static void
bench_print_drops(struct sim_world *w)
{
	struct sim_stats_sum sum;

	sim_check_stats_sum(w, &sum);
	fprintf(stderr, "  drops during setup:");
	for (int r = 0; r < QUORUM_DROP__COUNT; r++)
		if (sum.drops[r] > 0)
			fprintf(stderr, " %s=%llu",
					quorum_drop_reason_name((enum quorum_drop_reason) r),
					(unsigned long long) sum.drops[r]);
	fprintf(stderr, "\n");
}

struct sim_world *
bench_converged(const struct bench_setup *setup, quorum_time_ms *setup_ms)
{
	struct sim_opts o;
	struct sim_world *w;
	unsigned	total = setup->n + setup->extra;
	quorum_time_ms bound;
	char		why[256] = "";

	sim_opts_init(&o, total, setup->seed);
	o.boot_count = setup->n;
	o.trace = false;
	o.check_level = SIM_CHECK_EVENTS;
	o.config.members_max = total + 8;
	/* Metadata slots cost 400 bytes per member per node: N^2 of them. */
	o.config.meta_slots_max = setup->meta_slots ? total + 8 : 16;
	/* The seed answers a join with its whole table in one exchange. */
	o.config.outbox_datagrams_max = 2 * (total / 8) + 64;
	o.config.dissemination_queue_max = 512;
	o.config.pushpull_interval_ms = setup->pushpull_interval_ms;
	o.join_spread_ms = setup->n * bench_join_gap_ms(&o.config, setup->n);
	o.poll_ms = 100;
	o.rejoin_interval_ms = 0;
	w = sim_world_new(&o);
	if (w == NULL)
	{
		fprintf(stderr, "bench: out of memory for %u hosts\n", total);
		return NULL;
	}
	sim_run_for(w, o.join_spread_ms + 30000);
	/*
	 * Piggybacking is probabilistic: with push-pull off, a node that missed
	 * every retransmission of a join never learns of it.  Such nodes join
	 * n0 again, which is one full-state exchange with the one node that saw
	 * every join; how many needed it is reported.
	 */
	bound = w->now_ms + 120000;
	while (!w->failed && !sim_check_alive_counts(w, why, sizeof(why)))
	{
		unsigned	incomplete = 0;
		unsigned	missing = 0;
		struct quorum_command join = {.type = QUORUM_CMD_JOIN,
		.addr = w->hosts[0].addr};

		if (w->now_ms >= bound)
		{
			fprintf(stderr, "bench: seed=%llu N=%u not converged 120 s after "
					"the last join: %s\n", (unsigned long long) setup->seed,
					setup->n, why);
			sim_world_free(w);
			return NULL;
		}
		for (unsigned i = 1; i < setup->n; i++)
		{
			struct quorum_node_stats st;

			quorum_node_stats_get(w->hosts[i].node, &st);
			if (st.members_alive < setup->n)
			{
				incomplete++;
				missing += setup->n - st.members_alive;
				sim_host_command(w, i, &join);
			}
		}
		fprintf(stderr, "  N=%u seed=%llu: %u nodes missed %u joins in all; "
				"they re-join n0\n", setup->n, (unsigned long long) setup->seed,
				incomplete, missing);
		sim_run_for(w, 5000);
	}
	if (w->failed)
	{
		fprintf(stderr, "bench: %s\n", w->fail_msg);
		sim_world_free(w);
		return NULL;
	}
	*setup_ms = w->now_ms;
	bench_print_drops(w);
	return w;
}

double
bench_wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

double
bench_rss_mb(void)
{
	FILE	   *f = fopen("/proc/self/statm", "r");
	unsigned long size = 0,
				resident = 0;

	if (f == NULL)
		return 0;
	if (fscanf(f, "%lu %lu", &size, &resident) != 2)
		resident = 0;
	fclose(f);
	return (double) resident * (double) sysconf(_SC_PAGESIZE) / 1048576.0;
}

static int
bench_cmp(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return (x > y) - (x < y);
}

double
bench_median(double *v, size_t n, double *min, double *max)
{
	if (n == 0)
	{
		*min = *max = NAN;
		return NAN;
	}
	qsort(v, n, sizeof(*v), bench_cmp);
	*min = v[0];
	*max = v[n - 1];
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}
