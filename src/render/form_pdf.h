/* render/form_pdf.h — the printable application form (申报表) as PDF.
 *
 * The layout comes from the program spec's "print" section
 * (docs/program-spec.md): a grid of labelled cells on A4 portrait, drawn with
 * cairo + pango in an embedded CJK font (Noto Sans/Serif CJK SC), so the file
 * prints the same on any machine.
 */
#ifndef TS_RENDER_FORM_PDF_H
#define TS_RENDER_FORM_PDF_H

#include <jansson.h>

#include "core/buf.h"
#include "core/error.h"

/* Renders `print` (the spec's "print" object) filled with `values`, a JSON
 * object mapping field keys and pseudo-field keys to strings (or numbers),
 * already decrypted and formatted. A missing value leaves its cell empty.
 * On success returns 0 and appends the PDF bytes to `out`. On error returns a
 * negative TS_E* code, fills `err`, and `out` holds no partial file. */
int render_form_pdf(const json_t *print, const json_t *values, struct ts_buf *out,
		    struct ts_error *err) __attribute__((warn_unused_result));

#endif
