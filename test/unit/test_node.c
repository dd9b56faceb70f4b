/*-------------------------------------------------------------------------
 *
 * test_node.c
 *	  Unit tests of the node API: configuration, step contract, deadlines,
 *	  the datagram pipeline's drop reasons, merge rules, refutation and
 *	  metadata versioning, and the plain-value helpers.
 *
 * One node under test ("n1") is fed datagrams crafted here with the private
 * wire and seal modules, as a peer "n2" would send them, so every rule can be
 * checked in isolation and every drop reason can be provoked on purpose.
 *
 * test/unit/test_node.c
 *
 *-------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "quorum/quorum.h"
#include "seal.h"
#include "wire.h"

#define KEY_BYTE 0x42

static quorum_node *node;
static struct quorum_output out;
static uint64_t peer_seq;		/* seq of the next datagram "n2" sends */
static uint32_t peer_nonce;
static struct quorum_wire_msg *msg;	/* scratch: too large for the stack */

static void
addr_of(unsigned i, struct quorum_addr *addr)
{
	memset(addr, 0, sizeof(*addr));
	addr->family = 4;
	addr->bytes[0] = 10;
	addr->bytes[3] = (uint8_t) i;
	addr->port = 7946;
}

static void
config_of(struct quorum_config *c)
{
	quorum_config_init(c);
	snprintf(c->name, sizeof(c->name), "n1");
	snprintf(c->cluster, sizeof(c->cluster), "prod");
	addr_of(1, &c->addr);
	c->keyring.count = 1;
	memset(c->keyring.keys[0], KEY_BYTE, QUORUM_KEY_BYTES);
	c->seed = 7;
	c->incarnation_start = 1;
	c->members_max = 8;
	c->meta_slots_max = 8;
}

static void
make_node(const struct quorum_config *c, quorum_time_ms now_ms)
{
	char		err[256] = "";
	struct quorum_meta facts = {.role = QUORUM_ROLE_PRIMARY, .timeline = 3};

	assert_int_equal(quorum_node_new(c, &facts, now_ms, &node, err, sizeof(err)), 0);
	assert_string_equal(err, "");
}

static int
setup(void **state)
{
	struct quorum_config c;

	(void) state;
	msg = calloc(1, sizeof(*msg));
	peer_seq = 1;
	peer_nonce = 0;
	config_of(&c);
	make_node(&c, 1000);
	return 0;
}

static int
teardown(void **state)
{
	(void) state;
	quorum_node_free(node);
	node = NULL;
	free(msg);
	return 0;
}

/* A message from "n2" (boot 1, next seq) of the given type, no updates. */
static struct quorum_wire_msg *
peer_msg(enum quorum_wire_type type)
{
	memset(msg, 0, sizeof(*msg));
	msg->type = type;
	msg->cluster_id = quorum__wire_cluster_id("prod");
	snprintf(msg->sender, sizeof(msg->sender), "n2");
	addr_of(2, &msg->sender_addr);
	msg->boot = 1;
	msg->seq = peer_seq++;
	return msg;
}

static struct quorum_wire_update *
add_update(enum quorum_member_state state, const char *name, uint64_t inc)
{
	struct quorum_wire_update *up = &msg->updates[msg->n_updates++];

	memset(up, 0, sizeof(*up));
	up->state = state;
	snprintf(up->name, sizeof(up->name), "%s", name);
	addr_of((unsigned) (name[1] - '0'), &up->addr);
	up->incarnation = inc;
	if (state == QUORUM_MEMBER_SUSPECT || state == QUORUM_MEMBER_DEAD)
		snprintf(up->from, sizeof(up->from), "n2");
	return up;
}

/* Encodes and seals msg with key byte key (0: plaintext). */
static size_t
seal_msg(uint8_t *buf, size_t cap, uint8_t key)
{
	uint8_t		plain[2048];
	uint8_t		nonce[QUORUM_SEAL_NONCE_BYTES] = {9, 9, 9, 9};
	struct quorum_keyring kr = {.count = key ? 1 : 0};
	struct quorum_sealer sealer;
	int			n,
				len;

	memset(kr.keys[0], key, QUORUM_KEY_BYTES);
	n = quorum__wire_encode(msg, plain, sizeof(plain));
	assert_true(n > 0);
	assert_int_equal(quorum__sealer_init(&sealer, &kr, key == 0), 0);
	peer_nonce++;
	memcpy(nonce + 8, &peer_nonce, 4);
	len = quorum__seal(&sealer, nonce, plain, (size_t) n, buf, cap);
	quorum__sealer_destroy(&sealer);
	assert_true(len > 0);
	return (size_t) len;
}

static int
feed(const uint8_t *data, size_t len, quorum_time_ms now_ms)
{
	struct quorum_input in = {.type = QUORUM_IN_DATAGRAM, .now_ms = now_ms};

	addr_of(2, &in.u.datagram.from);
	in.u.datagram.data = data;
	in.u.datagram.len = len;
	return quorum_node_step(node, &in, &out);
}

/* Seal msg with the cluster key and feed it; returns the step's result. */
static int
send_msg(quorum_time_ms now_ms)
{
	uint8_t		buf[1500];
	size_t		len = seal_msg(buf, sizeof(buf), KEY_BYTE);

	return feed(buf, len, now_ms);
}

static int
tick(quorum_time_ms now_ms)
{
	struct quorum_input in = {.type = QUORUM_IN_TICK, .now_ms = now_ms};

	return quorum_node_step(node, &in, &out);
}

