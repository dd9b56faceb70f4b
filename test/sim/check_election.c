/*-------------------------------------------------------------------------
 *
 * check_election.c
 *	  The election's invariant checkers (see check.h), run after every node
 *	  step of the simulator.
 *
 * Like the membership checkers they know the core only through node.h:
 * each step's events and durable record, and the election accessors.
 *
 *   - at most one leader per term;
 *   - at most one node holding a valid lease at any instant of global
 *     virtual time, each node's lease judged by its own drifting clock;
 *   - no node votes twice in a term, across crashes: what a restarted node
 *     believes comes from its fake disk only, and must not contradict what
 *     it showed before (an older term, a forgotten or a different vote);
 *   - decision logs match: an index is committed with one decision only;
 *   - a new primary's WAL history holds every acknowledged write (wal.c
 *     calls sim_check_election_promote()).
 *
 * A lease can only begin at a step, and between its steps a node's lease
 * can only run out, so checking the holders at every step checks every
 * instant.  Hosts that showed a lease are kept in a short list, and each
 * check drops those whose lease has run out, so the check stays cheap in
 * large worlds.
 *
 * test/sim/check_election.c
 *
 *-------------------------------------------------------------------------
 */
#include "check.h"
#include "host.h"
#include "net.h"

#include <stdlib.h>
#include <string.h>

struct sim_decision_slot
{
	bool		set;
	unsigned	host;			/* who reported it first */
	struct quorum_decision decision;
};

struct sim_election_check
{
	unsigned	n;
	/* term -> leader host + 1 (0: none seen) */
	uint32_t   *term_leader;
	size_t		terms_cap;
	/* What each host showed last: its term, and its vote in that term. */
	uint64_t   *shown_term;
	char	  (*shown_vote)[QUORUM_NAME_MAX + 1];
	/* Hosts that showed a lease, until it runs out. */
	unsigned   *lease_hosts;
	unsigned	n_lease_hosts;
	/* log index -> committed decision */
	struct sim_decision_slot *log;
	size_t		log_cap;
	struct sim_election_counts counts;
};

struct sim_election_check *
sim_election_check_new(unsigned n)
{
	struct sim_election_check *ec = calloc(1, sizeof(*ec));

	if (ec == NULL)
		return NULL;
	ec->n = n;
	ec->shown_term = calloc(n, sizeof(*ec->shown_term));
	ec->shown_vote = calloc(n, sizeof(*ec->shown_vote));
	ec->lease_hosts = calloc(n, sizeof(*ec->lease_hosts));
	if (ec->shown_term == NULL || ec->shown_vote == NULL || ec->lease_hosts == NULL)
	{
		sim_election_check_free(ec);
		return NULL;
	}
	return ec;
}

void
sim_election_check_free(struct sim_election_check *ec)
{
	if (ec == NULL)
		return;
	free(ec->term_leader);
	free(ec->shown_term);
	free(ec->shown_vote);
	free(ec->lease_hosts);
	free(ec->log);
	free(ec);
}

struct sim_election_counts *
sim_check_election_counts(struct sim_world *w)
{
	return &w->check->election_check->counts;
}

/* Grows a zeroed array so that index fits; false (and fails w) on ENOMEM. */
static bool
election_grow(struct sim_world *w, void **array, size_t *cap, size_t elem,
			  uint64_t index)
{
	size_t		want = *cap ? *cap : 64;
	void	   *p;

	if (index < *cap)
		return true;
	while (want <= index)
		want *= 2;
	p = realloc(*array, want * elem);
	if (p == NULL)
	{
		sim_fail(w, "out of memory in the election checker");
		return false;
	}
	memset((char *) p + *cap * elem, 0, (want - *cap) * elem);
	*array = p;
	*cap = want;
	return true;
}

/* ------------------------------------------------------------ one leader */

static void
election_check_leader(struct sim_world *w, unsigned i,
					  const struct quorum_election_info *info)
{
	struct sim_election_check *ec = w->check->election_check;

	if (info->role != QUORUM_ELECTION_LEADER)
		return;
	if (!election_grow(w, (void **) &ec->term_leader, &ec->terms_cap,
					   sizeof(*ec->term_leader), info->term))
		return;
	if (ec->term_leader[info->term] == 0)
	{
		ec->term_leader[info->term] = i + 1;
		ec->counts.leaders++;
		if (info->term > ec->counts.max_term)
			ec->counts.max_term = info->term;
	}
	else if (ec->term_leader[info->term] != i + 1)
		sim_fail(w, "two leaders in term %llu: n%u and n%u",
				 (unsigned long long) info->term,
				 ec->term_leader[info->term] - 1, i);
}

