/*-------------------------------------------------------------------------
 *
 * swim.c
 *	  Membership: the member table and the rules that merge what peers say.
 *
 * What this is
 * ------------
 * SWIM (Das, Gupta, Motivala, 2002) with the Lifeguard refinements (Dadgar,
 * Phillips, Currey, 2018), shaped after HashiCorp memberlist, written as a
 * sans-IO state machine: time is an input, datagrams are outputs, and every
 * random choice comes from the node's seeded PRNG, so a simulator can run
 * thousands of nodes in one process and replay any run from its seed.
 *
 * From SWIM
 * ---------
 * - Failure detection by probing one member per protocol period, picked in
 *   randomized round-robin order (§4.3: "each member maintains a list of
 *   known members ... selects ping targets ... in a round-robin fashion", the
 *   list reshuffled every round, newcomers inserted at random positions), so
 *   a failed member is detected within one round even in the worst case.
 * - Indirect probing (§3.1): on no direct ACK within the probe timeout, ask
 *   k other members to ping the target and relay the ACK.
 * - The suspicion mechanism (§4.2) with incarnation numbers: a member
 *   suspected at incarnation i refutes by gossiping ALIVE at i+1.
 * - Infection-style dissemination (§4.1): updates ride piggybacked on PING,
 *   ACK, PING_REQ and NACK rather than being multicast.
 *
 * From Lifeguard
 * --------------
 * - Local health awareness (§3): a score raised by our own missed acks and
 *   nacks and by refuting suspicions of ourselves, lowered by successful
 *   probes; it stretches our probe interval and timeout, so a slow node
 *   (GC pause, CPU starvation) accuses less instead of accusing healthy
 *   peers.  NACKs from indirect helpers tell a prober that the helpers are
 *   fine and the target is not.
 * - Local health aware suspicion (§4): the suspicion timeout starts long and
 *   shrinks logarithmically as independent members confirm the suspicion.
 *
 * What differs, and why
 * ---------------------
 * - Push-pull anti-entropy runs over UDP in datagram-sized chunks instead of
 *   memberlist's TCP stream: the core does no IO and the host has only a
 *   datagram channel.  A table larger than one batch of chunks is sent
 *   window by window across successive exchanges (swim_pushpull.c).
 * - Graceful leave is its own state (LEFT) on the wire instead of
 *   memberlist's "dead, declared by itself".
 * - Every datagram is sealed (AES-256-GCM) and carries (boot, seq) for
 *   replay protection; that is datagram.c's and node.c's job, before anything
 *   here runs.
 * - A message sent to a member we think is suspect or dead carries that
 *   member's own state first, so it can refute at once instead of waiting for
 *   the rumour to reach it by chance.
 * - Dead members stay in the probe order for gossip_to_dead_ms and receive a
 *   GOSSIP datagram when their turn comes (memberlist's gossip-to-the-dead),
 *   and are reaped, if reap_dead_ms is set, when their turn comes after that:
 *   both are O(1) per probe period instead of a table scan.
 * - Each push-pull round also pushes to one random dead member (Serf's
 *   reconnect loop, which memberlist leaves to its user), so two sides of a
 *   partition that outlasted gossip_to_dead_ms still find each other.
 * - A stale claim that this node is dead (older incarnation) makes it
 *   re-announce its current incarnation instead of ignoring the claim.
 * - Everything is bounded by the config and allocated at creation; a full
 *   table or queue is a counted drop, never a reallocation.
 *
 * Merge rules (SWIM §4.2, as memberlist applies them)
 * ---------------------------------------------------
 *   ALIVE   overrides SUSPECT / DEAD / LEFT only with a higher incarnation;
 *           at the same incarnation it can only bring newer metadata.
 *   SUSPECT overrides ALIVE at >= incarnation; on SUSPECT it is a
 *           confirmation; it never overrides DEAD or LEFT.
 *   DEAD    overrides ALIVE and SUSPECT at >= incarnation.
 *   LEFT    overrides everything but LEFT at >= incarnation.
 * Unknown members are added only from ALIVE: a suspicion or death of a
 * member we never knew tells us nothing we could act on.
 *
 * plugin/swim.c
 *
 *-------------------------------------------------------------------------
 */
