/*-------------------------------------------------------------------------
 *
 * names.c
 *	  Display names of libquorum's public enums.
 *
 * These strings appear in the SQL views (quorum.nodes.state) and in traces,
 * so they are lower case and stable; an out-of-range value gets "unknown"
 * rather than undefined behaviour.
 *
 * plugin/names.c
 *
 *-------------------------------------------------------------------------
 */
#include "quorum/node.h"

const char *
quorum_member_state_name(enum quorum_member_state state)
{
	switch (state)
	{
		case QUORUM_MEMBER_ALIVE:
			return "alive";
		case QUORUM_MEMBER_SUSPECT:
			return "suspect";
		case QUORUM_MEMBER_DEAD:
			return "dead";
		case QUORUM_MEMBER_LEFT:
			return "left";
	}
	return "unknown";
}

const char *
quorum_role_name(enum quorum_role role)
{
	switch (role)
	{
		case QUORUM_ROLE_UNKNOWN:
			return "unknown";
		case QUORUM_ROLE_PRIMARY:
			return "primary";
		case QUORUM_ROLE_STANDBY:
			return "standby";
		case QUORUM_ROLE_WITNESS:
			return "witness";
	}
	return "unknown";
}

const char *
quorum_drop_reason_name(enum quorum_drop_reason reason)
{
	switch (reason)
	{
		case QUORUM_DROP_MALFORMED:
			return "malformed";
		case QUORUM_DROP_OVERSIZE:
			return "oversize";
		case QUORUM_DROP_VERSION:
			return "version";
		case QUORUM_DROP_AUTH:
			return "auth";
		case QUORUM_DROP_PLAINTEXT:
			return "plaintext";
		case QUORUM_DROP_CLUSTER:
			return "cluster";
		case QUORUM_DROP_REPLAY:
			return "replay";
		case QUORUM_DROP_SELF:
			return "self";
		case QUORUM_DROP_TABLE_FULL:
			return "table_full";
		case QUORUM_DROP_OUTBOX_FULL:
			return "outbox_full";
		case QUORUM_DROP__COUNT:
			break;
	}
	return "unknown";
}

const char *
quorum_event_type_name(enum quorum_event_type type)
{
	switch (type)
	{
		case QUORUM_EV_MEMBER_ALIVE:
			return "alive";
		case QUORUM_EV_MEMBER_SUSPECT:
			return "suspect";
		case QUORUM_EV_MEMBER_DEAD:
			return "dead";
		case QUORUM_EV_MEMBER_LEFT:
			return "left";
		case QUORUM_EV_MEMBER_UPDATED:
			return "updated";
		case QUORUM_EV_MEMBER_REAPED:
			return "reaped";
		case QUORUM_EV_LEADER_CHANGED:
			return "leader_changed";
		case QUORUM_EV_LEASE_GAINED:
			return "lease_gained";
		case QUORUM_EV_LEASE_LOST:
			return "lease_lost";
		case QUORUM_EV_DECISION_COMMITTED:
			return "decision_committed";
	}
	return "unknown";
}

const char *
quorum_decision_type_name(enum quorum_decision_type type)
{
	switch (type)
	{
		case QUORUM_DECISION_NOOP:
			return "noop";
		case QUORUM_DECISION_ADD_VOTER:
			return "add_voter";
		case QUORUM_DECISION_REMOVE_VOTER:
			return "remove_voter";
		case QUORUM_DECISION_PAUSE:
			return "pause";
		case QUORUM_DECISION_RESUME:
			return "resume";
		case QUORUM_DECISION_SWITCHOVER:
			return "switchover";
	}
	return "unknown";
}

const char *
quorum_election_role_name(enum quorum_election_role role)
{
	switch (role)
	{
		case QUORUM_ELECTION_FOLLOWER:
			return "follower";
		case QUORUM_ELECTION_PRE_CANDIDATE:
			return "pre_candidate";
		case QUORUM_ELECTION_CANDIDATE:
			return "candidate";
		case QUORUM_ELECTION_LEADER:
			return "leader";
	}
	return "unknown";
}
