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
 * Incarnation last persisted by node_name, or 0 if there is none (no file,
 * or a file written under another node name).  FATAL if the file is
 * unreadable or malformed.
 */
extern uint64 pgq_state_load(const char *node_name);

/* Replace the file atomically and durably; false (after a LOG) on failure. */
extern bool pgq_state_save(const char *node_name, uint64 incarnation);

#endif							/* PGQ_STATE_H */
