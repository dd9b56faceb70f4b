/*-------------------------------------------------------------------------
 *
 * raft.c
 *	  Election and decision log: life cycle, peers, terms, output, dispatch.
 *
 * What this is
 * ------------
 * The leader election of Raft (Ongaro and Ousterhout, 2014; Ongaro's thesis,
 * 2014, cited as "thesis") with a small replicated log of cluster decisions,
 * written as a sans-IO state machine like swim.c: time is an input, messages
 * and the durable record are outputs, randomness comes from a seeded PRNG.
 * The leader is the only member allowed to run the writable database, and
 * only while it holds the write lease; the log carries the few decisions the
 * cluster must agree on (voter set, pause/resume, switchover requests).
 *
 * From Raft
 * ---------
 * - Terms, one vote per term, randomized election timeouts (§5.2), and the
 *   log-matching append with a commit index (§5.3); a leader commits only
 *   entries of its own term by counting, hence a NOOP at the start of each
 *   term (§5.4.2).
 * - The election restriction (§5.4.1): a vote goes only to a candidate whose
 *   log is at least as up to date as the voter's.
 * - Pre-vote (thesis §9.6): a node first asks whether it could win, without
 *   touching any term, so a node back from a partition cannot depose a
 *   healthy leader by bumping terms.
 * - Check-quorum (thesis §6.2): a leader that has not heard a majority for
 *   an election timeout steps down.
 * - Leader stickiness (thesis §4.2.3, disruptive servers): a voter that heard
 *   a current leader less than the minimum election timeout ago neither
 *   grants a vote nor adopts the term of the request.
 * - Leadership transfer (thesis §3.10): the leader brings the target up to
 *   date, then sends TIMEOUT_NOW and the target campaigns at once.
 * - Membership changes one voter at a time (thesis §4.1): the newest config
 *   entry is in force as soon as it is appended, and a leader appends the
 *   next one only after the previous one committed and after it committed
 *   an entry of its own term (the fix of Ongaro's 2015 raft-dev note).
 * - A snapshot replaces the committed prefix of the log (thesis §5).
 *
 * What differs, and why
 * ---------------------
 * - The election restriction also ranks the database: a voter grants only if
 *   the candidate's (timeline, WAL position) is at least its own, with a
 *   primary above a standby at the same position.  The decision log says who
 *   may lead; WAL says who can lead without losing acknowledged commits.
 *   Priority 0 and non-voters never campaign (and voters refuse them anyway).
 * - The lease (thesis §6.4.1 uses one for reads; here it fences writes) rests
 *   on stickiness, so stickiness is a safety rule, not only a liveness one:
 *   see "The lease" below.  A freshly (re)started node therefore behaves as
 *   if it had just heard a leader.
 * - A transfer first gives up the lease; only a vote request caused by the
 *   TIMEOUT_NOW of the voter's own leader (request term = voter's term + 1,
 *   transfer flag) may bypass stickiness.  A leader that sent TIMEOUT_NOW
 *   never takes a lease again in that term: if the transfer does not finish,
 *   it steps down rather than resume.
 * - The log is tiny and bounded (QUORUM_LOG_MAX) and lives wholly in
 *   the durable record: the record is replaced atomically, so term, vote and
 *   log are always consistent on disk.  Committed entries are folded into
 *   the snapshot once half the room is used.
 * - Bootstrap: the first voter set is a snapshot at index 1, term 0, made
 *   from an explicit list, or from the voter-capable members gossip found
 *   once exactly bootstrap_expect of them (self included) have been seen for
 *   an election timeout; its hash (config_id) travels in every message, so
 *   nodes of two clusters bootstrapped apart ignore each other.  In the
 *   first election (no entry of any term yet) a standby neither campaigns
 *   nor votes for a standby while gossip shows a primary voter alive, so an
 *   existing primary wins it.
 * - Non-voters get heartbeats too (a few per round, round-robin) so that
 *   every member knows the leader and the decisions; their answers count
 *   for nothing.
 *
 * The lease
 * ---------
 * Clocks are monotonic and each runs at a rate within [1 - rho, 1 + rho] of
 * real time (rho = drift_ppm / 10^6); nothing assumes they agree.  Let
 * E = election_timeout_min_ms.  The leader numbers its heartbeat rounds and
 * notes the local SEND time s_r of each.  When voters forming a majority
 * (the leader counts itself) have acknowledged round r or a later one, the
 * lease runs until s_r + L on the leader's clock, with
 *
 *     L = E * (1 - rho) / (1 + rho) - margin.
 *
 * Claim: no other node can be elected leader (let alone hold a lease) before
 * the lease ends in real time.  A voter V of that majority received round r
 * at real time t_V >= S_r (the real time of s_r) and, by stickiness, grants
 * no vote and adopts no higher term until E has passed on its own clock
 * since its last leader contact, i.e. not before t_V + E / (1 + rho) >=
 * S_r + E / (1 + rho) in real time.  If V crashes, it restarts sticky, which
 * only postpones this.  A new leader needs the votes of a majority of the
 * same or of an adjacent configuration (one change at a time), which
 * includes some such V.  The lease ends on the leader's clock at s_r + L,
 * at real time at most S_r + L / (1 - rho) < S_r + E / (1 + rho).  Hence
 * the lease expires first, by at least margin / (1 - rho); the margin also
 * absorbs millisecond rounding.  The leader itself is a voter of the
 * majority: it refuses votes while leading and for E after stepping down.
 * A transfer gives the lease up before TIMEOUT_NOW, and the only requests
 * that bypass stickiness are those TIMEOUT_NOW caused, in the term after the
 * one whose leader gave its lease up for good.
 *
 * The argument needs each V's own E, and servers may be configured with
 * different ones (a rolling change of the setting).  So every APPEND_RESP
 * carries its sender's E (its promise), and the leader counts voter V's
 * acknowledgement of round r as supporting a lease until s_r + L(E_V), with
 * E_V capped at the leader's own E; the lease runs until the time that a
 * majority (the leader counting itself with its own E) supports.  Each V of
 * that majority is then bound by its own promise, which is all the claim
 * uses (issue 9, H6).  The voter, not the leader, carries the number
 * because only the voter's own timer can keep it: a voter that crashed and
 * restarted has forgotten any longer promise a leader might have asked of
 * it.  What remains is a voter restarted with a shorter E within a lease it
 * supported with the longer one.
 *
 * Release 0.1 sends no promise, and its leader cannot decode an answer with
 * one.  So a leader asks for promises (a bit 0.1 echoes unread, wire.h), a
 * voter sends one only when asked, and an answer without one, from a 0.1
 * voter, counts as promising the leader's own E: the rule before H6, which
 * holds while every server has the same E, a condition of a rolling upgrade
 * from 0.1 (README).
 *
 * Defaults: heartbeat 100 ms, E = 1200 ms, max 1600 ms, rho = 0.5 %,
 * margin 100 ms, so L = 1088 ms.  A leader stopped for 1 s (SIGSTOP) comes
 * back before anyone's timeout of at least 1200 ms since the last
 * heartbeat, and a crashed leader is replaced after the shortest of the
 * voters' timeouts in [1200, 1600] ms plus a few round trips.
 *
 * Durability
 * ----------
 * Term, vote and log change only through quorum__raft_persist(), which sets
 * the output's persist flag; the caller writes d before sending anything of
 * the same batch, so no message reveals a term, vote or entry that a crash
 * could take back (etcd's Ready contract).  The commit index is not durable:
 * after a restart it starts at the snapshot and is learnt again.
 *
 * plugin/raft.c
 *
 *-------------------------------------------------------------------------
 */
