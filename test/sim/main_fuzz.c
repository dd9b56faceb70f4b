/*-------------------------------------------------------------------------
 *
 * main_fuzz.c
 *	  sim-fuzz: random fault schedules against the real core, with the
 *	  membership and election invariants checked after every node step.
 *
 *	  sim-fuzz [--seed N] [--steps M]
 *	           [--profile lossy|partition|crash|drift|election]
 *	           [--nodes K] [--voters V] [-v] [--trace]
 *
 * The first line is always "seed=<n> commit=<sha> ...", and every failure
 * repeats the seed; rerunning with that seed (and the same steps, profile and
 * nodes) replays the run bit-for-bit, which the final "hash=" line shows.
 * Without --seed one is picked from /dev/urandom, the only thing in the
 * simulator that is not a function of the seed.
 *
 * The first min(K, 5) hosts (or V, 0 = none) are the voters of an election
 * that runs all along, with wal.h's toy database under every host; the
 * election profile mixes every fault with switchovers, pauses and resumes.
 * The drift profile drifts clocks by up to 5%, so its nodes are configured
 * for that (drift_ppm 50000) and the lease shrinks accordingly.
 *
 * A run has two phases.  Chaos: until M node steps have run, pick a fault of
 * the profile, then run a random while.  Liveness: heal everything (network,
 * pauses, crashed hosts restart, loss off) and require convergence, and a
 * leader with a lease that everyone follows, within bounds derived from the
 * configuration.
 *
 * test/sim/main_fuzz.c
 *
 *-------------------------------------------------------------------------
 */
#include "sim.h"
#include "net.h"
#include "host.h"
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum fuzz_profile
{
	FUZZ_LOSSY,
	FUZZ_PARTITION,
	FUZZ_CRASH,
	FUZZ_DRIFT,
	FUZZ_ELECTION
};

#define FUZZ_PROFILES 5

static const char *const fuzz_profile_names[] = {"lossy", "partition", "crash",
"drift", "election"};

static bool fuzz_verbose;
static bool fuzz_trace;

/*
 * The core's fault-point seam (plugin/internal.h), present in simulation
 * builds: QUORUM_BUGGIFY(node, "name") asks this hook.  As in FoundationDB,
 * each fault point is enabled in about a quarter of the runs, chosen by the
 * seed and its name, and an enabled one fires on 5% of its calls, drawn from
 * the world's PRNG so that the run still replays.
 */
struct quorum_node;
extern bool (*quorum__buggify_hook) (const struct quorum_node *node,
									 const char *name);

static struct sim_world *fuzz_world;
static uint64_t fuzz_buggify_fired;

static bool
fuzz_buggify(const struct quorum_node *node, const char *name)
{
	(void) node;
	if (sim_hash_bytes(fuzz_world->seed, name, strlen(name)) % 4 != 0)
		return false;
	if (!sim_rng_chance(&fuzz_world->rng, 0.05))
		return false;
	fuzz_buggify_fired++;
	return true;
}

static void
fuzz_log(struct sim_world *w, const char *what)
{
	if (fuzz_verbose)
		printf("  [%8llu] %s\n", (unsigned long long) w->now_ms, what);
}

static void
fuzz_flush_trace(struct sim_world *w)
{
	if (w->trace_len > 0)
		fwrite(w->trace_buf, 1, w->trace_len, stdout);
	w->trace_len = 0;
}

static uint64_t
fuzz_random_seed(void)
{
	uint64_t	seed = 0;
	FILE	   *f = fopen("/dev/urandom", "rb");

	if (f == NULL || fread(&seed, sizeof(seed), 1, f) != 1)
	{
		fprintf(stderr, "sim-fuzz: cannot read /dev/urandom; pass --seed\n");
		exit(2);
	}
	fclose(f);
	/* Keep it short enough to type back. */
	return seed % 1000000000000ULL;
}

/* A random subset: each host joins side a with probability 1/2, else b. */
static void
fuzz_split(struct sim_world *w, unsigned *a, size_t *n_a, unsigned *b, size_t *n_b)
{
	*n_a = *n_b = 0;
	for (unsigned i = 0; i < w->n; i++)
	{
		if (sim_rng_chance(&w->rng, 0.5))
			a[(*n_a)++] = i;
		else
			b[(*n_b)++] = i;
	}
}

