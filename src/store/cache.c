/* store/cache.c — what a single-node store keeps in memory so that the
 * submission path does not open a read transaction for it:
 *
 *  - the sessions this process created or read (token hash → session), so a
 *    request with a known token is authorised without a database read;
 *  - the set of (blind ID number, series) pairs that have an application, so
 *    the rules' look-back at a person's history in a series is skipped for
 *    someone who has none there (the usual first-time applicant at the
 *    opening minute).
 *
 * Both are only used when the process is the only writer of the database
 * (SQLite): every change of a session or of an application's blind ID goes
 * through this process and is noted here, so a hit is never stale. The person
 * set errs on one side only: a blind ID is added before the transaction that
 * stores it commits, so "absent" is exact and "present" may cost a read.
 *
 * Both are open-addressing tables keyed by a 64-bit hash of the key text.
 */
#include "store/store_impl.h"
#include "core/mem.h"

#include <stdlib.h>
#include <string.h>

/* FNV-1a over the whole key text: blind IDs and token hashes are uniform
 * already, but nothing here depends on it. */
static uint64_t fnv(uint64_t h, const char *s)
{
	for (; s && *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3u;
	return h;
}

static uint64_t hex_key(const char *hex)
{
	return fnv(0xcbf29ce484222325u, hex);
}

/* (blind ID, series): the two texts with a separator neither contains. */
static uint64_t person_key(const char *id_bidx, const char *series)
{
	uint64_t h = fnv(0xcbf29ce484222325u, id_bidx);
	h = (h ^ 0x1f) * 0x100000001b3u;
	h = fnv(h, series);
	return h ? h : 1; /* 0 marks a free slot */
}

/* ---- sessions ---- */

enum { SC_EMPTY, SC_LIVE, SC_GONE };

void store_scache_init(struct store_scache *c, bool enabled)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->mu, NULL);
	c->enabled = enabled;
}

void store_scache_free(struct store_scache *c)
{
	free(c->slots);
	c->slots = NULL;
	pthread_mutex_destroy(&c->mu);
}

/* The slot holding hash, or NULL (want_free: the first free slot on its chain). Under mu. */
static struct store_scache_entry *sc_find(struct store_scache *c, const char *hash, bool want_free)
{
	if (!c->slots)
		return NULL;
	size_t i = (size_t)(hex_key(hash) % STORE_SCACHE_SLOTS);
	struct store_scache_entry *gone = NULL;
	for (size_t n = 0; n < STORE_SCACHE_SLOTS; n++, i = (i + 1) % STORE_SCACHE_SLOTS) {
		struct store_scache_entry *e = &c->slots[i];
		if (e->state == SC_EMPTY)
			return want_free ? (gone ? gone : e) : NULL;
		if (e->state == SC_GONE) {
			if (!gone)
				gone = e;
		} else if (memcmp(e->hash, hash, STORE_TOKEN_HASH_LEN) == 0) {
			return e;
		}
	}
	return want_free ? gone : NULL;
}

static bool sc_valid(const struct store_scache *c, const char *hash)
{
	return c->enabled && hash && strlen(hash) == STORE_TOKEN_HASH_LEN;
}

bool store_scache_get(struct store_scache *c, const char *hash, struct store_session *out)
{
	if (!sc_valid(c, hash))
		return false;
	pthread_mutex_lock(&c->mu);
	struct store_scache_entry *e = sc_find(c, hash, false);
	if (e)
		*out = e->s;
	pthread_mutex_unlock(&c->mu);
	return e != NULL;
}

uint64_t store_scache_gen(struct store_scache *c)
{
	pthread_mutex_lock(&c->mu);
	uint64_t g = c->gen;
	pthread_mutex_unlock(&c->mu);
	return g;
}

void store_scache_put(struct store_scache *c, const char *hash, const struct store_session *s)
{
	store_scache_put_if(c, hash, s, UINT64_MAX);
}

