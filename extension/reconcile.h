/*-------------------------------------------------------------------------
 *
 * reconcile.h
 *	  The reconciler, the worker's side of the election: after every step,
 *	  bring this server in line with what the node decided (fence, promote,
 *	  follow, stop a deposed primary, synchronous mode).
 *
 * extension/reconcile.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGQ_RECONCILE_H
#define PGQ_RECONCILE_H

#include "quorum/quorum.h"

#include "shmem.h"

/* What the worker publishes about the election, besides the members. */
typedef struct PgqElectionStatus
{
	uint64		term;
	char		leader[QUORUM_NAME_MAX + 1];
	bool		has_quorum;
	bool		paused;
	bool		transferring;
	PgqMode		mode;
	char		sync_names[PGQ_SYNC_NAMES_MAX];
	unsigned	n_voters;
	char		voters[QUORUM_VOTERS_MAX][QUORUM_NAME_MAX + 1];
} PgqElectionStatus;

/* Events the reconciliation records for quorum.events. */
typedef void (*PgqRecordFn) (PgqEventKind kind, const char *node, uint64 term,
							 const char *detail);

/*
 * Feed a command to the node (pause, resume; forget with a member's name,
 * else ""); 0 or a quorum_error.
 */
typedef int (*PgqCommandFn) (enum quorum_command_type type, const char *name);

extern void pgq_reconcile_init(const char *self, PgqRecordFn record,
							   PgqCommandFn command);

/*
 * Called by the persist callback, before the step's datagrams are sent: a
 * switchover decision of this leader's term fences the server now, before
 * the leader can hand over (see reconcile.c).
 */
extern void pgq_reconcile_persisted(const quorum_node *node,
									const struct quorum_durable *durable,
									quorum_time_ms now);

/* An election event of the node (leader changed, decision committed...). */
extern void pgq_reconcile_event(const quorum_node *node,
								const struct quorum_event *event);

/*
 * After every step: publish the lease for the fence, and act.  Returns true
 * when this server's role or timeline may have changed, so that the worker
 * re-reads its facts at once.
 */
extern bool pgq_reconcile(const quorum_node *node, quorum_time_ms now,
						  PgqElectionStatus *status);

#endif							/* PGQ_RECONCILE_H */
