/*-------------------------------------------------------------------------
 *
 * raft_log.c
 *	  The decision log: bootstrap, append, log matching, commit, apply and
 *	  compaction into the snapshot.
 *
 * The log lives in the durable record (raft.h): a snapshot standing for
 * everything up to its index, then at most QUORUM_LOG_MAX entries.
 * The voter set in force is the snapshot's plus every config entry after
 * it, committed or not (thesis §4.1).  Committed entries are applied in
 * order, and once the log is half full they are folded into the snapshot,
 * so a healthy cluster never runs out of room.  A leader keeps the last slot
 * free for the NOOP its successor must append.
 *
 * plugin/raft_log.c
 *
 *-------------------------------------------------------------------------
 */
#include "raft.h"

#include "quorum/error.h"
#include "internal.h"

#include <stdlib.h>
#include <string.h>

uint64_t
quorum__raft_last_index(const struct quorum__raft *r)
{
	return r->d.snap.index + r->d.n_entries;
}

uint64_t
quorum__raft_last_term(const struct quorum__raft *r)
{
	return r->d.n_entries > 0 ? r->d.entries[r->d.n_entries - 1].term :
		r->d.snap.term;
}

const struct quorum_decision *
quorum__raft_entry_at(const struct quorum__raft *r, uint64_t index)
{
	if (index <= r->d.snap.index || index > quorum__raft_last_index(r))
		return NULL;
	return &r->d.entries[index - r->d.snap.index - 1];
}

/* Term of the entry at index; unknown below the snapshot or past the end. */
uint64_t
quorum__raft_term_at(const struct quorum__raft *r, uint64_t index, bool *known)
{
	const struct quorum_decision *e = quorum__raft_entry_at(r, index);

	*known = e != NULL || index == r->d.snap.index;
	return e != NULL ? e->term : index == r->d.snap.index ? r->d.snap.term : 0;
}

/* ---------------------------------------------------------------------
 * The configuration
 * ---------------------------------------------------------------------
 */

static int
log_name_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Sorts a voter list by name, each id with its name. */
static void
log_sort_voters(quorum__raft_name *voters, uint64_t *ids, unsigned n)
{
	for (unsigned i = 1; i < n; i++)
		for (unsigned j = i; j > 0 && strcmp(voters[j - 1], voters[j]) > 0; j--)
		{
			quorum__raft_name name;
			uint64_t	id = ids[j];

			memcpy(name, voters[j], sizeof(name));
			memcpy(voters[j], voters[j - 1], sizeof(name));
			memcpy(voters[j - 1], name, sizeof(name));
			ids[j] = ids[j - 1];
			ids[j - 1] = id;
		}
}

/*
 * Applies one config entry to a voter list.  An ADD_VOTER of a voter's name
 * binds the name to the entry's member id: the member the name stood for
 * loses its vote, the one with that id gets it (quorum.add_voter() of a
 * rebuilt server, or the leader binding an entry written without an id).
 */
static void
log_config_apply(quorum__raft_name *voters, uint64_t *ids, unsigned *n,
				 const struct quorum_decision *e)
{
	unsigned	i;

	for (i = 0; i < *n; i++)
		if (strcmp(voters[i], e->name) == 0)
			break;
	if (e->type == QUORUM_DECISION_ADD_VOTER && i < *n)
		ids[i] = e->member_id;
	else if (e->type == QUORUM_DECISION_ADD_VOTER && *n < QUORUM_VOTERS_MAX)
	{
		memcpy(voters[*n], e->name, sizeof(voters[0]));
		ids[(*n)++] = e->member_id;
		log_sort_voters(voters, ids, *n);
	}
	else if (e->type == QUORUM_DECISION_REMOVE_VOTER && i < *n)
	{
		memmove(voters[i], voters[i + 1], (*n - i - 1) * sizeof(voters[0]));
		memmove(ids + i, ids + i + 1, (*n - i - 1) * sizeof(ids[0]));
		(*n)--;
	}
}

static bool
log_is_config(const struct quorum_decision *e)
{
	return e->type == QUORUM_DECISION_ADD_VOTER ||
		e->type == QUORUM_DECISION_REMOVE_VOTER;
}

