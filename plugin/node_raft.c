/*-------------------------------------------------------------------------
 *
 * node_raft.c
 *	  The election inside a node: raft.c's messages over the node's sealed
 *	  datagrams, its peers from the member table, its output in the step's.
 *
 * raft.c addresses members by name; here a name becomes the address the
 * member table holds for it, and a received election message becomes
 * raft's input once node.c's checks (datagram.c's seal and decode, then
 * cluster and replay) have passed it.
 * Gossip feeds raft the members it may talk to and their database roles
 * (whether a member may vote it says itself); raft's events join the step's,
 * and its durable record joins the node's, so that one atomic write of
 * struct quorum_durable keeps incarnation, term, vote and log together.
 *
 * plugin/node_raft.c
 *
 *-------------------------------------------------------------------------
 */
#include "node_internal.h"
#include "datagram.h"

#include "quorum/error.h"
#include "internal.h"
#include "swim.h"

#include <stdio.h>
#include <string.h>

void
quorum__node_raft_config_init(struct quorum_config *config)
{
	struct quorum__raft_config rc;

	quorum__raft_config_init(&rc);
	config->voter = true;
	config->bootstrap_expect = 0;
	config->n_initial_voters = 0;
	config->heartbeat_ms = rc.heartbeat_ms;
	config->election_timeout_min_ms = rc.election_timeout_min_ms;
	config->election_timeout_max_ms = rc.election_timeout_max_ms;
	config->drift_ppm = rc.drift_ppm;
	config->lease_margin_ms = rc.lease_margin_ms;
	config->restored = NULL;
}

static void
node_raft_make_config(const struct quorum_node *node,
					  struct quorum__raft_config *rc)
{
	const struct quorum_config *c = &node->config;

	quorum__raft_config_init(rc);
	memcpy(rc->name, c->name, sizeof(rc->name));
	/* Its own stream, so that the election does not shift gossip's choices. */
	rc->seed = c->seed ^ UINT64_C(0x656c656374696f6e);
	rc->voter = c->voter;
	rc->n_initial_voters = QUORUM_MIN(c->n_initial_voters, QUORUM_VOTERS_MAX);
	memcpy(rc->initial_voters, c->initial_voters, sizeof(rc->initial_voters));
	rc->bootstrap_expect = c->bootstrap_expect;
	rc->heartbeat_ms = c->heartbeat_ms;
	rc->election_timeout_min_ms = c->election_timeout_min_ms;
	rc->election_timeout_max_ms = c->election_timeout_max_ms;
	rc->drift_ppm = c->drift_ppm;
	rc->lease_margin_ms = c->lease_margin_ms;
	rc->stop_wal_to_vote = c->stop_wal_to_vote;
	rc->peers_max = c->members_max + QUORUM_VOTERS_MAX + 1;
	/* A round to every voter and a few non-voters, plus answers. */
	rc->out_max = 2 * QUORUM_VOTERS_MAX + 2 * QUORUM__RAFT_LEARNERS_PER_ROUND;
	/* A commit can cover a whole log's worth of decisions at once. */
	rc->events_max = QUORUM_LOG_MAX + 8;
	rc->trace.fn = c->trace_fn;
	rc->trace.ctx = c->trace_ctx;
	rc->trace.level = c->trace_level;
}

int
quorum__node_raft_init(struct quorum_node *node, const struct quorum_meta *facts,
					   char *errbuf, size_t errbuf_len)
{
	struct quorum__raft_config rc;
	const struct quorum_election_durable *restored = NULL;
	int			rc_init;

	if (node->config.n_initial_voters > QUORUM_VOTERS_MAX)
	{
		if (errbuf != NULL && errbuf_len > 0)
			snprintf(errbuf, errbuf_len, "at most %d initial voters",
					 QUORUM_VOTERS_MAX);
		return QUORUM_EINVAL;
	}
	node_raft_make_config(node, &rc);
	if (node->config.restored != NULL)
	{
		restored = &node->config.restored->election;
		/* 0 in a record of format 1 or 2: raft makes one up, as for no record. */
		rc.member_id = node->config.restored->member_id;
	}
	rc_init = quorum__raft_init(&node->raft, &rc, restored, facts, node->now_ms,
								errbuf, errbuf_len);
	/* The pointer is the caller's; nothing may follow it after new(). */
	node->config.restored = NULL;
	return rc_init;
}

