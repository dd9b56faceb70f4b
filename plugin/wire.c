/*-------------------------------------------------------------------------
 *
 * wire.c
 *	  Encoding and decoding of libquorum's gossip messages.
 *
 * The layout is described in wire.h.  Both directions go through a small
 * cursor that checks the remaining length before every field, so no read or
 * write can run past the buffer whatever the input.  Decoding is strict: a
 * message decodes only if it is exactly what quorum__wire_encode() would
 * produce for some valid quorum_wire_msg, which keeps the fuzz target's
 * "decode, re-encode, compare" oracle meaningful and leaves no slack in the
 * format for an attacker who got past the seal.
 *
 * Pure functions: no state, no IO, no allocation; safe from any thread.
 *
 * plugin/wire.c
 *
 *-------------------------------------------------------------------------
 */
#include "wire.h"

#include "quorum/error.h"

#include <string.h>

/* Fixed-size parts of the layout, bytes. */
#define WIRE_FIXED_HEADER (2 + 1 + 1 + 8)	/* magic, version, type, cluster */
#define WIRE_ADDR4 (1 + 4 + 2)
#define WIRE_ADDR6 (1 + 16 + 2)
/* role, timeline, lsn, priority, conninfo length (2), tags length (1) */
#define WIRE_META_FIXED (1 + 4 + 8 + 4 + 2 + 1)
/* Election messages: raft type, term, config_id (the "to" name apart). */
#define WIRE_RAFT_FIXED (1 + 8 + 8)
#define WIRE_RAFT_POS (4 + 8 + 1 + 4)
/* The flags byte that ends an APPEND_RESP. */
#define WIRE_RESP_VOTER 0x01
#define WIRE_RESP_PROMISE 0x02		/* promise_ms (4) follows */
#define WIRE_RESP_MEMBER 0x04		/* member_id (8), persist_seq (8) follow */
/*
 * A decision's type byte, and a snapshot's voter count, have their top bit
 * set when member ids follow (the decision's after its name, 8 bytes; one
 * after each voter's name).  Release 0.1 refuses both, so the leader sends
 * ids only to a peer that answered with its own (raft_log.c).
 */
#define WIRE_HAS_IDS 0x80
/* A round's top bit: promise_asked (rounds never get near it). */
#define WIRE_ROUND_ASK (UINT64_C(1) << 63)

/*
 * A position in a buffer.  Once a read or write would pass the end, ok
 * turns false and stays false, so callers can check once per structure
 * instead of after every field.
 */
typedef struct wire_cursor
{
	uint8_t    *wbuf;			/* for writing; NULL while reading */
	const uint8_t *rbuf;
	size_t		len;
	size_t		pos;
	bool		ok;
} wire_cursor;

/* Election messages, at the end of this file. */
static size_t wire_raft_size(const struct quorum__raft_msg *m);
static bool wire_raft_check(const struct quorum__raft_msg *m);
static void wire_put_raft(wire_cursor *c, const struct quorum__raft_msg *m);
static void wire_get_raft(wire_cursor *c, struct quorum__raft_msg *m);

/* ---------------------------------------------------------------------
 * Validation shared by encode and decode
 * ---------------------------------------------------------------------
 */

static bool
wire_type_valid(unsigned type)
{
	return (type >= QUORUM_WIRE_PING && type <= QUORUM_WIRE_GOSSIP) ||
		type == (unsigned) QUORUM_WIRE_RAFT;
}

static bool
wire_state_valid(unsigned state)
{
	return state <= QUORUM_MEMBER_LEFT;
}

static bool
wire_role_valid(unsigned role)
{
	return role <= QUORUM_ROLE_WITNESS;
}

static unsigned
wire_updates_max(enum quorum_wire_type type)
{
	return type == QUORUM_WIRE_PUSHPULL ? QUORUM_WIRE_PUSHPULL_MAX :
		QUORUM_WIRE_UPDATES_MAX;
}

/*
 * Length of a string field, or max + 1 when it does not fit; reads at most
 * max + 1 bytes so an unterminated array is caught rather than overrun.
 */
static size_t
wire_strlen(const char *s, size_t max)
{
	const char *nul = memchr(s, '\0', max + 1);

	return nul != NULL ? (size_t) (nul - s) : max + 1;
}

static size_t
wire_addr_size(const struct quorum_addr *addr)
{
	return addr->family == 4 ? WIRE_ADDR4 : WIRE_ADDR6;
}

/* ---------------------------------------------------------------------
 * Sizes
 * ---------------------------------------------------------------------
 */

uint64_t
quorum__wire_cluster_id(const char *cluster)
{
	uint64_t	hash = UINT64_C(0xcbf29ce484222325);

	for (const unsigned char *p = (const unsigned char *) cluster; *p; p++)
	{
		hash ^= *p;
		hash *= UINT64_C(0x100000001b3);
	}
	return hash;
}

size_t
quorum__wire_update_size(const struct quorum_wire_update *update)
{
	size_t		size;

	size = 1 + 1 + wire_strlen(update->name, QUORUM_NAME_MAX)
		+ wire_addr_size(&update->addr) + 8
		+ 1 + wire_strlen(update->from, QUORUM_NAME_MAX) + 8 + 1;
	if (update->has_meta)
		size += WIRE_META_FIXED
			+ wire_strlen(update->meta.conninfo, QUORUM_CONNINFO_MAX)
			+ wire_strlen(update->meta.tags, QUORUM_TAGS_MAX);
	return size;
}

