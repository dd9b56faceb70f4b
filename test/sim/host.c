/*-------------------------------------------------------------------------
 *
 * host.c
 *	  Fake hosts: boot, step, persist-then-send, crash, restart, pause,
 *	  resume, clock drift, and the runtime's re-join timer.
 *
 * A host does for its node exactly what node.h asks of a real host, in that
 * order: make out->durable durable, then send, then act on events, then tick
 * no later than the deadline.  It is also where the simulator's faults reach
 * a process: a crash can land between the persist and the send.
 *
 * test/sim/host.c
 *
 *-------------------------------------------------------------------------
 */
#include "host.h"
#include "net.h"
#include "check.h"

#include "runtime_clock.h"

#include <stdlib.h>
#include <string.h>

/* A node that asks for more than this many ticks at one instant is spinning. */
#define HOST_SAME_TIME_TICKS_MAX 1000
/* A deadline further away than a day of virtual time means "none". */
#define HOST_DEADLINE_FAR_MS (24ULL * 3600 * 1000)

/* The boot-time clock: it runs at the host's rate whatever happens. */
static quorum_time_ms
host_boottime(const struct sim_host *h, quorum_time_ms g)
{
	int64_t		local = h->clock_origin_ms + (int64_t) g +
		(int64_t) g * h->drift_ppm / 1000000;

	return local < 0 ? 0 : (quorum_time_ms) local;
}

/* The monotonic clock: boot time less what suspends took from it. */
static quorum_time_ms
host_monotonic(const struct sim_host *h, quorum_time_ms g)
{
	quorum_time_ms boot = h->suspended ? h->suspend_boot_ms : host_boottime(h, g);

	return boot > h->mono_lost_ms ? boot - h->mono_lost_ms : 0;
}

quorum_time_ms
sim_host_local(const struct sim_host *h, quorum_time_ms g)
{
	return quorum__runtime_clock_pick(host_monotonic(h, g), host_boottime(h, g));
}

/*
 * Outside a suspend the clock the node sees is boot time less a constant
 * (what the runtime's pick leaves out of past suspends); inverted through
 * boot time.  During a suspend the host takes no steps, so nothing asks.
 */
quorum_time_ms
sim_host_global(const struct sim_host *h, quorum_time_ms local)
{
	const quorum_time_ms far = (quorum_time_ms) 1 << 40;
	quorum_time_ms behind = far - quorum__runtime_clock_pick(far - h->mono_lost_ms, far);
	int64_t		g;

	local += behind;
	if (local <= host_boottime(h, 0))
		return 0;
	g = ((int64_t) local - h->clock_origin_ms) * 1000000 /
		(1000000 + h->drift_ppm);
	if (g < 0)
		g = 0;
	/* The estimate is off by at most a step or two of rounding. */
	while (host_boottime(h, (quorum_time_ms) g) < local)
		g++;
	while (g > 0 && host_boottime(h, (quorum_time_ms) g - 1) >= local)
		g--;
	return (quorum_time_ms) g;
}

static void
host_trace(void *ctx, enum quorum_trace_level level, const char *line)
{
	struct sim_host *h = ctx;

	(void) level;
	sim_trace_line(h->world, line);
}

static void
host_schedule_tick(struct sim_world *w, struct sim_host *h)
{
	quorum_time_ms local_now = sim_host_local(h, w->now_ms);
	quorum_time_ms deadline = quorum_node_deadline_ms(h->node);
	quorum_time_ms at;

	if (deadline > local_now + HOST_DEADLINE_FAR_MS)
	{
		h->tick_pending = false;
		h->tick_gen++;
		return;
	}
	at = sim_host_global(h, deadline);
	if (at < w->now_ms)
		at = w->now_ms;
	if (h->tick_pending && h->tick_at_ms == at)
		return;
	h->tick_gen++;
	h->tick_pending = true;
	h->tick_at_ms = at;
	sim_schedule(w, at, SIM_EV_TICK, h->index, h->tick_gen, NULL);
}

