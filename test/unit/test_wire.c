/*-------------------------------------------------------------------------
 *
 * test_wire.c
 *	  Unit tests of the wire codec (plugin/wire.c).
 *
 * Round trips cover every message type with and without updates and
 * metadata, and every kind of election message (QUORUM_WIRE_RAFT).  Malformed inputs are built two ways: by damaging a valid
 * encoding (truncation, trailing byte, magic, version), and byte by byte with
 * the small builder below, which knows the layout from wire.h and nothing
 * from wire.c, so that a field the codec forgets to check shows up here.
 *
 * test/unit/test_wire.c
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
#include "wire.h"

#define BUF_BYTES 65536

/* Messages are large (64 update slots); keep them off the stack. */
static struct quorum_wire_msg msg_in;
static struct quorum_wire_msg msg_out;
static uint8_t buf[BUF_BYTES];
static uint8_t buf2[BUF_BYTES];

static const enum quorum_wire_type all_types[] = {
	QUORUM_WIRE_PING, QUORUM_WIRE_ACK, QUORUM_WIRE_PING_REQ,
	QUORUM_WIRE_NACK, QUORUM_WIRE_PUSHPULL, QUORUM_WIRE_GOSSIP,
	QUORUM_WIRE_RAFT
};
#define N_TYPES (sizeof(all_types) / sizeof(all_types[0]))

/* ---------------------------------------------------------------------
 * Building valid messages
 * ---------------------------------------------------------------------
 */

static void
fill_str(char *dst, size_t n, char c)
{
	memset(dst, c, n);
	dst[n] = '\0';
}

static void
make_addr(struct quorum_addr *addr, int family, unsigned seed)
{
	memset(addr, 0, sizeof(*addr));
	addr->family = (uint8_t) family;
	for (int i = 0; i < (family == 4 ? 4 : 16); i++)
		addr->bytes[i] = (uint8_t) (seed * 31 + i + 1);
	addr->port = (uint16_t) (7946 + seed);
}

static void
make_update(struct quorum_wire_update *up, unsigned i, bool meta)
{
	memset(up, 0, sizeof(*up));
	up->state = (enum quorum_member_state) (i % 4);
	snprintf(up->name, sizeof(up->name), "node-%u", i);
	make_addr(&up->addr, i % 2 ? 6 : 4, i);
	up->incarnation = UINT64_C(0x0102030405060708) + i;
	if (up->state == QUORUM_MEMBER_SUSPECT || up->state == QUORUM_MEMBER_DEAD)
		snprintf(up->from, sizeof(up->from), "accuser-%u", i);
	up->meta_version = UINT64_MAX - i;
	up->has_meta = meta;
	if (meta)
	{
		up->meta.role = (enum quorum_role) (i % 4);
		up->meta.timeline = 0x80000000u + i;
		up->meta.lsn = UINT64_C(0xfedcba9876543210) - i;
		up->meta.priority = i % 3 == 0 ? -100 - (int32_t) i : (int32_t) i;
		snprintf(up->meta.conninfo, sizeof(up->meta.conninfo),
				 "host=10.0.0.%u port=5432 user=replicator", i);
		snprintf(up->meta.tags, sizeof(up->meta.tags), "dc=eu-%u,rack=r%u", i, i);
	}
}

/*
 * An election message of the given kind, every field set to something that
 * is not its zero value (kind picks a variant: granted or not, and so on).
 */
static void
make_raft(struct quorum__raft_msg *r, enum quorum__raft_msg_type type,
		  unsigned kind)
{
	memset(r, 0, sizeof(*r));
	r->type = type;
	strcpy(r->from, "pg-a");
	snprintf(r->to, sizeof(r->to), "pg-%c", 'b' + kind % 3);
	r->term = UINT64_C(0x0a0b0c0d0e0f1011) + kind;
	r->config_id = UINT64_C(0xfeedfacecafebeef);
	switch (type)
	{
		case QUORUM__RAFT_MSG_PREVOTE:
		case QUORUM__RAFT_MSG_VOTE:
			r->u.vote.last_index = 77;
			r->u.vote.last_term = 5;
			r->u.vote.pos.timeline = 3;
			r->u.vote.pos.lsn = UINT64_C(0x1234567890);
			r->u.vote.pos.role = (uint8_t) (kind % 4);
			r->u.vote.pos.priority = kind % 2 ? -1 : 100;
			r->u.vote.transfer = kind % 2;
			break;
		case QUORUM__RAFT_MSG_PREVOTE_RESP:
		case QUORUM__RAFT_MSG_VOTE_RESP:
			r->u.vote_resp.refusal = (uint8_t) (kind % (QUORUM__RAFT_REFUSAL_MAX + 1));
			r->u.vote_resp.granted = r->u.vote_resp.refusal == QUORUM__RAFT_GRANTED;
			r->u.vote_resp.sticky_ms = 1100 + kind;
			break;
		case QUORUM__RAFT_MSG_APPEND:
			r->u.append.prev_index = 10;
			r->u.append.prev_term = 4;
			r->u.append.commit = 9;
			/* The highest round, its top bit being the ask. */
			r->u.append.round = (UINT64_MAX >> 1) - kind;
			r->u.append.promise_asked = kind % 2;
			r->u.append.n_entries = kind % (QUORUM__RAFT_APPEND_MAX + 1);
			for (uint32_t i = 0; i < r->u.append.n_entries; i++)
			{
				r->u.append.entries[i].term = 4 + i;
				r->u.append.entries[i].type = (uint8_t) (1 + (i + kind) % 6);
				snprintf(r->u.append.entries[i].name,
						 sizeof(r->u.append.entries[i].name), "%.*s",
						 (int) (i * 3), "pg-voter-number");
				/* With a member id and without (0, as to release 0.1). */
				if ((i + kind) % 3 == 1)
					r->u.append.entries[i].member_id = UINT64_C(0x8877665544332211) + i;
			}
			break;
		case QUORUM__RAFT_MSG_APPEND_RESP:
			r->u.append_resp.success = kind % 2;
			r->u.append_resp.match_index = 12;
			r->u.append_resp.round = 99;
			r->u.append_resp.promise_asked = kind % 4 < 2;
			r->u.append_resp.pos.timeline = 2;
			r->u.append_resp.pos.lsn = 0x3000000;
			r->u.append_resp.pos.role = QUORUM_ROLE_STANDBY;
			r->u.append_resp.pos.priority = INT32_MIN;
			r->u.append_resp.voter = kind % 3 == 0;
			/* Both forms: with a promise, and an older sender's without. */
			r->u.append_resp.promise_ms = kind % 2 ? 0 : 1200 + kind;
			/* ... and a member id, or none (0.1, or a leader that asked none) */
			r->u.append_resp.member_id = kind % 2 ? 0 : UINT64_MAX - kind;
			r->u.append_resp.persist_seq = kind % 2 ? 0 : 1000 + kind;
			break;
		case QUORUM__RAFT_MSG_SNAPSHOT:
			r->u.snapshot.snap.index = 40;
			r->u.snapshot.snap.term = 6;
			r->u.snapshot.snap.config_id = r->config_id;
			r->u.snapshot.snap.paused = kind % 2;
			r->u.snapshot.snap.n_voters = (uint8_t) (kind % (QUORUM_VOTERS_MAX + 1));
			for (unsigned i = 0; i < r->u.snapshot.snap.n_voters; i++)
			{
				snprintf(r->u.snapshot.snap.voters[i],
						 sizeof(r->u.snapshot.snap.voters[i]), "voter-%u", i);
				/* Some voters bound, some not; every id 0 in odd kinds. */
				if (kind % 2 == 0 && i % 3 != 2)
					r->u.snapshot.snap.voter_ids[i] = UINT64_C(0x0102030405060708) * (i + 1);
			}
			r->u.snapshot.round = 1234;
			r->u.snapshot.promise_asked = kind % 2;
			break;
		case QUORUM__RAFT_MSG_TIMEOUT_NOW:
		case QUORUM__RAFT_MSG_RESIGN:
			break;
		case QUORUM__RAFT_MSG_PROPOSE:
			r->u.propose.entry.type = (uint8_t) (2 + kind % 5);
			strcpy(r->u.propose.entry.name, kind % 2 ? "pg-c" : "");
			break;
		case QUORUM__RAFT_MSG_HELLO:
			r->u.hello.voter = kind % 2;
			break;
		case QUORUM__RAFT_MSG_MEMBER:
			r->u.member.member_id = kind % 2 ? 1 : UINT64_MAX - kind;
			r->u.member.persist_seq = kind;
			break;
	}
}

static void
make_msg(struct quorum_wire_msg *m, enum quorum_wire_type type,
		 unsigned n_updates, bool meta)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
	m->cluster_id = quorum__wire_cluster_id("prod-eu");
	strcpy(m->sender, "pg-a");
	make_addr(&m->sender_addr, 4, 99);
	m->boot = UINT64_C(0x1122334455667788);
	m->seq = 42;
	switch (type)
	{
		case QUORUM_WIRE_PING:
			m->u.ping.probe_seq = 0xdeadbeef;
			strcpy(m->u.ping.target, "pg-b");
			break;
		case QUORUM_WIRE_ACK:
		case QUORUM_WIRE_NACK:
			m->u.ack.probe_seq = 7;
			break;
		case QUORUM_WIRE_PING_REQ:
			m->u.ping_req.probe_seq = 8;
			strcpy(m->u.ping_req.target, "pg-c");
			make_addr(&m->u.ping_req.target_addr, 6, 3);
			break;
		case QUORUM_WIRE_PUSHPULL:
			m->u.pushpull.is_reply = true;
			m->u.pushpull.exchange = 0xabcdef01;
			m->u.pushpull.chunk = 2;
			m->u.pushpull.chunks = 3;
			break;
		case QUORUM_WIRE_GOSSIP:
			break;
	}
	if (type == QUORUM_WIRE_RAFT)
		make_raft(&m->u.raft, QUORUM__RAFT_MSG_APPEND, 3);
	m->n_updates = n_updates;
	for (unsigned i = 0; i < n_updates; i++)
		make_update(&m->updates[i], i, meta);
}

