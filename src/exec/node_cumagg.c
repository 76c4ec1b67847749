/*
 * node_cumagg.c - sliced HOP / CUMULATE as a flow node (see node_cumagg.h).
 *
 * batch      each row's keys, aggregate inputs and time into
 *            tide_cumagg_push; a row that raised the operator's late count
 *            is late: its index goes into a selection emitted on port 1
 *            (the input batch itself, no copy).
 * watermark  tide_cumagg_advance: the fired windows are written into the
 *            output batch (emitted whenever it fills and before returning).
 */
#include "exec/node_cumagg.h"

#include "exec/cumagg.h"
#include "state/snap.h"
#include "tide.h"

#include <stdlib.h>
#include <string.h>

#define OUT_ROWS 1024

typedef struct cnode {
    const tide_node_cumagg_cfg *cfg;
    tide_cumagg *op;
    tide_agg *aggs;
    tide_schema *schema; /* port 0 */
    tide_cbatch *out;
    tide_value *keys, *vals; /* one row's operator inputs */
    uint32_t *late;          /* selection of a batch's late rows */
    uint32_t late_cap;
    int64_t wm;              /* the last watermark advanced to */
    tide_node_ctx *cx;       /* during advance */
    tide_err err;            /* an emit failure inside advance */
} cnode;

/* ---- config ---- */

static bool is_time(tide_type t) { return t == TIDE_TYPE_TIMESTAMP || t == TIDE_TYPE_BIGINT; }

static int check_cfg(const tide_node_cumagg_cfg *c, tide_err *e)
{
    if (!c || !c->in)
        return tide_err_set(e, TIDE_EINVAL, "cumagg node: no input schema");
    size_t nc = tide_schema_ncols(c->in);
    if (c->n_keys && !c->key_cols)
        return tide_err_set(e, TIDE_EINVAL, "cumagg node: %u keys without key_cols", c->n_keys);
    for (uint32_t k = 0; k < c->n_keys; k++)
        if (c->key_cols[k] >= nc)
            return tide_err_set(e, TIDE_EINVAL, "cumagg node: key_cols[%u] = %u out of range", k,
                                c->key_cols[k]);
    if (c->time_col >= nc || !is_time(tide_schema_col(c->in, c->time_col)->type))
        return tide_err_set(e, TIDE_EINVAL, "cumagg node: time_col %u is not a TIMESTAMP column",
                            c->time_col);
    if (c->n_aggs == 0 || !c->aggs)
        return tide_err_set(e, TIDE_EINVAL, "cumagg node: no aggregates");
    for (uint32_t a = 0; a < c->n_aggs; a++) {
        const tide_node_cumagg_agg *g = &c->aggs[a];
        if (!g->name || !*g->name)
            return tide_err_set(e, TIDE_EINVAL, "cumagg node: aggs[%u] has no name", a);
        if (g->kind == TIDE_AGG_COUNT_STAR ? g->arg != -1 : (g->arg < 0 || (size_t)g->arg >= nc))
            return tide_err_set(e, TIDE_EINVAL, "cumagg node: aggs[%u] (%s) argument column %d", a,
                                g->name, (int)g->arg);
    }
    if (!tide_cumagg_supports(&c->window))
        return tide_err_set(e, TIDE_EINVAL,
                            "cumagg node: the window must be CUMULATE, or HOP with a size that is "
                            "a multiple of the slide");
    return 0;
}

/* Bind the aggregates into aggs[n_aggs]. */
static int bind_aggs(const tide_node_cumagg_cfg *c, tide_agg *aggs, tide_err *e)
{
    for (uint32_t a = 0; a < c->n_aggs; a++) {
        const tide_node_cumagg_agg *g = &c->aggs[a];
        tide_type in = g->arg < 0 ? TIDE_TYPE_NULL : tide_schema_col(c->in, (size_t)g->arg)->type;
        int rc = tide_agg_bind_kind(&aggs[a], g->kind, in, 0, e);
        if (rc)
            return rc;
    }
    return 0;
}