#include "swim.h"
#include "datagram.h"

#include "quorum/error.h"
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static uint32_t
swim_hash(const char *name)
{
	uint32_t	h = 2166136261u;

	for (const unsigned char *p = (const unsigned char *) name; *p; p++)
	{
		h ^= *p;
		h *= 16777619u;
	}
	return h;
}

/* The owner field of the name record at off. */
static void
swim_name_set_owner(struct quorum_node *node, uint32_t off, uint32_t owner)
{
	memcpy(node->names + off, &owner, sizeof(owner));
}

/*
 * Squeeze out the records of reaped members.  Runs only when the arena is
 * full, which needs many reaps: it is sized for members_max names of the
 * longest length, so the live names always fit once compacted.
 */
static void
swim_names_compact(struct quorum_node *node)
{
	size_t		r = 0,
				w = 0;

	while (r < node->names_used)
	{
		uint32_t	owner;
		size_t		len = sizeof(owner) + strlen(node->names + r + sizeof(owner)) + 1;

		memcpy(&owner, node->names + r, sizeof(owner));
		if (owner != QUORUM__NONE)
		{
			memmove(node->names + w, node->names + r, len);
			node->members[owner].name_off = (uint32_t) w;
			w += len;
		}
		r += len;
	}
	node->names_used = w;
}

static void
swim_name_store(struct quorum_node *node, uint32_t idx, const char *name)
{
	size_t		len = strnlen(name, QUORUM_NAME_MAX);
	size_t		need = sizeof(uint32_t) + len + 1;

	if (node->names_used + need > node->names_cap)
		swim_names_compact(node);
	QUORUM_ASSERT(node->names_used + need <= node->names_cap);
	node->members[idx].name_off = (uint32_t) node->names_used;
	swim_name_set_owner(node, (uint32_t) node->names_used, idx);
	memcpy(node->names + node->names_used + sizeof(uint32_t), name, len);
	node->names[node->names_used + need - 1] = '\0';
	node->names_used += need;
}

int
quorum__swim_init(struct quorum_node *node, const struct quorum_meta *facts)
{
	uint32_t	max = node->config.members_max;
	uint32_t	buckets = 1;
	uint32_t	meta_max = node->config.meta_slots_max;
	uint32_t	self;

	/*
	 * Tables are sized for the worst case but left uninitialized (malloc,
	 * not calloc) where every entry is written before it is read, so pages
	 * a node never uses are never touched: a 1000-node simulation of
	 * 1000-member tables pays for what the members actually use.
	 */
	while (buckets < 2 * max)
		buckets <<= 1;
	node->members_max = max;
	node->members = malloc(sizeof(*node->members) * max);
	node->names_cap = (size_t) max * (sizeof(uint32_t) + QUORUM_NAME_MAX + 1);
	node->names = malloc(node->names_cap);
	node->buckets = malloc(sizeof(uint32_t) * buckets);
	node->order = malloc(sizeof(uint32_t) * max);
	node->meta = calloc(meta_max, sizeof(*node->meta));
	node->meta_free_next = calloc(meta_max, sizeof(uint32_t));
	node->confirm_max = QUORUM_MIN(node->config.indirect_probes,
								   QUORUM__CONFIRM_MAX);
	node->susp = malloc(sizeof(*node->susp) * max);
	node->accusers = malloc(sizeof(uint32_t) * max * (node->confirm_max + 1));
	node->dq = calloc(node->config.dissemination_queue_max, sizeof(*node->dq));
	node->dq_from = malloc(sizeof(*node->dq_from) *
						   node->config.dissemination_queue_max);
	node->dq_free_next = calloc(node->config.dissemination_queue_max,
								sizeof(uint32_t));
	node->relays_max = QUORUM_MAX(16u, 8 * node->config.indirect_probes);
	node->relays = calloc(node->relays_max, sizeof(*node->relays));
	if (!node->members || !node->names || !node->buckets || !node->order ||
		!node->meta || !node->meta_free_next || !node->susp ||
		!node->accusers || !node->dq || !node->dq_from ||
		!node->dq_free_next || !node->relays)
		return QUORUM_ENOMEM;

	node->bucket_mask = buckets - 1;
	for (uint32_t i = 0; i < buckets; i++)
		node->buckets[i] = QUORUM__NONE;
	for (uint32_t i = 0; i < meta_max; i++)
		node->meta_free_next[i] = i + 1 < meta_max ? i + 1 : QUORUM__NONE;
	node->meta_free = 0;
	for (uint32_t i = 0; i < node->config.dissemination_queue_max; i++)
		node->dq_free_next[i] = i + 1 < node->config.dissemination_queue_max ?
			i + 1 : QUORUM__NONE;
	node->dq_free = 0;

	self = quorum__swim_add(node, node->config.name, &node->config.addr,
							node->config.incarnation_start);
	QUORUM_ASSERT(self == 0);
	quorum__swim_meta_store(node, self, facts, 1);
	quorum__swim_dq_push(node, self, "");
	quorum__swim_probe_init(node);
	return 0;
}

