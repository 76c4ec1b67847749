/*
 * lower.c - bound plans onto job/pipeline.h (see lower.h).
 */
#include "sql/lower.h"

#include "base/arena.h"
#include "base/buf.h"
#include "data/codec.h"
#include "data/key.h"
#include "exec/cumagg.h"
#include "exec/expr.h"
#include "exec/join.h"
#include "job/fanin.h"
#include "sql/catalog.h"
#include "tide.h"

#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
    bool live; /* a rate-limited generator: bounded, but its rows are written as they come */
    bool windowed;
    int src_time; /* event-time column of the source rows */
    tide_pipe_expr_stage *stage;
    tide_schema *stage_schema;
    tide_winagg_call *aggs;
    uint32_t *key_cols, *value_cols;

    /* output: rows of l->out go to a connect/ sink (sinkcfg: stdout as a
     * table, CSV or JSON Lines, or the INSERT target), which writes the
     * op (the batch's) where the target wants it */
    tide_schema *out_schema;  /* stdout: owned copy; INSERT: borrowed target */
    const tide_schema *wschema; /* the sink's schema */
    bool ops;          /* a changelog: l->out keeps ops */
    uint32_t nout;     /* query output columns */
    uint32_t *map;     /* query column k -> sink column */
    tide_cbatch *out;  /* pending output rows */
    tide_sink *sink;
    uint64_t rows_out;
    int64_t last_wm;
    bool have_wm;
    tide_err oerr; /* first output error */

    /* window aggregate output adapter */
    tide_schema *wa_schema;
    tide_cbatch *wa_row;
    /* +I results waiting to go through HAVING and the SELECT list a batch
     * at a time (on_result; bat_flush), and bat_flush's selection */
    tide_cbatch *bat;
    uint32_t *bat_sel;
    tide_expr *having;
    tide_expr **outx;
    uint32_t wa_nkeys, wa_naggs;
    /* GROUP BY key i is the pipeline's key column key_pos[i] (SESSION
     * PARTITION BY puts the partition columns first); NULL: i */
    uint32_t *key_pos;
    const tide_expr_vec **vecs;
    /* a changelog's -U row, held until its +U (see on_result) */
    tide_cbatch *wa_prev;
    tide_expr **outx_prev; /* outx again: both rows' outputs at once */
    const tide_expr_vec **vecs_prev;
    bool pend, pend_pass;

    /* JOIN / UNION ALL: several pipelines through a fan-in (lower_fanin) */
    bool fan;
    tide_sql_lowered **branches; /* each lowered as a job of its own */
    uint32_t nbranches;
    tide_fanin *fanin;
    uint32_t fan_nleft, fan_nright;
    tide_sql_lowered *parent; /* as a branch: the job it feeds */
    uint32_t branch_i;
    const void *fan_src; /* as a branch: the table it reads (counts) */
    /* an interval join of two streams over the fan-in's merged sequence */
    tide_join_interval *ij;
    uint32_t ij_tcol[2];
    uint32_t ij_key[2][TIDE_FANIN_MAX_KEYS];
    uint32_t ij_nkeys;
    int64_t ij_wm[2];
    bool ij_seen[2];
    tide_buf ij_kbuf;
    /* a window join of two streams: exec/join's window operator over the
     * windows' input rows; each side's row (the Filter / Project chain over
     * the Window row) rebuilt per output row */
    tide_join_window *wj;
    const tide_sql_plan *wj_sub[2]; /* the branches: the Windows' inputs */
    tide_schema *wj_schema[2];
    tide_cbatch *wj_row[2];
    tide_expr *wj_pred[2];
    tide_expr **wj_cols[2];
    const tide_expr_vec **wj_vecs[2];
    tide_value *wj_vals[2];
    uint32_t wj_nin[2], wj_ncols[2];
    tide_value *fan_vals;
    /* CUMULATE by shared slices (use_cumagg) */
    tide_cumagg *cum;
    int64_t cum_wm;
    int *cum_argcol;
    tide_value *cum_keys, *cum_vals;
    size_t cum_naggs;
    /* tide_sql_lower_run */
    tide_pipe **pipes;
    uint32_t npipes;
    _Atomic(tide_pipe *) run_pipe;
    atomic_bool cancel;
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
        what = "the output of a GROUP BY without a window as the input of this operator";
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

/* Fold the Filter / Project nodes from `p` down to the first other node
 * (f->base, any kind): column references are replaced by the expressions
 * below them.  With scan_cols, a Scan base's columns are the source
 * schema's (scan_col); else the base's own positions.  f->preds has room
 * for one more predicate (a join's ON). */