static uint64_t
drops(enum quorum_drop_reason reason)
{
	struct quorum_node_stats st;

	quorum_node_stats_get(node, &st);
	return st.drops[reason];
}

static struct quorum_member_info
member(const char *name)
{
	struct quorum_member_info info;

	memset(&info, 0, sizeof(info));
	info.state = (enum quorum_member_state) -1;
	quorum_node_member_find(node, name, &info);
	return info;
}

static bool
has_event(enum quorum_event_type type, const char *name)
{
	for (size_t i = 0; i < out.n_events; i++)
		if (out.events[i].type == type && strcmp(out.events[i].member, name) == 0)
			return true;
	return false;
}

/* n2 introduces itself (ALIVE, inc 1) so that it is a known member. */
static void
meet_n2(quorum_time_ms now_ms)
{
	peer_msg(QUORUM_WIRE_GOSSIP);
	add_update(QUORUM_MEMBER_ALIVE, "n2", 1);
	assert_int_equal(send_msg(now_ms), 0);
	assert_true(has_event(QUORUM_EV_MEMBER_ALIVE, "n2"));
}

/* ------------------------------------------------------------------------
 * Configuration
 * ------------------------------------------------------------------------
 */

static void
test_config_defaults(void **state)
{
	struct quorum_config c;

	(void) state;
	quorum_config_init(&c);
	assert_int_equal(c.members_max, 256);
	assert_int_equal(c.meta_slots_max, 256);
	assert_int_equal(c.outbox_datagrams_max, 64);
	assert_int_equal(c.events_max, 256);
	assert_int_equal(c.dissemination_queue_max, 256);
	assert_int_equal(c.datagram_bytes_max, 1400);
	assert_int_equal(c.probe_interval_ms, 200);
	assert_int_equal(c.probe_timeout_ms, 100);
	assert_int_equal(c.pushpull_interval_ms, 10000);
	assert_int_equal(c.gossip_to_dead_ms, 10000);
	assert_int_equal(c.reap_dead_ms, 0);
	assert_int_equal(c.indirect_probes, 3);
	assert_int_equal(c.suspicion_mult, 4);
	assert_int_equal(c.suspicion_max_mult, 6);
	assert_int_equal(c.retransmit_mult, 4);
	assert_int_equal(c.awareness_max, 8);
	assert_int_equal(c.trace_level, QUORUM_TRACE_INFO);
	assert_null(c.trace_fn);
	assert_false(c.allow_plaintext);
}

static void
expect_invalid(const struct quorum_config *c, const char *needle)
{
	quorum_node *n = NULL;
	char		err[256] = "";

	assert_int_equal(quorum_node_new(c, NULL, 0, &n, err, sizeof(err)), QUORUM_EINVAL);
	assert_null(n);
	if (strstr(err, needle) == NULL)
		fail_msg("error \"%s\" does not mention \"%s\"", err, needle);
}

static void
test_config_invalid(void **state)
{
	struct quorum_config c;
	quorum_node *n = NULL;

	(void) state;
#define INVALID(stmt, needle) do { config_of(&c); stmt; expect_invalid(&c, needle); } while (0)
	INVALID(c.name[0] = '\0', "name");
	INVALID(memset(c.name, 'x', sizeof(c.name)), "name");
	INVALID(c.cluster[0] = '\0', "cluster");
	INVALID(c.addr.family = 5, "family");
	INVALID(c.keyring.count = 0, "allow_plaintext");
	INVALID(c.keyring.count = QUORUM_KEYS_MAX + 1, "keys");
	INVALID(c.members_max = 0, "members_max");
	INVALID(c.meta_slots_max = 0, "meta_slots_max");
	INVALID(c.outbox_datagrams_max = 0, "outbox_datagrams_max");
	INVALID(c.events_max = 0, "events_max");
	INVALID(c.dissemination_queue_max = 0, "dissemination_queue_max");
	INVALID(c.datagram_bytes_max = 100, "datagram_bytes_max");
	INVALID(c.datagram_bytes_max = 70000, "datagram_bytes_max");
	INVALID(c.probe_interval_ms = 0, "probe_interval_ms");
	INVALID(c.probe_timeout_ms = 0, "probe_timeout_ms");
	INVALID(c.probe_timeout_ms = c.probe_interval_ms, "less than");
	INVALID((c.reap_dead_ms = 10, c.gossip_to_dead_ms = 20), "reap_dead_ms");
	INVALID(c.suspicion_mult = 0, "suspicion_mult");
	INVALID(c.suspicion_max_mult = 0, "suspicion_max_mult");
	INVALID(c.retransmit_mult = 0, "retransmit_mult");
	INVALID(c.awareness_max = 0, "awareness_max");
#undef INVALID
	assert_int_equal(quorum_node_new(NULL, NULL, 0, &n, NULL, 0), QUORUM_EINVAL);
	/* No keys is fine when plaintext is asked for explicitly. */
	config_of(&c);
	c.keyring.count = 0;
	c.allow_plaintext = true;
	assert_int_equal(quorum_node_new(&c, NULL, 0, &n, NULL, 0), 0);
	quorum_node_free(n);
	quorum_node_free(NULL);
}

/* ------------------------------------------------------------------------
 * The step contract
 * ------------------------------------------------------------------------
 */