static size_t
expected_size(const struct quorum_wire_msg *m)
{
	size_t		size = quorum__wire_base_size(m);

	for (unsigned i = 0; i < m->n_updates; i++)
		size += quorum__wire_update_size(&m->updates[i]);
	return size;
}

static int
encode(const struct quorum_wire_msg *m)
{
	return quorum__wire_encode(m, buf, sizeof(buf));
}

static void
assert_addr_equal(const struct quorum_addr *a, const struct quorum_addr *b)
{
	assert_int_equal(a->family, b->family);
	assert_memory_equal(a->bytes, b->bytes, a->family == 4 ? 4 : 16);
	assert_int_equal(a->port, b->port);
}

static void
assert_update_equal(const struct quorum_wire_update *a,
					const struct quorum_wire_update *b)
{
	assert_int_equal(a->state, b->state);
	assert_string_equal(a->name, b->name);
	assert_addr_equal(&a->addr, &b->addr);
	assert_true(a->incarnation == b->incarnation);
	assert_string_equal(a->from, b->from);
	assert_true(a->meta_version == b->meta_version);
	assert_int_equal(a->has_meta, b->has_meta);
	if (!a->has_meta)
		return;
	assert_int_equal(a->meta.role, b->meta.role);
	assert_int_equal(a->meta.timeline, b->meta.timeline);
	assert_true(a->meta.lsn == b->meta.lsn);
	assert_int_equal(a->meta.priority, b->meta.priority);
	assert_string_equal(a->meta.conninfo, b->meta.conninfo);
	assert_string_equal(a->meta.tags, b->meta.tags);
}

static void
assert_pos_equal(const struct quorum__raft_pos *a, const struct quorum__raft_pos *b)
{
	assert_int_equal(a->timeline, b->timeline);
	assert_true(a->lsn == b->lsn);
	assert_int_equal(a->role, b->role);
	assert_int_equal(a->priority, b->priority);
}

static void
assert_entry_equal(const struct quorum_decision *a, const struct quorum_decision *b)
{
	assert_true(a->term == b->term);
	assert_int_equal(a->type, b->type);
	assert_string_equal(a->name, b->name);
	assert_true(a->member_id == b->member_id);
}

/* from is not sent: the receiver takes it from the header's sender. */
static void
assert_raft_equal(const struct quorum__raft_msg *a, const struct quorum__raft_msg *b)
{
	assert_int_equal(a->type, b->type);
	assert_string_equal(a->to, b->to);
	assert_true(a->term == b->term);
	assert_true(a->config_id == b->config_id);
	switch (a->type)
	{
		case QUORUM__RAFT_MSG_PREVOTE:
		case QUORUM__RAFT_MSG_VOTE:
			assert_true(a->u.vote.last_index == b->u.vote.last_index);
			assert_true(a->u.vote.last_term == b->u.vote.last_term);
			assert_pos_equal(&a->u.vote.pos, &b->u.vote.pos);
			assert_int_equal(a->u.vote.transfer, b->u.vote.transfer);
			break;
		case QUORUM__RAFT_MSG_PREVOTE_RESP:
		case QUORUM__RAFT_MSG_VOTE_RESP:
			assert_int_equal(a->u.vote_resp.granted, b->u.vote_resp.granted);
			assert_int_equal(a->u.vote_resp.refusal, b->u.vote_resp.refusal);
			assert_int_equal(a->u.vote_resp.sticky_ms, b->u.vote_resp.sticky_ms);
			break;
		case QUORUM__RAFT_MSG_APPEND:
			assert_true(a->u.append.prev_index == b->u.append.prev_index);
			assert_true(a->u.append.prev_term == b->u.append.prev_term);
			assert_true(a->u.append.commit == b->u.append.commit);
			assert_true(a->u.append.round == b->u.append.round);
			assert_int_equal(a->u.append.n_entries, b->u.append.n_entries);
			for (uint32_t i = 0; i < a->u.append.n_entries; i++)
				assert_entry_equal(&a->u.append.entries[i], &b->u.append.entries[i]);
			break;
		case QUORUM__RAFT_MSG_APPEND_RESP:
			assert_int_equal(a->u.append_resp.success, b->u.append_resp.success);
			assert_true(a->u.append_resp.match_index == b->u.append_resp.match_index);
			assert_true(a->u.append_resp.round == b->u.append_resp.round);
			assert_pos_equal(&a->u.append_resp.pos, &b->u.append_resp.pos);
			assert_int_equal(a->u.append_resp.voter, b->u.append_resp.voter);
			assert_int_equal(a->u.append_resp.promise_ms, b->u.append_resp.promise_ms);
			assert_true(a->u.append_resp.member_id == b->u.append_resp.member_id);
			assert_true(a->u.append_resp.persist_seq == b->u.append_resp.persist_seq);
			break;
		case QUORUM__RAFT_MSG_SNAPSHOT:
			assert_memory_equal(&a->u.snapshot.snap.index, &b->u.snapshot.snap.index, 24);
			assert_int_equal(a->u.snapshot.snap.paused, b->u.snapshot.snap.paused);
			assert_int_equal(a->u.snapshot.snap.n_voters, b->u.snapshot.snap.n_voters);
			for (unsigned i = 0; i < a->u.snapshot.snap.n_voters; i++)
			{
				assert_string_equal(a->u.snapshot.snap.voters[i],
									b->u.snapshot.snap.voters[i]);
				assert_true(a->u.snapshot.snap.voter_ids[i] ==
							b->u.snapshot.snap.voter_ids[i]);
			}
			assert_true(a->u.snapshot.round == b->u.snapshot.round);
			break;
		case QUORUM__RAFT_MSG_TIMEOUT_NOW:
		case QUORUM__RAFT_MSG_RESIGN:
			break;
		case QUORUM__RAFT_MSG_PROPOSE:
			assert_int_equal(a->u.propose.entry.type, b->u.propose.entry.type);
			assert_string_equal(a->u.propose.entry.name, b->u.propose.entry.name);
			break;
		case QUORUM__RAFT_MSG_HELLO:
			assert_int_equal(a->u.hello.voter, b->u.hello.voter);
			break;
		case QUORUM__RAFT_MSG_MEMBER:
			assert_true(a->u.member.member_id == b->u.member.member_id);
			assert_true(a->u.member.persist_seq == b->u.member.persist_seq);
			break;
	}
}

static void
assert_msg_equal(const struct quorum_wire_msg *a, const struct quorum_wire_msg *b)
{
	assert_int_equal(a->type, b->type);
	assert_true(a->cluster_id == b->cluster_id);
	assert_string_equal(a->sender, b->sender);
	assert_addr_equal(&a->sender_addr, &b->sender_addr);
	assert_true(a->boot == b->boot);
	assert_true(a->seq == b->seq);
	switch (a->type)
	{
		case QUORUM_WIRE_PING:
			assert_int_equal(a->u.ping.probe_seq, b->u.ping.probe_seq);
			assert_string_equal(a->u.ping.target, b->u.ping.target);
			break;
		case QUORUM_WIRE_ACK:
		case QUORUM_WIRE_NACK:
			assert_int_equal(a->u.ack.probe_seq, b->u.ack.probe_seq);
			break;
		case QUORUM_WIRE_PING_REQ:
			assert_int_equal(a->u.ping_req.probe_seq, b->u.ping_req.probe_seq);
			assert_string_equal(a->u.ping_req.target, b->u.ping_req.target);
			assert_addr_equal(&a->u.ping_req.target_addr,
							  &b->u.ping_req.target_addr);
			break;
		case QUORUM_WIRE_PUSHPULL:
			assert_int_equal(a->u.pushpull.is_reply, b->u.pushpull.is_reply);
			assert_int_equal(a->u.pushpull.exchange, b->u.pushpull.exchange);
			assert_int_equal(a->u.pushpull.chunk, b->u.pushpull.chunk);
			assert_int_equal(a->u.pushpull.chunks, b->u.pushpull.chunks);
			break;
		case QUORUM_WIRE_GOSSIP:
			break;
	}
	if (a->type == QUORUM_WIRE_RAFT)
	{
		assert_raft_equal(&a->u.raft, &b->u.raft);
		assert_string_equal(b->u.raft.from, b->sender);
	}
	assert_int_equal(a->n_updates, b->n_updates);
	for (unsigned i = 0; i < a->n_updates; i++)
		assert_update_equal(&a->updates[i], &b->updates[i]);
}

/* Encode m, check the size functions, decode, compare, re-encode. */
static void
check_round_trip(const struct quorum_wire_msg *m)
{
	int			n = encode(m);
	int			n2;
	int			version = 0;

	assert_true(n > 0);
	assert_int_equal((size_t) n, expected_size(m));
	assert_int_equal(quorum__wire_decode(buf, (size_t) n, &msg_out, &version), 0);
	assert_int_equal(version, QUORUM_WIRE_VERSION);
	assert_msg_equal(m, &msg_out);

	n2 = quorum__wire_encode(&msg_out, buf2, sizeof(buf2));
	assert_int_equal(n2, n);
	assert_memory_equal(buf, buf2, (size_t) n);
}

/* ---------------------------------------------------------------------
 * A raw byte builder that follows wire.h's layout, for malformed input
 * ---------------------------------------------------------------------
 */

typedef struct bb
{
	uint8_t		b[8192];
	size_t		len;
} bb;

static bb	raw;

static void
bb_uint(bb *w, uint64_t v, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++)
		w->b[w->len++] = (uint8_t) (v >> (8 * (bytes - 1 - i)));
}

static void
bb_bytes(bb *w, const void *p, size_t n)
{
	memcpy(w->b + w->len, p, n);
	w->len += n;
}

static void
bb_str(bb *w, const char *s, size_t n, unsigned len_bytes)
{
	bb_uint(w, n, len_bytes);
	bb_bytes(w, s, n);
}

static void
bb_cstr(bb *w, const char *s)
{
	bb_str(w, s, strlen(s), 1);
}

/* family 4 or 6 writes a well-formed address; anything else just the byte. */
static void
bb_addr(bb *w, unsigned family)
{
	static const uint8_t zero[16] = {0};

	bb_uint(w, family, 1);
	bb_bytes(w, zero, family == 4 ? 4 : 16);
	bb_uint(w, 7946, 2);
}

