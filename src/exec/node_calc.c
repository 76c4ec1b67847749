/*
 * node_calc.c - filter and project.  See node_calc.h.
 */
#include "exec/node_calc.h"

#include "base/buf.h"
#include "state/snap.h"

#include <stdlib.h>
#include <string.h>

#define SNAP_KIND "calc"
#define SNAP_VERSION 1

typedef struct calc {
    const tide_node_calc_cfg *cfg;
    tide_expr *where;
    tide_expr **exprs;
    bool own; /* the trees are this instance's (cfg.build) */
    unsigned flags;     /* of the output */
    tide_cbatch *view;  /* the projection when it only picks columns */
    tide_cbatch *out;   /* evaluated projections */
    uint32_t *sel;      /* filtered rows */
    size_t sel_cap;
    /* changelog mode */
    tide_cbatch *stage; /* rows to project, in output order, with their output ops */
    tide_cbatch *held;  /* the -U waiting for its +U (input schema, one row) */
    bool pending, held_pass;
    uint32_t *pairs; /* stage rows of -U old that a +U new follows */
    size_t pairs_cap;
    uint32_t *keep;  /* output rows kept after dropping unchanged pairs */
    size_t keep_cap;
    uint8_t *fail;   /* input rows an expression failed on */
    size_t fail_cap;
} calc;

int tide_node_calc_schema(const tide_node_calc_cfg *c, uint32_t port, tide_schema **out, tide_err *e)
{
    *out = NULL;
    if (port != 0)
        return tide_err_set(e, TIDE_EINVAL, "calc: no output %u", port);
    if (!c->in)
        return tide_err_set(e, TIDE_EINVAL, "calc: no input schema");
    return tide_schema_clone(c->out ? c->out : c->in, out, e);
}

unsigned tide_node_calc_flags(const tide_node_calc_cfg *c)
{
    return (c->in_flags & (TIDE_CBATCH_OPS | TIDE_CBATCH_POS)) | (c->changelog ? TIDE_CBATCH_OPS : 0);
}

static void calc_free(void *self)
{
    calc *s = self;
    if (!s)
        return;
    if (s->own) {
        tide_expr_free(s->where);
        for (uint32_t i = 0; s->exprs && i < s->cfg->n_exprs; i++)
            tide_expr_free(s->exprs[i]);
    }
    free(s->exprs);
    tide_cbatch_free(s->view);
    tide_cbatch_free(s->out);
    free(s->sel);
    tide_cbatch_free(s->stage);
    tide_cbatch_free(s->held);
    free(s->pairs);
    free(s->keep);
    free(s->fail);
    free(s);
}

/* A column map when every expression is a plain column of the input of
 * the output column's type (then the projection is a view); else NULL. */
static uint32_t *column_map(const calc *s)
{
    const tide_node_calc_cfg *c = s->cfg;
    if (!c->out || c->n_exprs == 0)
        return NULL;
    uint32_t *map = calloc(c->n_exprs, sizeof *map);
    if (!map)
        return NULL;
    for (uint32_t j = 0; j < c->n_exprs; j++) {
        int64_t col = tide_expr_column_of(s->exprs[j]);
        if (col < 0 || (size_t)col >= tide_schema_ncols(c->in) ||
            tide_schema_col(c->in, (size_t)col)->type != tide_schema_col(c->out, j)->type) {
            free(map);
            return NULL;
        }
        map[j] = (uint32_t)col;
    }
    return map;
}

