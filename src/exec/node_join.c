/*
 * node_join.c - interval, window and window-end joins as a flow node (see
 * node_join.h).
 *
 * batch      each row of input s: its key (data/key.h bytes; WINDOW puts
 *            window_start in front), its values, and its time (INTERVAL:
 *            the time column; the window kinds: window_end - 1, the pane
 *            [window_end - 1, window_end) of a 1 ms TUMBLE) into the
 *            operator.  Joined rows come back through on_joined into the
 *            output batch; a row that raised the operator's late count is
 *            late (window kinds: its index goes into a selection emitted on
 *            port 1 + s, the input batch itself, no copy).
 * watermark  the operator's advance (window kinds: the closed panes are
 *            emitted), then the output batch; INTERVAL sets the hold.
 */
#include "exec/node_join.h"

#include "data/key.h"
#include "exec/expr.h"
#include "exec/join.h"
#include "exec/regjoin.h"
#include "state/snap.h"
#include "tide.h"
#include "time/watermark.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OUT_ROWS 1024

typedef struct jnode {
    const tide_node_join_cfg *cfg;
    tide_join_interval *ij;
    tide_join_window *wj;
    tide_regjoin *rj;
    tide_schema *schema; /* port 0 */
    tide_schema *pair;   /* a candidate pair's (the ON predicate's input) */
    tide_cbatch *out;
    uint32_t ncols[2];
    tide_value *vals; /* one row's values (the wider side's count) */
    tide_buf key;     /* one row's key bytes */
    uint32_t *late;   /* selection of a batch's late rows */
    uint32_t late_cap;
    int64_t wm;
    tide_expr *on;        /* the ON predicate (cfg.build_on), or NULL */
    tide_cbatch *cand;    /* one candidate pair, for `on` */
    uint32_t cand_sel[1];
    bool cand_ready;      /* cand holds the pair the operator emits next */
    tide_node_ctx *cx; /* during a call into the operator */
    tide_err err;      /* a failure of on_joined */
} jnode;

/* ---- config ---- */

static bool is_time(tide_type t) { return t == TIDE_TYPE_TIMESTAMP || t == TIDE_TYPE_BIGINT; }

static int check_col(const tide_node_join_cfg *c, int s, uint32_t col, const char *what, bool ts,
                     tide_err *e)
{
    const tide_schema *sc = c->side[s].schema;
    if (col >= tide_schema_ncols(sc))
        return tide_err_set(e, TIDE_EINVAL, "join node: side[%d].%s %u out of range", s, what, col);
    if (ts && !is_time(tide_schema_col(sc, col)->type))
        return tide_err_set(e, TIDE_EINVAL, "join node: side[%d].%s (%s) is %s, not a TIMESTAMP", s,
                            what, tide_schema_col(sc, col)->name,
                            tide_type_name(tide_schema_col(sc, col)->type));
    return 0;
}

static int check_cfg(const tide_node_join_cfg *c, tide_err *e)
{
    if (!c)
        return tide_err_set(e, TIDE_EINVAL, "join node: no config");
    if (c->kind != TIDE_NODE_JOIN_INTERVAL && c->kind != TIDE_NODE_JOIN_WINDOW &&
        c->kind != TIDE_NODE_JOIN_WINDOW_END && c->kind != TIDE_NODE_JOIN_REGULAR)
        return tide_err_set(e, TIDE_EINVAL, "join node: unknown kind %d", (int)c->kind);
    if (c->n_keys > TIDE_NODE_JOIN_MAX_KEYS)
        return tide_err_set(e, TIDE_EINVAL, "join node: %u keys (at most %d)", c->n_keys,
                            TIDE_NODE_JOIN_MAX_KEYS);
    int rc = 0;
    for (int s = 0; s < 2 && !rc; s++) {
        if (!c->side[s].schema)
            return tide_err_set(e, TIDE_EINVAL, "join node: side[%d] has no schema", s);
        for (uint32_t k = 0; k < c->n_keys && !rc; k++)
            rc = check_col(c, s, c->side[s].key_cols[k], "key_cols[]", false, e);
        if (!rc && c->kind == TIDE_NODE_JOIN_INTERVAL)
            rc = check_col(c, s, c->side[s].time_col, "time_col", true, e);
        if (!rc && (c->kind == TIDE_NODE_JOIN_WINDOW || c->kind == TIDE_NODE_JOIN_WINDOW_END))
            rc = check_col(c, s, c->side[s].end_col, "end_col", true, e);
        if (!rc && c->kind == TIDE_NODE_JOIN_WINDOW)
            rc = check_col(c, s, c->side[s].start_col, "start_col", true, e);
    }
    for (uint32_t k = 0; k < c->n_keys && !rc; k++) {
        tide_type a = tide_schema_col(c->side[0].schema, c->side[0].key_cols[k])->type;
        tide_type b = tide_schema_col(c->side[1].schema, c->side[1].key_cols[k])->type;
        if (a != b && !(is_time(a) && is_time(b)))
            rc = tide_err_set(e, TIDE_EINVAL, "join node: key %u is %s on the left, %s on the right",
                              k, tide_type_name(a), tide_type_name(b));
    }
    if (!rc && c->semi > 2)
        rc = tide_err_set(e, TIDE_EINVAL, "join node: semi %u (0, 1 SEMI or 2 ANTI)", c->semi);
    if (!rc && c->semi && c->kind != TIDE_NODE_JOIN_REGULAR)
        rc = tide_err_set(e, TIDE_EINVAL, "join node: a SEMI or ANTI join is a regular one");
    if (!rc && c->kind == TIDE_NODE_JOIN_INTERVAL && c->lo > c->hi)
        rc = tide_err_set(e, TIDE_EINVAL, "join node: interval lo %lld above hi %lld",
                          (long long)c->lo, (long long)c->hi);
    return rc;
}