static int out_schema(const tide_node_cumagg_cfg *c, const tide_agg *aggs, tide_schema **out,
                      tide_err *e)
{
    tide_schema *s = NULL;
    int rc = tide_schema_create(&s, e);
    for (uint32_t k = 0; k < c->n_keys && !rc; k++) {
        const tide_column *col = tide_schema_col(c->in, c->key_cols[k]);
        rc = tide_schema_add_n(s, col->name, col->name_len, col->type, col->nullable, e);
    }
    if (!rc)
        rc = tide_schema_add(s, "window_start", TIDE_TYPE_TIMESTAMP, false, e);
    if (!rc)
        rc = tide_schema_add(s, "window_end", TIDE_TYPE_TIMESTAMP, false, e);
    if (!rc)
        rc = tide_schema_add(s, "window_time", TIDE_TYPE_TIMESTAMP, false, e);
    if (!rc)
        rc = tide_schema_set_time_column(s, (int)c->n_keys + 2, e);
    for (uint32_t a = 0; a < c->n_aggs && !rc; a++) {
        /* COUNT is never NULL; the others are over no non-NULL input */
        bool nullable = aggs[a].kind != TIDE_AGG_COUNT_STAR && aggs[a].kind != TIDE_AGG_COUNT &&
                        aggs[a].kind != TIDE_AGG_COUNT_DISTINCT &&
                        aggs[a].kind != TIDE_AGG_APPROX_COUNT_DISTINCT;
        rc = tide_schema_add(s, c->aggs[a].name, aggs[a].out_type, nullable, e);
    }
    if (rc) {
        tide_schema_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

int tide_node_cumagg_schema(const tide_node_cumagg_cfg *c, uint32_t port, tide_schema **out,
                            tide_err *e)
{
    *out = NULL;
    int rc = check_cfg(c, e);
    if (rc)
        return rc;
    if (port == 1)
        return tide_schema_clone(c->in, out, e);
    if (port != 0)
        return tide_err_set(e, TIDE_EINVAL, "cumagg node: no output port %u", port);
    tide_agg *aggs = calloc(c->n_aggs, sizeof *aggs);
    if (!aggs)
        return tide_err_set(e, TIDE_ENOMEM, "cumagg node: out of memory");
    if ((rc = bind_aggs(c, aggs, e)) == 0)
        rc = out_schema(c, aggs, out, e);
    free(aggs);
    return rc;
}

/* ---- instances ---- */

static void cnode_free(void *self)
{
    cnode *n = self;
    if (!n)
        return;
    tide_cumagg_free(n->op);
    tide_cbatch_free(n->out);
    tide_schema_free(n->schema);
    free(n->aggs);
    free(n->keys);
    free(n->vals);
    free(n->late);
    free(n);
}

int tide_node_cumagg_make(void *cfg, uint32_t instance, uint32_t parallelism, void **self,
                          tide_err *e)
{
    (void)instance;
    (void)parallelism;
    const tide_node_cumagg_cfg *c = cfg;
    *self = NULL;
    int rc = check_cfg(c, e);
    if (rc)
        return rc;
    cnode *n = calloc(1, sizeof *n);
    tide_type *kt = NULL;
    if (!n)
        return tide_err_set(e, TIDE_ENOMEM, "cumagg node: out of memory");
    n->cfg = c;
    n->wm = TIDE_TS_MIN;
    n->aggs = calloc(c->n_aggs, sizeof *n->aggs);
    n->keys = calloc(c->n_keys + 1, sizeof *n->keys);
    n->vals = calloc(c->n_aggs, sizeof *n->vals);
    kt = calloc(c->n_keys + 1, sizeof *kt);
    if (!n->aggs || !n->keys || !n->vals || !kt) {
        rc = tide_err_set(e, TIDE_ENOMEM, "cumagg node: out of memory");
        goto fail;
    }
    for (uint32_t k = 0; k < c->n_keys; k++)
        kt[k] = tide_schema_col(c->in, c->key_cols[k])->type;
    if ((rc = bind_aggs(c, n->aggs, e)) != 0 || (rc = out_schema(c, n->aggs, &n->schema, e)) != 0 ||
        (rc = tide_cbatch_create(&n->out, n->schema, OUT_ROWS, 0, e)) != 0 ||
        (rc = tide_cumagg_create(&n->op, &c->window, n->aggs, c->n_aggs, kt, c->n_keys, e)) != 0)
        goto fail;
    free(kt);
    *self = n;
    return 0;
fail:
    free(kt);
    cnode_free(n);
    return rc;
}

static int flush(cnode *n, tide_node_ctx *cx, tide_err *e)
{
    uint32_t rows = tide_cbatch_rows(n->out);
    int rc = rows ? tide_node_emit(cx, 0, n->out, NULL, rows, e) : 0;
    tide_cbatch_reset(n->out);
    return rc;
}

static int cnode_batch(void *self, uint32_t in, const tide_cbatch *b, const uint32_t *sel,
                       uint32_t nrows, tide_node_ctx *cx, tide_err *e)
{
    (void)in;
    cnode *n = self;
    const tide_node_cumagg_cfg *c = n->cfg;
    if (nrows > n->late_cap) {
        uint32_t *p = realloc(n->late, (size_t)nrows * sizeof *p);
        if (!p)
            return tide_err_set(e, TIDE_ENOMEM, "cumagg node: out of memory");
        n->late = p;
        n->late_cap = nrows;
    }
    uint32_t nlate = 0;
    const uint8_t *tn = tide_cbatch_nulls(b, c->time_col);
    const int64_t *tv = tide_cbatch_col_i64(b, c->time_col);
    for (uint32_t i = 0; i < nrows; i++) {
        uint32_t r = sel ? sel[i] : i;
        if (tn[r])
            continue;
        for (uint32_t k = 0; k < c->n_keys; k++)
            n->keys[k] = tide_cbatch_get(b, c->key_cols[k], r);
        for (uint32_t a = 0; a < c->n_aggs; a++)
            n->vals[a] = c->aggs[a].arg < 0 ? (tide_value){.type = TIDE_TYPE_BIGINT}
                                            : tide_cbatch_get(b, (uint32_t)c->aggs[a].arg, r);
        uint64_t before = tide_cumagg_late(n->op);
        int rc = tide_cumagg_push(n->op, n->keys, n->vals, tv[r], e);
        if (rc)
            return rc;
        if (tide_cumagg_late(n->op) != before)
            n->late[nlate++] = r;
    }
    if (nlate == 0)
        return 0;
    tide_node_count(cx, TIDE_NODE_LATE, nlate);
    return tide_node_emit(cx, 1, b, n->late, nlate, e);
}

/* One fired window into the output batch. */
static int on_fired(void *ctx, const tide_cumagg_row *w)
{
    cnode *n = ctx;
    tide_cbatch *o = n->out;
    int rc = 0;
    if (tide_cbatch_full(o) && (rc = flush(n, n->cx, &n->err)) != 0)
        return rc;
    uint32_t r = 0;
    tide_cbatch_add_row(o, &r); /* room: flushed when full */
    uint32_t nk = (uint32_t)w->n_keys;
    for (uint32_t k = 0; k < nk && !rc; k++)
        rc = tide_cbatch_set(o, k, r, &w->keys[k], &n->err);
    tide_cbatch_set_i64(o, nk, r, w->start);
    tide_cbatch_set_i64(o, nk + 1, r, w->end);
    tide_cbatch_set_i64(o, nk + 2, r, w->end == TIDE_TS_MIN ? w->end : w->end - 1);
    for (size_t a = 0; a < w->n_vals && !rc; a++)
        rc = tide_cbatch_set(o, nk + 3 + (uint32_t)a, r, &w->vals[a], &n->err);
    return rc;
}

static int cnode_watermark(void *self, int64_t wm, tide_node_ctx *cx, tide_err *e)
{
    cnode *n = self;
    n->cx = cx;
    n->wm = wm;
    tide_err_clear(&n->err);
    int rc = tide_cumagg_advance(n->op, wm, on_fired, n, e);
    n->cx = NULL;
    if (rc) {
        if (n->err.code) /* the emit's own error says more than "emit failed" */
            *e = n->err;
        return rc;
    }
    return flush(n, cx, e);
}

/* ---- snapshot (see node_cumagg.h) ---- */

#define SNAP_KIND "node_cumagg"

static int cnode_snapshot(void *self, int64_t id, tide_buf *out, tide_err *e)
{
    (void)id;
    const cnode *n = self;
    tide_buf inner = {0};
    int rc = tide_cumagg_snapshot(n->op, &inner, e);
    if (rc) {
        tide_buf_free(&inner);
        return rc;
    }
    tide_snap_w w;
    tide_snap_begin(&w, out, SNAP_KIND, 2);
    tide_snap_put_i64(&w, n->wm);
    tide_snap_put_bytes(&w, inner.data, inner.len);
    tide_buf_free(&inner);
    return tide_snap_end(&w, e);
}

/* The node's watermark and the operator's own section (which checks the
 * window, the aggregates and the key types). */
static int cnode_restore(void *self, const void *buf, size_t len, tide_err *e)
{
    cnode *n = self;
    tide_snap_r r;
    int rc = tide_snap_open(&r, buf, len, SNAP_KIND, 2, NULL, e);
    if (rc)
        return rc;
    int64_t wm = tide_snap_get_i64(&r);
    size_t ilen;
    const void *inner = tide_snap_get_bytes(&r, &ilen);
    if ((rc = tide_snap_close(&r, e)) != 0)
        return rc;
    if ((rc = tide_cumagg_restore(n->op, inner, ilen, e)) != 0)
        return rc;
    n->wm = wm;
    return 0;
}

const tide_node_vt tide_node_cumagg_vt = {
    .kind = "cumagg",
    .batch = cnode_batch,
    .watermark = cnode_watermark,
    .snapshot = cnode_snapshot,
    .restore = cnode_restore,
    .free = cnode_free,
};
