/*-------------------------------------------------------------------------
 *
 * raft.h
 *	  The election and decision-log state machine (Raft with pre-vote,
 *	  check-quorum, leader stickiness and a write lease), private to
 *	  libquorum.
 *
 * The design essay is at the top of raft.c.  The module is pure: it knows
 * nothing of sockets, datagrams, the wire format or the member table.  Peers
 * are named, messages are plain structs addressed by member name (their
 * types are in raft_msg.h, which the wire codec shares), and every
 * input carries the caller's monotonic time in milliseconds.  After each
 * input the caller drains the output kept in struct quorum__raft:
 *
 *   1. if `persist` is set, make `d` (the durable record) durable first;
 *   2. send out[0 .. n_out-1] to the members they name;
 *   3. act on events[0 .. n_events-1];
 *   4. call quorum__raft_output_reset(), and tick no later than
 *      quorum__raft_deadline().
 *
 * The modules:
 *
 *   raft.c           life cycle, peers, terms, output, dispatch, accessors
 *   raft_election.c  timers, pre-vote, vote, the election restriction
 *   raft_log.c       the decision log: append, commit, apply, compaction
 *   raft_lease.c     heartbeat rounds, lease, check-quorum, transfer
 *   raft_resign.c    a dying leader's resignation
 *
 * Everything is allocated by quorum__raft_init(); nothing after.
 *
 * plugin/raft.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef QUORUM_RAFT_H
#define QUORUM_RAFT_H

#include "quorum/node.h"
#include "prng.h"
#include "raft_msg.h"
#include "trace.h"

/* Heartbeat rounds whose send time the leader remembers (6.4 s at 100 ms). */
#define QUORUM__RAFT_ROUNDS 64
/* Non-voters sent a heartbeat per round, taken round-robin. */
#define QUORUM__RAFT_LEARNERS_PER_ROUND 8

enum quorum__raft_state
{
	QUORUM__RAFT_FOLLOWER = 0,
	QUORUM__RAFT_PRE_CANDIDATE,
	QUORUM__RAFT_CANDIDATE,
	QUORUM__RAFT_LEADER
};

enum quorum__raft_event_type
{
	QUORUM__RAFT_EV_LEADER_CHANGED = 1,	/* leader may be "" */
	QUORUM__RAFT_EV_LEASE_GAINED,
	QUORUM__RAFT_EV_LEASE_LOST,
	QUORUM__RAFT_EV_COMMITTED	/* index and entry */
};

struct quorum__raft_event
{
	enum quorum__raft_event_type type;
	quorum_time_ms at_ms;
	uint64_t	term;
	quorum__raft_name leader;
	uint64_t	index;
	struct quorum_decision entry;
};

/* Timing defaults, milliseconds; see the essay in raft.c for the rules. */
#define QUORUM__RAFT_HEARTBEAT_MS 100
#define QUORUM__RAFT_ELECTION_MIN_MS 1200
#define QUORUM__RAFT_DRIFT_PPM 5000
#define QUORUM__RAFT_LEASE_MARGIN_MS 100

struct quorum__raft_config
{
	quorum__raft_name name;
	uint64_t	member_id;		/* quorum_durable.member_id, never 0 */
	uint64_t	seed;
	bool		voter;			/* may be a voter (bootstrap, ADD_VOTER) */

	/*
	 * Bootstrap: an explicit first voter set, or the number of
	 * voter-capable members to wait for (0 and no list: join only).
	 */
	unsigned	n_initial_voters;
	quorum__raft_name initial_voters[QUORUM_VOTERS_MAX];
	unsigned	bootstrap_expect;

	quorum_time_ms heartbeat_ms;
	quorum_time_ms election_timeout_min_ms;
	quorum_time_ms election_timeout_max_ms;
	uint32_t	drift_ppm;		/* bound on any clock's rate error */
	quorum_time_ms lease_margin_ms;
	bool		stop_wal_to_vote;	/* node.h: a vote waits for the WAL to stop */

	unsigned	peers_max;		/* voters and non-voters, this node too */
	unsigned	out_max;		/* messages per output batch */
	unsigned	events_max;		/* events per output batch */

	struct quorum__trace trace; /* self is set by init */
};

