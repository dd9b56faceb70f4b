/*-------------------------------------------------------------------------
 *
 * test_durable.c
 *	  Unit tests of the durable record's text format (plugin/durable.c)
 *	  and of the timing rules hosts ask libquorum for (plugin/timing.c).
 *
 * The version-1 and version-2 texts below are what the PostgreSQL worker
 * and the witness wrote before the format had a version line, and before
 * it had member ids, byte for byte (including the blank after an entry
 * with no name in version 1), so that files already on disk keep loading.
 *
 * test/unit/test_durable.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quorum/error.h"
#include "quorum/durable.h"

static const char v1_text[] =
	"# pg_quorum durable state; written by the pg_quorum worker, do not edit\n"
	"node_name=pg-a\n"
	"incarnation=1733400000123\n"
	"term=7\n"
	"voted_for=pg-b\n"
	"snapshot=3 2 9f3c00aa12 1\n"
	"voter=pg-a\n"
	"voter=pg-b\n"
	"voter=witness 1\n"
	"entry=5 1 \n"
	"entry=6 6 pg-b\n";

/* What this release's predecessor wrote: a version line, no member ids. */
static const char v2_text[] =
	"# pg_quorum durable state, written by libquorum; do not edit\n"
	"format_version=2\n"
	"node_name=pg-a\n"
	"incarnation=1733400000123\n"
	"term=7\n"
	"voted_for=pg-b\n"
	"snapshot=3 2 9f3c00aa12 0\n"
	"voter=pg-a\n"
	"voter=pg-b\n"
	"entry=5 1\n"
	"entry=6 2 pg-c\n";

static const char v3_text[] =
	"format_version=3\n"
	"node_name=pg-a\n"
	"incarnation=5\n"
	"member_id=9f3c00aa12345678\n"
	"persist_seq=311\n"
	"term=7\n"
	"voted_for=\n"
	"snapshot=3 2 9f3c00aa12 0\n"
	"voter=0 pg-a\n"
	"voter=1a2b pg b\n"
	"entry=5 1 0\n"
	"entry=6 2 ffffffffffffffff pg-c\n";

static struct quorum_durable_file file;
static struct quorum_durable_file again;
static char text[QUORUM_DURABLE_BYTES_MAX];

static void
fill_record(struct quorum_durable *d)
{
	struct quorum_election_durable *e = &d->election;

	memset(d, 0, sizeof(*d));
	d->incarnation = UINT64_MAX - 1;
	d->member_id = UINT64_MAX;
	d->election.persist_seq = UINT64_MAX - 3;
	e->term = 42;
	strcpy(e->voted_for, "pg b with blanks");
	e->snap.index = 10;
	e->snap.term = 41;
	e->snap.config_id = UINT64_MAX;
	e->snap.paused = true;
	for (unsigned i = 0; i < QUORUM_VOTERS_MAX; i++)
	{
		snprintf(e->snap.voters[i], sizeof(e->snap.voters[i]), "voter-%u", i);
		/* Some bound, some not (id 0). */
		e->snap.voter_ids[i] = i % 2 == 0 ? UINT64_MAX / (i + 1) : 0;
	}
	e->snap.n_voters = QUORUM_VOTERS_MAX;
	for (uint32_t k = 0; k < QUORUM_LOG_MAX; k++)
	{
		e->entries[k].term = 41 + k / 8;
		e->entries[k].type = (uint8_t) (QUORUM_DECISION_NOOP + k % 6);
		if (k % 3 != 0)
			memset(e->entries[k].name, 'n', QUORUM_NAME_MAX);
		if (e->entries[k].type == QUORUM_DECISION_ADD_VOTER && k % 4 != 0)
			e->entries[k].member_id = UINT64_C(0x8000000000000001) + k;
	}
	e->n_entries = QUORUM_LOG_MAX;
}

static int
parse_str(const char *s, char *errbuf, size_t errbuf_len)
{
	return quorum_durable_parse(s, strlen(s), &file, errbuf, errbuf_len);
}

static void
test_round_trip(void **state)
{
	struct quorum_durable d;
	size_t		len = 0;

	fill_record(&d);
	assert_int_equal(quorum_durable_format("pg-a", &d, text, sizeof(text), &len), 0);
	assert_int_equal(strlen(text), len);
	assert_non_null(strstr(text, "format_version=3\n"));
	assert_non_null(strstr(text, "member_id=ffffffffffffffff\n"));
	assert_non_null(strstr(text, "voter=0 voter-1\n"));
	assert_int_equal(quorum_durable_parse(text, len, &file, NULL, 0), 0);
	assert_int_equal(file.format_version, QUORUM_DURABLE_FORMAT_VERSION);
	assert_string_equal(file.node_name, "pg-a");
	assert_memory_equal(&file.durable, &d, sizeof(d));

	/* A fresh node's record: nothing but a name, incarnation and id. */
	memset(&d, 0, sizeof(d));
	d.incarnation = 1;
	d.member_id = 1;
	assert_int_equal(quorum_durable_format("n", &d, text, sizeof(text), &len), 0);
	assert_int_equal(quorum_durable_parse(text, len, &again, NULL, 0), 0);
	assert_memory_equal(&again.durable, &d, sizeof(d));
}