void
quorum__node_raft_destroy(struct quorum_node *node)
{
	quorum__raft_destroy(&node->raft);
}

void
quorum__node_raft_set_facts(struct quorum_node *node,
							const struct quorum_meta *facts)
{
	quorum__raft_set_facts(&node->raft, facts, node->now_ms);
}

void
quorum__node_raft_wal_stopped(struct quorum_node *node,
							  const struct quorum_meta *facts)
{
	quorum__raft_wal_stopped(&node->raft, facts, node->now_ms);
}

/*
 * Election messages come only from members of the cluster (the seal says
 * so), but gossip may not have found the sender yet: a voter that booted
 * late, or whose joins got lost.  Its address is remembered with the peer,
 * so that the answer, and the leader's heartbeats, can reach it anyway.
 */
static void
node_raft_learn_addr(struct quorum_node *node, const struct quorum_wire_msg *msg)
{
	struct quorum__raft_peer *p = quorum__raft_peer_find(&node->raft, msg->sender);

	if (p == NULL)
		p = quorum__raft_peer_add(&node->raft, msg->sender);
	if (p == NULL)
		return;
	p->addr = msg->sender_addr;
	p->addr_known = true;
}

void
quorum__node_raft_receive(struct quorum_node *node,
						  const struct quorum_wire_msg *msg)
{
	/* Sent to an address another member had before us: not ours to act on. */
	if (strcmp(msg->u.raft.to, node->config.name) != 0)
	{
		node->raft.stats.msgs_dropped++;
		QUORUM_TRACE(&node->trace, QUORUM_TRACE_DEBUG, node->now_ms,
					 "election message from %s for %s dropped", msg->sender,
					 msg->u.raft.to);
		return;
	}
	node_raft_learn_addr(node, msg);
	quorum__raft_receive(&node->raft, &msg->u.raft, node->now_ms);
}

/* ---------------------------------------------------------------------
 * Commands
 * ---------------------------------------------------------------------
 */

static int
node_raft_name_arg(struct quorum_node *node, const struct quorum_command *cmd,
				   bool required)
{
	size_t		len = strnlen(cmd->name, sizeof(cmd->name));

	if (len > QUORUM_NAME_MAX || (required && len == 0))
	{
		snprintf(node->errmsg, sizeof(node->errmsg),
				 "command needs a member name of 1 to %d bytes", QUORUM_NAME_MAX);
		return QUORUM_EINVAL;
	}
	return 0;
}

static int
node_raft_explain(struct quorum_node *node, const char *what, int rc)
{
	if (rc == QUORUM_EBUSY)
		snprintf(node->errmsg, sizeof(node->errmsg),
				 "%s: no leader is known to forward it to", what);
	else if (rc == QUORUM_ESTATE)
		snprintf(node->errmsg, sizeof(node->errmsg),
				 "%s: the leader is busy with an earlier change", what);
	else if (rc == QUORUM_ENOTFOUND)
		snprintf(node->errmsg, sizeof(node->errmsg),
				 "%s: no such voter-capable member", what);
	else if (rc != 0)
		snprintf(node->errmsg, sizeof(node->errmsg), "%s: %s", what,
				 quorum_strerror(rc));
	return rc;
}