void
quorum__raft_config_rebuild(struct quorum__raft *r)
{
	r->n_voters = r->d.snap.n_voters;
	memcpy(r->voters, r->d.snap.voters, sizeof(r->voters));
	memcpy(r->voter_ids, r->d.snap.voter_ids, sizeof(r->voter_ids));
	r->config_index = r->d.snap.index;
	for (uint32_t k = 0; k < r->d.n_entries; k++)
	{
		if (!log_is_config(&r->d.entries[k]))
			continue;
		log_config_apply(r->voters, r->voter_ids, &r->n_voters, &r->d.entries[k]);
		r->config_index = r->d.snap.index + 1 + k;
	}
	/* Voters are always peers, whether gossip has found them or not. */
	for (unsigned i = 0; i < r->n_voters; i++)
		(void) quorum__raft_peer_add(r, r->voters[i]);
}

/* FNV-1a over the sorted names, never 0 (0 means "not bootstrapped"). */
static uint64_t
log_config_id(unsigned n, quorum__raft_name *voters)
{
	uint64_t	h = UINT64_C(0xcbf29ce484222325);

	for (unsigned i = 0; i < n; i++)
		for (const unsigned char *p = (const unsigned char *) voters[i];; p++)
		{
			h ^= *p;
			h *= UINT64_C(0x100000001b3);
			if (*p == '\0')
				break;
		}
	return h == 0 ? 1 : h;
}

/* The first voter set: a snapshot at index 1, term 0. */
void
quorum__raft_bootstrap(struct quorum__raft *r, unsigned n,
					   quorum__raft_name *voters)
{
	struct quorum_log_snapshot *s = &r->d.snap;
	unsigned	m = 0;

	memset(s, 0, sizeof(*s));
	qsort(voters, n, sizeof(voters[0]), log_name_cmp);
	for (unsigned i = 0; i < n; i++)
		if (voters[i][0] != '\0' && (m == 0 || strcmp(s->voters[m - 1], voters[i]) != 0))
			memcpy(s->voters[m++], voters[i], sizeof(s->voters[0]));
	s->n_voters = (uint8_t) m;
	s->index = 1;
	s->config_id = log_config_id(m, s->voters);
	r->d.n_entries = 0;
	r->commit = r->applied = 1;
	quorum__raft_persist(r);
	quorum__raft_config_rebuild(r);
	QUORUM_TRACE(&r->cfg.trace, QUORUM_TRACE_INFO, r->now_ms,
				 "bootstrap: %u voters, config %016llx", m,
				 (unsigned long long) s->config_id);
	quorum__raft_reset_election_timer(r);
}

/*
 * Until it has a voter set, a node with bootstrap_expect says HELLO to the
 * members gossip shows it, a few per heartbeat, so that they learn it may
 * vote; a leader that hears one takes it on as a non-voter right away.
 */
static void
log_hello_round(struct quorum__raft *r)
{
	unsigned	sent = 0;

	if (r->hello_at_ms != 0 && r->now_ms < r->hello_at_ms)
		return;
	r->hello_at_ms = r->now_ms + r->cfg.heartbeat_ms;
	for (unsigned k = 0; k < r->n_peers && sent < QUORUM__RAFT_LEARNERS_PER_ROUND; k++)
	{
		struct quorum__raft_msg *m;

		if (r->hello_cursor >= r->n_peers)
			r->hello_cursor = 0;
		if (!r->peers[r->hello_cursor++].known)
			continue;
		m = quorum__raft_msg_new(r, QUORUM__RAFT_MSG_HELLO,
								 r->peers[r->hello_cursor - 1].name);
		if (m == NULL)
			return;
		m->u.hello.voter = r->cfg.voter;
		sent++;
	}
}

void
quorum__raft_on_hello(struct quorum__raft *r, const struct quorum__raft_msg *msg)
{
	struct quorum__raft_peer *p = quorum__raft_peer_add(r, msg->from);

	if (p == NULL)
		return;
	p->known = true;
	p->voter_capable = msg->u.hello.voter;
	if (r->state == QUORUM__RAFT_LEADER)
		quorum__raft_send_append(r, p);
	quorum__raft_bootstrap_tick(r);
}

