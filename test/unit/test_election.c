/*-------------------------------------------------------------------------
 *
 * test_election.c
 *	  Unit tests of the election through the public node API: bootstrap
 *	  from a list and by gossip, events, the lease accessor, commands,
 *	  durable state across a restart, and persist-before-send.
 *
 * Up to five nodes talk through a tiny pump (fixed latency, per-link cuts,
 * crashes) in the style of test_swim.c.  The fake disk keeps exactly what
 * QUORUM_OUT_PERSIST handed out, and a restart hands it back through
 * config.restored; the raft module's own rules are tested in test_raft.c,
 * and the simulator checks the invariants over long random runs.
 *
 * test/unit/test_election.c
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
#define T_PACKETS_MAX 8192
#define T_EVENTS_MAX 2048
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
	struct quorum_meta facts;
	bool		up;
	struct quorum_durable disk;	/* the fake disk */
	bool		disk_written;
	/* What any datagram revealed: a term the disk had not, at the time. */
	bool		persist_violation;
};

struct t_net
{
	quorum_time_ms now_ms;
	unsigned	count;
	struct t_node n[T_NODES_MAX];
	bool		cut[T_NODES_MAX][T_NODES_MAX];
	struct t_packet *packets;
	size_t		head,
				tail;
	struct t_event events[T_EVENTS_MAX];
	size_t		n_events;
};

static struct t_net *net;
static bool t_verbose;

static void
t_trace(void *ctx, enum quorum_trace_level level, const char *line)
{
	(void) ctx;
	(void) level;
	if (t_verbose)
		fprintf(stderr, "%s\n", line);
}

static void
t_addr(unsigned i, struct quorum_addr *addr)
{
	memset(addr, 0, sizeof(*addr));
	addr->family = 4;
	addr->bytes[0] = 127;
	addr->bytes[3] = 1;
	addr->port = (uint16_t) (7100 + i);
}

static int
t_index(const struct quorum_addr *addr)
{
	for (unsigned i = 0; i < net->count; i++)
		if (addr->port == 7100 + i)
			return (int) i;
	return -1;
}

/* n1 .. n<voters> form the explicit first voter set unless voters is 0. */
static void
t_config(unsigned i, unsigned voters, struct quorum_config *c)
{
	quorum_config_init(c);
	snprintf(c->name, sizeof(c->name), "n%u", i + 1);
	snprintf(c->cluster, sizeof(c->cluster), "test");
	t_addr(i, &c->addr);
	c->keyring.count = 1;
	memset(c->keyring.keys[0], 0x42, QUORUM_KEY_BYTES);
	c->seed = 2000 + i;
	c->incarnation_start = 1;
	c->members_max = 8;
	c->meta_slots_max = 8;
	c->n_initial_voters = voters;
	c->trace_fn = t_trace;
	c->trace_level = QUORUM_TRACE_INFO;
	for (unsigned v = 0; v < voters; v++)
		snprintf(c->initial_voters[v], sizeof(c->initial_voters[v]), "n%u", v + 1);
}

