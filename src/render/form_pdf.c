/* render/form_pdf.c — draws the spec's "print" grid as an A4 PDF (form_pdf.h).
 *
 * Three passes over one request-local struct form: parse (validate the layout
 * and resolve every cell's text), measure (pango layouts, row heights, page
 * breaks), draw (cairo PDF surface writing into a private buffer that is
 * appended to the caller's only when the whole file is good).
 *
 * Thread safety: no globals. pango_cairo_create_context() uses the calling
 * thread's default font map (per thread since pango 1.32), and every layout,
 * surface and buffer belongs to this call.
 */
#include "render/form_pdf.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <jansson.h>
#include <math.h>
#include <pango/pangocairo.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/error.h"
#include "core/mem.h"

/* Geometry in PDF points (1/72 in). */
#define PAGE_W 595.28
#define PAGE_H 841.89
#define MARGIN_X 56.69 /* 20 mm */
#define MARGIN_TOP 51.02 /* 18 mm */
#define MARGIN_BOTTOM 56.69
#define TABLE_W (PAGE_W - 2 * MARGIN_X)
#define BODY_H (PAGE_H - MARGIN_TOP - MARGIN_BOTTOM)
#define LINE_UNIT 27.0 /* one "height" unit of a row, about 9.5 mm */
#define PAD_X 3.5
#define PAD_Y 3.5
#define RULE_INNER 0.6
#define RULE_OUTER 1.2

#define SERIF "Noto Serif CJK SC"
#define BODY_PT 10.5
#define LABEL_MIN_PT 9.0 /* labels shrink this far before they wrap */
#define VALUE_MIN_PT 8.0 /* and values in single-height rows this far */
#define TITLE_PT 16.0
#define META_PT 9.0
#define FOOTER_PT 10.0
#define SMALL_PT 7.5

/* Limits that keep a hostile or mistaken spec from doing unbounded work. */
#define MAX_COLUMNS 24
#define MAX_ROWS 300
#define MAX_ROW_UNITS 20 /* 20 × LINE_UNIT still fits one page */
#define MAX_FIELDS_PER_CELL 16
#define MAX_KEY_LEN 40
#define MAX_CELL_TEXT 16384 /* bytes; far more than a page can hold */
#define MAX_NOTE_TEXT 2000  /* bytes of title or footer */

#define STAMP_TEXT "盖章：　　　　　年　　月　　日"

/* Sizes tried, in order, for a row whose text does not fit on a fresh page. */
static const double shrink_pts[] = {BODY_PT, 9.5, 8.5, 7.5, 6.5};

enum cell_kind { CELL_LABEL, CELL_TEXT, CELL_VALUE, CELL_SIGN, CELL_BLANK };

struct cell {
	enum cell_kind kind;
	int span;
	char *text;          /* owned, sanitised; NULL when the cell shows nothing */
	PangoLayout *layout; /* owned; the text, or the stamp line of a sign cell */
	double x, w;         /* box, from the left page edge */
	double lw, lh, lx;   /* the layout's logical width, height and x offset */
};

struct row {
	struct cell *cells;
	size_t ncells;
	int units; /* nominal height in LINE_UNITs */
	double h;  /* drawn height, >= units * LINE_UNIT */
	double y;
	int page;
};

struct form {
	int columns;
	char *title, *meta, *footer, *receipt; /* owned; NULL when absent */
	struct row *rows;
	size_t nrows;
	PangoLayout *title_l, *meta_l, *footer_l, *receipt_l, *pageno_l;
	double title_y, meta_y, footer_y;
	int footer_page;
	int npages;
};

/* ---- parse ------------------------------------------------------------ */

static int layout_error(struct ts_error *err, const char *what)
{
	return ts_error_set(err, TS_EINVAL, "invalid_layout", "申报表打印版式无效：%s", what);
}

static int cell_error(struct ts_error *err, size_t r, size_t c, const char *what)
{
	return ts_error_set(err, TS_EINVAL, "invalid_layout", "申报表打印版式无效：第 %zu 行第 %zu 格%s",
			    r + 1, c + 1, what);
}

/* Copies (s, len) replacing control characters other than newline by spaces
 * (a NUL or a tab inside user text must not cut or disturb the layout).
 * Returns NULL when the result would be empty or is not valid UTF-8; sets
 * *bad in the latter case. */
static char *text_clean(const char *s, size_t len, bool *bad)
{
	*bad = false;
	if (len == 0)
		return NULL;
	char *t = ts_malloc(len + 1);
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '\r' && i + 1 < len && s[i + 1] == '\n')
			continue;
		t[n++] = (ch < 0x20 && ch != '\n') || ch == 0x7f ? ' ' : (char)ch;
	}
	t[n] = '\0';
	if (!g_utf8_validate(t, (gssize)n, NULL)) {
		*bad = true;
		free(t);
		return NULL;
	}
	return t;
}