/*
 * bootstrap_expect: once exactly that many voter-capable members (self
 * included) have been known for a whole election timeout, they are the
 * first voter set.  The wait lets an existing cluster's leader reach a
 * newcomer first; more than expected means someone is misconfigured, so
 * we wait.
 */
void
quorum__raft_bootstrap_tick(struct quorum__raft *r)
{
	quorum__raft_name names[QUORUM_VOTERS_MAX];
	unsigned	n = 1;

	if (r->n_voters > 0 || r->cfg.bootstrap_expect == 0 || !r->cfg.voter)
	{
		r->bootstrap_at_ms = 0;
		r->hello_at_ms = 0;
		return;
	}
	log_hello_round(r);
	memcpy(names[0], r->cfg.name, sizeof(names[0]));
	for (unsigned i = 0; i < r->n_peers; i++)
		if (r->peers[i].known && r->peers[i].voter_capable)
		{
			if (n < QUORUM_VOTERS_MAX)
				memcpy(names[n], r->peers[i].name, sizeof(names[0]));
			n++;
		}
	if (n != r->cfg.bootstrap_expect)
	{
		r->bootstrap_at_ms = 0;
		return;
	}
	if (r->bootstrap_at_ms == 0)
		r->bootstrap_at_ms = r->now_ms + r->cfg.election_timeout_max_ms;
	else if (r->now_ms >= r->bootstrap_at_ms)
	{
		r->bootstrap_at_ms = 0;
		quorum__raft_bootstrap(r, n, names);
	}
}

/* ---------------------------------------------------------------------
 * Appending and compaction
 * ---------------------------------------------------------------------
 */

/* Folds the applied prefix into the snapshot. */
static void
log_compact(struct quorum__raft *r)
{
	struct quorum_log_snapshot *s = &r->d.snap;
	uint64_t	fold = r->applied - s->index;
	unsigned	n = s->n_voters;
	bool		known;

	if (r->applied <= s->index)
		return;
	for (uint64_t k = 0; k < fold; k++)
		if (log_is_config(&r->d.entries[k]))
			log_config_apply(s->voters, s->voter_ids, &n, &r->d.entries[k]);
	s->n_voters = (uint8_t) n;
	log_sort_voters(s->voters, s->voter_ids, n);
	s->term = quorum__raft_term_at(r, r->applied, &known);
	s->paused = r->paused;
	s->index = r->applied;
	r->d.n_entries -= (uint32_t) fold;
	memmove(r->d.entries, r->d.entries + fold,
			r->d.n_entries * sizeof(r->d.entries[0]));
	quorum__raft_persist(r);
	quorum__raft_config_rebuild(r);
}

static bool
log_append(struct quorum__raft *r, enum quorum_decision_type type,
		   const char *name, uint64_t member_id)
{
	struct quorum_decision *e;

	if (r->d.n_entries == QUORUM_LOG_MAX)
		log_compact(r);
	if (r->d.n_entries == QUORUM_LOG_MAX)
		return false;
	e = &r->d.entries[r->d.n_entries++];
	memset(e, 0, sizeof(*e));
	e->term = r->d.term;
	e->type = (uint8_t) type;
	e->member_id = member_id;
	snprintf(e->name, sizeof(e->name), "%s", name);
	quorum__raft_persist(r);
	if (log_is_config(e))
		quorum__raft_config_rebuild(r);
	return true;
}

bool
quorum__raft_append_local(struct quorum__raft *r,
						  enum quorum_decision_type type, const char *name)
{
	return log_append(r, type, name, 0);
}

/*
 * The member id name answers with (ours for our name); 0 = not known, or
 * its record was restored from an older copy (it takes a new id, which is
 * the one to admit).
 */
static uint64_t
log_seen_id(struct quorum__raft *r, const char *name)
{
	struct quorum__raft_peer *p;

	if (strcmp(name, r->cfg.name) == 0)
		return r->cfg.member_id;
	p = quorum__raft_peer_find(r, name);
	return p != NULL && !p->stale ? p->member_id : 0;
}