int tide_node_calc_make(void *cfg, uint32_t instance, uint32_t parallelism, void **self, tide_err *e)
{
    const tide_node_calc_cfg *c = cfg;
    *self = NULL;
    if (!c->in)
        return tide_err_set(e, TIDE_EINVAL, "calc: no input schema");
    if (c->out ? tide_schema_ncols(c->out) != c->n_exprs : c->n_exprs != 0)
        return tide_err_set(e, TIDE_EINVAL, "calc: %u expressions for %zu output columns", c->n_exprs,
                            c->out ? tide_schema_ncols(c->out) : (size_t)0);
    if (!c->build && parallelism != 1)
        return tide_err_set(e, TIDE_EINVAL,
                            "calc: parallelism %u needs a build function (expression trees are one "
                            "instance's)",
                            parallelism);
    if (c->changelog && !(c->in_flags & TIDE_CBATCH_OPS))
        return tide_err_set(e, TIDE_EINVAL, "calc: changelog mode over an input without ops");
    int rc;
    calc *s = calloc(1, sizeof *s);
    if (!s)
        return tide_err_set(e, TIDE_ENOMEM, "calc: out of memory");
    s->cfg = c;
    s->flags = tide_node_calc_flags(c);
    s->exprs = calloc(c->n_exprs + 1, sizeof *s->exprs);
    if (!s->exprs) {
        rc = tide_err_set(e, TIDE_ENOMEM, "calc: out of memory");
        goto fail;
    }
    if (c->build) {
        s->own = true;
        if ((rc = c->build(c->build_ctx, instance, &s->where, s->exprs, e)) != 0)
            goto fail;
    } else {
        s->where = c->where;
        for (uint32_t j = 0; j < c->n_exprs; j++)
            s->exprs[j] = c->exprs[j];
    }
    for (uint32_t j = 0; j < c->n_exprs; j++) {
        tide_type want = tide_schema_col(c->out, j)->type, got = s->exprs[j] ? tide_expr_type(s->exprs[j])
                                                                               : TIDE_TYPE_NULL;
        bool ints = (want == TIDE_TYPE_BIGINT || want == TIDE_TYPE_TIMESTAMP) &&
                    (got == TIDE_TYPE_BIGINT || got == TIDE_TYPE_TIMESTAMP);
        if (!s->exprs[j] || (got != want && !ints)) {
            rc = tide_err_set(e, TIDE_EINVAL, "calc: expression %u is %s, output column %s is %s", j,
                              tide_type_name(got), tide_schema_col(c->out, j)->name, tide_type_name(want));
            goto fail;
        }
    }
    if (s->where && tide_expr_type(s->where) != TIDE_TYPE_BOOLEAN) {
        rc = tide_err_set(e, TIDE_EINVAL, "calc: WHERE is %s, not BOOLEAN",
                          tide_type_name(tide_expr_type(s->where)));
        goto fail;
    }
    uint32_t *map = c->changelog ? NULL : column_map(s);
    if (map) {
        rc = tide_cbatch_view_create(&s->view, c->out, map, e);
        free(map);
        if (rc != 0)
            goto fail;
    }
    if (c->changelog && (rc = tide_cbatch_create(&s->held, c->in, 1, TIDE_CBATCH_OPS, e)) != 0)
        goto fail;
    *self = s;
    return 0;
fail:
    calc_free(s);
    return rc;
}

/* *b with room for `rows` rows (reset), made or remade as needed. */
static int room(tide_cbatch **b, const tide_schema *schema, uint32_t rows, uint32_t min_rows, unsigned flags,
                tide_err *e)
{
    if (rows < min_rows)
        rows = min_rows;
    if (*b && tide_cbatch_capacity(*b) >= rows) {
        tide_cbatch_reset(*b);
        return 0;
    }
    tide_cbatch_free(*b);
    *b = NULL;
    return tide_cbatch_create(b, schema, rows ? rows : 1, flags, e);
}

static uint32_t *grow_u32(uint32_t **p, size_t *cap, size_t need)
{
    if (need > *cap && tide_array_grow((void **)p, cap, need, sizeof **p) != 0)
        return NULL;
    return *p;
}

/* Rows an expression failed on (an integer overflow, a TIMESTAMP out of
 * range: exec/expr.h) are bad rows: counted, handed to cfg.on_bad, and
 * left out.  `rows` flags input rows of b; sel (NULL: all) the ones
 * evaluated. */
static void report_failed(const calc *s, const tide_cbatch *b, const uint32_t *sel, uint32_t n,
                          const uint8_t *rows, const char *why, uint32_t k, tide_node_ctx *cx)
{
    if (!k)
        return;
    tide_node_count(cx, TIDE_NODE_BAD, k);
    for (uint32_t i = 0; s->cfg->on_bad && i < n; i++) {
        uint32_t r = sel ? sel[i] : i;
        if (rows[r])
            s->cfg->on_bad(s->cfg->bad_ctx, b, r, why);
    }
}

