/*-------------------------------------------------------------------------
 *
 * swim.h
 *	  The membership state machine (SWIM + Lifeguard), private to libquorum.
 *
 * The design essay is at the top of swim.c.  The modules:
 *
 *   swim.c                member table, merge rules, refutation, metadata
 *   swim_probe.c          probe periods, indirect probes, relays, awareness
 *   swim_suspicion.c      Lifeguard suspicion timers and confirmations
 *   swim_dissemination.c  the piggyback queue
 *   swim_pushpull.c       full-state anti-entropy and join
 *
 * All of them work on struct quorum_node (node_internal.h).  They send and
 * drop through datagram.c, the layer below them; node.c, above them, runs
 * the receive checks (datagram.c's size, seal and decode, then cluster,
 * self and replay) and hands over only messages that passed them.
 *
 * plugin/swim.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef QUORUM_SWIM_H
#define QUORUM_SWIM_H

#include "node_internal.h"

/* swim.c: the member table. */
int			quorum__swim_init(struct quorum_node *node,
							  const struct quorum_meta *facts);
void		quorum__swim_destroy(struct quorum_node *node);
uint32_t	quorum__swim_find(const struct quorum_node *node, const char *name);
uint32_t	quorum__swim_add(struct quorum_node *node, const char *name,
							 const struct quorum_addr *addr, uint64_t incarnation);
void		quorum__swim_reap(struct quorum_node *node, uint32_t idx);
void		quorum__swim_set_state(struct quorum_node *node, uint32_t idx,
								   enum quorum_member_state state,
								   uint64_t incarnation);
void		quorum__swim_apply(struct quorum_node *node,
							   const struct quorum_wire_update *up,
							   const char *via);
void		quorum__swim_receive(struct quorum_node *node,
								 const struct quorum_addr *from,
								 const struct quorum_wire_msg *msg);
void		quorum__swim_set_facts(struct quorum_node *node,
								   const struct quorum_meta *facts);
void		quorum__swim_leave(struct quorum_node *node);
void		quorum__swim_to_update(const struct quorum_node *node, uint32_t idx,
								   const char *from, bool with_meta,
								   struct quorum_wire_update *up);
bool		quorum__swim_replay_ok(const struct quorum__member *m,
								   uint64_t boot, uint64_t seq);
void		quorum__swim_replay_record(struct quorum__member *m,
									   uint64_t boot, uint64_t seq);
void		quorum__swim_meta_store(struct quorum_node *node, uint32_t idx,
									const struct quorum_meta *meta,
									uint64_t meta_version);

/* swim_probe.c: the failure detector. */
void		quorum__swim_probe_init(struct quorum_node *node);
void		quorum__swim_tick(struct quorum_node *node);
quorum_time_ms quorum__swim_deadline(const struct quorum_node *node);
void		quorum__swim_on_ping(struct quorum_node *node,
								 const struct quorum_addr *from,
								 const struct quorum_wire_msg *msg);
void		quorum__swim_on_ack(struct quorum_node *node,
								const struct quorum_wire_msg *msg);
void		quorum__swim_on_nack(struct quorum_node *node,
								 const struct quorum_wire_msg *msg);
void		quorum__swim_on_ping_req(struct quorum_node *node,
									 const struct quorum_addr *from,
									 const struct quorum_wire_msg *msg);
void		quorum__swim_awareness_add(struct quorum_node *node, int delta);
void		quorum__swim_order_insert(struct quorum_node *node, uint32_t idx);
void		quorum__swim_order_remove(struct quorum_node *node, uint32_t idx);
void		quorum__swim_order_rename(struct quorum_node *node, uint32_t from,
									  uint32_t to);

/* swim_suspicion.c: Lifeguard §4 suspicion. */
void		quorum__swim_suspicion_start(struct quorum_node *node, uint32_t idx,
										 const char *from);
void		quorum__swim_suspicion_confirm(struct quorum_node *node, uint32_t idx,
										   const char *from);
void		quorum__swim_suspicion_end(struct quorum_node *node, uint32_t idx);
void		quorum__swim_suspicion_rename(struct quorum_node *node,
										  uint32_t from, uint32_t to);
void		quorum__swim_suspicion_expire(struct quorum_node *node);
quorum_time_ms quorum__swim_suspicion_deadline(const struct quorum_node *node);
quorum_time_ms quorum__swim_suspicion_timeout(const struct quorum_node *node,
											  uint32_t k, uint32_t confirmations);

/* swim_dissemination.c: the piggyback queue. */
void		quorum__swim_dq_push(struct quorum_node *node, uint32_t idx,
								 const char *from);
void		quorum__swim_dq_remove(struct quorum_node *node, uint32_t idx);
void		quorum__swim_dq_rename(struct quorum_node *node, uint32_t from,
								   uint32_t to);
void		quorum__swim_dq_pack(struct quorum_node *node,
								 struct quorum_wire_msg *msg, uint32_t to_idx);
unsigned	quorum__swim_retransmit_limit(const struct quorum_node *node);

/*
 * Piggyback news onto msg_out (body already set) and send it to `to`, which
 * is member to_idx or QUORUM__NONE.  False if the outbox is full (counted).
 */
bool		quorum__swim_send(struct quorum_node *node,
							  const struct quorum_addr *to, uint32_t to_idx);

/* swim_pushpull.c: anti-entropy and join. */
void		quorum__swim_pushpull_send(struct quorum_node *node,
									   const struct quorum_addr *to,
									   bool is_reply, uint32_t exchange);
void		quorum__swim_on_pushpull(struct quorum_node *node,
									 const struct quorum_addr *from,
									 const struct quorum_wire_msg *msg);
void		quorum__swim_pushpull_tick(struct quorum_node *node);

/* Natural logarithm without libm, deterministic on every IEEE platform. */
double		quorum__swim_ln(double x);

#endif							/* QUORUM_SWIM_H */
