/*-------------------------------------------------------------------------
 *
 * node.h
 *	  One libquorum node: a sans-IO state machine the host feeds and drains.
 *
 * The host owns every socket and clock.  It calls quorum_node_step() with one
 * input at a time (a datagram arrived, time passed, its own facts changed, or
 * a command), each stamped with its monotonic time, and then carries out the
 * output in this order:
 *
 *   1. if QUORUM_OUT_PERSIST is set, make out->durable durable (write to a
 *      temporary file, fsync, rename) before anything else;
 *   2. send every datagram in out->datagrams (already sealed);
 *   3. act on out->events;
 *   4. call quorum_node_step() with a QUORUM_IN_TICK input no later than
 *      out->deadline_ms (also available from quorum_node_deadline_ms()).
 *
 * The output buffers belong to the node and stay valid until
 * quorum_node_output_done() or the next quorum_node_step(), whichever comes
 * first.  All memory is allocated by quorum_node_new(); step never allocates.
 *
 * A node is not thread-safe: one thread at a time may call into it.
 *
 * include/quorum/node.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef QUORUM_NODE_H
#define QUORUM_NODE_H

#include "quorum/types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct quorum_node quorum_node;

/* Size of one AES-256 key of the cluster keyring, bytes. */
#define QUORUM_KEY_BYTES 32
/* Most keys a keyring holds (the primary plus old ones during rotation). */
#define QUORUM_KEYS_MAX 8

/*
 * The keyring: every datagram is sealed with keys[0] and accepted if it opens
 * with any of them.  Key ids are the first 4 bytes of SHA-256 of the key, so
 * the receiver finds the right key without trying all of them.
 */
struct quorum_keyring
{
	unsigned	count;			/* 0 only together with allow_plaintext */
	uint8_t		keys[QUORUM_KEYS_MAX][QUORUM_KEY_BYTES];
};

/*
 * Trace levels.  The core never prints; each decision is one line handed to
 * config.trace_fn, e.g. "[  1200] n2 ping n5 timed out -> indirect via n1,n4".
 */
enum quorum_trace_level
{
	QUORUM_TRACE_DEBUG = 0,
	QUORUM_TRACE_INFO = 1,
	QUORUM_TRACE_WARNING = 2
};

typedef void (*quorum_trace_fn) (void *ctx, enum quorum_trace_level level,
								 const char *line);

/*
 * Configuration, copied by quorum_node_new().  Start from
 * quorum_config_init(), which fills in the defaults documented below, then
 * set at least name, cluster, addr, keyring (or allow_plaintext), seed and
 * incarnation_start.
 */
struct quorum_config
{
	char		name[QUORUM_NAME_MAX + 1];	/* unique within the cluster */
	char		cluster[QUORUM_NAME_MAX + 1];	/* datagrams of another cluster
												 * are dropped */
	struct quorum_addr addr;	/* where peers reach this node's gossip */
	struct quorum_keyring keyring;
	bool		allow_plaintext;	/* no keys: send and accept unsealed */

	/* Seeds the node's PRNG: the only randomness the node uses. */
	uint64_t	seed;

	/*
	 * Incarnation to start at.  Must exceed every incarnation an earlier run
	 * of this node used: load it from the durable state the last run wrote
	 * (out->durable.incarnation) plus one.  It also identifies this boot for
	 * replay protection.
	 */
	uint64_t	incarnation_start;

	/*
	 * Limits; quorum_node_new() allocates everything from them.  Memory:
	 * about 70 kB per node plus about 125 bytes per member actually known
	 * (short names) plus 408 bytes per metadata slot in use; tables are
	 * reserved for members_max but their pages are touched only when used.
	 * meta_slots_max above members_max is lowered to it.
	 */
	unsigned	members_max;	/* default 256, including this node */
	unsigned	meta_slots_max; /* members whose metadata is kept; default
								 * members_max */
	unsigned	outbox_datagrams_max;	/* default 64 */
	unsigned	events_max;		/* events buffered per step; default 256 */
	unsigned	dissemination_queue_max;	/* default 256 */
	unsigned	datagram_bytes_max; /* default 1400, max 65000 */

