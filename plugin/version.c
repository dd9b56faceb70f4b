/*-------------------------------------------------------------------------
 *
 * version.c
 *	  The version of the libquorum that a host loaded (see quorum/version.h).
 *
 * The values come from quorum.h's macros, compiled into the library, so
 * they describe the library and not the headers a host was built with.
 *
 * plugin/version.c
 *
 *-------------------------------------------------------------------------
 */
#include "quorum/version.h"
#include "quorum/quorum.h"

unsigned
quorum_version(void)
{
	return QUORUM_VERSION_ENCODE(QUORUM_VERSION_MAJOR, QUORUM_VERSION_MINOR,
								 QUORUM_VERSION_PATCH);
}

const char *
quorum_version_string(void)
{
	return QUORUM_VERSION_STRING;
}
