/*-------------------------------------------------------------------------
 *
 * test_swim.c
 *	  Unit tests of the membership protocol: 2 to 5 nodes driven by hand
 *	  through the public step API, with a fake clock and a tiny network.
 *
 * The pump below is deliberately small: a FIFO of datagrams with a fixed
 * latency, per-channel cuts, and nodes that can be silenced (crashed).  It
 * always advances the clock to the earliest of the next delivery and the
 * earliest node deadline, so no test sleeps and every run is the same.
 * The full simulator (test/sim/) does loss, reordering and the rest.
 *
 * test/unit/test_swim.c
 *
 *-------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "quorum/quorum.h"

#define T_NODES_MAX 5
#define T_PACKETS_MAX 4096
#define T_EVENTS_MAX 512
#define T_LATENCY_MS 2

struct t_packet
{
	unsigned	from;
	unsigned	to;
	quorum_time_ms at_ms;
	size_t		len;
	uint8_t		data[1400];
};

struct t_event
{
	unsigned	node;
	struct quorum_event ev;
};

struct t_node
{
	quorum_node *node;
	struct quorum_config config;
	bool		up;
	uint64_t	durable_incarnation;	/* the fake disk */
	bool		persist_violation;	/* sent an incarnation before persisting */
};

struct t_net
{
	quorum_time_ms now_ms;
	unsigned	count;
	struct t_node n[T_NODES_MAX];
	bool		cut[T_NODES_MAX][T_NODES_MAX];
	struct t_packet *packets;	/* FIFO in at_ms order (fixed latency) */
	size_t		head,
				tail;
	struct t_event events[T_EVENTS_MAX];
	size_t		n_events;
	bool		capture;		/* keep a copy of the last datagram sent */
	struct t_packet captured;
};

static struct t_net *net;
static char t_trace_buf[1 << 16];
static size_t t_trace_len;

static void
t_addr(unsigned i, struct quorum_addr *addr)
{
	memset(addr, 0, sizeof(*addr));
	addr->family = 4;
	addr->bytes[0] = 127;
	addr->bytes[3] = 1;
	addr->port = (uint16_t) (7000 + i);
}

static int
t_index(const struct quorum_addr *addr)
{
	for (unsigned i = 0; i < net->count; i++)
		if (addr->port == 7000 + i)
			return (int) i;
	return -1;
}

static void
t_config(unsigned i, struct quorum_config *c)
{
	quorum_config_init(c);
	snprintf(c->name, sizeof(c->name), "n%u", i + 1);
	snprintf(c->cluster, sizeof(c->cluster), "test");
	t_addr(i, &c->addr);
	c->keyring.count = 1;
	memset(c->keyring.keys[0], 0x42, QUORUM_KEY_BYTES);
	c->seed = 1000 + i;
	c->incarnation_start = 1;
	c->members_max = 8;
	c->meta_slots_max = 8;
}

static void
t_output(unsigned i, struct quorum_output *out)
{
	struct t_node *tn = &net->n[i];

	if (out->flags & QUORUM_OUT_PERSIST)
		tn->durable_incarnation = out->durable.incarnation;
	for (size_t d = 0; d < out->n_datagrams; d++)
	{
		const struct quorum_datagram *dg = &out->datagrams[d];
		int			to = t_index(&dg->to);
		struct t_packet *p;

		assert_true(dg->len <= sizeof(p->data));
		if (net->capture)
		{
			net->captured.from = i;
			net->captured.to = to < 0 ? 0 : (unsigned) to;
			net->captured.len = dg->len;
			memcpy(net->captured.data, dg->data, dg->len);
		}
		if (to < 0 || net->cut[i][to])
			continue;
		assert_true(net->tail < T_PACKETS_MAX);
		p = &net->packets[net->tail++];
		p->from = i;
		p->to = (unsigned) to;
		p->at_ms = net->now_ms + T_LATENCY_MS;
		p->len = dg->len;
		memcpy(p->data, dg->data, dg->len);
	}
	{
		struct quorum_member_info self;

		assert_int_equal(quorum_node_member_get(tn->node, 0, &self), 0);
		if (out->n_datagrams > 0 && self.incarnation > tn->durable_incarnation)
			tn->persist_violation = true;
	}
	for (size_t e = 0; e < out->n_events && net->n_events < T_EVENTS_MAX; e++)
	{
		net->events[net->n_events].node = i;
		net->events[net->n_events].ev = out->events[e];
		net->n_events++;
	}
	quorum_node_output_done(tn->node, out);
}