	/*
	 * SWIM timings, milliseconds.  Defaults: probe_interval_ms 200,
	 * probe_timeout_ms 100, pushpull_interval_ms 10000 (0 = never),
	 * gossip_to_dead_ms 10000 (keep telling dead members they are dead for
	 * this long, so they can refute), reap_dead_ms 0 (never forget).
	 */
	quorum_time_ms probe_interval_ms;
	quorum_time_ms probe_timeout_ms;
	quorum_time_ms pushpull_interval_ms;
	quorum_time_ms gossip_to_dead_ms;
	quorum_time_ms reap_dead_ms;

	/* Members asked for an indirect probe after a direct one fails; 3. */
	unsigned	indirect_probes;

	/*
	 * Suspicion (Lifeguard §4): the timeout starts at
	 * suspicion_max_mult * min and shrinks towards
	 * min = suspicion_mult * max(1, log10(N)) * probe_interval_ms
	 * as independent confirmations arrive.  Defaults 4 and 6.
	 */
	unsigned	suspicion_mult;
	unsigned	suspicion_max_mult;

	/* Each update is piggybacked retransmit_mult * ceil(log10(N+1)) times; 4. */
	unsigned	retransmit_mult;

	/* Lifeguard local health multiplier ceiling; 8. */
	unsigned	awareness_max;

	/* Optional trace sink; NULL discards. */
	quorum_trace_fn trace_fn;
	void	   *trace_ctx;
	enum quorum_trace_level trace_level;	/* least level handed on; INFO */

	/*
	 * Election (Raft, raft.c).  A node takes part once it knows a voter set:
	 * initial_voters (the same list on every node), or bootstrap_expect
	 * voter-capable members found by gossip (self included), or what the
	 * leader of an existing cluster sends it.  With neither, it only joins.
	 * voter: whether this node may be a voter at all; default true.
	 */
	bool		voter;
	unsigned	bootstrap_expect;	/* 0 = do not bootstrap by count */
	unsigned	n_initial_voters;	/* 0 = no explicit list */
	char		initial_voters[QUORUM_VOTERS_MAX][QUORUM_NAME_MAX + 1];

	/*
	 * Election timings, milliseconds.  Defaults: heartbeat_ms 100,
	 * election_timeout_min_ms 1200, election_timeout_max_ms 1600,
	 * drift_ppm 5000 (the bound on any member's clock rate error),
	 * lease_margin_ms 100.  The write lease lasts
	 * election_timeout_min_ms * (1 - rho) / (1 + rho) - lease_margin_ms
	 * with rho = drift_ppm / 10^6 (1088 ms by default) from the send time
	 * of the heartbeat a majority acknowledged.  A leader that stops for
	 * less than election_timeout_min_ms - heartbeat_ms is not replaced.
	 */
	quorum_time_ms heartbeat_ms;
	quorum_time_ms election_timeout_min_ms;
	quorum_time_ms election_timeout_max_ms;
	uint32_t	drift_ppm;
	quorum_time_ms lease_margin_ms;

	/*
	 * The durable state the previous run of this node wrote (its last
	 * out->durable), or NULL for a node that never ran.  Only the election
	 * part is read; incarnation_start must still be set above its
	 * incarnation.  Copied by quorum_node_new().
	 */
	const struct quorum_durable *restored;

	/*
	 * A vote is a promise about this node's WAL as it is when it votes, and
	 * a voter that keeps taking the old leader's WAL afterwards could
	 * acknowledge a commit the candidate lacks.  With stop_wal_to_vote
	 * (default false) a real vote this node would grant is held back: the
	 * node sets quorum_election_info.stop_wal, and answers once the host
	 * fed QUORUM_IN_WAL_STOPPED (or on the candidate's next request).  Set
	 * it in any host that streams WAL from the leader; a host without WAL
	 * (a witness) leaves it off.
	 */
	bool		stop_wal_to_vote;
};

