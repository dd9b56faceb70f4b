/*-------------------------------------------------------------------------
 *
 * runtime.c
 *	  Sockets and clocks around one quorum_node: the driven mode of
 *	  include/quorum/runtime.h.
 *
 * This is the only file of libquorum that touches a socket, reads a clock or
 * asks the kernel for randomness.  The host owns the loop: it waits on
 * quorum_runtime_fd() for at most quorum_runtime_timeout_ms(), then calls
 * quorum_runtime_process(), which feeds every pending datagram and any due
 * tick to the node and carries out each step's output in the order node.h
 * fixes (persist, then send, then events, then output_done).
 *
 * Threading: none.  Everything runs on the caller's thread; a flag rejects
 * re-entry from a callback with QUORUM_EBUSY, because a step inside a step
 * would invalidate the output the outer call is still carrying out.
 *
 * plugin/runtime.c
 *
 *-------------------------------------------------------------------------
 */
#include "quorum/runtime.h"
#include "quorum/error.h"

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
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/*
 * Most datagrams read in one process() call.  The socket stays readable
 * while more are queued, so a level-triggered host loop comes straight back;
 * the cap only keeps one call from starving the host under a flood.
 */
#define RUNTIME_RECV_BATCH 1024

/* Room for the largest datagram the node may be configured to accept. */
#define RUNTIME_RECV_BYTES 65536

struct quorum_runtime
{
	quorum_node *node;
	int			fd;
	int			sock_family;	/* AF_INET or AF_INET6 */

	struct quorum_addr seeds[QUORUM_SEEDS_MAX];
	unsigned	n_seeds;
	quorum_time_ms rejoin_interval_ms;
	quorum_time_ms next_rejoin_ms;	/* 0: join at the first process() */

	quorum_persist_fn persist_fn;
	quorum_event_fn event_fn;
	void	   *callback_ctx;

	bool		stepped;		/* the node has had at least one input */
	bool		busy;			/* inside a call that steps the node */
	bool		left;			/* leave completed; the node idles */

	/* Counted, not returned: the protocol treats them as message loss. */
	uint64_t	send_errors;
	uint64_t	recv_errors;

	uint8_t		recv_buf[RUNTIME_RECV_BYTES];
};

static void runtime_errmsg(char *errbuf, size_t errbuf_len, int err,
						   const char *fmt,...) __attribute__((format(printf, 4, 5)));