int
quorum__node_raft_command(struct quorum_node *node,
						  const struct quorum_command *cmd)
{
	struct quorum__raft *r = &node->raft;
	bool		named = cmd->type != QUORUM_CMD_PAUSE && cmd->type != QUORUM_CMD_RESUME &&
		cmd->type != QUORUM_CMD_RESIGN;
	int			rc = named ? node_raft_name_arg(node, cmd,
												cmd->type != QUORUM_CMD_TRANSFER) : 0;

	if (rc != 0)
		return rc;
	switch (cmd->type)
	{
		case QUORUM_CMD_TRANSFER:
			rc = quorum__raft_transfer(r, cmd->name, node->now_ms);
			return node_raft_explain(node, "transfer", rc);
		case QUORUM_CMD_PAUSE:
		case QUORUM_CMD_RESUME:
			rc = quorum__raft_pause(r, cmd->type == QUORUM_CMD_PAUSE, node->now_ms);
			return node_raft_explain(node, cmd->type == QUORUM_CMD_PAUSE ?
									 "pause" : "resume", rc);
		case QUORUM_CMD_ADD_VOTER:
		case QUORUM_CMD_REMOVE_VOTER:
			rc = quorum__raft_propose(r, cmd->type == QUORUM_CMD_ADD_VOTER ?
									  QUORUM_DECISION_ADD_VOTER :
									  QUORUM_DECISION_REMOVE_VOTER,
									  cmd->name, node->now_ms);
			return node_raft_explain(node, "voter change", rc);
		case QUORUM_CMD_RESIGN:
			if (quorum__raft_resign(r, node->now_ms) == 0)
				return 0;
			snprintf(node->errmsg, sizeof(node->errmsg),
					 "resign: this node is not the leader");
			return QUORUM_ESTATE;
		case QUORUM_CMD_JOIN:
		case QUORUM_CMD_LEAVE:
		case QUORUM_CMD_FORGET:
			break;
	}
	return QUORUM_EINVAL;
}

/* ---------------------------------------------------------------------
 * One step's worth of election work
 * ---------------------------------------------------------------------
 */

/*
 * Only a node that takes part in the election (it knows a voter set, or
 * waits to bootstrap one) keeps raft's peer table; a node that only
 * gossips, as in a thousand-member simulation, pays nothing for it.  When
 * it starts taking part, the member table is copied over once.
 */
static bool
node_raft_participating(const struct quorum_node *node)
{
	return node->raft.n_voters > 0 || node->config.bootstrap_expect > 0;
}

static void
node_raft_sync_all(struct quorum_node *node)
{
	for (uint32_t idx = 1; idx < node->n_members; idx++)
	{
		const struct quorum__member *m = &node->members[idx];

		if (m->state != QUORUM_MEMBER_ALIVE && m->state != QUORUM_MEMBER_SUSPECT)
			continue;
		quorum__raft_peer_seen(&node->raft, quorum__node_member_name(node, idx),
							   m->meta_slot == QUORUM__NONE ? QUORUM_ROLE_UNKNOWN :
							   node->meta[m->meta_slot].role, node->now_ms);
	}
	node->raft_synced = true;
}

/* What gossip learnt this step, as raft's peers (events 0 .. n-1). */
static void
node_raft_sync_peers(struct quorum_node *node, size_t n)
{
	if (!node_raft_participating(node))
		return;
	if (!node->raft_synced)
	{
		node_raft_sync_all(node);
		return;
	}
	for (size_t k = 0; k < n; k++)
	{
		const struct quorum_event *e = &node->outbox.events[k];
		uint32_t	idx;
		const struct quorum__member *m;

		if (e->type == QUORUM_EV_MEMBER_DEAD || e->type == QUORUM_EV_MEMBER_LEFT ||
			e->type == QUORUM_EV_MEMBER_REAPED)
		{
			quorum__raft_peer_gone(&node->raft, e->member, node->now_ms);
			continue;
		}
		if (e->type != QUORUM_EV_MEMBER_ALIVE && e->type != QUORUM_EV_MEMBER_UPDATED)
			continue;
		idx = quorum__swim_find(node, e->member);
		if (idx == QUORUM__NONE || idx == 0)
			continue;
		m = &node->members[idx];
		quorum__raft_peer_seen(&node->raft, e->member,
							   m->meta_slot == QUORUM__NONE ? QUORUM_ROLE_UNKNOWN :
							   node->meta[m->meta_slot].role, node->now_ms);
	}
}

