/* domain/idnum.h — checks of resident identity numbers (GB 11643-1999) and phones. */
#ifndef TS_DOMAIN_IDNUM_H
#define TS_DOMAIN_IDNUM_H

#include <stdbool.h>

/* The check character of the first 17 digits of an 18-character ID:
 * weights 2^(17-i) mod 11, sum mod 11 mapped through "10X98765432". */
char idnum_check_char(const char *first17);

enum idnum_result {
	IDNUM_OK = 0,
	IDNUM_BAD_LENGTH,    /* not 18 characters */
	IDNUM_BAD_CHARS,     /* not 17 digits followed by a digit or X */
	IDNUM_BAD_AREA,      /* province code not in use */
	IDNUM_BAD_BIRTH,     /* not a real date, or before 1900 */
	IDNUM_FUTURE_BIRTH,  /* after `today` */
	IDNUM_BAD_CHECK,     /* check digit does not match */
};

/* Checks an ID number (a lower-case x is accepted) against today's date
 * (y, m, d in Asia/Shanghai); writes the normalised form (upper-case X) to
 * `norm` (19 bytes) when not NULL. */
enum idnum_result idnum_check(const char *s, int ty, int tm, int td, char norm[19]);
const char *idnum_result_message(enum idnum_result r);

/* Birth date and sex of a valid ID (sex: 1 male, 2 female). */
void idnum_birth(const char *id, int *y, int *m, int *d);
int idnum_sex(const char *id);

/* Mainland mobile number: 11 digits, 1[3-9]xxxxxxxxx. */
bool phone_valid(const char *s);
/* A mainland mobile number as people type or paste it: spaces and dashes
 * between the digits, and a leading "+86", "0086" or "86" (with or without a
 * space or dash after it), are dropped; what remains must pass phone_valid.
 * Writes the 11 digits and a NUL to out; false when it is not such a number. */
bool phone_normalize(const char *s, char out[12]);

#endif
