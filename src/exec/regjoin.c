/*
 * regjoin.c - the regular join of two changelogs (see regjoin.h).
 *
 * Layout.  Per side a row pool (header, n values, owned identity bytes and
 * string bytes; freed slots keep their buffers) and a table from identity
 * bytes to row id; a table from key bytes to key id; per key, each side's
 * row ids and the rows touched in the current step.
 *
 * A step (advance) works key by key, touched keys in key-byte order.  With
 * w the weight of a row at the last step and w' = max(0, w + dw) its
 * weight now, the change of the join output is
 *   pairs:   w'(l) w'(r) - w(l) w(r) for every matching pair with a touched
 *            row (touched left rows against every right row, then touched
 *            right rows against the untouched left rows: each pair once);
 *   padded:  (a'(x) == 0 ? w'(x) : 0) - (a(x) == 0 ? w(x) : 0) for every
 *            row x of an outer side whose weight or match count a changed,
 *            a(x) the sum of the weights of the rows matching x.
 * A row keeps its match count a from step to step (a new row counts its
 * matches once, when it comes); the step adds the changes of the matching
 * rows.  The changes of a key are sorted (retractions first, then by the
 * rows' bytes) and emitted; then touched rows take their new weights, rows
 * at weight 0 leave, and (TTL) expired rows leave.
 */
#include "exec/regjoin.h"

#include "data/key.h"
#include "state/snap.h"
#include "state/table.h"
#include "time/watermark.h"

#include <stdlib.h>
#include <string.h>

#define NIL UINT32_MAX

typedef struct u32v {
    uint32_t *v;
    size_t n, cap;
} u32v;

static int u32v_push(u32v *a, uint32_t x)
{
    if (tide_array_grow((void **)&a->v, &a->cap, a->n + 1, sizeof *a->v) != 0)
        return TIDE_ENOMEM;
    a->v[a->n++] = x;
    return 0;
}

typedef struct rrow {
    int64_t w;     /* weight at the last step (> 0 while kept) */
    int64_t dw;    /* change pushed in this step */
    int64_t nw;    /* during a step: the new weight (touched rows) */
    int64_t assoc; /* sum of weights of matching rows of the other side */
    int64_t anew;  /* during a step: the new assoc (touched rows) */
    int64_t da;    /* during a step: change of assoc (untouched rows) */
    int64_t last;  /* watermark of the step of its last change */
    uint32_t key, kpos;
    bool touched, in_da, live;
    uint32_t next_free;
    char *id; /* identity bytes (owned) */
    uint32_t idlen, idcap;
    char *strs; /* string bytes (owned) */
    size_t str_cap;
} rrow;

typedef struct rside {
    rrow *rows;
    tide_value *vals; /* nv per row */
    size_t nv, cap, vcap;
    uint32_t hi, free_head;
    size_t live;
    tide_table *ids; /* identity bytes -> row id */
} rside;

typedef struct rkey {
    char *kb;
    uint32_t klen, kcap;
    u32v rows[2], touched[2], da[2];
    bool in_step, live;
    uint32_t next_free;
} rkey;

typedef struct rout {
    uint32_t l, r; /* row ids; NIL: padded */
    int64_t diff;
} rout;

typedef struct rexp {
    int64_t at;
    uint32_t row;
    uint8_t side;
} rexp;

struct tide_regjoin {
    tide_regjoin_config cfg;
    int failed;
    int64_t wm;
    rside side[2];
    tide_table *keys; /* key bytes -> key id */
    rkey *ks;
    size_t ks_cap;
    uint32_t ks_hi, ks_free;
    size_t live_keys;
    u32v step_keys;
    rout *out;
    size_t out_n, out_cap;
    rexp *heap;
    size_t heap_n, heap_cap;
    tide_buf scratch;
    uint64_t expired, missing;
};

static const tide_value *row_vals(const rside *s, uint32_t i)
{
    return s->nv ? s->vals + (size_t)i * s->nv : NULL;
}

static int rfail(tide_regjoin *op, tide_err *e, int code, const char *what)
{
    if (!op->failed)
        op->failed = code;
    return tide_err_set(e, code, "regular join: %s", what);
}

