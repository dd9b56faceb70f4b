/*-------------------------------------------------------------------------
 *
 * node_internal.h
 *	  The layout of struct quorum_node, shared by node.c, node_raft.c,
 *	  datagram.c and the swim*.c modules (private).
 *
 * Everything is allocated by quorum_node_new() from the config's limits;
 * after that no step allocates.  The member table is a dense array with this
 * node at index 0, a chained hash index by name, and names kept apart in a
 * per-node arena so that an entry stays small.  Memory per member, bytes:
 *
 *   struct quorum__member                 104
 *   name arena record                       4 + strlen(name) + 1
 *   hash buckets (2 per member, uint32)     8
 *   probe order (uint32)                    4
 *
 * i.e. about 125 bytes for names like "pg-node-12", plus
 * sizeof(struct quorum_meta) (408 bytes) per metadata slot in use
 * (meta_slots_max of them).  The name arena and the suspicion pool (32 +
 * 4 * (k + 1) bytes per member slot) are reserved for the worst case
 * (63-byte names, every member suspect at once) but written only as far as
 * they are used, so for large tables the untouched pages cost no memory.
 * Fixed per node: about 80 kB (two message buffers, events, queues), plus
 * outbox_datagrams_max * datagram_bytes_max reserved for the outbox.
 *
 * plugin/node_internal.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef QUORUM_NODE_INTERNAL_H
#define QUORUM_NODE_INTERNAL_H

#include "quorum/node.h"
#include "outbox.h"
#include "prng.h"
#include "raft.h"
#include "seal.h"
#include "trace.h"
#include "wire.h"

/* "No member", "no slot": the end of every index chain. */
#define QUORUM__NONE UINT32_MAX

/* Upper bound on members_max so indexes stay 32-bit with room to spare. */
#define QUORUM__MEMBERS_LIMIT (1u << 24)

/* Most suspicion confirmations tracked (k is capped to this). */
#define QUORUM__CONFIRM_MAX 32

/* Replay window: this many sequence numbers below the highest one seen. */
#define QUORUM__REPLAY_WINDOW 64

/* One member as this node believes it; index 0 is this node itself. */
struct quorum__member
{
	uint64_t	incarnation;
	uint64_t	meta_version;	/* 0 = no metadata known */
	quorum_time_ms state_since_ms;
	quorum_time_ms last_heard_ms;
	/* Anti-replay: highest boot seen, highest seq in it, seen-bitmap. */
	uint64_t	replay_boot;
	uint64_t	replay_seq;
	uint64_t	replay_window;	/* bit i set: seq replay_seq - i was seen */
	uint32_t	hash_next;		/* next member in this hash bucket */
	uint32_t	meta_slot;		/* QUORUM__NONE: no metadata stored */
	uint32_t	rtt_us;			/* smoothed, 0 = unknown */
	uint32_t	probes_sent;
	uint32_t	probes_failed;	/* acks = sent - failed - one in flight */
	uint32_t	name_off;		/* record in the name arena */
	struct quorum_addr addr;
	uint8_t		state;			/* enum quorum_member_state */
	bool		in_dq;			/* has an entry in the dissemination queue */
};

/* An open suspicion of one member (Lifeguard §4). */
struct quorum__suspicion
{
	quorum_time_ms start_ms;
	quorum_time_ms expiry_ms;
	uint32_t	member;
	uint32_t	k;				/* confirmations that reach the minimum */
	uint32_t	n_confirm;		/* C: independent confirmations so far */
	uint32_t	n_accusers;		/* hashes used in the accuser list */
};

/*
 * One pending update in the dissemination queue.  Entries are kept small
 * because the queue is re-sorted after every send; the accuser's name lives
 * in a fixed slot of dq_from that does not move.
 */
struct quorum__dq_entry
{
	uint64_t	order;			/* enqueue counter: higher is newer */
	uint32_t	member;
	uint32_t	transmits;
	uint32_t	slot;			/* index into dq_from */
};

/* A ping this node sends on behalf of another's PING_REQ. */
struct quorum__relay
{
	bool		used;
	uint32_t	our_seq;		/* probe_seq of our PING to the target */
	uint32_t	their_seq;		/* probe_seq the requester waits for */
	struct quorum_addr requester;
	quorum_time_ms nack_at_ms;
};

/* The probe of the current protocol period (SWIM §3.1). */
struct quorum__probe
{
	bool		active;
	bool		acked;
	bool		indirect_sent;
	uint32_t	target;
	uint32_t	seq;
	quorum_time_ms started_ms;
	quorum_time_ms timeout_at_ms;	/* direct ack due */
	quorum_time_ms end_at_ms;	/* any ack due; the period ends */
	unsigned	nacks_expected;
	unsigned	nacks_received;
};

