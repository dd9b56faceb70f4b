/*-------------------------------------------------------------------------
 *
 * leader_server.c
 *	  A small server embedding libquorum: it joins a cluster by gossip, takes
 *	  part in the election, and tells whoever connects to QUERY_ADDR who leads
 *	  ("leader=b term=3 self=a lease=no alive=3/3").  The threaded runtime
 *	  works on its own IO thread; the main thread reads snapshots.  A real
 *	  server also persists the durable record (persist_fn, as witness/ does)
 *	  so that a restart never votes twice in one term; this one does not.
 *
 * examples/leader_server.c
 *
 *-------------------------------------------------------------------------
 */
#include <quorum/quorum.h>

#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Runs on the IO thread: log and return quickly, never block. */
static void
on_event(void *ctx, const struct quorum_event *ev)
{
	if (ev->type == QUORUM_EV_LEADER_CHANGED)
		fprintf(stderr, "%s: leader is now \"%s\" (term %llu)\n", (const char *) ctx,
				ev->member, (unsigned long long) ev->term);
	else if (ev->type != QUORUM_EV_MEMBER_UPDATED)
		fprintf(stderr, "%s: %s %s\n", (const char *) ctx,
				quorum_event_type_name(ev->type), ev->member);
}

static int
listen_on(const char *text)
{
	struct quorum_addr a;
	struct sockaddr_in sin = {.sin_family = AF_INET};
	int			one = 1;
	int			fd;

	if (quorum_addr_parse(text, &a) != 0 || a.family != 4)
		return -1;
	sin.sin_port = htons(a.port);
	memcpy(&sin.sin_addr, a.bytes, 4);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	return bind(fd, (struct sockaddr *) &sin, sizeof(sin)) == 0 && listen(fd, 16) == 0 ? fd : -1;
}

/* One line about the election, from snapshots taken on this thread. */
static void
answer(quorum_runtime *rt, const char *self, int client)
{
	struct quorum_member_info members[64];
	char		leader[QUORUM_NAME_MAX + 1], line[256];
	uint64_t	term = 0;
	size_t		total = 0;
	unsigned	alive = 0;

	quorum_runtime_leader(rt, leader, sizeof(leader), &term);
	quorum_runtime_members(rt, members, 64, &total);
	for (size_t i = 0; i < total && i < 64; i++)
		alive += members[i].state == QUORUM_MEMBER_ALIVE;
	snprintf(line, sizeof(line), "leader=%s term=%llu self=%s lease=%s alive=%u/%zu\n",
			 leader[0] ? leader : "-", (unsigned long long) term, self,
			 quorum_runtime_has_lease(rt, quorum_runtime_now_ms()) ? "yes" : "no", alive, total);
	(void) write(client, line, strlen(line));
}

int
main(int argc, char **argv)
{
	struct quorum_runtime_config rc;
	quorum_runtime *rt;
	char		err[256], keys[4096];
	sigset_t	sigs;
	FILE	   *kf = NULL;
	size_t		len;
	int			qfd = -1, sfd;

	if (argc < 6)
		return fprintf(stderr, "usage: %s NAME GOSSIP_ADDR QUERY_ADDR KEY_FILE EXPECT [PEER...]\n", argv[0]), 2;
	quorum_runtime_config_init(&rc);
	snprintf(rc.node.name, sizeof(rc.node.name), "%s", argv[1]);
	snprintf(rc.node.cluster, sizeof(rc.node.cluster), "pg_quorum");
	if (quorum_addr_parse(argv[2], &rc.bind) != 0 || (qfd = listen_on(argv[3])) < 0 ||
		(kf = fopen(argv[4], "r")) == NULL)
	{
		fprintf(stderr, "%s: bad gossip address, query address or key file\n", argv[1]);
		return 2;
	}
	len = fread(keys, 1, sizeof(keys), kf);
	fclose(kf);
	if (quorum_keyring_parse(keys, len, &rc.node.keyring, err, sizeof(err)) != 0)
	{
		fprintf(stderr, "%s: %s: %s\n", argv[1], argv[4], err);
		return 2;
	}
	rc.node.addr = rc.bind;
	rc.node.seed = quorum_runtime_random_seed();
	rc.node.incarnation_start = (uint64_t) time(NULL) * 1000;	/* no state kept */
	rc.node.bootstrap_expect = (unsigned) atoi(argv[5]);
	rc.node.members_max = 64;
	for (int i = 6; i < argc && rc.n_seeds < QUORUM_SEEDS_MAX; i++)
		rc.n_seeds += quorum_addr_parse(argv[i], &rc.seeds[rc.n_seeds]) == 0;
	rc.event_fn = on_event;
	rc.callback_ctx = argv[1];

	/* SIGTERM and SIGINT arrive on a signalfd, never on the IO thread. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	if (quorum_runtime_new(&rc, &rt, err, sizeof(err)) != 0 ||
		quorum_runtime_start(rt, err, sizeof(err)) != 0)
	{
		fprintf(stderr, "%s: %s\n", argv[1], err);
		return 1;
	}
	explicit_bzero(&rc.node.keyring, sizeof(rc.node.keyring));
	fprintf(stderr, "%s: gossip on %s, answering on %s\n", argv[1], argv[2], argv[3]);
	for (;;)
	{
		struct pollfd pfd[2] = {{.fd = qfd, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
		int			client;

		if (poll(pfd, 2, -1) < 0 || pfd[1].revents)
			break;
		if ((client = accept(qfd, NULL, NULL)) >= 0)
		{
			answer(rt, argv[1], client);
			close(client);
		}
	}
	fprintf(stderr, "%s: leaving\n", argv[1]);
	quorum_runtime_stop(rt, true);		/* leave, then join the IO thread */
	quorum_runtime_free(rt);
	return 0;
}
