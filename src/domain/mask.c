/* domain/mask.c — masking personal data (see mask.h). Works on ASCII digits. */
#include "domain/mask.h"

#include <stdbool.h>
#include <string.h>

static void mask_keep(const char *s, size_t head, size_t tail, char *out, size_t n)
{
	size_t len = strlen(s);
	if (n == 0)
		return;
	size_t o = 0;
	for (size_t i = 0; i < len && o + 1 < n; i++) {
		bool keep = len > head + tail && (i < head || i >= len - tail);
		out[o++] = keep ? s[i] : '*';
	}
	out[o] = '\0';
}

void mask_phone(const char *phone, char *out, size_t n)
{
	/* only a real mobile number keeps its ends; anything else is hidden whole */
	mask_keep(phone, strlen(phone) == 11 ? 3 : 64, strlen(phone) == 11 ? 4 : 64, out, n);
}

void mask_id(const char *id, char *out, size_t n)
{
	mask_keep(id, 2, 3, out, n);
}

void mask_bank(const char *acct, char *out, size_t n)
{
	mask_keep(acct, 4, 4, out, n);
}
