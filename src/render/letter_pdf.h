/* render/letter_pdf.h — a formal letter with a table, as PDF: the
 * 推荐承诺书 (附件1 / 附件3) a union signs and stamps. */
#ifndef TS_RENDER_LETTER_PDF_H
#define TS_RENDER_LETTER_PDF_H

#include <jansson.h>

#include "core/buf.h"
#include "core/error.h"

/* `doc` is {"title", "subtitle"? (a line under it), "addressee", "paragraphs":[…], "columns":[…labels…],
 * "rows":[[…strings…]], "closing":[…], "signatures":[…]} with every
 * placeholder already filled. A4 portrait, the table continues over pages
 * with its header repeated; signatures stand at the bottom right. Appends
 * the PDF to out; on error returns a TS_E* code and fills err. */
int render_letter_pdf(const json_t *doc, struct ts_buf *out, struct ts_error *err) __attribute__((warn_unused_result));

#endif
