/*-------------------------------------------------------------------------
 *
 * http_parse.c
 *	  Parsing of one HTTP/1.x request head (see http_parse.h).
 *
 * Deliberately strict and small: the clients are load balancers, probes
 * and Prometheus, which send a request line, a few headers and no body.
 * Anything outside RFC 9112's request-line and field-line grammar, a body
 * (Content-Length other than 0, any Transfer-Encoding), obsolete line
 * folding, a repeated Authorization header or a head longer than
 * PGQ_HTTP_REQUEST_MAX is malformed.  Lines may end in CRLF or a bare LF
 * (RFC 9112 §2.2 lets a server accept the latter).
 *
 * This file includes no PostgreSQL header on purpose: the fuzz target and
 * the unit test build it alone.
 *
 * extension/http_parse.c
 *
 *-------------------------------------------------------------------------
 */
#include "http_parse.h"

#include <string.h>

/* A "tchar" of RFC 9110 §5.6.2: what a method or a field name is made of. */
static bool
http_is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool
http_token_is(const char *p, size_t len, const char *word)
{
	size_t		wlen = strlen(word);

	if (len != wlen)
		return false;
	for (size_t i = 0; i < len; i++)
	{
		unsigned char a = (unsigned char) p[i];
		unsigned char b = (unsigned char) word[i];

		if (a >= 'A' && a <= 'Z')
			a += 'a' - 'A';
		if (b >= 'A' && b <= 'Z')
			b += 'a' - 'A';
		if (a != b)
			return false;
	}
	return true;
}

/* How many of p[0..len) are in set; p need not end in a NUL. */
static size_t
http_span(const char *p, size_t len, const char *set)
{
	size_t		i = 0;

	while (i < len && p[i] != '\0' && strchr(set, p[i]) != NULL)
		i++;
	return i;
}

static PgqHttpParse
http_bad(PgqHttpRequest *req, const char *why)
{
	req->error = why;
	return PGQ_HTTP_BAD;
}

bool
pgq_http_parse_size(const char *text, size_t len, uint64_t *bytes)
{
	static const struct
	{
		const char *unit;
		unsigned	shift;
	}			units[] = {
		{"", 0}, {"B", 0}, {"kB", 10}, {"MB", 20}, {"GB", 30}, {"TB", 40}
	};
	uint64_t	n = 0;
	size_t		i = 0;

	while (i < len && text[i] >= '0' && text[i] <= '9')
	{
		unsigned	d = (unsigned) (text[i] - '0');

		if (n > (UINT64_MAX - d) / 10)
			return false;
		n = n * 10 + d;
		i++;
	}
	if (i == 0)
		return false;
	for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++)
	{
		if (strlen(units[u].unit) != len - i ||
			memcmp(units[u].unit, text + i, len - i) != 0)
			continue;
		if (n > (UINT64_MAX >> units[u].shift))
			return false;
		*bytes = n << units[u].shift;
		return true;
	}
	return false;
}

/* The query string q[0..len): "lag" is ours, other keys are ignored. */
static PgqHttpParse
http_parse_query(const char *q, size_t len, PgqHttpRequest *req)
{
	while (len > 0)
	{
		const char *amp = memchr(q, '&', len);
		size_t		item = amp != NULL ? (size_t) (amp - q) : len;
		const char *eq = memchr(q, '=', item);

		if (eq != NULL && eq - q == 3 && memcmp(q, "lag", 3) == 0)
		{
			if (req->has_lag)
				return http_bad(req, "lag is given twice");
			if (!pgq_http_parse_size(eq + 1, item - 4, &req->lag_bytes))
				return http_bad(req, "lag must be a number of bytes, optionally with a unit (B, kB, MB, GB, TB)");
			req->has_lag = true;
		}
		q += item;
		len -= item;
		if (len > 0)
		{
			q++;
			len--;
		}
	}
	return PGQ_HTTP_OK;
}