static void
fuzz_lossy(struct sim_world *w)
{
	struct sim_net_params *p = &w->net->params;
	char		msg[128];

	switch (sim_rng_below(&w->rng, 4))
	{
		case 0:
			p->loss = sim_rng_unit(&w->rng) * 0.3;
			p->duplicate = sim_rng_unit(&w->rng) * 0.1;
			snprintf(msg, sizeof(msg), "loss %.2f dup %.2f", p->loss, p->duplicate);
			break;
		case 1:
			p->reorder = sim_rng_unit(&w->rng) * 0.5;
			p->reorder_ms = sim_rng_below(&w->rng, 400);
			p->delay_mean_ms = 1 + sim_rng_unit(&w->rng) * 40;
			snprintf(msg, sizeof(msg), "reorder %.2f up to %llu ms, mean delay %.1f",
					 p->reorder, (unsigned long long) p->reorder_ms,
					 p->delay_mean_ms);
			break;
		case 2:
			p->garbage = sim_rng_unit(&w->rng) * 0.2;
			snprintf(msg, sizeof(msg), "garbage %.2f", p->garbage);
			break;
		default:
			{
				unsigned	i = (unsigned) sim_rng_below(&w->rng, w->n);
				/* Half the time a host's link recovers instead. */
				double		r = sim_rng_chance(&w->rng, 0.5) ? 0.0 :
					sim_rng_unit(&w->rng) * 0.6;

				sim_net_set_drop(w, i, r);
				snprintf(msg, sizeof(msg), "drop %.2f at n%u", r, i);
			}
			break;
	}
	fuzz_log(w, msg);
}

static void
fuzz_partition(struct sim_world *w, unsigned *a, unsigned *b)
{
	size_t		n_a,
				n_b;
	char		msg[128];

	switch (sim_rng_below(&w->rng, 5))
	{
		case 0:
		case 1:
			sim_net_heal(w);
			fuzz_split(w, a, &n_a, b, &n_b);
			sim_net_partition(w, a, n_a, b, n_b, true);
			snprintf(msg, sizeof(msg), "partition %zu | %zu", n_a, n_b);
			break;
		case 2:
			sim_net_heal(w);
			fuzz_split(w, a, &n_a, b, &n_b);
			sim_net_partition(w, a, n_a, b, n_b, false);
			snprintf(msg, sizeof(msg), "one-way partition %zu -> %zu", n_a, n_b);
			break;
		case 3:
			{
				unsigned	from = (unsigned) sim_rng_below(&w->rng, w->n);
				unsigned	to = (unsigned) sim_rng_below(&w->rng, w->n);

				sim_net_cut(w, from, to, true);
				snprintf(msg, sizeof(msg), "cut n%u -> n%u", from, to);
			}
			break;
		default:
			sim_net_heal(w);
			snprintf(msg, sizeof(msg), "heal");
			break;
	}
	fuzz_log(w, msg);
}

static void
fuzz_crash(struct sim_world *w)
{
	unsigned	i = (unsigned) sim_rng_below(&w->rng, w->n);
	unsigned	down = 0;
	char		msg[128];

	for (unsigned k = 0; k < w->n; k++)
		down += w->hosts[k].state != SIM_HOST_UP;
	switch (w->hosts[i].state)
	{
		case SIM_HOST_DOWN:
			sim_host_boot(w, i);
			snprintf(msg, sizeof(msg), "restart n%u (boot %u)", i, w->hosts[i].boots);
			break;
		case SIM_HOST_PAUSED:
			sim_host_resume(w, i);
			snprintf(msg, sizeof(msg), "resume n%u", i);
			break;
		case SIM_HOST_UP:
		default:
			/* Keep a majority running, or there is little left to check. */
			if (2 * (down + 1) > w->n)
				snprintf(msg, sizeof(msg), "(n%u spared)", i);
			else if (sim_rng_chance(&w->rng, 0.5))
			{
				sim_host_crash(w, i);
				snprintf(msg, sizeof(msg), "crash n%u", i);
			}
			else
			{
				quorum_time_ms ms = sim_rng_below(&w->rng, 8000);

				sim_host_pause(w, i, ms);
				snprintf(msg, sizeof(msg), "pause n%u for %llu ms", i,
						 (unsigned long long) ms);
			}
			break;
	}
	fuzz_log(w, msg);
}

