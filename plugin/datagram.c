/*-------------------------------------------------------------------------
 *
 * datagram.c
 *	  The node's datagram path, below both the membership (swim*.c) and
 *	  the election (node_raft.c), and below node.c, which drives them.
 *
 * Outgoing: a message built in msg_out is given this node's header,
 * encoded, numbered (boot, seq), sealed with a fresh nonce and queued in
 * the step's bounded outbox.  Incoming: the size check (OVERSIZE), unseal
 * (AUTH, PLAINTEXT, MALFORMED) and decode (MALFORMED, VERSION); node.c then
 * checks cluster, self and replay and hands the message up.  A drop is
 * counted and traced, never an error.  Events bound for the host join the
 * same outbox.  The protocol modules call down into this file and never
 * back up into node.c.
 *
 * plugin/datagram.c
 *
 *-------------------------------------------------------------------------
 */
#include "datagram.h"

#include "quorum/error.h"
#include "internal.h"

#include <string.h>

void
quorum__datagram_init_nonce(quorum_node *node)
{
	uint64_t	r = quorum__prng_next(&node->prng);

	for (int i = 0; i < 8; i++)
		node->nonce_prefix[i] = (uint8_t) (r >> (8 * i));
	node->nonce_counter = 0;
}

void
quorum__datagram_drop(quorum_node *node, enum quorum_drop_reason reason,
				  const char *what)
{
	node->stats.drops[reason]++;
	QUORUM_TRACE(&node->trace, QUORUM_TRACE_DEBUG, node->now_ms,
				 "drop %s: %s", quorum_drop_reason_name(reason), what);
}

void
quorum__datagram_event(quorum_node *node, enum quorum_event_type type,
				   uint32_t idx)
{
	const char *name = quorum__node_member_name(node, idx);

	if (!quorum__outbox_event(&node->outbox, type, node->now_ms, name,
							  node->members[idx].incarnation))
		QUORUM_TRACE(&node->trace, QUORUM_TRACE_WARNING, node->now_ms,
					 "event buffer full (events_max %u): %s %s not delivered",
					 node->config.events_max, quorum_event_type_name(type), name);
}

struct quorum_wire_msg *
quorum__datagram_msg(quorum_node *node, enum quorum_wire_type type)
{
	struct quorum_wire_msg *msg = node->msg_out;

	/* Header and body only: the updates array is large and gets overwritten. */
	msg->type = type;
	memset(&msg->u, 0, sizeof(msg->u));
	msg->n_updates = 0;
	return msg;
}

/* 8 bytes drawn per boot (and per 2^32 datagrams), then a counter. */
static void
datagram_next_nonce(quorum_node *node, uint8_t nonce[QUORUM_SEAL_NONCE_BYTES])
{
	uint32_t	c = node->nonce_counter;

	memcpy(nonce, node->nonce_prefix, 8);
	nonce[8] = (uint8_t) (c >> 24);
	nonce[9] = (uint8_t) (c >> 16);
	nonce[10] = (uint8_t) (c >> 8);
	nonce[11] = (uint8_t) c;
	if (++node->nonce_counter == 0)
		quorum__datagram_init_nonce(node);
}

bool
quorum__datagram_send(quorum_node *node, const struct quorum_addr *to)
{
	struct quorum_wire_msg *msg = node->msg_out;
	size_t		cap = node->config.datagram_bytes_max;
	uint8_t		nonce[QUORUM_SEAL_NONCE_BYTES];
	uint8_t    *buf = quorum__outbox_reserve(&node->outbox);
	int			plain_len,
				sealed_len;

	if (buf == NULL)
	{
		quorum__datagram_drop(node, QUORUM_DROP_OUTBOX_FULL, "outgoing datagram");
		return false;
	}
	msg->cluster_id = node->cluster_id;
	quorum__name_copy(msg->sender, node->config.name);
	msg->sender_addr = node->config.addr;
	msg->boot = node->config.incarnation_start;
	msg->seq = node->send_seq + 1;
	plain_len = quorum__wire_encode(msg, node->plain, cap - QUORUM_SEAL_OVERHEAD);
	if (plain_len < 0)
	{
		QUORUM_TRACE(&node->trace, QUORUM_TRACE_WARNING, node->now_ms,
					 "could not encode a type %d message: %s", (int) msg->type,
					 quorum_strerror(plain_len));
		return false;
	}
	datagram_next_nonce(node, nonce);
	sealed_len = quorum__seal(&node->sealer, nonce, node->plain,
							  (size_t) plain_len, buf, cap);
	if (sealed_len < 0)
	{
		QUORUM_TRACE(&node->trace, QUORUM_TRACE_WARNING, node->now_ms,
					 "could not seal a datagram: %s", quorum_strerror(sealed_len));
		return false;
	}
	quorum__outbox_commit(&node->outbox, to, (size_t) sealed_len,
						  msg->type == QUORUM_WIRE_PUSHPULL);
	node->send_seq++;
	node->stats.datagrams_out++;
	node->stats.bytes_out += (uint64_t) sealed_len;
	return true;
}

/* Unseal and decode into msg_in; false (counted) if the datagram is bad. */
bool
quorum__datagram_open(quorum_node *node, const uint8_t *data, size_t len)
{
	size_t		cap = node->config.datagram_bytes_max;
	int			n,
				rc;

	if (len > cap)
	{
		quorum__datagram_drop(node, QUORUM_DROP_OVERSIZE, "datagram over datagram_bytes_max");
		return false;
	}
	n = quorum__unseal(&node->sealer, data, len, node->plain, cap);
	if (n < 0)
	{
		quorum__datagram_drop(node, n == QUORUM_EAUTH ? QUORUM_DROP_AUTH :
						  n == QUORUM_ESTATE ? QUORUM_DROP_PLAINTEXT :
						  QUORUM_DROP_MALFORMED, quorum_strerror(n));
		return false;
	}
	rc = quorum__wire_decode(node->plain, (size_t) n, node->msg_in, NULL);
	if (rc != 0)
	{
		bool		version = n >= 3 && node->plain[0] == QUORUM_WIRE_MAGIC0 &&
			node->plain[1] == QUORUM_WIRE_MAGIC1 &&
			node->plain[2] != QUORUM_WIRE_VERSION;

		quorum__datagram_drop(node, version ? QUORUM_DROP_VERSION :
						  QUORUM_DROP_MALFORMED,
						  version ? "unknown protocol version" : "undecodable");
		return false;
	}
	return true;
}