/* A member this node knows: a voter of the configuration or a non-voter. */
struct quorum__raft_peer
{
	quorum__raft_name name;
	bool		known;			/* gossip says it is there */
	bool		voter_capable;	/* it said so, in a HELLO or APPEND_RESP */
	uint8_t		role;			/* gossip: enum quorum_role */
	/* Leader's bookkeeping, reset on every election won. */
	uint64_t	next_index;
	uint64_t	match_index;
	uint64_t	acked_round;	/* highest heartbeat round acknowledged */
	quorum_time_ms last_ack_ms;
	struct quorum__raft_pos pos;	/* from its last APPEND_RESP */
	bool		pos_known;
	uint32_t	promise_ms;		/* ... and its promise; 0 = 0.1, ours */
	uint64_t	member_id;		/* ... and its member id; 0 = 0.1 */
	uint64_t	seen_seq;		/* highest persist_seq seen from member_id */
	uint64_t	seen_boot;		/* ... and the run that sent the last */
	bool		stale;			/* it answered below seen_seq: restored */
	/* Candidate's bookkeeping, reset on every (pre-)election started. */
	bool		granted;
	quorum_time_ms ask_after_ms;	/* refused: do not ask again before */
	uint64_t	vote_id;		/* member id its MEMBER named ... */
	uint64_t	vote_id_term;	/* ... for the (pre-)vote of this term */
	/* Where the host last heard from it; raft itself never reads this. */
	bool		addr_known;
	struct quorum_addr addr;
};

struct quorum__raft_stats
{
	uint64_t	prevotes_started;
	uint64_t	elections_started;
	uint64_t	elections_won;
	uint64_t	votes_granted;
	uint64_t	refusals[QUORUM__RAFT_REFUSAL_MAX + 1];
	uint64_t	transfers;
	uint64_t	leases_gained;
	uint64_t	step_downs;		/* check-quorum */
	uint64_t	acks_unpromised;	/* answers that name no promise (0.1 peers) */
	uint64_t	id_mismatches;	/* answers from another member id than the
								 * voter set names: not counted */
	uint64_t	votes_unadmitted;	/* requests not answered: our own id is
									 * not the one our name votes with */
	uint64_t	id_binds;		/* member ids bound to legacy voter entries */
	uint64_t	stale_answers;	/* answers with a record older than seen */
	uint64_t	restores_detected;	/* told our record is older than seen */
	uint64_t	msgs_dropped;	/* output batch full, or foreign cluster */
};

struct quorum__raft
{
	struct quorum__raft_config cfg;
	quorum_time_ms lease_ms;	/* derived from the timings */
	struct quorum__prng prng;
	struct quorum_election_durable d;
	struct quorum__raft_pos facts;	/* this node's database */

	/* The configuration: the snapshot's voters plus every config entry. */
	unsigned	n_voters;
	quorum__raft_name voters[QUORUM_VOTERS_MAX];
	uint64_t	voter_ids[QUORUM_VOTERS_MAX];	/* as in the snapshot */
	uint64_t	config_index;	/* index of the last config entry, or snap */

	enum quorum__raft_state state;
	quorum__raft_name leader;	/* "" = none known */
	uint64_t	commit;
	uint64_t	applied;
	bool		paused;			/* as of applied */
	bool		resume_override;	/* RESUME with no leader: may campaign */

	quorum_time_ms now_ms;
	quorum_time_ms election_at_ms;	/* when to campaign, or clear the leader */
	quorum_time_ms contact_ms;	/* last contact with a leader, or start */
	quorum_time_ms resend_at_ms;	/* (pre-)vote requests go out again */
	uint64_t	prevote_term;	/* last pre-vote granted to another: term */
	quorum_time_ms prevote_at_ms;	/* ... and when */
	uint64_t	resigned_term;	/* last RESIGN acted on: its term */
	quorum__raft_name resigned_leader;	/* ... and who sent it */
	quorum_time_ms bootstrap_at_ms; /* expect: when the set may be fixed */
	quorum_time_ms hello_at_ms; /* expect: next HELLO round */
	unsigned	hello_cursor;

	/* Leader only. */
	uint64_t	round;			/* last heartbeat round sent */
	uint64_t	term_first_round;
	quorum_time_ms round_sent_ms[QUORUM__RAFT_ROUNDS];
	quorum_time_ms next_heartbeat_ms;
	quorum_time_ms leader_since_ms;
	quorum_time_ms quorum_ms;	/* send time of the last round a majority
								 * acknowledged (check-quorum) */
	quorum_time_ms lease_until_ms;
	bool		lease_event;	/* LEASE_GAINED reported, LOST not yet */
	bool		lease_released; /* given up for a transfer in this term */
	bool		facts_fresh;	/* facts fed since the lease was given up */
	uint64_t	term_start_index;	/* index of this term's NOOP */
	quorum__raft_name transfer_to;	/* "" = no transfer */
	bool		transfer_sent;	/* TIMEOUT_NOW sent in this term */
	quorum_time_ms transfer_until_ms;
	unsigned	learner_cursor;