void
quorum__swim_destroy(struct quorum_node *node)
{
	free(node->members);
	free(node->names);
	free(node->buckets);
	free(node->order);
	free(node->meta);
	free(node->meta_free_next);
	free(node->susp);
	free(node->accusers);
	free(node->dq);
	free(node->dq_from);
	free(node->dq_free_next);
	free(node->relays);
}

uint32_t
quorum__swim_find(const struct quorum_node *node, const char *name)
{
	uint32_t	i = node->buckets[swim_hash(name) & node->bucket_mask];

	for (; i != QUORUM__NONE; i = node->members[i].hash_next)
		if (strcmp(quorum__node_member_name(node, i), name) == 0)
			return i;
	return QUORUM__NONE;
}

/*
 * Adds an ALIVE member.  The caller emits the event and enqueues the news;
 * a full table is a counted drop.
 */
uint32_t
quorum__swim_add(struct quorum_node *node, const char *name,
				 const struct quorum_addr *addr, uint64_t incarnation)
{
	struct quorum__member *m;
	uint32_t	idx;
	uint32_t	bucket;

	if (node->n_members >= node->members_max)
	{
		quorum__datagram_drop(node, QUORUM_DROP_TABLE_FULL, name);
		return QUORUM__NONE;
	}
	idx = node->n_members++;
	m = &node->members[idx];
	memset(m, 0, sizeof(*m));
	m->incarnation = incarnation;
	m->addr = *addr;
	m->state = QUORUM_MEMBER_ALIVE;
	m->meta_slot = QUORUM__NONE;
	m->state_since_ms = node->now_ms;
	swim_name_store(node, idx, name);
	bucket = swim_hash(name) & node->bucket_mask;
	m->hash_next = node->buckets[bucket];
	node->buckets[bucket] = idx;
	node->n_by_state[QUORUM_MEMBER_ALIVE]++;
	if (idx != 0)
		quorum__swim_order_insert(node, idx);
	return idx;
}

/* The link (bucket head or predecessor's hash_next) that points at idx. */
static uint32_t *
swim_hash_link(struct quorum_node *node, uint32_t idx)
{
	const char *name = quorum__node_member_name(node, idx);
	uint32_t   *link = &node->buckets[swim_hash(name) & node->bucket_mask];

	while (*link != idx)
	{
		QUORUM_ASSERT(*link != QUORUM__NONE);
		link = &node->members[*link].hash_next;
	}
	return link;
}

