/*-------------------------------------------------------------------------
 *
 * shmem.h
 *	  Shared state between the pg_quorum worker and SQL backends.
 *
 * The worker is the only writer of the snapshot (members, stats, events,
 * election status); backends only read it, and only post commands into a
 * small queue and wait for their results.  lease_until_ms is the exception
 * to the lock: the commit fence reads it lock-free.  See shmem.c for the
 * locking rules.
 *
 * extension/shmem.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGQ_SHMEM_H
#define PGQ_SHMEM_H

#include "datatype/timestamp.h"
#include "port/atomics.h"
#include "storage/condition_variable.h"
#include "storage/latch.h"
#include "storage/lwlock.h"

#include "quorum/quorum.h"

/* Most recent events kept for quorum.events. */
#define PGQ_EVENTS_MAX 256
/* Commands that may wait for the worker at once. */
#define PGQ_COMMANDS_MAX 16
/* Room for an event's or a command result's detail text, with its NUL. */
#define PGQ_DETAIL_MAX 256
/* Room for synchronous_standby_names as pg_quorum sets it. */
#define PGQ_SYNC_NAMES_MAX 1024

/* One member as quorum.nodes and quorum.health show it. */
typedef struct PgqMember
{
	char		name[QUORUM_NAME_MAX + 1];
	char		address[QUORUM_ADDR_STRLEN];
	enum quorum_member_state state;
	uint64		incarnation;
	bool		is_self;
	bool		is_leader;		/* the leader this node knows */
	bool		voter;			/* in the voter set this node knows */
	bool		has_meta;		/* false: role .. tags are unknown */
	enum quorum_role role;
	uint32		timeline;
	uint64		lsn;
	int32		priority;
	char		conninfo[QUORUM_CONNINFO_MAX + 1];
	char		tags[QUORUM_TAGS_MAX + 1];
	TimestampTz state_since;	/* 0 = unknown */
	TimestampTz last_heard;		/* 0 = never heard directly */
	double		rtt_ms;			/* < 0 = unknown */
	uint64		probes_sent;
	uint64		probes_failed;
	uint64		acks_received;
} PgqMember;

/*
 * What quorum.events shows: membership events from gossip, election events
 * from the node, and what the adapter itself did about them.  The SQL names
 * are spelled in sqlapi.c.
 */
typedef enum PgqEventKind
{
	/* membership (incarnation is the member's) */
	PGQ_EV_ALIVE = 1,
	PGQ_EV_SUSPECT,
	PGQ_EV_DEAD,
	PGQ_EV_LEFT,
	PGQ_EV_UPDATED,
	PGQ_EV_REAPED,
	/* election and decisions (term is set) */
	PGQ_EV_LEADER,				/* node = the new leader, "" = none */
	PGQ_EV_LEASE_GAINED,
	PGQ_EV_LEASE_LOST,
	PGQ_EV_PAUSED,
	PGQ_EV_RESUMED,
	PGQ_EV_VOTER_ADDED,
	PGQ_EV_VOTER_REMOVED,
	PGQ_EV_SWITCHOVER,			/* node = the requested target, "" = best */
	/* what this server did */
	PGQ_EV_PROMOTED,			/* promote requested */
	PGQ_EV_FOLLOWING,			/* primary_conninfo now names node */
	PGQ_EV_DEPOSED,				/* a primary learnt that node leads */
	PGQ_EV_DEGRADED,			/* synchronous mode without a quorum */
	PGQ_EV_SYNCHRONOUS,			/* synchronous mode with a quorum */
	PGQ_EV_DIVERGED				/* a standby cannot follow node: rewind */
} PgqEventKind;

typedef struct PgqEvent
{
	TimestampTz at;
	PgqEventKind kind;
	char		node[QUORUM_NAME_MAX + 1];
	uint64		incarnation;	/* 0 = not a membership event */
	uint64		term;			/* 0 = not an election event */
	char		detail[PGQ_DETAIL_MAX];	/* "" = none */
} PgqEvent;

typedef enum PgqCommandType
{
	PGQ_CMD_JOIN = 1,			/* addr */
	PGQ_CMD_SWITCHOVER,		/* quorum.failover(): name = target, "" = the best */
	PGQ_CMD_PAUSE,
	PGQ_CMD_RESUME,
	PGQ_CMD_FORGET,				/* name */
	PGQ_CMD_ADD_VOTER			/* name */
} PgqCommandType;

