/*-------------------------------------------------------------------------
 *
 * errors.c
 *	  quorum_error -> SQLSTATE, one code each, and the detail line that
 *	  carries libquorum's explanation.
 *
 * The table is a switch over the library's X-macro values rather than a
 * generated array so that a code added to libquorum without a mapping here
 * falls to ERRCODE_INTERNAL_ERROR instead of indexing past an array.
 *
 * The codes a SQL function can return are the ones the README documents:
 * a member name libquorum does not know is a bad argument (22023), and a
 * request the node cannot take in its current state, busy included, is
 * 55000.
 *
 * extension/errors.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/elog.h"

#include "quorum/quorum.h"

#include "errors.h"

int
pgq_errcode(int quorum_error)
{
	switch (quorum_error)
	{
		case QUORUM_ENOMEM:
			return ERRCODE_OUT_OF_MEMORY;
		case QUORUM_EINVAL:
			return ERRCODE_INVALID_PARAMETER_VALUE;
		case QUORUM_EMALFORMED:
			return ERRCODE_DATA_CORRUPTED;
		case QUORUM_EAUTH:
			return ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION;
		case QUORUM_ELIMIT:
			return ERRCODE_CONFIGURATION_LIMIT_EXCEEDED;
		case QUORUM_EBUSY:
			return ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE;
		case QUORUM_ESTATE:
			return ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE;
		case QUORUM_ENOTFOUND:
			return ERRCODE_INVALID_PARAMETER_VALUE;
		case QUORUM_EIO:
			return ERRCODE_IO_ERROR;
		case QUORUM_ECRYPTO:
			return ERRCODE_SYSTEM_ERROR;
		case QUORUM_ENOSPACE:
			return ERRCODE_PROGRAM_LIMIT_EXCEEDED;
	}
	return ERRCODE_INTERNAL_ERROR;
}

int
pgq_errdetail_quorum(int quorum_error, const char *detail)
{
	if (detail != NULL && detail[0] != '\0')
		return errdetail("libquorum reported: %s (%s).", detail,
						 quorum_error_name(quorum_error));
	return errdetail("libquorum reported: %s (%s).", quorum_strerror(quorum_error),
					 quorum_error_name(quorum_error));
}