/* Moves the last member into hole idx, fixing every index that named it. */
static void
swim_move_last(struct quorum_node *node, uint32_t idx)
{
	uint32_t	last = node->n_members - 1;
	uint32_t   *link;

	if (idx == last)
		return;
	link = swim_hash_link(node, last);
	*link = idx;
	node->members[idx] = node->members[last];
	swim_name_set_owner(node, node->members[idx].name_off, idx);
	quorum__swim_order_rename(node, last, idx);
	quorum__swim_suspicion_rename(node, last, idx);
	quorum__swim_dq_rename(node, last, idx);
	if (node->probe.target == last)
		node->probe.target = idx;
}

/*
 * dead/left -> forgotten: reap_dead_ms passed.  The member may come back
 * later as a stranger: it is then added again from its ALIVE gossip.
 */
void
quorum__swim_reap(struct quorum_node *node, uint32_t idx)
{
	struct quorum__member *m = &node->members[idx];
	uint32_t   *link;

	QUORUM_ASSERT(idx != 0 && idx < node->n_members);
	QUORUM_TRACE(&node->trace, QUORUM_TRACE_INFO, node->now_ms,
				 "reap %s (%s since %llu)", quorum__node_member_name(node, idx),
				 quorum_member_state_name(m->state),
				 (unsigned long long) m->state_since_ms);
	quorum__datagram_event(node, QUORUM_EV_MEMBER_REAPED, idx);
	quorum__swim_suspicion_end(node, idx);
	quorum__swim_dq_remove(node, idx);
	if (node->probe.target == idx)
	{
		node->probe.active = false;
		node->probe.target = QUORUM__NONE;
	}
	if (m->meta_slot != QUORUM__NONE)
	{
		node->meta_free_next[m->meta_slot] = node->meta_free;
		node->meta_free = m->meta_slot;
	}
	node->n_by_state[m->state]--;
	link = swim_hash_link(node, idx);
	*link = m->hash_next;
	swim_name_set_owner(node, m->name_off, QUORUM__NONE);
	quorum__swim_order_remove(node, idx);
	swim_move_last(node, idx);
	node->n_members--;
}

/* Every state change goes through here: counters, timers and the event. */
void
quorum__swim_set_state(struct quorum_node *node, uint32_t idx,
					   enum quorum_member_state state, uint64_t incarnation)
{
	static const enum quorum_event_type events[] = {
		[QUORUM_MEMBER_ALIVE] = QUORUM_EV_MEMBER_ALIVE,
		[QUORUM_MEMBER_SUSPECT] = QUORUM_EV_MEMBER_SUSPECT,
		[QUORUM_MEMBER_DEAD] = QUORUM_EV_MEMBER_DEAD,
		[QUORUM_MEMBER_LEFT] = QUORUM_EV_MEMBER_LEFT,
	};
	struct quorum__member *m = &node->members[idx];
	enum quorum_member_state old = (enum quorum_member_state) m->state;

	m->incarnation = incarnation;
	if (old == state)
		return;
	if (old == QUORUM_MEMBER_SUSPECT)
		quorum__swim_suspicion_end(node, idx);
	node->n_by_state[old]--;
	node->n_by_state[state]++;
	m->state = (uint8_t) state;
	m->state_since_ms = node->now_ms;
	if (idx != 0)
		quorum__datagram_event(node, events[state], idx);
}

void
quorum__swim_meta_store(struct quorum_node *node, uint32_t idx,
						const struct quorum_meta *meta, uint64_t meta_version)
{
	struct quorum__member *m = &node->members[idx];
	struct quorum_meta *slot;

	if (m->meta_slot == QUORUM__NONE)
	{
		if (node->meta_free == QUORUM__NONE)
		{
			quorum__datagram_drop(node, QUORUM_DROP_TABLE_FULL,
							  "no free metadata slot");
			return;
		}
		m->meta_slot = node->meta_free;
		node->meta_free = node->meta_free_next[m->meta_slot];
	}
	slot = &node->meta[m->meta_slot];
	memset(slot, 0, sizeof(*slot));
	slot->role = meta->role;
	slot->timeline = meta->timeline;
	slot->lsn = meta->lsn;
	slot->priority = meta->priority;
	memcpy(slot->conninfo, meta->conninfo,
		   strnlen(meta->conninfo, QUORUM_CONNINFO_MAX));
	memcpy(slot->tags, meta->tags, strnlen(meta->tags, QUORUM_TAGS_MAX));
	m->meta_version = meta_version;
}

