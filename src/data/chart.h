/*
 * chart.h - numeric series drawn as text, for a terminal (`tide chart`).
 *
 * The chart has one panel per series, stacked, sharing one x axis: x runs
 * left to right, one text column per x value, and each column is a vertical
 * bar whose height is the value on the panel's axis.  A panel is `height`
 * text rows of block characters (U+2581..U+2588, eight steps per row), so a
 * bar has 1 .. height*8 steps:
 *
 *   dau  min 2,513  max 2,702  last 2,630
 *   2,702 ┤   ▂▅█▇▆▃
 *         │ ▃▆██████▅▃
 *         │▅██████████▆
 *   2,513 ┤███████████▇
 *         └────────────
 *          2024-01-01  2024-01-12
 *
 * Scale.  The axis of a panel runs from lo to hi, the smallest and largest
 * value it draws (with `zero`, 0 is included).  A value v gets
 *   level = 1 + round((v - lo) / (hi - lo) * (height*8 - 1))
 * steps (round half up), so lo is a one-step bar and hi a full one: nothing
 * present is invisible, a missing value is an empty column.  hi == lo
 * draws every value full.  The axis labels are hi (top row) and lo (bottom
 * row); the title line gives the series' min, max and last value (those
 * that fit the width).
 *
 * Width.  Labels take the width of the widest axis label; the plot gets
 * the rest of `width` (minus two columns: a space and the axis).  When
 * there are more x values than plot columns, consecutive values are
 * grouped k = ceil(n / columns) to a column and the column draws their mean
 * (over the present ones); a footer line says so.  Below the plot, x labels
 * name the first, middle and last column (those that fit), without a suffix
 * common to every label (tide_chart_common_suffix).
 *
 * Numbers (tide_chart_fmt): a percent series (values 0..1, see
 * tide_chart_is_ratio) as v*100 with one decimal and '%'; otherwise integral
 * values and |v| >= 1000 rounded to an integer with ',' every three digits;
 * smaller fractional values with 3 (|v| < 1), 2 (< 10 ... < 100 gives 1)
 * decimals, trailing zeros dropped.
 *
 * Pure: no I/O, no globals; output is appended to a tide_buf (UTF-8, lines
 * end with '\n').
 */
#ifndef TIDE_DATA_CHART_H
#define TIDE_DATA_CHART_H

#include "base/buf.h"
#include "base/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tide_chart_series {
    const char *name;    /* the panel's title (borrowed) */
    const double *v;     /* n finite values (borrowed) */
    const bool *present; /* NULL: every value present; else false = missing */
    bool percent;        /* label values as percent (v * 100 and '%') */
} tide_chart_series;

typedef struct tide_chart_opts {
    uint32_t width;  /* display columns of the whole chart, 24..1000; 0: 80 */
    uint32_t height; /* text rows per panel, 1..40; 0: 4 */
    bool zero;       /* every axis includes 0 */
    bool ascii;      /* ASCII only: bars of '#' (full rows) and ' .:=' steps */
} tide_chart_opts;

/* Append the chart of series s[0..ns) over the x labels x[0..n) (each a
 * NUL-terminated string, borrowed) to `out`.  n == 0 draws the titles and
 * "(no rows)".  TIDE_EINVAL (bad options, width too small for the labels,
 * ns == 0), TIDE_ENOMEM. */
int tide_chart_render(const char *const *x, size_t n, const tide_chart_series *s, size_t ns,
                      const tide_chart_opts *o, tide_buf *out, tide_err *e);

/* The building blocks, exposed for the tests. */

/* How many x values share a plot column: 1 when n <= cols, else ceil(n / cols). */
size_t tide_chart_group(size_t n, size_t cols);
/* The bar height in steps (1..levels) of v on the axis [lo, hi]; see the top. */
uint32_t tide_chart_level(double v, double lo, double hi, uint32_t levels);
/* Append v as the chart writes it (see the top); TIDE_ENOMEM. */
int tide_chart_fmt(tide_buf *out, double v, bool percent);
/* Every present value lies in [0, 1] and at least one is not an integer. */
bool tide_chart_is_ratio(const double *v, const bool *present, size_t n);
/* Bytes to drop from the end of every x label: their longest common
 * suffix that starts at a ' ' or 'T' and leaves a non-empty label (so
 * "2024-01-01 00:00:00.000" shows as "2024-01-01" when every label is at
 * midnight); 0 if none. */
size_t tide_chart_common_suffix(const char *const *x, size_t n);
/* Display columns of a UTF-8 string (code points; no wide characters). */
size_t tide_chart_display_width(const char *s);

#endif
