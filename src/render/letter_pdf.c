/* render/letter_pdf.c — the 推荐承诺书 as PDF: title, addressee, paragraphs,
 * a table that continues over pages with its header repeated, the closing
 * promise and the signatures, in Noto Serif CJK SC (embedded by cairo). */
#include "render/letter_pdf.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <pango/pangocairo.h>
#include <string.h>

#define PAGE_W 595.28
#define PAGE_H 841.89
#define MARGIN 56.7 /* 20 mm */
#define FONT "Noto Serif CJK SC"
#define CELL_PAD 4.0

struct sink {
	struct ts_buf *out;
	bool failed;
};

static cairo_status_t sink_write(void *closure, const unsigned char *data, unsigned int len)
{
	struct sink *s = closure;
	if (ts_buf_append(s->out, data, len)) {
		s->failed = true;
		return CAIRO_STATUS_WRITE_ERROR;
	}
	return CAIRO_STATUS_SUCCESS;
}

static PangoLayout *text_layout(cairo_t *cr, const char *text, double pt, bool bold, double width,
				PangoAlignment align)
{
	PangoLayout *l = pango_cairo_create_layout(cr);
	PangoFontDescription *fd = pango_font_description_from_string(FONT);
	pango_font_description_set_size(fd, (gint)(pt * PANGO_SCALE));
	pango_font_description_set_weight(fd, bold ? PANGO_WEIGHT_BOLD : PANGO_WEIGHT_NORMAL);
	pango_layout_set_font_description(l, fd);
	pango_font_description_free(fd);
	pango_layout_set_width(l, (int)(width * PANGO_SCALE));
	pango_layout_set_wrap(l, PANGO_WRAP_WORD_CHAR);
	pango_layout_set_alignment(l, align);
	pango_layout_set_text(l, text ? text : "", -1);
	return l;
}

static double layout_h(PangoLayout *l)
{
	int w, h;
	pango_layout_get_size(l, &w, &h);
	return (double)h / PANGO_SCALE;
}

struct pen {
	cairo_t *cr;
	double y;
};

static void new_page(struct pen *p)
{
	cairo_show_page(p->cr);
	p->y = MARGIN;
}

/* Draws a block of text across the text width, breaking the page first if needed. */
static void block(struct pen *p, const char *text, double pt, bool bold, PangoAlignment align, double indent,
		  double after)
{
	double w = PAGE_W - 2 * MARGIN - indent;
	PangoLayout *l = text_layout(p->cr, text, pt, bold, w, align);
	if (indent > 0)
		pango_layout_set_indent(l, (int)(2 * pt * PANGO_SCALE));
	double h = layout_h(l);
	if (p->y + h > PAGE_H - MARGIN)
		new_page(p);
	cairo_move_to(p->cr, MARGIN, p->y);
	pango_cairo_show_layout(p->cr, l);
	p->y += h + after;
	g_object_unref(l);
}

static double column_width(size_t ncols, double total, const json_t *cols, size_t i)
{
	/* 序号 and 年龄 are narrow; the rest share the width. */
	double narrow = 34.0;
	size_t nn = 0;
	for (size_t k = 0; k < ncols; k++) {
		const char *lab = json_string_value(json_array_get(cols, k));
		if (lab && (strcmp(lab, "序号") == 0 || strcmp(lab, "年龄") == 0 || strcmp(lab, "性别") == 0))
			nn++;
	}
	const char *lab = json_string_value(json_array_get(cols, i));
	bool is_narrow = lab && (strcmp(lab, "序号") == 0 || strcmp(lab, "年龄") == 0 || strcmp(lab, "性别") == 0);
	if (nn == ncols)
		return total / (double)ncols;
	return is_narrow ? narrow : (total - narrow * (double)nn) / (double)(ncols - nn);
}

static double table_row(struct pen *p, const json_t *cells, const json_t *cols, bool header, bool draw)
{
	size_t n = json_array_size(cols);
	double total = PAGE_W - 2 * MARGIN, x = MARGIN, hmax = 0;
	PangoLayout *ls[40];
	for (size_t i = 0; i < n && i < 40; i++) {
		double w = column_width(n, total, cols, i);
		ls[i] = text_layout(p->cr, json_string_value(json_array_get(cells, i)), 9.5, header, w - 2 * CELL_PAD,
				    PANGO_ALIGN_CENTER);
		double h = layout_h(ls[i]) + 2 * CELL_PAD;
		if (h > hmax)
			hmax = h;
	}
	if (hmax < 20)
		hmax = 20;
	for (size_t i = 0; i < n && i < 40; i++) {
		double w = column_width(n, total, cols, i);
		if (draw) {
			cairo_rectangle(p->cr, x, p->y, w, hmax);
			cairo_set_line_width(p->cr, 0.6);
			cairo_stroke(p->cr);
			cairo_move_to(p->cr, x + CELL_PAD, p->y + (hmax - layout_h(ls[i])) / 2);
			pango_cairo_show_layout(p->cr, ls[i]);
		}
		x += w;
		g_object_unref(ls[i]);
	}
	return hmax;
}