static void
test_version_1(void **state)
{
	const struct quorum_election_durable *e = &file.durable.election;
	size_t		len;

	assert_int_equal(parse_str(v1_text, NULL, 0), 0);
	assert_int_equal(file.format_version, 1);
	assert_string_equal(file.node_name, "pg-a");
	assert_int_equal(file.durable.incarnation, 1733400000123ULL);
	assert_int_equal(e->term, 7);
	assert_string_equal(e->voted_for, "pg-b");
	assert_int_equal(e->snap.index, 3);
	assert_int_equal(e->snap.term, 2);
	assert_int_equal(e->snap.config_id, 0x9f3c00aa12ULL);
	assert_true(e->snap.paused);
	assert_int_equal(e->snap.n_voters, 3);
	assert_string_equal(e->snap.voters[2], "witness 1");
	assert_int_equal(e->n_entries, 2);
	assert_int_equal(e->entries[0].type, QUORUM_DECISION_NOOP);
	assert_string_equal(e->entries[0].name, "");
	assert_int_equal(e->entries[1].type, QUORUM_DECISION_SWITCHOVER);
	assert_string_equal(e->entries[1].name, "pg-b");
	/* No member ids in version 1: the voters are not bound to any. */
	assert_int_equal(file.durable.member_id, 0);
	for (unsigned i = 0; i < e->snap.n_voters; i++)
		assert_int_equal(e->snap.voter_ids[i], 0);

	/*
	 * Written back (the node has made its member id up), it is in the
	 * current version and says the same.
	 */
	file.durable.member_id = 0x42;
	assert_int_equal(quorum_durable_format(file.node_name, &file.durable, text,
										   sizeof(text), &len), 0);
	assert_int_equal(quorum_durable_parse(text, len, &again, NULL, 0), 0);
	assert_int_equal(again.format_version, QUORUM_DURABLE_FORMAT_VERSION);
	assert_memory_equal(&again.durable, &file.durable, sizeof(file.durable));

	/* An explicit version 1 reads the same; no trailing newline needed. */
	assert_int_equal(parse_str("format_version=1\nnode_name=x\nincarnation=2", NULL, 0), 0);
	assert_int_equal(file.format_version, 1);
	assert_int_equal(file.durable.incarnation, 2);
}

/* Version 2 reads with member id 0 everywhere: an upgraded cluster. */
static void
test_version_2(void **state)
{
	const struct quorum_election_durable *e = &file.durable.election;

	assert_int_equal(parse_str(v2_text, NULL, 0), 0);
	assert_int_equal(file.format_version, 2);
	assert_int_equal(file.durable.member_id, 0);
	assert_int_equal(file.durable.election.persist_seq, 0);
	assert_int_equal(e->snap.n_voters, 2);
	assert_string_equal(e->snap.voters[1], "pg-b");
	assert_int_equal(e->snap.voter_ids[0], 0);
	assert_int_equal(e->snap.voter_ids[1], 0);
	assert_int_equal(e->n_entries, 2);
	assert_int_equal(e->entries[1].type, QUORUM_DECISION_ADD_VOTER);
	assert_string_equal(e->entries[1].name, "pg-c");
	assert_int_equal(e->entries[1].member_id, 0);
}

static void
test_version_3(void **state)
{
	const struct quorum_election_durable *e = &file.durable.election;
	size_t		len;

	assert_int_equal(parse_str(v3_text, NULL, 0), 0);
	assert_int_equal(file.format_version, 3);
	assert_int_equal(file.durable.member_id, 0x9f3c00aa12345678ULL);
	assert_int_equal(file.durable.election.persist_seq, 311);
	assert_int_equal(e->snap.voter_ids[0], 0);
	assert_string_equal(e->snap.voters[0], "pg-a");
	assert_int_equal(e->snap.voter_ids[1], 0x1a2b);
	assert_string_equal(e->snap.voters[1], "pg b");
	assert_int_equal(e->entries[0].type, QUORUM_DECISION_NOOP);
	assert_int_equal(e->entries[0].member_id, 0);
	assert_string_equal(e->entries[0].name, "");
	assert_int_equal(e->entries[1].member_id, UINT64_MAX);
	assert_string_equal(e->entries[1].name, "pg-c");
	/* The writer prints it back byte for byte, but for the header. */
	assert_int_equal(quorum_durable_format(file.node_name, &file.durable, text,
										   sizeof(text), &len), 0);
	assert_string_equal(strchr(text, '\n') + 1, v3_text);
}

