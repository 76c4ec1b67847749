/*
 * pipeline.c - the event-time job on the threaded runtime.  See pipeline.h
 * for the shape and the ordering contract; here is how.
 *
 * Source task (on_poll, one batch per poll): the scan node's logic
 * (exec/node_scan.h: fill from the generator / connect source / callback,
 * dead letters, per-partition watermarks and the exact cut rule) driven
 * through tide_node_scan_step; its segments and watermarks come back as
 * callbacks:
 *   stage  - the stateless callback (filter/project) on each segment.
 *   route  - hash of the encoded key -> instance; rows are selected into one
 *            new batch per instance and sent whole (emit_batch).  With one
 *            instance the stage's batch itself is handed over and replaced.
 *
 * Winagg task k: encodes keys, boxes value columns and calls
 * tide_winagg_push_batch; the operator's output rows (and late records) go
 * into a result batch (rbatch) that is sent to the sink when the next
 * watermark has been applied, tagged with it.  GROUPAGG instances push into
 * a mini-batch tide_groupagg instead and flush it at each watermark: all
 * their rows carry that watermark's tag.
 *
 * Sink task: keeps the rbatches it received; when its watermark (min over
 * the instances) reaches W, every held rbatch with tag <= W is complete for
 * that tag over all instances; their rows are sorted and delivered.
 */
#include "job/pipeline.h"
#include "base/buf.h"

#include "base/hash.h"
#include "data/key.h"
#include "exec/agg.h"
#include "exec/expr.h"
#include "exec/graph.h"
#include "exec/groupagg.h"
#include "exec/node_keyed.h"
#include "exec/node_scan.h"
#include "time/watermark.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXCHANGE_SEED 0x65786368616e6765ull /* differs from winagg's table seed */
#define RB_LATE 0xffu                       /* rrow.kind of a late record */
#define RB_POOL 16                          /* result batches kept for reuse */

/* ---- result batches (winagg -> sink) ---- */

typedef struct rrow {
    int64_t start, end; /* late records: start = end = ts */
    uint64_t seq;       /* emission order inside one instance */
    uint32_t key_off, key_len;
    uint32_t val_off, n_vals;
    uint32_t kind; /* tide_op, or RB_LATE */
} rrow;

typedef struct rbatch {
    int64_t tag;
    uint32_t inst; /* the instance that sent it */
    rrow *rows;
    uint32_t n, cap;
    uint8_t *bytes; /* keys and string values */
    size_t nb, capb;
    tide_value *vals;
    size_t nv, capv;
} rbatch;

static void rbatch_free(rbatch *b)
{
    if (!b)
        return;
    free(b->rows);
    free(b->bytes);
    free(b->vals);
    free(b);
}


/* Append one row: key bytes and values copied (string bytes go to `bytes`;
 * their pointers hold offsets until rbatch_finish). */
static int rbatch_add(rbatch *b, uint32_t kind, int64_t start, int64_t end, uint64_t seq,
                      const void *key, uint32_t key_len, const tide_value *vals, size_t n_vals)
{
    if ((size_t)b->n + 1 > b->cap) { /* (checked here: this runs per result row) */
        size_t cap = b->cap;
        if (tide_array_grow((void **)&b->rows, &cap, (size_t)b->n + 1, sizeof(rrow)) != 0)
            return TIDE_ENOMEM;
        b->cap = (uint32_t)cap;
    }
    size_t sbytes = key_len;
    for (size_t i = 0; i < n_vals; i++)
        if (!vals[i].is_null && vals[i].type == TIDE_TYPE_STRING)
            sbytes += vals[i].u.s.len;
    /* + 1: never NULL, so `bytes + off` and `vals + off` are always defined */
    if ((b->nb + sbytes + 1 > b->capb &&
         tide_array_grow((void **)&b->bytes, &b->capb, b->nb + sbytes + 1, 1) != 0) ||
        (b->nv + n_vals + 1 > b->capv &&
         tide_array_grow((void **)&b->vals, &b->capv, b->nv + n_vals + 1, sizeof(tide_value)) != 0))
        return TIDE_ENOMEM;
    rrow *r = &b->rows[b->n++];
    r->start = start;
    r->end = end;
    r->seq = seq;
    r->kind = kind;
    r->key_off = (uint32_t)b->nb;
    r->key_len = key_len;
    if (key_len)
        memcpy(b->bytes + b->nb, key, key_len);
    b->nb += key_len;
    r->val_off = (uint32_t)b->nv;
    r->n_vals = (uint32_t)n_vals;
    for (size_t i = 0; i < n_vals; i++) {
        tide_value v = vals[i];
        if (!v.is_null && v.type == TIDE_TYPE_STRING) {
            if (v.u.s.len)
                memcpy(b->bytes + b->nb, v.u.s.ptr, v.u.s.len);
            v.u.s.ptr = (const char *)(uintptr_t)b->nb;
            b->nb += v.u.s.len;
        }
        b->vals[b->nv++] = v;
    }
    return 0;
}

/* No more rows: turn string offsets into pointers. */
static void rbatch_finish(rbatch *b, int64_t tag)
{
    b->tag = tag;
    for (size_t i = 0; i < b->nv; i++) {
        tide_value *v = &b->vals[i];
        if (!v->is_null && v->type == TIDE_TYPE_STRING)
            v->u.s.ptr = (const char *)b->bytes + (uintptr_t)v->u.s.ptr;
    }
}

static void *rb_create(void *ctx, uint32_t rows)
{
    (void)ctx;
    (void)rows;
    return calloc(1, sizeof(rbatch));
}
static int rb_append(void *ctx, void *batch, const void *item)
{
    (void)ctx;
    (void)batch;
    (void)item;
    return TIDE_EUNSUPPORTED;
}
static void rb_free(void *ctx, void *batch)
{
    (void)ctx;
    rbatch_free(batch);
}

/* ---- the job ---- */

struct tide_pipe {
    tide_pipe_config cfg;
    tide_winagg_call *aggs;
    uint32_t *key_cols, *value_cols;
    tide_type *key_types;
    uint32_t P, batch_rows;
    /* rows of one source batch (one watermark step): batch_rows, times 4
     * for a keyed pipeline, so that an instance's share of a source batch
     * (what the exchange sends it at a time, in batches of at most
     * batch_rows) is still about a batch at P <= 4.  Not a function of P:
     * the watermark steps, hence changelogs, must be the same for every P. */
    uint32_t src_rows;
    tide_node_scan_cfg scan_cfg; /* the source's (borrowed by its scan) */
    const tide_clock *clock;
    tide_schema *own_schema, *res_schema;
    const tide_schema *src_schema, *out_schema;
    tide_sink *sink; /* cfg.sink opened; closed by the sink task's end */
    int src_time, out_time;
    tide_graph *g;
    tide_task_batch_type cb_type, rb_type;
    /* An expression stage that only projects source columns, as a column
     * map (stage column -> source column): then the exchange copies the
     * source rows straight into the instances' batches (one copy, not
     * two).  NULL: the stage runs. */
    uint32_t *proj;
    /* Result batches the sink delivered, for the instances to fill again
     * (their arrays already grown: no realloc, no fresh pages per batch). */
    pthread_mutex_t rb_mu;
    bool rb_mu_ok;
    rbatch *rb_pool[RB_POOL];
    uint32_t rb_n;
    bool ran;
    _Atomic uint64_t c_in, c_bad, c_filtered, c_out, c_late, c_cuts;
    _Atomic int64_t c_wm;
};

#define ADD(p, field, v) atomic_fetch_add_explicit(&(p)->field, (v), memory_order_relaxed)

/* An empty result batch: a pooled one, or a new one (NULL: no memory). */
static rbatch *rb_get(tide_pipe *p)
{
    rbatch *b = NULL;
    if (p->rb_mu_ok) {
        pthread_mutex_lock(&p->rb_mu);
        if (p->rb_n)
            b = p->rb_pool[--p->rb_n];
        pthread_mutex_unlock(&p->rb_mu);
    }
    if (!b)
        return calloc(1, sizeof(rbatch));
    b->n = 0;
    b->nb = 0;
    b->nv = 0;
    return b;
}

/* A delivered result batch: back to the pool (unless full, or the batch
 * grew far beyond a flush's rows), else freed. */
