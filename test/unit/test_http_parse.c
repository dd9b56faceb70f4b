/*-------------------------------------------------------------------------
 *
 * test_http_parse.c
 *	  Unit tests of the HTTP endpoint's request parser.
 *
 * The parser lives in extension/ but includes no PostgreSQL header, so it
 * is compiled into this test directly: the unit tests link only libquorum.
 *
 * test/unit/test_http_parse.c
 *
 *-------------------------------------------------------------------------
 */
#include "../../extension/http_parse.c"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

static PgqHttpRequest req;

static PgqHttpParse
parse(const char *text)
{
	return pgq_http_parse(text, strlen(text), &req);
}

/* What HAProxy's "option httpchk GET /primary" sends. */
static void
test_haproxy_check(void **state)
{
	assert_int_equal(parse("GET /primary HTTP/1.0\r\n\r\n"), PGQ_HTTP_OK);
	assert_int_equal(req.method, PGQ_HTTP_GET);
	assert_string_equal(req.path, "/primary");
	assert_false(req.has_lag);
	assert_false(req.has_auth);
}

static void
test_methods(void **state)
{
	assert_int_equal(parse("HEAD /health HTTP/1.1\r\nHost: x\r\n\r\n"), PGQ_HTTP_OK);
	assert_int_equal(req.method, PGQ_HTTP_HEAD);
	assert_int_equal(parse("OPTIONS /primary HTTP/1.1\r\n\r\n"), PGQ_HTTP_OK);
	assert_int_equal(req.method, PGQ_HTTP_OTHER);
	/* Methods are case-sensitive (RFC 9110 §9.1). */
	assert_int_equal(parse("get /primary HTTP/1.1\r\n\r\n"), PGQ_HTTP_OK);
	assert_int_equal(req.method, PGQ_HTTP_OTHER);
}

/* The head arrives in pieces; bare LF line ends are accepted. */
static void
test_incomplete_then_complete(void **state)
{
	const char *full = "GET /health HTTP/1.1\nHost: a\n\n";

	for (size_t n = 0; n < strlen(full); n++)
		assert_int_equal(pgq_http_parse(full, n, &req), PGQ_HTTP_INCOMPLETE);
	assert_int_equal(pgq_http_parse(full, strlen(full), &req), PGQ_HTTP_OK);
	assert_string_equal(req.path, "/health");
}

static void
test_lag(void **state)
{
	assert_int_equal(parse("GET /replica?lag=16MB HTTP/1.1\r\n\r\n"), PGQ_HTTP_OK);
	assert_string_equal(req.path, "/replica");
	assert_true(req.has_lag);
	assert_true(req.lag_bytes == 16u << 20);
	assert_int_equal(parse("GET /read-only?x=1&lag=1000 HTTP/1.1\r\n\r\n"), PGQ_HTTP_OK);
	assert_true(req.lag_bytes == 1000);
	assert_int_equal(parse("GET /replica?lag=10mb HTTP/1.1\r\n\r\n"), PGQ_HTTP_BAD);
	assert_int_equal(parse("GET /replica?lag= HTTP/1.1\r\n\r\n"), PGQ_HTTP_BAD);
	assert_int_equal(parse("GET /replica?lag=1&lag=2 HTTP/1.1\r\n\r\n"), PGQ_HTTP_BAD);
	assert_int_equal(parse("GET /replica?lag=99999999999999TB HTTP/1.1\r\n\r\n"), PGQ_HTTP_BAD);
}

static void
test_size_units(void **state)
{
	uint64_t	b;

	assert_true(pgq_http_parse_size("0", 1, &b) && b == 0);
	assert_true(pgq_http_parse_size("7B", 2, &b) && b == 7);
	assert_true(pgq_http_parse_size("3kB", 3, &b) && b == 3072);
	assert_true(pgq_http_parse_size("2GB", 3, &b) && b == 2ull << 30);
	assert_true(pgq_http_parse_size("1TB", 3, &b) && b == 1ull << 40);
	assert_true(pgq_http_parse_size("18446744073709551615", 20, &b) && b == UINT64_MAX);
	assert_false(pgq_http_parse_size("18446744073709551616", 20, &b));
	assert_false(pgq_http_parse_size("16777216TB", 10, &b));
	assert_false(pgq_http_parse_size("MB", 2, &b));
	assert_false(pgq_http_parse_size("-1", 2, &b));
	assert_false(pgq_http_parse_size("1 MB", 4, &b));
}