static unsigned
log_voter_slot(const struct quorum__raft *r, const char *name)
{
	unsigned	i;

	for (i = 0; i < r->n_voters; i++)
		if (strcmp(r->voters[i], name) == 0)
			break;
	return i;
}

/*
 * The leader binds each voter entry without a member id (written by a
 * release without them, or by a bootstrap) to the id its member answers
 * with, one decision at a time, once every voter has answered with one:
 * until then some voter may run release 0.1, which cannot decode an entry
 * with an id.  From then on a server rebuilt under that name votes only
 * once quorum.add_voter() admits it.
 */
void
quorum__raft_bind_tick(struct quorum__raft *r)
{
	unsigned	unbound = r->n_voters;

	if (r->state != QUORUM__RAFT_LEADER || r->config_index > r->commit ||
		r->commit < r->term_start_index ||
		r->d.n_entries >= QUORUM_LOG_MAX - 1)
		return;
	for (unsigned i = 0; i < r->n_voters; i++)
	{
		if (log_seen_id(r, r->voters[i]) == 0)
			return;
		if (r->voter_ids[i] == 0 && unbound == r->n_voters)
			unbound = i;
	}
	if (unbound == r->n_voters)
		return;
	r->stats.id_binds++;
	QUORUM_TRACE(&r->cfg.trace, QUORUM_TRACE_INFO, r->now_ms,
				 "binding voter %s to member id %016llx", r->voters[unbound],
				 (unsigned long long) log_seen_id(r, r->voters[unbound]));
	(void) quorum__raft_leader_propose(r, QUORUM_DECISION_ADD_VOTER,
									   r->voters[unbound]);
}

/* The next APPEND (or SNAPSHOT, if it is that far behind) for peer p. */
void
quorum__raft_send_append(struct quorum__raft *r, struct quorum__raft_peer *p)
{
	struct quorum__raft_msg *m;
	uint64_t	last = quorum__raft_last_index(r);
	bool		known;

	if (p->next_index <= r->d.snap.index)
	{
		m = quorum__raft_msg_new(r, QUORUM__RAFT_MSG_SNAPSHOT, p->name);
		if (m != NULL)
		{
			m->u.snapshot.snap = r->d.snap;
			/*
			 * Member ids only to a peer that answered with its own: release
			 * 0.1 cannot decode them (nor an APPEND's, above).
			 */
			if (p->member_id == 0)
				memset(m->u.snapshot.snap.voter_ids, 0,
					   sizeof(m->u.snapshot.snap.voter_ids));
			m->u.snapshot.round = r->round;
			m->u.snapshot.promise_asked = true;
		}
		return;
	}
	if (p->next_index > last + 1)
		p->next_index = last + 1;
	m = quorum__raft_msg_new(r, QUORUM__RAFT_MSG_APPEND, p->name);
	if (m == NULL)
		return;
	m->u.append.prev_index = p->next_index - 1;
	m->u.append.prev_term = quorum__raft_term_at(r, p->next_index - 1, &known);
	m->u.append.commit = r->commit;
	m->u.append.round = r->round;
	m->u.append.promise_asked = true;
	for (uint64_t i = p->next_index;
		 i <= last && m->u.append.n_entries < QUORUM__RAFT_APPEND_MAX; i++)
	{
		struct quorum_decision *e = &m->u.append.entries[m->u.append.n_entries++];

		*e = *quorum__raft_entry_at(r, i);
		if (p->member_id == 0)
			e->member_id = 0;
	}
}

/* ---------------------------------------------------------------------
 * Follower side
 * ---------------------------------------------------------------------
 */

static void
log_reply(struct quorum__raft *r, const char *to, bool success, uint64_t match,
		  uint64_t round, bool promise_asked)
{
	struct quorum__raft_msg *m = quorum__raft_msg_new(r, QUORUM__RAFT_MSG_APPEND_RESP, to);

	if (m == NULL)
		return;
	m->u.append_resp.success = success;
	m->u.append_resp.match_index = match;
	m->u.append_resp.round = round;
	m->u.append_resp.pos = r->facts;
	m->u.append_resp.voter = r->cfg.voter;
	/*
	 * What raft_sticky() keeps, which the leader's lease rests on
	 * (raft_lease.c); a 0.1 leader does not ask, and could not decode it.
	 */
	if (promise_asked)
	{
		m->u.append_resp.promise_ms = (uint32_t) r->cfg.election_timeout_min_ms;
		m->u.append_resp.member_id = r->cfg.member_id;
		m->u.append_resp.persist_seq = quorum__raft_seq_now(r);
	}
}

