/*-------------------------------------------------------------------------
 *
 * shmem.h
 *	  Shared state between the pg_quorum worker and SQL backends.
 *
 * The worker is the only writer of the snapshot (members, stats, events);
 * backends only read it, and only post commands into a small queue.  See
 * shmem.c for the locking rules.
 *
 * extension/shmem.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGQ_SHMEM_H
#define PGQ_SHMEM_H

#include "datatype/timestamp.h"
#include "storage/latch.h"
#include "storage/lwlock.h"

#include "quorum/quorum.h"

/* Most recent events kept for quorum.events. */
#define PGQ_EVENTS_MAX 256
/* Commands that may wait for the worker at once. */
#define PGQ_COMMANDS_MAX 16

/* One member as quorum.nodes and quorum.health show it. */
typedef struct PgqMember
{
	char		name[QUORUM_NAME_MAX + 1];
	char		address[QUORUM_ADDR_STRLEN];
	enum quorum_member_state state;
	uint64		incarnation;
	bool		is_self;
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

typedef struct PgqEvent
{
	TimestampTz at;
	enum quorum_event_type type;
	char		node[QUORUM_NAME_MAX + 1];
	uint64		incarnation;
} PgqEvent;

typedef enum PgqCommandType
{
	PGQ_CMD_JOIN = 1
} PgqCommandType;

typedef struct PgqCommand
{
	PgqCommandType type;
	struct quorum_addr addr;
} PgqCommand;

typedef struct PgqSharedState
{
	LWLock	   *lock;

	/* The worker's lifecycle; worker_latch is NULL while none runs. */
	bool		worker_running;
	int			worker_pid;
	TimestampTz worker_started;
	Latch	   *worker_latch;

	/* Snapshot published by the worker after every step. */
	char		node_name[QUORUM_NAME_MAX + 1];
	char		cluster[QUORUM_NAME_MAX + 1];
	uint64		incarnation;
	struct quorum_node_stats stats;
	int			n_members;

	/*
	 * Ring of recent events: events_total counts every event ever added, and
	 * event n lives in events[n % PGQ_EVENTS_MAX].  It survives worker
	 * restarts, since the history is most useful right after one.
	 */
	uint64		events_total;
	PgqEvent	events[PGQ_EVENTS_MAX];

	/* Commands posted by backends, taken by the worker in order. */
	int			n_commands;
	PgqCommand	commands[PGQ_COMMANDS_MAX];

	int			members_max;	/* length of members[] */
	PgqMember	members[FLEXIBLE_ARRAY_MEMBER];
} PgqSharedState;

extern PgqSharedState *pgq_shared;

extern void pgq_shmem_request(void);
extern void pgq_shmem_startup(void);

#endif							/* PGQ_SHMEM_H */
