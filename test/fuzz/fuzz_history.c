/*-------------------------------------------------------------------------
 *
 * fuzz_history.c
 *	  libFuzzer target for the timeline history parser
 *	  (extension/timeline_history.c, which includes no PostgreSQL header).
 *
 * The worker parses history files that its WAL receiver fetched from the
 * primary.  Any text must give -1 or a history that keeps the parser's
 * promises: at most max entries, timelines strictly increasing and below
 * the file's own, which comes last and does not end; and whether a replay
 * position forked off must agree with the entries.
 *
 * test/fuzz/fuzz_history.c
 *
 *-------------------------------------------------------------------------
 */
#include "timeline_history.h"

#define FUZZ_NAME "fuzz_history"
#include "fuzz.h"

#define FUZZ_MAX 8

static char text[4096];

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	PgqTimeline h[FUZZ_MAX];
	uint32_t	tli;
	uint64_t	lsn;
	uint64_t	fork;
	int			n;

	/* The first bytes choose the file's timeline and a replay position. */
	if (size < 12 || size - 12 >= sizeof(text))
		return 0;
	memcpy(&tli, data, 4);
	memcpy(&lsn, data + 4, 8);
	memcpy(text, data + 12, size - 12);
	text[size - 12] = '\0';

	n = pgq_timeline_history_parse(text, tli, h, FUZZ_MAX);
	if (n < 0)
		return 0;
	FUZZ_CHECK(n >= 1 && n <= FUZZ_MAX);
	FUZZ_CHECK(h[n - 1].tli == tli && h[n - 1].end == UINT64_MAX);
	for (int i = 0; i + 1 < n; i++)
		FUZZ_CHECK(h[i].tli < h[i + 1].tli);

	for (int i = 0; i < n; i++)
	{
		FUZZ_CHECK(pgq_timeline_forked_before(h, n, h[i].tli, lsn, &fork) ==
				   (h[i].end < lsn));
		FUZZ_CHECK(fork == h[i].end);
	}
	if (tli < UINT32_MAX)
		FUZZ_CHECK(pgq_timeline_forked_before(h, n, tli + 1, lsn, &fork) && fork == 0);
	return 0;
}
