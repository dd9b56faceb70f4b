/*-------------------------------------------------------------------------
 *
 * error.c
 *	  Names and messages of libquorum's error codes, generated from the one
 *	  X-macro table in include/quorum/error.h.
 *
 * plugin/error.c
 *
 *-------------------------------------------------------------------------
 */
#include "quorum/error.h"

const char *
quorum_strerror(int error)
{
	switch (error)
	{
#define QUORUM__ERROR_MESSAGE(name, value, msg) case name: return msg;
			QUORUM_ERROR_TABLE(QUORUM__ERROR_MESSAGE)
#undef QUORUM__ERROR_MESSAGE
	}
	return "unknown error";
}

const char *
quorum_error_name(int error)
{
	switch (error)
	{
#define QUORUM__ERROR_NAME(name, value, msg) case name: return #name;
			QUORUM_ERROR_TABLE(QUORUM__ERROR_NAME)
#undef QUORUM__ERROR_NAME
	}
	return "QUORUM_E?";
}
