/*-------------------------------------------------------------------------
 *
 * runtime.c
 *	  Sockets and clocks around one quorum_node: configuration, the UDP
 *	  socket, carrying out a step's output, the driven mode, and the public
 *	  calls of include/quorum/runtime.h that both modes share.
 *
 * The runtime files are the only ones in libquorum that touch a socket,
 * read a clock or ask the kernel for randomness.  runtime_thread.c adds the
 * IO thread and its command queue, runtime_tcp.c push-pull over TCP.  Each
 * step's output is carried out in the order node.h fixes: persist, then
 * send, then events, then output_done.
 *
 * Threading (runtime_internal.h has the rules): one writer at a time steps
 * the node, holding `lock` only around quorum_node_step(); snapshot reads
 * take the same lock.  A thread-local marks the thread that is inside a
 * runtime's callbacks, so that re-entry is refused with QUORUM_EBUSY
 * wherever it would step the node under its own feet or join itself.
 *
 * plugin/runtime.c
 *
 *-------------------------------------------------------------------------
 */
#include "runtime_internal.h"

#include "quorum/error.h"
#include "internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/*
 * Most datagrams read in one pass.  The socket stays readable while more
 * are queued, so a level-triggered loop comes straight back; the cap only
 * keeps one pass from starving commands and timers under a flood.
 */
#define RUNTIME_RECV_BATCH 1024

/* Events read from epoll per wait in driven mode. */
#define RUNTIME_EPOLL_EVENTS 32

_Thread_local quorum_runtime *quorum__runtime_current = NULL;

bool
quorum__runtime_valid(const quorum_runtime *rt)
{
	return rt != NULL && rt->magic == QUORUM__RUNTIME_MAGIC;
}

/* The mutex is not part of the runtime's logical value: reads lock it too. */
static pthread_mutex_t *
runtime_lock_of(const quorum_runtime *rt)
{
	return (pthread_mutex_t *) &rt->lock;
}

/* errbuf gets fmt's text, followed by strerror(err) when err is not 0. */
void
quorum__runtime_errmsg(char *errbuf, size_t errbuf_len, int err, const char *fmt, ...)
{
	char		what[256];
	va_list		ap;

	if (errbuf == NULL || errbuf_len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (err != 0)
		snprintf(errbuf, errbuf_len, "%s: %s", what, strerror(err));
	else
		snprintf(errbuf, errbuf_len, "%s", what);
}

/*
 * Fill a sockaddr for addr on a socket of sock_family.  An IPv4 address on
 * an IPv6 socket becomes v4-mapped (the socket is dual-stack when bound to
 * the wildcard); an IPv6 address cannot leave an IPv4 socket.
 */
bool
quorum__runtime_to_sockaddr(const struct quorum_addr *addr, int sock_family,
							struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (sock_family == AF_INET)
	{
		struct sockaddr_in *sin = (struct sockaddr_in *) ss;

		if (addr->family != 4)
			return false;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(addr->port);
		memcpy(&sin->sin_addr, addr->bytes, 4);
		*len = sizeof(*sin);
		return true;
	}
	else
	{
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(addr->port);
		if (addr->family == 4)
		{
			sin6->sin6_addr.s6_addr[10] = 0xff;
			sin6->sin6_addr.s6_addr[11] = 0xff;
			memcpy(&sin6->sin6_addr.s6_addr[12], addr->bytes, 4);
		}
		else if (addr->family == 6)
			memcpy(&sin6->sin6_addr, addr->bytes, 16);
		else
			return false;
		*len = sizeof(*sin6);
		return true;
	}
}

/* The reverse; v4-mapped sources come back as IPv4 so peers compare equal. */
bool
quorum__runtime_from_sockaddr(const struct sockaddr_storage *ss,
							  struct quorum_addr *addr)
{
	memset(addr, 0, sizeof(*addr));
	if (ss->ss_family == AF_INET)
	{
		const struct sockaddr_in *sin = (const struct sockaddr_in *) ss;

		addr->family = 4;
		memcpy(addr->bytes, &sin->sin_addr, 4);
		addr->port = ntohs(sin->sin_port);
		return true;
	}
	if (ss->ss_family == AF_INET6)
	{
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *) ss;

		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
		{
			addr->family = 4;
			memcpy(addr->bytes, &sin6->sin6_addr.s6_addr[12], 4);
		}
		else
		{
			addr->family = 6;
			memcpy(addr->bytes, &sin6->sin6_addr, 16);
		}
		addr->port = ntohs(sin6->sin6_port);
		return true;
	}
	return false;
}

/*
 * Open and bind the UDP socket.  Returns the descriptor, or -1 with a
 * description of what failed in errbuf.
 */