static void
fuzz_drift(struct sim_world *w)
{
	unsigned	i = (unsigned) sim_rng_below(&w->rng, w->n);
	/* Up to +-5%: far worse than any real clock, within Lifeguard's margins. */
	int32_t		ppm = (int32_t) sim_rng_below(&w->rng, 100001) - 50000;
	char		msg[64];

	sim_host_drift(w, i, ppm);
	snprintf(msg, sizeof(msg), "drift n%u %d ppm", i, ppm);
	fuzz_log(w, msg);
}

/* Clocks within the configured drift bound (the lease's assumption). */
static void
fuzz_drift_within(struct sim_world *w)
{
	unsigned	i = (unsigned) sim_rng_below(&w->rng, w->n);
	int32_t		max = (int32_t) w->opts.config.drift_ppm;
	int32_t		ppm = (int32_t) sim_rng_below(&w->rng, 2 * (uint64_t) max + 1) - max;
	char		msg[64];

	sim_host_drift(w, i, ppm);
	snprintf(msg, sizeof(msg), "drift n%u %d ppm", i, ppm);
	fuzz_log(w, msg);
}

/*
 * What an operator does: switchover, pause, resume, at any member; and what
 * a host does when its database dies: resign (refused unless it leads; the
 * host lives on here, as after a crash restart).
 */
static void
fuzz_decision(struct sim_world *w)
{
	static const enum quorum_command_type types[] = {QUORUM_CMD_TRANSFER,
		QUORUM_CMD_TRANSFER, QUORUM_CMD_PAUSE, QUORUM_CMD_RESUME, QUORUM_CMD_RESUME,
	QUORUM_CMD_RESIGN};
	struct quorum_command cmd;
	unsigned	i = (unsigned) sim_rng_below(&w->rng, w->n);
	char		msg[128];

	memset(&cmd, 0, sizeof(cmd));
	cmd.type = types[sim_rng_below(&w->rng, sizeof(types) / sizeof(types[0]))];
	if (cmd.type == QUORUM_CMD_TRANSFER && sim_rng_chance(&w->rng, 0.5))
		snprintf(cmd.name, sizeof(cmd.name), "n%u",
				 (unsigned) sim_rng_below(&w->rng, w->opts.voters));
	snprintf(msg, sizeof(msg), "n%u asks for %s %s", i,
			 cmd.type == QUORUM_CMD_TRANSFER ? "switchover to" :
			 cmd.type == QUORUM_CMD_PAUSE ? "pause" :
			 cmd.type == QUORUM_CMD_RESIGN ? "resign" : "resume", cmd.name);
	fuzz_log(w, msg);
	if (w->hosts[i].state != SIM_HOST_UP)
		return;
	sim_host_command(w, i, &cmd);
}

static void
fuzz_election(struct sim_world *w, unsigned *a, unsigned *b)
{
	switch (sim_rng_below(&w->rng, 6))
	{
		case 0:
			fuzz_lossy(w);
			break;
		case 1:
			fuzz_partition(w, a, b);
			break;
		case 2:
		case 3:
			fuzz_crash(w);
			break;
		case 4:
			fuzz_drift_within(w);
			break;
		default:
			fuzz_decision(w);
			break;
	}
}

/*
 * After the heal: a leader with a lease that everyone follows.  A RESUME
 * first, since a paused cluster whose leader died elects no one by design.
 */