/*
 * A message of the leader of our term: it is the leader, and this is the
 * contact leader stickiness and the election timer count from.
 */
static void
log_leader_contact(struct quorum__raft *r, const char *leader)
{
	if (r->state != QUORUM__RAFT_FOLLOWER)
		quorum__raft_become_follower(r, r->d.term, leader);
	else
		quorum__raft_set_leader(r, leader);
	r->contact_ms = r->now_ms;
	r->resume_override = false;
	quorum__raft_reset_election_timer(r);
}

/* Drops entries from index on; never a committed one (Raft §5.3). */
static void
log_truncate(struct quorum__raft *r, uint64_t index)
{
	QUORUM_ASSERT(index > r->commit);
	r->d.n_entries = (uint32_t) (index - r->d.snap.index - 1);
	quorum__raft_persist(r);
}

/*
 * Log matching (Raft §5.3) for the entries of one APPEND; returns the last
 * index known to match the leader's log.
 */
static uint64_t
log_merge(struct quorum__raft *r, const struct quorum__raft_msg *msg)
{
	uint64_t	match = msg->u.append.prev_index;
	bool		config = false;

	for (uint32_t k = 0; k < msg->u.append.n_entries; k++)
	{
		const struct quorum_decision *e = &msg->u.append.entries[k];
		uint64_t	idx = msg->u.append.prev_index + 1 + k;
		bool		known;

		if (idx <= r->d.snap.index)
		{
			match = idx;
			continue;
		}
		if (idx <= quorum__raft_last_index(r))
		{
			if (quorum__raft_term_at(r, idx, &known) == e->term)
			{
				match = idx;
				continue;
			}
			config |= log_is_config(quorum__raft_entry_at(r, idx));
			log_truncate(r, idx);
		}
		if (r->d.n_entries == QUORUM_LOG_MAX)
			log_compact(r);
		if (r->d.n_entries == QUORUM_LOG_MAX)
			break;
		r->d.entries[r->d.n_entries++] = *e;
		config |= log_is_config(e);
		quorum__raft_persist(r);
		match = idx;
	}
	if (config)
		quorum__raft_config_rebuild(r);
	return match;
}

void
quorum__raft_on_append(struct quorum__raft *r, const struct quorum__raft_msg *msg)
{
	uint64_t	prev = msg->u.append.prev_index;
	uint64_t	last = quorum__raft_last_index(r);
	uint64_t	match;
	bool		known;

	if (msg->term < r->d.term)
	{
		log_reply(r, msg->from, false, last, msg->u.append.round,
				  msg->u.append.promise_asked);
		return;
	}
	log_leader_contact(r, msg->from);
	if (prev > last ||
		(prev >= r->d.snap.index &&
		 quorum__raft_term_at(r, prev, &known) != msg->u.append.prev_term))
	{
		log_reply(r, msg->from, false, QUORUM_MIN(last, prev - 1),
				  msg->u.append.round, msg->u.append.promise_asked);
		return;
	}
	match = log_merge(r, msg);
	if (msg->u.append.commit > r->commit)
	{
		r->commit = QUORUM_MAX(r->commit, QUORUM_MIN(msg->u.append.commit, match));
		quorum__raft_apply(r);
	}
	log_reply(r, msg->from, true, match, msg->u.append.round,
			  msg->u.append.promise_asked);
}

