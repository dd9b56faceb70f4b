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

#endif							/* PGQ_PG_COMPAT_H */