typedef struct PgqCommand
{
	uint64		id;				/* 0: nobody waits for a result */
	PgqCommandType type;
	struct quorum_addr addr;
	char		name[QUORUM_NAME_MAX + 1];
} PgqCommand;

/* The worker's answer to command id: a quorum_error (0 = accepted). */
typedef struct PgqCommandResult
{
	uint64		id;
	int			rc;
	char		detail[PGQ_DETAIL_MAX];
} PgqCommandResult;

/* quorum.status.mode */
typedef enum PgqMode
{
	PGQ_MODE_ASYNC = 0,			/* pg_quorum.synchronous = off */
	PGQ_MODE_SYNC,				/* on, and a quorum of standbys is synchronous */
	PGQ_MODE_DEGRADED			/* on, too few healthy standbys: commits
								 * wait, or with failover paused do not */
} PgqMode;

typedef struct PgqSharedState
{
	LWLock	   *lock;

	/* The worker's lifecycle; worker_latch is NULL while none runs. */
	bool		worker_running;
	int			worker_pid;
	TimestampTz worker_started;
	Latch	   *worker_latch;

	/*
	 * The commit fence: CLOCK_BOOTTIME ms (quorum_runtime_now_ms()) until
	 * which this server may commit writes; 0 = fenced.  Written by the
	 * worker, read lock-free by every committing backend.  It starts at 0
	 * and the worker zeroes it when it exits, so a server starts fenced.
	 */
	pg_atomic_uint64 lease_until_ms;
	/* Keeps the counter below off the line every statement's check reads. */
	char		lease_pad[PG_CACHE_LINE_SIZE];

	/*
	 * Write transactions (and COMMIT PREPARED) past the fence's check and
	 * not yet finished, counted before the check: once the worker closed the
	 * fence and sees 0 here, every write accepted under the lease is in the
	 * WAL, so the WAL position it samples then covers them (a hand-over
	 * waits for such a sample, see pgq_fence_settled()).
	 */
	pg_atomic_uint32 commits_in_flight;
	char		commits_pad[PG_CACHE_LINE_SIZE];

	/* Broadcast after every publish, for backends waiting on a change. */
	ConditionVariable changed;

	/* Snapshot published by the worker after every step. */
	char		node_name[QUORUM_NAME_MAX + 1];
	char		cluster[QUORUM_NAME_MAX + 1];
	uint64		incarnation;
	struct quorum_node_stats stats;
	int			n_members;

	/* Election status (elections_enabled false: pg_quorum.failover = off). */
	bool		elections_enabled;
	uint64		term;
	char		leader[QUORUM_NAME_MAX + 1];	/* "" = none known */
	bool		has_quorum;
	bool		paused;
	bool		transferring;	/* a switchover is under way */
	int			switchover_waiters;	/* backends in quorum.failover() */
	PgqMode		mode;
	char		sync_names[PGQ_SYNC_NAMES_MAX];	/* as last set, leader only */

	/*
	 * Ring of recent events: events_total counts every event ever added, and
	 * event n lives in events[n % PGQ_EVENTS_MAX].  It survives worker
	 * restarts, since the history is most useful right after one.
	 */
	uint64		events_total;
	PgqEvent	events[PGQ_EVENTS_MAX];
	/* 'promoted' events ever added: /metrics' failovers of this server. */
	uint64		promotions_total;

	/* Commands posted by backends, taken by the worker in order. */
	int			n_commands;
	PgqCommand	commands[PGQ_COMMANDS_MAX];
	uint64		next_command_id;
	/* Result of command id in results[id % PGQ_COMMANDS_MAX]. */
	PgqCommandResult results[PGQ_COMMANDS_MAX];

	int			members_max;	/* length of members[] */
	PgqMember	members[FLEXIBLE_ARRAY_MEMBER];
} PgqSharedState;

extern PgqSharedState *pgq_shared;

extern void pgq_shmem_request(void);
extern void pgq_shmem_startup(void);

#endif							/* PGQ_SHMEM_H */
