/* crypt/crypt.h — keys, field encryption, blind indexes, tokens, hashes.
 *
 * All over libsodium. One 32-byte master key lives in DATA/keys/master.key
 * (mode 0600); purpose keys are derived from it with crypto_kdf, so a leak of
 * one derived key does not expose the others.
 */
#ifndef TS_CRYPT_H
#define TS_CRYPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/error.h"

#define CRYPT_KEY_BYTES 32
#define CRYPT_HEX_BYTES 65   /* 64 hex digits and NUL */
#define CRYPT_TOKEN_BYTES 44 /* 43 base64url characters and NUL */
#define CRYPT_BIDX_BYTES 16  /* a blind index: the first 128 bits of its HMAC */

struct crypt_keys {
	unsigned char enc[CRYPT_KEY_BYTES];    /* AEAD for personal data */
	unsigned char bidx[CRYPT_KEY_BYTES];   /* blind indexes (HMAC-SHA-256) */
	unsigned char code[CRYPT_KEY_BYTES];   /* SMS code hashes */
	unsigned char ledger[CRYPT_KEY_BYTES]; /* blind applicant ids in the ledger */
};

/* Initialises libsodium; call once before anything else. Returns 0 or TS_EINTERNAL. */
int crypt_init(void) __attribute__((warn_unused_result));

/* Creates DIR/keys/master.key with a fresh random key (mode 0600, directory
 * 0700). Fails with TS_ECONFLICT if it already exists, so keys are never
 * overwritten. */
int crypt_keys_create(const char *data_dir, struct ts_error *err) __attribute__((warn_unused_result));
/* The master key file: $TISHENG_KEY_FILE, else DIR/keys/master.key. */
void crypt_key_path(const char *data_dir, char *out, size_t n);
/* True when the master key file (DIR/keys/master.key or $TISHENG_KEY_FILE) exists. */
bool crypt_keys_present(const char *data_dir);
/* Loads the master key (or the file named by $TISHENG_KEY_FILE) and derives the purpose keys. */
int crypt_keys_load(const char *data_dir, struct crypt_keys *keys, struct ts_error *err)
	__attribute__((warn_unused_result));
void crypt_keys_wipe(struct crypt_keys *keys);

/* The associated data of an application's sealed personal fields. */
#define CRYPT_AD_APP_SECRET "application.secret"

/* XChaCha20-Poly1305: appends nonce || ciphertext || tag to out. `ad` binds
 * the ciphertext to its purpose (e.g. "application.secret"). */
int crypt_seal(const struct crypt_keys *k, const char *ad, const void *plain, size_t n,
	       struct ts_buf *out) __attribute__((warn_unused_result));
/* Reverses crypt_seal; TS_EINVAL if the data was changed or the key is wrong. */
int crypt_open(const struct crypt_keys *k, const char *ad, const void *sealed, size_t n,
	       struct ts_buf *out) __attribute__((warn_unused_result));

/* Keyed blind index of a value within a domain ("phone", "id"): the first
 * CRYPT_BIDX_BYTES of HMAC-SHA-256, as 2 * CRYPT_BIDX_BYTES lowercase hex
 * digits (the form passed around above the store; the store keeps the bytes). */
void crypt_blind_index(const struct crypt_keys *k, const char *domain, const char *value,
		       char out[CRYPT_HEX_BYTES]);
/* The bytes of a blind index in crypt_blind_index's form, into out and *n:
 * CRYPT_BIDX_BYTES of them, or none for "" (a form without an ID number has
 * an empty blind ID). TS_EINVAL for anything else (another length, a digit
 * that is not lowercase hex); out and *n are then unspecified. */
int crypt_bidx_bytes(const char *hex, unsigned char out[CRYPT_BIDX_BYTES], size_t *n)
	__attribute__((warn_unused_result));
/* The inverse, for a blind index read back from the store: n bytes (at most
 * CRYPT_BIDX_BYTES are used) as lowercase hex. */
void crypt_bidx_hex(const void *bytes, size_t n, char out[CRYPT_HEX_BYTES]);
/* The blind applicant id written to the public ledger. */
void crypt_ledger_id(const struct crypt_keys *k, const char *value, char out[CRYPT_HEX_BYTES]);
/* Hash of an SMS code bound to its phone. */
void crypt_code_hash(const struct crypt_keys *k, const char *phone, const char *code,
		     char out[CRYPT_HEX_BYTES]);

/* A fresh 256-bit session token, base64url without padding. */
void crypt_token_new(char out[CRYPT_TOKEN_BYTES]);
/* SHA-256 of a token, hex: what the store keeps. */
void crypt_token_hash(const char *token, char out[CRYPT_HEX_BYTES]);
/* Six uniformly random digits from the CSPRNG. */
void crypt_sms_code(char out[7]);
/* SHA-256 of bytes, hex. */
void crypt_sha256_hex(const void *p, size_t n, char out[CRYPT_HEX_BYTES]);
/* Overwrites memory with zeros in a way the compiler keeps. */
void crypt_wipe(void *p, size_t n);
/* Constant-time string equality. */
bool crypt_equal(const char *a, const char *b);

/* argon2id password hashing for staff (crypto_pwhash_str). */
int crypt_password_hash(const char *password, char *out, size_t n) __attribute__((warn_unused_result));
bool crypt_password_verify(const char *stored, const char *password);

#endif