static void host_kill(struct sim_world *w, struct sim_host *h);
static void host_stall(struct sim_world *w, struct sim_host *h,
					   const struct quorum_input *in,
					   const struct quorum_output *out);
static bool host_finish(struct sim_world *w, struct sim_host *h,
						struct quorum_output *out);

/*
 * The time an input carries: the host's clock now, or, while it reads what
 * queued during a stalled persist, what the runtime's rule stamps (which,
 * with QUORUM_BREAK_STAMP, is the pass's start).
 */
static quorum_time_ms
host_input_time(const struct sim_world *w, const struct sim_host *h)
{
	struct quorum__runtime_clock pass;

	if (!h->in_pass)
		return sim_host_local(h, w->now_ms);
	quorum__runtime_clock_start(&pass, h->pass_host_ms, h->pass_read_ms);
	return quorum__runtime_clock_stamp(&pass, sim_host_local(h, w->now_ms));
}

/*
 * One step and its output, in node.h's order.  Returns false if the host
 * crashed on the way (a fault between persist and send) or the world failed.
 */
static bool
host_step(struct sim_world *w, struct sim_host *h, struct quorum_input *in)
{
	struct quorum_output out;
	int			rc;

	in->now_ms = host_input_time(w, h);
	memset(&out, 0, sizeof(out));
	rc = quorum_node_step(h->node, in, &out);
	w->steps++;
	h->steps++;
	/* A command the node refuses (no leader yet, a change under way) is an
	 * answer to the operator, not a failure of the run. */
	if (in->type == QUORUM_IN_COMMAND && in->u.command.type > QUORUM_CMD_LEAVE &&
		(rc == QUORUM_EBUSY || rc == QUORUM_ESTATE || rc == QUORUM_ENOTFOUND ||
		 rc == QUORUM_ELIMIT))
	{
		h->command_rc = rc;
		host_schedule_tick(w, h);
		return true;
	}
	h->command_rc = rc;
	if (rc != 0)
	{
		sim_fail(w, "%s: quorum_node_step(input %d) returned %s: %s",
				 h->name, (int) in->type, quorum_error_name(rc),
				 quorum_node_errmsg(h->node));
		return false;
	}
	if ((out.n_datagrams > 0 && !(out.flags & QUORUM_OUT_SEND)) ||
		(out.n_events > 0 && !(out.flags & QUORUM_OUT_EVENTS)))
	{
		sim_fail(w, "%s: output has %zu datagrams, %zu events but flags 0x%x",
				 h->name, out.n_datagrams, out.n_events, out.flags);
		return false;
	}

	/* 1. Durable before anything that depends on it leaves the host. */
	if (out.flags & QUORUM_OUT_PERSIST)
	{
		struct quorum_durable old = h->disk;
		bool		had_old = h->disk_written;

		h->disk = out.durable;
		h->disk_written = true;
		h->persists++;
		w->hash = sim_hash_u64(w->hash, out.durable.incarnation);
		sim_check_on_persist(w, h->index, &old, had_old, &out.durable);
		if (sim_rng_chance(&w->rng, w->opts.crash_mid_output))
		{
			quorum_node_output_done(h->node, &out);
			host_kill(w, h);
			return false;
		}
		if (h->slow_persist_ms > 0)
		{
			host_stall(w, h, in, &out);
			return true;
		}
	}
	return host_finish(w, h, &out);
}

/* The rest of a step's output, once what it depends on is durable. */
static bool
host_finish(struct sim_world *w, struct sim_host *h, struct quorum_output *out_p)
{
	struct quorum_output out = *out_p;

	/* 2. Send. */
	for (size_t k = 0; k < out.n_datagrams; k++)
	{
		const struct quorum_datagram *d = &out.datagrams[k];

		w->hash = sim_hash_bytes(w->hash, d->data, d->len);
		sim_net_send(w, h->index, &d->to, d->data, d->len);
	}

	/* 3. Events, through the checkers. */
	for (size_t k = 0; k < out.n_events; k++)
	{
		const struct quorum_event *e = &out.events[k];

		w->hash = sim_hash_u64(w->hash, ((uint64_t) e->type << 32) ^
							   e->incarnation);
		w->hash = sim_hash_bytes(w->hash, e->member, strlen(e->member));
	}
	sim_check_after_step(w, h->index, &out);
	quorum_node_output_done(h->node, &out);

	/* 4. Tick no later than the deadline. */
	host_schedule_tick(w, h);
	return !w->failed;
}