static void
fuzz_election_liveness(struct sim_world *w, quorum_time_ms *took)
{
	const struct quorum_config *c = &w->opts.config;
	quorum_time_ms bound = 4 * (c->heartbeat_ms + c->election_timeout_max_ms) +
		2 * c->election_timeout_max_ms;
	quorum_time_ms start = w->now_ms;
	struct quorum_command cmd;
	int			leader;
	char		why[256] = "";

	memset(&cmd, 0, sizeof(cmd));
	cmd.type = QUORUM_CMD_RESUME;
	for (unsigned i = 0; i < w->n && !w->failed; i++)
		sim_host_command(w, i, &cmd);
	while (!w->failed && !sim_check_leader_stable(w, &leader, why, sizeof(why)))
	{
		if (w->now_ms - start >= bound)
		{
			sim_fail(w, "no stable leader %llu ms after the final heal: %s",
					 (unsigned long long) bound, why);
			return;
		}
		sim_run_for(w, 10);
		fuzz_flush_trace(w);
	}
	*took = w->now_ms - start;
}

static int
fuzz_usage(const char *argv0)
{
	fprintf(stderr, "usage: %s [--seed N] [--steps M] "
			"[--profile lossy|partition|crash|drift|election] [--nodes K] "
			"[--voters V] [-v] [--trace]\n", argv0);
	return 2;
}

