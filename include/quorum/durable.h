/*-------------------------------------------------------------------------
 *
 * durable.h
 *	  The text format of a node's durable record (incarnation, term, vote,
 *	  decision log), shared by every host that keeps one in a file.
 *
 * libquorum owns the format, so that the PostgreSQL worker and the witness
 * write the same file and one parser (fuzzed) reads it; the hosts do only
 * the IO: read the file whole, and replace it atomically (temporary file,
 * fsync, rename, fsync of the directory).  Nothing here touches a file or
 * reads a clock.
 *
 * include/quorum/durable.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef QUORUM_DURABLE_H
#define QUORUM_DURABLE_H

#include "quorum/node.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The format quorum_durable_format() writes.  Version 1 had no
 * "format_version" line; versions 1 and 2 have no member ids.  Both are
 * still read (every id 0: see durable.c), and the next persist rewrites the
 * record in the current version.
 */
#define QUORUM_DURABLE_FORMAT_VERSION 3

/* No record is longer, bytes; a longer text is refused as not ours. */
#define QUORUM_DURABLE_BYTES_MAX 32768

/* A record as read back from its text. */
struct quorum_durable_file
{
	unsigned	format_version; /* of the text read; 1 .. current */
	char		node_name[QUORUM_NAME_MAX + 1]; /* whose record it is */
	struct quorum_durable durable;
};

/*
 * Print node_name's record into buf as text, always in the current
 * version; *len gets its length (without the terminating NUL it also
 * writes).  Returns 0; QUORUM_EINVAL for a NULL argument, member id 0,
 * an empty node name, a name with a newline, counts above QUORUM_VOTERS_MAX /
 * QUORUM_LOG_MAX, or a log entry of an unknown type;
 * QUORUM_ELIMIT if buf is too small (QUORUM_DURABLE_BYTES_MAX always
 * suffices).
 */
QUORUM_API int quorum_durable_format(const char *node_name,
									 const struct quorum_durable *durable,
									 char *buf, size_t buf_len, size_t *len);

/*
 * Parse a whole file's text (it need not end in NUL).  Returns 0 and fills
 * *file; QUORUM_EMALFORMED with the line and the reason in errbuf (which
 * may be NULL), and *file zeroed, for anything quorum_durable_format()
 * would not have written: an unknown or repeated key, a bad number or
 * name, too many voters or entries, no node name or incarnation, a version
 * newer than this library's; QUORUM_EINVAL for a NULL argument.
 */
QUORUM_API int quorum_durable_parse(const char *text, size_t len,
									struct quorum_durable_file *file,
									char *errbuf, size_t errbuf_len);

/*
 * The incarnation a node starts at (config.incarnation_start): one above
 * the restored record's, or, with no record of its own (restored NULL),
 * unix_time_ms, the host's wall clock in milliseconds since the Unix
 * epoch.  A node without a record cannot tell whether it is new or an old
 * member rebuilt from another's copy, and starting at 1 would put it below
 * the incarnation its peers remember, so they would ignore it; the wall
 * clock is above any earlier run's incarnation unless that run refuted
 * suspicions more than a thousand times a second.
 */
QUORUM_API uint64_t quorum_durable_start_incarnation(const struct quorum_durable *restored,
													 uint64_t unix_time_ms);

#ifdef __cplusplus
}
#endif

#endif							/* QUORUM_DURABLE_H */
