/*
 * chart.c - numeric series drawn as text.  See chart.h for the layout, the
 * scale and the number format.
 *
 * Rendering, per panel: the column values (the group means) are computed
 * first, then lo/hi over them, then each text row r (0 = top) is written
 * left to right: a column with level L fills 8 * (height - 1 - r) .. steps
 * of it, so the row shows min(8, max(0, L - 8 * (height - 1 - r))) eighths.
 */
#include "data/chart.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_WIDTH 80u
#define DEFAULT_HEIGHT 4u
#define MIN_WIDTH 24u
#define MAX_WIDTH 1000u
#define MAX_HEIGHT 40u
#define MIN_PLOT 8u

/* Eighths 0..8 of a cell, bottom-aligned. */
static const char *const blocks[9] = {" ",      "\u2581", "\u2582", "\u2583", "\u2584",
                                      "\u2585", "\u2586", "\u2587", "\u2588"};
static const char ascii_blocks[9] = {' ', '.', '.', ':', ':', '=', '=', '=', '#'};

size_t tide_chart_group(size_t n, size_t cols)
{
    if (cols == 0 || n <= cols)
        return 1;
    return (n + cols - 1) / cols;
}

uint32_t tide_chart_level(double v, double lo, double hi, uint32_t levels)
{
    if (levels == 0)
        return 0;
    if (!(hi > lo))
        return levels;
    double f = (v - lo) / (hi - lo);
    if (f < 0)
        f = 0;
    if (f > 1)
        f = 1;
    return 1u + (uint32_t)floor(f * (double)(levels - 1) + 0.5);
}

bool tide_chart_is_ratio(const double *v, const bool *present, size_t n)
{
    bool any = false, fraction = false;
    for (size_t i = 0; i < n; i++) {
        if (present && !present[i])
            continue;
        if (!(v[i] >= 0.0 && v[i] <= 1.0))
            return false;
        any = true;
        if (v[i] != floor(v[i]))
            fraction = true;
    }
    return any && fraction;
}

/* An integer with a ',' every three digits. */
static int fmt_grouped(tide_buf *out, long long i)
{
    char digits[32];
    unsigned long long u = i < 0 ? 0ull - (unsigned long long)i : (unsigned long long)i;
    int nd = snprintf(digits, sizeof digits, "%llu", u);
    int rc = i < 0 ? tide_buf_putc(out, '-') : 0;
    for (int k = 0; k < nd && !rc; k++) {
        if (k > 0 && (nd - k) % 3 == 0)
            rc = tide_buf_putc(out, ',');
        if (!rc)
            rc = tide_buf_putc(out, digits[k]);
    }
    return rc;
}

/* v with `dec` decimals, trailing zeros (and a bare '.') dropped. */
static int fmt_trimmed(tide_buf *out, double v, int dec)
{
    char s[64];
    int len = snprintf(s, sizeof s, "%.*f", dec, v);
    if (len < 0 || (size_t)len >= sizeof s)
        return tide_buf_printf(out, "%g", v);
    if (memchr(s, '.', (size_t)len)) {
        while (len > 0 && s[len - 1] == '0')
            len--;
        if (len > 0 && s[len - 1] == '.')
            len--;
    }
    if (len == 2 && s[0] == '-' && s[1] == '0') /* -0.0001 -> "0" */
        return tide_buf_append(out, "0", 1);
    return tide_buf_append(out, s, (size_t)len);
}

int tide_chart_fmt(tide_buf *out, double v, bool percent)
{
    if (!isfinite(v))
        return tide_buf_printf(out, "%g", v);
    if (percent) {
        int rc = fmt_trimmed(out, v * 100.0, 1);
        return rc ? rc : tide_buf_putc(out, '%');
    }
    double a = fabs(v);
    if (a >= 1e18)
        return tide_buf_printf(out, "%.3g", v);
    if (v == floor(v) || a >= 1000.0)
        return fmt_grouped(out, llround(v));
    return fmt_trimmed(out, v, a < 1.0 ? 3 : a < 10.0 ? 2 : 1);
}

