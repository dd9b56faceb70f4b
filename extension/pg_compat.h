/*-------------------------------------------------------------------------
 *
 * pg_compat.h
 *	  Every difference between PostgreSQL major versions that pg_quorum
 *	  cares about, in one place.
 *
 * The rest of extension/ is written against the newest API and includes
 * this file instead of testing PG_VERSION_NUM itself, so that supporting
 * another major version means editing only this file.
 *
 * Tested on 15, 17 and 18; 16 has 15's names for everything below.  Read
 * in 17's and 18's own source and found to behave as in 15: promotion (the
 * "promote" file and SIGUSR1, which the postmaster passes to the startup
 * process as SIGUSR2); a reload that changes primary_conninfo restarts the
 * WAL receiver (StartupRereadConfig); synchronous_standby_names takes
 * effect on reload; the xact callback events and the ProcessUtility and
 * ExecutorStart hook signatures; GetWalRcvFlushRecPtr() and
 * GetXLogReplayRecPtr(); ALTER SYSTEM's postgresql.auto.conf format and
 * AutoFileLock; and 18's reworked postmaster state machine still sends
 * background workers SIGTERM first on a fast shutdown and takes SIGQUIT as
 * an immediate one.
 *
 * extension/pg_compat.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGQ_PG_COMPAT_H
#define PGQ_PG_COMPAT_H

#include "postgres.h"

/*
 * shmem_request_hook, MarkGUCPrefixReserved() and InitMaterializedSRF() all
 * appeared in 15; emulating them on older servers is not worth the risk.
 */
#if PG_VERSION_NUM < 150000
#error "pg_quorum requires PostgreSQL 15 or later"
#endif

/*
 * 17 added named custom wait events (WaitEventExtensionNew()) but kept
 * PG_WAIT_EXTENSION as the generic one, which is all the worker needs.
 */
#include "utils/wait_event.h"
#define PGQ_WAIT_EVENT_MAIN		PG_WAIT_EXTENSION

/*
 * 17 gave ReplicationSlotCreate() the failover and synced flags of logical
 * failover slots; pg_quorum's physical slots set neither.
 */
#if PG_VERSION_NUM >= 170000
#define PGQ_SLOT_CREATE_PHYSICAL(name) \
	ReplicationSlotCreate((name), false, RS_PERSISTENT, false, false, false)
#else
#define PGQ_SLOT_CREATE_PHYSICAL(name) \
	ReplicationSlotCreate((name), false, RS_PERSISTENT, false)
#endif

/*
 * 18 replaced pg_attribute_noreturn(), written after a declaration, by
 * pg_noreturn, written before it (C11's _Noreturn where available).
 */
#ifndef pg_noreturn
#define pg_noreturn pg_attribute_noreturn()
#endif

/*
 * 17 renamed pgstat_fetch_stat_local_beentry() to
 * pgstat_get_local_beentry_by_index(); both take a 1-based index into the
 * local copy of the backend status array.
 */
#if PG_VERSION_NUM < 170000
#define pgstat_get_local_beentry_by_index(idx) pgstat_fetch_stat_local_beentry(idx)
#endif

/*
 * 17 made CreateWaitEventSet() take the resource owner that tracks the set
 * instead of a memory context; NULL (kept for the life of the process, in
 * TopMemoryContext) is what the worker asks for.
 */
#if PG_VERSION_NUM < 170000
#include "storage/latch.h"		/* its declaration before the macro */
#include "utils/memutils.h"
#define CreateWaitEventSet(resowner, nevents) \
	CreateWaitEventSet(TopMemoryContext, (nevents))
#endif

/* 18 made pg_b64_encode() read its input as uint8 rather than char. */
#if PG_VERSION_NUM >= 180000
#define PGQ_B64_SRC(p) ((const uint8 *) (p))
#else
#define PGQ_B64_SRC(p) ((const char *) (p))
#endif

/*
 * allow_alter_system (17) refuses ALTER SYSTEM when off; older servers
 * always allow it.
 */
#if PG_VERSION_NUM >= 170000
#define PGQ_ALTER_SYSTEM_ALLOWED() AllowAlterSystem
#else
#define PGQ_ALTER_SYSTEM_ALLOWED() true
#endif

/*
 * Whether synchronous_standby_names names standbys, as the checkpointer
 * published it for every backend: a bool until the minor releases of 2025,
 * then a bit in a status field of the same size.
 */
#include "replication/walsender_private.h"
#ifdef SYNC_STANDBY_DEFINED
#define PGQ_SYNC_STANDBYS_DEFINED(ctl) \
	(((ctl)->sync_standbys_status & SYNC_STANDBY_DEFINED) != 0)
#else
#define PGQ_SYNC_STANDBYS_DEFINED(ctl) ((ctl)->sync_standbys_defined)
#endif

/*
 * pg_logical_emit_message(): 17 added a "flush" argument to both forms,
 * which renamed their fmgroids.h symbols; the OIDs (3577, 3578) stayed.
 */
#if PG_VERSION_NUM >= 170000
#define PGQ_F_EMIT_MESSAGE_TEXT F_PG_LOGICAL_EMIT_MESSAGE_BOOL_TEXT_TEXT_BOOL
#define PGQ_F_EMIT_MESSAGE_BYTEA F_PG_LOGICAL_EMIT_MESSAGE_BOOL_TEXT_BYTEA_BOOL
#else
#define PGQ_F_EMIT_MESSAGE_TEXT F_PG_LOGICAL_EMIT_MESSAGE_BOOL_TEXT_TEXT
#define PGQ_F_EMIT_MESSAGE_BYTEA F_PG_LOGICAL_EMIT_MESSAGE_BOOL_TEXT_BYTEA
#endif

#endif							/* PGQ_PG_COMPAT_H */
