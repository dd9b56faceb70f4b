/*-------------------------------------------------------------------------
 *
 * outbox.h
 *	  The bounded output batch of one step: sealed datagrams and events.
 *
 * Allocated once by quorum_node_new() from outbox_datagrams_max,
 * datagram_bytes_max and events_max; each datagram has its own fixed slot of
 * datagram_bytes_max bytes, so reserving one is O(1) and never allocates.
 * The batch is reset when the host calls quorum_node_output_done() or steps
 * again.
 *
 * plugin/outbox.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef QUORUM_OUTBOX_H
#define QUORUM_OUTBOX_H

#include "quorum/node.h"

struct quorum__outbox
{
	struct quorum_datagram *datagrams;
	uint8_t    *bytes;			/* datagrams_max * datagram_bytes_max */
	size_t		n_datagrams;
	size_t		datagrams_max;
	size_t		datagram_bytes_max;

	struct quorum_event *events;
	size_t		n_events;
	size_t		events_max;
};

/* QUORUM_ENOMEM or 0. */
int			quorum__outbox_init(struct quorum__outbox *ob, size_t datagrams_max,
								size_t datagram_bytes_max, size_t events_max);
void		quorum__outbox_destroy(struct quorum__outbox *ob);
void		quorum__outbox_reset(struct quorum__outbox *ob);

/* Free datagram slots left in this batch. */
size_t		quorum__outbox_room(const struct quorum__outbox *ob);

/*
 * The buffer (datagram_bytes_max bytes) for the next datagram, or NULL when
 * the batch is full.  Nothing is queued until quorum__outbox_commit().
 */
uint8_t    *quorum__outbox_reserve(struct quorum__outbox *ob);
void		quorum__outbox_commit(struct quorum__outbox *ob,
								  const struct quorum_addr *to, size_t len,
								  bool pushpull);

/* Appends an event; false when events_max are already queued. */
bool		quorum__outbox_event(struct quorum__outbox *ob,
								 enum quorum_event_type type, quorum_time_ms at_ms,
								 const char *member, uint64_t incarnation);

#endif							/* QUORUM_OUTBOX_H */