#include "raft.h"

#include "quorum/error.h"
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
quorum__raft_config_init(struct quorum__raft_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->voter = true;
	cfg->heartbeat_ms = QUORUM__RAFT_HEARTBEAT_MS;
	cfg->election_timeout_min_ms = QUORUM__RAFT_ELECTION_MIN_MS;
	cfg->election_timeout_max_ms = quorum_timing_election_max_ms(QUORUM__RAFT_ELECTION_MIN_MS);
	cfg->drift_ppm = QUORUM__RAFT_DRIFT_PPM;
	cfg->lease_margin_ms = QUORUM__RAFT_LEASE_MARGIN_MS;
	cfg->peers_max = 64;
	cfg->out_max = 64;
	cfg->events_max = 64;
}

/*
 * L = E * (1 - rho) / (1 + rho) - margin, rounded down (see the essay);
 * 0 when the timings leave no room for a lease.
 */
quorum_time_ms
quorum__raft_lease_length(const struct quorum__raft_config *cfg)
{
	uint64_t	e = cfg->election_timeout_min_ms;
	uint64_t	ppm = cfg->drift_ppm;
	uint64_t	l;

	if (ppm >= 1000000)
		return 0;
	l = e * (1000000 - ppm) / (1000000 + ppm);
#if defined(QUORUM_SIMULATION) && defined(QUORUM_BREAK_LEASE)
	/* Broken on purpose: a lease that outlives the election timeout. */
	return cfg->election_timeout_max_ms + cfg->election_timeout_min_ms;
#endif
	return l > cfg->lease_margin_ms ? l - cfg->lease_margin_ms : 0;
}

