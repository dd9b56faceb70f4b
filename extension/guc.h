/*-------------------------------------------------------------------------
 *
 * guc.h
 *	  pg_quorum's configuration parameters and their validators.
 *
 * Every setting is defined by pgq_define_gucs(), alphabetically.  The
 * validators are shared by the check hooks (which reject a bad value given
 * by ALTER SYSTEM) and by the worker, which checks everything again at start
 * and stops with FATAL naming the setting, so that a bad postgresql.conf
 * stops only gossip and never the server.
 *
 * extension/guc.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGQ_GUC_H
#define PGQ_GUC_H

#include "quorum/quorum.h"

/* Most voters a configuration holds (libquorum's limit, checked here). */
#define PGQ_VOTERS_MAX 9

extern bool pgq_allow_plaintext;
extern int	pgq_bootstrap_expect;
extern char *pgq_cluster;
extern int	pgq_command_timeout_ms;
extern char *pgq_conninfo;
extern int	pgq_election_timeout_ms;
/* pg_quorum.failover: whether this server takes part in elections at all */
extern bool pgq_elections_enabled;
extern int	pgq_heartbeat_interval_ms;
extern char *pgq_http_auth_file;
extern char *pgq_http_listen;
extern char *pgq_http_ssl_cert_file;
extern char *pgq_http_ssl_key_file;
extern int	pgq_indirect_probes;
extern char *pgq_key_file;
extern char *pgq_listen;
extern int	pgq_members_max;
extern char *pgq_node_name;
extern char *pgq_peers;
extern int	pgq_priority;
extern int	pgq_probe_interval_ms;
extern int	pgq_probe_timeout_ms;
extern int	pgq_pushpull_interval_ms;
/* pg_quorum.replication_slots: whether slots.c manages slots at all */
extern bool pgq_replication_slots;
extern bool pgq_stop_deposed_primary;
extern bool pgq_stop_diverged_standby;
extern int	pgq_suspicion_mult;
extern int	pgq_switchover_lag_max_kb;
extern bool pgq_synchronous;
extern char *pgq_tags;
extern bool pgq_test_hold_facts;
extern bool pgq_voter;
extern char *pgq_voters;

extern void pgq_define_gucs(void);

/* pg_quorum.node_name, or cluster_name when that is empty. */
extern const char *pgq_effective_node_name(void);

/*
 * Validators: return NULL when value is good (and fill the outputs), else a
 * detail sentence for errdetail() that says what is wrong.
 */
extern const char *pgq_check_listen(const char *value, struct quorum_addr *addr);
extern const char *pgq_check_address(const char *value, struct quorum_addr *addr);
extern const char *pgq_check_peers(const char *value, struct quorum_addr *seeds,
								   unsigned *n_seeds);
extern const char *pgq_check_name(const char *value, bool empty_ok);
extern const char *pgq_check_text_length(const char *value, int max);
extern const char *pgq_check_voters(const char *value,
									char (*names)[QUORUM_NAME_MAX + 1],
									unsigned *n_names);

#endif							/* PGQ_GUC_H */