static size_t
wire_body_size(const struct quorum_wire_msg *msg)
{
	if (msg->type == QUORUM_WIRE_RAFT)
		return wire_raft_size(&msg->u.raft);
	switch (msg->type)
	{
		case QUORUM_WIRE_PING:
			return 4 + 1 + wire_strlen(msg->u.ping.target, QUORUM_NAME_MAX);
		case QUORUM_WIRE_ACK:
		case QUORUM_WIRE_NACK:
			return 4;
		case QUORUM_WIRE_PING_REQ:
			return 4 + 1 + wire_strlen(msg->u.ping_req.target, QUORUM_NAME_MAX)
				+ wire_addr_size(&msg->u.ping_req.target_addr);
		case QUORUM_WIRE_PUSHPULL:
			return 1 + 4 + 2 + 2;
		case QUORUM_WIRE_GOSSIP:
			return 0;
	}
	return 0;
}

/*
 * The updates' count byte is counted here, so that base size plus the sum
 * of the update sizes is the whole message: that is what a sender packing
 * updates into a datagram needs.
 */
size_t
quorum__wire_base_size(const struct quorum_wire_msg *msg)
{
	return WIRE_FIXED_HEADER
		+ 1 + wire_strlen(msg->sender, QUORUM_NAME_MAX)
		+ wire_addr_size(&msg->sender_addr) + 8 + 8
		+ wire_body_size(msg)
		+ 1;
}

/* ---------------------------------------------------------------------
 * Encoding
 * ---------------------------------------------------------------------
 */

static bool
wire_addr_check(const struct quorum_addr *addr)
{
	return addr->family == 4 || addr->family == 6;
}

/* A name that identifies a member: required, short enough. */
static bool
wire_name_check(const char *name)
{
	size_t		n = wire_strlen(name, QUORUM_NAME_MAX);

	return n >= 1 && n <= QUORUM_NAME_MAX;
}

static bool
wire_update_check(const struct quorum_wire_update *up)
{
	if (!wire_state_valid((unsigned) up->state) || !wire_name_check(up->name) ||
		!wire_addr_check(&up->addr) ||
		wire_strlen(up->from, QUORUM_NAME_MAX) > QUORUM_NAME_MAX)
		return false;
	if (!up->has_meta)
		return true;
	return wire_role_valid((unsigned) up->meta.role) &&
		wire_strlen(up->meta.conninfo, QUORUM_CONNINFO_MAX) <= QUORUM_CONNINFO_MAX &&
		wire_strlen(up->meta.tags, QUORUM_TAGS_MAX) <= QUORUM_TAGS_MAX;
}

/* Everything decode would reject, checked before a byte is written. */
static bool
wire_msg_check(const struct quorum_wire_msg *msg)
{
	if (!wire_type_valid((unsigned) msg->type) || !wire_name_check(msg->sender) ||
		!wire_addr_check(&msg->sender_addr) ||
		msg->n_updates > wire_updates_max(msg->type))
		return false;
	if (msg->type == QUORUM_WIRE_RAFT && !wire_raft_check(&msg->u.raft))
		return false;

	switch (msg->type)
	{
		case QUORUM_WIRE_PING:
			if (!wire_name_check(msg->u.ping.target))
				return false;
			break;
		case QUORUM_WIRE_PING_REQ:
			if (!wire_name_check(msg->u.ping_req.target) ||
				!wire_addr_check(&msg->u.ping_req.target_addr))
				return false;
			break;
		case QUORUM_WIRE_PUSHPULL:
			if (msg->u.pushpull.chunks == 0 ||
				msg->u.pushpull.chunk >= msg->u.pushpull.chunks)
				return false;
			break;
		case QUORUM_WIRE_ACK:
		case QUORUM_WIRE_NACK:
		case QUORUM_WIRE_GOSSIP:
			break;
	}

	for (unsigned i = 0; i < msg->n_updates; i++)
		if (!wire_update_check(&msg->updates[i]))
			return false;
	return true;
}

static void
wire_put(wire_cursor *c, const void *src, size_t n)
{
	if (!c->ok || c->len - c->pos < n)
	{
		c->ok = false;
		return;
	}
	memcpy(c->wbuf + c->pos, src, n);
	c->pos += n;
}

static void
wire_put_uint(wire_cursor *c, uint64_t v, unsigned bytes)
{
	uint8_t		tmp[8];

	for (unsigned i = 0; i < bytes; i++)
		tmp[i] = (uint8_t) (v >> (8 * (bytes - 1 - i)));
	wire_put(c, tmp, bytes);
}

static void
wire_put_str(wire_cursor *c, const char *s, size_t max, unsigned len_bytes)
{
	size_t		n = wire_strlen(s, max);

	wire_put_uint(c, n, len_bytes);
	wire_put(c, s, n);
}

static void
wire_put_addr(wire_cursor *c, const struct quorum_addr *addr)
{
	wire_put_uint(c, addr->family, 1);
	wire_put(c, addr->bytes, addr->family == 4 ? 4 : 16);
	wire_put_uint(c, addr->port, 2);
}

