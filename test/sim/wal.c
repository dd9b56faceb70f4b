/*-------------------------------------------------------------------------
 *
 * wal.c
 *	  The toy database under each simulated host (see wal.h).
 *
 * test/sim/wal.c
 *
 *-------------------------------------------------------------------------
 */
#include "wal.h"
#include "check.h"
#include "host.h"
#include "net.h"

#include <stdlib.h>
#include <string.h>

struct sim_wal *
sim_wal_new(quorum_time_ms interval_ms, unsigned n)
{
	struct sim_wal *wal = calloc(1, sizeof(*wal));

	if (wal == NULL)
		return NULL;
	wal->interval_ms = interval_ms;
	wal->timelines = 1;
	wal->cap = 64;
	wal->parent = calloc(wal->cap, sizeof(*wal->parent));
	wal->branch = calloc(wal->cap, sizeof(*wal->branch));
	wal->writer_term = calloc(n, sizeof(*wal->writer_term));
	wal->acked_timeline = 1;
	wal->writer = -1;
	if (wal->parent == NULL || wal->branch == NULL || wal->writer_term == NULL)
	{
		sim_wal_free(wal);
		return NULL;
	}
	return wal;
}

void
sim_wal_free(struct sim_wal *wal)
{
	if (wal == NULL)
		return;
	free(wal->parent);
	free(wal->branch);
	free(wal->writer_term);
	free(wal);
}

bool
sim_wal_contains(const struct sim_wal *wal, uint32_t timeline, uint64_t lsn,
				 uint32_t at, uint64_t alsn)
{
	/* Walk up: on the parent, the history stops at the branch point. */
	while (timeline != at)
	{
		if (timeline < at || timeline <= 1 || timeline > wal->timelines)
			return false;
		if (wal->branch[timeline] < lsn)
			lsn = wal->branch[timeline];
		timeline = wal->parent[timeline];
	}
	return lsn >= alsn;
}

static int
wal_host_of(struct sim_world *w, const char *name)
{
	int			h = sim_name_host(w, name);

	return h >= 0 && sim_host_running(w, (unsigned) h) ? h : -1;
}

/* The host with a valid lease; the lease checker makes it unique. */
static int
wal_writer(struct sim_world *w)
{
	for (unsigned h = 0; h < w->n; h++)
		if (sim_host_running(w, h) &&
			quorum_node_has_lease(w->hosts[h].node,
								  sim_host_local(&w->hosts[h], w->now_ms)))
			return (int) h;
	return -1;
}

/* A new writer: the election let it lead, so it must hold every ack. */
static void
wal_check_new_writer(struct sim_world *w, unsigned h, const struct quorum_meta *f)
{
	struct sim_wal *wal = w->wal;

	sim_check_election_counts(w)->promotions++;
	if (!sim_wal_contains(wal, f->timeline, f->lsn, wal->acked_timeline,
						  wal->acked_lsn))
		sim_fail(w, "n%u became the primary at timeline %u lsn %llu, which "
				 "lacks the acknowledged write at timeline %u lsn %llu", h,
				 f->timeline, (unsigned long long) f->lsn,
				 wal->acked_timeline, (unsigned long long) wal->acked_lsn);
}

/* pg_ctl promote: a new timeline, branching where this WAL ends. */
static void
wal_promote(struct sim_world *w, struct quorum_meta *f)
{
	struct sim_wal *wal = w->wal;

	if (wal->timelines + 1 >= wal->cap)
	{
		size_t		cap = wal->cap * 2;
		uint32_t   *p = realloc(wal->parent, cap * sizeof(*p));
		uint64_t   *b = p != NULL ? realloc(wal->branch, cap * sizeof(*b)) : NULL;

		if (p != NULL)
			wal->parent = p;
		if (b == NULL)
		{
			sim_fail(w, "out of memory for timelines");
			return;
		}
		wal->branch = b;
		wal->cap = cap;
	}
	wal->timelines++;
	wal->parent[wal->timelines] = f->timeline;
	wal->branch[wal->timelines] = f->lsn;
	f->timeline = wal->timelines;
	f->role = QUORUM_ROLE_PRIMARY;
}