size_t tide_chart_display_width(const char *s)
{
    size_t w = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p & 0xC0) != 0x80)
            w++;
    return w;
}

/* ---- rendering ---- */

typedef struct panel {
    double *col;   /* ncols column values */
    bool *has;     /* ncols: the column has a value */
    double lo, hi; /* the axis */
    double min, max, last;
    bool any;
} panel;

static int pad(tide_buf *out, size_t n)
{
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++)
        rc = tide_buf_putc(out, ' ');
    return rc;
}

static int put_str(tide_buf *out, const char *s)
{
    return tide_buf_append(out, s, strlen(s));
}

/* The formatted value into scratch (reset first). */
static int fmt_into(tide_buf *scratch, double v, bool percent)
{
    tide_buf_reset(scratch);
    int rc = tide_chart_fmt(scratch, v, percent);
    return rc ? rc : tide_buf_putc(scratch, '\0');
}

static void panel_compute(panel *p, const tide_chart_series *s, size_t n, size_t k, size_t ncols,
                          bool zero)
{
    p->any = false;
    for (size_t i = 0; i < n; i++) {
        if (s->present && !s->present[i])
            continue;
        double v = s->v[i];
        if (!p->any || v < p->min)
            p->min = v;
        if (!p->any || v > p->max)
            p->max = v;
        p->last = v;
        p->any = true;
    }
    bool have_axis = false;
    for (size_t c = 0; c < ncols; c++) {
        double sum = 0;
        size_t cnt = 0;
        for (size_t i = c * k; i < n && i < (c + 1) * k; i++) {
            if (s->present && !s->present[i])
                continue;
            sum += s->v[i];
            cnt++;
        }
        p->has[c] = cnt > 0;
        p->col[c] = cnt ? sum / (double)cnt : 0;
        if (!cnt)
            continue;
        if (!have_axis || p->col[c] < p->lo)
            p->lo = p->col[c];
        if (!have_axis || p->col[c] > p->hi)
            p->hi = p->col[c];
        have_axis = true;
    }
    if (!have_axis)
        p->lo = p->hi = 0;
    if (zero) {
        if (p->lo > 0)
            p->lo = 0;
        if (p->hi < 0)
            p->hi = 0;
    }
}

/* "name  min X  max Y  last Z", each part only while the line fits `width`. */
static int render_title(tide_buf *out, tide_buf *scratch, const tide_chart_series *s,
                        const panel *p, size_t width)
{
    const char *name = s->name ? s->name : "";
    int rc = put_str(out, name);
    if (rc)
        return rc;
    if (!p->any)
        return put_str(out, "  (no values)\n");
    size_t used = tide_chart_display_width(name);
    const char *what[3] = {"  min ", "  max ", "  last "};
    double val[3] = {p->min, p->max, p->last};
    for (int i = 0; i < 3 && !rc; i++) {
        if ((rc = fmt_into(scratch, val[i], s->percent)) != 0)
            break;
        size_t w = strlen(what[i]) + tide_chart_display_width((const char *)scratch->data);
        if (used + w > width)
            break;
        used += w;
        if (!(rc = put_str(out, what[i])))
            rc = put_str(out, (const char *)scratch->data);
    }
    return rc ? rc : tide_buf_putc(out, '\n');
}

