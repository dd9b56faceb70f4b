/*-------------------------------------------------------------------------
 *
 * slots.h
 *	  Physical replication slots per member on the leader, and
 *	  primary_slot_name on standbys (see slots.c).
 *
 * extension/slots.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGQ_SLOTS_H
#define PGQ_SLOTS_H

#include "quorum/quorum.h"

/* The slot name of member into out[NAMEDATALEN]: "pgq_" + the name. */
extern void pgq_slots_name(const char *member, char *out);

/*
 * From the reconciler, before the fence is computed: leader says whether
 * this server leads term.  Creates and drops slots, sets primary_slot_name;
 * with pg_quorum.replication_slots off, only removes the primary_slot_name
 * it set.
 */
extern void pgq_slots_reconcile(const quorum_node *node, const char *self,
								bool leader, bool in_recovery, uint64 term,
								quorum_time_ms now);

#endif							/* PGQ_SLOTS_H */