static int
raft_check_config(const struct quorum__raft_config *c, char *errbuf, size_t len)
{
	if (c->name[0] == '\0')
		return quorum__errbuf(QUORUM_EINVAL, errbuf, len, "raft: name must not be empty");
	if (!quorum_timing_heartbeat_fits(c->heartbeat_ms, c->election_timeout_min_ms))
		return quorum__errbuf(QUORUM_EINVAL, errbuf, len,
							  "election_timeout_min_ms (%llu) must exceed twice heartbeat_ms (%llu)",
							  (unsigned long long) c->election_timeout_min_ms,
							  (unsigned long long) c->heartbeat_ms);
	if (c->election_timeout_max_ms < c->election_timeout_min_ms ||
		c->election_timeout_max_ms > UINT32_MAX)
		return quorum__errbuf(QUORUM_EINVAL, errbuf, len,
							  "election_timeout_max_ms must be at least election_timeout_min_ms");
	if (c->drift_ppm >= 100000)
		return quorum__errbuf(QUORUM_EINVAL, errbuf, len, "drift_ppm must be below 100000 (10%%)");
	if (quorum__raft_lease_length(c) <= c->heartbeat_ms)
		return quorum__errbuf(QUORUM_EINVAL, errbuf, len,
							  "no room for a lease: election_timeout_min_ms is too short for drift_ppm, lease_margin_ms and heartbeat_ms");
	if (c->n_initial_voters > QUORUM_VOTERS_MAX ||
		c->bootstrap_expect > QUORUM_VOTERS_MAX)
		return quorum__errbuf(QUORUM_EINVAL, errbuf, len, "at most %d voters",
							  QUORUM_VOTERS_MAX);
	if (c->peers_max < QUORUM_VOTERS_MAX + 2 || c->out_max < 2 * QUORUM_VOTERS_MAX ||
		c->events_max < 4)
		return quorum__errbuf(QUORUM_EINVAL, errbuf, len, "raft: peers_max, out_max or events_max too small");
	return 0;
}

static int
raft_check_durable(const struct quorum_election_durable *d, char *errbuf, size_t len)
{
	if (d->n_entries > QUORUM_LOG_MAX || d->snap.n_voters > QUORUM_VOTERS_MAX)
		return quorum__errbuf(QUORUM_EINVAL, errbuf, len, "restored raft state exceeds its limits");
	for (uint32_t k = 0; k < d->n_entries; k++)
		if (d->entries[k].term > d->term ||
			(k > 0 && d->entries[k].term < d->entries[k - 1].term) ||
			d->entries[k].term < d->snap.term)
			return quorum__errbuf(QUORUM_EINVAL, errbuf, len, "restored raft log is not ordered by term");
	if (memchr(d->voted_for, '\0', sizeof(d->voted_for)) == NULL)
		return quorum__errbuf(QUORUM_EINVAL, errbuf, len, "restored vote is not a name");
	return 0;
}

/* facts may be NULL (nothing known of the database yet). */
int
quorum__raft_init(struct quorum__raft *r, const struct quorum__raft_config *cfg,
				  const struct quorum_election_durable *restored,
				  const struct quorum_meta *facts,
				  quorum_time_ms now_ms, char *errbuf, size_t errbuf_len)
{
	int			rc;

	memset(r, 0, sizeof(*r));
	if ((rc = raft_check_config(cfg, errbuf, errbuf_len)) != 0)
		return rc;
	if (restored != NULL &&
		(rc = raft_check_durable(restored, errbuf, errbuf_len)) != 0)
		return rc;
	r->cfg = *cfg;
	r->cfg.trace.self = r->cfg.name;
	r->lease_ms = quorum__raft_lease_length(cfg);
	r->peer_index_mask = 1;
	while (r->peer_index_mask + 1 < 2 * cfg->peers_max)
		r->peer_index_mask = (r->peer_index_mask << 1) | 1;
	/*
	 * Not cleared: every slot is written when it is taken, so a node that
	 * only gossips (a thousand of them in a simulation) never touches these
	 * pages.  The index must start empty.
	 */
	r->peers = malloc(cfg->peers_max * sizeof(*r->peers));
	r->peer_index = calloc(r->peer_index_mask + 1, sizeof(*r->peer_index));
	r->out = malloc(cfg->out_max * sizeof(*r->out));
	r->events = malloc(cfg->events_max * sizeof(*r->events));
	if (r->peers == NULL || r->peer_index == NULL || r->out == NULL ||
		r->events == NULL)
	{
		quorum__raft_destroy(r);
		return QUORUM_ENOMEM;
	}
	quorum__prng_seed(&r->prng, cfg->seed ^ UINT64_C(0x7261667400000000));
	/*
	 * A new record's member id comes from the host's seed (random in every
	 * real host), through a stream of its own so that the choices the
	 * election makes stay as they were.
	 */
	if (r->cfg.member_id == 0)
	{
		struct quorum__prng idgen;

		quorum__prng_seed(&idgen, cfg->seed ^ UINT64_C(0x6d656d6265726964));
		while (r->cfg.member_id == 0)
			r->cfg.member_id = quorum__prng_next(&idgen);
	}
	if (restored != NULL)
		r->d = *restored;
	if (facts != NULL)
		quorum__raft_set_facts(r, facts, now_ms);
	r->now_ms = now_ms;
	/* Restarted or new: behave as if a leader was just heard (essay). */
	r->contact_ms = now_ms;
	r->commit = r->applied = r->d.snap.index;
	r->paused = r->d.snap.paused;
	quorum__raft_config_rebuild(r);
	if (r->n_voters == 0 && cfg->n_initial_voters > 0)
		quorum__raft_bootstrap(r, cfg->n_initial_voters,
							   r->cfg.initial_voters);
	quorum__raft_reset_election_timer(r);
	return 0;
}