static int render_rows(tide_buf *out, tide_buf *scratch, const tide_chart_series *s, const panel *p,
                       size_t ncols, size_t label_w, uint32_t height, bool ascii)
{
    uint32_t levels = height * 8;
    int rc = 0;
    for (uint32_t r = 0; r < height && !rc; r++) {
        bool labelled = r == 0 || r == height - 1;
        size_t lw = 0;
        if (labelled) {
            if ((rc = fmt_into(scratch, r == 0 ? p->hi : p->lo, s->percent)) != 0)
                break;
            lw = tide_chart_display_width((const char *)scratch->data);
        }
        if ((rc = pad(out, label_w - lw)) != 0 ||
            (labelled && (rc = put_str(out, (const char *)scratch->data))))
            break;
        if ((rc = tide_buf_putc(out, ' ')) != 0)
            break;
        rc = ascii ? tide_buf_putc(out, labelled ? '+' : '|')
                   : put_str(out, labelled ? "\u2524" : "\u2502");
        int64_t base = 8 * (int64_t)(height - 1 - r);
        size_t last_ink = out->len;
        for (size_t c = 0; c < ncols && !rc; c++) {
            int64_t fill = 0;
            if (p->has[c])
                fill = (int64_t)tide_chart_level(p->col[c], p->lo, p->hi, levels) - base;
            if (fill < 0)
                fill = 0;
            if (fill > 8)
                fill = 8;
            rc = ascii ? tide_buf_putc(out, ascii_blocks[fill]) : put_str(out, blocks[fill]);
            if (fill > 0)
                last_ink = out->len;
        }
        if (!rc) {
            out->len = last_ink; /* no trailing blanks */
            rc = tide_buf_putc(out, '\n');
        }
    }
    return rc;
}

size_t tide_chart_common_suffix(const char *const *x, size_t n)
{
    if (n == 0)
        return 0;
    size_t len0 = strlen(x[0]), common = len0;
    for (size_t i = 1; i < n && common > 0; i++) {
        size_t li = strlen(x[i]), m = 0;
        while (m < common && m < li && x[0][len0 - 1 - m] == x[i][li - 1 - m])
            m++;
        common = m;
    }
    /* cut at a ' ' or 'T' that leaves something of every label */
    size_t shortest = len0;
    for (size_t i = 1; i < n; i++)
        if (strlen(x[i]) < shortest)
            shortest = strlen(x[i]);
    for (size_t m = common; m > 0; m--) {
        char c = x[0][len0 - m];
        if ((c == ' ' || c == 'T') && m < shortest)
            return m;
    }
    return 0;
}

/* Append label s without its last `drop` bytes. */
static int put_label(tide_buf *out, const char *s, size_t drop)
{
    return tide_buf_append(out, s, strlen(s) - drop);
}

/* Display width of s without its last `drop` bytes (drop cuts at ASCII). */
static size_t label_width(const char *s, size_t drop)
{
    size_t w = tide_chart_display_width(s);
    return w - drop;
}

/* The axis line and the x labels: first under column 0, last ending under
 * the last column, the middle one starting under the middle column, each
 * only when it keeps one blank from its neighbours. */
static int render_x(tide_buf *out, const char *const *x, size_t n, size_t k, size_t ncols,
                    size_t label_w, bool ascii)
{
    int rc = pad(out, label_w + 1);
    if (!rc)
        rc = ascii ? tide_buf_putc(out, '+') : put_str(out, "\u2514");
    for (size_t c = 0; c < ncols && !rc; c++)
        rc = ascii ? tide_buf_putc(out, '-') : put_str(out, "\u2500");
    if (!rc)
        rc = tide_buf_putc(out, '\n');
    if (rc || n == 0)
        return rc;
    size_t drop = tide_chart_common_suffix(x, n);
    const char *first = x[0], *last = x[(ncols - 1) * k];
    size_t fw = label_width(first, drop), lw = label_width(last, drop);
    size_t at = 0; /* the next free column of the plot area */
    if ((rc = pad(out, label_w + 2)) != 0 || (rc = put_label(out, first, drop)) != 0)
        return rc;
    at = fw;
    bool room_last = ncols > 1 && ncols >= fw + 1 + lw;
    size_t last_at = room_last ? ncols - lw : 0;
    size_t mid_c = ncols / 2;
    const char *mid = x[mid_c * k];
    size_t mw = label_width(mid, drop);
    if (ncols > 2 && room_last && mid_c >= at + 1 && mid_c + mw + 1 <= last_at) {
        if ((rc = pad(out, mid_c - at)) != 0 || (rc = put_label(out, mid, drop)) != 0)
            return rc;
        at = mid_c + mw;
    }
    if (room_last && last_at > at) {
        if ((rc = pad(out, last_at - at)) != 0 || (rc = put_label(out, last, drop)) != 0)
            return rc;
    }
    return tide_buf_putc(out, '\n');
}