static void
test_accessors(void **state)
{
	struct quorum_member_info info;
	struct quorum_node_stats st;

	(void) state;
	assert_string_equal(quorum_node_name(node), "n1");
	assert_string_equal(quorum_node_errmsg(node), "");
	assert_int_equal(quorum_node_member_count(node), 1);
	assert_int_equal(quorum_node_member_get(node, 0, &info), 0);
	assert_string_equal(info.name, "n1");
	assert_true(info.is_self);
	assert_int_equal(info.state, QUORUM_MEMBER_ALIVE);
	assert_int_equal(info.incarnation, 1);
	assert_true(info.has_meta);
	assert_int_equal(info.meta_version, 1);
	assert_int_equal(info.meta.role, QUORUM_ROLE_PRIMARY);
	assert_int_equal(info.meta.timeline, 3);
	assert_int_equal(quorum_node_member_get(node, 1, &info), QUORUM_ENOTFOUND);
	assert_int_equal(quorum_node_member_find(node, "zz", &info), QUORUM_ENOTFOUND);
	assert_int_equal(quorum_node_member_find(node, "n1", &info), 0);
	quorum_node_stats_get(node, &st);
	assert_int_equal(st.members_alive, 1);
	assert_int_equal(st.datagrams_in, 0);
}

static void
test_first_step_persists(void **state)
{
	struct quorum_config c;

	(void) state;
	quorum_node_free(node);
	config_of(&c);
	c.incarnation_start = 7;
	make_node(&c, 0);
	assert_int_equal(tick(0), 0);
	assert_true(out.flags & QUORUM_OUT_PERSIST);
	assert_int_equal(out.durable.incarnation, 7);
	assert_int_equal(tick(1), 0);
	assert_false(out.flags & QUORUM_OUT_PERSIST);
}

static void
test_step_invalid_input(void **state)
{
	struct quorum_input in = {.type = QUORUM_IN_TICK, .now_ms = 1000};

	(void) state;
	assert_int_equal(quorum_node_step(NULL, &in, &out), QUORUM_EINVAL);
	assert_int_equal(quorum_node_step(node, NULL, &out), QUORUM_EINVAL);
	assert_int_equal(quorum_node_step(node, &in, NULL), QUORUM_EINVAL);
	in.type = (enum quorum_input_type) 99;
	assert_int_equal(quorum_node_step(node, &in, &out), QUORUM_EINVAL);
	assert_non_null(strstr(quorum_node_errmsg(node), "input type"));
	in.type = QUORUM_IN_DATAGRAM;
	in.u.datagram.data = NULL;
	in.u.datagram.len = 5;
	assert_int_equal(quorum_node_step(node, &in, &out), QUORUM_EINVAL);
	in.type = QUORUM_IN_COMMAND;
	in.u.command.type = (enum quorum_command_type) 42;
	assert_int_equal(quorum_node_step(node, &in, &out), QUORUM_EINVAL);
	in.u.command.type = QUORUM_CMD_JOIN;
	memset(&in.u.command.addr, 0, sizeof(in.u.command.addr));
	assert_int_equal(quorum_node_step(node, &in, &out), QUORUM_EINVAL);
	assert_non_null(strstr(quorum_node_errmsg(node), "join"));
	/* An empty datagram is input, not misuse: dropped and counted. */
	in.type = QUORUM_IN_DATAGRAM;
	in.u.datagram.data = NULL;
	in.u.datagram.len = 0;
	assert_int_equal(quorum_node_step(node, &in, &out), 0);
	assert_int_equal(drops(QUORUM_DROP_MALFORMED), 1);
}

/*
 * Deadlines: the first probe is staggered within one interval; nothing
 * happens before a deadline; a lone node just moves its deadline on; with a
 * member, the period runs ping -> (timeout, no helpers) -> suspect.
 */
static void
test_deadline(void **state)
{
	quorum_time_ms d = quorum_node_deadline_ms(node);
	quorum_time_ms start;

	(void) state;
	assert_true(d >= 1000 && d < 1200);
	assert_int_equal(tick(1000), 0);
	assert_int_equal(out.deadline_ms, d);
	assert_int_equal(out.n_datagrams, 0);
	assert_int_equal(tick(d), 0);
	assert_int_equal(out.n_datagrams, 0);
	assert_int_equal(out.deadline_ms, d + 200);
	/* A clock that steps back is not trusted: nothing moves. */
	assert_int_equal(tick(d - 500), 0);
	assert_int_equal(out.deadline_ms, d + 200);

	meet_n2(d + 1);
	start = quorum_node_deadline_ms(node);
	assert_int_equal(start, d + 200);
	assert_int_equal(tick(start), 0);
	assert_int_equal(out.n_datagrams, 1);	/* the ping */
	assert_int_equal(out.datagrams[0].to.bytes[3], 2);
	assert_int_equal(out.deadline_ms, start + 100);
	assert_int_equal(tick(start + 100), 0);
	assert_int_equal(out.n_datagrams, 0);	/* no helpers to ask */
	assert_int_equal(out.deadline_ms, start + 200);
	assert_int_equal(tick(start + 200), 0);
	assert_true(has_event(QUORUM_EV_MEMBER_SUSPECT, "n2"));
	assert_int_equal(member("n2").state, QUORUM_MEMBER_SUSPECT);
	/* next period's ping goes out at once; the local health score rose */
	assert_int_equal(out.n_datagrams, 1);
	assert_int_equal(out.deadline_ms, start + 200 + 2 * 100);
}

