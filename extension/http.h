/*-------------------------------------------------------------------------
 *
 * http.h
 *	  The HTTP endpoint for load balancers, probes and Prometheus.
 *
 * http.c is a background worker of its own (never the gossip worker, so a
 * slow or hostile client cannot delay a heartbeat) that owns the sockets;
 * http_render.c decides the status codes and writes the bodies from a copy
 * of the shared state; http_parse.c parses requests.
 *
 * extension/http.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGQ_HTTP_H
#define PGQ_HTTP_H

#include "lib/stringinfo.h"

#include "http_parse.h"
#include "pg_compat.h"

/* The worker's entry point; _PG_init() registers it. */
pg_noreturn extern PGDLLEXPORT void pgq_http_main(Datum main_arg);

/*
 * The whole response (status line, headers and, but for HEAD, the body) to
 * a request that parsed as verdict; authorized says whether its credentials
 * passed, or none are required.
 */
extern void pgq_http_respond(const PgqHttpRequest *req, PgqHttpParse verdict,
							 bool authorized, StringInfo out);

#endif							/* PGQ_HTTP_H */
