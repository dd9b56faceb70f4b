/*-------------------------------------------------------------------------
 *
 * http.c
 *	  The pg_quorum HTTP worker: a single-threaded, non-blocking server for
 *	  load-balancer checks, probes and Prometheus.
 *
 * It is a background worker of its own, registered by _PG_init() only when
 * pg_quorum.http_listen is set, so that no client can delay the gossip
 * worker's heartbeats.  One loop waits on the latch, the listening socket
 * and every open connection; each connection reads one request head
 * (http_parse.c), gets one response (http_render.c, which copies the shared
 * state under LW_SHARED and releases the lock before writing anything) and
 * is closed.  Bounds: at most HTTP_CONNECTIONS_MAX connections (more are
 * accepted and closed at once, so a flood cannot queue behind slow
 * clients), PGQ_HTTP_REQUEST_MAX bytes of request, and HTTP_TIMEOUT_MS from
 * accept to the last byte of the response.
 *
 * With pg_quorum.http_ssl_cert_file and _key_file it speaks TLS only
 * (OpenSSL, non-blocking handshakes in the same loop).  With
 * pg_quorum.http_auth_file it asks for basic authentication on every path
 * but the checks (see http_render.c); the file is re-read on SIGHUP.
 *
 * extension/http.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <fcntl.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

/* these are always necessary for a bgworker */
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"

#include "common/base64.h"
#include "lib/stringinfo.h"
#include "storage/fd.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "quorum/quorum.h"

#include "guc.h"
#include "http.h"
#include "pg_compat.h"
#include "shmem.h"

/* Connections served at once; more are closed on accept. */
#define HTTP_CONNECTIONS_MAX 32
/* From accept to the response's last byte, ms: slow clients are cut. */
#define HTTP_TIMEOUT_MS 5000
/* Largest auth file, bytes. */
#define HTTP_AUTH_FILE_MAX 1024

typedef enum HttpPhase
{
	HTTP_FREE = 0,
	HTTP_HANDSHAKE,				/* TLS handshake under way */
	HTTP_READING,
	HTTP_WRITING
} HttpPhase;

typedef struct HttpConn
{
	HttpPhase	phase;
	pgsocket	sock;
	SSL		   *ssl;			/* NULL without TLS */
	bool		want_write;		/* TLS needs the socket writable to go on */
	quorum_time_ms deadline_ms;
	size_t		in_len;
	char		in[PGQ_HTTP_REQUEST_MAX];
	char	   *out;			/* the response, in TopMemoryContext */
	int			out_len;
	int			out_done;
} HttpConn;

static HttpConn http_conns[HTTP_CONNECTIONS_MAX];
static pgsocket http_listener = PGINVALID_SOCKET;
static SSL_CTX *http_ssl_ctx = NULL;
/* base64 of "user:password"; "" = no authentication asked. */
static char *http_auth_token = NULL;

/*
 * Read pg_quorum.http_auth_file into http_auth_token; the file holds one
 * line "user:password".  At start a bad file is FATAL (elevel), on reload
 * a LOG that keeps the credentials in force.
 */
static void
http_load_auth(int elevel)
{
	const char *path = pgq_http_auth_file;
	char		buf[HTTP_AUTH_FILE_MAX + 1];
	struct stat st;
	int			fd;
	ssize_t		n;
	size_t		len;
	char	   *token;
	int			token_len;

	if (path == NULL || path[0] == '\0')
	{
		if (http_auth_token != NULL)
			pfree(http_auth_token);
		http_auth_token = MemoryContextStrdup(TopMemoryContext, "");
		return;
	}
	fd = OpenTransientFile(path, O_RDONLY | PG_BINARY);
	if (fd < 0 || fstat(fd, &st) != 0)
	{
		ereport(elevel,
				(errcode_for_file_access(),
				 errmsg("could not read file \"%s\" of parameter \"pg_quorum.http_auth_file\": %m",
						path)));
		if (fd >= 0)
			CloseTransientFile(fd);
		return;
	}
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
	{
		CloseTransientFile(fd);
		ereport(elevel,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("file \"%s\" of parameter \"pg_quorum.http_auth_file\" has group or world access",
						path),
				 errhint("Make it readable by the server's user only: chmod 0600.")));
		return;
	}
	n = read(fd, buf, HTTP_AUTH_FILE_MAX + 1);
	CloseTransientFile(fd);
	len = n > 0 ? (size_t) n : 0;
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	buf[len] = '\0';
	if (n < 0 || n > HTTP_AUTH_FILE_MAX || strchr(buf, ':') == NULL ||
		strchr(buf, '\n') != NULL || strlen(buf) != len)
	{
		explicit_bzero(buf, sizeof(buf));
		ereport(elevel,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("invalid file \"%s\" of parameter \"pg_quorum.http_auth_file\"", path),
				 errdetail("The file must hold one line \"user:password\", at most %d bytes.",
						   HTTP_AUTH_FILE_MAX)));
		return;
	}
	token_len = pg_b64_enc_len(len);
	token = MemoryContextAlloc(TopMemoryContext, token_len + 1);
	token_len = pg_b64_encode(PGQ_B64_SRC(buf), len, token, token_len);
	explicit_bzero(buf, sizeof(buf));
	if (token_len < 0)
		ereport(FATAL, (errmsg("could not encode the HTTP credentials")));
	token[token_len] = '\0';
	if (http_auth_token != NULL)
	{
		explicit_bzero(http_auth_token, strlen(http_auth_token));
		pfree(http_auth_token);
	}
	http_auth_token = token;
}

