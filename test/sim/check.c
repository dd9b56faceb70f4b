/*-------------------------------------------------------------------------
 *
 * check.c
 *	  Invariant and liveness checkers of the simulator (see check.h).
 *
 * These know the core only through node.h, exactly as a host would.  Safety
 * checks run after every step; a violation fails the world with a message
 * naming the observer, the member and both incarnations, prefixed with the
 * seed by sim_fail().
 *
 * test/sim/check.c
 *
 *-------------------------------------------------------------------------
 */
#include "check.h"
#include "host.h"
#include "net.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Above this many hosts the n * n view table costs too much memory. */
#define CHECK_VIEW_HOSTS_MAX 2048

struct sim_check *
sim_check_new(unsigned n, enum sim_check_level level, bool election)
{
	struct sim_check *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->n = n;
	c->level = level;
	c->election = election;
	c->election_check = sim_election_check_new(n);
	c->self_inc_max = calloc(n, sizeof(uint64_t));
	c->seen_inc_max = calloc(n, sizeof(uint64_t));
	c->tainted = calloc(n, sizeof(bool));
	if (n <= CHECK_VIEW_HOSTS_MAX)
		c->view_inc = calloc((size_t) n * n, sizeof(uint64_t));
	if (c->self_inc_max == NULL || c->seen_inc_max == NULL ||
		c->tainted == NULL || c->election_check == NULL ||
		(n <= CHECK_VIEW_HOSTS_MAX && c->view_inc == NULL))
	{
		sim_check_free(c);
		return NULL;
	}
	return c;
}

void
sim_check_free(struct sim_check *c)
{
	if (c == NULL)
		return;
	free(c->self_inc_max);
	free(c->seen_inc_max);
	free(c->view_inc);
	free(c->tainted);
	free(c->watch.seen);
	sim_election_check_free(c->election_check);
	free(c);
}

void
sim_check_taint(struct sim_world *w, unsigned i)
{
	w->check->tainted[i] = true;
}

void
sim_check_on_boot(struct sim_world *w, unsigned i, uint64_t incarnation_start)
{
	struct sim_check *c = w->check;

	/* A new boot remembers nothing, so its views start over. */
	if (c->view_inc != NULL)
		memset(c->view_inc + (size_t) i * c->n, 0, c->n * sizeof(uint64_t));
	if (c->seen_inc_max[i] > 0 && incarnation_start <= c->seen_inc_max[i])
		sim_fail(w, "n%u booted at incarnation %llu, but peers already saw "
				 "incarnation %llu of an earlier run: it was sent before it "
				 "was persisted", i, (unsigned long long) incarnation_start,
				 (unsigned long long) c->seen_inc_max[i]);
}

void
sim_check_on_persist(struct sim_world *w, unsigned i,
					 const struct quorum_durable *old, bool had_old,
					 const struct quorum_durable *now)
{
	if (had_old && now->incarnation < old->incarnation)
		sim_fail(w, "n%u persisted incarnation %llu after %llu: durable "
				 "state went backwards", i,
				 (unsigned long long) now->incarnation,
				 (unsigned long long) old->incarnation);
	if (w->check->election && !w->failed)
		sim_check_election_persist(w, i, old, had_old, now);
}

/*
 * Observer i reports subject s at incarnation inc (from an event or its
 * table): s must have held inc itself, and i's view must not go back.
 */
static bool
check_view(struct sim_world *w, unsigned i, unsigned s, uint64_t inc,
		   const char *via)
{
	struct sim_check *c = w->check;

	if (inc > c->self_inc_max[s])
	{
		sim_fail(w, "n%u %s n%u at incarnation %llu, which n%u never held "
				 "(its highest is %llu)", i, via, s, (unsigned long long) inc,
				 s, (unsigned long long) c->self_inc_max[s]);
		return false;
	}
	if (inc > c->seen_inc_max[s])
		c->seen_inc_max[s] = inc;
	if (c->view_inc != NULL)
	{
		uint64_t   *v = &c->view_inc[(size_t) i * c->n + s];

		if (inc < *v)
		{
			sim_fail(w, "n%u %s n%u at incarnation %llu after %llu: an "
					 "observer's view went backwards", i, via, s,
					 (unsigned long long) inc, (unsigned long long) *v);
			return false;
		}
		*v = inc;
	}
	return true;
}

