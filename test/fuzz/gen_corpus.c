/*-------------------------------------------------------------------------
 *
 * gen_corpus.c
 *	  Writes the seed corpora of the fuzz targets (make fuzz-corpus).
 *
 * The seeds are small valid inputs of every kind, so that the fuzzers start
 * past the magic, the version and the tag checks: one message of each wire
 * type with and without updates and metadata, datagrams sealed with each
 * key of fuzz_unseal's keyring and as plaintext, and typical key files.
 * The output is deterministic; the generated files are committed.
 *
 * Usage: gen_corpus DIR   (writes DIR/wire, DIR/unseal, DIR/keyring)
 *
 * test/fuzz/gen_corpus.c
 *
 *-------------------------------------------------------------------------
 */
#include "wire.h"
#include "seal.h"

#include "quorum/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct quorum_wire_msg msg;
static uint8_t buf[1 << 16];
static uint8_t sealed[1 << 16];
static const char *outdir;

static void
write_seed(const char *target, const char *name, const void *data, size_t len)
{
	char		path[512];
	FILE	   *f;

	snprintf(path, sizeof(path), "%s/%s/%s", outdir, target, name);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0)
	{
		perror(path);
		exit(1);
	}
}

static void
make_msg(enum quorum_wire_type type, unsigned n_updates, bool meta)
{
	memset(&msg, 0, sizeof(msg));
	msg.type = type;
	msg.cluster_id = quorum__wire_cluster_id("fuzz");
	strcpy(msg.sender, "pg-a");
	msg.sender_addr.family = 4;
	msg.sender_addr.bytes[0] = 127;
	msg.sender_addr.bytes[3] = 1;
	msg.sender_addr.port = 7946;
	msg.boot = 1000;
	msg.seq = 1;
	switch (type)
	{
		case QUORUM_WIRE_PING:
			msg.u.ping.probe_seq = 1;
			strcpy(msg.u.ping.target, "pg-b");
			break;
		case QUORUM_WIRE_ACK:
		case QUORUM_WIRE_NACK:
			msg.u.ack.probe_seq = 1;
			break;
		case QUORUM_WIRE_PING_REQ:
			msg.u.ping_req.probe_seq = 2;
			strcpy(msg.u.ping_req.target, "pg-c");
			msg.u.ping_req.target_addr.family = 6;
			msg.u.ping_req.target_addr.bytes[15] = 1;
			msg.u.ping_req.target_addr.port = 7947;
			break;
		case QUORUM_WIRE_PUSHPULL:
			msg.u.pushpull.exchange = 9;
			msg.u.pushpull.chunk = 0;
			msg.u.pushpull.chunks = 2;
			break;
		case QUORUM_WIRE_GOSSIP:
			break;
	}
	msg.n_updates = n_updates;
	for (unsigned i = 0; i < n_updates; i++)
	{
		struct quorum_wire_update *up = &msg.updates[i];

		up->state = (enum quorum_member_state) (i % 4);
		snprintf(up->name, sizeof(up->name), "pg-%c", 'b' + i);
		up->addr.family = i % 2 ? 6 : 4;
		up->addr.bytes[0] = 10;
		up->addr.port = (uint16_t) (7946 + i);
		up->incarnation = i + 1;
		if (up->state == QUORUM_MEMBER_SUSPECT)
			strcpy(up->from, "pg-a");
		up->meta_version = 3;
		up->has_meta = meta;
		if (meta)
		{
			up->meta.role = i == 0 ? QUORUM_ROLE_PRIMARY : QUORUM_ROLE_STANDBY;
			up->meta.timeline = 1;
			up->meta.lsn = 0x3000060;
			up->meta.priority = 100;
			snprintf(up->meta.conninfo, sizeof(up->meta.conninfo),
					 "host=10.0.0.%u port=5432", i + 1);
			strcpy(up->meta.tags, "dc=a");
		}
	}
}

static int
encode_msg(void)
{
	int			n = quorum__wire_encode(&msg, buf, sizeof(buf));

	if (n <= 0)
	{
		fprintf(stderr, "gen_corpus: encode failed: %s\n", quorum_strerror(n));
		exit(1);
	}
	return n;
}

static void
gen_wire(void)
{
	static const char *names[] = {"", "ping", "ack", "ping_req", "nack", "pushpull", "gossip"};

	for (int t = QUORUM_WIRE_PING; t <= QUORUM_WIRE_GOSSIP; t++)
	{
		char		name[64];
		int			n;

		make_msg((enum quorum_wire_type) t, 0, false);
		n = encode_msg();
		snprintf(name, sizeof(name), "%s-bare", names[t]);
		write_seed("wire", name, buf, (size_t) n);

		make_msg((enum quorum_wire_type) t, 3, t % 2 == 0);
		n = encode_msg();
		snprintf(name, sizeof(name), "%s-updates", names[t]);
		write_seed("wire", name, buf, (size_t) n);
	}
}

static void
gen_unseal(void)
{
	struct quorum_keyring kr = {.count = 1};
	struct quorum_keyring none = {0};
	struct quorum_sealer s;
	uint8_t		nonce[QUORUM_SEAL_NONCE_BYTES] = {0};
	int			plain_len;
	int			n;

	make_msg(QUORUM_WIRE_PING, 2, true);
	plain_len = encode_msg();

	for (int k = 0; k < 2; k++)
	{
		char		name[64];

		for (int i = 0; i < QUORUM_KEY_BYTES; i++)
			kr.keys[0][i] = (uint8_t) (k * 0x40 + i);
		if (quorum__sealer_init(&s, &kr, false) != 0)
			exit(1);
		nonce[11] = (uint8_t) (k + 1);
		n = quorum__seal(&s, nonce, buf, (size_t) plain_len, sealed, sizeof(sealed));
		snprintf(name, sizeof(name), "sealed-key%d", k);
		write_seed("unseal", name, sealed, (size_t) n);
		/* A nonce is never used twice under one key, even in seeds. */
		nonce[10] = 1;
		n = quorum__seal(&s, nonce, buf, 0, sealed, sizeof(sealed));
		nonce[10] = 0;
		snprintf(name, sizeof(name), "sealed-empty-key%d", k);
		write_seed("unseal", name, sealed, (size_t) n);
		quorum__sealer_destroy(&s);
	}

	if (quorum__sealer_init(&s, &none, true) != 0)
		exit(1);
	n = quorum__seal(&s, nonce, buf, (size_t) plain_len, sealed, sizeof(sealed));
	write_seed("unseal", "plaintext", sealed, (size_t) n);
	quorum__sealer_destroy(&s);
}

static void
gen_keyring(void)
{
	static const char one[] =
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";
	static const char rotation[] =
		"# primary since the last rotation\n"
		"404142434445464748494A4B4C4D4E4F505152535455565758595A5B5C5D5E5F\n"
		"\n"
		"  # previous key\r\n"
		"  000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f  \r\n";
	static const char bad[] = "# too short\n0001020304\n";

	write_seed("keyring", "one", one, sizeof(one) - 1);
	write_seed("keyring", "rotation", rotation, sizeof(rotation) - 1);
	write_seed("keyring", "bad", bad, sizeof(bad) - 1);
}

int
main(int argc, char **argv)
{
	if (argc != 2)
	{
		fprintf(stderr, "usage: gen_corpus DIR\n");
		return 2;
	}
	outdir = argv[1];
	gen_wire();
	gen_unseal();
	gen_keyring();
	return 0;
}