static void
t_step(unsigned i, const struct quorum_input *in)
{
	struct quorum_output out;

	assert_int_equal(quorum_node_step(net->n[i].node, in, &out), 0);
	t_output(i, &out);
}

static void
t_tick(unsigned i)
{
	struct quorum_input in = {.type = QUORUM_IN_TICK, .now_ms = net->now_ms};

	t_step(i, &in);
}

static void
t_deliver(unsigned to, const uint8_t *data, size_t len, unsigned from)
{
	struct quorum_input in = {.type = QUORUM_IN_DATAGRAM, .now_ms = net->now_ms};

	t_addr(from, &in.u.datagram.from);
	in.u.datagram.data = data;
	in.u.datagram.len = len;
	t_step(to, &in);
}

static void
t_boot(unsigned i, const struct quorum_config *c)
{
	char		err[256] = "";
	static const struct quorum_meta facts = {.role = QUORUM_ROLE_STANDBY,
	.timeline = 1, .priority = 100};

	net->n[i].config = *c;
	assert_int_equal(quorum_node_new(c, &facts, net->now_ms, &net->n[i].node,
									 err, sizeof(err)), 0);
	net->n[i].up = true;
	t_tick(i);
}

static void
t_join(unsigned i, unsigned seed)
{
	struct quorum_input in = {.type = QUORUM_IN_COMMAND, .now_ms = net->now_ms};

	in.u.command.type = QUORUM_CMD_JOIN;
	t_addr(seed, &in.u.command.addr);
	t_step(i, &in);
}

/* Runs the pump until end_ms: deliveries and deadlines, earliest first. */
static void
t_run_until(quorum_time_ms end_ms)
{
	for (;;)
	{
		quorum_time_ms next = UINT64_MAX;
		int			who = -1;

		if (net->head < net->tail)
			next = net->packets[net->head].at_ms;
		for (unsigned i = 0; i < net->count; i++)
			if (net->n[i].up && quorum_node_deadline_ms(net->n[i].node) < next)
			{
				next = quorum_node_deadline_ms(net->n[i].node);
				who = (int) i;
			}
		if (next > end_ms)
			break;
		if (next > net->now_ms)
			net->now_ms = next;
		if (who >= 0)
			t_tick((unsigned) who);
		else
		{
			struct t_packet *p = &net->packets[net->head++];

			if (net->n[p->to].up)
				t_deliver(p->to, p->data, p->len, p->from);
			if (net->head == net->tail)
				net->head = net->tail = 0;
		}
	}
	net->now_ms = end_ms;
}

static void
t_run_for(quorum_time_ms ms)
{
	t_run_until(net->now_ms + ms);
}

static enum quorum_member_state
t_state(unsigned viewer, unsigned member)
{
	struct quorum_member_info info;
	char		name[16];

	snprintf(name, sizeof(name), "n%u", member + 1);
	if (quorum_node_member_find(net->n[viewer].node, name, &info) != 0)
		return (enum quorum_member_state) -1;
	return info.state;
}

static void
t_info(unsigned viewer, unsigned member, struct quorum_member_info *info)
{
	char		name[16];

	snprintf(name, sizeof(name), "n%u", member + 1);
	assert_int_equal(quorum_node_member_find(net->n[viewer].node, name, info), 0);
}

