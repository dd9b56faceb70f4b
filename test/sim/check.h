/*-------------------------------------------------------------------------
 *
 * check.h
 *	  Invariant and liveness checkers of the simulator, kept apart from the
 *	  code under test.
 *
 * The checkers see only what a host sees: each step's output (events,
 * durable state) and the public member accessors.  Safety invariants run
 * after every node step and fail the world at the first violation:
 *
 *   - a node never sees itself as anything but alive;
 *   - an observer's view of a member's incarnation never goes backwards
 *     (within one boot of the observer);
 *   - no one believes in an incarnation the member itself never held;
 *   - a restarted node starts above every incarnation anyone saw of it,
 *     and its persisted incarnation never decreases;
 *   - every member a node reports is a host of this world, at its address.
 *
 * and, in worlds that run the election (check_election.c): one leader per
 * term, one valid lease at any instant, one vote per term across crashes,
 * matching decision logs, and no acknowledged write lost by a new primary.
 *
 * Liveness (convergence) is a predicate the scenarios wait for with a bound.
 *
 * test/sim/check.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SIM_CHECK_H
#define SIM_CHECK_H

#include <stdio.h>

#include "sim.h"

struct sim_check_counts
{
	uint64_t	events[QUORUM_EV_MEMBER_REAPED + 1];	/* by event type */
	/* DEAD / SUSPECT events about a host that was running and never crashed,
	 * paused or cut off: false accusations. */
	uint64_t	false_dead;
	uint64_t	false_suspect;
	uint64_t	invariant_checks;	/* member entries examined */
};

/* Counts distinct observers reporting one event about one subject. */
struct sim_watch
{
	bool		active;
	unsigned	subject;
	enum quorum_event_type type;
	unsigned	target;			/* observers needed */
	unsigned	hits;
	uint8_t    *seen;			/* per observer */
	quorum_time_ms start_ms;
	quorum_time_ms done_ms;		/* when hits reached target */
};

/* What the election checkers saw. */
struct sim_election_counts
{
	uint64_t	leaders;		/* terms that had a leader */
	uint64_t	max_term;
	uint64_t	leader_events;
	uint64_t	leases_gained;
	uint64_t	leases_lost;
	uint64_t	lease_checks;
	uint64_t	votes;
	uint64_t	decisions;		/* distinct committed log indexes */
	uint64_t	promotions;		/* wal.c: new primaries checked */
	uint64_t	acked_writes;	/* wal.c: writes a majority holds */
};

struct sim_election_check;

struct sim_check
{
	unsigned	n;
	enum sim_check_level level;
	bool		election;		/* the world runs the election */
	struct sim_election_check *election_check;
	/* Highest incarnation each host has held itself (its self entry). */
	uint64_t   *self_inc_max;
	/* Highest incarnation of host s any other host has reported. */
	uint64_t   *seen_inc_max;
	/* Per (observer, subject): last incarnation the observer's current boot
	 * reported; n * n entries, only for worlds small enough to afford it. */
	uint64_t   *view_inc;
	/* Hosts that were ever paused, crashed or cut off: not "healthy". */
	bool	   *tainted;
	struct sim_check_counts counts;
	struct sim_watch watch;
};

struct sim_check *sim_check_new(unsigned n, enum sim_check_level level,
								bool election);
void		sim_check_free(struct sim_check *check);

/* check_election.c */
struct sim_election_check *sim_election_check_new(unsigned n);
void		sim_election_check_free(struct sim_election_check *ec);
void		sim_check_election_boot(struct sim_world *w, unsigned i);
/* Host i lost its disk (sim_host_rebuild): nothing it showed binds it. */
void		sim_check_election_forget(struct sim_world *w, unsigned i);
void		sim_check_election_persist(struct sim_world *w, unsigned i,
									   const struct quorum_durable *old,
									   bool had_old,
									   const struct quorum_durable *now);
void		sim_check_election_event(struct sim_world *w, unsigned i,
									 const struct quorum_event *e);
void		sim_check_election_step(struct sim_world *w, unsigned i);
struct sim_election_counts *sim_check_election_counts(struct sim_world *w);

/*
 * Exactly one running node leads with a lease, and every running node that
 * can reach it both ways follows it; *leader is that host, or -1.
 */
bool		sim_check_leader_stable(struct sim_world *w, int *leader,
									char *why, size_t why_len);

/* Hooks the hosts call. */
void		sim_check_on_boot(struct sim_world *w, unsigned i,
							  uint64_t incarnation_start);
void		sim_check_on_persist(struct sim_world *w, unsigned i,
								 const struct quorum_durable *old,
								 bool had_old,
								 const struct quorum_durable *now);
void		sim_check_after_step(struct sim_world *w, unsigned i,
								 const struct quorum_output *out);
/* A host stops being healthy (crash, pause, partition, cut, drop). */
void		sim_check_taint(struct sim_world *w, unsigned i);

/*
 * Liveness predicates.  Each returns true when it holds; otherwise, if why is
 * not NULL, describes the first counterexample there.
 */

/* Every running host sees every running host alive at its current
 * incarnation, and every crashed host as dead, left or not at all. */
bool		sim_check_converged(struct sim_world *w, char *why, size_t why_len);

/* Cheap version for big worlds: every running host counts all running hosts
 * alive (node stats), and none suspect. */
bool		sim_check_alive_counts(struct sim_world *w, char *why, size_t why_len);

/* Every running host other than s sees s in state. */
bool		sim_check_all_see(struct sim_world *w, unsigned s,
							  enum quorum_member_state state,
							  char *why, size_t why_len);

/* Every running host other than s sees s alive above incarnation inc. */
bool		sim_check_all_see_alive_above(struct sim_world *w, unsigned s,
										  uint64_t inc,
										  char *why, size_t why_len);

/* Host i's own incarnation (its self entry), 0 if it is not running. */
uint64_t	sim_check_self_incarnation(struct sim_world *w, unsigned i);

/*
 * Start timing how long it takes until target distinct hosts have reported
 * an event of this type about subject (e.g. ALIVE for a join, UPDATED for
 * new metadata); done_ms is exact, not rounded to a polling period.
 */
void		sim_check_watch(struct sim_world *w, unsigned subject,
							enum quorum_event_type type, unsigned target);
/* True once the watch is complete; *elapsed_ms from its start. */
bool		sim_check_watch_done(struct sim_world *w, quorum_time_ms *elapsed_ms);

/* Sum of a few node stats over running hosts. */
struct sim_stats_sum
{
	uint64_t	bytes_out;
	uint64_t	datagrams_out;
	uint64_t	suspicions_refuted;
	uint64_t	probes_sent;
	uint64_t	probes_failed;
	uint64_t	pushpulls;
	uint64_t	drops[QUORUM_DROP__COUNT];
};
void		sim_check_stats_sum(struct sim_world *w, struct sim_stats_sum *sum);

void		sim_check_report(struct sim_world *w, FILE *f);

/* Every running host's view of every member, one line per host. */
void		sim_check_dump_views(struct sim_world *w, FILE *f);

#endif							/* SIM_CHECK_H */