static bool
swim_meta_equal(const struct quorum_meta *a, const struct quorum_meta *b)
{
	return a->role == b->role && a->timeline == b->timeline &&
		a->lsn == b->lsn && a->priority == b->priority &&
		strncmp(a->conninfo, b->conninfo, QUORUM_CONNINFO_MAX) == 0 &&
		strncmp(a->tags, b->tags, QUORUM_TAGS_MAX) == 0;
}

void
quorum__swim_to_update(const struct quorum_node *node, uint32_t idx,
					   const char *from, bool with_meta,
					   struct quorum_wire_update *up)
{
	const struct quorum__member *m = &node->members[idx];

	up->state = (enum quorum_member_state) m->state;
	quorum__name_copy(up->name, quorum__node_member_name(node, idx));
	up->addr = m->addr;
	up->incarnation = m->incarnation;
	strncpy(up->from, from, QUORUM_NAME_MAX);
	up->from[QUORUM_NAME_MAX] = '\0';
	up->meta_version = m->meta_version;
	up->has_meta = with_meta && m->meta_slot != QUORUM__NONE;
	if (up->has_meta)
		up->meta = node->meta[m->meta_slot];
}

/*
 * A claim about ourselves.  From SWIM §4.2: "such a suspected member Mj
 * ... refutes it by incrementing its incarnation number and disseminating an
 * Alive message".  The new incarnation is made durable before anything
 * reveals it (node.c sets QUORUM_OUT_PERSIST for the same step).
 */
static void
swim_apply_self(struct quorum_node *node, const struct quorum_wire_update *up,
				const char *via)
{
	struct quorum__member *self = &node->members[0];
	uint64_t	old = self->incarnation;

	if (node->left)
		return;
	if (up->incarnation < old)
	{
		/*
		 * A stale claim: the sender missed our later incarnation.  Tell it
		 * again (our next datagrams, the answer to its ping first, carry it)
		 * or it may never learn, once that news has stopped circulating.
		 */
		if (up->state != QUORUM_MEMBER_ALIVE)
			quorum__swim_dq_push(node, 0, "");
		return;
	}
	if (up->state == QUORUM_MEMBER_ALIVE && up->incarnation == old)
		return;
#if defined(QUORUM_SIMULATION) && defined(QUORUM_BREAK_REFUTE)
	/* Deliberately broken build: lets the simulator's checker prove itself. */
	QUORUM_TRACE(&node->trace, QUORUM_TRACE_INFO, node->now_ms,
				 "not refuting %s of self (QUORUM_BREAK_REFUTE)",
				 quorum_member_state_name(up->state));
	return;
#endif
	self->incarnation = QUORUM_MAX(old, up->incarnation) + 1;
	if (up->state != QUORUM_MEMBER_ALIVE)
	{
		/* From Lifeguard §3: being suspected hints that we are the slow one. */
		node->stats.suspicions_refuted++;
		quorum__swim_awareness_add(node, 1);
	}
	quorum__swim_dq_push(node, 0, "");
	QUORUM_TRACE(&node->trace, QUORUM_TRACE_INFO, node->now_ms,
				 "refute %s of self by %s (inc %llu -> %llu)",
				 quorum_member_state_name(up->state),
				 up->from[0] ? up->from : via, (unsigned long long) old,
				 (unsigned long long) self->incarnation);
}

