/* tests/fuzz/fuzz_idnum.c — the ID-number and phone checks (GB 11643-1999)
 * on arbitrary strings. Input: 1 byte choosing "today", then the string. */
#include "domain/idnum.h"
#include "domain/mask.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 256)
		return 0;
	int ty = 1990 + data[0] % 50, tm = 1 + data[0] % 12, td = 1 + data[0] % 28;
	char *s = malloc(size);
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	char norm[19];
	memset(norm, 0x55, sizeof(norm));
	enum idnum_result r = idnum_check(s, ty, tm, td, norm);
	if (!idnum_result_message(r) && r != IDNUM_OK)
		abort();
	if (r == IDNUM_OK) {
		if (strlen(norm) != 18 || norm[17] != idnum_check_char(norm))
			abort();
		int y, m, d;
		idnum_birth(norm, &y, &m, &d);
		if (y < 1900 || m < 1 || m > 12 || d < 1 || d > 31)
			abort();
		int sex = idnum_sex(norm);
		if (sex != 1 && sex != 2)
			abort();
		char masked[64];
		mask_id(norm, masked, sizeof(masked));
	}
	(void)phone_valid(s);
	char masked[64];
	mask_phone(s, masked, sizeof(masked));
	mask_bank(s, masked, sizeof(masked));
	mask_id(s, masked, sizeof(masked));
	free(s);
	return 0;
}