/* Each text must fail with QUORUM_EMALFORMED, *file zeroed, and why. */
static void
expect_malformed(const char *s, size_t len, const char *why)
{
	static const struct quorum_durable_file zero;
	char		errbuf[160];

	memset(&file, 0xab, sizeof(file));
	assert_int_equal(quorum_durable_parse(s, len, &file, errbuf, sizeof(errbuf)),
					 QUORUM_EMALFORMED);
	assert_memory_equal(&file, &zero, sizeof(file));
	if (strstr(errbuf, why) == NULL)
		fail_msg("\"%s\": message \"%s\" lacks \"%s\"", s, errbuf, why);
}

#define BAD(s, why) expect_malformed((s), strlen(s), (why))
#define HEAD "node_name=a\nincarnation=1\n"

static void
test_bad_inputs(void **state)
{
	char		big[QUORUM_DURABLE_BYTES_MAX + 1];
	char		many[2048];
	size_t		n = 0;

	BAD("", "no node_name or no incarnation");
	BAD("node_name=a\n", "no node_name or no incarnation");
	BAD("incarnation=1\n", "no node_name or no incarnation");
	BAD(HEAD "member_id=0123\n", "line 3: \"member_id\" is not a key of format version 1");
	BAD("format_version=2\n" HEAD "persist_seq=1\n", "not a key of format version 2");
	BAD(HEAD "member_ids=0123\n", "line 3: unknown key \"member_ids\"");
	BAD(HEAD "term=1\nterm=2\n", "line 4: \"term\" appears twice");
	BAD(HEAD "node_name=b\n", "\"node_name\" appears twice");
	BAD("format_version=4\n" HEAD, "written by a newer version");
	BAD("format_version=3\n" HEAD, "no member_id");
	BAD("format_version=3\n" HEAD "member_id=0\n", "member_id is not a nonzero hex number");
	BAD("format_version=3\n" HEAD "member_id=12G\n", "member_id is not a nonzero hex number");
	BAD("format_version=3\n" HEAD "member_id=1\nmember_id=2\n", "appears twice");
	BAD("format_version=3\n" HEAD "member_id=1\npersist_seq=x\n", "persist_seq is not a number");
	BAD("format_version=3\n" HEAD "member_id=1\nvoter=pg-a\n", "voter is not \"member_id name\"");
	BAD("format_version=3\n" HEAD "member_id=1\nvoter=12\n", "voter is not \"member_id name\"");
	BAD("format_version=3\n" HEAD "member_id=1\nvoter=12 \n", "voter is not a name");
	BAD("format_version=3\n" HEAD "member_id=1\nentry=1 2 pg-a\n", "log entry is not \"term type member_id name\"");
	BAD("format_version=3\n" HEAD "member_id=1\nentry=1 2\n", "log entry is not \"term type member_id name\"");
	BAD("format_version=0\n" HEAD, "is not one this libquorum reads");
	BAD(HEAD "format_version=2\n", "not the first line");
	BAD("node_name=a\nincarnation=-1\n", "incarnation is not a number");
	BAD("node_name=a\nincarnation= 1\n", "incarnation is not a number");
	BAD("node_name=a\nincarnation=18446744073709551616\n", "incarnation is not a number");
	BAD("node_name=a\nincarnation=1x\n", "incarnation is not a number");
	BAD(HEAD "term=\n", "term is not a number");
	BAD("node_name=\nincarnation=1\n", "node name is not a name");
	BAD(HEAD "voter=\n", "voter is not a name");
	BAD(HEAD "voted_for=0123456789012345678901234567890123456789012345678901234567890123\n",
		"vote is not a name");
	BAD(HEAD "snapshot=1 2 3\n", "snapshot is not");
	BAD(HEAD "snapshot=1 2 3 2\n", "snapshot is not");
	BAD(HEAD "snapshot=1 2 xyz 0\n", "snapshot is not");
	BAD(HEAD "snapshot=1  2 3 0\n", "snapshot is not");
	BAD(HEAD "entry=1 0 a\n", "log entry is not");
	BAD(HEAD "entry=1 7 a\n", "log entry is not");
	BAD(HEAD "entry=1 1x a\n", "log entry is not");
	BAD(HEAD "entry=1\n", "log entry is not");
	BAD(HEAD "just text\n", "line 3: the line is not \"key=value\"");
	expect_malformed(HEAD "term=1\0\n", sizeof(HEAD "term=1\0\n") - 1, "NUL byte");

	for (unsigned i = 0; i <= QUORUM_VOTERS_MAX; i++)
		n += (size_t) snprintf(many + n, sizeof(many) - n, "voter=v%u\n", i);
	expect_malformed(many, n, "more than 9 voters");
	n = 0;
	for (unsigned i = 0; i <= QUORUM_LOG_MAX; i++)
		n += (size_t) snprintf(many + n, sizeof(many) - n, "entry=1 1\n");
	expect_malformed(many, n, "more than 32 log entries");

	memset(big, '#', sizeof(big));
	expect_malformed(big, sizeof(big), "longer than 32768 bytes");
	memset(big, 'x', 200);
	memcpy(big, "voter=", 6);
	expect_malformed(big, 200, "longer than 128 bytes");

	/* Comments and blank lines anywhere are fine, also a long comment. */
	memcpy(big, "#", 1);
	memcpy(big + 199, "\n", 1);
	memcpy(big + 200, HEAD "\n# end\n", sizeof(HEAD "\n# end\n") - 1);
	assert_int_equal(quorum_durable_parse(big, 200 + sizeof(HEAD "\n# end\n") - 1,
										  &file, NULL, 0), 0);
	assert_int_equal(quorum_durable_parse(NULL, 1, &file, NULL, 0), QUORUM_EINVAL);
}

