/*-------------------------------------------------------------------------
 *
 * internal.h
 *	  Assertions and fault points shared by libquorum's private modules.
 *
 * QUORUM_ASSERT checks programmer errors in debug builds (no NDEBUG) and in
 * simulator builds; release builds compile it away, so it must never guard
 * anything a peer can trigger.  QUORUM_BUGGIFY marks a fault point that only
 * the simulator activates (FoundationDB's BUGGIFY): it is constant false in
 * every other build.
 *
 * plugin/internal.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef QUORUM_INTERNAL_H
#define QUORUM_INTERNAL_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#if !defined(NDEBUG) || defined(QUORUM_SIMULATION)
#define QUORUM_ASSERT(cond) \
	do { \
		if (!(cond)) \
		{ \
			fprintf(stderr, "%s:%d: libquorum assertion failed: %s\n", \
					__FILE__, __LINE__, #cond); \
			abort(); \
		} \
	} while (0)
#else
#define QUORUM_ASSERT(cond) ((void) 0)
#endif

#ifdef QUORUM_SIMULATION
struct quorum_node;

/*
 * Set by the simulator: whether fault point "name" fires now for this node,
 * decided from the run's seed.  NULL (the default, defined in node.c) means
 * no fault point ever fires, so a simulation build links without it.
 */
extern bool (*quorum__buggify_hook) (const struct quorum_node *node,
									 const char *name);

#define QUORUM_BUGGIFY(node, name) \
	(quorum__buggify_hook != NULL && quorum__buggify_hook((node), (name)))
#else
#define QUORUM_BUGGIFY(node, name) ((void) (node), false)
#endif

/*
 * Explain an error in the caller's errbuf (which may be NULL) and return
 * rc, so that a check reads "return quorum__errbuf(QUORUM_EINVAL, ...)".
 */
int			quorum__errbuf(int rc, char *errbuf, size_t errbuf_len, const char *fmt,...)
			__attribute__((format(printf, 4, 5)));

#define QUORUM_MIN(a, b) ((a) < (b) ? (a) : (b))
#define QUORUM_MAX(a, b) ((a) > (b) ? (a) : (b))

#endif							/* QUORUM_INTERNAL_H */
