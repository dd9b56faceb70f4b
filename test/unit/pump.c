/*-------------------------------------------------------------------------
 *
 * pump.c
 *	  The in-test network shared by the multi-node unit tests; see pump.h.
 *
 * Linked into every unit test binary; it defines no tests.  The checks that
 * belong to the host contract rather than to one test live here, so that
 * every step of every test makes them: a datagram never leaves before the
 * disk holds the incarnation, term and vote it depends on, and a datagram
 * is marked pushpull exactly when it carries a push-pull chunk (the
 * runtime sends those over TCP without opening them).
 *
 * test/unit/pump.c
 *
 *-------------------------------------------------------------------------
 */
#include "pump.h"
#include "seal.h"
#include "wire.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define PUMP_PORT_BASE 7000
#define PUMP_POLL_MS 10

struct pump *pump;

int
pump_setup(void **state)
{
	(void) state;
	pump = calloc(1, sizeof(*pump));
	if (pump == NULL)
		return 1;
	pump->packets = calloc(PUMP_PACKETS_MAX, sizeof(*pump->packets));
	pump->verbose = getenv("T_VERBOSE") != NULL;
	return pump->packets == NULL;
}

int
pump_teardown(void **state)
{
	bool		violation = false;

	(void) state;
	for (unsigned i = 0; i < PUMP_NODES_MAX; i++)
	{
		quorum_node_free(pump->n[i].node);
		violation |= pump->n[i].persist_violation;
	}
	free(pump->packets);
	free(pump);
	pump = NULL;
	/* After freeing, so that a failure here is not reported as a leak too. */
	assert_false(violation);
	return 0;
}

void
pump_addr(unsigned i, struct quorum_addr *addr)
{
	memset(addr, 0, sizeof(*addr));
	addr->family = 4;
	addr->bytes[0] = 127;
	addr->bytes[3] = 1;
	addr->port = (uint16_t) (PUMP_PORT_BASE + i);
}

int
pump_index(const struct quorum_addr *addr)
{
	for (unsigned i = 0; i < pump->count; i++)
		if (addr->port == PUMP_PORT_BASE + i)
			return (int) i;
	return -1;
}

/*
 * The node's pushpull mark must match the message type inside.  Datagrams
 * sealed with another key than pump_config()'s (a test of key rotation)
 * are not checked.
 */
static void
pump_check_pushpull_mark(const struct quorum_datagram *dg)
{
	static uint8_t plain[PUMP_DATAGRAM_BYTES];
	struct quorum_keyring kr = {.count = 1};
	struct quorum_sealer sealer;
	int			n;

	memset(kr.keys[0], 0x42, QUORUM_KEY_BYTES);
	assert_int_equal(quorum__sealer_init(&sealer, &kr, false), 0);
	n = quorum__unseal(&sealer, dg->data, dg->len, plain, sizeof(plain));
	quorum__sealer_destroy(&sealer);
	if (n < 4)
		return;
	assert_int_equal(dg->pushpull, plain[3] == (uint8_t) QUORUM_WIRE_PUSHPULL);
	pump->pushpulls_marked += dg->pushpull;
}

void
pump_config(unsigned i, struct quorum_config *c, struct quorum_meta *facts)
{
	quorum_config_init(c);
	snprintf(c->name, sizeof(c->name), "n%u", i + 1);
	snprintf(c->cluster, sizeof(c->cluster), "test");
	pump_addr(i, &c->addr);
	c->keyring.count = 1;
	memset(c->keyring.keys[0], 0x42, QUORUM_KEY_BYTES);
	c->seed = 1000 + i;
	c->incarnation_start = 1;
	c->members_max = 8;
	c->meta_slots_max = 8;
	memset(facts, 0, sizeof(*facts));
	facts->role = QUORUM_ROLE_STANDBY;
	facts->timeline = 1;
	facts->priority = 100;
	if (pump->configure != NULL)
		pump->configure(i, c, facts);
}

void
pump_configure(unsigned i)
{
	pump_config(i, &pump->n[i].config, &pump->n[i].facts);
}

