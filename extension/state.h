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

/* Relative to the data directory, which is the worker's working directory. */
#define PGQ_STATE_FILE "pg_quorum.state"

/*
 * The incarnation this run of node_name starts at: one above the one last
 * persisted, or, without a state file of its own, one above anything an
 * earlier run can have used (see state.c).  FATAL if the file is unreadable
 * or malformed.
 */
extern uint64 pgq_state_start_incarnation(const char *node_name);

/* Replace the file atomically and durably; false (after a LOG) on failure. */
extern bool pgq_state_save(const char *node_name, uint64 incarnation);

#endif							/* PGQ_STATE_H */