static void
check_event(struct sim_world *w, unsigned i, const struct quorum_event *e)
{
	struct sim_check *c = w->check;
	int			s = sim_name_host(w, e->member);

	/* The election's events name leaders and decisions, not incarnations. */
	if (e->type > QUORUM_EV_MEMBER_REAPED)
	{
		sim_check_election_event(w, i, e);
		return;
	}
	if ((unsigned) e->type < sizeof(c->counts.events) / sizeof(c->counts.events[0]))
		c->counts.events[e->type]++;
	if (s < 0)
	{
		sim_fail(w, "n%u reported event %s about \"%s\", which is no host",
				 i, quorum_event_type_name(e->type), e->member);
		return;
	}
	if (c->watch.active && (unsigned) s == c->watch.subject &&
		e->type == c->watch.type && !c->watch.seen[i])
	{
		c->watch.seen[i] = 1;
		if (++c->watch.hits == c->watch.target)
			c->watch.done_ms = w->now_ms;
	}
	if ((unsigned) s == i)
	{
		if (e->type == QUORUM_EV_MEMBER_SUSPECT || e->type == QUORUM_EV_MEMBER_DEAD)
			sim_fail(w, "n%u reported itself %s", i,
					 quorum_event_type_name(e->type));
		return;
	}
	if (!check_view(w, i, (unsigned) s, e->incarnation, "reported an event about"))
		return;
	if (!c->tainted[s] && sim_host_running(w, (unsigned) s))
	{
		if (e->type == QUORUM_EV_MEMBER_DEAD)
			c->counts.false_dead++;
		else if (e->type == QUORUM_EV_MEMBER_SUSPECT)
			c->counts.false_suspect++;
	}
}

static void
check_self(struct sim_world *w, unsigned i)
{
	struct sim_host *h = &w->hosts[i];
	struct sim_check *c = w->check;
	struct quorum_member_info info;
	int			rc = quorum_node_member_find(h->node, h->name, &info);

	if (rc != 0)
	{
		sim_fail(w, "n%u does not find itself: %s", i, quorum_error_name(rc));
		return;
	}
	if (!info.is_self || info.state != QUORUM_MEMBER_ALIVE)
	{
		sim_fail(w, "n%u sees itself as %s%s at incarnation %llu", i,
				 quorum_member_state_name(info.state),
				 info.is_self ? "" : " (and not as self)",
				 (unsigned long long) info.incarnation);
		return;
	}
	if (info.incarnation < c->self_inc_max[i])
	{
		sim_fail(w, "n%u's own incarnation went from %llu back to %llu", i,
				 (unsigned long long) c->self_inc_max[i],
				 (unsigned long long) info.incarnation);
		return;
	}
	c->self_inc_max[i] = info.incarnation;
}

static void
check_table(struct sim_world *w, unsigned i)
{
	struct sim_host *h = &w->hosts[i];
	size_t		count = quorum_node_member_count(h->node);
	uint8_t		seen_stack[256];
	uint8_t    *seen = w->n <= sizeof(seen_stack) ? seen_stack : calloc(w->n, 1);

	if (seen == NULL)
	{
		sim_fail(w, "out of memory checking n%u", i);
		return;
	}
	memset(seen, 0, w->n);
	if (count > w->opts.config.members_max)
		sim_fail(w, "n%u has %zu members, above members_max %u", i, count,
				 w->opts.config.members_max);
	for (size_t k = 0; k < count && !w->failed; k++)
	{
		struct quorum_member_info info;
		int			s;

		if (quorum_node_member_get(h->node, k, &info) != 0)
		{
			sim_fail(w, "n%u: member %zu of %zu not found", i, k, count);
			break;
		}
		w->check->counts.invariant_checks++;
		s = sim_name_host(w, info.name);
		if (s < 0)
			sim_fail(w, "n%u has a member \"%s\", which is no host", i, info.name);
		else if (seen[s]++)
			sim_fail(w, "n%u has member %s twice", i, info.name);
		else if (!quorum_addr_equal(&info.addr, &w->hosts[s].addr))
			sim_fail(w, "n%u has member %s at the wrong address", i, info.name);
		else if (info.is_self != ((unsigned) s == i))
			sim_fail(w, "n%u marks %s is_self=%d", i, info.name, info.is_self);
		else if ((unsigned) s != i)
			check_view(w, i, (unsigned) s, info.incarnation, "lists");
	}
	if (seen != seen_stack)
		free(seen);
}