/*
 * A persist that takes slow_persist_ms (a slow fsync of the durable record):
 * the runtime is stuck inside the pass, so nothing is sent and nothing read
 * until it returns; what arrives meanwhile queues in the socket buffer, as
 * during a pause, and is read in the same pass when the persist returns.
 */
static void
host_stall(struct sim_world *w, struct sim_host *h, const struct quorum_input *in,
		   const struct quorum_output *out)
{
	h->held = *out;
	h->stalled = true;
	if (!h->in_pass)
	{
		h->pass_host_ms = in->now_ms;
		h->pass_read_ms = sim_host_local(h, w->now_ms);
	}
	h->state = SIM_HOST_PAUSED;
	h->paused_at_ms = w->now_ms;
	h->pause_gen++;
	sim_check_taint(w, h->index);
	sim_schedule(w, w->now_ms + h->slow_persist_ms, SIM_EV_RESUME, h->index,
				 h->pause_gen, NULL);
	h->slow_persist_ms = 0;
}

static void
host_join(struct sim_world *w, struct sim_host *h)
{
	struct quorum_input in;
	unsigned	seed = h->index == 0 ? 1 : 0;

	if (seed >= w->n)
		return;
	memset(&in, 0, sizeof(in));
	in.type = QUORUM_IN_COMMAND;
	in.u.command.type = QUORUM_CMD_JOIN;
	in.u.command.addr = w->hosts[seed].addr;
	host_step(w, h, &in);
}

void
sim_host_boot(struct sim_world *w, unsigned i)
{
	struct sim_host *h = &w->hosts[i];
	struct quorum_config config = w->opts.config;
	char		err[256] = "";
	int			rc;

	if (h->state != SIM_HOST_DOWN)
		return;
	snprintf(config.name, sizeof(config.name), "%s", h->name);
	config.addr = h->addr;
	if (h->election_timeout_ms > 0)
	{
		config.election_timeout_min_ms = h->election_timeout_ms;
		config.election_timeout_max_ms = quorum_timing_election_max_ms(h->election_timeout_ms);
	}
	sim_test_keyring(&config.keyring);
	config.allow_plaintext = false;
	config.seed = sim_mix64(w->seed ^ sim_mix64(((uint64_t) i << 20) | h->boots));
	/* Above every incarnation an earlier run persisted, as node.h asks. */
	config.incarnation_start = h->disk_written ? h->disk.incarnation + 1 : 1;
	/* The election's state comes back from the disk, and from nowhere else. */
	config.restored = h->disk_written ? &h->disk : NULL;
	if (w->opts.trace)
	{
		config.trace_fn = host_trace;
		config.trace_ctx = h;
	}
	else
		config.trace_fn = NULL;

	rc = quorum_node_new(&config, &h->facts, sim_host_local(h, w->now_ms),
						 &h->node, err, sizeof(err));
	if (rc != 0)
	{
		sim_fail(w, "%s: quorum_node_new returned %s: %s", h->name,
				 quorum_error_name(rc), err);
		return;
	}
	h->state = SIM_HOST_UP;
	h->boots++;
	h->tick_pending = false;
	h->ticks_same_time = 0;
	sim_check_on_boot(w, i, config.incarnation_start);
	if (w->check->election)
		sim_check_election_boot(w, i);
	host_schedule_tick(w, h);
	/* The seed's first boot has no one to join; everyone else joins. */
	if (i != 0 || h->boots > 1)
		host_join(w, h);
	if (w->opts.rejoin_interval_ms > 0 && h->state == SIM_HOST_UP)
		sim_schedule(w, w->now_ms + w->opts.rejoin_interval_ms,
					 SIM_EV_REJOIN, i, h->boots, NULL);
}

