/*-------------------------------------------------------------------------
 *
 * membership.c
 *	  The membership acceptance scenarios: convergence of 1000 nodes, crash
 *	  detection within the bound the configuration predicts, no false
 *	  positives under loss, refutation after a pause, convergence after a
 *	  partition heals.
 *
 * Bounds are derived from the configuration, printed next to the measured
 * virtual time, and generous: the numbers belong to bench-sim, the tests
 * only say whether the protocol does its job at all.
 *
 * test/sim/scenarios/membership.c
 *
 *-------------------------------------------------------------------------
 */
#include "scenario.h"

#include <math.h>

/* Lifeguard §4: the suspicion timeout's floor and ceiling for n members. */
static quorum_time_ms
suspicion_min_ms(const struct quorum_config *c, unsigned n)
{
	double		scale = log10((double) n);

	if (scale < 1.0)
		scale = 1.0;
	return (quorum_time_ms) (c->suspicion_mult * scale * (double) c->probe_interval_ms);
}

static quorum_time_ms
suspicion_max_ms(const struct quorum_config *c, unsigned n)
{
	return c->suspicion_max_mult * suspicion_min_ms(c, n);
}

/* Probe intervals an update keeps being piggybacked: λ·ceil(log10(n+1)). */
static unsigned
retransmit_rounds(const struct quorum_config *c, unsigned n)
{
	return c->retransmit_mult * (unsigned) ceil(log10((double) n + 1.0));
}

/*
 * Bound on the time from a crash until every member has declared it dead:
 * someone probes it (in randomized round-robin each of the n-1 others picks
 * it with probability about 1/(n-1) per interval, so after k intervals it
 * escaped all of them with probability about e^-k: k = 7 leaves 0.1%),
 * the probe and the indirect probes fail within one interval, the suspicion
 * runs for at most its ceiling, and the DEAD then spreads for as long as it
 * is retransmitted.
 */
static quorum_time_ms
detection_bound_ms(const struct quorum_config *c, unsigned n)
{
	return 7 * c->probe_interval_ms + c->probe_interval_ms +
		suspicion_max_ms(c, n) + retransmit_rounds(c, n) * c->probe_interval_ms;
}

static bool
anyone_sees(struct sim_world *w, unsigned s, enum quorum_member_state state)
{
	for (unsigned h = 0; h < w->n; h++)
	{
		struct quorum_member_info info;

		if (h != s && sim_host_running(w, h) &&
			quorum_node_member_find(w->hosts[h].node, w->hosts[s].name, &info) == 0 &&
			info.state == state)
			return true;
	}
	return false;
}

/* Every observer in obs sees every subject in subj as dead. */
static bool
sees_all_dead(struct sim_world *w, const unsigned *obs, size_t n_obs,
			  const unsigned *subj, size_t n_subj)
{
	for (size_t i = 0; i < n_obs; i++)
		for (size_t j = 0; j < n_subj; j++)
		{
			struct quorum_member_info info;

			if (quorum_node_member_find(w->hosts[obs[i]].node,
										w->hosts[subj[j]].name, &info) != 0 ||
				info.state != QUORUM_MEMBER_DEAD)
			{
				snprintf(sim_why, sizeof(sim_why), "n%u sees n%u as %s",
						 obs[i], subj[j], quorum_member_state_name(info.state));
				return false;
			}
		}
	return true;
}

/* ---------------------------------------------------------------- golden */

/* Three nodes join through n0; the decisions are compared line by line. */
TEST(golden_join3)
{
	struct sim_world *W;
	struct sim_opts o;

	sim_test_opts(&o, 3, 0);
	o.trace_capture = true;
	W = sim_test_new(&o);
	SIM_WAIT_UNTIL(sim_check_converged(W, SIM_WHY), 10000);
	SIM_RUN_FOR(1000);
	sim_test_golden(W, "join3");
}