static void rb_put(tide_pipe *p, rbatch *b)
{
    if (p->rb_mu_ok && b->cap <= 2 * p->batch_rows) {
        pthread_mutex_lock(&p->rb_mu);
        if (p->rb_n < RB_POOL) {
            p->rb_pool[p->rb_n++] = b;
            b = NULL;
        }
        pthread_mutex_unlock(&p->rb_mu);
    }
    rbatch_free(b);
}

static void *cb_create(void *ctx, uint32_t rows)
{
    tide_pipe *p = ctx;
    tide_cbatch *b = NULL;
    if (tide_cbatch_create(&b, p->out_schema, rows > p->batch_rows ? rows : p->batch_rows, 0,
                           NULL) != 0)
        return NULL;
    return b;
}

typedef struct cb_item {
    const tide_cbatch *b;
    uint32_t row;
} cb_item;

static int cb_append(void *ctx, void *batch, const void *item)
{
    (void)ctx;
    const cb_item *it = item;
    return tide_cbatch_copy_row(batch, it->b, it->row, NULL);
}
static void cb_free(void *ctx, void *batch)
{
    (void)ctx;
    tide_cbatch_free(batch);
}

/* ---- keys (data/key.h) ---- */

/* The key is one BIGINT/TIMESTAMP column: 9 bytes (1 if NULL). */
static inline bool key_one_i64(const tide_pipe *p)
{
    return p->cfg.n_key_cols == 1 &&
           (p->key_types[0] == TIDE_TYPE_BIGINT || p->key_types[0] == TIDE_TYPE_TIMESTAMP);
}

/* Bytes the key of `row` needs. */
static inline size_t key_size(const tide_pipe *p, const tide_cbatch *b, uint32_t row)
{
    return tide_key_row_size(b, row, p->key_cols, p->cfg.n_key_cols);
}

static inline uint8_t *key_encode(const tide_pipe *p, const tide_cbatch *b, uint32_t row,
                                  uint8_t *d)
{
    return tide_key_row_put(b, row, p->key_cols, p->cfg.n_key_cols, d);
}

