/*-------------------------------------------------------------------------
 *
 * raft_lease.c
 *	  The leader: heartbeat rounds, the write lease, check-quorum and
 *	  leadership transfer.
 *
 * Every heartbeat_ms the leader sends round r (an APPEND, entries or not) to
 * every voter and to a few non-voters, noting the local send time.  Answers
 * echo the round and carry the voter's promise (its election timeout).  The
 * lease runs as long as a majority supports it, each voter's newest
 * acknowledged round for the lease its own promise allows (at most
 * lease_ms); the newest round a majority acknowledged gives check-quorum
 * (step down once nothing a majority acknowledged was sent within the
 * minimum election timeout).  Why measuring from the send time is safe is the essay in
 * raft.c; what matters here is that a round counts only if it was sent in
 * the current term and an answer counts only from the current term.
 *
 * plugin/raft_lease.c
 *
 *-------------------------------------------------------------------------
 */
#include "raft.h"

#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* candidate -> leader: a majority voted for us in this term */
void
quorum__raft_become_leader(struct quorum__raft *r)
{
	QUORUM_TRACE(&r->cfg.trace, QUORUM_TRACE_INFO, r->now_ms,
				 "%s -> leader: a majority voted, term %llu",
				 quorum__raft_state_name(r->state),
				 (unsigned long long) r->d.term);
	r->state = QUORUM__RAFT_LEADER;
	r->stats.elections_won++;
	r->transferring = false;
	r->leader_since_ms = r->now_ms;
	r->quorum_ms = r->now_ms;
	r->lease_until_ms = 0;
	r->lease_event = false;
	r->lease_released = false;
	r->transfer_to[0] = '\0';
	r->transfer_sent = false;
	r->term_first_round = r->round + 1;
	for (unsigned i = 0; i < r->n_peers; i++)
	{
		struct quorum__raft_peer *p = &r->peers[i];

		p->next_index = quorum__raft_last_index(r) + 1;
		p->match_index = 0;
		p->acked_round = 0;
		p->pos_known = false;
	}
	quorum__raft_set_leader(r, r->cfg.name);
	/*
	 * A NOOP of our term commits what earlier terms left (Raft §5.4.2).  It
	 * bears our name, so a log tells who led last (raft_led_last()).
	 */
	if (quorum__raft_append_local(r, QUORUM_DECISION_NOOP, r->cfg.name))
		r->term_start_index = quorum__raft_last_index(r);
	/* Elected on a RESUME asked for while the cluster had no leader. */
	if (r->resume_override && r->paused)
		(void) quorum__raft_append_local(r, QUORUM_DECISION_RESUME, "");
	quorum__raft_heartbeat(r);
	quorum__raft_leader_commit(r);
}

static void lease_transfer_tick(struct quorum__raft *r);

static bool
lease_is_voter_peer(const struct quorum__raft *r, const struct quorum__raft_peer *p)
{
	return quorum__raft_is_voter(r, p->name);
}

/* Round r to every voter, and to the next few non-voters gossip knows. */
void
quorum__raft_heartbeat(struct quorum__raft *r)
{
	unsigned	learners = 0;

	r->round++;
	r->round_sent_ms[r->round % QUORUM__RAFT_ROUNDS] = r->now_ms;
	r->next_heartbeat_ms = r->now_ms + r->cfg.heartbeat_ms;
	for (unsigned i = 0; i < r->n_peers; i++)
		if (lease_is_voter_peer(r, &r->peers[i]))
			quorum__raft_send_append(r, &r->peers[i]);
	for (unsigned k = 0; k < r->n_peers &&
		 learners < QUORUM__RAFT_LEARNERS_PER_ROUND; k++)
	{
		struct quorum__raft_peer *p;

		if (r->learner_cursor >= r->n_peers)
			r->learner_cursor = 0;
		p = &r->peers[r->learner_cursor++];
		if (p->known && !lease_is_voter_peer(r, p))
		{
			quorum__raft_send_append(r, p);
			learners++;
		}
	}
	/*
	 * A lost TIMEOUT_NOW is sent again each round: harmless, since only the
	 * target in our very term acts on it, and the lease is given up already.
	 */
	if (r->transfer_sent)
		(void) quorum__raft_msg_new(r, QUORUM__RAFT_MSG_TIMEOUT_NOW, r->transfer_to);
	quorum__raft_lease_update(r);
}

