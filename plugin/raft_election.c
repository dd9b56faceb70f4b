/*-------------------------------------------------------------------------
 *
 * raft_election.c
 *	  Election timers, pre-vote, vote, and the rules a voter judges by.
 *
 * A follower whose timer runs out first asks for pre-votes (thesis §9.6);
 * only with a majority of them does it bump its term and ask for votes.
 * Both kinds of request are judged by the same rules, in raft_judge(): the
 * term, leader stickiness (the lease depends on it, see raft.c), priority,
 * the decision log (Raft §5.4.1), the database's (timeline, lsn, role), and
 * the first-election rule that lets an existing primary win.
 *
 * plugin/raft_election.c
 *
 *-------------------------------------------------------------------------
 */
#include "raft.h"

#include "internal.h"

#include <string.h>

static bool raft_outranks(const struct quorum__raft *r,
						  const struct quorum__raft_msg *msg);

static const char *const refusal_names[] = {"granted", "term", "sticky",
"voted", "log", "wal", "priority", "primary"};

/*
 * Randomized in [min, max] (Raft §5.2).  Before the very first leader a
 * non-primary waits an extra max, so that an existing primary asks first.
 * A non-voter never campaigns; its timer only decides when it stops
 * believing in a silent leader, and the leader's heartbeats reach it only
 * every few rounds (QUORUM__RAFT_LEARNERS_PER_ROUND at a time), so it
 * waits four times as long.
 */
void
quorum__raft_reset_election_timer(struct quorum__raft *r)
{
	quorum_time_ms min = r->cfg.election_timeout_min_ms;
	quorum_time_ms span = r->cfg.election_timeout_max_ms - min;
	quorum_time_ms t = min + quorum__prng_below(&r->prng, (uint32_t) span + 1);

	if (r->n_voters > 0 && !quorum__raft_self_voter(r))
		t = 4 * r->cfg.election_timeout_max_ms;
	else if (quorum__raft_last_term(r) == 0 && r->leader[0] == '\0' &&
			 r->facts.role != QUORUM_ROLE_PRIMARY)
		t += r->cfg.election_timeout_max_ms;
	r->election_at_ms = r->now_ms + t;
	r->resend_at_ms = 0;
}

/*
 * Paused as committed, but the newest PAUSE or RESUME in our log is a RESUME
 * not yet known to be committed.  Campaigns go by it: a leader that resumed
 * failover and died at once leaves voters holding the RESUME without its
 * commit, and going by the commit alone would keep them paused for good.
 * That is safe: a candidate wins only with every committed decision in its
 * log, so if a PAUSE had been committed after that RESUME this candidate
 * lacks it and cannot win; one that wins commits the RESUME itself.  A
 * host must therefore not act on the pause while this holds: failover may
 * already be back (see quorum_election_info.resume_pending).
 */
bool
quorum__raft_resume_pending(const struct quorum__raft *r)
{
	if (!r->paused)
		return false;
	for (uint64_t i = quorum__raft_last_index(r); i > r->commit; i--)
	{
		const struct quorum_decision *e = quorum__raft_entry_at(r, i);

		if (e != NULL && e->type == QUORUM_DECISION_PAUSE)
			return false;
		if (e != NULL && e->type == QUORUM_DECISION_RESUME)
			return true;
	}
	return false;
}

/*
 * Whether the newest PAUSE or RESUME in our log, committed or not, is a
 * PAUSE (the snapshot's state without either).
 */
static bool
raft_log_paused(const struct quorum__raft *r)
{
	for (uint64_t i = quorum__raft_last_index(r); i > r->d.snap.index; i--)
	{
		const struct quorum_decision *e = quorum__raft_entry_at(r, i);

		if (e != NULL && e->type == QUORUM_DECISION_PAUSE)
			return true;
		if (e != NULL && e->type == QUORUM_DECISION_RESUME)
			return false;
	}
	return r->d.snap.paused;
}

/*
 * Whether our log says paused (raft_log_paused()), unless we lead by a
 * hand-over.  A leader commits its whole log, so a new leader for which
 * this holds will be paused once its first entry commits, and its host must
 * not promote it meanwhile: a degraded leader before it may have let
 * commits through on its own (issue 9, H7).  Raft's election restriction
 * makes every leader hold each committed PAUSE, so this covers a leader
 * whose voters missed the commit, and its own.
 */
bool
quorum__raft_promotion_paused(const struct quorum__raft *r)
{
	/* A hand-over waited for its target to hold every write first. */
	if (r->state == QUORUM__RAFT_LEADER && r->won_by_transfer)
		return false;
#if defined(QUORUM_SIMULATION) && defined(QUORUM_BREAK_PAUSE_PROMOTE)
	/* A new leader promotes whatever its log says (check-sim). */
	return false;
#endif
	return raft_log_paused(r);
}