/* The first 8 bytes of a key as one big-endian integer (the sink's sort). */
static inline uint64_t get_be64(const uint8_t *s)
{
    uint64_t v;
    memcpy(&v, s, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap64(v);
#elif !(defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__)
    v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | s[i];
#endif
    return v;
}

/* ---- source task ---- */

typedef struct src_state {
    tide_pipe *p;
    /* the source, its watermarks and the exact cut rule (exec/node_scan.h);
     * its steps call back src_rows / src_wm / src_count */
    void *scan;
    const tide_cbatch *in; /* the scan's batch, during a step */
    tide_task_out *out;    /* during a step */
    int64_t wm_sent;
    tide_cbatch *seg, *staged;
    uint32_t *iota; /* 0 .. src_rows-1 */
    uint32_t *sel;  /* P * src_rows */
    uint32_t *nsel; /* P */
    uint8_t *kbuf;
    size_t kcap;
    /* P == 1: the keyed operator chained into this task (no exchange) */
    struct work_state *fused;
} src_state;

struct work_state;
static void work_state_free(void *st);
static int work_rows(struct work_state *w, const tide_cbatch *b, tide_task_out *out, tide_err *e);
static int work_rows_src(struct work_state *w, const tide_cbatch *b, const uint32_t *sel, uint32_t n,
                         tide_task_out *out, tide_err *e);
static int work_wm(void *st, int64_t wm, tide_task_out *out, tide_err *e);

static void src_state_free(void *st)
{
    src_state *s = st;
    if (!s)
        return;
    if (s->scan)
        tide_node_scan_vt.free(s->scan);
    tide_cbatch_free(s->seg);
    tide_cbatch_free(s->staged);
    free(s->iota);
    free(s->sel);
    free(s->nsel);
    free(s->kbuf);
    work_state_free(s->fused);
    free(s);
}

static int send_wm(src_state *s, tide_task_out *out, int64_t w, tide_err *e)
{
    if (w <= s->wm_sent)
        return 0;
    /* a chained operator first (its results precede the watermark, as a
     * worker task's on_watermark output does) */
    int rc = s->fused ? work_wm(s->fused, w, out, e) : 0;
    if (rc != 0)
        return rc;
    rc = tide_task_emit_watermark(out, w);
    if (rc != 0)
        return tide_err_set(e, rc, "pipeline source: sending watermark %lld", (long long)w);
    s->wm_sent = w;
    return 0;
}

/* Hand *slot to `port` whole and replace it with a new batch of that port. */
static int emit_whole(tide_task_out *out, uint32_t port, tide_cbatch **slot, tide_err *e)
{
    tide_cbatch *b = *slot;
    *slot = tide_task_new_batch(out, port);
    int rc = tide_task_emit_batch(out, port, b, tide_cbatch_rows(b));
    if (rc != 0)
        return tide_err_set(e, rc, "pipeline source: sending a batch");
    if (!*slot)
        return tide_err_set(e, TIDE_ENOMEM, "pipeline source: new batch");
    return 0;
}

/* The rows s->nsel[k] of instance k, listed at sel + k * src_rows, to
 * instance k through `proj` (NULL: all columns), in batches of at most
 * batch_rows (an instance can get more than that of one source batch). */
static int emit_instances(src_state *s, tide_task_out *out, const tide_cbatch *b,
                          const uint32_t *sel, const uint32_t *proj, tide_err *e)
{
    tide_pipe *p = s->p;
    uint32_t P = p->cfg.n_aggs ? p->P : 1;
    for (uint32_t k = 0; k < P; k++) {
        const uint32_t *rows = sel + (size_t)k * p->src_rows;
        for (uint32_t at = 0; at < s->nsel[k];) {
            uint32_t m = s->nsel[k] - at < p->batch_rows ? s->nsel[k] - at : p->batch_rows;
            tide_cbatch *nb = tide_task_new_batch(out, k);
            if (!nb)
                return tide_err_set(e, TIDE_ENOMEM, "pipeline source: new batch");
            int rc = tide_cbatch_select_cols(nb, b, rows + at, m, proj, e);
            if (rc != 0) {
                tide_task_free_batch(out, UINT32_MAX, nb);
                return rc;
            }
            if ((rc = tide_task_emit_batch(out, k, nb, m)) != 0)
                return tide_err_set(e, rc, "pipeline source: sending to instance %u", k);
            at += m;
        }
    }
    return 0;
}

/* Route the rows of b (the scan's batch, or *slot: s->seg or s->staged,
 * which may be handed over whole) to the instances. */
static int route(src_state *s, tide_task_out *out, const tide_cbatch *b, tide_cbatch **slot,
                 tide_err *e)
{
    tide_pipe *p = s->p;
    uint32_t n = tide_cbatch_rows(b), P = p->cfg.n_aggs ? p->P : 1;
    if (s->fused)
        return work_rows(s->fused, b, out, e);
    if (P == 1) {
        if (!slot) { /* the scan keeps its batch: a copy goes */
            int rc;
            tide_cbatch_reset(s->seg);
            if ((rc = tide_cbatch_select(s->seg, b, s->iota, n, e)) != 0)
                return rc;
            slot = &s->seg;
        }
        return emit_whole(out, 0, slot, e);
    }
    memset(s->nsel, 0, P * sizeof *s->nsel);
    bool fast = p->cfg.n_key_cols == 1 && p->key_types[0] != TIDE_TYPE_STRING &&
                p->key_types[0] != TIDE_TYPE_BOOLEAN && p->key_types[0] != TIDE_TYPE_DOUBLE;
    for (uint32_t r = 0; r < n; r++) {
        uint64_t h;
        if (fast) {
            uint32_t c = p->key_cols[0];
            h = tide_cbatch_is_null(b, c, r)
                    ? 0
                    : tide_hash_u64((uint64_t)tide_cbatch_i64(b, c, r) ^ EXCHANGE_SEED);
        } else {
            size_t need = key_size(p, b, r);
            if (need > s->kcap) {
                if (tide_array_grow((void **)&s->kbuf, &s->kcap, need, 1) != 0)
                    return tide_err_set(e, TIDE_ENOMEM, "pipeline source: key buffer");
            }
            uint8_t *end = key_encode(p, b, r, s->kbuf);
            h = tide_key_hash(s->kbuf, (size_t)(end - s->kbuf), EXCHANGE_SEED);
        }
        uint32_t k = (uint32_t)(((h >> 32) * P) >> 32);
        s->sel[(size_t)k * p->src_rows + s->nsel[k]++] = r;
    }
    return emit_instances(s, out, b, s->sel, NULL, e);
}

/* Rows[0, n) of s->in through the projection p->proj straight into new
 * batches of the instances (route's hash: the key is one BIGINT/TIMESTAMP
 * column, or P is 1). */
static int route_proj(src_state *s, tide_task_out *out, const uint32_t *rows, uint32_t n,
                      tide_err *e)
{
    tide_pipe *p = s->p;
    const tide_cbatch *b = s->in;
    uint32_t P = p->cfg.n_aggs ? p->P : 1;
    const uint32_t *sel = rows;
    if (s->fused) /* straight from the source columns */
        return work_rows_src(s->fused, b, rows, n, out, e);
    memset(s->nsel, 0, P * sizeof *s->nsel);
    if (P == 1) {
        s->nsel[0] = n;
    } else {
        uint32_t c = p->proj[p->key_cols[0]];
        const uint8_t *nulls = tide_cbatch_nulls(b, c);
        const int64_t *v = tide_cbatch_col_i64(b, c);
        /* counters in a local array: s->nsel could alias s->sel, and the
         * compiler would reload it after every store */
        uint32_t cnt[1024], *to = s->sel, stride = p->src_rows; /* P <= 1024 */
        memset(cnt, 0, P * sizeof *cnt);
        for (uint32_t i = 0; i < n; i++) {
            uint32_t r = rows[i];
            uint64_t h = nulls[r] ? 0 : tide_hash_u64((uint64_t)v[r] ^ EXCHANGE_SEED);
            uint32_t k = (uint32_t)(((h >> 32) * P) >> 32);
            to[(size_t)k * stride + cnt[k]++] = r;
        }
        memcpy(s->nsel, cnt, P * sizeof *cnt);
        sel = s->sel;
    }
    return emit_instances(s, out, b, sel, p->proj, e);
}

/* Stage and route rows [from, to) of s->in. */
static int emit_rows(src_state *s, tide_task_out *out, uint32_t from, uint32_t to, tide_err *e)
{
    tide_pipe *p = s->p;
    if (from >= to)
        return 0;
    if (p->proj) {
        ADD(p, c_filtered, to - from);
        return route_proj(s, out, s->iota + from, to - from, e);
    }
    const tide_cbatch *b = s->in;
    tide_cbatch **slot = NULL;
    int rc;
    if (from != 0 || to != tide_cbatch_rows(s->in)) {
        tide_cbatch_reset(s->seg);
        if ((rc = tide_cbatch_select(s->seg, s->in, s->iota + from, to - from, e)) != 0)
            return rc;
        slot = &s->seg;
        b = s->seg;
    }
    if (p->cfg.stage) {
        tide_cbatch_reset(s->staged);
        if ((rc = p->cfg.stage(p->cfg.stage_ctx, b, s->staged, e)) != 0)
            return rc;
        slot = &s->staged;
        b = s->staged;
    }
    uint32_t n = tide_cbatch_rows(b);
    ADD(p, c_filtered, n);
    if (n == 0)
        return 0;
    return route(s, out, b, slot, e);
}

/* The scan's outputs (exec/node_scan.h): its segments are runs of rows. */
static int src_rows(void *ctx, const tide_cbatch *b, const uint32_t *sel, uint32_t n, tide_err *e)
{
    src_state *s = ctx;
    s->in = b;
    uint32_t from = sel ? sel[0] : 0;
    return emit_rows(s, s->out, from, from + n, e);
}

static int src_wm(void *ctx, int64_t wm, tide_err *e)
{
    src_state *s = ctx;
    return send_wm(s, s->out, wm, e);
}

static void src_count(void *ctx, tide_node_counter c, uint64_t n)
{
    tide_pipe *p = ((src_state *)ctx)->p;
    if (c == TIDE_NODE_IN)
        ADD(p, c_in, n);
    else if (c == TIDE_NODE_BAD)
        ADD(p, c_bad, n);
    else if (c == TIDE_NODE_WM_CUTS)
        ADD(p, c_cuts, n);
}

static int src_poll(void *st, tide_task_out *out, tide_err *e)
{
    src_state *s = st;
    s->out = out;
    tide_node_scan_out so = {src_rows, src_wm, src_count, s};
    int rc = tide_node_scan_step(s->scan, tide_clock_now_ms(s->p->clock), &so, e);
    s->in = NULL;
    return rc;
}

/* The input ended: a chained operator fires what is left (before the
 * runtime forwards +infinity). */
static int src_end(void *st, tide_task_out *out, tide_err *e)
{
    src_state *s = st;
    return s->fused ? send_wm(s, out, TIDE_TS_MAX, e) : 0;
}

static const tide_task_op src_op = {
    .name = "pipeline-source",
    .on_poll = src_poll,
    .on_end = src_end,
    .free = src_state_free,
};

/* ---- winagg task ---- */

typedef struct work_state {
    tide_pipe *p;
    uint32_t idx;
    tide_winagg *op;
    tide_groupagg *gop; /* instead of op: cfg.keyed == TIDE_PIPE_GROUPAGG */
    /* push arrays (exec/node_keyed.h) of the stage's output rows, and
     * (chained with a projection stage: route_proj) of the source's */
    tide_node_keyed k, ksrc;
    rbatch *cur;
    tide_task_out *out;
    bool in_advance;
    int64_t adv_tag;
    uint64_t seq;
} work_state;

static void work_state_free(void *st)
{
    work_state *w = st;
    if (!w)
        return;
    tide_winagg_free(w->op);
    tide_groupagg_free(w->gop);
    tide_node_keyed_free(&w->k);
    tide_node_keyed_free(&w->ksrc);
    rbatch_free(w->cur);
    free(w);
}

static int work_flush(work_state *w, int64_t tag)
{
    if (!w->cur || w->cur->n == 0)
        return 0;
    rbatch *b = w->cur;
    w->cur = NULL;
    b->inst = w->idx;
    rbatch_finish(b, tag);
    return tide_task_emit_batch(w->out, 0, b, b->n);
}

static int work_add(work_state *w, uint32_t kind, int64_t start, int64_t end, const void *key,
                    uint32_t klen, const tide_value *vals, size_t n_vals)
{
    if (!w->cur && !(w->cur = rb_get(w->p)))
        return TIDE_ENOMEM;
    int rc = rbatch_add(w->cur, kind, start, end, w->seq++, key, klen, vals, n_vals);
    if (rc != 0)
        return rc;
    if (w->in_advance && w->cur->n >= w->p->batch_rows)
        return work_flush(w, w->adv_tag);
    return 0;
}

static int work_emit_cb(void *ctx, const tide_winagg_row *r)
{
    return work_add(ctx, (uint32_t)r->op, r->start, r->end, r->key, r->key_len, r->vals, r->n_vals);
}

static int work_late_cb(void *ctx, const void *key, uint32_t key_len, int64_t ts,
                        const tide_value *in, size_t n_in)
{
    return work_add(ctx, RB_LATE, ts, ts, key, key_len, in, n_in);
}

/* GROUPAGG: rows come only from the flush at a watermark step (no window). */
static int work_gemit_cb(void *ctx, const tide_groupagg_row *r)
{
    return work_add(ctx, (uint32_t)r->op, TIDE_TS_MIN, TIDE_TS_MAX, r->key, r->key_len, r->vals,
                    r->n_vals);
}

/* Rows sel[0..n) of b (sel NULL: all) into the instance's operator, their
 * keys, times and values through `k` (k: the stage output's columns; ksrc:
 * the source's, for route_proj).  Rows without an event time are bad. */
static int work_push(work_state *w, tide_node_keyed *k, const tide_cbatch *b, const uint32_t *sel,
                     uint32_t n, tide_task_out *out, tide_err *e)
{
    tide_pipe *p = w->p;
    w->out = out;
    uint32_t skipped = 0;
    int rc = tide_node_keyed_prepare(k, b, sel, n, false, &skipped, e);
    if (rc != 0)
        return rc;
    if (skipped)
        ADD(p, c_bad, skipped);
    if (w->gop)
        return tide_groupagg_push_batch(w->gop, k->n, k->keys, k->klen, NULL, k->vals, e);
    return tide_winagg_push_batch(w->op, k->n, k->keys, k->klen, k->ts, k->vals,
                                  tide_clock_now_ms(p->clock), e);
}

static int work_rows(work_state *w, const tide_cbatch *b, tide_task_out *out, tide_err *e)
{
    return work_push(w, &w->k, b, NULL, tide_cbatch_rows(b), out, e);
}

/* Rows sel[0..n) of a source batch (route_proj: a projection stage). */
static int work_rows_src(work_state *w, const tide_cbatch *b, const uint32_t *sel, uint32_t n,
                         tide_task_out *out, tide_err *e)
{
    return work_push(w, &w->ksrc, b, sel, n, out, e);
}

static int work_batch(void *st, uint32_t input, void *batch, uint32_t rows, tide_task_out *out,
                      tide_err *e)
{
    (void)rows;
    int rc = work_rows(st, batch, out, e);
    tide_task_free_batch(out, input, batch);
    return rc;
}

static int work_wm(void *st, int64_t wm, tide_task_out *out, tide_err *e)
{
    work_state *w = st;
    w->out = out;
    w->in_advance = true;
    w->adv_tag = wm;
    int rc = w->gop ? tide_groupagg_flush(w->gop, e)
                    : tide_winagg_advance_watermark(w->op, wm, tide_clock_now_ms(w->p->clock), e);
    w->in_advance = false;
    if (rc == 0 && (rc = work_flush(w, wm)) != 0)
        tide_err_set(e, rc, "pipeline instance %u: sending results", w->idx);
    return rc;
}

static const tide_task_op work_op = {
    .name = "pipeline-winagg",
    .on_batch = work_batch,
    .on_watermark = work_wm,
    .free = work_state_free,
};

/* ---- sink task ---- */

typedef struct sref {
    const rbatch *b;
    const rrow *r;
} sref;

typedef struct sink_state {
    tide_pipe *p;
    rbatch **held;
    size_t nheld, capheld;
    sref *refs;
    size_t caprefs;
    size_t *ioff; /* P + 1: where each instance's rows go in refs */
    tide_value *keyvals;
    tide_arena karena; /* keyvals' strings that hold 0x00 bytes (one row) */
    tide_cbatch *obuf; /* rows for p->sink (result schema, with ops) */
} sink_state;

static void sink_state_free(void *st)
{
    sink_state *s = st;
    if (!s)
        return;
    for (size_t i = 0; i < s->nheld; i++)
        rbatch_free(s->held[i]);
    free(s->held);
    free(s->refs);
    free(s->ioff);
    free(s->keyvals);
    tide_arena_free(&s->karena);
    tide_cbatch_free(s->obuf);
    free(s);
}

/* Append one result row to obuf, writing obuf out first when full. */
static int sink_put(sink_state *s, const tide_pipe_result *res, tide_err *e)
{
    tide_pipe *p = s->p;
    tide_cbatch *b = s->obuf;
    int rc;
    if (tide_cbatch_full(b)) {
        if ((rc = tide_sink_write(p->sink, b, e)) != 0)
            return rc;
        tide_cbatch_reset(b);
    }
    uint32_t r = 0, c = 0;
    tide_cbatch_add_row(b, &r);
    tide_cbatch_set_op(b, r, (tide_op)res->op); /* same order: +I -U +U -D */
    for (size_t k = 0; k < res->n_keys; k++)
        if ((rc = tide_cbatch_set(b, c++, r, &res->keys[k], e)) != 0)
            return rc;
    if (p->cfg.keyed != TIDE_PIPE_GROUPAGG) {
        tide_cbatch_set_i64(b, c++, r, res->start);
        tide_cbatch_set_i64(b, c++, r, res->end);
    }
    for (size_t k = 0; k < res->n_vals; k++)
        if ((rc = tide_cbatch_set(b, c++, r, &res->vals[k], e)) != 0)
            return rc;
    return 0;
}

static int sink_write_out(sink_state *s, tide_err *e)
{
    if (!s->p->sink || !s->obuf || tide_cbatch_rows(s->obuf) == 0)
        return 0;
    int rc = tide_sink_write(s->p->sink, s->obuf, e);
    tide_cbatch_reset(s->obuf);
    return rc;
}

static int key_cmp(const sref *a, const sref *b)
{
    uint32_t la = a->r->key_len, lb = b->r->key_len, n = la < lb ? la : lb;
    const uint8_t *pa = a->b->bytes + a->r->key_off, *pb = b->b->bytes + b->r->key_off;
    if (n >= 8) { /* the first 8 bytes as one big-endian integer */
        uint64_t x = get_be64(pa), y = get_be64(pb);
        if (x != y)
            return x < y ? -1 : 1;
        pa += 8;
        pb += 8;
        n -= 8;
    }
    int c = n ? memcmp(pa, pb, n) : 0;
    if (c)
        return c;
    return la < lb ? -1 : la > lb;
}

#define CMP(x, y)                                                                                  \
    if ((x) != (y))                                                                                \
    return (x) < (y) ? -1 : 1

static int sref_cmp(const void *pa, const void *pb)
{
    const sref *a = pa, *b = pb;
    CMP(a->b->tag, b->b->tag);
    int la = a->r->kind == RB_LATE, lb = b->r->kind == RB_LATE;
    CMP(la, lb);
    if (!la) {
        CMP(a->r->end, b->r->end);
        CMP(a->r->start, b->r->start);
    } else {
        CMP(a->r->start, b->r->start);
    }
    int c = key_cmp(a, b);
    if (c)
        return c;
    CMP(a->r->seq, b->r->seq);
    return 0;
}

/* Sort a[0, n) by sref_cmp (a total order: no two rows compare equal) with
 * `tmp` (n entries) as scratch; returns the sorted copy (a or tmp).  A
 * natural merge sort: the rows of one instance's batches for one tag come
 * as sorted runs (windows fired in (end, start, key) order), so P
 * instances' rows take about log2(runs) passes of merging. */
static const sref *sort_runs(sref *a, sref *tmp, size_t n)
{
    for (;;) {
        size_t i = 0, runs = 0;
        while (i < n) {
            size_t j = i + 1;
            while (j < n && sref_cmp(&a[j - 1], &a[j]) <= 0)
                j++;
            size_t k = j;
            if (k < n) {
                k++;
                while (k < n && sref_cmp(&a[k - 1], &a[k]) <= 0)
                    k++;
            }
            runs++;
            if (runs == 1 && k == n && j == n)
                return a; /* one run: sorted */
            size_t x = i, y = j, o = i;
            while (x < j && y < k)
                tmp[o++] = sref_cmp(&a[y], &a[x]) < 0 ? a[y++] : a[x++];
            while (x < j)
                tmp[o++] = a[x++];
            while (y < k)
                tmp[o++] = a[y++];
            i = k;
        }
        sref *t = a;
        a = tmp;
        tmp = t;
    }
}

static int sink_batch(void *st, uint32_t input, void *batch, uint32_t rows, tide_task_out *out,
                      tide_err *e)
{
    sink_state *s = st;
    tide_pipe *p = s->p;
    (void)rows;
    if (!p->cfg.n_aggs) {
        const tide_cbatch *b = batch;
        int rc = 0;
        ADD(p, c_out, tide_cbatch_rows(b));
        if (p->cfg.on_rows && (rc = p->cfg.on_rows(p->cfg.out_ctx, b)) != 0)
            tide_err_set(e, rc, "pipeline sink: on_rows failed");
        if (rc == 0 && p->sink)
            rc = tide_sink_write(p->sink, b, e);
        tide_task_free_batch(out, input, batch);
        return rc;
    }
    if (tide_array_grow((void **)&s->held, &s->capheld, s->nheld + 1, sizeof *s->held) != 0) {
        tide_task_free_batch(out, input, batch);
        return tide_err_set(e, TIDE_ENOMEM, "pipeline sink: held results");
    }
    s->held[s->nheld++] = batch;
    return 0;
}

static int wm_notify(tide_pipe *p, int64_t wm, tide_err *e)
{
    int rc = 0;
    if (p->cfg.on_watermark && (rc = p->cfg.on_watermark(p->cfg.out_ctx, wm)) != 0)
        tide_err_set(e, rc, "pipeline sink: on_watermark failed");
    return rc;
}

static int sink_wm(void *st, int64_t wm, tide_task_out *out, tide_err *e)
{
    sink_state *s = st;
    tide_pipe *p = s->p;
    (void)out;
    atomic_store_explicit(&p->c_wm, wm, memory_order_relaxed);
    size_t n = 0, keep = 0, nready = 0;
    for (size_t i = 0; i < s->nheld; i++)
        if (s->held[i]->tag <= wm)
            n += s->held[i]->n;
    if (n == 0)
        return wm_notify(p, wm, e);
    /* refs[0, n) and a scratch half refs[n, 2n) for the merges */
    if (tide_array_grow((void **)&s->refs, &s->caprefs, 2 * n, sizeof *s->refs) != 0)
        return tide_err_set(e, TIDE_ENOMEM, "pipeline sink: sorting %zu results", n);
    /* Grouped by instance, in arrival order: an instance's rows mostly
     * come sorted, so the merge sort sees about one run per instance. */
    if (!s->ioff && !(s->ioff = malloc((p->P + 1) * sizeof *s->ioff)))
        return tide_err_set(e, TIDE_ENOMEM, "pipeline sink: sorting %zu results", n);
    memset(s->ioff, 0, (p->P + 1) * sizeof *s->ioff);
    for (size_t i = 0; i < s->nheld; i++)
        if (s->held[i]->tag <= wm)
            s->ioff[s->held[i]->inst + 1] += s->held[i]->n;
    for (uint32_t k = 0; k < p->P; k++)
        s->ioff[k + 1] += s->ioff[k];
    for (size_t i = 0; i < s->nheld; i++) {
        rbatch *b = s->held[i];
        if (b->tag > wm)
            continue;
        for (uint32_t j = 0; j < b->n; j++)
            s->refs[s->ioff[b->inst]++] = (sref){b, &b->rows[j]};
        nready += b->n;
    }
    const sref *refs = sort_runs(s->refs, s->refs + n, nready);
    int rc = 0;
    uint64_t nout = 0, nlate = 0;
    for (size_t i = 0; i < nready && rc == 0; i++) {
        const rbatch *b = refs[i].b;
        const rrow *r = refs[i].r;
        tide_arena_reset(&s->karena);
        if ((rc = tide_key_decode(b->bytes + r->key_off, r->key_len, p->key_types,
                                  p->cfg.n_key_cols, &s->karena, s->keyvals, e)) != 0)
            break;
        if (r->kind == RB_LATE) {
            nlate++;
            tide_pipe_late l = {r->start,  s->keyvals, p->cfg.n_key_cols, b->vals + r->val_off,
                                r->n_vals, b->tag};
            if (p->cfg.on_late && (rc = p->cfg.on_late(p->cfg.out_ctx, &l)) != 0)
                tide_err_set(e, rc, "pipeline sink: on_late failed");
        } else {
            nout++;
            tide_pipe_result res = {(tide_op)r->kind,
                                    r->start,
                                    r->end,
                                    s->keyvals,
                                    p->cfg.n_key_cols,
                                    b->vals + r->val_off,
                                    r->n_vals,
                                    b->bytes + r->key_off,
                                    r->key_len,
                                    b->tag};
            if (p->cfg.on_result && (rc = p->cfg.on_result(p->cfg.out_ctx, &res)) != 0)
                tide_err_set(e, rc, "pipeline sink: on_result failed");
            if (rc == 0 && p->sink)
                rc = sink_put(s, &res, e);
        }
    }
    if (rc == 0)
        rc = sink_write_out(s, e);
    ADD(p, c_out, nout);
    ADD(p, c_late, nlate);
    for (size_t i = 0; i < s->nheld; i++) {
        if (s->held[i]->tag <= wm)
            rb_put(p, s->held[i]);
        else
            s->held[keep++] = s->held[i];
    }
    s->nheld = keep;
    if (rc == 0)
        rc = wm_notify(p, wm, e);
    return rc;
}

static int sink_end(void *st, tide_task_out *out, tide_err *e)
{
    sink_state *s = st;
    int rc = sink_wm(st, TIDE_TS_MAX, out, e);
    if (rc == 0 && s->p->sink) {
        tide_sink *k = s->p->sink;
        s->p->sink = NULL; /* close always frees */
        rc = tide_sink_close(k, e);
    }
    return rc;
}

static const tide_task_op sink_op = {
    .name = "pipeline-sink",
    .on_batch = sink_batch,
    .on_watermark = sink_wm,
    .on_end = sink_end,
    .free = sink_state_free,
};

/* ---- building ---- */

void tide_pipe_config_init(tide_pipe_config *c)
{
    memset(c, 0, sizeof *c);
    c->source.kind = TIDE_PIPE_SRC_GEN_LOGINS;
    tide_gen_logins_cfg_default(&c->source.gen);
    c->source.time_col = -1;
    c->source.partitions = 1;
    c->wm_bound = 5000;
    c->time_col = -1;
    c->window = tide_win_tumble(60000);
    c->mode = TIDE_TRIG_ACCUMULATING;
}

static int logins_schema(tide_schema **out, tide_err *e)
{
    tide_schema *s = NULL;
    int rc;
    if ((rc = tide_schema_create(&s, e)) != 0 ||
        (rc = tide_schema_add(s, "ts", TIDE_TYPE_TIMESTAMP, false, e)) != 0 ||
        (rc = tide_schema_add(s, "user_id", TIDE_TYPE_BIGINT, false, e)) != 0 ||
        (rc = tide_schema_add(s, "country", TIDE_TYPE_STRING, false, e)) != 0 ||
        (rc = tide_schema_add(s, "device", TIDE_TYPE_STRING, false, e)) != 0 ||
        (rc = tide_schema_set_time_column(s, TIDE_PIPE_LOGINS_TS, e)) != 0)
        goto fail;
    *out = s;
    return 0;
fail:
    tide_schema_free(s);
    return rc;
}

/* key columns, window_start, window_end, one column per aggregate */
static int result_schema(tide_pipe *p, tide_err *e)
{
    const tide_pipe_config *c = &p->cfg;
    tide_schema *s = NULL;
    int rc;
    if ((rc = tide_schema_create(&s, e)) != 0)
        goto fail;
    for (size_t i = 0; i < c->n_key_cols; i++) {
        const tide_column *col = tide_schema_col(p->out_schema, p->key_cols[i]);
        if ((rc = tide_schema_add(s, col->name, col->type, true, e)) != 0)
            goto fail;
    }
    if (c->keyed != TIDE_PIPE_GROUPAGG &&
        ((rc = tide_schema_add(s, "window_start", TIDE_TYPE_TIMESTAMP, false, e)) != 0 ||
         (rc = tide_schema_add(s, "window_end", TIDE_TYPE_TIMESTAMP, false, e)) != 0))
        goto fail;
    for (size_t i = 0; i < c->n_aggs; i++) {
        char name[32];
        const char *n = c->agg_names && c->agg_names[i] ? c->agg_names[i] : name;
        snprintf(name, sizeof name, "agg%zu", i);
        tide_agg a;
        if ((rc = tide_agg_bind_kind(&a, p->aggs[i].kind, p->aggs[i].type, 0, e)) != 0 ||
            (rc = tide_schema_add(s, n, a.out_type, true, e)) != 0)
            goto fail;
    }
    p->res_schema = s;
    return 0;
fail:
    tide_schema_free(s);
    return rc;
}

static bool time_type_ok(const tide_schema *s, int col)
{
    if (col < 0 || (size_t)col >= tide_schema_ncols(s))
        return false;
    tide_type t = tide_schema_col(s, (size_t)col)->type;
    return t == TIDE_TYPE_TIMESTAMP || t == TIDE_TYPE_BIGINT;
}

static bool stage_reads(const tide_pipe *p, uint32_t col);
static int plan_proj(tide_pipe *p);

/* The dead letters of the scan, to the caller's callback. */
static int scan_dead(void *ctx, const tide_node_scan_dead *d)
{
    tide_pipe *p = ctx;
    tide_pipe_dead pd = {d->batch, d->row, d->partition, d->ts, d->reason};
    return p->cfg.on_dead(p->cfg.dead_ctx, &pd);
}

static int make_source(tide_pipe *p, src_state **out, tide_err *e)
{
    int rc = TIDE_ENOMEM;
    uint32_t R = p->src_rows, P = p->P;
    src_state *s = calloc(1, sizeof *s);
    if (!s)
        goto nomem;
    s->p = p;
    s->wm_sent = TIDE_TS_MIN;
    tide_node_scan_cfg *sc = &p->scan_cfg;
    tide_node_scan_cfg_init(sc);
    switch (p->cfg.source.kind) {
    case TIDE_PIPE_SRC_GEN_LOGINS:
        sc->kind = TIDE_NODE_SCAN_GEN_LOGINS;
        sc->gen = p->cfg.source.gen;
        /* The string columns cost most of the fill; when the stage is an
         * expression stage that reads neither (e.g. the SQL planner's
         * projection to key and time columns), they stay NULL: nobody sees
         * the source batch but the stage and the dead-letter callback. */
        if (!stage_reads(p, TIDE_PIPE_LOGINS_COUNTRY))
            sc->unread_cols |= 1u << TIDE_PIPE_LOGINS_COUNTRY;
        if (!stage_reads(p, TIDE_PIPE_LOGINS_DEVICE))
            sc->unread_cols |= 1u << TIDE_PIPE_LOGINS_DEVICE;
        break;
    case TIDE_PIPE_SRC_CONNECT:
        sc->kind = TIDE_NODE_SCAN_CONNECT;
        sc->conn = p->cfg.source.conn;
        break;
    default:
        sc->kind = TIDE_NODE_SCAN_CALLBACK;
        sc->schema = p->src_schema;
        sc->partitions = p->cfg.source.partitions;
        sc->next = p->cfg.source.next;
        sc->ctx = p->cfg.source.ctx;
        break;
    }
    sc->time_col = p->src_time;
    sc->wm_bound = p->cfg.wm_bound;
    sc->idle_timeout_ms = p->cfg.idle_timeout_ms;
    sc->quiet_advance_ms = p->cfg.quiet_advance_ms;
    sc->future_bound_ms = p->cfg.future_bound_ms;
    sc->on_dead = p->cfg.on_dead ? scan_dead : NULL;
    sc->dead_ctx = p;
    sc->batch_rows = R;
    if ((rc = tide_node_scan_make(sc, 0, 1, &s->scan, e)) != 0)
        goto fail;
    if ((rc = tide_cbatch_create(&s->seg, p->src_schema, R, 0, e)) != 0)
        goto fail;
    if (p->cfg.stage && (rc = tide_cbatch_create(&s->staged, p->out_schema, R, 0, e)) != 0)
        goto fail;
    s->iota = malloc(R * sizeof *s->iota);
    s->sel = malloc((size_t)R * P * sizeof *s->sel);
    s->nsel = calloc(P, sizeof *s->nsel);
    if (!s->iota || !s->sel || !s->nsel)
        goto nomem;
    for (uint32_t i = 0; i < R; i++)
        s->iota[i] = i;
    *out = s;
    return 0;
nomem:
    rc = tide_err_set(e, TIDE_ENOMEM, "pipeline: source state");
fail:
    src_state_free(s);
    return rc;
}

static int make_worker(tide_pipe *p, uint32_t idx, work_state **out, tide_err *e)
{
    int rc;
    work_state *w = calloc(1, sizeof *w);
    if (!w)
        return tide_err_set(e, TIDE_ENOMEM, "pipeline: instance state");
    w->p = p;
    w->idx = idx;
    const tide_pipe_config *c = &p->cfg;
    if ((rc = tide_node_keyed_init(&w->k, p->out_schema, p->key_cols, (uint32_t)c->n_key_cols,
                                   p->value_cols, (uint32_t)c->n_value_cols,
                                   c->keyed == TIDE_PIPE_GROUPAGG ? -1 : p->out_time, e)) != 0) {
        work_state_free(w);
        return rc;
    }
    if (p->proj) {
        /* the same columns in the source, for route_proj */
        uint32_t *kc = calloc(c->n_key_cols + 1, sizeof *kc), *vc = calloc(c->n_value_cols + 1, sizeof *vc);
        rc = kc && vc ? 0 : tide_err_set(e, TIDE_ENOMEM, "pipeline: instance state");
        for (size_t i = 0; rc == 0 && i < c->n_key_cols; i++)
            kc[i] = p->proj[p->key_cols[i]];
        for (size_t i = 0; rc == 0 && i < c->n_value_cols; i++)
            vc[i] = p->proj[p->value_cols[i]];
        if (rc == 0)
            rc = tide_node_keyed_init(&w->ksrc, p->src_schema, kc, (uint32_t)c->n_key_cols, vc,
                                      (uint32_t)c->n_value_cols,
                                      c->keyed == TIDE_PIPE_GROUPAGG ? -1 : (int)p->proj[p->out_time], e);
        free(kc);
        free(vc);
        if (rc != 0) {
            work_state_free(w);
            return rc;
        }
    }
    if (p->cfg.keyed == TIDE_PIPE_GROUPAGG) {
        tide_groupagg_call *calls = calloc(p->cfg.n_aggs + 1, sizeof *calls);
        if (!calls) {
            work_state_free(w);
            return tide_err_set(e, TIDE_ENOMEM, "pipeline: instance state");
        }
        for (size_t i = 0; i < p->cfg.n_aggs; i++)
            calls[i] = (tide_groupagg_call){p->aggs[i].kind, p->aggs[i].arg, p->aggs[i].type};
        tide_groupagg_config gc = {
            .aggs = calls,
            .n_aggs = p->cfg.n_aggs,
            .n_inputs = p->cfg.n_value_cols,
            .mini_batch = true,
            .emit = work_gemit_cb,
            .ctx = w,
            .capacity_hint = p->cfg.capacity_hint / p->P,
        };
        rc = tide_groupagg_create(&gc, &w->gop, e);
        free(calls);
        if (rc != 0) {
            work_state_free(w);
            return rc;
        }
        *out = w;
        return 0;
    }
    tide_winagg_config wc = {
        .window = p->cfg.window,
        .aggs = p->aggs,
        .n_aggs = p->cfg.n_aggs,
        .n_inputs = p->cfg.n_value_cols,
        .allowed_lateness = p->cfg.allowed_lateness,
        .mode = p->cfg.mode,
        .early = p->cfg.early,
        .emit = work_emit_cb,
        .late = work_late_cb,
        .ctx = w,
        .capacity_hint = p->cfg.capacity_hint / p->P,
    };
    if ((rc = tide_winagg_create(&wc, &w->op, e)) != 0) {
        work_state_free(w);
        return rc;
    }
    *out = w;
    return 0;
}

static int check_config(tide_pipe *p, tide_err *e)
{
    const tide_pipe_config *c = &p->cfg;
    size_t nc = tide_schema_ncols(p->out_schema);
    if (c->wm_bound < 0)
        return tide_err_set(e, TIDE_EINVAL, "pipeline: wm_bound %lld < 0", (long long)c->wm_bound);
    if (c->allowed_lateness < 0)
        return tide_err_set(e, TIDE_EINVAL, "pipeline: allowed_lateness < 0");
    if (c->keyed != TIDE_PIPE_WINAGG && c->keyed != TIDE_PIPE_GROUPAGG)
        return tide_err_set(e, TIDE_EINVAL, "pipeline: bad keyed operator %d", (int)c->keyed);
    if (!time_type_ok(p->src_schema, p->src_time))
        return tide_err_set(e, TIDE_EINVAL,
                            "pipeline: source time column %d is not a TIMESTAMP/BIGINT column",
                            p->src_time);
    if (!time_type_ok(p->out_schema, p->out_time))
        return tide_err_set(
            e, TIDE_EINVAL,
            "pipeline: time_col %d is not a TIMESTAMP/BIGINT column of the stage output",
            p->out_time);
    for (size_t i = 0; i < c->n_key_cols; i++)
        if (c->key_cols[i] >= nc)
            return tide_err_set(e, TIDE_EINVAL, "pipeline: key_cols[%zu] = %u out of %zu columns",
                                i, c->key_cols[i], nc);
    for (size_t i = 0; i < c->n_value_cols; i++)
        if (c->value_cols[i] >= nc)
            return tide_err_set(e, TIDE_EINVAL, "pipeline: value_cols[%zu] = %u out of %zu columns",
                                i, c->value_cols[i], nc);
    for (size_t i = 0; i < c->n_aggs; i++)
        if (c->aggs[i].kind != TIDE_AGG_COUNT_STAR && c->aggs[i].arg >= c->n_value_cols)
            return tide_err_set(e, TIDE_EINVAL,
                                "pipeline: aggs[%zu].arg = %u out of %zu value columns", i,
                                c->aggs[i].arg, c->n_value_cols);
    if (c->source.kind == TIDE_PIPE_SRC_CONNECT && !c->source.conn)
        return tide_err_set(e, TIDE_EINVAL, "pipeline: CONNECT source without a config");
    if (c->source.kind == TIDE_PIPE_SRC_CALLBACK &&
        (!c->source.next || !c->source.schema || !c->source.partitions))
        return tide_err_set(e, TIDE_EINVAL,
                            "pipeline: CALLBACK source needs next, schema and partitions");
    if (c->stage && !c->stage_schema)
        return tide_err_set(e, TIDE_EINVAL, "pipeline: stage without stage_schema");
    return 0;
}

int tide_pipe_create(tide_pipe **out, const tide_pipe_config *cfg, tide_err *e)
{
    int rc = TIDE_ENOMEM;
    *out = NULL;
    tide_pipe *p = calloc(1, sizeof *p);
    src_state *ss = NULL;
    if (!p)
        return tide_err_set(e, TIDE_ENOMEM, "pipeline: create");
    p->cfg = *cfg;
    atomic_init(&p->c_wm, TIDE_TS_MIN);
    p->rb_mu_ok = pthread_mutex_init(&p->rb_mu, NULL) == 0; /* else no pooling */
    p->clock = cfg->clock ? cfg->clock : tide_clock_system();
    p->batch_rows = cfg->batch_rows ? cfg->batch_rows : 4096;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    p->P = cfg->parallelism ? cfg->parallelism : (ncpu > 0 ? (uint32_t)ncpu : 1);
    if (!cfg->n_aggs)
        p->P = 1;
    if (p->P > 1024 || p->batch_rows > TIDE_CBATCH_MAX_CAPACITY) {
        rc = tide_err_set(e, TIDE_EINVAL, "pipeline: parallelism or batch_rows too large");
        goto fail;
    }
    {
        uint64_t sr = (uint64_t)p->batch_rows * (cfg->n_aggs ? 4 : 1);
        p->src_rows = sr > TIDE_CBATCH_MAX_CAPACITY ? p->batch_rows : (uint32_t)sr;
    }
    /* own copies of the arrays */
    p->aggs = calloc(cfg->n_aggs + 1, sizeof *p->aggs);
    p->key_cols = calloc(cfg->n_key_cols + 1, sizeof *p->key_cols);
    p->key_types = calloc(cfg->n_key_cols + 1, sizeof *p->key_types);
    p->value_cols = calloc(cfg->n_value_cols + 1, sizeof *p->value_cols);
    if (!p->aggs || !p->key_cols || !p->key_types || !p->value_cols)
        goto nomem;
    if (cfg->n_aggs)
        memcpy(p->aggs, cfg->aggs, cfg->n_aggs * sizeof *p->aggs);
    if (cfg->n_key_cols)
        memcpy(p->key_cols, cfg->key_cols, cfg->n_key_cols * sizeof *p->key_cols);
    if (cfg->n_value_cols)
        memcpy(p->value_cols, cfg->value_cols, cfg->n_value_cols * sizeof *p->value_cols);
    p->cfg.aggs = p->aggs;
    p->cfg.key_cols = p->key_cols;
    p->cfg.value_cols = p->value_cols;

    /* schemas */
    switch (cfg->source.kind) {
    case TIDE_PIPE_SRC_GEN_LOGINS:
        if ((rc = logins_schema(&p->own_schema, e)) != 0)
            goto fail;
        p->src_schema = p->own_schema;
        break;
    case TIDE_PIPE_SRC_CONNECT:
        p->src_schema = NULL; /* known once opened, below */
        break;
    case TIDE_PIPE_SRC_CALLBACK:
        p->src_schema = cfg->source.schema;
        break;
    default:
        rc = tide_err_set(e, TIDE_EINVAL, "pipeline: bad source kind %d", (int)cfg->source.kind);
        goto fail;
    }
    if (cfg->source.kind == TIDE_PIPE_SRC_CONNECT) {
        if (!cfg->source.conn) {
            rc = tide_err_set(e, TIDE_EINVAL, "pipeline: CONNECT source without a config");
            goto fail;
        }
        if (cfg->source.conn->schema) {
            p->src_schema = cfg->source.conn->schema;
        } else {
            /* the generator's own schema through connect: open it to ask */
            tide_src *tmp = NULL;
            if ((rc = tide_src_open(&tmp, cfg->source.conn, e)) != 0)
                goto fail;
            rc = tide_schema_clone(tide_src_schema(tmp), &p->own_schema, e);
            tide_src_free(tmp);
            if (rc != 0)
                goto fail;
            p->src_schema = p->own_schema;
        }
    }
    if (cfg->source.kind == TIDE_PIPE_SRC_CALLBACK && !cfg->source.schema) {
        rc = tide_err_set(e, TIDE_EINVAL, "pipeline: CALLBACK source without a schema");
        goto fail;
    }
    p->src_time =
        cfg->source.time_col >= 0 ? cfg->source.time_col : tide_schema_time_column(p->src_schema);
    p->out_schema = cfg->stage ? cfg->stage_schema : p->src_schema;
    if (!p->out_schema) {
        rc = tide_err_set(e, TIDE_EINVAL, "pipeline: stage without stage_schema");
        goto fail;
    }
    p->out_time =
        cfg->stage ? (cfg->time_col >= 0 ? cfg->time_col : tide_schema_time_column(p->out_schema))
                   : p->src_time;
    if ((rc = check_config(p, e)) != 0)
        goto fail;
    for (size_t i = 0; i < cfg->n_key_cols; i++)
        p->key_types[i] = tide_schema_col(p->out_schema, p->key_cols[i])->type;
    for (size_t i = 0; i < cfg->n_aggs; i++)
        p->aggs[i].type = p->aggs[i].kind == TIDE_AGG_COUNT_STAR
                              ? TIDE_TYPE_NULL
                              : tide_schema_col(p->out_schema, p->value_cols[p->aggs[i].arg])->type;
    if (plan_proj(p) != 0)
        goto nomem;

    if (cfg->n_aggs && (rc = result_schema(p, e)) != 0)
        goto fail;
    if (cfg->sink) {
        tide_sink_config kc = *cfg->sink;
        kc.schema = cfg->n_aggs ? p->res_schema : p->out_schema;
        if ((rc = tide_sink_open(&p->sink, &kc, e)) != 0)
            goto fail;
    }

    p->cb_type = (tide_task_batch_type){cb_create, cb_append, cb_free, p};
    p->rb_type = (tide_task_batch_type){rb_create, rb_append, rb_free, p};
    tide_graph_cfg gc = {
        .batch = p->cb_type,
        .batch_rows = p->batch_rows,
        .latency_ns = cfg->latency_ns,
        .chan_capacity = cfg->chan_capacity,
        .clock = cfg->clock,
    };
    if ((rc = tide_graph_create(&p->g, &gc, e)) != 0)
        goto fail;
    if ((rc = make_source(p, &ss, e)) != 0)
        goto fail;
    int src_id, sink_id;
    src_state *src = ss;
    rc = tide_graph_add(p->g, "source", &src_op, ss, &src_id, e);
    ss = NULL;
    if (rc != 0)
        goto fail;
    sink_state *sk = calloc(1, sizeof *sk);
    if (!sk)
        goto nomem;
    sk->p = p;
    tide_arena_init(&sk->karena, 4096);
    if (!(sk->keyvals = calloc(cfg->n_key_cols + 1, sizeof *sk->keyvals))) {
        free(sk);
        goto nomem;
    }
    if (p->sink && cfg->n_aggs &&
        (rc = tide_cbatch_create(&sk->obuf, p->res_schema, p->batch_rows, TIDE_CBATCH_OPS, e)) !=
            0) {
        sink_state_free(sk);
        goto fail;
    }
    if ((rc = tide_graph_add(p->g, "sink", &sink_op, sk, &sink_id, e)) != 0)
        goto fail;
    if (!cfg->n_aggs) {
        if ((rc = tide_graph_connect(p->g, src_id, sink_id, NULL, e)) != 0)
            goto fail;
    } else if (p->P == 1) {
        /* One instance: chained into the source task, as an engine chains
         * operators of equal parallelism joined by a forward edge.  The
         * rows skip a channel and a thread hand-over; the results and their
         * order are the same (the sink sees one instance either way). */
        if ((rc = make_worker(p, 0, &src->fused, e)) != 0)
            goto fail;
        if ((rc = tide_graph_connect_hash(p->g, src_id, &sink_id, 1, NULL, NULL, &p->rb_type, NULL,
                                          e)) != 0)
            goto fail;
    } else {
        for (uint32_t k = 0; k < p->P; k++) {
            work_state *w = NULL;
            char name[32];
            int wid;
            snprintf(name, sizeof name, "winagg-%u", k);
            if ((rc = make_worker(p, k, &w, e)) != 0 ||
                (rc = tide_graph_add(p->g, name, &work_op, w, &wid, e)) != 0 ||
                (rc = tide_graph_connect(p->g, src_id, wid, NULL, e)) != 0 ||
                (rc = tide_graph_connect_hash(p->g, wid, &sink_id, 1, NULL, NULL, &p->rb_type, NULL,
                                              e)) != 0)
                goto fail;
        }
    }
    *out = p;
    return 0;
nomem:
    rc = tide_err_set(e, TIDE_ENOMEM, "pipeline: create");
fail:
    src_state_free(ss);
    tide_pipe_free(p);
    return rc;
}

void tide_pipe_free(tide_pipe *p)
{
    if (!p)
        return;
    tide_graph_free(p->g);
    for (uint32_t i = 0; i < p->rb_n; i++)
        rbatch_free(p->rb_pool[i]);
    if (p->rb_mu_ok)
        pthread_mutex_destroy(&p->rb_mu);
    tide_sink_abort(p->sink); /* not committed: the run did not end */
    tide_schema_free(p->res_schema);
    tide_schema_free(p->own_schema);
    free(p->aggs);
    free(p->key_cols);
    free(p->key_types);
    free(p->value_cols);
    free(p->proj);
    free(p);
}

int tide_pipe_run(tide_pipe *p, tide_err *e)
{
    if (p->ran)
        return tide_err_set(e, TIDE_EINVAL, "pipeline: already ran");
    p->ran = true;
    return tide_graph_run(p->g, e);
}

void tide_pipe_cancel(tide_pipe *p)
{
    tide_graph_cancel(p->g);
}

void tide_pipe_counts_get(const tide_pipe *p, tide_pipe_counts *o)
{
    tide_pipe *q = (tide_pipe *)p;
    o->in = atomic_load_explicit(&q->c_in, memory_order_relaxed);
    o->bad = atomic_load_explicit(&q->c_bad, memory_order_relaxed);
    o->filtered = atomic_load_explicit(&q->c_filtered, memory_order_relaxed);
    o->out = atomic_load_explicit(&q->c_out, memory_order_relaxed);
    o->late = atomic_load_explicit(&q->c_late, memory_order_relaxed);
    o->wm_cuts = atomic_load_explicit(&q->c_cuts, memory_order_relaxed);
    o->watermark = atomic_load_explicit(&q->c_wm, memory_order_relaxed);
}

uint32_t tide_pipe_parallelism(const tide_pipe *p)
{
    return p->P;
}
const tide_schema *tide_pipe_source_schema(const tide_pipe *p)
{
    return p->src_schema;
}
const tide_schema *tide_pipe_result_schema(const tide_pipe *p)
{
    return p->res_schema ? p->res_schema : p->out_schema;
}
size_t tide_pipe_chan_count(const tide_pipe *p)
{
    return tide_graph_chan_count(p->g);
}
void tide_pipe_chan_stats(const tide_pipe *p, size_t i, tide_chan_stats *out, const char **name)
{
    tide_graph_chan_stats(p->g, i, out, name);
}

/* ---- a stage from expressions ---- */

struct tide_pipe_expr_stage {
    tide_expr *where;
    tide_expr **exprs;
    uint32_t n;
    uint32_t *sel;
    size_t selcap;
};

int tide_pipe_expr_stage_create(tide_pipe_expr_stage **out, tide_expr *where,
                                tide_expr *const *exprs, uint32_t n, tide_err *e)
{
    int rc;
    *out = NULL;
    tide_pipe_expr_stage *st = calloc(1, sizeof *st);
    if (!st || !(st->exprs = calloc(n + 1, sizeof *st->exprs))) {
        free(st);
        st = NULL;
        rc = tide_err_set(e, TIDE_ENOMEM, "pipeline: expression stage");
        goto fail;
    }
    st->where = where;
    where = NULL;
    for (uint32_t i = 0; i < n; i++)
        st->exprs[i] = exprs[i];
    st->n = n;
    n = 0;
    if (st->where && tide_expr_type(st->where) != TIDE_TYPE_BOOLEAN) {
        rc = tide_err_set(e, TIDE_EINVAL, "pipeline: WHERE is %s, not BOOLEAN",
                          tide_type_name(tide_expr_type(st->where)));
        goto fail;
    }
    *out = st;
    return 0;
fail:
    tide_expr_free(where);
    for (uint32_t i = 0; i < n; i++)
        tide_expr_free(exprs[i]);
    tide_pipe_expr_stage_free(st);
    return rc;
}

/* p->proj for an expression stage that only projects source columns
 * (no WHERE, every expression a column of the stage column's type), when
 * the exchange can route source rows (one instance, or a key of one
 * BIGINT/TIMESTAMP column).  0 or TIDE_ENOMEM. */
static int plan_proj(tide_pipe *p)
{
    const tide_pipe_config *c = &p->cfg;
    if (c->stage != tide_pipe_expr_stage_fn || !c->stage_ctx)
        return 0;
    const tide_pipe_expr_stage *st = c->stage_ctx;
    size_t nc = tide_schema_ncols(p->out_schema), ns = tide_schema_ncols(p->src_schema);
    if (st->where || st->n != nc || nc == 0)
        return 0;
    if (c->n_aggs && p->P > 1 && !key_one_i64(p))
        return 0;
    uint32_t *map = calloc(nc, sizeof *map);
    if (!map)
        return TIDE_ENOMEM;
    for (size_t j = 0; j < nc; j++) {
        int64_t col = tide_expr_column_of(st->exprs[j]);
        if (col < 0 || (size_t)col >= ns ||
            tide_schema_col(p->src_schema, (size_t)col)->type !=
                tide_schema_col(p->out_schema, j)->type) {
            free(map);
            return 0;
        }
        map[j] = (uint32_t)col;
    }
    p->proj = map;
    return 0;
}

/* Whether anything may read source column `col`: a caller's stage or the
 * dead-letter callback might; an expression stage tells. */
static bool stage_reads(const tide_pipe *p, uint32_t col)
{
    if (!p->cfg.stage || p->cfg.stage != tide_pipe_expr_stage_fn || p->cfg.on_dead)
        return true;
    const tide_pipe_expr_stage *st = p->cfg.stage_ctx;
    if (tide_expr_reads_col(st->where, col))
        return true;
    for (uint32_t i = 0; i < st->n; i++)
        if (tide_expr_reads_col(st->exprs[i], col))
            return true;
    return false;
}

void tide_pipe_expr_stage_free(tide_pipe_expr_stage *st)
{
    if (!st)
        return;
    tide_expr_free(st->where);
    for (uint32_t i = 0; i < st->n; i++)
        tide_expr_free(st->exprs[i]);
    free(st->exprs);
    free(st->sel);
    free(st);
}

int tide_pipe_expr_stage_fn(void *ctx, const tide_cbatch *in, tide_cbatch *out, tide_err *e)
{
    tide_pipe_expr_stage *st = ctx;
    uint32_t rows = tide_cbatch_rows(in), n = rows;
    const uint32_t *sel = NULL;
    int rc;
    if (st->where) {
        if (tide_array_grow((void **)&st->sel, &st->selcap, rows + 1, sizeof *st->sel) != 0)
            return tide_err_set(e, TIDE_ENOMEM, "pipeline: expression stage");
        if ((rc = tide_expr_filter(st->where, in, st->sel, &n, e)) != 0)
            return rc;
        sel = st->sel;
    }
    if (n == 0)
        return 0;
    return tide_expr_project(st->exprs, st->n, in, sel, n, out, e);
}