void
sim_check_after_step(struct sim_world *w, unsigned i,
					 const struct quorum_output *out)
{
	/* Self first: events may name an incarnation the step just created. */
	check_self(w, i);
	for (size_t k = 0; k < out->n_events && !w->failed; k++)
		check_event(w, i, &out->events[k]);
	if (w->check->level == SIM_CHECK_FULL && !w->failed)
		check_table(w, i);
	if (w->check->election && !w->failed)
		sim_check_election_step(w, i);
}

uint64_t
sim_check_self_incarnation(struct sim_world *w, unsigned i)
{
	struct quorum_member_info info;

	if (w->hosts[i].node == NULL ||
		quorum_node_member_find(w->hosts[i].node, w->hosts[i].name, &info) != 0)
		return 0;
	return info.incarnation;
}

/* -------------------------------------------------------------- liveness */

static void check_why(char *why, size_t why_len, const char *fmt, ...)
			__attribute__((format(printf, 3, 4)));

/*
 * Before every host has booted once, "every running host agrees" holds
 * vacuously; no liveness predicate may pass that way.
 */
static bool
check_all_booted(struct sim_world *w, char *why, size_t why_len)
{
	for (unsigned j = 0; j < sim_boot_count(w); j++)
		if (w->hosts[j].boots == 0)
		{
			check_why(why, why_len, "n%u has not booted yet", j);
			return false;
		}
	return true;
}

static void
check_why(char *why, size_t why_len, const char *fmt, ...)
{
	va_list		ap;

	if (why == NULL || why_len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, why_len, fmt, ap);
	va_end(ap);
}

bool
sim_check_converged(struct sim_world *w, char *why, size_t why_len)
{
	uint64_t   *inc = calloc(w->n, sizeof(uint64_t));
	int8_t	   *state = malloc(w->n);
	bool		ok = true;

	if (!check_all_booted(w, why, why_len))
		ok = false;
	if (inc == NULL || state == NULL || !ok)
	{
		free(inc);
		free(state);
		if (ok)
			check_why(why, why_len, "out of memory");
		return false;
	}
	for (unsigned j = 0; j < w->n; j++)
		inc[j] = sim_check_self_incarnation(w, j);

	for (unsigned h = 0; h < w->n && ok; h++)
	{
		quorum_node *node = w->hosts[h].node;
		size_t		count;

		if (!sim_host_running(w, h))
			continue;
		memset(state, -1, w->n);
		count = quorum_node_member_count(node);
		for (size_t k = 0; k < count && ok; k++)
		{
			struct quorum_member_info info;
			int			s;

			if (quorum_node_member_get(node, k, &info) != 0)
				continue;
			s = sim_name_host(w, info.name);
			if (s < 0)
				continue;
			state[s] = (int8_t) info.state;
			if (sim_host_running(w, (unsigned) s) && info.incarnation != inc[s])
			{
				check_why(why, why_len, "n%u sees n%d at incarnation %llu, "
						  "but it is at %llu", h, s,
						  (unsigned long long) info.incarnation,
						  (unsigned long long) inc[s]);
				ok = false;
			}
		}
		for (unsigned j = 0; j < w->n && ok; j++)
		{
			bool		up = w->hosts[j].state != SIM_HOST_DOWN;

			if (j == h)
				continue;
			if (up && state[j] != QUORUM_MEMBER_ALIVE)
			{
				check_why(why, why_len, "n%u sees running n%u as %s", h, j,
						  state[j] < 0 ? "unknown" :
						  quorum_member_state_name((enum quorum_member_state) state[j]));
				ok = false;
			}
			else if (!up && (state[j] == QUORUM_MEMBER_ALIVE ||
							 state[j] == QUORUM_MEMBER_SUSPECT))
			{
				check_why(why, why_len, "n%u sees crashed n%u as %s", h, j,
						  quorum_member_state_name((enum quorum_member_state) state[j]));
				ok = false;
			}
		}
	}
	free(inc);
	free(state);
	return ok;
}

