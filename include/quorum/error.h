/*-------------------------------------------------------------------------
 *
 * error.h
 *	  Error codes of libquorum.
 *
 * Every fallible function returns 0 or a negative enum quorum_error.  The
 * table lives in one X-macro (plugin/error.c) that also generates the names
 * and messages, so the three can never drift apart.
 *
 * include/quorum/error.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef QUORUM_ERROR_H
#define QUORUM_ERROR_H

#include "quorum/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* X(name, value, message) */
#define QUORUM_ERROR_TABLE(X) \
	X(QUORUM_ENOMEM,     -1, "out of memory") \
	X(QUORUM_EINVAL,     -2, "invalid argument") \
	X(QUORUM_EMALFORMED, -3, "malformed message") \
	X(QUORUM_EAUTH,      -4, "authentication failed") \
	X(QUORUM_ELIMIT,     -5, "configured limit reached") \
	X(QUORUM_EBUSY,      -6, "call not allowed from this context") \
	X(QUORUM_ESTATE,     -7, "not allowed in the current state") \
	X(QUORUM_ENOTFOUND,  -8, "no such member") \
	X(QUORUM_EIO,        -9, "input/output error") \
	X(QUORUM_ECRYPTO,   -10, "cryptographic library failure") \
	X(QUORUM_ENOSPACE,  -11, "output buffer too small")

enum quorum_error
{
#define QUORUM__ERROR_ENUM(name, value, msg) name = value,
	QUORUM_ERROR_TABLE(QUORUM__ERROR_ENUM)
#undef QUORUM__ERROR_ENUM
};

/* "out of memory" for QUORUM_ENOMEM; "unknown error" for anything else. */
QUORUM_API const char *quorum_strerror(int error);

/* "QUORUM_ENOMEM" for QUORUM_ENOMEM; "QUORUM_E?" for anything else. */
QUORUM_API const char *quorum_error_name(int error);

#ifdef __cplusplus
}
#endif

#endif							/* QUORUM_ERROR_H */