/* Header with the given type, sender name and sender family. */
static void
bb_header(bb *w, unsigned type, const char *sender, size_t sender_len,
		  unsigned family)
{
	w->len = 0;
	bb_uint(w, 'P', 1);
	bb_uint(w, 'Q', 1);
	bb_uint(w, QUORUM_WIRE_VERSION, 1);
	bb_uint(w, type, 1);
	bb_uint(w, 0x0102030405060708, 8);
	bb_str(w, sender, sender_len, 1);
	bb_addr(w, family);
	bb_uint(w, 1, 8);			/* boot */
	bb_uint(w, 2, 8);			/* seq */
}

typedef struct raw_update
{
	unsigned	state;
	const char *name;
	size_t		name_len;
	unsigned	family;
	const char *from;
	size_t		from_len;
	unsigned	has_meta;
	unsigned	role;
	const char *conninfo;
	size_t		conninfo_len;
	const char *tags;
	size_t		tags_len;
} raw_update;

static const raw_update good_update = {
	.state = 1, .name = "n1", .name_len = 2, .family = 4,
	.from = "n2", .from_len = 2, .has_meta = 1, .role = 2,
	.conninfo = "host=a", .conninfo_len = 6, .tags = "x", .tags_len = 1
};

static void
bb_update(bb *w, const raw_update *u)
{
	bb_uint(w, u->state, 1);
	bb_str(w, u->name, u->name_len, 1);
	bb_addr(w, u->family);
	bb_uint(w, 5, 8);			/* incarnation */
	bb_str(w, u->from, u->from_len, 1);
	bb_uint(w, 6, 8);			/* meta_version */
	bb_uint(w, u->has_meta, 1);
	if (u->has_meta != 1)
		return;
	bb_uint(w, u->role, 1);
	bb_uint(w, 1, 4);			/* timeline */
	bb_uint(w, 0x1000000, 8);	/* lsn */
	bb_uint(w, 100, 4);			/* priority */
	bb_str(w, u->conninfo, u->conninfo_len, 2);
	bb_str(w, u->tags, u->tags_len, 1);
}

/* A GOSSIP message carrying exactly one update u. */
static void
bb_gossip_with(const raw_update *u)
{
	bb_header(&raw, QUORUM_WIRE_GOSSIP, "s", 1, 4);
	bb_uint(&raw, 1, 1);
	bb_update(&raw, u);
}

static int
decode_raw(void)
{
	return quorum__wire_decode(raw.b, raw.len, &msg_out, NULL);
}

static char long_str[512];

/* ---------------------------------------------------------------------
 * Round trips and sizes
 * ---------------------------------------------------------------------
 */

static void
test_round_trip_every_type(void **state)
{
	for (size_t t = 0; t < N_TYPES; t++)
	{
		make_msg(&msg_in, all_types[t], 0, false);
		check_round_trip(&msg_in);
		make_msg(&msg_in, all_types[t], 5, false);
		check_round_trip(&msg_in);
		make_msg(&msg_in, all_types[t], 5, true);
		check_round_trip(&msg_in);
	}
}

/* Mixed metadata presence, the extreme integer values, maximal strings. */
static void
test_round_trip_extremes(void **state)
{
	make_msg(&msg_in, QUORUM_WIRE_PUSHPULL, QUORUM_WIRE_PUSHPULL_MAX, true);
	msg_in.u.pushpull.is_reply = false;
	msg_in.u.pushpull.chunk = UINT16_MAX - 1;
	msg_in.u.pushpull.chunks = UINT16_MAX;
	msg_in.cluster_id = UINT64_MAX;
	msg_in.boot = 0;
	msg_in.seq = UINT64_MAX;
	fill_str(msg_in.sender, QUORUM_NAME_MAX, 's');
	for (unsigned i = 0; i < msg_in.n_updates; i++)
	{
		struct quorum_wire_update *up = &msg_in.updates[i];

		up->has_meta = i % 2 == 0;
		fill_str(up->name, QUORUM_NAME_MAX, (char) ('a' + i % 26));
		fill_str(up->from, i % 3 ? QUORUM_NAME_MAX : 0, 'f');
		fill_str(up->meta.conninfo, QUORUM_CONNINFO_MAX, 'c');
		fill_str(up->meta.tags, QUORUM_TAGS_MAX, 't');
		up->meta.priority = INT32_MIN + (int32_t) i;
		up->meta.timeline = UINT32_MAX;
		up->incarnation = UINT64_MAX;
	}
	check_round_trip(&msg_in);

	/* A non-pushpull message with the most piggybacked updates. */
	make_msg(&msg_in, QUORUM_WIRE_ACK, QUORUM_WIRE_UPDATES_MAX, true);
	msg_in.u.ack.probe_seq = UINT32_MAX;
	check_round_trip(&msg_in);

	/* Empty optional strings. */
	make_msg(&msg_in, QUORUM_WIRE_GOSSIP, 1, true);
	msg_in.updates[0].from[0] = '\0';
	msg_in.updates[0].meta.conninfo[0] = '\0';
	msg_in.updates[0].meta.tags[0] = '\0';
	check_round_trip(&msg_in);
}

/* Bytes after an IPv4 address's 4 are not sent, and decode leaves zeros. */
static void
test_ipv4_tail_not_sent(void **state)
{
	int			n;

	make_msg(&msg_in, QUORUM_WIRE_GOSSIP, 0, false);
	memset(msg_in.sender_addr.bytes + 4, 0xee, 12);
	n = encode(&msg_in);
	assert_true(n > 0);
	assert_int_equal(quorum__wire_decode(buf, (size_t) n, &msg_out, NULL), 0);
	for (int i = 4; i < 16; i++)
		assert_int_equal(msg_out.sender_addr.bytes[i], 0);
}

/*
 * The exact bytes of a small message, worked out by hand from wire.h:
 * this is what pins the layout (order, widths, big-endian).
 */
static void
test_golden_bytes(void **state)
{
	static const uint8_t expected[] = {
		'P', 'Q', 1, 1,			/* magic, version, PING */
		0, 0, 0, 0, 0, 0, 0, 0x2a,	/* cluster_id */
		1, 'a',					/* sender */
		4, 10, 0, 0, 1, 0x1f, 0x0a,	/* 10.0.0.1:7946 */
		0, 0, 0, 0, 0, 0, 0, 3,	/* boot */
		0, 0, 0, 0, 0, 0, 1, 0,	/* seq */
		0, 0, 0, 9,				/* probe_seq */
		1, 'b',					/* target */
		1,						/* one update */
		2,						/* DEAD */
		1, 'c',
		6, 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0x50,
		0, 0, 0, 0, 0, 0, 0, 7,	/* incarnation */
		1, 'a',					/* from */
		0, 0, 0, 0, 0, 0, 0, 2,	/* meta_version */
		1,						/* has_meta */
		1,						/* PRIMARY */
		0, 0, 0, 3,				/* timeline */
		0, 0, 0, 0, 1, 0, 0, 0,	/* lsn */
		0xff, 0xff, 0xff, 0xfe,	/* priority -2 */
		0, 2, 'h', '=',			/* conninfo (str16) */
		0,						/* tags */
	};

	memset(&msg_in, 0, sizeof(msg_in));
	msg_in.type = QUORUM_WIRE_PING;
	msg_in.cluster_id = 0x2a;
	strcpy(msg_in.sender, "a");
	msg_in.sender_addr.family = 4;
	msg_in.sender_addr.bytes[0] = 10;
	msg_in.sender_addr.bytes[3] = 1;
	msg_in.sender_addr.port = 7946;
	msg_in.boot = 3;
	msg_in.seq = 256;
	msg_in.u.ping.probe_seq = 9;
	strcpy(msg_in.u.ping.target, "b");
	msg_in.n_updates = 1;
	msg_in.updates[0].state = QUORUM_MEMBER_DEAD;
	strcpy(msg_in.updates[0].name, "c");
	msg_in.updates[0].addr.family = 6;
	msg_in.updates[0].addr.bytes[0] = 0xfe;
	msg_in.updates[0].addr.bytes[1] = 0x80;
	msg_in.updates[0].addr.bytes[15] = 1;
	msg_in.updates[0].addr.port = 80;
	msg_in.updates[0].incarnation = 7;
	strcpy(msg_in.updates[0].from, "a");
	msg_in.updates[0].meta_version = 2;
	msg_in.updates[0].has_meta = true;
	msg_in.updates[0].meta.role = QUORUM_ROLE_PRIMARY;
	msg_in.updates[0].meta.timeline = 3;
	msg_in.updates[0].meta.lsn = 0x1000000;
	msg_in.updates[0].meta.priority = -2;
	strcpy(msg_in.updates[0].meta.conninfo, "h=");

	assert_int_equal(encode(&msg_in), sizeof(expected));
	assert_memory_equal(buf, expected, sizeof(expected));
	assert_int_equal(quorum__wire_base_size(&msg_in), 2 + 1 + 1 + 8 + 2 + 7 + 8 + 8 + 4 + 2 + 1);
	assert_int_equal(quorum__wire_update_size(&msg_in.updates[0]),
					 1 + 2 + 19 + 8 + 2 + 8 + 1 + (1 + 4 + 8 + 4 + 4 + 1));
}

/* Each size function must track every variable-length field. */
static void
test_sizes_track_fields(void **state)
{
	struct quorum_wire_update up;
	size_t		base;

	make_update(&up, 0, false);
	base = quorum__wire_update_size(&up);
	fill_str(up.name, 10, 'n');
	fill_str(up.from, 0, 'f');
	base = quorum__wire_update_size(&up);
	fill_str(up.from, 5, 'f');
	assert_int_equal(quorum__wire_update_size(&up), base + 5);
	up.addr.family = 6;
	assert_int_equal(quorum__wire_update_size(&up), base + 5 + 12);
	up.has_meta = true;
	up.meta.conninfo[0] = '\0';
	up.meta.tags[0] = '\0';
	base = quorum__wire_update_size(&up);
	fill_str(up.meta.conninfo, 200, 'c');
	fill_str(up.meta.tags, 3, 't');
	assert_int_equal(quorum__wire_update_size(&up), base + 203);

	for (size_t t = 0; t < N_TYPES; t++)
	{
		make_msg(&msg_in, all_types[t], 0, false);
		base = quorum__wire_base_size(&msg_in);
		assert_int_equal(encode(&msg_in), base);
		fill_str(msg_in.sender, 20, 'x');
		msg_in.sender_addr.family = 6;
		assert_int_equal(quorum__wire_base_size(&msg_in), base + 16 + 12);
		assert_int_equal(encode(&msg_in), base + 16 + 12);
	}
}

