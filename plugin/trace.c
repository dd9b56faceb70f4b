/*-------------------------------------------------------------------------
 *
 * trace.c
 *	  Formats one decision line and hands it to the host.
 *
 * The line lives on the stack: tracing never allocates, so it is legal from
 * inside quorum_node_step().  Longer lines are truncated, not split.
 *
 * plugin/trace.c
 *
 *-------------------------------------------------------------------------
 */
#include "trace.h"

#include <stdarg.h>
#include <stdio.h>

/* Longest trace line, bytes; a line with many helper names still fits. */
#define TRACE_LINE_MAX 512

void
quorum__trace_emit(const struct quorum__trace *tr,
				   enum quorum_trace_level level,
				   quorum_time_ms now_ms, const char *fmt,...)
{
	char		line[TRACE_LINE_MAX];
	int			n;
	va_list		ap;

	n = snprintf(line, sizeof(line), "[%8llu] %s ",
				 (unsigned long long) now_ms, tr->self);
	if (n < 0 || (size_t) n >= sizeof(line))
		return;
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t) n, fmt, ap);
	va_end(ap);
	tr->fn(tr->ctx, level, line);
}
