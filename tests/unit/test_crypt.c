/* tests/unit/test_crypt.c — keys, sealing, blind indexes, tokens, codes, password hashes (crypt/crypt.h).
 *
 * Keys are created in a fresh temporary directory per run. argon2id runs
 * twice (one hash to verify against, one to show salts differ).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ctype.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/error.h"
#include "crypt/crypt.h"

#define NONCE 24
#define TAG 16

struct fx {
	char dir[64], dir2[64];
	struct crypt_keys k, k2;
};

static void rm_rf(const char *dir)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/keys/master.key", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/keys/master.key.tmp", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/keys", dir);
	rmdir(p);
	rmdir(dir);
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	unsetenv("TISHENG_KEY_FILE");
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/ts-crypt-XXXXXX");
	snprintf(fx->dir2, sizeof(fx->dir2), "/tmp/ts-crypt-XXXXXX");
	if (!mkdtemp(fx->dir) || !mkdtemp(fx->dir2))
		return -1;
	struct ts_error err;
	if (crypt_keys_create(fx->dir, &err) || crypt_keys_load(fx->dir, &fx->k, &err) ||
	    crypt_keys_create(fx->dir2, &err) || crypt_keys_load(fx->dir2, &fx->k2, &err)) {
		fprintf(stderr, "keys: %s\n", err.message);
		return -1;
	}
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	crypt_keys_wipe(&fx->k);
	crypt_keys_wipe(&fx->k2);
	rm_rf(fx->dir);
	rm_rf(fx->dir2);
	free(fx);
	return 0;
}

static bool is_hex(const char *s, size_t len)
{
	if (strlen(s) != len)
		return false;
	for (; *s; s++)
		if (!isxdigit((unsigned char)*s) || isupper((unsigned char)*s))
			return false;
	return true;
}

static bool is_hex64(const char *s)
{
	return is_hex(s, 64);
}

static void test_seal_open_round_trip(void **state)
{
	struct fx *fx = *state;
	const char plain[] = "{\"id_number\":\"11010519491231002X\",\"bank_account\":\"6222021234567890123\"}";
	struct ts_buf sealed, opened;
	ts_buf_init(&sealed, 0);
	ts_buf_init(&opened, 0);
	assert_int_equal(crypt_seal(&fx->k, "application.secret", plain, strlen(plain), &sealed), 0);
	assert_int_equal(sealed.len, NONCE + strlen(plain) + TAG);
	assert_null(memmem(sealed.ptr, sealed.len, "11010519491231002X", 18)); /* not in clear */
	assert_int_equal(crypt_open(&fx->k, "application.secret", sealed.ptr, sealed.len, &opened), 0);
	assert_int_equal(opened.len, strlen(plain));
	assert_string_equal(opened.ptr, plain);
	ts_buf_free(&sealed);
	ts_buf_free(&opened);

	/* Binary data with NUL bytes, and the empty message. */
	const unsigned char bin[] = {0, 1, 2, 0, 255, 0};
	ts_buf_init(&sealed, 0);
	assert_int_equal(crypt_seal(&fx->k, "x", bin, sizeof(bin), &sealed), 0);
	assert_int_equal(crypt_open(&fx->k, "x", sealed.ptr, sealed.len, &opened), 0);
	assert_int_equal(opened.len, sizeof(bin));
	assert_memory_equal(opened.ptr, bin, sizeof(bin));
	ts_buf_free(&sealed);
	ts_buf_free(&opened);
	assert_int_equal(crypt_seal(&fx->k, "x", "", 0, &sealed), 0);
	assert_int_equal(sealed.len, NONCE + TAG);
	assert_int_equal(crypt_open(&fx->k, "x", sealed.ptr, sealed.len, &opened), 0);
	assert_int_equal(opened.len, 0);
	ts_buf_free(&sealed);
	ts_buf_free(&opened);
}

/* The nonce (first NONCE bytes) of one seal. */
static void seal_nonce(const struct crypt_keys *k, unsigned char out[NONCE])
{
	struct ts_buf b;
	ts_buf_init(&b, 0);
	assert_int_equal(crypt_seal(k, "x", "same", 4, &b), 0);
	memcpy(out, b.ptr, NONCE);
	ts_buf_free(&b);
}

static void *seal_in_thread(void *arg)
{
	struct fx *fx = ((void **)arg)[0];
	seal_nonce(&fx->k, ((void **)arg)[1]);
	return NULL;
}

/* A nonce never repeats under the key: not in one thread, not between
 * threads, not between a process and its forked child. */