static void
test_format_refuses(void **state)
{
	struct quorum_durable d;
	size_t		len;

	fill_record(&d);
	assert_int_equal(quorum_durable_format("pg-a", &d, text, 64, &len), QUORUM_ELIMIT);
	assert_int_equal(quorum_durable_format("", &d, text, sizeof(text), &len), QUORUM_EINVAL);
	assert_int_equal(quorum_durable_format("a\nb", &d, text, sizeof(text), &len), QUORUM_EINVAL);
	strcpy(d.election.voted_for, "x\ny");
	assert_int_equal(quorum_durable_format("a", &d, text, sizeof(text), &len), QUORUM_EINVAL);
	fill_record(&d);
	d.election.entries[3].type = 0;
	assert_int_equal(quorum_durable_format("a", &d, text, sizeof(text), &len), QUORUM_EINVAL);
	fill_record(&d);
	d.election.n_entries = QUORUM_LOG_MAX + 1;
	assert_int_equal(quorum_durable_format("a", &d, text, sizeof(text), &len), QUORUM_EINVAL);
	fill_record(&d);
	d.election.snap.n_voters = QUORUM_VOTERS_MAX + 1;
	assert_int_equal(quorum_durable_format("a", &d, text, sizeof(text), &len), QUORUM_EINVAL);
	/* A record without a member id would read back as another member's. */
	fill_record(&d);
	d.member_id = 0;
	assert_int_equal(quorum_durable_format("a", &d, text, sizeof(text), &len), QUORUM_EINVAL);
}

static void
test_start_incarnation(void **state)
{
	struct quorum_durable d = {.incarnation = 41};

	assert_int_equal(quorum_durable_start_incarnation(&d, 1733400000000ULL), 42);
	assert_int_equal(quorum_durable_start_incarnation(NULL, 1733400000000ULL),
					 1733400000000ULL);
}

static void
test_timing_rules(void **state)
{
	struct quorum_config c;

	/* The defaults follow the same rule the hosts ask for. */
	quorum_config_init(&c);
	assert_int_equal(c.election_timeout_max_ms,
					 quorum_timing_election_max_ms(c.election_timeout_min_ms));
	assert_int_equal(quorum_timing_election_max_ms(1200), 1600);
	assert_int_equal(quorum_timing_hand_over_ms(1600), 3200);
	assert_int_equal(quorum_timing_wal_stop_ms(1600), 4800);
	assert_true(quorum_timing_heartbeat_fits(100, 1200));
	assert_true(quorum_timing_heartbeat_fits(599, 1200));
	assert_false(quorum_timing_heartbeat_fits(600, 1200));
	assert_false(quorum_timing_heartbeat_fits(0, 1200));
	assert_true(quorum_timing_probe_fits(99, 100));
	assert_false(quorum_timing_probe_fits(100, 100));
	assert_false(quorum_timing_probe_fits(0, 100));
	assert_true(quorum_member_may_lead(QUORUM_ROLE_STANDBY, 1));
	assert_true(quorum_member_may_lead(QUORUM_ROLE_PRIMARY, 100));
	assert_false(quorum_member_may_lead(QUORUM_ROLE_STANDBY, 0));
	assert_false(quorum_member_may_lead(QUORUM_ROLE_WITNESS, 1));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_version_1),
		cmocka_unit_test(test_version_2),
		cmocka_unit_test(test_version_3),
		cmocka_unit_test(test_bad_inputs),
		cmocka_unit_test(test_format_refuses),
		cmocka_unit_test(test_start_incarnation),
		cmocka_unit_test(test_timing_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
