/*-------------------------------------------------------------------------
 *
 * sim.h
 *	  The deterministic simulator's world: a virtual clock, an event heap, a
 *	  PRNG seeded from the run seed, and the scenario verbs.
 *
 * One process runs N libquorum nodes through the public step API only.
 * Nothing here reads a real clock or touches a socket, and every random
 * choice comes from the world's PRNG, so a run is a pure function of its seed
 * and options: any printed seed replays bit-for-bit (sim_world_hash() proves
 * it).  The network lives in net.h, the fake hosts in host.h, and the
 * invariant checkers, which know nothing of the core's internals, in check.h.
 *
 * Single-threaded by design: a world and its nodes belong to one thread.
 *
 * test/sim/sim.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SIM_SIM_H
#define SIM_SIM_H

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quorum/quorum.h"

/* The commit under test, stamped in by sim.mk so failures name it. */
#ifndef SIM_COMMIT
#define SIM_COMMIT "unknown"
#endif

struct sim_net;
struct sim_host;
struct sim_check;

/* xoshiro256**: small, fast, and identical on every platform. */
struct sim_rng
{
	uint64_t	s[4];
};

void		sim_rng_seed(struct sim_rng *rng, uint64_t seed);
uint64_t	sim_rng_next(struct sim_rng *rng);
/* Uniform in [0, bound); bound 0 gives 0. */
uint64_t	sim_rng_below(struct sim_rng *rng, uint64_t bound);
/* Uniform in [0, 1). */
double		sim_rng_unit(struct sim_rng *rng);
/* True with probability p. */
bool		sim_rng_chance(struct sim_rng *rng, double p);
/* Exponentially distributed with the given mean, rounded down. */
uint64_t	sim_rng_exp(struct sim_rng *rng, double mean);
/* splitmix64 step: derives independent seeds from one. */
uint64_t	sim_mix64(uint64_t x);

/* A 64-bit hash, fed incrementally; not cryptographic, only repeatable. */
uint64_t	sim_hash_bytes(uint64_t h, const void *data, size_t len);
uint64_t	sim_hash_u64(uint64_t h, uint64_t v);

/* How much checking runs after every node step (check.h). */
enum sim_check_level
{
	SIM_CHECK_EVENTS = 0,		/* events only: cheap enough for 10^4 nodes */
	SIM_CHECK_FULL = 1			/* also scan the stepped node's member table */
};

/* The network's knobs; the defaults are a quiet LAN (net.c). */
struct sim_net_params
{
	quorum_time_ms delay_min_ms;	/* every datagram takes at least this */
	double		delay_mean_ms;	/* plus an exponential tail of this mean */
	double		loss;			/* dropped on send, invisible to the sender */
	double		duplicate;		/* delivered twice, the copy delayed anew */
	double		reorder;		/* held back by up to reorder_ms extra */
	quorum_time_ms reorder_ms;
	double		garbage;		/* a corrupted copy or random bytes also arrive */
	size_t		mtu;			/* bigger datagrams are a violation */
	size_t		socket_buffer_bytes;	/* queued for a paused host */
};

/* Everything a world is made from; sim_opts_init() gives the defaults. */
struct sim_opts
{
	unsigned	n;				/* hosts; host 0 is the seed everyone joins */
	unsigned	boot_count;		/* hosts booted at start, 0 = all; the rest
								 * wait for sim_host_boot() */
	uint64_t	seed;
	struct quorum_config config;	/* template: name, addr, seed, keys set
									 * per host */
	struct sim_net_params net;
	enum sim_check_level check_level;
	bool		trace;			/* hand trace lines to the world hash */
	bool		trace_capture;	/* and keep them for golden comparison */
	quorum_time_ms join_spread_ms;	/* hosts start uniformly in [0, this) */
	quorum_time_ms poll_ms;		/* SIM_WAIT_UNTIL re-tests this often */
	/* Like the runtime: re-contact the seed this often while alone; 0 = never. */
	quorum_time_ms rejoin_interval_ms;
	double		crash_mid_output;	/* chance a crash lands between persist
									 * and send */
	/*
	 * The election: hosts n0 .. n<voters - 1> are the first voter set (set
	 * by sim_opts_election()); 0 = membership only, nothing elected.  With
	 * wal_interval_ms, wal.h's toy database runs under every host.
	 */
	unsigned	voters;
	quorum_time_ms wal_interval_ms;
};