static void
test_cluster_id_fnv1a(void **state)
{
	/* Published FNV-1a 64-bit test vectors. */
	assert_true(quorum__wire_cluster_id("") == UINT64_C(0xcbf29ce484222325));
	assert_true(quorum__wire_cluster_id("a") == UINT64_C(0xaf63dc4c8601ec8c));
	assert_true(quorum__wire_cluster_id("foobar") == UINT64_C(0x85944171f73967e8));
	assert_true(quorum__wire_cluster_id("prod") != quorum__wire_cluster_id("prod2"));
}

/* ---------------------------------------------------------------------
 * Damaged valid encodings
 * ---------------------------------------------------------------------
 */

static void
test_every_truncation_rejected(void **state)
{
	for (size_t t = 0; t < N_TYPES; t++)
	{
		for (int variant = 0; variant < 3; variant++)
		{
			int			n;

			make_msg(&msg_in, all_types[t], variant == 0 ? 0 : 3, variant == 2);
			n = encode(&msg_in);
			assert_true(n > 0);
			for (int len = 0; len < n; len++)
			{
				/* A copy of exactly len bytes, so ASan sees any overread. */
				uint8_t    *copy = malloc(len > 0 ? (size_t) len : 1);

				memcpy(copy, buf, (size_t) len);
				assert_int_equal(quorum__wire_decode(copy, (size_t) len,
													 &msg_out, NULL),
								 QUORUM_EMALFORMED);
				free(copy);
			}
		}
	}
}

static void
test_trailing_bytes_rejected(void **state)
{
	for (size_t t = 0; t < N_TYPES; t++)
	{
		int			n;

		make_msg(&msg_in, all_types[t], 2, true);
		n = encode(&msg_in);
		buf[n] = 0;
		assert_int_equal(quorum__wire_decode(buf, (size_t) n + 1, &msg_out, NULL),
						 QUORUM_EMALFORMED);
		assert_int_equal(quorum__wire_decode(buf, (size_t) n, &msg_out, NULL), 0);
	}
}

static void
test_magic_and_version(void **state)
{
	int			n;
	int			version;

	make_msg(&msg_in, QUORUM_WIRE_PING, 1, true);
	n = encode(&msg_in);

	buf[0] = 'X';
	version = 0;
	assert_int_equal(quorum__wire_decode(buf, (size_t) n, &msg_out, &version),
					 QUORUM_EMALFORMED);
	assert_int_equal(version, -1);
	buf[0] = 'P';
	buf[1] = 'q';
	assert_int_equal(quorum__wire_decode(buf, (size_t) n, &msg_out, &version),
					 QUORUM_EMALFORMED);
	assert_int_equal(version, -1);
	buf[1] = 'Q';

	/* A future version is reported so the node can count version drops. */
	buf[2] = QUORUM_WIRE_VERSION + 1;
	assert_int_equal(quorum__wire_decode(buf, (size_t) n, &msg_out, &version),
					 QUORUM_EMALFORMED);
	assert_int_equal(version, QUORUM_WIRE_VERSION + 1);
	buf[2] = 0;
	assert_int_equal(quorum__wire_decode(buf, (size_t) n, &msg_out, &version),
					 QUORUM_EMALFORMED);
	assert_int_equal(version, 0);

	/* Three bytes are enough to read the version, two are not. */
	buf[2] = 9;
	assert_int_equal(quorum__wire_decode(buf, 3, &msg_out, &version),
					 QUORUM_EMALFORMED);
	assert_int_equal(version, 9);
	assert_int_equal(quorum__wire_decode(buf, 2, &msg_out, &version),
					 QUORUM_EMALFORMED);
	assert_int_equal(version, -1);
	assert_int_equal(quorum__wire_decode(buf, 0, &msg_out, &version),
					 QUORUM_EMALFORMED);

	/* NULL version_out is allowed. */
	buf[2] = QUORUM_WIRE_VERSION;
	assert_int_equal(quorum__wire_decode(buf, (size_t) n, &msg_out, NULL), 0);
}

static void
test_unknown_type(void **state)
{
	static const unsigned bad[] = {0, 8, 9, 0x80, 0xff};
	int			n;

	make_msg(&msg_in, QUORUM_WIRE_GOSSIP, 0, false);
	n = encode(&msg_in);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		buf[3] = (uint8_t) bad[i];
		assert_int_equal(quorum__wire_decode(buf, (size_t) n, &msg_out, NULL),
						 QUORUM_EMALFORMED);
	}
}

/* ---------------------------------------------------------------------
 * Hand-built malformed fields
 * ---------------------------------------------------------------------
 */

/* The builder itself must produce valid messages, or its tests prove nothing. */
static void
test_builder_baseline(void **state)
{
	bb_header(&raw, QUORUM_WIRE_GOSSIP, "s", 1, 4);
	bb_uint(&raw, 0, 1);
	assert_int_equal(decode_raw(), 0);
	assert_string_equal(msg_out.sender, "s");

	bb_gossip_with(&good_update);
	assert_int_equal(decode_raw(), 0);
	assert_int_equal(msg_out.n_updates, 1);
	assert_int_equal(msg_out.updates[0].state, QUORUM_MEMBER_SUSPECT);
	assert_string_equal(msg_out.updates[0].meta.conninfo, "host=a");
	assert_int_equal(msg_out.updates[0].meta.role, QUORUM_ROLE_STANDBY);
}

static void
test_sender_name_limits(void **state)
{
	memset(long_str, 'x', sizeof(long_str));

	for (size_t n = 0; n <= QUORUM_NAME_MAX + 2; n++)
	{
		bb_header(&raw, QUORUM_WIRE_GOSSIP, long_str, n, 4);
		bb_uint(&raw, 0, 1);
		assert_int_equal(decode_raw(),
						 n >= 1 && n <= QUORUM_NAME_MAX ? 0 : QUORUM_EMALFORMED);
	}
	/* A length byte of 255 with only a few bytes behind it. */
	raw.len = 0;
	bb_header(&raw, QUORUM_WIRE_GOSSIP, "s", 1, 4);
	raw.b[12] = 255;
	assert_int_equal(decode_raw(), QUORUM_EMALFORMED);
}

static void
test_nul_inside_strings(void **state)
{
	raw_update	u;

	bb_header(&raw, QUORUM_WIRE_GOSSIP, "a\0b", 3, 4);
	bb_uint(&raw, 0, 1);
	assert_int_equal(decode_raw(), QUORUM_EMALFORMED);

	bb_header(&raw, QUORUM_WIRE_PING, "s", 1, 4);
	bb_uint(&raw, 1, 4);
	bb_str(&raw, "t\0", 2, 1);
	bb_uint(&raw, 0, 1);
	assert_int_equal(decode_raw(), QUORUM_EMALFORMED);

	u = good_update;
	u.name = "\0n";
	bb_gossip_with(&u);
	assert_int_equal(decode_raw(), QUORUM_EMALFORMED);

	u = good_update;
	u.from = "ab\0";
	u.from_len = 3;
	bb_gossip_with(&u);
	assert_int_equal(decode_raw(), QUORUM_EMALFORMED);

	u = good_update;
	u.conninfo = "host=\0x";
	u.conninfo_len = 7;
	bb_gossip_with(&u);
	assert_int_equal(decode_raw(), QUORUM_EMALFORMED);

	u = good_update;
	u.tags = "\0";
	u.tags_len = 1;
	bb_gossip_with(&u);
	assert_int_equal(decode_raw(), QUORUM_EMALFORMED);
}

/* Each update string at its maximum decodes; one more byte does not. */
static void
test_update_string_limits(void **state)
{
	raw_update	u;

	memset(long_str, 'x', sizeof(long_str));

	u = good_update;
	u.name = long_str;
	u.name_len = QUORUM_NAME_MAX;
	bb_gossip_with(&u);
	assert_int_equal(decode_raw(), 0);
	u.name_len++;
	bb_gossip_with(&u);
	assert_int_equal(decode_raw(), QUORUM_EMALFORMED);
	u.name_len = 0;
	bb_gossip_with(&u);
	assert_int_equal(decode_raw(), QUORUM_EMALFORMED);

	u = good_update;
	u.from = long_str;
	u.from_len = QUORUM_NAME_MAX;
	bb_gossip_with(&u);
	assert_int_equal(decode_raw(), 0);
	u.from_len++;
	bb_gossip_with(&u);
	assert_int_equal(decode_raw(), QUORUM_EMALFORMED);

	u = good_update;
	u.conninfo = long_str;
	u.conninfo_len = QUORUM_CONNINFO_MAX;
	bb_gossip_with(&u);
	assert_int_equal(decode_raw(), 0);
	assert_int_equal(strlen(msg_out.updates[0].meta.conninfo), QUORUM_CONNINFO_MAX);
	u.conninfo_len++;
	bb_gossip_with(&u);
	assert_int_equal(decode_raw(), QUORUM_EMALFORMED);

	u = good_update;
	u.tags = long_str;
	u.tags_len = QUORUM_TAGS_MAX;
	bb_gossip_with(&u);
	assert_int_equal(decode_raw(), 0);
	u.tags_len++;
	bb_gossip_with(&u);
	assert_int_equal(decode_raw(), QUORUM_EMALFORMED);
}

