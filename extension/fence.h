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

/* From _PG_init(): register the transaction callback and utility hook. */
extern void pgq_fence_init(void);

/* Whether this server holds the write lease at this instant. */
extern bool pgq_has_lease(void);

#endif							/* PGQ_FENCE_H */
