/*-------------------------------------------------------------------------
 *
 * runtime_clock.h
 *	  What time an input carries: the clock the runtime reads, and the stamp
 *	  of each input of one pass (private).
 *
 * Pure functions, so that the simulator's hosts stamp their inputs with the
 * very rules the runtime uses (test/sim/host.c): a pass that starts at the
 * host's time and then stalls (a slow fsync of the durable record) must not
 * hand later inputs the time the pass started, and a clock that stood still
 * while the machine was suspended must not make a lease outlive the suspend.
 *
 * plugin/runtime_clock.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef QUORUM_RUNTIME_CLOCK_H
#define QUORUM_RUNTIME_CLOCK_H

#include "quorum/types.h"

/* One pass of work: the host's time at its start, and the clock then. */
struct quorum__runtime_clock
{
	quorum_time_ms host_ms;		/* the time the host passed in */
	quorum_time_ms read_ms;		/* the runtime's clock at that moment */
};

/*
 * The clock the runtime reads, from the two kernel clocks read together:
 * monotonic (stands still while the machine is suspended) and boot time
 * (counts the suspend).  See runtime_clock.c for why boot time wins.
 */
quorum_time_ms quorum__runtime_clock_pick(quorum_time_ms monotonic_ms,
										  quorum_time_ms boottime_ms);

void		quorum__runtime_clock_start(struct quorum__runtime_clock *c,
										quorum_time_ms host_ms,
										quorum_time_ms read_ms);

/* The time an input read when the runtime's clock shows read_ms carries. */
quorum_time_ms quorum__runtime_clock_stamp(const struct quorum__runtime_clock *c,
										   quorum_time_ms read_ms);

#endif							/* QUORUM_RUNTIME_CLOCK_H */