/*
 * Whether the newest leader this log records is this node: every leader
 * appends a NOOP bearing its name as it takes office.  A later leader that
 * ever held a lease had its NOOP acknowledged by a majority, so a log without
 * it cannot win a vote; a log that has it names that leader here.  False when
 * the NOOP was compacted away or came from a release that left it unnamed.
 */
static bool
raft_led_last(const struct quorum__raft *r)
{
	for (uint64_t i = quorum__raft_last_index(r); i > r->d.snap.index; i--)
	{
		const struct quorum_decision *e = quorum__raft_entry_at(r, i);

		if (e != NULL && e->type == QUORUM_DECISION_NOOP)
			return e->name[0] != '\0' && strcmp(e->name, r->cfg.name) == 0;
	}
	return false;
}

/*
 * While the log says failover is paused (committed or not: a restarted node
 * knows no commit index until a leader tells it, and an uncommitted PAUSE
 * that a majority holds is committed by whoever wins) nobody campaigns, with
 * one exception: the primary that led last may take its lease back.
 *
 * A standby that won would not be promoted (quorum__raft_promotion_paused),
 * so its win would only depose the primary and leave no writable server.
 * And without the exception a leader that lost its majority for a moment (a
 * voter restarting, a short cut) leaves the cluster without any writable
 * server until an operator resumes, although nothing would move: this one is
 * not promoted, it is the primary already and holds every commit it
 * acknowledged, the ones a degraded leader acknowledged alone included.
 */
bool
quorum__raft_can_campaign(const struct quorum__raft *r)
{
	if (!quorum__raft_self_voter(r) || r->facts.priority <= 0 ||
		r->facts.role == QUORUM_ROLE_WITNESS)
		return false;
	if (r->resume_override || !raft_log_paused(r))
		return true;
#if defined(QUORUM_SIMULATION) && defined(QUORUM_BREAK_PAUSE_PROMOTE)
	/* Campaigns go by the committed pause alone, as before H7 (check-sim). */
	return !r->paused;
#endif
#if defined(QUORUM_SIMULATION) && defined(QUORUM_BREAK_PAUSED_CAMPAIGN)
	/* Any primary takes the lease back while paused (check-sim). */
	return r->facts.role == QUORUM_ROLE_PRIMARY;
#endif
	return r->facts.role == QUORUM_ROLE_PRIMARY && raft_led_last(r);
}

/* Gossip shows a primary voter other than `except` (first election only). */
static bool
raft_primary_alive(struct quorum__raft *r, const char *except)
{
	for (unsigned i = 0; i < r->n_peers; i++)
	{
		const struct quorum__raft_peer *p = &r->peers[i];

		if (p->known && p->role == QUORUM_ROLE_PRIMARY &&
			strcmp(p->name, except) != 0 && quorum__raft_is_voter(r, p->name))
			return true;
	}
	return false;
}

int
quorum__raft_pos_cmp(const struct quorum__raft_pos *a,
					 const struct quorum__raft_pos *b)
{
	int			pa = a->role == QUORUM_ROLE_PRIMARY;
	int			pb = b->role == QUORUM_ROLE_PRIMARY;

	if (a->timeline != b->timeline)
		return a->timeline < b->timeline ? -1 : 1;
	if (a->lsn != b->lsn)
		return a->lsn < b->lsn ? -1 : 1;
	return pa - pb;
}

/*
 * Grants of voters whose member is the one the voter set names: a voter
 * bound to a member id counts only once its MEMBER message for this very
 * (pre-)vote named that id, so a server rebuilt under its name, which
 * remembers no vote, cannot vote a second time in a term; and never one
 * whose record was restored from an older copy (quorum__raft_seen_answer).  An entry not
 * bound yet counts any grant, as before member ids (release 0.1 sends no
 * MEMBER).
 */
static bool
raft_grant_counts(const struct quorum__raft *r, const struct quorum__raft_peer *p)
{
	uint64_t	term = r->state == QUORUM__RAFT_PRE_CANDIDATE ? r->d.term + 1 : r->d.term;

	return p->granted && !p->stale &&
		quorum__raft_admits(r, p->name, p->vote_id_term == term ? p->vote_id : 0);
}

static unsigned
raft_count_granted(const struct quorum__raft *r)
{
	unsigned	n = quorum__raft_self_voter(r) ? 1 : 0;

	for (unsigned i = 0; i < r->n_peers; i++)
		if (raft_grant_counts(r, &r->peers[i]))
			n++;
	return n;
}