static void
wire_put_update(wire_cursor *c, const struct quorum_wire_update *up)
{
	wire_put_uint(c, (unsigned) up->state, 1);
	wire_put_str(c, up->name, QUORUM_NAME_MAX, 1);
	wire_put_addr(c, &up->addr);
	wire_put_uint(c, up->incarnation, 8);
	wire_put_str(c, up->from, QUORUM_NAME_MAX, 1);
	wire_put_uint(c, up->meta_version, 8);
	wire_put_uint(c, up->has_meta ? 1 : 0, 1);
	if (!up->has_meta)
		return;
	wire_put_uint(c, (unsigned) up->meta.role, 1);
	wire_put_uint(c, up->meta.timeline, 4);
	wire_put_uint(c, up->meta.lsn, 8);
	wire_put_uint(c, (uint32_t) up->meta.priority, 4);
	wire_put_str(c, up->meta.conninfo, QUORUM_CONNINFO_MAX, 2);
	wire_put_str(c, up->meta.tags, QUORUM_TAGS_MAX, 1);
}

static void
wire_put_body(wire_cursor *c, const struct quorum_wire_msg *msg)
{
	if (msg->type == QUORUM_WIRE_RAFT)
	{
		wire_put_raft(c, &msg->u.raft);
		return;
	}
	switch (msg->type)
	{
		case QUORUM_WIRE_PING:
			wire_put_uint(c, msg->u.ping.probe_seq, 4);
			wire_put_str(c, msg->u.ping.target, QUORUM_NAME_MAX, 1);
			break;
		case QUORUM_WIRE_ACK:
		case QUORUM_WIRE_NACK:
			wire_put_uint(c, msg->u.ack.probe_seq, 4);
			break;
		case QUORUM_WIRE_PING_REQ:
			wire_put_uint(c, msg->u.ping_req.probe_seq, 4);
			wire_put_str(c, msg->u.ping_req.target, QUORUM_NAME_MAX, 1);
			wire_put_addr(c, &msg->u.ping_req.target_addr);
			break;
		case QUORUM_WIRE_PUSHPULL:
			wire_put_uint(c, msg->u.pushpull.is_reply ? 1 : 0, 1);
			wire_put_uint(c, msg->u.pushpull.exchange, 4);
			wire_put_uint(c, msg->u.pushpull.chunk, 2);
			wire_put_uint(c, msg->u.pushpull.chunks, 2);
			break;
		case QUORUM_WIRE_GOSSIP:
			break;
	}
}

int
quorum__wire_encode(const struct quorum_wire_msg *msg, uint8_t *buf,
					size_t buf_len)
{
	wire_cursor c = {.wbuf = buf, .len = buf_len, .ok = true};
	size_t		total;

	if (msg == NULL || (buf == NULL && buf_len > 0) || !wire_msg_check(msg))
		return QUORUM_EINVAL;

	/*
	 * Refuse before writing anything, so a caller that gets ENOSPACE can
	 * retry with fewer updates and never sees a half-written buffer.
	 */
	total = quorum__wire_base_size(msg);
	for (unsigned i = 0; i < msg->n_updates; i++)
		total += quorum__wire_update_size(&msg->updates[i]);
	if (total > buf_len)
		return QUORUM_ENOSPACE;

	wire_put_uint(&c, QUORUM_WIRE_MAGIC0, 1);
	wire_put_uint(&c, QUORUM_WIRE_MAGIC1, 1);
	wire_put_uint(&c, QUORUM_WIRE_VERSION, 1);
	wire_put_uint(&c, (unsigned) msg->type, 1);
	wire_put_uint(&c, msg->cluster_id, 8);
	wire_put_str(&c, msg->sender, QUORUM_NAME_MAX, 1);
	wire_put_addr(&c, &msg->sender_addr);
	wire_put_uint(&c, msg->boot, 8);
	wire_put_uint(&c, msg->seq, 8);
	wire_put_body(&c, msg);
	wire_put_uint(&c, msg->n_updates, 1);
	for (unsigned i = 0; i < msg->n_updates; i++)
		wire_put_update(&c, &msg->updates[i]);

	/* The size functions and the writer must agree to the byte. */
	if (!c.ok || c.pos != total)
		return QUORUM_EINVAL;
	return (int) c.pos;
}

/* ---------------------------------------------------------------------
 * Decoding
 * ---------------------------------------------------------------------
 */

static const uint8_t *
wire_take(wire_cursor *c, size_t n)
{
	const uint8_t *p;

	if (!c->ok || c->len - c->pos < n)
	{
		c->ok = false;
		return NULL;
	}
	p = c->rbuf + c->pos;
	c->pos += n;
	return p;
}

/* Reads 0 on a short buffer; the cursor then reports the failure. */
static uint64_t
wire_get_uint(wire_cursor *c, unsigned bytes)
{
	const uint8_t *p = wire_take(c, bytes);
	uint64_t	v = 0;

	if (p == NULL)
		return 0;
	for (unsigned i = 0; i < bytes; i++)
		v = (v << 8) | p[i];
	return v;
}

/*
 * Read a string into dst (max + 1 bytes).  min is 1 for names that must be
 * present.  A NUL inside would silently shorten the string on the receiving
 * side, so it is malformed rather than truncated.
 */