static void
host_drop_sockbuf(struct sim_host *h)
{
	for (size_t k = 0; k < h->sockbuf_len; k++)
		free(h->sockbuf[k]);
	h->sockbuf_len = 0;
	h->sockbuf_bytes = 0;
}

static void
host_kill(struct sim_world *w, struct sim_host *h)
{
	if (h->node != NULL)
		quorum_node_free(h->node);
	h->node = NULL;
	h->state = SIM_HOST_DOWN;
	h->ever_crashed = true;
	h->tick_pending = false;
	h->tick_gen++;
	h->pause_gen++;
	h->stalled = false;
	h->in_pass = false;
	if (h->suspended)
	{
		/* A crash ends the suspend; the monotonic clock keeps what it lost. */
		h->mono_lost_ms += host_boottime(h, w->now_ms) - h->suspend_boot_ms;
		h->suspended = false;
	}
	host_drop_sockbuf(h);
	sim_check_taint(w, h->index);
}

void
sim_host_crash(struct sim_world *w, unsigned i)
{
	if (w->hosts[i].state != SIM_HOST_DOWN)
		host_kill(w, &w->hosts[i]);
}

void
sim_host_restart(struct sim_world *w, unsigned i)
{
	sim_host_crash(w, i);
	sim_host_boot(w, i);
}

void
sim_host_rebuild(struct sim_world *w, unsigned i)
{
	struct sim_host *h = &w->hosts[i];
	uint64_t	incarnation = h->disk.incarnation;

	sim_host_crash(w, i);
	memset(&h->disk, 0, sizeof(h->disk));
	h->disk.incarnation = incarnation;
	if (w->check->election)
		sim_check_election_forget(w, i);
	sim_host_boot(w, i);
}

void
sim_host_pause(struct sim_world *w, unsigned i, quorum_time_ms ms)
{
	struct sim_host *h = &w->hosts[i];

	if (h->state != SIM_HOST_UP)
	{
		sim_fail(w, "cannot pause %s: it is not running", h->name);
		return;
	}
	h->state = SIM_HOST_PAUSED;
	h->paused_at_ms = w->now_ms;
	h->pause_gen++;
	sim_check_taint(w, i);
	if (ms > 0)
		sim_schedule(w, w->now_ms + ms, SIM_EV_RESUME, i, h->pause_gen, NULL);
}

/* A suspend of the machine: CLOCK_MONOTONIC stands still, boot time does not. */
void
sim_host_suspend(struct sim_world *w, unsigned i, quorum_time_ms ms)
{
	struct sim_host *h = &w->hosts[i];

	sim_host_pause(w, i, ms);
	if (h->state != SIM_HOST_PAUSED)
		return;
	h->suspended = true;
	h->suspend_boot_ms = host_boottime(h, w->now_ms);
}

/*
 * SIGCONT: the process reads everything its socket buffer holds, all at the
 * current time, before its long-overdue timer fires.  The end of a stalled
 * persist instead carries out the rest of the held output, then reads the
 * queue within the same pass, stamped by the runtime's rule.
 */
