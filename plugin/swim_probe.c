/*-------------------------------------------------------------------------
 *
 * swim_probe.c
 *	  The failure detector: one probe per protocol period, indirect probes,
 *	  relays for others' indirect probes, and Lifeguard's local health.
 *
 * A protocol period (SWIM §3.1), scaled by (local health score + 1):
 *
 *   t0                        PING target (probe_seq s)
 *   t0 + probe_timeout        no ACK yet: PING_REQ(target, s) to k helpers,
 *                             each PINGs the target and relays its ACK, or
 *                             sends NACK if none came within 80% of its own
 *                             probe_timeout
 *   t0 + probe_interval       no ACK at all: the target becomes SUSPECT;
 *                             the next period starts
 *
 * From Lifeguard §3: the score rises by one for a failed probe when we had
 * no helpers, by the number of missing NACKs when we had (a helper that
 * does not even NACK suggests our own messages are not getting through), and
 * by one for refuting a suspicion of ourselves; it falls by one for each
 * successful probe.  It is capped at awareness_max - 1, so the multiplier
 * never exceeds awareness_max ("local health multiplier ceiling").
 *
 * plugin/swim_probe.c
 *
 *-------------------------------------------------------------------------
 */
#include "swim.h"
#include "datagram.h"

#include "internal.h"

#include <stdio.h>
#include <string.h>

/* A helper NACKs after this share of its probe timeout, percent. */
#define PROBE_NACK_PERCENT 80

void
quorum__swim_probe_init(struct quorum_node *node)
{
	const struct quorum_config *c = &node->config;

	node->probe.active = false;
	node->probe.target = QUORUM__NONE;
	/* Stagger the first period so nodes started together do not align. */
	node->next_probe_ms = node->now_ms +
		quorum__prng_below(&node->prng, (uint32_t) c->probe_interval_ms);
	node->next_pushpull_ms = c->pushpull_interval_ms == 0 ? UINT64_MAX :
		node->now_ms + c->pushpull_interval_ms;
}

static quorum_time_ms
probe_scaled(const struct quorum_node *node, quorum_time_ms base_ms)
{
	return base_ms * (node->awareness + 1);
}

void
quorum__swim_awareness_add(struct quorum_node *node, int delta)
{
	int			score = (int) node->awareness + delta;
	int			max = (int) node->config.awareness_max - 1;

	score = QUORUM_MAX(0, QUORUM_MIN(score, max));
	if ((unsigned) score != node->awareness)
		QUORUM_TRACE(&node->trace, QUORUM_TRACE_INFO, node->now_ms,
					 "local health %u -> %d", node->awareness, score);
	node->awareness = (unsigned) score;
	node->stats.local_health = node->awareness;
}

/*
 * The probe order holds every member but ourselves (n_members - 1 entries).
 * A newcomer goes to a random place among those not yet probed this round,
 * so it is probed within the round (SWIM §4.3).
 */
void
quorum__swim_order_insert(struct quorum_node *node, uint32_t idx)
{
	uint32_t	len = node->n_members - 1;
	uint32_t	j;

	node->order[len - 1] = idx;
	if (node->order_pos > len - 1)
		node->order_pos = len - 1;
	j = node->order_pos + quorum__prng_below(&node->prng, len - node->order_pos);
	node->order[len - 1] = node->order[j];
	node->order[j] = idx;
}

/* Keeps the probed / not-yet-probed split; the freed tail slot is NONE. */
void
quorum__swim_order_remove(struct quorum_node *node, uint32_t idx)
{
	uint32_t	len = node->n_members - 1;
	uint32_t	p = 0;

	while (p < len && node->order[p] != idx)
		p++;
	QUORUM_ASSERT(p < len);
	if (p < node->order_pos)
	{
		node->order[p] = node->order[node->order_pos - 1];
		node->order[node->order_pos - 1] = node->order[len - 1];
		node->order_pos--;
	}
	else
		node->order[p] = node->order[len - 1];
	node->order[len - 1] = QUORUM__NONE;
}