/* A write is acknowledged when a majority of voters holds it. */
static void
wal_acknowledge(struct sim_world *w, unsigned p)
{
	struct sim_wal *wal = w->wal;
	struct quorum_election_info info;
	const struct quorum_meta *f = &w->hosts[p].facts;
	uint64_t	held[QUORUM_VOTERS_MAX];
	unsigned	n = 0;
	uint64_t	acked;

	if (quorum_node_election_get(w->hosts[p].node, &info) != 0 || info.n_voters == 0)
		return;
	for (unsigned v = 0; v < info.n_voters; v++)
	{
		int			h = sim_name_host(w, info.voters[v]);

		held[n++] = h >= 0 && w->hosts[h].facts.timeline == f->timeline ?
			w->hosts[h].facts.lsn : 0;
	}
	/* The majority-th highest: insertion sort of at most 9. */
	for (unsigned i = 1; i < n; i++)
		for (unsigned j = i; j > 0 && held[j] > held[j - 1]; j--)
		{
			uint64_t	t = held[j];

			held[j] = held[j - 1];
			held[j - 1] = t;
		}
	acked = held[info.n_voters / 2];
	if (acked == 0 || (f->timeline == wal->acked_timeline && acked <= wal->acked_lsn))
		return;
	if (!sim_wal_contains(wal, f->timeline, acked, wal->acked_timeline,
						  wal->acked_lsn))
	{
		sim_fail(w, "n%u's write at timeline %u lsn %llu is held by a majority, "
				 "but its history lacks the acknowledged write at timeline "
				 "%u lsn %llu", p, f->timeline, (unsigned long long) acked,
				 wal->acked_timeline, (unsigned long long) wal->acked_lsn);
		return;
	}
	sim_check_election_counts(w)->acked_writes++;
	wal->acked_timeline = f->timeline;
	wal->acked_lsn = acked;
}

/* A standby streams from the leader it follows, if it can reach it. */
static void
wal_replay(struct sim_world *w, unsigned h, int writer)
{
	struct sim_host *host = &w->hosts[h];
	int			l = wal_host_of(w, quorum_node_leader(host->node));
	struct quorum_meta f = host->facts;

	if (l < 0 || (unsigned) l == h || !sim_net_connected(w, (unsigned) l, h) ||
		!sim_net_connected(w, h, (unsigned) l))
		return;
	/* Only the lease holder's WAL is news; a leader without one is idle. */
	if (l != writer && w->hosts[l].facts.role != QUORUM_ROLE_PRIMARY)
		return;
	f.role = QUORUM_ROLE_STANDBY;
	f.timeline = w->hosts[l].facts.timeline;
	f.lsn = w->hosts[l].facts.lsn;
	if (f.role != host->facts.role || f.timeline != host->facts.timeline ||
		f.lsn != host->facts.lsn)
		sim_host_set_facts(w, h, &f);
}

void
sim_wal_tick(struct sim_world *w)
{
	int			writer = wal_writer(w);

	if (writer >= 0)
	{
		struct quorum_meta f = w->hosts[writer].facts;
		uint64_t	term = quorum_node_term(w->hosts[writer].node);

		if (writer != w->wal->writer)
			wal_check_new_writer(w, (unsigned) writer, &f);
		w->wal->writer = writer;
		if ((f.role != QUORUM_ROLE_PRIMARY || w->wal->writer_term[writer] != term) &&
			!w->failed)
		{
			wal_promote(w, &f);
			w->wal->writer_term[writer] = term;
		}
		f.lsn += 1 + sim_rng_below(&w->rng, 8192);
		if (!w->failed)
			sim_host_set_facts(w, (unsigned) writer, &f);
	}
	for (unsigned h = 0; h < w->n && !w->failed; h++)
		if ((int) h != writer && sim_host_running(w, h))
			wal_replay(w, h, writer);
	if (writer >= 0 && !w->failed && sim_host_running(w, (unsigned) writer))
		wal_acknowledge(w, (unsigned) writer);
}
