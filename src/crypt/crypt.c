/* crypt/crypt.c — libsodium wrappers (see crypt.h). */
#include "crypt/crypt.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char KDF_CTX[crypto_kdf_CONTEXTBYTES] = {'t', 's', 'h', 'e', 'n', 'g', 'k', '1'};

int crypt_init(void)
{
	return sodium_init() < 0 ? TS_EINTERNAL : 0;
}

void crypt_key_path(const char *data_dir, char *out, size_t n)
{
	const char *env = getenv("TISHENG_KEY_FILE");
	if (env && *env)
		snprintf(out, n, "%s", env);
	else
		snprintf(out, n, "%s/keys/master.key", data_dir);
}

int crypt_keys_create(const char *data_dir, struct ts_error *err)
{
	char dir[4096], path[4200], tmp[4300];
	snprintf(dir, sizeof(dir), "%s/keys", data_dir);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return ts_error_set(err, TS_EIO, "io", "无法创建密钥目录 %s", dir);
	crypt_key_path(data_dir, path, sizeof(path));
	if (access(path, F_OK) == 0)
		return ts_error_set(err, TS_ECONFLICT, "exists", "密钥文件已存在，不会覆盖：%s", path);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	unsigned char key[crypto_kdf_KEYBYTES];
	crypto_kdf_keygen(key);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return ts_error_set(err, TS_EIO, "io", "无法写入密钥文件 %s", tmp);
	ssize_t w = write(fd, key, sizeof(key));
	sodium_memzero(key, sizeof(key));
	int rc = (w == (ssize_t)sizeof(key) && fsync(fd) == 0) ? 0 : TS_EIO;
	close(fd);
	if (rc == 0 && rename(tmp, path) != 0)
		rc = TS_EIO;
	if (rc) {
		unlink(tmp);
		return ts_error_set(err, rc, "io", "无法写入密钥文件 %s", path);
	}
	return 0;
}

bool crypt_keys_present(const char *data_dir)
{
	char path[4200];
	crypt_key_path(data_dir, path, sizeof(path));
	return access(path, F_OK) == 0;
}

int crypt_keys_load(const char *data_dir, struct crypt_keys *keys, struct ts_error *err)
{
	char path[4200];
	crypt_key_path(data_dir, path, sizeof(path));
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return ts_error_set(err, TS_EIO, "no_keys", "找不到密钥文件 %s（先运行 tisheng init）", path);
	struct stat st;
	if (fstat(fd, &st) == 0 && (st.st_mode & 077)) {
		close(fd);
		return ts_error_set(err, TS_EFORBIDDEN, "key_mode",
				    "密钥文件 %s 权限过宽，应为 0600", path);
	}
	unsigned char master[crypto_kdf_KEYBYTES];
	ssize_t r = read(fd, master, sizeof(master));
	close(fd);
	if (r != (ssize_t)sizeof(master))
		return ts_error_set(err, TS_EIO, "bad_keys", "密钥文件 %s 已损坏", path);
	crypto_kdf_derive_from_key(keys->enc, sizeof(keys->enc), 1, KDF_CTX, master);
	crypto_kdf_derive_from_key(keys->bidx, sizeof(keys->bidx), 2, KDF_CTX, master);
	crypto_kdf_derive_from_key(keys->code, sizeof(keys->code), 3, KDF_CTX, master);
	crypto_kdf_derive_from_key(keys->ledger, sizeof(keys->ledger), 4, KDF_CTX, master);
	sodium_memzero(master, sizeof(master));
	return 0;
}

void crypt_keys_wipe(struct crypt_keys *keys)
{
	sodium_memzero(keys, sizeof(*keys));
}

/* XChaCha20-Poly1305 nonces need only be unique under a key; 192 bits leave
 * room for a random 128-bit prefix per thread, drawn once from the OS, and a
 * 64-bit counter after it (two threads, or two runs, share a prefix with
 * probability ≈ 2^-128 per pair). Drawing all 24 bytes per seal was one
 * getrandom system call per submission. A forked child starts a new prefix
 * (pthread_atfork), so it never repeats its parent's nonces. */
struct nonce_state {
	unsigned char prefix[16];
	uint64_t next;
	bool ready;
};

static _Thread_local struct nonce_state nonce_state;
static pthread_once_t nonce_once = PTHREAD_ONCE_INIT;

static void nonce_after_fork(void)
{
	nonce_state.ready = false;
}

static void nonce_init_once(void)
{
	pthread_atfork(NULL, NULL, nonce_after_fork);
}

static void next_nonce(unsigned char out[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES])
{
	_Static_assert(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES == 24, "XChaCha20 nonces are 24 bytes");
	pthread_once(&nonce_once, nonce_init_once);
	struct nonce_state *ns = &nonce_state;
	if (!ns->ready) {
		randombytes_buf(ns->prefix, sizeof(ns->prefix));
		ns->next = 0;
		ns->ready = true;
	}
	uint64_t c = ns->next++;
	memcpy(out, ns->prefix, sizeof(ns->prefix));
	memcpy(out + sizeof(ns->prefix), &c, sizeof(c));
}

int crypt_seal(const struct crypt_keys *k, const char *ad, const void *plain, size_t n,
	       struct ts_buf *out)
{
	size_t total = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + n +
		       crypto_aead_xchacha20poly1305_ietf_ABYTES;
	unsigned char *p = malloc(total);
	if (!p)
		return TS_EINTERNAL;
	next_nonce(p);
	unsigned long long clen = 0;
	crypto_aead_xchacha20poly1305_ietf_encrypt(p + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, &clen,
						   plain, n, (const unsigned char *)ad, strlen(ad), NULL,
						   p, k->enc);
	int rc = ts_buf_append(out, p, total);
	sodium_memzero(p, total);
	free(p);
	return rc;
}