static bool key_valid(const char *k)
{
	size_t n = strlen(k);
	if (n == 0 || n > MAX_KEY_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((k[i] >= 'a' && k[i] <= 'z') || k[i] == '_'))
			return false;
	return true;
}

/* Appends the text of values[key] to b. Absent and null values append
 * nothing. Returns 0, TS_EINVAL for a value of another JSON type, or
 * TS_ETOOBIG from the buffer. */
static int value_append(const json_t *values, const char *key, struct ts_buf *b,
			struct ts_error *err)
{
	const json_t *v = values ? json_object_get(values, key) : NULL;
	int rc = 0;
	if (!v || json_is_null(v))
		return 0;
	if (json_is_string(v))
		rc = ts_buf_append(b, json_string_value(v), json_string_length(v));
	else if (json_is_integer(v))
		rc = ts_buf_printf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_real(v))
		rc = ts_buf_printf(b, "%.15g", json_real_value(v));
	else
		return ts_error_set(err, TS_EINVAL, "invalid_values", "字段 %s 的值类型无效（应为文字或数字）",
				    key);
	if (rc)
		return ts_error_set(err, rc, "too_big", "字段 %s 的内容过长", key);
	return 0;
}

/* Turns the raw text in b into an owned clean string (or NULL). */
static int buf_to_text(struct ts_buf *b, char **out, struct ts_error *err)
{
	bool bad;
	*out = text_clean(b->ptr, b->len, &bad);
	if (bad)
		return ts_error_set(err, TS_EINVAL, "invalid_values", "申报表内容含有无效的文字编码");
	return 0;
}

/* Resolves `{"field": K}` or `{"fields": [K…], "sep": S}` into cell->text. */
static int parse_value_cell(struct cell *cell, const json_t *jc, const json_t *values, size_t r,
			    size_t c, struct ts_error *err)
{
	const json_t *field = json_object_get(jc, "field");
	const json_t *fields = json_object_get(jc, "fields");
	const json_t *sep = json_object_get(jc, "sep");
	struct ts_buf b;
	int rc = 0;

	if (field && (!json_is_string(field) || !key_valid(json_string_value(field))))
		return cell_error(err, r, c, "的 field 须是由小写字母和下划线组成的字段名");
	if (fields && (!json_is_array(fields) || json_array_size(fields) == 0 ||
		       json_array_size(fields) > MAX_FIELDS_PER_CELL))
		return cell_error(err, r, c, "的 fields 须是 1 至 16 个字段名的数组");
	if (sep && !json_is_string(sep))
		return cell_error(err, r, c, "的 sep 须是文字");

	ts_buf_init(&b, 0);
	if (field) {
		rc = value_append(values, json_string_value(field), &b, err);
		goto out_text;
	}
	for (size_t i = 0; i < json_array_size(fields); i++) {
		const json_t *k = json_array_get(fields, i);
		if (!json_is_string(k) || !key_valid(json_string_value(k))) {
			rc = cell_error(err, r, c, "的 fields 须是由小写字母和下划线组成的字段名");
			goto out_free;
		}
		size_t before = b.len;
		const char *s = sep ? json_string_value(sep) : " ";
		size_t slen = sep ? json_string_length(sep) : 1;
		if (before > 0 && (rc = ts_buf_append(&b, s, slen)) != 0) {
			rc = ts_error_set(err, rc, "too_big", "申报表内容过长");
			goto out_free;
		}
		size_t with_sep = b.len;
		if ((rc = value_append(values, json_string_value(k), &b, err)) != 0)
			goto out_free;
		if (b.len == with_sep) { /* absent value: drop its separator too */
			b.len = before;
			b.ptr[before] = '\0';
		}
	}
out_text:
	if (rc == 0)
		rc = buf_to_text(&b, &cell->text, err);
out_free:
	ts_buf_free(&b);
	return rc;
}