/* Everyone up sees everyone up as alive. */
static bool
t_converged(void)
{
	for (unsigned i = 0; i < net->count; i++)
	{
		if (!net->n[i].up)
			continue;
		for (unsigned j = 0; j < net->count; j++)
			if (net->n[j].up && t_state(i, j) != QUORUM_MEMBER_ALIVE)
				return false;
	}
	return true;
}

/* Polls pred every 10 ms of fake time; false if not true by the bound. */
static bool
t_wait_until(bool (*pred) (void), quorum_time_ms bound_ms)
{
	quorum_time_ms end = net->now_ms + bound_ms;

	while (net->now_ms < end)
	{
		if (pred())
			return true;
		t_run_for(10);
	}
	return pred();
}

/* Boots count nodes, all joining through n1, and waits for convergence. */
static void
t_cluster(unsigned count)
{
	net->count = count;
	for (unsigned i = 0; i < count; i++)
	{
		struct quorum_config c;

		t_config(i, &c);
		t_boot(i, &c);
		if (i > 0)
			t_join(i, 0);
	}
	assert_true(t_wait_until(t_converged, 5000));
}

static size_t
t_count_events(unsigned node, enum quorum_event_type type, const char *member)
{
	size_t		n = 0;

	for (size_t i = 0; i < net->n_events; i++)
		if (net->events[i].node == node && net->events[i].ev.type == type &&
			strcmp(net->events[i].ev.member, member) == 0)
			n++;
	return n;
}

static int
t_setup(void **state)
{
	(void) state;
	net = calloc(1, sizeof(*net));
	net->packets = calloc(T_PACKETS_MAX, sizeof(*net->packets));
	t_trace_len = 0;
	t_trace_buf[0] = '\0';
	return net == NULL || net->packets == NULL;
}

static int
t_teardown(void **state)
{
	(void) state;
	for (unsigned i = 0; i < T_NODES_MAX; i++)
	{
		quorum_node_free(net->n[i].node);
		assert_false(net->n[i].persist_violation);
	}
	free(net->packets);
	free(net);
	net = NULL;
	return 0;
}

/* ------------------------------------------------------------------------
 * Tests
 * ------------------------------------------------------------------------
 */

static void
test_join_converges(void **state)
{
	(void) state;
	t_cluster(3);
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(quorum_node_member_count(net->n[i].node), 3);
	assert_int_equal(t_count_events(0, QUORUM_EV_MEMBER_ALIVE, "n2"), 1);
	assert_int_equal(t_count_events(2, QUORUM_EV_MEMBER_ALIVE, "n2"), 1);
	/* And it stays converged while probing goes on. */
	t_run_for(5000);
	assert_true(t_converged());
}

/* A joiner learns the whole table from the seed's push-pull answer at once. */
static void
test_join_pushpull_answer(void **state)
{
	struct quorum_config c;
	struct quorum_node_stats st;

	(void) state;
	t_cluster(3);
	net->count = 4;
	t_config(3, &c);
	t_boot(3, &c);
	t_join(3, 0);
	/* one round trip: push (2 ms), reply (2 ms) */
	t_run_for(2 * T_LATENCY_MS);
	assert_int_equal(quorum_node_member_count(net->n[3].node), 4);
	assert_int_equal(t_state(3, 1), QUORUM_MEMBER_ALIVE);
	assert_int_equal(t_state(3, 2), QUORUM_MEMBER_ALIVE);
	assert_int_equal(t_state(0, 3), QUORUM_MEMBER_ALIVE);
	quorum_node_stats_get(net->n[0].node, &st);
	assert_true(st.pushpulls >= 3);
	assert_true(t_wait_until(t_converged, 3000));
}

