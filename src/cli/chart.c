/*
 * chart.c - `tide chart`: a terminal chart of CSV columns (data/chart.h).
 *
 * Reads the whole input (a file or stdin: charts are small), lexes it with
 * data/csv.h, takes the header's names, the x column (labels, as they are)
 * and the y columns (numbers; an empty field is a missing value), and
 * prints the chart.  Bad input names its place: "FILE:LINE:COL: why".
 */
#include "base/buf.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "data/chart.h"
#include "data/csv.h"
#include "tide.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char chart_usage[] =
    "Usage: tide chart [FILE] [--x COLUMN] [--y COLUMN[,COLUMN...]] [--width N]\n"
    "                  [--height N] [--zero] [--ascii]\n"
    "\n"
    "Draw CSV columns as a terminal chart.  The input (FILE, or stdin when FILE\n"
    "is missing or '-') is CSV with a header row, e.g. the output of\n"
    "'tide run ... --format csv'.  x runs left to right, one text column per\n"
    "row in input order (rows are averaged in groups when there are more than\n"
    "fit); each y column gets a panel of vertical bars scaled between its\n"
    "smallest and largest value, both labelled.  Columns holding values in\n"
    "0..1 with fractions (ratios) are labelled as percent.  Empty fields are\n"
    "missing values (blank columns).\n"
    "\n"
    "Options:\n"
    "  --x COLUMN      the labels along the x axis (default: the first column)\n"
    "  --y COLUMNS     the columns to draw, comma-separated (default: every other\n"
    "                  column whose first value is a number)\n"
    "  --width N       width in columns, 24..1000 (default: 80)\n"
    "  --height N      text rows per panel, 1..40 (default: 4)\n"
    "  --zero          start every axis at 0\n"
    "  --ascii         ASCII characters only\n"
    "\n"
    "Example:\n"
    "  tide run examples/dau.sql --format csv | tide chart --x window_start --y dau\n"
    "\n"
    "Exit status: 0 success, 1 usage error, 2 bad input or I/O error.\n";

/* The whole input, NUL-terminated. */
static int slurp(FILE *f, const char *name, tide_buf *b)
{
    for (;;) {
        if (tide_buf_reserve(b, 65536)) {
            tide_cli_error("%s: out of memory", name);
            return TIDE_CLI_RUNTIME;
        }
        size_t r = fread(b->data + b->len, 1, b->cap - b->len, f);
        b->len += r;
        if (r == 0)
            break;
    }
    if (ferror(f)) {
        tide_cli_error("%s: read failed: %s", name, strerror(errno));
        return TIDE_CLI_RUNTIME;
    }
    return 0;
}

/* The input table: header names, x labels and numeric columns. */
typedef struct table {
    char **names; /* ncols header names (owned) */
    size_t ncols;
    tide_buf xtext; /* the x labels, NUL-terminated, back to back */
    size_t *xoff;   /* nrows offsets into xtext */
    double **v;     /* per y: nrows values */
    bool **present; /* per y: nrows flags */
    size_t nrows, cap;
} table;

static void table_free(table *t, size_t ny)
{
    for (size_t i = 0; i < t->ncols; i++)
        free(t->names[i]);
    free(t->names);
    tide_buf_free(&t->xtext);
    free(t->xoff);
    for (size_t i = 0; t->v && i < ny; i++) {
        free(t->v[i]);
        free(t->present[i]);
    }
    free(t->v);
    free(t->present);
}

/* A whole field as a finite number. */
static bool parse_number(const tide_csv_field *f, double *out)
{
    char tmp[128];
    size_t a = 0, b = f->len;
    while (a < b && (f->ptr[a] == ' ' || f->ptr[a] == '\t'))
        a++;
    while (b > a && (f->ptr[b - 1] == ' ' || f->ptr[b - 1] == '\t' || f->ptr[b - 1] == '\r'))
        b--;
    if (a == b || b - a >= sizeof tmp)
        return false;
    memcpy(tmp, f->ptr + a, b - a);
    tmp[b - a] = '\0';
    char *end;
    errno = 0;
    double d = strtod(tmp, &end);
    if (*end || errno == ERANGE || !isfinite(d))
        return false;
    /* strtod takes hex and "nan"/"inf"; a chart wants decimal numbers */
    for (const char *p = tmp; *p; p++)
        if (!strchr("0123456789+-.eE", *p))
            return false;
    *out = d;
    return true;
}

static bool field_blank(const tide_csv_field *f)
{
    for (size_t i = 0; i < f->len; i++)
        if (f->ptr[i] != ' ' && f->ptr[i] != '\t' && f->ptr[i] != '\r')
            return false;
    return true;
}

static long find_name(const table *t, const char *name, size_t len)
{
    for (size_t i = 0; i < t->ncols; i++)
        if (strlen(t->names[i]) == len && memcmp(t->names[i], name, len) == 0)
            return (long)i;
    return -1;
}

