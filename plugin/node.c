/*-------------------------------------------------------------------------
 *
 * node.c
 *	  One libquorum node: configuration, the step API, and the receive
 *	  checks between the host's bytes and the state machines.
 *
 * Every incoming datagram passes, in this order: size check (OVERSIZE),
 * unseal (AUTH, PLAINTEXT, MALFORMED) and decode (MALFORMED, VERSION) in
 * datagram.c, then here cluster check (CLUSTER), self check (SELF), replay
 * check (REPLAY); only then does swim*.c see it, or, for an election
 * message, node_raft.c.  A drop is counted and traced, never an error:
 * garbage is a normal input.  Every outgoing datagram is encoded, numbered
 * (boot, seq) and sealed by datagram.c, into the step's bounded outbox.
 * The layers: node.c drives swim*.c and node_raft.c (raft*.c below it),
 * and all of them send through datagram.c; nothing calls back up.
 *
 * Output order per node.h: persist (this node's incarnation and the
 * election's term, vote and log, whenever either changed), then datagrams,
 * then events.  Since all three leave in one batch and the host persists
 * first, whatever a step changed is durable before any datagram of that
 * step reveals it.
 *
 * plugin/node.c
 *
 *-------------------------------------------------------------------------
 */
#include "node_internal.h"
#include "datagram.h"

#include "quorum/error.h"
#include "internal.h"
#include "swim.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef QUORUM_SIMULATION
bool		(*quorum__buggify_hook) (const struct quorum_node *node,
									 const char *name) = NULL;
#endif

/* Smallest datagram limit: one full update plus headers and sealing, bytes. */
#define NODE_DATAGRAM_BYTES_MIN 1024
#define NODE_DATAGRAM_BYTES_MAX 65000

void
quorum_config_init(struct quorum_config *config)
{
	memset(config, 0, sizeof(*config));
	config->incarnation_start = 1;
	config->members_max = 256;
	config->meta_slots_max = 256;
	config->outbox_datagrams_max = 64;
	config->events_max = 256;
	config->dissemination_queue_max = 256;
	config->datagram_bytes_max = 1400;
	config->probe_interval_ms = 200;
	config->probe_timeout_ms = 100;
	config->pushpull_interval_ms = 10000;
	config->gossip_to_dead_ms = 10000;
	config->reap_dead_ms = 0;
	config->indirect_probes = 3;
	config->suspicion_mult = 4;
	config->suspicion_max_mult = 6;
	config->retransmit_mult = 4;
	config->awareness_max = 8;
	config->trace_level = QUORUM_TRACE_INFO;
	quorum__node_raft_config_init(config);
}

static bool
node_name_ok(const char *name)
{
	size_t		len = strnlen(name, QUORUM_NAME_MAX + 1);

	return len >= 1 && len <= QUORUM_NAME_MAX;
}

static int
node_check_limits(const struct quorum_config *c, char *errbuf, size_t len)
{
	if (c->members_max == 0 || c->members_max > QUORUM__MEMBERS_LIMIT)
		return quorum__errbuf(QUORUM_EINVAL, errbuf, len, "members_max must be between 1 and %u",
							  QUORUM__MEMBERS_LIMIT);
	if (c->meta_slots_max == 0 || c->outbox_datagrams_max == 0 ||
		c->events_max == 0 || c->dissemination_queue_max == 0)
		return quorum__errbuf(QUORUM_EINVAL, errbuf, len,
							  "meta_slots_max, outbox_datagrams_max, events_max and dissemination_queue_max must be positive");
	if (c->datagram_bytes_max < NODE_DATAGRAM_BYTES_MIN ||
		c->datagram_bytes_max > NODE_DATAGRAM_BYTES_MAX)
		return quorum__errbuf(QUORUM_EINVAL, errbuf, len,
							  "datagram_bytes_max must be between %d and %d",
							  NODE_DATAGRAM_BYTES_MIN, NODE_DATAGRAM_BYTES_MAX);
	if (c->suspicion_mult == 0 || c->suspicion_max_mult == 0 ||
		c->retransmit_mult == 0 || c->awareness_max == 0)
		return quorum__errbuf(QUORUM_EINVAL, errbuf, len,
							  "suspicion_mult, suspicion_max_mult, retransmit_mult and awareness_max must be positive");
	return 0;
}

