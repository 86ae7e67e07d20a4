/* crypt/totp.h — RFC 6238 time-based one-time passwords (liboath), the second
 * factor of staff who approve. Secrets are 20 random bytes, shown to the user
 * in base32 for an authenticator app. */
#ifndef TS_CRYPT_TOTP_H
#define TS_CRYPT_TOTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define TOTP_SECRET_BYTES 20

/* Fills raw with a new secret and b32 (≥ 40 bytes) with its base32 form. */
int totp_new_secret(unsigned char raw[TOTP_SECRET_BYTES], char *b32, size_t n) __attribute__((warn_unused_result));
/* True when `code` (6 digits) is valid at unix time `now_s`, one step either side. */
bool totp_check(const unsigned char *secret, size_t len, int64_t now_s, const char *code);

#endif