static void
swim_apply_new(struct quorum_node *node, const struct quorum_wire_update *up,
			   const char *via)
{
	uint32_t	idx;

	if (up->state != QUORUM_MEMBER_ALIVE)
		return;
	idx = quorum__swim_add(node, up->name, &up->addr, up->incarnation);
	if (idx == QUORUM__NONE)
		return;
	if (up->has_meta)
		quorum__swim_meta_store(node, idx, &up->meta, up->meta_version);
	QUORUM_TRACE(&node->trace, QUORUM_TRACE_INFO, node->now_ms,
				 "%s joined (inc %llu, via %s)", up->name,
				 (unsigned long long) up->incarnation, via);
	quorum__datagram_event(node, QUORUM_EV_MEMBER_ALIVE, idx);
	quorum__swim_dq_push(node, idx, "");
}

/* Newer metadata rides on ALIVE; true if it was stored. */
static bool
swim_apply_meta(struct quorum_node *node, uint32_t idx,
				const struct quorum_wire_update *up)
{
	struct quorum__member *m = &node->members[idx];
	bool		changed;

	if (!up->has_meta)
		return false;
	if (up->incarnation == m->incarnation &&
		up->meta_version <= m->meta_version)
		return false;
	changed = m->meta_slot == QUORUM__NONE ||
		!swim_meta_equal(&node->meta[m->meta_slot], &up->meta);
	quorum__swim_meta_store(node, idx, &up->meta, up->meta_version);
	return changed && m->meta_slot != QUORUM__NONE;
}

static void
swim_apply_alive(struct quorum_node *node, uint32_t idx,
				 const struct quorum_wire_update *up)
{
	struct quorum__member *m = &node->members[idx];
	enum quorum_member_state old = (enum quorum_member_state) m->state;
	const char *name = up->name;
	bool		meta_changed;

	if (up->incarnation < m->incarnation)
		return;
	if (up->incarnation == m->incarnation)
	{
		if (!swim_apply_meta(node, idx, up))
			return;
		QUORUM_TRACE(&node->trace, QUORUM_TRACE_INFO, node->now_ms,
					 "%s metadata v%llu", name,
					 (unsigned long long) up->meta_version);
		quorum__datagram_event(node, QUORUM_EV_MEMBER_UPDATED, idx);
		quorum__swim_dq_push(node, idx, "");
		return;
	}

	/* suspect/dead/left -> alive: refuted, or restarted, at a higher inc */
	m->addr = up->addr;
	meta_changed = swim_apply_meta(node, idx, up);
	quorum__swim_set_state(node, idx, QUORUM_MEMBER_ALIVE, up->incarnation);
	if (old != QUORUM_MEMBER_ALIVE)
		QUORUM_TRACE(&node->trace, QUORUM_TRACE_INFO, node->now_ms,
					 "%s alive (inc %llu, was %s)", name,
					 (unsigned long long) up->incarnation,
					 quorum_member_state_name(old));
	if (meta_changed)
		quorum__datagram_event(node, QUORUM_EV_MEMBER_UPDATED, idx);
	quorum__swim_dq_push(node, idx, "");
}

static void
swim_apply_suspect(struct quorum_node *node, uint32_t idx,
				   const struct quorum_wire_update *up, const char *from)
{
	struct quorum__member *m = &node->members[idx];

	if (up->incarnation < m->incarnation)
		return;
	if (m->state == QUORUM_MEMBER_ALIVE)
	{
		/* alive -> suspect: another member's probe of it failed */
		quorum__swim_set_state(node, idx, QUORUM_MEMBER_SUSPECT,
							   up->incarnation);
		quorum__swim_suspicion_start(node, idx, from);
		QUORUM_TRACE(&node->trace, QUORUM_TRACE_INFO, node->now_ms,
					 "suspect %s (inc %llu, by %s)", up->name,
					 (unsigned long long) up->incarnation, from);
		quorum__swim_dq_push(node, idx, from);
	}
	else if (m->state == QUORUM_MEMBER_SUSPECT)
	{
		m->incarnation = up->incarnation;
		quorum__swim_suspicion_confirm(node, idx, from);
	}
}