/* Inputs. */
enum quorum_input_type
{
	QUORUM_IN_DATAGRAM = 1,		/* u.datagram */
	QUORUM_IN_TICK,				/* only time passed */
	/*
	 * u.facts: this node's metadata, fed when it changes and also when the
	 * host samples it unchanged.  A leader handing over (TRANSFER) sends
	 * TIMEOUT_NOW only after facts fed after it gave its lease up: the host
	 * must feed them only once nothing it accepted under the lease can still
	 * add WAL, so the target is known to hold every write.
	 */
	QUORUM_IN_FACTS,
	QUORUM_IN_COMMAND,			/* u.command */

	/*
	 * u.facts, sampled after this host stopped taking WAL from anyone,
	 * because quorum_election_info.stop_wal asked it to (config
	 * stop_wal_to_vote).  Feed it only while stop_wal holds and only once
	 * nothing can add received WAL any more (the WAL receiver has exited):
	 * the vote it releases is a promise about exactly this position.
	 */
	QUORUM_IN_WAL_STOPPED
};

enum quorum_command_type
{
	QUORUM_CMD_JOIN = 1,		/* contact u.command.addr (a seed) */
	QUORUM_CMD_LEAVE,			/* leave gracefully; the node then idles */

	/*
	 * Decisions of the cluster: the leader appends them to the replicated
	 * log, any other node forwards them to the leader it knows.  Each is
	 * done once QUORUM_EV_DECISION_COMMITTED reports it.
	 */
	QUORUM_CMD_TRANSFER,		/* switchover to u.command.name ("" = best) */
	QUORUM_CMD_PAUSE,			/* no automatic elections */
	QUORUM_CMD_RESUME,			/* with no leader: this node may campaign */
	/*
	 * u.command.name becomes a voter; a voter's name is bound to the member
	 * id that answers under it now (a server rebuilt under the name)
	 */
	QUORUM_CMD_ADD_VOTER,
	QUORUM_CMD_REMOVE_VOTER,	/* u.command.name stops being one */

	/*
	 * This node alone forgets u.command.name, a dead or departed member,
	 * now rather than after reap_dead_ms (QUORUM_EV_MEMBER_REAPED); it comes
	 * back only if it is heard alive again.  A host runs it on every server
	 * after the member's REMOVE_VOTER decision commits.
	 */
	QUORUM_CMD_FORGET,

	/*
	 * The leader leaves office at once, giving its lease up first, and
	 * tells the voters, who campaign without waiting out their election
	 * timeouts: for a host that knows its database is gone (a dead
	 * process, a crash) and has stopped committing.  QUORUM_ESTATE when
	 * this node is not the leader.
	 */
	QUORUM_CMD_RESIGN
};

struct quorum_command
{
	enum quorum_command_type type;
	struct quorum_addr addr;	/* JOIN */
	char		name[QUORUM_NAME_MAX + 1];	/* TRANSFER, ADD/REMOVE_VOTER */
};

struct quorum_input
{
	enum quorum_input_type type;
	quorum_time_ms now_ms;
	union
	{
		struct
		{
			struct quorum_addr from;
			const uint8_t *data;
			size_t		len;
		}			datagram;
		struct quorum_meta facts;
		struct quorum_command command;
	}			u;
};

/* Outputs. */
#define QUORUM_OUT_PERSIST	0x1
#define QUORUM_OUT_SEND		0x2
#define QUORUM_OUT_EVENTS	0x4

struct quorum_datagram
{
	struct quorum_addr to;
	const uint8_t *data;
	size_t		len;

	/*
	 * One chunk of a push-pull exchange (this node's whole state, in as
	 * many datagrams as it takes): a host with a stream to the peer may
	 * carry it there instead (the runtime's TCP push-pull); any host may
	 * send it like the others.  The node marks it, so that a transport
	 * never has to look inside the sealed bytes.
	 */
	bool		pushpull;
};

