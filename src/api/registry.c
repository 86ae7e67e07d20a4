/* api/registry.c — in-memory programs and union tree, refreshed from the store. */
#include "api/registry.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/thread.h"
#include "domain/review.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct taken_cell {
	char key[128];
	_Atomic int64_t value;
	struct taken_cell *next;
};

struct registry {
	struct store *store;
	_Atomic uint64_t generation; /* changes whenever a count or a program changes */
	pthread_rwlock_t lock;
	struct reg_program **progs;
	size_t nprogs;
	int64_t version;
	json_t *orgs_by_code; /* code → org object */
	char *orgs_json;
	size_t orgs_json_len;
	pthread_mutex_t cells_mu;
	struct taken_cell *cells;
	pthread_t thread;
	bool running;
	pthread_mutex_t stop_mu;
	pthread_cond_t stop_cv;
	bool stopping;
};

static _Atomic int64_t *cell(struct registry *reg, const char *program, const char *category)
{
	char key[128];
	snprintf(key, sizeof(key), "%s/%s", program, category);
	pthread_mutex_lock(&reg->cells_mu);
	struct taken_cell *c;
	for (c = reg->cells; c; c = c->next)
		if (strcmp(c->key, key) == 0)
			break;
	if (!c) {
		c = ts_calloc(1, sizeof(*c));
		snprintf(c->key, sizeof(c->key), "%s", key);
		c->next = reg->cells;
		reg->cells = c;
	}
	pthread_mutex_unlock(&reg->cells_mu);
	return &c->value;
}

/* Raises *v to n; true when it changed. */
static bool raise_to(_Atomic int64_t *v, int64_t n)
{
	int64_t cur = atomic_load(v);
	while (cur < n)
		if (atomic_compare_exchange_weak(v, &cur, n))
			return true;
	return false;
}

void registry_put(struct reg_program *p)
{
	if (!p || atomic_fetch_sub(&p->refs, 1) != 1)
		return;
	spec_free(p->spec);
	free(p->taken);
	free(p);
}

static int load_programs(struct registry *reg, struct ts_error *err)
{
	json_t *list = NULL;
	int64_t version = 0;
	int rc = store_programs_version(reg->store, &version, err);
	if (rc || (rc = store_programs_list(reg->store, &list, err)))
		return rc;
	size_t n = json_array_size(list), k = 0;
	struct reg_program **progs = ts_calloc(n ? n : 1, sizeof(*progs));
	for (size_t i = 0; i < n; i++) {
		json_t *spec_json = json_object_get(json_array_get(list, i), "spec");
		struct program_spec *spec = NULL;
		struct ts_error e;
		if (spec_parse(spec_json, &spec, &e)) {
			ts_log_error("registry.bad_spec", "stored program %s is invalid: %s",
				     json_string_value(json_object_get(json_array_get(list, i), "id")), e.message);
			continue;
		}
		struct reg_program *p = ts_calloc(1, sizeof(*p));
		p->spec = spec;
		p->taken = ts_calloc(spec->ncats, sizeof(*p->taken));
		for (size_t c = 0; c < spec->ncats; c++)
			p->taken[c] = cell(reg, spec->id, spec->cats[c].code);
		atomic_store(&p->refs, 1);
		progs[k++] = p;
	}
	json_decref(list);
	pthread_rwlock_wrlock(&reg->lock);
	struct reg_program **old = reg->progs;
	size_t nold = reg->nprogs;
	reg->progs = progs;
	reg->nprogs = k;
	reg->version = version;
	atomic_fetch_add(&reg->generation, 1);
	pthread_rwlock_unlock(&reg->lock);
	for (size_t i = 0; i < nold; i++)
		registry_put(old[i]);
	free(old);
	return 0;
}

