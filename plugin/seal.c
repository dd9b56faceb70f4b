/*-------------------------------------------------------------------------
 *
 * seal.c
 *	  Authenticated encryption of every datagram with AES-256-GCM.
 *
 * The sealed layout is described in seal.h.  The 17-byte header (version,
 * key id, nonce) is authenticated as additional data, so a datagram cannot
 * be moved to another key id or seal version without failing the tag.  The
 * two cipher contexts are created once per sealer and re-initialised per
 * datagram, which avoids an allocation per packet; the encryption context
 * keeps the primary key's schedule and only takes a new nonce.
 *
 * Not thread-safe: a sealer belongs to one node, which is stepped by one
 * thread at a time.  Key material is wiped with OPENSSL_cleanse when a
 * sealer is destroyed or fails to initialise.
 *
 * plugin/seal.c
 *
 *-------------------------------------------------------------------------
 */
#include "seal.h"

#include "quorum/error.h"

#include <limits.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

static int
seal_key_id(const uint8_t key[QUORUM_KEY_BYTES], uint32_t *id_out)
{
	uint8_t		md[EVP_MAX_MD_SIZE];
	unsigned	md_len = 0;
	uint32_t	id;

	if (EVP_Digest(key, QUORUM_KEY_BYTES, md, &md_len, EVP_sha256(), NULL) != 1 ||
		md_len < 4)
		return QUORUM_ECRYPTO;
	id = ((uint32_t) md[0] << 24) | ((uint32_t) md[1] << 16) |
		((uint32_t) md[2] << 8) | (uint32_t) md[3];
	OPENSSL_cleanse(md, sizeof(md));

	/* Key id 0 marks a plaintext datagram, so no key may have it. */
	*id_out = id != 0 ? id : 1;
	return 0;
}

uint32_t
quorum__seal_key_id(const uint8_t key[QUORUM_KEY_BYTES])
{
	uint32_t	id = 0;

	/* SHA-256 cannot fail short of a broken library; 0 then means "none". */
	if (seal_key_id(key, &id) != 0)
		return 0;
	return id;
}

static void
seal_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t) (v >> 24);
	p[1] = (uint8_t) (v >> 16);
	p[2] = (uint8_t) (v >> 8);
	p[3] = (uint8_t) v;
}

static uint32_t
seal_get32(const uint8_t *p)
{
	return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16) |
		((uint32_t) p[2] << 8) | (uint32_t) p[3];
}

int
quorum__sealer_init(struct quorum_sealer *sealer,
					const struct quorum_keyring *keyring,
					bool allow_plaintext)
{
	if (sealer == NULL || keyring == NULL)
		return QUORUM_EINVAL;
	memset(sealer, 0, sizeof(*sealer));
	if (keyring->count > QUORUM_KEYS_MAX ||
		(keyring->count == 0 && !allow_plaintext))
		return QUORUM_EINVAL;

	sealer->allow_plaintext = allow_plaintext;
	sealer->count = keyring->count;
	memcpy(sealer->keys, keyring->keys, sizeof(sealer->keys));
	for (unsigned i = 0; i < sealer->count; i++)
		if (seal_key_id(sealer->keys[i], &sealer->key_ids[i]) != 0)
			goto fail;

	if (sealer->count == 0)
		return 0;

	sealer->enc_ctx = EVP_CIPHER_CTX_new();
	sealer->dec_ctx = EVP_CIPHER_CTX_new();
	if (sealer->enc_ctx == NULL || sealer->dec_ctx == NULL)
		goto fail;
	if (EVP_EncryptInit_ex(sealer->enc_ctx, EVP_aes_256_gcm(), NULL,
						   sealer->keys[0], NULL) != 1 ||
		EVP_DecryptInit_ex(sealer->dec_ctx, EVP_aes_256_gcm(), NULL,
						   NULL, NULL) != 1)
		goto fail;
	return 0;

fail:
	quorum__sealer_destroy(sealer);
	return QUORUM_ECRYPTO;
}

void
quorum__sealer_destroy(struct quorum_sealer *sealer)
{
	if (sealer == NULL)
		return;
	/* Freeing a context cleanses its key schedule too. */
	EVP_CIPHER_CTX_free(sealer->enc_ctx);
	EVP_CIPHER_CTX_free(sealer->dec_ctx);
	OPENSSL_cleanse(sealer, sizeof(*sealer));
}

static int
seal_plain(const uint8_t *plain, size_t plain_len, uint8_t *out,
		   size_t out_len)
{
	if (out_len < QUORUM_SEAL_PLAIN_HEADER_BYTES ||
		out_len - QUORUM_SEAL_PLAIN_HEADER_BYTES < plain_len)
		return QUORUM_ENOSPACE;
	/* memmove: sealing in place, plaintext already at out + 5, is allowed. */
	memmove(out + QUORUM_SEAL_PLAIN_HEADER_BYTES, plain, plain_len);
	out[0] = QUORUM_SEAL_VERSION;
	seal_put32(out + 1, 0);
	return (int) (QUORUM_SEAL_PLAIN_HEADER_BYTES + plain_len);
}

