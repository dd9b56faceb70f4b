/*-------------------------------------------------------------------------
 *
 * errors.h
 *	  Mapping of libquorum's error codes to SQLSTATEs.
 *
 * libquorum returns negative enum quorum_error values; the extension reports
 * them with ereport().  Each code maps to exactly one SQLSTATE so that a
 * client (and a pgTAP test) can rely on it.  The primary message is always
 * the caller's own literal text; these only supply the code and the detail.
 *
 * extension/errors.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGQ_ERRORS_H
#define PGQ_ERRORS_H

extern int	pgq_errcode(int quorum_error);

/*
 * For use inside ereport(): errdetail() with libquorum's explanation,
 * detail (such as quorum_node_errmsg()) or, when that is empty, the code's
 * own message.
 */
extern int	pgq_errdetail_quorum(int quorum_error, const char *detail);

#endif							/* PGQ_ERRORS_H */