static int
node_check_timings(const struct quorum_config *c, char *errbuf, size_t len)
{
	if (c->probe_interval_ms > UINT32_MAX)
		return quorum__errbuf(QUORUM_EINVAL, errbuf, len, "probe_interval_ms is too large");
	if (!quorum_timing_probe_fits(c->probe_timeout_ms, c->probe_interval_ms))
		return quorum__errbuf(QUORUM_EINVAL, errbuf, len,
							  "probe_timeout_ms (%llu) must be positive and less than probe_interval_ms (%llu)",
							  (unsigned long long) c->probe_timeout_ms,
							  (unsigned long long) c->probe_interval_ms);
	if (c->reap_dead_ms != 0 && c->reap_dead_ms < c->gossip_to_dead_ms)
		return quorum__errbuf(QUORUM_EINVAL, errbuf, len,
							  "reap_dead_ms (%llu) must be 0 or at least gossip_to_dead_ms (%llu)",
							  (unsigned long long) c->reap_dead_ms,
							  (unsigned long long) c->gossip_to_dead_ms);
	return 0;
}

static int
node_check_config(const struct quorum_config *c, char *errbuf, size_t len)
{
	int			rc;

	if (!node_name_ok(c->name))
		return quorum__errbuf(QUORUM_EINVAL, errbuf, len, "name must be 1 to %d bytes",
							  QUORUM_NAME_MAX);
	if (!node_name_ok(c->cluster))
		return quorum__errbuf(QUORUM_EINVAL, errbuf, len, "cluster must be 1 to %d bytes",
							  QUORUM_NAME_MAX);
	if (c->addr.family != 4 && c->addr.family != 6)
		return quorum__errbuf(QUORUM_EINVAL, errbuf, len, "addr family must be 4 or 6");
	if (c->keyring.count > QUORUM_KEYS_MAX)
		return quorum__errbuf(QUORUM_EINVAL, errbuf, len, "keyring holds at most %d keys",
							  QUORUM_KEYS_MAX);
	if (c->keyring.count == 0 && !c->allow_plaintext)
		return quorum__errbuf(QUORUM_EINVAL, errbuf, len,
							  "no keys: set a keyring, or allow_plaintext explicitly");
	if ((rc = node_check_limits(c, errbuf, len)) != 0)
		return rc;
	return node_check_timings(c, errbuf, len);
}

static int
node_alloc(quorum_node *node, const struct quorum_meta *facts)
{
	const struct quorum_config *c = &node->config;
	int			rc;

	rc = quorum__outbox_init(&node->outbox, c->outbox_datagrams_max,
							 c->datagram_bytes_max, c->events_max);
	if (rc != 0)
		return rc;
	node->msg_in = malloc(sizeof(*node->msg_in));
	node->msg_out = malloc(sizeof(*node->msg_out));
	node->plain = malloc(c->datagram_bytes_max);
	if (node->msg_in == NULL || node->msg_out == NULL || node->plain == NULL)
		return QUORUM_ENOMEM;
	/* The updates array is written before it is read; leave it untouched. */
	memset(node->msg_out, 0, offsetof(struct quorum_wire_msg, updates));
	return quorum__swim_init(node, facts);
}

