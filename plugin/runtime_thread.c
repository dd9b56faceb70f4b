/*-------------------------------------------------------------------------
 *
 * runtime_thread.c
 *	  The threaded mode of include/quorum/runtime.h: one IO thread per
 *	  runtime, and the bounded command queue other threads call in through.
 *
 * The IO thread owns every socket.  It waits in epoll_wait() for at most
 * the time to the node's next deadline, then does one pass of work
 * (quorum__runtime_work in runtime.c), exactly as a driven-mode host's
 * process() call would.  A command from another thread is copied into a
 * free slot of the queue under the lock, the eventfd is written (libuv's
 * uv_async), and the caller sleeps on done_cond until the IO thread has run
 * it and stored its return code; so commands run in FIFO order between two
 * steps, never inside one.  The IO thread blocks every signal: the host's
 * handlers run on the host's threads.
 *
 * Locking: `lock` guards the queue, the mode and the stop flags; the IO
 * thread never holds it while it runs a command or a callback, so the host
 * may read snapshots from a callback, and a command that waits never holds
 * it while the IO thread needs it.
 *
 * plugin/runtime_thread.c
 *
 *-------------------------------------------------------------------------
 */
#include "runtime_internal.h"

#include "quorum/error.h"
#include "internal.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* Ready descriptors taken from epoll per wait. */
#define THREAD_EPOLL_EVENTS 32

/* Wake the IO thread; a full counter means it is awake already. */
static void
thread_wake(quorum_runtime *rt)
{
	uint64_t	one = 1;
	ssize_t		n;

	do
		n = write(rt->wake_fd, &one, sizeof(one));
	while (n < 0 && errno == EINTR);
}

/*
 * Queue one input and wait until the IO thread has run it.  Returns its
 * return code, QUORUM_ELIMIT when the queue is full, or QUORUM_ESTATE (or
 * the error that stopped it) when the IO thread is not running.
 */
int
quorum__runtime_thread_submit(quorum_runtime *rt, const struct quorum_input *in)
{
	struct quorum__rt_slot *slot = NULL;
	int			rc;

	pthread_mutex_lock(&rt->lock);
	if (!rt->thread_running || rt->stop_requested)
	{
		rc = rt->error != 0 ? rt->error : QUORUM_ESTATE;
		pthread_mutex_unlock(&rt->lock);
		return rc;
	}
	for (unsigned i = 0; i < rt->n_slots; i++)
	{
		if (rt->slots[i].state == QUORUM__RT_SLOT_FREE)
		{
			slot = &rt->slots[i];
			break;
		}
	}
	if (slot == NULL)
	{
		pthread_mutex_unlock(&rt->lock);
		return QUORUM_ELIMIT;
	}
	slot->state = QUORUM__RT_SLOT_QUEUED;
	slot->ticket = ++rt->next_ticket;
	slot->in = *in;
	slot->rc = 0;
	pthread_mutex_unlock(&rt->lock);

	thread_wake(rt);

	pthread_mutex_lock(&rt->lock);
	while (slot->state != QUORUM__RT_SLOT_DONE)
		pthread_cond_wait(&rt->done_cond, &rt->lock);
	rc = slot->rc;
	slot->state = QUORUM__RT_SLOT_FREE;
	pthread_mutex_unlock(&rt->lock);
	return rc;
}

/* The oldest queued slot, taken for running, or NULL.  Caller holds lock. */
static struct quorum__rt_slot *
thread_take_oldest(quorum_runtime *rt)
{
	struct quorum__rt_slot *oldest = NULL;

	for (unsigned i = 0; i < rt->n_slots; i++)
	{
		struct quorum__rt_slot *s = &rt->slots[i];

		if (s->state == QUORUM__RT_SLOT_QUEUED &&
			(oldest == NULL || s->ticket < oldest->ticket))
			oldest = s;
	}
	if (oldest != NULL)
		oldest->state = QUORUM__RT_SLOT_TAKEN;
	return oldest;
}

/*
 * Run every queued command, oldest first, each stamped with the IO
 * thread's clock.  Returns 0, or the persist error of one of them (which
 * that command's caller also gets).  A command's own refusal (the node
 * says no, before changing anything) goes to its caller only.
 */