enum quorum_event_type
{
	QUORUM_EV_MEMBER_ALIVE = 1, /* joined, or came back, or refuted */
	QUORUM_EV_MEMBER_SUSPECT,
	QUORUM_EV_MEMBER_DEAD,
	QUORUM_EV_MEMBER_LEFT,
	QUORUM_EV_MEMBER_UPDATED,	/* metadata changed */
	QUORUM_EV_MEMBER_REAPED,	/* forgotten after reap_dead_ms */
	QUORUM_EV_LEADER_CHANGED,	/* member: the leader of term, "" = none */
	QUORUM_EV_LEASE_GAINED,		/* member: this node; it may commit writes */
	QUORUM_EV_LEASE_LOST,		/* member: this node; it must not any more */
	QUORUM_EV_DECISION_COMMITTED	/* index, decision; member: its name */
};

struct quorum_event
{
	enum quorum_event_type type;
	quorum_time_ms at_ms;
	char		member[QUORUM_NAME_MAX + 1];
	uint64_t	incarnation;	/* membership events */
	uint64_t	term;			/* election events */
	uint64_t	index;			/* DECISION_COMMITTED: its log index */
	struct quorum_decision decision;	/* DECISION_COMMITTED */
};

/*
 * State that must survive a crash, written before the datagrams are sent.
 * The host replaces the whole record atomically (temporary file, fsync,
 * rename) and hands it back through config.restored on the next start.
 */
struct quorum_durable
{
	uint64_t	incarnation;

	/*
	 * This server's identity as a voter, random and never 0, created with
	 * its first record and kept for as long as the record is: a server
	 * rebuilt under a voter's name (no record) gets another, and votes
	 * only once the cluster admits that one (quorum_node_election_get()'s
	 * is_voter says whether it has).
	 */
	uint64_t	member_id;
	struct quorum_election_durable election;
};

struct quorum_output
{
	unsigned	flags;			/* QUORUM_OUT_* */
	struct quorum_durable durable;	/* valid with QUORUM_OUT_PERSIST */
	const struct quorum_datagram *datagrams;
	size_t		n_datagrams;
	const struct quorum_event *events;
	size_t		n_events;
	quorum_time_ms deadline_ms; /* next TICK due at the latest */
};

/* A consistent copy of one member, for display. */
struct quorum_member_info
{
	char		name[QUORUM_NAME_MAX + 1];
	struct quorum_addr addr;
	enum quorum_member_state state;
	uint64_t	incarnation;
	bool		is_self;
	bool		has_meta;		/* false if no metadata slot was free */
	uint64_t	meta_version;
	struct quorum_meta meta;
	quorum_time_ms state_since_ms;
	quorum_time_ms last_heard_ms;	/* 0 = never heard directly */
	uint32_t	rtt_us;			/* smoothed probe round trip; 0 = unknown */
	uint64_t	probes_sent;
	uint64_t	probes_failed;	/* no direct or indirect ack in time */
	uint64_t	acks_received;
};

/* Counters since quorum_node_new(). */
struct quorum_node_stats
{
	uint64_t	datagrams_in;
	uint64_t	datagrams_out;
	uint64_t	bytes_in;
	uint64_t	bytes_out;
	uint64_t	drops[QUORUM_DROP__COUNT];
	uint64_t	probes_sent;
	uint64_t	probes_failed;
	uint64_t	indirect_probes_sent;
	uint64_t	suspicions_refuted; /* of this node itself */
	uint64_t	pushpulls;
	unsigned	local_health;	/* Lifeguard awareness score, 0 = healthy */
	unsigned	members_alive;
	unsigned	members_suspect;
	unsigned	members_dead;
	unsigned	members_left;
	/* Election. */
	uint64_t	election_datagrams_out; /* included in datagrams_out */
	uint64_t	election_bytes_out; /* included in bytes_out */
	uint64_t	elections_started;
	uint64_t	leader_changes;
};