static void count_failed(const calc *s, const tide_expr *x, const tide_cbatch *b,
                         const uint32_t *sel, uint32_t n, tide_node_ctx *cx)
{
    const uint8_t *rows;
    const char *why;
    uint32_t k = tide_expr_faults(x, &rows, &why);
    report_failed(s, b, sel, n, rows, why, k, cx);
}

/* The rows of (b, sel, n) where `where` holds (and that it did not fail
 * on): *out_sel (into s->sel, or sel itself without a filter) and *out_n. */
static int filter(calc *s, const tide_cbatch *b, const uint32_t *sel, uint32_t n, const uint32_t **out_sel,
                  uint32_t *out_n, tide_node_ctx *cx, tide_err *e)
{
    *out_sel = sel;
    *out_n = n;
    if (!s->where)
        return 0;
    uint32_t rows = tide_cbatch_rows(b);
    if (!grow_u32(&s->sel, &s->sel_cap, (size_t)rows + 1))
        return tide_err_set(e, TIDE_ENOMEM, "calc: out of memory");
    uint32_t m = 0;
    int rc;
    if (!sel) {
        if ((rc = tide_expr_filter(s->where, b, s->sel, &m, e)) != 0)
            return rc;
    } else {
        /* only the selected rows may raise errors: eval with the selection */
        const tide_expr_vec *v;
        if ((rc = tide_expr_eval(s->where, b, sel, n, &v, e)) != 0)
            return rc;
        const uint8_t *failed;
        const char *why;
        bool any = tide_expr_faults(s->where, &failed, &why) != 0;
        for (uint32_t i = 0; i < n; i++) {
            uint32_t r = sel[i];
            s->sel[m] = r;
            m += !v->nulls[r] && v->v.b[r] && !(any && failed[r]);
        }
    }
    count_failed(s, s->where, b, sel, sel ? n : tide_cbatch_rows(b), cx);
    *out_sel = s->sel;
    *out_n = m;
    return 0;
}

/* Project rows (b, sel, n) into s->out (reset first); returns it. */
static int project(calc *s, const tide_cbatch *b, const uint32_t *sel, uint32_t n, tide_err *e)
{
    int rc = room(&s->out, s->cfg->out, n, s->cfg->batch_rows ? s->cfg->batch_rows : 4096, s->flags, e);
    if (rc != 0)
        return rc;
    return tide_expr_project(s->exprs, s->cfg->n_exprs, b, sel, n, s->out, e);
}

static int calc_batch_plain(calc *s, const tide_cbatch *b, const uint32_t *sel, uint32_t n,
                            tide_node_ctx *cx, tide_err *e)
{
    const uint32_t *fs;
    uint32_t m;
    int rc = filter(s, b, sel, n, &fs, &m, cx, e);
    if (rc != 0 || m == 0)
        return rc;
    if (!s->cfg->out)
        return tide_node_emit(cx, 0, b, fs, m, e);
    if (s->view) {
        if ((rc = tide_cbatch_view_bind(s->view, b, e)) != 0)
            return rc;
        return tide_node_emit(cx, 0, s->view, fs, m, e);
    }
    if ((rc = project(s, b, fs, m, e)) != 0)
        return rc;
    if (tide_cbatch_rows(s->out) < m) { /* rows a projection failed on */
        if (!s->cfg->on_bad) {
            tide_node_count(cx, TIDE_NODE_BAD, m - tide_cbatch_rows(s->out));
        } else {
            /* each failed row once, with the first failing expression's reason */
            uint32_t rows = tide_cbatch_rows(b);
            if (rows > s->fail_cap && tide_array_grow((void **)&s->fail, &s->fail_cap, rows, 1) != 0)
                return tide_err_set(e, TIDE_ENOMEM, "calc: out of memory");
            memset(s->fail, 0, rows);
            const char *first = NULL;
            for (uint32_t j = 0; j < s->cfg->n_exprs; j++) {
                const uint8_t *f;
                const char *why;
                if (!tide_expr_faults(s->exprs[j], &f, &why))
                    continue;
                for (uint32_t i = 0; i < m; i++) {
                    uint32_t r = fs ? fs[i] : i;
                    s->fail[r] |= f[r];
                }
                first = first ? first : why;
            }
            report_failed(s, b, fs, m, s->fail, first, m - tide_cbatch_rows(s->out), cx);
        }
    }
    return tide_node_emit(cx, 0, s->out, NULL, tide_cbatch_rows(s->out), e);
}