bool
sim_check_alive_counts(struct sim_world *w, char *why, size_t why_len)
{
	unsigned	running = 0;

	if (!check_all_booted(w, why, why_len))
		return false;
	for (unsigned h = 0; h < w->n; h++)
		running += sim_host_running(w, h);
	for (unsigned h = 0; h < w->n; h++)
	{
		struct quorum_node_stats st;

		if (!sim_host_running(w, h))
			continue;
		quorum_node_stats_get(w->hosts[h].node, &st);
		if (st.members_alive != running || st.members_suspect != 0)
		{
			check_why(why, why_len, "n%u counts %u alive and %u suspect of %u "
					  "running", h, st.members_alive, st.members_suspect, running);
			return false;
		}
	}
	return true;
}

bool
sim_check_all_see(struct sim_world *w, unsigned s, enum quorum_member_state want,
				  char *why, size_t why_len)
{
	if (!check_all_booted(w, why, why_len))
		return false;
	for (unsigned h = 0; h < w->n; h++)
	{
		struct quorum_member_info info;

		if (h == s || !sim_host_running(w, h))
			continue;
		if (quorum_node_member_find(w->hosts[h].node, w->hosts[s].name, &info) != 0)
		{
			check_why(why, why_len, "n%u does not know n%u", h, s);
			return false;
		}
		if (info.state != want)
		{
			check_why(why, why_len, "n%u sees n%u as %s, not %s", h, s,
					  quorum_member_state_name(info.state),
					  quorum_member_state_name(want));
			return false;
		}
	}
	return true;
}

bool
sim_check_all_see_alive_above(struct sim_world *w, unsigned s, uint64_t inc,
							  char *why, size_t why_len)
{
	if (!check_all_booted(w, why, why_len))
		return false;
	for (unsigned h = 0; h < w->n; h++)
	{
		struct quorum_member_info info;

		if (h == s || !sim_host_running(w, h))
			continue;
		if (quorum_node_member_find(w->hosts[h].node, w->hosts[s].name, &info) != 0)
		{
			check_why(why, why_len, "n%u does not know n%u", h, s);
			return false;
		}
		if (info.state != QUORUM_MEMBER_ALIVE || info.incarnation <= inc)
		{
			check_why(why, why_len, "n%u sees n%u as %s at incarnation %llu "
					  "(want alive above %llu)", h, s,
					  quorum_member_state_name(info.state),
					  (unsigned long long) info.incarnation,
					  (unsigned long long) inc);
			return false;
		}
	}
	return true;
}

void
sim_check_watch(struct sim_world *w, unsigned subject,
				enum quorum_event_type type, unsigned target)
{
	struct sim_watch *wa = &w->check->watch;

	if (wa->seen == NULL && (wa->seen = calloc(w->n, 1)) == NULL)
	{
		sim_fail(w, "out of memory for a watch");
		return;
	}
	memset(wa->seen, 0, w->n);
	wa->active = true;
	wa->subject = subject;
	wa->type = type;
	wa->target = target;
	wa->hits = 0;
	wa->start_ms = w->now_ms;
	wa->done_ms = 0;
}

bool
sim_check_watch_done(struct sim_world *w, quorum_time_ms *elapsed_ms)
{
	struct sim_watch *wa = &w->check->watch;

	if (!wa->active || wa->hits < wa->target)
		return false;
	*elapsed_ms = wa->done_ms - wa->start_ms;
	return true;
}

