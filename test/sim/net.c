/*-------------------------------------------------------------------------
 *
 * net.c
 *	  The simulator's virtual network.
 *
 * A datagram's fate is decided once, on send, from the world's PRNG: oversize
 * (a violation: the core promised to fit the MTU), addressed to no host, cut
 * or partitioned, lost, and otherwise delivered after min + exponential
 * delay, maybe reordered further, maybe duplicated, maybe accompanied by
 * garbage.  Delivery to a crashed or paused host is the host's business
 * (host.c).
 *
 * test/sim/net.c
 *
 *-------------------------------------------------------------------------
 */
#include "net.h"
#include "host.h"
#include "check.h"

#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#define NET_GROUPS_MAX 8

struct sim_net *
sim_net_new(const struct sim_net_params *params, unsigned n)
{
	struct sim_net *net = calloc(1, sizeof(*net));

	if (net == NULL)
		return NULL;
	net->params = *params;
	net->n = n;
	net->drop_out = calloc(n, sizeof(double));
	net->drop_in = calloc(n, sizeof(double));
	net->group = calloc(n, 1);
	if (net->drop_out == NULL || net->drop_in == NULL || net->group == NULL)
	{
		sim_net_free(net);
		return NULL;
	}
	return net;
}

void
sim_net_free(struct sim_net *net)
{
	if (net == NULL)
		return;
	free(net->drop_out);
	free(net->drop_in);
	free(net->group);
	free(net->cuts);
	free(net);
}

static uint64_t
net_cut_key(unsigned from, unsigned to)
{
	return ((uint64_t) from << 32) | to;
}

