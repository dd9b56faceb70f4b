/*-------------------------------------------------------------------------
 *
 * test_timeline_history.c
 *	  Unit tests of the timeline history parser that the worker and
 *	  pg_quorum_rejoin share.
 *
 * The parser includes no PostgreSQL header, so it is compiled into this
 * test directly, like the HTTP parser.
 *
 * test/unit/test_timeline_history.c
 *
 *-------------------------------------------------------------------------
 */
#include "../../extension/timeline_history.c"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static PgqTimeline h[PGQ_TIMELINES_MAX];

/* What PostgreSQL 15 writes for timeline 3 after two promotions. */
static const char *const tli3 =
"1\t0/3000148\tno recovery target specified\n"
"\n"
"2\t0/5A0000A0\tno recovery target specified\n";

static void
test_promotions(void **state)
{
	int			n = pgq_timeline_history_parse(tli3, 3, h, PGQ_TIMELINES_MAX);

	assert_int_equal(n, 3);
	assert_int_equal(h[0].tli, 1);
	assert_true(h[0].end == 0x3000148);
	assert_int_equal(h[1].tli, 2);
	assert_true(h[1].end == 0x5A0000A0);
	assert_int_equal(h[2].tli, 3);
	assert_true(h[2].end == UINT64_MAX);

	/* Timeline 1 has no file. */
	assert_int_equal(pgq_timeline_history_parse("", 1, h, PGQ_TIMELINES_MAX), 1);
	assert_int_equal(h[0].tli, 1);
	assert_true(h[0].end == UINT64_MAX);
}

/*
 * Comments, blank lines, CRLF, no final newline, a long reason, spaces for
 * tabs: what readTimeLineHistory() accepts.
 */
static void
test_lenient_where_postgres_is(void **state)
{
	char		text[1024];
	int			n;

	snprintf(text, sizeof(text),
			 "# made by hand\r\n  \r\n1 1/0\tbefore transaction 734 %0400d\r\n\t# note\n2\tA/B", 0);
	n = pgq_timeline_history_parse(text, 5, h, PGQ_TIMELINES_MAX);
	assert_int_equal(n, 3);
	assert_true(h[0].end == UINT64_C(0x100000000));
	assert_true(h[1].end == UINT64_C(0xA0000000B));
	assert_int_equal(h[2].tli, 5);
}

/* Text from the network that does not parse is not trusted at all. */
static void
test_malformed(void **state)
{
	static const char *const bad[] = {
		"1\t0-3000148\treason\n",
		"x\t0/1\treason\n",
		"1\t0/1\n1\t0/2\n",		/* not increasing */
		"2\t0/1\n1\t0/2\n",
		"3\t0/1\n",				/* not older than the file's timeline */
		"1\t0/1\nnonsense\n",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(pgq_timeline_history_parse(bad[i], 3, h, PGQ_TIMELINES_MAX), -1);
}

static void
test_too_many(void **state)
{
	char		text[64 * 20];
	size_t		len = 0;

	for (int t = 1; t <= 63; t++)
		len += (size_t) snprintf(text + len, sizeof(text) - len, "%d\t0/%X\tr\n", t, t);
	assert_int_equal(pgq_timeline_history_parse(text, 64, h, 64), 64);
	assert_int_equal(pgq_timeline_history_parse(text, 64, h, 63), -1);
	assert_int_equal(pgq_timeline_history_parse(text, 64, h, 0), -1);
}

static void
test_forked_before(void **state)
{
	int			n = pgq_timeline_history_parse(tli3, 3, h, PGQ_TIMELINES_MAX);
	uint64_t	fork;

	/* Replay on timeline 1 up to the fork, or at it: timeline 3 follows. */
	assert_false(pgq_timeline_forked_before(h, n, 1, 0x3000100, &fork));
	assert_true(fork == 0x3000148);
	assert_false(pgq_timeline_forked_before(h, n, 1, 0x3000148, &fork));
	/* Past it: the startup process refuses timeline 3. */
	assert_true(pgq_timeline_forked_before(h, n, 1, 0x3000149, &fork));
	assert_true(pgq_timeline_forked_before(h, n, 2, 0x5B000000, &fork));
	assert_true(fork == 0x5A0000A0);
	/* The newest timeline does not end. */
	assert_false(pgq_timeline_forked_before(h, n, 3, UINT64_MAX - 1, &fork));
	/* A timeline not in the history can never follow it. */
	assert_true(pgq_timeline_forked_before(h, n, 4, 0, &fork));
	assert_true(fork == 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_promotions),
		cmocka_unit_test(test_lenient_where_postgres_is),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_too_many),
		cmocka_unit_test(test_forked_before),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
