/*-------------------------------------------------------------------------
 *
 * fence_utility.c
 *	  Which statements have effects that outlive their transaction, for the
 *	  fence (fence.c) to refuse before they start on a fenced primary.
 *
 * The commit check undoes only what a transaction can undo.  DROP DATABASE
 * marks the database invalid in place and removes its files before its
 * commit, and logs both: once it runs, a refused commit leaves a database
 * that no server can connect to, on this server and on every standby that
 * streamed the WAL, the switchover target included.  The statements below
 * act so, on files, sequences, WAL consumers or other servers, outside
 * any transaction:
 *
 *	CREATE and DROP DATABASE, ALTER DATABASE SET TABLESPACE: create, copy or
 *		remove whole directories, logged before the commit.
 *	CREATE and DROP TABLESPACE: create or remove directories and links.
 *	VACUUM and ANALYZE: update pg_class and pg_database in place, truncate
 *		relations and the commit log, each logged at once (a FULL rewrite is
 *		transactional, but VACUUM FULL is refused with the rest).
 *	ALTER TABLE ... SET TABLESPACE (and ALL IN TABLESPACE): transactional
 *		(the copy is dropped on abort), but it copies and logs whole
 *		relations; refused with the rest rather than left to the commit.
 *	CREATE, ALTER and DROP SUBSCRIPTION: create or drop replication slots on
 *		the publisher, which no abort brings back.
 *
 *	nextval() and setval() of a sequence that is not temporary: a sequence
 *		logs its advance (32 values ahead) outside the transaction, so a
 *		standby replays values the refused transaction consumed.
 *	pg_logical_emit_message(): a non-transactional message is decoded from
 *		the WAL whether or not anything commits (a transactional one is
 *		refused with it: its transaction could not commit anyway).
 *	pg_replication_origin_advance(): logs an origin's progress at once.
 *
 * The functions are found in the plan that is about to run, and only while
 * the fence is closed: the plan's text form names every function it calls,
 * in its expressions, init plans and subplans alike, which no walker of
 * PostgreSQL covers for plans.  A sequence counts as temporary when every
 * sequence the plan names as a regclass constant is temporary (a
 * sequence computed at run time is not named there, and is refused unless
 * a temporary one is named beside it).  What runs outside a plan is not
 * seen: a PL/pgSQL expression that calls nextval() directly (a "simple
 * expression", evaluated without the executor), or C code.  The commit of
 * such a transaction is still refused; what remains is a gap in the
 * sequence on the next primary, as after any crash.
 *
 * Some of them destroy or move what no abort brings back (a database, a
 * tablespace, the publisher's slots): *destroys says so, and the fence
 * then also holds a hand-over's WAL sample until such a statement that
 * started under the lease has ended.  The others (VACUUM, CREATE DATABASE,
 * ALTER TABLE SET TABLESPACE ...) can run for hours and leave, when cut
 * short by a promotion, only what a crash would (a half-vacuumed table, a
 * directory no catalog names); holding switchovers for them would block
 * switchovers for as long.
 *
 * Everything else a statement writes before its commit is undone by the
 * abort that follows a refused commit (new relation files are dropped,
 * tuples stay invisible), so the fence leaves it to the commit check.
 *
 * extension/fence_utility.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "commands/defrem.h"
#include "nodes/parsenodes.h"
#include "nodes/plannodes.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"

#include "fence.h"
#include "pg_compat.h"

/* Whether rel names a relation that exists and is temporary. */
static bool
fence_temp_relation(RangeVar *rel)
{
	Oid			relid;

	if (rel == NULL)
		return false;
	relid = RangeVarGetRelid(rel, NoLock, true);
	return OidIsValid(relid) && get_rel_persistence(relid) == RELPERSISTENCE_TEMP;
}

/* VACUUM or ANALYZE of temporary tables only (a database-wide one is not). */
static bool
fence_vacuum_temp_only(VacuumStmt *stmt)
{
	ListCell   *lc;

	if (stmt->rels == NIL)
		return false;
	foreach(lc, stmt->rels)
	{
		if (!fence_temp_relation(((VacuumRelation *) lfirst(lc))->relation))
			return false;
	}
	return true;
}

