/*-------------------------------------------------------------------------
 *
 * outbox.c
 *	  Fixed-slot output batch (see outbox.h).
 *
 * plugin/outbox.c
 *
 *-------------------------------------------------------------------------
 */
#include "outbox.h"

#include "quorum/error.h"
#include "internal.h"

#include <stdlib.h>
#include <string.h>

int
quorum__outbox_init(struct quorum__outbox *ob, size_t datagrams_max,
					size_t datagram_bytes_max, size_t events_max)
{
	memset(ob, 0, sizeof(*ob));
	if (datagrams_max != 0 && datagram_bytes_max > SIZE_MAX / datagrams_max)
		return QUORUM_ENOMEM;
	ob->datagrams = malloc(sizeof(*ob->datagrams) * datagrams_max);
	ob->bytes = malloc(datagrams_max * datagram_bytes_max);
	ob->events = malloc(sizeof(*ob->events) * events_max);
	if (ob->datagrams == NULL || ob->bytes == NULL || ob->events == NULL)
	{
		quorum__outbox_destroy(ob);
		return QUORUM_ENOMEM;
	}
	ob->datagrams_max = datagrams_max;
	ob->datagram_bytes_max = datagram_bytes_max;
	ob->events_max = events_max;
	return 0;
}

void
quorum__outbox_destroy(struct quorum__outbox *ob)
{
	free(ob->datagrams);
	free(ob->bytes);
	free(ob->events);
	memset(ob, 0, sizeof(*ob));
}

void
quorum__outbox_reset(struct quorum__outbox *ob)
{
	ob->n_datagrams = 0;
	ob->n_events = 0;
}

size_t
quorum__outbox_room(const struct quorum__outbox *ob)
{
	return ob->datagrams_max - ob->n_datagrams;
}

uint8_t *
quorum__outbox_reserve(struct quorum__outbox *ob)
{
	if (ob->n_datagrams >= ob->datagrams_max)
		return NULL;
	return ob->bytes + ob->n_datagrams * ob->datagram_bytes_max;
}

void
quorum__outbox_commit(struct quorum__outbox *ob, const struct quorum_addr *to,
					  size_t len, bool pushpull)
{
	struct quorum_datagram *dg;

	QUORUM_ASSERT(ob->n_datagrams < ob->datagrams_max);
	QUORUM_ASSERT(len <= ob->datagram_bytes_max);
	dg = &ob->datagrams[ob->n_datagrams];
	dg->to = *to;
	dg->data = ob->bytes + ob->n_datagrams * ob->datagram_bytes_max;
	dg->len = len;
	dg->pushpull = pushpull;
	ob->n_datagrams++;
}

bool
quorum__outbox_event(struct quorum__outbox *ob, enum quorum_event_type type,
					 quorum_time_ms at_ms, const char *member,
					 uint64_t incarnation)
{
	struct quorum_event *ev;

	if (ob->n_events >= ob->events_max)
		return false;
	ev = &ob->events[ob->n_events++];
	ev->type = type;
	ev->at_ms = at_ms;
	strncpy(ev->member, member, QUORUM_NAME_MAX);
	ev->member[QUORUM_NAME_MAX] = '\0';
	ev->incarnation = incarnation;
	return true;
}
