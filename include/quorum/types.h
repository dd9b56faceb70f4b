/*-------------------------------------------------------------------------
 *
 * types.h
 *	  Plain value types shared by every part of the libquorum API.
 *
 * Time is always the host's monotonic clock in milliseconds, passed in by the
 * host with every input; libquorum never reads a clock itself.  Addresses are
 * plain values so that the simulator can invent them without sockets.
 *
 * include/quorum/types.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef QUORUM_TYPES_H
#define QUORUM_TYPES_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Marks the exported symbols; everything else in libquorum is hidden. */
#if defined(__GNUC__) || defined(__clang__)
#define QUORUM_API __attribute__((visibility("default")))
#else
#define QUORUM_API
#endif

/* Milliseconds of the host's monotonic clock.  The origin is arbitrary. */
typedef uint64_t quorum_time_ms;

/* Longest node or cluster name, not counting the terminating NUL. */
#define QUORUM_NAME_MAX 63
/* Longest conninfo string a member advertises, not counting the NUL. */
#define QUORUM_CONNINFO_MAX 255
/* Longest free-form tags string a member advertises, not counting the NUL. */
#define QUORUM_TAGS_MAX 127
/* Room for "[ipv6]:port" plus NUL, for quorum_addr_format(). */
#define QUORUM_ADDR_STRLEN 48

/*
 * A UDP endpoint.  family is 4 or 6; for IPv4 only bytes[0..3] are used.
 * Port is in host byte order.  Compare with quorum_addr_equal().
 */
struct quorum_addr
{
	uint8_t		family;
	uint8_t		bytes[16];
	uint16_t	port;
};

/* A member's liveness as this node currently believes it. */
enum quorum_member_state
{
	QUORUM_MEMBER_ALIVE = 0,
	QUORUM_MEMBER_SUSPECT = 1,
	QUORUM_MEMBER_DEAD = 2,
	QUORUM_MEMBER_LEFT = 3
};

/* What the database under a member is doing, as that member reports it. */
enum quorum_role
{
	QUORUM_ROLE_UNKNOWN = 0,
	QUORUM_ROLE_PRIMARY = 1,
	QUORUM_ROLE_STANDBY = 2,
	QUORUM_ROLE_WITNESS = 3
};

/*
 * The host's facts about itself, gossiped to every member as metadata.
 * Newest wins: a change bumps the member's metadata version.
 */
struct quorum_meta
{
	enum quorum_role role;
	uint32_t	timeline;
	uint64_t	lsn;			/* WAL position, bytes */
	int32_t		priority;		/* 0 = never a promotion candidate */
	char		conninfo[QUORUM_CONNINFO_MAX + 1];
	char		tags[QUORUM_TAGS_MAX + 1];
};

/*
 * Why an incoming datagram was dropped.  Counted per reason in
 * quorum_node_stats; a drop is never an error returned to the host.
 */
enum quorum_drop_reason
{
	QUORUM_DROP_MALFORMED = 0,	/* failed to decode */
	QUORUM_DROP_OVERSIZE,		/* longer than the datagram limit */
	QUORUM_DROP_VERSION,		/* unknown protocol version */
	QUORUM_DROP_AUTH,			/* unknown key id or failed authentication */
	QUORUM_DROP_PLAINTEXT,		/* unsealed, and plaintext not allowed */
	QUORUM_DROP_CLUSTER,		/* sealed for another cluster */
	QUORUM_DROP_REPLAY,			/* seen before, or from an older boot */
	QUORUM_DROP_SELF,			/* claims to come from this node's name */
	QUORUM_DROP_TABLE_FULL,		/* member table or queue at its limit */
	QUORUM_DROP_OUTBOX_FULL,	/* outgoing datagram did not fit the outbox */
	QUORUM_DROP__COUNT
};

#ifdef __cplusplus
}
#endif

#endif							/* QUORUM_TYPES_H */