int
quorum_node_new(const struct quorum_config *config,
				const struct quorum_meta *facts, quorum_time_ms now_ms,
				quorum_node **node_out, char *errbuf, size_t errbuf_len)
{
	static const struct quorum_meta no_facts;
	struct quorum_meta self_facts;
	quorum_node *node;
	int			rc;

	if (config == NULL || node_out == NULL)
		return quorum__errbuf(QUORUM_EINVAL, errbuf, errbuf_len, "config and node must not be NULL");
	if ((rc = node_check_config(config, errbuf, errbuf_len)) != 0)
		return rc;
	node = calloc(1, sizeof(*node));
	if (node == NULL)
		return QUORUM_ENOMEM;
	node->config = *config;
	if (node->config.meta_slots_max > node->config.members_max)
		node->config.meta_slots_max = node->config.members_max;
	node->now_ms = now_ms;
	node->cluster_id = quorum__wire_cluster_id(node->config.cluster);
	node->trace.fn = config->trace_fn;
	node->trace.ctx = config->trace_ctx;
	node->trace.level = config->trace_level;
	node->trace.self = node->config.name;
	quorum__prng_seed(&node->prng, config->seed);
	quorum__datagram_init_nonce(node);

	self_facts = facts != NULL ? *facts : no_facts;
	rc = quorum__sealer_init(&node->sealer, &config->keyring,
							 config->allow_plaintext);
	if (rc == 0)
		rc = node_alloc(node, &self_facts);
	if (rc == 0 && (rc = quorum__node_raft_init(node, &self_facts, errbuf,
												errbuf_len)) != 0)
	{
		quorum_node_free(node);
		return rc;
	}
	if (rc != 0)
	{
		if (rc == QUORUM_EINVAL)
			quorum__errbuf(QUORUM_EINVAL, errbuf, errbuf_len, "keyring rejected");
		else if (errbuf != NULL && errbuf_len > 0)
			snprintf(errbuf, errbuf_len, "%s", quorum_strerror(rc));
		quorum_node_free(node);
		return rc;
	}
	node->deadline_ms = QUORUM_MIN(quorum__swim_deadline(node),
								   quorum__raft_deadline(&node->raft));
	if (config->allow_plaintext && config->keyring.count == 0)
		QUORUM_TRACE(&node->trace, QUORUM_TRACE_WARNING, now_ms,
					 "running WITHOUT encryption or authentication (allow_plaintext)");
	*node_out = node;
	return 0;
}

void
quorum_node_free(quorum_node *node)
{
	if (node == NULL)
		return;
	quorum__swim_destroy(node);
	quorum__node_raft_destroy(node);
	quorum__sealer_destroy(&node->sealer);
	quorum__outbox_destroy(&node->outbox);
	free(node->msg_in);
	free(node->msg_out);
	free(node->plain);
	free(node);
}

static void
node_receive(quorum_node *node, const struct quorum_addr *from,
			 const uint8_t *data, size_t len)
{
	const struct quorum_wire_msg *msg = node->msg_in;
	uint32_t	idx;

	node->stats.datagrams_in++;
	node->stats.bytes_in += len;
	if (!quorum__datagram_open(node, data, len))
		return;
	if (msg->cluster_id != node->cluster_id)
	{
		quorum__datagram_drop(node, QUORUM_DROP_CLUSTER, msg->sender);
		return;
	}
	if (strcmp(msg->sender, node->config.name) == 0)
	{
		quorum__datagram_drop(node, QUORUM_DROP_SELF, "sender has our name");
		return;
	}
	idx = quorum__swim_find(node, msg->sender);
	if (idx != QUORUM__NONE &&
		!quorum__swim_replay_ok(&node->members[idx], msg->boot, msg->seq))
	{
		quorum__datagram_drop(node, QUORUM_DROP_REPLAY, msg->sender);
		return;
	}
	if (msg->type == QUORUM_WIRE_RAFT)
		quorum__node_raft_receive(node, msg);
	else
		quorum__swim_receive(node, from, msg);

	/* Looked up again: the message may have added or moved the sender. */
	idx = quorum__swim_find(node, msg->sender);
	if (idx != QUORUM__NONE)
	{
		quorum__swim_replay_record(&node->members[idx], msg->boot, msg->seq);
		node->members[idx].last_heard_ms = node->now_ms;
	}
}

/* FORGET: reap a dead or departed member now (see node.h). */
static int
node_forget(quorum_node *node, const char *name)
{
	uint32_t	idx;

	if (strnlen(name, QUORUM_NAME_MAX + 1) > QUORUM_NAME_MAX ||
		(idx = quorum__swim_find(node, name)) == QUORUM__NONE || idx == 0)
	{
		snprintf(node->errmsg, sizeof(node->errmsg),
				 "forget: \"%.*s\" is not another member", QUORUM_NAME_MAX, name);
		return QUORUM_ENOTFOUND;
	}
	if (node->members[idx].state != QUORUM_MEMBER_DEAD &&
		node->members[idx].state != QUORUM_MEMBER_LEFT)
	{
		snprintf(node->errmsg, sizeof(node->errmsg),
				 "forget: %s is %s; only a dead or departed member can be forgotten",
				 name, quorum_member_state_name(node->members[idx].state));
		return QUORUM_ESTATE;
	}
	quorum__swim_reap(node, idx);
	return 0;
}