static int parse_cell(struct cell *cell, const json_t *jc, const json_t *values, int columns,
		      size_t r, size_t c, struct ts_error *err)
{
	static const char *const kinds[] = {"label", "text", "field", "fields", "sign", "blank"};
	const json_t *span, *v;
	size_t nkinds = 0;
	bool bad;

	if (!json_is_object(jc))
		return cell_error(err, r, c, "须是对象");
	span = json_object_get(jc, "span");
	cell->span = 1;
	if (span) {
		if (!json_is_integer(span) || json_integer_value(span) < 1 ||
		    json_integer_value(span) > columns)
			return cell_error(err, r, c, "的 span 须是 1 至 columns 之间的整数");
		cell->span = (int)json_integer_value(span);
	}
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		nkinds += json_object_get(jc, kinds[i]) != NULL;
	if (nkinds != 1)
		return cell_error(err, r, c, "须且只能是 label、text、field、fields、sign、blank 之一");

	if ((v = json_object_get(jc, "label")) || (v = json_object_get(jc, "text"))) {
		if (!json_is_string(v))
			return cell_error(err, r, c, "的 label/text 须是文字");
		cell->kind = json_object_get(jc, "label") ? CELL_LABEL : CELL_TEXT;
		cell->text = text_clean(json_string_value(v), json_string_length(v), &bad);
		return bad ? cell_error(err, r, c, "的文字编码无效") : 0;
	}
	if ((v = json_object_get(jc, "sign")) || (v = json_object_get(jc, "blank"))) {
		if (!json_is_true(v))
			return cell_error(err, r, c, "的 sign/blank 只能是 true");
		cell->kind = json_object_get(jc, "sign") ? CELL_SIGN : CELL_BLANK;
		return 0;
	}
	cell->kind = CELL_VALUE;
	return parse_value_cell(cell, jc, values, r, c, err);
}

static int parse_row(struct row *row, const json_t *jr, const json_t *values, int columns,
		     size_t r, struct ts_error *err)
{
	const json_t *cells, *height;
	int spans = 0;

	if (!json_is_object(jr))
		return ts_error_set(err, TS_EINVAL, "invalid_layout",
				    "申报表打印版式无效：第 %zu 行须是对象", r + 1);
	height = json_object_get(jr, "height");
	row->units = 1;
	if (height) {
		if (!json_is_integer(height) || json_integer_value(height) < 1 ||
		    json_integer_value(height) > MAX_ROW_UNITS)
			return ts_error_set(err, TS_EINVAL, "invalid_layout",
					    "申报表打印版式无效：第 %zu 行的 height 须是 1 至 %d 的整数",
					    r + 1, MAX_ROW_UNITS);
		row->units = (int)json_integer_value(height);
	}
	cells = json_object_get(jr, "cells");
	if (!json_is_array(cells) || json_array_size(cells) == 0 ||
	    json_array_size(cells) > (size_t)columns)
		return ts_error_set(err, TS_EINVAL, "invalid_layout",
				    "申报表打印版式无效：第 %zu 行须有 cells 数组（1 至 columns 个格）", r + 1);
	row->ncells = json_array_size(cells);
	row->cells = ts_calloc(row->ncells, sizeof(*row->cells));
	for (size_t c = 0; c < row->ncells; c++) {
		int rc = parse_cell(&row->cells[c], json_array_get(cells, c), values, columns, r, c, err);
		if (rc)
			return rc;
		/* Bound the layout work before pango sees the text. */
		if (row->cells[c].text && strlen(row->cells[c].text) > MAX_CELL_TEXT)
			return ts_error_set(err, TS_EINVAL, "print_overflow",
					    "申报表第 %zu 行第 %zu 格的内容过多，打印不下", r + 1, c + 1);
		spans += row->cells[c].span;
	}
	if (spans != columns)
		return ts_error_set(err, TS_EINVAL, "invalid_layout",
				    "申报表打印版式无效：第 %zu 行各格的 span 之和为 %d，应为 %d", r + 1,
				    spans, columns);
	return 0;
}

/* The optional string `key` of obj, cleaned, into *out (NULL when absent). */
static int optional_text(const json_t *obj, const char *key, char **out, struct ts_error *err)
{
	const json_t *v = json_object_get(obj, key);
	bool bad;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return ts_error_set(err, TS_EINVAL, "invalid_layout", "申报表打印版式无效：%s 须是文字",
				    key);
	if (json_string_length(v) > MAX_NOTE_TEXT)
		return ts_error_set(err, TS_EINVAL, "invalid_layout", "申报表打印版式无效：%s 过长", key);
	*out = text_clean(json_string_value(v), json_string_length(v), &bad);
	return bad ? layout_error(err, "文字编码无效") : 0;
}

static int value_text(const json_t *values, const char *key, char **out, struct ts_error *err)
{
	struct ts_buf b;
	ts_buf_init(&b, 0);
	int rc = value_append(values, key, &b, err);
	if (rc == 0)
		rc = buf_to_text(&b, out, err);
	ts_buf_free(&b);
	return rc;
}

