/*-------------------------------------------------------------------------
 *
 * worker.h
 *	  The pg_quorum background worker.
 *
 * extension/worker.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGQ_WORKER_H
#define PGQ_WORKER_H

#include "fmgr.h"

#include "pg_compat.h"

pg_noreturn extern PGDLLEXPORT void pgq_worker_main(Datum main_arg);

#endif							/* PGQ_WORKER_H */
