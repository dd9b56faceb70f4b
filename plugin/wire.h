/*-------------------------------------------------------------------------
 *
 * wire.h
 *	  Encoding and decoding of libquorum's gossip messages (private).
 *
 * Pure functions over byte buffers: no state, no IO, no allocation.  This is
 * the plaintext inside a sealed datagram (seal.h).  Decoding is
 * bounds-checked at every field and rejects, with QUORUM_EMALFORMED, anything
 * that is truncated, has trailing bytes, an unknown message type, a string
 * that is too long or not NUL-free, or a count above its limit.  A fuzz
 * target exercises quorum__wire_decode().
 *
 * Decoding is also canonical: names (sender, ping and ping-req target,
 * update name) must not be empty, flag bytes (has_meta, is_reply) are 0 or
 * 1, state and role are known enum values, address family is 4 or 6, and a
 * push-pull chunk is below its chunk count (so chunks >= 1).  Every message
 * that decodes re-encodes to the same bytes, and encode refuses with
 * QUORUM_EINVAL whatever decode would reject.
 *
 * Layout (all integers big-endian):
 *
 *   header   magic "PQ" (2) | version (1) | type (1) | cluster_id (8)
 *            | sender name (str) | sender addr (addr) | boot (8) | seq (8)
 *   body     depends on type, see struct quorum_wire_msg
 *   updates  count (1) | count * update          (piggybacked gossip)
 *
 *   str      length (1) | bytes, no NUL inside, length <= the field's max
 *   addr     family (1: 4 or 6) | 4 or 16 bytes | port (2)
 *   update   state (1) | name (str) | addr | incarnation (8) | from (str)
 *            | meta_version (8) | has_meta (1) [ | meta ]
 *   meta     role (1) | timeline (4) | lsn (8) | priority (4, signed)
 *            | conninfo (str16: length (2) | bytes) | tags (str)
 *
 *   RAFT body  raft type (1) | to (str) | term (8) | config_id (8) | then
 *     PREVOTE, VOTE            last_index (8) | last_term (8) | pos
 *                              | transfer (1)
 *     PREVOTE_RESP, VOTE_RESP  granted (1) | refusal (1) | sticky_ms (4)
 *     APPEND                   prev_index (8) | prev_term (8) | commit (8)
 *                              | round (8, ask) | count (1) | count * entry
 *     APPEND_RESP              success (1) | match_index (8) | round (8, ask)
 *                              | pos | flags (1: voter 0x01, promise 0x02,
 *                              member 0x04) [ | promise_ms (4, not 0) ]
 *                              [ | member_id (8, not 0) | persist_seq (8) ]
 *     SNAPSHOT                 index (8) | term (8) | config_id (8)
 *                              | paused (1) | count (1, ids 0x80)
 *                              | count * (name (str) [ | member_id (8) ])
 *                              | round (8, ask)
 *     TIMEOUT_NOW, RESIGN      nothing
 *     PROPOSE                  entry
 *     HELLO                    voter (1)
 *     MEMBER                   member_id (8, not 0) | persist_seq (8)
 *   pos      timeline (4) | lsn (8) | role (1) | priority (4, signed)
 *   entry    term (8) | type (1, id 0x80) | name (str) [ | member_id (8, not 0) ]
 *   ids      a snapshot's ids follow only if one is not 0; release 0.1
 *            decodes neither ids nor MEMBER, and gets none but MEMBER
 *   ask      a round's top bit: the leader reads promises (promise_asked);
 *            release 0.1 echoes it unread, and must get no promise back
 *   A granted vote has refusal 0 and a refused one not; names of voters,
 *   "to" and the sender are never empty; counts stay within the limits.
 *
 * plugin/wire.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef QUORUM_WIRE_H
#define QUORUM_WIRE_H

#include "quorum/types.h"
#include "raft_msg.h"

#define QUORUM_WIRE_MAGIC0 'P'
#define QUORUM_WIRE_MAGIC1 'Q'
#define QUORUM_WIRE_VERSION 1

/* Most piggybacked updates one message carries. */
#define QUORUM_WIRE_UPDATES_MAX 64
/* Most member entries one push-pull chunk carries. */
#define QUORUM_WIRE_PUSHPULL_MAX 64