/* Then n2 crashes, and n0 and n1 suspect it and declare it dead. */
TEST(golden_crash3)
{
	struct sim_world *W;
	struct sim_opts o;

	sim_test_opts(&o, 3, 0);
	o.trace_capture = true;
	W = sim_test_new(&o);
	SIM_WAIT_UNTIL(sim_check_converged(W, SIM_WHY), 10000);
	SIM_RUN_FOR(1000);
	SIM_CRASH(2);
	SIM_WAIT_UNTIL(sim_check_all_see(W, 2, QUORUM_MEMBER_DEAD, SIM_WHY),
				   detection_bound_ms(&o.config, 3));
	SIM_RUN_FOR(500);
	sim_test_golden(W, "crash3");
}

/* ---------------------------------------------------------------- replay */

/* A stormy little run: loss, duplicates, reordering, garbage, faults. */
static uint64_t
replay_run(uint64_t salt, bool trace, struct sim_world **out)
{
	struct sim_world *W;
	struct sim_opts o;

	sim_test_opts(&o, 6, salt);
	o.trace = trace;
	o.net.loss = 0.05;
	o.net.duplicate = 0.05;
	o.net.reorder = 0.1;
	o.net.garbage = 0.05;
	o.join_spread_ms = 500;
	W = sim_test_new(&o);
	*out = W;
	SIM_RUN_FOR(5000);
	SIM_PAUSE(3, 1500);
	SIM_DRIFT(4, 20000);
	SIM_RUN_FOR(3000);
	SIM_CRASH(5);
	SIM_RUN_FOR(4000);
	SIM_RESTART(5);
	SIM_RUN_FOR(5000);
	return W->hash;
}

/* Any seed replays bit-for-bit: same seed, same hash of everything. */
TEST(replay_same_seed)
{
	struct sim_world *W;
	uint64_t	a = replay_run(0, true, &W);
	uint64_t	b = replay_run(0, true, &W);
	uint64_t	c = replay_run(1, true, &W);
	uint64_t	d = replay_run(0, false, &W);
	uint64_t	e = replay_run(0, false, &W);

	sim_note("hash %016llx twice; %016llx with seed+1; %016llx untraced",
			 (unsigned long long) a, (unsigned long long) c,
			 (unsigned long long) d);
	SIM_ASSERT(a == b && d == e, "the same seed gave two different runs "
			   "(%016llx, %016llx)", (unsigned long long) a,
			   (unsigned long long) b);
	SIM_ASSERT(a != c && a != d, "the run hash depends neither on the seed "
			   "nor on the trace, so it proves nothing");
}

/* ----------------------------------------------------------- convergence */

/*
 * 1000 nodes join through n0 within two seconds.  Each keeps a table of
 * 1000 members, so the limits grow with it: room for every member, and a
 * dissemination queue and outbox that can hold a burst of joins.
 */
TEST(converge_1000)
{
	const unsigned n = 1000;
	struct sim_world *W;
	struct sim_opts o;
	quorum_time_ms bound;

	sim_test_opts(&o, n, 0);
	o.config.members_max = n + 8;
	o.config.meta_slots_max = n + 8;
	o.config.dissemination_queue_max = 256;
	o.config.outbox_datagrams_max = 256;
	o.join_spread_ms = 2000;
	o.poll_ms = 100;
	W = sim_test_new(&o);

	/*
	 * Joins spread for two seconds; a burst of 1000 joins overflows the
	 * dissemination queues (counted drops, by design), so what gossip missed
	 * is repaired by push-pull anti-entropy: allow three rounds of it.
	 */
	bound = o.join_spread_ms + 3 * o.config.pushpull_interval_ms +
		retransmit_rounds(&o.config, n) * o.config.probe_interval_ms;
	SIM_WAIT_UNTIL(sim_check_alive_counts(W, SIM_WHY), bound);
	sim_note("%u nodes see each other alive after %llu ms of virtual time "
			 "(bound %llu ms); %llu steps", n,
			 (unsigned long long) sim_waited_ms, (unsigned long long) bound,
			 (unsigned long long) W->steps);
	SIM_ASSERT(sim_check_converged(W, SIM_WHY), "not converged: %s", sim_why);
	sim_check_report(W, stdout);
}

/* ------------------------------------------------------------- detection */