/* The suspicion timeout formula with N = 5, k = 3 (min 800, max 4800 ms). */
static void
test_suspicion_timeout_formula(void **state)
{
	(void) state;
	meet_n2(1001);
	peer_msg(QUORUM_WIRE_GOSSIP);
	add_update(QUORUM_MEMBER_ALIVE, "n3", 1);
	add_update(QUORUM_MEMBER_ALIVE, "n4", 1);
	add_update(QUORUM_MEMBER_ALIVE, "n5", 1);
	assert_int_equal(send_msg(1002), 0);
	assert_int_equal(quorum_node_member_count(node), 5);

	/* n2 says n5 is suspect at t = 2000: dead at 2000 + 4800 unless confirmed */
	peer_msg(QUORUM_WIRE_GOSSIP);
	add_update(QUORUM_MEMBER_SUSPECT, "n5", 1);
	assert_int_equal(send_msg(2000), 0);
	assert_true(has_event(QUORUM_EV_MEMBER_SUSPECT, "n5"));
	/* a confirmation by n3: 4800 - 4000 * ln 2 / ln 4 = 2800 */
	peer_msg(QUORUM_WIRE_GOSSIP);
	snprintf(add_update(QUORUM_MEMBER_SUSPECT, "n5", 1)->from, QUORUM_NAME_MAX, "n3");
	assert_int_equal(send_msg(2001), 0);
	/* the same accuser again is not independent */
	peer_msg(QUORUM_WIRE_GOSSIP);
	snprintf(add_update(QUORUM_MEMBER_SUSPECT, "n5", 1)->from, QUORUM_NAME_MAX, "n3");
	assert_int_equal(send_msg(2002), 0);
	assert_int_equal(tick(2000 + 2799), 0);
	assert_int_equal(member("n5").state, QUORUM_MEMBER_SUSPECT);
	assert_int_equal(tick(2000 + 2800), 0);
	assert_int_equal(member("n5").state, QUORUM_MEMBER_DEAD);
	assert_true(has_event(QUORUM_EV_MEMBER_DEAD, "n5"));
}

/* ------------------------------------------------------------------------
 * Drops
 * ------------------------------------------------------------------------
 */

static void
test_drop_garbage_and_truncated(void **state)
{
	uint8_t		buf[1500];
	size_t		len;

	(void) state;
	memset(buf, 0xee, 64);
	assert_int_equal(feed(buf, 64, 1001), 0);
	assert_int_equal(drops(QUORUM_DROP_MALFORMED), 1);

	peer_msg(QUORUM_WIRE_GOSSIP);
	add_update(QUORUM_MEMBER_ALIVE, "n2", 1);
	len = seal_msg(buf, sizeof(buf), KEY_BYTE);
	assert_int_equal(feed(buf, 10, 1002), 0);	/* cut inside the seal header */
	assert_int_equal(drops(QUORUM_DROP_MALFORMED), 2);
	assert_int_equal(feed(buf, len - 1, 1003), 0);	/* cut tag */
	assert_int_equal(drops(QUORUM_DROP_AUTH), 1);
	assert_int_equal(quorum_node_member_count(node), 1);
	/* The intact datagram still works: nothing was remembered. */
	assert_int_equal(feed(buf, len, 1004), 0);
	assert_int_equal(quorum_node_member_count(node), 2);
}

static void
test_drop_wrong_key_and_plaintext(void **state)
{
	uint8_t		buf[1500];
	size_t		len;

	(void) state;
	peer_msg(QUORUM_WIRE_GOSSIP);
	add_update(QUORUM_MEMBER_ALIVE, "n2", 1);
	len = seal_msg(buf, sizeof(buf), 0x17);
	assert_int_equal(feed(buf, len, 1001), 0);
	assert_int_equal(drops(QUORUM_DROP_AUTH), 1);
	len = seal_msg(buf, sizeof(buf), 0);
	assert_int_equal(feed(buf, len, 1002), 0);
	assert_int_equal(drops(QUORUM_DROP_PLAINTEXT), 1);
	assert_int_equal(quorum_node_member_count(node), 1);
}

