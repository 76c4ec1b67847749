/*
 * node_over.c - OVER aggregations ordered by event time.  See node_over.h.
 *
 * Layout.  A row pool (exec/rows.h) with a header per row (event time,
 * arrival number, key, frame link) beside it, a table from key bytes to a
 * key number, and per key its aggregate slots and
 * the FIFO of rows still inside its frame (linked through the pool).  The
 * buffered rows sit in a min-heap by (ts, arrival); a watermark pops those
 * with ts <= watermark, sorts them by (key, ts, arrival), and runs each
 * key's rows through its frame in that order.
 */
#include "exec/node_over.h"

#include "base/buf.h"
#include "data/key.h"
#include "exec/rows.h"
#include "state/snap.h"
#include "state/table.h"

#include <stdlib.h>
#include <string.h>

#define NIL UINT32_MAX
#define OVER_SNAP_VERSION 2

typedef struct orow {
    int64_t ts;
    uint64_t step; /* the watermark step it arrived in */
    uint64_t seq;  /* arrival number */
    uint32_t key;
    uint32_t next; /* frame FIFO link */
} orow;

typedef struct okey {
    uint8_t *bytes;
    uint32_t len;
    unsigned char *slots; /* one state slot per aggregate */
    uint32_t head, tail;  /* frame FIFO (NIL: empty) */
    uint64_t n;           /* rows in it */
} okey;

typedef struct over_node {
    const tide_node_over_cfg *cfg;
    size_t ncols;
    tide_agg *aggs;
    size_t *slot_off, slots_size;
    tide_table *ids; /* key bytes -> key number (u32 in an 8-byte value) */
    okey *keys;
    size_t nkeys, kcap;
    tide_rows pool;
    orow *rows; /* per pool row */
    size_t rcap;
    uint32_t *heap; /* buffered rows by (ts, seq) */
    size_t hn, hcap;
    uint32_t *due; /* rows a watermark releases */
    size_t dcap;
    uint64_t seq;
    uint64_t step; /* watermarks seen */
    int64_t wm;
    uint32_t *all_cols; /* 0..ncols-1 */
    tide_buf ident;     /* scratch: a row's identity */
    tide_value *tmp; /* ncols: a row being read */
    tide_value *res; /* n_aggs results */
    uint8_t *kbuf;
    size_t kbcap;
    tide_cbatch *out;
    tide_node_ctx *cx;
} over_node;

/* ---- rows ---- */

static void row_free(over_node *s, uint32_t i) { tide_rows_release(&s->pool, i); }

/* A new row holding copies of v[0..ncols) (strings copied) and, as its
 * extra bytes, its identity: every column by data/key.h (the tie-break of
 * rows with equal ts). */
static int row_new(over_node *s, int64_t ts, uint64_t step, uint64_t seq, uint32_t key, const tide_value *v,
                   uint32_t *out, tide_err *e)
{
    uint32_t i;
    s->ident.len = 0;
    if (tide_key_append_values(&s->ident, v, s->all_cols, s->ncols) != 0)
        return tide_err_set(e, TIDE_ENOMEM, "over node: out of memory for a row");
    int rc = tide_rows_add(&s->pool, v, s->ident.data, s->ident.len, &i, e);
    if (rc != 0)
        return rc;
    if (i + 1u > s->rcap && tide_array_grow((void **)&s->rows, &s->rcap, i + 1u, sizeof *s->rows) != 0) {
        tide_rows_release(&s->pool, i);
        return tide_err_set(e, TIDE_ENOMEM, "over node: out of memory for rows");
    }
    s->rows[i] = (orow){.ts = ts, .step = step, .seq = seq, .key = key, .next = NIL};
    *out = i;
    return 0;
}

static const tide_value *row_vals(const over_node *s, uint32_t i) { return tide_rows_vals(&s->pool, i); }

/* ---- the heap of buffered rows ---- */

