/*-------------------------------------------------------------------------
 *
 * simulator.c
 *	  Tests of the simulator itself: event order, clocks, network faults,
 *	  and that its checkers fire on the violations they exist for.
 *
 * A checker that never fires proves nothing, so each one is shown a
 * violation here, made by hand through the same hooks the hosts use.
 *
 * test/sim/scenarios/simulator.c
 *
 *-------------------------------------------------------------------------
 */
#include "scenario.h"

#include <stdlib.h>
#include <string.h>

/* Earliest first, and FIFO among equal times, whatever the heap's shape. */
TEST(sim_heap_order)
{
	struct sim_world *W;
	struct sim_opts o;
	quorum_time_ms prev_at = 0;
	uint64_t	prev_gen = 0;

	sim_test_opts(&o, 1, 0);
	W = sim_test_new(&o);
	/* Drop the boot event: this test drives the heap alone. */
	while (W->heap_len > 0)
		W->heap_len--;
	/* Resuming a host that is not paused does nothing: a harmless event
	 * whose gen records the order it was scheduled in. */
	for (uint32_t k = 0; k < 5000; k++)
		sim_schedule(W, 1000 + sim_rng_below(&W->rng, 20), SIM_EV_RESUME, 0,
					 k, NULL);
	for (uint32_t k = 0; k < 5000; k++)
	{
		struct sim_event top = W->heap[0];

		/* Pop by hand, through the world, and look at what came out. */
		SIM_ASSERT(sim_step_one(W), "heap empty after %u events", k);
		SIM_ASSERT(W->now_ms >= prev_at, "time went back from %llu to %llu",
				   (unsigned long long) prev_at, (unsigned long long) W->now_ms);
		SIM_ASSERT(W->now_ms > prev_at || top.gen > prev_gen || k == 0,
				   "events at %llu ms out of FIFO order (%llu after %llu)",
				   (unsigned long long) W->now_ms,
				   (unsigned long long) prev_gen, (unsigned long long) top.gen);
		prev_at = W->now_ms;
		prev_gen = top.gen;
	}
	SIM_ASSERT(W->heap_len == 0, "%zu events left", W->heap_len);
}

/* A drifting clock stays monotonic and its inverse finds the first instant. */
TEST(sim_clock_drift)
{
	struct sim_world *W;
	struct sim_opts o;
	struct sim_host h;
	int32_t		ppms[] = {0, 1, -1, 350, -350, 50000, -50000, 999};

	sim_test_opts(&o, 1, 0);
	W = sim_test_new(&o);
	memset(&h, 0, sizeof(h));
	for (size_t k = 0; k < sizeof(ppms) / sizeof(ppms[0]); k++)
	{
		quorum_time_ms prev = 0;

		h.drift_ppm = ppms[k];
		h.clock_origin_ms = (int64_t) k * 777;
		for (quorum_time_ms g = 0; g < 200000; g += 7)
		{
			quorum_time_ms l = sim_host_local(&h, g);
			quorum_time_ms back = sim_host_global(&h, l);

			SIM_ASSERT(l >= prev && sim_host_local(&h, back) >= l &&
					   (back == 0 || sim_host_local(&h, back - 1) < l) &&
					   back <= g,
					   "clock at %d ppm not monotonic or not inverted at "
					   "%llu ms", ppms[k], (unsigned long long) g);
			prev = l;
		}
	}
}

/* Cuts are one-way, partitions symmetric or not, heal restores all. */
TEST(sim_net_faults)
{
	struct sim_world *W;
	struct sim_opts o;
	unsigned	a[] = {0, 1};
	unsigned	b[] = {2, 3};

	sim_test_opts(&o, 5, 0);
	W = sim_test_new(&o);
	SIM_CUT(1, 2);
	SIM_ASSERT(!sim_net_connected(W, 1, 2) && sim_net_connected(W, 2, 1),
			   "a cut is one-way");
	SIM_HEAL();
	SIM_ASSERT(sim_net_connected(W, 1, 2), "heal removes cuts");

	SIM_PARTITION(a, b);
	SIM_ASSERT(sim_net_connected(W, 0, 1) && sim_net_connected(W, 3, 2),
			   "each side still talks inside");
	SIM_ASSERT(!sim_net_connected(W, 0, 2) && !sim_net_connected(W, 3, 1),
			   "a symmetric partition blocks both ways");
	SIM_ASSERT(!sim_net_connected(W, 4, 0) && !sim_net_connected(W, 2, 4),
			   "hosts in neither list are cut from both sides");
	SIM_HEAL();
	SIM_PARTITION_ONEWAY(a, b);
	SIM_ASSERT(!sim_net_connected(W, 0, 2) && sim_net_connected(W, 2, 0),
			   "a one-way partition blocks only a -> b");
	SIM_ASSERT(sim_net_connected(W, 4, 0), "and nothing else");
	SIM_HEAL();
	SIM_ISOLATE(4);
	SIM_ASSERT(!sim_net_connected(W, 4, 0) && !sim_net_connected(W, 1, 4) &&
			   sim_net_connected(W, 1, 2), "isolate cuts one host off");

	/* Addresses and names map back to hosts, and nothing else does. */
	for (unsigned i = 0; i < W->n; i++)
	{
		struct quorum_addr addr;

		sim_host_addr(i, &addr);
		SIM_ASSERT(sim_addr_host(W, &addr) == (int) i, "address of n%u", i);
		SIM_ASSERT(sim_name_host(W, W->hosts[i].name) == (int) i, "name n%u", i);
	}
	SIM_ASSERT(sim_name_host(W, "n05") < 0 && sim_name_host(W, "n5") < 0 &&
			   sim_name_host(W, "x1") < 0 && sim_name_host(W, "n") < 0,
			   "bad names are rejected");
}

