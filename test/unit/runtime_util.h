/*-------------------------------------------------------------------------
 *
 * runtime_util.h
 *	  Helpers shared by the runtime tests (test_runtime.c, driven mode, and
 *	  test_runtime_thread.c, threaded mode): runtime configurations on
 *	  127.0.0.1 with kernel-picked ports and test-sized timings, a deadline
 *	  poller, and thread-safe recording of callbacks.
 *
 * Timings are shortened (probes every 50 ms, elections after 400-550 ms)
 * so that a test runs in seconds, yet every wait polls against a generous
 * deadline, so that a slow machine or a sanitizer only makes tests slower.
 *
 * test/unit/runtime_util.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef QUORUM_TEST_RUNTIME_UTIL_H
#define QUORUM_TEST_RUNTIME_UTIL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "quorum/quorum.h"

/* Bound on any wait for the cluster to do something, ms. */
#define RT_WAIT_MS 30000

#define RT_KEY_BYTE 0x5a

/* What one runtime's callbacks saw; shared between the IO thread and the test. */
struct rt_record
{
	pthread_mutex_t lock;
	unsigned	persists;
	uint64_t	last_term;		/* of the last persisted record */
	unsigned	events[QUORUM_EV_DECISION_COMMITTED + 1];
	char		last_leader[QUORUM_NAME_MAX + 1];
	int			persist_rc;		/* what the persist callback returns */
};

static inline void
rt_record_init(struct rt_record *r)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->lock, NULL);
}

static inline void
rt_record_destroy(struct rt_record *r)
{
	pthread_mutex_destroy(&r->lock);
}

static inline int
rt_record_persist(void *ctx, const struct quorum_durable *durable)
{
	struct rt_record *r = ctx;
	int			rc;

	pthread_mutex_lock(&r->lock);
	r->persists++;
	r->last_term = durable->election.term;
	rc = r->persist_rc;
	pthread_mutex_unlock(&r->lock);
	return rc;
}

static inline void
rt_record_event(void *ctx, const struct quorum_event *ev)
{
	struct rt_record *r = ctx;

	pthread_mutex_lock(&r->lock);
	if (ev->type >= 1 && ev->type <= QUORUM_EV_DECISION_COMMITTED)
		r->events[ev->type]++;
	if (ev->type == QUORUM_EV_LEADER_CHANGED)
		snprintf(r->last_leader, sizeof(r->last_leader), "%s", ev->member);
	pthread_mutex_unlock(&r->lock);
}

static inline unsigned
rt_record_events(struct rt_record *r, enum quorum_event_type type)
{
	unsigned	n;

	pthread_mutex_lock(&r->lock);
	n = r->events[type];
	pthread_mutex_unlock(&r->lock);
	return n;
}

static inline void
rt_loopback(struct quorum_addr *addr, uint16_t port)
{
	memset(addr, 0, sizeof(*addr));
	addr->family = 4;
	addr->bytes[0] = 127;
	addr->bytes[3] = 1;
	addr->port = port;
}

/*
 * A voter named name on 127.0.0.1 (port 0: the kernel picks), sealed with
 * the test key, bootstrapping once `expect` voters see each other.
 */
static inline void
rt_config(struct quorum_runtime_config *rc, const char *name, unsigned expect,
		  struct rt_record *rec)
{
	quorum_runtime_config_init(rc);
	snprintf(rc->node.name, sizeof(rc->node.name), "%s", name);
	snprintf(rc->node.cluster, sizeof(rc->node.cluster), "test");
	rt_loopback(&rc->bind, 0);
	rc->node.addr = rc->bind;
	rc->node.keyring.count = 1;
	memset(rc->node.keyring.keys[0], RT_KEY_BYTE, QUORUM_KEY_BYTES);
	rc->node.seed = quorum_runtime_random_seed();
	rc->node.incarnation_start = 1;
	rc->node.members_max = 16;
	rc->node.probe_interval_ms = 50;
	rc->node.probe_timeout_ms = 25;
	rc->node.pushpull_interval_ms = 300;
	rc->node.suspicion_mult = 4;
	rc->node.bootstrap_expect = expect;
	rc->node.heartbeat_ms = 50;
	rc->node.election_timeout_min_ms = 400;
	rc->node.election_timeout_max_ms = 550;
	rc->rejoin_interval_ms = 200;
	if (rec != NULL)
	{
		rc->persist_fn = rt_record_persist;
		rc->event_fn = rt_record_event;
		rc->callback_ctx = rec;
	}
}

/* The address a runtime's node advertises (its own member entry). */
static inline struct quorum_addr
rt_addr_of(quorum_runtime *rt)
{
	struct quorum_member_info self[16];
	struct quorum_addr none;
	size_t		n = 0;

	memset(&none, 0, sizeof(none));
	if (quorum_runtime_members(rt, self, 16, &n) != 0)
		return none;
	for (size_t i = 0; i < n; i++)
		if (self[i].is_self)
			return self[i].addr;
	return none;
}

/* Members rt sees in state st (itself included when alive). */
static inline unsigned
rt_count_state(quorum_runtime *rt, enum quorum_member_state st)
{
	struct quorum_member_info m[16];
	size_t		n = 0;
	unsigned	k = 0;

	if (quorum_runtime_members(rt, m, 16, &n) != 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (m[i].state == st)
			k++;
	return k;
}

static inline void
rt_sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long) (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0)
		;
}

/*
 * Whether r records at least n events of this type within RT_WAIT_MS.  A
 * threaded runtime publishes a step's state before it calls the event
 * callback, so what a snapshot shows may not be recorded yet.
 */
static inline bool
rt_wait_events(struct rt_record *r, enum quorum_event_type type, unsigned n)
{
	quorum_time_ms end = quorum_runtime_now_ms() + RT_WAIT_MS;

	while (rt_record_events(r, type) < n)
	{
		if (quorum_runtime_now_ms() >= end)
			return false;
		rt_sleep_ms(20);
	}
	return true;
}

#endif							/* QUORUM_TEST_RUNTIME_UTIL_H */