static void
wire_get_str(wire_cursor *c, char *dst, size_t min, size_t max,
			 unsigned len_bytes)
{
	size_t		n = (size_t) wire_get_uint(c, len_bytes);
	const uint8_t *p;

	dst[0] = '\0';
	if (!c->ok)
		return;
	if (n < min || n > max)
	{
		c->ok = false;
		return;
	}
	p = wire_take(c, n);
	if (p == NULL)
		return;
	if (memchr(p, '\0', n) != NULL)
	{
		c->ok = false;
		return;
	}
	memcpy(dst, p, n);
	dst[n] = '\0';
}

static void
wire_get_addr(wire_cursor *c, struct quorum_addr *addr)
{
	const uint8_t *p;
	unsigned	family = (unsigned) wire_get_uint(c, 1);
	size_t		n;

	memset(addr, 0, sizeof(*addr));
	if (!c->ok)
		return;
	if (family != 4 && family != 6)
	{
		c->ok = false;
		return;
	}
	n = family == 4 ? 4 : 16;
	p = wire_take(c, n);
	if (p == NULL)
		return;
	addr->family = (uint8_t) family;
	memcpy(addr->bytes, p, n);
	addr->port = (uint16_t) wire_get_uint(c, 2);
}

/* A flag byte must be exactly 0 or 1, so that each message has one form. */
static bool
wire_get_bool(wire_cursor *c)
{
	unsigned	v = (unsigned) wire_get_uint(c, 1);

	if (v > 1)
		c->ok = false;
	return v == 1;
}

static void
wire_get_meta(wire_cursor *c, struct quorum_meta *meta)
{
	unsigned	role = (unsigned) wire_get_uint(c, 1);

	if (!wire_role_valid(role))
		c->ok = false;
	meta->role = (enum quorum_role) (c->ok ? role : 0);
	meta->timeline = (uint32_t) wire_get_uint(c, 4);
	meta->lsn = wire_get_uint(c, 8);
	meta->priority = (int32_t) (uint32_t) wire_get_uint(c, 4);
	wire_get_str(c, meta->conninfo, 0, QUORUM_CONNINFO_MAX, 2);
	wire_get_str(c, meta->tags, 0, QUORUM_TAGS_MAX, 1);
}

static void
wire_get_update(wire_cursor *c, struct quorum_wire_update *up)
{
	unsigned	state;

	memset(up, 0, sizeof(*up));
	state = (unsigned) wire_get_uint(c, 1);
	if (!wire_state_valid(state))
		c->ok = false;
	up->state = (enum quorum_member_state) (c->ok ? state : 0);
	wire_get_str(c, up->name, 1, QUORUM_NAME_MAX, 1);
	wire_get_addr(c, &up->addr);
	up->incarnation = wire_get_uint(c, 8);
	wire_get_str(c, up->from, 0, QUORUM_NAME_MAX, 1);
	up->meta_version = wire_get_uint(c, 8);
	up->has_meta = wire_get_bool(c);
	if (c->ok && up->has_meta)
		wire_get_meta(c, &up->meta);
}

static void
wire_get_body(wire_cursor *c, struct quorum_wire_msg *msg)
{
	if (msg->type == QUORUM_WIRE_RAFT)
	{
		wire_get_raft(c, &msg->u.raft);
		memcpy(msg->u.raft.from, msg->sender, sizeof(msg->u.raft.from));
		msg->u.raft.boot = msg->boot;
		return;
	}
	switch (msg->type)
	{
		case QUORUM_WIRE_PING:
			msg->u.ping.probe_seq = (uint32_t) wire_get_uint(c, 4);
			wire_get_str(c, msg->u.ping.target, 1, QUORUM_NAME_MAX, 1);
			break;
		case QUORUM_WIRE_ACK:
		case QUORUM_WIRE_NACK:
			msg->u.ack.probe_seq = (uint32_t) wire_get_uint(c, 4);
			break;
		case QUORUM_WIRE_PING_REQ:
			msg->u.ping_req.probe_seq = (uint32_t) wire_get_uint(c, 4);
			wire_get_str(c, msg->u.ping_req.target, 1, QUORUM_NAME_MAX, 1);
			wire_get_addr(c, &msg->u.ping_req.target_addr);
			break;
		case QUORUM_WIRE_PUSHPULL:
			msg->u.pushpull.is_reply = wire_get_bool(c);
			msg->u.pushpull.exchange = (uint32_t) wire_get_uint(c, 4);
			msg->u.pushpull.chunk = (uint16_t) wire_get_uint(c, 2);
			msg->u.pushpull.chunks = (uint16_t) wire_get_uint(c, 2);
			if (msg->u.pushpull.chunk >= msg->u.pushpull.chunks)
				c->ok = false;
			break;
		case QUORUM_WIRE_GOSSIP:
			break;
	}
}

/*
 * Only the header and body are cleared up front; each update is cleared as
 * it is read, so decoding a small datagram does not wipe all
 * QUORUM_WIRE_UPDATES_MAX slots.
 */
int
quorum__wire_decode(const uint8_t *buf, size_t len,
					struct quorum_wire_msg *msg, int *version_out)
{
	wire_cursor c = {.rbuf = buf, .len = len, .ok = true};
	unsigned	type;

	if (version_out != NULL)
		*version_out = -1;
	if ((buf == NULL && len > 0) || msg == NULL)
		return QUORUM_EINVAL;
	memset(msg, 0, offsetof(struct quorum_wire_msg, updates));

