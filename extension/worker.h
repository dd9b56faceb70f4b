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

extern PGDLLEXPORT void pgq_worker_main(Datum main_arg) pg_attribute_noreturn();

#endif							/* PGQ_WORKER_H */