int crypt_open(const struct crypt_keys *k, const char *ad, const void *sealed, size_t n,
	       struct ts_buf *out)
{
	const size_t nb = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
	if (n < nb + crypto_aead_xchacha20poly1305_ietf_ABYTES)
		return TS_EINVAL;
	size_t plen = n - nb - crypto_aead_xchacha20poly1305_ietf_ABYTES;
	unsigned char *p = malloc(plen + 1);
	if (!p)
		return TS_EINTERNAL;
	unsigned long long got = 0;
	const unsigned char *s = sealed;
	int rc = crypto_aead_xchacha20poly1305_ietf_decrypt(p, &got, NULL, s + nb, n - nb,
							    (const unsigned char *)ad, strlen(ad), s,
							    k->enc);
	if (rc == 0)
		rc = ts_buf_append(out, p, (size_t)got);
	else
		rc = TS_EINVAL;
	sodium_memzero(p, plen + 1);
	free(p);
	return rc;
}

/* HMAC-SHA-256 over the NUL-terminated parts; the first `keep` bytes of it
 * (at most the whole 32) as hex. */
static void hmac_hex(const unsigned char *key, const char *domain, const char *a, const char *b, size_t keep,
		     char out[CRYPT_HEX_BYTES])
{
	crypto_auth_hmacsha256_state st;
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_init(&st, key, CRYPT_KEY_BYTES);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)domain, strlen(domain) + 1);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)a, strlen(a) + 1);
	if (b)
		crypto_auth_hmacsha256_update(&st, (const unsigned char *)b, strlen(b) + 1);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_bin2hex(out, CRYPT_HEX_BYTES, mac, keep < sizeof(mac) ? keep : sizeof(mac));
}

/* Truncated to 128 bits, half the hash, as RFC 2104 §5 allows for a
 * truncated HMAC: stored, the keys are 16 bytes instead of 64 hex digits.
 * What a blind index must not do is collide: two people with one blind ID
 * would be one person to the duplicate check and the history look-up.
 * HMAC under a secret key is a PRF, so for n distinct values the chance of
 * any collision is about n^2 / 2^129: for every ID number in China (1.4e9)
 * ≈ 3e-21, for every 11-digit number (1e11) ≈ 1.5e-17; and without the key
 * nobody can search for one. The first 16 bytes of the old 32-byte index
 * are exactly the new one, so stored indexes convert without the key (the
 * stores' migrations). */
void crypt_blind_index(const struct crypt_keys *k, const char *domain, const char *value,
		       char out[CRYPT_HEX_BYTES])
{
	hmac_hex(k->bidx, domain, value, NULL, CRYPT_BIDX_BYTES, out);
}

int crypt_bidx_bytes(const char *hex, unsigned char out[CRYPT_BIDX_BYTES], size_t *n)
{
	size_t len = strnlen(hex, 2 * CRYPT_BIDX_BYTES + 1);
	/* lowercase only: the one form crypt_blind_index writes */
	if ((len != 0 && len != 2 * CRYPT_BIDX_BYTES) || strspn(hex, "0123456789abcdef") != len)
		return TS_EINVAL;
	*n = 0;
	return len == 0 || sodium_hex2bin(out, CRYPT_BIDX_BYTES, hex, len, NULL, n, NULL) == 0 ? 0 : TS_EINVAL;
}

void crypt_bidx_hex(const void *bytes, size_t n, char out[CRYPT_HEX_BYTES])
{
	sodium_bin2hex(out, CRYPT_HEX_BYTES, bytes, n < CRYPT_BIDX_BYTES ? n : CRYPT_BIDX_BYTES);
}

void crypt_ledger_id(const struct crypt_keys *k, const char *value, char out[CRYPT_HEX_BYTES])
{
	hmac_hex(k->ledger, "ledger", value, NULL, crypto_auth_hmacsha256_BYTES, out);
}

void crypt_code_hash(const struct crypt_keys *k, const char *phone, const char *code,
		     char out[CRYPT_HEX_BYTES])
{
	hmac_hex(k->code, phone, code, NULL, crypto_auth_hmacsha256_BYTES, out);
}

void crypt_token_new(char out[CRYPT_TOKEN_BYTES])
{
	unsigned char raw[32];
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(out, CRYPT_TOKEN_BYTES, raw, sizeof(raw),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
}

void crypt_sha256_hex(const void *p, size_t n, char out[CRYPT_HEX_BYTES])
{
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, p, n);
	sodium_bin2hex(out, CRYPT_HEX_BYTES, h, sizeof(h));
}

void crypt_token_hash(const char *token, char out[CRYPT_HEX_BYTES])
{
	crypt_sha256_hex(token, strlen(token), out);
}

void crypt_sms_code(char out[7])
{
	snprintf(out, 7, "%06u", (unsigned)randombytes_uniform(1000000));
}

void crypt_wipe(void *p, size_t n)
{
	if (p && n)
		sodium_memzero(p, n);
}

bool crypt_equal(const char *a, const char *b)
{
	size_t n = strlen(a);
	if (n != strlen(b))
		return false;
	return sodium_memcmp(a, b, n) == 0;
}

int crypt_password_hash(const char *password, char *out, size_t n)
{
	if (n < crypto_pwhash_STRBYTES)
		return TS_EINVAL;
	if (crypto_pwhash_str(out, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
			      crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
		return TS_EINTERNAL;
	return 0;
}

bool crypt_password_verify(const char *stored, const char *password)
{
	return crypto_pwhash_str_verify(stored, password, strlen(password)) == 0;
}