int64_t tide_node_join_delay(const tide_node_join_cfg *c)
{
    int64_t left = c->lo == INT64_MIN ? INT64_MAX : -c->lo; /* leftRelativeSize */
    int64_t right = c->hi;                                  /* rightRelativeSize */
    int64_t d = left > right ? left : right;
    return d > 0 ? d : 0;
}

/* Add `col` to s under a name no column of s has yet (name, name0, name1...). */
static int add_unique(tide_schema *s, const tide_column *col, tide_err *e)
{
    if (tide_schema_find(s, col->name, col->name_len) < 0)
        return tide_schema_add_n(s, col->name, col->name_len, col->type, col->nullable, e);
    char *buf = malloc((size_t)col->name_len + 24);
    if (!buf)
        return tide_err_set(e, TIDE_ENOMEM, "join node: out of memory");
    int rc = TIDE_EEXIST;
    for (unsigned i = 0; rc == TIDE_EEXIST; i++) {
        int n = snprintf(buf, (size_t)col->name_len + 24, "%.*s%u", (int)col->name_len, col->name, i);
        if (tide_schema_find(s, buf, (size_t)n) < 0)
            rc = tide_schema_add_n(s, buf, (size_t)n, col->type, col->nullable, e);
    }
    free(buf);
    return rc;
}

int tide_node_join_schema(const tide_node_join_cfg *c, uint32_t port, tide_schema **out,
                          tide_err *e)
{
    *out = NULL;
    int rc = check_cfg(c, e);
    if (rc)
        return rc;
    if (port == 1 || port == 2)
        return tide_schema_clone(c->side[port - 1].schema, out, e);
    if (port != 0)
        return tide_err_set(e, TIDE_EINVAL, "join node: no output port %u", port);
    if (c->semi)
        return tide_schema_clone(c->side[0].schema, out, e);
    return tide_node_join_pair_schema(c, out, e);
}

