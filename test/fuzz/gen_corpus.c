/*-------------------------------------------------------------------------
 *
 * gen_corpus.c
 *	  Writes the seed corpora of the fuzz targets (make fuzz-corpus).
 *
 * The seeds are small valid inputs of every kind, so that the fuzzers start
 * past the magic, the version and the tag checks: one message of each gossip
 * type with and without updates and metadata, election messages of every
 * kind in the shapes the election sends (granted and refused votes, empty
 * and full appends, ...), datagrams sealed with each key of fuzz_unseal's
 * keyring and as plaintext, typical key files, and durable records (one in
 * the current format, one as version 1 wrote it).  Every message is decoded
 * again before it is written, so a seed the decoder refuses stops the run.
 * The output is deterministic; the generated files are committed.
 *
 * Usage: gen_corpus DIR   (writes DIR/wire, DIR/unseal, DIR/keyring, DIR/durable)
 *
 * test/fuzz/gen_corpus.c
 *
 *-------------------------------------------------------------------------
 */
#include "wire.h"
#include "seal.h"

#include "quorum/durable.h"
#include "quorum/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct quorum_wire_msg msg;
static struct quorum_wire_msg decoded;
static uint8_t buf[1 << 16];
static uint8_t sealed[1 << 16];
static const char *outdir;

static void
write_seed(const char *target, const char *name, const void *data, size_t len)
{
	char		path[512];
	FILE	   *f;

	snprintf(path, sizeof(path), "%s/%s/%s", outdir, target, name);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0)
	{
		perror(path);
		exit(1);
	}
}

static void
make_msg(enum quorum_wire_type type, unsigned n_updates, bool meta)
{
	memset(&msg, 0, sizeof(msg));
	msg.type = type;
	msg.cluster_id = quorum__wire_cluster_id("fuzz");
	strcpy(msg.sender, "pg-a");
	msg.sender_addr.family = 4;
	msg.sender_addr.bytes[0] = 127;
	msg.sender_addr.bytes[3] = 1;
	msg.sender_addr.port = 7946;
	msg.boot = 1000;
	msg.seq = 1;
	switch (type)
	{
		case QUORUM_WIRE_PING:
			msg.u.ping.probe_seq = 1;
			strcpy(msg.u.ping.target, "pg-b");
			break;
		case QUORUM_WIRE_ACK:
		case QUORUM_WIRE_NACK:
			msg.u.ack.probe_seq = 1;
			break;
		case QUORUM_WIRE_PING_REQ:
			msg.u.ping_req.probe_seq = 2;
			strcpy(msg.u.ping_req.target, "pg-c");
			msg.u.ping_req.target_addr.family = 6;
			msg.u.ping_req.target_addr.bytes[15] = 1;
			msg.u.ping_req.target_addr.port = 7947;
			break;
		case QUORUM_WIRE_PUSHPULL:
			msg.u.pushpull.exchange = 9;
			msg.u.pushpull.chunk = 0;
			msg.u.pushpull.chunks = 2;
			break;
		case QUORUM_WIRE_GOSSIP:
			break;
	}
	msg.n_updates = n_updates;
	for (unsigned i = 0; i < n_updates; i++)
	{
		struct quorum_wire_update *up = &msg.updates[i];

		up->state = (enum quorum_member_state) (i % 4);
		snprintf(up->name, sizeof(up->name), "pg-%c", 'b' + i);
		up->addr.family = i % 2 ? 6 : 4;
		up->addr.bytes[0] = 10;
		up->addr.port = (uint16_t) (7946 + i);
		up->incarnation = i + 1;
		if (up->state == QUORUM_MEMBER_SUSPECT)
			strcpy(up->from, "pg-a");
		up->meta_version = 3;
		up->has_meta = meta;
		if (meta)
		{
			up->meta.role = i == 0 ? QUORUM_ROLE_PRIMARY : QUORUM_ROLE_STANDBY;
			up->meta.timeline = 1;
			up->meta.lsn = 0x3000060;
			up->meta.priority = 100;
			snprintf(up->meta.conninfo, sizeof(up->meta.conninfo),
					 "host=10.0.0.%u port=5432", i + 1);
			strcpy(up->meta.tags, "dc=a");
		}
	}
}

static int
encode_msg(void)
{
	int			n = quorum__wire_encode(&msg, buf, sizeof(buf));

	if (n <= 0)
	{
		fprintf(stderr, "gen_corpus: encode failed: %s\n", quorum_strerror(n));
		exit(1);
	}
	/* A seed the decoder refuses would start the fuzzer nowhere useful. */
	if (quorum__wire_decode(buf, (size_t) n, &decoded, NULL) != 0)
	{
		fprintf(stderr, "gen_corpus: a type %d message does not decode\n",
				(int) msg.type);
		exit(1);
	}
	return n;
}