static void
test_target_name_limits(void **state)
{
	memset(long_str, 'x', sizeof(long_str));

	for (size_t n = 0; n <= QUORUM_NAME_MAX + 1; n++)
	{
		int			expect = n >= 1 && n <= QUORUM_NAME_MAX ? 0 : QUORUM_EMALFORMED;

		bb_header(&raw, QUORUM_WIRE_PING, "s", 1, 4);
		bb_uint(&raw, 1, 4);
		bb_str(&raw, long_str, n, 1);
		bb_uint(&raw, 0, 1);
		assert_int_equal(decode_raw(), expect);

		bb_header(&raw, QUORUM_WIRE_PING_REQ, "s", 1, 4);
		bb_uint(&raw, 1, 4);
		bb_str(&raw, long_str, n, 1);
		bb_addr(&raw, 6);
		bb_uint(&raw, 0, 1);
		assert_int_equal(decode_raw(), expect);
	}
}

static void
test_bad_address_family(void **state)
{
	static const unsigned bad[] = {0, 1, 5, 7, 10, 0xff};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		raw_update	u = good_update;

		/* Padded so the bad family is not merely a truncation. */
		bb_header(&raw, QUORUM_WIRE_GOSSIP, "s", 1, bad[i]);
		bb_uint(&raw, 0, 1);
		assert_int_equal(decode_raw(), QUORUM_EMALFORMED);

		bb_header(&raw, QUORUM_WIRE_PING_REQ, "s", 1, 4);
		bb_uint(&raw, 1, 4);
		bb_cstr(&raw, "t");
		bb_addr(&raw, bad[i]);
		bb_uint(&raw, 0, 1);
		assert_int_equal(decode_raw(), QUORUM_EMALFORMED);

		u.family = bad[i];
		bb_gossip_with(&u);
		assert_int_equal(decode_raw(), QUORUM_EMALFORMED);
	}
}

static void
test_update_count_limits(void **state)
{
	raw_update	u = good_update;

	for (unsigned type = QUORUM_WIRE_PING; type <= QUORUM_WIRE_GOSSIP; type++)
	{
		unsigned	max = type == QUORUM_WIRE_PUSHPULL ?
			QUORUM_WIRE_PUSHPULL_MAX : QUORUM_WIRE_UPDATES_MAX;

		make_msg(&msg_in, (enum quorum_wire_type) type, 0, false);
		for (unsigned count = max; count <= max + 1; count++)
		{
			int			n;

			/* Re-encode the header and body, then hand-write the updates. */
			n = encode(&msg_in);
			raw.len = 0;
			bb_bytes(&raw, buf, (size_t) n - 1);
			bb_uint(&raw, count, 1);
			u.has_meta = 0;
			for (unsigned i = 0; i < count; i++)
				bb_update(&raw, &u);
			assert_int_equal(decode_raw(), count <= max ? 0 : QUORUM_EMALFORMED);
		}
	}

	/* A count of 255 with nothing behind it. */
	bb_header(&raw, QUORUM_WIRE_GOSSIP, "s", 1, 4);
	bb_uint(&raw, 255, 1);
	assert_int_equal(decode_raw(), QUORUM_EMALFORMED);
}

static void
test_unknown_enums_and_flags(void **state)
{
	raw_update	u;

	for (unsigned v = 0; v < 256; v++)
	{
		u = good_update;
		u.state = v;
		bb_gossip_with(&u);
		assert_int_equal(decode_raw(), v <= QUORUM_MEMBER_LEFT ? 0 : QUORUM_EMALFORMED);

		u = good_update;
		u.role = v;
		bb_gossip_with(&u);
		assert_int_equal(decode_raw(), v <= QUORUM_ROLE_WITNESS ? 0 : QUORUM_EMALFORMED);
	}

	/* has_meta is 0 or 1; 2 followed by a full meta is still rejected. */
	u = good_update;
	bb_gossip_with(&u);
	raw.b[raw.len - (1 + 4 + 8 + 4 + 2 + 6 + 1 + 1) - 1] = 2;
	assert_int_equal(decode_raw(), QUORUM_EMALFORMED);
	u.has_meta = 0;
	bb_gossip_with(&u);
	assert_int_equal(decode_raw(), 0);
	assert_false(msg_out.updates[0].has_meta);
}

static void
test_pushpull_fields(void **state)
{
	static const struct
	{
		unsigned	is_reply;
		unsigned	chunk;
		unsigned	chunks;
		int			expect;
	}			cases[] = {
		{0, 0, 1, 0},
		{1, 0, 1, 0},
		{1, 4, 5, 0},
		{2, 0, 1, QUORUM_EMALFORMED},
		{0xff, 0, 1, QUORUM_EMALFORMED},
		{0, 0, 0, QUORUM_EMALFORMED},
		{0, 1, 1, QUORUM_EMALFORMED},
		{0, 0xffff, 0xffff, QUORUM_EMALFORMED},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		bb_header(&raw, QUORUM_WIRE_PUSHPULL, "s", 1, 6);
		bb_uint(&raw, cases[i].is_reply, 1);
		bb_uint(&raw, 77, 4);
		bb_uint(&raw, cases[i].chunk, 2);
		bb_uint(&raw, cases[i].chunks, 2);
		bb_uint(&raw, 0, 1);
		assert_int_equal(decode_raw(), cases[i].expect);
		if (cases[i].expect == 0)
		{
			assert_int_equal(msg_out.u.pushpull.is_reply, cases[i].is_reply);
			assert_int_equal(msg_out.u.pushpull.exchange, 77);
			assert_int_equal(msg_out.u.pushpull.chunk, cases[i].chunk);
		}
	}
}

/* ---------------------------------------------------------------------
 * Encoding errors
 * ---------------------------------------------------------------------
 */

static void
assert_encode_einval(void)
{
	memset(buf, 0xa5, 64);
	assert_int_equal(encode(&msg_in), QUORUM_EINVAL);
	/* Nothing is written on failure. */
	for (int i = 0; i < 64; i++)
		assert_int_equal(buf[i], 0xa5);
}

static void
test_encode_rejects_what_decode_would(void **state)
{
	make_msg(&msg_in, QUORUM_WIRE_PING, 0, false);
	msg_in.type = (enum quorum_wire_type) 0;
	assert_encode_einval();
	msg_in.type = (enum quorum_wire_type) 8;
	assert_encode_einval();

	make_msg(&msg_in, QUORUM_WIRE_PING, 0, false);
	msg_in.sender[0] = '\0';
	assert_encode_einval();
	/* Not terminated within its array: one byte too long. */
	memset(msg_in.sender, 's', sizeof(msg_in.sender));
	assert_encode_einval();

	make_msg(&msg_in, QUORUM_WIRE_PING, 0, false);
	msg_in.u.ping.target[0] = '\0';
	assert_encode_einval();

	make_msg(&msg_in, QUORUM_WIRE_PING_REQ, 0, false);
	msg_in.u.ping_req.target_addr.family = 0;
	assert_encode_einval();
	make_msg(&msg_in, QUORUM_WIRE_PING_REQ, 0, false);
	memset(msg_in.u.ping_req.target, 't', sizeof(msg_in.u.ping_req.target));
	assert_encode_einval();

	make_msg(&msg_in, QUORUM_WIRE_ACK, 0, false);
	msg_in.sender_addr.family = 5;
	assert_encode_einval();

	make_msg(&msg_in, QUORUM_WIRE_PUSHPULL, 0, false);
	msg_in.u.pushpull.chunks = 0;
	msg_in.u.pushpull.chunk = 0;
	assert_encode_einval();
	msg_in.u.pushpull.chunks = 3;
	msg_in.u.pushpull.chunk = 3;
	assert_encode_einval();

	make_msg(&msg_in, QUORUM_WIRE_GOSSIP, QUORUM_WIRE_UPDATES_MAX, false);
	msg_in.n_updates = QUORUM_WIRE_UPDATES_MAX + 1;
	assert_encode_einval();
	make_msg(&msg_in, QUORUM_WIRE_PUSHPULL, QUORUM_WIRE_PUSHPULL_MAX, false);
	msg_in.n_updates = QUORUM_WIRE_PUSHPULL_MAX + 1;
	assert_encode_einval();
	msg_in.n_updates = UINT32_MAX;
	assert_encode_einval();
}

static void
test_encode_rejects_bad_updates(void **state)
{
	struct quorum_wire_update *up = &msg_in.updates[1];

	make_msg(&msg_in, QUORUM_WIRE_GOSSIP, 3, true);
	up->state = (enum quorum_member_state) 4;
	assert_encode_einval();

	make_msg(&msg_in, QUORUM_WIRE_GOSSIP, 3, true);
	up->meta.role = (enum quorum_role) 4;
	assert_encode_einval();
	/* Without metadata the role is not sent, so it does not matter. */
	up->has_meta = false;
	assert_true(encode(&msg_in) > 0);

	make_msg(&msg_in, QUORUM_WIRE_GOSSIP, 3, true);
	up->name[0] = '\0';
	assert_encode_einval();

	make_msg(&msg_in, QUORUM_WIRE_GOSSIP, 3, true);
	memset(up->name, 'n', sizeof(up->name));
	assert_encode_einval();

	make_msg(&msg_in, QUORUM_WIRE_GOSSIP, 3, true);
	memset(up->from, 'f', sizeof(up->from));
	assert_encode_einval();

	make_msg(&msg_in, QUORUM_WIRE_GOSSIP, 3, true);
	memset(up->meta.conninfo, 'c', sizeof(up->meta.conninfo));
	assert_encode_einval();

	make_msg(&msg_in, QUORUM_WIRE_GOSSIP, 3, true);
	memset(up->meta.tags, 't', sizeof(up->meta.tags));
	assert_encode_einval();

	make_msg(&msg_in, QUORUM_WIRE_GOSSIP, 3, true);
	up->addr.family = 0;
	assert_encode_einval();
}

static void
test_encode_nospace(void **state)
{
	for (size_t t = 0; t < N_TYPES; t++)
	{
		int			n;

		make_msg(&msg_in, all_types[t], 4, true);
		n = encode(&msg_in);
		assert_true(n > 0);
		for (int len = 0; len < n; len++)
		{
			memset(buf2, 0x5a, sizeof(buf2));
			assert_int_equal(quorum__wire_encode(&msg_in, buf2, (size_t) len),
							 QUORUM_ENOSPACE);
			/* Nothing written, not even within the given length. */
			for (int i = 0; i < n; i++)
				assert_int_equal(buf2[i], 0x5a);
		}
		assert_int_equal(quorum__wire_encode(&msg_in, buf2, (size_t) n), n);
		assert_memory_equal(buf, buf2, (size_t) n);
	}
}

