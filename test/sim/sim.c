/*-------------------------------------------------------------------------
 *
 * sim.c
 *	  The simulator's world: PRNG, event heap, virtual clock, run loop.
 *
 * Every event carries a global virtual time and a sequence number; the heap
 * pops the earliest, and among equal times the one scheduled first, so the
 * order of a run never depends on memory addresses or on the heap's layout.
 * Everything that happens is folded into w->hash, which is how a test proves
 * that a seed replays bit-for-bit.
 *
 * test/sim/sim.c
 *
 *-------------------------------------------------------------------------
 */
#include "sim.h"
#include "net.h"
#include "host.h"
#include "check.h"
#include "wal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

jmp_buf    *sim_test_jmp;
quorum_time_ms sim_waited_ms;
char		sim_why[512];

/* ---------------------------------------------------------------- PRNG */

uint64_t
sim_mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

void
sim_rng_seed(struct sim_rng *rng, uint64_t seed)
{
	uint64_t	x = seed;

	for (int i = 0; i < 4; i++)
	{
		x = sim_mix64(x);
		rng->s[i] = x;
	}
}

static inline uint64_t
rng_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t
sim_rng_next(struct sim_rng *rng)
{
	uint64_t   *s = rng->s;
	uint64_t	result = rng_rotl(s[1] * 5, 7) * 9;
	uint64_t	t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rng_rotl(s[3], 45);
	return result;
}

uint64_t
sim_rng_below(struct sim_rng *rng, uint64_t bound)
{
	if (bound == 0)
		return 0;
	/* Lemire's multiply-shift; the tiny bias is irrelevant for a test. */
	return (uint64_t) (((unsigned __int128) sim_rng_next(rng) * bound) >> 64);
}

double
sim_rng_unit(struct sim_rng *rng)
{
	return (double) (sim_rng_next(rng) >> 11) * (1.0 / 9007199254740992.0);
}

bool
sim_rng_chance(struct sim_rng *rng, double p)
{
	/* No draw for p <= 0, so a fault that is off leaves the stream alone. */
	if (p <= 0.0)
		return false;
	return sim_rng_unit(rng) < p;
}

uint64_t
sim_rng_exp(struct sim_rng *rng, double mean)
{
	if (mean <= 0.0)
		return 0;
	return (uint64_t) (-mean * log(1.0 - sim_rng_unit(rng)));
}

/* ---------------------------------------------------------------- hash */

uint64_t
sim_hash_u64(uint64_t h, uint64_t v)
{
	return sim_mix64(h ^ v) + 0x2545f4914f6cdd1dULL;
}

