/*-------------------------------------------------------------------------
 *
 * pump.h
 *	  A tiny in-test network for the multi-node unit tests (test_swim.c,
 *	  test_election.c): up to five nodes driven through the public step API
 *	  with a fake clock.
 *
 * The pump is a FIFO of datagrams with a fixed latency, per-direction cuts
 * (applied on send, as in the simulator: what is in flight arrives), crashes, a
 * fake disk that keeps what QUORUM_OUT_PERSIST handed out, and capture of
 * events and trace lines.  It always advances the clock to the earliest of
 * the next delivery and the earliest node deadline, so no test sleeps and
 * every run is the same.  The full simulator (test/sim/) does loss,
 * reordering, drift and the rest; this is only what a unit test needs.
 *
 * One pump exists at a time, in the global "pump", made by pump_setup()
 * and freed by pump_teardown() (cmocka setup and teardown functions).  The
 * helpers fail the running test with cmocka assertions.
 *
 * test/unit/pump.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef QUORUM_TEST_PUMP_H
#define QUORUM_TEST_PUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quorum/quorum.h"

#define PUMP_NODES_MAX 5
#define PUMP_PACKETS_MAX 8192		/* in flight at once */
#define PUMP_EVENTS_MAX 2048		/* kept per test; later ones are lost */
#define PUMP_LATENCY_MS 2			/* every hop */
#define PUMP_DATAGRAM_BYTES 1400
#define PUMP_TRACE_BYTES (1 << 16)	/* kept per test; later lines are lost */

struct pump_packet
{
	unsigned	from;
	unsigned	to;
	quorum_time_ms at_ms;
	size_t		len;
	uint8_t		data[PUMP_DATAGRAM_BYTES];
};

struct pump_event
{
	unsigned	node;
	struct quorum_event ev;
};

struct pump_node
{
	quorum_node *node;			/* NULL before boot and after a crash */
	struct quorum_config config;	/* what the next pump_boot() uses */
	struct quorum_meta facts;
	bool		up;
	struct quorum_durable disk; /* the fake disk: the last record persisted */
	bool		disk_written;
	/* A datagram left before the disk held what it depends on. */
	bool		persist_violation;
};

/*
 * Adjusts the defaults of node i (index 0 is "n1") before it boots: a test
 * file's voters, seeds or trace settings, or one test's timings.
 */
typedef void (*pump_configure_fn) (unsigned i, struct quorum_config *c,
								   struct quorum_meta *facts);

struct pump
{
	quorum_time_ms now_ms;
	unsigned	count;			/* nodes 0 .. count - 1 take part */
	struct pump_node n[PUMP_NODES_MAX];
	bool		cut[PUMP_NODES_MAX][PUMP_NODES_MAX];	/* [from][to] */
	struct pump_packet *packets;	/* FIFO in at_ms order (fixed latency) */
	size_t		head,
				tail;
	struct pump_event events[PUMP_EVENTS_MAX];
	size_t		n_events;
	char		trace[PUMP_TRACE_BYTES];	/* lines from pump_trace() */
	size_t		trace_len;
	bool		verbose;		/* T_VERBOSE set: trace lines go to stderr too */
	pump_configure_fn configure;	/* NULL: the defaults as they are */
	uint64_t	pushpulls_marked;	/* datagrams sent marked pushpull */
};

extern struct pump *pump;

/* cmocka setup and teardown; teardown fails on a persist violation. */
int			pump_setup(void **state);
int			pump_teardown(void **state);

/* Node i listens on 127.0.0.1, port 7000 + i; -1 for no node's address. */
void		pump_addr(unsigned i, struct quorum_addr *addr);
int			pump_index(const struct quorum_addr *addr);

/*
 * The defaults for node i (name "n<i+1>", cluster "test", one key, seed
 * 1000 + i, a standby on timeline 1 with priority 100), then
 * pump->configure.  pump_configure(i) fills pump->n[i] with them.
 */
void		pump_config(unsigned i, struct quorum_config *c,
						struct quorum_meta *facts);
void		pump_configure(unsigned i);

/* Trace callback: appends the line to pump->trace. */
void		pump_trace(void *ctx, enum quorum_trace_level level,
					   const char *line);

/*
 * pump_boot() starts node i from pump->n[i].config and .facts and ticks it
 * once; if it ran before, it gets its disk back through config.restored at
 * the next incarnation.  pump_crash() frees the node and keeps its disk.
 * pump_cluster() configures and boots nodes 0 .. count - 1, each after the
 * first joining through n1, all at the same instant.
 */
void		pump_boot(unsigned i);
void		pump_crash(unsigned i);
void		pump_cluster(unsigned count);

/*
 * Inputs, stepped at pump->now_ms.  The output is carried out at once, in
 * the order the node API asks for: disk, then datagrams, then events.
 * pump_step_rc() and pump_command() return the step's result; the others
 * fail the test unless it is 0.
 */
void		pump_output(unsigned i, struct quorum_output *out);
int			pump_step_rc(unsigned i, const struct quorum_input *in);
void		pump_step(unsigned i, const struct quorum_input *in);
void		pump_tick(unsigned i);
void		pump_join(unsigned i, unsigned seed);
int			pump_command(unsigned i, enum quorum_command_type type,
						 const char *name);

/* Cuts both directions between a and b, or between a and everyone. */
void		pump_cut_both(unsigned a, unsigned b, bool cut);
void		pump_isolate(unsigned a, bool cut);

/*
 * Deliveries and deadlines, earliest first, up to end_ms, which becomes
 * the time.  pump_wait_until() polls pred every 10 ms of fake time and
 * returns false if it is still false bound_ms later.
 */
void		pump_run_until(quorum_time_ms end_ms);
void		pump_run_for(quorum_time_ms ms);
bool		pump_wait_until(bool (*pred) (void), quorum_time_ms bound_ms);

/* Captured events of one node; member NULL counts those of every member. */
size_t		pump_count_events(unsigned node, enum quorum_event_type type,
							  const char *member);
const struct quorum_event *pump_last_event(unsigned node,
										   enum quorum_event_type type);

#endif							/* QUORUM_TEST_PUMP_H */