static int load_taken(struct registry *reg, struct ts_error *err)
{
	json_t *m = NULL;
	int rc = store_quota_taken(reg->store, &m, err);
	if (rc)
		return rc;
	const char *key;
	json_t *v;
	json_object_foreach(m, key, v)
	{
		char prog[128];
		snprintf(prog, sizeof(prog), "%s", key);
		char *slash = strchr(prog, '/');
		if (!slash)
			continue;
		*slash = '\0';
		if (raise_to(cell(reg, prog, slash + 1), json_integer_value(v)))
			atomic_fetch_add(&reg->generation, 1);
	}
	json_decref(m);
	return 0;
}

static int load_orgs(struct registry *reg, struct ts_error *err)
{
	json_t *orgs = NULL;
	int rc = store_orgs_list(reg->store, &orgs, err);
	if (rc)
		return rc;
	json_t *by = json_object();
	size_t i;
	json_t *o;
	json_array_foreach(json_object_get(orgs, "orgs"), i, o)
		json_object_set(by, json_string_value(json_object_get(o, "code")), o);
	char *text = json_dumps(orgs, JSON_COMPACT);
	json_decref(orgs);
	pthread_rwlock_wrlock(&reg->lock);
	json_decref(reg->orgs_by_code);
	free(reg->orgs_json);
	reg->orgs_by_code = by;
	reg->orgs_json = text;
	reg->orgs_json_len = text ? strlen(text) : 0;
	pthread_rwlock_unlock(&reg->lock);
	return 0;
}

int registry_new(struct store *store, struct registry **out, struct ts_error *err)
{
	struct registry *reg = ts_calloc(1, sizeof(*reg));
	reg->store = store;
	pthread_rwlock_init(&reg->lock, NULL);
	pthread_mutex_init(&reg->cells_mu, NULL);
	pthread_mutex_init(&reg->stop_mu, NULL);
	pthread_cond_init(&reg->stop_cv, NULL);
	int rc = load_programs(reg, err);
	if (!rc)
		rc = load_taken(reg, err);
	if (!rc)
		rc = load_orgs(reg, err);
	if (rc) {
		registry_free(reg);
		return rc;
	}
	*out = reg;
	return 0;
}

static void *refresh_main(void *arg)
{
	pthread_setname_np(pthread_self(), "ts-registry");
	struct registry *reg = arg;
	unsigned tick = 0;
	pthread_mutex_lock(&reg->stop_mu);
	while (!reg->stopping) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&reg->stop_cv, &reg->stop_mu, &ts);
		if (reg->stopping)
			break;
		pthread_mutex_unlock(&reg->stop_mu);
		struct ts_error err;
		int64_t version = 0;
		if (store_programs_version(reg->store, &version, &err) == 0) {
			pthread_rwlock_rdlock(&reg->lock);
			bool changed = version != reg->version;
			pthread_rwlock_unlock(&reg->lock);
			if (changed && load_programs(reg, &err) == 0)
				ts_log_info("registry.reload", "programs reloaded (version %lld)", (long long)version);
			if (changed || ++tick % 10 == 0)
				(void)load_orgs(reg, &err);
		}
		(void)load_taken(reg, &err);
		pthread_mutex_lock(&reg->stop_mu);
	}
	pthread_mutex_unlock(&reg->stop_mu);
	return NULL;
}

int registry_start(struct registry *reg, struct ts_error *err)
{
	if (pthread_create(&reg->thread, NULL, refresh_main, reg) != 0)
		return ts_error_set(err, TS_EINTERNAL, "internal", "无法启动刷新线程");
	reg->running = true;
	return 0;
}

void registry_free(struct registry *reg)
{
	if (!reg)
		return;
	if (reg->running)
		ts_thread_stop(reg->thread, &reg->stop_mu, &reg->stop_cv, &reg->stopping);
	for (size_t i = 0; i < reg->nprogs; i++)
		registry_put(reg->progs[i]);
	free(reg->progs);
	json_decref(reg->orgs_by_code);
	free(reg->orgs_json);
	while (reg->cells) {
		struct taken_cell *c = reg->cells;
		reg->cells = c->next;
		free(c);
	}
	pthread_rwlock_destroy(&reg->lock);
	pthread_mutex_destroy(&reg->cells_mu);
	pthread_mutex_destroy(&reg->stop_mu);
	pthread_cond_destroy(&reg->stop_cv);
	free(reg);
}