/* The small line under the title: 申报序号 and 提交时间 when known. */
static int parse_meta(struct form *f, const json_t *values, struct ts_error *err)
{
	char *rank = NULL, *when = NULL;
	struct ts_buf b;
	int rc;

	ts_buf_init(&b, 0);
	if ((rc = value_text(values, "rank", &rank, err)) != 0 ||
	    (rc = value_text(values, "submitted_at", &when, err)) != 0 ||
	    (rc = value_text(values, "receipt", &f->receipt, err)) != 0)
		goto out_free;
	if (rank && (rc = ts_buf_printf(&b, "申报序号：%s", rank)) != 0)
		goto out_big;
	if (when && (rc = ts_buf_printf(&b, "%s提交时间：%s", rank ? "　　" : "", when)) != 0)
		goto out_big;
	if (b.len)
		f->meta = ts_strdup(b.ptr);
	goto out_free;
out_big:
	rc = ts_error_set(err, rc, "too_big", "申报序号或提交时间过长");
out_free:
	free(rank);
	free(when);
	ts_buf_free(&b);
	return rc;
}

static int form_parse(struct form *f, const json_t *print, const json_t *values,
		      struct ts_error *err)
{
	const json_t *columns, *rows;
	int rc;

	if (!json_is_object(print))
		return layout_error(err, "缺少 print 对象");
	if (values && !json_is_object(values) && !json_is_null(values))
		return ts_error_set(err, TS_EINVAL, "invalid_values", "申报表的填写内容须是对象");
	if (values && json_is_null(values))
		values = NULL;

	columns = json_object_get(print, "columns");
	if (!json_is_integer(columns) || json_integer_value(columns) < 1 ||
	    json_integer_value(columns) > MAX_COLUMNS)
		return layout_error(err, "columns 须是 1 至 24 的整数");
	f->columns = (int)json_integer_value(columns);

	rows = json_object_get(print, "rows");
	if (!json_is_array(rows) || json_array_size(rows) == 0 || json_array_size(rows) > MAX_ROWS)
		return layout_error(err, "rows 须是非空数组（至多 300 行）");

	if ((rc = optional_text(print, "title", &f->title, err)) != 0 ||
	    (rc = optional_text(print, "footer", &f->footer, err)) != 0)
		return rc;
	if (!f->title && (rc = value_text(values, "program_title", &f->title, err)) != 0)
		return rc;
	if ((rc = parse_meta(f, values, err)) != 0)
		return rc;

	f->nrows = json_array_size(rows);
	f->rows = ts_calloc(f->nrows, sizeof(*f->rows));
	for (size_t r = 0; r < f->nrows; r++)
		if ((rc = parse_row(&f->rows[r], json_array_get(rows, r), values, f->columns, r, err)))
			return rc;
	return 0;
}

static void form_free(struct form *f)
{
	for (size_t r = 0; r < f->nrows; r++) {
		struct row *row = &f->rows[r];
		for (size_t c = 0; row->cells && c < row->ncells; c++) {
			free(row->cells[c].text);
			if (row->cells[c].layout)
				g_object_unref(row->cells[c].layout);
		}
		free(row->cells);
	}
	free(f->rows);
	PangoLayout *ls[] = {f->title_l, f->meta_l, f->footer_l, f->receipt_l, f->pageno_l};
	for (size_t i = 0; i < sizeof(ls) / sizeof(ls[0]); i++)
		if (ls[i])
			g_object_unref(ls[i]);
	free(f->title);
	free(f->meta);
	free(f->footer);
	free(f->receipt);
}

/* ---- measure ---------------------------------------------------------- */

static void layout_font(PangoLayout *l, const char *family, double pt, PangoWeight weight)
{
	PangoFontDescription *fd = pango_font_description_new();
	pango_font_description_set_family(fd, family);
	pango_font_description_set_weight(fd, weight);
	pango_font_description_set_size(fd, (gint)lround(pt * PANGO_SCALE));
	pango_layout_set_font_description(l, fd);
	pango_font_description_free(fd);
}

/* A new layout holding plain text (never markup: the text is user input). */
static PangoLayout *layout_new(PangoContext *ctx, const char *text, const char *family, double pt,
			       PangoWeight weight)
{
	PangoLayout *l = pango_layout_new(ctx);
	layout_font(l, family, pt, weight);
	pango_layout_set_wrap(l, PANGO_WRAP_WORD_CHAR);
	pango_layout_set_text(l, text, -1);
	return l;
}

static void layout_width(PangoLayout *l, double w)
{
	pango_layout_set_width(l, w < 0 ? -1 : (int)floor(w * PANGO_SCALE));
}

/* Logical extents in points. */
static void layout_extents(PangoLayout *l, double *x, double *w, double *h)
{
	PangoRectangle lr;
	pango_layout_get_extents(l, NULL, &lr);
	if (x)
		*x = (double)lr.x / PANGO_SCALE;
	if (w)
		*w = (double)lr.width / PANGO_SCALE;
	if (h)
		*h = (double)lr.height / PANGO_SCALE;
}