static int
lease_u64_desc(const void *a, const void *b)
{
	uint64_t	x = *(const uint64_t *) a;
	uint64_t	y = *(const uint64_t *) b;

	return x < y ? 1 : x > y ? -1 : 0;
}

/* The newest round of this term a majority of voters has acknowledged. */
static uint64_t
lease_majority_round(const struct quorum__raft *r)
{
	uint64_t	acked[QUORUM_VOTERS_MAX];
	uint64_t	q;

	if (r->n_voters == 0)
		return 0;
	for (unsigned i = 0; i < r->n_voters; i++)
	{
		const struct quorum__raft_peer *p;

		if (strcmp(r->voters[i], r->cfg.name) == 0)
		{
			acked[i] = r->round;
			continue;
		}
		p = quorum__raft_voter_peer((struct quorum__raft *) r, i);
		acked[i] = p != NULL ? p->acked_round : 0;
	}
	qsort(acked, r->n_voters, sizeof(acked[0]), lease_u64_desc);
	q = acked[quorum__raft_majority(r) - 1];
	if (q < r->term_first_round || q == 0 || r->round - q >= QUORUM__RAFT_ROUNDS)
		return 0;
	return q;
}

/*
 * The lease a voter's promise of promise_ms supports: L of the essay in
 * raft.c for that voter's E, never more than our own E gives.  A 0.1 voter
 * names none (0): it is taken to have our own E, the rule before issue 9's
 * H6, which only holds if every server runs with the same election timeout
 * while 0.1 takes part (README, "Upgrading pg_quorum").  The build with
 * QUORUM_BREAK_PROMISE takes every voter to promise what we do, to prove
 * that the simulator catches the difference.
 */
static quorum_time_ms
lease_for_promise(const struct quorum__raft *r, uint32_t promise_ms)
{
	struct quorum__raft_config c = r->cfg;

#if defined(QUORUM_SIMULATION) && defined(QUORUM_BREAK_PROMISE)
	promise_ms = (uint32_t) r->cfg.election_timeout_min_ms;
#endif
	if (promise_ms == 0 || promise_ms >= c.election_timeout_min_ms)
		return r->lease_ms;
	c.election_timeout_min_ms = promise_ms;
	return quorum__raft_lease_length(&c);
}

/*
 * Until when a majority of voters supports the lease: each voter's newest
 * acknowledged round of this term supports it until that round's send time
 * plus the lease its own promise allows (we count ourselves at the newest
 * round, with our own); the majority-th latest of those.  0 = none.
 */
static quorum_time_ms
lease_majority_until(const struct quorum__raft *r)
{
	uint64_t	until[QUORUM_VOTERS_MAX];

	if (r->n_voters == 0)
		return 0;
	for (unsigned i = 0; i < r->n_voters; i++)
	{
		const struct quorum__raft_peer *p;
		uint64_t	round;

		until[i] = 0;
		if (strcmp(r->voters[i], r->cfg.name) == 0)
		{
			until[i] = r->round_sent_ms[r->round % QUORUM__RAFT_ROUNDS] + r->lease_ms;
			continue;
		}
		p = quorum__raft_voter_peer((struct quorum__raft *) r, i);
		if (p == NULL || (round = p->acked_round) == 0 ||
			round < r->term_first_round || r->round - round >= QUORUM__RAFT_ROUNDS)
			continue;
		until[i] = r->round_sent_ms[round % QUORUM__RAFT_ROUNDS] +
			lease_for_promise(r, p->promise_ms);
	}
	qsort(until, r->n_voters, sizeof(until[0]), lease_u64_desc);
	return until[quorum__raft_majority(r) - 1];
}

