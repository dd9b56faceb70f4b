/*-------------------------------------------------------------------------
 *
 * swim_dissemination.c
 *	  The piggyback queue: membership news riding on every datagram.
 *
 * From SWIM §4.1: "information ... is propagated in an infection-style ...
 * by piggybacking on the ping and ack messages".  The queue holds at most
 * one entry per member (its newest news replaces the older), refers to the
 * member rather than copying its state (so an entry always sends the
 * member's current state), and is kept sorted with the least-transmitted,
 * then newest, entries first: fresh news spreads first, as memberlist's
 * TransmitLimitedQueue does.  An entry is retired after
 * retransmit_mult * ceil(log10(N + 1)) transmissions, the λ·log N of §4.1.
 *
 * A full queue evicts its most-transmitted entry: that news has had the most
 * chances to spread, and push-pull repairs whatever gossip misses.
 *
 * plugin/swim_dissemination.c
 *
 *-------------------------------------------------------------------------
 */
#include "swim.h"
#include "datagram.h"

#include "internal.h"

#include <string.h>

/* Below this much room no update fits (name, addr, numbers), bytes. */
#define DQ_UPDATE_SIZE_MIN 24

/*
 * Stop looking for a smaller update after this many in a row did not fit:
 * updates are of similar size, and scanning a long queue for every datagram
 * costs more than the few bytes it might fill.
 */
#define DQ_MISSES_MAX 4

unsigned
quorum__swim_retransmit_limit(const struct quorum_node *node)
{
	unsigned	digits = 0;

	/* ceil(log10(N + 1)) is the number of decimal digits of N. */
	for (uint32_t n = node->n_members; n > 0; n /= 10)
		digits++;
	return node->config.retransmit_mult * QUORUM_MAX(digits, 1u);
}

static uint32_t
dq_find(const struct quorum_node *node, uint32_t idx)
{
	if (!node->members[idx].in_dq)
		return QUORUM__NONE;
	for (uint32_t i = 0; i < node->n_dq; i++)
		if (node->dq[i].member == idx)
			return i;
	QUORUM_ASSERT(false);
	return QUORUM__NONE;
}

/* Forget entry pos; the caller closes the gap or overwrites it. */
static void
dq_release(struct quorum_node *node, uint32_t pos)
{
	struct quorum__dq_entry *e = &node->dq[pos];

	node->members[e->member].in_dq = false;
	node->dq_free_next[e->slot] = node->dq_free;
	node->dq_free = e->slot;
}

static void
dq_delete(struct quorum_node *node, uint32_t pos)
{
	dq_release(node, pos);
	memmove(&node->dq[pos], &node->dq[pos + 1],
			sizeof(node->dq[0]) * (node->n_dq - pos - 1));
	node->n_dq--;
}

void
quorum__swim_dq_push(struct quorum_node *node, uint32_t idx, const char *from)
{
	uint32_t	pos = dq_find(node, idx);
	struct quorum__dq_entry *e;

	if (pos != QUORUM__NONE)
		dq_delete(node, pos);
	else if (node->n_dq >= node->config.dissemination_queue_max)
	{
		QUORUM_TRACE(&node->trace, QUORUM_TRACE_DEBUG, node->now_ms,
					 "gossip queue full: retire news of %s after %u sends",
					 quorum__node_member_name(node, node->dq[node->n_dq - 1].member),
					 node->dq[node->n_dq - 1].transmits);
		dq_delete(node, node->n_dq - 1);
	}
	memmove(&node->dq[1], &node->dq[0], sizeof(node->dq[0]) * node->n_dq);
	node->n_dq++;
	e = &node->dq[0];
	e->member = idx;
	e->transmits = 0;
	e->order = ++node->dq_counter;
	e->slot = node->dq_free;
	QUORUM_ASSERT(e->slot != QUORUM__NONE);
	node->dq_free = node->dq_free_next[e->slot];
	strncpy(node->dq_from[e->slot], from, QUORUM_NAME_MAX);
	node->dq_from[e->slot][QUORUM_NAME_MAX] = '\0';
	node->members[idx].in_dq = true;
}

void
quorum__swim_dq_remove(struct quorum_node *node, uint32_t idx)
{
	uint32_t	pos = dq_find(node, idx);

	if (pos != QUORUM__NONE)
		dq_delete(node, pos);
}

