/*-------------------------------------------------------------------------
 *
 * http_parse.h
 *	  Parsing of one HTTP/1.x request head for the pg_quorum HTTP endpoint.
 *
 * A pure function over bytes: no PostgreSQL headers, no allocation, no IO,
 * so that the fuzz target (test/fuzz/fuzz_http.c) and the unit test compile
 * it on its own.  The server (http.c) feeds it everything a client sent so
 * far and acts on the verdict; it reads no request body, and answers one
 * request per connection.
 *
 * extension/http_parse.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGQ_HTTP_PARSE_H
#define PGQ_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest request head accepted, bytes; a longer one is answered 400. */
#define PGQ_HTTP_REQUEST_MAX 8192
/* Longest path (without the query), bytes. */
#define PGQ_HTTP_PATH_MAX 255
/* Longest Basic credentials token (base64), bytes. */
#define PGQ_HTTP_AUTH_MAX 512

typedef enum PgqHttpParse
{
	PGQ_HTTP_INCOMPLETE = 0,	/* no end of the head yet: read more */
	PGQ_HTTP_OK,				/* a complete, well-formed head */
	PGQ_HTTP_BAD				/* malformed or oversized: answer 400 */
} PgqHttpParse;

typedef enum PgqHttpMethod
{
	PGQ_HTTP_GET = 0,
	PGQ_HTTP_HEAD,
	PGQ_HTTP_OTHER				/* a well-formed method we do not serve: 405 */
} PgqHttpMethod;

typedef struct PgqHttpRequest
{
	PgqHttpMethod method;
	char		path[PGQ_HTTP_PATH_MAX + 1];
	bool		has_lag;		/* ?lag= was given */
	uint64_t	lag_bytes;
	bool		has_auth;		/* an "Authorization: Basic" header */
	char		auth[PGQ_HTTP_AUTH_MAX + 1];	/* its token, still base64 */
	const char *error;			/* PGQ_HTTP_BAD: why, for the 400 body */
} PgqHttpRequest;

/*
 * Parse the request head in buf[0..len).  Returns PGQ_HTTP_INCOMPLETE while
 * the blank line that ends the head has not arrived and len is below
 * PGQ_HTTP_REQUEST_MAX; otherwise fills *req and returns OK or BAD.
 */
extern PgqHttpParse pgq_http_parse(const char *buf, size_t len,
								   PgqHttpRequest *req);

/*
 * A size as ?lag= takes it: digits, optionally followed by one of
 * PostgreSQL's memory units B, kB, MB, GB, TB (1024-based), as Patroni's
 * ?lag= accepts them.  False on anything else or on overflow.
 */
extern bool pgq_http_parse_size(const char *text, size_t len, uint64_t *bytes);

#endif							/* PGQ_HTTP_PARSE_H */