static void
gen_wire(void)
{
	static const char *names[] = {"", "ping", "ack", "ping_req", "nack", "pushpull", "gossip"};

	for (int t = QUORUM_WIRE_PING; t <= QUORUM_WIRE_GOSSIP; t++)
	{
		char		name[64];
		int			n;

		make_msg((enum quorum_wire_type) t, 0, false);
		n = encode_msg();
		snprintf(name, sizeof(name), "%s-bare", names[t]);
		write_seed("wire", name, buf, (size_t) n);

		make_msg((enum quorum_wire_type) t, 3, t % 2 == 0);
		n = encode_msg();
		snprintf(name, sizeof(name), "%s-updates", names[t]);
		write_seed("wire", name, buf, (size_t) n);
	}
}

/* A position (what a vote is judged by) on timeline 3 with priority 100. */
static void
set_pos(struct quorum__raft_pos *pos, enum quorum_role role)
{
	pos->timeline = 3;
	pos->lsn = 0x3000060;
	pos->role = (uint8_t) role;
	pos->priority = 100;
}

static void
set_decision(struct quorum_decision *d, enum quorum_decision_type type,
			 const char *name)
{
	d->term = 7;
	d->type = (uint8_t) type;
	snprintf(d->name, sizeof(d->name), "%s", name);
}

/*
 * An election message from pg-a to pg-b in term 7 of a cluster of three
 * voters; the caller fills the body.  Election messages carry no gossip.
 */
static struct quorum__raft_msg *
make_raft(enum quorum__raft_msg_type type)
{
	struct quorum__raft_msg *m = &msg.u.raft;

	make_msg(QUORUM_WIRE_RAFT, 0, false);
	m->type = type;
	strcpy(m->from, "pg-a");
	strcpy(m->to, "pg-b");
	m->term = 7;
	m->config_id = 0x9e3779b97f4a7c15;
	return m;
}

static void
write_raft(const char *name)
{
	int			n = encode_msg();

	write_seed("wire", name, buf, (size_t) n);
}

/* Votes and pre-votes: asked for, by transfer, granted, and refused. */
static void
gen_raft_votes(void)
{
	static const struct
	{
		enum quorum__raft_msg_type ask;
		enum quorum__raft_msg_type answer;
		const char *name;
	}			kinds[] = {
		{QUORUM__RAFT_MSG_PREVOTE, QUORUM__RAFT_MSG_PREVOTE_RESP, "prevote"},
		{QUORUM__RAFT_MSG_VOTE, QUORUM__RAFT_MSG_VOTE_RESP, "vote"},
	};
	struct quorum__raft_msg *m;
	char		name[64];

	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
	{
		m = make_raft(kinds[k].ask);
		m->u.vote.last_index = 12;
		m->u.vote.last_term = 6;
		set_pos(&m->u.vote.pos, QUORUM_ROLE_STANDBY);
		snprintf(name, sizeof(name), "raft-%s", kinds[k].name);
		write_raft(name);

		m->u.vote.transfer = true;
		snprintf(name, sizeof(name), "raft-%s-transfer", kinds[k].name);
		write_raft(name);

		m = make_raft(kinds[k].answer);
		m->u.vote_resp.granted = true;
		m->u.vote_resp.refusal = QUORUM__RAFT_GRANTED;
		snprintf(name, sizeof(name), "raft-%s-granted", kinds[k].name);
		write_raft(name);

		m->u.vote_resp.granted = false;
		m->u.vote_resp.refusal = QUORUM__RAFT_REFUSE_STICKY;
		m->u.vote_resp.sticky_ms = 800;
		snprintf(name, sizeof(name), "raft-%s-refused-sticky", kinds[k].name);
		write_raft(name);

		m->u.vote_resp.refusal = QUORUM__RAFT_REFUSE_WAL;
		m->u.vote_resp.sticky_ms = 0;
		snprintf(name, sizeof(name), "raft-%s-refused-wal", kinds[k].name);
		write_raft(name);
	}
}

