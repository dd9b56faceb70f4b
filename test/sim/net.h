/*-------------------------------------------------------------------------
 *
 * net.h
 *	  The simulator's virtual network: delay (min + exponential), loss,
 *	  duplication, reordering, garbage, per-channel cuts, partitions, MTU.
 *
 * Hosts hand it the sealed datagrams of a step; it decides, with the world's
 * PRNG, whether and when each arrives and schedules SIM_EV_DELIVER events.
 * Faults are applied on send, as a real network drops a packet somewhere on
 * the way: the sender never learns of it (tarantool's rule).  Packets already
 * in flight when a partition starts still arrive.
 *
 * test/sim/net.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SIM_NET_H
#define SIM_NET_H

#include "sim.h"

/* One datagram in flight; the event that carries it owns it. */
struct sim_packet
{
	struct quorum_addr from;
	size_t		len;
	uint8_t		data[];
};

struct sim_net_stats
{
	uint64_t	sent;			/* datagrams handed to the network */
	uint64_t	bytes_sent;
	uint64_t	delivered;		/* stepped into a node */
	uint64_t	lost;			/* random loss and per-host drop */
	uint64_t	blocked;		/* cut or partitioned */
	uint64_t	duplicated;
	uint64_t	garbage;		/* junk datagrams injected */
	uint64_t	oversize;		/* above the MTU: also a violation */
	uint64_t	unknown_dest;	/* addressed to no host */
	uint64_t	to_crashed;		/* arrived at a crashed host */
	uint64_t	buffer_full;	/* paused host's socket buffer overflowed */
};

struct sim_net
{
	struct sim_net_params params;
	unsigned	n;
	double	   *drop_out;		/* per host, on its sends */
	double	   *drop_in;		/* per host, on its receives */
	uint8_t    *group;			/* partition group per host, 0 = default */
	/* blocked[g][h]: datagrams from group g to group h are dropped. */
	bool		blocked[8][8];
	/* Cut channels (from, to), kept sorted; only small scenarios cut. */
	uint64_t   *cuts;
	size_t		n_cuts;
	size_t		cuts_cap;
	struct sim_net_stats stats;
};

struct sim_net *sim_net_new(const struct sim_net_params *params, unsigned n);
void		sim_net_free(struct sim_net *net);

/* Host from sends len bytes to addr (a step's output, in order). */
void		sim_net_send(struct sim_world *w, unsigned from,
						 const struct quorum_addr *to,
						 const uint8_t *data, size_t len);

/* Would a datagram from -> to get through cuts and partitions right now? */
bool		sim_net_connected(const struct sim_world *w, unsigned from, unsigned to);

void		sim_net_set_drop(struct sim_world *w, unsigned i, double ratio);
void		sim_net_cut(struct sim_world *w, unsigned from, unsigned to, bool cut);
/* Symmetric: a and b cannot talk at all; else only a -> b is dropped. */
void		sim_net_partition(struct sim_world *w,
							  const unsigned *a, size_t n_a,
							  const unsigned *b, size_t n_b, bool symmetric);
void		sim_net_isolate(struct sim_world *w, unsigned i);
/* Remove every cut, partition and per-host drop; random loss stays. */
void		sim_net_heal(struct sim_world *w);

#endif							/* SIM_NET_H */
