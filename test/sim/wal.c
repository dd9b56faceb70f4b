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
	wal->n = n;
	wal->parent = calloc(wal->cap, sizeof(*wal->parent));
	wal->branch = calloc(wal->cap, sizeof(*wal->branch));
	wal->writer_term = calloc(n, sizeof(*wal->writer_term));
	wal->db = calloc(n, sizeof(*wal->db));
	wal->repl = calloc((size_t) n * n, sizeof(*wal->repl));
	wal->acked_timeline = 1;
	wal->writer = -1;
	if (wal->parent == NULL || wal->branch == NULL || wal->writer_term == NULL ||
		wal->db == NULL || wal->repl == NULL)
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
	free(wal->db);
	free(wal->repl);
	free(wal);
}

void
sim_wal_replication(struct sim_world *w, unsigned a, unsigned b,
					enum sim_wal_repl mode)
{
	w->wal->repl[a * w->n + b] = (uint8_t) mode;
	w->wal->repl[b * w->n + a] = (uint8_t) mode;
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

/* The database under host h, read from its first facts the first time. */
static struct sim_wal_db *
wal_db(struct sim_world *w, unsigned h)
{
	struct sim_wal_db *db = &w->wal->db[h];

	if (!db->known)
	{
		db->known = true;
		db->role = w->hosts[h].facts.role;
		db->timeline = w->hosts[h].facts.timeline;
		db->lsn = w->hosts[h].facts.lsn;
		db->upstream = -1;
	}
	return db;
}

/* The host's facts with the database's position. */
static void
wal_facts(struct sim_world *w, unsigned h, struct quorum_meta *f)
{
	const struct sim_wal_db *db = wal_db(w, h);

	*f = w->hosts[h].facts;
	f->role = db->role;
	f->timeline = db->timeline;
	f->lsn = db->lsn;
}

/*
 * The host with a valid lease (the lease checker makes it unique), unless
 * it would have to be promoted while its log says failover is paused.
 */
static int
wal_writer(struct sim_world *w)
{
	for (unsigned h = 0; h < w->n; h++)
		if (sim_host_running(w, h) &&
			quorum_node_has_lease(w->hosts[h].node,
								  sim_host_local(&w->hosts[h], w->now_ms)))
		{
			struct quorum_election_info info;

			/* The extension promotes only a standby; a primary stays one. */
			if (wal_db(w, h)->role != QUORUM_ROLE_PRIMARY &&
				quorum_node_election_get(w->hosts[h].node, &info) == 0 &&
				info.promotion_paused)
				return -1;
			return (int) h;
		}
	return -1;
}

/* A new writer: the election let it lead, so it must hold every ack. */
static void
wal_check_new_writer(struct sim_world *w, unsigned h)
{
	struct sim_wal *wal = w->wal;
	const struct sim_wal_db *db = wal_db(w, h);

	sim_check_election_counts(w)->promotions++;
	if (!sim_wal_contains(wal, db->timeline, db->lsn, wal->acked_timeline,
						  wal->acked_lsn))
		sim_fail(w, "n%u became the primary at timeline %u lsn %llu, which "
				 "lacks the acknowledged write at timeline %u lsn %llu", h,
				 db->timeline, (unsigned long long) db->lsn,
				 wal->acked_timeline, (unsigned long long) wal->acked_lsn);
}

/* pg_ctl promote: a new timeline, branching where this WAL ends. */
static void
wal_promote(struct sim_world *w, struct sim_wal_db *db)
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
	wal->parent[wal->timelines] = db->timeline;
	wal->branch[wal->timelines] = db->lsn;
	db->timeline = wal->timelines;
	db->role = QUORUM_ROLE_PRIMARY;
	db->upstream = -1;
}

/*
 * How far the write is acknowledged: the majority-th highest position of
 * the voters (the primary counts), or with sync_k the k-th highest of the
 * other voters (ANY k), never past the primary's own.
 */
static uint64_t
wal_acked_upto(struct sim_world *w, unsigned p,
			   const struct quorum_election_info *info)
{
	const struct sim_wal_db *pdb = wal_db(w, p);
	uint64_t	held[QUORUM_VOTERS_MAX];
	unsigned	n = 0;
	unsigned	k = w->wal->sync_k;

	for (unsigned v = 0; v < info->n_voters; v++)
	{
		int			h = sim_name_host(w, info->voters[v]);
		const struct sim_wal_db *db = h >= 0 ? wal_db(w, (unsigned) h) : NULL;

		if (k > 0 && h == (int) p)
			continue;
		held[n++] = db != NULL && db->timeline == pdb->timeline ?
			(db->lsn < pdb->lsn ? db->lsn : pdb->lsn) : 0;
	}
	/* Insertion sort of at most 9, highest first. */
	for (unsigned i = 1; i < n; i++)
		for (unsigned j = i; j > 0 && held[j] > held[j - 1]; j--)
		{
			uint64_t	t = held[j];

			held[j] = held[j - 1];
			held[j - 1] = t;
		}
	if (k > 0)
		return k <= n ? held[k - 1] : 0;
	return held[info->n_voters / 2];
}

/*
 * A write is acknowledged when a majority, or sync_k standbys, hold it; in
 * degraded mode when the primary does.
 */
