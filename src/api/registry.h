/* api/registry.h — the programs and the union tree, held in memory.
 *
 * Loaded from the store at start and refreshed by a background thread once a
 * second when the store's programs version changes, so `tisheng program load`
 * takes effect on a running server. Places taken per category are kept here
 * too, raised by the writer after each commit and by the refresh (never
 * lowered), so reading the remaining places touches no database.
 */
#ifndef TS_API_REGISTRY_H
#define TS_API_REGISTRY_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "domain/spec.h"
#include "store/store.h"

struct reg_program {
	struct program_spec *spec;
	_Atomic int64_t **taken; /* per category, in spec order; cells outlive programs */
	_Atomic int refs;
};

struct registry;

int registry_new(struct store *store, struct registry **out, struct ts_error *err) __attribute__((warn_unused_result));
void registry_free(struct registry *reg);
/* Starts the refresh thread. */
int registry_start(struct registry *reg, struct ts_error *err) __attribute__((warn_unused_result));

/* A counted reference to a program, or NULL; release with registry_put. */
struct reg_program *registry_get(struct registry *reg, const char *id);
void registry_put(struct reg_program *p);
/* Counted references to every program, in id order; *n set. Release each. */
struct reg_program **registry_all(struct registry *reg, size_t *n);

/* Places taken in category index i of p. */
int64_t registry_taken(const struct reg_program *p, size_t i);
/* Raises the taken count (writer callback). */
void registry_raise(struct registry *reg, struct reg_program *p, const char *category, int64_t taken);
/* A number that changes whenever a taken count or the programs change. */
uint64_t registry_generation(struct registry *reg);

bool registry_org_exists(void *reg, const char *code);
/* The org object {code,name,level,parent} (borrowed until the next refresh
 * — copy what you keep), or NULL. */
const char *registry_org_name(struct registry *reg, const char *code, char *out, size_t n);
/* The org_lookup_fn of domain/review.h over the registry's union tree. */
bool registry_org_lookup(void *reg, const char *code, char *parent, size_t pn, char *level, size_t ln);
/* The codes of `root` and every union below it (new reference). */
json_t *registry_subtree(struct registry *reg, const char *root);
/* {"orgs":[…]} as compact JSON text, prepared once per refresh. Caller frees. */
char *registry_orgs_json(struct registry *reg, size_t *len);

#endif