static void
swim_apply_dead(struct quorum_node *node, uint32_t idx,
				const struct quorum_wire_update *up, const char *from)
{
	struct quorum__member *m = &node->members[idx];
	enum quorum_member_state old = (enum quorum_member_state) m->state;

	if (up->incarnation < m->incarnation || old == QUORUM_MEMBER_LEFT)
		return;
	if (old == QUORUM_MEMBER_DEAD && up->state == QUORUM_MEMBER_DEAD)
		return;

	/*
	 * alive/suspect -> dead: another member's suspicion expired.
	 * alive/suspect/dead -> left: the member said goodbye.
	 */
	quorum__swim_set_state(node, idx, up->state, up->incarnation);
	QUORUM_TRACE(&node->trace, QUORUM_TRACE_INFO, node->now_ms,
				 "%s %s (inc %llu, by %s)", up->name,
				 quorum_member_state_name(up->state),
				 (unsigned long long) up->incarnation, from);
	quorum__swim_dq_push(node, idx, from);
}

void
quorum__swim_apply(struct quorum_node *node,
				   const struct quorum_wire_update *up, const char *via)
{
	const char *from = up->from[0] != '\0' ? up->from : via;
	uint32_t	idx;

	if (strcmp(up->name, node->config.name) == 0)
	{
		swim_apply_self(node, up, via);
		return;
	}
	idx = quorum__swim_find(node, up->name);
	if (idx == QUORUM__NONE)
	{
		swim_apply_new(node, up, via);
		return;
	}
	switch (up->state)
	{
		case QUORUM_MEMBER_ALIVE:
			swim_apply_alive(node, idx, up);
			break;
		case QUORUM_MEMBER_SUSPECT:
			swim_apply_suspect(node, idx, up, from);
			break;
		case QUORUM_MEMBER_DEAD:
		case QUORUM_MEMBER_LEFT:
			swim_apply_dead(node, idx, up, from);
			break;
	}
}

/* Piggybacked gossip first, so an ACK we send already carries our answer. */
void
quorum__swim_receive(struct quorum_node *node, const struct quorum_addr *from,
					 const struct quorum_wire_msg *msg)
{
	if (msg->type != QUORUM_WIRE_PUSHPULL)
		for (unsigned i = 0; i < msg->n_updates; i++)
			quorum__swim_apply(node, &msg->updates[i], msg->sender);

	switch (msg->type)
	{
		case QUORUM_WIRE_PING:
			quorum__swim_on_ping(node, from, msg);
			break;
		case QUORUM_WIRE_ACK:
			quorum__swim_on_ack(node, msg);
			break;
		case QUORUM_WIRE_NACK:
			quorum__swim_on_nack(node, msg);
			break;
		case QUORUM_WIRE_PING_REQ:
			quorum__swim_on_ping_req(node, from, msg);
			break;
		case QUORUM_WIRE_PUSHPULL:
			quorum__swim_on_pushpull(node, from, msg);
			break;
		case QUORUM_WIRE_GOSSIP:
			break;
	}
}

void
quorum__swim_set_facts(struct quorum_node *node,
					   const struct quorum_meta *facts)
{
	struct quorum__member *self = &node->members[0];

	if (self->meta_slot != QUORUM__NONE &&
		swim_meta_equal(&node->meta[self->meta_slot], facts))
		return;
	quorum__swim_meta_store(node, 0, facts, self->meta_version + 1);
	QUORUM_TRACE(&node->trace, QUORUM_TRACE_INFO, node->now_ms,
				 "facts changed (meta v%llu, %s, tli %u, lsn %llu)",
				 (unsigned long long) self->meta_version,
				 quorum_role_name(facts->role), (unsigned) facts->timeline,
				 (unsigned long long) facts->lsn);
	quorum__swim_dq_push(node, 0, "");
}

