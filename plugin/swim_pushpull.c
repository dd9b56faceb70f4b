/*-------------------------------------------------------------------------
 *
 * swim_pushpull.c
 *	  Full-state anti-entropy ("push-pull") and joining through a seed.
 *
 * Every pushpull_interval_ms a node sends its whole member table to one
 * random live member; the receiver merges it by the same rules as gossip
 * and answers with its own table.  Joining is the same exchange with the
 * seed address, before we know the seed's name.  This repairs anything
 * piggybacking missed (a partition that healed after the news stopped being
 * retransmitted) and lets a newcomer learn the table in one round trip.
 *
 * memberlist does this over a TCP stream.  libquorum's core does no IO and
 * its hosts offer only datagrams, so the table travels as PUSHPULL chunks,
 * each one datagram of at most datagram_bytes_max bytes and each merged on
 * its own (no reassembly, so a lost chunk loses only its entries).  The
 * answer is triggered by chunk 0, which always starts with the sender's own
 * entry.  One exchange uses at most half the outbox; a table larger than
 * that is sent window by window, a cursor moving on each exchange, so
 * successive exchanges still cover it all.  Each round also pushes to one
 * dead member, to reconnect partitions that outlasted gossip_to_dead_ms.
 *
 * plugin/swim_pushpull.c
 *
 *-------------------------------------------------------------------------
 */
#include "swim.h"
#include "datagram.h"

#include "internal.h"

#include <string.h>

/* The i-th member sent in this exchange: ourselves, then from the cursor. */
static uint32_t
pushpull_member(const struct quorum_node *node, uint32_t i)
{
	uint32_t	others = node->n_members - 1;

	if (i == 0)
		return 0;
	return 1 + (node->pushpull_cursor + i - 1) % others;
}

/*
 * How many chunks (at most max_chunks) and how many members they hold.
 * Entries carry metadata whatever the state: the table is the truth here.
 */
static uint32_t
pushpull_plan(struct quorum_node *node, size_t base, size_t limit,
			  unsigned max_chunks, unsigned *chunks)
{
	struct quorum_wire_update up;
	size_t		used = base;
	unsigned	in_chunk = 0;
	uint32_t	covered = 0;

	*chunks = 1;
	for (uint32_t i = 0; i < node->n_members; i++)
	{
		size_t		size;

		quorum__swim_to_update(node, pushpull_member(node, i), "", true, &up);
		size = quorum__wire_update_size(&up);
		if (used + size > limit || in_chunk == QUORUM_WIRE_PUSHPULL_MAX)
		{
			if (*chunks == max_chunks)
				break;
			(*chunks)++;
			used = base;
			in_chunk = 0;
		}
		used += size;
		in_chunk++;
		covered++;
	}
	return covered;
}

static void
pushpull_header(struct quorum_node *node, bool is_reply, uint32_t exchange,
				unsigned chunk, unsigned chunks)
{
	struct quorum_wire_msg *msg = quorum__datagram_msg(node, QUORUM_WIRE_PUSHPULL);

	msg->u.pushpull.is_reply = is_reply;
	msg->u.pushpull.exchange = exchange;
	msg->u.pushpull.chunk = (uint16_t) chunk;
	msg->u.pushpull.chunks = (uint16_t) chunks;
}

void
quorum__swim_pushpull_send(struct quorum_node *node,
						   const struct quorum_addr *to, bool is_reply,
						   uint32_t exchange)
{
	size_t		limit = node->config.datagram_bytes_max - QUORUM_SEAL_OVERHEAD;
	size_t		room = quorum__outbox_room(&node->outbox);
	unsigned	max_chunks = (unsigned) QUORUM_MIN(room, QUORUM_MAX(1u, node->outbox.datagrams_max / 2));
	unsigned	chunks,
				chunk = 0;
	size_t		base,
				used;
	uint32_t	covered;

	if (max_chunks == 0)
	{
		quorum__datagram_drop(node, QUORUM_DROP_OUTBOX_FULL, "push-pull");
		return;
	}
	max_chunks = QUORUM_MIN(max_chunks, 65535u);
	pushpull_header(node, is_reply, exchange, 0, 1);
	base = quorum__wire_base_size(node->msg_out);
	covered = pushpull_plan(node, base, limit, max_chunks, &chunks);

	pushpull_header(node, is_reply, exchange, chunk, chunks);
	used = base;
	for (uint32_t i = 0; i < covered; i++)
	{
		struct quorum_wire_msg *msg = node->msg_out;
		struct quorum_wire_update *up = &msg->updates[msg->n_updates];
		size_t		size;

		quorum__swim_to_update(node, pushpull_member(node, i), "", true, up);
		size = quorum__wire_update_size(up);
		if (used + size > limit || msg->n_updates == QUORUM_WIRE_PUSHPULL_MAX)
		{
			quorum__datagram_send(node, to);
			pushpull_header(node, is_reply, exchange, ++chunk, chunks);
			used = base;
			msg->updates[0] = *up;
		}
		used += size;
		msg->n_updates++;
	}
	quorum__datagram_send(node, to);
	QUORUM_ASSERT(chunk + 1 == chunks);
	if (covered < node->n_members && node->n_members > 1)
		node->pushpull_cursor = (node->pushpull_cursor + covered - 1) %
			(node->n_members - 1);
}

