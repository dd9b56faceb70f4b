/*-------------------------------------------------------------------------
 *
 * wal.h
 *	  A toy database under every simulated host, so that the election
 *	  restriction has WAL positions to rank and the checker has acknowledged
 *	  writes to protect.
 *
 * Every wal_interval_ms the host holding a valid lease is the primary: the
 * first time it writes in a term it is promoted onto a new timeline
 * (branching from where its WAL was), then writes.  That is the contract
 * node.h asks of a host: every term that writes has a timeline of its own,
 * newer than every timeline before it, so that comparing (timeline, lsn)
 * is comparing Raft's (last term, last index).  Every other running host replays up to the
 * (timeline, lsn) of its upstream, if it can reach it both ways, as a
 * standby streaming from it would, and an old primary that follows someone
 * else is rewound onto the new timeline.  The upstream is the leader its
 * node knows, and stays the last one known while none is (primary_conninfo
 * changes only when a new leader is known), so a standby keeps streaming
 * from an old leader after its node lost it.  Replication between two
 * hosts can flow while their gossip is cut, or be cut while their gossip
 * flows (sim_wal_replication: one port firewalled).  While the node asks for
 * it (quorum_election_info.stop_wal) the host takes no WAL and reports its
 * position with QUORUM_IN_WAL_STOPPED.  A write counts as acknowledged once
 * a majority of the voters holds it on the primary's timeline, or with
 * sync_k, once sync_k voters other than the primary do (synchronous
 * replication, ANY k), or once the primary alone does while failover is
 * paused (degraded, as the extension's synchronous mode does).  A new
 * leader is promoted, and writes, only if its log does not say paused
 * (quorum_election_info.promotion_paused), as the extension's reconciler.  Each host's position reaches its node as facts
 * (QUORUM_IN_FACTS), sampled every sample_ms (0: every round), which is
 * all the election sees.
 *
 * The checks: whenever a host becomes the one that writes, its WAL history
 * must contain every acknowledged write, and an acknowledged write never
 * forks the history acknowledged before it.  Histories are timelines with
 * branch points, as in PostgreSQL's .history files.
 *
 * test/sim/wal.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SIM_WAL_H
#define SIM_WAL_H

#include "sim.h"

struct sim_wal
{
	quorum_time_ms interval_ms;
	/* Timeline t branched from parent[t] at lsn branch[t]; 1 is the root. */
	uint32_t	timelines;
	uint32_t   *parent;
	uint64_t   *branch;
	size_t		cap;
	/* The newest acknowledged write, in history order. */
	uint32_t	acked_timeline;
	uint64_t	acked_lsn;
	int			writer;			/* host that wrote last, -1 before any */
	uint64_t   *writer_term;	/* per host: the term its timeline is of */

	unsigned	n;
	unsigned	sync_k;			/* 0: a majority of voters acknowledges */
	quorum_time_ms sample_ms;	/* facts fed every sample_ms; 0: every round */
	struct sim_wal_db *db;		/* per host: the database itself */
	uint8_t    *repl;			/* [a * n + b]: enum sim_wal_repl */
};

/* One host's database, which its node sees only through samples. */
struct sim_wal_db
{
	bool		known;			/* taken from the host's facts once */
	enum quorum_role role;
	uint32_t	timeline;
	uint64_t	lsn;
	int			upstream;		/* host it streams from; -1 none */
	bool		stopped;		/* intake stopped for the node's vote */
	quorum_time_ms sampled_ms;	/* last fed to the node */
};

struct sim_wal *sim_wal_new(quorum_time_ms interval_ms, unsigned n);
void		sim_wal_free(struct sim_wal *wal);

/* One round: the primary writes, standbys replay, acknowledgements. */
void		sim_wal_tick(struct sim_world *w);

/* Replication between two hosts, both ways: */
enum sim_wal_repl
{
	SIM_WAL_REPL_NET = 0,		/* flows while the network between them does */
	SIM_WAL_REPL_KEEP,			/* flows even when the network is cut (only
								 * the gossip port is firewalled) */
	SIM_WAL_REPL_CUT			/* never flows (only the database port is) */
};

void		sim_wal_replication(struct sim_world *w, unsigned a, unsigned b,
								enum sim_wal_repl mode);

/* Whether (timeline, lsn)'s history contains (at, alsn). */
bool		sim_wal_contains(const struct sim_wal *wal, uint32_t timeline,
							 uint64_t lsn, uint32_t at, uint64_t alsn);

#endif							/* SIM_WAL_H */
