/*-------------------------------------------------------------------------
 *
 * sqlapi.h
 *	  What the SQL-callable functions share: the SQL spelling of member
 *	  states and roles (and, through snapshot.h, the copy of the worker's
 *	  state they read).
 *
 * sqlapi.c implements the views on it, commands.c the functions that ask
 * the worker to act.
 *
 * extension/sqlapi.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGQ_SQLAPI_H
#define PGQ_SQLAPI_H

#include "datatype/timestamp.h"

#include "quorum/quorum.h"

#include "shmem.h"
#include "snapshot.h"

/* The SQL API's text values of quorum.nodes.state and .role. */
extern const char *pgq_state_sql_name(enum quorum_member_state state);
extern const char *pgq_role_sql_name(enum quorum_role role);

#endif							/* PGQ_SQLAPI_H */