	if (len < 3 || buf[0] != QUORUM_WIRE_MAGIC0 || buf[1] != QUORUM_WIRE_MAGIC1)
		return QUORUM_EMALFORMED;
	if (version_out != NULL)
		*version_out = buf[2];
	if (buf[2] != QUORUM_WIRE_VERSION)
		return QUORUM_EMALFORMED;
	c.pos = 3;

	type = (unsigned) wire_get_uint(&c, 1);
	if (!c.ok || !wire_type_valid(type))
		return QUORUM_EMALFORMED;
	msg->type = (enum quorum_wire_type) type;
	msg->cluster_id = wire_get_uint(&c, 8);
	wire_get_str(&c, msg->sender, 1, QUORUM_NAME_MAX, 1);
	wire_get_addr(&c, &msg->sender_addr);
	msg->boot = wire_get_uint(&c, 8);
	msg->seq = wire_get_uint(&c, 8);
	wire_get_body(&c, msg);

	msg->n_updates = (unsigned) wire_get_uint(&c, 1);
	if (!c.ok || msg->n_updates > wire_updates_max(msg->type))
		return QUORUM_EMALFORMED;
	for (unsigned i = 0; i < msg->n_updates && c.ok; i++)
		wire_get_update(&c, &msg->updates[i]);

	if (!c.ok || c.pos != len)
		return QUORUM_EMALFORMED;
	return 0;
}

/* ---------------------------------------------------------------------
 * Election messages (raft.h)
 * ---------------------------------------------------------------------
 */

static size_t
wire_entry_size(const struct quorum_decision *e)
{
	return 8 + 1 + 1 + wire_strlen(e->name, QUORUM_NAME_MAX) +
		(e->member_id != 0 ? 8 : 0);
}

static bool
wire_snap_has_ids(const struct quorum_log_snapshot *s)
{
	for (unsigned i = 0; i < s->n_voters && i < QUORUM_VOTERS_MAX; i++)
		if (s->voter_ids[i] != 0)
			return true;
	return false;
}

static size_t
wire_raft_body_size(const struct quorum__raft_msg *m)
{
	size_t		size = 0;

	switch (m->type)
	{
		case QUORUM__RAFT_MSG_PREVOTE:
		case QUORUM__RAFT_MSG_VOTE:
			return 8 + 8 + WIRE_RAFT_POS + 1;
		case QUORUM__RAFT_MSG_PREVOTE_RESP:
		case QUORUM__RAFT_MSG_VOTE_RESP:
			return 1 + 1 + 4;
		case QUORUM__RAFT_MSG_APPEND:
			size = 8 + 8 + 8 + 8 + 1;
			for (uint32_t i = 0; i < m->u.append.n_entries &&
				 i < QUORUM__RAFT_APPEND_MAX; i++)
				size += wire_entry_size(&m->u.append.entries[i]);
			return size;
		case QUORUM__RAFT_MSG_APPEND_RESP:
			return 1 + 8 + 8 + WIRE_RAFT_POS + 1 +
				(m->u.append_resp.promise_ms != 0 ? 4 : 0) +
				(m->u.append_resp.member_id != 0 ? 8 + 8 : 0);
		case QUORUM__RAFT_MSG_SNAPSHOT:
			size = 8 + 8 + 8 + 1 + 1 + 8;
			for (unsigned i = 0; i < m->u.snapshot.snap.n_voters &&
				 i < QUORUM_VOTERS_MAX; i++)
				size += 1 + wire_strlen(m->u.snapshot.snap.voters[i], QUORUM_NAME_MAX) +
					(wire_snap_has_ids(&m->u.snapshot.snap) ? 8 : 0);
			return size;
		case QUORUM__RAFT_MSG_TIMEOUT_NOW:
		case QUORUM__RAFT_MSG_RESIGN:
			return 0;
		case QUORUM__RAFT_MSG_PROPOSE:
			return wire_entry_size(&m->u.propose.entry);
		case QUORUM__RAFT_MSG_HELLO:
			return 1;
		case QUORUM__RAFT_MSG_MEMBER:
			return 8 + 8;
	}
	return 0;
}

static size_t
wire_raft_size(const struct quorum__raft_msg *m)
{
	return WIRE_RAFT_FIXED + 1 + wire_strlen(m->to, QUORUM_NAME_MAX) +
		wire_raft_body_size(m);
}

/* An entry of an APPEND may be any decision; a proposal not a NOOP. */
static bool
wire_entry_check(const struct quorum_decision *e, unsigned first_type)
{
	return e->type >= first_type && e->type <= QUORUM_DECISION_SWITCHOVER &&
		wire_strlen(e->name, QUORUM_NAME_MAX) <= QUORUM_NAME_MAX;
}