/*
 * Ask every voter whose grant does not count yet (none, or its MEMBER
 * lost) and that has not refused for good.  Sent again each heartbeat_ms
 * until the round ends, so that one lost request or answer costs a
 * heartbeat, not a whole election timeout; asking twice is harmless, since
 * a voter answers the same candidate the same way in one term.
 */
static void
raft_request_votes(struct quorum__raft *r, enum quorum__raft_msg_type type,
				   uint64_t term)
{
	r->resend_at_ms = r->now_ms + r->cfg.heartbeat_ms;
	for (unsigned i = 0; i < r->n_voters; i++)
	{
		struct quorum__raft_peer *p = quorum__raft_peer_find(r, r->voters[i]);
		struct quorum__raft_msg *m;

		if (p == NULL || raft_grant_counts(r, p) || r->now_ms < p->ask_after_ms)
			continue;
		m = quorum__raft_msg_new(r, type, r->voters[i]);
		if (m == NULL)
			return;
		m->term = term;
		m->u.vote.last_index = quorum__raft_last_index(r);
		m->u.vote.last_term = quorum__raft_last_term(r);
		m->u.vote.pos = r->facts;
		m->u.vote.transfer = r->transferring;
	}
}

static void
raft_clear_grants(struct quorum__raft *r)
{
	for (unsigned i = 0; i < r->n_peers; i++)
	{
		r->peers[i].granted = false;
		r->peers[i].ask_after_ms = 0;
		r->peers[i].vote_id_term = 0;
	}
}

/* follower -> pre-candidate: election timeout with no leader contact */
static void
raft_prevote(struct quorum__raft *r)
{
	if (r->state != QUORUM__RAFT_PRE_CANDIDATE)
		QUORUM_TRACE(&r->cfg.trace, QUORUM_TRACE_INFO, r->now_ms,
					 "%s -> pre-candidate: election timeout with no leader contact, asking for term %llu",
					 quorum__raft_state_name(r->state),
					 (unsigned long long) r->d.term + 1);
	r->state = QUORUM__RAFT_PRE_CANDIDATE;
	r->transferring = false;
	r->stats.prevotes_started++;
	raft_clear_grants(r);
	quorum__raft_reset_election_timer(r);
	raft_request_votes(r, QUORUM__RAFT_MSG_PREVOTE, r->d.term + 1);
	if (raft_count_granted(r) >= quorum__raft_majority(r))
		quorum__raft_campaign(r, false);
}

/* candidate -> leader, remembering whether a hand-over made us one. */
static void
raft_win(struct quorum__raft *r)
{
	r->won_by_transfer = r->transferring;
	quorum__raft_become_leader(r);
}

/*
 * pre-candidate -> candidate: a majority would vote for us; or
 * follower -> candidate: TIMEOUT_NOW from our leader (transfer).
 */
void
quorum__raft_campaign(struct quorum__raft *r, bool transfer)
{
	quorum__raft_set_term(r, r->d.term + 1);
	snprintf(r->d.voted_for, sizeof(r->d.voted_for), "%s", r->cfg.name);
	quorum__raft_persist(r);
	QUORUM_TRACE(&r->cfg.trace, QUORUM_TRACE_INFO, r->now_ms,
				 "%s -> candidate: %s, term %llu",
				 quorum__raft_state_name(r->state),
				 transfer ? "leadership transfer" : "a majority would vote",
				 (unsigned long long) r->d.term);
	r->state = QUORUM__RAFT_CANDIDATE;
	r->transferring = transfer;
	r->stats.elections_started++;
	quorum__raft_set_leader(r, "");
	raft_clear_grants(r);
	quorum__raft_reset_election_timer(r);
	raft_request_votes(r, QUORUM__RAFT_MSG_VOTE, r->d.term);
	if (raft_count_granted(r) >= quorum__raft_majority(r))
		raft_win(r);
}

/*
 * The timer ran out: the leader is gone (tell the host), and if this node
 * may campaign, it asks for pre-votes.  Its own vote obeys stickiness too.
 */