TEST(crash_detect_bound)
{
	const unsigned n = 32;
	struct sim_world *W;
	struct sim_opts o;
	quorum_time_ms bound;

	sim_test_opts(&o, n, 0);
	o.join_spread_ms = 500;
	W = sim_test_new(&o);
	SIM_WAIT_UNTIL(sim_check_converged(W, SIM_WHY), 30000);
	SIM_RUN_FOR(2000);

	bound = detection_bound_ms(&o.config, n);
	SIM_CRASH(17);
	SIM_WAIT_UNTIL(sim_check_all_see(W, 17, QUORUM_MEMBER_DEAD, SIM_WHY), bound);
	sim_note("n17 declared dead by all %u others after %llu ms; predicted "
			 "bound %llu ms = 8 probe intervals + suspicion max %llu ms + %u "
			 "dissemination rounds", n - 1, (unsigned long long) sim_waited_ms,
			 (unsigned long long) bound,
			 (unsigned long long) suspicion_max_ms(&o.config, n),
			 retransmit_rounds(&o.config, n));
	SIM_ASSERT(W->check->counts.false_dead == 0,
			   "%llu DEAD events about healthy nodes",
			   (unsigned long long) W->check->counts.false_dead);
}

/* --------------------------------------------------------- false alarms */

TEST(lossy_no_false_dead)
{
	const unsigned n = 30;
	const quorum_time_ms run_ms = 15 * 60 * 1000;
	struct sim_world *W;
	struct sim_opts o;
	struct sim_stats_sum sum;
	const struct sim_check_counts *c;

	sim_test_opts(&o, n, 0);
	o.join_spread_ms = 1000;
	o.net.loss = 0.05;
	W = sim_test_new(&o);
	SIM_WAIT_UNTIL(sim_check_converged(W, SIM_WHY), 60000);
	SIM_RUN_FOR(run_ms);
	c = &W->check->counts;
	sim_check_stats_sum(W, &sum);
	sim_note("%u nodes, %.0f%% loss, %llu min: %llu SUSPECT events about "
			 "healthy nodes, %llu refutations, %llu false DEAD events; %llu "
			 "probes, %llu failed", n, o.net.loss * 100,
			 (unsigned long long) run_ms / 60000,
			 (unsigned long long) c->false_suspect,
			 (unsigned long long) sum.suspicions_refuted,
			 (unsigned long long) c->false_dead,
			 (unsigned long long) sum.probes_sent,
			 (unsigned long long) sum.probes_failed);
	SIM_ASSERT(c->false_dead == 0, "%llu DEAD events about healthy nodes "
			   "under %.0f%% loss", (unsigned long long) c->false_dead,
			   o.net.loss * 100);
	SIM_ASSERT(sim_check_converged(W, SIM_WHY), "not converged: %s", sim_why);
}

/* ------------------------------------------------------------ refutation */

/*
 * n5 stops (SIGSTOP) until someone suspects it, then continues.  It must
 * learn of the suspicion and refute it: everyone then sees it alive at a
 * higher incarnation.  With QUORUM_BREAK_REFUTE this is the check that
 * fails (sim.mk runs it against that build and expects the failure).
 */
TEST(pause_refute_suspect)
{
	const unsigned n = 16;
	struct sim_world *W;
	struct sim_opts o;
	uint64_t	inc;
	quorum_time_ms bound;

	sim_test_opts(&o, n, 0);
	o.join_spread_ms = 500;
	W = sim_test_new(&o);
	SIM_WAIT_UNTIL(sim_check_converged(W, SIM_WHY), 30000);
	inc = sim_check_self_incarnation(W, 5);
	SIM_PAUSE(5, 0);
	SIM_WAIT_UNTIL(anyone_sees(W, 5, QUORUM_MEMBER_SUSPECT),
				   detection_bound_ms(&o.config, n));
	sim_note("n5 suspected %llu ms into its pause",
			 (unsigned long long) sim_waited_ms);
	sim_host_resume(W, 5);

	/* It hears the suspicion within a few rounds and the refutation spreads. */
	bound = suspicion_min_ms(&o.config, n) +
		retransmit_rounds(&o.config, n) * o.config.probe_interval_ms;
	SIM_WAIT_UNTIL(sim_check_all_see_alive_above(W, 5, inc, SIM_WHY), bound);
	sim_note("after resume, all see n5 alive at incarnation %llu > %llu "
			 "within %llu ms (bound %llu ms)",
			 (unsigned long long) sim_check_self_incarnation(W, 5),
			 (unsigned long long) inc, (unsigned long long) sim_waited_ms,
			 (unsigned long long) bound);
	SIM_WAIT_UNTIL(sim_check_converged(W, SIM_WHY), bound);
}

