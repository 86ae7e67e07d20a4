/* domain/idnum.c — GB 11643-1999 citizen identity numbers, mobile numbers. */
#include "domain/idnum.h"
#include "core/time.h"

#include <ctype.h>
#include <string.h>

char idnum_check_char(const char *first17)
{
	static const int w[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
	static const char map[] = "10X98765432";
	int sum = 0;
	for (int i = 0; i < 17; i++)
		sum += (first17[i] - '0') * w[i];
	return map[sum % 11];
}

/* Province-level codes of GB/T 2260 (first two digits). */
static bool area_ok(const char *s)
{
	static const char *codes[] = {"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33",
				      "34", "35", "36", "37", "41", "42", "43", "44", "45", "46", "50",
				      "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81",
				      "82", "83"};
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (s[0] == codes[i][0] && s[1] == codes[i][1])
			return true;
	return false;
}

void idnum_birth(const char *id, int *y, int *m, int *d)
{
	*y = (id[6] - '0') * 1000 + (id[7] - '0') * 100 + (id[8] - '0') * 10 + (id[9] - '0');
	*m = (id[10] - '0') * 10 + (id[11] - '0');
	*d = (id[12] - '0') * 10 + (id[13] - '0');
}

int idnum_sex(const char *id)
{
	return ((id[16] - '0') % 2) ? 1 : 2;
}

enum idnum_result idnum_check(const char *s, int ty, int tm, int td, char norm[19])
{
	if (strlen(s) != 18)
		return IDNUM_BAD_LENGTH;
	char buf[19];
	for (int i = 0; i < 18; i++) {
		char c = s[i];
		if (i == 17 && (c == 'x' || c == 'X'))
			c = 'X';
		else if (!isdigit((unsigned char)c))
			return IDNUM_BAD_CHARS;
		buf[i] = c;
	}
	buf[18] = '\0';
	if (!area_ok(buf))
		return IDNUM_BAD_AREA;
	int y, m, d;
	idnum_birth(buf, &y, &m, &d);
	if (y < 1900 || !ts_date_valid(y, m, d))
		return IDNUM_BAD_BIRTH;
	if (ts_days_from_civil(y, (unsigned)m, (unsigned)d) > ts_days_from_civil(ty, (unsigned)tm, (unsigned)td))
		return IDNUM_FUTURE_BIRTH;
	if (idnum_check_char(buf) != buf[17])
		return IDNUM_BAD_CHECK;
	if (norm)
		memcpy(norm, buf, 19);
	return IDNUM_OK;
}

const char *idnum_result_message(enum idnum_result r)
{
	switch (r) {
	case IDNUM_OK:
		return "";
	case IDNUM_BAD_LENGTH:
		return "身份证号应为18位";
	case IDNUM_BAD_CHARS:
		return "身份证号前17位应为数字，最后一位为数字或X";
	case IDNUM_BAD_AREA:
		return "身份证号的地区码不正确";
	case IDNUM_BAD_BIRTH:
		return "身份证号中的出生日期不是有效日期";
	case IDNUM_FUTURE_BIRTH:
		return "身份证号中的出生日期晚于今天";
	case IDNUM_BAD_CHECK:
		return "身份证号校验位不正确，请核对";
	}
	return "身份证号不正确";
}

bool phone_valid(const char *s)
{
	if (strlen(s) != 11 || s[0] != '1' || s[1] < '3' || s[1] > '9')
		return false;
	for (int i = 2; i < 11; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

bool phone_normalize(const char *s, char out[12])
{
	char digits[24];
	size_t n = 0;
	bool plus = false;
	for (const char *p = s; *p; p++) {
		if (isdigit((unsigned char)*p)) {
			if (n == sizeof(digits) - 1)
				return false;
			digits[n++] = *p;
		} else if (*p == '+' && n == 0 && !plus) {
			plus = true;
		} else if (*p != ' ' && *p != '-') {
			return false;
		}
	}
	digits[n] = '\0';
	const char *d = digits;
	if (n == 15 && strncmp(d, "0086", 4) == 0 && !plus)
		d += 4;
	else if (n == 13 && strncmp(d, "86", 2) == 0)
		d += 2;
	else if (plus || n != 11)
		return false;
	if (!phone_valid(d))
		return false;
	memcpy(out, d, 12);
	return true;
}