void
sim_host_resume(struct sim_world *w, unsigned i)
{
	struct sim_host *h = &w->hosts[i];
	size_t		k;

	if (h->state != SIM_HOST_PAUSED)
		return;
	h->state = SIM_HOST_UP;
	h->paused_total_ms += w->now_ms - h->paused_at_ms;
	h->pause_gen++;
	if (h->suspended)
	{
		h->mono_lost_ms += host_boottime(h, w->now_ms) - h->suspend_boot_ms;
		h->suspended = false;
	}
	if (h->stalled)
	{
		h->stalled = false;
		h->in_pass = true;
		if (!host_finish(w, h, &h->held))
		{
			h->in_pass = false;
			return;
		}
	}
	for (k = 0; k < h->sockbuf_len && h->state == SIM_HOST_UP; k++)
	{
		struct sim_packet *p = h->sockbuf[k];
		struct quorum_input in;

		memset(&in, 0, sizeof(in));
		in.type = QUORUM_IN_DATAGRAM;
		in.u.datagram.from = p->from;
		in.u.datagram.data = p->data;
		in.u.datagram.len = p->len;
		w->net->stats.delivered++;
		if (!host_step(w, h, &in))
			break;
	}
	/* Stalled again by a later persist of the pass: it reads the rest then. */
	if (h->stalled)
	{
		for (size_t j = 0; j < k; j++)
		{
			h->sockbuf_bytes -= h->sockbuf[j]->len;
			free(h->sockbuf[j]);
		}
		memmove(h->sockbuf, h->sockbuf + k, (h->sockbuf_len - k) * sizeof(*h->sockbuf));
		h->sockbuf_len -= k;
		return;
	}
	h->in_pass = false;
	/* A crash while draining already emptied the buffer. */
	if (h->state == SIM_HOST_UP)
	{
		host_drop_sockbuf(h);
		h->tick_pending = false;
		host_schedule_tick(w, h);
	}
}

void
sim_host_drift(struct sim_world *w, unsigned i, int32_t ppm)
{
	struct sim_host *h = &w->hosts[i];
	quorum_time_ms local = sim_host_local(h, w->now_ms);

	/* Keep the clock continuous: only its rate changes from now on. */
	h->drift_ppm = ppm;
	h->clock_origin_ms = 0;
	h->clock_origin_ms = (int64_t) local - (int64_t) sim_host_local(h, w->now_ms);
	if (h->state == SIM_HOST_UP)
	{
		h->tick_pending = false;
		host_schedule_tick(w, h);
	}
}

static void
host_feed_facts(struct sim_world *w, unsigned i, enum quorum_input_type type,
				const struct quorum_meta *facts)
{
	struct sim_host *h = &w->hosts[i];
	struct quorum_input in;

	h->facts = *facts;
	if (h->state != SIM_HOST_UP)
		return;
	memset(&in, 0, sizeof(in));
	in.type = type;
	in.u.facts = *facts;
	host_step(w, h, &in);
}

void
sim_host_set_facts(struct sim_world *w, unsigned i, const struct quorum_meta *facts)
{
	host_feed_facts(w, i, QUORUM_IN_FACTS, facts);
}

void
sim_host_wal_stopped(struct sim_world *w, unsigned i, const struct quorum_meta *facts)
{
	host_feed_facts(w, i, QUORUM_IN_WAL_STOPPED, facts);
}

int
sim_host_command(struct sim_world *w, unsigned i, const struct quorum_command *cmd)
{
	struct sim_host *h = &w->hosts[i];
	struct quorum_input in;

	if (h->state != SIM_HOST_UP)
		return QUORUM_ESTATE;
	memset(&in, 0, sizeof(in));
	in.type = QUORUM_IN_COMMAND;
	in.u.command = *cmd;
	host_step(w, h, &in);
	return h->command_rc;
}

int
sim_host_command_named(struct sim_world *w, unsigned i,
					   enum quorum_command_type type, const char *name)
{
	struct quorum_command cmd;

	memset(&cmd, 0, sizeof(cmd));
	cmd.type = type;
	snprintf(cmd.name, sizeof(cmd.name), "%s", name);
	return sim_host_command(w, i, &cmd);
}