void
quorum__raft_election_tick(struct quorum__raft *r)
{
	quorum_time_ms sticky_end = r->contact_ms + r->cfg.election_timeout_min_ms;

	if (r->resend_at_ms != 0 && r->now_ms >= r->resend_at_ms &&
		r->now_ms < r->election_at_ms)
	{
		if (r->state == QUORUM__RAFT_PRE_CANDIDATE)
			raft_request_votes(r, QUORUM__RAFT_MSG_PREVOTE, r->d.term + 1);
		else if (r->state == QUORUM__RAFT_CANDIDATE)
			raft_request_votes(r, QUORUM__RAFT_MSG_VOTE, r->d.term);
		else
			r->resend_at_ms = 0;
		return;
	}
	if (r->now_ms < r->election_at_ms)
		return;
	if (r->leader[0] != '\0')
		quorum__raft_set_leader(r, "");
	if (!quorum__raft_can_campaign(r) || r->now_ms < sticky_end ||
		(quorum__raft_last_term(r) == 0 &&
		 r->facts.role != QUORUM_ROLE_PRIMARY &&
		 raft_primary_alive(r, r->cfg.name)))
	{
		r->state = QUORUM__RAFT_FOLLOWER;
		r->transferring = false;
		quorum__raft_reset_election_timer(r);
		return;
	}
	/*
	 * We just granted someone a pre-vote for the term we would ask for: it
	 * is about to win; give it two heartbeats before competing with it.
	 */
	if (r->prevote_term == r->d.term + 1 &&
		r->now_ms < r->prevote_at_ms + 2 * r->cfg.heartbeat_ms)
	{
		r->election_at_ms = r->prevote_at_ms + 2 * r->cfg.heartbeat_ms;
		return;
	}
	raft_prevote(r);
}

quorum_time_ms
quorum__raft_election_deadline(const struct quorum__raft *r)
{
	/* No voter set yet: nothing to time (bootstrap has its own timers). */
	if (r->n_voters == 0)
		return UINT64_MAX;
	if (r->resend_at_ms != 0 && r->resend_at_ms < r->election_at_ms)
		return r->resend_at_ms;
	return r->election_at_ms;
}

/*
 * Within the minimum election timeout of leader contact a voter neither
 * votes nor adopts a newer term; a leader always is.  The one exception is
 * the request TIMEOUT_NOW caused: the term right after ours, flagged, and,
 * if we are the leader, from the very member we handed over to.
 */
static bool
raft_sticky(const struct quorum__raft *r, const struct quorum__raft_msg *msg,
			uint32_t *left_ms)
{
	quorum_time_ms end = r->contact_ms + r->cfg.election_timeout_min_ms;
	bool		transfer = msg->type == QUORUM__RAFT_MSG_VOTE &&
		msg->u.vote.transfer && msg->term == r->d.term + 1;

	*left_ms = 0;
	if (r->state == QUORUM__RAFT_LEADER)
	{
		if (transfer && r->transfer_sent &&
			strcmp(msg->from, r->transfer_to) == 0)
			return false;
		*left_ms = (uint32_t) r->cfg.election_timeout_min_ms;
		return true;
	}
	if (r->now_ms >= end || transfer)
		return false;
	*left_ms = (uint32_t) (end - r->now_ms);
	return true;
}

/* Whether a vote in msg->term is still free for msg->from. */
static bool
raft_vote_free(const struct quorum__raft *r, const struct quorum__raft_msg *msg)
{
	if (msg->term > r->d.term)
		return true;
	if (r->d.voted_for[0] != '\0')
		return strcmp(r->d.voted_for, msg->from) == 0;
	return r->leader[0] == '\0';
}

/*
 * A vote request caused by TIMEOUT_NOW ranks by WAL alone.  The primary is
 * ranked above a standby at the same position only so that a live primary
 * keeps its place; the one that sent TIMEOUT_NOW has given its place up (its
 * lease went first), and would otherwise refuse its own hand-over, leaving a
 * three-voter cluster's switchover to the one remaining vote.
 */
static bool
raft_transfer_tie(const struct quorum__raft_msg *msg,
				  const struct quorum__raft_pos *ours)
{
	return msg->type == QUORUM__RAFT_MSG_VOTE && msg->u.vote.transfer &&
		msg->u.vote.pos.timeline == ours->timeline &&
		msg->u.vote.pos.lsn == ours->lsn;
}