static void
test_null_arguments(void **state)
{
	make_msg(&msg_in, QUORUM_WIRE_GOSSIP, 0, false);
	assert_int_equal(quorum__wire_encode(NULL, buf, sizeof(buf)), QUORUM_EINVAL);
	assert_int_equal(quorum__wire_encode(&msg_in, NULL, 100), QUORUM_EINVAL);
	assert_int_equal(quorum__wire_encode(&msg_in, NULL, 0), QUORUM_ENOSPACE);
	assert_int_equal(quorum__wire_decode(NULL, 10, &msg_out, NULL), QUORUM_EINVAL);
	assert_int_equal(quorum__wire_decode(buf, 10, NULL, NULL), QUORUM_EINVAL);
	assert_int_equal(quorum__wire_decode(NULL, 0, &msg_out, NULL), QUORUM_EMALFORMED);
}

/*
 * A deterministic pseudo-random walk over single-byte mutations of valid
 * messages: whatever decodes must re-encode to exactly the input bytes.
 * The fuzz target does this at scale; this keeps the property in check-unit.
 */
static void
test_mutations_decode_canonically(void **state)
{
	uint64_t	x = 0x9e3779b97f4a7c15;
	unsigned	decoded = 0;

	for (int round = 0; round < 20000; round++)
	{
		int			n;
		int			rc;

		make_msg(&msg_in, all_types[round % N_TYPES], (unsigned) (round % 4),
				 round % 8 < 4);
		n = encode(&msg_in);
		assert_true(n > 0);
		for (int k = 0; k < 1 + round % 3; k++)
		{
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			buf[x % (uint64_t) n] = (uint8_t) (x >> 32);
		}
		rc = quorum__wire_decode(buf, (size_t) n, &msg_out, NULL);
		assert_true(rc == 0 || rc == QUORUM_EMALFORMED);
		if (rc == 0)
		{
			decoded++;
			assert_int_equal(quorum__wire_encode(&msg_out, buf2, sizeof(buf2)), n);
			assert_memory_equal(buf, buf2, (size_t) n);
		}
	}
	/* The walk must have produced both outcomes to mean anything. */
	assert_true(decoded > 1000);
	assert_true(decoded < 20000);
}

/* ---------------------------------------------------------------------
 * Election messages
 * ---------------------------------------------------------------------
 */

static void
make_raft_msg(enum quorum__raft_msg_type type, unsigned kind)
{
	make_msg(&msg_in, QUORUM_WIRE_RAFT, 0, false);
	make_raft(&msg_in.u.raft, type, kind);
}

static void
test_raft_round_trip_every_kind(void **state)
{
	for (unsigned t = QUORUM__RAFT_MSG_PREVOTE; t <= QUORUM__RAFT_MSG_TYPE_MAX; t++)
		for (unsigned kind = 0; kind < 12; kind++)
		{
			make_raft_msg((enum quorum__raft_msg_type) t, kind);
			check_round_trip(&msg_in);
			/* Gossip may ride along, as on any other message. */
			msg_in.n_updates = 2;
			make_update(&msg_in.updates[0], 0, true);
			make_update(&msg_in.updates[1], 1, false);
			check_round_trip(&msg_in);
		}
}

/*
 * Member ids ride behind a flag that release 0.1 refuses (the top bit of a
 * decision's type and of a snapshot's voter count): without ids the bytes
 * are 0.1's, and a flag with no id behind it is not canonical.
 */
static void
test_raft_member_id_layout(void **state)
{
	size_t		at;
	int			n;
	int			n_ids;

	make_raft_msg(QUORUM__RAFT_MSG_APPEND, 1);
	msg_in.u.raft.u.append.entries[0].member_id = 0;
	n = encode(&msg_in);
	assert_true(n > 0);
	/* The entry's type byte: after the fixed fields and the count. */
	at = (size_t) n - 1 - 1 - strlen(msg_in.u.raft.u.append.entries[0].name) - 1;
	assert_int_equal(buf[at], msg_in.u.raft.u.append.entries[0].type);
	msg_in.u.raft.u.append.entries[0].member_id = 0x1122;
	n_ids = encode(&msg_in);
	assert_int_equal(n_ids, n + 8);
	assert_int_equal(buf[at], 0x80 | msg_in.u.raft.u.append.entries[0].type);
	/* The id zeroed: the flag promises one that is not there. */
	memset(buf + n_ids - 1 - 8, 0, 8);
	assert_int_equal(quorum__wire_decode(buf, (size_t) n_ids, &msg_out, NULL),
					 QUORUM_EMALFORMED);

	make_raft_msg(QUORUM__RAFT_MSG_SNAPSHOT, 2);
	n_ids = encode(&msg_in);
	memset(msg_in.u.raft.u.snapshot.snap.voter_ids, 0,
		   sizeof(msg_in.u.raft.u.snapshot.snap.voter_ids));
	n = encode(&msg_in);
	assert_int_equal(n_ids, n + 8 * 2);
	/* Every id 0 with the flag set is not canonical either. */
	n = encode(&msg_in);
	for (size_t i = 0; i + 1 < (size_t) n; i++)
		if (buf[i] == 2 && buf[i + 1] == strlen("voter-0") &&
			memcmp(buf + i + 2, "voter-0", 7) == 0)
		{
			uint8_t		with_flag[2048];

			memcpy(with_flag, buf, i);
			with_flag[i] = 0x80 | 2;
			memcpy(with_flag + i + 1, buf + i + 1, 1 + 7);
			memset(with_flag + i + 9, 0, 8);
			memcpy(with_flag + i + 17, buf + i + 9, 1 + 7);
			memset(with_flag + i + 25, 0, 8);
			memcpy(with_flag + i + 33, buf + i + 17, (size_t) n - i - 17);
			assert_int_equal(quorum__wire_decode(with_flag, (size_t) n + 16,
												 &msg_out, NULL), QUORUM_EMALFORMED);
			with_flag[i + 16] = 1;
			assert_int_equal(quorum__wire_decode(with_flag, (size_t) n + 16,
												 &msg_out, NULL), 0);
			assert_true(msg_out.u.raft.u.snapshot.snap.voter_ids[0] == 1);
			return;
		}
	fail_msg("the snapshot's voters were not found in its bytes");
}

/* The largest election message fits the default 1400-byte datagram. */
static void
test_raft_worst_case_size(void **state)
{
	make_raft_msg(QUORUM__RAFT_MSG_APPEND, 0);
	msg_in.u.raft.u.append.n_entries = QUORUM__RAFT_APPEND_MAX;
	for (unsigned i = 0; i < QUORUM__RAFT_APPEND_MAX; i++)
	{
		msg_in.u.raft.u.append.entries[i].type = QUORUM_DECISION_ADD_VOTER;
		msg_in.u.raft.u.append.entries[i].member_id = UINT64_MAX;
		fill_str(msg_in.u.raft.u.append.entries[i].name, QUORUM_NAME_MAX, 'e');
	}
	fill_str(msg_in.sender, QUORUM_NAME_MAX, 's');
	fill_str(msg_in.u.raft.to, QUORUM_NAME_MAX, 't');
	make_addr(&msg_in.sender_addr, 6, 1);
	check_round_trip(&msg_in);
	assert_true(expected_size(&msg_in) < 1400 - 64);

	make_raft_msg(QUORUM__RAFT_MSG_SNAPSHOT, 0);
	msg_in.u.raft.u.snapshot.snap.n_voters = QUORUM_VOTERS_MAX;
	for (unsigned i = 0; i < QUORUM_VOTERS_MAX; i++)
	{
		fill_str(msg_in.u.raft.u.snapshot.snap.voters[i], QUORUM_NAME_MAX, 'v');
		msg_in.u.raft.u.snapshot.snap.voter_ids[i] = UINT64_MAX;
	}
	fill_str(msg_in.sender, QUORUM_NAME_MAX, 's');
	fill_str(msg_in.u.raft.to, QUORUM_NAME_MAX, 't');
	make_addr(&msg_in.sender_addr, 6, 1);
	check_round_trip(&msg_in);
	assert_true(expected_size(&msg_in) < 1400 - 64);
}

static void
test_raft_golden_bytes(void **state)
{
	static const uint8_t expected[] = {
		'P', 'Q', 1, 7,			/* magic, version, RAFT */
		0, 0, 0, 0, 0, 0, 0, 0x2a,	/* cluster_id */
		1, 'a',					/* sender */
		4, 10, 0, 0, 1, 0x1f, 0x0a,	/* 10.0.0.1:7946 */
		0, 0, 0, 0, 0, 0, 0, 3,	/* boot */
		0, 0, 0, 0, 0, 0, 0, 4,	/* seq */
		3,						/* VOTE */
		1, 'b',					/* to */
		0, 0, 0, 0, 0, 0, 0, 9,	/* term */
		0, 0, 0, 0, 0, 0, 0x10, 0x01,	/* config_id */
		0, 0, 0, 0, 0, 0, 0, 5,	/* last_index */
		0, 0, 0, 0, 0, 0, 0, 8,	/* last_term */
		0, 0, 0, 2,				/* timeline */
		0, 0, 0, 0, 0, 0, 0x40, 0,	/* lsn */
		2,						/* STANDBY */
		0, 0, 0, 100,			/* priority */
		1,						/* transfer */
		0,						/* no updates */
	};
	struct quorum__raft_msg *r = &msg_in.u.raft;

	memset(&msg_in, 0, sizeof(msg_in));
	msg_in.type = QUORUM_WIRE_RAFT;
	msg_in.cluster_id = 0x2a;
	strcpy(msg_in.sender, "a");
	msg_in.sender_addr.family = 4;
	msg_in.sender_addr.bytes[0] = 10;
	msg_in.sender_addr.bytes[3] = 1;
	msg_in.sender_addr.port = 7946;
	msg_in.boot = 3;
	msg_in.seq = 4;
	r->type = QUORUM__RAFT_MSG_VOTE;
	strcpy(r->to, "b");
	r->term = 9;
	r->config_id = 0x1001;
	r->u.vote.last_index = 5;
	r->u.vote.last_term = 8;
	r->u.vote.pos.timeline = 2;
	r->u.vote.pos.lsn = 0x4000;
	r->u.vote.pos.role = QUORUM_ROLE_STANDBY;
	r->u.vote.pos.priority = 100;
	r->u.vote.transfer = true;
	assert_int_equal(encode(&msg_in), sizeof(expected));
	assert_memory_equal(buf, expected, sizeof(expected));
	assert_int_equal(quorum__wire_decode(expected, sizeof(expected), &msg_out, NULL), 0);
	assert_string_equal(msg_out.u.raft.from, "a");
}