void
quorum__swim_order_rename(struct quorum_node *node, uint32_t from, uint32_t to)
{
	uint32_t	len = node->n_members - 1;

	for (uint32_t p = 0; p < len; p++)
		if (node->order[p] == from)
		{
			node->order[p] = to;
			return;
		}
}

static void
probe_shuffle(struct quorum_node *node, uint32_t len)
{
	for (uint32_t i = len; i > 1; i--)
	{
		uint32_t	j = quorum__prng_below(&node->prng, i);
		uint32_t	t = node->order[i - 1];

		node->order[i - 1] = node->order[j];
		node->order[j] = t;
	}
	node->order_pos = 0;
}

/* Tell a dead member it is dead, so that it can refute if it is not. */
static void
probe_gossip_to_dead(struct quorum_node *node, uint32_t idx)
{
	QUORUM_TRACE(&node->trace, QUORUM_TRACE_DEBUG, node->now_ms,
				 "gossip to dead %s", quorum__node_member_name(node, idx));
	quorum__datagram_msg(node, QUORUM_WIRE_GOSSIP);
	quorum__swim_send(node, &node->members[idx].addr, idx);
}

/*
 * Next member in randomized round-robin order that is alive or suspect.
 * Dead and left members met on the way are gossiped to (at most one per
 * period) or reaped, when their time has come.
 */
static uint32_t
probe_pick(struct quorum_node *node)
{
	const struct quorum_config *c = &node->config;
	uint32_t	tries = node->n_members;
	bool		gossiped = false;

	while (tries-- > 0 && node->n_members > 1)
	{
		uint32_t	len = node->n_members - 1;
		uint32_t	idx;
		struct quorum__member *m;
		quorum_time_ms age;

		if (node->order_pos >= len)
			probe_shuffle(node, len);
		idx = node->order[node->order_pos++];
		m = &node->members[idx];
		if (m->state == QUORUM_MEMBER_ALIVE || m->state == QUORUM_MEMBER_SUSPECT)
			return idx;
		age = node->now_ms - m->state_since_ms;
		if (c->reap_dead_ms != 0 && age >= c->reap_dead_ms)
			quorum__swim_reap(node, idx);
		else if (m->state == QUORUM_MEMBER_DEAD && !gossiped &&
				 age < c->gossip_to_dead_ms)
		{
			probe_gossip_to_dead(node, idx);
			gossiped = true;
		}
	}
	return QUORUM__NONE;
}

static void
probe_start(struct quorum_node *node)
{
	struct quorum__probe *p = &node->probe;
	struct quorum_wire_msg *msg;
	struct quorum__member *m;
	uint32_t	idx = probe_pick(node);

	node->next_probe_ms = node->now_ms +
		probe_scaled(node, node->config.probe_interval_ms);
	if (idx == QUORUM__NONE)
		return;
	m = &node->members[idx];
	memset(p, 0, sizeof(*p));
	p->active = true;
	p->target = idx;
	p->seq = ++node->probe_seq;
	p->started_ms = node->now_ms;
	p->timeout_at_ms = node->now_ms +
		probe_scaled(node, node->config.probe_timeout_ms);
	p->end_at_ms = node->next_probe_ms;
	node->stats.probes_sent++;
	m->probes_sent++;
	QUORUM_TRACE(&node->trace, QUORUM_TRACE_DEBUG, node->now_ms,
				 "ping %s (seq %u)", quorum__node_member_name(node, idx), p->seq);
	msg = quorum__datagram_msg(node, QUORUM_WIRE_PING);
	msg->u.ping.probe_seq = p->seq;
	quorum__name_copy(msg->u.ping.target, quorum__node_member_name(node, idx));
	quorum__swim_send(node, &m->addr, idx);
}

static bool
probe_helper_ok(const struct quorum_node *node, uint32_t idx,
				const uint32_t *chosen, unsigned n_chosen)
{
	if (idx == 0 || idx == node->probe.target ||
		node->members[idx].state != QUORUM_MEMBER_ALIVE)
		return false;
	for (unsigned i = 0; i < n_chosen; i++)
		if (chosen[i] == idx)
			return false;
	return true;
}