static void
test_drop_cluster_self_version_oversize(void **state)
{
	uint8_t		buf[70000];
	uint8_t		plain[2048];
	uint8_t		nonce[QUORUM_SEAL_NONCE_BYTES] = {1};
	struct quorum_keyring kr = {.count = 1};
	struct quorum_sealer sealer;
	int			n;

	(void) state;
	peer_msg(QUORUM_WIRE_GOSSIP)->cluster_id = quorum__wire_cluster_id("staging");
	assert_int_equal(send_msg(1001), 0);
	assert_int_equal(drops(QUORUM_DROP_CLUSTER), 1);

	snprintf(peer_msg(QUORUM_WIRE_GOSSIP)->sender, QUORUM_NAME_MAX, "n1");
	assert_int_equal(send_msg(1002), 0);
	assert_int_equal(drops(QUORUM_DROP_SELF), 1);

	/* A future protocol version, sealed correctly. */
	peer_msg(QUORUM_WIRE_GOSSIP);
	n = quorum__wire_encode(msg, plain, sizeof(plain));
	assert_true(n > 3);
	plain[2] = QUORUM_WIRE_VERSION + 1;
	memset(kr.keys[0], KEY_BYTE, QUORUM_KEY_BYTES);
	assert_int_equal(quorum__sealer_init(&sealer, &kr, false), 0);
	n = quorum__seal(&sealer, nonce, plain, (size_t) n, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(feed(buf, (size_t) n, 1003), 0);
	assert_int_equal(drops(QUORUM_DROP_VERSION), 1);
	/* Authentic but undecodable plaintext. */
	n = quorum__seal(&sealer, nonce, (const uint8_t *) "hello", 5, buf, sizeof(buf));
	quorum__sealer_destroy(&sealer);
	assert_int_equal(feed(buf, (size_t) n, 1004), 0);
	assert_int_equal(drops(QUORUM_DROP_MALFORMED), 1);

	memset(buf, 0, 1401);
	assert_int_equal(feed(buf, 1401, 1005), 0);
	assert_int_equal(drops(QUORUM_DROP_OVERSIZE), 1);
	assert_int_equal(drops(QUORUM_DROP_MALFORMED), 1);
	{
		struct quorum_node_stats st;

		quorum_node_stats_get(node, &st);
		assert_int_equal(st.datagrams_in, 5);
	}
}

static void
test_drop_replay(void **state)
{
	uint8_t		buf[1500];
	uint8_t		old[1500];
	size_t		len,
				old_len;

	(void) state;
	peer_msg(QUORUM_WIRE_GOSSIP);
	add_update(QUORUM_MEMBER_ALIVE, "n2", 1);
	old_len = seal_msg(old, sizeof(old), KEY_BYTE);
	assert_int_equal(feed(old, old_len, 1001), 0);
	assert_int_equal(quorum_node_member_count(node), 2);
	/* the captured datagram, again */
	assert_int_equal(feed(old, old_len, 1002), 0);
	assert_int_equal(drops(QUORUM_DROP_REPLAY), 1);

	/* seq 100 moves the window; 30 is older than 64 behind it */
	peer_seq = 100;
	peer_msg(QUORUM_WIRE_GOSSIP);
	assert_int_equal(send_msg(1003), 0);
	assert_int_equal(drops(QUORUM_DROP_REPLAY), 1);
	peer_seq = 30;
	peer_msg(QUORUM_WIRE_GOSSIP);
	assert_int_equal(send_msg(1004), 0);
	assert_int_equal(drops(QUORUM_DROP_REPLAY), 2);
	/* 99 is new and inside the window: reordering is fine, once */
	peer_seq = 99;
	peer_msg(QUORUM_WIRE_GOSSIP);
	len = seal_msg(buf, sizeof(buf), KEY_BYTE);
	assert_int_equal(feed(buf, len, 1005), 0);
	assert_int_equal(drops(QUORUM_DROP_REPLAY), 2);
	assert_int_equal(feed(buf, len, 1006), 0);
	assert_int_equal(drops(QUORUM_DROP_REPLAY), 3);
	/* an older boot is a previous run: always a replay */
	peer_msg(QUORUM_WIRE_GOSSIP)->boot = 0;
	msg->seq = 500;
	assert_int_equal(send_msg(1007), 0);
	assert_int_equal(drops(QUORUM_DROP_REPLAY), 4);
	/* a newer boot (restart) starts a fresh window */
	peer_msg(QUORUM_WIRE_GOSSIP)->boot = 2;
	msg->seq = 1;
	assert_int_equal(send_msg(1008), 0);
	assert_int_equal(drops(QUORUM_DROP_REPLAY), 4);
}

static void
test_drop_table_full(void **state)
{
	struct quorum_config c;

	(void) state;
	quorum_node_free(node);
	config_of(&c);
	c.members_max = 2;
	make_node(&c, 1000);
	peer_msg(QUORUM_WIRE_GOSSIP);
	add_update(QUORUM_MEMBER_ALIVE, "n2", 1);
	add_update(QUORUM_MEMBER_ALIVE, "n3", 1);
	assert_int_equal(send_msg(1001), 0);
	assert_int_equal(quorum_node_member_count(node), 2);
	assert_int_equal(drops(QUORUM_DROP_TABLE_FULL), 1);
	assert_int_equal(member("n3").state, (enum quorum_member_state) -1);
}

static void
test_drop_outbox_full(void **state)
{
	struct quorum_config c;
	struct quorum_input in = {.type = QUORUM_IN_COMMAND, .now_ms = 1002};

	(void) state;
	quorum_node_free(node);
	config_of(&c);
	c.outbox_datagrams_max = 1;
	make_node(&c, 1000);
	peer_msg(QUORUM_WIRE_GOSSIP);
	add_update(QUORUM_MEMBER_ALIVE, "n2", 1);
	add_update(QUORUM_MEMBER_ALIVE, "n3", 1);
	add_update(QUORUM_MEMBER_ALIVE, "n4", 1);
	assert_int_equal(send_msg(1001), 0);
	in.u.command.type = QUORUM_CMD_LEAVE;
	assert_int_equal(quorum_node_step(node, &in, &out), 0);
	assert_int_equal(out.n_datagrams, 1);
	assert_int_equal(drops(QUORUM_DROP_OUTBOX_FULL), 1);
}

/* ------------------------------------------------------------------------
 * Merge rules, refutation, metadata
 * ------------------------------------------------------------------------
 */

static void
gossip(enum quorum_member_state state, const char *name, uint64_t inc,
	   quorum_time_ms now_ms)
{
	peer_msg(QUORUM_WIRE_GOSSIP);
	add_update(state, name, inc);
	assert_int_equal(send_msg(now_ms), 0);
}

static void
expect(const char *name, enum quorum_member_state state, uint64_t inc)
{
	struct quorum_member_info info = member(name);

	assert_int_equal(info.state, state);
	assert_int_equal(info.incarnation, inc);
}

static void
test_merge_rules(void **state)
{
	(void) state;
	meet_n2(1001);
	gossip(QUORUM_MEMBER_SUSPECT, "n9", 1, 1002);
	gossip(QUORUM_MEMBER_DEAD, "n8", 1, 1003);
	assert_int_equal(quorum_node_member_count(node), 2);	/* strangers */

	gossip(QUORUM_MEMBER_ALIVE, "n3", 5, 1004);
	expect("n3", QUORUM_MEMBER_ALIVE, 5);
	gossip(QUORUM_MEMBER_ALIVE, "n3", 4, 1005);
	expect("n3", QUORUM_MEMBER_ALIVE, 5);
	gossip(QUORUM_MEMBER_SUSPECT, "n3", 4, 1006);
	expect("n3", QUORUM_MEMBER_ALIVE, 5);
	gossip(QUORUM_MEMBER_SUSPECT, "n3", 5, 1007);
	expect("n3", QUORUM_MEMBER_SUSPECT, 5);
	assert_true(has_event(QUORUM_EV_MEMBER_SUSPECT, "n3"));
	gossip(QUORUM_MEMBER_ALIVE, "n3", 5, 1008);
	expect("n3", QUORUM_MEMBER_SUSPECT, 5);
	gossip(QUORUM_MEMBER_ALIVE, "n3", 6, 1009);
	expect("n3", QUORUM_MEMBER_ALIVE, 6);
	assert_true(has_event(QUORUM_EV_MEMBER_ALIVE, "n3"));
	gossip(QUORUM_MEMBER_DEAD, "n3", 6, 1010);
	expect("n3", QUORUM_MEMBER_DEAD, 6);
	assert_true(has_event(QUORUM_EV_MEMBER_DEAD, "n3"));
	gossip(QUORUM_MEMBER_SUSPECT, "n3", 7, 1011);
	expect("n3", QUORUM_MEMBER_DEAD, 6);
	gossip(QUORUM_MEMBER_ALIVE, "n3", 6, 1012);
	expect("n3", QUORUM_MEMBER_DEAD, 6);
	gossip(QUORUM_MEMBER_ALIVE, "n3", 7, 1013);
	expect("n3", QUORUM_MEMBER_ALIVE, 7);
	gossip(QUORUM_MEMBER_LEFT, "n3", 7, 1014);
	expect("n3", QUORUM_MEMBER_LEFT, 7);
	assert_true(has_event(QUORUM_EV_MEMBER_LEFT, "n3"));
	gossip(QUORUM_MEMBER_DEAD, "n3", 8, 1015);
	expect("n3", QUORUM_MEMBER_LEFT, 7);
	gossip(QUORUM_MEMBER_ALIVE, "n3", 8, 1016);
	expect("n3", QUORUM_MEMBER_ALIVE, 8);
}

static void
test_refute_persists_first(void **state)
{
	struct quorum_node_stats st;

	(void) state;
	assert_int_equal(tick(1000), 0);	/* first step persists inc 1 */
	meet_n2(1001);
	gossip(QUORUM_MEMBER_SUSPECT, "n1", 1, 1002);
	assert_true(out.flags & QUORUM_OUT_PERSIST);
	assert_int_equal(out.durable.incarnation, 2);
	expect("n1", QUORUM_MEMBER_ALIVE, 2);
	quorum_node_stats_get(node, &st);
	assert_int_equal(st.suspicions_refuted, 1);
	assert_int_equal(st.local_health, 1);

	/* an old suspicion (lower incarnation) needs no refutation */
	gossip(QUORUM_MEMBER_SUSPECT, "n1", 1, 1003);
	assert_false(out.flags & QUORUM_OUT_PERSIST);
	expect("n1", QUORUM_MEMBER_ALIVE, 2);

	gossip(QUORUM_MEMBER_DEAD, "n1", 5, 1004);
	assert_true(out.flags & QUORUM_OUT_PERSIST);
	assert_int_equal(out.durable.incarnation, 6);

	/* the next datagram carries ALIVE n1 at 6 */
	assert_int_equal(tick(quorum_node_deadline_ms(node)), 0);
	assert_true(out.n_datagrams >= 1);
	{
		uint8_t		plain[1500];
		struct quorum_keyring kr = {.count = 1};
		struct quorum_sealer sealer;
		int			n;
		bool		found = false;

		memset(kr.keys[0], KEY_BYTE, QUORUM_KEY_BYTES);
		assert_int_equal(quorum__sealer_init(&sealer, &kr, false), 0);
		n = quorum__unseal(&sealer, out.datagrams[0].data, out.datagrams[0].len,
						   plain, sizeof(plain));
		quorum__sealer_destroy(&sealer);
		assert_true(n > 0);
		assert_int_equal(quorum__wire_decode(plain, (size_t) n, msg, NULL), 0);
		assert_string_equal(msg->sender, "n1");
		assert_int_equal(msg->boot, 1);
		for (unsigned i = 0; i < msg->n_updates; i++)
			if (strcmp(msg->updates[i].name, "n1") == 0 &&
				msg->updates[i].state == QUORUM_MEMBER_ALIVE &&
				msg->updates[i].incarnation == 6)
				found = true;
		assert_true(found);
	}
}

static void
meta_gossip(uint64_t inc, uint64_t version, uint64_t lsn, quorum_time_ms now_ms)
{
	struct quorum_wire_update *up;

	peer_msg(QUORUM_WIRE_GOSSIP);
	up = add_update(QUORUM_MEMBER_ALIVE, "n3", inc);
	up->has_meta = true;
	up->meta_version = version;
	up->meta.role = QUORUM_ROLE_STANDBY;
	up->meta.lsn = lsn;
	assert_int_equal(send_msg(now_ms), 0);
}

static void
test_meta_versioning(void **state)
{
	(void) state;
	meta_gossip(1, 3, 30, 1001);
	assert_int_equal(member("n3").meta.lsn, 30);
	assert_int_equal(member("n3").meta_version, 3);
	meta_gossip(1, 2, 20, 1002);	/* older version: ignored */
	assert_int_equal(member("n3").meta.lsn, 30);
	assert_false(has_event(QUORUM_EV_MEMBER_UPDATED, "n3"));
	meta_gossip(1, 4, 40, 1003);
	assert_int_equal(member("n3").meta.lsn, 40);
	assert_true(has_event(QUORUM_EV_MEMBER_UPDATED, "n3"));
	meta_gossip(2, 1, 50, 1004);	/* restarted: higher incarnation wins */
	assert_int_equal(member("n3").meta.lsn, 50);
	assert_int_equal(member("n3").meta_version, 1);
	assert_true(has_event(QUORUM_EV_MEMBER_UPDATED, "n3"));
	meta_gossip(1, 9, 60, 1005);	/* lower incarnation: ignored */
	assert_int_equal(member("n3").meta.lsn, 50);
}

/* Runs ticks at each deadline until now_ms; true if name was reaped. */
static bool
tick_until_reaped(quorum_time_ms now_ms, const char *name)
{
	bool		reaped = false;

	while (quorum_node_deadline_ms(node) <= now_ms)
	{
		assert_int_equal(tick(quorum_node_deadline_ms(node)), 0);
		reaped |= has_event(QUORUM_EV_MEMBER_REAPED, name);
	}
	return reaped;
}

/*
 * Reaping frees a member's table entry and, once the name arena fills up,
 * its name bytes: with members_max 2 and 63-byte names, the third name only
 * fits after the arena is compacted.
 */
static void
test_reap_reuses_names(void **state)
{
	struct quorum_config c;
	char		names[3][QUORUM_NAME_MAX + 1];
	quorum_time_ms t = 1000;
	struct quorum_member_info info;

	(void) state;
	quorum_node_free(node);
	config_of(&c);
	c.members_max = 2;
	c.gossip_to_dead_ms = 500;
	c.reap_dead_ms = 1000;
	make_node(&c, t);
	for (int i = 0; i < 3; i++)
	{
		memset(names[i], 'a' + i, QUORUM_NAME_MAX);
		names[i][QUORUM_NAME_MAX] = '\0';
		gossip(QUORUM_MEMBER_ALIVE, names[i], 1, ++t);
		assert_int_equal(quorum_node_member_count(node), 2);
		assert_int_equal(member(names[i]).state, QUORUM_MEMBER_ALIVE);
		if (i > 0)
			assert_int_equal(member(names[i - 1]).state, (enum quorum_member_state) -1);
		gossip(QUORUM_MEMBER_DEAD, names[i], 1, ++t);
		assert_int_equal(member(names[i]).state, QUORUM_MEMBER_DEAD);
		t += 1000 + 2 * 200;
		assert_true(tick_until_reaped(t, names[i]));
		assert_int_equal(quorum_node_member_count(node), 1);
	}
	assert_int_equal(quorum_node_member_get(node, 0, &info), 0);
	assert_string_equal(info.name, "n1");
	assert_int_equal(drops(QUORUM_DROP_TABLE_FULL), 0);
}

static void
test_events_max(void **state)
{
	struct quorum_config c;

	(void) state;
	quorum_node_free(node);
	config_of(&c);
	c.events_max = 2;
	make_node(&c, 1000);
	peer_msg(QUORUM_WIRE_GOSSIP);
	add_update(QUORUM_MEMBER_ALIVE, "n2", 1);
	add_update(QUORUM_MEMBER_ALIVE, "n3", 1);
	add_update(QUORUM_MEMBER_ALIVE, "n4", 1);
	assert_int_equal(send_msg(1001), 0);
	assert_int_equal(out.n_events, 2);
	assert_true(out.flags & QUORUM_OUT_EVENTS);
	assert_int_equal(quorum_node_member_count(node), 4);
	quorum_node_output_done(node, &out);
	assert_int_equal(out.n_events, 0);
	assert_null(out.events);
}

/* Same seed, same inputs: the same bytes; and every nonce differs. */
static void
test_deterministic_and_unique_nonces(void **state)
{
	struct quorum_config c;
	quorum_node *twin;
	struct quorum_output o2;
	struct quorum_input in = {.type = QUORUM_IN_COMMAND, .now_ms = 1000};
	uint8_t		first[1500];
	size_t		first_len;

	(void) state;
	config_of(&c);
	assert_int_equal(quorum_node_new(&c, NULL, 1000, &twin, NULL, 0), 0);
	quorum_node_free(node);
	make_node(&c, 1000);
	in.u.command.type = QUORUM_CMD_JOIN;
	addr_of(9, &in.u.command.addr);
	assert_int_equal(quorum_node_step(node, &in, &out), 0);
	assert_int_equal(quorum_node_step(twin, &in, &o2), 0);
	assert_int_equal(out.n_datagrams, 1);
	assert_int_equal(o2.n_datagrams, 1);
	/* facts differ (NULL for the twin), so compare the sealed headers */
	assert_memory_equal(out.datagrams[0].data, o2.datagrams[0].data,
						QUORUM_SEAL_HEADER_BYTES);
	first_len = out.datagrams[0].len;
	memcpy(first, out.datagrams[0].data, first_len);
	assert_int_equal(quorum_node_step(node, &in, &out), 0);
	assert_memory_not_equal(first + 5, out.datagrams[0].data + 5,
							QUORUM_SEAL_NONCE_BYTES);
	quorum_node_free(twin);
}

/* ------------------------------------------------------------------------
 * Plain-value helpers
 * ------------------------------------------------------------------------
 */

static void
test_addr(void **state)
{
	struct quorum_addr a,
				b;
	char		buf[QUORUM_ADDR_STRLEN];
	static const char *bad[] = {
		"localhost:5", "1.2.3.4", "1.2.3.4:0", "1.2.3.4:70000", "[::1]5",
		":5", "1.2.3.4:5x", "[::1]:", "300.1.1.1:5", "[1.2.3.4]:5", ""
	};

	(void) state;
	assert_int_equal(quorum_addr_parse("127.0.0.1:7946", &a), 0);
	assert_int_equal(a.family, 4);
	assert_int_equal(a.port, 7946);
	assert_int_equal(a.bytes[0], 127);
	quorum_addr_format(&a, buf, sizeof(buf));
	assert_string_equal(buf, "127.0.0.1:7946");
	assert_int_equal(quorum_addr_parse("[::1]:5", &b), 0);
	assert_int_equal(b.family, 6);
	assert_int_equal(b.bytes[15], 1);
	quorum_addr_format(&b, buf, sizeof(buf));
	assert_string_equal(buf, "[::1]:5");
	assert_false(quorum_addr_equal(&a, &b));
	assert_int_equal(quorum_addr_parse("127.0.0.1:7946", &b), 0);
	b.bytes[10] = 99;			/* ignored for IPv4 */
	assert_true(quorum_addr_equal(&a, &b));
	b.port++;
	assert_false(quorum_addr_equal(&a, &b));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (quorum_addr_parse(bad[i], &a) != QUORUM_EINVAL)
			fail_msg("\"%s\" parsed", bad[i]);
	assert_int_equal(quorum_addr_parse(NULL, &a), QUORUM_EINVAL);
	memset(&a, 0, sizeof(a));
	quorum_addr_format(&a, buf, sizeof(buf));
	assert_string_equal(buf, "?");
}

static void
test_names(void **state)
{
	(void) state;
	assert_string_equal(quorum_member_state_name(QUORUM_MEMBER_ALIVE), "alive");
	assert_string_equal(quorum_member_state_name(QUORUM_MEMBER_SUSPECT), "suspect");
	assert_string_equal(quorum_member_state_name(QUORUM_MEMBER_DEAD), "dead");
	assert_string_equal(quorum_member_state_name(QUORUM_MEMBER_LEFT), "left");
	assert_string_equal(quorum_member_state_name((enum quorum_member_state) 9), "unknown");
	assert_string_equal(quorum_role_name(QUORUM_ROLE_PRIMARY), "primary");
	assert_string_equal(quorum_role_name(QUORUM_ROLE_STANDBY), "standby");
	assert_string_equal(quorum_role_name(QUORUM_ROLE_WITNESS), "witness");
	assert_string_equal(quorum_role_name(QUORUM_ROLE_UNKNOWN), "unknown");
	assert_string_equal(quorum_drop_reason_name(QUORUM_DROP_REPLAY), "replay");
	assert_string_equal(quorum_drop_reason_name(QUORUM_DROP_OUTBOX_FULL), "outbox_full");
	assert_string_equal(quorum_drop_reason_name(QUORUM_DROP__COUNT), "unknown");
	for (int r = 0; r < QUORUM_DROP__COUNT; r++)
		assert_string_not_equal(quorum_drop_reason_name((enum quorum_drop_reason) r),
								"unknown");
	assert_string_equal(quorum_event_type_name(QUORUM_EV_MEMBER_REAPED), "reaped");
	assert_string_equal(quorum_event_type_name(QUORUM_EV_MEMBER_UPDATED), "updated");
	assert_string_equal(quorum_event_type_name((enum quorum_event_type) 0), "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_config_defaults),
		T(test_config_invalid),
		T(test_accessors),
		T(test_first_step_persists),
		T(test_step_invalid_input),
		T(test_deadline),
		T(test_suspicion_timeout_formula),
		T(test_drop_garbage_and_truncated),
		T(test_drop_wrong_key_and_plaintext),
		T(test_drop_cluster_self_version_oversize),
		T(test_drop_replay),
		T(test_drop_table_full),
		T(test_drop_outbox_full),
		T(test_merge_rules),
		T(test_refute_persists_first),
		T(test_meta_versioning),
		T(test_reap_reuses_names),
		T(test_events_max),
		T(test_deterministic_and_unique_nonces),
		T(test_addr),
		T(test_names),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