/* Stage row `row` of `src` with output op `op`. */
static int stage_row(calc *s, const tide_cbatch *src, uint32_t row, tide_op op, tide_err *e)
{
    int rc = tide_cbatch_copy_row(s->stage, src, row, e);
    if (rc == 0)
        tide_cbatch_set_op(s->stage, tide_cbatch_rows(s->stage) - 1, op);
    return rc;
}

/* A held -U that no +U follows: a deletion. */
static int unhold(calc *s, tide_err *e)
{
    if (!s->pending)
        return 0;
    s->pending = false;
    return s->held_pass ? stage_row(s, s->held, 0, TIDE_OP_DELETE, e) : 0;
}

/* Project s->stage and emit it, without the -U/+U pairs whose projected
 * rows are equal. */
static int emit_stage(calc *s, tide_node_ctx *cx, uint32_t npairs, tide_err *e)
{
    uint32_t n = tide_cbatch_rows(s->stage);
    if (n == 0)
        return 0;
    const tide_cbatch *o = s->stage;
    int rc;
    if (s->cfg->out) {
        if ((rc = project(s, s->stage, NULL, n, e)) != 0)
            return rc;
        o = s->out;
    }
    if (npairs == 0)
        return tide_node_emit(cx, 0, o, NULL, n, e);
    if (!grow_u32(&s->keep, &s->keep_cap, n))
        return tide_err_set(e, TIDE_ENOMEM, "calc: out of memory");
    uint32_t m = 0, p = 0;
    for (uint32_t r = 0; r < n; r++) {
        if (p < npairs && s->pairs[p] == r) {
            p++;
            if (tide_cbatch_values_equal(o, r, o, r + 1)) {
                r++; /* the pair changes nothing the output shows */
                continue;
            }
        }
        s->keep[m++] = r;
    }
    return tide_node_emit(cx, 0, o, s->keep, m, e);
}

static int calc_batch_changelog(calc *s, const tide_cbatch *b, const uint32_t *sel, uint32_t n,
                                tide_node_ctx *cx, tide_err *e)
{
    const tide_expr_vec *v = NULL;
    int rc;
    if (s->where && (rc = tide_expr_eval(s->where, b, sel, n, &v, e)) != 0)
        return rc;
    /* A row that WHERE or a projection fails on passes nowhere: its +I, -U
     * or +U is dropped like a filtered row's (the same values fail again,
     * so an insert and its later retraction both go) and counted bad. */
    uint32_t rows = tide_cbatch_rows(b);
    bool any_failed = false;
    const char *fail_why = NULL;
    for (uint32_t j = 0; j <= s->cfg->n_exprs; j++) {
        tide_expr *x = j == 0 ? s->where : s->cfg->out ? s->exprs[j - 1] : NULL;
        if (!x || !tide_expr_can_fail(x))
            continue;
        const tide_expr_vec *pv;
        if (j > 0 && (rc = tide_expr_eval(x, b, sel, n, &pv, e)) != 0)
            return rc;
        const uint8_t *f;
        const char *why;
        if (!tide_expr_faults(x, &f, &why))
            continue;
        fail_why = fail_why ? fail_why : why;
        if (!any_failed) {
            if (rows > s->fail_cap && tide_array_grow((void **)&s->fail, &s->fail_cap, rows, 1) != 0)
                return tide_err_set(e, TIDE_ENOMEM, "calc: out of memory");
            memset(s->fail, 0, rows);
            any_failed = true;
        }
        for (uint32_t r = 0; r < rows; r++)
            s->fail[r] |= f[r];
    }
    if ((rc = room(&s->stage, s->cfg->in, n + 1, 0, TIDE_CBATCH_OPS, e)) != 0)
        return rc;
    if (!grow_u32(&s->pairs, &s->pairs_cap, (size_t)n + 1))
        return tide_err_set(e, TIDE_ENOMEM, "calc: out of memory");
    uint32_t npairs = 0;
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        uint32_t r = sel ? sel[i] : i;
        bool pass = !v || (!v->nulls[r] && v->v.b[r]);
        if (any_failed && s->fail[r]) {
            tide_node_count(cx, TIDE_NODE_BAD, 1);
            if (s->cfg->on_bad)
                s->cfg->on_bad(s->cfg->bad_ctx, b, r, fail_why);
            pass = false;
        }
        tide_op op = tide_cbatch_op(b, r);
        if (op == TIDE_OP_UPDATE_BEFORE) {
            if ((rc = unhold(s, e)) != 0)
                break;
            tide_cbatch_reset(s->held);
            if ((rc = tide_cbatch_copy_row(s->held, b, r, e)) != 0)
                break;
            s->pending = true;
            s->held_pass = pass;
        } else if (op == TIDE_OP_UPDATE_AFTER && s->pending) {
            s->pending = false;
            if (s->held_pass && pass) {
                s->pairs[npairs++] = tide_cbatch_rows(s->stage);
                if ((rc = stage_row(s, s->held, 0, TIDE_OP_UPDATE_BEFORE, e)) == 0)
                    rc = stage_row(s, b, r, TIDE_OP_UPDATE_AFTER, e);
            } else if (s->held_pass) {
                rc = stage_row(s, s->held, 0, TIDE_OP_DELETE, e);
            } else if (pass) {
                rc = stage_row(s, b, r, TIDE_OP_INSERT, e);
            }
        } else {
            if ((rc = unhold(s, e)) == 0 && pass)
                rc = stage_row(s, b, r, op, e);
        }
    }
    if (rc != 0)
        return rc;
    return emit_stage(s, cx, npairs, e);
}