/*
 * Up to indirect_probes random alive members other than us and the target:
 * random draws first (O(k) in a large healthy table), then a walk from a
 * random start so that a mostly dead table still finds its live members.
 */
static unsigned
probe_helpers(struct quorum_node *node, uint32_t *chosen, unsigned k)
{
	uint32_t	n = node->n_members;
	unsigned	got = 0;
	uint32_t	start;

	for (unsigned t = 0; t < 4 * k && got < k; t++)
	{
		uint32_t	idx = quorum__prng_below(&node->prng, n);

		if (probe_helper_ok(node, idx, chosen, got))
			chosen[got++] = idx;
	}
	start = quorum__prng_below(&node->prng, n);
	for (uint32_t i = 0; i < n && got < k; i++)
	{
		uint32_t	idx = (start + i) % n;

		if (probe_helper_ok(node, idx, chosen, got))
			chosen[got++] = idx;
	}
	return got;
}

static void
probe_trace_indirect(struct quorum_node *node, const uint32_t *helpers,
					 unsigned n)
{
	char		list[256] = "";
	size_t		len = 0;

	for (unsigned i = 0; i < n && len < sizeof(list); i++)
		len += (size_t) snprintf(list + len, sizeof(list) - len, "%s%s",
								 i ? "," : "",
								 quorum__node_member_name(node, helpers[i]));
	QUORUM_TRACE(&node->trace, QUORUM_TRACE_INFO, node->now_ms,
				 "ping %s timed out -> %s%s",
				 quorum__node_member_name(node, node->probe.target),
				 n ? "indirect probe via " : "no helpers for an indirect probe",
				 list);
}

/* From SWIM §3.1: "Mi selects k members at random and sends each a ping-req". */
static void
probe_indirect(struct quorum_node *node)
{
	struct quorum__probe *p = &node->probe;
	const struct quorum__member *target = &node->members[p->target];
	uint32_t	helpers[QUORUM__CONFIRM_MAX];
	unsigned	k = QUORUM_MIN(node->config.indirect_probes, QUORUM__CONFIRM_MAX);
	unsigned	n = probe_helpers(node, helpers, k);

	p->indirect_sent = true;
	if (QUORUM_TRACE_ON(&node->trace, QUORUM_TRACE_INFO))
		probe_trace_indirect(node, helpers, n);
	for (unsigned i = 0; i < n; i++)
	{
		struct quorum_wire_msg *msg;

		msg = quorum__datagram_msg(node, QUORUM_WIRE_PING_REQ);
		msg->u.ping_req.probe_seq = p->seq;
		quorum__name_copy(msg->u.ping_req.target,
						  quorum__node_member_name(node, p->target));
		msg->u.ping_req.target_addr = target->addr;
		if (!quorum__swim_send(node, &node->members[helpers[i]].addr,
							   helpers[i]))
			break;
		node->stats.indirect_probes_sent++;
		p->nacks_expected++;
	}
}

static void
probe_finish(struct quorum_node *node)
{
	struct quorum__probe *p = &node->probe;
	struct quorum__member *m;
	uint32_t	idx = p->target;
	unsigned	missing;

	p->active = false;
	if (p->acked || idx == QUORUM__NONE)
		return;
	m = &node->members[idx];
	node->stats.probes_failed++;
	m->probes_failed++;
	missing = p->nacks_expected - QUORUM_MIN(p->nacks_received, p->nacks_expected);
	QUORUM_TRACE(&node->trace, QUORUM_TRACE_INFO, node->now_ms,
				 "probe of %s failed (nacks %u of %u)",
				 quorum__node_member_name(node, idx), p->nacks_received,
				 p->nacks_expected);
	quorum__swim_awareness_add(node, p->nacks_expected ? (int) missing : 1);
	if (m->state == QUORUM_MEMBER_ALIVE)
	{
		/* alive -> suspect: no ack and no indirect ack before the probe deadline */
		quorum__swim_set_state(node, idx, QUORUM_MEMBER_SUSPECT, m->incarnation);
		quorum__swim_suspicion_start(node, idx, node->config.name);
		QUORUM_TRACE(&node->trace, QUORUM_TRACE_INFO, node->now_ms,
					 "suspect %s (inc %llu, by %s)",
					 quorum__node_member_name(node, idx),
					 (unsigned long long) m->incarnation, node->config.name);
		quorum__swim_dq_push(node, idx, node->config.name);
	}
	else if (m->state == QUORUM_MEMBER_SUSPECT)
		quorum__swim_suspicion_confirm(node, idx, node->config.name);
}