void
quorum__raft_lease_update(struct quorum__raft *r)
{
	uint64_t	q = lease_majority_round(r);
	quorum_time_ms sent;
	quorum_time_ms until;

	if (q == 0)
		return;
	sent = r->round_sent_ms[q % QUORUM__RAFT_ROUNDS];
	if (sent > r->quorum_ms)
		r->quorum_ms = sent;
	until = lease_majority_until(r);
	if (r->lease_released || until <= r->lease_until_ms)
		return;
	r->lease_until_ms = until;
	if (!r->lease_event && r->now_ms < r->lease_until_ms)
	{
		r->lease_event = true;
		r->stats.leases_gained++;
		QUORUM_TRACE(&r->cfg.trace, QUORUM_TRACE_INFO, r->now_ms,
					 "lease gained in term %llu (round %llu sent at %llu)",
					 (unsigned long long) r->d.term, (unsigned long long) q,
					 (unsigned long long) sent);
		quorum__raft_event(r, QUORUM__RAFT_EV_LEASE_GAINED);
	}
}

/* The lease ends now: stepped down, given up for a transfer, or expired. */
void
quorum__raft_lease_drop(struct quorum__raft *r)
{
	r->lease_until_ms = 0;
	if (!r->lease_event)
		return;
	r->lease_event = false;
	QUORUM_TRACE(&r->cfg.trace, QUORUM_TRACE_INFO, r->now_ms,
				 "lease lost in term %llu", (unsigned long long) r->d.term);
	quorum__raft_event(r, QUORUM__RAFT_EV_LEASE_LOST);
}

void
quorum__raft_on_append_resp(struct quorum__raft *r,
							const struct quorum__raft_msg *msg)
{
	struct quorum__raft_peer *p;
	uint64_t	round = msg->u.append_resp.round;

	if (r->state != QUORUM__RAFT_LEADER ||
		(p = quorum__raft_peer_add(r, msg->from)) == NULL)
		return;
	/*
	 * An answer from another member than the voter set names under its
	 * name (a server rebuilt or restored under a voter's name) supports
	 * neither lease nor commit (quorum__raft_voter_peer() leaves it out)
	 * and makes it no transfer target, but it is still caught up, so that
	 * it learns it is not admitted; its id is what quorum.add_voter()
	 * admits.
	 */
	(void) quorum__raft_seen_answer(r, p, msg, msg->u.append_resp.member_id,
									msg->u.append_resp.persist_seq);
	if (quorum__raft_is_voter(r, msg->from) &&
		!quorum__raft_admits(r, msg->from, p->member_id) &&
		r->stats.id_mismatches++ % 64 == 0)
		QUORUM_TRACE(&r->cfg.trace, QUORUM_TRACE_WARNING, r->now_ms,
					 "%s answers with member id %016llx, which is not the one its name votes with: not counted until quorum.add_voter('%s') admits it",
					 msg->from, (unsigned long long) p->member_id, msg->from);
	p->last_ack_ms = r->now_ms;
	p->pos = msg->u.append_resp.pos;
	p->pos_known = true;
	if (msg->u.append_resp.promise_ms == 0 &&
		(p->promise_ms != 0 || p->acked_round == 0))
		QUORUM_TRACE(&r->cfg.trace, QUORUM_TRACE_WARNING, r->now_ms,
					 "%s names no election timeout (release 0.1): its answers count as if it had ours, so election timeouts must match until it is upgraded",
					 msg->from);
	if (msg->u.append_resp.promise_ms == 0)
		r->stats.acks_unpromised++;
	p->promise_ms = msg->u.append_resp.promise_ms;
	p->voter_capable = msg->u.append_resp.voter;
	if (round >= r->term_first_round && round <= r->round && round > p->acked_round)
		p->acked_round = round;
	if (msg->u.append_resp.success)
	{
		if (msg->u.append_resp.match_index > p->match_index)
			p->match_index = msg->u.append_resp.match_index;
		if (p->next_index <= p->match_index)
			p->next_index = p->match_index + 1;
		if (p->next_index <= quorum__raft_last_index(r) &&
			p->match_index == msg->u.append_resp.match_index)
			quorum__raft_send_append(r, p);
	}
	else if (p->next_index > p->match_index + 1)
	{
		/* Back off to the follower's hint, never below what it matched. */
		uint64_t	next = QUORUM_MIN(p->next_index - 1,
									  msg->u.append_resp.match_index + 1);

		p->next_index = QUORUM_MAX(next, p->match_index + 1);
		quorum__raft_send_append(r, p);
	}
	quorum__raft_leader_commit(r);
	if (r->state != QUORUM__RAFT_LEADER)
		return;
	quorum__raft_lease_update(r);
	lease_transfer_tick(r);
	quorum__raft_bind_tick(r);
}