static void
test_probe_ack(void **state)
{
	struct quorum_member_info info;
	struct quorum_node_stats st;

	(void) state;
	t_cluster(3);
	t_run_for(3000);
	for (unsigned i = 0; i < 3; i++)
	{
		quorum_node_stats_get(net->n[i].node, &st);
		assert_true(st.probes_sent >= 10);
		assert_int_equal(st.probes_failed, 0);
		assert_int_equal(st.indirect_probes_sent, 0);
		assert_int_equal(st.local_health, 0);
		assert_int_equal(st.members_alive, 3);
		for (unsigned d = 0; d < QUORUM_DROP__COUNT; d++)
			assert_int_equal(st.drops[d], 0);
	}
	t_info(0, 1, &info);
	assert_true(info.probes_sent >= 5);
	assert_int_equal(info.acks_received, info.probes_sent);
	/* Round trip is two hops of T_LATENCY_MS. */
	assert_int_equal(info.rtt_us, 2 * T_LATENCY_MS * 1000);
	assert_true(info.last_heard_ms + 500 >= net->now_ms);
}

static void
t_crash(unsigned i)
{
	net->n[i].up = false;
}

static void
t_cut_both(unsigned a, unsigned b, bool cut)
{
	net->cut[a][b] = cut;
	net->cut[b][a] = cut;
}

static void
t_isolate(unsigned a, bool cut)
{
	for (unsigned b = 0; b < net->count; b++)
		if (b != a)
			t_cut_both(a, b, cut);
}

static unsigned t_viewer;
static unsigned t_target;
static enum quorum_member_state t_want;

static bool
t_state_is(void)
{
	return t_state(t_viewer, t_target) == t_want;
}

static bool
t_wait_state(unsigned viewer, unsigned target, enum quorum_member_state want,
			 quorum_time_ms bound_ms)
{
	t_viewer = viewer;
	t_target = target;
	t_want = want;
	return t_wait_until(t_state_is, bound_ms);
}

/*
 * A silent member is suspected within two probe rounds and declared dead
 * no earlier than the minimum and no later than the maximum suspicion
 * timeout (N = 3: min 4 * 1 * 200 = 800 ms, max 6 * 800 = 4800 ms).
 */
static void
test_silent_node_suspect_then_dead(void **state)
{
	quorum_time_ms crashed,
				suspected,
				dead;
	struct quorum_node_stats st;

	(void) state;
	t_cluster(3);
	t_run_for(1000);
	crashed = net->now_ms;
	t_crash(2);
	assert_true(t_wait_state(0, 2, QUORUM_MEMBER_SUSPECT, 2 * 2 * 200 + 200));
	suspected = net->now_ms;
	assert_true(t_wait_state(0, 2, QUORUM_MEMBER_DEAD, 4800 + 20));
	dead = net->now_ms;
	assert_true(dead - suspected >= 800 - 20);
	assert_true(suspected > crashed);
	assert_int_equal(t_count_events(0, QUORUM_EV_MEMBER_SUSPECT, "n3"), 1);
	assert_int_equal(t_count_events(0, QUORUM_EV_MEMBER_DEAD, "n3"), 1);
	assert_true(t_wait_state(1, 2, QUORUM_MEMBER_DEAD, 1000));
	assert_int_equal(t_count_events(1, QUORUM_EV_MEMBER_DEAD, "n3"), 1);
	quorum_node_stats_get(net->n[0].node, &st);
	assert_int_equal(st.members_dead, 1);
	assert_int_equal(st.members_alive, 2);
	assert_true(st.probes_failed >= 1);
	/* The survivors stay healthy: the helpers NACKed, so no blame on us. */
	assert_int_equal(st.local_health, 0);
	t_run_for(5000);
	assert_int_equal(t_state(0, 1), QUORUM_MEMBER_ALIVE);
	assert_int_equal(t_state(0, 2), QUORUM_MEMBER_DEAD);
}

/* With the direct path n1 <-> n2 cut, n3 relays the acks: nobody is suspected. */
static void
test_indirect_probe(void **state)
{
	struct quorum_node_stats st;

	(void) state;
	t_cluster(3);
	t_cut_both(0, 1, true);
	for (int i = 0; i < 500; i++)
	{
		t_run_for(10);
		assert_int_equal(t_state(0, 1), QUORUM_MEMBER_ALIVE);
		assert_int_equal(t_state(1, 0), QUORUM_MEMBER_ALIVE);
	}
	quorum_node_stats_get(net->n[0].node, &st);
	assert_true(st.indirect_probes_sent >= 5);
	assert_int_equal(st.probes_failed, 0);
	assert_int_equal(st.local_health, 0);
}

