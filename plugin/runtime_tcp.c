/*-------------------------------------------------------------------------
 *
 * runtime_tcp.c
 *	  Push-pull over TCP: the runtime carries the core's push-pull chunks to
 *	  a peer over a short-lived TCP connection instead of a UDP burst.
 *
 * The core does no IO and knows only datagrams (swim_pushpull.c sends its
 * full state as chunks of one datagram each).  DESIGN.md wants full-state
 * anti-entropy over TCP when it exceeds a datagram, as memberlist does, so
 * the runtime does it without the core knowing how: carry_out (runtime.c)
 * hands each datagram the node marked pushpull here, and the chunks of one step to one
 * peer travel over one connection to the peer's gossip port, then the
 * connection closes.  The stream is
 *
 *   hello   "QPT1" | sender's UDP port (2, big-endian) | 0 (2)
 *   frame   length (4, big-endian) | one sealed datagram     (repeated)
 *
 * The receiver feeds each frame to its node as a datagram from (the
 * connection's source address, the hello's port), which is where a UDP
 * datagram of the sender would have come from, so the node answers the
 * same way.  The frames are sealed like any datagram, so the stream needs
 * no protection of its own: a forged frame fails authentication and a
 * replayed one the replay check, whatever the hello says.
 *
 * A peer that refuses or does not answer the connection within
 * TCP_CONNECT_MS (no listener: the PostgreSQL worker drives its node
 * without TCP) gets the chunks by UDP, and is remembered for TCP_RETRY_MS so
 * that the next exchanges go by UDP at once.  Everything is bounded:
 * QUORUM__RT_TCP_CONNS_MAX connections each way, TCP_FRAMES_MAX frames per
 * connection, TCP_IO_MS per connection.  Only the writer thread runs this.
 *
 * plugin/runtime_tcp.c
 *
 *-------------------------------------------------------------------------
 */
#include "runtime_internal.h"

#include "quorum/error.h"
#include "internal.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Give up connecting after this long and use UDP, ms. */
#define TCP_CONNECT_MS 1000
/* A connection must finish (or an incoming one stay busy) within, ms. */
#define TCP_IO_MS 5000
/* After a failed connection, go by UDP to that peer for this long, ms. */
#define TCP_RETRY_MS 60000
/* Most frames one connection carries. */
#define TCP_FRAMES_MAX 256
#define TCP_HELLO_BYTES 8
#define TCP_FRAME_HEADER_BYTES 4

struct quorum__rt_conn
{
	int			fd;
	bool		outgoing;
	bool		connected;		/* outgoing: connect() completed */
	bool		hello_done;		/* incoming: the hello was read */
	struct quorum_addr peer;	/* outgoing: where to; incoming: the sender */
	quorum_time_ms deadline_ms;
	unsigned	frames;
	uint8_t    *buf;
	size_t		len;			/* bytes in buf */
	size_t		cap;
	size_t		sent;			/* outgoing: bytes written so far */
};

static void
tcp_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t) (v >> 24);
	p[1] = (uint8_t) (v >> 16);
	p[2] = (uint8_t) (v >> 8);
	p[3] = (uint8_t) v;
}

static uint32_t
tcp_get32(const uint8_t *p)
{
	return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16) |
		((uint32_t) p[2] << 8) | (uint32_t) p[3];
}