void
quorum__raft_destroy(struct quorum__raft *r)
{
	free(r->peers);
	free(r->peer_index);
	free(r->out);
	free(r->events);
	r->peers = NULL;
	r->peer_index = NULL;
	r->out = NULL;
	r->events = NULL;
}

/* ---------------------------------------------------------------------
 * Peers
 * ---------------------------------------------------------------------
 */

static uint32_t
raft_name_hash(const char *name)
{
	uint32_t	h = 2166136261u;

	for (const unsigned char *p = (const unsigned char *) name; *p; p++)
	{
		h ^= *p;
		h *= 16777619u;
	}
	return h;
}

/* The index position holding name, or the free one where it would go. */
static uint32_t
raft_index_probe(const struct quorum__raft *r, const char *name)
{
	uint32_t	i = raft_name_hash(name) & r->peer_index_mask;

	while (r->peer_index[i] != 0 &&
		   strcmp(r->peers[r->peer_index[i] - 1].name, name) != 0)
		i = (i + 1) & r->peer_index_mask;
	return i;
}

/* After a removal moved a peer: cheaper to rebuild than to repair probes. */
static void
raft_index_rebuild(struct quorum__raft *r)
{
	memset(r->peer_index, 0, (r->peer_index_mask + 1) * sizeof(*r->peer_index));
	for (uint32_t k = 0; k < r->n_peers; k++)
		r->peer_index[raft_index_probe(r, r->peers[k].name)] = k + 1;
}

struct quorum__raft_peer *
quorum__raft_peer_find(struct quorum__raft *r, const char *name)
{
	uint32_t	slot = r->peer_index[raft_index_probe(r, name)];

	return slot != 0 ? &r->peers[slot - 1] : NULL;
}

/* Finds or adds; NULL for this node itself or when the table is full. */
struct quorum__raft_peer *
quorum__raft_peer_add(struct quorum__raft *r, const char *name)
{
	struct quorum__raft_peer *p = quorum__raft_peer_find(r, name);

	if (p != NULL)
		return p;
	if (strcmp(name, r->cfg.name) == 0 || name[0] == '\0' ||
		r->n_peers >= r->cfg.peers_max - 1)
		return NULL;
	/* Non-voters never take the slots the largest voter set needs. */
	if (!quorum__raft_is_voter(r, name) &&
		r->n_peers >= r->cfg.peers_max - 1 - QUORUM_VOTERS_MAX)
		return NULL;
	p = &r->peers[r->n_peers++];
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	r->peer_index[raft_index_probe(r, p->name)] = r->n_peers;
	p->next_index = quorum__raft_last_index(r) + 1;
	return p;
}

/* Forgets non-voters gossip no longer knows; voters stay for good. */
static void
raft_peer_prune(struct quorum__raft *r, struct quorum__raft_peer *p)
{
	unsigned	i = (unsigned) (p - r->peers);

	if (p->known || quorum__raft_is_voter(r, p->name))
		return;
	r->peers[i] = r->peers[--r->n_peers];
	raft_index_rebuild(r);
	if (r->learner_cursor > r->n_peers)
		r->learner_cursor = 0;
}

/*
 * Gossip found (or still has) a member.  Whether it may vote it says itself
 * (HELLO, APPEND_RESP); gossip's part is that it is there, and its role.
 */
void
quorum__raft_peer_seen(struct quorum__raft *r, const char *name,
					   enum quorum_role role, quorum_time_ms now_ms)
{
	struct quorum__raft_peer *p;

	if (now_ms > r->now_ms)
		r->now_ms = now_ms;
	p = quorum__raft_peer_add(r, name);
	if (p == NULL)
		return;
	p->known = true;
	p->role = (uint8_t) role;
	quorum__raft_bootstrap_tick(r);
}

void
quorum__raft_peer_gone(struct quorum__raft *r, const char *name,
					   quorum_time_ms now_ms)
{
	struct quorum__raft_peer *p = quorum__raft_peer_find(r, name);

	if (now_ms > r->now_ms)
		r->now_ms = now_ms;
	if (p == NULL)
		return;
	p->known = false;
	p->voter_capable = false;
	raft_peer_prune(r, p);
	quorum__raft_bootstrap_tick(r);
}

/* ---------------------------------------------------------------------
 * Configuration, terms, leader
 * ---------------------------------------------------------------------
 */

