/*-------------------------------------------------------------------------
 *
 * runtime_clock.c
 *	  The runtime's clock and the time each input of a pass carries.
 *
 * Every input carries the time at which it was read (issue 9, H2).  The
 * host hands a pass its time once (quorum_runtime_process(), or the IO
 * thread's loop), but one pass reads many datagrams, and a datagram whose
 * step persists the durable record can stall it for as long as fsync takes.
 * A heartbeat read after that stall and stamped with the pass's start would
 * count as heard earlier than it was: the voter's promise not to vote, which
 * runs from its last contact with the leader, would end early while the
 * leader's lease, which runs from the heartbeat's send time, still holds.
 * So each input carries the host's time plus what the runtime's clock says
 * has passed since the pass started.  Adding elapsed time, rather than
 * reading the clock outright, keeps the host's time base: a host may drive
 * the node with a clock of its own, as long as it runs at the real rate.
 *
 * The clock itself is CLOCK_BOOTTIME (issue 9, H3b).  CLOCK_MONOTONIC stands
 * still while the machine is suspended, so a leader suspended in the middle
 * of its lease would, once resumed, believe the lease still ran although the
 * others may have elected someone long ago.  Boot time runs at the same rate
 * and also counts the suspend, so the lease simply expires across it, and a
 * voter's promise, measured on the same clock, ends when it really ends.
 * That is the comparison of the two clocks that detects a suspend, applied
 * to every reading.  What no clock comparison can see: a virtual machine
 * paused by its hypervisor, if every guest clock stops with it (kvmclock
 * does not advance while a KVM guest is paused); then a resumed leader keeps
 * its lease for the rest of its length.  The Guarantees section of the
 * README states that as an assumption.
 *
 * The simulator builds QUORUM_BREAK_STAMP (every input of a pass carries the
 * pass's start, the old behaviour) and QUORUM_BREAK_SUSPEND (the monotonic
 * clock) to show that its checkers catch both.
 *
 * plugin/runtime_clock.c
 *
 *-------------------------------------------------------------------------
 */
#include "runtime_clock.h"

quorum_time_ms
quorum__runtime_clock_pick(quorum_time_ms monotonic_ms, quorum_time_ms boottime_ms)
{
#if defined(QUORUM_SIMULATION) && defined(QUORUM_BREAK_SUSPEND)
	(void) boottime_ms;
	return monotonic_ms;
#else
	(void) monotonic_ms;
	return boottime_ms;
#endif
}

void
quorum__runtime_clock_start(struct quorum__runtime_clock *c,
							quorum_time_ms host_ms, quorum_time_ms read_ms)
{
	c->host_ms = host_ms;
	c->read_ms = read_ms;
}

quorum_time_ms
quorum__runtime_clock_stamp(const struct quorum__runtime_clock *c,
							quorum_time_ms read_ms)
{
#if defined(QUORUM_SIMULATION) && defined(QUORUM_BREAK_STAMP)
	(void) read_ms;
	return c->host_ms;
#else
	return read_ms > c->read_ms ? c->host_ms + (read_ms - c->read_ms) : c->host_ms;
#endif
}