static ssize_t
net_cut_find(const struct sim_net *net, uint64_t key)
{
	size_t		lo = 0;
	size_t		hi = net->n_cuts;

	while (lo < hi)
	{
		size_t		mid = (lo + hi) / 2;

		if (net->cuts[mid] < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < net->n_cuts && net->cuts[lo] == key)
		return (ssize_t) lo;
	return -(ssize_t) lo - 1;
}

bool
sim_net_connected(const struct sim_world *w, unsigned from, unsigned to)
{
	const struct sim_net *net = w->net;

	if (net->blocked[net->group[from]][net->group[to]])
		return false;
	return net->n_cuts == 0 || net_cut_find(net, net_cut_key(from, to)) < 0;
}

/*
 * The datagrams one step sends to one destination leave back to back on the
 * same path, so they share one delay and arrive in order (the heap is FIFO
 * among equal times): the base delay is a function of the seed, the step
 * and the destination, not a fresh draw per datagram.  Reordering within a
 * burst happens only when the reorder fault asks for it.
 */
static quorum_time_ms
net_delay(struct sim_world *w, unsigned dest)
{
	const struct sim_net_params *p = &w->net->params;
	struct sim_rng burst;
	quorum_time_ms d;

	sim_rng_seed(&burst, sim_hash_u64(sim_hash_u64(w->seed, w->steps), dest));
	d = p->delay_min_ms + sim_rng_exp(&burst, p->delay_mean_ms);
	if (sim_rng_chance(&w->rng, p->reorder))
		d += sim_rng_below(&w->rng, p->reorder_ms + 1);
	return d;
}

static void
net_deliver_at(struct sim_world *w, unsigned to, quorum_time_ms at_ms,
			   const struct quorum_addr *from,
			   const uint8_t *data, size_t len)
{
	struct sim_packet *packet = malloc(sizeof(*packet) + len);

	if (packet == NULL)
	{
		sim_fail(w, "out of memory for a packet");
		return;
	}
	packet->from = *from;
	packet->len = len;
	if (len > 0)
		memcpy(packet->data, data, len);
	sim_schedule(w, at_ms, SIM_EV_DELIVER, to, 0, packet);
}

/*
 * Garbage comes in three kinds that exercise different defences: a copy with
 * flipped bits (authentication), a truncated copy (length checks), and
 * random bytes from an address no member has (decoding before anything).
 */
static void
net_inject_garbage(struct sim_world *w, unsigned from, unsigned to,
				   const uint8_t *data, size_t len)
{
	uint8_t		junk[2048];
	struct quorum_addr src = w->hosts[from].addr;
	size_t		jlen = len < sizeof(junk) ? len : sizeof(junk);

	memcpy(junk, data, jlen);
	switch (sim_rng_below(&w->rng, 3))
	{
		case 0:
			for (int k = 0, flips = 1 + (int) sim_rng_below(&w->rng, 4);
				 k < flips && jlen > 0; k++)
				junk[sim_rng_below(&w->rng, jlen)] ^=
					(uint8_t) (1u << sim_rng_below(&w->rng, 8));
			break;
		case 1:
			jlen = sim_rng_below(&w->rng, jlen + 1);
			break;
		default:
			jlen = sim_rng_below(&w->rng, sizeof(junk) / 2);
			for (size_t k = 0; k < jlen; k++)
				junk[k] = (uint8_t) sim_rng_next(&w->rng);
			src.bytes[0] = 192;
			src.bytes[1] = 168;
			break;
	}
	w->net->stats.garbage++;
	net_deliver_at(w, to, w->now_ms + net_delay(w, to), &src, junk, jlen);
}

void
sim_net_send(struct sim_world *w, unsigned from, const struct quorum_addr *to,
			 const uint8_t *data, size_t len)
{
	struct sim_net *net = w->net;
	const struct sim_net_params *p = &net->params;
	int			dest;

	net->stats.sent++;
	net->stats.bytes_sent += len;
	if (len > p->mtu)
	{
		net->stats.oversize++;
		sim_fail(w, "n%u sent a %zu-byte datagram, above the %zu-byte MTU",
				 from, len, p->mtu);
		return;
	}
	dest = sim_addr_host(w, to);
	if (dest < 0)
	{
		net->stats.unknown_dest++;
		return;
	}
	if (!sim_net_connected(w, from, (unsigned) dest))
	{
		net->stats.blocked++;
		return;
	}
	if (sim_rng_chance(&w->rng, p->loss) ||
		sim_rng_chance(&w->rng, net->drop_out[from]) ||
		sim_rng_chance(&w->rng, net->drop_in[dest]))
	{
		net->stats.lost++;
		return;
	}
	net_deliver_at(w, (unsigned) dest, w->now_ms + net_delay(w, (unsigned) dest),
				   &w->hosts[from].addr, data, len);
	if (sim_rng_chance(&w->rng, p->duplicate))
	{
		/* A duplicate takes its own way, up to reorder_ms later. */
		net->stats.duplicated++;
		net_deliver_at(w, (unsigned) dest, w->now_ms +
					   net_delay(w, (unsigned) dest) +
					   sim_rng_below(&w->rng, p->reorder_ms + 1),
					   &w->hosts[from].addr, data, len);
	}
	if (sim_rng_chance(&w->rng, p->garbage))
		net_inject_garbage(w, from, (unsigned) dest, data, len);
}

void
sim_net_set_drop(struct sim_world *w, unsigned i, double ratio)
{
	w->net->drop_out[i] = ratio;
	w->net->drop_in[i] = ratio;
	if (ratio > 0)
		sim_check_taint(w, i);
}

void
sim_net_cut(struct sim_world *w, unsigned from, unsigned to, bool cut)
{
	struct sim_net *net = w->net;
	uint64_t	key = net_cut_key(from, to);
	ssize_t		pos = net_cut_find(net, key);

	if (cut && pos < 0)
	{
		size_t		at = (size_t) (-pos - 1);

		if (net->n_cuts == net->cuts_cap)
		{
			size_t		cap = net->cuts_cap ? net->cuts_cap * 2 : 16;
			uint64_t   *cuts = realloc(net->cuts, cap * sizeof(*cuts));

			if (cuts == NULL)
			{
				sim_fail(w, "out of memory cutting a channel");
				return;
			}
			net->cuts = cuts;
			net->cuts_cap = cap;
		}
		memmove(net->cuts + at + 1, net->cuts + at,
				(net->n_cuts - at) * sizeof(*net->cuts));
		net->cuts[at] = key;
		net->n_cuts++;
		sim_check_taint(w, from);
		sim_check_taint(w, to);
	}
	else if (!cut && pos >= 0)
	{
		memmove(net->cuts + pos, net->cuts + pos + 1,
				(net->n_cuts - (size_t) pos - 1) * sizeof(*net->cuts));
		net->n_cuts--;
	}
}

/*
 * Each side gets a fresh group; hosts listed nowhere keep theirs.  A
 * symmetric partition blocks both directions between the two groups, and
 * also separates both from every other group, so "partition {0,1} {2,3,4}"
 * in a 6-host world leaves n5 alone in group 0.
 */
void
sim_net_partition(struct sim_world *w, const unsigned *a, size_t n_a,
				  const unsigned *b, size_t n_b, bool symmetric)
{
	struct sim_net *net = w->net;
	uint8_t		ga = 0;
	uint8_t		gb = 0;
	bool		used[NET_GROUPS_MAX] = {false};

	for (unsigned i = 0; i < net->n; i++)
		used[net->group[i]] = true;
	for (uint8_t g = 1; g < NET_GROUPS_MAX && (ga == 0 || gb == 0); g++)
	{
		if (used[g])
			continue;
		if (ga == 0)
			ga = g;
		else
			gb = g;
	}
	if (ga == 0 || gb == 0)
	{
		sim_fail(w, "more than %d partition groups", NET_GROUPS_MAX);
		return;
	}
	for (size_t k = 0; k < n_a; k++)
	{
		net->group[a[k]] = ga;
		sim_check_taint(w, a[k]);
	}
	for (size_t k = 0; k < n_b; k++)
	{
		net->group[b[k]] = gb;
		sim_check_taint(w, b[k]);
	}
	for (uint8_t g = 0; g < NET_GROUPS_MAX; g++)
	{
		if (symmetric)
		{
			if (g != ga)
				net->blocked[ga][g] = net->blocked[g][ga] = true;
			if (g != gb)
				net->blocked[gb][g] = net->blocked[g][gb] = true;
		}
	}
	if (!symmetric)
		net->blocked[ga][gb] = true;
}

void
sim_net_isolate(struct sim_world *w, unsigned i)
{
	unsigned	one[1] = {i};
	unsigned   *rest = malloc(sizeof(unsigned) * w->n);
	size_t		n_rest = 0;

	if (rest == NULL)
	{
		sim_fail(w, "out of memory isolating n%u", i);
		return;
	}
	for (unsigned k = 0; k < w->n; k++)
		if (k != i)
			rest[n_rest++] = k;
	sim_net_partition(w, one, 1, rest, n_rest, true);
	free(rest);
}

void
sim_net_heal(struct sim_world *w)
{
	struct sim_net *net = w->net;

	memset(net->group, 0, net->n);
	memset(net->blocked, 0, sizeof(net->blocked));
	net->n_cuts = 0;
	for (unsigned i = 0; i < net->n; i++)
		net->drop_out[i] = net->drop_in[i] = 0;
}