/* The log: heartbeats, entries, answers, a snapshot, and a forwarded decision. */
static void
gen_raft_log(void)
{
	struct quorum__raft_msg *m;

	m = make_raft(QUORUM__RAFT_MSG_APPEND);
	m->u.append.prev_index = 12;
	m->u.append.prev_term = 7;
	m->u.append.commit = 12;
	m->u.append.round = 340;
	write_raft("raft-append-heartbeat");

	m->u.append.n_entries = QUORUM__RAFT_APPEND_MAX;
	set_decision(&m->u.append.entries[0], QUORUM_DECISION_NOOP, "");
	set_decision(&m->u.append.entries[1], QUORUM_DECISION_ADD_VOTER, "pg-d");
	set_decision(&m->u.append.entries[2], QUORUM_DECISION_PAUSE, "");
	set_decision(&m->u.append.entries[3], QUORUM_DECISION_SWITCHOVER, "pg-c");
	write_raft("raft-append-entries");
	/* To a peer that answered with a member id: the voter's is bound. */
	m->u.append.entries[1].member_id = UINT64_C(0x9f3c00aa12345678);
	write_raft("raft-append-entries-ids");

	m = make_raft(QUORUM__RAFT_MSG_APPEND_RESP);
	m->u.append_resp.success = true;
	m->u.append_resp.match_index = 16;
	m->u.append_resp.round = 340;
	m->u.append_resp.voter = true;
	set_pos(&m->u.append_resp.pos, QUORUM_ROLE_STANDBY);
	write_raft("raft-append-resp");

	m->u.append_resp.promise_ms = 1200;
	m->u.append_resp.member_id = UINT64_C(0x9f3c00aa12345678);
	m->u.append_resp.persist_seq = 311;
	write_raft("raft-append-resp-member");
	m->u.append_resp.promise_ms = 0;
	m->u.append_resp.member_id = 0;
	m->u.append_resp.persist_seq = 0;

	m->u.append_resp.success = false;
	m->u.append_resp.match_index = 9;
	m->u.append_resp.voter = false;
	write_raft("raft-append-resp-behind");

	m = make_raft(QUORUM__RAFT_MSG_SNAPSHOT);
	m->u.snapshot.snap.index = 12;
	m->u.snapshot.snap.term = 6;
	m->u.snapshot.snap.config_id = m->config_id;
	m->u.snapshot.snap.paused = true;
	m->u.snapshot.snap.n_voters = 3;
	strcpy(m->u.snapshot.snap.voters[0], "pg-a");
	strcpy(m->u.snapshot.snap.voters[1], "pg-b");
	strcpy(m->u.snapshot.snap.voters[2], "pg-c");
	m->u.snapshot.round = 341;
	write_raft("raft-snapshot");
	m->u.snapshot.snap.voter_ids[1] = UINT64_C(0x9f3c00aa12345678);
	write_raft("raft-snapshot-ids");

	m = make_raft(QUORUM__RAFT_MSG_PROPOSE);
	set_decision(&m->u.propose.entry, QUORUM_DECISION_SWITCHOVER, "");
	write_raft("raft-propose-switchover");
	set_decision(&m->u.propose.entry, QUORUM_DECISION_REMOVE_VOTER, "pg-c");
	write_raft("raft-propose-remove-voter");
}

/* Leadership transfer and the greeting of a node not bootstrapped yet. */
static void
gen_raft_control(void)
{
	struct quorum__raft_msg *m;

	make_raft(QUORUM__RAFT_MSG_TIMEOUT_NOW);
	write_raft("raft-timeout-now");

	m = make_raft(QUORUM__RAFT_MSG_HELLO);
	m->term = 0;
	m->config_id = 0;
	m->u.hello.voter = true;
	write_raft("raft-hello-voter");
	m->u.hello.voter = false;
	write_raft("raft-hello");

	m = make_raft(QUORUM__RAFT_MSG_MEMBER);
	m->u.member.member_id = UINT64_C(0x9f3c00aa12345678);
	m->u.member.persist_seq = 311;
	write_raft("raft-member");
}

static void
gen_unseal(void)
{
	struct quorum_keyring kr = {.count = 1};
	struct quorum_keyring none = {0};
	struct quorum_sealer s;
	uint8_t		nonce[QUORUM_SEAL_NONCE_BYTES] = {0};
	int			plain_len;
	int			n;

	make_msg(QUORUM_WIRE_PING, 2, true);
	plain_len = encode_msg();

	for (int k = 0; k < 2; k++)
	{
		char		name[64];

		for (int i = 0; i < QUORUM_KEY_BYTES; i++)
			kr.keys[0][i] = (uint8_t) (k * 0x40 + i);
		if (quorum__sealer_init(&s, &kr, false) != 0)
			exit(1);
		nonce[11] = (uint8_t) (k + 1);
		n = quorum__seal(&s, nonce, buf, (size_t) plain_len, sealed, sizeof(sealed));
		snprintf(name, sizeof(name), "sealed-key%d", k);
		write_seed("unseal", name, sealed, (size_t) n);
		/* A nonce is never used twice under one key, even in seeds. */
		nonce[10] = 1;
		n = quorum__seal(&s, nonce, buf, 0, sealed, sizeof(sealed));
		nonce[10] = 0;
		snprintf(name, sizeof(name), "sealed-empty-key%d", k);
		write_seed("unseal", name, sealed, (size_t) n);
		quorum__sealer_destroy(&s);
	}

	if (quorum__sealer_init(&s, &none, true) != 0)
		exit(1);
	n = quorum__seal(&s, nonce, buf, (size_t) plain_len, sealed, sizeof(sealed));
	write_seed("unseal", "plaintext", sealed, (size_t) n);
	quorum__sealer_destroy(&s);
}