static bool
t_n3_refuted_everywhere(void)
{
	struct quorum_member_info info;

	for (unsigned i = 0; i < net->count; i++)
	{
		t_info(i, 2, &info);
		if (info.state != QUORUM_MEMBER_ALIVE || info.incarnation < 2)
			return false;
	}
	return t_converged();
}

/*
 * n3 is cut off just long enough to be suspected; once it hears of it, it
 * refutes with a higher incarnation, persisted before it is sent (the pump
 * checks that order on every step).
 */
static void
test_refute_suspicion(void **state)
{
	struct quorum_node_stats st;
	struct quorum_member_info self;

	(void) state;
	t_cluster(5);
	t_isolate(2, true);
	assert_true(t_wait_state(0, 2, QUORUM_MEMBER_SUSPECT, 3000));
	t_isolate(2, false);
	assert_true(t_wait_until(t_n3_refuted_everywhere, 3000));
	assert_int_equal(quorum_node_member_get(net->n[2].node, 0, &self), 0);
	assert_true(self.incarnation >= 2);
	assert_true(net->n[2].durable_incarnation >= self.incarnation);
	quorum_node_stats_get(net->n[2].node, &st);
	assert_true(st.suspicions_refuted >= 1);
	assert_int_equal(t_count_events(0, QUORUM_EV_MEMBER_DEAD, "n3"), 0);
	assert_true(t_count_events(0, QUORUM_EV_MEMBER_ALIVE, "n3") >= 2);
}

static void
t_trace(void *ctx, enum quorum_trace_level level, const char *line)
{
	size_t		n = strlen(line);

	(void) ctx;
	(void) level;
	if (t_trace_len + n + 2 < sizeof(t_trace_buf))
	{
		memcpy(t_trace_buf + t_trace_len, line, n);
		t_trace_len += n;
		t_trace_buf[t_trace_len++] = '\n';
		t_trace_buf[t_trace_len] = '\0';
	}
}

/*
 * Five nodes, n5 crashes: the other three suspicions confirm n1's, so n1
 * declares it dead well before the 4800 ms maximum (k = 3, and
 * 4800 - 4000 * ln(C + 1) / ln 4 gives 2800 ms at C = 1).
 */
static void
test_confirmations_shorten_suspicion(void **state)
{
	struct quorum_config c;
	quorum_time_ms suspected;

	(void) state;
	net->count = 5;
	for (unsigned i = 0; i < 5; i++)
	{
		t_config(i, &c);
		if (i == 0)
		{
			c.trace_fn = t_trace;
			c.trace_level = QUORUM_TRACE_INFO;
		}
		t_boot(i, &c);
		if (i > 0)
			t_join(i, 0);
	}
	assert_true(t_wait_until(t_converged, 5000));
	t_crash(4);
	assert_true(t_wait_state(0, 4, QUORUM_MEMBER_SUSPECT, 3000));
	suspected = net->now_ms;
	assert_true(t_wait_state(0, 4, QUORUM_MEMBER_DEAD, 4800));
	assert_true(net->now_ms - suspected <= 2800 + 20);
	assert_non_null(strstr(t_trace_buf, "suspect n5 confirmed by"));
	assert_non_null(strstr(t_trace_buf, "n1 n5 dead (inc 1"));
}

