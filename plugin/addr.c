/*-------------------------------------------------------------------------
 *
 * addr.c
 *	  quorum_addr helpers: compare, parse and format numeric endpoints.
 *
 * Pure string work (inet_pton/inet_ntop do no IO), so the sans-IO core and
 * the simulator can use them.  Host names are not resolved: that would be
 * IO, and a gossip address must mean the same thing to every member.
 *
 * plugin/addr.c
 *
 *-------------------------------------------------------------------------
 */
#include "quorum/node.h"
#include "quorum/error.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool
quorum_addr_equal(const struct quorum_addr *a, const struct quorum_addr *b)
{
	size_t		n;

	if (a->family != b->family || a->port != b->port)
		return false;
	n = a->family == 4 ? 4 : 16;
	return memcmp(a->bytes, b->bytes, n) == 0;
}

/* Port text after the colon: decimal, 1..65535, nothing else. */
static int
addr_parse_port(const char *text, uint16_t *port)
{
	unsigned long value = 0;

	if (*text == '\0')
		return QUORUM_EINVAL;
	for (const char *p = text; *p; p++)
	{
		if (*p < '0' || *p > '9')
			return QUORUM_EINVAL;
		value = value * 10 + (unsigned long) (*p - '0');
		if (value > 65535)
			return QUORUM_EINVAL;
	}
	if (value == 0)
		return QUORUM_EINVAL;
	*port = (uint16_t) value;
	return 0;
}

int
quorum_addr_parse(const char *text, struct quorum_addr *addr)
{
	char		host[QUORUM_ADDR_STRLEN];
	const char *colon;
	const char *host_start = text;
	size_t		host_len;
	struct quorum_addr result;

	if (text == NULL || addr == NULL)
		return QUORUM_EINVAL;
	memset(&result, 0, sizeof(result));
	if (text[0] == '[')
	{
		const char *close = strchr(text, ']');

		if (close == NULL || close[1] != ':')
			return QUORUM_EINVAL;
		host_start = text + 1;
		host_len = (size_t) (close - host_start);
		colon = close + 1;
		result.family = 6;
	}
	else
	{
		colon = strrchr(text, ':');
		if (colon == NULL)
			return QUORUM_EINVAL;
		host_len = (size_t) (colon - text);
		result.family = 4;
	}
	if (host_len == 0 || host_len >= sizeof(host))
		return QUORUM_EINVAL;
	memcpy(host, host_start, host_len);
	host[host_len] = '\0';
	if (inet_pton(result.family == 4 ? AF_INET : AF_INET6, host,
				  result.bytes) != 1)
		return QUORUM_EINVAL;
	if (addr_parse_port(colon + 1, &result.port) != 0)
		return QUORUM_EINVAL;
	*addr = result;
	return 0;
}

void
quorum_addr_format(const struct quorum_addr *addr, char *buf, size_t buf_len)
{
	char		host[INET6_ADDRSTRLEN];

	if (buf == NULL || buf_len == 0)
		return;
	if (addr == NULL || (addr->family != 4 && addr->family != 6) ||
		inet_ntop(addr->family == 4 ? AF_INET : AF_INET6, addr->bytes,
				  host, sizeof(host)) == NULL)
	{
		snprintf(buf, buf_len, "?");
		return;
	}
	if (addr->family == 4)
		snprintf(buf, buf_len, "%s:%u", host, (unsigned) addr->port);
	else
		snprintf(buf, buf_len, "[%s]:%u", host, (unsigned) addr->port);
}
