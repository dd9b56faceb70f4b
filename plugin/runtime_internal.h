/*-------------------------------------------------------------------------
 *
 * runtime_internal.h
 *	  The layout of struct quorum_runtime, shared by runtime.c (sockets,
 *	  driven mode, the public calls), runtime_thread.c (the IO thread and
 *	  its command queue) and runtime_tcp.c (push-pull over TCP) (private).
 *
 * Threading: one thread at a time is the node's writer: the IO thread in
 * threaded mode, the caller of process() and the commands in driven mode.
 * Only the writer touches the sockets, the TCP connections and the receive
 * buffer, without locking.  `lock` guards everything marked
 * "(lock)" below, and the node's state against readers: the writer holds
 * it around quorum_node_step() (the only call that changes the node), and
 * the snapshot reads hold it while they copy.  Callbacks run without it.
 *
 * plugin/runtime_internal.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef QUORUM_RUNTIME_INTERNAL_H
#define QUORUM_RUNTIME_INTERNAL_H

#include "quorum/runtime.h"
#include "runtime_clock.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/socket.h>

/* "QRUN" while alive; RUNTIME_MAGIC_FREED after quorum_runtime_free(). */
#define QUORUM__RUNTIME_MAGIC 0x5152554eu
#define QUORUM__RUNTIME_MAGIC_FREED 0xdeadbeefu

/* Room for the largest datagram the node may be configured to accept. */
#define QUORUM__RUNTIME_RECV_BYTES 65536

/* epoll tags: data.u64 of each registered descriptor. */
#define QUORUM__RT_TAG_WAKE 1
#define QUORUM__RT_TAG_UDP 2
#define QUORUM__RT_TAG_LISTEN 3
#define QUORUM__RT_TAG_CONN_IN 0x100	/* + slot */
#define QUORUM__RT_TAG_CONN_OUT 0x200	/* + slot */

/* Most TCP connections at once, each way; the rest fall back to UDP. */
#define QUORUM__RT_TCP_CONNS_MAX 16
/* Peers remembered as not speaking TCP. */
#define QUORUM__RT_TCP_NOTCP_MAX 16

enum quorum__runtime_mode
{
	QUORUM__RT_MODE_NONE = 0,	/* neither started nor processed yet */
	QUORUM__RT_MODE_DRIVEN,
	QUORUM__RT_MODE_THREADED,	/* IO thread running (or exited on error) */
	QUORUM__RT_MODE_STOPPED		/* IO thread joined */
};

/* One queued command of another thread (threaded mode). */
enum quorum__rt_slot_state
{
	QUORUM__RT_SLOT_FREE = 0,
	QUORUM__RT_SLOT_QUEUED,
	QUORUM__RT_SLOT_TAKEN,		/* the IO thread is running it */
	QUORUM__RT_SLOT_DONE		/* rc is set; the caller collects it */
};

struct quorum__rt_slot
{
	enum quorum__rt_slot_state state;
	uint64_t	ticket;			/* FIFO order */
	struct quorum_input in;
	int			rc;
};

struct quorum__rt_conn;			/* runtime_tcp.c */

struct quorum__rt_notcp
{
	struct quorum_addr addr;
	quorum_time_ms until_ms;
};

struct quorum__rt_tcp
{
	bool		enabled;
	int			listen_fd;		/* bound early to reserve the port; listens once enabled */
	struct quorum__rt_conn *in[QUORUM__RT_TCP_CONNS_MAX];
	struct quorum__rt_conn *out[QUORUM__RT_TCP_CONNS_MAX];
	struct quorum__rt_notcp notcp[QUORUM__RT_TCP_NOTCP_MAX];
};

/* Counters: written by the writer, read by any thread, so atomic. */
struct quorum__rt_counters
{
	atomic_uint_fast64_t wakeups;
	atomic_uint_fast64_t commands;
	atomic_uint_fast64_t send_errors;
	atomic_uint_fast64_t recv_errors;
	atomic_uint_fast64_t tcp_connects;
	atomic_uint_fast64_t tcp_accepts;
	atomic_uint_fast64_t tcp_frames_out;
	atomic_uint_fast64_t tcp_frames_in;
	atomic_uint_fast64_t tcp_fallbacks;
	atomic_uint_fast64_t tcp_errors;
};

struct quorum_runtime
{
	uint32_t	magic;
	quorum_node *node;

	/* Sockets (writer only). */
	int			udp_fd;
	int			sock_family;	/* AF_INET or AF_INET6 */
	struct quorum_addr bound;	/* where the UDP socket is bound, real port */
	int			epoll_fd;		/* -1: driven without TCP */
	int			wake_fd;		/* eventfd; -1 but in threaded mode */
	struct quorum__rt_tcp tcp;

	/*
	 * The runtime carries sealed bytes it never opens: the node marks
	 * push-pull chunks (quorum_datagram.pushpull) for TCP, so the runtime
	 * holds no key.
	 */
	enum quorum_runtime_tcp tcp_mode;
	size_t		datagram_bytes_max;

	/* Configuration. */
	struct quorum_addr seeds[QUORUM_SEEDS_MAX];
	unsigned	n_seeds;
	quorum_time_ms rejoin_interval_ms;
	quorum_time_ms next_rejoin_ms;	/* 0: join at the first chance */
	quorum_persist_fn persist_fn;
	quorum_event_fn event_fn;
	void	   *callback_ctx;

