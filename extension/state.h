/*-------------------------------------------------------------------------
 *
 * state.h
 *	  The worker's durable state file in the data directory.
 *
 * extension/state.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGQ_STATE_H
#define PGQ_STATE_H

#include "quorum/quorum.h"

/* Relative to the data directory, which is the worker's working directory. */
#define PGQ_STATE_FILE "pg_quorum.state"

/*
 * The newest term in which this server wrote as the leader, and the
 * timeline it wrote on (reconcile.c: a leader elected while it already
 * runs as the primary checks the leaders of later terms).
 */
#define PGQ_LED_FILE "pg_quorum.led"

/*
 * Load what the last run of node_name persisted into *durable; false if
 * there is nothing of this node's (no file, or a file written for another
 * node name: a copy made by pg_basebackup, which must not inherit the
 * source's identity, term or vote).  FATAL if the file is unreadable or
 * malformed.
 */
extern bool pgq_state_load(const char *node_name, struct quorum_durable *durable);

/*
 * The incarnation this run starts at: one above the persisted one, or,
 * without a record of its own, one above anything an earlier run can have
 * used (see state.c).
 */
extern uint64 pgq_state_start_incarnation(const char *node_name, bool loaded,
										  const struct quorum_durable *durable);

/* Replace the file atomically and durably; false (after a LOG) on failure. */
extern bool pgq_state_save(const char *node_name,
						   const struct quorum_durable *durable);

/*
 * What pg_quorum.led says for node_name; false, with both 0, if there is
 * nothing of this node's (no file, another node's copy, or damage).
 */
extern bool pgq_state_load_led(const char *node_name, uint32 *timeline, uint64 *term);

/* Replace pg_quorum.led atomically and durably; false (after a LOG) on failure. */
extern bool pgq_state_save_led(const char *node_name, uint32 timeline, uint64 term);

#endif							/* PGQ_STATE_H */