int tide_chart_render(const char *const *x, size_t n, const tide_chart_series *s, size_t ns,
                      const tide_chart_opts *o, tide_buf *out, tide_err *e)
{
    uint32_t width = o && o->width ? o->width : DEFAULT_WIDTH;
    uint32_t height = o && o->height ? o->height : DEFAULT_HEIGHT;
    bool zero = o && o->zero, ascii = o && o->ascii;
    if (width < MIN_WIDTH || width > MAX_WIDTH)
        return tide_err_set(e, TIDE_EINVAL, "chart: width %u is not in %u..%u", width, MIN_WIDTH,
                            MAX_WIDTH);
    if (height > MAX_HEIGHT)
        return tide_err_set(e, TIDE_EINVAL, "chart: height %u is not in 1..%u", height, MAX_HEIGHT);
    if (ns == 0)
        return tide_err_set(e, TIDE_EINVAL, "chart: no series");
    int rc = 0;
    tide_buf scratch = {0};
    panel *ps = calloc(ns, sizeof *ps);
    if (!ps)
        goto nomem;
    if (n == 0) {
        for (size_t i = 0; i < ns && !rc; i++) {
            if (!(rc = put_str(out, s[i].name ? s[i].name : "")))
                rc = put_str(out, "  (no rows)\n");
        }
        if (rc)
            goto nomem;
        goto done;
    }
    /* The label width depends on lo/hi, which depend on the grouping, which
     * depends on the plot width: start with one column per value and group
     * more while the labels leave too few columns.  label_w only grows, so
     * k only grows: this ends (at the latest when one column is left). */
    size_t label_w = 1, k = 1, ncols = n;
    for (;;) {
        for (size_t i = 0; i < ns; i++) {
            free(ps[i].col);
            free(ps[i].has);
            ps[i].col = malloc(ncols * sizeof *ps[i].col);
            ps[i].has = malloc(ncols * sizeof *ps[i].has);
            if (!ps[i].col || !ps[i].has)
                goto nomem;
            panel_compute(&ps[i], &s[i], n, k, ncols, zero);
        }
        size_t lw = label_w;
        for (size_t i = 0; i < ns; i++) {
            double ends[2] = {ps[i].lo, ps[i].hi};
            for (int j = 0; j < 2; j++) {
                if (fmt_into(&scratch, ends[j], s[i].percent))
                    goto nomem;
                size_t w = tide_chart_display_width((const char *)scratch.data);
                if (w > lw)
                    lw = w;
            }
        }
        if (lw + 2 + MIN_PLOT > width) {
            rc = tide_err_set(e, TIDE_EINVAL,
                              "chart: width %u leaves no room for the plot (labels of %zu columns)",
                              width, lw);
            goto done;
        }
        size_t plot = width - lw - 2;
        label_w = lw;
        if (ncols <= plot)
            break;
        k = tide_chart_group(n, plot);
        ncols = (n + k - 1) / k;
    }
    for (size_t i = 0; i < ns; i++) {
        if ((rc = render_title(out, &scratch, &s[i], &ps[i], width)) != 0 ||
            (rc = render_rows(out, &scratch, &s[i], &ps[i], ncols, label_w, height ? height : 1,
                              ascii)) != 0)
            goto nomem;
    }
    if ((rc = render_x(out, x, n, k, ncols, label_w, ascii)) != 0)
        goto nomem;
    if (k > 1 && (rc = tide_buf_printf(
                      out, "(%zu rows, %zu to a column: each column is their mean)\n", n, k)) != 0)
        goto nomem;
    goto done;
nomem:
    rc = tide_err_set(e, TIDE_ENOMEM, "chart: out of memory");
done:
    if (ps)
        for (size_t i = 0; i < ns; i++) {
            free(ps[i].col);
            free(ps[i].has);
        }
    free(ps);
    tide_buf_free(&scratch);
    return rc;
}