/* Where this node stands in the election. */
enum quorum_election_role
{
	QUORUM_ELECTION_FOLLOWER = 0,
	QUORUM_ELECTION_PRE_CANDIDATE,	/* asking whether it could win */
	QUORUM_ELECTION_CANDIDATE,
	QUORUM_ELECTION_LEADER
};

/* A consistent copy of the election state, for display. */
struct quorum_election_info
{
	enum quorum_election_role role;
	uint64_t	term;
	char		leader[QUORUM_NAME_MAX + 1];	/* "" = none known */
	char		voted_for[QUORUM_NAME_MAX + 1];	/* in term; "" = none */
	bool		is_voter;		/* this node, in the current voter set */
	bool		paused;			/* as of the last committed decision */
	bool		resume_pending; /* paused, but a RESUME is in the log,
								 * uncommitted: voters may campaign on it,
								 * so do not act on the pause */
	/*
	 * stop_wal_to_vote: take no WAL from anyone now (empty primary_conninfo
	 * and wait until the WAL receiver has exited), then feed
	 * QUORUM_IN_WAL_STOPPED.  It holds while this node's vote may still
	 * elect someone: until a leader is known, or for three maximum election
	 * timeouts; then follow the leader again (the old one if none won).
	 */
	bool		stop_wal;
	/*
	 * The newest PAUSE or RESUME in this node's log, committed or not, is a
	 * PAUSE, and this node was not handed the leadership (TRANSFER).  A
	 * leader commits its log, so it is paused soon: a host must not
	 * promote a new leader while this holds (commits a degraded leader let
	 * through alone may be missing), only once a RESUME is in its log.
	 */
	bool		promotion_paused;
	bool		bootstrapped;	/* a voter set is known */
	uint64_t	commit_index;
	uint64_t	last_index;
	quorum_time_ms lease_until_ms;	/* leader with a lease; else 0 */
	unsigned	n_voters;
	char		voters[QUORUM_VOTERS_MAX][QUORUM_NAME_MAX + 1];
};

/* Fill *config with the defaults; never fails. */
QUORUM_API void quorum_config_init(struct quorum_config *config);

/*
 * Timing rules, for hosts that expose one election timeout as a setting or
 * wait on a hand-over: ask here rather than re-derive them, so that every
 * host and libquorum agree.  Pure functions of their arguments.
 *
 * The randomized election timeout spans [min, max]; hosts set max from min
 * (election_timeout_max_ms = quorum_timing_election_max_ms(min)), 4/3 of
 * it: wide enough that two voters rarely time out together, narrow enough
 * that a failover takes little longer than min.
 */
QUORUM_API quorum_time_ms quorum_timing_election_max_ms(quorum_time_ms election_timeout_min_ms);

/*
 * How long a leader waits for the target of a switchover (TRANSFER) to
 * catch up and win before it gives up and takes its lease back: twice
 * election_timeout_max_ms.  A host that holds writes back during the
 * hand-over waits at least this long.
 */
QUORUM_API quorum_time_ms quorum_timing_hand_over_ms(quorum_time_ms election_timeout_max_ms);

/*
 * How long a voter keeps its WAL intake stopped after the last vote it
 * granted (quorum_config.stop_wal_to_vote), when no leader becomes known:
 * three times election_timeout_max_ms, long enough for the candidate it
 * voted for to win and be heard of, or for another election to end.  A
 * host that resumes the intake itself (after a restart, say) waits as long.
 */
QUORUM_API quorum_time_ms quorum_timing_wal_stop_ms(quorum_time_ms election_timeout_max_ms);

/*
 * Whether a heartbeat interval fits the election timeout: less than half of
 * election_timeout_min_ms, so that one lost heartbeat does not start an
 * election.  quorum_node_new() refuses a config where it does not.
 */
