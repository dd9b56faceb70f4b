/*-------------------------------------------------------------------------
 *
 * runtime.h
 *	  Sockets, timers and (optionally) a thread around one quorum_node, for
 *	  hosts that do not want to do that IO themselves.
 *
 * A runtime owns the node's UDP socket, and for push-pull anti-entropy a
 * TCP listener and short-lived TCP connections (below).  It has two modes;
 * one runtime uses one of them for its whole life.
 *
 * Threaded mode: quorum_runtime_start() spawns one IO thread that owns
 * every socket, waits with the node's deadline, steps the node and carries
 * out each output (persist callback, then sends, then event callback).
 * Other threads talk to it through the calls below: commands and facts go
 * through a bounded queue plus an eventfd wake-up (libuv's uv_async), and
 * the caller waits until the IO thread has run them, so it gets the node's
 * own return code; reads copy a consistent snapshot under a mutex.
 * quorum_runtime_stop() (optionally after a graceful leave) joins the thread.
 *
 * Driven mode: the host keeps its own event loop.  It waits until
 * quorum_runtime_fd() is readable or quorum_runtime_timeout_ms() has passed,
 * then calls quorum_runtime_process(), which does all pending work on the
 * caller's thread (libuv's uv_backend_fd / uv_backend_timeout /
 * UV_RUN_NOWAIT).  PostgreSQL's background worker uses this mode, because no
 * libquorum thread may ever run inside a postgres process.
 *
 * Callbacks (persist, event, and the node's trace) run on the IO thread in
 * threaded mode and inside quorum_runtime_process() in driven mode.  From a
 * callback the host may call:
 *   - the snapshot reads: quorum_runtime_members(), _election(), _leader(),
 *     _has_lease(), _stats(), _get_facts(), and quorum_runtime_node() with
 *     the node's read-only accessors;
 *   - quorum_runtime_free(), which is then deferred until the callback's
 *     caller (the IO thread's loop, or process()) has returned to libquorum.
 * Everything else that would step the node or wait for the IO thread
 * (process, set_facts, join, leave, command, transfer, start, stop) returns
 * QUORUM_EBUSY from a callback instead of deadlocking or invalidating the
 * output being carried out.
 *
 * Misuse: NULL arguments return QUORUM_EINVAL.  Every runtime carries a
 * magic number that every call checks and quorum_runtime_free() clears, so
 * a call on a freed runtime returns QUORUM_EINVAL as long as its memory has
 * not been reused: best effort, as any use-after-free detection in C is.
 * Freeing a runtime while another thread is still inside a call on it is
 * the host's bug and is not detected.
 *
 * Push-pull over TCP: the core sends its full-state exchange as chunks of
 * at most datagram_bytes_max bytes each.  With TCP on, the runtime carries a
 * step's push-pull chunks to one peer over one short-lived TCP connection
 * to the peer's gossip port (same number as its UDP port) as length-
 * prefixed frames, so a table of many chunks arrives whole instead of as a
 * UDP burst.  The receiving runtime feeds each frame to its node exactly as
 * a datagram from the sender's gossip address.  Frames are the same sealed
 * datagrams, so they are authenticated and replay-checked like any other.
 * When a peer does not accept the connection (a driven-mode host without
 * TCP, such as the PostgreSQL worker) the chunks go by UDP, and that peer is
 * not tried over TCP again for a minute.
 *
 * include/quorum/runtime.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef QUORUM_RUNTIME_H
#define QUORUM_RUNTIME_H

#include "quorum/types.h"
#include "quorum/node.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct quorum_runtime quorum_runtime;

/*
 * Make state durable before anything that depends on it is sent; return 0,
 * or a negative quorum_error to stop processing (the datagrams of that step
 * are then not sent).  In threaded mode a failure stops the IO thread: the
 * node is not stepped again, and quorum_runtime_stop() returns the error.
 */
typedef int (*quorum_persist_fn) (void *ctx, const struct quorum_durable *durable);