	/* Set by TIMEOUT_NOW: the VOTE requests carry the transfer flag. */
	bool		transferring;
	bool		won_by_transfer;	/* this leadership came from TIMEOUT_NOW */

	/* stop_wal_to_vote (raft_election.c): the host's WAL intake. */
	bool		wal_stop;		/* asked the host to stop it */
	bool		wal_stopped;	/* ... it did; the facts are from after */
	quorum_time_ms wal_stop_until_ms;
	bool		wal_vote_pending;	/* a vote request waits for it: */
	struct quorum__raft_msg wal_vote;

	unsigned	n_peers;
	struct quorum__raft_peer *peers;
	uint32_t   *peer_index;		/* open addressing by name: slot + 1, 0 free */
	uint32_t	peer_index_mask;

	/* Output of the current input. */
	bool		persist;
	struct quorum__raft_msg *out;
	unsigned	n_out;
	struct quorum__raft_event *events;
	unsigned	n_events;

	struct quorum__raft_stats stats;
};

/* raft.c: life cycle, inputs, output, accessors. */
void		quorum__raft_config_init(struct quorum__raft_config *cfg);
quorum_time_ms quorum__raft_lease_length(const struct quorum__raft_config *cfg);
int			quorum__raft_init(struct quorum__raft *r,
							  const struct quorum__raft_config *cfg,
							  const struct quorum_election_durable *restored,
							  const struct quorum_meta *facts,
							  quorum_time_ms now_ms,
							  char *errbuf, size_t errbuf_len);
void		quorum__raft_destroy(struct quorum__raft *r);
void		quorum__raft_tick(struct quorum__raft *r, quorum_time_ms now_ms);
void		quorum__raft_receive(struct quorum__raft *r,
								 const struct quorum__raft_msg *msg,
								 quorum_time_ms now_ms);
void		quorum__raft_set_facts(struct quorum__raft *r,
								   const struct quorum_meta *facts,
								   quorum_time_ms now_ms);
void		quorum__raft_peer_seen(struct quorum__raft *r, const char *name,
								   enum quorum_role role, quorum_time_ms now_ms);
void		quorum__raft_peer_gone(struct quorum__raft *r, const char *name,
								   quorum_time_ms now_ms);
int			quorum__raft_propose(struct quorum__raft *r,
								 enum quorum_decision_type type,
								 const char *name, quorum_time_ms now_ms);
int			quorum__raft_transfer(struct quorum__raft *r, const char *target,
								  quorum_time_ms now_ms);
int			quorum__raft_pause(struct quorum__raft *r, bool pause,
							   quorum_time_ms now_ms);
void		quorum__raft_output_reset(struct quorum__raft *r);
/* raft_election.c: stop_wal_to_vote. */
bool		quorum__raft_promotion_paused(const struct quorum__raft *r);
bool		quorum__raft_wal_stop_active(const struct quorum__raft *r);
void		quorum__raft_wal_stop_tick(struct quorum__raft *r);
void		quorum__raft_wal_stopped(struct quorum__raft *r,
									 const struct quorum_meta *facts,
									 quorum_time_ms now_ms);
void		quorum__raft_durable_image(const struct quorum__raft *r,
									   struct quorum_election_durable *out);
quorum_time_ms quorum__raft_deadline(const struct quorum__raft *r);
bool		quorum__raft_has_lease(const struct quorum__raft *r,
								   quorum_time_ms now_ms);
bool		quorum__raft_is_voter(const struct quorum__raft *r, const char *name);
uint64_t	quorum__raft_last_index(const struct quorum__raft *r);
uint64_t	quorum__raft_last_term(const struct quorum__raft *r);
const char *quorum__raft_state_name(enum quorum__raft_state state);
const char *quorum__raft_msg_type_name(enum quorum__raft_msg_type type);

/* raft.c: shared by the modules. */
struct quorum__raft_peer *quorum__raft_peer_find(struct quorum__raft *r,
												 const char *name);
struct quorum__raft_peer *quorum__raft_peer_add(struct quorum__raft *r,
												const char *name);
struct quorum__raft_msg *quorum__raft_msg_new(struct quorum__raft *r,
											  enum quorum__raft_msg_type type,
											  const char *to);
struct quorum__raft_event *quorum__raft_event(struct quorum__raft *r,
											 enum quorum__raft_event_type type);