void
pump_trace(void *ctx, enum quorum_trace_level level, const char *line)
{
	size_t		n = strlen(line);

	(void) ctx;
	(void) level;
	if (pump->verbose)
		fprintf(stderr, "%s\n", line);
	if (pump->trace_len + n + 2 < sizeof(pump->trace))
	{
		memcpy(pump->trace + pump->trace_len, line, n);
		pump->trace_len += n;
		pump->trace[pump->trace_len++] = '\n';
		pump->trace[pump->trace_len] = '\0';
	}
}

/*
 * Sending is allowed only once the disk holds what the datagrams may
 * reveal: our incarnation (a refutation), our term and our vote.  The
 * disk is all zeroes before the first write, which is what a node that
 * has never persisted may send with.
 */
static void
pump_check_persisted(unsigned i, const struct quorum_output *out)
{
	struct pump_node *pn = &pump->n[i];
	const char *voted_for = quorum_node_voted_for(pn->node);
	struct quorum_member_info self;

	if (out->n_datagrams == 0)
		return;
	assert_int_equal(quorum_node_member_get(pn->node, 0, &self), 0);
	if (self.incarnation > pn->disk.incarnation)
		pn->persist_violation = true;
	if (quorum_node_term(pn->node) > pn->disk.election.term)
		pn->persist_violation = true;
	if (voted_for[0] != '\0' &&
		strcmp(voted_for, pn->disk.election.voted_for) != 0)
		pn->persist_violation = true;
}

void
pump_output(unsigned i, struct quorum_output *out)
{
	struct pump_node *pn = &pump->n[i];

	if (out->flags & QUORUM_OUT_PERSIST)
	{
		pn->disk = out->durable;
		pn->disk_written = true;
	}
	pump_check_persisted(i, out);
	for (size_t d = 0; d < out->n_datagrams; d++)
	{
		const struct quorum_datagram *dg = &out->datagrams[d];
		int			to = pump_index(&dg->to);
		struct pump_packet *p;

		assert_true(dg->len <= sizeof(p->data));
		pump_check_pushpull_mark(dg);
		if (to < 0 || pump->cut[i][to])
			continue;
		assert_true(pump->tail < PUMP_PACKETS_MAX);
		p = &pump->packets[pump->tail++];
		p->from = i;
		p->to = (unsigned) to;
		p->at_ms = pump->now_ms + PUMP_LATENCY_MS;
		p->len = dg->len;
		memcpy(p->data, dg->data, dg->len);
	}
	for (size_t e = 0; e < out->n_events && pump->n_events < PUMP_EVENTS_MAX; e++)
	{
		pump->events[pump->n_events].node = i;
		pump->events[pump->n_events].ev = out->events[e];
		pump->n_events++;
	}
	quorum_node_output_done(pn->node, out);
}

int
pump_step_rc(unsigned i, const struct quorum_input *in)
{
	struct quorum_output out;
	int			rc = quorum_node_step(pump->n[i].node, in, &out);

	if (rc == 0)
		pump_output(i, &out);
	return rc;
}

void
pump_step(unsigned i, const struct quorum_input *in)
{
	assert_int_equal(pump_step_rc(i, in), 0);
}

void
pump_tick(unsigned i)
{
	struct quorum_input in = {.type = QUORUM_IN_TICK, .now_ms = pump->now_ms};

	pump_step(i, &in);
}

void
pump_join(unsigned i, unsigned seed)
{
	struct quorum_input in = {.type = QUORUM_IN_COMMAND, .now_ms = pump->now_ms};

	in.u.command.type = QUORUM_CMD_JOIN;
	pump_addr(seed, &in.u.command.addr);
	pump_step(i, &in);
}

int
pump_command(unsigned i, enum quorum_command_type type, const char *name)
{
	struct quorum_input in = {.type = QUORUM_IN_COMMAND, .now_ms = pump->now_ms};

	in.u.command.type = type;
	snprintf(in.u.command.name, sizeof(in.u.command.name), "%s", name);
	return pump_step_rc(i, &in);
}