/* What an entry of the event heap does when its time comes. */
enum sim_event_kind
{
	SIM_EV_TICK = 1,			/* a node's deadline */
	SIM_EV_DELIVER,				/* a datagram reaches a host */
	SIM_EV_RESUME,				/* a paused host is continued */
	SIM_EV_START,				/* a host boots (staggered start) */
	SIM_EV_REJOIN,				/* a host re-contacts its seed if alone */
	SIM_EV_WAL					/* wal.h: a round of writes and replay */
};

struct sim_packet;

struct sim_event
{
	quorum_time_ms at_ms;		/* global virtual time */
	uint64_t	seq;			/* FIFO among equal times */
	enum sim_event_kind kind;
	uint32_t	host;
	uint64_t	gen;			/* stale-timer check for TICK and RESUME */
	struct sim_packet *packet;	/* DELIVER only; owned by the event */
};

struct sim_world
{
	struct sim_opts opts;
	uint64_t	seed;
	quorum_time_ms now_ms;		/* global virtual time */
	struct sim_rng rng;

	struct sim_event *heap;
	size_t		heap_len;
	size_t		heap_cap;
	uint64_t	next_seq;

	unsigned	n;
	struct sim_host *hosts;
	struct sim_net *net;
	struct sim_check *check;
	struct sim_wal *wal;		/* NULL unless opts.wal_interval_ms */

	/* Everything that happened, folded into one number for replay checks. */
	uint64_t	hash;
	uint64_t	steps;			/* quorum_node_step() calls */

	char	   *trace_buf;		/* captured trace lines, if trace_capture */
	size_t		trace_len;
	size_t		trace_cap;

	bool		failed;
	char		fail_msg[1024];
};

void		sim_opts_init(struct sim_opts *opts, unsigned n, uint64_t seed);

/*
 * Run the election: n0 .. n<voters - 1> are the first voter set, host 0 is
 * the primary at the start, and with wal_interval_ms the toy database runs.
 */
void		sim_opts_election(struct sim_opts *opts, unsigned voters,
							  quorum_time_ms wal_interval_ms);

/* Creates the world and schedules every host's boot; NULL on ENOMEM. */
struct sim_world *sim_world_new(const struct sim_opts *opts);
void		sim_world_free(struct sim_world *w);
/* Hosts booted at start: opts.boot_count, or all of them. */
unsigned	sim_boot_count(const struct sim_world *w);

void		sim_schedule(struct sim_world *w, quorum_time_ms at_ms,
						 enum sim_event_kind kind, uint32_t host, uint64_t gen,
						 struct sim_packet *packet);

/* Process every event due up to now + ms; stops early on a failure. */
void		sim_run_for(struct sim_world *w, quorum_time_ms ms);
void		sim_run_until(struct sim_world *w, quorum_time_ms at_ms);
/* Process exactly one event; false if the heap is empty or w failed. */
bool		sim_step_one(struct sim_world *w);

/* Record the first failure (later ones are dropped); the run then stops. */
void		sim_fail(struct sim_world *w, const char *fmt, ...)
			__attribute__((format(printf, 2, 3)));

/* The trace sink handed to every node when opts.trace is set. */
void		sim_trace_line(struct sim_world *w, const char *line);

/* The shared test keyring: one fixed AES-256 key. */
void		sim_test_keyring(struct quorum_keyring *keyring);

/* Invented addresses: host i is 10.a.b.c:7946; -1 for anything else. */
void		sim_host_addr(unsigned i, struct quorum_addr *addr);
int			sim_addr_host(const struct sim_world *w, const struct quorum_addr *addr);
/* "n17" -> 17; -1 if name is not a host of this world. */
int			sim_name_host(const struct sim_world *w, const char *name);

/*
 * Scenario verbs, in tarantool's vocabulary with cowsql's macro style.  They
 * expect a `struct sim_world *W` in scope, and a failed world long-jumps to
 * the enclosing test runner (sim_test_fail), so a test reads as a script.
 */
extern jmp_buf *sim_test_jmp;
void		sim_test_fail(struct sim_world *w) __attribute__((noreturn));

