/*-------------------------------------------------------------------------
 *
 * quorum.h
 *	  Umbrella header of libquorum: gossip membership (SWIM + Lifeguard)
 *	  as a sans-IO state machine, plus an optional socket runtime.
 *
 * A host includes only this file.  The protocol core (node.h) never reads a
 * clock or touches a socket: the host feeds it inputs stamped with its own
 * monotonic time and carries out the outputs.  runtime.h adds sockets for
 * hosts that do not want to do that themselves; durable.h prints and
 * parses the record a host keeps in a file.
 *
 * include/quorum/quorum.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef QUORUM_QUORUM_H
#define QUORUM_QUORUM_H

#define QUORUM_VERSION_MAJOR 0
#define QUORUM_VERSION_MINOR 1
#define QUORUM_VERSION_PATCH 0
#define QUORUM_VERSION_STRING "0.1.0"

#include "quorum/types.h"
#include "quorum/error.h"
#include "quorum/node.h"
#include "quorum/durable.h"
#include "quorum/runtime.h"
#include "quorum/version.h"

#endif							/* QUORUM_QUORUM_H */