int tide_regjoin_create(const tide_regjoin_config *cfg, tide_regjoin **out, tide_err *e)
{
    *out = NULL;
    if (!cfg || !cfg->emit)
        return tide_err_set(e, TIDE_EINVAL, "regular join: an emit callback is required");
    if (cfg->ttl < 0)
        return tide_err_set(e, TIDE_EINVAL, "regular join: negative TTL %lld", (long long)cfg->ttl);
    if ((unsigned)cfg->kind > TIDE_REGJOIN_ANTI)
        return tide_err_set(e, TIDE_EINVAL, "regular join: unknown kind %d", (int)cfg->kind);
    tide_regjoin *op = calloc(1, sizeof *op);
    if (!op)
        return tide_err_set(e, TIDE_ENOMEM, "regular join: out of memory at create");
    op->cfg = *cfg;
    op->wm = TIDE_TS_MIN;
    op->ks_free = NIL;
    int rc = tide_table_create(&op->keys, TIDE_TABLE_KEY_BYTES, sizeof(uint32_t), 0, e);
    for (int s = 0; s < 2 && !rc; s++) {
        op->side[s].nv = s ? cfg->n_right : cfg->n_left;
        op->side[s].free_head = NIL;
        rc = tide_table_create(&op->side[s].ids, TIDE_TABLE_KEY_BYTES, sizeof(uint32_t), 0, e);
    }
    if (rc) {
        tide_regjoin_free(op);
        return rc;
    }
    *out = op;
    return 0;
}

static void side_destroy(rside *s)
{
    for (uint32_t i = 0; i < s->hi; i++) {
        free(s->rows[i].id);
        free(s->rows[i].strs);
    }
    free(s->rows);
    free(s->vals);
    tide_table_free(s->ids);
}

static void keys_destroy(tide_regjoin *op)
{
    for (uint32_t i = 0; i < op->ks_hi; i++) {
        rkey *k = &op->ks[i];
        free(k->kb);
        for (int s = 0; s < 2; s++) {
            free(k->rows[s].v);
            free(k->touched[s].v);
            free(k->da[s].v);
        }
    }
    free(op->ks);
}

void tide_regjoin_free(tide_regjoin *op)
{
    if (!op)
        return;
    for (int s = 0; s < 2; s++)
        side_destroy(&op->side[s]);
    keys_destroy(op);
    tide_table_free(op->keys);
    free(op->step_keys.v);
    free(op->out);
    free(op->heap);
    tide_buf_free(&op->scratch);
    free(op);
}

static int set_bytes(char **buf, uint32_t *cap, const void *src, size_t len)
{
    if (len > UINT32_MAX)
        return TIDE_ENOMEM;
    if (len > *cap) {
        char *nb = realloc(*buf, len);
        if (!nb)
            return TIDE_ENOMEM;
        *buf = nb;
        *cap = (uint32_t)len;
    }
    if (len)
        memcpy(*buf, src, len);
    return 0;
}

/* ---- keys ---- */

static int key_get(tide_regjoin *op, const void *kb, uint32_t klen, uint32_t *out, tide_err *e)
{
    void *v;
    bool is_new;
    int rc = tide_table_upsert(op->keys, kb, klen, &v, &is_new, e);
    if (rc)
        return rc;
    if (!is_new) {
        memcpy(out, v, sizeof *out);
        return 0;
    }
    uint32_t id;
    if (op->ks_free != NIL) {
        id = op->ks_free;
        op->ks_free = op->ks[id].next_free;
    } else {
        if (op->ks_hi == NIL - 1 ||
            tide_array_grow((void **)&op->ks, &op->ks_cap, (size_t)op->ks_hi + 1, sizeof *op->ks) != 0) {
            tide_table_delete(op->keys, kb, klen);
            return tide_err_set(e, TIDE_ENOMEM, "regular join: out of memory for keys");
        }
        id = op->ks_hi++;
        memset(&op->ks[id], 0, sizeof op->ks[id]);
    }
    rkey *k = &op->ks[id];
    if (set_bytes(&k->kb, &k->kcap, kb, klen) != 0) {
        k->next_free = op->ks_free;
        op->ks_free = id;
        tide_table_delete(op->keys, kb, klen);
        return tide_err_set(e, TIDE_ENOMEM, "regular join: out of memory for a key");
    }
    k->klen = klen;
    for (int s = 0; s < 2; s++)
        k->rows[s].n = k->touched[s].n = k->da[s].n = 0;
    k->in_step = false;
    k->live = true;
    memcpy(v, &id, sizeof id);
    op->live_keys++;
    *out = id;
    return 0;
}

static void key_maybe_free(tide_regjoin *op, uint32_t id)
{
    rkey *k = &op->ks[id];
    if (k->rows[0].n || k->rows[1].n || k->in_step)
        return;
    tide_table_delete(op->keys, k->kb, k->klen);
    k->live = false;
    k->next_free = op->ks_free;
    op->ks_free = id;
    op->live_keys--;
}

/* ---- rows ---- */

/* A new row of side s with the identity in op->scratch and values `in`,
 * weight 0, in key `key`.  TIDE_ENOMEM leaves everything as it was. */