static void
t_output(unsigned i, struct quorum_output *out)
{
	struct t_node *tn = &net->n[i];

	if (out->flags & QUORUM_OUT_PERSIST)
	{
		tn->disk = out->durable;
		tn->disk_written = true;
	}
	/* Nothing may be sent in a term the disk does not hold yet. */
	if (out->n_datagrams > 0 && quorum_node_term(tn->node) >
		(tn->disk_written ? tn->disk.election.term : 0))
		tn->persist_violation = true;
	if (out->n_datagrams > 0 && quorum_node_voted_for(tn->node)[0] != '\0' &&
		strcmp(quorum_node_voted_for(tn->node), tn->disk.election.voted_for) != 0)
		tn->persist_violation = true;
	for (size_t d = 0; d < out->n_datagrams; d++)
	{
		const struct quorum_datagram *dg = &out->datagrams[d];
		int			to = t_index(&dg->to);
		struct t_packet *p;

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
	for (size_t e = 0; e < out->n_events && net->n_events < T_EVENTS_MAX; e++)
	{
		net->events[net->n_events].node = i;
		net->events[net->n_events].ev = out->events[e];
		net->n_events++;
	}
	quorum_node_output_done(tn->node, out);
}

static int
t_step_rc(unsigned i, const struct quorum_input *in)
{
	struct quorum_output out;
	int			rc = quorum_node_step(net->n[i].node, in, &out);

	if (rc == 0)
		t_output(i, &out);
	return rc;
}

static void
t_step(unsigned i, const struct quorum_input *in)
{
	assert_int_equal(t_step_rc(i, in), 0);
}

static void
t_tick(unsigned i)
{
	struct quorum_input in = {.type = QUORUM_IN_TICK, .now_ms = net->now_ms};

	t_step(i, &in);
}

static void
t_join(unsigned i, unsigned seed)
{
	struct quorum_input in = {.type = QUORUM_IN_COMMAND, .now_ms = net->now_ms};

	in.u.command.type = QUORUM_CMD_JOIN;
	t_addr(seed, &in.u.command.addr);
	t_step(i, &in);
}

static int
t_command(unsigned i, enum quorum_command_type type, const char *name)
{
	struct quorum_input in = {.type = QUORUM_IN_COMMAND, .now_ms = net->now_ms};

	in.u.command.type = type;
	snprintf(in.u.command.name, sizeof(in.u.command.name), "%s", name);
	return t_step_rc(i, &in);
}

static void
t_set_facts(unsigned i, enum quorum_role role, uint64_t lsn)
{
	struct quorum_input in = {.type = QUORUM_IN_FACTS, .now_ms = net->now_ms};

	net->n[i].facts.role = role;
	net->n[i].facts.lsn = lsn;
	in.u.facts = net->n[i].facts;
	t_step(i, &in);
}

/* Boots node i from its config and, if it ran before, its disk. */
static void
t_boot(unsigned i)
{
	struct t_node *tn = &net->n[i];
	char		err[256] = "";

	if (tn->disk_written)
	{
		tn->config.restored = &tn->disk;
		tn->config.incarnation_start = tn->disk.incarnation + 1;
	}
	assert_int_equal(quorum_node_new(&tn->config, &tn->facts, net->now_ms,
									 &tn->node, err, sizeof(err)), 0);
	tn->config.restored = NULL;
	tn->up = true;
	t_tick(i);
	if (i > 0)
		t_join(i, 0);
	else if (net->count > 1)
		t_join(0, 1);
}

static void
t_crash(unsigned i)
{
	quorum_node_free(net->n[i].node);
	net->n[i].node = NULL;
	net->n[i].up = false;
}

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
			struct quorum_input in = {.type = QUORUM_IN_DATAGRAM,
			.now_ms = net->now_ms};

			if (net->n[p->to].up && !net->cut[p->from][p->to])
			{
				t_addr(p->from, &in.u.datagram.from);
				in.u.datagram.data = p->data;
				in.u.datagram.len = p->len;
				t_step(p->to, &in);
			}
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

static int
t_leader(void)
{
	for (unsigned i = 0; i < net->count; i++)
		if (net->n[i].up &&
			strcmp(quorum_node_leader(net->n[i].node), net->n[i].config.name) == 0)
			return (int) i;
	return -1;
}

/* One leader with a lease, followed by every running node. */
static bool
t_stable(void)
{
	int			l = t_leader();

	if (l < 0 || !quorum_node_has_lease(net->n[l].node, net->now_ms))
		return false;
	for (unsigned i = 0; i < net->count; i++)
		if (net->n[i].up &&
			strcmp(quorum_node_leader(net->n[i].node), net->n[l].config.name) != 0)
			return false;
	return true;
}

static bool
t_wait(bool (*pred) (void), quorum_time_ms bound_ms)
{
	quorum_time_ms end = net->now_ms + bound_ms;

	while (!pred())
	{
		if (net->now_ms >= end)
			return false;
		t_run_for(10);
	}
	return true;
}

static void
t_cluster(unsigned count, unsigned voters)
{
	net->count = count;
	for (unsigned i = 0; i < count; i++)
	{
		t_config(i, voters, &net->n[i].config);
		net->n[i].facts.role = QUORUM_ROLE_STANDBY;
		net->n[i].facts.timeline = 1;
		net->n[i].facts.lsn = 1000;
		net->n[i].facts.priority = 100;
	}
	for (unsigned i = 0; i < count; i++)
		t_boot(i);
}

static size_t
t_count(unsigned node, enum quorum_event_type type)
{
	size_t		n = 0;

	for (size_t k = 0; k < net->n_events; k++)
		if (net->events[k].node == node && net->events[k].ev.type == type)
			n++;
	return n;
}

static const struct quorum_event *
t_last(unsigned node, enum quorum_event_type type)
{
	const struct quorum_event *e = NULL;

	for (size_t k = 0; k < net->n_events; k++)
		if (net->events[k].node == node && net->events[k].ev.type == type)
			e = &net->events[k].ev;
	return e;
}

static int
t_setup(void **state)
{
	(void) state;
	net = calloc(1, sizeof(*net));
	if (net == NULL)
		return 1;
	net->packets = calloc(T_PACKETS_MAX, sizeof(*net->packets));
	return net->packets == NULL;
}

static int
t_teardown(void **state)
{
	(void) state;
	for (unsigned i = 0; i < T_NODES_MAX; i++)
	{
		assert_false(net->n[i].persist_violation);
		quorum_node_free(net->n[i].node);
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
test_defaults(void **state)
{
	struct quorum_config c;
	struct quorum_election_info info;
	quorum_node *n = NULL;
	char		err[256];

	(void) state;
	quorum_config_init(&c);
	assert_true(c.voter);
	assert_int_equal(c.heartbeat_ms, 100);
	assert_int_equal(c.election_timeout_min_ms, 1200);
	assert_int_equal(c.election_timeout_max_ms, 1600);
	assert_int_equal(c.drift_ppm, 5000);
	assert_int_equal(c.lease_margin_ms, 100);
	assert_null(c.restored);
	/* Without a voter set the node only gossips: no election, no lease. */
	t_config(0, 0, &c);
	assert_int_equal(quorum_node_new(&c, NULL, 0, &n, err, sizeof(err)), 0);
	assert_int_equal(quorum_node_election_get(n, &info), 0);
	assert_false(info.bootstrapped);
	assert_int_equal(info.term, 0);
	assert_string_equal(quorum_node_leader(n), "");
	assert_false(quorum_node_has_lease(n, 100000));
	assert_false(quorum_node_is_voter(n, NULL));
	quorum_node_free(n);
	/* Timings that leave no room for a lease are refused, with a reason. */
	t_config(0, 1, &c);
	c.election_timeout_min_ms = 150;
	assert_int_equal(quorum_node_new(&c, NULL, 0, &n, err, sizeof(err)),
					 QUORUM_EINVAL);
	assert_non_null(strstr(err, "election_timeout_min_ms"));
	t_config(0, 1, &c);
	c.n_initial_voters = QUORUM_VOTERS_MAX + 1;
	assert_int_equal(quorum_node_new(&c, NULL, 0, &n, err, sizeof(err)),
					 QUORUM_EINVAL);
}

static void
test_election_events_and_lease(void **state)
{
	int			l;
	const struct quorum_event *e;
	struct quorum_election_info info;

	(void) state;
	t_cluster(3, 3);
	assert_true(t_wait(t_stable, 8000));
	l = t_leader();
	assert_int_equal(quorum_node_election_get(net->n[l].node, &info), 0);
	assert_int_equal(info.role, QUORUM_ELECTION_LEADER);
	assert_int_equal(info.n_voters, 3);
	assert_true(info.lease_until_ms > net->now_ms);
	assert_true(quorum_node_is_voter(net->n[l].node, "n3"));
	assert_false(quorum_node_is_voter(net->n[l].node, "n4"));
	for (unsigned i = 0; i < 3; i++)
	{
		e = t_last(i, QUORUM_EV_LEADER_CHANGED);
		assert_non_null(e);
		assert_string_equal(e->member, net->n[l].config.name);
		assert_int_equal(e->term, quorum_node_term(net->n[l].node));
		assert_string_equal(quorum_event_type_name(e->type), "leader_changed");
		/* The vote the disk holds is the one the node reports. */
		assert_string_equal(net->n[i].disk.election.voted_for,
							quorum_node_voted_for(net->n[i].node));
		assert_int_equal(net->n[i].disk.election.snap.n_voters, 3);
	}
	e = t_last((unsigned) l, QUORUM_EV_LEASE_GAINED);
	assert_non_null(e);
	assert_string_equal(e->member, net->n[l].config.name);
	assert_int_equal(t_count((unsigned) (l + 1) % 3, QUORUM_EV_LEASE_GAINED), 0);
	/* The lease is a function of the host's clock, between steps too. */
	assert_true(quorum_node_has_lease(net->n[l].node, net->now_ms));
	assert_false(quorum_node_has_lease(net->n[l].node, net->now_ms + 5000));
	/* Cut off, the leader loses its lease, then steps down. */
	for (unsigned i = 0; i < 3; i++)
		net->cut[l][i] = net->cut[i][l] = (int) i != l;
	t_run_for(1300);
	assert_non_null(t_last((unsigned) l, QUORUM_EV_LEASE_LOST));
	assert_false(quorum_node_has_lease(net->n[l].node, net->now_ms));
}

/* bootstrap_expect: voters find each other by gossip (the voter flag). */
static void
test_bootstrap_expect_by_gossip(void **state)
{
	struct quorum_member_info info;

	(void) state;
	t_verbose = getenv("T_VERBOSE") != NULL;
	net->count = 4;
	for (unsigned i = 0; i < 4; i++)
	{
		t_config(i, 0, &net->n[i].config);
		net->n[i].config.bootstrap_expect = 3;
		net->n[i].config.voter = i < 3;
		net->n[i].facts.role = i == 1 ? QUORUM_ROLE_PRIMARY : QUORUM_ROLE_STANDBY;
		net->n[i].facts.timeline = 1;
		net->n[i].facts.lsn = 1000;
		net->n[i].facts.priority = 100;
	}
	for (unsigned i = 0; i < 4; i++)
		t_boot(i);
	assert_true(t_wait(t_stable, 12000));
	/* The existing primary wins the first election. */
	assert_int_equal(t_leader(), 1);
	assert_int_equal(quorum_node_term(net->n[1].node), 1);
	assert_true(quorum_node_is_voter(net->n[0].node, "n3"));
	assert_false(quorum_node_is_voter(net->n[0].node, "n4"));
	/* n4 is no voter; it follows all the same. */
	assert_int_equal(quorum_node_member_find(net->n[0].node, "n4", &info), 0);
	assert_string_equal(quorum_node_leader(net->n[3].node), "n2");
}

/* The durable record survives a crash: term, vote and log come back. */
static void
test_restart_restores_election(void **state)
{
	int			l;
	unsigned	f;
	uint64_t	term;
	struct quorum_election_info info;

	(void) state;
	t_cluster(3, 3);
	assert_true(t_wait(t_stable, 8000));
	l = t_leader();
	f = ((unsigned) l + 1) % 3;
	term = quorum_node_term(net->n[f].node);
	t_crash(f);
	t_boot(f);
	assert_int_equal(quorum_node_term(net->n[f].node), term);
	assert_string_equal(quorum_node_voted_for(net->n[f].node),
						net->n[f].disk.election.voted_for);
	assert_int_equal(quorum_node_election_get(net->n[f].node, &info), 0);
	assert_true(info.bootstrapped);
	assert_int_equal(info.n_voters, 3);
	assert_true(t_wait(t_stable, 3000));
	assert_int_equal(t_leader(), l);
	/* Even the leader: it comes back a follower, and someone else leads. */
	t_crash((unsigned) l);
	t_run_for(3000);
	t_boot((unsigned) l);
	assert_true(t_wait(t_stable, 3000));
	assert_int_not_equal(t_leader(), l);
	assert_true(quorum_node_term(net->n[l].node) > term);
}

static void
test_commands(void **state)
{
	int			l,
				f;
	const struct quorum_event *e;
	struct quorum_election_info info;

	(void) state;
	t_cluster(4, 3);
	/* Before any leader: a decision has nowhere to go. */
	assert_int_equal(t_command(0, QUORUM_CMD_PAUSE, ""), QUORUM_EBUSY);
	assert_non_null(strstr(quorum_node_errmsg(net->n[0].node), "no leader"));
	assert_int_equal(t_command(0, QUORUM_CMD_ADD_VOTER, ""), QUORUM_EINVAL);
	assert_true(t_wait(t_stable, 8000));
	l = t_leader();
	f = (l + 1) % 3;
	/* Pause, asked at a follower, committed everywhere. */
	assert_int_equal(t_command((unsigned) f, QUORUM_CMD_PAUSE, ""), 0);
	t_run_for(300);
	for (unsigned i = 0; i < 4; i++)
	{
		assert_int_equal(quorum_node_election_get(net->n[i].node, &info), 0);
		assert_true(info.paused);
		e = t_last(i, QUORUM_EV_DECISION_COMMITTED);
		assert_non_null(e);
		assert_int_equal(e->decision.type, QUORUM_DECISION_PAUSE);
		assert_true(e->index > 1);
	}
	assert_int_equal(t_command((unsigned) l, QUORUM_CMD_RESUME, ""), 0);
	t_run_for(300);
	assert_int_equal(quorum_node_election_get(net->n[3].node, &info), 0);
	assert_false(info.paused);
	/* n4 becomes a voter. */
	assert_int_equal(t_command((unsigned) f, QUORUM_CMD_ADD_VOTER, "n4"), 0);
	t_run_for(300);
	assert_true(quorum_node_is_voter(net->n[3].node, "n4"));
	e = t_last(3, QUORUM_EV_DECISION_COMMITTED);
	assert_int_equal(e->decision.type, QUORUM_DECISION_ADD_VOTER);
	assert_string_equal(e->member, "n4");
	assert_int_equal(t_command((unsigned) l, QUORUM_CMD_ADD_VOTER, "nobody"),
					 QUORUM_ENOTFOUND);
	/* Switchover to n4 by name: a new term, n4 leads with the lease. */
	assert_int_equal(t_command((unsigned) l, QUORUM_CMD_TRANSFER, "n4"), 0);
	t_run_for(500);
	assert_true(t_stable());
	assert_int_equal(t_leader(), 3);
	assert_string_equal(quorum_decision_type_name(QUORUM_DECISION_SWITCHOVER),
						"switchover");
	assert_string_equal(quorum_election_role_name(QUORUM_ELECTION_LEADER), "leader");
}

/* Priority 0 never leads, even as the last voter standing. */
static void
test_priority_zero(void **state)
{
	(void) state;
	t_cluster(3, 3);
	net->n[0].facts.priority = 0;
	t_set_facts(0, QUORUM_ROLE_STANDBY, 1000);
	assert_true(t_wait(t_stable, 8000));
	assert_int_not_equal(t_leader(), 0);
	t_crash(1);
	t_crash(2);
	t_run_for(10000);
	assert_int_equal(t_leader(), -1);
	assert_string_equal(quorum_node_leader(net->n[0].node), "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_defaults, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_election_events_and_lease, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_bootstrap_expect_by_gossip, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_restart_restores_election, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_commands, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_priority_zero, t_setup, t_teardown),
	};

	return cmocka_run_group_tests_name("election", tests, NULL, NULL);
}