static int
runtime_open_udp(const struct quorum_addr *bind_addr, int *sock_family,
				 char *errbuf, size_t errbuf_len)
{
	struct sockaddr_storage ss;
	socklen_t	len;
	char		text[QUORUM_ADDR_STRLEN];
	int			family = bind_addr->family == 6 ? AF_INET6 : AF_INET;
	int			fd;
	int			err;

	quorum_addr_format(bind_addr, text, sizeof(text));
	fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
	{
		quorum__runtime_errmsg(errbuf, errbuf_len, errno,
							   "could not create UDP socket for \"%s\"", text);
		return -1;
	}

	/*
	 * Bound to the IPv6 wildcard, accept IPv4 peers as well: an operator who
	 * writes "[::]:port" means "every address", whatever the sysctl default.
	 */
	if (family == AF_INET6)
	{
		static const uint8_t any6[16];
		int			off = 0;

		if (memcmp(bind_addr->bytes, any6, 16) == 0)
			(void) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	}

	if (!quorum__runtime_to_sockaddr(bind_addr, family, &ss, &len) ||
		bind(fd, (struct sockaddr *) &ss, len) != 0)
	{
		err = errno != 0 ? errno : EINVAL;
		quorum__runtime_errmsg(errbuf, errbuf_len, err,
							   "could not bind UDP socket to \"%s\"", text);
		close(fd);
		return -1;
	}
	*sock_family = family;
	return fd;
}

void
quorum_runtime_config_init(struct quorum_runtime_config *config)
{
	if (config == NULL)
		return;
	memset(config, 0, sizeof(*config));
	quorum_config_init(&config->node);
	config->facts.role = QUORUM_ROLE_UNKNOWN;
	config->facts.priority = 100;
	config->rejoin_interval_ms = 1000;
	config->tcp = QUORUM_RUNTIME_TCP_AUTO;
	config->command_queue_max = 64;
}

/* The checks quorum_node_new() cannot make; false with errbuf filled. */
static bool
runtime_check_config(const struct quorum_runtime_config *config,
					 char *errbuf, size_t errbuf_len)
{
	if (config->n_seeds > QUORUM_SEEDS_MAX)
		quorum__runtime_errmsg(errbuf, errbuf_len, 0, "too many seeds: %u (at most %d)",
							   config->n_seeds, QUORUM_SEEDS_MAX);
	else if (config->bind.family != 4 && config->bind.family != 6)
		quorum__runtime_errmsg(errbuf, errbuf_len, 0,
							   "bind address is neither IPv4 nor IPv6");
	else if (config->rejoin_interval_ms == 0)
		quorum__runtime_errmsg(errbuf, errbuf_len, 0, "rejoin interval must be positive");
	else if (config->tcp != QUORUM_RUNTIME_TCP_AUTO &&
			 config->tcp != QUORUM_RUNTIME_TCP_ON &&
			 config->tcp != QUORUM_RUNTIME_TCP_OFF)
		quorum__runtime_errmsg(errbuf, errbuf_len, 0, "unknown TCP mode %d",
							   (int) config->tcp);
	else if (config->command_queue_max == 0 || config->command_queue_max > 4096)
		quorum__runtime_errmsg(errbuf, errbuf_len, 0,
							   "command_queue_max must be 1 to 4096, not %u",
							   config->command_queue_max);
	else
		return true;
	return false;
}

/* The runtime's memory, lock and condition; NULL when out of memory. */
static quorum_runtime *
runtime_alloc(const struct quorum_runtime_config *config)
{
	quorum_runtime *rt = calloc(1, sizeof(*rt));

	if (rt == NULL)
		return NULL;
	rt->udp_fd = rt->epoll_fd = rt->wake_fd = rt->tcp.listen_fd = -1;
	rt->n_slots = config->command_queue_max;
	rt->datagram_bytes_max = config->node.datagram_bytes_max;
	rt->slots = calloc(rt->n_slots, sizeof(*rt->slots));
	if (rt->slots == NULL ||
		pthread_mutex_init(&rt->lock, NULL) != 0)
	{
		free(rt->slots);
		free(rt);
		return NULL;
	}
	if (pthread_cond_init(&rt->done_cond, NULL) != 0)
	{
		pthread_mutex_destroy(&rt->lock);
		free(rt->slots);
		free(rt);
		return NULL;
	}
	rt->magic = QUORUM__RUNTIME_MAGIC;
	return rt;
}

/*
 * Open the UDP socket, and reserve the TCP port of the same number unless
 * TCP is off.  A port the kernel picks for UDP may be taken for TCP (by an
 * outgoing connection's ephemeral port, say), so with port 0 other ports
 * are tried.  Returns 0 or QUORUM_EIO with errbuf filled.
 */
static int
runtime_bind(quorum_runtime *rt, const struct quorum_runtime_config *config,
			 char *errbuf, size_t errbuf_len)
{
	for (int attempt = 0; attempt < 16; attempt++)
	{
		struct sockaddr_storage ss;
		socklen_t	len = sizeof(ss);
		struct quorum_addr bound;

		rt->udp_fd = runtime_open_udp(&config->bind, &rt->sock_family,
									  errbuf, errbuf_len);
		if (rt->udp_fd < 0)
			return QUORUM_EIO;
		rt->bound = config->bind;
		if (getsockname(rt->udp_fd, (struct sockaddr *) &ss, &len) == 0 &&
			quorum__runtime_from_sockaddr(&ss, &bound))
			rt->bound.port = bound.port;
		if (config->tcp == QUORUM_RUNTIME_TCP_OFF || config->bind.port != 0 ||
			quorum__runtime_tcp_bind(rt, errbuf, errbuf_len) == 0)
			return 0;
		close(rt->udp_fd);
		rt->udp_fd = -1;
	}
	return QUORUM_EIO;
}

