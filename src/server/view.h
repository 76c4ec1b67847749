/*
 * view.h - the current results of a job version, materialised from its
 * changelog output (`tide query`, GET /jobs/NAME/results).
 *
 * A version writes JSON Lines records, each an object whose first field is
 * the row's changelog op and whose other fields are the row's columns:
 *   {"op":"+I","window_start":"2026-01-01 00:00:00.000","dau":17}
 * tide_view_apply applies them in log order: "+I" and "+U" add the row,
 * "-U" and "-D" remove one equal row (equal: every cell's JSON text is the
 * same; the sink writes a value one way only).  A removal that finds no
 * equal row is counted (tide_view_unmatched), never applied.  The rows are
 * listed in the order they were last added.
 *
 * A filter (`tide query --where`): conditions joined by AND (any case),
 * each `COLUMN OP VALUE` with OP one of = <> != < <= > >= and VALUE a
 * number, a 'quoted string' ('' inside for a quote) or NULL, or `COLUMN IS
 * [NOT] NULL`.  A number cell against a number value compares as numbers,
 * otherwise both compare as text (timestamps 'YYYY-MM-DD HH:MM:SS.mmm' sort
 * in time order); NULL cells meet no comparison (SQL's rule).  An unknown
 * column or a malformed expression is TIDE_EINVAL naming it and its
 * position (1-based column in the text).
 */
#ifndef TIDE_SERVER_VIEW_H
#define TIDE_SERVER_VIEW_H

#include "base/buf.h"
#include "base/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tide_view tide_view;

int tide_view_create(tide_view **out, tide_err *e);
/* NULL is a no-op. */
void tide_view_free(tide_view *v);

/* Apply one record (rec[0..len)); `where` names it in errors ("dau.v2/0/17").
 * TIDE_EPARSE for a record that is not such an object, or whose fields are
 * not those of the first record. */
int tide_view_apply(tide_view *v, const char *rec, size_t len, const char *where, tide_err *e);

/* Rows now (counting repeats), and removals that found no row. */
uint64_t tide_view_rows(const tide_view *v);
uint64_t tide_view_unmatched(const tide_view *v);
/* The column names (from the first record; 0 before any). */
size_t tide_view_ncols(const tide_view *v);
const char *tide_view_col(const tide_view *v, size_t i);

typedef struct tide_view_filter tide_view_filter;
/* Parse a filter over the columns cols[0..n). */
int tide_view_filter_parse(const char *expr, const char *const *cols, size_t n, tide_view_filter **out, tide_err *e);
void tide_view_filter_free(tide_view_filter *f);

/* Each row (repeats included) that passes f (NULL: all), in order, as a JSON
 * array of its cells: fn(ctx, text, len).  Stops at fn's first error. */
int tide_view_each(const tide_view *v, const tide_view_filter *f,
                   int (*fn)(void *ctx, const char *row, size_t len, tide_err *e), void *ctx, tide_err *e);

/* The text of cell `col` of a row array as tide_view_each gives it (its
 * JSON text, a string with its quotes); false when there is no such cell. */
bool tide_view_cell(const char *row, size_t len, size_t col, const char **cell, size_t *cell_len);

#endif