static void
wal_acknowledge(struct sim_world *w, unsigned p)
{
	struct sim_wal *wal = w->wal;
	struct quorum_election_info info;
	const struct sim_wal_db *db = wal_db(w, p);
	uint64_t	acked;

	if (quorum_node_election_get(w->hosts[p].node, &info) != 0 || info.n_voters == 0)
		return;
	/* Degraded: with failover paused, the primary alone acknowledges. */
	if (wal->sync_k > 0 && info.paused && !info.resume_pending)
		acked = db->lsn;
	else
		acked = wal_acked_upto(w, p, &info);
	if (acked == 0 || (db->timeline == wal->acked_timeline && acked <= wal->acked_lsn))
		return;
	if (!sim_wal_contains(wal, db->timeline, acked, wal->acked_timeline,
						  wal->acked_lsn))
	{
		sim_fail(w, "n%u's write at timeline %u lsn %llu is acknowledged, "
				 "but its history lacks the acknowledged write at timeline "
				 "%u lsn %llu", p, db->timeline, (unsigned long long) acked,
				 wal->acked_timeline, (unsigned long long) wal->acked_lsn);
		return;
	}
	sim_check_election_counts(w)->acked_writes++;
	wal->acked_timeline = db->timeline;
	wal->acked_lsn = acked;
}

static bool
wal_linked(struct sim_world *w, unsigned a, unsigned b)
{
	switch ((enum sim_wal_repl) w->wal->repl[a * w->n + b])
	{
		case SIM_WAL_REPL_KEEP:
			return true;
		case SIM_WAL_REPL_CUT:
			return false;
		case SIM_WAL_REPL_NET:
			break;
	}
	return sim_net_connected(w, a, b) && sim_net_connected(w, b, a);
}

/*
 * The node asks the host to stop taking WAL before it votes: stop, and
 * report the position, every round while it asks (a report the node no
 * longer waits for is only facts).
 */
static bool
wal_stop_intake(struct sim_world *w, unsigned h)
{
	struct sim_wal_db *db = wal_db(w, h);
	struct quorum_election_info info;
	struct quorum_meta f;

	if (quorum_node_election_get(w->hosts[h].node, &info) != 0 || !info.stop_wal)
	{
		db->stopped = false;
		return false;
	}
	db->stopped = true;
	wal_facts(w, h, &f);
	db->sampled_ms = w->now_ms;
	sim_host_wal_stopped(w, h, &f);
	return true;
}

/* A standby streams from its upstream, if it can reach it. */
static void
wal_replay(struct sim_world *w, unsigned h, int writer)
{
	struct sim_wal_db *db = wal_db(w, h);
	int			l = wal_host_of(w, quorum_node_leader(w->hosts[h].node));
	int			u;

	/* primary_conninfo follows a new leader, and only a known one. */
	if (l >= 0 && (unsigned) l != h)
		db->upstream = l;
	u = db->upstream;
	if (u < 0 || (unsigned) u == h || !sim_host_running(w, (unsigned) u) ||
		!wal_linked(w, (unsigned) u, h))
		return;
	/* Only the lease holder's WAL is news; a primary without one is idle. */
	if (u != writer && wal_db(w, (unsigned) u)->role != QUORUM_ROLE_PRIMARY)
		return;
	db->role = QUORUM_ROLE_STANDBY;
	db->timeline = wal_db(w, (unsigned) u)->timeline;
	db->lsn = wal_db(w, (unsigned) u)->lsn;
}

/* The worker's facts poll: every sample_ms, or every round. */
static void
wal_sample(struct sim_world *w, unsigned h)
{
	struct sim_wal_db *db = wal_db(w, h);
	const struct quorum_meta *cur = &w->hosts[h].facts;
	struct quorum_meta f;

	if (w->wal->sample_ms > 0 && w->now_ms < db->sampled_ms + w->wal->sample_ms)
		return;
	wal_facts(w, h, &f);
	db->sampled_ms = w->now_ms;
	if (f.role != cur->role || f.timeline != cur->timeline || f.lsn != cur->lsn)
		sim_host_set_facts(w, h, &f);
}

void
sim_wal_tick(struct sim_world *w)
{
	int			writer = wal_writer(w);

	if (writer >= 0)
	{
		struct sim_wal_db *db = wal_db(w, (unsigned) writer);
		uint64_t	term = quorum_node_term(w->hosts[writer].node);

		if (writer != w->wal->writer)
			wal_check_new_writer(w, (unsigned) writer);
		w->wal->writer = writer;
		if ((db->role != QUORUM_ROLE_PRIMARY || w->wal->writer_term[writer] != term) &&
			!w->failed)
		{
			wal_promote(w, db);
			w->wal->writer_term[writer] = term;
		}
		db->lsn += 1 + sim_rng_below(&w->rng, 8192);
	}
	for (unsigned h = 0; h < w->n && !w->failed; h++)
		if ((int) h != writer && sim_host_running(w, h) && !wal_stop_intake(w, h))
			wal_replay(w, h, writer);
	if (writer >= 0 && !w->failed && sim_host_running(w, (unsigned) writer))
		wal_acknowledge(w, (unsigned) writer);
	for (unsigned h = 0; h < w->n && !w->failed; h++)
		if (sim_host_running(w, h) && !w->wal->db[h].stopped)
			wal_sample(w, h);
}
