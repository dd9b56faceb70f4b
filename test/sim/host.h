/*-------------------------------------------------------------------------
 *
 * host.h
 *	  A fake host per simulated node: its process (the quorum_node), its
 *	  durable disk, its socket buffer and its drifting clock.
 *
 * A crash frees the node but keeps the disk, as kill -9 keeps the files; a
 * restart boots a new node at the persisted incarnation plus one and joins
 * through the seed again.  A pause is SIGSTOP: no steps, datagrams pile up in
 * the socket buffer up to its size, and on resume the node reads them all at
 * the then-current time before its overdue tick.  Each host's clock runs at
 * its own rate (ppm) from its own origin; the node only ever sees that clock.
 *
 * Issue 9's clock faults: a host may run its own election timeout; a
 * persist may stall the host in the middle of a pass (what it reads meanwhile
 * waits in the socket buffer and is then stamped by the runtime's own rule,
 * plugin/runtime_clock.c); and a pause may be a suspend, during which the
 * host's monotonic clock stands still while its boot-time clock runs on.  The
 * time a node sees is the one the runtime would read (quorum__runtime_clock_pick).
 *
 * test/sim/host.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SIM_HOST_H
#define SIM_HOST_H

#include "sim.h"

enum sim_host_state
{
	SIM_HOST_DOWN = 0,			/* not booted yet, or crashed */
	SIM_HOST_UP,
	SIM_HOST_PAUSED
};

struct sim_host
{
	struct sim_world *world;	/* for the trace callback */
	unsigned	index;
	char		name[QUORUM_NAME_MAX + 1];
	struct quorum_addr addr;
	enum sim_host_state state;
	quorum_node *node;
	unsigned	boots;			/* runs so far, this one included */
	bool		ever_crashed;

	/* The fake disk: survives crashes, written only on QUORUM_OUT_PERSIST. */
	struct quorum_durable disk;
	bool		disk_written;
	uint64_t	persists;

	struct quorum_meta facts;

	/* Clock: local = origin + global + global * ppm / 10^6. */
	int64_t		clock_origin_ms;
	int32_t		drift_ppm;

	/* The pending TICK: only the event carrying tick_gen is live. */
	uint64_t	tick_gen;
	quorum_time_ms tick_at_ms;	/* global; valid if tick_pending */
	bool		tick_pending;
	unsigned	ticks_same_time;	/* busy-loop guard */
	quorum_time_ms last_tick_ms;

	/* Socket buffer while paused: FIFO of packets, bounded in bytes. */
	struct sim_packet **sockbuf;
	size_t		sockbuf_len;
	size_t		sockbuf_cap;
	size_t		sockbuf_bytes;
	uint64_t	pause_gen;		/* stale-resume check */
	quorum_time_ms paused_at_ms;
	quorum_time_ms paused_total_ms;

	uint64_t	steps;
	int			command_rc;		/* of the last step */

	/* Issue 9's clock faults (see the top of this file). */
	quorum_time_ms election_timeout_ms; /* this host's; 0 = opts.config's */
	quorum_time_ms slow_persist_ms; /* the next persist stalls this long */
	bool		stalled;		/* in that stall, its output held back */
	struct quorum_output held;	/* the stalled step's output */
	bool		in_pass;		/* reading what the stall queued */
	quorum_time_ms pass_host_ms;	/* the stalled pass's start: host time */
	quorum_time_ms pass_read_ms;	/* ... and the clock then */
	bool		suspended;		/* paused, the monotonic clock standing */
	quorum_time_ms suspend_boot_ms; /* boot-time clock when suspended */
	quorum_time_ms mono_lost_ms;	/* monotonic time lost to past suspends */
};

/* Local clock of host h at global time g, and its inverse (rounded up). */
quorum_time_ms sim_host_local(const struct sim_host *h, quorum_time_ms g);
quorum_time_ms sim_host_global(const struct sim_host *h, quorum_time_ms local);

/* Boot host i (first boot or restart) and, unless it is the seed, join. */
void		sim_host_boot(struct sim_world *w, unsigned i);
void		sim_host_crash(struct sim_world *w, unsigned i);
void		sim_host_restart(struct sim_world *w, unsigned i);

/*
 * A server rebuilt under host i's name (pg_basebackup, a new data
 * directory): crash, lose the election's state and the member id, keep
 * the incarnation (a real host starts at the wall clock, above every
 * earlier one), boot.
 */
void		sim_host_rebuild(struct sim_world *w, unsigned i);
/* Pause for ms of virtual time (0 = until sim_host_resume()). */
void		sim_host_pause(struct sim_world *w, unsigned i, quorum_time_ms ms);
/* The same, as a suspend: the monotonic clock stands still meanwhile. */
void		sim_host_suspend(struct sim_world *w, unsigned i, quorum_time_ms ms);
void		sim_host_resume(struct sim_world *w, unsigned i);
void		sim_host_drift(struct sim_world *w, unsigned i, int32_t ppm);

/* Change a host's facts (a metadata update), as a QUORUM_IN_FACTS step. */
void		sim_host_set_facts(struct sim_world *w, unsigned i,
							   const struct quorum_meta *facts);
/* The same, sampled after its WAL intake stopped (QUORUM_IN_WAL_STOPPED). */
void		sim_host_wal_stopped(struct sim_world *w, unsigned i,
								 const struct quorum_meta *facts);
/*
 * Send a command, e.g. a join, as a QUORUM_IN_COMMAND step.  Returns what
 * quorum_node_step() returned; an election command the node refuses
 * (QUORUM_EBUSY, ESTATE, ENOTFOUND, ELIMIT) does not fail the run.
 */
int			sim_host_command(struct sim_world *w, unsigned i,
							 const struct quorum_command *cmd);
/* The same for a command of a type with a name ("" for none). */
int			sim_host_command_named(struct sim_world *w, unsigned i,
								   enum quorum_command_type type, const char *name);

/* Dispatch of the world's events to hosts. */
void		sim_host_on_tick(struct sim_world *w, unsigned i, uint64_t gen);
void		sim_host_on_deliver(struct sim_world *w, unsigned i,
								struct sim_packet *packet);
void		sim_host_on_resume(struct sim_world *w, unsigned i, uint64_t gen);
void		sim_host_on_rejoin(struct sim_world *w, unsigned i, uint64_t gen);

void		sim_host_destroy(struct sim_host *h);

/* Is host i running (booted, not crashed, not paused)? */
static inline bool
sim_host_running(const struct sim_world *w, unsigned i)
{
	return w->hosts[i].state == SIM_HOST_UP;
}

#endif							/* SIM_HOST_H */