void
quorum__swim_dq_rename(struct quorum_node *node, uint32_t from, uint32_t to)
{
	uint32_t	pos = dq_find(node, from);

	if (pos != QUORUM__NONE)
		node->dq[pos].member = to;
}

static bool
dq_before(const struct quorum__dq_entry *a, const struct quorum__dq_entry *b)
{
	return a->transmits < b->transmits ||
		(a->transmits == b->transmits && a->order > b->order);
}

/*
 * Retire what reached the limit and restore the order after a send.  The
 * sent entries (positions sent[], ascending) all gained one transmit, so
 * they are still sorted among themselves, as are the others: one merge
 * from the back restores the whole order in O(queue).
 */
static void
dq_settle(struct quorum_node *node, const uint32_t *sent, unsigned n_sent)
{
	struct quorum__dq_entry moved[QUORUM_WIRE_UPDATES_MAX];
	unsigned	limit = quorum__swim_retransmit_limit(node);
	unsigned	na = 0,
				k = 0;
	uint32_t	nb = 0;
	uint32_t	out;

	for (uint32_t i = 0; i < node->n_dq; i++)
	{
		if (k < n_sent && sent[k] == i)
		{
			k++;
			if (node->dq[i].transmits >= limit)
				dq_release(node, i);
			else
				moved[na++] = node->dq[i];
		}
		else
			node->dq[nb++] = node->dq[i];
	}
	out = nb + na;
	node->n_dq = out;
	while (na > 0)
	{
		if (nb > 0 && dq_before(&moved[na - 1], &node->dq[nb - 1]))
			node->dq[--out] = node->dq[--nb];
		else
			node->dq[--out] = moved[--na];
	}
}

/* Adds updates[n] if it fits in the room left; true if added. */
static bool
dq_take(struct quorum_wire_msg *msg, size_t *room)
{
	size_t		size = quorum__wire_update_size(&msg->updates[msg->n_updates]);

	if (size > *room)
		return false;
	*room -= size;
	msg->n_updates++;
	return true;
}

/*
 * Piggyback as much news as fits into msg (body already set), to member
 * to_idx (QUORUM__NONE if not a member).  A suspect or dead recipient first
 * gets its own state, so it can refute without waiting for the rumour.
 */
void
quorum__swim_dq_pack(struct quorum_node *node, struct quorum_wire_msg *msg,
					 uint32_t to_idx)
{
	size_t		limit = node->config.datagram_bytes_max - QUORUM_SEAL_OVERHEAD;
	size_t		base = quorum__wire_base_size(msg);
	size_t		room = base < limit ? limit - base : 0;
	bool		told_self = false;
	unsigned	misses = 0;
	uint32_t	sent[QUORUM_WIRE_UPDATES_MAX];
	unsigned	n_sent = 0;

	if (to_idx != QUORUM__NONE && to_idx != 0 &&
		(node->members[to_idx].state == QUORUM_MEMBER_SUSPECT ||
		 node->members[to_idx].state == QUORUM_MEMBER_DEAD))
	{
		quorum__swim_to_update(node, to_idx, node->config.name, false,
							   &msg->updates[msg->n_updates]);
		told_self = dq_take(msg, &room);
	}
	for (uint32_t i = 0; i < node->n_dq; i++)
	{
		struct quorum__dq_entry *e = &node->dq[i];
		const struct quorum__member *m = &node->members[e->member];

		if (msg->n_updates >= QUORUM_WIRE_UPDATES_MAX ||
			room < DQ_UPDATE_SIZE_MIN || misses >= DQ_MISSES_MAX)
			break;
		if (told_self && e->member == to_idx)
			continue;
		quorum__swim_to_update(node, e->member, node->dq_from[e->slot],
							   m->state == QUORUM_MEMBER_ALIVE,
							   &msg->updates[msg->n_updates]);
		if (dq_take(msg, &room))
		{
			e->transmits++;
			sent[n_sent++] = i;
			misses = 0;
		}
		else
			misses++;
	}
	dq_settle(node, sent, n_sent);
}

bool
quorum__swim_send(struct quorum_node *node, const struct quorum_addr *to,
				  uint32_t to_idx)
{
	/* Check first: packing counts transmissions, a lost send must not. */
	if (quorum__outbox_room(&node->outbox) == 0)
	{
		quorum__datagram_drop(node, QUORUM_DROP_OUTBOX_FULL, "outgoing datagram");
		return false;
	}
	quorum__swim_dq_pack(node, node->msg_out, to_idx);
	return quorum__datagram_send(node, to);
}