/* ---------------------------------------------------------------------
 * Leadership transfer (thesis §3.10)
 * ---------------------------------------------------------------------
 */

/* Whether a's WAL (timeline, then position) is at least b's. */
static bool
lease_wal_at_least(const struct quorum__raft_pos *a, const struct quorum__raft_pos *b)
{
	return a->timeline > b->timeline ||
		(a->timeline == b->timeline && a->lsn >= b->lsn);
}

/* The voter with the best database that answered lately and may lead. */
static const char *
lease_best_target(struct quorum__raft *r)
{
	const struct quorum__raft_peer *best = NULL;

	for (unsigned i = 0; i < r->n_peers; i++)
	{
		const struct quorum__raft_peer *p = &r->peers[i];

		if (!quorum__raft_admits(r, p->name, p->member_id) || !p->pos_known ||
			!quorum_member_may_lead(p->pos.role, p->pos.priority) ||
			r->now_ms - p->last_ack_ms > r->cfg.election_timeout_min_ms)
			continue;
		if (best == NULL || quorum__raft_pos_cmp(&p->pos, &best->pos) > 0 ||
			(quorum__raft_pos_cmp(&p->pos, &best->pos) == 0 &&
			 p->pos.priority > best->pos.priority))
			best = p;
	}
	return best != NULL ? best->name : NULL;
}

/* leader: hand over to target; the lease is given up first (essay). */
void
quorum__raft_transfer_start(struct quorum__raft *r, const char *target)
{
	struct quorum__raft_peer *tp;

	if (r->state != QUORUM__RAFT_LEADER || r->transfer_to[0] != '\0')
		return;
	if (target[0] == '\0' && (target = lease_best_target(r)) == NULL)
	{
		QUORUM_TRACE(&r->cfg.trace, QUORUM_TRACE_WARNING, r->now_ms,
					 "switchover: no voter can take over");
		return;
	}
	tp = quorum__raft_peer_find(r, target);
	/* A rebuilt server under a voter's name cannot campaign: not it. */
	if (strcmp(target, r->cfg.name) == 0 ||
		!quorum__raft_admits(r, target, tp != NULL ? tp->member_id : 0))
		return;
	snprintf(r->transfer_to, sizeof(r->transfer_to), "%s", target);
	r->transfer_until_ms = r->now_ms +
		quorum_timing_hand_over_ms(r->cfg.election_timeout_max_ms);
	r->lease_released = true;
	r->facts_fresh = false;
	r->stats.transfers++;
	QUORUM_TRACE(&r->cfg.trace, QUORUM_TRACE_INFO, r->now_ms,
				 "transfer to %s: lease given up, waiting for it to catch up",
				 target);
	quorum__raft_lease_drop(r);
}

/*
 * Caught up: the whole decision log, WAL at least up to ours as the host
 * sampled it after the lease was given up (an earlier sample can miss the
 * last writes accepted under the lease), and at least up to what every
 * other voter last reported: they grant the transfer's vote only to a
 * candidate whose WAL is at least their own.
 */
