/* tests/fuzz/fuzz_spec.c — program specs (the JSON of programs/NAME.json, as
 * `tisheng program load` reads them) through spec_parse, then the lookups the
 * server does on a parsed spec. */
#include "domain/spec.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 512 * 1024)
		return 0;
	json_error_t je;
	json_t *root = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return 0;
	struct program_spec *spec = NULL;
	struct ts_error err;
	if (spec_parse(root, &spec, &err) == 0) {
		for (size_t i = 0; i < spec->ncats; i++)
			if (spec_category(spec, spec->cats[i].code) != &spec->cats[i] && !spec_category(spec, spec->cats[i].code))
				abort();
		for (size_t i = 0; i < spec->nfields; i++) {
			if (!spec_field(spec, spec->fields[i].key))
				abort();
			(void)spec_field_sensitive(&spec->fields[i]);
		}
		for (size_t i = 0; i <= spec->nstages; i++)
			(void)spec_stage_waiting_status(spec, i);
		const json_t *order = spec_level_order(spec);
		if (order)
			(void)spec_order_index(order, "技师（二级）");
		spec_free(spec);
	}
	json_decref(root);
	return 0;
}