static void test_seal_nonces_unique(void **state)
{
	struct fx *fx = *state;
	enum { N = 2000 };
	unsigned char (*seen)[NONCE] = calloc(N + 2, NONCE);
	assert_non_null(seen);
	for (int i = 0; i < N; i++)
		seal_nonce(&fx->k, seen[i]);
	pthread_t t;
	void *arg[2] = {fx, seen[N]};
	assert_int_equal(pthread_create(&t, NULL, seal_in_thread, arg), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	int pipefd[2];
	assert_int_equal(pipe(pipefd), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		unsigned char c[NONCE];
		seal_nonce(&fx->k, c);
		_exit(write(pipefd[1], c, NONCE) == NONCE ? 0 : 1);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(read(pipefd[0], seen[N + 1], NONCE), NONCE);
	close(pipefd[0]);
	close(pipefd[1]);
	unsigned char parent_next[NONCE];
	seal_nonce(&fx->k, parent_next); /* what the child would have repeated without its new prefix */
	assert_memory_not_equal(parent_next, seen[N + 1], NONCE);
	for (int i = 0; i < N + 2; i++)
		for (int j = i + 1; j < N + 2; j++)
			if (memcmp(seen[i], seen[j], NONCE) == 0)
				fail_msg("nonce %d repeats nonce %d", j, i);
	free(seen);
}

static void test_seal_appends(void **state)
{
	struct fx *fx = *state;
	struct ts_buf out;
	ts_buf_init(&out, 0);
	assert_int_equal(ts_buf_puts(&out, "HDR:"), 0);
	assert_int_equal(crypt_seal(&fx->k, "a", "hello", 5, &out), 0);
	assert_memory_equal(out.ptr, "HDR:", 4);
	struct ts_buf opened;
	ts_buf_init(&opened, 0);
	assert_int_equal(ts_buf_puts(&opened, ">"), 0);
	assert_int_equal(crypt_open(&fx->k, "a", out.ptr + 4, out.len - 4, &opened), 0);
	assert_string_equal(opened.ptr, ">hello");
	ts_buf_free(&out);
	ts_buf_free(&opened);
}

static void expect_open_fails(const struct crypt_keys *k, const char *ad, const void *p, size_t n)
{
	struct ts_buf out;
	ts_buf_init(&out, 0);
	assert_int_equal(crypt_open(k, ad, p, n, &out), TS_EINVAL);
	assert_int_equal(out.len, 0); /* nothing of a forgery is released */
	ts_buf_free(&out);
}

static void test_open_rejects_tampering(void **state)
{
	struct fx *fx = *state;
	const char plain[] = "530102199001011231";
	struct ts_buf sealed;
	ts_buf_init(&sealed, 0);
	assert_int_equal(crypt_seal(&fx->k, "application.secret", plain, strlen(plain), &sealed), 0);

	expect_open_fails(&fx->k, "applicant.phone", sealed.ptr, sealed.len); /* wrong purpose */
	expect_open_fails(&fx->k, "", sealed.ptr, sealed.len);
	expect_open_fails(&fx->k2, "application.secret", sealed.ptr, sealed.len); /* other key */
	/* A flipped bit anywhere: nonce, ciphertext, tag. */
	for (size_t i = 0; i < sealed.len; i++) {
		sealed.ptr[i] ^= 0x01;
		expect_open_fails(&fx->k, "application.secret", sealed.ptr, sealed.len);
		sealed.ptr[i] ^= 0x01;
	}
	/* Truncated or extended. */
	expect_open_fails(&fx->k, "application.secret", sealed.ptr, sealed.len - 1);
	expect_open_fails(&fx->k, "application.secret", sealed.ptr, NONCE + TAG - 1);
	expect_open_fails(&fx->k, "application.secret", sealed.ptr, 0);
	/* Still intact after all that. */
	struct ts_buf out;
	ts_buf_init(&out, 0);
	assert_int_equal(crypt_open(&fx->k, "application.secret", sealed.ptr, sealed.len, &out), 0);
	assert_string_equal(out.ptr, plain);
	ts_buf_free(&out);
	ts_buf_free(&sealed);
}

static void test_seal_random_nonce(void **state)
{
	struct fx *fx = *state;
	struct ts_buf a, b;
	ts_buf_init(&a, 0);
	ts_buf_init(&b, 0);
	assert_int_equal(crypt_seal(&fx->k, "p", "13800138000", 11, &a), 0);
	assert_int_equal(crypt_seal(&fx->k, "p", "13800138000", 11, &b), 0);
	assert_int_equal(a.len, b.len);
	assert_memory_not_equal(a.ptr, b.ptr, NONCE);
	assert_memory_not_equal(a.ptr + NONCE, b.ptr + NONCE, a.len - NONCE);
	ts_buf_free(&a);
	ts_buf_free(&b);
}

static void test_seal_respects_buffer_max(void **state)
{
	struct fx *fx = *state;
	struct ts_buf small;
	ts_buf_init(&small, 20); /* less than nonce + tag */
	assert_int_equal(crypt_seal(&fx->k, "p", "x", 1, &small), TS_ETOOBIG);
	assert_int_equal(small.len, 0);
	ts_buf_free(&small);
}

static void test_blind_index(void **state)
{
	struct fx *fx = *state;
	char a[CRYPT_HEX_BYTES], b[CRYPT_HEX_BYTES], c[CRYPT_HEX_BYTES];
	crypt_blind_index(&fx->k, "phone", "13800138000", a);
	crypt_blind_index(&fx->k, "phone", "13800138000", b);
	assert_true(is_hex(a, 2 * CRYPT_BIDX_BYTES)); /* 128 bits */
	assert_string_equal(a, b); /* deterministic: usable for lookups */
	crypt_blind_index(&fx->k, "id", "13800138000", c);
	assert_string_not_equal(a, c); /* domains are separated */
	crypt_blind_index(&fx->k, "phone", "13800138001", c);
	assert_string_not_equal(a, c);
	crypt_blind_index(&fx->k2, "phone", "13800138000", c);
	assert_string_not_equal(a, c); /* keyed */
	/* Not a plain hash of the value. */
	crypt_sha256_hex("13800138000", 11, c);
	assert_string_not_equal(a, c);
	/* Domain and value are not simply concatenated. */
	crypt_blind_index(&fx->k, "ph", "one13800138000", c);
	assert_string_not_equal(a, c);

	/* The ledger id and code hashes use their own keys. */
	crypt_ledger_id(&fx->k, "11010519491231002X", b);
	crypt_blind_index(&fx->k, "ledger", "11010519491231002X", c);
	assert_true(is_hex64(b));
	assert_string_not_equal(b, c);
	crypt_ledger_id(&fx->k, "11010519491231002X", c);
	assert_string_equal(b, c);

	crypt_code_hash(&fx->k, "13800138000", "123456", a);
	crypt_code_hash(&fx->k, "13800138000", "123456", b);
	assert_string_equal(a, b);
	crypt_code_hash(&fx->k, "13800138001", "123456", b);
	assert_string_not_equal(a, b); /* bound to the phone */
	crypt_code_hash(&fx->k, "13800138000", "123457", b);
	assert_string_not_equal(a, b);
}

/* A blind index is the first 16 bytes of the HMAC the store kept as 64 hex
 * digits before: what lets the migrations convert stored indexes without
 * the key. */
static void test_blind_index_truncated(void **state)
{
	struct fx *fx = *state;
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, fx->k.bidx, CRYPT_KEY_BYTES);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)"id", 3);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)"11010519491231002X", 19);
	crypto_auth_hmacsha256_final(&st, mac);
	char full[CRYPT_HEX_BYTES], idx[CRYPT_HEX_BYTES];
	sodium_bin2hex(full, sizeof(full), mac, sizeof(mac));
	crypt_blind_index(&fx->k, "id", "11010519491231002X", idx);
	assert_int_equal(strlen(idx), 32);
	assert_memory_equal(idx, full, 32);
}