/* Paused until everyone declared it dead: it must still come back. */
TEST(pause_refute_dead)
{
	const unsigned n = 16;
	struct sim_world *W;
	struct sim_opts o;
	uint64_t	inc;
	quorum_time_ms bound;

	sim_test_opts(&o, n, 0);
	o.join_spread_ms = 500;
	W = sim_test_new(&o);
	SIM_WAIT_UNTIL(sim_check_converged(W, SIM_WHY), 30000);
	inc = sim_check_self_incarnation(W, 9);
	SIM_PAUSE(9, 0);
	SIM_WAIT_UNTIL(sim_check_all_see(W, 9, QUORUM_MEMBER_DEAD, SIM_WHY),
				   detection_bound_ms(&o.config, n));
	sim_host_resume(W, 9);
	/* Dead members are still gossiped to for gossip_to_dead_ms. */
	bound = o.config.gossip_to_dead_ms +
		retransmit_rounds(&o.config, n) * o.config.probe_interval_ms;
	SIM_WAIT_UNTIL(sim_check_all_see_alive_above(W, 9, inc, SIM_WHY), bound);
	sim_note("declared dead, resumed, seen alive by all at incarnation %llu "
			 "after %llu ms (bound %llu ms)",
			 (unsigned long long) sim_check_self_incarnation(W, 9),
			 (unsigned long long) sim_waited_ms, (unsigned long long) bound);
	SIM_WAIT_UNTIL(sim_check_converged(W, SIM_WHY), bound);
}

/* ------------------------------------------------------------ partitions */

static quorum_time_ms
heal_bound_ms(const struct quorum_config *c, unsigned n)
{
	return c->pushpull_interval_ms + c->gossip_to_dead_ms +
		retransmit_rounds(c, n) * c->probe_interval_ms;
}

/* Two halves lose each other, declare each other dead, and then heal. */
TEST(partition_heal)
{
	const unsigned n = 10;
	unsigned	a[] = {0, 1, 2, 3, 4};
	unsigned	b[] = {5, 6, 7, 8, 9};
	struct sim_world *W;
	struct sim_opts o;
	quorum_time_ms bound;

	sim_test_opts(&o, n, 0);
	o.join_spread_ms = 500;
	W = sim_test_new(&o);
	SIM_WAIT_UNTIL(sim_check_converged(W, SIM_WHY), 30000);
	SIM_PARTITION(a, b);
	SIM_WAIT_UNTIL(sees_all_dead(W, a, 5, b, 5) && sees_all_dead(W, b, 5, a, 5),
				   2 * detection_bound_ms(&o.config, n));
	sim_note("each half declared the other dead after %llu ms",
			 (unsigned long long) sim_waited_ms);
	SIM_RUN_FOR(2000);
	SIM_HEAL();
	bound = heal_bound_ms(&o.config, n);
	SIM_WAIT_UNTIL(sim_check_converged(W, SIM_WHY), bound);
	sim_note("converged %llu ms after the heal (bound %llu ms)",
			 (unsigned long long) sim_waited_ms, (unsigned long long) bound);
}

/*
 * The same, but the halves stay apart for longer than gossip_to_dead_ms:
 * after that nobody contacts a member it believes dead, and each half still
 * has the other, so neither is alone and the hosts' re-join through the seed
 * does not fire either.  The core itself must reconnect the halves.
 */