static void
test_metadata_propagates(void **state)
{
	struct quorum_input in = {.type = QUORUM_IN_FACTS};
	struct quorum_member_info info;

	(void) state;
	t_cluster(3);
	t_info(2, 0, &info);
	assert_true(info.has_meta);
	assert_int_equal(info.meta_version, 1);
	assert_int_equal(info.meta.priority, 100);

	in.now_ms = net->now_ms;
	in.u.facts.role = QUORUM_ROLE_PRIMARY;
	in.u.facts.timeline = 2;
	in.u.facts.lsn = 123456;
	in.u.facts.priority = 50;
	snprintf(in.u.facts.conninfo, sizeof(in.u.facts.conninfo), "host=n1 port=5432");
	t_step(0, &in);
	/* The same facts again are no news. */
	t_step(0, &in);
	t_run_for(1000);
	for (unsigned i = 1; i < 3; i++)
	{
		t_info(i, 0, &info);
		assert_int_equal(info.meta_version, 2);
		assert_int_equal(info.meta.role, QUORUM_ROLE_PRIMARY);
		assert_int_equal(info.meta.lsn, 123456);
		assert_int_equal(info.meta.timeline, 2);
		assert_string_equal(info.meta.conninfo, "host=n1 port=5432");
		assert_int_equal(t_count_events(i, QUORUM_EV_MEMBER_UPDATED, "n1"), 1);
	}
	t_info(0, 0, &info);
	assert_int_equal(info.meta_version, 2);
}

/* With one metadata slot (our own), others are known but without metadata. */
static void
test_metadata_slots_full(void **state)
{
	struct quorum_config c;
	struct quorum_member_info info;
	struct quorum_node_stats st;

	(void) state;
	net->count = 3;
	for (unsigned i = 0; i < 3; i++)
	{
		t_config(i, &c);
		if (i == 0)
			c.meta_slots_max = 2;
		t_boot(i, &c);
		if (i > 0)
			t_join(i, 0);
	}
	assert_true(t_wait_until(t_converged, 5000));
	quorum_node_stats_get(net->n[0].node, &st);
	assert_true(st.drops[QUORUM_DROP_TABLE_FULL] >= 1);
	t_info(0, 1, &info);
	{
		struct quorum_member_info other;

		t_info(0, 2, &other);
		/* exactly one of the two got the one free slot */
		assert_true(info.has_meta != other.has_meta);
	}
}

static void
test_leave(void **state)
{
	struct quorum_input in = {.type = QUORUM_IN_COMMAND};
	struct quorum_output out;
	struct quorum_node_stats st;

	(void) state;
	t_cluster(4);
	in.now_ms = net->now_ms;
	in.u.command.type = QUORUM_CMD_LEAVE;
	assert_int_equal(quorum_node_step(net->n[3].node, &in, &out), 0);
	assert_true(out.n_datagrams >= 1);
	assert_true(out.flags & QUORUM_OUT_SEND);
	t_output(3, &out);
	assert_int_equal(quorum_node_deadline_ms(net->n[3].node), UINT64_MAX);
	in.type = QUORUM_IN_TICK;
	assert_int_equal(quorum_node_step(net->n[3].node, &in, &out), QUORUM_ESTATE);
	assert_int_equal(out.n_datagrams, 0);
	assert_non_null(strstr(quorum_node_errmsg(net->n[3].node), "left"));
	net->n[3].up = false;
	for (unsigned i = 0; i < 3; i++)
		assert_true(t_wait_state(i, 3, QUORUM_MEMBER_LEFT, 2000));
	t_run_for(10000);
	for (unsigned i = 0; i < 3; i++)
	{
		assert_int_equal(t_state(i, 3), QUORUM_MEMBER_LEFT);
		assert_int_equal(t_count_events(i, QUORUM_EV_MEMBER_LEFT, "n4"), 1);
		assert_int_equal(t_count_events(i, QUORUM_EV_MEMBER_DEAD, "n4"), 0);
	}
	quorum_node_stats_get(net->n[0].node, &st);
	assert_int_equal(st.members_left, 1);
}