/* The member table's address, else where we last heard from it. */
static const struct quorum_addr *
node_raft_addr(struct quorum_node *node, const char *name)
{
	uint32_t	idx = quorum__swim_find(node, name);
	struct quorum__raft_peer *p;

	if (idx != QUORUM__NONE && idx != 0)
		return &node->members[idx].addr;
	p = quorum__raft_peer_find(&node->raft, name);
	return p != NULL && p->addr_known ? &p->addr : NULL;
}

static void
node_raft_send(struct quorum_node *node, const struct quorum__raft_msg *m)
{
	const struct quorum_addr *to = node_raft_addr(node, m->to);
	struct quorum_wire_msg *msg;
	uint64_t	bytes = node->stats.bytes_out;

	if (to == NULL)
	{
		QUORUM_TRACE(&node->trace, QUORUM_TRACE_DEBUG, node->now_ms,
					 "no address for %s: %s not sent", m->to,
					 quorum__raft_msg_type_name(m->type));
		return;
	}
	msg = quorum__datagram_msg(node, QUORUM_WIRE_RAFT);
	msg->u.raft = *m;
	if (quorum__datagram_send(node, to))
	{
		node->stats.election_datagrams_out++;
		node->stats.election_bytes_out += node->stats.bytes_out - bytes;
	}
}

static void
node_raft_event(struct quorum_node *node, const struct quorum__raft_event *re)
{
	struct quorum_event *e;
	enum quorum_event_type type = re->type == QUORUM__RAFT_EV_LEADER_CHANGED ?
		QUORUM_EV_LEADER_CHANGED : re->type == QUORUM__RAFT_EV_LEASE_GAINED ?
		QUORUM_EV_LEASE_GAINED : re->type == QUORUM__RAFT_EV_LEASE_LOST ?
		QUORUM_EV_LEASE_LOST : QUORUM_EV_DECISION_COMMITTED;
	const char *member = type == QUORUM_EV_LEADER_CHANGED ? re->leader :
		type == QUORUM_EV_DECISION_COMMITTED ? re->entry.name : node->config.name;

	if (type == QUORUM_EV_LEADER_CHANGED)
		node->stats.leader_changes++;
	if (!quorum__outbox_event(&node->outbox, type, re->at_ms, member, 0))
	{
		QUORUM_TRACE(&node->trace, QUORUM_TRACE_WARNING, node->now_ms,
					 "event buffer full (events_max %u): %s not delivered",
					 node->config.events_max, quorum_event_type_name(type));
		return;
	}
	e = &node->outbox.events[node->outbox.n_events - 1];
	e->term = re->term;
	e->index = re->index;
	e->decision = re->entry;
}

/*
 * After the membership part of a step: tell raft what gossip learnt, let
 * it act on the time, then carry its messages and events into the step's
 * output.  Its durable record is taken by node_fill_output().
 */
void
quorum__node_raft_step(struct quorum_node *node, size_t swim_events)
{
	struct quorum__raft *r = &node->raft;
	uint64_t	started = r->stats.elections_started;

	node_raft_sync_peers(node, swim_events);
	quorum__raft_tick(r, node->now_ms);
	quorum__raft_wal_stop_tick(r);
	/* A snapshot may have just made this node take part: catch up now. */
	if (!node->raft_synced && node_raft_participating(node))
		node_raft_sync_all(node);
	for (unsigned k = 0; k < r->n_out; k++)
		node_raft_send(node, &r->out[k]);
	for (unsigned k = 0; k < r->n_events; k++)
		node_raft_event(node, &r->events[k]);
	node->stats.elections_started += r->stats.elections_started - started;
	r->n_out = 0;
	r->n_events = 0;
}

/* The whole durable record: incarnation and election, written together. */
void
quorum__node_raft_durable(const struct quorum_node *node,
						  struct quorum_durable *durable)
{
	durable->incarnation = node->members[0].incarnation;
	durable->member_id = node->raft.cfg.member_id;
	quorum__raft_durable_image(&node->raft, &durable->election);
}

