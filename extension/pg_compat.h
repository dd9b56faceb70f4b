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

#endif							/* PGQ_PG_COMPAT_H */