static int parse_uint_opt(const char *opt, const char *s, uint64_t lo, uint64_t hi, uint32_t *out)
{
    uint64_t v;
    if (!tide_cli_parse_u64(s, &v) || v < lo || v > hi)
        return tide_cli_usage_error("chart", "%s must be %llu..%llu, not '%s'", opt,
                                    (unsigned long long)lo, (unsigned long long)hi, s);
    *out = (uint32_t)v;
    return 0;
}

int tide_cli_chart(int argc, char **argv, const char *datadir)
{
    (void)datadir;
    const char *xopt = NULL, *yopt = NULL, *wopt = NULL, *hopt = NULL, *pos[1] = {0};
    bool help = false, zero = false, ascii = false;
    int npos = 0;
    tide_cli_opt opts[] = {{"--x", &xopt, NULL},     {"--y", &yopt, NULL},
                           {"--width", &wopt, NULL}, {"--height", &hopt, NULL},
                           {"--zero", NULL, &zero},  {"--ascii", NULL, &ascii}};
    int rc = tide_cli_parse("chart", argc, argv, opts, sizeof opts / sizeof opts[0], pos, 1, &npos,
                            &help);
    if (rc)
        return rc;
    if (help)
        return tide_cli_help(chart_usage);
    tide_chart_opts co = {.zero = zero, .ascii = ascii};
    if (wopt && (rc = parse_uint_opt("--width", wopt, 24, 1000, &co.width)) != 0)
        return rc;
    if (hopt && (rc = parse_uint_opt("--height", hopt, 1, 40, &co.height)) != 0)
        return rc;
    if (xopt && !*xopt)
        return tide_cli_usage_error("chart", "--x needs a column name");
    if (yopt && !*yopt)
        return tide_cli_usage_error("chart", "--y needs column names");

    const char *name = npos && strcmp(pos[0], "-") != 0 ? pos[0] : "stdin";
    tide_buf in = {0}, out = {0};
    tide_csv lex;
    tide_csv_init(&lex, name, ',');
    table t;
    memset(&t, 0, sizeof t);
    size_t ny = 0, *ycol = NULL;
    long xcol = 0;
    tide_chart_series *ser = NULL;
    const char **xs = NULL;
    tide_err e = {0};

    FILE *f = stdin;
    if (strcmp(name, "stdin") != 0 && !(f = fopen(name, "rb"))) {
        tide_cli_error("%s: %s", name, strerror(errno));
        rc = TIDE_CLI_RUNTIME;
        goto done;
    }
    rc = slurp(f, name, &in);
    if (f != stdin)
        fclose(f);
    if (rc)
        goto done;

    /* the header */
    size_t at = 0;
    tide_csv_record rec;
    int lr;
    while ((lr = tide_csv_next(&lex, (const char *)in.data, in.len, &at, true, &rec, &e)) == 1 &&
           rec.raw_len == 0) {
    }
    if (lr < 0)
        goto bad_input;
    if (lr == 0) {
        tide_cli_error("%s: no header row (the input is empty)", name);
        rc = TIDE_CLI_RUNTIME;
        goto done;
    }
    if (!(t.names = calloc(rec.nfields, sizeof *t.names)))
        goto nomem;
    for (size_t i = 0; i < rec.nfields; i++, t.ncols++)
        if (!(t.names[i] = strndup(rec.fields[i].ptr, rec.fields[i].len)))
            goto nomem;
    uint64_t header_line = rec.line;

    /* the x column */
    if (xopt && (xcol = find_name(&t, xopt, strlen(xopt))) < 0) {
        tide_cli_error("%s:%llu: no column '%s' in the header", name,
                       (unsigned long long)header_line, xopt);
        rc = TIDE_CLI_RUNTIME;
        goto done;
    }
    /* the y columns: named, or chosen by the first data row */
    if (!(ycol = calloc(t.ncols, sizeof *ycol)))
        goto nomem;
    if (yopt) {
        for (const char *p = yopt;;) {
            const char *comma = strchr(p, ',');
            size_t len = comma ? (size_t)(comma - p) : strlen(p);
            long c = find_name(&t, p, len);
            if (c < 0) {
                tide_cli_error("%s:%llu: no column '%.*s' in the header", name,
                               (unsigned long long)header_line, (int)len, p);
                rc = TIDE_CLI_RUNTIME;
                goto done;
            }
            if (ny == t.ncols) {
                rc = tide_cli_usage_error("chart", "--y names more columns than the input has");
                goto done;
            }
            ycol[ny++] = (size_t)c;
            if (!comma)
                break;
            p = comma + 1;
        }
    } else {
        /* peek at the first data row */
        size_t peek = at;
        uint64_t next_line = lex.line;
        tide_csv_record r1;
        int pr;
        while ((pr = tide_csv_next(&lex, (const char *)in.data, in.len, &peek, true, &r1, &e)) ==
                   1 &&
               r1.raw_len == 0) {
        }
        if (pr == 1)
            for (size_t i = 0; i < r1.nfields && i < t.ncols; i++) {
                double d;
                if ((long)i != xcol && parse_number(&r1.fields[i], &d))
                    ycol[ny++] = i;
            }
        tide_csv_set_line(&lex, next_line);
        tide_err_clear(&e);
        if (pr == 1 && ny == 0) {
            tide_cli_error("%s:%llu: no column holds numbers (name them with --y)", name,
                           (unsigned long long)r1.line);
            rc = TIDE_CLI_RUNTIME;
            goto done;
        }
    }
    if (!(t.v = calloc(ny ? ny : 1, sizeof *t.v)) ||
        !(t.present = calloc(ny ? ny : 1, sizeof *t.present)))
        goto nomem;

    /* the rows */
    while ((lr = tide_csv_next(&lex, (const char *)in.data, in.len, &at, true, &rec, &e)) == 1) {
        if (rec.raw_len == 0)
            continue;
        if (rec.nfields != t.ncols) {
            tide_cli_error("%s:%llu: expected %zu fields (as the header), found %zu", name,
                           (unsigned long long)rec.line, t.ncols, rec.nfields);
            rc = TIDE_CLI_RUNTIME;
            goto done;
        }
        if (t.nrows == t.cap) {
            size_t cap = t.cap;
            if (tide_array_grow((void **)&t.xoff, &cap, t.nrows + 1, sizeof *t.xoff))
                goto nomem;
            for (size_t j = 0; j < ny; j++) {
                size_t c1 = t.cap, c2 = t.cap;
                if (tide_array_grow((void **)&t.v[j], &c1, t.nrows + 1, sizeof *t.v[j]) ||
                    tide_array_grow((void **)&t.present[j], &c2, t.nrows + 1, sizeof *t.present[j]))
                    goto nomem;
            }
            t.cap = cap;
        }
        t.xoff[t.nrows] = t.xtext.len;
        const tide_csv_field *xf = &rec.fields[xcol];
        if (tide_buf_append(&t.xtext, xf->ptr, xf->len) || tide_buf_putc(&t.xtext, '\0'))
            goto nomem;
        for (size_t j = 0; j < ny; j++) {
            const tide_csv_field *yf = &rec.fields[ycol[j]];
            double d = 0;
            bool has = !field_blank(yf);
            if (has && !parse_number(yf, &d)) {
                uint64_t line, col;
                tide_csv_field_pos(&rec, ycol[j], &line, &col);
                tide_cli_error("%s:%llu:%llu: column '%s': '%.*s' is not a number", name,
                               (unsigned long long)line, (unsigned long long)col, t.names[ycol[j]],
                               (int)(yf->len > 40 ? 40 : yf->len), yf->ptr);
                rc = TIDE_CLI_RUNTIME;
                goto done;
            }
            t.v[j][t.nrows] = d;
            t.present[j][t.nrows] = has;
        }
        t.nrows++;
    }
    if (lr < 0)
        goto bad_input;

    if (!(ser = calloc(ny ? ny : 1, sizeof *ser)) ||
        !(xs = calloc(t.nrows ? t.nrows : 1, sizeof *xs)))
        goto nomem;
    for (size_t i = 0; i < t.nrows; i++)
        xs[i] = (const char *)t.xtext.data + t.xoff[i];
    for (size_t j = 0; j < ny; j++) {
        ser[j].name = t.names[ycol[j]];
        ser[j].v = t.v[j];
        ser[j].present = t.present[j];
        ser[j].percent = tide_chart_is_ratio(t.v[j], t.present[j], t.nrows);
    }
    if (ny == 0) {
        tide_cli_error("%s: no rows and no --y columns: nothing to draw", name);
        rc = TIDE_CLI_RUNTIME;
        goto done;
    }
    if ((rc = tide_chart_render(xs, t.nrows, ser, ny, &co, &out, &e)) != 0) {
        tide_cli_error("%s", e.msg);
        rc = rc == TIDE_EINVAL ? TIDE_CLI_USAGE : TIDE_CLI_RUNTIME;
        goto done;
    }
    fwrite(out.data, 1, out.len, stdout);
    rc = TIDE_CLI_OK;
    goto done;
bad_input:
    tide_cli_error("%s", e.msg);
    rc = TIDE_CLI_RUNTIME;
    goto done;
nomem:
    tide_cli_error("out of memory");
    rc = TIDE_CLI_RUNTIME;
done:
    free(ser);
    free(xs);
    free(ycol);
    table_free(&t, ny);
    tide_csv_free(&lex);
    tide_buf_free(&in);
    tide_buf_free(&out);
    return rc;
}