/* Splits text too wide for one line into two at a natural point: after a
 * closing bracket, "、", "，" or a space outside brackets, picking the most
 * even pair that both fit avail in l's current font — so the title reads
 * "…（农民工、新就业形态劳动者）" / "技能等级晋升补助申报表" and a label
 * "县（市、区）" / "总工会审核意见"; a break before an opening bracket is
 * also allowed ("职业" / "（工种）"). Returns a new string holding a newline,
 * or NULL when no such break exists. Leaves l's text changed. */
static char *split_two(PangoLayout *l, const char *t, double avail)
{
	size_t len = strlen(t), best = 0;
	double best_diff = INFINITY;
	int depth = 0;

	for (const char *p = t; *p; p = g_utf8_next_char(p)) {
		gunichar ch = g_utf8_get_char(p);
		size_t at = (size_t)(g_utf8_next_char(p) - t);
		bool cut = false;
		if (ch == 0xFF08 || ch == '(') {
			cut = depth++ == 0; /* before the bracket: "职业" / "（工种）" */
			at = (size_t)(p - t);
		} else if (ch == 0xFF09 || ch == ')') {
			cut = --depth == 0;
		} else if (depth == 0) {
			cut = ch == 0x3001 || ch == 0xFF0C || ch == ' ';
		}
		if (ch == '\n')
			return NULL; /* the author broke it already */
		if (!cut || at == 0 || at >= len)
			continue;
		double w1, w2;
		pango_layout_set_text(l, t, (int)at);
		layout_extents(l, NULL, &w1, NULL);
		pango_layout_set_text(l, t + at, (int)(len - at));
		layout_extents(l, NULL, &w2, NULL);
		if (w1 <= avail && w2 <= avail && fabs(w1 - w2) <= best_diff) {
			best_diff = fabs(w1 - w2);
			best = at;
		}
	}
	if (!best)
		return NULL;
	size_t end1 = t[best - 1] == ' ' ? best - 1 : best; /* a space at the break is not printed */
	char *s = ts_malloc(len + 2);
	memcpy(s, t, end1);
	s[end1] = '\n';
	memcpy(s + end1 + 1, t + best, len - best + 1);
	return s;
}

/* Tries to keep l on one line within avail by stepping the size down from
 * pt to min_pt. Returns true (font set to the size that fits) or false
 * (font left at pt, unwrapped). */
static bool fit_one_line(PangoLayout *l, const char *family, double avail, double pt, double min_pt)
{
	double w;
	layout_width(l, -1);
	for (double s = pt; s >= min_pt - 1e-9; s -= 0.5) {
		layout_font(l, family, s, PANGO_WEIGHT_NORMAL);
		layout_extents(l, NULL, &w, NULL);
		if (w <= avail)
			return true;
	}
	layout_font(l, family, pt, PANGO_WEIGHT_NORMAL);
	return false;
}

/* Wraps l (font already set, no width) into lines of even length, so that
 * "工作单位职务" becomes 3 + 3 characters rather than 5 + 1. */
static void wrap_even(PangoLayout *l, double avail, double pt)
{
	double w;
	layout_width(l, -1);
	layout_extents(l, NULL, &w, NULL);
	if (w <= avail)
		return;
	int lines = (int)ceil(w / avail);
	for (int k = 1; k <= 4; k++) {
		double tw = w / lines + k * 0.5 * pt;
		if (tw >= avail)
			break;
		layout_width(l, tw);
		if (pango_layout_get_line_count(l) <= lines)
			return;
	}
	layout_width(l, avail);
}

/* Labels are short captions in narrow cells: in single-height rows keep
 * them on one line by shrinking a little; otherwise break at a natural
 * point, else into even lines. */
static void fit_label(PangoLayout *l, const char *text, double avail, double pt, bool may_shrink)
{
	pango_layout_set_alignment(l, PANGO_ALIGN_CENTER);
	pango_layout_set_text(l, text, -1);
	if (fit_one_line(l, SERIF, avail, pt, may_shrink ? fmax(LABEL_MIN_PT, pt - 2) : pt))
		return;
	char *two = split_two(l, text, avail);
	pango_layout_set_text(l, two ? two : text, -1);
	free(two);
	if (!two)
		wrap_even(l, avail, pt);
}

/* True when text has no place a reader expects a line break: no space and
 * no CJK (a phone, ID or certificate number, an e-mail address). */
static bool text_unbreakable(const char *t)
{
	for (const char *p = t; *p; p = g_utf8_next_char(p)) {
		gunichar ch = g_utf8_get_char(p);
		if (g_unichar_isspace(ch) || ch >= 0x2E80)
			return false;
	}
	return true;
}

/* Values and fixed text, left-aligned. In a single-height row a number or
 * address that cannot break reads better a little smaller than cut in two;
 * Chinese text only shrinks slightly, then breaks at a natural point, then
 * wraps. Tall boxes simply wrap. */
