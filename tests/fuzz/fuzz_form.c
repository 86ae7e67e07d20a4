/* tests/fuzz/fuzz_form.c — a submission body through what api_app_submit does
 * with it before the writer: json_loadb (JSON_REJECT_DUPLICATES, as in
 * api/common.c), the body's shape, spec_category, form_validate and
 * rules_check against programs/yn2022-skill.json and yn2022-edu.json, with a
 * fuzzed history of earlier applications.
 * Input: one byte choosing program and date, then the request body. */
#include "domain/rules.h"
#include "domain/spec.h"
#include "domain/validate.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef PROGRAMS_DIR
#define PROGRAMS_DIR "programs"
#endif

static struct program_spec *specs[2];

static struct program_spec *load(const char *name)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", getenv("TS_PROGRAMS_DIR") ? getenv("TS_PROGRAMS_DIR") : PROGRAMS_DIR, name);
	json_error_t je;
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		fprintf(stderr, "fuzz_form: cannot load %s: %s\n", path, je.text);
		abort();
	}
	struct program_spec *s = NULL;
	struct ts_error err;
	if (spec_parse(root, &s, &err)) {
		fprintf(stderr, "fuzz_form: %s does not parse: %s\n", path, err.message);
		abort();
	}
	json_decref(root);
	return s;
}

static bool org_exists(void *ctx, const char *code)
{
	(void)ctx;
	return code && strncmp(code, "yn-", 3) == 0 && strlen(code) < 32;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	specs[0] = load("yn2022-skill.json");
	specs[1] = load("yn2022-edu.json");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 64 * 1024)
		return 0; /* the HTTP layer refuses bigger bodies (413) */
	if (size < 1)
		return 0;
	unsigned sel = data[0];
	data++;
	size--;
	const struct program_spec *spec = specs[sel & 1];
	/* 0 and 1: the opening day, 2022-10-17; otherwise a spread of dates */
	int ty = 2022, tm = 10, td = 17;
	if (sel > 1) {
		tm = 1 + (sel >> 1) % 12;
		td = 1 + (sel >> 4) % 28;
		ty = (sel & 0x80) ? 2026 : 2022;
	}
	json_error_t je;
	json_t *body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &je);
	if (!body)
		return 0;
	if (!json_is_object(body)) {
		json_decref(body);
		return 0;
	}
	const char *category = json_string_value(json_object_get(body, "category"));
	const json_t *fields = json_object_get(body, "fields");
	const struct category_def *cat = category ? spec_category(spec, category) : NULL;
	if (!cat)
		cat = &spec->cats[sel % spec->ncats];
	if (!json_is_object(fields)) {
		json_decref(body);
		return 0;
	}
	json_t *errors = json_array();
	json_t *norm = NULL;
	int rc = form_validate(spec, fields, ty, tm, td, org_exists, NULL, &norm, errors);
	static int debug = -1;
	if (debug < 0)
		debug = getenv("FUZZ_DEBUG") != NULL;
	if (debug) {
		char *e = json_dumps(errors, JSON_COMPACT);
		fprintf(stderr, "form_validate %s/%s on %d-%02d-%02d: rc=%d errors=%s\n", spec->id, cat->code, ty, tm, td, rc, e);
		free(e);
	}
	if (rc == 0) {
		/* the history the API would load: here taken from "history" in the body */
		const json_t *hist = json_object_get(body, "history");
		size_t nh = json_is_array(hist) ? json_array_size(hist) : 0;
		if (nh > 16)
			nh = 16;
		struct history_entry h[16];
		size_t k = 0;
		for (size_t i = 0; i < nh; i++) {
			/* as store_person_history gives them: group and level are
			 * NOT NULL columns, fields a JSON object */
			const json_t *e = json_array_get(hist, i);
			h[k].group = json_string_value(json_object_get(e, "group"));
			h[k].year = (int)json_integer_value(json_object_get(e, "year"));
			h[k].level = json_string_value(json_object_get(e, "level"));
			h[k].fields = json_object_get(e, "fields");
			if (h[k].group && h[k].level && json_is_object(h[k].fields))
				k++;
		}
		nh = k;
		struct ts_error err;
		int rr = rules_check(spec, cat, norm, ty, tm, td, h, nh, &err);
		if (debug)
			fprintf(stderr, "rules_check: rc=%d %s\n", rr, rr ? err.message : "");
		if (rr == 0) {
			/* what split_fields does next: every normalised value is JSON-dumpable */
			char *s = json_dumps(norm, JSON_COMPACT | JSON_SORT_KEYS);
			if (!s)
				abort();
			free(s);
		}
	} else if (json_array_size(errors) == 0) {
		abort(); /* a refusal must say which field is wrong */
	}
	json_decref(norm);
	json_decref(errors);
	json_decref(body);
	return 0;
}