#define SIM_CHECK_OK() \
	do { if (W->failed) sim_test_fail(W); } while (0)
#define SIM_FAIL(...) \
	do { sim_fail(W, __VA_ARGS__); sim_test_fail(W); } while (0)
#define SIM_ASSERT(cond, ...) \
	do { if (!(cond)) SIM_FAIL(__VA_ARGS__); } while (0)

#define SIM_SET_DROP(i, ratio) \
	do { sim_net_set_drop(W, (i), (ratio)); } while (0)
#define SIM_CUT(from, to) \
	do { sim_net_cut(W, (from), (to), true); } while (0)
#define SIM_UNCUT(from, to) \
	do { sim_net_cut(W, (from), (to), false); } while (0)
/* SIM_PARTITION(((unsigned[]){0, 1}), ((unsigned[]){2, 3, 4})) */
#define SIM_PARTITION(a, b) \
	do { sim_net_partition(W, (a), sizeof(a) / sizeof((a)[0]), \
						   (b), sizeof(b) / sizeof((b)[0]), true); } while (0)
#define SIM_PARTITION_ONEWAY(a, b) \
	do { sim_net_partition(W, (a), sizeof(a) / sizeof((a)[0]), \
						   (b), sizeof(b) / sizeof((b)[0]), false); } while (0)
#define SIM_ISOLATE(i) \
	do { sim_net_isolate(W, (i)); } while (0)
#define SIM_HEAL() \
	do { sim_net_heal(W); } while (0)
#define SIM_CRASH(i) \
	do { sim_host_crash(W, (i)); SIM_CHECK_OK(); } while (0)
#define SIM_RESTART(i) \
	do { sim_host_restart(W, (i)); SIM_CHECK_OK(); } while (0)
/* Issue 9, H8: host i rebuilt under its name, with no state of its own. */
#define SIM_REBUILD(i) \
	do { sim_host_rebuild(W, (i)); SIM_CHECK_OK(); } while (0)
#define SIM_PAUSE(i, ms) \
	do { sim_host_pause(W, (i), (ms)); SIM_CHECK_OK(); } while (0)
#define SIM_DRIFT(i, ppm) \
	do { sim_host_drift(W, (i), (ppm)); } while (0)
/* Issue 9's clock faults (host.h): a suspend stops the monotonic clock. */
#define SIM_SUSPEND(i, ms) \
	do { sim_host_suspend(W, (i), (ms)); SIM_CHECK_OK(); } while (0)
/* Host i's next persist stalls it for ms, in the middle of a pass. */
#define SIM_SLOW_PERSIST(i, ms) \
	do { W->hosts[(i)].slow_persist_ms = (ms); } while (0)
/* Host i's pg_quorum.election_timeout from its next boot. */
#define SIM_ELECTION_TIMEOUT(i, ms) \
	do { W->hosts[(i)].election_timeout_ms = (ms); } while (0)
#define SIM_RUN_FOR(ms) \
	do { sim_run_for(W, (ms)); SIM_CHECK_OK(); } while (0)

/*
 * Run until pred holds, testing it every opts.poll_ms of virtual time; fail
 * if it still does not hold after ms_max.  Leaves the virtual time it took
 * in sim_waited_ms.  A predicate may explain itself in sim_why (the
 * checkers' why argument), which the failure message then quotes.
 */
#define SIM_WAIT_UNTIL(pred, ms_max) \
	do { \
		quorum_time_ms sim_start_ = W->now_ms; \
		quorum_time_ms sim_limit_ = W->now_ms + (ms_max); \
		sim_why[0] = '\0'; \
		while (!(pred)) \
		{ \
			if (W->now_ms >= sim_limit_) \
				SIM_FAIL("%s still false after %llu ms of virtual time%s%s", \
						 #pred, (unsigned long long) (ms_max), \
						 sim_why[0] ? ": " : "", sim_why); \
			sim_run_for(W, W->opts.poll_ms); \
			SIM_CHECK_OK(); \
		} \
		sim_waited_ms = W->now_ms - sim_start_; \
	} while (0)

#define SIM_WHY sim_why, sizeof(sim_why)

extern char sim_why[512];
extern quorum_time_ms sim_waited_ms;

#endif							/* SIM_SIM_H */