int
quorum_runtime_new(const struct quorum_runtime_config *config,
				   quorum_runtime **runtime, char *errbuf, size_t errbuf_len)
{
	struct quorum_config node_config;
	quorum_runtime *rt;
	int			rc;

	if (errbuf != NULL && errbuf_len > 0)
		errbuf[0] = '\0';
	if (config == NULL || runtime == NULL)
		return QUORUM_EINVAL;
	*runtime = NULL;
	if (!runtime_check_config(config, errbuf, errbuf_len))
		return QUORUM_EINVAL;
	if ((rt = runtime_alloc(config)) == NULL)
		return QUORUM_ENOMEM;
	if ((rc = runtime_bind(rt, config, errbuf, errbuf_len)) != 0)
	{
		quorum__runtime_destroy(rt);
		return rc;
	}

	/*
	 * Bound to port 0, the kernel picked one; tell peers that one rather
	 * than an address nobody listens on.
	 */
	node_config = config->node;
	if (node_config.addr.port == 0)
		node_config.addr.port = rt->bound.port;
	rc = quorum_node_new(&node_config, &config->facts, quorum_runtime_now_ms(),
						 &rt->node, errbuf, errbuf_len);
	explicit_bzero(&node_config.keyring, sizeof(node_config.keyring));
	if (rc == 0 && config->tcp == QUORUM_RUNTIME_TCP_ON)
		rc = quorum__runtime_enable_tcp(rt, errbuf, errbuf_len);
	if (rc != 0)
	{
		quorum__runtime_destroy(rt);
		return rc;
	}

	memcpy(rt->seeds, config->seeds, sizeof(rt->seeds[0]) * config->n_seeds);
	rt->n_seeds = config->n_seeds;
	rt->rejoin_interval_ms = config->rejoin_interval_ms;
	rt->persist_fn = config->persist_fn;
	rt->event_fn = config->event_fn;
	rt->callback_ctx = config->callback_ctx;
	rt->facts = config->facts;
	rt->tcp_mode = config->tcp;
	*runtime = rt;
	return 0;
}

/* Register fd with the epoll set under tag; 0 or QUORUM_EIO. */
static int
runtime_epoll_add(quorum_runtime *rt, int fd, uint64_t tag)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u64 = tag;
	return epoll_ctl(rt->epoll_fd, EPOLL_CTL_ADD, fd, &ev) == 0 ? 0 : QUORUM_EIO;
}

/*
 * Create the epoll set (with the UDP socket in it) if there is none yet.
 * Returns 0 or QUORUM_EIO with errbuf filled.
 */
static int
runtime_ensure_epoll(quorum_runtime *rt, char *errbuf, size_t errbuf_len)
{
	if (rt->epoll_fd >= 0)
		return 0;
	rt->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (rt->epoll_fd < 0 || runtime_epoll_add(rt, rt->udp_fd, QUORUM__RT_TAG_UDP) != 0)
	{
		quorum__runtime_errmsg(errbuf, errbuf_len, errno, "could not create an epoll set");
		if (rt->epoll_fd >= 0)
			close(rt->epoll_fd);
		rt->epoll_fd = -1;
		return QUORUM_EIO;
	}
	return 0;
}

/* Turn push-pull over TCP on: the epoll set and the listener. */
int
quorum__runtime_enable_tcp(quorum_runtime *rt, char *errbuf, size_t errbuf_len)
{
	int			rc;

	if (rt->tcp.enabled)
		return 0;
	rc = runtime_ensure_epoll(rt, errbuf, errbuf_len);
	if (rc != 0)
		return rc;
	rc = quorum__runtime_tcp_open(rt, errbuf, errbuf_len);
	if (rc != 0)
		return rc;
	rt->tcp.enabled = true;
	return 0;
}

/* Everything but the thread, which the caller has stopped or is. */
void
quorum__runtime_destroy(quorum_runtime *rt)
{
	quorum__runtime_tcp_close(rt);
	if (rt->udp_fd >= 0)
		close(rt->udp_fd);
	if (rt->epoll_fd >= 0)
		close(rt->epoll_fd);
	if (rt->wake_fd >= 0)
		close(rt->wake_fd);
	quorum_node_free(rt->node);
	free(rt->slots);
	pthread_cond_destroy(&rt->done_cond);
	pthread_mutex_destroy(&rt->lock);
	rt->magic = QUORUM__RUNTIME_MAGIC_FREED;
	free(rt);
}

