/*-------------------------------------------------------------------------
 *
 * raft_resign.c
 *	  A leader that knows it is about to die leaves office and says so.
 *
 * When the host learns that its database is gone for good (the postmaster
 * died, or it is restarting every process after a crash), waiting for the
 * voters' election timeouts wastes more than a second: they stay sticky to
 * a leader that will never send another heartbeat.  So the leader gives its
 * lease up for the rest of its term and sends RESIGN to every voter.
 *
 * Why this keeps the lease rule (essay in raft.c): stickiness protects the
 * lease of the current term's leader, and that leader has given the lease
 * up for good before the first RESIGN leaves (the host closes its fence
 * first, as for a transfer).  A voter therefore acts on RESIGN only in the
 * sender's own term and only while it knows the sender as that term's
 * leader; a RESIGN of any other term, from anyone else, or one replayed
 * after the term moved on, changes nothing.  Forgery is the seal's job:
 * like every message, RESIGN travels sealed, numbered and replay-checked.
 * A voter that acts on it forgets the leader, ends its stickiness and
 * campaigns after a short random delay (the pre-vote's ranking then lets
 * the best database win, see raft_election.c).  It also drops whatever
 * else that leader sent in that term and arrives after the RESIGN: the
 * leader sent it before resigning (it leads no more in that term), and a
 * heartbeat overtaken by the RESIGN would name it leader again and make the
 * voter sticky once more, refusing the pre-votes of the others for a whole
 * election timeout (the simulator's bench-election found that).
 *
 * plugin/raft_resign.c
 *
 *-------------------------------------------------------------------------
 */
#include "raft.h"

#include "quorum/error.h"
#include "internal.h"

#include <string.h>

/* leader -> follower, telling every voter; QUORUM_ESTATE if not the leader. */
int
quorum__raft_resign(struct quorum__raft *r, quorum_time_ms now_ms)
{
	unsigned	told = 0;

	if (now_ms > r->now_ms)
		r->now_ms = now_ms;
	if (r->state != QUORUM__RAFT_LEADER)
		return QUORUM_ESTATE;
	r->lease_released = true;
	quorum__raft_lease_drop(r);

	/*
	 * Twice, in datagrams of their own: this host will not be there to send
	 * it again, and a voter that misses it stays sticky for a whole election
	 * timeout and refuses the others' pre-votes meanwhile.  A voter acts on
	 * the first copy only (it no longer knows the sender as leader then).
	 */
	for (unsigned i = 0; i < r->n_peers; i++)
		if (quorum__raft_is_voter(r, r->peers[i].name) &&
			quorum__raft_msg_new(r, QUORUM__RAFT_MSG_RESIGN, r->peers[i].name) != NULL &&
			quorum__raft_msg_new(r, QUORUM__RAFT_MSG_RESIGN, r->peers[i].name) != NULL)
			told++;
	QUORUM_TRACE(&r->cfg.trace, QUORUM_TRACE_INFO, r->now_ms,
				 "leader resigns in term %llu: lease given up, %u voter(s) told",
				 (unsigned long long) r->d.term, told);
	quorum__raft_become_follower(r, r->d.term, "");
	return 0;
}

/* Whether name is the leader that resigned in term, as far as we were told. */
bool
quorum__raft_resigned_in(const struct quorum__raft *r, uint64_t term,
						 const char *name)
{
	return r->resigned_term != 0 && term == r->resigned_term &&
		strcmp(name, r->resigned_leader) == 0;
}

/* raft.c has checked that msg->term is ours. */
void
quorum__raft_on_resign(struct quorum__raft *r, const struct quorum__raft_msg *msg)
{
	quorum_time_ms e = r->cfg.election_timeout_min_ms;

	if (r->state == QUORUM__RAFT_LEADER || strcmp(r->leader, msg->from) != 0)
		return;
	QUORUM_TRACE(&r->cfg.trace, QUORUM_TRACE_INFO, r->now_ms,
				 "%s resigned as leader of term %llu: campaigning without waiting",
				 msg->from, (unsigned long long) r->d.term);
	r->resigned_term = r->d.term;
	snprintf(r->resigned_leader, sizeof(r->resigned_leader), "%s", msg->from);
	/* Stickiness ends now: the lease it protected was given up. */
	r->contact_ms = r->now_ms > e ? r->now_ms - e : 0;
	quorum__raft_set_leader(r, "");
	quorum__raft_reset_election_timer(r);

	/*
	 * Not at once: the host samples its database again when the leader is
	 * gone, and the voters should judge each other on those fresh samples
	 * (a pre-vote granted on an old one can be followed by a vote refused
	 * on a new one, costing a whole election timeout).  A quarter heartbeat
	 * of jitter on top spares most duplicate pre-votes.
	 */
	r->election_at_ms = r->now_ms + r->cfg.heartbeat_ms / 8 +
		quorum__prng_below(&r->prng, (uint32_t) (r->cfg.heartbeat_ms / 4) + 1);
}