static bool
wire_raft_check(const struct quorum__raft_msg *m)
{
	if (m->type < QUORUM__RAFT_MSG_PREVOTE || m->type > QUORUM__RAFT_MSG_TYPE_MAX ||
		!wire_name_check(m->to))
		return false;
	switch (m->type)
	{
		case QUORUM__RAFT_MSG_PREVOTE:
		case QUORUM__RAFT_MSG_VOTE:
			return wire_role_valid(m->u.vote.pos.role);
		case QUORUM__RAFT_MSG_PREVOTE_RESP:
		case QUORUM__RAFT_MSG_VOTE_RESP:
			return m->u.vote_resp.refusal <= QUORUM__RAFT_REFUSAL_MAX &&
				m->u.vote_resp.granted ==
				(m->u.vote_resp.refusal == QUORUM__RAFT_GRANTED);
		case QUORUM__RAFT_MSG_APPEND:
			if (m->u.append.n_entries > QUORUM__RAFT_APPEND_MAX ||
				m->u.append.round >= WIRE_ROUND_ASK)
				return false;
			for (uint32_t i = 0; i < m->u.append.n_entries; i++)
				if (!wire_entry_check(&m->u.append.entries[i], QUORUM_DECISION_NOOP))
					return false;
			return true;
		case QUORUM__RAFT_MSG_APPEND_RESP:
			return wire_role_valid(m->u.append_resp.pos.role) &&
				m->u.append_resp.round < WIRE_ROUND_ASK &&
				(m->u.append_resp.member_id != 0 || m->u.append_resp.persist_seq == 0);
		case QUORUM__RAFT_MSG_SNAPSHOT:
			if (m->u.snapshot.snap.n_voters > QUORUM_VOTERS_MAX ||
				m->u.snapshot.round >= WIRE_ROUND_ASK)
				return false;
			for (unsigned i = 0; i < m->u.snapshot.snap.n_voters; i++)
				if (!wire_name_check(m->u.snapshot.snap.voters[i]))
					return false;
			return true;
		case QUORUM__RAFT_MSG_TIMEOUT_NOW:
		case QUORUM__RAFT_MSG_RESIGN:
			return true;
		case QUORUM__RAFT_MSG_PROPOSE:
			return wire_entry_check(&m->u.propose.entry, QUORUM_DECISION_ADD_VOTER);
		case QUORUM__RAFT_MSG_HELLO:
			return true;
		case QUORUM__RAFT_MSG_MEMBER:
			return m->u.member.member_id != 0;
	}
	return false;
}

/*
 * A leader asks for promises in the top bit of the round of its APPEND or
 * SNAPSHOT: release 0.1 reads a round only to echo it in its APPEND_RESP,
 * and decodes any value, so it stays the one voter that answers without a
 * promise, while a current voter answers with one only when asked, in a
 * layout 0.1's leader could not decode.  Decoding strips the bit from every
 * round, the echo of a 0.1 voter included.
 */
static void
wire_put_round(wire_cursor *c, uint64_t round, bool asked)
{
	wire_put_uint(c, round | (asked ? WIRE_ROUND_ASK : 0), 8);
}

static uint64_t
wire_get_round(wire_cursor *c, bool *asked)
{
	uint64_t	v = wire_get_uint(c, 8);

	*asked = (v & WIRE_ROUND_ASK) != 0;
	return v & ~WIRE_ROUND_ASK;
}

static void
wire_put_pos(wire_cursor *c, const struct quorum__raft_pos *pos)
{
	wire_put_uint(c, pos->timeline, 4);
	wire_put_uint(c, pos->lsn, 8);
	wire_put_uint(c, pos->role, 1);
	wire_put_uint(c, (uint32_t) pos->priority, 4);
}

static void
wire_put_entry(wire_cursor *c, const struct quorum_decision *e)
{
	wire_put_uint(c, e->term, 8);
	wire_put_uint(c, e->type | (e->member_id != 0 ? WIRE_HAS_IDS : 0), 1);
	wire_put_str(c, e->name, QUORUM_NAME_MAX, 1);
	if (e->member_id != 0)
		wire_put_uint(c, e->member_id, 8);
}