/*
 * One event of the node (node.h): membership changes
 * (QUORUM_EV_MEMBER_ALIVE, _SUSPECT, _DEAD, _LEFT, _UPDATED, _REAPED),
 * leader changes (QUORUM_EV_LEADER_CHANGED), this node's write lease
 * (QUORUM_EV_LEASE_GAINED, _LEASE_LOST) and committed cluster decisions
 * (QUORUM_EV_DECISION_COMMITTED).  *event is valid during the call only.
 */
typedef void (*quorum_event_fn) (void *ctx, const struct quorum_event *event);

#define QUORUM_SEEDS_MAX 32

/* Whether push-pull goes over TCP (see the top of this file). */
enum quorum_runtime_tcp
{
	QUORUM_RUNTIME_TCP_AUTO = 0,	/* on in threaded mode, off in driven */
	QUORUM_RUNTIME_TCP_ON,		/* on in both; driven: fd is an epoll fd */
	QUORUM_RUNTIME_TCP_OFF		/* UDP only */
};

struct quorum_runtime_config
{
	struct quorum_config node;	/* node.addr is what peers are told */
	struct quorum_meta facts;	/* initial metadata */
	struct quorum_addr bind;	/* the UDP socket (and TCP listener) bind here */
	struct quorum_addr seeds[QUORUM_SEEDS_MAX];	/* joined at start */
	unsigned	n_seeds;
	/* Re-contact seeds this often while no other member is alive; 1000. */
	quorum_time_ms rejoin_interval_ms;
	quorum_persist_fn persist_fn;	/* NULL: the host does not persist */
	quorum_event_fn event_fn;	/* may be NULL */
	void	   *callback_ctx;
	enum quorum_runtime_tcp tcp;	/* default QUORUM_RUNTIME_TCP_AUTO */
	/* Commands other threads may have waiting at once (threaded); 64. */
	unsigned	command_queue_max;
};

/* Counters and state of a runtime, from quorum_runtime_stats(). */
struct quorum_runtime_stats
{
	struct quorum_node_stats node;
	bool		running;		/* threaded mode: the IO thread runs */
	int			error;			/* what stopped the IO thread; 0 = nothing */
	uint64_t	wakeups;		/* loop iterations (threaded) or process() calls */
	uint64_t	commands;		/* commands and facts run for other threads */
	uint64_t	send_errors;	/* datagrams the kernel refused: counted as loss */
	uint64_t	recv_errors;
	uint64_t	tcp_connects;	/* outgoing push-pull connections opened */
	uint64_t	tcp_accepts;	/* incoming push-pull connections */
	uint64_t	tcp_frames_out; /* push-pull chunks sent over TCP */
	uint64_t	tcp_frames_in;	/* push-pull chunks received over TCP */
	uint64_t	tcp_fallbacks;	/* chunks sent by UDP after TCP failed or was full */
	uint64_t	tcp_errors;		/* connections dropped: bad frame, timeout, reset */
};

/* Defaults for everything but the node's identity, keys and addresses. */
QUORUM_API void quorum_runtime_config_init(struct quorum_runtime_config *config);

/*
 * Create the node and bind its UDP socket (and, with tcp = ON, its TCP
 * listener on the same address and port).  Returns 0, QUORUM_EINVAL (bad
 * config; reason in errbuf), QUORUM_EIO (socket or bind failed; errno text
 * in errbuf) or QUORUM_ENOMEM.  errbuf may be NULL.
 */
QUORUM_API int quorum_runtime_new(const struct quorum_runtime_config *config,
								  quorum_runtime **runtime,
								  char *errbuf, size_t errbuf_len);

/*
 * Free everything: stops a running IO thread first (without leaving: call
 * quorum_runtime_stop(rt, true) for a graceful exit), closes the sockets
 * and frees the node.  NULL is a no-op.  From a callback the free is
 * deferred until the callback has returned (see the top of this file).
 * In driven mode it never leaves either: call quorum_runtime_leave() first.
 */