static int row_new(tide_regjoin *op, int s, uint32_t key, const tide_value *in, uint32_t *out)
{
    rside *sd = &op->side[s];
    uint32_t i;
    bool fresh = false;
    if (sd->free_head != NIL) {
        i = sd->free_head;
    } else {
        if (sd->hi == NIL - 1 ||
            tide_array_grow((void **)&sd->rows, &sd->cap, (size_t)sd->hi + 1, sizeof *sd->rows) != 0 ||
            (sd->nv && tide_array_grow((void **)&sd->vals, &sd->vcap, ((size_t)sd->hi + 1) * sd->nv,
                                       sizeof *sd->vals) != 0))
            return TIDE_ENOMEM;
        i = sd->hi;
        memset(&sd->rows[i], 0, sizeof sd->rows[i]);
        fresh = true;
    }
    rrow *r = &sd->rows[i];
    size_t need = 0;
    for (size_t j = 0; j < sd->nv; j++)
        if (!in[j].is_null && in[j].type == TIDE_TYPE_STRING)
            need += in[j].u.s.len;
    int rc = set_bytes(&r->id, &r->idcap, op->scratch.data, op->scratch.len);
    if (!rc && need > r->str_cap) {
        char *ns = realloc(r->strs, need);
        if (ns) {
            r->strs = ns;
            r->str_cap = need;
        } else {
            rc = TIDE_ENOMEM;
        }
    }
    if (rc) {
        if (fresh) { /* keep the slot (it owns its buffers) on the free list */
            sd->hi++;
            r->next_free = sd->free_head;
            sd->free_head = i;
        }
        return rc;
    }
    void *v;
    bool is_new;
    tide_err e2 = {0};
    if (tide_table_upsert(sd->ids, op->scratch.data, op->scratch.len, &v, &is_new, &e2) != 0)
        rc = TIDE_ENOMEM;
    else if (u32v_push(&op->ks[key].rows[s], i) != 0) {
        tide_table_delete(sd->ids, op->scratch.data, op->scratch.len);
        rc = TIDE_ENOMEM;
    }
    if (rc) {
        if (fresh) {
            sd->hi++;
            r->next_free = sd->free_head;
            sd->free_head = i;
        }
        return TIDE_ENOMEM;
    }
    memcpy(v, &i, sizeof i);
    if (fresh)
        sd->hi++;
    else
        sd->free_head = r->next_free;
    r->idlen = (uint32_t)op->scratch.len;
    tide_value *dv = sd->nv ? sd->vals + (size_t)i * sd->nv : NULL;
    size_t off = 0;
    for (size_t j = 0; j < sd->nv; j++) {
        dv[j] = in[j];
        if (!in[j].is_null && in[j].type == TIDE_TYPE_STRING) {
            if (in[j].u.s.len)
                memcpy(r->strs + off, in[j].u.s.ptr, in[j].u.s.len);
            dv[j].u.s.ptr = r->strs ? r->strs + off : "";
            off += in[j].u.s.len;
        }
    }
    r->w = r->dw = r->nw = r->assoc = r->anew = r->da = 0;
    r->last = op->wm;
    r->key = key;
    r->kpos = (uint32_t)(op->ks[key].rows[s].n - 1);
    r->touched = r->in_da = false;
    r->live = true;
    sd->live++;
    *out = i;
    return 0;
}

/* Remove row i of side s from its key and the state. */
static void row_remove(tide_regjoin *op, int s, uint32_t i)
{
    rside *sd = &op->side[s];
    rrow *r = &sd->rows[i];
    u32v *kr = &op->ks[r->key].rows[s];
    uint32_t last = kr->v[kr->n - 1];
    kr->v[r->kpos] = last;
    sd->rows[last].kpos = r->kpos;
    kr->n--;
    tide_table_delete(sd->ids, r->id, r->idlen);
    r->live = false;
    r->next_free = sd->free_head;
    sd->free_head = i;
    sd->live--;
}

/* ---- push ---- */