/* Whether req's credentials pass; in constant time for equal lengths. */
static bool
http_authorized(const PgqHttpRequest *req)
{
	size_t		len = strlen(http_auth_token);

	if (len == 0)
		return true;
	return req->has_auth && strlen(req->auth) == len &&
		CRYPTO_memcmp(req->auth, http_auth_token, len) == 0;
}

/* OpenSSL's reason for the last failure, for an errdetail. */
static const char *
http_ssl_reason(void)
{
	unsigned long e = ERR_get_error();
	const char *reason = e != 0 ? ERR_reason_error_string(e) : NULL;

	return reason != NULL ? reason : "unknown OpenSSL error";
}

static void
http_ssl_init(void)
{
	const char *cert = pgq_http_ssl_cert_file;
	const char *key = pgq_http_ssl_key_file;

	if ((cert == NULL || cert[0] == '\0') && (key == NULL || key[0] == '\0'))
		return;
	if (cert == NULL || cert[0] == '\0' || key == NULL || key[0] == '\0')
		ereport(FATAL,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("pg_quorum.http_ssl_cert_file and pg_quorum.http_ssl_key_file must be set together")));
	http_ssl_ctx = SSL_CTX_new(TLS_server_method());
	if (http_ssl_ctx == NULL)
		ereport(FATAL,
				(errcode(ERRCODE_SYSTEM_ERROR),
				 errmsg("could not create a TLS context for the pg_quorum HTTP endpoint"),
				 errdetail("OpenSSL reported: %s.", http_ssl_reason())));
	SSL_CTX_set_min_proto_version(http_ssl_ctx, TLS1_2_VERSION);
	SSL_CTX_set_mode(http_ssl_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
					 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (SSL_CTX_use_certificate_chain_file(http_ssl_ctx, cert) != 1)
		ereport(FATAL,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("could not load certificate file \"%s\" of parameter \"pg_quorum.http_ssl_cert_file\"",
						cert),
				 errdetail("OpenSSL reported: %s.", http_ssl_reason())));
	if (SSL_CTX_use_PrivateKey_file(http_ssl_ctx, key, SSL_FILETYPE_PEM) != 1)
		ereport(FATAL,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("could not load private key file \"%s\" of parameter \"pg_quorum.http_ssl_key_file\"",
						key),
				 errdetail("OpenSSL reported: %s.", http_ssl_reason())));
	if (SSL_CTX_check_private_key(http_ssl_ctx) != 1)
		ereport(FATAL,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("private key file \"%s\" does not match certificate file \"%s\"",
						key, cert),
				 errdetail("OpenSSL reported: %s.", http_ssl_reason())));
}

static void
http_listen_open(void)
{
	struct quorum_addr addr;
	struct sockaddr_storage ss;
	socklen_t	ss_len;
	int			one = 1;

	if (quorum_addr_parse(pgq_http_listen, &addr) != 0 || addr.port == 0)
		ereport(FATAL,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for parameter \"pg_quorum.http_listen\": \"%s\"",
						pgq_http_listen),
				 errdetail("A numeric address and a port other than 0, such as \"0.0.0.0:8008\" or \"[::]:8008\", is required.")));
	memset(&ss, 0, sizeof(ss));
	if (addr.family == 4)
	{
		struct sockaddr_in *sin = (struct sockaddr_in *) &ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(addr.port);
		memcpy(&sin->sin_addr, addr.bytes, 4);
		ss_len = sizeof(*sin);
	}
	else
	{
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) &ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(addr.port);
		memcpy(&sin6->sin6_addr, addr.bytes, 16);
		ss_len = sizeof(*sin6);
	}
	http_listener = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (http_listener == PGINVALID_SOCKET ||
		setsockopt(http_listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
		bind(http_listener, (struct sockaddr *) &ss, ss_len) != 0 ||
		listen(http_listener, HTTP_CONNECTIONS_MAX) != 0)
		ereport(FATAL,
				(errcode_for_socket_access(),
				 errmsg("could not listen on \"%s\" for parameter \"pg_quorum.http_listen\": %m",
						pgq_http_listen)));
}