static int fold(tide_sql_lowered *l, const tide_sql_plan *p, bool scan_cols, flat *f, tide_sql_error *err)
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
    f->base = q;
    f->ncols = q->ncols;
    f->cols = tide_arena_alloc(&l->arena, (q->ncols + 1) * sizeof *f->cols);
    f->preds = tide_arena_alloc(&l->arena, (n + 2) * sizeof *f->preds);
    f->npreds = 0;
    if (!f->cols || !f->preds)
        return nomem(err, q);
    for (uint32_t i = 0; i < q->ncols; i++) {
        tide_sql_bexpr *c = tide_arena_alloc(&l->arena, sizeof *c);
        if (!c)
            return nomem(err, q);
        int sc = (int)i;
        if (scan_cols && q->kind == TIDE_SQL_PLAN_SCAN && (sc = scan_col(q, i, err)) < 0)
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

/* fold, for the single-pipeline shapes: the base must be a Scan (or, when
 * allow_wa, a windowed or unwindowed aggregation). */
static int flatten(tide_sql_lowered *l, const tide_sql_plan *p, bool allow_wa, flat *f, tide_sql_error *err)
{
    int rc = fold(l, p, true, f, err);
    if (rc)
        return rc;
    tide_sql_plan_kind k = f->base->kind;
    if (k != TIDE_SQL_PLAN_SCAN &&
        !(allow_wa && (k == TIDE_SQL_PLAN_WINDOW_AGGREGATE || k == TIDE_SQL_PLAN_AGGREGATE)))
        return unsupported(err, f->base);
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

static int fan_push(tide_sql_lowered *l, tide_err *e);

/* Write the rows of l->out (a branch of a JOIN / UNION ALL: to the fan-in). */
static int out_write(tide_sql_lowered *l, bool sync, tide_err *e)
{
    int rc = 0;
    if (tide_cbatch_rows(l->out) > 0) {
        l->rows_out += tide_cbatch_rows(l->out);
        if (l->parent)
            rc = fan_push(l, e);
        else if (l->sink)
            rc = tide_sink_write(l->sink, l->out, e);
        else
            rc = tide_err_set(e, TIDE_EINVAL, "the output is not open (tide_sql_lower_open)");
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
static int out_row(tide_sql_lowered *l, tide_op op, uint32_t *row, tide_err *e)
{
    int rc;
    if (tide_cbatch_full(l->out) && (rc = out_write(l, false, e)) != 0)
        return rc;
    if ((rc = tide_cbatch_add_row(l->out, row)) != 0)
        return tide_err_set(e, rc, "output batch");
    tide_cbatch_set_op(l->out, *row, op); /* (a no-op unless l->ops) */
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

/* The aggregation's row type for result r, as the one row of b: keys,
 * [window_start, window_end, window_time,] aggregates. */
static int fill_row_add(tide_sql_lowered *l, tide_cbatch *b, const tide_pipe_result *r, tide_err *e)
{
    uint32_t row, k = l->wa_nkeys;
    int rc = tide_cbatch_add_row(b, &row);
    if (rc)
        return tide_err_set(e, rc, "output row");
    for (uint32_t i = 0; i < k && !rc; i++)
        rc = tide_cbatch_set(b, i, row, &r->keys[l->key_pos ? l->key_pos[i] : i], e);
    if (rc)
        return rc;
    if (l->windowed) {
        tide_cbatch_set_i64(b, k, row, r->start);
        tide_cbatch_set_i64(b, k + 1, row, r->end);
        tide_cbatch_set_i64(b, k + 2, row, r->end - 1);
        k += 3;
    }
    for (uint32_t i = 0; i < l->wa_naggs && !rc; i++)
        rc = tide_cbatch_set(b, k + i, row, &r->vals[i], e);
    return rc;
}

static int fill_row(tide_sql_lowered *l, tide_cbatch *b, const tide_pipe_result *r, tide_err *e)
{
    tide_cbatch_reset(b);
    return fill_row_add(l, b, r, e);
}

/* HAVING over the one row of b (no HAVING: true). */
static int having_ok(tide_sql_lowered *l, const tide_cbatch *b, bool *ok, tide_err *e)
{
    uint32_t sel[1], n = 1;
    int rc = l->having ? tide_expr_filter(l->having, b, sel, &n, e) : 0;
    *ok = n == 1;
    return rc;
}

/* The SELECT list over the one row of b into vecs[]. */
static int eval_out(tide_sql_lowered *l, tide_expr **xs, const tide_cbatch *b, const tide_expr_vec **vecs,
                    tide_err *e)
{
    int rc = 0;
    for (uint32_t i = 0; i < l->nout && !rc; i++)
        rc = tide_expr_eval(xs[i], b, NULL, 0, &vecs[i], e);
    return rc;
}

/* Write one output row: op and the values of vecs[] (row 0). */
static int emit_out(tide_sql_lowered *l, tide_op op, const tide_expr_vec **vecs, tide_err *e)
{
    uint32_t orow;
    int rc = out_row(l, op, &orow, e);
    for (uint32_t i = 0; i < l->nout && !rc; i++) {
        tide_value v = vec_value(vecs[i], 0);
        rc = tide_cbatch_set(l->out, l->map[i], orow, &v, e);
    }
    return rc;
}

/* The rows held in l->bat (all +I) through HAVING and the SELECT list, in
 * one pass of each expression, into l->out.  Every path that writes l->out
 * otherwise flushes them first (out_flush, on_result), so rows keep their
 * order; nothing else evaluates l->outx while rows are held. */
static int bat_flush(tide_sql_lowered *l, tide_err *e)
{
    uint32_t n = l->bat ? tide_cbatch_rows(l->bat) : 0;
    if (n == 0)
        return 0;
    int rc = 0;
    uint32_t nsel = n;
    if (l->having)
        rc = tide_expr_filter(l->having, l->bat, l->bat_sel, &nsel, e);
    else
        for (uint32_t i = 0; i < n; i++)
            l->bat_sel[i] = i;
    for (uint32_t i = 0; i < l->nout && !rc; i++)
        rc = tide_expr_eval(l->outx[i], l->bat, l->bat_sel, nsel, &l->vecs[i], e);
    /* in runs that fit l->out: the rows first, then column by column (typed
     * copies where the output column has the vector's type) */
    for (uint32_t done = 0; done < nsel && !rc;) {
        if (tide_cbatch_full(l->out) && (rc = out_write(l, false, e)) != 0)
            break;
        uint32_t room = tide_cbatch_capacity(l->out) - tide_cbatch_rows(l->out);
        uint32_t m = nsel - done < room ? nsel - done : room, base = tide_cbatch_rows(l->out);
        for (uint32_t j = 0; j < m && !rc; j++) {
            uint32_t orow;
            rc = out_row(l, TIDE_OP_INSERT, &orow, e); /* orow == base + j: room was there */
        }
        const uint32_t *sel = l->bat_sel + done;
        for (uint32_t i = 0; i < l->nout && !rc; i++) {
            const tide_expr_vec *v = l->vecs[i];
            uint32_t c = l->map[i];
            tide_type t = tide_cbatch_type(l->out, c);
            bool same = t == v->type;
            for (uint32_t j = 0; j < m && !rc; j++) {
                uint32_t r = sel[j], orow = base + j;
                if (v->nulls && v->nulls[r])
                    tide_cbatch_set_null(l->out, c, orow);
                else if (same && (t == TIDE_TYPE_BIGINT || t == TIDE_TYPE_TIMESTAMP))
                    tide_cbatch_set_i64(l->out, c, orow, v->v.i64[r]);
                else if (same && t == TIDE_TYPE_DOUBLE)
                    tide_cbatch_set_f64(l->out, c, orow, v->v.f64[r]);
                else {
                    tide_value x = vec_value(v, r);
                    rc = tide_cbatch_set(l->out, c, orow, &x, e);
                }
            }
        }
        done += m;
    }
    tide_cbatch_reset(l->bat);
    return rc;
}

/* Write the pending rows: the held results, then l->out. */
static int out_flush(tide_sql_lowered *l, bool sync, tide_err *e)
{
    int rc = bat_flush(l, e);
    return rc ? rc : out_write(l, sync, e);
}

static bool same_value(const tide_value *a, const tide_value *b)
{
    if (a->type != b->type || a->is_null != b->is_null)
        return false;
    if (a->is_null)
        return true;
    switch (a->type) {
    case TIDE_TYPE_BOOLEAN:
        return a->u.b == b->u.b;
    case TIDE_TYPE_DOUBLE:
        return memcmp(&a->u.f64, &b->u.f64, sizeof a->u.f64) == 0;
    case TIDE_TYPE_STRING:
        return a->u.s.len == b->u.s.len && (a->u.s.len == 0 || memcmp(a->u.s.ptr, b->u.s.ptr, a->u.s.len) == 0);
    default:
        return a->u.i64 == b->u.i64;
    }
}

/*
 * One result row of the aggregation, through HAVING and the SELECT list.
 *
 * HAVING on a changelog.  A -U is always followed by the +U of the same key
 * (and window): the sink orders rows by (step, window, key bytes, emission
 * order), so the pair is adjacent.  The -U is held until its +U; then, with
 * old = the -U row and new = the +U row:
 *     old passes, new passes   -U old, +U new (nothing when the two output
 *                              rows are equal: the SELECT list does not see
 *                              the change)
 *     old passes, new fails    -D old (the row leaves the result)
 *     old fails,  new passes   +I new (the row enters the result)
 *     old fails,  new fails    nothing
 * +I and -D pass through when their row passes HAVING and are dropped
 * otherwise.  So a consumer applying the ops (+I/+U set, -U/-D delete) holds
 * exactly the filtered result table, and every -U is paired with a +U.
 */
static int on_result(void *ctx, const tide_pipe_result *r)
{
    tide_sql_lowered *l = ctx;
    tide_err e; /* (cleared, not zeroed: this runs per result row) */
    tide_err_clear(&e);
    int rc = 0;
    bool pass;
    if (l->have_wm && r->wm != l->last_wm && (rc = out_flush(l, true, &e)) != 0)
        return out_fail(l, rc, &e);
    l->have_wm = true;
    l->last_wm = r->wm;
    if (r->op == TIDE_OP_INSERT && !l->pend && l->bat) {
        /* the common row (every row of an on-time-only window aggregate):
         * held, and evaluated a batch at a time */
        if ((rc = fill_row_add(l, l->bat, r, &e)) != 0 ||
            (tide_cbatch_full(l->bat) && (rc = bat_flush(l, &e)) != 0))
            return out_fail(l, rc, &e);
        if (!l->bounded || l->live)
            rc = out_flush(l, true, &e);
        return rc ? out_fail(l, rc, &e) : 0;
    }
    if ((rc = bat_flush(l, &e)) != 0)
        return out_fail(l, rc, &e);
    if (r->op == TIDE_OP_UPDATE_AFTER && l->pend) {
        l->pend = false;
        if ((rc = fill_row(l, l->wa_row, r, &e)) != 0 || (rc = having_ok(l, l->wa_row, &pass, &e)) != 0)
            return out_fail(l, rc, &e);
        if (l->pend_pass && (rc = eval_out(l, l->outx_prev, l->wa_prev, l->vecs_prev, &e)) != 0)
            return out_fail(l, rc, &e);
        if (pass && (rc = eval_out(l, l->outx, l->wa_row, l->vecs, &e)) != 0)
            return out_fail(l, rc, &e);
        if (l->pend_pass && pass) {
            bool same = true;
            for (uint32_t i = 0; i < l->nout && same; i++) {
                tide_value a = vec_value(l->vecs_prev[i], 0), b = vec_value(l->vecs[i], 0);
                same = same_value(&a, &b);
            }
            if (!same && (rc = emit_out(l, TIDE_OP_UPDATE_BEFORE, l->vecs_prev, &e)) == 0)
                rc = emit_out(l, TIDE_OP_UPDATE_AFTER, l->vecs, &e);
        } else if (l->pend_pass) {
            rc = emit_out(l, TIDE_OP_DELETE, l->vecs_prev, &e);
        } else if (pass) {
            rc = emit_out(l, TIDE_OP_INSERT, l->vecs, &e);
        }
    } else {
        if (l->pend) {
            /* a -U without its +U (not produced by the operators): a deletion */
            l->pend = false;
            if (l->pend_pass && ((rc = eval_out(l, l->outx_prev, l->wa_prev, l->vecs_prev, &e)) != 0 ||
                                 (rc = emit_out(l, TIDE_OP_DELETE, l->vecs_prev, &e)) != 0))
                return out_fail(l, rc, &e);
        }
        tide_cbatch *b = r->op == TIDE_OP_UPDATE_BEFORE ? l->wa_prev : l->wa_row;
        if ((rc = fill_row(l, b, r, &e)) != 0 || (rc = having_ok(l, b, &pass, &e)) != 0)
            return out_fail(l, rc, &e);
        if (r->op == TIDE_OP_UPDATE_BEFORE) {
            l->pend = true;
            l->pend_pass = pass;
            return 0;
        }
        if (pass && (rc = eval_out(l, l->outx, b, l->vecs, &e)) == 0)
            rc = emit_out(l, r->op, l->vecs, &e);
    }
    /* unbounded or live: the rows of the last step must not wait for the next one */
    if (!rc && (!l->bounded || l->live))
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
        if ((rc = out_row(l, TIDE_OP_INSERT, &orow, &e)) != 0)
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
    l->cfg.idle_timeout_ms = scan->u.scan.cfg.idle_timeout_ms;
    l->cfg.quiet_advance_ms = scan->u.scan.cfg.quiet_advance_ms;
    l->cfg.future_bound_ms = scan->u.scan.cfg.future_bound_ms;
    int tc = scan_col(scan, (uint32_t)scan->u.scan.time_col, err);
    if (tc < 0)
        return tc;
    l->src_time = tc;
    if (is_logins(scan)) {
        l->cfg.source.kind = TIDE_PIPE_SRC_GEN_LOGINS;
        l->cfg.source.gen = scan->u.scan.cfg.gen;
        l->cfg.source.time_col = tc;
        l->bounded = true;
        l->live = l->cfg.source.gen.rate > 0;
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
    l->ops = sink->changelog;
    if (!(l->map = tide_arena_alloc(&l->arena, (nout + 1) * sizeof *l->map)))
        return nomem(err, sink);
    int op_col = -1;
    if (!sink->u.sink.table) {
        if (tide_sql_plan_schema(sink->input, &l->out_schema, &e))
            return experr(err, sink, &e);
        l->wschema = l->out_schema;
        for (uint32_t i = 0; i < nout; i++)
            l->map[i] = i;
        tide_sink_config_init(&l->sinkcfg);
        l->sinkcfg.kind = TIDE_SINK_STDOUT;
        l->sinkcfg.fd = o->out_fd;
        l->sinkcfg.format = o->format == TIDE_SQL_OUT_JSONL   ? TIDE_FORMAT_JSONL
                            : o->format == TIDE_SQL_OUT_TABLE ? TIDE_FORMAT_TABLE
                                                              : TIDE_FORMAT_CSV;
        l->sinkcfg.header = true;
        l->sinkcfg.schema = l->wschema;
        l->sinkcfg.op = l->ops ? TIDE_SINK_OP_LEAD : TIDE_SINK_OP_BATCH;
    } else {
        l->sinkcfg = sink->u.sink.cfg;
        l->wschema = l->sinkcfg.schema;
        op_col = sink->u.sink.op_col;
        if (op_col >= 0) {
            l->sinkcfg.op = TIDE_SINK_OP_COLUMN;
            l->sinkcfg.op_col = (uint32_t)op_col;
        }
        if (l->sinkcfg.kind == TIDE_SINK_FILE && !(l->sinkcfg.path = resolve(l, l->sinkcfg.path, o->base_dir)))
            return nomem(err, sink);
        if (l->sinkcfg.kind == TIDE_SINK_TOPIC && !l->sinkcfg.datadir)
            l->sinkcfg.datadir = o->datadir;
        if (o->clock)
            l->sinkcfg.clock = o->clock;
        uint32_t k = 0;
        size_t n = tide_schema_ncols(l->wschema);
        for (uint32_t j = 0; j < n && k < nout; j++)
            if ((int)j != op_col)
                l->map[k++] = j;
        if (k != nout)
            return sqlfail(err, TIDE_EINVAL, sink->pos, "INSERT: the query has %u columns, the table fewer", nout);
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
    /* a WindowAggregate, or an Aggregate (unwindowed GROUP BY: groupagg
     * instances flushed at every watermark step) */
    bool win = wa->kind == TIDE_SQL_PLAN_WINDOW_AGGREGATE;
    const tide_sql_window *w = &wa->u.agg.w;
    if (win && w->offset != 0)
        return sqlfail(err, TIDE_EUNSUPPORTED, wa->pos, "not supported yet: a window offset");
    uint32_t nk = wa->u.agg.nkeys, na = wa->u.agg.naggs;
    /* SESSION PARTITION BY: sessions per partition key, whose columns must
     * be GROUP BY keys; they go first among the pipeline's key columns (so
     * the partition key is a prefix of the key) */
    uint32_t *order = NULL, npart = 0;
    if (win && w->spec.kind == TIDE_WIN_SESSION) {
        if (!(order = tide_arena_alloc(&l->arena, (nk + 1) * sizeof *order)) ||
            !(l->key_pos = tide_arena_alloc(&l->arena, (nk + 1) * sizeof *l->key_pos)))
            return nomem(err, wa);
        bool *used = tide_arena_alloc(&l->arena, (nk + 1) * sizeof *used);
        if (!used)
            return nomem(err, wa);
        memset(used, 0, (nk + 1) * sizeof *used);
        for (uint32_t j = 0; j < w->npartition; j++) {
            uint32_t i = 0;
            while (i < nk && !(wa->u.agg.keys[i]->kind == TIDE_SQL_BX_COLUMN &&
                               wa->u.agg.keys[i]->col == w->partition[j]))
                i++;
            if (i == nk)
                return sqlfail(err, TIDE_EUNSUPPORTED, wa->pos,
                               "not supported yet: SESSION PARTITION BY a column that is not a "
                               "GROUP BY key (GROUP BY the partition columns too)");
            if (!used[i]) {
                used[i] = true;
                order[npart++] = i;
            }
        }
        for (uint32_t i = 0, n = npart; i < nk; i++)
            if (!used[i])
                order[n++] = i;
        for (uint32_t j = 0; j < nk; j++)
            l->key_pos[order[j]] = j;
    }
    if (wa->ncols != nk + (win ? 3 : 0) + na)
        return sqlfail(err, TIDE_EUNSUPPORTED, wa->pos, "not supported yet: this aggregation's row type");
    for (uint32_t i = 0; !win && i < na; i++) {
        const tide_sql_aggcall *c = &wa->u.agg.aggs[i];
        if ((c->agg.kind == TIDE_AGG_MIN || c->agg.kind == TIDE_AGG_MAX) && c->agg.in_type == TIDE_TYPE_STRING)
            return sqlfail(err, TIDE_EUNSUPPORTED, c->ast ? c->ast->pos : wa->pos,
                           "not supported yet: MIN/MAX of a STRING in a GROUP BY without a window");
    }
    const tide_sql_plan *below = wa->input;
    while (below->kind == TIDE_SQL_PLAN_FILTER || below->kind == TIDE_SQL_PLAN_PROJECT)
        below = below->input;
    if (below->kind == TIDE_SQL_PLAN_WINDOW_AGGREGATE || below->kind == TIDE_SQL_PLAN_AGGREGATE)
        return sqlfail(err, TIDE_EUNSUPPORTED, wa->pos, "not supported yet: an aggregation over another aggregation's output");
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
    l->aggs = tide_arena_alloc(&l->arena, (na + 2) * sizeof *l->aggs);
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
    if (win && w->time_col >= in.ncols) {
        rc = sqlfail(err, TIDE_EUNSUPPORTED, wa->pos, "not supported yet: this window's time column");
        goto done;
    }
    /* unwindowed: the source's event time, for the watermark steps only */
    tide_sql_bexpr src_ts = {.kind = TIDE_SQL_BX_COLUMN,
                             .type = tide_schema_col(scan_schema, (size_t)l->src_time)->type,
                             .col = (uint32_t)l->src_time};
    if (tide_sql_plan_expr(win ? in.cols[w->time_col] : &src_ts, scan_schema, &xs[nx], &e)) {
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
    l->cfg.aggs = l->aggs;
    l->cfg.n_aggs = na;
    /* no aggregate (SELECT DISTINCT, or GROUP BY window_start, window_end,
     * k alone): the instances count rows per key, a hidden column the
     * output never shows (without it the pipeline would be stateless) */
    if (na == 0)
        l->aggs[l->cfg.n_aggs++] = (tide_winagg_call){.kind = TIDE_AGG_COUNT_STAR, .type = TIDE_TYPE_NULL};
    if (!win)
        l->cfg.keyed = TIDE_PIPE_GROUPAGG;
    if (order) { /* the pipeline's key columns: partition columns first */
        uint32_t *kc = tide_arena_alloc(&l->arena, (nk + 1) * sizeof *kc);
        if (!kc) {
            rc = nomem(err, wa);
            goto done;
        }
        for (uint32_t j = 0; j < nk; j++)
            kc[j] = l->key_cols[order[j]];
        l->key_cols = kc;
    }
    l->cfg.key_cols = l->key_cols;
    l->cfg.n_key_cols = nk;
    l->cfg.value_cols = l->value_cols;
    l->cfg.n_value_cols = nv;
    const tide_sql_emit_spec *em = &wa->u.agg.emit;
    if (win) {
        l->cfg.window = w->spec;
        /* SESSION without PARTITION BY: sessions over the whole input, then
         * per key (one instance: job/pipeline.h); PARTITION BY: per
         * partition key, a session per key when it is the whole key */
        l->cfg.session_part = npart;
        l->cfg.allowed_lateness = em->lateness;
        l->cfg.mode = em->given ? em->mode : TIDE_TRIG_ACCUMULATING;
        l->cfg.early.every_ms = em->early_ms;
        l->cfg.early.every_n = em->early_rows > 0 ? (uint64_t)em->early_rows : 0;
    }
    l->cfg.capacity_hint = 1024;
    l->cfg.on_result = on_result;

    /* the output adapter */
    l->wa_nkeys = nk;
    l->wa_naggs = na;
    if ((rc = lower_output(l, sink, top->ncols, o, err)) != 0)
        goto done;
    if (tide_sql_plan_schema(wa, &l->wa_schema, &e) || tide_cbatch_create(&l->wa_row, l->wa_schema, 1, 0, &e) ||
        tide_cbatch_create(&l->wa_prev, l->wa_schema, 1, 0, &e) ||
        tide_cbatch_create(&l->bat, l->wa_schema, 1024, 0, &e)) {
        rc = experr(err, wa, &e);
        goto done;
    }
    if (!(l->bat_sel = malloc(tide_cbatch_capacity(l->bat) * sizeof *l->bat_sel))) {
        rc = nomem(err, wa);
        goto done;
    }
    if ((rc = build_where(top, l->wa_schema, sink, &l->having, err)) != 0)
        goto done;
    l->outx = calloc(top->ncols + 1, sizeof *l->outx);
    l->vecs = calloc(top->ncols + 1, sizeof *l->vecs);
    l->outx_prev = calloc(top->ncols + 1, sizeof *l->outx_prev);
    l->vecs_prev = calloc(top->ncols + 1, sizeof *l->vecs_prev);
    if (!l->outx || !l->vecs || !l->outx_prev || !l->vecs_prev) {
        rc = nomem(err, sink);
        goto done;
    }
    for (uint32_t i = 0; i < top->ncols; i++)
        if (tide_sql_plan_expr(top->cols[i], l->wa_schema, &l->outx[i], &e) ||
            tide_sql_plan_expr(top->cols[i], l->wa_schema, &l->outx_prev[i], &e)) {
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

/* ---- several pipelines: JOIN and UNION ALL (job/fanin.h) ---- */

/* A branch's out_flush: its pending rows go to the parent's fan-in. */
static int fan_push(tide_sql_lowered *l, tide_err *e)
{
    int rc = 0;
    for (uint32_t r = 0; r < tide_cbatch_rows(l->out) && !rc; r++) {
        for (uint32_t i = 0; i < l->nout; i++)
            l->fan_vals[i] = tide_cbatch_get(l->out, l->map[i], r);
        tide_op op = tide_cbatch_op(l->out, r);
        rc = tide_fanin_push(l->parent->fanin, l->branch_i, op, l->fan_vals, e);
    }
    return rc;
}

/* A CUMULATE or HOP result (exec/cumagg.h) through the aggregation's output adapter. */
static int cum_emit(void *ctx, const tide_cumagg_row *r)
{
    tide_sql_lowered *l = ctx;
    tide_pipe_result res = {.op = TIDE_OP_INSERT,
                            .start = r->start,
                            .end = r->end,
                            .keys = r->keys,
                            .n_keys = r->n_keys,
                            .vals = r->vals,
                            .n_vals = r->n_vals,
                            .wm = l->cum_wm};
    return on_result(l, &res);
}

/* The sliced windows' stateless job: the stage's rows into the slices. */
static int cum_rows(void *ctx, const tide_cbatch *b)
{
    tide_sql_lowered *l = ctx;
    tide_err e = {0};
    int rc = 0;
    const tide_pipe_config *c = &l->cfg;
    for (uint32_t r = 0; r < tide_cbatch_rows(b) && !rc; r++) {
        for (size_t k = 0; k < c->n_key_cols; k++)
            l->cum_keys[k] = tide_cbatch_get(b, c->key_cols[k], r);
        for (size_t a = 0; a < l->cum_naggs; a++) {
            tide_value v = {.type = TIDE_TYPE_BIGINT};
            if (l->cum_argcol[a] >= 0)
                v = tide_cbatch_get(b, (uint32_t)l->cum_argcol[a], r);
            l->cum_vals[a] = v;
        }
        tide_value t = tide_cbatch_get(b, (uint32_t)c->time_col, r);
        if (t.is_null)
            continue;
        rc = tide_cumagg_push(l->cum, l->cum_keys, l->cum_vals, t.u.i64, &e);
    }
    return rc ? out_fail(l, rc, &e) : 0;
}

/* The pipeline's watermark: fire CUMULATE / HOP windows; as a branch, hand the
 * rows to the fan-in and report the step. */
static int job_wm(void *ctx, int64_t wm)
{
    tide_sql_lowered *l = ctx;
    tide_err e = {0};
    int rc = 0;
    if (l->cum) {
        l->cum_wm = wm;
        if ((rc = tide_cumagg_advance(l->cum, wm, cum_emit, l, &e)) != 0)
            return l->oerr.code ? l->oerr.code : out_fail(l, rc, &e);
    }
    if (l->parent) {
        if ((rc = out_flush(l, false, &e)) == 0)
            rc = tide_fanin_watermark(l->parent->fanin, l->branch_i, wm, &e);
        if (rc)
            return out_fail(l, rc, &e);
    }
    return 0;
}

/* Run CUMULATE windows, and HOP windows whose size is a multiple of the
 * slide, without EMIT by shared slices (exec/cumagg.h) instead of winagg
 * (which updates every one of the up to max/step or size/slide windows of
 * each record): the pipeline becomes stateless (source -> stage -> sink)
 * and the slices live on the sink thread. */
static int use_cumagg(tide_sql_lowered *l, const tide_sql_plan *wa, tide_sql_error *err)
{
    tide_pipe_config *c = &l->cfg;
    if (c->keyed != TIDE_PIPE_WINAGG || !tide_cumagg_supports(&c->window) ||
        c->allowed_lateness != 0 || c->early.every_ms != 0 || c->early.every_n != 0)
        return 0;
    tide_err e = {0};
    size_t na = c->n_aggs, nk = c->n_key_cols;
    tide_agg *aggs = tide_arena_alloc(&l->arena, (na + 1) * sizeof *aggs);
    tide_type *kt = tide_arena_alloc(&l->arena, (nk + 1) * sizeof *kt);
    l->cum_argcol = tide_arena_alloc(&l->arena, (na + 1) * sizeof *l->cum_argcol);
    l->cum_keys = tide_arena_alloc(&l->arena, (nk + 1) * sizeof *l->cum_keys);
    l->cum_vals = tide_arena_alloc(&l->arena, (na + 1) * sizeof *l->cum_vals);
    if (!aggs || !kt || !l->cum_argcol || !l->cum_keys || !l->cum_vals)
        return nomem(err, wa);
    for (size_t a = 0; a < na; a++) {
        const tide_winagg_call *w = &c->aggs[a];
        bool star = w->kind == TIDE_AGG_COUNT_STAR;
        if (tide_agg_bind_kind(&aggs[a], w->kind, star ? TIDE_TYPE_NULL : w->type, 0, &e))
            return experr(err, wa, &e);
        l->cum_argcol[a] = star ? -1 : (int)c->value_cols[w->arg];
    }
    for (size_t k = 0; k < nk; k++)
        kt[k] = tide_schema_col(l->stage_schema, c->key_cols[k])->type;
    if (tide_cumagg_create(&l->cum, &c->window, aggs, na, kt, nk, &e))
        return experr(err, wa, &e);
    l->cum_naggs = na;
    c->n_aggs = 0; /* stateless: the stage's rows reach the sink thread */
    c->on_result = NULL;
    c->on_rows = cum_rows;
    c->on_watermark = job_wm;
    return 0;
}

static bool is_fan(const tide_sql_plan *p)
{
    while (p->kind == TIDE_SQL_PLAN_FILTER || p->kind == TIDE_SQL_PLAN_PROJECT)
        p = p->input;
    return p->kind == TIDE_SQL_PLAN_JOIN || p->kind == TIDE_SQL_PLAN_UNION;
}

/* One combined row (left values, then right values when a join) through
 * the ON condition and the Filter / Project chain above the JOIN / UNION to
 * the output. */
static int fan_out(tide_sql_lowered *l, tide_op op, const tide_value *left,
                   const tide_value *right, int64_t wm)
{
    tide_err e; /* per row: cleared, not zeroed */
    tide_err_clear(&e);
    int rc = 0;
    if (l->have_wm && wm != l->last_wm && (rc = out_flush(l, true, &e)) != 0)
        return out_fail(l, rc, &e);
    l->have_wm = true;
    l->last_wm = wm;
    tide_cbatch *b = l->wa_row;
    tide_cbatch_reset(b);
    uint32_t row;
    if ((rc = tide_cbatch_add_row(b, &row)) != 0)
        return out_fail(l, tide_err_set(&e, rc, "output row"), &e);
    for (uint32_t i = 0; i < l->fan_nleft && !rc; i++)
        rc = tide_cbatch_set(b, i, row, &left[i], &e);
    for (uint32_t i = 0; right && i < l->fan_nright && !rc; i++)
        rc = tide_cbatch_set(b, l->fan_nleft + i, row, &right[i], &e);
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
    if ((rc = out_row(l, op, &orow, &e)) != 0)
        return out_fail(l, rc, &e);
    for (uint32_t i = 0; i < l->nout && !rc; i++) {
        tide_value v = vec_value(l->vecs[i], 0);
        rc = tide_cbatch_set(l->out, l->map[i], orow, &v, &e);
    }
    if (!rc && (!l->bounded || l->live))
        rc = out_flush(l, true, &e);
    return rc ? out_fail(l, rc, &e) : 0;
}

static int ij_emit(void *ctx, const tide_join_row *r)
{
    tide_sql_lowered *l = ctx;
    return fan_out(l, TIDE_OP_INSERT, r->left, r->right, l->last_wm);
}

/* A window join's pair: each side's Window row (its input row, then
 * window_start, window_end, window_time) through the side's chain. */
static int wj_emit(void *ctx, const tide_join_row *r)
{
    tide_sql_lowered *l = ctx;
    tide_err e; /* per row: cleared, not zeroed */
    tide_err_clear(&e);
    int rc = 0;
    for (int s = 0; s < 2; s++) {
        const tide_value *in = s ? r->right : r->left;
        tide_cbatch *b = l->wj_row[s];
        tide_cbatch_reset(b);
        uint32_t row, n = l->wj_nin[s];
        if ((rc = tide_cbatch_add_row(b, &row)) != 0)
            return out_fail(l, tide_err_set(&e, rc, "window join row"), &e);
        for (uint32_t i = 0; i < n && !rc; i++)
            rc = tide_cbatch_set(b, i, row, &in[i], &e);
        if (rc)
            return out_fail(l, rc, &e);
        tide_cbatch_set_i64(b, n, row, r->start);
        tide_cbatch_set_i64(b, n + 1, row, r->end);
        tide_cbatch_set_i64(b, n + 2, row, r->end - 1);
        if (l->wj_pred[s]) {
            uint32_t sel[1], k = 0;
            if ((rc = tide_expr_filter(l->wj_pred[s], b, sel, &k, &e)) != 0)
                return out_fail(l, rc, &e);
            if (k == 0)
                return 0;
        }
        for (uint32_t i = 0; i < l->wj_ncols[s]; i++) {
            if ((rc = tide_expr_eval(l->wj_cols[s][i], b, NULL, 0, &l->wj_vecs[s][i], &e)) != 0)
                return out_fail(l, rc, &e);
            l->wj_vals[s][i] = vec_value(l->wj_vecs[s][i], 0);
        }
    }
    return fan_out(l, TIDE_OP_INSERT, l->wj_vals[0], l->wj_vals[1], l->last_wm);
}

/* The equi-join key of a stream row (data/key.h) into b.  1 when a key is
 * NULL or NaN (equal to nothing: no match), else 0 or TIDE_ENOMEM. */
static int key_bytes(tide_buf *b, const tide_value *v, const uint32_t *cols, uint32_t n)
{
    for (uint32_t k = 0; k < n; k++) {
        const tide_value *x = &v[cols[k]];
        if (x->is_null || x->type == TIDE_TYPE_NULL ||
            (x->type == TIDE_TYPE_DOUBLE && isnan(x->u.f64)))
            return 1;
    }
    tide_buf_reset(b);
    return tide_key_append_values(b, v, cols, n);
}

/* An interval join: the merged sequence of both streams' rows and
 * watermark marks drives exec/join's operator (watermark = the smaller of
 * the two sides' marks so far). */
static int ij_feed(tide_sql_lowered *l, const tide_fanin_out *o)
{
    tide_err e = {0};
    int rc = 0;
    uint32_t s = o->branch;
    if (o->mark) {
        l->ij_wm[s] = o->wm;
        l->ij_seen[s] = true;
        if (l->ij_seen[0] && l->ij_seen[1]) {
            int64_t w = l->ij_wm[0] < l->ij_wm[1] ? l->ij_wm[0] : l->ij_wm[1];
            rc = l->wj ? tide_join_window_advance_watermark(l->wj, w, &e)
                       : tide_join_interval_advance_watermark(l->ij, w, &e);
        }
        return rc ? out_fail(l, rc, &e) : 0;
    }
    const tide_value *t = &o->left[l->ij_tcol[s]];
    if (t->is_null)
        return 0;
    if ((rc = key_bytes(&l->ij_kbuf, o->left, l->ij_key[s], l->ij_nkeys)) != 0)
        return rc > 0 ? 0 : out_fail(l, tide_err_set(&e, rc, "join key"), &e);
    if (l->have_wm && o->wm != l->last_wm && (rc = out_flush(l, true, &e)) != 0)
        return out_fail(l, rc, &e);
    l->have_wm = true;
    l->last_wm = o->wm;
    if (l->wj)
        rc = tide_join_window_push(l->wj, s ? TIDE_JOIN_RIGHT : TIDE_JOIN_LEFT, l->ij_kbuf.data,
                                   (uint32_t)l->ij_kbuf.len, t->u.i64, o->left, &e);
    else
        rc = tide_join_interval_push(l->ij, s ? TIDE_JOIN_RIGHT : TIDE_JOIN_LEFT, l->ij_kbuf.data,
                                     (uint32_t)l->ij_kbuf.len, t->u.i64, o->left, &e);
    if (rc && !l->oerr.code)
        return out_fail(l, rc, &e);
    return rc;
}

/* The fan-in's released rows. */
static int fan_emit(void *ctx, const tide_fanin_out *o)
{
    tide_sql_lowered *l = ctx;
    if (l->ij || l->wj)
        return ij_feed(l, o);
    if (o->mark)
        return 0;
    return fan_out(l, o->op, o->left, o->right, o->wm);
}

/* The conjuncts of an ON condition. */
static void conjuncts(tide_sql_bexpr *x, tide_sql_bexpr **out, uint32_t *n, uint32_t cap)
{
    if (x->kind == TIDE_SQL_BX_NODE && x->ast && x->ast->kind == TIDE_SQL_EXPR_BINARY &&
        x->ast->u.binary.op == TIDE_SQL_OP_AND && x->nargs == 2) {
        conjuncts(x->args[0], out, n, cap);
        conjuncts(x->args[1], out, n, cap);
    } else if (*n < cap) {
        out[(*n)++] = x;
    }
}

/* Whether column c of a branch (folded f) is its WindowAggregate's window_end. */
static bool is_window_end(const flat *f, uint32_t c)
{
    const tide_sql_plan *wa = f->base;
    return wa->kind == TIDE_SQL_PLAN_WINDOW_AGGREGATE && c < f->ncols &&
           f->cols[c]->kind == TIDE_SQL_BX_COLUMN && f->cols[c]->col == wa->u.agg.nkeys + 1;
}

static int64_t unit_ms(tide_sql_unit u)
{
    switch (u) {
    case TIDE_SQL_UNIT_SECOND:
        return 1000;
    case TIDE_SQL_UNIT_MINUTE:
        return 60000;
    case TIDE_SQL_UNIT_HOUR:
        return 3600000;
    case TIDE_SQL_UNIT_DAY:
        return 86400000;
    default:
        return 0;
    }
}

/* x = a side's event-time column [+ or - an INTERVAL literal]: *col (in the
 * joined row) and *off (ms). */
static bool time_term(const tide_sql_plan *j, const tide_sql_bexpr *x, uint32_t *col, int64_t *off)
{
    *off = 0;
    if (x->kind == TIDE_SQL_BX_NODE && x->ast && x->ast->kind == TIDE_SQL_EXPR_BINARY &&
        x->nargs == 2 &&
        (x->ast->u.binary.op == TIDE_SQL_OP_ADD || x->ast->u.binary.op == TIDE_SQL_OP_SUB)) {
        const tide_sql_bexpr *k = x->args[1];
        if (k->kind != TIDE_SQL_BX_NODE || !k->ast || k->ast->kind != TIDE_SQL_EXPR_INTERVAL)
            return false;
        int64_t u = unit_ms(k->ast->u.interval.unit);
        if (!u)
            return false;
        *off = k->ast->u.interval.count * u;
        if (x->ast->u.binary.op == TIDE_SQL_OP_SUB)
            *off = -*off;
        x = x->args[0];
    }
    if (x->kind != TIDE_SQL_BX_COLUMN || x->col >= j->ncols || !j->cols[x->col].rowtime)
        return false;
    *col = x->col;
    return true;
}

/* A bound "a + oa  OP  b + ob" on two sides' times into lo <= l - r <= hi. */
static bool time_bound(const tide_sql_plan *j, uint32_t nl, const tide_sql_bexpr *a,
                       tide_sql_binop op, const tide_sql_bexpr *b, int64_t *lo, int64_t *hi,
                       uint32_t *tcol)
{
    uint32_t ca, cb;
    int64_t oa, ob;
    if (!time_term(j, a, &ca, &oa) || !time_term(j, b, &cb, &ob) || (ca < nl) == (cb < nl))
        return false;
    /* a - b OP ob - oa; as l - r: flip when a is the right side */
    int64_t c = ob - oa;
    bool flip = ca >= nl;
    tcol[0] = flip ? cb : ca;
    tcol[1] = (flip ? ca : cb) - nl;
    if (flip) {
        c = -c;
        op = op == TIDE_SQL_OP_LT   ? TIDE_SQL_OP_GT
             : op == TIDE_SQL_OP_LE ? TIDE_SQL_OP_GE
             : op == TIDE_SQL_OP_GT ? TIDE_SQL_OP_LT
             : op == TIDE_SQL_OP_GE ? TIDE_SQL_OP_LE
                                    : op;
    }
    switch (op) {
    case TIDE_SQL_OP_EQ:
        *lo = *lo > c ? *lo : c;
        *hi = *hi < c ? *hi : c;
        return true;
    case TIDE_SQL_OP_GE:
    case TIDE_SQL_OP_GT: {
        int64_t v = op == TIDE_SQL_OP_GT ? c + 1 : c;
        *lo = *lo > v ? *lo : v;
        return true;
    }
    case TIDE_SQL_OP_LE:
    case TIDE_SQL_OP_LT: {
        int64_t v = op == TIDE_SQL_OP_LT ? c - 1 : c;
        *hi = *hi < v ? *hi : v;
        return true;
    }
    default:
        return false;
    }
}

/* An interval join of two streams: ON bounds one side's event time by the
 * other's (BETWEEN, <, <=, >, >=, = with INTERVAL offsets) and may equate
 * further columns (the join key).  The branches are stateless; the fan-in
 * merges their rows and watermark marks (UNION with marks) into exec/join's
 * interval operator. */
static int stream_spec(tide_sql_lowered *l, const tide_sql_plan *j, tide_fanin_config *fc,
                       tide_sql_error *err)
{
    uint32_t nl = j->input->ncols;
    tide_sql_bexpr *cj[64];
    uint32_t ncj = 0;
    int64_t lo = INT64_MIN, hi = INT64_MAX;
    uint32_t tcol[2] = {UINT32_MAX, UINT32_MAX}, tc[2];
    if (j->u.join.on)
        conjuncts(j->u.join.on, cj, &ncj, 64);
    for (uint32_t i = 0; i < ncj; i++) {
        const tide_sql_bexpr *x = cj[i];
        if (x->kind != TIDE_SQL_BX_NODE || !x->ast)
            continue;
        bool bounded = false;
        if (x->ast->kind == TIDE_SQL_EXPR_BETWEEN && !x->ast->u.between.negated && x->nargs == 3) {
            int64_t l2 = lo, h2 = hi;
            uint32_t t1[2], t2[2];
            if (time_bound(j, nl, x->args[0], TIDE_SQL_OP_GE, x->args[1], &l2, &h2, t1) &&
                time_bound(j, nl, x->args[0], TIDE_SQL_OP_LE, x->args[2], &l2, &h2, t2) &&
                t1[0] == t2[0] && t1[1] == t2[1]) {
                lo = l2;
                hi = h2;
                tc[0] = t1[0];
                tc[1] = t1[1];
                bounded = true;
            }
        } else if (x->ast->kind == TIDE_SQL_EXPR_BINARY && x->nargs == 2) {
            bounded = time_bound(j, nl, x->args[0], x->ast->u.binary.op, x->args[1], &lo, &hi, tc);
            if (!bounded && x->ast->u.binary.op == TIDE_SQL_OP_EQ &&
                x->args[0]->kind == TIDE_SQL_BX_COLUMN && x->args[1]->kind == TIDE_SQL_BX_COLUMN &&
                x->args[0]->type == x->args[1]->type) {
                uint32_t a = x->args[0]->col, b = x->args[1]->col;
                if (a >= nl && b < nl) {
                    uint32_t t = a;
                    a = b;
                    b = t;
                }
                if (a < nl && b >= nl && l->ij_nkeys < TIDE_FANIN_MAX_KEYS) {
                    l->ij_key[0][l->ij_nkeys] = a;
                    l->ij_key[1][l->ij_nkeys] = b - nl;
                    l->ij_nkeys++;
                }
            }
        }
        if (bounded) {
            if (tcol[0] != UINT32_MAX && (tcol[0] != tc[0] || tcol[1] != tc[1]))
                return sqlfail(err, TIDE_EUNSUPPORTED, x->ast->pos,
                               "not supported yet: an interval join bounding more than one time "
                               "column per side");
            tcol[0] = tc[0];
            tcol[1] = tc[1];
        }
    }
    if (j->u.join.cls == TIDE_SQL_JOIN_WINDOW)
        return sqlfail(err, TIDE_EUNSUPPORTED, j->pos,
                       "not supported yet: window joins of two streams");
    if (tcol[0] == UINT32_MAX || lo == INT64_MIN || hi == INT64_MAX || lo > hi)
        return sqlfail(err, TIDE_EUNSUPPORTED, j->pos,
                       "not supported yet: joins of two streams without a time bound on both sides "
                       "(an interval "
                       "join: l.ts BETWEEN r.ts - INTERVAL .. AND r.ts + INTERVAL ..)");
    l->ij_tcol[0] = tcol[0];
    l->ij_tcol[1] = tcol[1];
    tide_join_interval_config ic = {
        .lo = lo, .hi = hi, .n_left = nl, .n_right = j->ncols - nl, .emit = ij_emit, .ctx = l};
    tide_err e = {0};
    if (tide_join_interval_create(&ic, &l->ij, &e))
        return experr(err, j, &e);
    fc->mode = TIDE_FANIN_UNION;
    fc->marks = true;
    return 0;
}

/* A window join of two streams (Flink's: both sides the same window TVF,
 * ON equating window_start and window_end, and maybe more columns: the
 * key).  The branches are the Windows' inputs (stateless); exec/join's
 * window operator assigns the windows and joins per window and key. */
static int window_spec(tide_sql_lowered *l, const tide_sql_plan *j, flat *side,
                       tide_fanin_config *fc, tide_sql_error *err)
{
    const tide_sql_window *w0 = &side[0].base->u.window.w, *w1 = &side[1].base->u.window.w;
    if (w0->spec.kind != w1->spec.kind || w0->spec.size != w1->spec.size ||
        w0->spec.slide != w1->spec.slide || w0->spec.gap != w1->spec.gap ||
        w0->offset != w1->offset)
        return sqlfail(err, TIDE_EUNSUPPORTED, j->pos,
                       "not supported yet: a window join of two different windows");
    if (w0->spec.kind == TIDE_WIN_SESSION || w0->offset != 0 || w0->npartition || w1->npartition)
        return sqlfail(
            err, TIDE_EUNSUPPORTED, j->pos,
            "not supported yet: a window join of SESSION windows or windows with an offset");
    uint32_t nl = j->input->ncols;
    bool have_start = false, have_end = false;
    tide_sql_bexpr *cj[64];
    uint32_t ncj = 0;
    if (j->u.join.on)
        conjuncts(j->u.join.on, cj, &ncj, 64);
    for (uint32_t i = 0; i < ncj; i++) {
        const tide_sql_bexpr *x = cj[i];
        if (x->kind != TIDE_SQL_BX_NODE || !x->ast || x->ast->kind != TIDE_SQL_EXPR_BINARY ||
            x->ast->u.binary.op != TIDE_SQL_OP_EQ || x->nargs != 2 ||
            x->args[0]->kind != TIDE_SQL_BX_COLUMN || x->args[1]->kind != TIDE_SQL_BX_COLUMN)
            continue;
        uint32_t a = x->args[0]->col, b = x->args[1]->col;
        if (a >= nl && b < nl) {
            uint32_t t = a;
            a = b;
            b = t;
        }
        if (!(a < nl && b >= nl))
            continue;
        b -= nl;
        const tide_sql_bexpr *ca = side[0].cols[a], *cb = side[1].cols[b];
        if (ca->kind != TIDE_SQL_BX_COLUMN || cb->kind != TIDE_SQL_BX_COLUMN)
            continue;
        uint32_t n0 = side[0].base->input->ncols, n1 = side[1].base->input->ncols;
        if (ca->col == n0 && cb->col == n1)
            have_start = true;
        else if (ca->col == n0 + 1 && cb->col == n1 + 1)
            have_end = true;
        else if (ca->col < n0 && cb->col < n1 && ca->type == cb->type &&
                 l->ij_nkeys < TIDE_FANIN_MAX_KEYS) {
            l->ij_key[0][l->ij_nkeys] = ca->col;
            l->ij_key[1][l->ij_nkeys] = cb->col;
            l->ij_nkeys++;
        }
    }
    if (!have_start || !have_end)
        return sqlfail(err, TIDE_EUNSUPPORTED, j->pos,
                       "not supported yet: a window join whose ON does not equate both "
                       "window_start and window_end");
    tide_err e = {0};
    for (int s = 0; s < 2; s++) {
        const tide_sql_plan *win = side[s].base;
        int rc;
        l->wj_sub[s] = win->input;
        l->wj_nin[s] = win->input->ncols;
        l->ij_tcol[s] = win->u.window.w.time_col;
        l->wj_ncols[s] = side[s].ncols;
        if (tide_sql_plan_schema(win, &l->wj_schema[s], &e) ||
            tide_cbatch_create(&l->wj_row[s], l->wj_schema[s], 1, 0, &e))
            return experr(err, win, &e);
        if ((rc = build_where(&side[s], l->wj_schema[s], win, &l->wj_pred[s], err)) != 0)
            return rc;
        l->wj_cols[s] = calloc(side[s].ncols + 1, sizeof *l->wj_cols[s]);
        l->wj_vecs[s] = calloc(side[s].ncols + 1, sizeof *l->wj_vecs[s]);
        l->wj_vals[s] = calloc(side[s].ncols + 1, sizeof *l->wj_vals[s]);
        if (!l->wj_cols[s] || !l->wj_vecs[s] || !l->wj_vals[s])
            return nomem(err, win);
        for (uint32_t i = 0; i < side[s].ncols; i++)
            if (tide_sql_plan_expr(side[s].cols[i], l->wj_schema[s], &l->wj_cols[s][i], &e))
                return experr(err, win, &e);
    }
    tide_join_window_config wc = {.window = w0->spec,
                                  .n_left = l->wj_nin[0],
                                  .n_right = l->wj_nin[1],
                                  .emit = wj_emit,
                                  .ctx = l};
    if (tide_join_window_create(&wc, &l->wj, &e))
        return experr(err, j, &e);
    fc->mode = TIDE_FANIN_UNION;
    fc->marks = true;
    return 0;
}

/* JOIN: both sides windowed aggregates with final results; ON equates their
 * window_end (and maybe more columns). */
static int join_spec(tide_sql_lowered *l, const tide_sql_plan *j, tide_fanin_config *fc,
                     tide_sql_error *err)
{
    if (j->u.join.kind != TIDE_SQL_JOIN_INNER)
        return sqlfail(err, TIDE_EUNSUPPORTED, j->pos,
                       "not supported yet: %s joins (only inner joins of windowed aggregates)",
                       j->u.join.kind == TIDE_SQL_JOIN_LEFT    ? "LEFT"
                       : j->u.join.kind == TIDE_SQL_JOIN_RIGHT ? "RIGHT"
                       : j->u.join.kind == TIDE_SQL_JOIN_FULL  ? "FULL"
                                                               : "CROSS");
    flat side[2];
    const tide_sql_plan *in[2] = {j->input, j->right};
    for (int s = 0; s < 2; s++) {
        int rc = fold(l, in[s], false, &side[s], err);
        if (rc)
            return rc;
    }
    if (side[0].base->kind == TIDE_SQL_PLAN_SCAN && side[1].base->kind == TIDE_SQL_PLAN_SCAN)
        return stream_spec(l, j, fc, err);
    if (side[0].base->kind == TIDE_SQL_PLAN_WINDOW && side[1].base->kind == TIDE_SQL_PLAN_WINDOW)
        return window_spec(l, j, side, fc, err);
    for (int s = 0; s < 2; s++) {
        const tide_sql_plan *b = side[s].base;
        if (b->kind == TIDE_SQL_PLAN_SCAN || b->kind == TIDE_SQL_PLAN_WINDOW)
            return sqlfail(
                err, TIDE_EUNSUPPORTED, j->pos,
                "not supported yet: joins of two streams (interval and window joins); join two "
                "windowed aggregates on their window_end instead");
        if (b->kind != TIDE_SQL_PLAN_WINDOW_AGGREGATE)
            return sqlfail(err, TIDE_EUNSUPPORTED, in[s]->pos,
                           "not supported yet: a join whose %s side is not a windowed aggregation",
                           s ? "right" : "left");
        if (in[s]->changelog)
            return sqlfail(err, TIDE_EUNSUPPORTED, in[s]->pos,
                           "not supported yet: joining an aggregation with early or late firings "
                           "(EMIT); only final "
                           "window results join");
    }
    uint32_t nl = j->input->ncols;
    tide_sql_bexpr *cj[64];
    uint32_t ncj = 0;
    bool have_end = false;
    if (j->u.join.on)
        conjuncts(j->u.join.on, cj, &ncj, 64);
    for (uint32_t i = 0; i < ncj; i++) {
        tide_sql_bexpr *x = cj[i];
        if (x->kind != TIDE_SQL_BX_NODE || !x->ast || x->ast->kind != TIDE_SQL_EXPR_BINARY ||
            x->ast->u.binary.op != TIDE_SQL_OP_EQ || x->nargs != 2 ||
            x->args[0]->kind != TIDE_SQL_BX_COLUMN || x->args[1]->kind != TIDE_SQL_BX_COLUMN)
            continue;
        uint32_t a = x->args[0]->col, b = x->args[1]->col;
        if (a >= nl && b < nl) {
            uint32_t t = a;
            a = b;
            b = t;
        }
        if (!(a < nl && b >= nl))
            continue;
        b -= nl;
        if (!have_end && is_window_end(&side[0], a) && is_window_end(&side[1], b)) {
            fc->end_col[0] = a;
            fc->end_col[1] = b;
            have_end = true;
        } else if (x->args[0]->type == x->args[1]->type && fc->nkeys < TIDE_FANIN_MAX_KEYS) {
            fc->key_cols[0][fc->nkeys] = a;
            fc->key_cols[1][fc->nkeys] = b;
            fc->nkeys++;
        }
    }
    if (!have_end)
        return sqlfail(err, TIDE_EUNSUPPORTED, j->pos,
                       "not supported yet: this join; join two windowed aggregates ON their "
                       "window_end columns "
                       "(l.window_end = r.window_end [AND l.k = r.k ...])");
    return 0;
}

/* Lower one branch: the sub-plan under a stdout sink of its own, rows
 * pushed to l's fan-in. */
static int lower_branch(tide_sql_lowered *l, const tide_sql_plan *sub, const tide_sql_lower_opts *o,
                        tide_sql_error *err)
{
    tide_sql_plan *snk = tide_arena_alloc(&l->arena, sizeof *snk);
    if (!snk)
        return nomem(err, sub);
    memset(snk, 0, sizeof *snk);
    snk->kind = TIDE_SQL_PLAN_SINK;
    snk->pos = sub->pos;
    snk->cols = sub->cols;
    snk->ncols = sub->ncols;
    snk->changelog = sub->changelog;
    snk->input = (tide_sql_plan *)sub;
    snk->u.sink.op_col = -1;
    if (is_fan(sub))
        return sqlfail(err, TIDE_EUNSUPPORTED, sub->pos,
                       "not supported yet: a join or UNION ALL inside another");
    tide_sql_lowered *b = NULL;
    tide_sql_lower_opts bo = *o;
    bo.format = TIDE_SQL_OUT_CSV;
    int rc = tide_sql_lower(snk, &bo, &b, err);
    if (rc)
        return rc;
    l->branches[l->nbranches] = b;
    const tide_sql_plan *q = sub;
    while (q->input && q->kind != TIDE_SQL_PLAN_SCAN)
        q = q->input;
    b->fan_src = q->kind == TIDE_SQL_PLAN_SCAN ? (const void *)q->u.scan.table : (const void *)q;
    b->parent = l;
    b->branch_i = l->nbranches++;
    if (!(b->fan_vals = tide_arena_alloc(&b->arena, (b->nout + 1) * sizeof *b->fan_vals)))
        return nomem(err, sub);
    b->cfg.on_watermark = job_wm;
    if (!b->bounded)
        l->bounded = false;
    if (b->live)
        l->live = true;
    return 0;
}

static int lower_fanin(tide_sql_lowered *l, const tide_sql_plan *sink, const tide_sql_lower_opts *o,
                       tide_sql_error *err)
{
    flat top;
    int rc = fold(l, sink->input, false, &top, err);
    if (rc)
        return rc;
    const tide_sql_plan *base = top.base;
    tide_fanin_config fc = {.emit = fan_emit, .ctx = l};
    const tide_sql_plan *subs[TIDE_FANIN_MAX_BRANCHES];
    uint32_t nsub = 0;
    l->fan = true;
    l->bounded = true;
    if (base->kind == TIDE_SQL_PLAN_JOIN) {
        fc.mode = TIDE_FANIN_JOIN;
        if ((rc = join_spec(l, base, &fc, err)) != 0)
            return rc;
        subs[nsub++] = l->wj ? l->wj_sub[0] : base->input;
        subs[nsub++] = l->wj ? l->wj_sub[1] : base->right;
        /* the ON condition (its equalities again, any other conjunct) after matching */
        if (base->u.join.on)
            top.preds[top.npreds++] = base->u.join.on;
    } else {
        fc.mode = TIDE_FANIN_UNION;
        /* UNION ALL of UNION ALLs: one branch per leaf, left to right */
        const tide_sql_plan *stack[TIDE_FANIN_MAX_BRANCHES];
        uint32_t ns = 0;
        stack[ns++] = base;
        while (ns > 0) {
            const tide_sql_plan *q = stack[--ns];
            if (q->kind == TIDE_SQL_PLAN_UNION) {
                if (ns + 2 > TIDE_FANIN_MAX_BRANCHES)
                    return sqlfail(err, TIDE_EUNSUPPORTED, q->pos,
                                   "not supported yet: over %d UNION ALL branches",
                                   TIDE_FANIN_MAX_BRANCHES);
                stack[ns++] = q->right;
                stack[ns++] = q->input;
            } else {
                if (nsub == TIDE_FANIN_MAX_BRANCHES)
                    return sqlfail(err, TIDE_EUNSUPPORTED, q->pos,
                                   "not supported yet: over %d UNION ALL branches",
                                   TIDE_FANIN_MAX_BRANCHES);
                subs[nsub++] = q;
            }
        }
    }
    if (!(l->branches = tide_arena_alloc(&l->arena, nsub * sizeof *l->branches)))
        return nomem(err, base);
    tide_err e = {0};
    if (tide_sql_plan_schema(base, &l->wa_schema, &e) ||
        tide_cbatch_create(&l->wa_row, l->wa_schema, 1, 0, &e))
        return experr(err, base, &e);
    fc.branches = nsub;
    for (uint32_t i = 0; i < nsub; i++) {
        if (base->kind == TIDE_SQL_PLAN_UNION && subs[i]->ncols != base->ncols)
            return sqlfail(err, TIDE_EINVAL, subs[i]->pos,
                           "UNION ALL: the branches have different columns");
        fc.ncols[i] = subs[i]->ncols;
    }
    bool join = base->kind == TIDE_SQL_PLAN_JOIN;
    l->fan_nleft = join ? base->input->ncols : base->ncols;
    l->fan_nright = join ? base->right->ncols : 0;
    if (tide_fanin_create(&l->fanin, &fc, &e))
        return experr(err, base, &e);
    for (uint32_t i = 0; i < nsub; i++)
        if ((rc = lower_branch(l, subs[i], o, err)) != 0)
            return rc;
    uint32_t nstdin = 0;
    for (uint32_t i = 0; i < l->nbranches; i++) {
        const tide_sql_lowered *b = l->branches[i];
        if (b->cfg.source.kind == TIDE_PIPE_SRC_CONNECT && b->src.kind == TIDE_SRC_STDIN)
            nstdin++;
    }
    if (nstdin > 1)
        return sqlfail(
            err, TIDE_EUNSUPPORTED, base->pos,
            "stdin can feed only one branch of a %s, and %u read it (use a file or a topic)",
            base->kind == TIDE_SQL_PLAN_JOIN ? "join" : "UNION ALL", nstdin);
    /* the output adapter over the JOIN / UNION row */
    if ((rc = lower_output(l, sink, top.ncols, o, err)) != 0)
        return rc;
    if ((rc = build_where(&top, l->wa_schema, sink, &l->having, err)) != 0)
        return rc;
    l->outx = calloc(top.ncols + 1, sizeof *l->outx);
    l->vecs = calloc(top.ncols + 1, sizeof *l->vecs);
    if (!l->outx || !l->vecs)
        return nomem(err, sink);
    for (uint32_t i = 0; i < top.ncols; i++)
        if (tide_sql_plan_expr(top.cols[i], l->wa_schema, &l->outx[i], &e))
            return experr(err, sink, &e);
    return 0;
}

/* Pipelines first: they borrow the stages, configs and the fan-in. */
static void fan_free(tide_sql_lowered *l)
{
    for (uint32_t i = 0; i < l->npipes; i++)
        tide_pipe_free(l->pipes[i]);
    free(l->pipes);
    l->pipes = NULL;
    l->npipes = 0;
    for (uint32_t i = 0; i < l->nbranches; i++)
        tide_sql_lower_free(l->branches[i]);
    l->nbranches = 0;
    tide_fanin_free(l->fanin);
    l->fanin = NULL;
    tide_cumagg_free(l->cum);
    l->cum = NULL;
    tide_join_interval_free(l->ij);
    l->ij = NULL;
    tide_join_window_free(l->wj);
    l->wj = NULL;
    for (int s = 0; s < 2; s++) {
        tide_schema_free(l->wj_schema[s]);
        tide_cbatch_free(l->wj_row[s]);
        tide_expr_free(l->wj_pred[s]);
        for (uint32_t i = 0; l->wj_cols[s] && i < l->wj_ncols[s]; i++)
            tide_expr_free(l->wj_cols[s][i]);
        free(l->wj_cols[s]);
        free(l->wj_vecs[s]);
        free(l->wj_vals[s]);
        l->wj_schema[s] = NULL;
        l->wj_row[s] = NULL;
        l->wj_pred[s] = NULL;
        l->wj_cols[s] = NULL;
        l->wj_vecs[s] = NULL;
        l->wj_vals[s] = NULL;
    }
    tide_buf_free(&l->ij_kbuf);
}

static void counts_add(tide_pipe_counts *sum, const tide_pipe *p)
{
    tide_pipe_counts c;
    tide_pipe_counts_get(p, &c);
    sum->in += c.in;
    sum->bad += c.bad;
    sum->filtered += c.filtered;
    sum->out += c.out;
    sum->late += c.late;
    sum->wm_cuts += c.wm_cuts;
    if (sum->watermark == TIDE_TS_MIN || c.watermark < sum->watermark)
        sum->watermark = c.watermark;
}

int tide_sql_lower_run(tide_sql_lowered *l, tide_pipe_counts *counts, tide_err *e)
{
    tide_pipe_counts sum = {.watermark = TIDE_TS_MIN};
    uint32_t n = l->fan ? l->nbranches : 1;
    int rc = 0;
    if (l->pipes) {
        rc = tide_err_set(e, TIDE_EINVAL, "the job ran already");
        goto out;
    }
    if (!(l->pipes = calloc(n, sizeof *l->pipes))) {
        rc = tide_err_set(e, TIDE_ENOMEM, "out of memory");
        goto out;
    }
    l->npipes = n;
    for (uint32_t i = 0; i < n && !rc; i++)
        rc = tide_pipe_create(&l->pipes[i], tide_sql_lower_config(l->fan ? l->branches[i] : l), e);
    if (rc)
        goto out;
    if (l->fan) {
        rc = tide_fanin_run(l->fanin, l->pipes, n, e);
    } else {
        atomic_store(&l->run_pipe, l->pipes[0]);
        if (atomic_load(&l->cancel))
            rc = tide_err_set(e, TIDE_EFAILED, "cancelled");
        else
            rc = tide_pipe_run(l->pipes[0], e);
    }
    for (uint32_t i = 0; i < n; i++)
        if (l->pipes[i])
            counts_add(&sum, l->pipes[i]);
    /* records in and bad per source table: a table several branches read
     * counts once (the most any of them read) */
    if (l->fan) {
        sum.in = sum.bad = 0;
        for (uint32_t i = 0; i < n; i++) {
            bool seen = false;
            for (uint32_t j = 0; j < i && !seen; j++)
                seen = l->branches[j]->fan_src == l->branches[i]->fan_src;
            if (seen)
                continue;
            uint64_t in = 0, bad = 0;
            for (uint32_t j = i; j < n; j++) {
                if (l->branches[j]->fan_src != l->branches[i]->fan_src)
                    continue;
                tide_pipe_counts c;
                tide_pipe_counts_get(l->pipes[j], &c);
                in = c.in > in ? c.in : in;
                bad = c.bad > bad ? c.bad : bad;
            }
            sum.in += in;
            sum.bad += bad;
        }
    }
    if (l->cum)
        sum.late += tide_cumagg_late(l->cum);
    if (l->ij)
        sum.late += tide_join_interval_late_count(l->ij);
    if (l->wj)
        sum.late += tide_join_window_late_count(l->wj);
    for (uint32_t i = 0; i < l->nbranches; i++)
        if (l->branches[i]->cum)
            sum.late += tide_cumagg_late(l->branches[i]->cum);
    /* a branch's own output error (its pipeline only saw the code) */
    for (uint32_t i = 0; rc && i < l->nbranches; i++)
        if (l->branches[i]->oerr.code) {
            *e = l->branches[i]->oerr;
            break;
        }
out:
    if (counts)
        *counts = sum;
    return rc;
}

void tide_sql_lower_cancel(tide_sql_lowered *l)
{
    atomic_store(&l->cancel, true);
    if (l->fan) {
        tide_fanin_cancel(l->fanin);
        return;
    }
    tide_pipe *p = atomic_load(&l->run_pipe);
    if (p)
        tide_pipe_cancel(p);
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
    l->cfg.parallelism = o->parallelism;
    l->cfg.clock = o->clock;
    l->cfg.out_ctx = l;
    flat top;
    int rc = is_fan(plan->input) ? lower_fanin(l, plan, o, err) : flatten(l, plan->input, true, &top, err);
    if (!rc && !l->fan) {
        if (top.base->kind == TIDE_SQL_PLAN_WINDOW_AGGREGATE || top.base->kind == TIDE_SQL_PLAN_AGGREGATE) {
            l->windowed = top.base->kind == TIDE_SQL_PLAN_WINDOW_AGGREGATE;
            rc = lower_windowed(l, plan, &top, o, err);
            if (!rc && l->windowed)
                rc = use_cumagg(l, top.base, err);
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
    /* unbounded or live: rows appear as they are written */
    l->sinkcfg.prompt = !l->bounded || l->live;
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
    fan_free(l);
    tide_sink_abort(l->sink);
    tide_pipe_expr_stage_free(l->stage);
    tide_schema_free(l->stage_schema);
    tide_schema_free(l->out_schema);
    tide_schema_free(l->wa_schema);
    tide_cbatch_free(l->out);
    tide_cbatch_free(l->wa_row);
    tide_cbatch_free(l->wa_prev);
    tide_cbatch_free(l->bat);
    free(l->bat_sel);
    tide_expr_free(l->having);
    if (l->outx)
        for (uint32_t i = 0; i < l->nout; i++)
            tide_expr_free(l->outx[i]);
    if (l->outx_prev)
        for (uint32_t i = 0; i < l->nout; i++)
            tide_expr_free(l->outx_prev[i]);
    free(l->outx);
    free(l->vecs);
    free(l->outx_prev);
    free(l->vecs_prev);
    tide_arena_free(&l->arena);
    free(l);
}
