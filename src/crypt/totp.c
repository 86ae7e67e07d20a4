/* crypt/totp.c — TOTP over liboath. */
#include "crypt/totp.h"

#include <liboath/oath.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int totp_new_secret(unsigned char raw[TOTP_SECRET_BYTES], char *b32, size_t n)
{
	randombytes_buf(raw, TOTP_SECRET_BYTES);
	char *out = NULL;
	size_t len = 0;
	if (oath_init() != OATH_OK)
		return TS_EINTERNAL;
	if (oath_base32_encode((const char *)raw, TOTP_SECRET_BYTES, &out, &len) != OATH_OK || len + 1 > n) {
		free(out);
		return TS_EINTERNAL;
	}
	memcpy(b32, out, len);
	b32[len] = '\0';
	free(out);
	return 0;
}

bool totp_check(const unsigned char *secret, size_t len, int64_t now_s, const char *code)
{
	if (!code || strlen(code) != 6 || oath_init() != OATH_OK)
		return false;
	int r = oath_totp_validate((const char *)secret, len, (time_t)now_s, OATH_TOTP_DEFAULT_TIME_STEP_SIZE,
				   OATH_TOTP_DEFAULT_START_TIME, 1, code);
	return r >= 0;
}