void
quorum_runtime_free(quorum_runtime *runtime)
{
	quorum_runtime *rt = runtime;
	enum quorum__runtime_mode mode;

	/* A runtime freed already (magic cleared) is ignored: best effort. */
	if (!quorum__runtime_valid(rt))
		return;
	if (quorum__runtime_current == rt)
	{
		pthread_mutex_lock(&rt->lock);
		rt->free_requested = true;
		pthread_mutex_unlock(&rt->lock);
		return;
	}
	pthread_mutex_lock(&rt->lock);
	mode = rt->mode;
	pthread_mutex_unlock(&rt->lock);
	if (mode == QUORUM__RT_MODE_THREADED)
		(void) quorum_runtime_stop(rt, false);
	quorum__runtime_destroy(rt);
}

int
quorum_runtime_fd(const quorum_runtime *runtime)
{
	enum quorum__runtime_mode mode;

	if (!quorum__runtime_valid(runtime))
		return -1;
	pthread_mutex_lock(runtime_lock_of(runtime));
	mode = runtime->mode;
	pthread_mutex_unlock(runtime_lock_of(runtime));
	if (mode == QUORUM__RT_MODE_THREADED || mode == QUORUM__RT_MODE_STOPPED)
		return -1;
	return runtime->tcp.enabled ? runtime->epoll_fd : runtime->udp_fd;
}

/* Whether any member other than this node is alive right now. */
static bool
runtime_others_alive(const quorum_runtime *rt)
{
	size_t		n = quorum_node_member_count(rt->node);

	for (size_t i = 0; i < n; i++)
	{
		struct quorum_member_info info;

		if (quorum_node_member_get(rt->node, i, &info) == 0 &&
			!info.is_self && info.state == QUORUM_MEMBER_ALIVE)
			return true;
	}
	return false;
}

static bool
runtime_wants_rejoin(const quorum_runtime *rt)
{
	return rt->n_seeds > 0 && !rt->left && !runtime_others_alive(rt);
}

/* When the writer next has work to do without any input: the earliest of
 * the node's deadline, a rejoin and a TCP timer. */
quorum_time_ms
quorum__runtime_next_ms(const quorum_runtime *rt)
{
	quorum_time_ms deadline = rt->left ? UINT64_MAX : quorum_node_deadline_ms(rt->node);
	quorum_time_ms tcp = quorum__runtime_tcp_deadline(rt);

	if (!rt->stepped)
		return 0;
	if (runtime_wants_rejoin(rt) && rt->next_rejoin_ms < deadline)
		deadline = rt->next_rejoin_ms;
	return QUORUM_MIN(deadline, tcp);
}

int
quorum_runtime_timeout_ms(const quorum_runtime *runtime, quorum_time_ms now_ms)
{
	quorum_time_ms deadline;
	enum quorum__runtime_mode mode;

	if (!quorum__runtime_valid(runtime))
		return QUORUM_EINVAL;
	pthread_mutex_lock(runtime_lock_of(runtime));
	mode = runtime->mode;
	pthread_mutex_unlock(runtime_lock_of(runtime));
	if (mode == QUORUM__RT_MODE_THREADED || mode == QUORUM__RT_MODE_STOPPED)
		return QUORUM_ESTATE;
	deadline = quorum__runtime_next_ms(runtime);
	if (deadline <= now_ms)
		return 0;
	if (deadline - now_ms > (quorum_time_ms) INT_MAX)
		return INT_MAX;
	return (int) (deadline - now_ms);
}

void
quorum__runtime_send_udp(quorum_runtime *rt, const uint8_t *data, size_t len,
						 const struct quorum_addr *to)
{
	struct sockaddr_storage ss;
	socklen_t	sslen;
	ssize_t		sent;

	if (!quorum__runtime_to_sockaddr(to, rt->sock_family, &ss, &sslen))
	{
		quorum__runtime_count(&rt->counters.send_errors, 1);
		return;
	}
	do
		sent = sendto(rt->udp_fd, data, len, 0, (struct sockaddr *) &ss, sslen);
	while (sent < 0 && errno == EINTR);

	/*
	 * A full socket buffer (EAGAIN), an unreachable network or a refused
	 * port are all the same to the protocol: the datagram was lost.
	 */
	if (sent < 0 || (size_t) sent != len)
		quorum__runtime_count(&rt->counters.send_errors, 1);
}

/*
 * Carry out one step's output in node.h's order.  If persisting fails the
 * datagrams that depend on it are not sent, and the error is returned.
 */
static int
runtime_carry_out(quorum_runtime *rt, struct quorum_output *out,
				  quorum_time_ms now_ms)
{
	if ((out->flags & QUORUM_OUT_PERSIST) && rt->persist_fn != NULL)
	{
		int			rc = rt->persist_fn(rt->callback_ctx, &out->durable);

		if (rc != 0)
		{
			rt->persist_failed = true;
			quorum_node_output_done(rt->node, out);
			return rc < 0 ? rc : QUORUM_EIO;
		}
	}
	if (out->flags & QUORUM_OUT_SEND)
	{
		for (size_t i = 0; i < out->n_datagrams; i++)
		{
			const struct quorum_datagram *dg = &out->datagrams[i];

			if (rt->tcp.enabled && dg->pushpull)
			{
				if (quorum__runtime_tcp_queue(rt, dg, now_ms))
					continue;
				quorum__runtime_count(&rt->counters.tcp_fallbacks, 1);
			}
			quorum__runtime_send_udp(rt, dg->data, dg->len, &dg->to);
		}
	}
	if ((out->flags & QUORUM_OUT_EVENTS) && rt->event_fn != NULL)
	{
		for (size_t i = 0; i < out->n_events; i++)
			rt->event_fn(rt->callback_ctx, &out->events[i]);
	}
	quorum_node_output_done(rt->node, out);
	return 0;
}