void
quorum__raft_on_snapshot(struct quorum__raft *r, const struct quorum__raft_msg *msg)
{
	const struct quorum_log_snapshot *s = &msg->u.snapshot.snap;
	bool		known;

	if (msg->term < r->d.term)
	{
		log_reply(r, msg->from, false, quorum__raft_last_index(r),
				  msg->u.snapshot.round, msg->u.snapshot.promise_asked);
		return;
	}
	log_leader_contact(r, msg->from);
	if (s->index > r->commit)
	{
		/* Keep a suffix that already follows the snapshot (thesis §5.1.3). */
		if (quorum__raft_term_at(r, s->index, &known) == s->term && known &&
			s->index < quorum__raft_last_index(r))
		{
			uint64_t	keep = quorum__raft_last_index(r) - s->index;

			memmove(r->d.entries, r->d.entries + (r->d.n_entries - keep),
					keep * sizeof(r->d.entries[0]));
			r->d.n_entries = (uint32_t) keep;
		}
		else
			r->d.n_entries = 0;
		r->d.snap = *s;
		r->commit = r->applied = s->index;
		r->paused = s->paused;
		quorum__raft_persist(r);
		quorum__raft_config_rebuild(r);
		QUORUM_TRACE(&r->cfg.trace, QUORUM_TRACE_INFO, r->now_ms,
					 "snapshot from %s: index %llu, %u voters",
					 msg->from, (unsigned long long) s->index, s->n_voters);
	}
	log_reply(r, msg->from, true, s->index, msg->u.snapshot.round,
			  msg->u.snapshot.promise_asked);
}

/* ---------------------------------------------------------------------
 * Leader side
 * ---------------------------------------------------------------------
 */

static int
log_check_config_change(struct quorum__raft *r, enum quorum_decision_type type,
						const char *name)
{
	struct quorum__raft_peer *p = quorum__raft_peer_find(r, name);
	bool		voter = quorum__raft_is_voter(r, name);

	/* One change at a time, and not before this term has committed. */
	if (r->config_index > r->commit || r->commit < r->term_start_index)
		return QUORUM_ESTATE;
	if (type == QUORUM_DECISION_ADD_VOTER)
	{
		unsigned	slot = log_voter_slot(r, name);
		uint64_t	seen = log_seen_id(r, name);

		/*
		 * A voter's name again: admit the member that answers under it now,
		 * if that is not the one the name is bound to (a rebuilt or
		 * restored server), or bind an entry without an id.
		 */
		if (voter)
			return seen != 0 && seen != r->voter_ids[slot] ? 0 : QUORUM_EINVAL;
		if (r->n_voters >= QUORUM_VOTERS_MAX)
			return QUORUM_ELIMIT;
		if (strcmp(name, r->cfg.name) != 0 &&
			(p == NULL || !p->known || !p->voter_capable))
			return QUORUM_ENOTFOUND;
		if (strcmp(name, r->cfg.name) == 0 && !r->cfg.voter)
			return QUORUM_EINVAL;
		return 0;
	}
	if (!voter)
		return QUORUM_ENOTFOUND;
	return r->n_voters > 1 ? 0 : QUORUM_EINVAL;
}

int
quorum__raft_leader_propose(struct quorum__raft *r,
							enum quorum_decision_type type, const char *name)
{
	int			rc = 0;

	if (type == QUORUM_DECISION_ADD_VOTER || type == QUORUM_DECISION_REMOVE_VOTER)
		rc = log_check_config_change(r, type, name);
	else if (type == QUORUM_DECISION_SWITCHOVER)
	{
		if (r->transfer_to[0] != '\0')
			return QUORUM_ESTATE;
		if (name[0] != '\0' && !quorum__raft_is_voter(r, name))
			return QUORUM_ENOTFOUND;
		if (strcmp(name, r->cfg.name) == 0)
			return 0;
	}
	if (rc != 0)
		return rc;
	/* Keep the last slot for a successor's NOOP. */
	if (r->d.n_entries >= QUORUM_LOG_MAX - 1)
		log_compact(r);
	if (r->d.n_entries >= QUORUM_LOG_MAX - 1 ||
		!log_append(r, type, name, type == QUORUM_DECISION_ADD_VOTER ?
					log_seen_id(r, name) : 0))
		return QUORUM_ELIMIT;
	QUORUM_TRACE(&r->cfg.trace, QUORUM_TRACE_INFO, r->now_ms,
				 "propose %s %s at index %llu",
				 quorum_decision_type_name(type), name,
				 (unsigned long long) quorum__raft_last_index(r));
	for (unsigned i = 0; i < r->n_voters; i++)
	{
		struct quorum__raft_peer *p = quorum__raft_peer_find(r, r->voters[i]);

		if (p != NULL)
			quorum__raft_send_append(r, p);
	}
	quorum__raft_leader_commit(r);
	return 0;
}

