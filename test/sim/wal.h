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
 * (timeline, lsn) of the leader it follows, if it can reach it both ways,
 * as a standby streaming from it would, and an old primary that follows
 * someone else is rewound onto the new timeline.  A write counts as
 * acknowledged once a majority of the voters holds it on the primary's
 * timeline (synchronous quorum commit).  Each host's position reaches its
 * node as facts (QUORUM_IN_FACTS), which is all the election sees.
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
};

struct sim_wal *sim_wal_new(quorum_time_ms interval_ms, unsigned n);
void		sim_wal_free(struct sim_wal *wal);

/* One round: the primary writes, standbys replay, acknowledgements. */
void		sim_wal_tick(struct sim_world *w);

/* Whether (timeline, lsn)'s history contains (at, alsn). */
bool		sim_wal_contains(const struct sim_wal *wal, uint32_t timeline,
							 uint64_t lsn, uint32_t at, uint64_t alsn);

#endif							/* SIM_WAL_H */