int tide_regjoin_push(tide_regjoin *op, tide_join_side side, const void *key, uint32_t key_len,
                      int64_t weight, const tide_value *vals, tide_err *e)
{
    if (op->failed)
        return tide_err_set(e, op->failed, "regular join: operator failed earlier");
    if (side != TIDE_JOIN_LEFT && side != TIDE_JOIN_RIGHT)
        return tide_err_set(e, TIDE_EINVAL, "regular join: bad side %d", (int)side);
    int s = (int)side;
    rside *sd = &op->side[s];
    if (!vals && sd->nv)
        return tide_err_set(e, TIDE_EINVAL, "regular join: NULL values for a %zu-value row", sd->nv);
    if (weight == 0)
        return 0;
    tide_buf_reset(&op->scratch);
    if (tide_key_append_values(&op->scratch, vals, NULL, sd->nv) != 0 ||
        tide_buf_reserve(&op->scratch, 1) != 0)
        return rfail(op, e, TIDE_ENOMEM, "out of memory for a row's bytes");
    void *v = tide_table_find(sd->ids, op->scratch.data, op->scratch.len);
    uint32_t ri, kid;
    if (v) {
        memcpy(&ri, v, sizeof ri);
        kid = sd->rows[ri].key;
        const rkey *k = &op->ks[kid];
        if (k->klen != key_len || (key_len && memcmp(k->kb, key, key_len) != 0))
            return tide_err_set(e, TIDE_EINVAL, "regular join: one row pushed under two keys");
    } else {
        int rc = key_get(op, key, key_len, &kid, e);
        if (rc) {
            op->failed = rc;
            return rc;
        }
        if (row_new(op, s, kid, vals, &ri) != 0) {
            key_maybe_free(op, kid);
            return rfail(op, e, TIDE_ENOMEM, "out of memory buffering a row");
        }
    }
    rrow *r = &sd->rows[ri];
    rkey *k = &op->ks[kid];
    if (!r->touched) {
        if (u32v_push(&k->touched[s], ri) != 0)
            return rfail(op, e, TIDE_ENOMEM, "out of memory");
        r->touched = true;
    }
    if (!k->in_step) {
        if (u32v_push(&op->step_keys, kid) != 0)
            return rfail(op, e, TIDE_ENOMEM, "out of memory");
        k->in_step = true;
    }
    r->dw += weight;
    return 0;
}

/* ---- a step ---- */

static int out_add(tide_regjoin *op, uint32_t l, uint32_t r, int64_t diff)
{
    if (!diff)
        return 0;
    if (tide_array_grow((void **)&op->out, &op->out_cap, op->out_n + 1, sizeof *op->out) != 0)
        return TIDE_ENOMEM;
    op->out[op->out_n++] = (rout){l, r, diff};
    return 0;
}

static int bytes_cmp(const char *a, uint32_t al, const char *b, uint32_t bl)
{
    uint32_t n = al < bl ? al : bl;
    int c = n ? memcmp(a, b, n) : 0;
    return c ? c : (al > bl) - (al < bl);
}

static int side_row_cmp(const rside *sd, uint32_t a, uint32_t b)
{
    if (a == b)
        return 0;
    if (a == NIL || b == NIL)
        return a == NIL ? -1 : 1;
    return bytes_cmp(sd->rows[a].id, sd->rows[a].idlen, sd->rows[b].id, sd->rows[b].idlen);
}

static int out_cmp(const void *pa, const void *pb, void *ctx)
{
    const tide_regjoin *op = ctx;
    const rout *x = pa, *y = pb;
    int sx = x->diff > 0, sy = y->diff > 0;
    if (sx != sy)
        return sx - sy; /* retractions first */
    int c = side_row_cmp(&op->side[0], x->l, y->l);
    return c ? c : side_row_cmp(&op->side[1], x->r, y->r);
}

static int key_cmp(const void *pa, const void *pb, void *ctx)
{
    const tide_regjoin *op = ctx;
    const rkey *x = &op->ks[*(const uint32_t *)pa], *y = &op->ks[*(const uint32_t *)pb];
    return bytes_cmp(x->kb, x->klen, y->kb, y->klen);
}

/* 1 when l and r match (the keys are equal already), 0, or < 0. */
static int pair_match(tide_regjoin *op, const rkey *k, uint32_t l, uint32_t r)
{
    if (!op->cfg.match)
        return 1;
    tide_join_row row = {.key = k->kb,
                         .key_len = k->klen,
                         .left = row_vals(&op->side[0], l),
                         .n_left = op->cfg.n_left,
                         .right = row_vals(&op->side[1], r),
                         .n_right = op->cfg.n_right,
                         .ts = op->wm};
    int rc = op->cfg.match(op->cfg.ctx, &row);
    return rc < 0 ? rc : rc != 0;
}

static int64_t new_w(const rrow *r) { return r->touched ? r->nw : r->w; }

/* The change of the row-alone output of a row of side s (padded, or a
 * SEMI / ANTI row) from (match count a, weight w) to (a2, w2). */
static int64_t alone_diff(const tide_regjoin *op, int s, int64_t a, int64_t w, int64_t a2, int64_t w2)
{
    switch (op->cfg.kind) {
    case TIDE_REGJOIN_SEMI:
        return s ? 0 : (a2 > 0 ? w2 : 0) - (a > 0 ? w : 0);
    case TIDE_REGJOIN_ANTI:
        return s ? 0 : (a2 == 0 ? w2 : 0) - (a == 0 ? w : 0);
    case TIDE_REGJOIN_JOIN:
    default:
        return op->cfg.outer[s] ? (a2 == 0 ? w2 : 0) - (a == 0 ? w : 0) : 0;
    }
}