/* The bytes the store keeps, and back: 32 lowercase hex digits or nothing. */
static void test_bidx_bytes(void **state)
{
	(void)state;
	unsigned char b[CRYPT_BIDX_BYTES];
	size_t n = 99;
	char hex[CRYPT_HEX_BYTES];
	assert_int_equal(crypt_bidx_bytes("00112233445566778899aabbccddeeff", b, &n), 0);
	assert_int_equal(n, CRYPT_BIDX_BYTES);
	assert_int_equal(b[0], 0x00);
	assert_int_equal(b[1], 0x11);
	assert_int_equal(b[15], 0xff);
	crypt_bidx_hex(b, n, hex);
	assert_string_equal(hex, "00112233445566778899aabbccddeeff");
	assert_int_equal(crypt_bidx_bytes("", b, &n), 0); /* a form without an ID number */
	assert_int_equal(n, 0);
	crypt_bidx_hex(b, 0, hex);
	assert_string_equal(hex, "");
	/* the old 64-digit form, a digit short or over, upper case, not hex */
	assert_int_equal(crypt_bidx_bytes("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", b, &n),
			 TS_EINVAL);
	assert_int_equal(crypt_bidx_bytes("00112233445566778899aabbccddeef", b, &n), TS_EINVAL);
	assert_int_equal(crypt_bidx_bytes("00112233445566778899aabbccddeeff0", b, &n), TS_EINVAL);
	assert_int_equal(crypt_bidx_bytes("00112233445566778899AABBCCDDEEFF", b, &n), TS_EINVAL);
	assert_int_equal(crypt_bidx_bytes("00112233445566778899aabbccddeefg", b, &n), TS_EINVAL);
}