static void
http_close(HttpConn *c)
{
	if (c->ssl != NULL)
	{
		/* One close_notify, never waited for: the response is complete. */
		(void) SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	closesocket(c->sock);
	if (c->out != NULL)
		pfree(c->out);
	memset(c, 0, sizeof(*c));
	c->sock = PGINVALID_SOCKET;
}

static void
http_accept(quorum_time_ms now)
{
	for (;;)
	{
		pgsocket	s = accept4(http_listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		HttpConn   *c = NULL;
		int			one = 1;

		if (s == PGINVALID_SOCKET)
		{
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
				errno != ECONNABORTED)
				ereport(LOG,
						(errcode_for_socket_access(),
						 errmsg("could not accept an HTTP connection: %m")));
			return;
		}
		for (int i = 0; i < HTTP_CONNECTIONS_MAX && c == NULL; i++)
			if (http_conns[i].phase == HTTP_FREE)
				c = &http_conns[i];
		if (c == NULL)
		{
			closesocket(s);
			continue;
		}
		(void) setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->sock = s;
		c->deadline_ms = now + HTTP_TIMEOUT_MS;
		c->phase = HTTP_READING;
		if (http_ssl_ctx != NULL)
		{
			c->ssl = SSL_new(http_ssl_ctx);
			if (c->ssl == NULL || SSL_set_fd(c->ssl, s) != 1)
			{
				http_close(c);
				continue;
			}
			c->phase = HTTP_HANDSHAKE;
		}
	}
}

/*
 * The outcome of one TLS call: > 0 done, 0 would block (want_write says
 * on what), < 0 the connection is over.
 */
static int
http_ssl_result(HttpConn *c, int rc)
{
	int			err;

	if (rc > 0)
		return rc;
	err = SSL_get_error(c->ssl, rc);
	ERR_clear_error();
	if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
	{
		c->want_write = err == SSL_ERROR_WANT_WRITE;
		return 0;
	}
	return -1;
}

/* Read what is there; -1 = closed or failed, 0 = would block. */
static ssize_t
http_recv(HttpConn *c, char *buf, size_t len)
{
	ssize_t		n;

	if (c->ssl != NULL)
		return http_ssl_result(c, SSL_read(c->ssl, buf, (int) len));
	n = recv(c->sock, buf, len, 0);
	if (n > 0)
		return n;
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return 0;
	return -1;
}

static ssize_t
http_send(HttpConn *c, const char *buf, size_t len)
{
	ssize_t		n;

	if (c->ssl != NULL)
		return http_ssl_result(c, SSL_write(c->ssl, buf, (int) len));
	n = send(c->sock, buf, len, MSG_NOSIGNAL);
	if (n >= 0)
		return n;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return 0;
	return -1;
}

/* Move connection c on as far as its socket allows. */
static void
http_progress(HttpConn *c)
{
	c->want_write = false;
	if (c->phase == HTTP_HANDSHAKE)
	{
		int			rc = http_ssl_result(c, SSL_accept(c->ssl));

		if (rc < 0)
		{
			http_close(c);
			return;
		}
		if (rc == 0)
			return;
		c->phase = HTTP_READING;
	}
	if (c->phase == HTTP_READING)
	{
		PgqHttpRequest req;
		PgqHttpParse verdict = PGQ_HTTP_INCOMPLETE;
		StringInfoData out;

		while (verdict == PGQ_HTTP_INCOMPLETE && c->in_len < sizeof(c->in))
		{
			ssize_t		n = http_recv(c, c->in + c->in_len, sizeof(c->in) - c->in_len);

			if (n < 0)
			{
				http_close(c);
				return;
			}
			if (n == 0)
				return;
			c->in_len += n;
			verdict = pgq_http_parse(c->in, c->in_len, &req);
		}
		if (verdict == PGQ_HTTP_INCOMPLETE)
			verdict = pgq_http_parse(c->in, c->in_len, &req);
		/* Built in the loop's context, kept until the client has it all. */
		initStringInfo(&out);
		pgq_http_respond(&req, verdict, verdict == PGQ_HTTP_OK && http_authorized(&req),
						 &out);
		c->out = MemoryContextAlloc(TopMemoryContext, out.len);
		memcpy(c->out, out.data, out.len);
		c->out_len = out.len;
		c->phase = HTTP_WRITING;
	}
	while (c->out_done < c->out_len)
	{
		ssize_t		n = http_send(c, c->out + c->out_done,
								  c->out_len - c->out_done);

		if (n < 0)
		{
			http_close(c);
			return;
		}
		if (n == 0)
		{
			/* A plain socket that is full waits to become writable. */
			if (c->ssl == NULL)
				c->want_write = true;
			return;
		}
		c->out_done += n;
	}
	http_close(c);
}

/* The events connection c waits for. */
static uint32
http_wanted(const HttpConn *c)
{
	if (c->want_write || (c->phase == HTTP_WRITING && c->ssl == NULL))
		return WL_SOCKET_WRITEABLE;
	return WL_SOCKET_READABLE;
}

/* Everything before the loop: connections, credentials, TLS, the socket. */
static void
http_start(void)
{
	const char *serves;

	if (pgq_shared == NULL)
		ereport(FATAL,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pg_quorum shared memory is not initialized")));
	for (int i = 0; i < HTTP_CONNECTIONS_MAX; i++)
		http_conns[i].sock = PGINVALID_SOCKET;
	http_load_auth(FATAL);
	http_ssl_init();
	http_listen_open();
	if (http_auth_token[0] != '\0')
		serves = http_ssl_ctx != NULL ?
			"It serves HTTPS only, and asks for basic authentication on /cluster and /metrics." :
			"It serves plain HTTP, and asks for basic authentication on /cluster and /metrics.";
	else
		serves = http_ssl_ctx != NULL ? "It serves HTTPS only." : "It serves plain HTTP.";
	ereport(LOG,
			(errmsg("pg_quorum HTTP endpoint listening on %s", pgq_http_listen),
			 errdetail("%s", serves)));
}

/*
 * Wait for the latch, the listener or any open connection, at most until
 * the nearest connection deadline (connections past theirs are closed
 * here); returns how many events were filled in.
 *
 * The set is rebuilt on every pass: connections come and go, and a
 * WaitEventSet cannot drop a socket.  At this request rate the epoll calls
 * cost nothing.
 */
static int
http_wait(WaitEvent *events, int max)
{
	quorum_time_ms now = quorum_runtime_now_ms();
	long		timeout = -1;
	WaitEventSet *set;
	int			n;

	set = CreateWaitEventSet(NULL, HTTP_CONNECTIONS_MAX + 3);
	AddWaitEventToSet(set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
	AddWaitEventToSet(set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
	AddWaitEventToSet(set, WL_SOCKET_READABLE, http_listener, NULL, NULL);
	for (int i = 0; i < HTTP_CONNECTIONS_MAX; i++)
	{
		HttpConn   *c = &http_conns[i];

		if (c->phase == HTTP_FREE)
			continue;
		if (c->deadline_ms <= now)
		{
			http_close(c);
			continue;
		}
		AddWaitEventToSet(set, http_wanted(c), c->sock, NULL, c);
		if (timeout < 0 || (long) (c->deadline_ms - now) < timeout)
			timeout = (long) (c->deadline_ms - now);
	}
	n = WaitEventSetWait(set, timeout, events, max, PGQ_WAIT_EVENT_MAIN);
	FreeWaitEventSet(set);
	return n;
}

void
pgq_http_main(Datum main_arg)
{
	MemoryContext loop_cxt;
	WaitEvent	events[HTTP_CONNECTIONS_MAX + 3];

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	http_start();

	loop_cxt = AllocSetContextCreate(TopMemoryContext, "pg_quorum http loop",
									 ALLOCSET_DEFAULT_SIZES);
	for (;;)
	{
		MemoryContext old = MemoryContextSwitchTo(loop_cxt);
		int			n = http_wait(events, lengthof(events));
		quorum_time_ms now;

		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			http_load_auth(LOG);
		}

		now = quorum_runtime_now_ms();
		for (int i = 0; i < n; i++)
		{
			if (events[i].events & WL_LATCH_SET)
				continue;
			if (events[i].fd == http_listener)
				http_accept(now);
			else if (events[i].user_data != NULL)
				http_progress((HttpConn *) events[i].user_data);
		}
		MemoryContextSwitchTo(old);
		MemoryContextReset(loop_cxt);
	}
}