static int calc_batch(void *self, uint32_t in, const tide_cbatch *b, const uint32_t *sel, uint32_t n,
                      tide_node_ctx *cx, tide_err *e)
{
    (void)in;
    calc *s = self;
    if (n == 0)
        return 0;
    if (s->cfg->changelog)
        return calc_batch_changelog(s, b, sel, n, cx, e);
    return calc_batch_plain(s, b, sel, n, cx, e);
}

static int calc_end(void *self, tide_node_ctx *cx, tide_err *e)
{
    calc *s = self;
    if (!s->cfg->changelog || !s->pending)
        return 0;
    int rc = room(&s->stage, s->cfg->in, 1, 0, TIDE_CBATCH_OPS, e);
    if (rc == 0)
        rc = unhold(s, e);
    return rc != 0 ? rc : emit_stage(s, cx, 0, e);
}

static int calc_snapshot(void *self, int64_t id, tide_buf *out, tide_err *e)
{
    (void)id;
    calc *s = self;
    tide_snap_w w;
    tide_snap_begin(&w, out, SNAP_KIND, SNAP_VERSION);
    tide_snap_put_bool(&w, s->pending);
    if (s->pending) {
        tide_snap_put_bool(&w, s->held_pass);
        tide_snap_put_row(&w, s->held, 0);
    }
    return tide_snap_end(&w, e);
}

static int calc_restore(void *self, const void *buf, size_t len, tide_err *e)
{
    calc *s = self;
    tide_snap_r r;
    int rc = tide_snap_open(&r, buf, len, SNAP_KIND, SNAP_VERSION, NULL, e);
    if (rc != 0)
        return rc;
    bool pending = tide_snap_get_bool(&r);
    if (pending) {
        if (!s->held)
            return tide_err_set(e, TIDE_EINVAL, "calc restore: a held row, but this calc is not in changelog mode");
        s->held_pass = tide_snap_get_bool(&r);
        tide_cbatch_reset(s->held);
        if ((rc = tide_snap_get_row(&r, s->held, e)) != 0)
            return rc;
    }
    if ((rc = tide_snap_close(&r, e)) != 0)
        return rc;
    s->pending = pending;
    return 0;
}

const tide_node_vt tide_node_calc_vt = {
    .kind = "calc",
    .batch = calc_batch,
    .end = calc_end,
    .snapshot = calc_snapshot,
    .restore = calc_restore,
    .free = calc_free,
};
