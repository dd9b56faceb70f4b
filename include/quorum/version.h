/*-------------------------------------------------------------------------
 *
 * version.h
 *	  Which libquorum a host is running with, asked at run time.
 *
 * QUORUM_VERSION_MAJOR/MINOR/PATCH in quorum.h say which headers a host was
 * compiled against; these functions say which library it loaded, as zlib's
 * zlibVersion() and OpenSSL's OpenSSL_version_num() do.  A host linked
 * against libquorum.so can compare the two and refuse a library older than
 * its headers.
 *
 * include/quorum/version.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef QUORUM_VERSION_H
#define QUORUM_VERSION_H

#include "quorum/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One number per version, ordered as the versions are. */
#define QUORUM_VERSION_ENCODE(major, minor, patch) \
	(((unsigned) (major) << 16) | ((unsigned) (minor) << 8) | (unsigned) (patch))

/*
 * The loaded library's version, QUORUM_VERSION_ENCODE(major, minor, patch).
 * Never fails.
 */
QUORUM_API unsigned quorum_version(void);

/* The loaded library's version as "major.minor.patch"; a static string. */
QUORUM_API const char *quorum_version_string(void);

#ifdef __cplusplus
}
#endif

#endif							/* QUORUM_VERSION_H */
