/*-------------------------------------------------------------------------
 *
 * fuzz_wire.c
 *	  libFuzzer target for the wire decoder (plugin/wire.c).
 *
 * Any input must either fail with QUORUM_EMALFORMED or decode to a message
 * that re-encodes to exactly the same bytes (decoding is canonical), whose
 * size functions agree with its length, and that does not fit one byte
 * less.  A wrong answer aborts, which libFuzzer reports as a crash.
 *
 * test/fuzz/fuzz_wire.c
 *
 *-------------------------------------------------------------------------
 */
#include "wire.h"

#include "quorum/error.h"

#define FUZZ_NAME "fuzz_wire"
#include "fuzz.h"

static struct quorum_wire_msg msg;
static struct quorum_wire_msg again;
static uint8_t out[1 << 16];

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int			version = -2;
	int			rc;
	int			n;
	size_t		sized;

	rc = quorum__wire_decode(data, size, &msg, &version);

	/* The version is reported exactly when the magic is there to find it. */
	if (size >= 3 && data[0] == 'P' && data[1] == 'Q')
		FUZZ_CHECK(version == data[2]);
	else
		FUZZ_CHECK(version == -1);

	if (rc != 0)
	{
		FUZZ_CHECK(rc == QUORUM_EMALFORMED);
		return 0;
	}
	FUZZ_CHECK(version == QUORUM_WIRE_VERSION);

	sized = quorum__wire_base_size(&msg);
	for (unsigned i = 0; i < msg.n_updates; i++)
		sized += quorum__wire_update_size(&msg.updates[i]);
	FUZZ_CHECK(sized == size);

	n = quorum__wire_encode(&msg, out, sizeof(out));
	FUZZ_CHECK(n > 0 && (size_t) n == size);
	FUZZ_CHECK(memcmp(out, data, size) == 0);
	FUZZ_CHECK(quorum__wire_encode(&msg, out, size - 1) == QUORUM_ENOSPACE);

	FUZZ_CHECK(quorum__wire_decode(out, size, &again, NULL) == 0);
	FUZZ_CHECK(again.n_updates == msg.n_updates && again.type == msg.type);
	return 0;
}