uint64_t
sim_hash_bytes(uint64_t h, const void *data, size_t len)
{
	const uint8_t *p = data;
	size_t		i = 0;

	h = sim_hash_u64(h, len);
	for (; i + 8 <= len; i += 8)
	{
		uint64_t	v;

		memcpy(&v, p + i, 8);
		h = (h ^ v) * 0x100000001b3ULL;
		h ^= h >> 29;
	}
	for (; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return sim_mix64(h);
}

/* ---------------------------------------------------------------- heap */

static bool
heap_before(const struct sim_event *a, const struct sim_event *b)
{
	if (a->at_ms != b->at_ms)
		return a->at_ms < b->at_ms;
	return a->seq < b->seq;
}

void
sim_schedule(struct sim_world *w, quorum_time_ms at_ms,
			 enum sim_event_kind kind, uint32_t host, uint64_t gen,
			 struct sim_packet *packet)
{
	size_t		i;

	if (w->heap_len == w->heap_cap)
	{
		size_t		cap = w->heap_cap ? w->heap_cap * 2 : 1024;
		struct sim_event *heap = realloc(w->heap, cap * sizeof(*heap));

		if (heap == NULL)
		{
			fprintf(stderr, "sim: out of memory growing the event heap\n");
			abort();
		}
		w->heap = heap;
		w->heap_cap = cap;
	}
	if (at_ms < w->now_ms)
		at_ms = w->now_ms;

	i = w->heap_len++;
	w->heap[i] = (struct sim_event) {
		.at_ms = at_ms, .seq = w->next_seq++, .kind = kind,
		.host = host, .gen = gen, .packet = packet
	};
	while (i > 0)
	{
		size_t		parent = (i - 1) / 2;
		struct sim_event tmp;

		if (!heap_before(&w->heap[i], &w->heap[parent]))
			break;
		tmp = w->heap[i];
		w->heap[i] = w->heap[parent];
		w->heap[parent] = tmp;
		i = parent;
	}
}

static struct sim_event
heap_pop(struct sim_world *w)
{
	struct sim_event top = w->heap[0];
	size_t		i = 0;

	w->heap[0] = w->heap[--w->heap_len];
	for (;;)
	{
		size_t		l = 2 * i + 1;
		size_t		r = l + 1;
		size_t		m = i;
		struct sim_event tmp;

		if (l < w->heap_len && heap_before(&w->heap[l], &w->heap[m]))
			m = l;
		if (r < w->heap_len && heap_before(&w->heap[r], &w->heap[m]))
			m = r;
		if (m == i)
			break;
		tmp = w->heap[i];
		w->heap[i] = w->heap[m];
		w->heap[m] = tmp;
		i = m;
	}
	return top;
}

/* ---------------------------------------------------------------- world */

void
sim_test_keyring(struct quorum_keyring *keyring)
{
	memset(keyring, 0, sizeof(*keyring));
	keyring->count = 1;
	/* A fixed, obviously-test key: bytes 0x51 ('Q') xor their index. */
	for (int i = 0; i < QUORUM_KEY_BYTES; i++)
		keyring->keys[0][i] = (uint8_t) (0x51 ^ i);
}

void
sim_opts_init(struct sim_opts *opts, unsigned n, uint64_t seed)
{
	memset(opts, 0, sizeof(*opts));
	opts->n = n;
	opts->seed = seed;
	quorum_config_init(&opts->config);
	snprintf(opts->config.cluster, sizeof(opts->config.cluster), "sim");
	opts->config.members_max = n + 8 > opts->config.members_max ?
		n + 8 : opts->config.members_max;
	opts->config.meta_slots_max = opts->config.members_max;

	/* A quiet LAN: 1 ms plus an exponential tail of mean 1 ms. */
	opts->net.delay_min_ms = 1;
	opts->net.delay_mean_ms = 1.0;
	opts->net.reorder_ms = 20;
	opts->net.mtu = opts->config.datagram_bytes_max;
	/* Linux's default net.core.rmem_default. */
	opts->net.socket_buffer_bytes = 212992;

	opts->check_level = n <= 64 ? SIM_CHECK_FULL : SIM_CHECK_EVENTS;
	opts->trace = n <= 64;
	opts->poll_ms = 10;
	opts->rejoin_interval_ms = 1000;
}

void
sim_opts_election(struct sim_opts *opts, unsigned voters,
				  quorum_time_ms wal_interval_ms)
{
	if (voters > QUORUM_VOTERS_MAX)
		voters = QUORUM_VOTERS_MAX;
	opts->voters = voters;
	opts->wal_interval_ms = wal_interval_ms;
	/* A host with WAL stops its intake before it votes (node.h). */
	opts->config.stop_wal_to_vote = wal_interval_ms > 0;
	opts->config.n_initial_voters = voters;
	for (unsigned v = 0; v < voters; v++)
		snprintf(opts->config.initial_voters[v],
				 sizeof(opts->config.initial_voters[v]), "n%u", v);
}

void
sim_host_addr(unsigned i, struct quorum_addr *addr)
{
	memset(addr, 0, sizeof(*addr));
	addr->family = 4;
	addr->bytes[0] = 10;
	addr->bytes[1] = (uint8_t) (i / 62500);
	addr->bytes[2] = (uint8_t) ((i / 250) % 250);
	addr->bytes[3] = (uint8_t) (i % 250 + 1);
	addr->port = 7946;
}

int
sim_addr_host(const struct sim_world *w, const struct quorum_addr *addr)
{
	unsigned	i;

	if (addr->family != 4 || addr->bytes[0] != 10 || addr->port != 7946 ||
		addr->bytes[2] >= 250 || addr->bytes[3] == 0 || addr->bytes[3] > 250)
		return -1;
	i = addr->bytes[1] * 62500u + addr->bytes[2] * 250u + addr->bytes[3] - 1u;
	return i < w->n ? (int) i : -1;
}

int
sim_name_host(const struct sim_world *w, const char *name)
{
	unsigned long i = 0;
	const char *p = name + 1;

	if (name[0] != 'n' || *p == '\0' || (*p == '0' && p[1] != '\0'))
		return -1;
	for (; *p; p++)
	{
		if (*p < '0' || *p > '9' || i > w->n)
			return -1;
		i = i * 10 + (unsigned long) (*p - '0');
	}
	return i < w->n ? (int) i : -1;
}

struct sim_world *
sim_world_new(const struct sim_opts *opts)
{
	struct sim_world *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
	w->opts = *opts;
	w->seed = opts->seed;
	w->n = opts->n;
	sim_rng_seed(&w->rng, opts->seed);
	w->hash = sim_hash_u64(0, opts->seed);
	w->hosts = calloc(opts->n, sizeof(*w->hosts));
	w->net = sim_net_new(&opts->net, opts->n);
	w->check = sim_check_new(opts->n, opts->check_level,
							 opts->voters > 0 || opts->config.bootstrap_expect > 0);
	if (opts->wal_interval_ms > 0)
		w->wal = sim_wal_new(opts->wal_interval_ms, opts->n);
	if (w->hosts == NULL || w->net == NULL || w->check == NULL ||
		(opts->wal_interval_ms > 0 && w->wal == NULL))
	{
		sim_world_free(w);
		return NULL;
	}
	for (unsigned i = 0; i < w->n; i++)
	{
		struct sim_host *h = &w->hosts[i];

		h->world = w;
		h->index = i;
		snprintf(h->name, sizeof(h->name), "n%u", i);
		sim_host_addr(i, &h->addr);
		h->facts.role = QUORUM_ROLE_STANDBY;
		h->facts.timeline = 1;
		h->facts.lsn = 0x3000000;
		h->facts.priority = 100;
		snprintf(h->facts.conninfo, sizeof(h->facts.conninfo),
				 "host=10.%u.%u.%u port=5432", h->addr.bytes[1],
				 h->addr.bytes[2], h->addr.bytes[3]);
	}
	/* An existing primary under an election: it should win the first one. */
	if (opts->voters > 0 && w->n > 0)
		w->hosts[0].facts.role = QUORUM_ROLE_PRIMARY;
	if (w->wal != NULL)
		sim_schedule(w, opts->wal_interval_ms, SIM_EV_WAL, 0, 0, NULL);

	/* The seed boots first; the rest spread over join_spread_ms after it. */
	sim_schedule(w, 0, SIM_EV_START, 0, 0, NULL);
	for (unsigned i = 1; i < sim_boot_count(w); i++)
		sim_schedule(w, sim_rng_below(&w->rng, opts->join_spread_ms),
					 SIM_EV_START, i, 0, NULL);
	return w;
}

unsigned
sim_boot_count(const struct sim_world *w)
{
	return w->opts.boot_count == 0 || w->opts.boot_count > w->n ?
		w->n : w->opts.boot_count;
}

void
sim_world_free(struct sim_world *w)
{
	if (w == NULL)
		return;
	for (size_t i = 0; i < w->heap_len; i++)
		free(w->heap[i].packet);
	free(w->heap);
	if (w->hosts != NULL)
		for (unsigned i = 0; i < w->n; i++)
			sim_host_destroy(&w->hosts[i]);
	free(w->hosts);
	sim_net_free(w->net);
	sim_check_free(w->check);
	sim_wal_free(w->wal);
	free(w->trace_buf);
	free(w);
}

void
sim_fail(struct sim_world *w, const char *fmt, ...)
{
	va_list		ap;
	int			len;

	if (w->failed)
		return;
	w->failed = true;
	len = snprintf(w->fail_msg, sizeof(w->fail_msg), "seed=%llu t=%llums: ",
				   (unsigned long long) w->seed,
				   (unsigned long long) w->now_ms);
	va_start(ap, fmt);
	vsnprintf(w->fail_msg + len, sizeof(w->fail_msg) - (size_t) len, fmt, ap);
	va_end(ap);
}

void
sim_test_fail(struct sim_world *w)
{
	if (!w->failed)
		sim_fail(w, "test failed");
	longjmp(*sim_test_jmp, 1);
}

void
sim_trace_line(struct sim_world *w, const char *line)
{
	size_t		len = strlen(line);

	w->hash = sim_hash_bytes(w->hash, line, len);
	if (!w->opts.trace_capture)
		return;
	if (w->trace_len + len + 2 > w->trace_cap)
	{
		size_t		cap = (w->trace_cap + len + 2) * 2;
		char	   *buf = realloc(w->trace_buf, cap);

		if (buf == NULL)
		{
			sim_fail(w, "out of memory capturing the trace");
			return;
		}
		w->trace_buf = buf;
		w->trace_cap = cap;
	}
	memcpy(w->trace_buf + w->trace_len, line, len);
	w->trace_len += len;
	w->trace_buf[w->trace_len++] = '\n';
	w->trace_buf[w->trace_len] = '\0';
}

static void
world_dispatch(struct sim_world *w, struct sim_event *ev)
{
	w->hash = sim_hash_u64(w->hash, ev->at_ms);
	w->hash = sim_hash_u64(w->hash, ((uint64_t) ev->kind << 32) | ev->host);
	switch (ev->kind)
	{
		case SIM_EV_TICK:
			sim_host_on_tick(w, ev->host, ev->gen);
			break;
		case SIM_EV_DELIVER:
			sim_host_on_deliver(w, ev->host, ev->packet);
			break;
		case SIM_EV_RESUME:
			sim_host_on_resume(w, ev->host, ev->gen);
			break;
		case SIM_EV_START:
			sim_host_boot(w, ev->host);
			break;
		case SIM_EV_REJOIN:
			sim_host_on_rejoin(w, ev->host, ev->gen);
			break;
		case SIM_EV_WAL:
			sim_wal_tick(w);
			sim_schedule(w, w->now_ms + w->wal->interval_ms, SIM_EV_WAL, 0, 0, NULL);
			break;
	}
}

bool
sim_step_one(struct sim_world *w)
{
	struct sim_event ev;

	if (w->failed || w->heap_len == 0)
		return false;
	ev = heap_pop(w);
	w->now_ms = ev.at_ms;
	world_dispatch(w, &ev);
	return true;
}

void
sim_run_until(struct sim_world *w, quorum_time_ms at_ms)
{
	while (!w->failed && w->heap_len > 0 && w->heap[0].at_ms <= at_ms)
		sim_step_one(w);
	if (!w->failed && w->now_ms < at_ms)
		w->now_ms = at_ms;
}

void
sim_run_for(struct sim_world *w, quorum_time_ms ms)
{
	sim_run_until(w, w->now_ms + ms);
}
