/*-------------------------------------------------------------------------
 *
 * error.c
 *	  Names and messages of libquorum's error codes, generated from the one
 *	  X-macro table in include/quorum/error.h, and the helper that explains
 *	  an error in a caller's buffer.
 *
 * plugin/error.c
 *
 *-------------------------------------------------------------------------
 */
#include "quorum/error.h"
#include "internal.h"

#include <stdarg.h>

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

int
quorum__errbuf(int rc, char *errbuf, size_t errbuf_len, const char *fmt,...)
{
	va_list		ap;

	if (errbuf != NULL && errbuf_len > 0)
	{
		va_start(ap, fmt);
		vsnprintf(errbuf, errbuf_len, fmt, ap);
		va_end(ap);
	}
	return rc;
}