bool
quorum__raft_is_voter(const struct quorum__raft *r, const char *name)
{
	for (unsigned i = 0; i < r->n_voters; i++)
		if (strcmp(r->voters[i], name) == 0)
			return true;
	return false;
}

/*
 * Whether the member with this id votes under name: name is a voter, bound
 * to this id or to none yet (0, an entry of a release without member ids,
 * which any id fills until the leader binds it).
 */
bool
quorum__raft_admits(const struct quorum__raft *r, const char *name,
					uint64_t member_id)
{
#if defined(QUORUM_SIMULATION) && defined(QUORUM_BREAK_MEMBER_ID)
	/* Proves the simulator catches a rebuilt voter's second vote. */
	return quorum__raft_is_voter(r, name);
#endif
	for (unsigned i = 0; i < r->n_voters; i++)
		if (strcmp(r->voters[i], name) == 0)
			return r->voter_ids[i] == 0 || r->voter_ids[i] == member_id;
	return false;
}

bool
quorum__raft_self_voter(const struct quorum__raft *r)
{
	return quorum__raft_admits(r, r->cfg.name, r->cfg.member_id);
}

/*
 * Our name is a voter, but bound to another member id: this server was
 * rebuilt (or its record replaced) after the name was admitted, and must
 * not vote or campaign until quorum.add_voter() admits it again.
 */
bool
quorum__raft_self_unadmitted(const struct quorum__raft *r)
{
	return quorum__raft_is_voter(r, r->cfg.name) && !quorum__raft_self_voter(r);
}

/*
 * The peer behind voters[i] if its answers count for the leader (lease,
 * commit): the member id it last answered with is the one bound to the
 * name, and its record was not restored from an older copy.  NULL for
 * ourselves, an unknown peer, or another member.
 */
struct quorum__raft_peer *
quorum__raft_voter_peer(struct quorum__raft *r, unsigned i)
{
	struct quorum__raft_peer *p = quorum__raft_peer_find(r, r->voters[i]);

	if (p == NULL || p->stale ||
		(r->voter_ids[i] != 0 && r->voter_ids[i] != p->member_id))
		return NULL;
	return p;
}

/*
 * The persist_seq of the record the host holds once this batch's messages
 * leave (it persists before it sends): what our answers carry.
 */
uint64_t
quorum__raft_seq_now(const struct quorum__raft *r)
{
	return r->d.persist_seq;
}

/*
 * An answer of p's (msg, an APPEND_RESP or MEMBER) named member_id and
 * persist_seq: remember them, and return false if the answer must not
 * count because p's record is older than one p answered with before, under
 * the same id.  A record is made durable before anything it says is sent,
 * so a new run of p that answers below what an earlier run sent has lost
 * records: its pg_quorum.state (its data directory) was restored from a
 * copy, with an older term, vote and log, and it may vote again in a term
 * it voted in.  (Within one run, answers may arrive out of order.)  Tell
 * it, so that it takes a new member id and waits for quorum.add_voter();
 * until then none of its answers count.  What it held and acknowledged is
 * forgotten, so that it is caught up again.
 */
bool
quorum__raft_seen_answer(struct quorum__raft *r, struct quorum__raft_peer *p,
						 const struct quorum__raft_msg *msg,
						 uint64_t member_id, uint64_t persist_seq)
{
	struct quorum__raft_msg *m;

	if (member_id != p->member_id)
	{
		/* Another server under that name: nothing known of this one. */
		if (p->member_id != 0)
		{
			p->match_index = 0;
			p->acked_round = 0;
		}
		p->member_id = member_id;
		p->seen_seq = persist_seq;
		p->seen_boot = msg->boot;
		p->stale = false;
		return true;
	}
	if (member_id == 0)
		return true;
	if (p->stale)
		return false;
	if (msg->boot == p->seen_boot || persist_seq >= p->seen_seq)
	{
		p->seen_seq = QUORUM_MAX(p->seen_seq, persist_seq);
		p->seen_boot = msg->boot;
		return true;
	}
	if (r->stats.stale_answers++ % 64 == 0)
		QUORUM_TRACE(&r->cfg.trace, QUORUM_TRACE_WARNING, r->now_ms,
					 "%s answers with record %llu of member %016llx after record %llu: its state was restored from an older copy; not counted",
					 p->name, (unsigned long long) persist_seq,
					 (unsigned long long) member_id, (unsigned long long) p->seen_seq);
	p->stale = true;
	p->match_index = 0;
	p->acked_round = 0;
	m = quorum__raft_msg_new(r, QUORUM__RAFT_MSG_MEMBER, p->name);
	if (m != NULL)
	{
		m->u.member.member_id = member_id;
		m->u.member.persist_seq = p->seen_seq;
	}
	return false;
}

unsigned
quorum__raft_majority(const struct quorum__raft *r)
{
	return r->n_voters / 2 + 1;
}