static enum quorum__raft_refusal
raft_judge(const struct quorum__raft *r, const struct quorum__raft_msg *msg,
		   uint32_t *sticky_ms)
{
	const struct quorum__raft_pos *pos = &msg->u.vote.pos;
	uint64_t	last_term = quorum__raft_last_term(r);

	if (msg->term < r->d.term)
		return QUORUM__RAFT_REFUSE_TERM;
	if (raft_sticky(r, msg, sticky_ms))
		return QUORUM__RAFT_REFUSE_STICKY;
	if (pos->priority <= 0 || pos->role == QUORUM_ROLE_WITNESS)
		return QUORUM__RAFT_REFUSE_PRIORITY;
	if (msg->u.vote.last_term < last_term ||
		(msg->u.vote.last_term == last_term &&
		 msg->u.vote.last_index < quorum__raft_last_index(r)))
		return QUORUM__RAFT_REFUSE_LOG;
	if (quorum__raft_pos_cmp(pos, &r->facts) < 0 && !raft_transfer_tie(msg, &r->facts))
		return QUORUM__RAFT_REFUSE_WAL;
	if (last_term == 0 && pos->role != QUORUM_ROLE_PRIMARY &&
		raft_primary_alive((struct quorum__raft *) r, msg->from))
		return QUORUM__RAFT_REFUSE_PRIMARY;
	if (!raft_vote_free(r, msg))
		return QUORUM__RAFT_REFUSE_VOTED;
	/* Pre-candidates for one term: only the higher-ranked one gets ours. */
	if (msg->type == QUORUM__RAFT_MSG_PREVOTE &&
		r->state == QUORUM__RAFT_PRE_CANDIDATE && msg->term == r->d.term + 1 &&
		!raft_outranks(r, msg))
		return QUORUM__RAFT_REFUSE_VOTED;
	return QUORUM__RAFT_GRANTED;
}

static void
raft_reply_vote(struct quorum__raft *r, const struct quorum__raft_msg *msg,
				enum quorum__raft_refusal why, uint32_t sticky_ms)
{
	bool		pre = msg->type == QUORUM__RAFT_MSG_PREVOTE;
	struct quorum__raft_msg *m;

	m = quorum__raft_msg_new(r, pre ? QUORUM__RAFT_MSG_PREVOTE_RESP :
							 QUORUM__RAFT_MSG_VOTE_RESP, msg->from);
	if (m == NULL)
		return;
	/* A granted pre-vote answers in the proposed term (etcd does so too). */
	m->term = pre && why == QUORUM__RAFT_GRANTED ? msg->term : r->d.term;
	m->u.vote_resp.granted = why == QUORUM__RAFT_GRANTED;
	m->u.vote_resp.refusal = (uint8_t) why;
	m->u.vote_resp.sticky_ms = sticky_ms;
	if (why != QUORUM__RAFT_GRANTED)
		return;
	m = quorum__raft_msg_new(r, QUORUM__RAFT_MSG_MEMBER, msg->from);
	if (m != NULL)
	{
		m->term = msg->term;
		m->u.member.member_id = r->cfg.member_id;
		m->u.member.persist_seq = quorum__raft_seq_now(r);
	}
}

/*
 * Whether the sender of a pre-vote ranks above us: longer decision log, then
 * better database, then priority, then the smaller name.  Every pair ranks
 * the same way seen from either side.
 */
static bool
raft_outranks(const struct quorum__raft *r, const struct quorum__raft_msg *msg)
{
	uint64_t	last_term = quorum__raft_last_term(r);
	uint64_t	last_index = quorum__raft_last_index(r);
	int			c;

	if (msg->u.vote.last_term != last_term)
		return msg->u.vote.last_term > last_term;
	if (msg->u.vote.last_index != last_index)
		return msg->u.vote.last_index > last_index;
	if ((c = quorum__raft_pos_cmp(&msg->u.vote.pos, &r->facts)) != 0)
		return c > 0;
	if (msg->u.vote.pos.priority != r->facts.priority)
		return msg->u.vote.pos.priority > r->facts.priority;
	return strcmp(msg->from, r->cfg.name) < 0;
}

/*
 * pre-candidate -> follower: another pre-candidate for the same term ranks
 * higher.  Two timers running out within a round trip would otherwise both
 * win their pre-votes and split the real vote, costing a whole election
 * timeout; the lower-ranked one yields instead, and the better one wins.
 */
static void
raft_maybe_yield(struct quorum__raft *r, const struct quorum__raft_msg *msg)
{
	if (r->state != QUORUM__RAFT_PRE_CANDIDATE || msg->term != r->d.term + 1 ||
		!raft_outranks(r, msg))
		return;
	QUORUM_TRACE(&r->cfg.trace, QUORUM_TRACE_INFO, r->now_ms,
				 "pre-candidate -> follower: %s ranks higher for term %llu",
				 msg->from, (unsigned long long) msg->term);
	r->state = QUORUM__RAFT_FOLLOWER;
	quorum__raft_reset_election_timer(r);
}