/* ---------------------------------------------------------------------
 * Accessors
 * ---------------------------------------------------------------------
 */

const char *
quorum_node_leader(const quorum_node *node)
{
	return node == NULL ? "" : node->raft.leader;
}

uint64_t
quorum_node_term(const quorum_node *node)
{
	return node == NULL ? 0 : node->raft.d.term;
}

const char *
quorum_node_voted_for(const quorum_node *node)
{
	return node == NULL ? "" : node->raft.d.voted_for;
}

bool
quorum_node_has_lease(const quorum_node *node, quorum_time_ms now_ms)
{
	return node != NULL && !node->left &&
		quorum__raft_has_lease(&node->raft, now_ms);
}

bool
quorum_node_is_voter(const quorum_node *node, const char *name)
{
	if (node == NULL)
		return false;
	return quorum__raft_is_voter(&node->raft, name != NULL ? name : node->config.name);
}

bool
quorum_node_voter_admitted(const quorum_node *node, const char *name)
{
	const struct quorum__raft *r;
	const struct quorum__raft_peer *p;

	if (node == NULL)
		return false;
	r = &node->raft;
	if (name == NULL || strcmp(name, node->config.name) == 0)
		return quorum__raft_self_voter(r);
	/* What a former leader heard may be old: only the leader's view counts. */
	p = quorum__raft_peer_find((struct quorum__raft *) r, name);
	if (r->state != QUORUM__RAFT_LEADER || p == NULL || p->member_id == 0)
		return quorum__raft_is_voter(r, name);
	return !p->stale && quorum__raft_admits(r, name, p->member_id);
}

uint64_t
quorum_node_member_id(const quorum_node *node)
{
	return node == NULL ? 0 : node->raft.cfg.member_id;
}

size_t
quorum_node_log_leaders(const quorum_node *node, uint64_t after_term,
						struct quorum_term_leader *out, size_t max,
						bool *complete)
{
	const struct quorum__raft *r;
	size_t		n = 0;

	if (complete != NULL)
		*complete = false;
	if (node == NULL || complete == NULL || (out == NULL && max > 0))
		return 0;
	r = &node->raft;
	*complete = r->d.snap.term <= after_term;
	for (uint64_t i = quorum__raft_last_index(r); i > r->d.snap.index; i--)
	{
		const struct quorum_decision *e = quorum__raft_entry_at(r, i);

		if (e == NULL || e->term <= after_term)
			break;
		if (e->type != QUORUM_DECISION_NOOP)
			continue;
		if (e->name[0] == '\0')
		{
			*complete = false;
			continue;
		}
		if (n < max)
		{
			out[n].term = e->term;
			memcpy(out[n].name, e->name, sizeof(out[n].name));
		}
		n++;
	}
	return n;
}

int
quorum_node_election_get(const quorum_node *node,
						 struct quorum_election_info *info)
{
	const struct quorum__raft *r;

	if (node == NULL || info == NULL)
		return QUORUM_EINVAL;
	r = &node->raft;
	memset(info, 0, sizeof(*info));
	info->role = (enum quorum_election_role) r->state;
	info->term = r->d.term;
	memcpy(info->leader, r->leader, sizeof(info->leader));
	memcpy(info->voted_for, r->d.voted_for, sizeof(info->voted_for));
	info->is_voter = quorum__raft_self_voter(r);
	info->paused = r->paused;
	info->resume_pending = quorum__raft_resume_pending(r);
	info->stop_wal = quorum__raft_wal_stop_active(r);
	info->promotion_paused = quorum__raft_promotion_paused(r);
	info->bootstrapped = r->n_voters > 0;
	info->commit_index = r->commit;
	info->last_index = quorum__raft_last_index(r);
	if (quorum__raft_has_lease(r, r->now_ms))
		info->lease_until_ms = r->lease_until_ms;
	info->n_voters = r->n_voters;
	memcpy(info->voters, r->voters, sizeof(info->voters));
	return 0;
}
