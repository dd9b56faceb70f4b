/*-------------------------------------------------------------------------
 *
 * swim_suspicion.c
 *	  Lifeguard's local health aware suspicion: a timeout that starts long
 *	  and shrinks as independent members confirm it.
 *
 * From Lifeguard §4: "the suspicion timeout ... starts at a maximum value
 * ... and decreases logarithmically toward a minimum value as independent
 * confirmations arrive".  With N members, k expected confirmations and C
 * received so far:
 *
 *   min = suspicion_mult * max(1, log10 N) * probe_interval_ms
 *   max = suspicion_max_mult * min
 *   timeout(C) = max - (max - min) * ln(C + 1) / ln(k + 1)
 *
 * k is indirect_probes capped by N - 2 (there are at most N - 2 members
 * besides the suspect and the first accuser), and 0 means the minimum right
 * away, as in memberlist.  A confirmation counts only if it comes from a
 * member that has not accused yet; accusers are kept as 32-bit name hashes.
 *
 * Open suspicions are a dense array (n_susp of them), so the deadline and
 * the expiry scan cost O(suspects), not O(members).
 *
 * plugin/swim_suspicion.c
 *
 *-------------------------------------------------------------------------
 */
#include "swim.h"

#include "internal.h"

#include <string.h>

static uint32_t
suspicion_hash(const char *name)
{
	uint32_t	h = 2166136261u;

	for (const unsigned char *p = (const unsigned char *) name; *p; p++)
	{
		h ^= *p;
		h *= 16777619u;
	}
	return h;
}

static uint32_t *
suspicion_accusers(struct quorum_node *node, uint32_t pos)
{
	return &node->accusers[(size_t) pos * (node->confirm_max + 1)];
}

static uint32_t
suspicion_find(const struct quorum_node *node, uint32_t idx)
{
	for (uint32_t i = 0; i < node->n_susp; i++)
		if (node->susp[i].member == idx)
			return i;
	return QUORUM__NONE;
}

quorum_time_ms
quorum__swim_suspicion_timeout(const struct quorum_node *node, uint32_t k,
							   uint32_t confirmations)
{
	const double ln10 = 2.30258509299404568402;
	double		n = node->n_members > 1 ? (double) node->n_members : 1.0;
	double		scale = quorum__swim_ln(n) / ln10;
	double		min,
				max,
				timeout;

	if (scale < 1.0)
		scale = 1.0;
	min = (double) node->config.suspicion_mult * scale *
		(double) node->config.probe_interval_ms;
	max = (double) node->config.suspicion_max_mult * min;
	if (k < 1)
		return (quorum_time_ms) min;
	timeout = max - (max - min) * quorum__swim_ln((double) confirmations + 1.0) /
		quorum__swim_ln((double) k + 1.0);
	if (timeout < min)
		timeout = min;
	return (quorum_time_ms) timeout;
}

void
quorum__swim_suspicion_start(struct quorum_node *node, uint32_t idx,
							 const char *from)
{
	struct quorum__suspicion *s;
	uint32_t	pos;
	uint32_t	n = node->n_members;

	if (suspicion_find(node, idx) != QUORUM__NONE)
		return;
	QUORUM_ASSERT(node->n_susp < node->members_max);
	pos = node->n_susp++;
	s = &node->susp[pos];
	s->member = idx;
	s->start_ms = node->now_ms;
	s->k = QUORUM_MIN(node->confirm_max, n >= 2 ? n - 2 : 0);
	s->n_confirm = 0;
	s->n_accusers = 1;
	suspicion_accusers(node, pos)[0] = suspicion_hash(from);
	s->expiry_ms = s->start_ms + quorum__swim_suspicion_timeout(node, s->k, 0);
}

/*
 * Another member says the suspect is suspect too.  From Lifeguard §4:
 * independent confirmations make it likelier the member really failed, so
 * the timeout may shrink; the same accuser twice is not independent.
 */
void
quorum__swim_suspicion_confirm(struct quorum_node *node, uint32_t idx,
							   const char *from)
{
	uint32_t	pos = suspicion_find(node, idx);
	struct quorum__suspicion *s;
	uint32_t   *accusers;
	uint32_t	h = suspicion_hash(from);

	if (pos == QUORUM__NONE)
		return;
	s = &node->susp[pos];
	if (s->n_confirm >= s->k)
		return;
	accusers = suspicion_accusers(node, pos);
	for (uint32_t i = 0; i < s->n_accusers; i++)
		if (accusers[i] == h)
			return;
	accusers[s->n_accusers++] = h;
	s->n_confirm++;
	s->expiry_ms = s->start_ms +
		quorum__swim_suspicion_timeout(node, s->k, s->n_confirm);
	QUORUM_TRACE(&node->trace, QUORUM_TRACE_INFO, node->now_ms,
				 "suspect %s confirmed by %s (%u of %u, dead at %llu)",
				 quorum__node_member_name(node, idx), from, s->n_confirm,
				 s->k, (unsigned long long) s->expiry_ms);
	/* Re-gossip it: the others' timers shrink only if they hear it too. */
	quorum__swim_dq_push(node, idx, from);
}

void
quorum__swim_suspicion_end(struct quorum_node *node, uint32_t idx)
{
	uint32_t	pos = suspicion_find(node, idx);
	uint32_t	last = node->n_susp - 1;

	if (pos == QUORUM__NONE)
		return;
	if (pos != last)
	{
		node->susp[pos] = node->susp[last];
		memcpy(suspicion_accusers(node, pos), suspicion_accusers(node, last),
			   sizeof(uint32_t) * (node->confirm_max + 1));
	}
	node->n_susp--;
}

void
quorum__swim_suspicion_rename(struct quorum_node *node, uint32_t from,
							  uint32_t to)
{
	uint32_t	pos = suspicion_find(node, from);

	if (pos != QUORUM__NONE)
		node->susp[pos].member = to;
}

/* suspect -> dead: nobody refuted before the suspicion timeout. */
void
quorum__swim_suspicion_expire(struct quorum_node *node)
{
	uint32_t	i = 0;

	while (i < node->n_susp)
	{
		struct quorum__suspicion *s = &node->susp[i];
		uint32_t	idx = s->member;

		if (s->expiry_ms > node->now_ms)
		{
			i++;
			continue;
		}
		QUORUM_TRACE(&node->trace, QUORUM_TRACE_INFO, node->now_ms,
					 "%s dead (inc %llu, suspect for %llu ms, %u of %u confirmations)",
					 quorum__node_member_name(node, idx),
					 (unsigned long long) node->members[idx].incarnation,
					 (unsigned long long) (node->now_ms - s->start_ms),
					 s->n_confirm, s->k);
		/* set_state ends the suspicion: record i now holds another one */
		quorum__swim_set_state(node, idx, QUORUM_MEMBER_DEAD,
							   node->members[idx].incarnation);
		quorum__swim_dq_push(node, idx, node->config.name);
	}
}

quorum_time_ms
quorum__swim_suspicion_deadline(const struct quorum_node *node)
{
	quorum_time_ms deadline = UINT64_MAX;

	for (uint32_t i = 0; i < node->n_susp; i++)
		if (node->susp[i].expiry_ms < deadline)
			deadline = node->susp[i].expiry_ms;
	return deadline;
}
