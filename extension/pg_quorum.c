/*-------------------------------------------------------------------------
 *
 * pg_quorum.c
 *	  Entry point of the pg_quorum extension: _PG_init() only.
 *
 * pg_quorum must be loaded by shared_preload_libraries, because it needs
 * shared memory and a background worker, both of which exist only if they
 * are requested while the postmaster starts, and its commit fence is a
 * transaction callback every backend inherits from the postmaster.
 * Everything else lives in the files named below: guc.c, shmem.c, fence.c,
 * worker.c (with reconcile.c and actions.c), sqlapi.c (the views),
 * commands.c (the functions that ask the worker to act), and http.c (the
 * HTTP endpoint, a worker of its own).
 *
 * extension/pg_quorum.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

/* these are always necessary for a bgworker */
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"

#include "fmgr.h"

#include "quorum/quorum.h"

#include "fence.h"
#include "guc.h"
#include "http.h"
#include "pg_compat.h"
#include "shmem.h"
#include "worker.h"

PG_MODULE_MAGIC;

/* Seconds before the postmaster restarts a worker that stopped with FATAL. */
#define PGQ_WORKER_RESTART_S 5

void		_PG_init(void);

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static void
pgq_shmem_request_hook(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	pgq_shmem_request();
}

static void
pgq_shmem_startup_hook(void)
{
	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	pgq_shmem_startup();
}

/* Registers a worker that runs function under name (also its type). */
static void
pgq_register_worker(const char *function, const char *name)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));

	/*
	 * No database connection: the workers read WAL positions and the
	 * cluster's state straight from shared memory, and starting at
	 * postmaster start keeps gossip up, and the HTTP checks answering, while
	 * a standby is still recovering.
	 */
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS;
	worker.bgw_start_time = BgWorkerStart_PostmasterStart;
	worker.bgw_restart_time = PGQ_WORKER_RESTART_S;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "pg_quorum");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "%s", function);
	snprintf(worker.bgw_name, BGW_MAXLEN, "%s", name);
	snprintf(worker.bgw_type, BGW_MAXLEN, "%s", name);
	worker.bgw_notify_pid = 0;
	RegisterBackgroundWorker(&worker);
}

void
_PG_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pg_quorum must be loaded via shared_preload_libraries"),
				 errhint("Add pg_quorum to shared_preload_libraries in postgresql.conf and restart the server.")));

	pgq_define_gucs();

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = pgq_shmem_request_hook;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = pgq_shmem_startup_hook;

	pgq_fence_init();
	pgq_register_worker("pgq_worker_main", "pg_quorum worker");
	/* A worker of its own, so that no HTTP client can delay a heartbeat. */
	if (pgq_http_listen != NULL && pgq_http_listen[0] != '\0')
		pgq_register_worker("pgq_http_main", "pg_quorum http");
}