static void fit_value(PangoLayout *l, const char *text, double avail, double pt, bool single)
{
	pango_layout_set_alignment(l, PANGO_ALIGN_LEFT);
	pango_layout_set_text(l, text, -1);
	if (!single) {
		layout_font(l, SERIF, pt, PANGO_WEIGHT_NORMAL);
		layout_width(l, avail);
		return;
	}
	double min_pt = text_unbreakable(text) ? fmax(VALUE_MIN_PT, pt - 2.5) : pt - 1;
	if (fit_one_line(l, SERIF, avail, pt, min_pt))
		return;
	char *two = split_two(l, text, avail);
	pango_layout_set_text(l, two ? two : text, -1);
	free(two);
	layout_width(l, avail);
}

/* Lays out one cell at body size pt; returns the height the cell needs. */
static double measure_cell(struct cell *c, PangoContext *ctx, double pt, int units)
{
	double avail = c->w - 2 * PAD_X;

	if (c->kind == CELL_SIGN) {
		if (!c->layout) {
			c->layout = layout_new(ctx, STAMP_TEXT, SERIF, BODY_PT, PANGO_WEIGHT_NORMAL);
			pango_layout_set_alignment(c->layout, PANGO_ALIGN_RIGHT);
			layout_width(c->layout, avail);
		}
		layout_extents(c->layout, &c->lx, &c->lw, &c->lh);
		/* Room to write an opinion above the stamp line. */
		return c->lh + LINE_UNIT + 2 * PAD_Y;
	}
	if (!c->text)
		return 0;
	if (!c->layout)
		c->layout = layout_new(ctx, c->text, SERIF, pt, PANGO_WEIGHT_NORMAL);
	if (c->kind == CELL_LABEL) {
		fit_label(c->layout, c->text, avail, pt, units == 1);
	} else {
		fit_value(c->layout, c->text, avail, pt, units == 1);
	}
	layout_extents(c->layout, &c->lx, &c->lw, &c->lh);
	return c->lh + 2 * PAD_Y;
}

static double measure_row(struct row *row, PangoContext *ctx, double pt)
{
	double h = row->units * LINE_UNIT;
	for (size_t c = 0; c < row->ncells; c++) {
		double need = measure_cell(&row->cells[c], ctx, pt, row->units);
		if (need > h)
			h = need;
	}
	return h;
}

static void measure_title(struct form *f, PangoContext *ctx)
{
	double w;
	PangoLayout *l = layout_new(ctx, f->title, SERIF, TITLE_PT, PANGO_WEIGHT_BOLD);
	f->title_l = l;
	pango_layout_set_alignment(l, PANGO_ALIGN_CENTER);
	pango_layout_set_spacing(l, 4 * PANGO_SCALE);
	layout_extents(l, NULL, &w, NULL);
	/* Edge to edge looks crowded: long titles go on two lines. */
	if (w <= TABLE_W * 0.88)
		return;
	char *two = split_two(l, f->title, TABLE_W);
	if (two) {
		free(f->title);
		f->title = two;
	}
	pango_layout_set_text(l, f->title, -1);
	if (!two)
		wrap_even(l, TABLE_W, TITLE_PT);
}

/* Measures everything and assigns rows to pages. Returns 0, or TS_EINVAL
 * when a row cannot fit one page even at the smallest type. */