struct reg_program *registry_get(struct registry *reg, const char *id)
{
	struct reg_program *found = NULL;
	pthread_rwlock_rdlock(&reg->lock);
	for (size_t i = 0; i < reg->nprogs; i++)
		if (strcmp(reg->progs[i]->spec->id, id) == 0) {
			found = reg->progs[i];
			atomic_fetch_add(&found->refs, 1);
			break;
		}
	pthread_rwlock_unlock(&reg->lock);
	return found;
}

struct reg_program **registry_all(struct registry *reg, size_t *n)
{
	pthread_rwlock_rdlock(&reg->lock);
	struct reg_program **all = ts_calloc(reg->nprogs ? reg->nprogs : 1, sizeof(*all));
	for (size_t i = 0; i < reg->nprogs; i++) {
		all[i] = reg->progs[i];
		atomic_fetch_add(&all[i]->refs, 1);
	}
	*n = reg->nprogs;
	pthread_rwlock_unlock(&reg->lock);
	return all;
}

int64_t registry_taken(const struct reg_program *p, size_t i)
{
	return atomic_load(p->taken[i]);
}

void registry_raise(struct registry *reg, struct reg_program *p, const char *category, int64_t taken)
{
	for (size_t i = 0; i < p->spec->ncats; i++)
		if (strcmp(p->spec->cats[i].code, category) == 0 && raise_to(p->taken[i], taken))
			atomic_fetch_add(&reg->generation, 1);
}

uint64_t registry_generation(struct registry *reg)
{
	return atomic_load(&reg->generation);
}

bool registry_org_exists(void *arg, const char *code)
{
	struct registry *reg = arg;
	pthread_rwlock_rdlock(&reg->lock);
	bool ok = json_object_get(reg->orgs_by_code, code) != NULL;
	pthread_rwlock_unlock(&reg->lock);
	return ok;
}

const char *registry_org_name(struct registry *reg, const char *code, char *out, size_t n)
{
	pthread_rwlock_rdlock(&reg->lock);
	const char *name = json_string_value(json_object_get(json_object_get(reg->orgs_by_code, code), "name"));
	snprintf(out, n, "%s", name ? name : "");
	pthread_rwlock_unlock(&reg->lock);
	return name ? out : NULL;
}

char *registry_orgs_json(struct registry *reg, size_t *len)
{
	pthread_rwlock_rdlock(&reg->lock);
	char *s = ts_strdup(reg->orgs_json ? reg->orgs_json : "{\"orgs\":[]}");
	pthread_rwlock_unlock(&reg->lock);
	*len = strlen(s);
	return s;
}

bool registry_org_lookup(void *arg, const char *code, char *parent, size_t pn, char *level, size_t ln)
{
	struct registry *reg = arg;
	pthread_rwlock_rdlock(&reg->lock);
	const json_t *o = json_object_get(reg->orgs_by_code, code);
	if (o) {
		const char *p = json_string_value(json_object_get(o, "parent"));
		snprintf(parent, pn, "%s", p ? p : "");
		snprintf(level, ln, "%s", json_string_value(json_object_get(o, "level")));
	}
	pthread_rwlock_unlock(&reg->lock);
	return o != NULL;
}

json_t *registry_subtree(struct registry *reg, const char *root)
{
	json_t *codes = json_array();
	pthread_rwlock_rdlock(&reg->lock);
	json_t *all = json_deep_copy(reg->orgs_by_code);
	pthread_rwlock_unlock(&reg->lock);
	const char *code;
	json_t *o;
	json_object_foreach(all, code, o)
	{
		if (review_in_subtree(root, code, registry_org_lookup, reg))
			json_array_append_new(codes, json_string(code));
	}
	json_decref(all);
	return codes;
}