int
main(int argc, char **argv)
{
	uint64_t	seed = 0;
	bool		have_seed = false;
	uint64_t	steps = 200000;
	enum fuzz_profile profile = FUZZ_LOSSY;
	unsigned	nodes = 0;
	int			voters = -1;
	quorum_time_ms elected_in = 0;
	struct sim_opts o;
	struct sim_world *w;
	struct sim_rng pick;
	unsigned   *a,
			   *b;
	quorum_time_ms bound = 0;
	quorum_time_ms heal_at = 0;
	char		why[512] = "";
	int			rc = 0;

	for (int i = 1; i < argc; i++)
	{
		if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
		{
			seed = strtoull(argv[++i], NULL, 0);
			have_seed = true;
		}
		else if (strcmp(argv[i], "--steps") == 0 && i + 1 < argc)
			steps = strtoull(argv[++i], NULL, 0);
		else if (strcmp(argv[i], "--nodes") == 0 && i + 1 < argc)
			nodes = (unsigned) strtoul(argv[++i], NULL, 0);
		else if (strcmp(argv[i], "--voters") == 0 && i + 1 < argc)
			voters = (int) strtol(argv[++i], NULL, 0);
		else if (strcmp(argv[i], "--profile") == 0 && i + 1 < argc)
		{
			const char *p = argv[++i];
			int			k;

			for (k = 0; k < FUZZ_PROFILES && strcmp(p, fuzz_profile_names[k]) != 0; k++)
				;
			if (k == FUZZ_PROFILES)
				return fuzz_usage(argv[0]);
			profile = (enum fuzz_profile) k;
		}
		else if (strcmp(argv[i], "-v") == 0)
			fuzz_verbose = true;
		else if (strcmp(argv[i], "--trace") == 0)
			fuzz_verbose = fuzz_trace = true;
		else
			return fuzz_usage(argv[0]);
	}
	if (!have_seed)
		seed = fuzz_random_seed();

	/* The cluster's size is part of what the seed decides. */
	sim_rng_seed(&pick, sim_mix64(seed));
	if (nodes == 0)
		nodes = 3 + (unsigned) sim_rng_below(&pick, 10);
	if (voters < 0)
		voters = (int) (nodes < 5 ? nodes : 5);
	printf("seed=%llu commit=%s profile=%s steps=%llu nodes=%u voters=%d\n",
		   (unsigned long long) seed, SIM_COMMIT, fuzz_profile_names[profile],
		   (unsigned long long) steps, nodes, voters);
	fflush(stdout);

	sim_opts_init(&o, nodes, seed);
	o.check_level = SIM_CHECK_FULL;
	o.trace = true;
	/* Captured trace lines are printed as they come (see fuzz_flush_trace). */
	o.trace_capture = fuzz_trace;
	o.join_spread_ms = 2000;
	o.net.loss = sim_rng_unit(&pick) * 0.03;
	o.net.duplicate = 0.01;
	o.net.reorder = 0.05;
	o.net.garbage = 0.01;
	if (profile == FUZZ_CRASH || profile == FUZZ_ELECTION)
		o.crash_mid_output = 0.002;
	sim_opts_election(&o, (unsigned) voters, 250);
	/* The drift profile's clocks: the lease must be sized for them. */
	if (profile == FUZZ_DRIFT)
		o.config.drift_ppm = 50000;
	w = sim_world_new(&o);
	a = calloc(nodes, sizeof(unsigned));
	b = calloc(nodes, sizeof(unsigned));
	if (w == NULL || a == NULL || b == NULL)
	{
		fprintf(stderr, "sim-fuzz: out of memory\n");
		return 2;
	}
	fuzz_world = w;
	quorum__buggify_hook = fuzz_buggify;

	/* Chaos. */
	sim_run_for(w, o.join_spread_ms + 3000);
	while (!w->failed && w->steps < steps)
	{
		switch (profile)
		{
			case FUZZ_LOSSY:
				fuzz_lossy(w);
				break;
			case FUZZ_PARTITION:
				fuzz_partition(w, a, b);
				break;
			case FUZZ_CRASH:
				fuzz_crash(w);
				break;
			case FUZZ_DRIFT:
				fuzz_drift(w);
				break;
			case FUZZ_ELECTION:
				fuzz_election(w, a, b);
				break;
		}
		sim_run_for(w, 100 + sim_rng_below(&w->rng, 10000));
		fuzz_flush_trace(w);
	}

	/* Liveness: heal everything, then require convergence. */
	if (!w->failed)
	{
		fuzz_log(w, "heal everything");
		sim_net_heal(w);
		w->net->params = o.net;
		w->net->params.loss = 0;
		w->net->params.duplicate = 0;
		w->net->params.garbage = 0;
		for (unsigned i = 0; i < w->n; i++)
		{
			if (w->hosts[i].state == SIM_HOST_PAUSED)
				sim_host_resume(w, i);
			else if (w->hosts[i].state == SIM_HOST_DOWN)
				sim_host_boot(w, i);
		}
		/*
		 * Restarted nodes rejoin within a rejoin interval; dead members are
		 * gossiped to for gossip_to_dead_ms and refute; anything else is
		 * repaired by push-pull.  Twice all of that, plus dissemination.
		 */
		bound = 2 * (o.rejoin_interval_ms + o.config.gossip_to_dead_ms +
					 o.config.pushpull_interval_ms) +
			20 * o.config.probe_interval_ms;
		heal_at = w->now_ms;
		while (!w->failed && !sim_check_converged(w, why, sizeof(why)))
		{
			if (w->now_ms - heal_at >= bound)
			{
				sim_fail(w, "not converged %llu ms after the final heal: %s",
						 (unsigned long long) bound, why);
				break;
			}
			sim_run_for(w, 10);
			fuzz_flush_trace(w);
		}
		if (!w->failed && voters > 0)
			fuzz_election_liveness(w, &elected_in);
	}

	if (w->failed)
	{
		fuzz_flush_trace(w);
		printf("FAIL %s\n", w->fail_msg);
		if (fuzz_verbose)
			sim_check_dump_views(w, stdout);
		printf("replay: sim-fuzz --seed %llu --steps %llu --profile %s --nodes %u "
			   "--voters %d -v\n", (unsigned long long) seed,
			   (unsigned long long) steps, fuzz_profile_names[profile], nodes,
			   voters);
		rc = 1;
	}
	else
		printf("ok seed=%llu: converged %llu ms after the final heal, a leader "
			   "with a lease %llu ms later, at %llu ms of virtual time\n",
			   (unsigned long long) seed,
			   (unsigned long long) (w->now_ms - heal_at - elected_in),
			   (unsigned long long) elected_in, (unsigned long long) w->now_ms);
	sim_check_report(w, stdout);
	printf("hash=%016llx steps=%llu buggify_fired=%llu\n",
		   (unsigned long long) w->hash, (unsigned long long) w->steps,
		   (unsigned long long) fuzz_buggify_fired);
	sim_world_free(w);
	free(a);
	free(b);
	return rc;
}