/* The MTU is enforced: an oversize datagram fails the run. */
TEST(sim_mtu_enforced)
{
	struct sim_world *W;
	struct sim_opts o;
	uint8_t		big[2000] = {0};

	sim_test_opts(&o, 2, 0);
	W = sim_test_new(&o);
	sim_net_send(W, 0, &W->hosts[1].addr, big, o.net.mtu);
	SIM_ASSERT(!W->failed && W->net->stats.oversize == 0, "MTU-sized is fine");
	sim_net_send(W, 0, &W->hosts[1].addr, big, o.net.mtu + 1);
	SIM_ASSERT(W->failed && W->net->stats.oversize == 1,
			   "an oversize datagram was not caught");
	W->failed = false;
}

/* Loss is applied at about the configured rate, and is seed-determined. */
TEST(sim_net_loss_rate)
{
	struct sim_world *W;
	struct sim_opts o;
	uint8_t		byte = 0;
	double		rate;

	sim_test_opts(&o, 2, 0);
	o.net.loss = 0.2;
	o.net.duplicate = 0.1;
	W = sim_test_new(&o);
	for (int k = 0; k < 20000; k++)
		sim_net_send(W, 0, &W->hosts[1].addr, &byte, 1);
	rate = (double) W->net->stats.lost / 20000.0;
	SIM_ASSERT(rate > 0.18 && rate < 0.22, "loss rate %.3f, want 0.2", rate);
	rate = (double) W->net->stats.duplicated / (20000.0 - W->net->stats.lost);
	SIM_ASSERT(rate > 0.08 && rate < 0.12, "duplicate rate %.3f, want 0.1", rate);
}

/* The safety checkers fire on hand-made violations. */
TEST(sim_checkers_fire)
{
	struct sim_world *W;
	struct sim_opts o;
	struct quorum_durable d1 = {.incarnation = 5};
	struct quorum_durable d0 = {.incarnation = 4};
	struct quorum_event ev;
	struct quorum_output out;

	sim_test_opts(&o, 3, 0);
	W = sim_test_new(&o);
	SIM_RUN_FOR(3000);

	sim_check_on_persist(W, 1, &d1, true, &d0);
	SIM_ASSERT(W->failed && strstr(W->fail_msg, "backwards"),
			   "a persisted incarnation going back was not caught");
	W->failed = false;

	/* Booting n2 at an incarnation peers already saw reuses it. */
	W->check->seen_inc_max[2] = W->check->self_inc_max[2];
	sim_check_on_boot(W, 2, W->check->self_inc_max[2]);
	SIM_ASSERT(W->failed && strstr(W->fail_msg, "persisted"),
			   "a reused incarnation was not caught");
	W->failed = false;

	/* Events are checked against what the member itself ever held. */
	memset(&ev, 0, sizeof(ev));
	memset(&out, 0, sizeof(out));
	ev.type = QUORUM_EV_MEMBER_ALIVE;
	snprintf(ev.member, sizeof(ev.member), "n1");
	ev.incarnation = W->check->self_inc_max[1] + 7;
	out.flags = QUORUM_OUT_EVENTS;
	out.events = &ev;
	out.n_events = 1;
	sim_check_after_step(W, 0, &out);
	SIM_ASSERT(W->failed && strstr(W->fail_msg, "never held"),
			   "an invented incarnation was not caught");
	W->failed = false;

	ev.incarnation = 0;
	W->check->view_inc[0 * 3 + 1] = 1;
	sim_check_after_step(W, 0, &out);
	SIM_ASSERT(W->failed && strstr(W->fail_msg, "went backwards"),
			   "a view going backwards was not caught");
	W->failed = false;

	snprintf(ev.member, sizeof(ev.member), "n0");
	ev.type = QUORUM_EV_MEMBER_DEAD;
	ev.incarnation = W->check->self_inc_max[0];
	sim_check_after_step(W, 0, &out);
	SIM_ASSERT(W->failed && strstr(W->fail_msg, "itself"),
			   "a node declaring itself dead was not caught");
	W->failed = false;

	snprintf(ev.member, sizeof(ev.member), "stranger");
	sim_check_after_step(W, 0, &out);
	SIM_ASSERT(W->failed && strstr(W->fail_msg, "no host"),
			   "an unknown member was not caught");
	W->failed = false;
}