void		quorum__raft_persist(struct quorum__raft *r);
void		quorum__raft_set_term(struct quorum__raft *r, uint64_t term);
void		quorum__raft_set_leader(struct quorum__raft *r, const char *leader);
void		quorum__raft_become_follower(struct quorum__raft *r, uint64_t term,
										 const char *leader);
unsigned	quorum__raft_majority(const struct quorum__raft *r);
bool		quorum__raft_self_voter(const struct quorum__raft *r);
bool		quorum__raft_admits(const struct quorum__raft *r, const char *name,
								uint64_t member_id);
bool		quorum__raft_self_unadmitted(const struct quorum__raft *r);
uint64_t	quorum__raft_seq_now(const struct quorum__raft *r);
bool		quorum__raft_seen_answer(struct quorum__raft *r,
									 struct quorum__raft_peer *p,
									 const struct quorum__raft_msg *msg,
									 uint64_t member_id, uint64_t persist_seq);
struct quorum__raft_peer *quorum__raft_voter_peer(struct quorum__raft *r,
												  unsigned i);

/* raft_election.c */
void		quorum__raft_reset_election_timer(struct quorum__raft *r);
bool		quorum__raft_can_campaign(const struct quorum__raft *r);
bool		quorum__raft_resume_pending(const struct quorum__raft *r);
void		quorum__raft_election_tick(struct quorum__raft *r);
void		quorum__raft_campaign(struct quorum__raft *r, bool transfer);
void		quorum__raft_on_vote(struct quorum__raft *r,
								 const struct quorum__raft_msg *msg);
void		quorum__raft_on_vote_resp(struct quorum__raft *r,
									  const struct quorum__raft_msg *msg);
void		quorum__raft_on_timeout_now(struct quorum__raft *r,
										const struct quorum__raft_msg *msg);
void		quorum__raft_on_member(struct quorum__raft *r,
								   const struct quorum__raft_msg *msg);
int			quorum__raft_pos_cmp(const struct quorum__raft_pos *a,
								 const struct quorum__raft_pos *b);
quorum_time_ms quorum__raft_election_deadline(const struct quorum__raft *r);

/* raft_log.c */
const struct quorum_decision *quorum__raft_entry_at(const struct quorum__raft *r,
													   uint64_t index);
uint64_t	quorum__raft_term_at(const struct quorum__raft *r, uint64_t index,
								 bool *known);
void		quorum__raft_config_rebuild(struct quorum__raft *r);
void		quorum__raft_bootstrap(struct quorum__raft *r, unsigned n,
								   quorum__raft_name *voters);
void		quorum__raft_bootstrap_tick(struct quorum__raft *r);
void		quorum__raft_on_hello(struct quorum__raft *r,
								  const struct quorum__raft_msg *msg);
bool		quorum__raft_append_local(struct quorum__raft *r,
									  enum quorum_decision_type type,
									  const char *name);
void		quorum__raft_bind_tick(struct quorum__raft *r);
void		quorum__raft_send_append(struct quorum__raft *r,
									 struct quorum__raft_peer *p);
void		quorum__raft_on_append(struct quorum__raft *r,
								   const struct quorum__raft_msg *msg);
void		quorum__raft_on_snapshot(struct quorum__raft *r,
									 const struct quorum__raft_msg *msg);
void		quorum__raft_on_propose(struct quorum__raft *r,
									const struct quorum__raft_msg *msg);
int			quorum__raft_leader_propose(struct quorum__raft *r,
										enum quorum_decision_type type,
										const char *name);
void		quorum__raft_leader_commit(struct quorum__raft *r);
void		quorum__raft_apply(struct quorum__raft *r);

/* raft_lease.c */
void		quorum__raft_become_leader(struct quorum__raft *r);
void		quorum__raft_leader_tick(struct quorum__raft *r);
void		quorum__raft_heartbeat(struct quorum__raft *r);
void		quorum__raft_on_append_resp(struct quorum__raft *r,
										const struct quorum__raft_msg *msg);
void		quorum__raft_lease_update(struct quorum__raft *r);
void		quorum__raft_lease_drop(struct quorum__raft *r);
void		quorum__raft_transfer_start(struct quorum__raft *r, const char *target);
quorum_time_ms quorum__raft_leader_deadline(const struct quorum__raft *r);

/* raft_resign.c */
int			quorum__raft_resign(struct quorum__raft *r, quorum_time_ms now_ms);
bool		quorum__raft_resigned_in(const struct quorum__raft *r, uint64_t term,
									 const char *name);
void		quorum__raft_on_resign(struct quorum__raft *r,
								   const struct quorum__raft_msg *msg);

#endif							/* QUORUM_RAFT_H */