TEST(partition_long_heal)
{
	const unsigned n = 10;
	unsigned	a[] = {0, 1, 2, 3, 4};
	unsigned	b[] = {5, 6, 7, 8, 9};
	struct sim_world *W;
	struct sim_opts o;
	quorum_time_ms bound;

	sim_test_opts(&o, n, 0);
	o.join_spread_ms = 500;
	W = sim_test_new(&o);
	SIM_WAIT_UNTIL(sim_check_converged(W, SIM_WHY), 30000);
	SIM_PARTITION(a, b);
	SIM_RUN_FOR(3 * o.config.gossip_to_dead_ms);
	SIM_ASSERT(sees_all_dead(W, a, 5, b, 5) && sees_all_dead(W, b, 5, a, 5),
			   "halves did not declare each other dead: %s", sim_why);
	SIM_HEAL();
	bound = heal_bound_ms(&o.config, n);
	SIM_WAIT_UNTIL(sim_check_converged(W, SIM_WHY), bound);
	sim_note("after %llu s apart, converged %llu ms after the heal (bound "
			 "%llu ms)", (unsigned long long) 3 * o.config.gossip_to_dead_ms / 1000,
			 (unsigned long long) sim_waited_ms, (unsigned long long) bound);
}

/* One node cut off until it has given everyone up, then reconnected. */
TEST(isolate_rejoin)
{
	const unsigned n = 8;
	struct sim_world *W;
	struct sim_opts o;
	quorum_time_ms bound;

	sim_test_opts(&o, n, 0);
	W = sim_test_new(&o);
	SIM_WAIT_UNTIL(sim_check_converged(W, SIM_WHY), 30000);
	SIM_ISOLATE(3);
	SIM_RUN_FOR(60000);
	SIM_HEAL();
	bound = heal_bound_ms(&o.config, n);
	SIM_WAIT_UNTIL(sim_check_converged(W, SIM_WHY), bound);
	sim_note("n3, isolated for 60 s, converged %llu ms after the heal "
			 "(bound %llu ms)", (unsigned long long) sim_waited_ms,
			 (unsigned long long) bound);
}

/* Only n0 -> everyone is cut: n0 hears all but cannot answer. */
TEST(oneway_heal)
{
	const unsigned n = 6;
	unsigned	a[] = {0};
	unsigned	b[] = {1, 2, 3, 4, 5};
	struct sim_world *W;
	struct sim_opts o;
	quorum_time_ms bound;

	sim_test_opts(&o, n, 0);
	W = sim_test_new(&o);
	SIM_WAIT_UNTIL(sim_check_converged(W, SIM_WHY), 30000);
	SIM_PARTITION_ONEWAY(a, b);
	SIM_WAIT_UNTIL(anyone_sees(W, 0, QUORUM_MEMBER_SUSPECT) ||
				   anyone_sees(W, 0, QUORUM_MEMBER_DEAD),
				   detection_bound_ms(&o.config, n));
	SIM_RUN_FOR(20000);
	SIM_HEAL();
	bound = heal_bound_ms(&o.config, n);
	SIM_WAIT_UNTIL(sim_check_converged(W, SIM_WHY), bound);
	sim_note("converged %llu ms after healing a one-way cut (bound %llu ms)",
			 (unsigned long long) sim_waited_ms, (unsigned long long) bound);
}

/* ---------------------------------------------------------- crash, boot */

/* A crashed node restarts above every incarnation it used, and rejoins. */
TEST(crash_restart)
{
	const unsigned n = 8;
	struct sim_world *W;
	struct sim_opts o;
	uint64_t	inc;

	sim_test_opts(&o, n, 0);
	W = sim_test_new(&o);
	SIM_WAIT_UNTIL(sim_check_converged(W, SIM_WHY), 30000);
	inc = sim_check_self_incarnation(W, 4);
	SIM_CRASH(4);
	SIM_WAIT_UNTIL(sim_check_all_see(W, 4, QUORUM_MEMBER_DEAD, SIM_WHY),
				   detection_bound_ms(&o.config, n));
	SIM_RESTART(4);
	SIM_ASSERT(sim_check_self_incarnation(W, 4) > inc,
			   "n4 restarted at incarnation %llu, not above %llu",
			   (unsigned long long) sim_check_self_incarnation(W, 4),
			   (unsigned long long) inc);
	SIM_WAIT_UNTIL(sim_check_converged(W, SIM_WHY), heal_bound_ms(&o.config, n));
	sim_note("n4 back at incarnation %llu, converged after %llu ms",
			 (unsigned long long) sim_check_self_incarnation(W, 4),
			 (unsigned long long) sim_waited_ms);
}