int
quorum__runtime_lock_call(quorum_runtime *rt)
{
	if (!quorum__runtime_valid(rt))
		return QUORUM_EINVAL;
	if (quorum__runtime_current == rt)
		return QUORUM_EBUSY;
	pthread_mutex_lock(&rt->lock);
	return 0;
}

int
quorum__runtime_claim(quorum_runtime *rt, enum quorum__runtime_mode mode)
{
	int			rc = quorum__runtime_lock_call(rt);

	if (rc != 0)
		return rc;
	if (rt->mode != QUORUM__RT_MODE_NONE &&
		!(mode == QUORUM__RT_MODE_DRIVEN && rt->mode == QUORUM__RT_MODE_DRIVEN))
		rc = QUORUM_ESTATE;
	else if (rt->busy)
		rc = QUORUM_EBUSY;
	else
	{
		rt->mode = mode;
		rt->busy = true;
	}
	pthread_mutex_unlock(&rt->lock);
	return rc;
}

void
quorum__runtime_input(struct quorum_input *in, enum quorum_input_type type,
					  quorum_time_ms now_ms)
{
	memset(in, 0, sizeof(*in));
	in->type = type;
	in->now_ms = now_ms;
}

int
quorum__runtime_step_datagram(quorum_runtime *rt, const struct quorum_addr *from,
							  const uint8_t *data, size_t len, quorum_time_ms now_ms)
{
	struct quorum_input in;

	quorum__runtime_input(&in, QUORUM_IN_DATAGRAM, now_ms);
	in.u.datagram.from = *from;
	in.u.datagram.data = data;
	in.u.datagram.len = len;
	return quorum__runtime_step(rt, &in);
}

/*
 * Step the node with one input and carry out the output.  Only the writer
 * calls this; the lock keeps snapshot readers out while the node changes.
 */
int
quorum__runtime_step(quorum_runtime *rt, const struct quorum_input *in)
{
	struct quorum_output out;
	int			rc;

	memset(&out, 0, sizeof(out));
	pthread_mutex_lock(&rt->lock);
	rc = quorum_node_step(rt->node, in, &out);
	if (rc == 0 && (in->type == QUORUM_IN_FACTS || in->type == QUORUM_IN_WAL_STOPPED))
		rt->facts = in->u.facts;
	pthread_mutex_unlock(&rt->lock);
	rt->stepped = true;
	if (rc != 0)
		return rc;
	if (in->type == QUORUM_IN_COMMAND && in->u.command.type == QUORUM_CMD_LEAVE)
		rt->left = true;
	return runtime_carry_out(rt, &out, in->now_ms);
}

/* A host-initiated input (facts or a command), on the writer's thread. */
int
quorum__runtime_exec(quorum_runtime *rt, struct quorum_input *in)
{
	if (rt->left)
		return QUORUM_ESTATE;
	return quorum__runtime_step(rt, in);
}

/* The time an input read now carries (runtime_clock.c). */
static quorum_time_ms
runtime_stamp(const quorum_runtime *rt)
{
	return quorum__runtime_clock_stamp(&rt->clock, quorum_runtime_now_ms());
}

/*
 * Feed every queued datagram (up to the batch cap) to the node, each with
 * the time it was read: a persist of an earlier one may have taken long.
 */