void
quorum__swim_on_pushpull(struct quorum_node *node,
						 const struct quorum_addr *from,
						 const struct quorum_wire_msg *msg)
{
	for (unsigned i = 0; i < msg->n_updates; i++)
		quorum__swim_apply(node, &msg->updates[i], msg->sender);
	QUORUM_TRACE(&node->trace, QUORUM_TRACE_DEBUG, node->now_ms,
				 "push-pull %s from %s (chunk %u of %u, %u entries)",
				 msg->u.pushpull.is_reply ? "reply" : "push", msg->sender,
				 (unsigned) msg->u.pushpull.chunk + 1,
				 (unsigned) msg->u.pushpull.chunks, msg->n_updates);
	if (msg->u.pushpull.is_reply || msg->u.pushpull.chunk != 0)
		return;
	node->stats.pushpulls++;
	quorum__swim_pushpull_send(node, from, true, msg->u.pushpull.exchange);
}

/* A random live member other than ourselves, or QUORUM__NONE. */
static uint32_t
pushpull_partner(struct quorum_node *node)
{
	uint32_t	n = node->n_members;
	uint32_t	start;

	if (n <= 1)
		return QUORUM__NONE;
	start = quorum__prng_below(&node->prng, n - 1);
	for (uint32_t i = 0; i < n - 1; i++)
	{
		uint32_t	idx = 1 + (start + i) % (n - 1);

		if (node->members[idx].state == QUORUM_MEMBER_ALIVE)
			return idx;
	}
	return QUORUM__NONE;
}

/* A random dead (not left) member, or QUORUM__NONE. */
static uint32_t
pushpull_dead_member(struct quorum_node *node)
{
	uint32_t	n = node->n_members;
	uint32_t	start;

	if (n <= 1 || node->n_by_state[QUORUM_MEMBER_DEAD] == 0)
		return QUORUM__NONE;
	start = quorum__prng_below(&node->prng, n - 1);
	for (uint32_t i = 0; i < n - 1; i++)
	{
		uint32_t	idx = 1 + (start + i) % (n - 1);

		if (node->members[idx].state == QUORUM_MEMBER_DEAD)
			return idx;
	}
	return QUORUM__NONE;
}

/*
 * Reconnect: one push-pull per anti-entropy round with a random dead member,
 * for as long as it is remembered (Serf's reconnect loop, for memberlist).
 * Without it, two sides of a partition that outlasted gossip_to_dead_ms
 * would never talk again, since everything else goes to live members.  Our
 * table tells the member it is dead, so if it is in fact alive it refutes
 * before it answers, and its answer starts with its new incarnation.
 */
static void
pushpull_reconnect(struct quorum_node *node)
{
	uint32_t	idx = pushpull_dead_member(node);

	if (idx == QUORUM__NONE)
		return;
	QUORUM_TRACE(&node->trace, QUORUM_TRACE_DEBUG, node->now_ms,
				 "reconnect: push-pull with dead %s",
				 quorum__node_member_name(node, idx));
	node->stats.pushpulls++;
	quorum__swim_pushpull_send(node, &node->members[idx].addr, false,
							   ++node->pushpull_exchange);
}

void
quorum__swim_pushpull_tick(struct quorum_node *node)
{
	uint32_t	idx;

	if (node->now_ms < node->next_pushpull_ms)
		return;
	node->next_pushpull_ms = node->now_ms + node->config.pushpull_interval_ms;
	pushpull_reconnect(node);
	idx = pushpull_partner(node);
	if (idx == QUORUM__NONE)
		return;
	node->stats.pushpulls++;
	QUORUM_TRACE(&node->trace, QUORUM_TRACE_DEBUG, node->now_ms,
				 "push-pull with %s", quorum__node_member_name(node, idx));
	quorum__swim_pushpull_send(node, &node->members[idx].addr, false,
							   ++node->pushpull_exchange);
}
