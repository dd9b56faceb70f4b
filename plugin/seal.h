/*-------------------------------------------------------------------------
 *
 * seal.h
 *	  Authenticated encryption of every datagram (private).
 *
 * A sealed datagram is
 *
 *   version (1) | key id (4) | nonce (12) | AES-256-GCM ciphertext | tag (16)
 *
 * with the first 17 bytes as additional authenticated data.  Key id 0 with no
 * nonce or tag marks a plaintext datagram, accepted only where the host asked
 * for plaintext explicitly.  The caller supplies the nonce (a per-boot random
 * prefix plus a counter from the node), so sealing is deterministic and
 * testable.  Anti-replay is the node's job: the plaintext header carries the
 * sender's boot and sequence number.
 *
 * This is, with runtime.c, the only user of OpenSSL in libquorum.
 *
 * plugin/seal.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef QUORUM_SEAL_H
#define QUORUM_SEAL_H

#include "quorum/node.h"

#define QUORUM_SEAL_VERSION 1
#define QUORUM_SEAL_NONCE_BYTES 12
#define QUORUM_SEAL_TAG_BYTES 16
#define QUORUM_SEAL_HEADER_BYTES (1 + 4 + QUORUM_SEAL_NONCE_BYTES)
#define QUORUM_SEAL_OVERHEAD (QUORUM_SEAL_HEADER_BYTES + QUORUM_SEAL_TAG_BYTES)
#define QUORUM_SEAL_PLAIN_HEADER_BYTES (1 + 4)

/*
 * A keyring prepared for use: key ids computed, cipher contexts ready.
 * One thread at a time (the contexts are reused); destroy wipes the keys.
 */
struct quorum_sealer
{
	unsigned	count;
	uint32_t	key_ids[QUORUM_KEYS_MAX];
	uint8_t		keys[QUORUM_KEYS_MAX][QUORUM_KEY_BYTES];
	bool		allow_plaintext;
	void	   *enc_ctx;		/* EVP_CIPHER_CTX, reused */
	void	   *dec_ctx;
};

/* Key id of a key: the first 4 bytes of its SHA-256, never 0. */
uint32_t	quorum__seal_key_id(const uint8_t key[QUORUM_KEY_BYTES]);

/* QUORUM_EINVAL if no keys and !allow_plaintext; QUORUM_ECRYPTO; 0. */
int			quorum__sealer_init(struct quorum_sealer *sealer,
								const struct quorum_keyring *keyring,
								bool allow_plaintext);
void		quorum__sealer_destroy(struct quorum_sealer *sealer);

/*
 * Seal plain into out with the primary key (or as plaintext if the sealer has
 * no keys).  Returns the sealed length, QUORUM_ENOSPACE, or QUORUM_ECRYPTO
 * (QUORUM_EINVAL for NULL arguments).  plain and out must not overlap.  A
 * nonce must never repeat under one key.
 */
int			quorum__seal(struct quorum_sealer *sealer,
						 const uint8_t nonce[QUORUM_SEAL_NONCE_BYTES],
						 const uint8_t *plain, size_t plain_len,
						 uint8_t *out, size_t out_len);

/*
 * Open a sealed datagram into out.  Returns the plaintext length, or
 * QUORUM_EMALFORMED (too short, unknown seal version), QUORUM_EAUTH (unknown
 * key id, or authentication failed), QUORUM_ESTATE (plaintext datagram while
 * plaintext is not allowed), QUORUM_ENOSPACE (QUORUM_EINVAL for NULL
 * arguments).  sealed and out must not overlap.  When authentication fails
 * nothing of the unauthenticated plaintext is left in out.
 */
int			quorum__unseal(struct quorum_sealer *sealer,
						   const uint8_t *sealed, size_t sealed_len,
						   uint8_t *out, size_t out_len);

#endif							/* QUORUM_SEAL_H */
