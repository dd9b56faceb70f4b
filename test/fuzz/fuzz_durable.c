/*-------------------------------------------------------------------------
 *
 * fuzz_durable.c
 *	  libFuzzer target for the durable record's parser (plugin/durable.c).
 *
 * Any text must parse, or fail with QUORUM_EMALFORMED, a zeroed record and
 * a terminated message that names the problem.  A record that parsed,
 * printed again, must parse to the same record in the current version:
 * what the hosts write on the next persist is what they read back.  One of
 * an older version (no member id) is given one first, as a node does.
 *
 * test/fuzz/fuzz_durable.c
 *
 *-------------------------------------------------------------------------
 */
#include "quorum/durable.h"
#include "quorum/error.h"

#define FUZZ_NAME "fuzz_durable"
#include "fuzz.h"

static struct quorum_durable_file file;
static struct quorum_durable_file again;
static const struct quorum_durable_file zero;
static char text[QUORUM_DURABLE_BYTES_MAX];

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		errbuf[160];
	size_t		len;
	int			rc;

	memset(errbuf, 'X', sizeof(errbuf));
	rc = quorum_durable_parse((const char *) data, size, &file, errbuf, sizeof(errbuf));
	FUZZ_CHECK(memchr(errbuf, '\0', sizeof(errbuf)) != NULL);
	if (rc != 0)
	{
		FUZZ_CHECK(rc == QUORUM_EMALFORMED);
		FUZZ_CHECK(errbuf[0] != '\0');
		FUZZ_CHECK(memcmp(&file, &zero, sizeof(file)) == 0);
		return 0;
	}
	FUZZ_CHECK(errbuf[0] == '\0');
	FUZZ_CHECK(file.format_version >= 1 &&
			   file.format_version <= QUORUM_DURABLE_FORMAT_VERSION);

	/*
	 * Versions 1 and 2 name no member id, and no record is printed without
	 * one: the node makes one up first.
	 */
	FUZZ_CHECK((file.durable.member_id == 0) ==
			   (file.format_version < QUORUM_DURABLE_FORMAT_VERSION));
	if (file.durable.member_id == 0)
	{
		FUZZ_CHECK(quorum_durable_format(file.node_name, &file.durable, text,
										 sizeof(text), &len) == QUORUM_EINVAL);
		file.durable.member_id = 1;
	}
	FUZZ_CHECK(quorum_durable_format(file.node_name, &file.durable, text,
									 sizeof(text), &len) == 0);
	FUZZ_CHECK(len < sizeof(text) && text[len] == '\0');
	FUZZ_CHECK(quorum_durable_parse(text, len, &again, NULL, 0) == 0);
	FUZZ_CHECK(again.format_version == QUORUM_DURABLE_FORMAT_VERSION);
	FUZZ_CHECK(strcmp(again.node_name, file.node_name) == 0);
	FUZZ_CHECK(memcmp(&again.durable, &file.durable, sizeof(file.durable)) == 0);
	return 0;
}
