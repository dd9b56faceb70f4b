/*-------------------------------------------------------------------------
 *
 * routing.h
 *	  Client routing: quorum.connection_string(), quorum.dot(), and the
 *	  worker's part, which makes a fenced primary look read-only to libpq.
 *
 * extension/routing.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGQ_ROUTING_H
#define PGQ_ROUTING_H

#include "quorum/quorum.h"

/*
 * After every reconciliation: may_write is what the fence allows now,
 * other_leader whether another member leads.  Sets or removes
 * default_transaction_read_only (see routing.c).
 */
extern void pgq_routing_reconcile(bool may_write, bool in_recovery,
								  bool other_leader, quorum_time_ms now);

#endif							/* PGQ_ROUTING_H */