static void
probe_tick(struct quorum_node *node)
{
	struct quorum__probe *p = &node->probe;

	if (p->active && !p->acked && !p->indirect_sent &&
		node->now_ms >= p->timeout_at_ms)
	{
		/*
		 * A host that ticks late (it was paused) must still give the helpers
		 * their window before the target is blamed.
		 */
		if (node->now_ms >= p->end_at_ms)
		{
			p->end_at_ms = node->now_ms + (p->end_at_ms - p->timeout_at_ms);
			node->next_probe_ms = p->end_at_ms;
		}
		probe_indirect(node);
	}
	if (p->active && node->now_ms >= p->end_at_ms)
		probe_finish(node);
	if (!p->active && node->now_ms >= node->next_probe_ms)
		probe_start(node);
}

/* From SWIM §3.1: the helper sends NACK when its own ping goes unanswered. */
static void
probe_relays_tick(struct quorum_node *node)
{
	for (unsigned i = 0; i < node->relays_max; i++)
	{
		struct quorum__relay *r = &node->relays[i];
		struct quorum_wire_msg *msg;

		if (!r->used || r->nack_at_ms > node->now_ms)
			continue;
		r->used = false;
		QUORUM_TRACE(&node->trace, QUORUM_TRACE_DEBUG, node->now_ms,
					 "no ack for relayed ping (seq %u) -> nack", r->our_seq);
		msg = quorum__datagram_msg(node, QUORUM_WIRE_NACK);
		msg->u.ack.probe_seq = r->their_seq;
		quorum__swim_send(node, &r->requester, QUORUM__NONE);
	}
}

void
quorum__swim_tick(struct quorum_node *node)
{
	probe_tick(node);
	probe_relays_tick(node);
	quorum__swim_suspicion_expire(node);
	quorum__swim_pushpull_tick(node);
}

quorum_time_ms
quorum__swim_deadline(const struct quorum_node *node)
{
	const struct quorum__probe *p = &node->probe;
	quorum_time_ms d = node->next_probe_ms;

	if (p->active)
	{
		d = p->end_at_ms;
		if (!p->acked && !p->indirect_sent)
			d = QUORUM_MIN(d, p->timeout_at_ms);
	}
	for (unsigned i = 0; i < node->relays_max; i++)
		if (node->relays[i].used)
			d = QUORUM_MIN(d, node->relays[i].nack_at_ms);
	d = QUORUM_MIN(d, quorum__swim_suspicion_deadline(node));
	d = QUORUM_MIN(d, node->next_pushpull_ms);
	return d;
}

void
quorum__swim_on_ping(struct quorum_node *node, const struct quorum_addr *from,
					 const struct quorum_wire_msg *msg)
{
	struct quorum_wire_msg *ack;

	/* A ping meant for whoever had our address before us gets no ack. */
	if (strcmp(msg->u.ping.target, node->config.name) != 0)
	{
		QUORUM_TRACE(&node->trace, QUORUM_TRACE_DEBUG, node->now_ms,
					 "ping from %s for %s, not us: ignored", msg->sender,
					 msg->u.ping.target);
		return;
	}
	ack = quorum__datagram_msg(node, QUORUM_WIRE_ACK);
	ack->u.ack.probe_seq = msg->u.ping.probe_seq;
	quorum__swim_send(node, from, quorum__swim_find(node, msg->sender));
}

