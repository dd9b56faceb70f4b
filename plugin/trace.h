/*-------------------------------------------------------------------------
 *
 * trace.h
 *	  Decision trace: one line per decision, handed to the host's callback.
 *
 * Lines look like "[    1200] n2 ping n5 timed out -> indirect probe via n1"
 * (host time in ms, this node's name, the decision).  Golden tests compare
 * them byte for byte, so they must depend only on the node's inputs.  The
 * QUORUM_TRACE macro tests the level before any argument is evaluated or
 * formatted: a 1000-node simulation without tracing pays one branch.
 *
 * plugin/trace.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef QUORUM_TRACE_H
#define QUORUM_TRACE_H

#include "quorum/node.h"

struct quorum__trace
{
	quorum_trace_fn fn;
	void	   *ctx;
	enum quorum_trace_level level;
	const char *self;			/* the node's name, owned by the node */
};

#define QUORUM_TRACE_ON(tr, lvl) ((tr)->fn != NULL && (lvl) >= (tr)->level)

#define QUORUM_TRACE(tr, lvl, now, ...) \
	do { \
		if (QUORUM_TRACE_ON((tr), (lvl))) \
			quorum__trace_emit((tr), (lvl), (now), __VA_ARGS__); \
	} while (0)

void		quorum__trace_emit(const struct quorum__trace *tr,
							   enum quorum_trace_level level,
							   quorum_time_ms now_ms, const char *fmt,...)
			__attribute__((format(printf, 4, 5)));

#endif							/* QUORUM_TRACE_H */