int
quorum__seal(struct quorum_sealer *sealer,
			 const uint8_t nonce[QUORUM_SEAL_NONCE_BYTES],
			 const uint8_t *plain, size_t plain_len,
			 uint8_t *out, size_t out_len)
{
	EVP_CIPHER_CTX *ctx;
	uint8_t    *ct;
	int			n = 0;
	int			fin = 0;

	if (sealer == NULL || out == NULL || (plain == NULL && plain_len > 0) ||
		plain_len > (size_t) INT_MAX - QUORUM_SEAL_OVERHEAD)
		return QUORUM_EINVAL;
	if (sealer->count == 0)
	{
		/* A destroyed (wiped) sealer must not quietly send in the clear. */
		if (!sealer->allow_plaintext)
			return QUORUM_EINVAL;
		return seal_plain(plain, plain_len, out, out_len);
	}
	if (nonce == NULL || sealer->enc_ctx == NULL)
		return QUORUM_EINVAL;
	if (out_len < QUORUM_SEAL_OVERHEAD ||
		out_len - QUORUM_SEAL_OVERHEAD < plain_len)
		return QUORUM_ENOSPACE;

	out[0] = QUORUM_SEAL_VERSION;
	seal_put32(out + 1, sealer->key_ids[0]);
	memcpy(out + 5, nonce, QUORUM_SEAL_NONCE_BYTES);
	ct = out + QUORUM_SEAL_HEADER_BYTES;

	/* The key schedule from init stays; only the nonce changes. */
	ctx = sealer->enc_ctx;
	if (EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, nonce) != 1 ||
		EVP_EncryptUpdate(ctx, NULL, &n, out, QUORUM_SEAL_HEADER_BYTES) != 1 ||
		(plain_len > 0 &&
		 EVP_EncryptUpdate(ctx, ct, &n, plain, (int) plain_len) != 1) ||
		EVP_EncryptFinal_ex(ctx, ct + (plain_len > 0 ? n : 0), &fin) != 1 ||
		EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, QUORUM_SEAL_TAG_BYTES,
							ct + plain_len) != 1)
	{
		OPENSSL_cleanse(out, QUORUM_SEAL_OVERHEAD + plain_len);
		return QUORUM_ECRYPTO;
	}
	return (int) (QUORUM_SEAL_OVERHEAD + plain_len);
}

/*
 * Decrypt with one candidate key.  1 = opened, 0 = tag mismatch,
 * QUORUM_ECRYPTO = the library failed.
 */
static int
seal_open_with(EVP_CIPHER_CTX *ctx, const uint8_t key[QUORUM_KEY_BYTES],
			   const uint8_t *sealed, size_t ct_len, uint8_t *out)
{
	const uint8_t *nonce = sealed + 5;
	const uint8_t *ct = sealed + QUORUM_SEAL_HEADER_BYTES;
	uint8_t		tag[QUORUM_SEAL_TAG_BYTES];
	int			n = 0;
	int			fin = 0;

	memcpy(tag, ct + ct_len, sizeof(tag));
	if (EVP_DecryptInit_ex(ctx, NULL, NULL, key, nonce) != 1 ||
		EVP_DecryptUpdate(ctx, NULL, &n, sealed, QUORUM_SEAL_HEADER_BYTES) != 1 ||
		(ct_len > 0 &&
		 EVP_DecryptUpdate(ctx, out, &n, ct, (int) ct_len) != 1) ||
		EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, sizeof(tag), tag) != 1)
		return QUORUM_ECRYPTO;
	if (EVP_DecryptFinal_ex(ctx, out + (ct_len > 0 ? n : 0), &fin) != 1)
		return 0;
	return 1;
}

int
quorum__unseal(struct quorum_sealer *sealer,
			   const uint8_t *sealed, size_t sealed_len,
			   uint8_t *out, size_t out_len)
{
	uint32_t	key_id;
	size_t		ct_len;
	bool		known = false;

	if (sealer == NULL || (sealed == NULL && sealed_len > 0) ||
		(out == NULL && out_len > 0) || sealed_len > (size_t) INT_MAX)
		return QUORUM_EINVAL;
	if (sealed_len < QUORUM_SEAL_PLAIN_HEADER_BYTES ||
		sealed[0] != QUORUM_SEAL_VERSION)
		return QUORUM_EMALFORMED;

	key_id = seal_get32(sealed + 1);
	if (key_id == 0)
	{
		if (!sealer->allow_plaintext)
			return QUORUM_ESTATE;
		if (out_len < sealed_len - QUORUM_SEAL_PLAIN_HEADER_BYTES)
			return QUORUM_ENOSPACE;
		memmove(out, sealed + QUORUM_SEAL_PLAIN_HEADER_BYTES,
				sealed_len - QUORUM_SEAL_PLAIN_HEADER_BYTES);
		return (int) (sealed_len - QUORUM_SEAL_PLAIN_HEADER_BYTES);
	}

	if (sealed_len < QUORUM_SEAL_OVERHEAD)
		return QUORUM_EMALFORMED;
	ct_len = sealed_len - QUORUM_SEAL_OVERHEAD;

	/*
	 * Try every key with this id: two keys of one keyring share an id only by
	 * a 1 in 2^32 accident or by being listed twice, and either must still
	 * work.
	 */
	for (unsigned i = 0; i < sealer->count; i++)
	{
		int			rc;

		if (sealer->key_ids[i] != key_id)
			continue;
		if (!known && out_len < ct_len)
			return QUORUM_ENOSPACE;
		known = true;
		if (sealer->dec_ctx == NULL)
			return QUORUM_EINVAL;
		rc = seal_open_with(sealer->dec_ctx, sealer->keys[i], sealed, ct_len,
							out);
		if (rc == 1)
			return (int) ct_len;
		/* Never leave unauthenticated plaintext where the caller looks. */
		if (ct_len > 0)
			OPENSSL_cleanse(out, ct_len);
		if (rc < 0)
			return rc;
	}
	return QUORUM_EAUTH;
}