/* errbuf gets fmt's text, followed by strerror(err) when err is not 0. */
static void
runtime_errmsg(char *errbuf, size_t errbuf_len, int err, const char *fmt, ...)
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
static bool
runtime_to_sockaddr(const struct quorum_addr *addr, int sock_family,
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
static bool
runtime_from_sockaddr(const struct sockaddr_storage *ss,
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
 * Open and bind the UDP socket.  Returns the descriptor, or -1 with errno
 * set and a description of what failed in errbuf.
 */
static int
runtime_open_socket(const struct quorum_addr *bind_addr, int *sock_family,
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
		err = errno;
		runtime_errmsg(errbuf, errbuf_len, err,
					   "could not create UDP socket for \"%s\"", text);
		errno = err;
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

	if (!runtime_to_sockaddr(bind_addr, family, &ss, &len) ||
		bind(fd, (struct sockaddr *) &ss, len) != 0)
	{
		err = errno != 0 ? errno : EINVAL;
		runtime_errmsg(errbuf, errbuf_len, err,
					   "could not bind UDP socket to \"%s\"", text);
		close(fd);
		errno = err;
		return -1;
	}
	*sock_family = family;
	return fd;
}

void
quorum_runtime_config_init(struct quorum_runtime_config *config)
{
	memset(config, 0, sizeof(*config));
	quorum_config_init(&config->node);
	config->facts.role = QUORUM_ROLE_UNKNOWN;
	config->facts.priority = 100;
	config->rejoin_interval_ms = 1000;
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
	if (config->n_seeds > QUORUM_SEEDS_MAX)
	{
		runtime_errmsg(errbuf, errbuf_len, 0, "too many seeds: %u (at most %d)",
					   config->n_seeds, QUORUM_SEEDS_MAX);
		return QUORUM_EINVAL;
	}
	if (config->bind.family != 4 && config->bind.family != 6)
	{
		runtime_errmsg(errbuf, errbuf_len, 0, "bind address is neither IPv4 nor IPv6");
		return QUORUM_EINVAL;
	}
	if (config->rejoin_interval_ms == 0)
	{
		runtime_errmsg(errbuf, errbuf_len, 0, "rejoin interval must be positive");
		return QUORUM_EINVAL;
	}

	rt = calloc(1, sizeof(*rt));
	if (rt == NULL)
		return QUORUM_ENOMEM;

	rt->fd = runtime_open_socket(&config->bind, &rt->sock_family,
								 errbuf, errbuf_len);
	if (rt->fd < 0)
	{
		free(rt);
		return QUORUM_EIO;
	}

	/*
	 * Bound to port 0, the kernel picked one; tell peers that one rather
	 * than an address nobody listens on.
	 */
	node_config = config->node;
	if (node_config.addr.port == 0)
	{
		struct sockaddr_storage ss;
		socklen_t	len = sizeof(ss);
		struct quorum_addr bound;

		if (getsockname(rt->fd, (struct sockaddr *) &ss, &len) == 0 &&
			runtime_from_sockaddr(&ss, &bound))
			node_config.addr.port = bound.port;
	}

	rc = quorum_node_new(&node_config, &config->facts, quorum_runtime_now_ms(),
						 &rt->node, errbuf, errbuf_len);
	if (rc != 0)
	{
		close(rt->fd);
		free(rt);
		return rc;
	}

	memcpy(rt->seeds, config->seeds, sizeof(rt->seeds[0]) * config->n_seeds);
	rt->n_seeds = config->n_seeds;
	rt->rejoin_interval_ms = config->rejoin_interval_ms;
	rt->next_rejoin_ms = 0;
	rt->persist_fn = config->persist_fn;
	rt->event_fn = config->event_fn;
	rt->callback_ctx = config->callback_ctx;
	*runtime = rt;
	return 0;
}

void
quorum_runtime_free(quorum_runtime *runtime)
{
	if (runtime == NULL)
		return;
	if (runtime->fd >= 0)
		close(runtime->fd);
	quorum_node_free(runtime->node);
	free(runtime);
}

int
quorum_runtime_fd(const quorum_runtime *runtime)
{
	return runtime != NULL ? runtime->fd : -1;
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

int
quorum_runtime_timeout_ms(const quorum_runtime *runtime, quorum_time_ms now_ms)
{
	quorum_time_ms deadline;

	if (runtime == NULL)
		return 0;
	deadline = quorum_node_deadline_ms(runtime->node);
	if (runtime_wants_rejoin(runtime) && runtime->next_rejoin_ms < deadline)
		deadline = runtime->next_rejoin_ms;
	if (deadline <= now_ms)
		return 0;
	if (deadline - now_ms > (quorum_time_ms) INT_MAX)
		return INT_MAX;
	return (int) (deadline - now_ms);
}

static void
runtime_send(quorum_runtime *rt, const struct quorum_datagram *dg)
{
	struct sockaddr_storage ss;
	socklen_t	len;
	ssize_t		sent;

	if (!runtime_to_sockaddr(&dg->to, rt->sock_family, &ss, &len))
	{
		rt->send_errors++;
		return;
	}
	do
		sent = sendto(rt->fd, dg->data, dg->len, 0, (struct sockaddr *) &ss, len);
	while (sent < 0 && errno == EINTR);

	/*
	 * A full socket buffer (EAGAIN), an unreachable network or a refused
	 * port are all the same to the protocol: the datagram was lost.
	 */
	if (sent < 0 || (size_t) sent != dg->len)
		rt->send_errors++;
}

/*
 * Carry out one step's output in node.h's order.  If persisting fails the
 * datagrams that depend on it are not sent, and the error is returned.
 */
static int
runtime_carry_out(quorum_runtime *rt, struct quorum_output *out)
{
	if ((out->flags & QUORUM_OUT_PERSIST) && rt->persist_fn != NULL)
	{
		int			rc = rt->persist_fn(rt->callback_ctx, &out->durable);

		if (rc != 0)
		{
			quorum_node_output_done(rt->node, out);
			return rc < 0 ? rc : QUORUM_EIO;
		}
	}
	if (out->flags & QUORUM_OUT_SEND)
	{
		for (size_t i = 0; i < out->n_datagrams; i++)
			runtime_send(rt, &out->datagrams[i]);
	}
	if ((out->flags & QUORUM_OUT_EVENTS) && rt->event_fn != NULL)
	{
		for (size_t i = 0; i < out->n_events; i++)
			rt->event_fn(rt->callback_ctx, &out->events[i]);
	}
	quorum_node_output_done(rt->node, out);
	return 0;
}

static int
runtime_step(quorum_runtime *rt, const struct quorum_input *in)
{
	struct quorum_output out;
	int			rc;

	memset(&out, 0, sizeof(out));
	rt->stepped = true;
	rc = quorum_node_step(rt->node, in, &out);
	if (rc != 0)
		return rc;
	return runtime_carry_out(rt, &out);
}

/* Feed every queued datagram (up to the batch cap) to the node. */
static int
runtime_drain_socket(quorum_runtime *rt, quorum_time_ms now_ms)
{
	for (int n = 0; n < RUNTIME_RECV_BATCH; n++)
	{
		struct sockaddr_storage ss;
		socklen_t	sslen = sizeof(ss);
		struct quorum_input in;
		ssize_t		got;
		int			rc;

		got = recvfrom(rt->fd, rt->recv_buf, sizeof(rt->recv_buf), 0,
					   (struct sockaddr *) &ss, &sslen);
		if (got < 0)
		{
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				rt->recv_errors++;
			return 0;
		}

		/* After leaving the node idles: read to keep the queue empty. */
		if (rt->left)
			continue;

		memset(&in, 0, sizeof(in));
		in.type = QUORUM_IN_DATAGRAM;
		in.now_ms = now_ms;
		if (!runtime_from_sockaddr(&ss, &in.u.datagram.from))
			continue;
		in.u.datagram.data = rt->recv_buf;
		in.u.datagram.len = (size_t) got;
		rc = runtime_step(rt, &in);
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

		memset(&in, 0, sizeof(in));
		in.type = QUORUM_IN_COMMAND;
		in.now_ms = now_ms;
		in.u.command.type = QUORUM_CMD_JOIN;
		in.u.command.addr = rt->seeds[i];
		rc = runtime_step(rt, &in);
		if (rc != 0)
			return rc;
	}
	return 0;
}

int
quorum_runtime_process(quorum_runtime *runtime, quorum_time_ms now_ms)
{
	quorum_runtime *rt = runtime;
	int			rc;

	if (rt == NULL)
		return QUORUM_EINVAL;
	if (rt->busy)
		return QUORUM_EBUSY;
	rt->busy = true;

	rc = runtime_drain_socket(rt, now_ms);

	/*
	 * The first call always ticks: the node asks to persist its starting
	 * incarnation at its first step, and a host reading the node after
	 * process() should find that done rather than wait for the first
	 * probe deadline.
	 */
	if (rc == 0 && !rt->left &&
		(!rt->stepped || quorum_node_deadline_ms(rt->node) <= now_ms))
	{
		struct quorum_input in;

		memset(&in, 0, sizeof(in));
		in.type = QUORUM_IN_TICK;
		in.now_ms = now_ms;
		rc = runtime_step(rt, &in);
	}

	/*
	 * Alone (at start, or after everyone else died or we were partitioned
	 * and declared them dead), nobody will ever probe us: keep knocking on
	 * the seeds' doors until somebody answers.
	 */
	if (rc == 0 && rt->next_rejoin_ms <= now_ms && runtime_wants_rejoin(rt))
	{
		rt->next_rejoin_ms = now_ms + rt->rejoin_interval_ms;
		rc = runtime_join_seeds(rt, now_ms);
	}

	rt->busy = false;
	return rc;
}

/* One host-initiated input, under the re-entry guard. */
static int
runtime_step_guarded(quorum_runtime *rt, const struct quorum_input *in)
{
	int			rc;

	if (rt == NULL)
		return QUORUM_EINVAL;
	if (rt->busy)
		return QUORUM_EBUSY;
	if (rt->left)
		return QUORUM_ESTATE;
	rt->busy = true;
	rc = runtime_step(rt, in);
	rt->busy = false;
	return rc;
}

int
quorum_runtime_set_facts(quorum_runtime *runtime,
						 const struct quorum_meta *facts, quorum_time_ms now_ms)
{
	struct quorum_input in;

	if (facts == NULL)
		return QUORUM_EINVAL;
	memset(&in, 0, sizeof(in));
	in.type = QUORUM_IN_FACTS;
	in.now_ms = now_ms;
	in.u.facts = *facts;
	return runtime_step_guarded(runtime, &in);
}

int
quorum_runtime_join(quorum_runtime *runtime, const struct quorum_addr *seed,
					quorum_time_ms now_ms)
{
	struct quorum_input in;

	if (seed == NULL)
		return QUORUM_EINVAL;
	memset(&in, 0, sizeof(in));
	in.type = QUORUM_IN_COMMAND;
	in.now_ms = now_ms;
	in.u.command.type = QUORUM_CMD_JOIN;
	in.u.command.addr = *seed;
	return runtime_step_guarded(runtime, &in);
}

int
quorum_runtime_leave(quorum_runtime *runtime, quorum_time_ms now_ms)
{
	struct quorum_input in;
	int			rc;

	memset(&in, 0, sizeof(in));
	in.type = QUORUM_IN_COMMAND;
	in.now_ms = now_ms;
	in.u.command.type = QUORUM_CMD_LEAVE;
	rc = runtime_step_guarded(runtime, &in);
	if (rc == 0)
		runtime->left = true;
	return rc;
}

int
quorum_runtime_command(quorum_runtime *runtime, const struct quorum_command *cmd,
					   quorum_time_ms now_ms)
{
	struct quorum_input in;

	if (cmd == NULL)
		return QUORUM_EINVAL;
	if (cmd->type == QUORUM_CMD_LEAVE)
		return quorum_runtime_leave(runtime, now_ms);
	memset(&in, 0, sizeof(in));
	in.type = QUORUM_IN_COMMAND;
	in.now_ms = now_ms;
	in.u.command = *cmd;
	return runtime_step_guarded(runtime, &in);
}

const quorum_node *
quorum_runtime_node(const quorum_runtime *runtime)
{
	return runtime != NULL ? runtime->node : NULL;
}

quorum_time_ms
quorum_runtime_now_ms(void)
{
	struct timespec ts;

	/* CLOCK_MONOTONIC cannot fail with a valid clock id and pointer. */
	(void) clock_gettime(CLOCK_MONOTONIC, &ts);
	return (quorum_time_ms) ts.tv_sec * 1000 + (quorum_time_ms) ts.tv_nsec / 1000000;
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