	/* Writer only. */
	bool		stepped;		/* the node has had at least one input */
	bool		left;			/* leave completed; the node idles */
	bool		persist_failed; /* the persist callback failed */
	struct quorum__runtime_clock clock; /* the current pass's start */

	pthread_mutex_t lock;
	pthread_cond_t done_cond;	/* a queued command completed */
	enum quorum__runtime_mode mode; /* (lock) */
	bool		busy;			/* (lock) driven: inside process() or a command */
	bool		stop_requested; /* (lock) */
	bool		free_requested; /* (lock) quorum_runtime_free() from a callback */
	int			error;			/* (lock) what stopped the IO thread */
	bool		thread_running; /* (lock) */
	pthread_t	thread;
	struct quorum_meta facts;	/* (lock) as last set */
	struct quorum__rt_slot *slots;	/* (lock) command_queue_max of them */
	unsigned	n_slots;
	uint64_t	next_ticket;	/* (lock) */

	struct quorum__rt_counters counters;

	uint8_t		recv_buf[QUORUM__RUNTIME_RECV_BYTES];
};

/* The runtime whose callbacks (or IO thread) this thread is inside, if any. */
extern _Thread_local quorum_runtime *quorum__runtime_current;

/* runtime.c */
bool		quorum__runtime_valid(const quorum_runtime *rt);
void		quorum__runtime_errmsg(char *errbuf, size_t errbuf_len, int err,
								   const char *fmt,...) __attribute__((format(printf, 4, 5)));
bool		quorum__runtime_to_sockaddr(const struct quorum_addr *addr, int sock_family,
										struct sockaddr_storage *ss, socklen_t *len);
bool		quorum__runtime_from_sockaddr(const struct sockaddr_storage *ss,
										  struct quorum_addr *addr);
int			quorum__runtime_step(quorum_runtime *rt, const struct quorum_input *in);

/*
 * in cleared to an input of type at now_ms (0 for one the IO thread stamps
 * itself); the caller sets the payload.
 */
void		quorum__runtime_input(struct quorum_input *in, enum quorum_input_type type,
								  quorum_time_ms now_ms);

/*
 * What every call of the host begins with: 0 with the lock held, or
 * QUORUM_EINVAL (not a runtime) or QUORUM_EBUSY (called from one of this
 * runtime's callbacks) without it.
 */
int			quorum__runtime_lock_call(quorum_runtime *rt);

/*
 * Claim the runtime for start() (mode THREADED, only from NONE) or
 * process() (mode DRIVEN, from NONE or DRIVEN), and mark it busy, under
 * the lock, so that a concurrent start or process() fails.  Returns 0,
 * QUORUM_EBUSY (called from a callback, or another call is in), or
 * QUORUM_ESTATE (the runtime's mode forbids it).
 */
int			quorum__runtime_claim(quorum_runtime *rt, enum quorum__runtime_mode mode);

/* Step the node with a datagram that came from `from` (UDP or a TCP frame). */
int			quorum__runtime_step_datagram(quorum_runtime *rt, const struct quorum_addr *from,
										  const uint8_t *data, size_t len,
										  quorum_time_ms now_ms);
int			quorum__runtime_exec(quorum_runtime *rt, struct quorum_input *in);
void		quorum__runtime_send_udp(quorum_runtime *rt, const uint8_t *data,
									 size_t len, const struct quorum_addr *to);
int			quorum__runtime_work(quorum_runtime *rt, quorum_time_ms now_ms,
								 const struct epoll_event *evs, int n_evs);
quorum_time_ms quorum__runtime_next_ms(const quorum_runtime *rt);
int			quorum__runtime_enable_tcp(quorum_runtime *rt, char *errbuf,
									   size_t errbuf_len);
void		quorum__runtime_destroy(quorum_runtime *rt);
static inline void
quorum__runtime_count(atomic_uint_fast64_t *counter, uint64_t n)
{
	atomic_fetch_add_explicit(counter, n, memory_order_relaxed);
}

/* runtime_thread.c */
int			quorum__runtime_thread_submit(quorum_runtime *rt,
										  const struct quorum_input *in);
int			quorum__runtime_thread_commands(quorum_runtime *rt);

/* runtime_tcp.c */
int			quorum__runtime_tcp_bind(quorum_runtime *rt, char *errbuf,
									 size_t errbuf_len);
int			quorum__runtime_tcp_open(quorum_runtime *rt, char *errbuf,
									 size_t errbuf_len);
void		quorum__runtime_tcp_close(quorum_runtime *rt);
bool		quorum__runtime_tcp_queue(quorum_runtime *rt,
									  const struct quorum_datagram *dg,
									  quorum_time_ms now_ms);
int			quorum__runtime_tcp_event(quorum_runtime *rt, uint64_t tag,
									  uint32_t events, quorum_time_ms now_ms);
int			quorum__runtime_tcp_timers(quorum_runtime *rt, quorum_time_ms now_ms);
quorum_time_ms quorum__runtime_tcp_deadline(const quorum_runtime *rt);

#endif							/* QUORUM_RUNTIME_INTERNAL_H */