static int form_measure(struct form *f, PangoContext *ctx, struct ts_error *err)
{
	double y = MARGIN_TOP, bottom = PAGE_H - MARGIN_BOTTOM, colw = TABLE_W / f->columns;
	int page = 0;

	if (f->title) {
		measure_title(f, ctx);
		double h;
		layout_extents(f->title_l, NULL, NULL, &h);
		f->title_y = y;
		y += h + 10;
	}
	if (f->meta) {
		double h;
		f->meta_l = layout_new(ctx, f->meta, SERIF, META_PT, PANGO_WEIGHT_NORMAL);
		pango_layout_set_alignment(f->meta_l, PANGO_ALIGN_RIGHT);
		layout_width(f->meta_l, TABLE_W);
		layout_extents(f->meta_l, NULL, NULL, &h);
		f->meta_y = y - 4;
		y += h;
	}

	for (size_t r = 0; r < f->nrows; r++) {
		struct row *row = &f->rows[r];
		double x = MARGIN_X;
		for (size_t c = 0; c < row->ncells; c++) {
			row->cells[c].x = x;
			row->cells[c].w = colw * row->cells[c].span;
			x += row->cells[c].w;
		}
		size_t i = 0;
		row->h = measure_row(row, ctx, shrink_pts[0]);
		while (row->h > BODY_H && ++i < sizeof(shrink_pts) / sizeof(shrink_pts[0]))
			row->h = measure_row(row, ctx, shrink_pts[i]);
		if (row->h > BODY_H)
			return ts_error_set(err, TS_EINVAL, "print_overflow",
					    "申报表第 %zu 行的内容过多，一页纸打印不下", r + 1);
		if (y + row->h > bottom && y > MARGIN_TOP) {
			page++;
			y = MARGIN_TOP;
		}
		row->y = y;
		row->page = page;
		y += row->h;
	}

	if (f->footer) {
		double h;
		f->footer_l = layout_new(ctx, f->footer, SERIF, FOOTER_PT, PANGO_WEIGHT_NORMAL);
		layout_width(f->footer_l, TABLE_W);
		layout_extents(f->footer_l, NULL, NULL, &h);
		if (h > BODY_H)
			return layout_error(err, "footer 过长");
		y += 6;
		if (y + h > bottom) {
			page++;
			y = MARGIN_TOP;
		}
		f->footer_y = y;
		f->footer_page = page;
	}
	f->npages = page + 1;

	if (f->receipt) {
		struct ts_buf line;
		ts_buf_init(&line, 0);
		int rc = ts_buf_printf(&line, "回执码：%s", f->receipt);
		f->receipt_l = layout_new(ctx, rc ? f->receipt : line.ptr, SERIF, SMALL_PT,
					  PANGO_WEIGHT_NORMAL);
		ts_buf_free(&line);
		layout_width(f->receipt_l, TABLE_W * 0.75);
		/* It lives in the bottom margin: at most three lines. */
		pango_layout_set_height(f->receipt_l, -3);
		pango_layout_set_ellipsize(f->receipt_l, PANGO_ELLIPSIZE_END);
	}
	if (f->npages > 1)
		f->pageno_l = layout_new(ctx, "", SERIF, SMALL_PT, PANGO_WEIGHT_NORMAL);
	return 0;
}

/* ---- draw ------------------------------------------------------------- */

static void show_at(cairo_t *cr, PangoLayout *l, double x, double y)
{
	cairo_move_to(cr, x, y);
	pango_cairo_show_layout(cr, l);
}

/* Shows l centred between x and x + w, whatever width it was laid out in. */
static void show_centred(cairo_t *cr, PangoLayout *l, double x, double w, double y)
{
	double lx, lw;
	layout_extents(l, &lx, &lw, NULL);
	show_at(cr, l, x + (w - lw) / 2 - lx, y);
}

static void draw_cell(cairo_t *cr, const struct cell *c, const struct row *row)
{
	double y;

	cairo_rectangle(cr, c->x, row->y, c->w, row->h);
	if (!c->layout)
		return;
	switch (c->kind) {
	case CELL_SIGN: {
		double right = c->lw + 2 * BODY_PT + PAD_X <= c->w ? 2 * BODY_PT : PAD_X;
		y = row->y + row->h - PAD_Y - 0.3 * BODY_PT - c->lh;
		/* the layout is right-aligned in w - 2·PAD_X, starting at x + PAD_X */
		show_at(cr, c->layout, c->x + PAD_X - (right - PAD_X), y);
		break;
	}
	case CELL_LABEL:
		show_centred(cr, c->layout, c->x, c->w, row->y + (row->h - c->lh) / 2);
		break;
	default:
		/* Long text in a tall box reads from the top, like handwriting. */
		y = row->units >= 3 ? row->y + PAD_Y + 2 : row->y + (row->h - c->lh) / 2;
		show_at(cr, c->layout, c->x + PAD_X, y);
		break;
	}
}

/* The table part on one page: cell rules, text, then a heavier frame. */
static void draw_rows(cairo_t *cr, const struct form *f, int page)
{
	double top = -1, bot = 0;

	cairo_set_line_width(cr, RULE_INNER);
	for (size_t r = 0; r < f->nrows; r++) {
		const struct row *row = &f->rows[r];
		if (row->page != page)
			continue;
		if (top < 0)
			top = row->y;
		bot = row->y + row->h;
		for (size_t c = 0; c < row->ncells; c++) {
			draw_cell(cr, &row->cells[c], row);
			cairo_stroke(cr);
		}
	}
	if (top < 0)
		return;
	cairo_set_line_width(cr, RULE_OUTER);
	cairo_rectangle(cr, MARGIN_X, top, TABLE_W, bot - top);
	cairo_stroke(cr);
}

static void draw_page_foot(cairo_t *cr, const struct form *f, int page)
{
	double y = PAGE_H - MARGIN_BOTTOM + 14;

	cairo_set_source_rgb(cr, 0.25, 0.25, 0.25);
	if (f->receipt_l)
		show_at(cr, f->receipt_l, MARGIN_X, y);
	if (f->pageno_l) {
		char s[64];
		double w;
		snprintf(s, sizeof(s), "第 %d 页，共 %d 页", page + 1, f->npages);
		pango_layout_set_text(f->pageno_l, s, -1);
		layout_extents(f->pageno_l, NULL, &w, NULL);
		show_at(cr, f->pageno_l, PAGE_W - MARGIN_X - w, y);
	}
	cairo_set_source_rgb(cr, 0, 0, 0);
}

