/*
 * lower.c - bound plans onto job/pipeline.h (see lower.h).
 */
#include "sql/lower.h"

#include "base/arena.h"
#include "base/buf.h"
#include "data/codec.h"
#include "data/timefmt.h"
#include "exec/expr.h"
#include "sql/catalog.h"
#include "tide.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define OUT_ROWS 1024

/* A chain of Filter / Project nodes folded over its base node: the base's
 * rows, the predicates over them, and each output column as an expression
 * over them. */
typedef struct flat {
    const tide_sql_plan *base;
    tide_sql_bexpr **cols;
    uint32_t ncols;
    tide_sql_bexpr **preds;
    uint32_t npreds;
} flat;

struct tide_sql_lowered {
    tide_arena arena;
    tide_pipe_config cfg;
    tide_src_config src;
    tide_sink_config sinkcfg;
    const tide_sql_plan *plan;
    bool bounded;
    bool windowed;
    int src_time; /* event-time column of the source rows */
    tide_pipe_expr_stage *stage;
    tide_schema *stage_schema;
    tide_winagg_call *aggs;
    uint32_t *key_cols, *value_cols;

    /* output */
    tide_schema *out_schema;  /* stdout: owned copy; INSERT: borrowed target */
    const tide_schema *wschema; /* the sink's schema */
    bool to_stdout;
    tide_sql_out_format format;
    int out_fd;
    int op_col;        /* INSERT target column for the op, or -1 */
    bool ops;          /* stdout changelog: batch keeps ops */
    uint32_t nout;     /* query output columns */
    uint32_t *map;     /* query column k -> sink column */
    tide_cbatch *out;  /* pending output rows */
    tide_sink *sink;   /* CSV / JSONL / INSERT */
    tide_buf tbuf;     /* table text */
    size_t *widths;
    uint64_t rows_out;
    int64_t last_wm;
    bool have_wm;
    tide_err oerr; /* first output error */

    /* window aggregate output adapter */
    tide_schema *wa_schema;
    tide_cbatch *wa_row;
    tide_expr *having;
    tide_expr **outx;
    uint32_t wa_nkeys, wa_naggs;
    const tide_expr_vec **vecs;
};

/* ---- errors ---- */

