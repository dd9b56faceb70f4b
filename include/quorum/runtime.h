/*-------------------------------------------------------------------------
 *
 * runtime.h
 *	  Sockets and timers around one quorum_node, for hosts that want them.
 *
 * Driven mode (this file, today): the host keeps its own event loop.  It
 * waits until quorum_runtime_fd() is readable or quorum_runtime_timeout_ms()
 * has passed, then calls quorum_runtime_process(), which reads every pending
 * datagram, ticks the node when due, writes durable state through the
 * persist callback, sends, and hands events to the event callback, all on the
 * caller's thread.  PostgreSQL's background worker uses this mode, because no
 * libquorum thread may ever run inside a postgres process.
 *
 * Callbacks run inside quorum_runtime_process(); from a callback the host may
 * read the node (quorum_runtime_node() accessors) but must not call
 * quorum_runtime_process(), _set_facts(), _join() or _leave(): those return
 * QUORUM_EBUSY when re-entered.
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
 * are then not sent).
 */
typedef int (*quorum_persist_fn) (void *ctx, const struct quorum_durable *durable);
typedef void (*quorum_event_fn) (void *ctx, const struct quorum_event *event);

#define QUORUM_SEEDS_MAX 32

struct quorum_runtime_config
{
	struct quorum_config node;	/* node.addr is what peers are told */
	struct quorum_meta facts;	/* initial metadata */
	struct quorum_addr bind;	/* the UDP socket binds here */
	struct quorum_addr seeds[QUORUM_SEEDS_MAX];	/* joined at start */
	unsigned	n_seeds;
	/* Re-contact seeds this often while no other member is alive; 1000. */
	quorum_time_ms rejoin_interval_ms;
	quorum_persist_fn persist_fn;	/* NULL: the host does not persist */
	quorum_event_fn event_fn;	/* may be NULL */
	void	   *callback_ctx;
};

/* Defaults for everything but the node's identity, keys and addresses. */
QUORUM_API void quorum_runtime_config_init(struct quorum_runtime_config *config);

/*
 * Create the node and bind its socket.  Returns 0, QUORUM_EINVAL (bad
 * config; reason in errbuf), QUORUM_EIO (socket or bind failed; errno text
 * in errbuf) or QUORUM_ENOMEM.
 */
QUORUM_API int quorum_runtime_new(const struct quorum_runtime_config *config,
								  quorum_runtime **runtime,
								  char *errbuf, size_t errbuf_len);

/* Closes the socket and frees the node.  Does not leave: call leave first. */
QUORUM_API void quorum_runtime_free(quorum_runtime *runtime);

/* The non-blocking UDP socket to wait on for readability. */
QUORUM_API int quorum_runtime_fd(const quorum_runtime *runtime);

/* Milliseconds from now_ms until process() is next due; 0 = now. */
QUORUM_API int quorum_runtime_timeout_ms(const quorum_runtime *runtime,
										 quorum_time_ms now_ms);

/*
 * Do all pending work.  Returns 0, QUORUM_EBUSY when re-entered from a
 * callback, or the persist callback's error.  Socket errors on send are
 * counted, not returned: the protocol treats them as message loss.
 */
QUORUM_API int quorum_runtime_process(quorum_runtime *runtime,
									  quorum_time_ms now_ms);

/* Update this node's metadata (gossiped with a new version). */
QUORUM_API int quorum_runtime_set_facts(quorum_runtime *runtime,
										const struct quorum_meta *facts,
										quorum_time_ms now_ms);

QUORUM_API int quorum_runtime_join(quorum_runtime *runtime,
								   const struct quorum_addr *seed,
								   quorum_time_ms now_ms);

QUORUM_API int quorum_runtime_leave(quorum_runtime *runtime,
									quorum_time_ms now_ms);

/*
 * Feed one command (node.h): a decision such as QUORUM_CMD_TRANSFER,
 * _PAUSE, _RESUME, _ADD_VOTER or _REMOVE_VOTER, or a join or leave.
 * Returns what quorum_node_step() returns for it, with the reason in
 * quorum_node_errmsg(), or QUORUM_EBUSY when re-entered from a callback.
 */
QUORUM_API int quorum_runtime_command(quorum_runtime *runtime,
									  const struct quorum_command *cmd,
									  quorum_time_ms now_ms);

/* The node, for its read-only accessors (members, stats). */
QUORUM_API const quorum_node *quorum_runtime_node(const quorum_runtime *runtime);

/* CLOCK_MONOTONIC in milliseconds: the time source hosts may use. */
QUORUM_API quorum_time_ms quorum_runtime_now_ms(void);

/* 64 bits from getrandom(), for quorum_config.seed. */
QUORUM_API uint64_t quorum_runtime_random_seed(void);

#ifdef __cplusplus
}
#endif

#endif							/* QUORUM_RUNTIME_H */