static int
runtime_drain_udp(quorum_runtime *rt)
{
	for (int n = 0; n < RUNTIME_RECV_BATCH; n++)
	{
		struct sockaddr_storage ss;
		socklen_t	sslen = sizeof(ss);
		struct quorum_addr from;
		ssize_t		got;
		int			rc;

		got = recvfrom(rt->udp_fd, rt->recv_buf, sizeof(rt->recv_buf), 0,
					   (struct sockaddr *) &ss, &sslen);
		if (got < 0)
		{
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				quorum__runtime_count(&rt->counters.recv_errors, 1);
			return 0;
		}

		/* After leaving the node idles: read to keep the queue empty. */
		if (rt->left)
			continue;

		if (!quorum__runtime_from_sockaddr(&ss, &from))
			continue;
		rc = quorum__runtime_step_datagram(rt, &from, rt->recv_buf, (size_t) got,
										   runtime_stamp(rt));
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int
runtime_join_seeds(quorum_runtime *rt, quorum_time_ms now_ms)
{
	for (unsigned i = 0; i < rt->n_seeds; i++)
	{
		struct quorum_input in;
		int			rc;

		quorum__runtime_input(&in, QUORUM_IN_COMMAND, now_ms);
		in.u.command.type = QUORUM_CMD_JOIN;
		in.u.command.addr = rt->seeds[i];
		rc = quorum__runtime_step(rt, &in);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* Read the eventfd down to zero; its count means nothing but "look". */
static void
runtime_drain_wake(quorum_runtime *rt)
{
	uint64_t	count;

	while (read(rt->wake_fd, &count, sizeof(count)) == (ssize_t) sizeof(count))
		;
}

/*
 * One pass of all pending work, for either mode: queued commands, every
 * readable socket, due TCP timers, the node's tick and a rejoin.  evs are
 * the ready descriptors from epoll; NULL means "no epoll set: try the UDP
 * socket".  Returns 0 or the persist callback's error.
 */
int
quorum__runtime_work(quorum_runtime *rt, quorum_time_ms now_ms,
					 const struct epoll_event *evs, int n_evs)
{
	bool		udp_ready = evs == NULL;
	bool		woken = false;
	int			rc = 0;

	quorum__runtime_clock_start(&rt->clock, now_ms, quorum_runtime_now_ms());
	quorum__runtime_count(&rt->counters.wakeups, 1);
	for (int i = 0; i < n_evs; i++)
	{
		if (evs[i].data.u64 == QUORUM__RT_TAG_WAKE)
			woken = true;
		else if (evs[i].data.u64 == QUORUM__RT_TAG_UDP)
			udp_ready = true;
	}
	if (woken)
	{
		/* Drain before looking at the queue, so no later wake-up is lost. */
		runtime_drain_wake(rt);
		rc = quorum__runtime_thread_commands(rt);
	}
	if (rc == 0 && udp_ready)
		rc = runtime_drain_udp(rt);
	for (int i = 0; rc == 0 && i < n_evs; i++)
	{
		uint64_t	tag = evs[i].data.u64;

		if (tag != QUORUM__RT_TAG_WAKE && tag != QUORUM__RT_TAG_UDP)
			rc = quorum__runtime_tcp_event(rt, tag, evs[i].events, runtime_stamp(rt));
	}
	if (rc == 0 && rt->tcp.enabled)
		rc = quorum__runtime_tcp_timers(rt, runtime_stamp(rt));
	/* The tick and the rejoin come after whatever the reads cost. */
	now_ms = runtime_stamp(rt);

	/*
	 * The first pass always ticks: the node asks to persist its starting
	 * incarnation at its first step, and a host reading the node after it
	 * should find that done rather than wait for the first probe deadline.
	 */
	if (rc == 0 && !rt->left &&
		(!rt->stepped || quorum_node_deadline_ms(rt->node) <= now_ms))
	{
		struct quorum_input in;

		quorum__runtime_input(&in, QUORUM_IN_TICK, now_ms);
		rc = quorum__runtime_step(rt, &in);
	}

	/*
	 * Alone (at start, or after everyone else died or we were partitioned
	 * and declared them dead), nobody will ever probe us: keep knocking on
	 * the seeds' doors until somebody answers.  (After the tick's persist.)
	 */
	now_ms = runtime_stamp(rt);
	if (rc == 0 && rt->next_rejoin_ms <= now_ms && runtime_wants_rejoin(rt))
	{
		rt->next_rejoin_ms = now_ms + rt->rejoin_interval_ms;
		rc = runtime_join_seeds(rt, now_ms);
	}
	return rc;
}

int
quorum_runtime_process(quorum_runtime *runtime, quorum_time_ms now_ms)
{
	quorum_runtime *rt = runtime;
	struct epoll_event evs[RUNTIME_EPOLL_EVENTS];
	bool		free_requested;
	int			n_evs = 0;
	int			rc;

	if ((rc = quorum__runtime_claim(rt, QUORUM__RT_MODE_DRIVEN)) != 0)
		return rc;

	/* Driven for good: the TCP port kept for a threaded start is not needed. */
	if (!rt->tcp.enabled)
	{
		if (rt->tcp.listen_fd >= 0)
		{
			close(rt->tcp.listen_fd);
			rt->tcp.listen_fd = -1;
		}
	}

	quorum__runtime_current = rt;
	if (rt->epoll_fd >= 0)
	{
		do
			n_evs = epoll_wait(rt->epoll_fd, evs, RUNTIME_EPOLL_EVENTS, 0);
		while (n_evs < 0 && errno == EINTR);
		if (n_evs < 0)
			n_evs = 0;
		rc = quorum__runtime_work(rt, now_ms, evs, n_evs);
	}
	else
		rc = quorum__runtime_work(rt, now_ms, NULL, 0);
	quorum__runtime_current = NULL;

	pthread_mutex_lock(&rt->lock);
	rt->busy = false;
	free_requested = rt->free_requested;
	pthread_mutex_unlock(&rt->lock);
	if (free_requested)
		quorum__runtime_destroy(rt);
	return rc;
}

/*
 * A host-initiated input from any thread: queued for the IO thread in
 * threaded mode, run here otherwise.
 */
static int
runtime_call(quorum_runtime *rt, struct quorum_input *in)
{
	bool		free_requested;
	int			rc = quorum__runtime_lock_call(rt);

	if (rc != 0)
		return rc;
	if (rt->mode == QUORUM__RT_MODE_THREADED)
	{
		pthread_mutex_unlock(&rt->lock);
		return quorum__runtime_thread_submit(rt, in);
	}
	if (rt->mode == QUORUM__RT_MODE_STOPPED)
	{
		pthread_mutex_unlock(&rt->lock);
		return QUORUM_ESTATE;
	}
	if (rt->busy)
	{
		pthread_mutex_unlock(&rt->lock);
		return QUORUM_EBUSY;
	}
	rt->busy = true;
	pthread_mutex_unlock(&rt->lock);

	quorum__runtime_current = rt;
	rc = quorum__runtime_exec(rt, in);
	quorum__runtime_current = NULL;

	pthread_mutex_lock(&rt->lock);
	rt->busy = false;
	free_requested = rt->free_requested;
	pthread_mutex_unlock(&rt->lock);
	if (free_requested)
		quorum__runtime_destroy(rt);
	return rc;
}

static int
runtime_facts(quorum_runtime *runtime, enum quorum_input_type type,
			  const struct quorum_meta *facts, quorum_time_ms now_ms)
{
	struct quorum_input in;

	if (facts == NULL)
		return QUORUM_EINVAL;
	quorum__runtime_input(&in, type, now_ms);
	in.u.facts = *facts;
	return runtime_call(runtime, &in);
}

int
quorum_runtime_set_facts(quorum_runtime *runtime,
						 const struct quorum_meta *facts, quorum_time_ms now_ms)
{
	return runtime_facts(runtime, QUORUM_IN_FACTS, facts, now_ms);
}

int
quorum_runtime_wal_stopped(quorum_runtime *runtime,
						   const struct quorum_meta *facts, quorum_time_ms now_ms)
{
	return runtime_facts(runtime, QUORUM_IN_WAL_STOPPED, facts, now_ms);
}

int
quorum_runtime_command(quorum_runtime *runtime,
					   const struct quorum_command *command, quorum_time_ms now_ms)
{
	struct quorum_input in;

	if (command == NULL)
		return QUORUM_EINVAL;
	quorum__runtime_input(&in, QUORUM_IN_COMMAND, now_ms);
	in.u.command = *command;
	return runtime_call(runtime, &in);
}

/* The command wrappers' one builder; addr and name may be NULL. */
static int
runtime_command(quorum_runtime *runtime, enum quorum_command_type type,
				const struct quorum_addr *addr, const char *name,
				quorum_time_ms now_ms)
{
	struct quorum_command cmd;

	memset(&cmd, 0, sizeof(cmd));
	cmd.type = type;
	if (addr != NULL)
		cmd.addr = *addr;
	if (name != NULL)
	{
		if (strlen(name) > QUORUM_NAME_MAX)
			return QUORUM_EINVAL;
		strcpy(cmd.name, name);
	}
	return quorum_runtime_command(runtime, &cmd, now_ms);
}

int
quorum_runtime_join(quorum_runtime *runtime, const struct quorum_addr *seed,
					quorum_time_ms now_ms)
{
	if (seed == NULL)
		return QUORUM_EINVAL;
	return runtime_command(runtime, QUORUM_CMD_JOIN, seed, NULL, now_ms);
}

int
quorum_runtime_leave(quorum_runtime *runtime, quorum_time_ms now_ms)
{
	return runtime_command(runtime, QUORUM_CMD_LEAVE, NULL, NULL, now_ms);
}

int
quorum_runtime_transfer(quorum_runtime *runtime, const char *name,
						quorum_time_ms now_ms)
{
	return runtime_command(runtime, QUORUM_CMD_TRANSFER, NULL, name, now_ms);
}

/* ---------------------------------------------------------------------
 * Snapshot reads.
 * ---------------------------------------------------------------------
 */

int
quorum_runtime_members(quorum_runtime *runtime, struct quorum_member_info *members,
					   size_t max, size_t *count)
{
	size_t		n;

	if (!quorum__runtime_valid(runtime) || count == NULL ||
		(members == NULL && max > 0))
		return QUORUM_EINVAL;
	pthread_mutex_lock(&runtime->lock);
	n = quorum_node_member_count(runtime->node);
	for (size_t i = 0; i < n && i < max; i++)
		(void) quorum_node_member_get(runtime->node, i, &members[i]);
	pthread_mutex_unlock(&runtime->lock);
	*count = n;
	return n > max ? QUORUM_ENOSPACE : 0;
}

int
quorum_runtime_election(quorum_runtime *runtime, struct quorum_election_info *info)
{
	int			rc;

	if (!quorum__runtime_valid(runtime) || info == NULL)
		return QUORUM_EINVAL;
	pthread_mutex_lock(&runtime->lock);
	rc = quorum_node_election_get(runtime->node, info);
	pthread_mutex_unlock(&runtime->lock);
	return rc;
}

int
quorum_runtime_leader(quorum_runtime *runtime, char *buf, size_t buf_len,
					  uint64_t *term)
{
	int			rc = 0;

	if (!quorum__runtime_valid(runtime) || buf == NULL || buf_len == 0)
		return QUORUM_EINVAL;
	pthread_mutex_lock(&runtime->lock);
	if (strlen(quorum_node_leader(runtime->node)) >= buf_len)
	{
		buf[0] = '\0';
		rc = QUORUM_ENOSPACE;
	}
	else
		strcpy(buf, quorum_node_leader(runtime->node));
	if (term != NULL)
		*term = quorum_node_term(runtime->node);
	pthread_mutex_unlock(&runtime->lock);
	return rc;
}

bool
quorum_runtime_has_lease(quorum_runtime *runtime, quorum_time_ms now_ms)
{
	bool		has;

	if (!quorum__runtime_valid(runtime))
		return false;
	pthread_mutex_lock(&runtime->lock);
	has = quorum_node_has_lease(runtime->node, now_ms);
	pthread_mutex_unlock(&runtime->lock);
	return has;
}

static uint64_t
runtime_load(const atomic_uint_fast64_t *counter)
{
	return atomic_load_explicit(counter, memory_order_relaxed);
}

int
quorum_runtime_stats(quorum_runtime *runtime, struct quorum_runtime_stats *stats)
{
	const struct quorum__rt_counters *c;

	if (!quorum__runtime_valid(runtime) || stats == NULL)
		return QUORUM_EINVAL;
	memset(stats, 0, sizeof(*stats));
	c = &runtime->counters;
	pthread_mutex_lock(&runtime->lock);
	quorum_node_stats_get(runtime->node, &stats->node);
	stats->running = runtime->thread_running;
	stats->error = runtime->error;
	pthread_mutex_unlock(&runtime->lock);
	stats->wakeups = runtime_load(&c->wakeups);
	stats->commands = runtime_load(&c->commands);
	stats->send_errors = runtime_load(&c->send_errors);
	stats->recv_errors = runtime_load(&c->recv_errors);
	stats->tcp_connects = runtime_load(&c->tcp_connects);
	stats->tcp_accepts = runtime_load(&c->tcp_accepts);
	stats->tcp_frames_out = runtime_load(&c->tcp_frames_out);
	stats->tcp_frames_in = runtime_load(&c->tcp_frames_in);
	stats->tcp_fallbacks = runtime_load(&c->tcp_fallbacks);
	stats->tcp_errors = runtime_load(&c->tcp_errors);
	return 0;
}

int
quorum_runtime_get_facts(quorum_runtime *runtime, struct quorum_meta *facts)
{
	if (!quorum__runtime_valid(runtime) || facts == NULL)
		return QUORUM_EINVAL;
	pthread_mutex_lock(&runtime->lock);
	*facts = runtime->facts;
	pthread_mutex_unlock(&runtime->lock);
	return 0;
}

const quorum_node *
quorum_runtime_node(const quorum_runtime *runtime)
{
	bool		foreign;

	if (!quorum__runtime_valid(runtime))
		return NULL;
	pthread_mutex_lock(runtime_lock_of(runtime));
	foreign = runtime->mode == QUORUM__RT_MODE_THREADED &&
		runtime->thread_running && quorum__runtime_current != runtime;
	pthread_mutex_unlock(runtime_lock_of(runtime));
	return foreign ? NULL : runtime->node;
}

/* ---------------------------------------------------------------------
 * Helpers.
 * ---------------------------------------------------------------------
 */

static quorum_time_ms
runtime_clock_ms(clockid_t id)
{
	struct timespec ts;

	/* Neither clock can fail with a valid clock id and pointer. */
	(void) clock_gettime(id, &ts);
	return (quorum_time_ms) ts.tv_sec * 1000 + (quorum_time_ms) ts.tv_nsec / 1000000;
}

/* Boot time, which counts a suspend; runtime_clock.c says why. */
quorum_time_ms
quorum_runtime_now_ms(void)
{
	quorum_time_ms mono = runtime_clock_ms(CLOCK_MONOTONIC);

	return quorum__runtime_clock_pick(mono, runtime_clock_ms(CLOCK_BOOTTIME));
}

/* splitmix64's finalizer: spreads the weak fallback entropy over 64 bits. */
static uint64_t
runtime_mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

uint64_t
quorum_runtime_random_seed(void)
{
	uint64_t	seed;
	uint8_t    *p = (uint8_t *) &seed;
	size_t		got = 0;

	while (got < sizeof(seed))
	{
		ssize_t		n = getrandom(p + got, sizeof(seed) - got, 0);

		if (n < 0)
		{
			if (errno == EINTR)
				continue;
			break;
		}
		got += (size_t) n;
	}
	if (got == sizeof(seed))
		return seed;

	/*
	 * Without getrandom() (a very old kernel or a seccomp filter) the seed
	 * at least differs between nodes and runs; the node's incarnation, not
	 * the seed, is what tells one boot from the next.
	 */
	{
		struct timespec ts;

		(void) clock_gettime(CLOCK_REALTIME, &ts);
		return runtime_mix64((uint64_t) ts.tv_nsec ^ ((uint64_t) ts.tv_sec << 20) ^
							 ((uint64_t) getpid() << 40));
	}
}