static bool row_before(const over_node *s, uint32_t a, uint32_t b)
{
    const orow *x = &s->rows[a], *y = &s->rows[b];
    return x->ts != y->ts ? x->ts < y->ts : x->seq < y->seq;
}

static int heap_push(over_node *s, uint32_t row, tide_err *e)
{
    if (s->hn + 1 > s->hcap && tide_array_grow((void **)&s->heap, &s->hcap, s->hn + 1, sizeof *s->heap) != 0)
        return tide_err_set(e, TIDE_ENOMEM, "over node: out of memory for buffered rows");
    size_t i = s->hn++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!row_before(s, row, s->heap[p]))
            break;
        s->heap[i] = s->heap[p];
        i = p;
    }
    s->heap[i] = row;
    return 0;
}

static uint32_t heap_pop(over_node *s)
{
    uint32_t top = s->heap[0], last = s->heap[--s->hn];
    size_t i = 0, n = s->hn;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && row_before(s, s->heap[c + 1], s->heap[c]))
            c++;
        if (!row_before(s, s->heap[c], last))
            break;
        s->heap[i] = s->heap[c];
        i = c;
    }
    if (n)
        s->heap[i] = last;
    return top;
}

/* ---- keys ---- */

static void key_release(over_node *s, okey *k)
{
    for (uint32_t a = 0; k->slots && a < s->cfg->n_aggs; a++)
        tide_agg_free(&s->aggs[a], k->slots + s->slot_off[a]);
    free(k->slots);
    free(k->bytes);
}

/* The number of key bytes[0..len), made when new. */
static int key_get(over_node *s, const uint8_t *bytes, uint32_t len, uint32_t *out, tide_err *e)
{
    void *v;
    bool is_new;
    int rc = tide_table_upsert(s->ids, bytes, len, &v, &is_new, e);
    if (rc != 0)
        return rc;
    if (!is_new) {
        memcpy(out, v, sizeof *out);
        return 0;
    }
    uint32_t id = (uint32_t)s->nkeys;
    okey k = {.len = len, .head = NIL, .tail = NIL};
    if ((s->nkeys + 1 > s->kcap && tide_array_grow((void **)&s->keys, &s->kcap, s->nkeys + 1, sizeof *s->keys) != 0) ||
        !(k.bytes = malloc(len ? len : 1)) || !(k.slots = calloc(1, s->slots_size))) {
        free(k.bytes);
        tide_table_delete(s->ids, bytes, len);
        return tide_err_set(e, TIDE_ENOMEM, "over node: out of memory for a key");
    }
    if (len)
        memcpy(k.bytes, bytes, len);
    for (uint32_t a = 0; a < s->cfg->n_aggs; a++)
        tide_agg_init(&s->aggs[a], k.slots + s->slot_off[a]);
    s->keys[s->nkeys++] = k;
    memcpy(v, &id, sizeof id);
    *out = id;
    return 0;
}

/* ---- frames ---- */

