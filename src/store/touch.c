/* store/touch.c — sessions seen in use, waiting to have last_seen written.
 *
 * An open-addressing table keyed by the token hash (hex SHA-256, so its first
 * bytes are already uniform). Fixed size: when it is full a note is dropped,
 * which costs nothing but an earlier idle expiry if the server then stops
 * before the session is used again.
 */
#include "store/store_impl.h"
#include "core/mem.h"

#include <stdlib.h>
#include <string.h>

void store_touches_init(struct store_touches *t)
{
	memset(t, 0, sizeof(*t));
	pthread_mutex_init(&t->mu, NULL);
}

void store_touches_free(struct store_touches *t)
{
	free(t->slots);
	t->slots = NULL;
	t->used = 0;
	pthread_mutex_destroy(&t->mu);
}

static size_t slot_of(const char *hash)
{
	size_t h = 0;
	for (int i = 0; i < 12; i++) {
		char c = hash[i];
		h = h * 16 + (size_t)(c >= 'a' ? c - 'a' + 10 : c >= 'A' ? c - 'A' + 10 : c - '0');
	}
	return h % STORE_TOUCH_SLOTS;
}

static bool valid(const char *hash)
{
	return hash && strlen(hash) == STORE_TOKEN_HASH_LEN;
}

/* The slot holding hash, or the free slot where it would go, or NULL when full. Under mu. */
static struct store_touch *find(struct store_touches *t, const char *hash)
{
	if (!t->slots)
		return NULL;
	size_t i = slot_of(hash);
	for (size_t n = 0; n < STORE_TOUCH_SLOTS; n++, i = (i + 1) % STORE_TOUCH_SLOTS) {
		struct store_touch *e = &t->slots[i];
		if (!e->hash[0] || memcmp(e->hash, hash, STORE_TOKEN_HASH_LEN) == 0)
			return e;
	}
	return NULL;
}

int64_t store_touch_get(struct store_touches *t, const char *hash)
{
	if (!valid(hash))
		return 0;
	pthread_mutex_lock(&t->mu);
	struct store_touch *e = find(t, hash);
	int64_t at = e && e->hash[0] ? e->at : 0;
	pthread_mutex_unlock(&t->mu);
	return at;
}

void store_touch_put(struct store_touches *t, const char *hash, int64_t at)
{
	if (!valid(hash))
		return;
	pthread_mutex_lock(&t->mu);
	if (!t->slots)
		t->slots = ts_calloc(STORE_TOUCH_SLOTS, sizeof(*t->slots));
	struct store_touch *e = t->used < STORE_TOUCH_SLOTS * 3 / 4 ? find(t, hash) : NULL;
	if (e) {
		if (!e->hash[0]) {
			memcpy(e->hash, hash, STORE_TOKEN_HASH_LEN + 1);
			e->at = at;
			t->used++;
		} else if (at > e->at) {
			e->at = at;
		}
	}
	pthread_mutex_unlock(&t->mu);
}

void store_touch_forget(struct store_touches *t, const char *hash)
{
	if (!valid(hash))
		return;
	pthread_mutex_lock(&t->mu);
	struct store_touch *e = find(t, hash);
	if (e && e->hash[0])
		e->at = 0; /* the slot stays taken (probe chains); flush skips it */
	pthread_mutex_unlock(&t->mu);
}

int store_sessions_flush(struct store *s, struct ts_error *err)
{
	struct store_touches *t = &s->touches;
	pthread_mutex_lock(&t->mu);
	struct store_touch *slots = t->slots;
	size_t used = t->used;
	t->slots = NULL;
	t->used = 0;
	pthread_mutex_unlock(&t->mu);
	if (!slots)
		return 0;
	/* Notes that arrive from here on go to a fresh table; until this write
	 * commits, a look-up of a session noted before may miss its note and see
	 * the database's older last_seen: at most a minute older, well inside
	 * any idle timeout. */
	char(*hashes)[STORE_TOKEN_HASH_LEN + 1] = ts_calloc(used ? used : 1, sizeof(*hashes));
	int64_t *at = ts_calloc(used ? used : 1, sizeof(*at));
	size_t n = 0;
	for (size_t i = 0; i < STORE_TOUCH_SLOTS && n < used; i++)
		if (slots[i].hash[0] && slots[i].at > 0) {
			memcpy(hashes[n], slots[i].hash, STORE_TOKEN_HASH_LEN + 1);
			at[n++] = slots[i].at;
		}
	free(slots);
	int rc = n ? s->ops->session_touch(s, hashes, at, n, err) : 0;
	if (rc) /* keep the notes for the next try */
		for (size_t i = 0; i < n; i++)
			store_touch_put(t, hashes[i], at[i]);
	free(hashes);
	free(at);
	return rc;
}