int tide_node_join_pair_schema(const tide_node_join_cfg *c, tide_schema **out, tide_err *e)
{
    *out = NULL;
    int rc = check_cfg(c, e);
    if (rc)
        return rc;
    tide_schema *s = NULL;
    rc = tide_schema_create(&s, e);
    for (int side = 0; side < 2 && !rc; side++) {
        const tide_schema *in = c->side[side].schema;
        for (size_t i = 0; i < tide_schema_ncols(in) && !rc; i++)
            rc = add_unique(s, tide_schema_col(in, i), e);
    }
    if (rc) {
        tide_schema_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

/* ---- instances ---- */

static void jnode_free(void *self)
{
    jnode *j = self;
    if (!j)
        return;
    tide_join_interval_free(j->ij);
    tide_join_window_free(j->wj);
    tide_regjoin_free(j->rj);
    tide_expr_free(j->on);
    tide_cbatch_free(j->cand);
    tide_cbatch_free(j->out);
    tide_schema_free(j->schema);
    tide_schema_free(j->pair);
    free(j->vals);
    tide_buf_free(&j->key);
    free(j->late);
    free(j);
}

static int flush(jnode *j, tide_node_ctx *cx, tide_err *e)
{
    uint32_t rows = tide_cbatch_rows(j->out);
    int rc = rows ? tide_node_emit(cx, 0, j->out, NULL, rows, e) : 0;
    tide_cbatch_reset(j->out);
    return rc;
}

/* A joined row into row r of batch o: the left values then the right
 * ones (unless o has only the left columns: SEMI, ANTI), NULLs for a side
 * the row has not (an outer join's padding). */
static int put_row(jnode *j, tide_cbatch *o, uint32_t r, const tide_join_row *row)
{
    int rc = 0;
    bool pair = tide_cbatch_ncols(o) == j->ncols[0] + j->ncols[1];
    for (uint32_t i = 0; i < j->ncols[0] && !rc; i++)
        if (row->left)
            rc = tide_cbatch_set(o, i, r, &row->left[i], &j->err);
        else
            tide_cbatch_set_null(o, i, r);
    for (uint32_t i = 0; pair && i < j->ncols[1] && !rc; i++)
        if (row->right)
            rc = tide_cbatch_set(o, j->ncols[0] + i, r, &row->right[i], &j->err);
        else
            tide_cbatch_set_null(o, j->ncols[0] + i, r);
    return rc;
}

/* A joined pair (or a padded row) from the operator into the output
 * batch.  A pair that on_match accepted is in j->cand already (the
 * operator emits it right after, join.h). */
static int on_joined(void *ctx, const tide_join_row *row)
{
    jnode *j = ctx;
    tide_cbatch *o = j->out;
    int rc = 0;
    if (tide_cbatch_full(o) && (rc = flush(j, j->cx, &j->err)) != 0)
        return rc;
    if (j->cand_ready) {
        j->cand_ready = false;
        return tide_cbatch_copy_row(o, j->cand, 0, &j->err);
    }
    uint32_t r = 0;
    tide_cbatch_add_row(o, &r); /* room: flushed when full */
    return put_row(j, o, r, row);
}

/* A change of a regular join's output into the output batch. */
static int on_changed(void *ctx, tide_op op, const tide_join_row *row)
{
    jnode *j = ctx;
    tide_cbatch *o = j->out;
    int rc = 0;
    j->cand_ready = false; /* (the regular join emits after sorting, not after a match) */
    if (!tide_cbatch_has_ops(o) && op != TIDE_OP_INSERT)
        return tide_err_set(&j->err, TIDE_EINVAL, "join node: a retraction out of a join planned append-only");
    if (tide_cbatch_full(o) && (rc = flush(j, j->cx, &j->err)) != 0)
        return rc;
    uint32_t r = 0;
    tide_cbatch_add_row(o, &r);
    if (tide_cbatch_has_ops(o))
        tide_cbatch_set_op(o, r, op);
    return put_row(j, o, r, row);
}

/* The ON predicate over one candidate pair: 1 TRUE, 0 not (FALSE, NULL, or
 * a row the predicate failed on: counted bad), or an error. */
static int on_match(void *ctx, const tide_join_row *row)
{
    jnode *j = ctx;
    j->cand_ready = false;
    if (!j->on)
        return 1;
    tide_cbatch_reset(j->cand);
    uint32_t r = 0;
    tide_cbatch_add_row(j->cand, &r);
    int rc = put_row(j, j->cand, r, row);
    uint32_t n = 0;
    if (!rc)
        rc = tide_expr_filter(j->on, j->cand, j->cand_sel, &n, &j->err);
    if (rc)
        return rc;
    const uint8_t *failed;
    const char *why;
    if (tide_expr_faults(j->on, &failed, &why) && j->cx)
        tide_node_count(j->cx, TIDE_NODE_BAD, 1);
    j->cand_ready = n == 1;
    return n == 1;
}

int tide_node_join_make(void *cfg, uint32_t instance, uint32_t parallelism, void **self,
                        tide_err *e)
{
    (void)parallelism;
    const tide_node_join_cfg *c = cfg;
    *self = NULL;
    int rc = check_cfg(c, e);
    if (rc)
        return rc;
    jnode *j = calloc(1, sizeof *j);
    if (!j)
        return tide_err_set(e, TIDE_ENOMEM, "join node: out of memory");
    j->cfg = c;
    j->wm = TIDE_TS_MIN;
    for (int s = 0; s < 2; s++)
        j->ncols[s] = (uint32_t)tide_schema_ncols(c->side[s].schema);
    uint32_t w = j->ncols[0] > j->ncols[1] ? j->ncols[0] : j->ncols[1];
    j->vals = calloc(w + 1, sizeof *j->vals);
    if (!j->vals) {
        rc = tide_err_set(e, TIDE_ENOMEM, "join node: out of memory");
        goto fail;
    }
    if ((rc = tide_node_join_schema(c, 0, &j->schema, e)) != 0 ||
        (rc = tide_cbatch_create(&j->out, j->schema, OUT_ROWS,
                                 c->kind == TIDE_NODE_JOIN_REGULAR && c->changelog ? TIDE_CBATCH_OPS : 0, e)) != 0)
        goto fail;
    if ((rc = tide_node_join_pair_schema(c, &j->pair, e)) != 0)
        goto fail;
    if (c->build_on) {
        if ((rc = c->build_on(c->build_ctx, instance, j->pair, &j->on, e)) != 0 ||
            (rc = tide_cbatch_create(&j->cand, j->pair, 1, 0, e)) != 0)
            goto fail;
        if (tide_expr_type(j->on) != TIDE_TYPE_BOOLEAN) {
            rc = tide_err_set(e, TIDE_EINVAL, "join node: the ON predicate is %s, not BOOLEAN",
                              tide_type_name(tide_expr_type(j->on)));
            goto fail;
        }
    }
    if (c->kind == TIDE_NODE_JOIN_REGULAR) {
        tide_regjoin_config rc_ = {.kind = c->semi == 1   ? TIDE_REGJOIN_SEMI
                                           : c->semi == 2 ? TIDE_REGJOIN_ANTI
                                                          : TIDE_REGJOIN_JOIN,
                                   .n_left = j->ncols[0],
                                   .n_right = j->ncols[1],
                                   .outer = {c->outer[0], c->outer[1]},
                                   .ttl = c->ttl,
                                   .emit = on_changed,
                                   .match = c->build_on ? on_match : NULL,
                                   .ctx = j};
        rc = tide_regjoin_create(&rc_, &j->rj, e);
    } else if (c->kind == TIDE_NODE_JOIN_INTERVAL) {
        tide_join_interval_config ic = {.lo = c->lo,
                                        .hi = c->hi,
                                        .n_left = j->ncols[0],
                                        .n_right = j->ncols[1],
                                        .emit = on_joined,
                                        .match = c->build_on ? on_match : NULL,
                                        .outer = {c->outer[0], c->outer[1]},
                                        .ctx = j};
        rc = tide_join_interval_create(&ic, &j->ij, e);
    } else {
        tide_join_window_config wc = {.window = tide_win_tumble(1),
                                      .n_left = j->ncols[0],
                                      .n_right = j->ncols[1],
                                      .emit = on_joined,
                                      .match = c->build_on ? on_match : NULL,
                                      .outer = {c->outer[0], c->outer[1]},
                                      .ctx = j};
        rc = tide_join_window_create(&wc, &j->wj, e);
    }
    if (rc)
        goto fail;
    *self = j;
    return 0;
fail:
    jnode_free(j);
    return rc;
}

/* Row r's key bytes into j->key: 1 when it matches nothing (a NULL or NaN
 * key column, or a NULL window_start), else 0 or TIDE_ENOMEM.  A row that
 * matches nothing of an outer side of a window kind still gets a key, one
 * no row of the other side has (the key, which holds a NULL flag or a NaN
 * no real key has, and a byte naming the side: a valid key is never a
 * proper prefix of another), so that it is padded when its window fires:
 * then *alone is set and 0 returned. */
static int row_key(jnode *j, int s, const tide_cbatch *b, uint32_t r, bool *alone)
{
    const tide_node_join_cfg *c = j->cfg;
    const uint32_t *cols = c->side[s].key_cols;
    *alone = false;
    for (uint32_t k = 0; k < c->n_keys && !*alone; k++) {
        uint32_t col = cols[k];
        if (tide_cbatch_is_null(b, col, r) ? !c->null_safe[k]
                                           : tide_cbatch_type(b, col) == TIDE_TYPE_DOUBLE &&
                                                 isnan(tide_cbatch_f64(b, col, r)))
            *alone = true;
    }
    bool window = c->kind == TIDE_NODE_JOIN_WINDOW;
    uint32_t sc = c->side[s].start_col;
    if (window && tide_cbatch_is_null(b, sc, r))
        return 1;
    bool keeps = c->outer[s] || (c->semi == 2 && s == 0); /* (an ANTI join keeps its left rows that match none) */
    if (*alone && (!keeps || c->kind == TIDE_NODE_JOIN_INTERVAL))
        return 1;
    size_t len = (window ? TIDE_KEY_I64_SIZE : 0) + tide_key_row_size(b, r, cols, c->n_keys);
    tide_buf_reset(&j->key);
    if (tide_buf_reserve(&j->key, len + 1))
        return TIDE_ENOMEM;
    uint8_t *d = j->key.data;
    if (window)
        d = tide_key_put_i64(d, tide_cbatch_i64(b, sc, r));
    tide_key_row_put(b, r, cols, c->n_keys, d);
    if (*alone)
        j->key.data[len++] = (uint8_t)(0xf0 + s);
    j->key.len = len;
    return 0;
}

static uint64_t late_count(const jnode *j)
{
    return j->ij   ? tide_join_interval_late_count(j->ij)
           : j->wj ? tide_join_window_late_count(j->wj)
                   : tide_regjoin_missing(j->rj);
}

static int jnode_batch(void *self, uint32_t in, const tide_cbatch *b, const uint32_t *sel,
                       uint32_t n, tide_node_ctx *cx, tide_err *e)
{
    jnode *j = self;
    const tide_node_join_cfg *c = j->cfg;
    if (in > 1)
        return tide_err_set(e, TIDE_EINVAL, "join node: input %u (a join has inputs 0 and 1)", in);
    int s = (int)in;
    uint32_t nc = j->ncols[s];
    if (tide_cbatch_ncols(b) != nc)
        return tide_err_set(e, TIDE_EINVAL, "join node: input %u has %u columns, not %u", in,
                            tide_cbatch_ncols(b), nc);
    if (n > j->late_cap) {
        uint32_t *p = realloc(j->late, (size_t)n * sizeof *p);
        if (!p)
            return tide_err_set(e, TIDE_ENOMEM, "join node: out of memory");
        j->late = p;
        j->late_cap = n;
    }
    bool interval = c->kind == TIDE_NODE_JOIN_INTERVAL, regular = c->kind == TIDE_NODE_JOIN_REGULAR;
    uint32_t tcol = interval ? c->side[s].time_col : c->side[s].end_col;
    bool ops = tide_cbatch_has_ops(b);
    tide_join_side side = s ? TIDE_JOIN_RIGHT : TIDE_JOIN_LEFT;
    uint32_t nlate = 0;
    uint64_t late0 = late_count(j);
    int rc = 0;
    j->cx = cx;
    tide_err_clear(&j->err);
    for (uint32_t i = 0; i < n && !rc; i++) {
        uint32_t r = sel ? sel[i] : i;
        int64_t t = 0;
        if (regular)
            goto keyed; /* no time */
        if (tide_cbatch_is_null(b, tcol, r))
            continue;
        t = tide_cbatch_i64(b, tcol, r);
        if (!interval) {
            if (t == TIDE_TS_MIN)
                continue; /* no window ends there */
            t -= 1;       /* the pane [end - 1, end) */
        }
    keyed:;
        bool alone;
        if ((rc = row_key(j, s, b, r, &alone)) != 0) {
            if (rc > 0) {
                rc = 0;
                if (alone && c->outer[s] && interval) { /* matches nothing, ever: final now */
                    for (uint32_t k = 0; k < nc; k++)
                        j->vals[k] = tide_cbatch_get(b, k, r);
                    tide_join_row row = {.left = s ? NULL : j->vals, .right = s ? j->vals : NULL};
                    if ((rc = on_joined(j, &row)) != 0) {
                        *e = j->err;
                        break;
                    }
                }
                continue;
            }
            rc = tide_err_set(e, rc, "join node: out of memory for a key");
            break;
        }
        for (uint32_t k = 0; k < nc; k++)
            j->vals[k] = tide_cbatch_get(b, k, r);
        uint64_t before = late_count(j);
        if (regular)
            rc = tide_regjoin_push(j->rj, side, j->key.data, (uint32_t)j->key.len,
                                   ops ? tide_op_sign(tide_cbatch_op(b, r)) : 1, j->vals, e);
        else if (interval)
            rc = tide_join_interval_push(j->ij, side, j->key.data, (uint32_t)j->key.len, t, j->vals,
                                         e);
        else
            rc = tide_join_window_push(j->wj, side, j->key.data, (uint32_t)j->key.len, t, j->vals,
                                       e);
        if (!rc && !interval && !regular && late_count(j) != before)
            j->late[nlate++] = r;
    }
    j->cx = NULL;
    if (rc) {
        if (j->err.code) /* the emit's own error says more than the operator's */
            *e = j->err;
        return rc;
    }
    if (late_count(j) != late0)
        tide_node_count(cx, TIDE_NODE_LATE, late_count(j) - late0);
    if ((rc = flush(j, cx, e)) != 0)
        return rc;
    return nlate ? tide_node_emit(cx, 1 + (uint32_t)s, b, j->late, nlate, e) : 0;
}

static int jnode_watermark(void *self, int64_t wm, tide_node_ctx *cx, tide_err *e)
{
    jnode *j = self;
    const tide_node_join_cfg *c = j->cfg;
    j->wm = wm;
    j->cx = cx;
    tide_err_clear(&j->err);
    uint64_t late0 = late_count(j);
    int rc = j->ij   ? tide_join_interval_advance_watermark(j->ij, wm, e)
             : j->wj ? tide_join_window_advance_watermark(j->wj, wm, e)
                     : tide_regjoin_advance_watermark(j->rj, wm, e);
    j->cx = NULL;
    if (rc) {
        if (j->err.code)
            *e = j->err;
        return rc;
    }
    if (late_count(j) != late0) /* retractions that found nothing (regular) */
        tide_node_count(cx, TIDE_NODE_LATE, late_count(j) - late0);
    if (c->kind == TIDE_NODE_JOIN_INTERVAL)
        tide_node_hold(cx, wm == TIDE_TS_MAX ? TIDE_TS_MAX
                                             : tide_wm_sat_sub(wm, tide_node_join_delay(c)));
    return flush(j, cx, e);
}

/* ---- snapshot (see node_join.h) ---- */

#define SNAP_KIND "node_join"

static int jnode_snapshot(void *self, int64_t id, tide_buf *out, tide_err *e)
{
    (void)id;
    const jnode *j = self;
    tide_buf inner = {0};
    int rc = j->ij   ? tide_join_interval_snapshot(j->ij, &inner, e)
             : j->wj ? tide_join_window_snapshot(j->wj, &inner, e)
                     : tide_regjoin_snapshot(j->rj, &inner, e);
    if (rc) {
        tide_buf_free(&inner);
        return rc;
    }
    tide_snap_w w;
    tide_snap_begin(&w, out, SNAP_KIND, 2);
    tide_snap_put_u8(&w, (uint8_t)j->cfg->kind);
    tide_snap_put_u32(&w, j->ncols[0]);
    tide_snap_put_u32(&w, j->ncols[1]);
    tide_snap_put_i64(&w, j->wm);
    tide_snap_put_bytes(&w, inner.data, inner.len);
    tide_buf_free(&inner);
    return tide_snap_end(&w, e);
}

/* The node's shape and watermark, then the operator's own section (which
 * checks the bounds or the window). */
static int jnode_restore(void *self, const void *buf, size_t len, tide_err *e)
{
    jnode *j = self;
    const tide_node_join_cfg *c = j->cfg;
    tide_snap_r r;
    int rc = tide_snap_open(&r, buf, len, SNAP_KIND, 2, NULL, e);
    if (rc)
        return rc;
    uint8_t kind = tide_snap_get_u8(&r);
    uint32_t n0 = tide_snap_get_u32(&r), n1 = tide_snap_get_u32(&r);
    int64_t wm = tide_snap_get_i64(&r);
    size_t ilen;
    const void *inner = tide_snap_get_bytes(&r, &ilen);
    if ((rc = tide_snap_close(&r, e)) != 0)
        return rc;
    if (kind != (uint8_t)c->kind || n0 != j->ncols[0] || n1 != j->ncols[1])
        return tide_err_set(e, TIDE_EINVAL, "join node: the snapshot is of another join");
    rc = j->ij   ? tide_join_interval_restore(j->ij, inner, ilen, e)
         : j->wj ? tide_join_window_restore(j->wj, inner, ilen, e)
                 : tide_regjoin_restore(j->rj, inner, ilen, e);
    if (rc)
        return rc;
    j->wm = wm;
    return 0;
}

const tide_node_vt tide_node_join_vt = {
    .kind = "join",
    .batch = jnode_batch,
    .watermark = jnode_watermark,
    .snapshot = jnode_snapshot,
    .restore = jnode_restore,
    .free = jnode_free,
};