QUORUM_API bool quorum_timing_heartbeat_fits(quorum_time_ms heartbeat_ms,
											 quorum_time_ms election_timeout_min_ms);

/*
 * Whether a probe timeout fits the probe interval (shorter than it, and
 * both positive), so that a probe ends before the next starts.
 * quorum_node_new() refuses a config where it does not.
 */
QUORUM_API bool quorum_timing_probe_fits(quorum_time_ms probe_timeout_ms,
										 quorum_time_ms probe_interval_ms);

/*
 * Whether a member with this role and priority may ever lead, and so be
 * the target of a switchover: a database (not a witness) whose priority is
 * above 0.  The leader picks a switchover target by it; a host checking a
 * requested target asks it too.
 */
QUORUM_API bool quorum_member_may_lead(enum quorum_role role, int32_t priority);

/*
 * Create a node.  Returns 0 and sets *node, or QUORUM_EINVAL (bad config:
 * empty name or cluster, no keys without allow_plaintext, a limit of 0,
 * timeouts out of order) with a reason in errbuf (may be NULL),
 * or QUORUM_ENOMEM.
 */
QUORUM_API int quorum_node_new(const struct quorum_config *config,
							   const struct quorum_meta *facts,
							   quorum_time_ms now_ms,
							   quorum_node **node,
							   char *errbuf, size_t errbuf_len);

QUORUM_API void quorum_node_free(quorum_node *node);

/*
 * Feed one input; fills *out.  Returns 0, or QUORUM_EINVAL for an input that
 * is not well formed (unknown type, NULL data, a missing member name), or
 * QUORUM_ESTATE after LEAVE completed.  A decision command the cluster
 * cannot take now returns QUORUM_EBUSY (no leader known to forward it to),
 * QUORUM_ESTATE (an earlier voter change or switchover is under way),
 * QUORUM_ENOTFOUND (no such voter-capable member) or QUORUM_ELIMIT (the
 * decision log or voter set is full), with the reason in
 * quorum_node_errmsg(); the node is unchanged and out is empty.  FORGET
 * returns QUORUM_ENOTFOUND for a member it does not know (or itself) and
 * QUORUM_ESTATE for one that is alive or suspect.  A
 * malformed or unauthentic datagram is not an error: it is dropped,
 * counted in the stats and traced, and step returns 0.
 */
QUORUM_API int quorum_node_step(quorum_node *node,
								const struct quorum_input *in,
								struct quorum_output *out);

/* The host has carried out *out; its buffers may now be reused. */
QUORUM_API void quorum_node_output_done(quorum_node *node,
										struct quorum_output *out);

/* When the node next needs a TICK. */
QUORUM_API quorum_time_ms quorum_node_deadline_ms(const quorum_node *node);

/* Number of members in the table, this node included. */
QUORUM_API size_t quorum_node_member_count(const quorum_node *node);

/* Copy member i (0 .. count-1) into *info; QUORUM_ENOTFOUND past the end. */
QUORUM_API int quorum_node_member_get(const quorum_node *node, size_t i,
									  struct quorum_member_info *info);

/* Copy the member called name; QUORUM_ENOTFOUND if unknown. */
QUORUM_API int quorum_node_member_find(const quorum_node *node,
									   const char *name,
									   struct quorum_member_info *info);

QUORUM_API void quorum_node_stats_get(const quorum_node *node,
									  struct quorum_node_stats *stats);

/* The leader this node follows (or is); "" when none is known. */
QUORUM_API const char *quorum_node_leader(const quorum_node *node);

/* The current election term (0 before the first election). */
QUORUM_API uint64_t quorum_node_term(const quorum_node *node);

/* Who this node voted for in the current term; "" for nobody. */
QUORUM_API const char *quorum_node_voted_for(const quorum_node *node);

/*
 * Whether this node holds the write lease at now_ms (the host's clock, which
 * may be later than the last step): the leader may let a transaction commit
 * only while this is true.  Ask before every commit, not from an event.
 */