/* Header of a RAFT message, its raft type, to "b", term and config. */
static void
bb_raft(unsigned raft_type)
{
	bb_header(&raw, 7, "s", 1, 4);
	bb_uint(&raw, raft_type, 1);
	bb_cstr(&raw, "b");
	bb_uint(&raw, 3, 8);
	bb_uint(&raw, 0x77, 8);
}

static void
bb_pos(unsigned role)
{
	bb_uint(&raw, 1, 4);
	bb_uint(&raw, 0x100, 8);
	bb_uint(&raw, role, 1);
	bb_uint(&raw, 1, 4);
}

/*
 * raw: an APPEND, SNAPSHOT or (0.1's layout, the voter flag last)
 * APPEND_RESP with this round as sent, the ask bit included.
 */
static void
bb_with_round(unsigned raft_type, uint64_t round)
{
	bb_raft(raft_type);
	switch (raft_type)
	{
		case QUORUM__RAFT_MSG_APPEND:
			/* prev_index, prev_term, commit; no entries after the round */
			for (unsigned i = 0; i < 3; i++)
				bb_uint(&raw, 1, 8);
			bb_uint(&raw, round, 8);
			bb_uint(&raw, 0, 1);
			break;
		case QUORUM__RAFT_MSG_SNAPSHOT:
			/* index, term, config; not paused, one voter "b" */
			bb_uint(&raw, 4, 8);
			bb_uint(&raw, 2, 8);
			bb_uint(&raw, 0x77, 8);
			bb_uint(&raw, 0x0001, 2);
			bb_cstr(&raw, "b");
			bb_uint(&raw, round, 8);
			break;
		default:
			/* success, match_index, the echoed round, pos, voter */
			bb_uint(&raw, 1, 1);
			bb_uint(&raw, 4, 8);
			bb_uint(&raw, round, 8);
			bb_pos(QUORUM_ROLE_STANDBY);
			bb_uint(&raw, 1, 1);
			break;
	}
	bb_uint(&raw, 0, 1);		/* no updates */
}

/*
 * Release 0.1 on the wire (a rolling upgrade): a leader's ask for promises
 * is the top bit of its round, which 0.1 echoes unread in its answer; 0.1's
 * answer decodes with no promise and the bit stripped, and an answer with
 * no promise is exactly that layout, the only one 0.1's leader decodes
 * (every raw message here must encode back to the same bytes).
 */
static void
test_raft_promise_ask(void **state)
{
	static const unsigned types[] = {QUORUM__RAFT_MSG_APPEND,
		QUORUM__RAFT_MSG_SNAPSHOT, QUORUM__RAFT_MSG_APPEND_RESP};
	const struct quorum__raft_msg *m = &msg_out.u.raft;

	for (unsigned asked = 0; asked < 2; asked++)
		for (unsigned t = 0; t < 3; t++)
		{
			bb_with_round(types[t], 5 | ((uint64_t) asked << 63));
			assert_int_equal(decode_raw(), 0);
			assert_int_equal(quorum__wire_encode(&msg_out, buf2, sizeof(buf2)),
							 (int) raw.len);
			assert_memory_equal(raw.b, buf2, raw.len);
			switch (types[t])
			{
				case QUORUM__RAFT_MSG_APPEND:
					assert_int_equal(m->u.append.round, 5);
					assert_int_equal(m->u.append.promise_asked, asked);
					break;
				case QUORUM__RAFT_MSG_SNAPSHOT:
					assert_int_equal(m->u.snapshot.round, 5);
					assert_int_equal(m->u.snapshot.promise_asked, asked);
					break;
				default:
					assert_int_equal(m->u.append_resp.round, 5);
					assert_int_equal(m->u.append_resp.promise_asked, asked);
					assert_int_equal(m->u.append_resp.promise_ms, 0);
					assert_true(m->u.append_resp.voter);
					break;
			}
		}
}

static void
bb_entry(unsigned type, const char *name, size_t len)
{
	bb_uint(&raw, 2, 8);
	bb_uint(&raw, type, 1);
	bb_str(&raw, name, len, 1);
}

static void
test_raft_builder_baseline(void **state)
{
	bb_raft(QUORUM__RAFT_MSG_TIMEOUT_NOW);
	bb_uint(&raw, 0, 1);
	assert_int_equal(decode_raw(), 0);
	assert_int_equal(msg_out.type, QUORUM_WIRE_RAFT);
	assert_int_equal(msg_out.u.raft.type, QUORUM__RAFT_MSG_TIMEOUT_NOW);
	assert_string_equal(msg_out.u.raft.to, "b");
	assert_string_equal(msg_out.u.raft.from, "s");
	assert_true(msg_out.u.raft.config_id == 0x77);
}

/* Unknown raft types, an empty or long "to", and truncated bodies. */
static void
test_raft_header_fields(void **state)
{
	memset(long_str, 'x', sizeof(long_str));
	for (unsigned t = 0; t < 256; t++)
	{
		bb_raft(t);
		bb_uint(&raw, 0, 1);
		/* Only TIMEOUT_NOW and RESIGN have an empty body; the rest are truncated. */
		assert_int_equal(decode_raw(), t == QUORUM__RAFT_MSG_TIMEOUT_NOW ||
						 t == QUORUM__RAFT_MSG_RESIGN ? 0 :
						 QUORUM_EMALFORMED);
	}
	for (size_t n = 0; n <= QUORUM_NAME_MAX + 1; n++)
	{
		bb_header(&raw, 7, "s", 1, 4);
		bb_uint(&raw, QUORUM__RAFT_MSG_TIMEOUT_NOW, 1);
		bb_str(&raw, long_str, n, 1);
		bb_uint(&raw, 3, 8);
		bb_uint(&raw, 0, 8);
		bb_uint(&raw, 0, 1);
		assert_int_equal(decode_raw(), n >= 1 && n <= QUORUM_NAME_MAX ? 0 :
						 QUORUM_EMALFORMED);
	}
}

/* A vote answer is granted exactly when its refusal is 0; flags are 0/1. */
static void
test_raft_vote_fields(void **state)
{
	for (unsigned granted = 0; granted < 3; granted++)
		for (unsigned refusal = 0; refusal < 10; refusal++)
		{
			bool		ok = granted <= 1 && refusal <= QUORUM__RAFT_REFUSAL_MAX &&
				(granted == 1) == (refusal == 0);

			bb_raft(QUORUM__RAFT_MSG_VOTE_RESP);
			bb_uint(&raw, granted, 1);
			bb_uint(&raw, refusal, 1);
			bb_uint(&raw, 5, 4);
			bb_uint(&raw, 0, 1);
			assert_int_equal(decode_raw(), ok ? 0 : QUORUM_EMALFORMED);
		}
	for (unsigned role = 0; role < 6; role++)
		for (unsigned transfer = 0; transfer < 3; transfer++)
		{
			bb_raft(QUORUM__RAFT_MSG_PREVOTE);
			bb_uint(&raw, 4, 8);
			bb_uint(&raw, 2, 8);
			bb_pos(role);
			bb_uint(&raw, transfer, 1);
			bb_uint(&raw, 0, 1);
			assert_int_equal(decode_raw(), role <= QUORUM_ROLE_WITNESS &&
							 transfer <= 1 ? 0 : QUORUM_EMALFORMED);
		}
	for (unsigned success = 0; success < 3; success++)
		for (unsigned voter = 0; voter < 3; voter++)
		{
			bb_raft(QUORUM__RAFT_MSG_APPEND_RESP);
			bb_uint(&raw, success, 1);
			bb_uint(&raw, 4, 8);
			bb_uint(&raw, 2, 8);
			bb_pos(QUORUM_ROLE_PRIMARY);
			bb_uint(&raw, voter, 1);
			bb_uint(&raw, 0, 1);
			assert_int_equal(decode_raw(), success <= 1 && voter <= 1 ? 0 :
							 QUORUM_EMALFORMED);
		}
	/* The flags byte: voter 0x01, promise 0x02 (4 bytes, not 0, follow). */
	for (unsigned flags = 0; flags < 256; flags++)
		for (uint32_t promise = 0; promise < 2; promise++)
		{
			int			rc;

			bb_raft(QUORUM__RAFT_MSG_APPEND_RESP);
			bb_uint(&raw, 1, 1);
			bb_uint(&raw, 4, 8);
			bb_uint(&raw, 2, 8);
			bb_pos(QUORUM_ROLE_STANDBY);
			bb_uint(&raw, flags, 1);
			if (flags & 0x02)
				bb_uint(&raw, promise * 3000, 4);
			bb_uint(&raw, 0, 1);
			rc = decode_raw();
			assert_int_equal(rc, flags <= 3 && (!(flags & 0x02) || promise) ? 0 :
							 QUORUM_EMALFORMED);
			if (rc != 0)
				continue;
			assert_int_equal(msg_out.u.raft.u.append_resp.voter, flags & 0x01);
			assert_int_equal(msg_out.u.raft.u.append_resp.promise_ms,
							 flags & 0x02 ? 3000 : 0);
		}
	for (unsigned voter = 0; voter < 256; voter++)
	{
		bb_raft(QUORUM__RAFT_MSG_HELLO);
		bb_uint(&raw, voter, 1);
		bb_uint(&raw, 0, 1);
		assert_int_equal(decode_raw(), voter <= 1 ? 0 : QUORUM_EMALFORMED);
	}
}