void
quorum__raft_persist(struct quorum__raft *r)
{
	/* One number per record handed to the host, however many changes. */
	if (!r->persist)
		r->d.persist_seq++;
	r->persist = true;
}

/* A newer term: the vote of the old one no longer binds. */
void
quorum__raft_set_term(struct quorum__raft *r, uint64_t term)
{
	QUORUM_ASSERT(term >= r->d.term);
	if (term == r->d.term)
		return;
	r->d.term = term;
	r->d.voted_for[0] = '\0';
	quorum__raft_persist(r);
}

void
quorum__raft_set_leader(struct quorum__raft *r, const char *leader)
{
	if (strcmp(r->leader, leader) == 0)
		return;
	snprintf(r->leader, sizeof(r->leader), "%s", leader);
	QUORUM_TRACE(&r->cfg.trace, QUORUM_TRACE_INFO, r->now_ms,
				 "term %llu: leader is %s", (unsigned long long) r->d.term,
				 leader[0] ? leader : "(none)");
	quorum__raft_event(r, QUORUM__RAFT_EV_LEADER_CHANGED);
}

/*
 * Any state -> follower: a higher term, a leader's message in our term, or
 * check-quorum.  A leader leaving office keeps refusing votes for the
 * minimum election timeout, since it counted itself in its lease majority.
 */
void
quorum__raft_become_follower(struct quorum__raft *r, uint64_t term,
							 const char *leader)
{
	bool		was_leader = r->state == QUORUM__RAFT_LEADER;

	quorum__raft_set_term(r, term);
	if (r->state != QUORUM__RAFT_FOLLOWER)
		QUORUM_TRACE(&r->cfg.trace, QUORUM_TRACE_INFO, r->now_ms,
					 "%s -> follower: term %llu%s%s",
					 quorum__raft_state_name(r->state),
					 (unsigned long long) term, leader[0] ? ", leader " : "",
					 leader);
	if (was_leader)
	{
		quorum__raft_lease_drop(r);
		r->contact_ms = r->now_ms;
		r->transfer_to[0] = '\0';
	}
	r->state = QUORUM__RAFT_FOLLOWER;
	r->transferring = false;
	quorum__raft_set_leader(r, leader);
	quorum__raft_reset_election_timer(r);
}

/* ---------------------------------------------------------------------
 * Output
 * ---------------------------------------------------------------------
 */

struct quorum__raft_msg *
quorum__raft_msg_new(struct quorum__raft *r, enum quorum__raft_msg_type type,
					 const char *to)
{
	struct quorum__raft_msg *m;

	if (r->n_out >= r->cfg.out_max)
	{
		r->stats.msgs_dropped++;
		QUORUM_TRACE(&r->cfg.trace, QUORUM_TRACE_WARNING, r->now_ms,
					 "output full (out_max %u): %s to %s not sent",
					 r->cfg.out_max, quorum__raft_msg_type_name(type), to);
		return NULL;
	}
	m = &r->out[r->n_out++];
	memset(m, 0, sizeof(*m));
	m->type = type;
	snprintf(m->from, sizeof(m->from), "%s", r->cfg.name);
	snprintf(m->to, sizeof(m->to), "%s", to);
	m->term = r->d.term;
	m->config_id = r->d.snap.config_id;
	return m;
}

/* Queues an event; NULL (traced) when events_max are already queued. */
struct quorum__raft_event *
quorum__raft_event(struct quorum__raft *r, enum quorum__raft_event_type type)
{
	struct quorum__raft_event *e;

	if (r->n_events >= r->cfg.events_max)
	{
		QUORUM_TRACE(&r->cfg.trace, QUORUM_TRACE_WARNING, r->now_ms,
					 "event buffer full (events_max %u)", r->cfg.events_max);
		return NULL;
	}
	e = &r->events[r->n_events++];
	memset(e, 0, sizeof(*e));
	e->type = type;
	e->at_ms = r->now_ms;
	e->term = r->d.term;
	snprintf(e->leader, sizeof(e->leader), "%s", r->leader);
	return e;
}

/*
 * The record to write when persist is set.  The simulator's build with
 * QUORUM_BREAK_VOTE_PERSIST leaves the vote out, to prove that its checker
 * notices a node that forgets its vote across a restart.
 */
void
quorum__raft_durable_image(const struct quorum__raft *r,
						   struct quorum_election_durable *out)
{
	*out = r->d;
#if defined(QUORUM_SIMULATION) && defined(QUORUM_BREAK_VOTE_PERSIST)
	out->voted_for[0] = '\0';
#endif
}

void
quorum__raft_output_reset(struct quorum__raft *r)
{
	r->persist = false;
	r->n_out = 0;
	r->n_events = 0;
}

/* ---------------------------------------------------------------------
 * Inputs
 * ---------------------------------------------------------------------
 */

static void
raft_advance(struct quorum__raft *r, quorum_time_ms now_ms)
{
	/* Monotonic clocks only; a step back is ignored rather than trusted. */
	if (now_ms > r->now_ms)
		r->now_ms = now_ms;
}