/* Dead members are forgotten after reap_dead_ms. */
static void
test_reap(void **state)
{
	struct quorum_config c;

	(void) state;
	net->count = 3;
	for (unsigned i = 0; i < 3; i++)
	{
		t_config(i, &c);
		c.gossip_to_dead_ms = 1000;
		c.reap_dead_ms = 2000;
		t_boot(i, &c);
		if (i > 0)
			t_join(i, 0);
	}
	assert_true(t_wait_until(t_converged, 5000));
	t_crash(2);
	assert_true(t_wait_state(0, 2, QUORUM_MEMBER_DEAD, 6000));
	assert_int_equal(quorum_node_member_count(net->n[0].node), 3);
	/* reaped when its turn in the probe order comes after 2000 ms */
	t_run_for(2000 + 2 * 200 + 20);
	assert_int_equal(quorum_node_member_count(net->n[0].node), 2);
	assert_int_equal((int) t_state(0, 2), -1);
	assert_int_equal(t_count_events(0, QUORUM_EV_MEMBER_REAPED, "n3"), 1);
	t_run_for(2000);
	assert_int_equal(t_state(0, 1), QUORUM_MEMBER_ALIVE);
}

/* A crashed node restarts at a higher incarnation (and boot) and is back. */
static void
test_restart_higher_incarnation(void **state)
{
	struct quorum_config c;
	struct quorum_member_info info;

	(void) state;
	t_cluster(3);
	t_crash(2);
	assert_true(t_wait_state(0, 2, QUORUM_MEMBER_DEAD, 6000));
	quorum_node_free(net->n[2].node);
	net->n[2].node = NULL;
	c = net->n[2].config;
	c.incarnation_start = net->n[2].durable_incarnation + 1;
	c.seed = 99;
	t_boot(2, &c);
	t_join(2, 1);
	assert_true(t_wait_until(t_converged, 3000));
	t_info(0, 2, &info);
	assert_int_equal(info.incarnation, c.incarnation_start);
	assert_int_equal(net->n[2].durable_incarnation, c.incarnation_start);
	/* the new boot's datagrams are not taken for replays of the old one */
	t_run_for(3000);
	assert_true(t_converged());
}

/*
 * Both sides of a long cut declare each other dead; after healing, gossip
 * to the dead tells each side, which refutes, and the cluster reconverges.
 */
static void
test_gossip_to_dead_heals(void **state)
{
	struct quorum_member_info info;

	(void) state;
	t_cluster(3);
	t_isolate(2, true);
	assert_true(t_wait_state(0, 2, QUORUM_MEMBER_DEAD, 8000));
	assert_true(t_wait_state(2, 0, QUORUM_MEMBER_DEAD, 8000));
	t_isolate(2, false);
	assert_true(t_wait_until(t_converged, 10000));
	t_info(0, 2, &info);
	assert_true(info.incarnation >= 2);
}

/*
 * A partition that outlasts gossip_to_dead_ms: nothing crosses it any more
 * but the reconnect push-pull to a dead member, which must heal it.
 */
static void
test_reconnect_after_long_partition(void **state)
{
	struct quorum_config c;

	(void) state;
	net->count = 4;
	for (unsigned i = 0; i < 4; i++)
	{
		t_config(i, &c);
		c.gossip_to_dead_ms = 1000;
		c.pushpull_interval_ms = 2000;
		t_boot(i, &c);
		if (i > 0)
			t_join(i, 0);
	}
	assert_true(t_wait_until(t_converged, 5000));
	for (unsigned a = 0; a < 2; a++)
		for (unsigned b = 2; b < 4; b++)
			t_cut_both(a, b, true);
	t_run_for(15000);
	assert_int_equal(t_state(0, 3), QUORUM_MEMBER_DEAD);
	assert_int_equal(t_state(3, 0), QUORUM_MEMBER_DEAD);
	for (unsigned a = 0; a < 2; a++)
		for (unsigned b = 2; b < 4; b++)
			t_cut_both(a, b, false);
	assert_true(t_wait_until(t_converged, 3 * 2000 + 1000));
}

