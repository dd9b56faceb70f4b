/*-------------------------------------------------------------------------
 *
 * datagram.h
 *	  The node's datagram path: sealing and encoding out, opening and
 *	  decoding in, drops and events (private to libquorum).
 *
 * The layer below swim*.c, node_raft.c and node.c; see datagram.c.
 *
 * plugin/datagram.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef QUORUM_DATAGRAM_H
#define QUORUM_DATAGRAM_H

#include "node_internal.h"

/* Draw the 8 random bytes that start every nonce of this boot. */
void		quorum__datagram_init_nonce(struct quorum_node *node);

/* msg_out cleared to a message of the given type with no updates. */
struct quorum_wire_msg *quorum__datagram_msg(struct quorum_node *node,
											 enum quorum_wire_type type);

/*
 * Fill msg_out's header, encode, seal and queue it for `to`, marked
 * pushpull if it is one.  Returns false (and counts OUTBOX_FULL) if the
 * batch is full.  The body and updates must be set by the caller.
 */
bool		quorum__datagram_send(struct quorum_node *node,
								  const struct quorum_addr *to);

/* Unseal and decode into msg_in; false (counted) if the datagram is bad. */
bool		quorum__datagram_open(struct quorum_node *node, const uint8_t *data,
								  size_t len);

/* Counts a dropped input and traces why, at DEBUG. */
void		quorum__datagram_drop(struct quorum_node *node,
								  enum quorum_drop_reason reason, const char *what);

/* Queue an event about member idx. */
void		quorum__datagram_event(struct quorum_node *node,
								   enum quorum_event_type type, uint32_t idx);

#endif							/* QUORUM_DATAGRAM_H */