/* ---------------------------------------------------------------------
 * A vote stops the WAL (config stop_wal_to_vote)
 * ---------------------------------------------------------------------
 *
 * From Raft §5.1: a server that learns of a newer term rejects requests of
 * the older one.  Here the old leader's appends are its WAL, which the host
 * streams outside libquorum, and a voter's facts are a sample of it.  A
 * voter that judged a candidate on a sample older than the WAL it has
 * since flushed, or that keeps flushing (and, as a synchronous standby,
 * acknowledging) the old leader's WAL after it voted, can elect a
 * candidate without a commit a client was told about.  So a real vote this
 * node would grant waits: the host stops taking WAL, samples again, and
 * the request is judged on that sample (raft_judge only ever refuses more
 * on a newer sample, since WAL only grows).  Intake stays stopped while
 * the vote can still elect someone: until a leader of the new term is
 * known (the host then follows it), or for three maximum election timeouts,
 * which outlasts any candidacy in that term (a candidate's timer is at
 * most twice the maximum, before the first leader, plus its clock's error);
 * then the host follows the leader it knows again.  Pre-votes change
 * nothing and do not wait.  Neither does a vote a TIMEOUT_NOW caused: the
 * leader that sent it gave its lease up first and waited for the target to
 * hold every write it had let commit.
 */

bool
quorum__raft_wal_stop_active(const struct quorum__raft *r)
{
	return r->wal_stop;
}

/* After every input: the stop ends with a leader, or with its time. */
void
quorum__raft_wal_stop_tick(struct quorum__raft *r)
{
	if (!r->wal_stop ||
		(r->leader[0] == '\0' && r->now_ms < r->wal_stop_until_ms))
		return;
	QUORUM_TRACE(&r->cfg.trace, QUORUM_TRACE_INFO, r->now_ms,
				 "WAL intake may resume: %s%s",
				 r->leader[0] != '\0' ? "the leader is " : "no leader within the vote's time",
				 r->leader);
	r->wal_stop = false;
	r->wal_stopped = false;
	r->wal_vote_pending = false;
}

/*
 * Whether a vote raft_judge granted must wait for the WAL to stop; if so,
 * the request is kept to be answered then.
 */
static bool
raft_wal_must_stop(struct quorum__raft *r, const struct quorum__raft_msg *msg)
{
	if (!r->cfg.stop_wal_to_vote || msg->type != QUORUM__RAFT_MSG_VOTE ||
		msg->u.vote.transfer || r->facts.role == QUORUM_ROLE_WITNESS)
		return false;
#if defined(QUORUM_SIMULATION) && defined(QUORUM_BREAK_STALE_VOTE)
	/* Judge on whatever sample there is, as before the fix (check-sim). */
	return false;
#endif
	/* Each vote granted may elect someone: the stop lasts from the last. */
	r->wal_stop_until_ms = r->now_ms + quorum_timing_wal_stop_ms(r->cfg.election_timeout_max_ms);
	if (r->wal_stopped)
		return false;
	if (!r->wal_stop)
		QUORUM_TRACE(&r->cfg.trace, QUORUM_TRACE_INFO, r->now_ms,
					 "vote %s for term %llu: waits until the host has stopped its WAL intake",
					 msg->from, (unsigned long long) msg->term);
	r->wal_stop = true;
	r->wal_vote = *msg;
	r->wal_vote_pending = true;
	return true;
}

/*
 * The host stopped its WAL intake and sampled it: judge the waiting
 * request on that sample now, rather than at the candidate's next ask.
 */
void
quorum__raft_wal_stopped(struct quorum__raft *r, const struct quorum_meta *facts,
						 quorum_time_ms now_ms)
{
	quorum__raft_set_facts(r, facts, now_ms);
	if (!r->wal_stop)
		return;
	r->wal_stopped = true;
	if (r->wal_vote_pending)
	{
		r->wal_vote_pending = false;
		quorum__raft_on_vote(r, &r->wal_vote);
	}
}