int
quorum__runtime_tcp_bind(quorum_runtime *rt, char *errbuf, size_t errbuf_len)
{
	struct sockaddr_storage ss;
	socklen_t	len;
	char		text[QUORUM_ADDR_STRLEN];
	int			one = 1;
	int			fd;

	quorum_addr_format(&rt->bound, text, sizeof(text));
	fd = socket(rt->sock_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
	{
		quorum__runtime_errmsg(errbuf, errbuf_len, errno,
							   "could not create TCP socket for \"%s\"", text);
		return QUORUM_EIO;
	}
	/* A restart must not wait for the last run's TIME_WAIT connections. */
	(void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (rt->sock_family == AF_INET6)
	{
		static const uint8_t any6[16];
		int			off = 0;

		if (memcmp(rt->bound.bytes, any6, 16) == 0)
			(void) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	}
	if (!quorum__runtime_to_sockaddr(&rt->bound, rt->sock_family, &ss, &len) ||
		bind(fd, (struct sockaddr *) &ss, len) != 0)
	{
		quorum__runtime_errmsg(errbuf, errbuf_len, errno,
							   "could not bind TCP socket to \"%s\" for push-pull", text);
		close(fd);
		return QUORUM_EIO;
	}
	rt->tcp.listen_fd = fd;
	return 0;
}

int
quorum__runtime_tcp_open(quorum_runtime *rt, char *errbuf, size_t errbuf_len)
{
	struct epoll_event ev;
	char		text[QUORUM_ADDR_STRLEN];
	int			rc;

	if (rt->tcp.listen_fd < 0)
	{
		rc = quorum__runtime_tcp_bind(rt, errbuf, errbuf_len);
		if (rc != 0)
			return rc;
	}
	quorum_addr_format(&rt->bound, text, sizeof(text));
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u64 = QUORUM__RT_TAG_LISTEN;
	if (listen(rt->tcp.listen_fd, QUORUM__RT_TCP_CONNS_MAX) != 0 ||
		epoll_ctl(rt->epoll_fd, EPOLL_CTL_ADD, rt->tcp.listen_fd, &ev) != 0)
	{
		quorum__runtime_errmsg(errbuf, errbuf_len, errno,
							   "could not listen on TCP \"%s\" for push-pull", text);
		close(rt->tcp.listen_fd);
		rt->tcp.listen_fd = -1;
		return QUORUM_EIO;
	}
	return 0;
}

static void
tcp_conn_free(struct quorum__rt_conn *c)
{
	if (c == NULL)
		return;
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	free(c);
}

void
quorum__runtime_tcp_close(quorum_runtime *rt)
{
	for (int i = 0; i < QUORUM__RT_TCP_CONNS_MAX; i++)
	{
		tcp_conn_free(rt->tcp.in[i]);
		rt->tcp.in[i] = NULL;
		tcp_conn_free(rt->tcp.out[i]);
		rt->tcp.out[i] = NULL;
	}
	if (rt->tcp.listen_fd >= 0)
		close(rt->tcp.listen_fd);
	rt->tcp.listen_fd = -1;
}

/* Whether to is remembered as not speaking TCP. */
static bool
tcp_is_notcp(quorum_runtime *rt, const struct quorum_addr *to, quorum_time_ms now_ms)
{
	for (int i = 0; i < QUORUM__RT_TCP_NOTCP_MAX; i++)
	{
		struct quorum__rt_notcp *e = &rt->tcp.notcp[i];

		if (e->until_ms > now_ms && quorum_addr_equal(&e->addr, to))
			return true;
	}
	return false;
}

/* Remember to as not speaking TCP, in the slot expiring first. */
static void
tcp_mark_notcp(quorum_runtime *rt, const struct quorum_addr *to, quorum_time_ms now_ms)
{
	struct quorum__rt_notcp *slot = &rt->tcp.notcp[0];

	for (int i = 0; i < QUORUM__RT_TCP_NOTCP_MAX; i++)
	{
		struct quorum__rt_notcp *e = &rt->tcp.notcp[i];

		if (quorum_addr_equal(&e->addr, to))
		{
			slot = e;
			break;
		}
		if (e->until_ms < slot->until_ms)
			slot = e;
	}
	slot->addr = *to;
	slot->until_ms = now_ms + TCP_RETRY_MS;
}

/*
 * Drop an outgoing connection that did not deliver everything: the frames
 * not fully written go by UDP (a frame that did arrive as well is dropped
 * by the receiver's replay check), and with notcp the peer is remembered.
 */
static void
tcp_out_fail(quorum_runtime *rt, int slot, bool notcp, quorum_time_ms now_ms)
{
	struct quorum__rt_conn *c = rt->tcp.out[slot];
	size_t		off = TCP_HELLO_BYTES;

	while (off + TCP_FRAME_HEADER_BYTES <= c->len)
	{
		uint32_t	flen = tcp_get32(c->buf + off);
		size_t		end = off + TCP_FRAME_HEADER_BYTES + flen;

		if (end > c->sent)
		{
			quorum__runtime_send_udp(rt, c->buf + off + TCP_FRAME_HEADER_BYTES,
									 flen, &c->peer);
			quorum__runtime_count(&rt->counters.tcp_fallbacks, 1);
		}
		off = end;
	}
	if (notcp)
		tcp_mark_notcp(rt, &c->peer, now_ms);
	else
		quorum__runtime_count(&rt->counters.tcp_errors, 1);
	tcp_conn_free(c);
	rt->tcp.out[slot] = NULL;
}

/* Make room for n more bytes; false past the per-connection bound. */
static bool
tcp_reserve(struct quorum__rt_conn *c, size_t n, size_t bytes_max)
{
	size_t		want = c->len + n;
	size_t		cap;
	uint8_t    *buf;

	if (want <= c->cap)
		return true;
	if (want > bytes_max)
		return false;
	cap = c->cap > 0 ? c->cap : 4096;
	while (cap < want)
		cap *= 2;
	if (cap > bytes_max)
		cap = bytes_max;
	buf = realloc(c->buf, cap);
	if (buf == NULL)
		return false;
	c->buf = buf;
	c->cap = cap;
	return true;
}

/* A new outgoing connection in slot, connecting; NULL if that failed. */
static struct quorum__rt_conn *
tcp_connect(quorum_runtime *rt, int slot, const struct quorum_addr *to,
			quorum_time_ms now_ms)
{
	struct quorum__rt_conn *c;
	struct sockaddr_storage ss;
	struct epoll_event ev;
	socklen_t	len;
	static const uint8_t any[16];

	if (!quorum__runtime_to_sockaddr(to, rt->sock_family, &ss, &len))
		return NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->outgoing = true;
	c->peer = *to;
	c->deadline_ms = now_ms + TCP_CONNECT_MS;
	c->fd = socket(rt->sock_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
	{
		tcp_conn_free(c);
		return NULL;
	}

	/*
	 * Leave from the gossip address, so that the receiver's idea of where
	 * we are (source address plus hello port) is the one UDP would give.
	 */
	if (memcmp(rt->bound.bytes, any, rt->bound.family == 4 ? 4 : 16) != 0)
	{
		struct sockaddr_storage local;
		socklen_t	local_len;
		struct quorum_addr from = rt->bound;

		from.port = 0;
		if (quorum__runtime_to_sockaddr(&from, rt->sock_family, &local, &local_len))
			(void) bind(c->fd, (struct sockaddr *) &local, local_len);
	}

	if (connect(c->fd, (struct sockaddr *) &ss, len) != 0 && errno != EINPROGRESS)
	{
		tcp_mark_notcp(rt, to, now_ms);
		tcp_conn_free(c);
		return NULL;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLOUT;
	ev.data.u64 = QUORUM__RT_TAG_CONN_OUT + (uint64_t) slot;
	if (!tcp_reserve(c, TCP_HELLO_BYTES, TCP_HELLO_BYTES) ||
		epoll_ctl(rt->epoll_fd, EPOLL_CTL_ADD, c->fd, &ev) != 0)
	{
		tcp_conn_free(c);
		return NULL;
	}
	memcpy(c->buf, "QPT1", 4);
	c->buf[4] = (uint8_t) (rt->bound.port >> 8);
	c->buf[5] = (uint8_t) rt->bound.port;
	c->buf[6] = 0;
	c->buf[7] = 0;
	c->len = TCP_HELLO_BYTES;
	quorum__runtime_count(&rt->counters.tcp_connects, 1);
	return c;
}

bool
quorum__runtime_tcp_queue(quorum_runtime *rt, const struct quorum_datagram *dg,
						  quorum_time_ms now_ms)
{
	struct quorum__rt_conn *c = NULL;
	int			free_slot = -1;
	size_t		bytes_max = TCP_HELLO_BYTES +
		(size_t) TCP_FRAMES_MAX * (TCP_FRAME_HEADER_BYTES + rt->datagram_bytes_max);

	if (tcp_is_notcp(rt, &dg->to, now_ms))
		return false;
	for (int i = 0; i < QUORUM__RT_TCP_CONNS_MAX; i++)
	{
		struct quorum__rt_conn *o = rt->tcp.out[i];

		if (o == NULL)
		{
			if (free_slot < 0)
				free_slot = i;
		}
		else if (quorum_addr_equal(&o->peer, &dg->to))
		{
			c = o;
			break;
		}
	}
	if (c == NULL)
	{
		if (free_slot < 0)
			return false;
		c = tcp_connect(rt, free_slot, &dg->to, now_ms);
		if (c == NULL)
			return false;
		rt->tcp.out[free_slot] = c;
	}
	if (c->frames >= TCP_FRAMES_MAX ||
		!tcp_reserve(c, TCP_FRAME_HEADER_BYTES + dg->len, bytes_max))
		return false;
	tcp_put32(c->buf + c->len, (uint32_t) dg->len);
	memcpy(c->buf + c->len + TCP_FRAME_HEADER_BYTES, dg->data, dg->len);
	c->len += TCP_FRAME_HEADER_BYTES + dg->len;
	c->frames++;
	return true;
}

/* The outgoing connection in slot is writable (or failed). */
static void
tcp_out_ready(quorum_runtime *rt, int slot, uint32_t events, quorum_time_ms now_ms)
{
	struct quorum__rt_conn *c = rt->tcp.out[slot];

	if (!c->connected)
	{
		int			err = 0;
		socklen_t	len = sizeof(err);

		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
			err = errno;
		if (err == EINPROGRESS || (err == 0 && !(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))))
			return;
		if (err != 0 || (events & (EPOLLERR | EPOLLHUP)))
		{
			/* Refused, unreachable: this peer does not speak TCP. */
			tcp_out_fail(rt, slot, true, now_ms);
			return;
		}

		/*
		 * An event meant for an earlier connection in this slot (closed and
		 * replaced in the same pass) must not pass for this one's connect.
		 */
		{
			struct sockaddr_storage ss;
			socklen_t	sslen = sizeof(ss);

			if (getpeername(c->fd, (struct sockaddr *) &ss, &sslen) != 0)
				return;
		}
		c->connected = true;
		c->deadline_ms = now_ms + TCP_IO_MS;
	}
	while (c->sent < c->len)
	{
		ssize_t		n = send(c->fd, c->buf + c->sent, c->len - c->sent, MSG_NOSIGNAL);

		if (n < 0)
		{
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			tcp_out_fail(rt, slot, false, now_ms);
			return;
		}
		c->sent += (size_t) n;
	}

	/* All written: the kernel delivers it after close, then sends FIN. */
	quorum__runtime_count(&rt->counters.tcp_frames_out, c->frames);
	tcp_conn_free(c);
	rt->tcp.out[slot] = NULL;
}

static void
tcp_in_close(quorum_runtime *rt, int slot, bool error)
{
	if (error)
		quorum__runtime_count(&rt->counters.tcp_errors, 1);
	tcp_conn_free(rt->tcp.in[slot]);
	rt->tcp.in[slot] = NULL;
}

static void
tcp_accept(quorum_runtime *rt, quorum_time_ms now_ms)
{
	for (;;)
	{
		struct sockaddr_storage ss;
		socklen_t	len = sizeof(ss);
		struct quorum__rt_conn *c;
		struct epoll_event ev;
		int			slot = -1;
		int			fd;

		fd = accept4(rt->tcp.listen_fd, (struct sockaddr *) &ss, &len,
					 SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
		{
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return;
		}
		for (int i = 0; i < QUORUM__RT_TCP_CONNS_MAX && slot < 0; i++)
		{
			if (rt->tcp.in[i] == NULL)
				slot = i;
		}
		c = slot >= 0 ? calloc(1, sizeof(*c)) : NULL;
		if (c == NULL)
		{
			/* Full: the sender falls back to UDP for these chunks. */
			quorum__runtime_count(&rt->counters.tcp_errors, 1);
			close(fd);
			continue;
		}
		c->fd = fd;
		c->deadline_ms = now_ms + TCP_IO_MS;
		c->cap = TCP_HELLO_BYTES + 2 * (TCP_FRAME_HEADER_BYTES + rt->datagram_bytes_max);
		c->buf = malloc(c->cap);
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.u64 = QUORUM__RT_TAG_CONN_IN + (uint64_t) slot;
		if (c->buf == NULL || !quorum__runtime_from_sockaddr(&ss, &c->peer) ||
			epoll_ctl(rt->epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0)
		{
			quorum__runtime_count(&rt->counters.tcp_errors, 1);
			tcp_conn_free(c);
			continue;
		}
		rt->tcp.in[slot] = c;
		quorum__runtime_count(&rt->counters.tcp_accepts, 1);
	}
}

/*
 * Consume what is complete in an incoming connection's buffer: the hello,
 * then frames, each fed to the node.  Returns 0, a persist error, or 1 when
 * the stream is bad and the connection must close.
 */
static int
tcp_in_parse(quorum_runtime *rt, struct quorum__rt_conn *c, quorum_time_ms now_ms)
{
	size_t		off = 0;
	int			rc = 0;

	if (!c->hello_done)
	{
		if (c->len < TCP_HELLO_BYTES)
			return 0;
		if (memcmp(c->buf, "QPT1", 4) != 0)
			return 1;
		c->peer.port = (uint16_t) ((c->buf[4] << 8) | c->buf[5]);
		c->hello_done = true;
		off = TCP_HELLO_BYTES;
	}
	while (rc == 0 && c->len - off >= TCP_FRAME_HEADER_BYTES)
	{
		uint32_t	flen = tcp_get32(c->buf + off);
		if (flen == 0 || flen > rt->datagram_bytes_max)
			return 1;
		if (c->len - off - TCP_FRAME_HEADER_BYTES < flen)
			break;
		if (++c->frames > TCP_FRAMES_MAX)
			return 1;
		quorum__runtime_count(&rt->counters.tcp_frames_in, 1);
		if (!rt->left)
			rc = quorum__runtime_step_datagram(rt, &c->peer,
											   c->buf + off + TCP_FRAME_HEADER_BYTES,
											   flen, now_ms);
		off += TCP_FRAME_HEADER_BYTES + flen;
	}
	memmove(c->buf, c->buf + off, c->len - off);
	c->len -= off;
	return rc;
}

static int
tcp_in_ready(quorum_runtime *rt, int slot, quorum_time_ms now_ms)
{
	struct quorum__rt_conn *c = rt->tcp.in[slot];

	for (;;)
	{
		ssize_t		n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
		int			rc;

		if (n == 0)
		{
			/* A clean end leaves nothing half-read. */
			tcp_in_close(rt, slot, c->len != 0 || !c->hello_done);
			return 0;
		}
		if (n < 0)
		{
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				tcp_in_close(rt, slot, true);
			return 0;
		}
		c->len += (size_t) n;
		c->deadline_ms = now_ms + TCP_IO_MS;
		rc = tcp_in_parse(rt, c, now_ms);
		if (rc == 1)
		{
			tcp_in_close(rt, slot, true);
			return 0;
		}
		if (rc != 0)
			return rc;
	}
}

int
quorum__runtime_tcp_event(quorum_runtime *rt, uint64_t tag, uint32_t events,
						  quorum_time_ms now_ms)
{
	if (tag == QUORUM__RT_TAG_LISTEN)
	{
		if (rt->tcp.listen_fd >= 0)
			tcp_accept(rt, now_ms);
		return 0;
	}
	if (tag >= QUORUM__RT_TAG_CONN_OUT &&
		tag < QUORUM__RT_TAG_CONN_OUT + QUORUM__RT_TCP_CONNS_MAX)
	{
		int			slot = (int) (tag - QUORUM__RT_TAG_CONN_OUT);

		/* The connection may have closed earlier in this pass. */
		if (rt->tcp.out[slot] != NULL)
			tcp_out_ready(rt, slot, events, now_ms);
		return 0;
	}
	if (tag >= QUORUM__RT_TAG_CONN_IN &&
		tag < QUORUM__RT_TAG_CONN_IN + QUORUM__RT_TCP_CONNS_MAX)
	{
		int			slot = (int) (tag - QUORUM__RT_TAG_CONN_IN);

		if (rt->tcp.in[slot] != NULL)
			return tcp_in_ready(rt, slot, now_ms);
	}
	return 0;
}

int
quorum__runtime_tcp_timers(quorum_runtime *rt, quorum_time_ms now_ms)
{
	for (int i = 0; i < QUORUM__RT_TCP_CONNS_MAX; i++)
	{
		struct quorum__rt_conn *o = rt->tcp.out[i];

		if (o != NULL && o->deadline_ms <= now_ms)
			tcp_out_fail(rt, i, !o->connected, now_ms);
		if (rt->tcp.in[i] != NULL && rt->tcp.in[i]->deadline_ms <= now_ms)
			tcp_in_close(rt, i, true);
	}
	return 0;
}

quorum_time_ms
quorum__runtime_tcp_deadline(const quorum_runtime *rt)
{
	quorum_time_ms deadline = UINT64_MAX;

	for (int i = 0; i < QUORUM__RT_TCP_CONNS_MAX; i++)
	{
		if (rt->tcp.out[i] != NULL)
			deadline = QUORUM_MIN(deadline, rt->tcp.out[i]->deadline_ms);
		if (rt->tcp.in[i] != NULL)
			deadline = QUORUM_MIN(deadline, rt->tcp.in[i]->deadline_ms);
	}
	return deadline;
}