static bool
fence_alter_database_moves(AlterDatabaseStmt *stmt)
{
	ListCell   *lc;

	foreach(lc, stmt->options)
	{
		if (strcmp(((DefElem *) lfirst(lc))->defname, "tablespace") == 0)
			return true;
	}
	return false;
}

static bool
fence_alter_table_moves(AlterTableStmt *stmt)
{
	ListCell   *lc;

	if (fence_temp_relation(stmt->relation))
		return false;
	foreach(lc, stmt->cmds)
	{
		if (((AlterTableCmd *) lfirst(lc))->subtype == AT_SetTableSpace)
			return true;
	}
	return false;
}

const char *
pgq_fence_utility_outside(Node *stmt, bool *destroys)
{
	*destroys = false;
	switch (nodeTag(stmt))
	{
		case T_CreatedbStmt:
			return "CREATE DATABASE";
		case T_DropdbStmt:
			*destroys = true;
			return "DROP DATABASE";
		case T_AlterDatabaseStmt:
			if (!fence_alter_database_moves((AlterDatabaseStmt *) stmt))
				return NULL;
			*destroys = true;
			return "ALTER DATABASE SET TABLESPACE";
		case T_CreateTableSpaceStmt:
			return "CREATE TABLESPACE";
		case T_DropTableSpaceStmt:
			*destroys = true;
			return "DROP TABLESPACE";
		case T_VacuumStmt:
			if (fence_vacuum_temp_only((VacuumStmt *) stmt))
				return NULL;
			return ((VacuumStmt *) stmt)->is_vacuumcmd ? "VACUUM" : "ANALYZE";
		case T_AlterTableStmt:
			return fence_alter_table_moves((AlterTableStmt *) stmt) ?
				"ALTER TABLE SET TABLESPACE" : NULL;
		case T_AlterTableMoveAllStmt:
			return "ALTER TABLE ALL IN TABLESPACE";
		case T_CreateSubscriptionStmt:
			*destroys = true;
			return "CREATE SUBSCRIPTION";
		case T_AlterSubscriptionStmt:
			*destroys = true;
			return "ALTER SUBSCRIPTION";
		case T_DropSubscriptionStmt:
			*destroys = true;
			return "DROP SUBSCRIPTION";
		default:
			return NULL;
	}
}

/* Whether the plan's text calls function funcid (a FuncExpr's field). */
static bool
fence_plan_calls(const char *text, Oid funcid)
{
	char		field[32];

	snprintf(field, sizeof(field), ":funcid %u ", funcid);
	return strstr(text, field) != NULL;
}

/* Whether every sequence the plan names is temporary, and it names one. */
static bool
fence_plan_sequences_temp(PlannedStmt *stmt)
{
	ListCell   *lc;
	bool		named = false;

	foreach(lc, stmt->relationOids)
	{
		Oid			relid = lfirst_oid(lc);

		if (get_rel_relkind(relid) != RELKIND_SEQUENCE)
			continue;
		if (get_rel_persistence(relid) != RELPERSISTENCE_TEMP)
			return false;
		named = true;
	}
	return named;
}

const char *
pgq_fence_plan_outside(PlannedStmt *stmt)
{
	char	   *text = nodeToString(stmt);
	const char *what = NULL;

	if (fence_plan_calls(text, PGQ_F_EMIT_MESSAGE_TEXT) ||
		fence_plan_calls(text, PGQ_F_EMIT_MESSAGE_BYTEA))
		what = "pg_logical_emit_message()";
	else if (fence_plan_calls(text, F_PG_REPLICATION_ORIGIN_ADVANCE))
		what = "pg_replication_origin_advance()";
	else if (!fence_plan_sequences_temp(stmt))
	{
		if (fence_plan_calls(text, F_NEXTVAL))
			what = "nextval()";
		else if (fence_plan_calls(text, F_SETVAL_REGCLASS_INT8) ||
				 fence_plan_calls(text, F_SETVAL_REGCLASS_INT8_BOOL))
			what = "setval()";
	}
	pfree(text);
	return what;
}