/* Our own outgoing datagrams lost: probes fail with no nacks, health drops. */
static void
test_local_health(void **state)
{
	struct quorum_node_stats st;
	struct quorum_member_info info;

	(void) state;
	t_cluster(4);
	for (unsigned b = 1; b < 4; b++)
		net->cut[0][b] = true;
	t_run_for(1000);
	quorum_node_stats_get(net->n[0].node, &st);
	assert_true(st.local_health >= 1);
	assert_true(st.local_health <= 7);
	for (unsigned b = 1; b < 4; b++)
		net->cut[0][b] = false;
	/* n1 was surely suspected meanwhile; it refutes, and heals */
	t_run_for(20000);
	quorum_node_stats_get(net->n[0].node, &st);
	assert_int_equal(st.local_health, 0);
	assert_true(t_converged());
	t_info(0, 0, &info);
	assert_true(info.incarnation >= 1);
}

/* Push-pull repairs a member whose news was never gossiped to us. */
static void
test_pushpull_periodic(void **state)
{
	struct quorum_config c;
	struct quorum_node_stats st;

	(void) state;
	net->count = 3;
	for (unsigned i = 0; i < 3; i++)
	{
		t_config(i, &c);
		c.pushpull_interval_ms = 1000;
		t_boot(i, &c);
		if (i > 0)
			t_join(i, 0);
	}
	assert_true(t_wait_until(t_converged, 5000));
	t_run_for(5000);
	quorum_node_stats_get(net->n[1].node, &st);
	/* about one exchange a second started by n2, plus those it answered */
	assert_true(st.pushpulls >= 4);
	assert_true(t_converged());
}

/* Boots 3 traced nodes, crashes n3 and runs 3 s; the trace is in t_trace_buf. */
static void
t_traced_crash_run(enum quorum_trace_level level)
{
	struct quorum_config c;

	net->count = 3;
	for (unsigned i = 0; i < 3; i++)
	{
		t_config(i, &c);
		c.trace_fn = t_trace;
		c.trace_level = level;
		t_boot(i, &c);
		if (i > 0)
			t_join(i, 0);
	}
	t_run_for(1000);
	t_crash(2);
	t_run_for(3000);
}

/* The same inputs give the same decisions, line for line (golden traces). */
static void
test_trace_deterministic(void **state)
{
	char	   *first;
	unsigned long long at;
	char		who[8];

	(void) state;
	t_traced_crash_run(QUORUM_TRACE_DEBUG);
	first = strdup(t_trace_buf);
	assert_non_null(first);
	assert_true(strlen(first) > 1000);
	t_teardown(NULL);
	t_setup(NULL);
	t_traced_crash_run(QUORUM_TRACE_DEBUG);
	assert_string_equal(first, t_trace_buf);
	free(first);
	/* "[%8llu] <self> <text>" */
	assert_int_equal(sscanf(t_trace_buf, "[%8llu] %7s ", &at, who), 2);
	assert_int_equal(t_trace_buf[9], ']');
	assert_non_null(strstr(t_trace_buf, "] n1 suspect n3 (inc 1, by "));
	assert_non_null(strstr(t_trace_buf, "] n1 ping n3 timed out -> indirect probe via n2\n"));
	assert_non_null(strstr(t_trace_buf, "] n2 n3 dead (inc 1"));
}

/* Filtered levels are not even formatted: nothing reaches the callback. */
static void
test_trace_filtered(void **state)
{
	(void) state;
	t_traced_crash_run(QUORUM_TRACE_WARNING);
	assert_int_equal(t_trace_len, 0);
	assert_int_equal(t_state(0, 2), QUORUM_MEMBER_DEAD);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, t_setup, t_teardown)
		T(test_join_converges),
		T(test_join_pushpull_answer),
		T(test_probe_ack),
		T(test_silent_node_suspect_then_dead),
		T(test_indirect_probe),
		T(test_refute_suspicion),
		T(test_confirmations_shorten_suspicion),
		T(test_metadata_propagates),
		T(test_metadata_slots_full),
		T(test_leave),
		T(test_reap),
		T(test_restart_higher_incarnation),
		T(test_gossip_to_dead_heals),
		T(test_reconnect_after_long_partition),
		T(test_local_health),
		T(test_pushpull_periodic),
		T(test_trace_deterministic),
		T(test_trace_filtered),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
