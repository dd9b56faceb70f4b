/*-------------------------------------------------------------------------
 *
 * fuzz_http.c
 *	  libFuzzer target for the HTTP endpoint's request parser
 *	  (extension/http_parse.c, which includes no PostgreSQL header).
 *
 * Any bytes must give one of the three verdicts, with the promises
 * http_parse.h makes: a complete head has a terminated absolute path with
 * no query, a base64 token if any; a malformed one says why; an incomplete
 * one is shorter than the limit.  Since the server parses a growing buffer,
 * a verdict other than "incomplete" must not change when more bytes follow.
 *
 * test/fuzz/fuzz_http.c
 *
 *-------------------------------------------------------------------------
 */
#include "http_parse.h"

#define FUZZ_NAME "fuzz_http"
#include "fuzz.h"

static char longer[PGQ_HTTP_REQUEST_MAX + 16];

static void
check_request(const PgqHttpRequest *req)
{
	size_t		path_len = strnlen(req->path, sizeof(req->path));
	size_t		auth_len = strnlen(req->auth, sizeof(req->auth));

	FUZZ_CHECK(path_len > 0 && path_len < sizeof(req->path));
	FUZZ_CHECK(req->path[0] == '/' && strchr(req->path, '?') == NULL);
	FUZZ_CHECK(req->method == PGQ_HTTP_GET || req->method == PGQ_HTTP_HEAD ||
			   req->method == PGQ_HTTP_OTHER);
	FUZZ_CHECK(auth_len < sizeof(req->auth));
	FUZZ_CHECK(req->has_auth == (auth_len > 0));
	FUZZ_CHECK(strspn(req->auth, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") == auth_len);
	FUZZ_CHECK(req->has_lag || req->lag_bytes == 0);
	FUZZ_CHECK(req->error == NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	PgqHttpRequest req;
	PgqHttpRequest again;
	PgqHttpParse rc;
	size_t		n = size < PGQ_HTTP_REQUEST_MAX ? size : PGQ_HTTP_REQUEST_MAX;

	rc = pgq_http_parse((const char *) data, size, &req);
	switch (rc)
	{
		case PGQ_HTTP_INCOMPLETE:
			FUZZ_CHECK(size < PGQ_HTTP_REQUEST_MAX);
			return 0;
		case PGQ_HTTP_OK:
			check_request(&req);
			break;
		case PGQ_HTTP_BAD:
			FUZZ_CHECK(req.error != NULL && req.error[0] != '\0');
			break;
		default:
			FUZZ_CHECK(!"unknown verdict");
	}

	/* The same verdict and request with more bytes after them. */
	memcpy(longer, data, n);
	memcpy(longer + n, "X\r\n\r\nGET", 8);
	FUZZ_CHECK(pgq_http_parse(longer, n + 8, &again) == rc);
	if (rc == PGQ_HTTP_OK)
		FUZZ_CHECK(memcmp(&req, &again, sizeof(req)) == 0);
	return 0;
}