void
quorum__raft_tick(struct quorum__raft *r, quorum_time_ms now_ms)
{
	raft_advance(r, now_ms);
	quorum__raft_bootstrap_tick(r);
	if (r->state == QUORUM__RAFT_LEADER)
		quorum__raft_leader_tick(r);
	else
		quorum__raft_election_tick(r);
}

/*
 * The rules every message obeys before its own handler (Raft §5.1, with
 * pre-vote and stickiness): a higher term turns us into a follower of it,
 * except for (pre-)vote traffic, which raft_election.c judges itself.
 */
static bool
raft_check_term(struct quorum__raft *r, const struct quorum__raft_msg *msg)
{
	switch (msg->type)
	{
		case QUORUM__RAFT_MSG_PREVOTE:
		case QUORUM__RAFT_MSG_VOTE:
		case QUORUM__RAFT_MSG_PROPOSE:
		case QUORUM__RAFT_MSG_HELLO:
			return true;
		case QUORUM__RAFT_MSG_PREVOTE_RESP:
		case QUORUM__RAFT_MSG_VOTE_RESP:
			/* A granted pre-vote carries the proposed term, not the voter's. */
			if (msg->term > r->d.term &&
				!(msg->type == QUORUM__RAFT_MSG_PREVOTE_RESP && msg->u.vote_resp.granted))
			{
				quorum__raft_become_follower(r, msg->term, "");
				return false;
			}
			return msg->term >= r->d.term;
		case QUORUM__RAFT_MSG_APPEND:
		case QUORUM__RAFT_MSG_SNAPSHOT:
		case QUORUM__RAFT_MSG_TIMEOUT_NOW:
			if (quorum__raft_resigned_in(r, msg->term, msg->from))
			{
				/* Overtaken by its RESIGN (raft_resign.c). */
				QUORUM_TRACE(&r->cfg.trace, QUORUM_TRACE_DEBUG, r->now_ms,
							 "%s from %s dropped: it resigned in term %llu",
							 quorum__raft_msg_type_name(msg->type), msg->from,
							 (unsigned long long) msg->term);
				return false;
			}
			if (msg->term > r->d.term)
				quorum__raft_become_follower(r, msg->term, msg->from);
			return true;		/* stale ones are answered, to depose */
		case QUORUM__RAFT_MSG_APPEND_RESP:
			if (msg->term > r->d.term)
			{
				quorum__raft_become_follower(r, msg->term, "");
				return false;
			}
			return msg->term == r->d.term;
		case QUORUM__RAFT_MSG_RESIGN:
			/* Only the leader of our own term can end our stickiness. */
			return msg->term == r->d.term;
		case QUORUM__RAFT_MSG_MEMBER:
			return true;		/* it names the vote's term, checked there */
	}
	return false;
}

void
quorum__raft_receive(struct quorum__raft *r, const struct quorum__raft_msg *msg,
					 quorum_time_ms now_ms)
{
	raft_advance(r, now_ms);
	if (msg->config_id != 0 && r->d.snap.config_id != 0 &&
		msg->config_id != r->d.snap.config_id)
	{
		r->stats.msgs_dropped++;
		QUORUM_TRACE(&r->cfg.trace, QUORUM_TRACE_WARNING, r->now_ms,
					 "%s from %s belongs to another bootstrap (config %016llx)",
					 quorum__raft_msg_type_name(msg->type), msg->from,
					 (unsigned long long) msg->config_id);
		return;
	}
	if (strcmp(msg->from, r->cfg.name) == 0 || !raft_check_term(r, msg))
		return;
	switch (msg->type)
	{
		case QUORUM__RAFT_MSG_PREVOTE:
		case QUORUM__RAFT_MSG_VOTE:
			quorum__raft_on_vote(r, msg);
			break;
		case QUORUM__RAFT_MSG_PREVOTE_RESP:
		case QUORUM__RAFT_MSG_VOTE_RESP:
			quorum__raft_on_vote_resp(r, msg);
			break;
		case QUORUM__RAFT_MSG_APPEND:
			quorum__raft_on_append(r, msg);
			break;
		case QUORUM__RAFT_MSG_APPEND_RESP:
			quorum__raft_on_append_resp(r, msg);
			break;
		case QUORUM__RAFT_MSG_SNAPSHOT:
			quorum__raft_on_snapshot(r, msg);
			break;
		case QUORUM__RAFT_MSG_TIMEOUT_NOW:
			quorum__raft_on_timeout_now(r, msg);
			break;
		case QUORUM__RAFT_MSG_PROPOSE:
			quorum__raft_on_propose(r, msg);
			break;
		case QUORUM__RAFT_MSG_HELLO:
			quorum__raft_on_hello(r, msg);
			break;
		case QUORUM__RAFT_MSG_RESIGN:
			quorum__raft_on_resign(r, msg);
			break;
		case QUORUM__RAFT_MSG_MEMBER:
			quorum__raft_on_member(r, msg);
			break;
	}
}