/*
 * Graceful leave: LEFT goes to a few random live members directly (GOSSIP)
 * and spreads from there by piggybacking; this node then idles.
 */
void
quorum__swim_leave(struct quorum_node *node)
{
	unsigned	fanout = node->config.indirect_probes + 1;
	unsigned	sent = 0;
	uint32_t	n = node->n_members;
	uint32_t	start = quorum__prng_below(&node->prng, n);

	quorum__swim_set_state(node, 0, QUORUM_MEMBER_LEFT,
						   node->members[0].incarnation);
	quorum__swim_dq_push(node, 0, node->config.name);
	for (uint32_t i = 0; i < n && sent < fanout; i++)
	{
		uint32_t	idx = (start + i) % n;
		struct quorum__member *m = &node->members[idx];

		if (idx == 0 || (m->state != QUORUM_MEMBER_ALIVE &&
						 m->state != QUORUM_MEMBER_SUSPECT))
			continue;
		quorum__datagram_msg(node, QUORUM_WIRE_GOSSIP);
		if (!quorum__swim_send(node, &m->addr, idx))
			break;
		QUORUM_TRACE(&node->trace, QUORUM_TRACE_INFO, node->now_ms,
					 "leave: told %s", quorum__node_member_name(node, idx));
		sent++;
	}
	QUORUM_TRACE(&node->trace, QUORUM_TRACE_INFO, node->now_ms,
				 "left (inc %llu, told %u)",
				 (unsigned long long) node->members[0].incarnation, sent);
}

/*
 * Anti-replay (node.c asks before acting on a datagram from a known member):
 * an older boot is a replay of a previous run; within a boot a 64-seq
 * sliding window, as IPsec's, tolerates reordering but not duplicates.
 */
bool
quorum__swim_replay_ok(const struct quorum__member *m, uint64_t boot,
					   uint64_t seq)
{
	uint64_t	age;

	if (boot != m->replay_boot)
		return boot > m->replay_boot;
	if (seq > m->replay_seq)
		return true;
	age = m->replay_seq - seq;
	if (age >= QUORUM__REPLAY_WINDOW)
		return false;
	return (m->replay_window & (UINT64_C(1) << age)) == 0;
}

void
quorum__swim_replay_record(struct quorum__member *m, uint64_t boot,
						   uint64_t seq)
{
	if (boot > m->replay_boot)
	{
		m->replay_boot = boot;
		m->replay_seq = seq;
		m->replay_window = 1;
		return;
	}
	if (boot < m->replay_boot)
		return;
	if (seq > m->replay_seq)
	{
		uint64_t	shift = seq - m->replay_seq;

		m->replay_window = shift >= 64 ? 0 : m->replay_window << shift;
		m->replay_window |= 1;
		m->replay_seq = seq;
	}
	else if (m->replay_seq - seq < QUORUM__REPLAY_WINDOW)
		m->replay_window |= UINT64_C(1) << (m->replay_seq - seq);
}

/*
 * ln(x) for x > 0: reduce to m * 2^e with m in [1, 2), then
 * ln(m) = 2 atanh((m - 1) / (m + 1)) by its series.  Only + - * / on
 * doubles, so every IEEE platform gets the same bits, which a simulator
 * replaying a seed needs, and libquorum needs no libm.
 */
double
quorum__swim_ln(double x)
{
	const double ln2 = 0.69314718055994530942;
	double		y,
				y2,
				term,
				sum = 0.0;
	int			e = 0;

	if (x <= 0.0)
		return 0.0;
	while (x >= 2.0)
	{
		x /= 2.0;
		e++;
	}
	while (x < 1.0)
	{
		x *= 2.0;
		e--;
	}
	y = (x - 1.0) / (x + 1.0);
	y2 = y * y;
	term = y;
	for (int k = 1; k < 64; k += 2)
	{
		sum += term / k;
		term *= y2;
	}
	return 2.0 * sum + e * ln2;
}