/* "METHOD SP request-target SP HTTP/1.x", without its line end. */
static PgqHttpParse
http_parse_request_line(const char *p, size_t len, PgqHttpRequest *req)
{
	size_t		m = 0;
	size_t		t;
	size_t		path_len;
	const char *target;
	size_t		target_len;

	while (m < len && http_is_tchar((unsigned char) p[m]))
		m++;
	if (m == 0 || m >= len || p[m] != ' ')
		return http_bad(req, "malformed request line");
	if (m == 3 && memcmp(p, "GET", 3) == 0)
		req->method = PGQ_HTTP_GET;
	else if (m == 4 && memcmp(p, "HEAD", 4) == 0)
		req->method = PGQ_HTTP_HEAD;
	else
		req->method = PGQ_HTTP_OTHER;

	target = p + m + 1;
	t = 0;
	while (m + 1 + t < len && target[t] > ' ' && target[t] < 0x7f)
		t++;
	target_len = t;
	if (target_len == 0 || target[0] != '/')
		return http_bad(req, "the request target must be an absolute path");
	if (len - (m + 1 + t) != sizeof(" HTTP/1.x") - 1 ||
		memcmp(target + t, " HTTP/1.", 8) != 0 ||
		(target[t + 8] != '0' && target[t + 8] != '1'))
		return http_bad(req, "only HTTP/1.0 and HTTP/1.1 are served");

	path_len = target_len;
	{
		const char *qm = memchr(target, '?', target_len);

		if (qm != NULL)
			path_len = (size_t) (qm - target);
	}
	if (path_len > PGQ_HTTP_PATH_MAX)
		return http_bad(req, "the path is too long");
	memcpy(req->path, target, path_len);
	req->path[path_len] = '\0';
	if (path_len < target_len)
		return http_parse_query(target + path_len + 1,
								target_len - path_len - 1, req);
	return PGQ_HTTP_OK;
}

/* One "name: value" field line, without its line end. */
static PgqHttpParse
http_parse_field(const char *p, size_t len, PgqHttpRequest *req)
{
	size_t		n = 0;
	const char *v;
	size_t		vlen;

	if (len > 0 && (p[0] == ' ' || p[0] == '\t'))
		return http_bad(req, "obsolete line folding is not accepted");
	while (n < len && http_is_tchar((unsigned char) p[n]))
		n++;
	if (n == 0 || n >= len || p[n] != ':')
		return http_bad(req, "malformed header field");
	for (size_t i = n + 1; i < len; i++)
	{
		unsigned char c = (unsigned char) p[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return http_bad(req, "control character in a header field");
	}
	/* The value without the optional whitespace around it. */
	v = p + n + 1;
	vlen = len - n - 1;
	while (vlen > 0 && (v[0] == ' ' || v[0] == '\t'))
		v++, vlen--;
	while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
		vlen--;

	if (http_token_is(p, n, "content-length"))
	{
		if (vlen == 0 || http_span(v, vlen, "0") < vlen)
			return http_bad(req, "a request body is not accepted");
	}
	else if (http_token_is(p, n, "transfer-encoding"))
		return http_bad(req, "a request body is not accepted");
	else if (http_token_is(p, n, "authorization"))
	{
		size_t		tok;

		if (req->has_auth)
			return http_bad(req, "Authorization is given twice");
		if (vlen < 6 || !http_token_is(v, 5, "basic") || v[5] != ' ')
			return http_bad(req, "only Basic authorization is accepted");
		v += 6;
		vlen -= 6;
		while (vlen > 0 && v[0] == ' ')
			v++, vlen--;
		tok = http_span(v, vlen, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=");
		if (vlen == 0 || tok < vlen || vlen > PGQ_HTTP_AUTH_MAX)
			return http_bad(req, "malformed Basic credentials");
		memcpy(req->auth, v, vlen);
		req->auth[vlen] = '\0';
		req->has_auth = true;
	}
	return PGQ_HTTP_OK;
}

PgqHttpParse
pgq_http_parse(const char *buf, size_t len, PgqHttpRequest *req)
{
	size_t		pos = 0;
	bool		first = true;

	memset(req, 0, sizeof(*req));
	if (len > PGQ_HTTP_REQUEST_MAX)
		len = PGQ_HTTP_REQUEST_MAX;

	for (;;)
	{
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t		line_len;
		PgqHttpParse rc;

		if (nl == NULL)
			break;
		line_len = (size_t) (nl - (buf + pos));
		if (line_len > 0 && buf[pos + line_len - 1] == '\r')
			line_len--;
		if (memchr(buf + pos, '\0', line_len) != NULL)
			return http_bad(req, "NUL byte in the request");
		if (first)
			rc = http_parse_request_line(buf + pos, line_len, req);
		else if (line_len == 0)
			return PGQ_HTTP_OK;
		else
			rc = http_parse_field(buf + pos, line_len, req);
		if (rc != PGQ_HTTP_OK)
			return rc;
		first = false;
		pos = (size_t) (nl - buf) + 1;
	}
	if (len >= PGQ_HTTP_REQUEST_MAX)
		return http_bad(req, "the request head is too large");
	/* Not malformed yet; what parsed so far is redone with more bytes. */
	memset(req, 0, sizeof(*req));
	return PGQ_HTTP_INCOMPLETE;
}