/* Touched rows of side s against every row of the other side (pairs with
 * an untouched row of side 0 only when s is 1: the others were counted
 * from side 0). */
static int step_side(tide_regjoin *op, rkey *k, int s)
{
    int o = 1 - s;
    rside *me = &op->side[s], *ot = &op->side[o];
    for (size_t t = 0; t < k->touched[s].n; t++) {
        uint32_t xi = k->touched[s].v[t];
        rrow *x = &me->rows[xi];
        int64_t scan = 0, d = 0;
        for (size_t j = 0; j < k->rows[o].n; j++) {
            uint32_t yi = k->rows[o].v[j];
            rrow *y = &ot->rows[yi];
            uint32_t l = s ? yi : xi, r = s ? xi : yi;
            int m = pair_match(op, k, l, r);
            if (m < 0)
                return m;
            if (!m)
                continue;
            int64_t wy = y->w, wy2 = new_w(y);
            scan += wy;
            d += wy2 - wy;
            if (op->cfg.kind == TIDE_REGJOIN_JOIN && (s == 0 || !y->touched)) {
                int rc = out_add(op, l, r, x->nw * wy2 - x->w * wy);
                if (rc)
                    return rc;
            }
            if (!y->touched && x->nw != x->w) {
                if (!y->in_da) {
                    if (u32v_push(&k->da[o], yi) != 0)
                        return TIDE_ENOMEM;
                    y->in_da = true;
                }
                y->da += x->nw - x->w;
            }
        }
        int64_t a = x->w == 0 ? scan : x->assoc;
        x->anew = a + d;
        int rc = out_add(op, s ? NIL : xi, s ? xi : NIL, alone_diff(op, s, a, x->w, x->anew, x->nw));
        if (rc)
            return rc;
    }
    return 0;
}

static int emit_out(tide_regjoin *op, const rkey *k)
{
    if (op->out_n > 1)
        qsort_r(op->out, op->out_n, sizeof *op->out, out_cmp, op);
    for (size_t i = 0; i < op->out_n; i++) {
        const rout *o = &op->out[i];
        tide_join_row row = {.key = k->kb,
                             .key_len = k->klen,
                             .left = o->l == NIL ? NULL : row_vals(&op->side[0], o->l),
                             .n_left = op->cfg.n_left,
                             .right = o->r == NIL ? NULL : row_vals(&op->side[1], o->r),
                             .n_right = op->cfg.n_right,
                             .ts = op->wm};
        tide_op kind = o->diff > 0 ? TIDE_OP_INSERT : TIDE_OP_DELETE;
        int64_t n = o->diff > 0 ? o->diff : -o->diff;
        for (int64_t c = 0; c < n; c++) {
            int rc = op->cfg.emit(op->cfg.ctx, kind, &row);
            if (rc)
                return rc < 0 ? rc : TIDE_EFAILED;
        }
    }
    return 0;
}

static int heap_push(tide_regjoin *op, int64_t at, int s, uint32_t row)
{
    if (tide_array_grow((void **)&op->heap, &op->heap_cap, op->heap_n + 1, sizeof *op->heap) != 0)
        return TIDE_ENOMEM;
    size_t i = op->heap_n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (op->heap[p].at <= at)
            break;
        op->heap[i] = op->heap[p];
        i = p;
    }
    op->heap[i] = (rexp){at, row, (uint8_t)s};
    return 0;
}

static void heap_pop(tide_regjoin *op)
{
    size_t n = --op->heap_n;
    if (!n)
        return;
    rexp last = op->heap[n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && op->heap[c + 1].at < op->heap[c].at)
            c++;
        if (op->heap[c].at >= last.at)
            break;
        op->heap[i] = op->heap[c];
        i = c;
    }
    op->heap[i] = last;
}

