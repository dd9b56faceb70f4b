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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_join_converges, t_setup, t_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