static int sqlfail(tide_sql_error *err, int code, tide_sql_pos pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int sqlfail(tide_sql_error *err, int code, tide_sql_pos pos, const char *fmt, ...)
{
    if (!err)
        return code;
    err->code = code;
    err->line = pos.line;
    err->col = pos.col;
    err->off = pos.off;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    if (!err->file[0])
        snprintf(err->file, sizeof err->file, "<input>");
    return code;
}

static int nomem(tide_sql_error *err, const tide_sql_plan *p)
{
    return sqlfail(err, TIDE_ENOMEM, p->pos, "out of memory");
}

/* An exec-level error ("line:col: message" or a bare message) at node p. */
static int experr(tide_sql_error *err, const tide_sql_plan *p, const tide_err *e)
{
    int code = e->code ? e->code : TIDE_EINVAL;
    if (code == TIDE_ENOMEM)
        return nomem(err, p);
    unsigned line, col;
    int n = 0;
    if (sscanf(e->msg, "%u:%u: %n", &line, &col, &n) == 2 && n > 0) {
        tide_sql_pos pos = p->pos;
        pos.line = line;
        pos.col = col;
        return sqlfail(err, code, pos, "%s", e->msg + n);
    }
    return sqlfail(err, code, p->pos, "%s", e->msg[0] ? e->msg : "cannot run this expression");
}

/* The logins generator's columns (connect/gen_logins.h): a 'logins' table
 * names a subset of them, in any order. */
static const char *const gen_names[4] = {"ts", "user_id", "country", "device"};
static const tide_type gen_types[4] = {TIDE_TYPE_TIMESTAMP, TIDE_TYPE_BIGINT, TIDE_TYPE_STRING, TIDE_TYPE_STRING};

static bool is_logins(const tide_sql_plan *scan)
{
    return scan->u.scan.table && scan->u.scan.table->connector == TIDE_SQL_CONN_LOGINS;
}

/* The source row's index of the scan's column i. */
static int scan_col(const tide_sql_plan *scan, uint32_t i, tide_sql_error *err)
{
    if (!is_logins(scan))
        return (int)i;
    for (int k = 0; k < 4; k++)
        if (strcasecmp(scan->cols[i].name, gen_names[k]) == 0) {
            if (scan->cols[i].type != gen_types[k])
                break;
            return k;
        }
    return sqlfail(err, TIDE_EINVAL, scan->pos,
                   "table '%s': column '%s' %s is not one of the logins generator's (ts TIMESTAMP(3), user_id "
                   "BIGINT, country STRING, device STRING)",
                   scan->u.scan.table->name, scan->cols[i].name, tide_type_name(scan->cols[i].type));
}

/* The schema of the source's rows. */
static int source_schema(const tide_sql_plan *scan, tide_schema **out, tide_sql_error *err)
{
    tide_err e = {0};
    if (!is_logins(scan)) {
        if (tide_sql_plan_schema(scan, out, &e))
            return experr(err, scan, &e);
        return 0;
    }
    int rc = tide_schema_create(out, &e);
    for (int k = 0; k < 4 && !rc; k++)
        rc = tide_schema_add(*out, gen_names[k], gen_types[k], true, &e);
    if (!rc)
        rc = tide_schema_set_time_column(*out, 0, &e);
    if (rc) {
        tide_schema_free(*out);
        *out = NULL;
        return experr(err, scan, &e);
    }
    return 0;
}

/* ---- folding Filter / Project chains ---- */

static tide_sql_bexpr *subst(tide_arena *a, tide_sql_bexpr *x, tide_sql_bexpr *const *cols)
{
    if (x->kind == TIDE_SQL_BX_COLUMN)
        return cols[x->col];
    if (x->nargs == 0)
        return x;
    tide_sql_bexpr *y = tide_arena_alloc(a, sizeof *y);
    tide_sql_bexpr **args = tide_arena_alloc(a, x->nargs * sizeof *args);
    if (!y || !args)
        return NULL;
    *y = *x;
    y->args = args;
    for (uint32_t i = 0; i < x->nargs; i++)
        if (!(args[i] = x->args[i] ? subst(a, x->args[i], cols) : NULL) && x->args[i])
            return NULL;
    return y;
}

static int unsupported(tide_sql_error *err, const tide_sql_plan *p)
{
    const char *what;
    switch (p->kind) {
    case TIDE_SQL_PLAN_JOIN:
        what = "joins";
        break;
    case TIDE_SQL_PLAN_UNION:
        what = "UNION ALL";
        break;
    case TIDE_SQL_PLAN_AGGREGATE:
        what = "GROUP BY without a window (group by window_start, window_end of a window TVF)";
        break;
    case TIDE_SQL_PLAN_WINDOW:
        what = "a window TVF without an aggregation over its windows";
        break;
    case TIDE_SQL_PLAN_VALUES:
        what = "SELECT without FROM";
        break;
    case TIDE_SQL_PLAN_WINDOW_AGGREGATE:
        what = "a windowed aggregation over another aggregation's output";
        break;
    default:
        what = tide_sql_plan_kind_name(p->kind);
        break;
    }
    return sqlfail(err, TIDE_EUNSUPPORTED, p->pos, "not supported yet: %s", what);
}

/* Fold the Filter / Project nodes from `p` down to the first other node,
 * which must be of kind `want` (or, when want_wa, a WindowAggregate or a
 * Scan). */
static int flatten(tide_sql_lowered *l, const tide_sql_plan *p, bool allow_wa, flat *f, tide_sql_error *err)
{
    const tide_sql_plan *chain[256];
    uint32_t n = 0;
    const tide_sql_plan *q = p;
    while (q->kind == TIDE_SQL_PLAN_FILTER || q->kind == TIDE_SQL_PLAN_PROJECT) {
        if (n == 256)
            return sqlfail(err, TIDE_EUNSUPPORTED, q->pos, "not supported yet: a query nested this deep");
        chain[n++] = q;
        q = q->input;
    }
    if (q->kind != TIDE_SQL_PLAN_SCAN && !(allow_wa && q->kind == TIDE_SQL_PLAN_WINDOW_AGGREGATE))
        return unsupported(err, q);
    f->base = q;
    f->ncols = q->ncols;
    f->cols = tide_arena_alloc(&l->arena, (q->ncols + 1) * sizeof *f->cols);
    f->preds = tide_arena_alloc(&l->arena, (n + 1) * sizeof *f->preds);
    f->npreds = 0;
    if (!f->cols || !f->preds)
        return nomem(err, q);
    for (uint32_t i = 0; i < q->ncols; i++) {
        tide_sql_bexpr *c = tide_arena_alloc(&l->arena, sizeof *c);
        if (!c)
            return nomem(err, q);
        int sc = (int)i;
        if (q->kind == TIDE_SQL_PLAN_SCAN && (sc = scan_col(q, i, err)) < 0)
            return sc;
        *c = (tide_sql_bexpr){.kind = TIDE_SQL_BX_COLUMN, .type = q->cols[i].type, .col = (uint32_t)sc};
        f->cols[i] = c;
    }
    while (n > 0) {
        const tide_sql_plan *s = chain[--n];
        if (s->kind == TIDE_SQL_PLAN_FILTER) {
            if (!(f->preds[f->npreds++] = subst(&l->arena, s->u.filter.pred, f->cols)))
                return nomem(err, s);
        } else {
            tide_sql_bexpr **nc = tide_arena_alloc(&l->arena, (s->ncols + 1) * sizeof *nc);
            if (!nc)
                return nomem(err, s);
            for (uint32_t i = 0; i < s->ncols; i++)
                if (!(nc[i] = subst(&l->arena, s->u.project.exprs[i], f->cols)))
                    return nomem(err, s);
            f->cols = nc;
            f->ncols = s->ncols;
        }
    }
    return 0;
}

/* The predicates ANDed into one exec tree over `in` (NULL when none). */
static int build_where(const flat *f, const tide_schema *in, const tide_sql_plan *at, tide_expr **out,
                       tide_sql_error *err)
{
    *out = NULL;
    tide_expr *acc = NULL;
    for (uint32_t i = 0; i < f->npreds; i++) {
        tide_err e = {0};
        tide_expr *x = NULL;
        if (tide_sql_plan_expr(f->preds[i], in, &x, &e)) {
            tide_expr_free(acc);
            return experr(err, at, &e);
        }
        if (!acc) {
            acc = x;
        } else if (tide_expr_logic(&acc, TIDE_EXPR_AND, acc, x, &e)) {
            return experr(err, at, &e);
        }
    }
    *out = acc;
    return 0;
}

static bool is_abs(const char *p) { return p[0] == '/'; }

static const char *resolve(tide_sql_lowered *l, const char *path, const char *base)
{
    if (!path || !base || !*base || is_abs(path))
        return path;
    size_t bl = strlen(base), pl = strlen(path);
    char *s = tide_arena_alloc(&l->arena, bl + pl + 2);
    if (!s)
        return NULL;
    memcpy(s, base, bl);
    s[bl] = '/';
    memcpy(s + bl + 1, path, pl + 1);
    return s;
}

/* ---- output ---- */

static tide_op op_of(tide_change c)
{
    switch (c) {
    case TIDE_CHANGE_UPDATE_BEFORE:
        return TIDE_OP_UPDATE_BEFORE;
    case TIDE_CHANGE_UPDATE_AFTER:
        return TIDE_OP_UPDATE_AFTER;
    case TIDE_CHANGE_DELETE:
        return TIDE_OP_DELETE;
    default:
        return TIDE_OP_INSERT;
    }
}

static int put_value(tide_buf *b, const tide_value *v)
{
    char ts[64];
    if (v->is_null || v->type == TIDE_TYPE_NULL)
        return tide_buf_printf(b, "NULL");
    switch (v->type) {
    case TIDE_TYPE_BOOLEAN:
        return tide_buf_printf(b, "%s", v->u.b ? "TRUE" : "FALSE");
    case TIDE_TYPE_BIGINT:
        return tide_buf_printf(b, "%lld", (long long)v->u.i64);
    case TIDE_TYPE_DOUBLE:
        return tide_codec_write_double(b, v->u.f64);
    case TIDE_TYPE_TIMESTAMP:
        tide_ts_format(v->u.i64, ts);
        return tide_buf_printf(b, "%s", ts);
    case TIDE_TYPE_STRING:
        return tide_buf_append(b, v->u.s.ptr, v->u.s.len);
    default:
        return tide_buf_printf(b, "?");
    }
}

static size_t type_width(tide_type t)
{
    switch (t) {
    case TIDE_TYPE_TIMESTAMP:
        return 23;
    case TIDE_TYPE_BIGINT:
    case TIDE_TYPE_DOUBLE:
        return 8;
    case TIDE_TYPE_BOOLEAN:
        return 5;
    default:
        return 10;
    }
}

static int write_all(int fd, const char *p, size_t n, tide_err *e)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return tide_err_sys(e, errno, "stdout: write");
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* One padded cell; numbers right-aligned. */
static int table_cell(tide_buf *b, const char *s, size_t len, size_t w, bool right, bool last)
{
    int rc = 0;
    if (right)
        for (size_t i = len; i < w && !rc; i++)
            rc = tide_buf_putc(b, ' ');
    if (!rc)
        rc = tide_buf_append(b, s, len);
    if (!right && !last)
        for (size_t i = len; i < w && !rc; i++)
            rc = tide_buf_putc(b, ' ');
    if (!rc && !last)
        rc = tide_buf_append(b, "  ", 2);
    return rc;
}

static int table_header(tide_sql_lowered *l, tide_err *e)
{
    size_t n = tide_schema_ncols(l->wschema);
    tide_buf *b = &l->tbuf;
    tide_buf_reset(b);
    int rc = 0;
    if (l->ops)
        rc = table_cell(b, "op", 2, 2, false, n == 0);
    for (size_t i = 0; i < n && !rc; i++) {
        const tide_column *c = tide_schema_col(l->wschema, i);
        size_t len = strlen(c->name);
        bool right = c->type == TIDE_TYPE_BIGINT || c->type == TIDE_TYPE_DOUBLE;
        rc = table_cell(b, c->name, len, l->widths[i], right, i + 1 == n);
    }
    if (!rc)
        rc = tide_buf_putc(b, '\n');
    if (rc)
        return tide_err_set(e, TIDE_ENOMEM, "out of memory");
    return write_all(l->out_fd, (const char *)b->data, b->len, e);
}

static int table_rows(tide_sql_lowered *l, const tide_cbatch *bt, tide_err *e)
{
    size_t n = tide_schema_ncols(l->wschema);
    tide_buf *b = &l->tbuf;
    tide_buf cell = {0};
    tide_buf_reset(b);
    int rc = 0;
    for (uint32_t r = 0; r < tide_cbatch_rows(bt) && !rc; r++) {
        if (l->ops) {
            const char *op = tide_op_name(tide_cbatch_op(bt, r));
            rc = table_cell(b, op, strlen(op), 2, false, n == 0);
        }
        for (size_t i = 0; i < n && !rc; i++) {
            tide_value v = tide_cbatch_get(bt, (uint32_t)i, r);
            tide_buf_reset(&cell);
            if ((rc = put_value(&cell, &v)) != 0)
                break;
            bool right = v.type == TIDE_TYPE_BIGINT || v.type == TIDE_TYPE_DOUBLE;
            rc = table_cell(b, cell.data ? (const char *)cell.data : "", cell.len, l->widths[i], right, i + 1 == n);
        }
        if (!rc)
            rc = tide_buf_putc(b, '\n');
    }
    tide_buf_free(&cell);
    if (rc)
        return tide_err_set(e, TIDE_ENOMEM, "out of memory");
    return write_all(l->out_fd, (const char *)b->data, b->len, e);
}

/* Write the pending rows. */
static int out_flush(tide_sql_lowered *l, bool sync, tide_err *e)
{
    int rc = 0;
    if (tide_cbatch_rows(l->out) > 0) {
        l->rows_out += tide_cbatch_rows(l->out);
        if (l->sink)
            rc = tide_sink_write(l->sink, l->out, e);
        else
            rc = table_rows(l, l->out, e);
        tide_cbatch_reset(l->out);
    }
    if (!rc && sync && l->sink)
        rc = tide_sink_flush(l->sink, e);
    return rc;
}

static int out_fail(tide_sql_lowered *l, int rc, const tide_err *e)
{
    if (!l->oerr.code) {
        l->oerr = *e;
        if (!l->oerr.code)
            l->oerr.code = rc;
    }
    return rc;
}

/* Start one output row; *row gets its index. */
static int out_row(tide_sql_lowered *l, tide_change op, uint32_t *row, tide_err *e)
{
    int rc;
    if (tide_cbatch_full(l->out) && (rc = out_flush(l, false, e)) != 0)
        return rc;
    if ((rc = tide_cbatch_add_row(l->out, row)) != 0)
        return tide_err_set(e, rc, "output batch");
    if (l->ops)
        tide_cbatch_set_op(l->out, *row, op_of(op));
    if (l->op_col >= 0) {
        const char *s = tide_change_name(op);
        if ((rc = tide_cbatch_set_str(l->out, (uint32_t)l->op_col, *row, s, strlen(s), e)) != 0)
            return rc;
    }
    return 0;
}

static tide_value vec_value(const tide_expr_vec *v, uint32_t r)
{
    tide_value x = {.type = v->type};
    if (v->nulls && v->nulls[r]) {
        x.is_null = true;
        return x;
    }
    switch (v->type) {
    case TIDE_TYPE_BOOLEAN:
        x.u.b = v->v.b[r] != 0;
        break;
    case TIDE_TYPE_BIGINT:
    case TIDE_TYPE_TIMESTAMP:
        x.u.i64 = v->v.i64[r];
        break;
    case TIDE_TYPE_DOUBLE:
        x.u.f64 = v->v.f64[r];
        break;
    case TIDE_TYPE_STRING:
        x.u.s = v->v.s[r];
        break;
    default:
        x.is_null = true;
        break;
    }
    return x;
}

static int on_result(void *ctx, const tide_pipe_result *r)
{
    tide_sql_lowered *l = ctx;
    tide_err e = {0};
    int rc = 0;
    if (l->have_wm && r->wm != l->last_wm && (rc = out_flush(l, true, &e)) != 0)
        return out_fail(l, rc, &e);
    l->have_wm = true;
    l->last_wm = r->wm;
    tide_cbatch *b = l->wa_row;
    tide_cbatch_reset(b);
    uint32_t row;
    if ((rc = tide_cbatch_add_row(b, &row)) != 0)
        return out_fail(l, rc, &e);
    uint32_t k = l->wa_nkeys;
    for (uint32_t i = 0; i < k && !rc; i++)
        rc = tide_cbatch_set(b, i, row, &r->keys[i], &e);
    if (rc)
        return out_fail(l, rc, &e);
    tide_cbatch_set_i64(b, k, row, r->start);
    tide_cbatch_set_i64(b, k + 1, row, r->end);
    tide_cbatch_set_i64(b, k + 2, row, r->end - 1);
    for (uint32_t i = 0; i < l->wa_naggs && !rc; i++)
        rc = tide_cbatch_set(b, k + 3 + i, row, &r->vals[i], &e);
    if (rc)
        return out_fail(l, rc, &e);
    if (l->having) {
        uint32_t sel[1], n = 0;
        if ((rc = tide_expr_filter(l->having, b, sel, &n, &e)) != 0)
            return out_fail(l, rc, &e);
        if (n == 0)
            return 0;
    }
    for (uint32_t i = 0; i < l->nout; i++)
        if ((rc = tide_expr_eval(l->outx[i], b, NULL, 0, &l->vecs[i], &e)) != 0)
            return out_fail(l, rc, &e);
    uint32_t orow;
    if ((rc = out_row(l, r->op, &orow, &e)) != 0)
        return out_fail(l, rc, &e);
    for (uint32_t i = 0; i < l->nout && !rc; i++) {
        tide_value v = vec_value(l->vecs[i], 0);
        rc = tide_cbatch_set(l->out, l->map[i], orow, &v, &e);
    }
    /* unbounded: the rows of the last step must not wait for the next one */
    if (!rc && !l->bounded)
        rc = out_flush(l, true, &e);
    return rc ? out_fail(l, rc, &e) : 0;
}

static int on_rows(void *ctx, const tide_cbatch *in)
{
    tide_sql_lowered *l = ctx;
    tide_err e = {0};
    int rc = 0;
    for (uint32_t r = 0; r < tide_cbatch_rows(in) && !rc; r++) {
        uint32_t orow;
        if ((rc = out_row(l, TIDE_CHANGE_INSERT, &orow, &e)) != 0)
            break;
        for (uint32_t i = 0; i < l->nout && !rc; i++) {
            tide_value v = tide_cbatch_get(in, i, r);
            rc = tide_cbatch_set(l->out, l->map[i], orow, &v, &e);
        }
    }
    if (!rc)
        rc = out_flush(l, true, &e);
    return rc ? out_fail(l, rc, &e) : 0;
}

/* ---- lowering ---- */

static int add_stage_col(tide_schema *s, const char *name, const tide_expr *x, const tide_sql_plan *at,
                         tide_sql_error *err)
{
    tide_err e = {0};
    tide_type t = tide_expr_type(x);
    if (t == TIDE_TYPE_NULL)
        return sqlfail(err, TIDE_EUNSUPPORTED, at->pos, "not supported yet: a NULL literal as a column");
    if (tide_schema_add(s, name, t, true, &e))
        return experr(err, at, &e);
    return 0;
}

static int lower_source(tide_sql_lowered *l, const tide_sql_plan *scan, const tide_sql_lower_opts *o,
                        tide_sql_error *err)
{
    const tide_sql_table *t = scan->u.scan.table;
    if (scan->u.scan.time_col < 0)
        return sqlfail(err, TIDE_EUNSUPPORTED, scan->pos,
                       "not supported yet: reading table '%s' without a WATERMARK on a physical column "
                       "(the job needs event time)",
                       t ? t->name : "?");
    l->cfg.wm_bound = scan->u.scan.wm_bound;
    int tc = scan_col(scan, (uint32_t)scan->u.scan.time_col, err);
    if (tc < 0)
        return tc;
    l->src_time = tc;
    if (is_logins(scan)) {
        l->cfg.source.kind = TIDE_PIPE_SRC_GEN_LOGINS;
        l->cfg.source.gen = scan->u.scan.cfg.gen;
        l->cfg.source.time_col = tc;
        l->bounded = true;
        return 0;
    }
    l->src = scan->u.scan.cfg;
    if (l->src.kind == TIDE_SRC_FILE && !(l->src.path = resolve(l, l->src.path, o->base_dir)))
        return nomem(err, scan);
    if (l->src.kind == TIDE_SRC_TOPIC && !l->src.datadir)
        l->src.datadir = o->datadir;
    if (o->clock)
        l->src.clock = o->clock;
    l->cfg.source.kind = TIDE_PIPE_SRC_CONNECT;
    l->cfg.source.conn = &l->src;
    l->cfg.source.time_col = scan->u.scan.time_col;
    l->bounded = l->src.kind != TIDE_SRC_TOPIC || l->src.bounded;
    return 0;
}

/* The output: sink schema, column map, batch. */
static int lower_output(tide_sql_lowered *l, const tide_sql_plan *sink, uint32_t nout, const tide_sql_lower_opts *o,
                        tide_sql_error *err)
{
    tide_err e = {0};
    l->nout = nout;
    l->op_col = -1;
    if (!(l->map = tide_arena_alloc(&l->arena, (nout + 1) * sizeof *l->map)))
        return nomem(err, sink);
    if (!sink->u.sink.table) {
        l->to_stdout = true;
        l->format = o->format;
        l->out_fd = o->out_fd;
        l->ops = sink->changelog;
        if (tide_sql_plan_schema(sink->input, &l->out_schema, &e))
            return experr(err, sink, &e);
        l->wschema = l->out_schema;
        for (uint32_t i = 0; i < nout; i++)
            l->map[i] = i;
        tide_sink_config_init(&l->sinkcfg);
        l->sinkcfg.kind = TIDE_SINK_STDOUT;
        l->sinkcfg.fd = o->out_fd;
        l->sinkcfg.format = o->format == TIDE_SQL_OUT_JSONL ? TIDE_FORMAT_JSONL : TIDE_FORMAT_CSV;
        l->sinkcfg.header = true;
        l->sinkcfg.schema = l->wschema;
    } else {
        l->sinkcfg = sink->u.sink.cfg;
        l->wschema = l->sinkcfg.schema;
        l->op_col = sink->u.sink.op_col;
        if (l->sinkcfg.kind == TIDE_SINK_FILE && !(l->sinkcfg.path = resolve(l, l->sinkcfg.path, o->base_dir)))
            return nomem(err, sink);
        if (l->sinkcfg.kind == TIDE_SINK_TOPIC && !l->sinkcfg.datadir)
            l->sinkcfg.datadir = o->datadir;
        if (o->clock)
            l->sinkcfg.clock = o->clock;
        uint32_t k = 0;
        size_t n = tide_schema_ncols(l->wschema);
        for (uint32_t j = 0; j < n && k < nout; j++)
            if ((int)j != l->op_col)
                l->map[k++] = j;
        if (k != nout)
            return sqlfail(err, TIDE_EINVAL, sink->pos, "INSERT: the query has %u columns, the table fewer", nout);
    }
    size_t n = tide_schema_ncols(l->wschema);
    if (!(l->widths = tide_arena_alloc(&l->arena, (n + 1) * sizeof *l->widths)))
        return nomem(err, sink);
    for (size_t i = 0; i < n; i++) {
        const tide_column *c = tide_schema_col(l->wschema, i);
        size_t w = type_width(c->type), nl = strlen(c->name);
        l->widths[i] = nl > w ? nl : w;
    }
    if (tide_cbatch_create(&l->out, l->wschema, OUT_ROWS, l->ops ? TIDE_CBATCH_OPS : 0, &e))
        return experr(err, sink, &e);
    return 0;
}

static int lower_windowed(tide_sql_lowered *l, const tide_sql_plan *sink, const flat *top, const tide_sql_lower_opts *o,
                          tide_sql_error *err)
{
    const tide_sql_plan *wa = top->base;
    tide_err e = {0};
    int rc;
    const tide_sql_window *w = &wa->u.agg.w;
    if (w->offset != 0)
        return sqlfail(err, TIDE_EUNSUPPORTED, wa->pos, "not supported yet: a window offset");
    if (w->npartition > 0)
        return sqlfail(err, TIDE_EUNSUPPORTED, wa->pos,
                       "not supported yet: SESSION PARTITION BY (group by the columns instead)");
    uint32_t nk = wa->u.agg.nkeys, na = wa->u.agg.naggs;
    if (wa->ncols != nk + 3 + na)
        return sqlfail(err, TIDE_EUNSUPPORTED, wa->pos, "not supported yet: this aggregation's row type");
    flat in;
    if ((rc = flatten(l, wa->input, false, &in, err)) != 0)
        return rc;
    const tide_sql_plan *scan = in.base;
    if ((rc = lower_source(l, scan, o, err)) != 0)
        return rc;
    tide_schema *scan_schema = NULL;
    tide_expr *where = NULL;
    uint32_t nx = 0, cap = nk + na + 1;
    tide_expr **xs = calloc(cap, sizeof *xs);
    if (!xs)
        return nomem(err, wa);
    if ((rc = source_schema(scan, &scan_schema, err)) != 0)
        goto done;
    if ((rc = build_where(&in, scan_schema, wa, &where, err)) != 0)
        goto done;
    if ((rc = tide_schema_create(&l->stage_schema, &e)) != 0) {
        rc = experr(err, wa, &e);
        goto done;
    }
    l->key_cols = tide_arena_alloc(&l->arena, (nk + 1) * sizeof *l->key_cols);
    l->value_cols = tide_arena_alloc(&l->arena, (na + 1) * sizeof *l->value_cols);
    l->aggs = tide_arena_alloc(&l->arena, (na + 1) * sizeof *l->aggs);
    if (!l->key_cols || !l->value_cols || !l->aggs) {
        rc = nomem(err, wa);
        goto done;
    }
    char name[32];
    for (uint32_t i = 0; i < nk; i++) {
        tide_sql_bexpr *k = subst(&l->arena, wa->u.agg.keys[i], in.cols);
        if (!k) {
            rc = nomem(err, wa);
            goto done;
        }
        if (tide_sql_plan_expr(k, scan_schema, &xs[nx], &e)) {
            rc = experr(err, wa, &e);
            goto done;
        }
        snprintf(name, sizeof name, "k%u", i);
        if ((rc = add_stage_col(l->stage_schema, name, xs[nx], wa, err)) != 0)
            goto done;
        l->key_cols[i] = nx++;
    }
    uint32_t nv = 0;
    for (uint32_t i = 0; i < na; i++) {
        const tide_sql_aggcall *c = &wa->u.agg.aggs[i];
        l->aggs[i] = (tide_winagg_call){.kind = c->agg.kind, .arg = 0, .type = c->agg.in_type};
        if (!c->arg)
            continue;
        tide_sql_bexpr *a = subst(&l->arena, c->arg, in.cols);
        if (!a) {
            rc = nomem(err, wa);
            goto done;
        }
        if (tide_sql_plan_expr(a, scan_schema, &xs[nx], &e)) {
            rc = experr(err, wa, &e);
            goto done;
        }
        snprintf(name, sizeof name, "v%u", i);
        if ((rc = add_stage_col(l->stage_schema, name, xs[nx], wa, err)) != 0)
            goto done;
        l->aggs[i].type = tide_expr_type(xs[nx]);
        l->aggs[i].arg = nv;
        l->value_cols[nv++] = nx++;
    }
    if (w->time_col >= in.ncols) {
        rc = sqlfail(err, TIDE_EUNSUPPORTED, wa->pos, "not supported yet: this window's time column");
        goto done;
    }
    if (tide_sql_plan_expr(in.cols[w->time_col], scan_schema, &xs[nx], &e)) {
        rc = experr(err, wa, &e);
        goto done;
    }
    if ((rc = add_stage_col(l->stage_schema, "ts", xs[nx], wa, err)) != 0)
        goto done;
    l->cfg.time_col = (int)nx++;
    if (tide_schema_set_time_column(l->stage_schema, l->cfg.time_col, &e)) {
        rc = experr(err, wa, &e);
        goto done;
    }
    rc = tide_pipe_expr_stage_create(&l->stage, where, xs, nx, &e);
    where = NULL;
    for (uint32_t i = 0; i < nx; i++)
        xs[i] = NULL;
    if (rc) {
        rc = experr(err, wa, &e);
        goto done;
    }
    l->cfg.stage = tide_pipe_expr_stage_fn;
    l->cfg.stage_ctx = l->stage;
    l->cfg.stage_schema = l->stage_schema;
    l->cfg.window = w->spec;
    l->cfg.aggs = l->aggs;
    l->cfg.n_aggs = na;
    l->cfg.key_cols = l->key_cols;
    l->cfg.n_key_cols = nk;
    l->cfg.value_cols = l->value_cols;
    l->cfg.n_value_cols = nv;
    const tide_sql_emit_spec *em = &wa->u.agg.emit;
    l->cfg.allowed_lateness = em->lateness;
    l->cfg.mode = em->given ? em->mode : TIDE_TRIG_ACCUMULATING;
    l->cfg.early.every_ms = em->early_ms;
    l->cfg.early.every_n = em->early_rows > 0 ? (uint64_t)em->early_rows : 0;
    l->cfg.capacity_hint = 1024;
    l->cfg.on_result = on_result;

    /* the output adapter */
    l->wa_nkeys = nk;
    l->wa_naggs = na;
    if ((rc = lower_output(l, sink, top->ncols, o, err)) != 0)
        goto done;
    if (tide_sql_plan_schema(wa, &l->wa_schema, &e) || tide_cbatch_create(&l->wa_row, l->wa_schema, 1, 0, &e)) {
        rc = experr(err, wa, &e);
        goto done;
    }
    if ((rc = build_where(top, l->wa_schema, sink, &l->having, err)) != 0)
        goto done;
    l->outx = calloc(top->ncols + 1, sizeof *l->outx);
    l->vecs = calloc(top->ncols + 1, sizeof *l->vecs);
    if (!l->outx || !l->vecs) {
        rc = nomem(err, sink);
        goto done;
    }
    for (uint32_t i = 0; i < top->ncols; i++)
        if (tide_sql_plan_expr(top->cols[i], l->wa_schema, &l->outx[i], &e)) {
            rc = experr(err, sink, &e);
            goto done;
        }
done:
    tide_expr_free(where);
    for (uint32_t i = 0; i < cap; i++)
        tide_expr_free(xs[i]);
    free(xs);
    tide_schema_free(scan_schema);
    return rc;
}

static int lower_stateless(tide_sql_lowered *l, const tide_sql_plan *sink, const flat *f, const tide_sql_lower_opts *o,
                           tide_sql_error *err)
{
    const tide_sql_plan *scan = f->base;
    tide_err e = {0};
    int rc;
    if ((rc = lower_source(l, scan, o, err)) != 0)
        return rc;
    tide_schema *scan_schema = NULL;
    tide_expr *where = NULL;
    uint32_t nx = 0, cap = f->ncols + 1;
    tide_expr **xs = calloc(cap, sizeof *xs);
    if (!xs)
        return nomem(err, sink);
    if ((rc = source_schema(scan, &scan_schema, err)) != 0)
        goto done;
    if ((rc = build_where(f, scan_schema, sink, &where, err)) != 0)
        goto done;
    if ((rc = tide_schema_create(&l->stage_schema, &e)) != 0) {
        rc = experr(err, sink, &e);
        goto done;
    }
    int time_col = -1;
    uint32_t tc = (uint32_t)l->src_time;
    char name[32];
    for (uint32_t i = 0; i < f->ncols; i++) {
        if (tide_sql_plan_expr(f->cols[i], scan_schema, &xs[nx], &e)) {
            rc = experr(err, sink, &e);
            goto done;
        }
        snprintf(name, sizeof name, "c%u", i);
        if ((rc = add_stage_col(l->stage_schema, name, xs[nx], sink, err)) != 0)
            goto done;
        if (time_col < 0 && f->cols[i]->kind == TIDE_SQL_BX_COLUMN && f->cols[i]->col == tc)
            time_col = (int)nx;
        nx++;
    }
    if (time_col < 0) {
        tide_sql_bexpr t = {.kind = TIDE_SQL_BX_COLUMN, .type = TIDE_TYPE_TIMESTAMP, .col = tc};
        if (tide_sql_plan_expr(&t, scan_schema, &xs[nx], &e)) {
            rc = experr(err, scan, &e);
            goto done;
        }
        if ((rc = add_stage_col(l->stage_schema, "$ts", xs[nx], sink, err)) != 0)
            goto done;
        time_col = (int)nx++;
    }
    l->cfg.time_col = time_col;
    rc = tide_pipe_expr_stage_create(&l->stage, where, xs, nx, &e);
    where = NULL;
    for (uint32_t i = 0; i < nx; i++)
        xs[i] = NULL;
    if (rc) {
        rc = experr(err, sink, &e);
        goto done;
    }
    l->cfg.stage = tide_pipe_expr_stage_fn;
    l->cfg.stage_ctx = l->stage;
    l->cfg.stage_schema = l->stage_schema;
    l->cfg.n_aggs = 0;
    l->cfg.on_rows = on_rows;
    rc = lower_output(l, sink, f->ncols, o, err);
done:
    tide_expr_free(where);
    for (uint32_t i = 0; i < cap; i++)
        tide_expr_free(xs[i]);
    free(xs);
    tide_schema_free(scan_schema);
    return rc;
}

int tide_sql_lower(const tide_sql_plan *plan, const tide_sql_lower_opts *o, tide_sql_lowered **out,
                   tide_sql_error *err)
{
    *out = NULL;
    if (plan->kind != TIDE_SQL_PLAN_SINK)
        return sqlfail(err, TIDE_EINVAL, plan->pos, "not a statement's plan (%s)", tide_sql_plan_kind_name(plan->kind));
    tide_sql_lowered *l = calloc(1, sizeof *l);
    if (!l)
        return nomem(err, plan);
    tide_arena_init(&l->arena, 4096);
    tide_pipe_config_init(&l->cfg);
    l->plan = plan;
    l->op_col = -1;
    l->cfg.parallelism = o->parallelism;
    l->cfg.clock = o->clock;
    l->cfg.out_ctx = l;
    flat top;
    int rc = flatten(l, plan->input, true, &top, err);
    if (!rc) {
        if (top.base->kind == TIDE_SQL_PLAN_WINDOW_AGGREGATE) {
            l->windowed = true;
            rc = lower_windowed(l, plan, &top, o, err);
        } else {
            rc = lower_stateless(l, plan, &top, o, err);
        }
    }
    if (rc) {
        tide_sql_lower_free(l);
        return rc;
    }
    *out = l;
    return 0;
}

const tide_pipe_config *tide_sql_lower_config(const tide_sql_lowered *l) { return &l->cfg; }

bool tide_sql_lower_bounded(const tide_sql_lowered *l) { return l->bounded; }

uint64_t tide_sql_lower_rows_out(const tide_sql_lowered *l) { return l->rows_out; }

int tide_sql_lower_open(tide_sql_lowered *l, tide_err *e)
{
    if (l->to_stdout && l->format == TIDE_SQL_OUT_TABLE)
        return table_header(l, e);
    return tide_sink_open(&l->sink, &l->sinkcfg, e);
}

int tide_sql_lower_finish(tide_sql_lowered *l, bool ok, tide_err *e)
{
    int rc = 0;
    if (ok && !l->oerr.code)
        rc = out_flush(l, false, e);
    if (l->oerr.code) {
        *e = l->oerr;
        rc = l->oerr.code;
    }
    if (l->sink) {
        if (ok && !rc) {
            rc = tide_sink_close(l->sink, e);
        } else {
            tide_sink_abort(l->sink);
        }
        l->sink = NULL;
    }
    return rc;
}

void tide_sql_lower_free(tide_sql_lowered *l)
{
    if (!l)
        return;
    tide_sink_abort(l->sink);
    tide_pipe_expr_stage_free(l->stage);
    tide_schema_free(l->stage_schema);
    tide_schema_free(l->out_schema);
    tide_schema_free(l->wa_schema);
    tide_cbatch_free(l->out);
    tide_cbatch_free(l->wa_row);
    tide_expr_free(l->having);
    if (l->outx)
        for (uint32_t i = 0; i < l->nout; i++)
            tide_expr_free(l->outx[i]);
    free(l->outx);
    free(l->vecs);
    tide_buf_free(&l->tbuf);
    tide_arena_free(&l->arena);
    free(l);
}