static void
test_authorization(void **state)
{
	assert_int_equal(parse("GET /metrics HTTP/1.1\r\nauthorization:  basic cHJvbTpzM2NyZXQ= \r\n\r\n"),
					 PGQ_HTTP_OK);
	assert_true(req.has_auth);
	assert_string_equal(req.auth, "cHJvbTpzM2NyZXQ=");
	assert_int_equal(parse("GET /metrics HTTP/1.1\r\nAuthorization: Bearer abc\r\n\r\n"),
					 PGQ_HTTP_BAD);
	assert_int_equal(parse("GET /metrics HTTP/1.1\r\nAuthorization: Basic a b\r\n\r\n"),
					 PGQ_HTTP_BAD);
	assert_int_equal(parse("GET /metrics HTTP/1.1\r\nAuthorization: Basic YQ==\r\n"
						   "Authorization: Basic YQ==\r\n\r\n"),
					 PGQ_HTTP_BAD);
}

static void
test_malformed(void **state)
{
	static const char *const bad[] = {
		"GARBAGE\r\n\r\n",
		"GET\r\n\r\n",
		"GET primary HTTP/1.1\r\n\r\n",
		"GET http://x/primary HTTP/1.1\r\n\r\n",
		"GET /primary HTTP/2.0\r\n\r\n",
		"GET /primary HTTP/1.1 \r\n\r\n",
		"GET  /primary HTTP/1.1\r\n\r\n",
		"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
		"GET /primary HTTP/1.1\r\nHost : a\r\n\r\n",
		"GET /primary HTTP/1.1\r\nNoColon\r\n\r\n",
		"GET /primary HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
		"GET /primary HTTP/1.1\r\nX: a\x01z\r\n\r\n",
		"GET /primary HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
		"GET /primary HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		if (parse(bad[i]) != PGQ_HTTP_BAD)
			fail_msg("accepted: %s", bad[i]);
		assert_non_null(req.error);
	}
	assert_int_equal(parse("GET /primary HTTP/1.1\r\nContent-Length: 0\r\n\r\n"), PGQ_HTTP_OK);
	/* A NUL inside a line. */
	assert_int_equal(pgq_http_parse("GET /a\0b HTTP/1.1\r\n\r\n", 21, &req), PGQ_HTTP_BAD);
}

/* Oversized: a path past PGQ_HTTP_PATH_MAX, a head past the limit. */
static void
test_oversized(void **state)
{
	static char buf[PGQ_HTTP_REQUEST_MAX + 64];
	size_t		len;

	len = (size_t) snprintf(buf, sizeof(buf), "GET /%0*d HTTP/1.1\r\n\r\n",
							PGQ_HTTP_PATH_MAX, 0);
	assert_int_equal(pgq_http_parse(buf, len, &req), PGQ_HTTP_BAD);
	len = (size_t) snprintf(buf, sizeof(buf), "GET /%0*d HTTP/1.1\r\n\r\n",
							PGQ_HTTP_PATH_MAX - 1, 0);
	assert_int_equal(pgq_http_parse(buf, len, &req), PGQ_HTTP_OK);

	/* Headers that never end: incomplete below the limit, bad at it. */
	len = (size_t) snprintf(buf, sizeof(buf), "GET /health HTTP/1.1\r\nX: ");
	memset(buf + len, 'a', sizeof(buf) - len);
	assert_int_equal(pgq_http_parse(buf, PGQ_HTTP_REQUEST_MAX - 1, &req), PGQ_HTTP_INCOMPLETE);
	assert_int_equal(pgq_http_parse(buf, PGQ_HTTP_REQUEST_MAX, &req), PGQ_HTTP_BAD);
	assert_int_equal(pgq_http_parse(buf, sizeof(buf), &req), PGQ_HTTP_BAD);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_haproxy_check),
		cmocka_unit_test(test_methods),
		cmocka_unit_test(test_incomplete_then_complete),
		cmocka_unit_test(test_lag),
		cmocka_unit_test(test_size_units),
		cmocka_unit_test(test_authorization),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_oversized),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