/*
 * The database's facts feed the election restriction.  They are sampled
 * when a vote is asked for or judged; nothing else depends on them.
 */
void
quorum__raft_set_facts(struct quorum__raft *r, const struct quorum_meta *facts,
					   quorum_time_ms now_ms)
{
	raft_advance(r, now_ms);
	r->facts_fresh = true;
	r->facts.role = (uint8_t) facts->role;
	r->facts.timeline = facts->timeline;
	r->facts.lsn = facts->lsn;
	r->facts.priority = facts->priority;
}

/*
 * A decision: the leader appends it; a follower forwards it to the leader it
 * knows.  QUORUM_EBUSY when no leader is known, QUORUM_EINVAL for a bad
 * entry, QUORUM_ESTATE or QUORUM_ELIMIT when the leader cannot take it now.
 */
int
quorum__raft_propose(struct quorum__raft *r, enum quorum_decision_type type,
					 const char *name, quorum_time_ms now_ms)
{
	struct quorum__raft_msg *m;

	raft_advance(r, now_ms);
	if (type < QUORUM_DECISION_ADD_VOTER || type > QUORUM_DECISION_SWITCHOVER ||
		name == NULL || strlen(name) > QUORUM_NAME_MAX)
		return QUORUM_EINVAL;
	if (r->state == QUORUM__RAFT_LEADER)
		return quorum__raft_leader_propose(r, type, name);
	if (r->leader[0] == '\0')
		return QUORUM_EBUSY;
	m = quorum__raft_msg_new(r, QUORUM__RAFT_MSG_PROPOSE, r->leader);
	if (m == NULL)
		return QUORUM_ELIMIT;
	m->u.propose.entry.type = (uint8_t) type;
	snprintf(m->u.propose.entry.name, sizeof(m->u.propose.entry.name), "%s", name);
	return 0;
}

/* Switchover: a decision like any other, so every member sees it. */
int
quorum__raft_transfer(struct quorum__raft *r, const char *target,
					  quorum_time_ms now_ms)
{
	if (target == NULL)
		target = "";
	if (target[0] != '\0' && !quorum__raft_is_voter(r, target))
		return QUORUM_ENOTFOUND;
	return quorum__raft_propose(r, QUORUM_DECISION_SWITCHOVER, target, now_ms);
}

/*
 * Pause and resume are decisions too.  A RESUME asked for while no leader is
 * known (the leader died while paused, so none can be elected) lets this
 * node campaign once; as leader it then commits the RESUME itself.
 */
int
quorum__raft_pause(struct quorum__raft *r, bool pause, quorum_time_ms now_ms)
{
	int			rc;

	rc = quorum__raft_propose(r, pause ? QUORUM_DECISION_PAUSE : QUORUM_DECISION_RESUME,
							  "", now_ms);
	if (rc == QUORUM_EBUSY && !pause)
	{
		r->resume_override = true;
		QUORUM_TRACE(&r->cfg.trace, QUORUM_TRACE_INFO, r->now_ms,
					 "resume with no leader: this node may campaign");
		return 0;
	}
	return rc;
}

/* ---------------------------------------------------------------------
 * Accessors
 * ---------------------------------------------------------------------
 */

quorum_time_ms
quorum__raft_deadline(const struct quorum__raft *r)
{
	quorum_time_ms d = r->state == QUORUM__RAFT_LEADER ?
		quorum__raft_leader_deadline(r) : quorum__raft_election_deadline(r);

	if (r->bootstrap_at_ms != 0 && r->n_voters == 0)
		d = QUORUM_MIN(d, r->bootstrap_at_ms);
	if (r->hello_at_ms != 0 && r->n_voters == 0)
		d = QUORUM_MIN(d, r->hello_at_ms);
	return d;
}

/*
 * The lease at the caller's clock, which may be later than the last input:
 * a host asks before every commit, between steps.
 */
bool
quorum__raft_has_lease(const struct quorum__raft *r, quorum_time_ms now_ms)
{
	return r->state == QUORUM__RAFT_LEADER && !r->lease_released &&
		now_ms < r->lease_until_ms;
}

const char *
quorum__raft_state_name(enum quorum__raft_state state)
{
	static const char *const names[] = {"follower", "pre-candidate",
	"candidate", "leader"};

	return (unsigned) state < 4 ? names[state] : "?";
}

const char *
quorum__raft_msg_type_name(enum quorum__raft_msg_type type)
{
	static const char *const names[] = {"?", "prevote", "prevote-resp", "vote",
		"vote-resp", "append", "append-resp", "snapshot", "timeout-now",
	"propose", "hello", "resign", "member"};

	return (unsigned) type <= QUORUM__RAFT_MSG_TYPE_MAX ? names[type] : "?";
}