void
quorum__raft_on_vote(struct quorum__raft *r, const struct quorum__raft_msg *msg)
{
	bool		pre = msg->type == QUORUM__RAFT_MSG_PREVOTE;
	uint32_t	sticky_ms = 0;
	enum quorum__raft_refusal why;

	/*
	 * Our name votes with another member id: whatever this server remembers
	 * of its votes is not what the cluster counts on (it was rebuilt, or
	 * its record replaced), so it does not vote at all.
	 */
	if (quorum__raft_self_unadmitted(r))
	{
		if (r->stats.votes_unadmitted++ % 64 == 0)
			QUORUM_TRACE(&r->cfg.trace, QUORUM_TRACE_WARNING, r->now_ms,
						 "%s from %s not answered: the voter set binds %s to another member id than ours (%016llx); run quorum.add_voter('%s') to admit this server again",
						 pre ? "pre-vote" : "vote", msg->from, r->cfg.name,
						 (unsigned long long) r->cfg.member_id, r->cfg.name);
		return;
	}
	if (pre)
		raft_maybe_yield(r, msg);
	why = raft_judge(r, msg, &sticky_ms);

	/* A real vote request of a newer term, once past stickiness, moves us. */
	if (!pre && msg->term > r->d.term && why != QUORUM__RAFT_REFUSE_STICKY)
		quorum__raft_become_follower(r, msg->term, "");
	if (!pre && why == QUORUM__RAFT_GRANTED && raft_wal_must_stop(r, msg))
		return;
	if (!pre && why == QUORUM__RAFT_GRANTED)
	{
		snprintf(r->d.voted_for, sizeof(r->d.voted_for), "%s", msg->from);
		quorum__raft_persist(r);
		r->stats.votes_granted++;
		/* Granting a vote restarts the timer (Raft §5.2). */
		quorum__raft_reset_election_timer(r);
	}
	if (pre && why == QUORUM__RAFT_GRANTED)
	{
		r->prevote_term = msg->term;
		r->prevote_at_ms = r->now_ms;
	}
	r->stats.refusals[why]++;
	QUORUM_TRACE(&r->cfg.trace, QUORUM_TRACE_INFO, r->now_ms,
				 "%s %s for term %llu: %s", pre ? "pre-vote" : "vote", msg->from,
				 (unsigned long long) msg->term, refusal_names[why]);
	raft_reply_vote(r, msg, why, sticky_ms);
}

/*
 * A refusal for stickiness ends when the voter's minimum timeout does: ask
 * again then (within this round).  Any other refusal stands for the round.
 */
static void
raft_note_refusal(struct quorum__raft *r, struct quorum__raft_peer *p,
				  const struct quorum__raft_msg *msg)
{
	if (msg->u.vote_resp.refusal == QUORUM__RAFT_REFUSE_STICKY)
		p->ask_after_ms = r->now_ms + msg->u.vote_resp.sticky_ms + 1;
	else
		p->ask_after_ms = UINT64_MAX;
}

/*
 * A split vote: the voters that voted for another candidate of our term,
 * with those that refused us for good otherwise, a leader that just
 * resigned (its host resigns because its database is gone, so it is not
 * counted on to vote) and those gossip has found dead, leave too few for a
 * majority.
 * Nobody leads this term then, unless the other candidate won, and its
 * heartbeats will tell us so within one.  So we campaign again after one or
 * two heartbeats, at random, instead of a whole election timeout (1.2 s and
 * more): after a RESIGN the voters start at nearly the same moment, and two
 * of them can split the others' votes (the simulator's bench-election shows
 * it).  The election timeout guards the lease through the voters'
 * stickiness, which an early pre-vote still meets; and the next round's
 * pre-vote ranks two pre-candidates, and holds back whoever granted one, so
 * it rarely splits again.
 */
static void
raft_after_refusal(struct quorum__raft *r, const struct quorum__raft_msg *msg)
{
	unsigned	possible = raft_count_granted(r);
	quorum_time_ms at;

	if (msg->type != QUORUM__RAFT_MSG_VOTE_RESP ||
		msg->u.vote_resp.refusal != QUORUM__RAFT_REFUSE_VOTED)
		return;
	for (unsigned i = 0; i < r->n_voters; i++)
	{
		const struct quorum__raft_peer *p = quorum__raft_peer_find(r, r->voters[i]);

		if (p != NULL && p->known && strcmp(p->name, r->cfg.name) != 0 &&
			!raft_grant_counts(r, p) && p->ask_after_ms != UINT64_MAX &&
			!quorum__raft_resigned_in(r, r->d.term - 1, p->name))
			possible++;
	}
	if (possible >= quorum__raft_majority(r))
		return;
	at = r->now_ms + r->cfg.heartbeat_ms +
		quorum__prng_below(&r->prng, (uint32_t) r->cfg.heartbeat_ms + 1);
	if (at >= r->election_at_ms)
		return;
	QUORUM_TRACE(&r->cfg.trace, QUORUM_TRACE_INFO, r->now_ms,
				 "split vote in term %llu: campaigning again in %llu ms",
				 (unsigned long long) r->d.term,
				 (unsigned long long) (at - r->now_ms));
	r->election_at_ms = at;
}

/* Enough grants: the pre-vote turns into a vote, the vote into a win. */
static void
raft_tally(struct quorum__raft *r, bool pre)
{
	if (raft_count_granted(r) < quorum__raft_majority(r))
		return;
	if (pre)
		quorum__raft_campaign(r, false);
	else
		raft_win(r);
}