/* ------------------------------------------------------------- one lease */

static bool
election_has_lease(struct sim_world *w, unsigned h)
{
	struct sim_host *host = &w->hosts[h];

	return host->node != NULL && host->state != SIM_HOST_DOWN &&
		quorum_node_has_lease(host->node, sim_host_local(host, w->now_ms));
}

static void
election_check_leases(struct sim_world *w, unsigned i)
{
	struct sim_election_check *ec = w->check->election_check;
	int			holder = -1;
	bool		listed = false;
	unsigned	k = 0;

	for (unsigned j = 0; j < ec->n_lease_hosts; j++)
		listed |= ec->lease_hosts[j] == i;
	if (!listed && election_has_lease(w, i))
		ec->lease_hosts[ec->n_lease_hosts++] = i;
	ec->counts.lease_checks++;
	while (k < ec->n_lease_hosts)
	{
		unsigned	h = ec->lease_hosts[k];

		if (!election_has_lease(w, h))
		{
			ec->lease_hosts[k] = ec->lease_hosts[--ec->n_lease_hosts];
			continue;
		}
		if (holder >= 0)
		{
			sim_fail(w, "n%d and n%u both hold a valid lease (their clocks "
					 "read %llu and %llu ms)", holder, h,
					 (unsigned long long) sim_host_local(&w->hosts[holder], w->now_ms),
					 (unsigned long long) sim_host_local(&w->hosts[h], w->now_ms));
			return;
		}
		holder = (int) h;
		k++;
	}
}

/* -------------------------------------------------------- one vote a term */

/*
 * Host i shows term and vote (after a step, or right after a boot, when it
 * holds only what its disk gave back).  Against what it showed before: its
 * term never goes back, and within a term its vote neither changes nor
 * disappears.
 */
static void
election_check_vote(struct sim_world *w, unsigned i, uint64_t term,
					const char *vote, const char *when)
{
	struct sim_election_check *ec = w->check->election_check;
	char	   *shown = ec->shown_vote[i];

	if (term < ec->shown_term[i])
	{
		sim_fail(w, "n%u %s is in term %llu, but it was in term %llu before: "
				 "its term was not persisted", i, when,
				 (unsigned long long) term,
				 (unsigned long long) ec->shown_term[i]);
		return;
	}
	if (term > ec->shown_term[i])
	{
		ec->shown_term[i] = term;
		snprintf(shown, QUORUM_NAME_MAX + 1, "%s", vote);
		ec->counts.votes += vote[0] != '\0';
		return;
	}
	if (shown[0] != '\0' && vote[0] == '\0')
		sim_fail(w, "n%u %s has no vote in term %llu, but it voted for %s "
				 "in that term: its vote was not persisted", i, when,
				 (unsigned long long) term, shown);
	else if (shown[0] != '\0' && strcmp(shown, vote) != 0)
		sim_fail(w, "n%u voted twice in term %llu: for %s, then for %s",
				 i, (unsigned long long) term, shown, vote);
	else if (shown[0] == '\0' && vote[0] != '\0')
	{
		snprintf(shown, QUORUM_NAME_MAX + 1, "%s", vote);
		ec->counts.votes++;
	}
}

/*
 * A host rebuilt under its name is a new member with no past to contradict:
 * its votes before the rebuild are what the other checkers judge (at most
 * one leader per term), not what it shows now.
 */
void
sim_check_election_forget(struct sim_world *w, unsigned i)
{
	struct sim_election_check *ec = w->check->election_check;

	ec->shown_term[i] = 0;
	ec->shown_vote[i][0] = '\0';
}

void
sim_check_election_boot(struct sim_world *w, unsigned i)
{
	quorum_node *node = w->hosts[i].node;

	election_check_vote(w, i, quorum_node_term(node), quorum_node_voted_for(node),
						"restarted from its disk");
}

/* -------------------------------------------------------------- the log */