void
sim_check_stats_sum(struct sim_world *w, struct sim_stats_sum *sum)
{
	memset(sum, 0, sizeof(*sum));
	for (unsigned h = 0; h < w->n; h++)
	{
		struct quorum_node_stats st;

		if (w->hosts[h].node == NULL)
			continue;
		quorum_node_stats_get(w->hosts[h].node, &st);
		sum->bytes_out += st.bytes_out;
		sum->datagrams_out += st.datagrams_out;
		sum->suspicions_refuted += st.suspicions_refuted;
		sum->probes_sent += st.probes_sent;
		sum->probes_failed += st.probes_failed;
		sum->pushpulls += st.pushpulls;
		for (int r = 0; r < QUORUM_DROP__COUNT; r++)
			sum->drops[r] += st.drops[r];
	}
}

void
sim_check_report(struct sim_world *w, FILE *f)
{
	const struct sim_check_counts *c = &w->check->counts;
	const struct sim_net_stats *ns = &w->net->stats;
	struct sim_stats_sum sum;

	sim_check_stats_sum(w, &sum);
	fprintf(f, "  events: alive=%llu suspect=%llu dead=%llu left=%llu "
			"updated=%llu; false suspect=%llu false dead=%llu; refuted=%llu\n",
			(unsigned long long) c->events[QUORUM_EV_MEMBER_ALIVE],
			(unsigned long long) c->events[QUORUM_EV_MEMBER_SUSPECT],
			(unsigned long long) c->events[QUORUM_EV_MEMBER_DEAD],
			(unsigned long long) c->events[QUORUM_EV_MEMBER_LEFT],
			(unsigned long long) c->events[QUORUM_EV_MEMBER_UPDATED],
			(unsigned long long) c->false_suspect,
			(unsigned long long) c->false_dead,
			(unsigned long long) sum.suspicions_refuted);
	fprintf(f, "  net: sent=%llu delivered=%llu lost=%llu blocked=%llu dup=%llu "
			"garbage=%llu to_crashed=%llu buffer_full=%llu; steps=%llu\n",
			(unsigned long long) ns->sent, (unsigned long long) ns->delivered,
			(unsigned long long) ns->lost, (unsigned long long) ns->blocked,
			(unsigned long long) ns->duplicated,
			(unsigned long long) ns->garbage,
			(unsigned long long) ns->to_crashed,
			(unsigned long long) ns->buffer_full,
			(unsigned long long) w->steps);
	if (w->check->election)
	{
		const struct sim_election_counts *e = sim_check_election_counts(w);

		fprintf(f, "  election: terms with a leader=%llu (max term %llu) "
				"leases gained=%llu lost=%llu votes=%llu decisions=%llu "
				"primaries=%llu acked writes=%llu lease checks=%llu\n",
				(unsigned long long) e->leaders, (unsigned long long) e->max_term,
				(unsigned long long) e->leases_gained,
				(unsigned long long) e->leases_lost, (unsigned long long) e->votes,
				(unsigned long long) e->decisions,
				(unsigned long long) e->promotions,
				(unsigned long long) e->acked_writes,
				(unsigned long long) e->lease_checks);
	}
	fprintf(f, "  drops:");
	for (int r = 0; r < QUORUM_DROP__COUNT; r++)
		if (sum.drops[r] > 0)
			fprintf(f, " %s=%llu", quorum_drop_reason_name((enum quorum_drop_reason) r),
					(unsigned long long) sum.drops[r]);
	fprintf(f, "\n");
}

void
sim_check_dump_views(struct sim_world *w, FILE *f)
{
	static const char states[] = "asdl";

	for (unsigned h = 0; h < w->n; h++)
	{
		struct sim_host *host = &w->hosts[h];
		size_t		count;

		fprintf(f, "  n%u %s boot %u:", h,
				host->state == SIM_HOST_UP ? "up" :
				host->state == SIM_HOST_PAUSED ? "paused" : "down", host->boots);
		if (host->node == NULL)
		{
			fprintf(f, "\n");
			continue;
		}
		count = quorum_node_member_count(host->node);
		for (size_t k = 0; k < count; k++)
		{
			struct quorum_member_info info;

			if (quorum_node_member_get(host->node, k, &info) == 0)
				fprintf(f, " %s:%c%llu", info.name,
						states[info.state & 3],
						(unsigned long long) info.incarnation);
		}
		fprintf(f, "\n");
	}
}