static int
node_command(quorum_node *node, const struct quorum_command *cmd)
{
	char		addr[QUORUM_ADDR_STRLEN];

	switch (cmd->type)
	{
		case QUORUM_CMD_JOIN:
			if (cmd->addr.family != 4 && cmd->addr.family != 6)
			{
				snprintf(node->errmsg, sizeof(node->errmsg),
						 "join: seed address family must be 4 or 6");
				return QUORUM_EINVAL;
			}
			quorum_addr_format(&cmd->addr, addr, sizeof(addr));
			QUORUM_TRACE(&node->trace, QUORUM_TRACE_INFO, node->now_ms,
						 "join via %s", addr);
			node->stats.pushpulls++;
			quorum__swim_pushpull_send(node, &cmd->addr, false,
									   ++node->pushpull_exchange);
			return 0;
		case QUORUM_CMD_LEAVE:
			quorum__swim_leave(node);
			node->left = true;
			return 0;
		case QUORUM_CMD_TRANSFER:
		case QUORUM_CMD_PAUSE:
		case QUORUM_CMD_RESUME:
		case QUORUM_CMD_ADD_VOTER:
		case QUORUM_CMD_REMOVE_VOTER:
		case QUORUM_CMD_RESIGN:
			return quorum__node_raft_command(node, cmd);
		case QUORUM_CMD_FORGET:
			return node_forget(node, cmd->name);
	}
	snprintf(node->errmsg, sizeof(node->errmsg), "unknown command type %d",
			 (int) cmd->type);
	return QUORUM_EINVAL;
}

static int
node_dispatch(quorum_node *node, const struct quorum_input *in)
{
	switch (in->type)
	{
		case QUORUM_IN_DATAGRAM:
			if (in->u.datagram.data == NULL && in->u.datagram.len > 0)
			{
				snprintf(node->errmsg, sizeof(node->errmsg),
						 "datagram input with NULL data");
				return QUORUM_EINVAL;
			}
			node_receive(node, &in->u.datagram.from, in->u.datagram.data,
						 in->u.datagram.len);
			return 0;
		case QUORUM_IN_TICK:
			return 0;
		case QUORUM_IN_FACTS:
			quorum__swim_set_facts(node, &in->u.facts);
			quorum__node_raft_set_facts(node, &in->u.facts);
			return 0;
		case QUORUM_IN_WAL_STOPPED:
			quorum__swim_set_facts(node, &in->u.facts);
			quorum__node_raft_wal_stopped(node, &in->u.facts);
			return 0;
		case QUORUM_IN_COMMAND:
			return node_command(node, &in->u.command);
	}
	snprintf(node->errmsg, sizeof(node->errmsg), "unknown input type %d",
			 (int) in->type);
	return QUORUM_EINVAL;
}

static void
node_fill_output(quorum_node *node, struct quorum_output *out)
{
	uint64_t	incarnation = node->members[0].incarnation;

	/* One record for both, so the host replaces them in one atomic write. */
	if (!node->persisted || incarnation > node->persisted_incarnation ||
		node->raft.persist)
	{
		out->flags |= QUORUM_OUT_PERSIST;
		quorum__node_raft_durable(node, &out->durable);
		node->persisted = true;
		node->persisted_incarnation = incarnation;
		node->raft.persist = false;
	}
	node->deadline_ms = node->left ? UINT64_MAX :
		QUORUM_MIN(quorum__swim_deadline(node), quorum__raft_deadline(&node->raft));
	out->deadline_ms = node->deadline_ms;
	out->datagrams = node->outbox.datagrams;
	out->n_datagrams = node->outbox.n_datagrams;
	out->events = node->outbox.events;
	out->n_events = node->outbox.n_events;
	if (out->n_datagrams > 0)
		out->flags |= QUORUM_OUT_SEND;
	if (out->n_events > 0)
		out->flags |= QUORUM_OUT_EVENTS;
}