static void
wire_put_raft_body(wire_cursor *c, const struct quorum__raft_msg *m)
{
	switch (m->type)
	{
		case QUORUM__RAFT_MSG_PREVOTE:
		case QUORUM__RAFT_MSG_VOTE:
			wire_put_uint(c, m->u.vote.last_index, 8);
			wire_put_uint(c, m->u.vote.last_term, 8);
			wire_put_pos(c, &m->u.vote.pos);
			wire_put_uint(c, m->u.vote.transfer ? 1 : 0, 1);
			break;
		case QUORUM__RAFT_MSG_PREVOTE_RESP:
		case QUORUM__RAFT_MSG_VOTE_RESP:
			wire_put_uint(c, m->u.vote_resp.granted ? 1 : 0, 1);
			wire_put_uint(c, m->u.vote_resp.refusal, 1);
			wire_put_uint(c, m->u.vote_resp.sticky_ms, 4);
			break;
		case QUORUM__RAFT_MSG_APPEND:
			wire_put_uint(c, m->u.append.prev_index, 8);
			wire_put_uint(c, m->u.append.prev_term, 8);
			wire_put_uint(c, m->u.append.commit, 8);
			wire_put_round(c, m->u.append.round, m->u.append.promise_asked);
			wire_put_uint(c, m->u.append.n_entries, 1);
			for (uint32_t i = 0; i < m->u.append.n_entries; i++)
				wire_put_entry(c, &m->u.append.entries[i]);
			break;
		case QUORUM__RAFT_MSG_APPEND_RESP:
			wire_put_uint(c, m->u.append_resp.success ? 1 : 0, 1);
			wire_put_uint(c, m->u.append_resp.match_index, 8);
			wire_put_round(c, m->u.append_resp.round, m->u.append_resp.promise_asked);
			wire_put_pos(c, &m->u.append_resp.pos);
			wire_put_uint(c, (m->u.append_resp.voter ? WIRE_RESP_VOTER : 0) |
						  (m->u.append_resp.promise_ms != 0 ? WIRE_RESP_PROMISE : 0) |
						  (m->u.append_resp.member_id != 0 ? WIRE_RESP_MEMBER : 0), 1);
			if (m->u.append_resp.promise_ms != 0)
				wire_put_uint(c, m->u.append_resp.promise_ms, 4);
			if (m->u.append_resp.member_id != 0)
			{
				wire_put_uint(c, m->u.append_resp.member_id, 8);
				wire_put_uint(c, m->u.append_resp.persist_seq, 8);
			}
			break;
		case QUORUM__RAFT_MSG_SNAPSHOT:
			wire_put_uint(c, m->u.snapshot.snap.index, 8);
			wire_put_uint(c, m->u.snapshot.snap.term, 8);
			wire_put_uint(c, m->u.snapshot.snap.config_id, 8);
			wire_put_uint(c, m->u.snapshot.snap.paused ? 1 : 0, 1);
			wire_put_uint(c, m->u.snapshot.snap.n_voters |
						  (wire_snap_has_ids(&m->u.snapshot.snap) ? WIRE_HAS_IDS : 0), 1);
			for (unsigned i = 0; i < m->u.snapshot.snap.n_voters; i++)
			{
				wire_put_str(c, m->u.snapshot.snap.voters[i], QUORUM_NAME_MAX, 1);
				if (wire_snap_has_ids(&m->u.snapshot.snap))
					wire_put_uint(c, m->u.snapshot.snap.voter_ids[i], 8);
			}
			wire_put_round(c, m->u.snapshot.round, m->u.snapshot.promise_asked);
			break;
		case QUORUM__RAFT_MSG_TIMEOUT_NOW:
		case QUORUM__RAFT_MSG_RESIGN:
			break;
		case QUORUM__RAFT_MSG_PROPOSE:
			wire_put_entry(c, &m->u.propose.entry);
			break;
		case QUORUM__RAFT_MSG_HELLO:
			wire_put_uint(c, m->u.hello.voter ? 1 : 0, 1);
			break;
		case QUORUM__RAFT_MSG_MEMBER:
			wire_put_uint(c, m->u.member.member_id, 8);
			wire_put_uint(c, m->u.member.persist_seq, 8);
			break;
	}
}

static void
wire_put_raft(wire_cursor *c, const struct quorum__raft_msg *m)
{
	wire_put_uint(c, m->type, 1);
	wire_put_str(c, m->to, QUORUM_NAME_MAX, 1);
	wire_put_uint(c, m->term, 8);
	wire_put_uint(c, m->config_id, 8);
	wire_put_raft_body(c, m);
}

static void
wire_get_pos(wire_cursor *c, struct quorum__raft_pos *pos)
{
	pos->timeline = (uint32_t) wire_get_uint(c, 4);
	pos->lsn = wire_get_uint(c, 8);
	pos->role = (uint8_t) wire_get_uint(c, 1);
	pos->priority = (int32_t) (uint32_t) wire_get_uint(c, 4);
	if (!wire_role_valid(pos->role))
		c->ok = false;
}

static void
wire_get_entry(wire_cursor *c, struct quorum_decision *e, unsigned first_type)
{
	unsigned	type;

	e->term = wire_get_uint(c, 8);
	type = (unsigned) wire_get_uint(c, 1);
	e->type = (uint8_t) (type & ~(unsigned) WIRE_HAS_IDS);
	wire_get_str(c, e->name, 0, QUORUM_NAME_MAX, 1);
	e->member_id = 0;
	if (type & WIRE_HAS_IDS)
	{
		e->member_id = wire_get_uint(c, 8);
		/* Canonical: id 0 is sent as none at all. */
		if (e->member_id == 0)
			c->ok = false;
	}
	if (e->type < first_type || e->type > QUORUM_DECISION_SWITCHOVER)
		c->ok = false;
}

static void
wire_get_votes(wire_cursor *c, struct quorum__raft_msg *m)
{
	if (m->type == QUORUM__RAFT_MSG_PREVOTE || m->type == QUORUM__RAFT_MSG_VOTE)
	{
		m->u.vote.last_index = wire_get_uint(c, 8);
		m->u.vote.last_term = wire_get_uint(c, 8);
		wire_get_pos(c, &m->u.vote.pos);
		m->u.vote.transfer = wire_get_bool(c);
		return;
	}
	m->u.vote_resp.granted = wire_get_bool(c);
	m->u.vote_resp.refusal = (uint8_t) wire_get_uint(c, 1);
	m->u.vote_resp.sticky_ms = (uint32_t) wire_get_uint(c, 4);
	if (m->u.vote_resp.refusal > QUORUM__RAFT_REFUSAL_MAX ||
		m->u.vote_resp.granted != (m->u.vote_resp.refusal == QUORUM__RAFT_GRANTED))
		c->ok = false;
}