QUORUM_API bool quorum_node_has_lease(const quorum_node *node,
									  quorum_time_ms now_ms);

/* Whether name (NULL = this node) is a voter of the current voter set. */
QUORUM_API bool quorum_node_is_voter(const quorum_node *node, const char *name);

/*
 * Whether name (NULL = this node) is a voter whose votes count: its name is
 * in the voter set and bound to the member id it answers with (this node's
 * own, or, on the leader, the one another member last answered with, from
 * a record not restored from an older copy; elsewhere a voter's name
 * counts).  A server rebuilt or restored under a
 * voter's name is not, until quorum.add_voter() (QUORUM_CMD_ADD_VOTER of
 * the name) admits it.
 */
QUORUM_API bool quorum_node_voter_admitted(const quorum_node *node, const char *name);

/* This node's member id (quorum_durable.member_id); never 0. */
QUORUM_API uint64_t quorum_node_member_id(const quorum_node *node);

/* The election state; QUORUM_EINVAL for a NULL argument. */
QUORUM_API int quorum_node_election_get(const quorum_node *node,
										struct quorum_election_info *info);

/* A leader the decision log names: the NOOP it appended as it took office. */
struct quorum_term_leader
{
	uint64_t	term;
	char		name[QUORUM_NAME_MAX + 1];
};

/*
 * The leaders of the terms after after_term that this node's decision log
 * names, newest first; up to max go into out, and the count is returned
 * (more than max when out was too short).  A leader that ever held a lease
 * had its NOOP on a majority, so the log of any later leader names it
 * (Raft's leader completeness); a leader elected while it already runs as
 * the primary learns from this list which other servers led, and may have
 * written on a newer timeline, since it last knew itself the newest.
 * *complete is false when the log cannot name them all: entries past
 * after_term were folded into the snapshot, or a NOOP of a release that
 * did not name its leader.
 */
QUORUM_API size_t quorum_node_log_leaders(const quorum_node *node,
										  uint64_t after_term,
										  struct quorum_term_leader *out,
										  size_t max, bool *complete);

/* The node's own name, as configured. */
QUORUM_API const char *quorum_node_name(const quorum_node *node);

/* Context of the last error step or new reported, e.g. which peer. */
QUORUM_API const char *quorum_node_errmsg(const quorum_node *node);

/* Helpers on plain values. */
QUORUM_API bool quorum_addr_equal(const struct quorum_addr *a,
								  const struct quorum_addr *b);

/* Parse "host:port" or "[v6]:port" (numeric hosts only); 0 or QUORUM_EINVAL. */
QUORUM_API int quorum_addr_parse(const char *text, struct quorum_addr *addr);

/* Format as "1.2.3.4:5" or "[::1]:5" into buf (QUORUM_ADDR_STRLEN bytes). */
QUORUM_API void quorum_addr_format(const struct quorum_addr *addr, char *buf,
								   size_t buf_len);

QUORUM_API const char *quorum_member_state_name(enum quorum_member_state state);
QUORUM_API const char *quorum_role_name(enum quorum_role role);
QUORUM_API const char *quorum_drop_reason_name(enum quorum_drop_reason reason);
QUORUM_API const char *quorum_event_type_name(enum quorum_event_type type);
QUORUM_API const char *quorum_decision_type_name(enum quorum_decision_type type);
QUORUM_API const char *quorum_election_role_name(enum quorum_election_role role);

/*
 * Parse a key file: one key per line as 64 hex digits, the first line the
 * primary; blank lines and lines starting with '#' are ignored.  Returns 0,
 * or QUORUM_EINVAL with the line number and reason in errbuf.
 */
QUORUM_API int quorum_keyring_parse(const char *text, size_t len,
									struct quorum_keyring *keyring,
									char *errbuf, size_t errbuf_len);

#ifdef __cplusplus
}
#endif

#endif							/* QUORUM_NODE_H */