static void form_draw(cairo_t *cr, const struct form *f)
{
	cairo_set_source_rgb(cr, 0, 0, 0);
	cairo_set_line_join(cr, CAIRO_LINE_JOIN_MITER);
	cairo_set_line_cap(cr, CAIRO_LINE_CAP_SQUARE);
	for (int p = 0; p < f->npages; p++) {
		if (p == 0 && f->title_l)
			show_centred(cr, f->title_l, MARGIN_X, TABLE_W, f->title_y);
		if (p == 0 && f->meta_l)
			show_at(cr, f->meta_l, MARGIN_X, f->meta_y);
		draw_rows(cr, f, p);
		if (f->footer_l && f->footer_page == p)
			show_at(cr, f->footer_l, MARGIN_X, f->footer_y);
		draw_page_foot(cr, f, p);
		cairo_show_page(cr);
	}
}

/* ---- output ----------------------------------------------------------- */

struct sink {
	struct ts_buf *buf;
	int rc;
};

static cairo_status_t sink_write(void *closure, const unsigned char *data, unsigned int len)
{
	struct sink *s = closure;
	if (s->rc)
		return CAIRO_STATUS_WRITE_ERROR;
	s->rc = ts_buf_append(s->buf, data, len);
	return s->rc ? CAIRO_STATUS_WRITE_ERROR : CAIRO_STATUS_SUCCESS;
}

static PangoContext *context_new(cairo_t *cr)
{
	PangoContext *ctx = pango_cairo_create_context(cr);
	cairo_font_options_t *fo = cairo_font_options_create();
	/* Vector output: unhinted metrics so the layout is the same everywhere. */
	cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
	cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
	pango_cairo_context_set_font_options(ctx, fo);
	cairo_font_options_destroy(fo);
	pango_cairo_context_set_resolution(ctx, 72); /* 1 pt = 1 user unit */
	pango_context_set_language(ctx, pango_language_from_string("zh-cn"));
	return ctx;
}

/* Checks cairo's sticky error states after the surface is finished. */
static int cairo_result(cairo_t *cr, cairo_surface_t *surface, const struct sink *sink,
			struct ts_error *err)
{
	cairo_status_t st = cairo_status(cr);
	if (st == CAIRO_STATUS_SUCCESS)
		st = cairo_surface_status(surface);
	if (sink->rc)
		return ts_error_set(err, sink->rc, "too_big", "申报表 PDF 文件过大");
	if (st != CAIRO_STATUS_SUCCESS)
		return ts_error_set(err, TS_EINTERNAL, "pdf_failed", "生成申报表 PDF 失败：%s",
				    cairo_status_to_string(st));
	return 0;
}

int render_form_pdf(const json_t *print, const json_t *values, struct ts_buf *out,
		    struct ts_error *err)
{
	struct form f = {0};
	struct ts_buf pdf;
	struct sink sink = {&pdf, 0};
	cairo_surface_t *surface;
	cairo_t *cr;
	PangoContext *ctx;
	int rc;

	ts_buf_init(&pdf, out->max > out->len ? out->max - out->len : 1);
	if ((rc = form_parse(&f, print, values, err)) != 0)
		goto out_form;

	surface = cairo_pdf_surface_create_for_stream(sink_write, &sink, PAGE_W, PAGE_H);
	if (cairo_surface_status(surface) != CAIRO_STATUS_SUCCESS) {
		rc = ts_error_set(err, TS_EINTERNAL, "pdf_failed", "生成申报表 PDF 失败：%s",
				  cairo_status_to_string(cairo_surface_status(surface)));
		goto out_surface;
	}
	if (f.title)
		cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_TITLE, f.title);
	cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATOR, "Tisheng");
	cr = cairo_create(surface);
	ctx = context_new(cr);

	if ((rc = form_measure(&f, ctx, err)) == 0)
		form_draw(cr, &f);
	cairo_surface_finish(surface);
	if (rc == 0)
		rc = cairo_result(cr, surface, &sink, err);
	if (rc == 0 && (rc = ts_buf_append(out, pdf.ptr, pdf.len)) != 0)
		rc = ts_error_set(err, rc, "too_big", "申报表 PDF 文件过大");

	g_object_unref(ctx);
	cairo_destroy(cr);
out_surface:
	cairo_surface_destroy(surface);
out_form:
	form_free(&f);
	ts_buf_free(&pdf);
	return rc;
}