int
quorum__runtime_thread_commands(quorum_runtime *rt)
{
	for (;;)
	{
		struct quorum__rt_slot *slot;
		struct quorum_input in;
		int			rc;
		bool		fatal;

		pthread_mutex_lock(&rt->lock);
		slot = thread_take_oldest(rt);
		if (slot != NULL)
			in = slot->in;
		pthread_mutex_unlock(&rt->lock);
		if (slot == NULL)
			return 0;

		in.now_ms = quorum_runtime_now_ms();
		rc = quorum__runtime_exec(rt, &in);
		/* The node's refusal goes to the caller; a lost write stops us. */
		fatal = rt->persist_failed;
		quorum__runtime_count(&rt->counters.commands, 1);

		pthread_mutex_lock(&rt->lock);
		slot->rc = rc;
		slot->state = QUORUM__RT_SLOT_DONE;
		pthread_cond_broadcast(&rt->done_cond);
		pthread_mutex_unlock(&rt->lock);
		if (fatal)
			return rc;
	}
}

/* The IO thread is gone: answer every waiting command, and say why. */
static void
thread_finish(quorum_runtime *rt, int error)
{
	pthread_mutex_lock(&rt->lock);
	rt->error = error;
	rt->thread_running = false;
	for (unsigned i = 0; i < rt->n_slots; i++)
	{
		struct quorum__rt_slot *s = &rt->slots[i];

		if (s->state == QUORUM__RT_SLOT_QUEUED || s->state == QUORUM__RT_SLOT_TAKEN)
		{
			s->rc = error != 0 ? error : QUORUM_ESTATE;
			s->state = QUORUM__RT_SLOT_DONE;
		}
	}
	pthread_cond_broadcast(&rt->done_cond);
	pthread_mutex_unlock(&rt->lock);
}

static void *
thread_main(void *arg)
{
	quorum_runtime *rt = arg;
	struct epoll_event evs[THREAD_EPOLL_EVENTS];
	bool		free_requested;
	int			error = 0;

	/* Until quorum_runtime_start() is done with rt. */
	pthread_mutex_lock(&rt->lock);
	while (rt->busy)
		pthread_cond_wait(&rt->done_cond, &rt->lock);
	pthread_mutex_unlock(&rt->lock);

	quorum__runtime_current = rt;
	for (;;)
	{
		quorum_time_ms now;
		quorum_time_ms next;
		int			timeout;
		int			n;
		bool		stop;

		pthread_mutex_lock(&rt->lock);
		stop = rt->stop_requested || rt->free_requested;
		pthread_mutex_unlock(&rt->lock);
		if (stop)
			break;

		now = quorum_runtime_now_ms();
		next = quorum__runtime_next_ms(rt);
		if (next <= now)
			timeout = 0;
		else if (next - now > (quorum_time_ms) INT_MAX)
			timeout = -1;
		else
			timeout = (int) (next - now);

		n = epoll_wait(rt->epoll_fd, evs, THREAD_EPOLL_EVENTS, timeout);
		if (n < 0)
		{
			if (errno == EINTR)
				continue;
			error = QUORUM_EIO;
			break;
		}
		error = quorum__runtime_work(rt, quorum_runtime_now_ms(), evs, n);
		if (error != 0)
			break;
	}

	/* Connections would only go stale: their peers retry by UDP. */
	quorum__runtime_tcp_close(rt);
	thread_finish(rt, error);
	quorum__runtime_current = NULL;

	pthread_mutex_lock(&rt->lock);
	free_requested = rt->free_requested;
	pthread_mutex_unlock(&rt->lock);
	if (free_requested)
	{
		/* Freed from a callback: nobody will join this thread. */
		pthread_detach(pthread_self());
		quorum__runtime_destroy(rt);
	}
	return NULL;
}