static void
wire_get_append(wire_cursor *c, struct quorum__raft_msg *m)
{
	m->u.append.prev_index = wire_get_uint(c, 8);
	m->u.append.prev_term = wire_get_uint(c, 8);
	m->u.append.commit = wire_get_uint(c, 8);
	m->u.append.round = wire_get_round(c, &m->u.append.promise_asked);
	m->u.append.n_entries = (uint32_t) wire_get_uint(c, 1);
	if (m->u.append.n_entries > QUORUM__RAFT_APPEND_MAX)
		c->ok = false;
	for (uint32_t i = 0; i < m->u.append.n_entries && c->ok; i++)
		wire_get_entry(c, &m->u.append.entries[i], QUORUM_DECISION_NOOP);
}

static void
wire_get_snapshot(wire_cursor *c, struct quorum__raft_msg *m)
{
	struct quorum_log_snapshot *snap = &m->u.snapshot.snap;

	snap->index = wire_get_uint(c, 8);
	snap->term = wire_get_uint(c, 8);
	snap->config_id = wire_get_uint(c, 8);
	unsigned	count;

	snap->paused = wire_get_bool(c);
	count = (unsigned) wire_get_uint(c, 1);
	snap->n_voters = (uint8_t) (count & ~(unsigned) WIRE_HAS_IDS);
	if (snap->n_voters > QUORUM_VOTERS_MAX)
		c->ok = false;
	for (unsigned i = 0; i < snap->n_voters && c->ok; i++)
	{
		wire_get_str(c, snap->voters[i], 1, QUORUM_NAME_MAX, 1);
		if (count & WIRE_HAS_IDS)
			snap->voter_ids[i] = wire_get_uint(c, 8);
	}
	/* Canonical: ids only if one of them is not 0. */
	if ((count & WIRE_HAS_IDS) && !wire_snap_has_ids(snap))
		c->ok = false;
	m->u.snapshot.round = wire_get_round(c, &m->u.snapshot.promise_asked);
}

/*
 * An APPEND_RESP's last byte was the voter flag (0 or 1), which 0.1 still
 * sends and reads; a promise rides behind a second bit, so a 0.1 answer
 * still decodes (promise 0: unknown).  0.1's decoder would drop an answer
 * with a promise as malformed, so only a leader that asked gets one.
 */
static void
wire_get_resp_flags(wire_cursor *c, struct quorum__raft_msg *m)
{
	unsigned	flags = (unsigned) wire_get_uint(c, 1);

	if (flags & ~(unsigned) (WIRE_RESP_VOTER | WIRE_RESP_PROMISE | WIRE_RESP_MEMBER))
		c->ok = false;
	m->u.append_resp.voter = (flags & WIRE_RESP_VOTER) != 0;
	if (flags & WIRE_RESP_PROMISE)
	{
		m->u.append_resp.promise_ms = (uint32_t) wire_get_uint(c, 4);
		/* Canonical: a zero promise is sent as none at all. */
		if (m->u.append_resp.promise_ms == 0)
			c->ok = false;
	}
	if (flags & WIRE_RESP_MEMBER)
	{
		m->u.append_resp.member_id = wire_get_uint(c, 8);
		m->u.append_resp.persist_seq = wire_get_uint(c, 8);
		if (m->u.append_resp.member_id == 0)
			c->ok = false;
	}
}

static void
wire_get_raft(wire_cursor *c, struct quorum__raft_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->type = (enum quorum__raft_msg_type) wire_get_uint(c, 1);
	if (m->type < QUORUM__RAFT_MSG_PREVOTE || m->type > QUORUM__RAFT_MSG_TYPE_MAX)
	{
		c->ok = false;
		return;
	}
	wire_get_str(c, m->to, 1, QUORUM_NAME_MAX, 1);
	m->term = wire_get_uint(c, 8);
	m->config_id = wire_get_uint(c, 8);
	switch (m->type)
	{
		case QUORUM__RAFT_MSG_PREVOTE:
		case QUORUM__RAFT_MSG_VOTE:
		case QUORUM__RAFT_MSG_PREVOTE_RESP:
		case QUORUM__RAFT_MSG_VOTE_RESP:
			wire_get_votes(c, m);
			break;
		case QUORUM__RAFT_MSG_APPEND:
			wire_get_append(c, m);
			break;
		case QUORUM__RAFT_MSG_APPEND_RESP:
			m->u.append_resp.success = wire_get_bool(c);
			m->u.append_resp.match_index = wire_get_uint(c, 8);
			m->u.append_resp.round = wire_get_round(c, &m->u.append_resp.promise_asked);
			wire_get_pos(c, &m->u.append_resp.pos);
			wire_get_resp_flags(c, m);
			break;
		case QUORUM__RAFT_MSG_SNAPSHOT:
			wire_get_snapshot(c, m);
			break;
		case QUORUM__RAFT_MSG_TIMEOUT_NOW:
		case QUORUM__RAFT_MSG_RESIGN:
			break;
		case QUORUM__RAFT_MSG_PROPOSE:
			wire_get_entry(c, &m->u.propose.entry, QUORUM_DECISION_ADD_VOTER);
			break;
		case QUORUM__RAFT_MSG_HELLO:
			m->u.hello.voter = wire_get_bool(c);
			break;
		case QUORUM__RAFT_MSG_MEMBER:
			m->u.member.member_id = wire_get_uint(c, 8);
			m->u.member.persist_seq = wire_get_uint(c, 8);
			if (m->u.member.member_id == 0)
				c->ok = false;
			break;
	}
}
