/*-------------------------------------------------------------------------
 *
 * errors.h
 *	  Mapping of libquorum's error codes to SQLSTATEs.
 *
 * libquorum returns negative enum quorum_error values; the extension reports
 * them with ereport().  Each code maps to exactly one SQLSTATE so that a
 * client (and a pgTAP test) can rely on it.
 *
 * extension/errors.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGQ_ERRORS_H
#define PGQ_ERRORS_H

extern int	pgq_errcode(int quorum_error);

/*
 * Report a failed libquorum call at elevel: errmsg is "could not <what>",
 * errdetail the library's message, the SQLSTATE from pgq_errcode().
 */
extern void pgq_report_quorum_error(int elevel, int quorum_error,
									const char *what, const char *detail);

#endif							/* PGQ_ERRORS_H */