QUORUM_API void quorum_runtime_free(quorum_runtime *runtime);

/* ---------------------------------------------------------------------
 * Threaded mode.
 * ---------------------------------------------------------------------
 */

/*
 * Start the IO thread; it joins the seeds at once.  The IO thread blocks
 * every signal, so the host's handlers run on the host's own threads.
 * Returns 0, QUORUM_EINVAL, QUORUM_EBUSY (from a callback), QUORUM_ESTATE
 * (already started or stopped, or used in driven mode), QUORUM_EIO (the
 * eventfd, epoll, TCP listener or thread could not be created; errbuf says
 * which) or QUORUM_ENOMEM.
 */
QUORUM_API int quorum_runtime_start(quorum_runtime *runtime,
									char *errbuf, size_t errbuf_len);

/*
 * Stop the IO thread and wait for it.  With leave, the node first leaves
 * the cluster gracefully (its LEFT gossip is sent before the thread ends).
 * Afterwards the runtime only answers the snapshot reads until freed.
 * Returns 0; the error that had already stopped the IO thread (a persist
 * failure); QUORUM_EINVAL; QUORUM_EBUSY from a callback (the IO thread
 * cannot join itself) or while another thread is inside start(); or
 * QUORUM_ESTATE if the thread was not started or was already stopped.
 */
QUORUM_API int quorum_runtime_stop(quorum_runtime *runtime, bool leave);

/* ---------------------------------------------------------------------
 * Driven mode.
 * ---------------------------------------------------------------------
 */

/*
 * The descriptor to wait on for readability: the non-blocking UDP socket,
 * or with tcp = ON an epoll descriptor covering the UDP socket, the TCP
 * listener and its connections.  -1 for NULL or in threaded mode.
 */
QUORUM_API int quorum_runtime_fd(const quorum_runtime *runtime);

/*
 * Milliseconds from now_ms until process() is next due; 0 = now.  Returns
 * QUORUM_EINVAL for NULL and QUORUM_ESTATE in threaded mode.
 */
QUORUM_API int quorum_runtime_timeout_ms(const quorum_runtime *runtime,
										 quorum_time_ms now_ms);

/*
 * Do all pending work.  Returns 0, QUORUM_EINVAL, QUORUM_EBUSY when
 * re-entered from a callback (or called while another thread is inside
 * it), QUORUM_ESTATE in threaded mode, or the persist callback's error.
 * Socket errors on send are counted, not returned: the protocol treats them
 * as message loss.
 */
QUORUM_API int quorum_runtime_process(quorum_runtime *runtime,
									  quorum_time_ms now_ms);

/* ---------------------------------------------------------------------
 * Commands and facts, both modes.
 *
 * In driven mode (and before start) they step the node on the caller's
 * thread at now_ms.  In threaded mode they are queued for the IO thread,
 * which runs them at its own clock (now_ms is then ignored), and the caller
 * waits until they have run and gets the node's return code.  Each also
 * returns QUORUM_EINVAL for NULL, QUORUM_EBUSY from a callback (or in driven
 * mode while process() runs), QUORUM_ESTATE after the node left or the IO
 * thread stopped, QUORUM_ELIMIT when command_queue_max commands are already
 * waiting, and the persist callback's error.
 * ---------------------------------------------------------------------
 */

/* Replace this node's metadata (gossiped with a new version). */
QUORUM_API int quorum_runtime_set_facts(quorum_runtime *runtime,
										const struct quorum_meta *facts,
										quorum_time_ms now_ms);

/* The same, sampled after the WAL intake stopped (QUORUM_IN_WAL_STOPPED). */
QUORUM_API int quorum_runtime_wal_stopped(quorum_runtime *runtime,
										  const struct quorum_meta *facts,
										  quorum_time_ms now_ms);

/* Contact a seed (a push-pull exchange); the node's own errors, e.g. a bad
 * address family, are QUORUM_EINVAL. */