int
quorum_node_step(quorum_node *node, const struct quorum_input *in,
				 struct quorum_output *out)
{
	int			rc;

	if (node == NULL || in == NULL || out == NULL)
		return QUORUM_EINVAL;
	memset(out, 0, sizeof(*out));
	quorum__outbox_reset(&node->outbox);
	if (node->left)
	{
		snprintf(node->errmsg, sizeof(node->errmsg),
				 "node %s has left the cluster", node->config.name);
		out->deadline_ms = UINT64_MAX;
		return QUORUM_ESTATE;
	}
	/* The host's clock is monotonic; tolerate a step back by ignoring it. */
	if (in->now_ms > node->now_ms)
		node->now_ms = in->now_ms;
	rc = node_dispatch(node, in);
	if (rc != 0)
	{
		out->deadline_ms = node->deadline_ms;
		return rc;
	}
	if (!node->left)
	{
		quorum__swim_tick(node);
		quorum__node_raft_step(node, node->outbox.n_events);
	}
	node_fill_output(node, out);
	return 0;
}

void
quorum_node_output_done(quorum_node *node, struct quorum_output *out)
{
	if (node == NULL)
		return;
	quorum__outbox_reset(&node->outbox);
	if (out != NULL)
	{
		out->datagrams = NULL;
		out->n_datagrams = 0;
		out->events = NULL;
		out->n_events = 0;
	}
}

quorum_time_ms
quorum_node_deadline_ms(const quorum_node *node)
{
	return node == NULL ? UINT64_MAX : node->deadline_ms;
}

size_t
quorum_node_member_count(const quorum_node *node)
{
	return node == NULL ? 0 : node->n_members;
}

int
quorum_node_member_get(const quorum_node *node, size_t i,
					   struct quorum_member_info *info)
{
	const struct quorum__member *m;

	if (node == NULL || info == NULL)
		return QUORUM_EINVAL;
	if (i >= node->n_members)
		return QUORUM_ENOTFOUND;
	m = &node->members[i];
	memset(info, 0, sizeof(*info));
	quorum__name_copy(info->name, quorum__node_member_name(node, (uint32_t) i));
	info->addr = m->addr;
	info->state = (enum quorum_member_state) m->state;
	info->incarnation = m->incarnation;
	info->is_self = i == 0;
	info->has_meta = m->meta_slot != QUORUM__NONE;
	info->meta_version = m->meta_version;
	if (info->has_meta)
		info->meta = node->meta[m->meta_slot];
	info->state_since_ms = m->state_since_ms;
	info->last_heard_ms = m->last_heard_ms;
	info->rtt_us = m->rtt_us;
	info->probes_sent = m->probes_sent;
	info->probes_failed = m->probes_failed;
	/* Each probe ends acked or failed; the one in flight is neither yet. */
	info->acks_received = m->probes_sent - m->probes_failed;
	if (node->probe.active && node->probe.target == i && !node->probe.acked)
		info->acks_received--;
	return 0;
}

int
quorum_node_member_find(const quorum_node *node, const char *name,
						struct quorum_member_info *info)
{
	uint32_t	idx;

	if (node == NULL || name == NULL || info == NULL)
		return QUORUM_EINVAL;
	idx = quorum__swim_find(node, name);
	if (idx == QUORUM__NONE)
		return QUORUM_ENOTFOUND;
	return quorum_node_member_get(node, idx, info);
}

void
quorum_node_stats_get(const quorum_node *node, struct quorum_node_stats *stats)
{
	if (node == NULL || stats == NULL)
		return;
	*stats = node->stats;
	stats->local_health = node->awareness;
	stats->members_alive = node->n_by_state[QUORUM_MEMBER_ALIVE];
	stats->members_suspect = node->n_by_state[QUORUM_MEMBER_SUSPECT];
	stats->members_dead = node->n_by_state[QUORUM_MEMBER_DEAD];
	stats->members_left = node->n_by_state[QUORUM_MEMBER_LEFT];
}

const char *
quorum_node_name(const quorum_node *node)
{
	return node == NULL ? "" : node->config.name;
}

const char *
quorum_node_errmsg(const quorum_node *node)
{
	return node == NULL ? "" : node->errmsg;
}