static int fold(over_node *s, okey *k, uint32_t row, bool retract, tide_err *e)
{
    const tide_value *v = row_vals(s, row);
    static const tide_value one = {.type = TIDE_TYPE_BIGINT, .u.i64 = 1};
    for (uint32_t a = 0; a < s->cfg->n_aggs; a++) {
        int32_t arg = s->cfg->aggs[a].arg;
        const tide_value *x = arg < 0 ? &one : &v[arg];
        void *slot = k->slots + s->slot_off[a];
        int rc = retract ? tide_agg_retract(&s->aggs[a], slot, x, e) : tide_agg_step(&s->aggs[a], slot, x, e);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static void fifo_push(over_node *s, okey *k, uint32_t row)
{
    s->rows[row].next = NIL;
    if (k->tail == NIL)
        k->head = row;
    else
        s->rows[k->tail].next = row;
    k->tail = row;
    k->n++;
}

/* Retract and free the oldest row of k's frame. */
static int fifo_drop(over_node *s, okey *k, tide_err *e)
{
    uint32_t r = k->head;
    int rc = fold(s, k, r, true, e);
    if (rc != 0)
        return rc;
    k->head = s->rows[r].next;
    if (k->head == NIL)
        k->tail = NIL;
    k->n--;
    row_free(s, r);
    return 0;
}

static int flush(over_node *s, tide_err *e)
{
    if (tide_cbatch_rows(s->out) == 0)
        return 0;
    int rc = tide_node_emit(s->cx, 0, s->out, NULL, tide_cbatch_rows(s->out), e);
    tide_cbatch_reset(s->out);
    return rc;
}

static int results(over_node *s, okey *k, tide_err *e)
{
    for (uint32_t a = 0; a < s->cfg->n_aggs; a++) {
        int rc = tide_agg_result(&s->aggs[a], k->slots + s->slot_off[a], &s->res[a], e);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* The output row of `row` with the results in s->res. */
static int emit_row(over_node *s, uint32_t row, tide_err *e)
{
    int rc;
    if (tide_cbatch_full(s->out) && (rc = flush(s, e)) != 0)
        return rc;
    uint32_t o = 0;
    tide_cbatch_add_row(s->out, &o);
    const tide_value *v = row_vals(s, row);
    for (uint32_t c = 0; c < s->cfg->n_pass; c++)
        if ((rc = tide_cbatch_set(s->out, c, o, &v[c], e)) != 0)
            return rc;
    for (uint32_t a = 0; a < s->cfg->n_aggs; a++)
        if ((rc = tide_cbatch_set(s->out, s->cfg->n_pass + a, o, &s->res[a], e)) != 0)
            return rc;
    return 0;
}

/* Rows due[0..n) of key k, in (ts, arrival) order. */
static int run_key(over_node *s, okey *k, const uint32_t *due, size_t n, tide_err *e)
{
    const tide_node_over_cfg *c = s->cfg;
    int rc;
    if (c->rows) {
        for (size_t i = 0; i < n; i++) {
            uint32_t r = due[i];
            if ((rc = fold(s, k, r, false, e)) != 0)
                return rc;
            if (!c->unbounded) {
                fifo_push(s, k, r);
                if (k->n > (uint64_t)c->preceding + 1 && (rc = fifo_drop(s, k, e)) != 0)
                    return rc;
            }
            if ((rc = results(s, k, e)) != 0 || (rc = emit_row(s, r, e)) != 0)
                return rc;
            if (c->unbounded)
                row_free(s, r);
        }
        return 0;
    }
    for (size_t i = 0; i < n;) {
        int64_t ts = s->rows[due[i]].ts;
        size_t j = i;
        for (; j < n && s->rows[due[j]].ts == ts; j++) {
            if ((rc = fold(s, k, due[j], false, e)) != 0)
                return rc;
            if (!c->unbounded)
                fifo_push(s, k, due[j]);
        }
        if (!c->unbounded) {
            /* keep ts' >= ts - preceding */
            bool all = ts < INT64_MIN + c->preceding;
            int64_t lo = all ? INT64_MIN : ts - c->preceding;
            while (k->head != NIL && s->rows[k->head].ts < lo)
                if ((rc = fifo_drop(s, k, e)) != 0)
                    return rc;
        }
        if ((rc = results(s, k, e)) != 0)
            return rc;
        for (size_t m = i; m < j; m++) {
            if ((rc = emit_row(s, due[m], e)) != 0)
                return rc;
            if (c->unbounded)
                row_free(s, due[m]);
        }
        i = j;
    }
    return 0;
}

/* The processing order: key, ts, then among equal ts the earlier
 * watermark step, then (within a step, where rows of several upstream
 * instances interleave by thread timing) the rows' identities, then
 * arrival: so ROWS frames and floating-point sums do not depend on P. */
static int due_cmp(const void *pa, const void *pb, void *ctx)
{
    const over_node *s = ctx;
    uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
    const orow *x = &s->rows[a], *y = &s->rows[b];
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    if (x->step != y->step)
        return x->step < y->step ? -1 : 1;
    size_t la, lb;
    const uint8_t *ia = tide_rows_extra(&s->pool, a, &la), *ib = tide_rows_extra(&s->pool, b, &lb);
    int c = memcmp(ia, ib, la < lb ? la : lb);
    if (c != 0)
        return c;
    if (la != lb)
        return la < lb ? -1 : 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

/* ---- the node ---- */

static void over_free(void *self)
{
    over_node *s = self;
    if (!s)
        return;
    for (size_t i = 0; i < s->nkeys; i++)
        key_release(s, &s->keys[i]);
    free(s->keys);
    tide_table_free(s->ids);
    tide_rows_destroy(&s->pool);
    free(s->rows);
    free(s->heap);
    free(s->due);
    free(s->tmp);
    free(s->all_cols);
    tide_buf_free(&s->ident);
    free(s->res);
    free(s->kbuf);
    free(s->aggs);
    free(s->slot_off);
    tide_cbatch_free(s->out);
    free(s);
}

static int check(const tide_node_over_cfg *c, tide_err *e)
{
    if (!c->in || !c->out || c->n_aggs == 0 || !c->aggs)
        return tide_err_set(e, TIDE_EINVAL, "over node: needs schemas and aggregates");
    size_t nc = tide_schema_ncols(c->in);
    if (c->n_pass > nc || tide_schema_ncols(c->out) != (size_t)c->n_pass + c->n_aggs)
        return tide_err_set(e, TIDE_EINVAL, "over node: the output has %zu columns, not %u + %u",
                            tide_schema_ncols(c->out), c->n_pass, c->n_aggs);
    if (c->time_col >= nc || (tide_schema_col(c->in, c->time_col)->type != TIDE_TYPE_TIMESTAMP &&
                              tide_schema_col(c->in, c->time_col)->type != TIDE_TYPE_BIGINT))
        return tide_err_set(e, TIDE_EINVAL, "over node: time column %u is not a TIMESTAMP/BIGINT column",
                            c->time_col);
    for (uint32_t i = 0; i < c->n_keys; i++)
        if (c->key_cols[i] >= nc)
            return tide_err_set(e, TIDE_EINVAL, "over node: key column %u of %zu", c->key_cols[i], nc);
    if (c->preceding < 0)
        return tide_err_set(e, TIDE_EINVAL, "over node: a negative frame");
    for (uint32_t i = 0; i < c->n_aggs; i++)
        if (c->aggs[i].arg >= (int32_t)nc || (c->aggs[i].arg < 0 && c->aggs[i].kind != TIDE_AGG_COUNT_STAR))
            return tide_err_set(e, TIDE_EINVAL, "over node: aggregate %u reads column %d", i, c->aggs[i].arg);
    return 0;
}

int tide_node_over_make(void *cfg, uint32_t instance, uint32_t parallelism, void **self, tide_err *e)
{
    (void)instance;
    (void)parallelism;
    const tide_node_over_cfg *c = cfg;
    *self = NULL;
    int rc = check(c, e);
    if (rc != 0)
        return rc;
    over_node *s = calloc(1, sizeof *s);
    if (!s)
        return tide_err_set(e, TIDE_ENOMEM, "over node: out of memory");
    s->cfg = c;
    s->ncols = tide_schema_ncols(c->in);
    tide_rows_init(&s->pool, s->ncols);
    s->wm = TIDE_TS_MIN;
    s->aggs = calloc(c->n_aggs, sizeof *s->aggs);
    s->slot_off = calloc(c->n_aggs, sizeof *s->slot_off);
    s->res = calloc(c->n_aggs, sizeof *s->res);
    s->tmp = calloc(s->ncols + 1, sizeof *s->tmp);
    s->all_cols = calloc(s->ncols + 1, sizeof *s->all_cols);
    if (!s->aggs || !s->slot_off || !s->res || !s->tmp || !s->all_cols) {
        rc = tide_err_set(e, TIDE_ENOMEM, "over node: out of memory");
        goto fail;
    }
    for (uint32_t i = 0; i < s->ncols; i++)
        s->all_cols[i] = i;
    for (uint32_t a = 0; a < c->n_aggs; a++) {
        tide_type t = c->aggs[a].arg < 0 ? TIDE_TYPE_NULL : tide_schema_col(c->in, (size_t)c->aggs[a].arg)->type;
        if ((rc = tide_agg_bind_kind(&s->aggs[a], c->aggs[a].kind, t, c->unbounded ? 0 : TIDE_AGG_RETRACTABLE, e)) != 0)
            goto fail;
        if (!c->unbounded && !s->aggs[a].invertible) {
            rc = tide_err_set(e, TIDE_EINVAL, "over node: %s cannot retract over a sliding frame", s->aggs[a].name);
            goto fail;
        }
        if (tide_schema_col(c->out, c->n_pass + a)->type != s->aggs[a].out_type) {
            rc = tide_err_set(e, TIDE_EINVAL, "over node: output column %u is not of %s's type", c->n_pass + a,
                              s->aggs[a].name);
            goto fail;
        }
        s->slot_off[a] = s->slots_size;
        s->slots_size += s->aggs[a].state_size;
    }
    if (s->slots_size == 0)
        s->slots_size = 8;
    if ((rc = tide_table_create(&s->ids, TIDE_TABLE_KEY_BYTES, 8, 64, e)) != 0 ||
        (rc = tide_cbatch_create(&s->out, c->out, c->batch_rows ? c->batch_rows : 4096, 0, e)) != 0)
        goto fail;
    *self = s;
    return 0;
fail:
    over_free(s);
    return rc;
}

static int over_batch(void *self, uint32_t in, const tide_cbatch *b, const uint32_t *sel, uint32_t n,
                      tide_node_ctx *cx, tide_err *e)
{
    (void)in;
    over_node *s = self;
    const tide_node_over_cfg *c = s->cfg;
    uint64_t late = 0, bad = 0;
    int rc = 0;
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        uint32_t r = sel ? sel[i] : i;
        if (tide_cbatch_is_null(b, c->time_col, r)) {
            bad++;
            continue;
        }
        int64_t ts = tide_cbatch_i64(b, c->time_col, r);
        if (ts <= s->wm) {
            late++;
            continue;
        }
        size_t kl = tide_key_row_size(b, r, c->key_cols, c->n_keys);
        if (kl + 1 > s->kbcap && tide_array_grow((void **)&s->kbuf, &s->kbcap, kl + 1, 1) != 0) {
            rc = tide_err_set(e, TIDE_ENOMEM, "over node: out of memory for a key");
            break;
        }
        tide_key_row_put(b, r, c->key_cols, c->n_keys, s->kbuf);
        uint32_t key = 0, row = 0;
        for (size_t col = 0; col < s->ncols; col++)
            s->tmp[col] = tide_cbatch_get(b, (uint32_t)col, r);
        if ((rc = key_get(s, s->kbuf, (uint32_t)kl, &key, e)) != 0 ||
            (rc = row_new(s, ts, s->step, s->seq, key, s->tmp, &row, e)) != 0)
            break;
        s->seq++;
        if ((rc = heap_push(s, row, e)) != 0)
            row_free(s, row);
    }
    if (late)
        tide_node_count(cx, TIDE_NODE_LATE, late);
    if (bad)
        tide_node_count(cx, TIDE_NODE_BAD, bad);
    return rc;
}

static int over_watermark(void *self, int64_t wm, tide_node_ctx *cx, tide_err *e)
{
    over_node *s = self;
    s->cx = cx;
    s->wm = wm;
    s->step++;
    size_t n = 0;
    while (s->hn > 0 && s->rows[s->heap[0]].ts <= wm) {
        if (n + 1 > s->dcap && tide_array_grow((void **)&s->due, &s->dcap, n + 1, sizeof *s->due) != 0)
            return tide_err_set(e, TIDE_ENOMEM, "over node: out of memory");
        s->due[n++] = heap_pop(s);
    }
    if (n == 0)
        return 0;
    qsort_r(s->due, n, sizeof *s->due, due_cmp, s);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0;) {
        uint32_t key = s->rows[s->due[i]].key;
        size_t j = i;
        while (j < n && s->rows[s->due[j]].key == key)
            j++;
        rc = run_key(s, &s->keys[key], s->due + i, j - i, e);
        i = j;
    }
    if (rc == 0)
        rc = flush(s, e);
    tide_cbatch_reset(s->out);
    return rc;
}

/* ---- snapshot ---- */

static void put_row(tide_snap_w *w, const over_node *s, uint32_t r)
{
    tide_snap_put_i64(w, s->rows[r].ts);
    tide_snap_put_u64(w, s->rows[r].step);
    tide_snap_put_u64(w, s->rows[r].seq);
    const tide_value *v = row_vals(s, r);
    for (size_t c = 0; c < s->ncols; c++)
        tide_snap_put_value(w, &v[c]);
}

static void put_fingerprint(tide_snap_w *w, const tide_node_over_cfg *c, size_t ncols)
{
    tide_snap_put_u32(w, (uint32_t)ncols);
    tide_snap_put_u32(w, c->n_keys);
    tide_snap_put_u32(w, c->n_aggs);
    for (uint32_t a = 0; a < c->n_aggs; a++)
        tide_snap_put_u32(w, (uint32_t)c->aggs[a].kind);
    tide_snap_put_bool(w, c->rows);
    tide_snap_put_bool(w, c->unbounded);
    tide_snap_put_i64(w, c->preceding);
}

/* Read back what put_fingerprint wrote: the same configuration? */
static bool same_config(tide_snap_r *r, const tide_node_over_cfg *c, size_t ncols)
{
    bool same = tide_snap_get_u32(r) == (uint32_t)ncols;
    same &= tide_snap_get_u32(r) == c->n_keys;
    uint32_t na = tide_snap_get_u32(r);
    same &= na == c->n_aggs;
    for (uint32_t a = 0; same && a < na; a++)
        same &= tide_snap_get_u32(r) == (uint32_t)c->aggs[a].kind;
    same &= tide_snap_get_bool(r) == c->rows;
    same &= tide_snap_get_bool(r) == c->unbounded;
    same &= tide_snap_get_i64(r) == c->preceding;
    return same;
}

static int over_snapshot(void *self, int64_t id, tide_buf *out, tide_err *e)
{
    (void)id;
    over_node *s = self;
    tide_snap_w w;
    tide_snap_begin(&w, out, "over", OVER_SNAP_VERSION);
    put_fingerprint(&w, s->cfg, s->ncols);
    tide_snap_put_i64(&w, s->wm);
    tide_snap_put_u64(&w, s->seq);
    tide_snap_put_u64(&w, s->step);
    tide_snap_put_varint(&w, s->nkeys);
    for (size_t i = 0; i < s->nkeys; i++) {
        const okey *k = &s->keys[i];
        tide_snap_put_bytes(&w, k->bytes, k->len);
        for (uint32_t a = 0; a < s->cfg->n_aggs; a++)
            tide_agg_snap_put(&s->aggs[a], k->slots + s->slot_off[a], &w);
        tide_snap_put_varint(&w, k->n);
        for (uint32_t r = k->head; r != NIL; r = s->rows[r].next)
            put_row(&w, s, r);
    }
    tide_snap_put_varint(&w, s->hn);
    for (size_t i = 0; i < s->hn; i++) {
        tide_snap_put_u32(&w, s->rows[s->heap[i]].key);
        put_row(&w, s, s->heap[i]);
    }
    return tide_snap_end(&w, e);
}

/* A row of the snapshot into the pool (strings copied out of the buffer). */
static int get_row(tide_snap_r *r, over_node *s, uint32_t key, uint32_t *out, tide_err *e)
{
    int64_t ts = tide_snap_get_i64(r);
    uint64_t step = tide_snap_get_u64(r), seq = tide_snap_get_u64(r);
    for (size_t c = 0; c < s->ncols; c++) {
        s->tmp[c] = tide_snap_get_value(r);
        tide_type want = tide_schema_col(s->cfg->in, c)->type;
        if (!s->tmp[c].is_null && s->tmp[c].type != want)
            tide_snap_fail(r);
    }
    if (tide_snap_failed(r))
        return tide_snap_close(r, e);
    return row_new(s, ts, step, seq, key, s->tmp, out, e);
}

static int over_restore(void *self, const void *buf, size_t len, tide_err *e)
{
    over_node *s = self;
    tide_snap_r r;
    int rc = tide_snap_open(&r, buf, len, "over", OVER_SNAP_VERSION, NULL, e);
    if (rc != 0)
        return rc;
    if (!same_config(&r, s->cfg, s->ncols) && !tide_snap_failed(&r))
        return tide_err_set(e, TIDE_EINVAL,
                            "snapshot of over: another configuration (columns, keys, aggregates or frame differ)");
    s->wm = tide_snap_get_i64(&r);
    s->seq = tide_snap_get_u64(&r);
    s->step = tide_snap_get_u64(&r);
    uint64_t nk = tide_snap_get_varint(&r);
    if (nk > tide_snap_remaining(&r))
        tide_snap_fail(&r);
    for (uint64_t i = 0; i < nk && !tide_snap_failed(&r); i++) {
        size_t kl;
        const void *kb = tide_snap_get_bytes(&r, &kl);
        uint32_t key;
        if (tide_snap_failed(&r))
            break;
        if ((rc = key_get(s, kb, (uint32_t)kl, &key, e)) != 0)
            return rc;
        if (key != i) { /* a key twice */
            tide_snap_fail(&r);
            break;
        }
        okey *k = &s->keys[key];
        for (uint32_t a = 0; a < s->cfg->n_aggs; a++) {
            tide_agg_free(&s->aggs[a], k->slots + s->slot_off[a]);
            if ((rc = tide_agg_snap_get(&s->aggs[a], k->slots + s->slot_off[a], &r, e)) != 0)
                return rc;
        }
        uint64_t nr = tide_snap_get_varint(&r);
        if (nr > tide_snap_remaining(&r))
            tide_snap_fail(&r);
        for (uint64_t j = 0; j < nr && !tide_snap_failed(&r); j++) {
            uint32_t row;
            if ((rc = get_row(&r, s, key, &row, e)) != 0)
                return rc;
            fifo_push(s, &s->keys[key], row);
        }
    }
    uint64_t nh = tide_snap_get_varint(&r);
    if (nh > tide_snap_remaining(&r))
        tide_snap_fail(&r);
    for (uint64_t i = 0; i < nh && !tide_snap_failed(&r); i++) {
        uint32_t key = tide_snap_get_u32(&r), row;
        if (key >= s->nkeys) {
            tide_snap_fail(&r);
            break;
        }
        if ((rc = get_row(&r, s, key, &row, e)) != 0)
            return rc;
        if ((rc = heap_push(s, row, e)) != 0)
            return rc;
    }
    return tide_snap_close(&r, e);
}

const tide_node_vt tide_node_over_vt = {
    .kind = "over",
    .batch = over_batch,
    .watermark = over_watermark,
    .snapshot = over_snapshot,
    .restore = over_restore,
    .free = over_free,
};