static void test_tokens(void **state)
{
	(void)state;
	char a[CRYPT_TOKEN_BYTES], b[CRYPT_TOKEN_BYTES];
	crypt_token_new(a);
	crypt_token_new(b);
	assert_int_equal(strlen(a), 43);
	assert_int_equal(strlen(b), 43);
	assert_string_not_equal(a, b);
	for (const char *p = a; *p; p++)
		assert_true(isalnum((unsigned char)*p) || *p == '-' || *p == '_');
	char h1[CRYPT_HEX_BYTES], h2[CRYPT_HEX_BYTES];
	crypt_token_hash(a, h1);
	crypt_sha256_hex(a, strlen(a), h2);
	assert_string_equal(h1, h2);
	assert_true(is_hex64(h1));
	crypt_token_hash(b, h2);
	assert_string_not_equal(h1, h2);
}

static void test_sha256_known(void **state)
{
	(void)state;
	char h[CRYPT_HEX_BYTES];
	crypt_sha256_hex("abc", 3, h);
	assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	crypt_sha256_hex("", 0, h);
	assert_string_equal(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_sms_code(void **state)
{
	(void)state;
	int leading_zero = 0, seen_digit[10] = {0};
	char first[7];
	crypt_sms_code(first);
	bool all_same = true;
	for (int i = 0; i < 2000; i++) {
		char c[7];
		memset(c, 'x', sizeof(c));
		crypt_sms_code(c);
		assert_int_equal(strlen(c), 6);
		for (int j = 0; j < 6; j++) {
			assert_true(isdigit((unsigned char)c[j]));
			seen_digit[c[j] - '0'] = 1;
		}
		if (c[0] == '0')
			leading_zero++;
		if (strcmp(c, first) != 0)
			all_same = false;
	}
	assert_false(all_same);
	assert_true(leading_zero > 0); /* zero-padded, not 100000..999999 only */
	for (int d = 0; d < 10; d++)
		assert_true(seen_digit[d]);
}

static void test_equal_and_wipe(void **state)
{
	(void)state;
	assert_true(crypt_equal("abc", "abc"));
	assert_true(crypt_equal("", ""));
	assert_false(crypt_equal("abc", "abd"));
	assert_false(crypt_equal("abc", "ab"));
	assert_false(crypt_equal("ab", "abc"));
	char secret[16] = "top secret";
	crypt_wipe(secret, sizeof(secret));
	for (size_t i = 0; i < sizeof(secret); i++)
		assert_int_equal(secret[i], 0);
	crypt_wipe(NULL, 0);
}

static void test_password_hash(void **state)
{
	(void)state;
	char stored[256], again[256];
	assert_int_equal(crypt_password_hash("云南-skill-2022!", stored, sizeof(stored)), 0);
	assert_int_equal(strncmp(stored, "$argon2id$", 10), 0);
	assert_null(strstr(stored, "云南-skill-2022!"));
	assert_true(crypt_password_verify(stored, "云南-skill-2022!"));
	assert_false(crypt_password_verify(stored, "云南-skill-2022"));
	assert_false(crypt_password_verify(stored, ""));
	assert_false(crypt_password_verify("not a hash", "云南-skill-2022!"));
	/* A fresh salt each time. */
	assert_int_equal(crypt_password_hash("云南-skill-2022!", again, sizeof(again)), 0);
	assert_string_not_equal(stored, again);
	/* Too small an output buffer is refused before hashing. */
	char tiny[16];
	assert_int_equal(crypt_password_hash("pw", tiny, sizeof(tiny)), TS_EINVAL);
}

static void test_keys_files(void **state)
{
	struct fx *fx = *state;
	char path[256];
	struct stat st;
	snprintf(path, sizeof(path), "%s/keys/master.key", fx->dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, 32);
	snprintf(path, sizeof(path), "%s/keys", fx->dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);

	/* Loading again gives the same keys; the purposes differ from each other. */
	struct crypt_keys k;
	struct ts_error err;
	assert_int_equal(crypt_keys_load(fx->dir, &k, &err), 0);
	assert_memory_equal(&k, &fx->k, sizeof(k));
	assert_memory_not_equal(k.enc, k.bidx, CRYPT_KEY_BYTES);
	assert_memory_not_equal(k.enc, k.code, CRYPT_KEY_BYTES);
	assert_memory_not_equal(k.bidx, k.ledger, CRYPT_KEY_BYTES);
	assert_memory_not_equal(k.code, k.ledger, CRYPT_KEY_BYTES);
	assert_memory_not_equal(fx->k.enc, fx->k2.enc, CRYPT_KEY_BYTES);
	crypt_keys_wipe(&k);
	for (size_t i = 0; i < sizeof(k.enc); i++)
		assert_int_equal(k.enc[i], 0);
}

static void test_keys_never_overwritten(void **state)
{
	struct fx *fx = *state;
	struct ts_error err;
	ts_error_clear(&err);
	assert_int_equal(crypt_keys_create(fx->dir, &err), TS_ECONFLICT);
	assert_true(strlen(err.message) > 0);
	struct crypt_keys k;
	assert_int_equal(crypt_keys_load(fx->dir, &k, &err), 0);
	assert_memory_equal(&k, &fx->k, sizeof(k)); /* the old key is still there */
	crypt_keys_wipe(&k);
}

static void test_keys_refused(void **state)
{
	(void)state;
	char dir[64] = "/tmp/ts-crypt-XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct crypt_keys k;
	struct ts_error err;
	/* No key yet. */
	assert_int_not_equal(crypt_keys_load(dir, &k, &err), 0);
	assert_int_equal(crypt_keys_create(dir, &err), 0);
	char path[256];
	snprintf(path, sizeof(path), "%s/keys/master.key", dir);
	/* A key readable by others is refused. */
	assert_int_equal(chmod(path, 0644), 0);
	ts_error_clear(&err);
	assert_int_equal(crypt_keys_load(dir, &k, &err), TS_EFORBIDDEN);
	assert_non_null(strstr(err.message, "0600"));
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_not_equal(crypt_keys_load(dir, &k, &err), 0);
	assert_int_equal(chmod(path, 0604), 0);
	assert_int_not_equal(crypt_keys_load(dir, &k, &err), 0);
	assert_int_equal(chmod(path, 0400), 0); /* read-only for the owner is fine */
	assert_int_equal(crypt_keys_load(dir, &k, &err), 0);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(crypt_keys_load(dir, &k, &err), 0);
	/* A truncated key is refused. */
	assert_int_equal(truncate(path, 16), 0);
	assert_int_not_equal(crypt_keys_load(dir, &k, &err), 0);
	crypt_keys_wipe(&k);

	/* $TISHENG_KEY_FILE names the key instead. */
	char other[64] = "/tmp/ts-crypt-XXXXXX";
	assert_non_null(mkdtemp(other));
	assert_int_equal(crypt_keys_create(other, &err), 0);
	char opath[256];
	snprintf(opath, sizeof(opath), "%s/keys/master.key", other);
	setenv("TISHENG_KEY_FILE", opath, 1);
	int rc = crypt_keys_load(dir, &k, &err); /* dir's own key is broken; the named one is used */
	unsetenv("TISHENG_KEY_FILE");
	assert_int_equal(rc, 0);
	struct crypt_keys k_other;
	assert_int_equal(crypt_keys_load(other, &k_other, &err), 0);
	assert_memory_equal(&k, &k_other, sizeof(k));
	crypt_keys_wipe(&k);
	crypt_keys_wipe(&k_other);
	rm_rf(dir);
	rm_rf(other);
}

int main(void)
{
	if (crypt_init() != 0)
		return 1;
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_seal_open_round_trip),
		T(test_seal_nonces_unique),
		T(test_seal_appends),
		T(test_open_rejects_tampering),
		T(test_seal_random_nonce),
		T(test_seal_respects_buffer_max),
		T(test_blind_index),
		T(test_blind_index_truncated),
		cmocka_unit_test(test_bidx_bytes),
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_sha256_known),
		cmocka_unit_test(test_sms_code),
		cmocka_unit_test(test_equal_and_wipe),
		cmocka_unit_test(test_password_hash),
		T(test_keys_files),
		T(test_keys_never_overwritten),
		cmocka_unit_test(test_keys_refused),
	};
#undef T
	return cmocka_run_group_tests_name("crypt", tests, NULL, NULL);
}