static void
bb_append_with(unsigned count, unsigned type, size_t name_len)
{
	bb_raft(QUORUM__RAFT_MSG_APPEND);
	bb_uint(&raw, 1, 8);
	bb_uint(&raw, 1, 8);
	bb_uint(&raw, 1, 8);
	bb_uint(&raw, 1, 8);
	bb_uint(&raw, count, 1);
	for (unsigned i = 0; i < count; i++)
		bb_entry(type, long_str, name_len);
	bb_uint(&raw, 0, 1);
}

/* Entry counts, entry types and name lengths at and past their limits. */
static void
test_raft_entry_limits(void **state)
{
	memset(long_str, 'x', sizeof(long_str));
	for (unsigned count = 0; count <= QUORUM__RAFT_APPEND_MAX + 1; count++)
	{
		bb_append_with(count, QUORUM_DECISION_PAUSE, 2);
		assert_int_equal(decode_raw(), count <= QUORUM__RAFT_APPEND_MAX ? 0 :
						 QUORUM_EMALFORMED);
	}
	for (unsigned type = 0; type < 256; type++)
	{
		bb_append_with(1, type, 0);
		assert_int_equal(decode_raw(), type >= QUORUM_DECISION_NOOP &&
						 type <= QUORUM_DECISION_SWITCHOVER ? 0 : QUORUM_EMALFORMED);
		/* A proposal is never a NOOP. */
		bb_raft(QUORUM__RAFT_MSG_PROPOSE);
		bb_entry(type, "n", 1);
		bb_uint(&raw, 0, 1);
		assert_int_equal(decode_raw(), type >= QUORUM_DECISION_ADD_VOTER &&
						 type <= QUORUM_DECISION_SWITCHOVER ? 0 : QUORUM_EMALFORMED);
	}
	bb_append_with(1, QUORUM_DECISION_ADD_VOTER, QUORUM_NAME_MAX);
	assert_int_equal(decode_raw(), 0);
	bb_append_with(1, QUORUM_DECISION_ADD_VOTER, QUORUM_NAME_MAX + 1);
	assert_int_equal(decode_raw(), QUORUM_EMALFORMED);
	bb_append_with(1, QUORUM_DECISION_ADD_VOTER, 2);
	raw.b[raw.len - 2] = '\0';
	assert_int_equal(decode_raw(), QUORUM_EMALFORMED);
}

static void
bb_snapshot_with(unsigned paused, unsigned count, size_t name_len)
{
	bb_raft(QUORUM__RAFT_MSG_SNAPSHOT);
	bb_uint(&raw, 9, 8);
	bb_uint(&raw, 2, 8);
	bb_uint(&raw, 0x77, 8);
	bb_uint(&raw, paused, 1);
	bb_uint(&raw, count, 1);
	for (unsigned i = 0; i < count; i++)
		bb_str(&raw, long_str, name_len, 1);
	bb_uint(&raw, 5, 8);
	bb_uint(&raw, 0, 1);
}

static void
test_raft_snapshot_limits(void **state)
{
	memset(long_str, 'v', sizeof(long_str));
	for (unsigned count = 0; count <= QUORUM_VOTERS_MAX + 1; count++)
	{
		bb_snapshot_with(1, count, 3);
		assert_int_equal(decode_raw(), count <= QUORUM_VOTERS_MAX ? 0 :
						 QUORUM_EMALFORMED);
	}
	bb_snapshot_with(2, 1, 3);
	assert_int_equal(decode_raw(), QUORUM_EMALFORMED);
	/* A voter has a name. */
	bb_snapshot_with(0, 1, 0);
	assert_int_equal(decode_raw(), QUORUM_EMALFORMED);
	bb_snapshot_with(0, 1, QUORUM_NAME_MAX);
	assert_int_equal(decode_raw(), 0);
	bb_snapshot_with(0, 1, QUORUM_NAME_MAX + 1);
	assert_int_equal(decode_raw(), QUORUM_EMALFORMED);
}

static void
test_raft_encode_rejects(void **state)
{
	make_raft_msg(QUORUM__RAFT_MSG_VOTE, 0);
	msg_in.u.raft.type = (enum quorum__raft_msg_type) 0;
	assert_encode_einval();
	msg_in.u.raft.type = (enum quorum__raft_msg_type) (QUORUM__RAFT_MSG_TYPE_MAX + 1);
	assert_encode_einval();

	make_raft_msg(QUORUM__RAFT_MSG_VOTE, 0);
	msg_in.u.raft.to[0] = '\0';
	assert_encode_einval();
	make_raft_msg(QUORUM__RAFT_MSG_VOTE, 0);
	msg_in.u.raft.u.vote.pos.role = 4;
	assert_encode_einval();

	make_raft_msg(QUORUM__RAFT_MSG_VOTE_RESP, 0);
	msg_in.u.raft.u.vote_resp.granted = false;
	assert_encode_einval();
	make_raft_msg(QUORUM__RAFT_MSG_VOTE_RESP, 2);
	msg_in.u.raft.u.vote_resp.granted = true;
	assert_encode_einval();
	msg_in.u.raft.u.vote_resp.granted = false;
	msg_in.u.raft.u.vote_resp.refusal = QUORUM__RAFT_REFUSAL_MAX + 1;
	assert_encode_einval();

	make_raft_msg(QUORUM__RAFT_MSG_APPEND, 4);
	msg_in.u.raft.u.append.n_entries = QUORUM__RAFT_APPEND_MAX + 1;
	assert_encode_einval();
	make_raft_msg(QUORUM__RAFT_MSG_APPEND, 4);
	msg_in.u.raft.u.append.entries[1].type = 0;
	assert_encode_einval();
	make_raft_msg(QUORUM__RAFT_MSG_APPEND, 4);
	memset(msg_in.u.raft.u.append.entries[1].name, 'n', QUORUM_NAME_MAX + 1);
	assert_encode_einval();

	make_raft_msg(QUORUM__RAFT_MSG_SNAPSHOT, 3);
	msg_in.u.raft.u.snapshot.snap.n_voters = QUORUM_VOTERS_MAX + 1;
	assert_encode_einval();
	make_raft_msg(QUORUM__RAFT_MSG_SNAPSHOT, 3);
	msg_in.u.raft.u.snapshot.snap.voters[2][0] = '\0';
	assert_encode_einval();

	make_raft_msg(QUORUM__RAFT_MSG_PROPOSE, 0);
	msg_in.u.raft.u.propose.entry.type = QUORUM_DECISION_NOOP;
	assert_encode_einval();

	/* A round's top bit is the ask, not part of the round. */
	make_raft_msg(QUORUM__RAFT_MSG_APPEND, 0);
	msg_in.u.raft.u.append.round = UINT64_C(1) << 63;
	assert_encode_einval();
	make_raft_msg(QUORUM__RAFT_MSG_APPEND_RESP, 0);
	msg_in.u.raft.u.append_resp.round = UINT64_MAX;
	assert_encode_einval();
	make_raft_msg(QUORUM__RAFT_MSG_SNAPSHOT, 0);
	msg_in.u.raft.u.snapshot.round = UINT64_C(1) << 63;
	assert_encode_einval();
}

/* The mutation walk again, over every kind of election message. */
static void
test_raft_mutations_decode_canonically(void **state)
{
	uint64_t	x = 0x2545f4914f6cdd1d;
	unsigned	decoded = 0;

	for (int round = 0; round < 20000; round++)
	{
		int			n;
		int			rc;

		make_raft_msg((enum quorum__raft_msg_type) (1 + round % QUORUM__RAFT_MSG_TYPE_MAX),
					  (unsigned) round / QUORUM__RAFT_MSG_TYPE_MAX % 12);
		n = encode(&msg_in);
		assert_true(n > 0);
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[x % (uint64_t) n] = (uint8_t) (x >> 32);
		rc = quorum__wire_decode(buf, (size_t) n, &msg_out, NULL);
		assert_true(rc == 0 || rc == QUORUM_EMALFORMED);
		if (rc == 0)
		{
			decoded++;
			assert_int_equal(quorum__wire_encode(&msg_out, buf2, sizeof(buf2)), n);
			assert_memory_equal(buf, buf2, (size_t) n);
		}
	}
	assert_true(decoded > 1000);
	assert_true(decoded < 20000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_every_type),
		cmocka_unit_test(test_round_trip_extremes),
		cmocka_unit_test(test_ipv4_tail_not_sent),
		cmocka_unit_test(test_golden_bytes),
		cmocka_unit_test(test_sizes_track_fields),
		cmocka_unit_test(test_cluster_id_fnv1a),
		cmocka_unit_test(test_every_truncation_rejected),
		cmocka_unit_test(test_trailing_bytes_rejected),
		cmocka_unit_test(test_magic_and_version),
		cmocka_unit_test(test_unknown_type),
		cmocka_unit_test(test_builder_baseline),
		cmocka_unit_test(test_sender_name_limits),
		cmocka_unit_test(test_nul_inside_strings),
		cmocka_unit_test(test_update_string_limits),
		cmocka_unit_test(test_target_name_limits),
		cmocka_unit_test(test_bad_address_family),
		cmocka_unit_test(test_update_count_limits),
		cmocka_unit_test(test_unknown_enums_and_flags),
		cmocka_unit_test(test_pushpull_fields),
		cmocka_unit_test(test_encode_rejects_what_decode_would),
		cmocka_unit_test(test_encode_rejects_bad_updates),
		cmocka_unit_test(test_encode_nospace),
		cmocka_unit_test(test_null_arguments),
		cmocka_unit_test(test_mutations_decode_canonically),
		cmocka_unit_test(test_raft_round_trip_every_kind),
		cmocka_unit_test(test_raft_worst_case_size),
		cmocka_unit_test(test_raft_golden_bytes),
		cmocka_unit_test(test_raft_member_id_layout),
		cmocka_unit_test(test_raft_builder_baseline),
		cmocka_unit_test(test_raft_header_fields),
		cmocka_unit_test(test_raft_vote_fields),
		cmocka_unit_test(test_raft_promise_ask),
		cmocka_unit_test(test_raft_entry_limits),
		cmocka_unit_test(test_raft_snapshot_limits),
		cmocka_unit_test(test_raft_encode_rejects),
		cmocka_unit_test(test_raft_mutations_decode_canonically),
	};

	return cmocka_run_group_tests_name("wire", tests, NULL, NULL);
}
