/*-------------------------------------------------------------------------
 *
 * timeline_history.c
 *	  Parse PostgreSQL's timeline history files.
 *
 * A promotion writes <tli>.history: one line per earlier timeline, oldest
 * first, "parent-tli TAB switch-point TAB reason", where the switch point
 * is the LSN at which the next timeline forked off that one; '#' starts a
 * comment.  The WAL receiver fetches the file from its primary, so the
 * worker reads text that came over the network: a line that does not
 * parse, or timelines out of order, make the whole file untrusted, as
 * PostgreSQL's readTimeLineHistory() treats them (it cannot be used here:
 * it ends the process on such a file, and pg_quorum_rejoin is no backend).
 *
 * extension/timeline_history.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <string.h>

#include "timeline_history.h"

/*
 * The history of timeline tli from the text of its history file: the
 * timelines before it, oldest first, then tli itself (end UINT64_MAX).
 * Returns how many were written to history, or -1 if the text is malformed
 * or holds more than max - 1 timelines.  Timeline 1 has no file: pass "".
 */
int
pgq_timeline_history_parse(const char *text, uint32_t tli,
						   PgqTimeline *history, int max)
{
	int			n = 0;
	const char *line = text;

	if (max < 1)
		return -1;
	while (*line != '\0')
	{
		const char *eol = strchr(line, '\n');
		size_t		len = eol != NULL ? (size_t) (eol - line) : strlen(line);
		char		buf[128];
		const char *p;
		unsigned int parent,
					hi,
					lo;

		/* The fields come first; a long reason may be cut off. */
		if (len >= sizeof(buf))
			len = sizeof(buf) - 1;
		memcpy(buf, line, len);
		buf[len] = '\0';
		line = eol != NULL ? eol + 1 : line + strlen(line);

		p = buf + strspn(buf, " \t\r");
		if (*p == '\0' || *p == '#')
			continue;
		if (sscanf(p, "%u\t%X/%X", &parent, &hi, &lo) != 3)
			return -1;
		if (n >= max - 1 || parent >= tli ||
			(n > 0 && parent <= history[n - 1].tli))
			return -1;
		history[n].tli = parent;
		history[n].end = ((uint64_t) hi << 32) | lo;
		n++;
	}
	history[n].tli = tli;
	history[n].end = UINT64_MAX;
	return n + 1;
}

/*
 * Whether a server whose replay reached lsn on timeline tli can no longer
 * follow this history: tli is not in it, or the next timeline forked off
 * tli before lsn (the startup process then refuses the new timeline, and
 * only a rewind helps).  *fork is where tli ends in the history (0 if it
 * is not in it).
 */
bool
pgq_timeline_forked_before(const PgqTimeline *history, int n, uint32_t tli,
						   uint64_t lsn, uint64_t *fork)
{
	*fork = 0;
	for (int i = 0; i < n; i++)
	{
		if (history[i].tli != tli)
			continue;
		*fork = history[i].end;
		return history[i].end < lsn;
	}
	return true;
}
