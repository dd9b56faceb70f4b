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
 *
 * The election ranks candidates by (timeline, lsn, primary above standby),
 * which keeps every write a majority holds only if timelines follow the
 * election's terms: a host that writes in a new term must first move to a
 * timeline newer than any before it (a promotion does; an old primary that
 * is elected again must not write on in its old timeline).
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

/* Most voters in one configuration: a snapshot of them fits a datagram. */
#define QUORUM_VOTERS_MAX 9
/* Decision-log entries kept after the snapshot; older ones are folded in. */
#define QUORUM_LOG_MAX 32

/* What a decision of the cluster (an entry of the replicated log) says. */
enum quorum_decision_type
{
	QUORUM_DECISION_NOOP = 1,	/* a new leader's first entry; not reported */
	QUORUM_DECISION_ADD_VOTER,	/* name becomes a voter */
	QUORUM_DECISION_REMOVE_VOTER,	/* name stops being one */
	QUORUM_DECISION_PAUSE,		/* no automatic elections from now on */
	QUORUM_DECISION_RESUME,
	QUORUM_DECISION_SWITCHOVER	/* hand leadership to name ("" = the best) */
};

struct quorum_decision
{
	uint64_t	term;			/* term of the leader that proposed it */
	uint8_t		type;			/* enum quorum_decision_type */
	char		name[QUORUM_NAME_MAX + 1];

	/*
	 * ADD_VOTER: the member id (quorum_durable.member_id) that votes under
	 * name from now on; 0 = any (a decision of a release without member
	 * ids).  An ADD_VOTER of a name that is already a voter rebinds it.
	 */
	uint64_t	member_id;
};

/*
 * The committed prefix of the log folded into one record.  A cluster starts
 * from one at index 1, term 0, holding its first voter set; config_id hashes
 * that set, so that members of clusters bootstrapped apart never mix.
 */
struct quorum_log_snapshot
{
	uint64_t	index;
	uint64_t	term;
	uint64_t	config_id;		/* 0 = not bootstrapped */
	bool		paused;
	uint8_t		n_voters;
	char		voters[QUORUM_VOTERS_MAX][QUORUM_NAME_MAX + 1];	/* sorted */
	/* voters[i]'s member id; 0 = not bound yet, any id votes as voters[i] */
	uint64_t	voter_ids[QUORUM_VOTERS_MAX];
};

/* The election's durable state: term, vote and the decision log. */
struct quorum_election_durable
{
	/*
	 * One more on every record the election asks to be made durable: a
	 * member that answers with a lower one than it answered with before
	 * was restored from an older copy of its record.
	 */
	uint64_t	persist_seq;
	uint64_t	term;
	char		voted_for[QUORUM_NAME_MAX + 1];	/* "" = no vote in term */
	struct quorum_log_snapshot snap;
	uint32_t	n_entries;		/* entries[k] has index snap.index + 1 + k */
	struct quorum_decision entries[QUORUM_LOG_MAX];
};

#ifdef __cplusplus
}
#endif

#endif							/* QUORUM_TYPES_H */