enum quorum_wire_type
{
	QUORUM_WIRE_PING = 1,		/* probe; target must answer ACK */
	QUORUM_WIRE_ACK = 2,		/* answer to PING, or relayed for PING_REQ */
	QUORUM_WIRE_PING_REQ = 3,	/* please probe target for me */
	QUORUM_WIRE_NACK = 4,		/* relay got no ack from target in time */
	QUORUM_WIRE_PUSHPULL = 5,	/* one chunk of a full-state exchange */
	QUORUM_WIRE_GOSSIP = 6		/* updates only (no probe) */
};

/*
 * An election message (raft_msg.h) to one member.  It shares the header but is
 * not gossip: its code lies outside enum quorum_wire_type, so that the
 * membership code's switches over gossip types stay exhaustive, and node.c
 * hands it to the election before the membership code could see it.
 */
#define QUORUM_WIRE_RAFT ((enum quorum_wire_type) 7)

/* A member's state as it travels in gossip. */
struct quorum_wire_update
{
	enum quorum_member_state state;
	char		name[QUORUM_NAME_MAX + 1];
	struct quorum_addr addr;
	uint64_t	incarnation;
	/* For SUSPECT and DEAD: who says so (Lifeguard counts distinct ones). */
	char		from[QUORUM_NAME_MAX + 1];
	uint64_t	meta_version;
	bool		has_meta;
	struct quorum_meta meta;
};

struct quorum_wire_msg
{
	/* header */
	enum quorum_wire_type type;
	uint64_t	cluster_id;
	char		sender[QUORUM_NAME_MAX + 1];
	struct quorum_addr sender_addr;
	uint64_t	boot;			/* sender's incarnation_start: one per run */
	uint64_t	seq;			/* per-boot datagram counter, from 1 */

	/* body */
	union
	{
		struct
		{
			uint32_t	probe_seq;
			char		target[QUORUM_NAME_MAX + 1];	/* who must answer */
		}			ping;		/* PING */
		struct
		{
			uint32_t	probe_seq;
		}			ack;		/* ACK and NACK */
		struct
		{
			uint32_t	probe_seq;
			char		target[QUORUM_NAME_MAX + 1];
			struct quorum_addr target_addr;
		}			ping_req;	/* PING_REQ */
		struct
		{
			bool		is_reply;	/* false: push, answer with own state */
			uint32_t	exchange;	/* identifies one push-pull exchange */
			uint16_t	chunk;		/* 0 .. chunks-1 */
			uint16_t	chunks;
		}			pushpull;	/* PUSHPULL; entries are in updates[] */
		struct quorum__raft_msg raft;	/* RAFT; from is the sender */
	}			u;

	/* piggybacked gossip; for PUSHPULL, the state entries */
	unsigned	n_updates;
	struct quorum_wire_update updates[QUORUM_WIRE_UPDATES_MAX];
};

/* FNV-1a 64 of the cluster name: the cluster_id in every header. */
uint64_t	quorum__wire_cluster_id(const char *cluster);

/*
 * Encoded size of one update, so a sender can pack updates up to the
 * datagram limit without encoding twice.
 */
size_t		quorum__wire_update_size(const struct quorum_wire_update *update);

/*
 * Encoded size of msg's header and body, without the updates but with their
 * count byte: the whole message is this plus the sum of the update sizes.
 */
size_t		quorum__wire_base_size(const struct quorum_wire_msg *msg);

/*
 * Encode msg into buf.  Returns the number of bytes written (> 0), or
 * QUORUM_ENOSPACE if it does not fit, or QUORUM_EINVAL for a message that
 * could not be decoded again (string too long, too many updates, bad type).
 */
int			quorum__wire_encode(const struct quorum_wire_msg *msg,
								uint8_t *buf, size_t buf_len);

/*
 * Decode buf into *msg.  Returns 0, QUORUM_EMALFORMED, or
 * QUORUM_EINVAL for a NULL argument.  A wrong magic or version gives
 * QUORUM_EMALFORMED; *version_out (may be NULL) is set to the version byte
 * when at least 3 bytes were present so callers can count version drops.
 * It is -1 when the datagram is shorter or its magic is not "PQ" (garbage,
 * not another version), so a version drop is
 * "version_out >= 0 && version_out != QUORUM_WIRE_VERSION".  On failure the
 * contents of *msg are unspecified.
 */
int			quorum__wire_decode(const uint8_t *buf, size_t len,
								struct quorum_wire_msg *msg, int *version_out);

#endif							/* QUORUM_WIRE_H */