QUORUM_API int quorum_runtime_join(quorum_runtime *runtime,
								   const struct quorum_addr *seed,
								   quorum_time_ms now_ms);

/* Leave gracefully; the node then idles until stopped or freed. */
QUORUM_API int quorum_runtime_leave(quorum_runtime *runtime,
									quorum_time_ms now_ms);

/*
 * Any command of node.h (join, leave, transfer, pause, resume, add or
 * remove a voter).  A decision command returns what quorum_node_step()
 * does: QUORUM_EBUSY (no leader known to forward it to), QUORUM_ESTATE (an
 * earlier change is under way), QUORUM_ENOTFOUND, QUORUM_ELIMIT; the reason
 * is in quorum_node_errmsg() (driven) or the node's trace.
 */
QUORUM_API int quorum_runtime_command(quorum_runtime *runtime,
									  const struct quorum_command *command,
									  quorum_time_ms now_ms);

/* Hand leadership to name ("" or NULL = the best candidate). */
QUORUM_API int quorum_runtime_transfer(quorum_runtime *runtime,
									   const char *name, quorum_time_ms now_ms);

/* ---------------------------------------------------------------------
 * Snapshot reads, any thread, any mode, callbacks included.  Each copies
 * under the runtime's mutex, which the node's writer holds while stepping,
 * so what it returns is one consistent state.
 * ---------------------------------------------------------------------
 */

/*
 * Copy up to max members into members[] and their total into *count (this
 * node included).  Returns 0, QUORUM_ENOSPACE when max < *count (the first
 * max are copied), or QUORUM_EINVAL (members may be NULL only with max 0).
 */
QUORUM_API int quorum_runtime_members(quorum_runtime *runtime,
									  struct quorum_member_info *members,
									  size_t max, size_t *count);

/* The election state (leader, term, voters, lease); 0 or QUORUM_EINVAL. */
QUORUM_API int quorum_runtime_election(quorum_runtime *runtime,
									   struct quorum_election_info *info);

/*
 * The leader's name into buf (QUORUM_NAME_MAX + 1 bytes fit any; "" = none
 * known) and the term into *term (may be NULL).  Returns 0, QUORUM_EINVAL
 * or QUORUM_ENOSPACE (buf too small; it gets "").
 */
QUORUM_API int quorum_runtime_leader(quorum_runtime *runtime, char *buf,
									 size_t buf_len, uint64_t *term);

/*
 * Whether this node holds the write lease at now_ms
 * (quorum_node_has_lease()); false for NULL or a freed runtime.
 */
QUORUM_API bool quorum_runtime_has_lease(quorum_runtime *runtime,
										 quorum_time_ms now_ms);

/* Node and runtime counters; 0 or QUORUM_EINVAL. */
QUORUM_API int quorum_runtime_stats(quorum_runtime *runtime,
									struct quorum_runtime_stats *stats);

/* This node's metadata as last set; 0 or QUORUM_EINVAL. */
QUORUM_API int quorum_runtime_get_facts(quorum_runtime *runtime,
										struct quorum_meta *facts);

/*
 * The node, for its read-only accessors (node.h).  In threaded mode only
 * the IO thread (that is, a callback) may read the node directly: from any
 * other thread while the IO thread runs this returns NULL, on which every
 * accessor is safe and returns nothing.  Use the snapshot reads instead.
 */
QUORUM_API const quorum_node *quorum_runtime_node(const quorum_runtime *runtime);

/* ---------------------------------------------------------------------
 * Helpers.
 * ---------------------------------------------------------------------
 */

/* CLOCK_BOOTTIME in milliseconds (monotonic, and counts a suspend): the
 * time source hosts may use. */
QUORUM_API quorum_time_ms quorum_runtime_now_ms(void);

/* 64 bits from getrandom(), for quorum_config.seed. */
QUORUM_API uint64_t quorum_runtime_random_seed(void);

#ifdef __cplusplus
}
#endif

#endif							/* QUORUM_RUNTIME_H */