/* The eventfd and the epoll set the IO thread waits on; 0 or QUORUM_EIO. */
static int
thread_prepare(quorum_runtime *rt, char *errbuf, size_t errbuf_len)
{
	struct epoll_event ev;
	int			rc;

	rt->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (rt->wake_fd < 0)
	{
		quorum__runtime_errmsg(errbuf, errbuf_len, errno, "could not create an eventfd");
		return QUORUM_EIO;
	}
	if (rt->epoll_fd < 0)
	{
		struct epoll_event uev;

		rt->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
		memset(&uev, 0, sizeof(uev));
		uev.events = EPOLLIN;
		uev.data.u64 = QUORUM__RT_TAG_UDP;
		if (rt->epoll_fd < 0 ||
			epoll_ctl(rt->epoll_fd, EPOLL_CTL_ADD, rt->udp_fd, &uev) != 0)
		{
			quorum__runtime_errmsg(errbuf, errbuf_len, errno, "could not create an epoll set");
			return QUORUM_EIO;
		}
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u64 = QUORUM__RT_TAG_WAKE;
	if (epoll_ctl(rt->epoll_fd, EPOLL_CTL_ADD, rt->wake_fd, &ev) != 0)
	{
		quorum__runtime_errmsg(errbuf, errbuf_len, errno,
							   "could not add the eventfd to the epoll set");
		return QUORUM_EIO;
	}
	if (rt->tcp_mode != QUORUM_RUNTIME_TCP_OFF && !rt->tcp.enabled)
	{
		rc = quorum__runtime_enable_tcp(rt, errbuf, errbuf_len);
		if (rc != 0)
			return rc;
	}
	return 0;
}

int
quorum_runtime_start(quorum_runtime *runtime, char *errbuf, size_t errbuf_len)
{
	quorum_runtime *rt = runtime;
	sigset_t	all;
	sigset_t	old;
	int			rc;

	if (errbuf != NULL && errbuf_len > 0)
		errbuf[0] = '\0';
	rc = quorum__runtime_claim(rt, QUORUM__RT_MODE_THREADED);
	if (rc == QUORUM_ESTATE)
		quorum__runtime_errmsg(errbuf, errbuf_len, 0,
							   "the runtime was started or driven before");
	if (rc != 0)
		return rc;

	rc = thread_prepare(rt, errbuf, errbuf_len);
	if (rc == 0)
	{
		pthread_mutex_lock(&rt->lock);
		rt->thread_running = true;
		pthread_mutex_unlock(&rt->lock);

		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		rc = pthread_create(&rt->thread, NULL, thread_main, rt);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (rc != 0)
		{
			quorum__runtime_errmsg(errbuf, errbuf_len, rc, "could not create the IO thread");
			rc = QUORUM_EIO;
		}
	}

	/*
	 * The IO thread waits for this before it does anything, because a
	 * callback may free the runtime: after the unlock, rt may be gone.
	 */
	pthread_mutex_lock(&rt->lock);
	rt->busy = false;
	if (rc != 0)
	{
		/* Back to square one; the descriptors are closed by free. */
		rt->thread_running = false;
		rt->mode = QUORUM__RT_MODE_NONE;
	}
	pthread_cond_broadcast(&rt->done_cond);
	pthread_mutex_unlock(&rt->lock);
	return rc;
}

int
quorum_runtime_stop(quorum_runtime *runtime, bool leave)
{
	quorum_runtime *rt = runtime;
	int			leave_rc = 0;
	int			rc;

	if ((rc = quorum__runtime_lock_call(rt)) != 0)
		return rc;
	rc = rt->mode != QUORUM__RT_MODE_THREADED || rt->stop_requested ? QUORUM_ESTATE :
		rt->busy ? QUORUM_EBUSY : 0;	/* another thread is inside start() */
	pthread_mutex_unlock(&rt->lock);
	if (rc != 0)
		return rc;

	if (leave)
	{
		struct quorum_input in;

		quorum__runtime_input(&in, QUORUM_IN_COMMAND, 0);
		in.u.command.type = QUORUM_CMD_LEAVE;
		leave_rc = quorum__runtime_thread_submit(rt, &in);
		/* Having left already is what was asked for. */
		if (leave_rc == QUORUM_ESTATE)
			leave_rc = 0;
	}

	/* Only one caller joins the thread. */
	pthread_mutex_lock(&rt->lock);
	if (rt->stop_requested)
	{
		pthread_mutex_unlock(&rt->lock);
		return QUORUM_ESTATE;
	}
	rt->stop_requested = true;
	pthread_mutex_unlock(&rt->lock);
	thread_wake(rt);
	pthread_join(rt->thread, NULL);

	pthread_mutex_lock(&rt->lock);
	rt->mode = QUORUM__RT_MODE_STOPPED;
	rc = rt->error;
	pthread_mutex_unlock(&rt->lock);
	return rc != 0 ? rc : leave_rc;
}
