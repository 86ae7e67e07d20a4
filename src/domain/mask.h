/* domain/mask.h — masked forms of personal data for lists, logs and publicity. */
#ifndef TS_DOMAIN_MASK_H
#define TS_DOMAIN_MASK_H

#include <stddef.h>

/* "13812341234" → "138****1234". Anything not 11 characters → all '*'. */
void mask_phone(const char *phone, char *out, size_t n);
/* "53010219900101123X" → "53*************23X" (first 2, last 3). */
void mask_id(const char *id, char *out, size_t n);
/* "6222021234567890123" → "6222***********0123" (first 4, last 4). */
void mask_bank(const char *acct, char *out, size_t n);
/* A name for publicity: "张三丰" stays whole (publicity lists show names). */

#endif
