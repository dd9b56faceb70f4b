/*-------------------------------------------------------------------------
 *
 * raft_msg.h
 *	  The election's messages and the database position they carry, as
 *	  plain structs (private to libquorum).
 *
 * Both the election (raft.h) and the wire codec (wire.h) include this
 * file, so the codec encodes election messages without depending on the
 * state machine, as etcd's raft imports its raftpb messages rather than
 * the other way round.  Nothing here has behaviour.
 *
 * plugin/raft_msg.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef QUORUM_RAFT_MSG_H
#define QUORUM_RAFT_MSG_H

#include "quorum/types.h"

#include <stdbool.h>
#include <stdint.h>

/* Entries carried by one APPEND, so that it fits a datagram with names. */
#define QUORUM__RAFT_APPEND_MAX 4

typedef char quorum__raft_name[QUORUM_NAME_MAX + 1];

/*
 * A member's database as the election restriction ranks it: timeline first,
 * then WAL position, then the primary above a standby.
 */
struct quorum__raft_pos
{
	uint32_t	timeline;
	uint64_t	lsn;
	uint8_t		role;			/* enum quorum_role */
	int32_t		priority;		/* 0 = never a candidate */
};

enum quorum__raft_msg_type
{
	QUORUM__RAFT_MSG_PREVOTE = 1,
	QUORUM__RAFT_MSG_PREVOTE_RESP,
	QUORUM__RAFT_MSG_VOTE,
	QUORUM__RAFT_MSG_VOTE_RESP,
	QUORUM__RAFT_MSG_APPEND,	/* entries and heartbeat in one */
	QUORUM__RAFT_MSG_APPEND_RESP,
	QUORUM__RAFT_MSG_SNAPSHOT,	/* for a follower behind the snapshot */
	QUORUM__RAFT_MSG_TIMEOUT_NOW,	/* leadership transfer: campaign now */
	QUORUM__RAFT_MSG_PROPOSE,	/* a follower forwards a decision */
	QUORUM__RAFT_MSG_HELLO,		/* not bootstrapped yet: here I am */
	QUORUM__RAFT_MSG_RESIGN,	/* the leader of the term leaves office now */

	/*
	 * Who answered a (pre-)vote: the voter's member id, sent with every vote
	 * it grants; or, to a member that answered with an older record than
	 * it had before, that its record was restored from a copy.  A message of its own, not a field of VOTE_RESP, because
	 * release 0.1 drops a VOTE_RESP it cannot decode, and a voter cannot
	 * tell which release asked; 0.1 drops this one alone (counted), and its
	 * answer still counts.
	 */
	QUORUM__RAFT_MSG_MEMBER
};
#define QUORUM__RAFT_MSG_TYPE_MAX QUORUM__RAFT_MSG_MEMBER

/* Why a (pre-)vote was refused; carried for traces and quick retries. */
enum quorum__raft_refusal
{
	QUORUM__RAFT_GRANTED = 0,
	QUORUM__RAFT_REFUSE_TERM,	/* candidate's term is behind */
	QUORUM__RAFT_REFUSE_STICKY, /* heard a leader within the minimum timeout */
	QUORUM__RAFT_REFUSE_VOTED,	/* already voted for another in this term */
	QUORUM__RAFT_REFUSE_LOG,	/* decision log behind (Raft §5.4.1) */
	QUORUM__RAFT_REFUSE_WAL,	/* (timeline, lsn, role) behind */
	QUORUM__RAFT_REFUSE_PRIORITY,	/* priority 0 */
	QUORUM__RAFT_REFUSE_PRIMARY /* first election: a primary is alive */
};
#define QUORUM__RAFT_REFUSAL_MAX QUORUM__RAFT_REFUSE_PRIMARY

struct quorum__raft_msg
{
	enum quorum__raft_msg_type type;
	quorum__raft_name from;
	quorum__raft_name to;
	/*
	 * Which run of the sender sent it: the datagram header's boot, not a
	 * field of the election's layout (received messages only).  Datagrams
	 * of an older run are dropped as replays before they get here.
	 */
	uint64_t	boot;
	uint64_t	term;
	uint64_t	config_id;		/* 0 = sender not bootstrapped yet */
	union
	{
		struct
		{
			uint64_t	last_index;
			uint64_t	last_term;
			struct quorum__raft_pos pos;
			bool		transfer;	/* caused by TIMEOUT_NOW */
		}			vote;		/* PREVOTE (term = proposed) and VOTE */
		struct
		{
			bool		granted;
			uint8_t		refusal;	/* enum quorum__raft_refusal */
			uint32_t	sticky_ms;	/* REFUSE_STICKY: ms of stickiness left */
		}			vote_resp;	/* PREVOTE_RESP and VOTE_RESP */
		struct
		{
			uint64_t	prev_index;
			uint64_t	prev_term;
			uint64_t	commit;
			uint64_t	round;	/* heartbeat round, echoed for the lease */
			/* We read APPEND_RESP's promise_ms: send it (0.1 does not). */
			bool		promise_asked;
			uint32_t	n_entries;
			struct quorum_decision entries[QUORUM__RAFT_APPEND_MAX];
		}			append;		/* APPEND */
		struct
		{
			bool		success;
			uint64_t	match_index;	/* or, failing, a hint: our last */
			uint64_t	round;
			/* As a 0.1 voter echoes it with the round; nothing reads it. */
			bool		promise_asked;
			struct quorum__raft_pos pos;
			bool		voter;	/* the sender may be a voter */
			/*
			 * How long the sender refuses votes after hearing a leader (its
			 * election_timeout_min_ms), sent only when asked; 0 from a 0.1
			 * sender, which cannot say.
			 */
			uint32_t	promise_ms;
			/*
			 * The sender's member id and the persist_seq of its durable
			 * record (quorum_durable), sent with a promise; 0 from 0.1.
			 */
			uint64_t	member_id;
			uint64_t	persist_seq;
		}			append_resp;	/* APPEND_RESP */
		struct
		{
			struct quorum_log_snapshot snap;
			uint64_t	round;
			bool		promise_asked;	/* as in APPEND */
		}			snapshot;	/* SNAPSHOT */
		struct
		{
			struct quorum_decision entry;	/* term ignored */
		}			propose;	/* PROPOSE */
		struct
		{
			bool		voter;	/* the sender may be a voter */
		}			hello;		/* HELLO */
		/*
		 * From a voter with its grant: its own id and record's persist_seq
		 * (term = the vote's).  From a leader or candidate to a member
		 * whose answer came with a persist_seq below one it sent before:
		 * that member's id, and the highest persist_seq seen from it.
		 */
		struct
		{
			uint64_t	member_id;	/* never 0 */
			uint64_t	persist_seq;
		}			member;		/* MEMBER */
	}			u;
};

#endif							/* QUORUM_RAFT_MSG_H */