/* One touched key: its changes emitted, its rows updated. */
static int step_key(tide_regjoin *op, uint32_t kid)
{
    rkey *k = &op->ks[kid];
    for (int s = 0; s < 2; s++)
        for (size_t t = 0; t < k->touched[s].n; t++) {
            rrow *x = &op->side[s].rows[k->touched[s].v[t]];
            x->nw = x->w + x->dw;
            if (x->nw < 0) { /* retracted more than it holds */
                op->missing += (uint64_t)-x->nw;
                x->nw = 0;
            }
        }
    op->out_n = 0;
    int rc = step_side(op, k, 0);
    if (!rc)
        rc = step_side(op, k, 1);
    /* untouched rows whose match count changed */
    for (int s = 0; s < 2 && !rc; s++)
        for (size_t t = 0; t < k->da[s].n && !rc; t++) {
            uint32_t xi = k->da[s].v[t];
            rrow *x = &op->side[s].rows[xi];
            rc = out_add(op, s ? NIL : xi, s ? xi : NIL, alone_diff(op, s, x->assoc, x->w, x->assoc + x->da, x->w));
            x->assoc += x->da;
            x->da = 0;
            x->in_da = false;
        }
    if (!rc)
        rc = emit_out(op, k);
    if (rc)
        return rc;
    /* the new weights */
    for (int s = 0; s < 2; s++) {
        for (size_t t = 0; t < k->touched[s].n; t++) {
            uint32_t xi = k->touched[s].v[t];
            rrow *x = &op->side[s].rows[xi];
            bool changed = x->nw != x->w;
            x->w = x->nw;
            x->assoc = x->anew;
            x->dw = 0;
            x->touched = false;
            if (x->w == 0) {
                row_remove(op, s, xi);
                continue;
            }
            if (changed) {
                x->last = op->wm;
                if (op->cfg.ttl && heap_push(op, tide_wm_sat_add(op->wm, op->cfg.ttl), s, xi) != 0)
                    return TIDE_ENOMEM;
            }
        }
        k->touched[s].n = 0;
        k->da[s].n = 0;
    }
    k->in_step = false;
    key_maybe_free(op, kid);
    return 0;
}

int tide_regjoin_advance_watermark(tide_regjoin *op, int64_t wm, tide_err *e)
{
    if (op->failed)
        return tide_err_set(e, op->failed, "regular join: operator failed earlier");
    if (wm <= op->wm)
        return 0;
    op->wm = wm;
    if (op->step_keys.n > 1)
        qsort_r(op->step_keys.v, op->step_keys.n, sizeof *op->step_keys.v, key_cmp, op);
    for (size_t i = 0; i < op->step_keys.n; i++) {
        int rc = step_key(op, op->step_keys.v[i]);
        if (rc) {
            op->failed = rc;
            return tide_err_set(e, rc, "regular join: %s",
                                rc == TIDE_ENOMEM ? "out of memory in a step" : "a callback failed");
        }
    }
    op->step_keys.n = 0;
    /* expiry (TTL): rows whose last change is ttl old */
    while (op->heap_n && op->heap[0].at <= wm) {
        rexp x = op->heap[0];
        heap_pop(op);
        rrow *r = &op->side[x.side].rows[x.row];
        if (!r->live || r->touched || tide_wm_sat_add(r->last, op->cfg.ttl) != x.at)
            continue; /* gone, or changed since */
        uint32_t kid = r->key;
        row_remove(op, x.side, x.row);
        op->expired++;
        key_maybe_free(op, kid);
    }
    return 0;
}

int64_t tide_regjoin_watermark(const tide_regjoin *op) { return op->wm; }
size_t tide_regjoin_rows(const tide_regjoin *op, tide_join_side side)
{
    return op->side[side == TIDE_JOIN_RIGHT].live;
}
size_t tide_regjoin_keys(const tide_regjoin *op) { return op->live_keys; }
uint64_t tide_regjoin_expired(const tide_regjoin *op) { return op->expired; }
uint64_t tide_regjoin_missing(const tide_regjoin *op) { return op->missing; }

/* ---- snapshot / restore ---- */

#define RJ_SNAP_KIND "regjoin"
#define RJ_SNAP_VERSION 2

/* A row the snapshot holds: one with a weight or a pending change (a row
 * inserted and retracted within the step leaves no trace). */
static bool snap_row(const rrow *r) { return r->w != 0 || r->dw != 0; }

/* The rows of side s of key k the snapshot holds, into rows: their count. */
static size_t snap_rows(const tide_regjoin *op, const rkey *k, int s, uint32_t *rows)
{
    size_t n = 0;
    for (size_t j = 0; j < k->rows[s].n; j++)
        if (snap_row(&op->side[s].rows[k->rows[s].v[j]]))
            rows[n++] = k->rows[s].v[j];
    return n;
}

static int row_cmp_id(const void *pa, const void *pb, void *ctx)
{
    const rside *sd = ctx;
    return side_row_cmp(sd, *(const uint32_t *)pa, *(const uint32_t *)pb);
}

