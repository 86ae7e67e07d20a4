/* core/error.h — status codes and the error detail that crosses modules.
 *
 * Actions return 0 on success or a negative TS_E* code. Detail for the user
 * (a stable machine code such as "quota_full" and a Chinese message) travels
 * in a struct ts_error out-parameter that the callee fills on failure.
 */
#ifndef TS_CORE_ERROR_H
#define TS_CORE_ERROR_H

#include <stddef.h>

enum ts_status {
	TS_OK = 0,
	TS_EINVAL = -1,    /* bad input: 422 / 400 */
	TS_ENOTFOUND = -2, /* 404 */
	TS_ECONFLICT = -3, /* 409 */
	TS_EFORBIDDEN = -4,
	TS_EAUTH = -5,
	TS_ELIMIT = -6,    /* rate limited */
	TS_ETOOBIG = -7,
	TS_EIO = -8,       /* storage or system failure: 503 */
	TS_EBUSY = -9,
	TS_EINTERNAL = -10,
};

struct ts_error {
	int status;        /* one of enum ts_status */
	char code[32];     /* machine code, e.g. "quota_full" */
	char message[256]; /* Chinese, for the user */
};

/* Fills err (when not NULL) and returns status, so callers can write
 * `return ts_error_set(err, TS_ECONFLICT, "duplicate", "…");`. */
int ts_error_set(struct ts_error *err, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void ts_error_clear(struct ts_error *err);

/* Why a system call failed, for a Chinese message: the common errno values
 * in Chinese with the system's own words after them ("磁盘空间不足（No space
 * left on device）"), others in the system's words only. Returns `buf`. */
const char *ts_errno_text(int e, char *buf, size_t n);

#endif