void
quorum__raft_on_vote_resp(struct quorum__raft *r,
						  const struct quorum__raft_msg *msg)
{
	bool		pre = msg->type == QUORUM__RAFT_MSG_PREVOTE_RESP;
	struct quorum__raft_peer *p = quorum__raft_peer_find(r, msg->from);

	if (pre ? r->state != QUORUM__RAFT_PRE_CANDIDATE :
		(r->state != QUORUM__RAFT_CANDIDATE || msg->term != r->d.term))
		return;
	if (p == NULL || !quorum__raft_is_voter(r, msg->from))
		return;
	if (!msg->u.vote_resp.granted)
	{
		raft_note_refusal(r, p, msg);
		raft_after_refusal(r, msg);
		return;
	}
	if (pre && msg->term != r->d.term + 1)
		return;
	p->granted = true;
	raft_tally(r, pre);
}

/*
 * A peer says it saw a newer record of ours than we hold: ours was
 * restored from an older copy (see quorum__raft_seen_answer()), and what
 * we remember of our votes may be older than what we did.  Take a new
 * member id, so that our name stops counting as us until quorum.add_voter()
 * admits the new one, as for a server rebuilt under the name.
 */
static void
raft_on_restored(struct quorum__raft *r, const struct quorum__raft_msg *msg)
{
	uint64_t	old = r->cfg.member_id;

	if (msg->u.member.persist_seq <= r->d.persist_seq)
		return;
	r->stats.restores_detected++;
	do
		r->cfg.member_id = quorum__prng_next(&r->prng);
	while (r->cfg.member_id == 0 || r->cfg.member_id == old);
	quorum__raft_persist(r);
	QUORUM_TRACE(&r->cfg.trace, QUORUM_TRACE_WARNING, r->now_ms,
				 "%s saw record %llu of ours, and we hold record %llu: our state was restored from an older copy; new member id %016llx, not a voter until quorum.add_voter('%s')",
				 msg->from, (unsigned long long) msg->u.member.persist_seq,
				 (unsigned long long) r->d.persist_seq,
				 (unsigned long long) r->cfg.member_id, r->cfg.name);
	if (r->state != QUORUM__RAFT_FOLLOWER)
		quorum__raft_become_follower(r, r->d.term, "");
}

/* The member id a grant came from; it may arrive before or after it. */
void
quorum__raft_on_member(struct quorum__raft *r, const struct quorum__raft_msg *msg)
{
	bool		pre = r->state == QUORUM__RAFT_PRE_CANDIDATE;
	struct quorum__raft_peer *p = quorum__raft_peer_find(r, msg->from);

	if (msg->u.member.member_id == r->cfg.member_id)
	{
		raft_on_restored(r, msg);
		return;
	}
	if (p == NULL || !quorum__raft_is_voter(r, msg->from) ||
		(pre ? msg->term != r->d.term + 1 :
		 r->state != QUORUM__RAFT_CANDIDATE || msg->term != r->d.term))
		return;
	if (!quorum__raft_seen_answer(r, p, msg, msg->u.member.member_id,
								  msg->u.member.persist_seq))
		return;
	p->vote_id = msg->u.member.member_id;
	p->vote_id_term = msg->term;
	if (!quorum__raft_admits(r, msg->from, p->vote_id))
	{
		r->stats.id_mismatches++;
		QUORUM_TRACE(&r->cfg.trace, QUORUM_TRACE_WARNING, r->now_ms,
					 "%s votes with member id %016llx, which is not the one its name votes with: not counted until quorum.add_voter('%s') admits it",
					 msg->from, (unsigned long long) p->vote_id, msg->from);
		return;
	}
	if (p->granted)
		raft_tally(r, pre);
}

/*
 * follower -> candidate: our leader handed over (thesis §3.10).  Only the
 * leader of our own term counts, so a stale TIMEOUT_NOW does nothing.
 */
void
quorum__raft_on_timeout_now(struct quorum__raft *r,
							const struct quorum__raft_msg *msg)
{
	if (msg->term != r->d.term || r->state == QUORUM__RAFT_LEADER ||
		strcmp(msg->from, r->leader) != 0)
		return;
	if (!quorum__raft_self_voter(r) || r->facts.priority <= 0 ||
		r->facts.role == QUORUM_ROLE_WITNESS)
	{
		QUORUM_TRACE(&r->cfg.trace, QUORUM_TRACE_WARNING, r->now_ms,
					 "TIMEOUT_NOW from %s ignored: not a candidate (voter %d, priority %d)",
					 msg->from, quorum__raft_self_voter(r), (int) r->facts.priority);
		return;
	}
	quorum__raft_campaign(r, true);
}