void store_scache_put_if(struct store_scache *c, const char *hash, const struct store_session *s, uint64_t gen)
{
	if (!sc_valid(c, hash))
		return;
	pthread_mutex_lock(&c->mu);
	if (gen != UINT64_MAX && gen != c->gen) { /* a session was dropped meanwhile: maybe this one */
		pthread_mutex_unlock(&c->mu);
		return;
	}
	if (!c->slots)
		c->slots = ts_calloc(STORE_SCACHE_SLOTS, sizeof(*c->slots));
	struct store_scache_entry *e = sc_find(c, hash, false);
	if (!e) {
		/* Full (live or deleted slots past 3/4): start over; the sessions
		 * not noted again are read from the database when next used. */
		if (c->filled >= STORE_SCACHE_SLOTS * 3 / 4) {
			memset(c->slots, 0, STORE_SCACHE_SLOTS * sizeof(*c->slots));
			c->filled = 0;
		}
		e = sc_find(c, hash, true);
		if (e->state == SC_EMPTY)
			c->filled++;
		memcpy(e->hash, hash, STORE_TOKEN_HASH_LEN + 1);
		e->state = SC_LIVE;
	}
	e->s = *s;
	pthread_mutex_unlock(&c->mu);
}

void store_scache_seen(struct store_scache *c, const char *hash, int64_t at)
{
	if (!sc_valid(c, hash))
		return;
	pthread_mutex_lock(&c->mu);
	struct store_scache_entry *e = sc_find(c, hash, false);
	if (e && at > e->s.last_seen)
		e->s.last_seen = at;
	pthread_mutex_unlock(&c->mu);
}

void store_scache_drop(struct store_scache *c, const char *hash)
{
	if (!sc_valid(c, hash))
		return;
	pthread_mutex_lock(&c->mu);
	struct store_scache_entry *e = sc_find(c, hash, false);
	if (e)
		e->state = SC_GONE; /* keeps the probe chains whole */
	c->gen++;
	pthread_mutex_unlock(&c->mu);
}

/* ---- blind IDs with applications ---- */

void store_persons_init(struct store_persons *p)
{
	memset(p, 0, sizeof(*p));
	pthread_mutex_init(&p->mu, NULL);
}

void store_persons_free(struct store_persons *p)
{
	free(p->keys);
	p->keys = NULL;
	pthread_mutex_destroy(&p->mu);
}

/* The slot of k in keys[cap], or the free slot where it would go. */
static size_t ps_slot(const uint64_t *keys, size_t cap, uint64_t k)
{
	size_t j = (size_t)(k % cap);
	while (keys[j] && keys[j] != k)
		j = (j + 1) % cap;
	return j;
}

/* Under mu; the table doubles at half full. */
static void ps_insert(struct store_persons *p, uint64_t k)
{
	if ((p->n + 1) * 2 > p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 1 << 16;
		uint64_t *keys = ts_calloc(cap, sizeof(*keys));
		for (size_t i = 0; i < p->cap; i++)
			if (p->keys[i])
				keys[ps_slot(keys, cap, p->keys[i])] = p->keys[i];
		free(p->keys);
		p->keys = keys;
		p->cap = cap;
	}
	size_t j = ps_slot(p->keys, p->cap, k);
	if (!p->keys[j]) {
		p->keys[j] = k;
		p->n++;
	}
}

void store_persons_add(struct store_persons *p, const char *id_bidx, const char *series)
{
	if (!id_bidx || !*id_bidx)
		return;
	pthread_mutex_lock(&p->mu);
	ps_insert(p, person_key(id_bidx, series));
	pthread_mutex_unlock(&p->mu);
}

void store_persons_add_locked(struct store_persons *p, const char *id_bidx, const char *series)
{
	if (id_bidx && *id_bidx)
		ps_insert(p, person_key(id_bidx, series));
}

int store_persons_has(struct store_persons *p, const char *id_bidx, const char *series)
{
	pthread_mutex_lock(&p->mu);
	int r = -1;
	if (p->loaded)
		r = p->cap && p->keys[ps_slot(p->keys, p->cap, person_key(id_bidx, series))] != 0;
	pthread_mutex_unlock(&p->mu);
	return r;
}