static void
probe_acked(struct quorum_node *node, const struct quorum_wire_msg *msg)
{
	struct quorum__probe *p = &node->probe;
	struct quorum__member *m = &node->members[p->target];
	const char *name = quorum__node_member_name(node, p->target);

	p->acked = true;
	if (strcmp(msg->sender, name) == 0)
	{
		/* Only a direct ack measures the round trip to the target. */
		uint64_t	sample_us = (node->now_ms - p->started_ms) * 1000;

		m->rtt_us = m->rtt_us == 0 ? (uint32_t) sample_us :
			(uint32_t) ((7 * (uint64_t) m->rtt_us + sample_us) / 8);
	}
	QUORUM_TRACE(&node->trace, QUORUM_TRACE_DEBUG, node->now_ms,
				 "ack for %s via %s (seq %u, %llu ms)", name, msg->sender, p->seq,
				 (unsigned long long) (node->now_ms - p->started_ms));
	quorum__swim_awareness_add(node, -1);
}

void
quorum__swim_on_ack(struct quorum_node *node, const struct quorum_wire_msg *msg)
{
	struct quorum__probe *p = &node->probe;
	uint32_t	seq = msg->u.ack.probe_seq;

	if (p->active && !p->acked && p->target != QUORUM__NONE && seq == p->seq)
	{
		probe_acked(node, msg);
		return;
	}
	for (unsigned i = 0; i < node->relays_max; i++)
	{
		struct quorum__relay *r = &node->relays[i];
		struct quorum_wire_msg *out;

		if (!r->used || r->our_seq != seq)
			continue;
		r->used = false;
		QUORUM_TRACE(&node->trace, QUORUM_TRACE_DEBUG, node->now_ms,
					 "relay ack from %s (seq %u)", msg->sender, r->their_seq);
		out = quorum__datagram_msg(node, QUORUM_WIRE_ACK);
		out->u.ack.probe_seq = r->their_seq;
		quorum__swim_send(node, &r->requester, QUORUM__NONE);
		return;
	}
	QUORUM_TRACE(&node->trace, QUORUM_TRACE_DEBUG, node->now_ms,
				 "late ack from %s (seq %u)", msg->sender, seq);
}

void
quorum__swim_on_nack(struct quorum_node *node, const struct quorum_wire_msg *msg)
{
	struct quorum__probe *p = &node->probe;

	if (p->active && msg->u.ack.probe_seq == p->seq)
	{
		p->nacks_received++;
		QUORUM_TRACE(&node->trace, QUORUM_TRACE_DEBUG, node->now_ms,
					 "nack from %s (seq %u)", msg->sender, p->seq);
	}
}

void
quorum__swim_on_ping_req(struct quorum_node *node,
						 const struct quorum_addr *from,
						 const struct quorum_wire_msg *msg)
{
	struct quorum__relay *r = NULL;
	struct quorum_wire_msg *ping;

	for (unsigned i = 0; i < node->relays_max && r == NULL; i++)
		if (!node->relays[i].used)
			r = &node->relays[i];
	if (r == NULL)
	{
		quorum__datagram_drop(node, QUORUM_DROP_TABLE_FULL, "ping-req: no free relay");
		return;
	}
	r->used = true;
	r->our_seq = ++node->probe_seq;
	r->their_seq = msg->u.ping_req.probe_seq;
	r->requester = *from;
	r->nack_at_ms = node->now_ms +
		node->config.probe_timeout_ms * PROBE_NACK_PERCENT / 100;
	QUORUM_TRACE(&node->trace, QUORUM_TRACE_DEBUG, node->now_ms,
				 "ping %s for %s (seq %u)", msg->u.ping_req.target, msg->sender,
				 r->our_seq);
	ping = quorum__datagram_msg(node, QUORUM_WIRE_PING);
	ping->u.ping.probe_seq = r->our_seq;
	quorum__name_copy(ping->u.ping.target, msg->u.ping_req.target);
	quorum__swim_send(node, &msg->u.ping_req.target_addr,
					  quorum__swim_find(node, msg->u.ping_req.target));
}
