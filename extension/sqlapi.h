/*-------------------------------------------------------------------------
 *
 * sqlapi.h
 *	  What the SQL-callable functions share: through snapshot.h, the copy
 *	  of the worker's state they read and the SQL spelling of member states
 *	  and roles.
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

#endif							/* PGQ_SQLAPI_H */
