/*-------------------------------------------------------------------------
 *
 * fence.h
 *	  The commit fence: no write commits on a server without the lease.
 *
 * extension/fence.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGQ_FENCE_H
#define PGQ_FENCE_H

#include "nodes/plannodes.h"

/* From _PG_init(): register the transaction callback and utility hook. */
extern void pgq_fence_init(void);

/* Whether this server holds the write lease at this instant. */
extern bool pgq_has_lease(void);

/* The worker's side: fence at once (it is leaving, or a hand-over starts). */
extern void pgq_fence_close(void);

/*
 * Whether a WAL position sampled now covers every write this server
 * accepted: it writes under the lease, or no write that passed the fence
 * is still before its record's flush.  libquorum hands leadership over
 * only on facts sampled so (see QUORUM_IN_FACTS), and the worker waits for
 * such a sample however long it takes: a hand-over fails rather than
 * leave a straggler behind.
 */
extern bool pgq_fence_settled(void);

/*
 * fence_utility.c: what of a statement about to run outlives its
 * transaction.  Each returns the command or function's name, or NULL;
 * *destroys: the command destroys or moves what no abort brings back.
 */
extern const char *pgq_fence_utility_outside(Node *stmt, bool *destroys);
extern const char *pgq_fence_plan_outside(PlannedStmt *stmt);

#endif							/* PGQ_FENCE_H */