void
pump_boot(unsigned i)
{
	struct pump_node *pn = &pump->n[i];
	char		err[256] = "";

	assert_null(pn->node);
	if (pn->disk_written)
	{
		pn->config.restored = &pn->disk;
		pn->config.incarnation_start = pn->disk.incarnation + 1;
	}
	assert_int_equal(quorum_node_new(&pn->config, &pn->facts, pump->now_ms,
									 &pn->node, err, sizeof(err)), 0);
	/* The record is the node's now; pn->disk is rewritten by the next persist. */
	pn->config.restored = NULL;
	pn->up = true;
	pump_tick(i);
}

void
pump_crash(unsigned i)
{
	quorum_node_free(pump->n[i].node);
	pump->n[i].node = NULL;
	pump->n[i].up = false;
}

void
pump_cluster(unsigned count)
{
	assert_true(count <= PUMP_NODES_MAX);
	pump->count = count;
	for (unsigned i = 0; i < count; i++)
	{
		pump_configure(i);
		pump_boot(i);
		if (i > 0)
			pump_join(i, 0);
	}
}

void
pump_cut_both(unsigned a, unsigned b, bool cut)
{
	pump->cut[a][b] = cut;
	pump->cut[b][a] = cut;
}

void
pump_isolate(unsigned a, bool cut)
{
	for (unsigned b = 0; b < pump->count; b++)
		if (b != a)
			pump_cut_both(a, b, cut);
}

static void
pump_deliver(const struct pump_packet *p)
{
	struct quorum_input in = {.type = QUORUM_IN_DATAGRAM, .now_ms = pump->now_ms};

	pump_addr(p->from, &in.u.datagram.from);
	in.u.datagram.data = p->data;
	in.u.datagram.len = p->len;
	pump_step(p->to, &in);
}

void
pump_run_until(quorum_time_ms end_ms)
{
	for (;;)
	{
		quorum_time_ms next = UINT64_MAX;
		int			who = -1;

		if (pump->head < pump->tail)
			next = pump->packets[pump->head].at_ms;
		/* A delivery due at the same time as a deadline goes first. */
		for (unsigned i = 0; i < pump->count; i++)
			if (pump->n[i].up && quorum_node_deadline_ms(pump->n[i].node) < next)
			{
				next = quorum_node_deadline_ms(pump->n[i].node);
				who = (int) i;
			}
		if (next > end_ms)
			break;
		if (next > pump->now_ms)
			pump->now_ms = next;
		if (who >= 0)
			pump_tick((unsigned) who);
		else
		{
			struct pump_packet *p = &pump->packets[pump->head++];

			/* A crashed node's datagrams are lost, as on a real network. */
			if (pump->n[p->to].up)
				pump_deliver(p);
			if (pump->head == pump->tail)
				pump->head = pump->tail = 0;
		}
	}
	pump->now_ms = end_ms;
}

void
pump_run_for(quorum_time_ms ms)
{
	pump_run_until(pump->now_ms + ms);
}

bool
pump_wait_until(bool (*pred) (void), quorum_time_ms bound_ms)
{
	quorum_time_ms end = pump->now_ms + bound_ms;

	while (!pred())
	{
		if (pump->now_ms >= end)
			return false;
		pump_run_for(PUMP_POLL_MS);
	}
	return true;
}

size_t
pump_count_events(unsigned node, enum quorum_event_type type, const char *member)
{
	size_t		n = 0;

	for (size_t k = 0; k < pump->n_events; k++)
		if (pump->events[k].node == node && pump->events[k].ev.type == type &&
			(member == NULL || strcmp(pump->events[k].ev.member, member) == 0))
			n++;
	return n;
}

const struct quorum_event *
pump_last_event(unsigned node, enum quorum_event_type type)
{
	const struct quorum_event *e = NULL;

	for (size_t k = 0; k < pump->n_events; k++)
		if (pump->events[k].node == node && pump->events[k].ev.type == type)
			e = &pump->events[k].ev;
	return e;
}