int tide_regjoin_snapshot(const tide_regjoin *op, tide_buf *out, tide_err *e)
{
    if (op->failed)
        return tide_err_set(e, TIDE_EFAILED, "regular join: no snapshot of a failed operator (%s)",
                            tide_err_name(op->failed));
    size_t nk = 0, maxn = 1;
    uint32_t *keys = NULL, *rows = NULL;
    for (uint32_t i = 0; i < op->ks_hi; i++)
        if (op->ks[i].live) {
            nk++;
            for (int s = 0; s < 2; s++)
                maxn = op->ks[i].rows[s].n > maxn ? op->ks[i].rows[s].n : maxn;
        }
    if ((nk && !(keys = malloc(nk * sizeof *keys))) || !(rows = malloc(maxn * sizeof *rows))) {
        free(keys);
        return tide_err_set(e, TIDE_ENOMEM, "regular join: snapshot: out of memory");
    }
    nk = 0;
    for (uint32_t i = 0; i < op->ks_hi; i++)
        if (op->ks[i].live && (snap_rows(op, &op->ks[i], 0, rows) || snap_rows(op, &op->ks[i], 1, rows)))
            keys[nk++] = i;
    if (nk > 1)
        qsort_r(keys, nk, sizeof *keys, key_cmp, (void *)op);
    tide_snap_w w;
    tide_snap_begin(&w, out, RJ_SNAP_KIND, RJ_SNAP_VERSION);
    tide_snap_put_u8(&w, (uint8_t)op->cfg.kind);
    tide_snap_put_varint(&w, op->cfg.n_left);
    tide_snap_put_varint(&w, op->cfg.n_right);
    tide_snap_put_u8(&w, (uint8_t)(op->cfg.outer[0] | op->cfg.outer[1] << 1));
    tide_snap_put_i64(&w, op->cfg.ttl);
    tide_snap_put_i64(&w, op->wm);
    tide_snap_put_u64(&w, op->expired);
    tide_snap_put_u64(&w, op->missing);
    tide_snap_put_varint(&w, nk);
    for (size_t ki = 0; ki < nk; ki++) {
        const rkey *k = &op->ks[keys[ki]];
        tide_snap_put_bytes(&w, k->kb, k->klen);
        for (int s = 0; s < 2; s++) {
            const rside *sd = &op->side[s];
            size_t n = snap_rows(op, k, s, rows);
            if (n > 1)
                qsort_r(rows, n, sizeof *rows, row_cmp_id, (void *)sd);
            tide_snap_put_varint(&w, n);
            for (size_t j = 0; j < n; j++) {
                const rrow *r = &sd->rows[rows[j]];
                const tide_value *v = row_vals(sd, rows[j]);
                for (size_t c = 0; c < sd->nv; c++)
                    tide_snap_put_value(&w, &v[c]);
                tide_snap_put_i64(&w, r->w);
                tide_snap_put_i64(&w, r->dw);
                tide_snap_put_i64(&w, r->assoc);
                tide_snap_put_i64(&w, r->last);
            }
        }
    }
    free(keys);
    free(rows);
    return tide_snap_end(&w, e);
}

static void rj_reset(tide_regjoin *op)
{
    for (int s = 0; s < 2; s++) {
        rside *sd = &op->side[s];
        for (uint32_t i = 0; i < sd->hi; i++)
            if (sd->rows[i].live) {
                sd->rows[i].live = false;
                sd->rows[i].next_free = sd->free_head;
                sd->free_head = i;
            }
        sd->live = 0;
        tide_table_clear(sd->ids);
    }
    for (uint32_t i = 0; i < op->ks_hi; i++)
        if (op->ks[i].live) {
            rkey *k = &op->ks[i];
            k->live = k->in_step = false;
            for (int s = 0; s < 2; s++)
                k->rows[s].n = k->touched[s].n = k->da[s].n = 0;
            k->next_free = op->ks_free;
            op->ks_free = i;
        }
    tide_table_clear(op->keys);
    op->live_keys = 0;
    op->step_keys.n = 0;
    op->heap_n = 0;
    op->wm = TIDE_TS_MIN;
    op->expired = op->missing = 0;
    op->failed = 0;
}