void
quorum__raft_on_propose(struct quorum__raft *r, const struct quorum__raft_msg *msg)
{
	const struct quorum_decision *e = &msg->u.propose.entry;
	int			rc;

	if (r->state != QUORUM__RAFT_LEADER || e->type < QUORUM_DECISION_ADD_VOTER ||
		e->type > QUORUM_DECISION_SWITCHOVER)
		return;
	rc = quorum__raft_leader_propose(r, (enum quorum_decision_type) e->type,
									 e->name);
	if (rc != 0)
		QUORUM_TRACE(&r->cfg.trace, QUORUM_TRACE_INFO, r->now_ms,
					 "proposal %s %s from %s refused (%d)",
					 quorum_decision_type_name(e->type), e->name, msg->from, rc);
}

static int
log_u64_desc(const void *a, const void *b)
{
	uint64_t	x = *(const uint64_t *) a;
	uint64_t	y = *(const uint64_t *) b;

	return x < y ? 1 : x > y ? -1 : 0;
}

/* The highest index a majority holds commits, if it is of our term (§5.4.2). */
void
quorum__raft_leader_commit(struct quorum__raft *r)
{
	uint64_t	match[QUORUM_VOTERS_MAX];
	uint64_t	n;
	bool		known;

	for (unsigned i = 0; i < r->n_voters; i++)
	{
		struct quorum__raft_peer *p = quorum__raft_voter_peer(r, i);

		match[i] = strcmp(r->voters[i], r->cfg.name) == 0 ?
			quorum__raft_last_index(r) : p != NULL ? p->match_index : 0;
	}
	if (r->n_voters == 0)
		return;
	qsort(match, r->n_voters, sizeof(match[0]), log_u64_desc);
	n = match[quorum__raft_majority(r) - 1];
	if (n > r->commit && quorum__raft_term_at(r, n, &known) == r->d.term)
	{
		r->commit = n;
		quorum__raft_apply(r);
	}
}

static void
log_apply_one(struct quorum__raft *r, uint64_t index,
			  const struct quorum_decision *e)
{
	struct quorum__raft_event *ev;

	if (e->type == QUORUM_DECISION_PAUSE)
		r->paused = true;
	else if (e->type == QUORUM_DECISION_RESUME)
	{
		r->paused = false;
		r->resume_override = false;
	}
	if (e->type == QUORUM_DECISION_NOOP)
		return;
	QUORUM_TRACE(&r->cfg.trace, QUORUM_TRACE_INFO, r->now_ms,
				 "commit %llu: %s %s", (unsigned long long) index,
				 quorum_decision_type_name(e->type), e->name);
	if ((ev = quorum__raft_event(r, QUORUM__RAFT_EV_COMMITTED)) != NULL)
	{
		ev->index = index;
		ev->entry = *e;
	}
	if (r->state != QUORUM__RAFT_LEADER)
		return;
	/* Only this term's leader acts on a switchover it was asked for. */
	if (e->type == QUORUM_DECISION_SWITCHOVER && e->term == r->d.term)
		quorum__raft_transfer_start(r, e->name);
	/* A leader removed from the voters leaves office (thesis §4.2.2). */
	if (e->type == QUORUM_DECISION_REMOVE_VOTER && strcmp(e->name, r->cfg.name) == 0)
		quorum__raft_become_follower(r, r->d.term, "");
}

void
quorum__raft_apply(struct quorum__raft *r)
{
	while (r->applied < r->commit)
	{
		const struct quorum_decision *e = quorum__raft_entry_at(r, r->applied + 1);

		QUORUM_ASSERT(e != NULL);
		r->applied++;
		log_apply_one(r, r->applied, e);
	}
	if (r->d.n_entries > QUORUM_LOG_MAX / 2)
		log_compact(r);
}