struct quorum_node
{
	struct quorum_config config;
	char		errmsg[256];
	struct quorum__prng prng;
	struct quorum__trace trace;
	struct quorum_sealer sealer;
	uint64_t	cluster_id;
	struct quorum_node_stats stats;

	/* Output of the current step. */
	struct quorum__outbox outbox;
	struct quorum_wire_msg *msg_in;
	struct quorum_wire_msg *msg_out;
	uint8_t    *plain;			/* datagram_bytes_max scratch */

	/* Datagram identity: seq per boot, nonce = prefix (8) | counter (4). */
	uint64_t	send_seq;
	uint8_t		nonce_prefix[8];
	uint32_t	nonce_counter;

	quorum_time_ms now_ms;
	quorum_time_ms deadline_ms;
	bool		left;			/* LEAVE done: steps return QUORUM_ESTATE */
	bool		persisted;		/* incarnation handed out once at least */
	uint64_t	persisted_incarnation;

	/* Member table. */
	struct quorum__member *members;
	uint32_t	n_members;
	uint32_t	members_max;
	/* Name arena: records of owner (uint32) | name | NUL, bump-allocated. */
	char	   *names;
	size_t		names_used;
	size_t		names_cap;
	uint32_t   *buckets;
	uint32_t	bucket_mask;
	unsigned	n_by_state[4];

	/* Metadata slots, with a free list threaded through meta_free_next. */
	struct quorum_meta *meta;
	uint32_t   *meta_free_next;
	uint32_t	meta_free;

	/* Randomized round-robin probe order (SWIM §4.3). */
	uint32_t   *order;
	uint32_t	order_pos;
	struct quorum__probe probe;
	uint32_t	probe_seq;
	quorum_time_ms next_probe_ms;
	unsigned	awareness;		/* Lifeguard local health score */

	/* Open suspicions, dense; accusers[i * (confirm_max + 1) ...]. */
	struct quorum__suspicion *susp;
	uint32_t	n_susp;
	uint32_t   *accusers;
	uint32_t	confirm_max;

	/* Dissemination queue, sorted: fewest transmits, then newest, first. */
	struct quorum__dq_entry *dq;
	uint32_t	n_dq;
	uint64_t	dq_counter;
	char		(*dq_from)[QUORUM_NAME_MAX + 1];	/* accuser per slot */
	uint32_t   *dq_free_next;	/* free list of dq_from slots */
	uint32_t	dq_free;

	struct quorum__relay *relays;
	unsigned	relays_max;

	quorum_time_ms next_pushpull_ms;
	uint32_t	pushpull_exchange;
	uint32_t	pushpull_cursor;

	/* The election (raft.c), fed by node_raft.c. */
	struct quorum__raft raft;
	bool		raft_synced;	/* raft's peers copied from the table once */
};

/* This node's name / the name of member idx. */
static inline const char *
quorum__node_member_name(const struct quorum_node *node, uint32_t idx)
{
	return node->names + node->members[idx].name_off + sizeof(uint32_t);
}

/* Copies a name (at most QUORUM_NAME_MAX bytes) into a name-sized buffer. */
static inline void
quorum__name_copy(char dst[QUORUM_NAME_MAX + 1], const char *src)
{
	size_t		n = 0;

	while (n < QUORUM_NAME_MAX && src[n] != '\0')
	{
		dst[n] = src[n];
		n++;
	}
	dst[n] = '\0';
}

/* node_raft.c: the election inside the node. */
void		quorum__node_raft_config_init(struct quorum_config *config);
int			quorum__node_raft_init(struct quorum_node *node,
								   const struct quorum_meta *facts,
								   char *errbuf, size_t errbuf_len);
void		quorum__node_raft_destroy(struct quorum_node *node);
void		quorum__node_raft_receive(struct quorum_node *node,
									  const struct quorum_wire_msg *msg);
void		quorum__node_raft_set_facts(struct quorum_node *node,
										const struct quorum_meta *facts);
void		quorum__node_raft_wal_stopped(struct quorum_node *node,
										  const struct quorum_meta *facts);
int			quorum__node_raft_command(struct quorum_node *node,
									  const struct quorum_command *cmd);
void		quorum__node_raft_step(struct quorum_node *node, size_t swim_events);
void		quorum__node_raft_durable(const struct quorum_node *node,
									  struct quorum_durable *durable);

#endif							/* QUORUM_NODE_INTERNAL_H */