static void
gen_keyring(void)
{
	static const char one[] =
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";
	static const char rotation[] =
		"# primary since the last rotation\n"
		"404142434445464748494A4B4C4D4E4F505152535455565758595A5B5C5D5E5F\n"
		"\n"
		"  # previous key\r\n"
		"  000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f  \r\n";
	static const char bad[] = "# too short\n0001020304\n";

	write_seed("keyring", "one", one, sizeof(one) - 1);
	write_seed("keyring", "rotation", rotation, sizeof(rotation) - 1);
	write_seed("keyring", "bad", bad, sizeof(bad) - 1);
}

static void
gen_durable(void)
{
	static const char v1[] =
		"# pg_quorum durable state; written by quorum_witness, do not edit\n"
		"node_name=witness\nincarnation=1733400000123\nterm=7\nvoted_for=pg-b\n"
		"snapshot=3 2 9f3c00aa12 0\nvoter=pg-a\nvoter=pg-b\nvoter=witness\n"
		"entry=5 1 \nentry=6 2 pg-c\n";
	/* The release before member ids: a version line, no ids. */
	static const char v2[] =
		"# pg_quorum durable state, written by libquorum; do not edit\n"
		"format_version=2\nnode_name=pg-a\nincarnation=12\nterm=9\nvoted_for=pg-a\n"
		"snapshot=4 8 feedbeef 1\nvoter=pg-a\nvoter=pg-b\nentry=9 1\nentry=9 2 pg-c\n";
	static struct quorum_durable d;
	static struct quorum_durable_file check;
	static char text[QUORUM_DURABLE_BYTES_MAX];
	struct quorum_election_durable *e = &d.election;
	size_t		len;

	d.incarnation = 12;
	d.member_id = 0x9f3c00aa12345678ULL;
	e->persist_seq = 311;
	e->term = 9;
	strcpy(e->voted_for, "pg-a");
	e->snap.index = 4;
	e->snap.term = 8;
	e->snap.config_id = 0xfeedbeefULL;
	e->snap.paused = true;
	e->snap.n_voters = 2;
	strcpy(e->snap.voters[0], "pg-a");
	strcpy(e->snap.voters[1], "pg-b");
	/* One voter bound to a member id, one not yet. */
	e->snap.voter_ids[0] = 0x9f3c00aa12345678ULL;
	e->n_entries = 3;
	e->entries[0] = (struct quorum_decision) {.term = 9, .type = QUORUM_DECISION_NOOP};
	e->entries[1] = (struct quorum_decision) {.term = 9, .type = QUORUM_DECISION_SWITCHOVER};
	strcpy(e->entries[1].name, "pg-b");
	e->entries[2] = (struct quorum_decision) {.term = 9, .type = QUORUM_DECISION_ADD_VOTER,
	.member_id = UINT64_MAX};
	strcpy(e->entries[2].name, "pg-b");
	if (quorum_durable_format("pg-a", &d, text, sizeof(text), &len) != 0 ||
		quorum_durable_parse(text, len, &check, NULL, 0) != 0 ||
		quorum_durable_parse(v1, sizeof(v1) - 1, &check, NULL, 0) != 0 ||
		quorum_durable_parse(v2, sizeof(v2) - 1, &check, NULL, 0) != 0)
	{
		fprintf(stderr, "gen_corpus: a durable seed does not parse\n");
		exit(1);
	}
	write_seed("durable", "current", text, len);
	write_seed("durable", "version-1", v1, sizeof(v1) - 1);
	write_seed("durable", "version-2", v2, sizeof(v2) - 1);
}

int
main(int argc, char **argv)
{
	if (argc != 2)
	{
		fprintf(stderr, "usage: gen_corpus DIR\n");
		return 2;
	}
	outdir = argv[1];
	gen_wire();
	gen_raft_votes();
	gen_raft_log();
	gen_raft_control();
	gen_unseal();
	gen_keyring();
	gen_durable();
	return 0;
}