static int check_doc(const json_t *doc, struct ts_error *err)
{
	const json_t *cols = json_object_get(doc, "columns"), *rows = json_object_get(doc, "rows");
	if (!json_is_object(doc) || !json_is_string(json_object_get(doc, "title")) || !json_is_array(cols) ||
	    json_array_size(cols) == 0 || json_array_size(cols) > 40 || !json_is_array(rows))
		return ts_error_set(err, TS_EINVAL, "invalid_layout", "承诺书格式不正确：需要 title、columns（1–40 列）和 rows");
	size_t i;
	json_t *r;
	json_array_foreach(rows, i, r) if (!json_is_array(r) || json_array_size(r) != json_array_size(cols)) return ts_error_set(
		err, TS_EINVAL, "invalid_layout", "承诺书第 %zu 行的列数与表头不一致", i + 1);
	return 0;
}

int render_letter_pdf(const json_t *doc, struct ts_buf *out, struct ts_error *err)
{
	int rc = check_doc(doc, err);
	if (rc)
		return rc;
	size_t start = out->len;
	struct sink sink = {out, false};
	cairo_surface_t *surface = cairo_pdf_surface_create_for_stream(sink_write, &sink, PAGE_W, PAGE_H);
	cairo_t *cr = cairo_create(surface);
	struct pen p = {cr, MARGIN};
	cairo_set_source_rgb(cr, 0, 0, 0);
	const char *sub = json_string_value(json_object_get(doc, "subtitle"));
	block(&p, json_string_value(json_object_get(doc, "title")), 16, true, PANGO_ALIGN_CENTER, 0, sub ? 6 : 18);
	if (sub)
		block(&p, sub, 11, false, PANGO_ALIGN_CENTER, 0, 16);
	const char *to = json_string_value(json_object_get(doc, "addressee"));
	if (to)
		block(&p, to, 12, false, PANGO_ALIGN_LEFT, 0, 8);
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(doc, "paragraphs"), i, v) block(&p, json_string_value(v), 12, false,
									 PANGO_ALIGN_LEFT, 0.001, 8);
	const json_t *cols = json_object_get(doc, "columns");
	p.y += 4;
	double hh = table_row(&p, cols, cols, true, false);
	if (p.y + hh * 2 > PAGE_H - MARGIN)
		new_page(&p);
	p.y += table_row(&p, cols, cols, true, true);
	json_array_foreach(json_object_get(doc, "rows"), i, v)
	{
		double h = table_row(&p, v, cols, false, false);
		if (p.y + h > PAGE_H - MARGIN) {
			new_page(&p);
			p.y += table_row(&p, cols, cols, true, true);
		}
		p.y += table_row(&p, v, cols, false, true);
	}
	p.y += 12;
	json_array_foreach(json_object_get(doc, "closing"), i, v) block(&p, json_string_value(v), 12, false,
								      PANGO_ALIGN_LEFT, 0.001, 8);
	p.y += 24;
	json_array_foreach(json_object_get(doc, "signatures"), i, v)
	{
		block(&p, json_string_value(v), 12, false, PANGO_ALIGN_RIGHT, 0, (i % 2) ? 20 : 6);
	}
	cairo_show_page(cr);
	cairo_status_t st = cairo_status(cr);
	cairo_destroy(cr);
	cairo_surface_finish(surface);
	if (st == CAIRO_STATUS_SUCCESS)
		st = cairo_surface_status(surface);
	cairo_surface_destroy(surface);
	if (st != CAIRO_STATUS_SUCCESS || sink.failed) {
		out->len = start;
		if (out->cap)
			out->ptr[start] = '\0';
		return ts_error_set(err, TS_EINTERNAL, "render_failed", "生成 PDF 失败：%s", cairo_status_to_string(st));
	}
	return 0;
}
