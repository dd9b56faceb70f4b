/*-------------------------------------------------------------------------
 *
 * timeline_history.h
 *	  Parse PostgreSQL's timeline history files.
 *
 * Shared by the extension's worker and pg_quorum_rejoin, which is a libpq
 * client: plain C, no PostgreSQL headers.
 *
 * extension/timeline_history.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGQ_TIMELINE_HISTORY_H
#define PGQ_TIMELINE_HISTORY_H

#include <stdbool.h>
#include <stdint.h>

/* One timeline of a history and where the next one forked off it. */
typedef struct PgqTimeline
{
	uint32_t	tli;
	uint64_t	end;			/* UINT64_MAX: the newest, it does not end */
} PgqTimeline;

/* More than any cluster has: a history file beyond it is not trusted. */
#define PGQ_TIMELINES_MAX 256

extern int	pgq_timeline_history_parse(const char *text, uint32_t tli,
									   PgqTimeline *history, int max);
extern bool pgq_timeline_forked_before(const PgqTimeline *history, int n,
									   uint32_t tli, uint64_t lsn,
									   uint64_t *fork);

#endif							/* PGQ_TIMELINE_HISTORY_H */