static void
election_check_decision(struct sim_world *w, unsigned i, uint64_t index,
						const struct quorum_decision *d)
{
	struct sim_election_check *ec = w->check->election_check;
	struct sim_decision_slot *slot;

	if (!election_grow(w, (void **) &ec->log, &ec->log_cap, sizeof(*ec->log), index))
		return;
	slot = &ec->log[index];
	if (!slot->set)
	{
		slot->set = true;
		slot->host = i;
		slot->decision = *d;
		ec->counts.decisions++;
		return;
	}
	if (slot->decision.term != d->term || slot->decision.type != d->type ||
		strcmp(slot->decision.name, d->name) != 0)
		sim_fail(w, "decision logs differ at index %llu: n%u committed %s %s "
				 "of term %llu, n%u %s %s of term %llu",
				 (unsigned long long) index, slot->host,
				 quorum_decision_type_name(slot->decision.type),
				 slot->decision.name, (unsigned long long) slot->decision.term,
				 i, quorum_decision_type_name(d->type), d->name,
				 (unsigned long long) d->term);
}

/*
 * Durable records: the term never goes back, a vote in one term never
 * changes, and every committed entry on disk is the one committed anywhere.
 */
void
sim_check_election_persist(struct sim_world *w, unsigned i,
						   const struct quorum_durable *old, bool had_old,
						   const struct quorum_durable *now)
{
	const struct quorum_election_durable *e = &now->election;
	struct quorum_election_info info;

	if (had_old && e->term < old->election.term)
		sim_fail(w, "n%u persisted term %llu after %llu", i,
				 (unsigned long long) e->term,
				 (unsigned long long) old->election.term);
	else if (had_old && e->term == old->election.term &&
			 old->election.voted_for[0] != '\0' &&
			 strcmp(old->election.voted_for, e->voted_for) != 0)
		sim_fail(w, "n%u persisted a vote for \"%s\" in term %llu, after one "
				 "for %s", i, e->voted_for, (unsigned long long) e->term,
				 old->election.voted_for);
	if (w->failed || quorum_node_election_get(w->hosts[i].node, &info) != 0)
		return;
	for (uint32_t k = 0; k < e->n_entries && k < QUORUM_LOG_MAX; k++)
	{
		uint64_t	index = e->snap.index + 1 + k;

		if (index <= info.commit_index)
			election_check_decision(w, i, index, &e->entries[k]);
	}
}

/* ------------------------------------------------------------ per step */

void
sim_check_election_event(struct sim_world *w, unsigned i,
						 const struct quorum_event *e)
{
	struct sim_election_counts *c = &w->check->election_check->counts;

	if (e->type == QUORUM_EV_LEADER_CHANGED)
		c->leader_events++;
	else if (e->type == QUORUM_EV_LEASE_GAINED)
		c->leases_gained++;
	else if (e->type == QUORUM_EV_LEASE_LOST)
		c->leases_lost++;
	else if (e->type == QUORUM_EV_DECISION_COMMITTED)
	{
		if (e->decision.type == QUORUM_DECISION_NOOP)
			sim_fail(w, "n%u reported a NOOP as a decision", i);
		election_check_decision(w, i, e->index, &e->decision);
	}
}

void
sim_check_election_step(struct sim_world *w, unsigned i)
{
	struct quorum_election_info info;

	if (quorum_node_election_get(w->hosts[i].node, &info) != 0)
	{
		sim_fail(w, "n%u: quorum_node_election_get failed", i);
		return;
	}
	election_check_leader(w, i, &info);
	if (!w->failed)
		election_check_vote(w, i, info.term, info.voted_for, "after a step");
	if (!w->failed)
		election_check_leases(w, i);
}

/* ------------------------------------------------------------- liveness */

/*
 * Exactly one running node leads with a lease, and every running node that
 * can reach it both ways follows it.  *leader is its host, or -1.
 */
bool
sim_check_leader_stable(struct sim_world *w, int *leader, char *why,
						size_t why_len)
{
	int			l = -1;

	*leader = -1;
	for (unsigned h = 0; h < w->n; h++)
		if (sim_host_running(w, h) && election_has_lease(w, h))
		{
			l = (int) h;
			break;
		}
	if (l < 0)
	{
		if (why != NULL)
			snprintf(why, why_len, "no running node holds a lease");
		return false;
	}
	for (unsigned h = 0; h < w->n; h++)
	{
		const char *follows;

		if (!sim_host_running(w, h) || !sim_net_connected(w, (unsigned) l, h) ||
			!sim_net_connected(w, h, (unsigned) l))
			continue;
		follows = quorum_node_leader(w->hosts[h].node);
		if (strcmp(follows, w->hosts[l].name) != 0)
		{
			if (why != NULL)
				snprintf(why, why_len, "n%u follows \"%s\", not n%d", h, follows, l);
			return false;
		}
	}
	*leader = l;
	return true;
}