static bool
lease_caught_up(const struct quorum__raft *r, const struct quorum__raft_peer *p)
{
	if (!r->facts_fresh ||
		p->match_index != quorum__raft_last_index(r) || !p->pos_known ||
		!lease_wal_at_least(&p->pos, &r->facts))
		return false;
	for (unsigned i = 0; i < r->n_peers; i++)
	{
		const struct quorum__raft_peer *q = &r->peers[i];

		if (q != p && q->pos_known && quorum__raft_is_voter(r, q->name) &&
			!lease_wal_at_least(&p->pos, &q->pos))
			return false;
	}
	return true;
}

static void
lease_transfer_tick(struct quorum__raft *r)
{
	struct quorum__raft_peer *p;

	if (r->transfer_to[0] == '\0')
		return;
	if (r->now_ms >= r->transfer_until_ms)
	{
		QUORUM_TRACE(&r->cfg.trace, QUORUM_TRACE_WARNING, r->now_ms,
					 "transfer to %s did not complete%s", r->transfer_to,
					 r->transfer_sent ? ": stepping down, no lease again in this term" :
					 ": resuming");
		if (r->transfer_sent)
			quorum__raft_become_follower(r, r->d.term, "");
		else
		{
			r->transfer_to[0] = '\0';
			r->lease_released = false;
		}
		return;
	}
	p = quorum__raft_peer_find(r, r->transfer_to);
	if (r->transfer_sent || p == NULL || !lease_caught_up(r, p))
		return;
	if (quorum__raft_msg_new(r, QUORUM__RAFT_MSG_TIMEOUT_NOW, p->name) == NULL)
		return;
	r->transfer_sent = true;
	QUORUM_TRACE(&r->cfg.trace, QUORUM_TRACE_INFO, r->now_ms,
				 "transfer: %s caught up at index %llu, sending TIMEOUT_NOW",
				 p->name, (unsigned long long) p->match_index);
}

/* ---------------------------------------------------------------------
 * The leader's timers
 * ---------------------------------------------------------------------
 */

/*
 * Check-quorum's window: the minimum election timeout, so a cut-off leader
 * leaves office before anyone can be elected.  The simulator's build with
 * QUORUM_BREAK_LEASE makes the leader trust its (too long) lease instead,
 * to prove that the lease checker notices two valid leases.
 */
static quorum_time_ms
lease_quorum_window(const struct quorum__raft *r)
{
#if defined(QUORUM_SIMULATION) && defined(QUORUM_BREAK_LEASE)
	return r->lease_ms;
#else
	return r->cfg.election_timeout_min_ms;
#endif
}

void
quorum__raft_leader_tick(struct quorum__raft *r)
{
	if (r->lease_event && r->now_ms >= r->lease_until_ms)
		quorum__raft_lease_drop(r);
	/* leader -> follower: no majority heard for an election timeout */
	if (r->now_ms >= r->quorum_ms + lease_quorum_window(r))
	{
		r->stats.step_downs++;
		QUORUM_TRACE(&r->cfg.trace, QUORUM_TRACE_INFO, r->now_ms,
					 "leader -> follower: no majority heard since %llu (check-quorum)",
					 (unsigned long long) r->quorum_ms);
		quorum__raft_become_follower(r, r->d.term, "");
		return;
	}
	if (r->now_ms >= r->next_heartbeat_ms)
		quorum__raft_heartbeat(r);
	lease_transfer_tick(r);
}

quorum_time_ms
quorum__raft_leader_deadline(const struct quorum__raft *r)
{
	quorum_time_ms d = QUORUM_MIN(r->next_heartbeat_ms,
								  r->quorum_ms + lease_quorum_window(r));

	if (r->lease_event)
		d = QUORUM_MIN(d, r->lease_until_ms);
	if (r->transfer_to[0] != '\0')
		d = QUORUM_MIN(d, r->transfer_until_ms);
	return d;
}