void
sim_host_on_tick(struct sim_world *w, unsigned i, uint64_t gen)
{
	struct sim_host *h = &w->hosts[i];
	struct quorum_input in;

	if (gen != h->tick_gen || !h->tick_pending)
		return;
	h->tick_pending = false;
	if (h->state != SIM_HOST_UP)
		return;
	if (w->now_ms == h->last_tick_ms)
	{
		if (++h->ticks_same_time > HOST_SAME_TIME_TICKS_MAX)
		{
			sim_fail(w, "%s: more than %d ticks at one instant: the deadline "
					 "never moves forward", h->name, HOST_SAME_TIME_TICKS_MAX);
			return;
		}
	}
	else
	{
		h->ticks_same_time = 0;
		h->last_tick_ms = w->now_ms;
	}
	/*
	 * A leader without the lease (handing over) gets its facts again, as a
	 * database host samples them: the hand-over waits for such a sample,
	 * and in the simulated WAL nothing is written once the lease is gone.
	 */
	if (strcmp(quorum_node_leader(h->node), h->name) == 0 &&
		!quorum_node_has_lease(h->node, sim_host_local(h, w->now_ms)))
	{
		memset(&in, 0, sizeof(in));
		in.type = QUORUM_IN_FACTS;
		in.u.facts = h->facts;
		host_step(w, h, &in);
		if (h->state != SIM_HOST_UP)
			return;
	}
	memset(&in, 0, sizeof(in));
	in.type = QUORUM_IN_TICK;
	host_step(w, h, &in);
}

void
sim_host_on_deliver(struct sim_world *w, unsigned i, struct sim_packet *packet)
{
	struct sim_host *h = &w->hosts[i];
	struct quorum_input in;

	switch (h->state)
	{
		case SIM_HOST_DOWN:
			w->net->stats.to_crashed++;
			free(packet);
			return;
		case SIM_HOST_PAUSED:
			if (h->sockbuf_bytes + packet->len > w->opts.net.socket_buffer_bytes)
			{
				w->net->stats.buffer_full++;
				free(packet);
				return;
			}
			if (h->sockbuf_len == h->sockbuf_cap)
			{
				size_t		cap = h->sockbuf_cap ? h->sockbuf_cap * 2 : 64;
				struct sim_packet **buf = realloc(h->sockbuf, cap * sizeof(*buf));

				if (buf == NULL)
				{
					free(packet);
					sim_fail(w, "out of memory in %s's socket buffer", h->name);
					return;
				}
				h->sockbuf = buf;
				h->sockbuf_cap = cap;
			}
			h->sockbuf[h->sockbuf_len++] = packet;
			h->sockbuf_bytes += packet->len;
			return;
		case SIM_HOST_UP:
			break;
	}
	memset(&in, 0, sizeof(in));
	in.type = QUORUM_IN_DATAGRAM;
	in.u.datagram.from = packet->from;
	in.u.datagram.data = packet->data;
	in.u.datagram.len = packet->len;
	w->net->stats.delivered++;
	host_step(w, h, &in);
	free(packet);
}

void
sim_host_on_resume(struct sim_world *w, unsigned i, uint64_t gen)
{
	if (gen == w->hosts[i].pause_gen)
		sim_host_resume(w, i);
}

/*
 * The runtime re-contacts its seeds while it sees no other member alive
 * (runtime.h, rejoin_interval_ms); a simulated host does the same, so a node
 * that was alone at boot, or isolated until it gave everyone up, comes back.
 */
void
sim_host_on_rejoin(struct sim_world *w, unsigned i, uint64_t gen)
{
	struct sim_host *h = &w->hosts[i];
	struct quorum_node_stats st;

	if (gen != h->boots || h->state == SIM_HOST_DOWN)
		return;
	if (h->state == SIM_HOST_UP)
	{
		quorum_node_stats_get(h->node, &st);
		if (st.members_alive <= 1 && w->n > 1)
			host_join(w, h);
	}
	if (h->state != SIM_HOST_DOWN)
		sim_schedule(w, w->now_ms + w->opts.rejoin_interval_ms,
					 SIM_EV_REJOIN, i, h->boots, NULL);
}

void
sim_host_destroy(struct sim_host *h)
{
	if (h->node != NULL)
		quorum_node_free(h->node);
	h->node = NULL;
	host_drop_sockbuf(h);
	free(h->sockbuf);
	h->sockbuf = NULL;
}
