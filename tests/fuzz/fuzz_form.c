/* tests/fuzz/fuzz_form.c — a submission body through what api_app_submit does
 * with it before the writer: submit_body_parse (yajl, api/body.c), the
 * body's shape, spec_category, form_check and rules_check_values against
 * programs/yn2022-skill.json and yn2022-edu.json, with a fuzzed history of
 * earlier applications, then the stored JSON written by json_out.
 * Differential: the body must be accepted exactly when jansson's
 * json_loadb (JSON_REJECT_DUPLICATES, the other endpoints' parser) accepts
 * it as an object, with the same values; the normalised fields must be the
 * same as form_validate's (the jansson path of edits and drafts); and the
 * written JSON must read back, by jansson, to the same values.
 * Input: one byte choosing program and date, then the request body. */
#include "api/body.h"
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
	struct submit_body sb;
	char msg[200];
	int prc = submit_body_parse((const char *)data, size, &sb, msg, sizeof(msg));
	bool j_ok = body && json_is_object(body);
	if (prc == 0 && !j_ok) {
		/* documented difference: repeated keys deeper than "fields" are
		 * not looked for (the values there are refused anyway) */
		if (!body && strstr(je.text, "duplicate object key")) {
			submit_body_free(&sb);
			return 0;
		}
		fprintf(stderr, "yajl accepted what jansson refused: %s\n", body ? "not an object" : je.text);
		abort();
	}
	if (prc != 0 && j_ok) {
		/* documented limits of submit_body_parse; and jansson lets a NUL
		 * byte just after a number by (elsewhere it reads it as the end of
		 * the text), which yajl, as RFC 8259, refuses */
		if (strstr(msg, "嵌套层数过多") || strstr(msg, "字段过多") || memchr(data, 0, size)) {
			json_decref(body);
			return 0;
		}
		fprintf(stderr, "yajl refused what jansson accepted: %s\n", msg);
		abort();
	}
	if (prc != 0) {
		json_decref(body);
		return 0;
	}
	/* the same values as jansson read */
	const char *jp = json_string_value(json_object_get(body, "program"));
	const char *jc = json_string_value(json_object_get(body, "category"));
	if ((jp == NULL) != (sb.program == NULL) || (jp && strcmp(jp, sb.program) != 0) ||
	    (jc == NULL) != (sb.category == NULL) || (jc && strcmp(jc, sb.category) != 0))
		abort();
	if (json_is_object(json_object_get(body, "fields")) != sb.fields_object)
		abort();
	{
		const char *k;
		json_t *v;
		const char *first_unknown = NULL;
		json_object_foreach(body, k, v)
		{
			if (!first_unknown && strcmp(k, "program") && strcmp(k, "category") && strcmp(k, "fields"))
				first_unknown = k;
		}
		if ((first_unknown == NULL) != (sb.unknown_key == NULL) ||
		    (first_unknown && strcmp(first_unknown, sb.unknown_key) != 0))
			abort();
	}
	if (sb.fields_object) {
		struct form_values jf;
		form_values_init(&jf);
		if (form_values_from_json(&jf, json_object_get(body, "fields")) || jf.n != sb.fields.n)
			abort();
		for (size_t i = 0; i < jf.n; i++) {
			const struct form_value *a = &jf.v[i], *b = &sb.fields.v[i];
			if (strcmp(a->key, b->key) != 0 || a->kind != b->kind)
				abort();
			if (a->kind == FORM_STRING && (a->len != b->len || memcmp(a->str, b->str, a->len) != 0))
				abort();
			if (a->kind == FORM_INTEGER && a->num != b->num)
				abort();
		}
		form_values_free(&jf);
	}
	const char *category = sb.category;
	const struct category_def *cat = category ? spec_category(spec, category) : NULL;
	if (!cat)
		cat = &spec->cats[sel % spec->ncats];
	if (!sb.fields_object) {
		submit_body_free(&sb);
		json_decref(body);
		return 0;
	}
	json_t *errors = json_array();
	struct form_values norm;
	form_values_init(&norm);
	int rc = form_check(spec, &sb.fields, ty, tm, td, org_exists, NULL, &norm, errors);
	static int debug = -1;
	if (debug < 0)
		debug = getenv("FUZZ_DEBUG") != NULL;
	if (debug) {
		char *e = json_dumps(errors, JSON_COMPACT);
		fprintf(stderr, "form_check %s/%s on %d-%02d-%02d: rc=%d errors=%s\n", spec->id, cat->code, ty, tm, td, rc, e);
		free(e);
	}
	/* the jansson path gives the same answer and the same values */
	json_t *jerrors = json_array(), *jnorm = NULL;
	int jrc = form_validate(spec, json_object_get(body, "fields"), ty, tm, td, org_exists, NULL, &jnorm, jerrors);
	if (jrc != rc || !json_equal(errors, jerrors))
		abort();
	if (rc == 0) {
		json_t *mine = form_values_to_json(&norm);
		if (!json_equal(mine, jnorm))
			abort();
		json_decref(mine);
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
		int rr = rules_check_values(spec, cat, &norm, ty, tm, td, h, nh, &err);
		if (debug)
			fprintf(stderr, "rules_check: rc=%d %s\n", rr, rr ? err.message : "");
		struct ts_error jerr;
		if (rules_check(spec, cat, jnorm, ty, tm, td, h, nh, &jerr) != rr)
			abort();
		if (rr == 0) {
			/* what split_fields does next: the values written by json_out
			 * read back by jansson as they are */
			struct json_out o;
			json_out_init(&o);
			json_out_map(&o, true);
			for (size_t i = 0; i < norm.n; i++) {
				json_out_text(&o, norm.v[i].key);
				if (norm.v[i].kind == FORM_INTEGER)
					json_out_int(&o, norm.v[i].num);
				else
					json_out_str(&o, norm.v[i].str, norm.v[i].len);
			}
			json_out_map(&o, false);
			char *text;
			size_t n;
			if (json_out_finish(&o, &text, &n))
				abort();
			json_t *back = json_loadb(text, n, JSON_REJECT_DUPLICATES, &je);
			if (!back || !json_equal(back, jnorm)) {
				fprintf(stderr, "json_out wrote %.*s: %s\n", (int)n, text, back ? "other values" : je.text);
				abort();
			}
			json_decref(back);
			free(text);
			json_out_free(&o);
		}
	} else if (json_array_size(errors) == 0) {
		abort(); /* a refusal must say which field is wrong */
	}
	json_decref(jnorm);
	json_decref(jerrors);
	form_values_free(&norm);
	submit_body_free(&sb);
	json_decref(errors);
	json_decref(body);
	return 0;
}