static int rj_get_key(tide_regjoin *op, tide_snap_r *r, tide_value *vals, tide_err *e)
{
    size_t klen;
    const void *kb = tide_snap_get_bytes(r, &klen);
    if (tide_snap_failed(r) || klen > UINT32_MAX || tide_table_find(op->keys, kb ? kb : "", klen)) {
        tide_snap_fail(r);
        return 0;
    }
    uint32_t kid;
    int rc = key_get(op, kb ? kb : "", (uint32_t)klen, &kid, e);
    if (rc)
        return rc;
    for (int s = 0; s < 2; s++) {
        rside *sd = &op->side[s];
        uint64_t n = tide_snap_get_varint(r);
        if (n > tide_snap_remaining(r))
            tide_snap_fail(r);
        for (uint64_t j = 0; j < n && !tide_snap_failed(r); j++) {
            for (size_t c = 0; c < sd->nv; c++)
                vals[c] = tide_snap_get_value(r);
            int64_t w = tide_snap_get_i64(r), dw = tide_snap_get_i64(r);
            int64_t assoc = tide_snap_get_i64(r), last = tide_snap_get_i64(r);
            if (tide_snap_failed(r) || w < 0 || (w == 0 && dw == 0) || assoc < 0) {
                tide_snap_fail(r);
                break;
            }
            tide_buf_reset(&op->scratch);
            if (tide_key_append_values(&op->scratch, vals, NULL, sd->nv) != 0 ||
                tide_buf_reserve(&op->scratch, 1) != 0)
                return tide_err_set(e, TIDE_ENOMEM, "regular join: restore: out of memory");
            if (tide_table_find(sd->ids, op->scratch.data, op->scratch.len)) {
                tide_snap_fail(r); /* a row twice */
                break;
            }
            uint32_t ri;
            if (row_new(op, s, kid, vals, &ri) != 0)
                return tide_err_set(e, TIDE_ENOMEM, "regular join: restore: out of memory");
            rrow *x = &sd->rows[ri];
            x->w = w;
            x->dw = dw;
            x->assoc = assoc;
            x->last = last;
            if (dw) {
                if (u32v_push(&op->ks[kid].touched[s], ri) != 0)
                    return tide_err_set(e, TIDE_ENOMEM, "regular join: restore: out of memory");
                x->touched = true;
                if (!op->ks[kid].in_step) {
                    if (u32v_push(&op->step_keys, kid) != 0)
                        return tide_err_set(e, TIDE_ENOMEM, "regular join: restore: out of memory");
                    op->ks[kid].in_step = true;
                }
            }
            if (w && op->cfg.ttl && heap_push(op, tide_wm_sat_add(last, op->cfg.ttl), s, ri) != 0)
                return tide_err_set(e, TIDE_ENOMEM, "regular join: restore: out of memory");
        }
    }
    if (!op->ks[kid].rows[0].n && !op->ks[kid].rows[1].n)
        tide_snap_fail(r); /* a key is kept only while it holds rows */
    return 0;
}

int tide_regjoin_restore(tide_regjoin *op, const void *buf, size_t len, tide_err *e)
{
    if (op->failed || op->live_keys || op->wm != TIDE_TS_MIN || op->expired || op->missing)
        return tide_err_set(e, TIDE_EINVAL, "regular join: restore needs a freshly created operator");
    tide_snap_r r;
    int rc = tide_snap_open(&r, buf, len, RJ_SNAP_KIND, RJ_SNAP_VERSION, NULL, e);
    if (rc)
        return rc;
    uint8_t kind = tide_snap_get_u8(&r);
    uint64_t nl = tide_snap_get_varint(&r), nr = tide_snap_get_varint(&r);
    uint8_t outer = tide_snap_get_u8(&r);
    int64_t ttl = tide_snap_get_i64(&r);
    if (tide_snap_failed(&r))
        return tide_snap_close(&r, e);
    uint8_t here = (uint8_t)(op->cfg.outer[0] | op->cfg.outer[1] << 1);
    if (kind != (uint8_t)op->cfg.kind)
        return tide_err_set(e, TIDE_EINVAL, "regular join: the snapshot is of another kind (%u, here %u)", kind,
                            (unsigned)op->cfg.kind);
    if (nl != op->cfg.n_left || nr != op->cfg.n_right || outer != here || ttl != op->cfg.ttl)
        return tide_err_set(e, TIDE_EINVAL,
                            "regular join: the snapshot is of another config: values %llu/%llu, outer "
                            "%u, ttl %lld in the snapshot; %zu/%zu, %u, %lld here",
                            (unsigned long long)nl, (unsigned long long)nr, outer, (long long)ttl,
                            op->cfg.n_left, op->cfg.n_right, here, (long long)op->cfg.ttl);
    size_t nv = op->cfg.n_left > op->cfg.n_right ? op->cfg.n_left : op->cfg.n_right;
    tide_value *vals = malloc((nv + 1) * sizeof *vals);
    if (!vals)
        return tide_err_set(e, TIDE_ENOMEM, "regular join: restore: out of memory");
    op->wm = tide_snap_get_i64(&r);
    op->expired = tide_snap_get_u64(&r);
    op->missing = tide_snap_get_u64(&r);
    uint64_t n = tide_snap_get_varint(&r);
    if (n > tide_snap_remaining(&r))
        tide_snap_fail(&r);
    for (uint64_t k = 0; k < n && !rc && !tide_snap_failed(&r); k++)
        rc = rj_get_key(op, &r, vals, e);
    free(vals);
    if (!rc)
        rc = tide_snap_close(&r, e);
    if (rc)
        rj_reset(op);
    return rc;
}
