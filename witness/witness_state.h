/*-------------------------------------------------------------------------
 *
 * witness_state.h
 *	  The witness's durable record (incarnation, term, vote, decision log)
 *	  in its state directory.
 *
 * The text is libquorum's (quorum_durable_format/parse), as in the
 * PostgreSQL worker's pg_quorum.state; this module does the IO.  The file
 * is replaced atomically: temporary file, fsync, rename, fsync of the
 * directory.
 *
 * witness/witness_state.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef QUORUM_WITNESS_STATE_H
#define QUORUM_WITNESS_STATE_H

#include <quorum/quorum.h>

#define WITNESS_STATE_FILE "pg_quorum.state"

/*
 * Load dir/pg_quorum.state.  Returns 1 and fills *durable and
 * *format_version (the version the file was in) when the file is this
 * node's; 0 when there is none, or it belongs to another node name (a
 * copied directory must not inherit identity, term or vote: *other_name
 * says whose); -1 with a reason in errbuf when it is unreadable or
 * malformed.
 */
int			witness_state_load(const char *dir, const char *node_name,
							   struct quorum_durable *durable,
							   unsigned *format_version,
							   char *other_name, size_t other_len,
							   char *errbuf, size_t errbuf_len);

/* Replace the file atomically and durably; 0, or -1 with errbuf filled. */
int			witness_state_save(const char *dir, const char *node_name,
							   const struct quorum_durable *durable,
							   char *errbuf, size_t errbuf_len);

#endif							/* QUORUM_WITNESS_STATE_H */
