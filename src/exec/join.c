/*
 * join.c - interval and window stream-stream joins (see join.h for the
 * semantics).
 *
 * Layout.  Each side has a row pool: a dense array of row headers (event
 * time, list links, owner id, an owned string buffer) and a parallel array
 * of n values per row.  Freed slots go on a free list and keep their string
 * buffer, so a steady state allocates nothing per row.  A row belongs to one
 * owner's doubly linked list (an interval-join key, or a window-join pane),
 * kept in arrival order, which gives the deterministic output order.
 *
 * Interval join: a table from key bytes to a key id; per side a min-heap of
 * (ts, row) over all buffered rows, so an advance pops exactly the expired
 * rows (O(log n) each) and unlinks them from their key's list in O(1).
 *
 * Window join: a table from (start, end, key bytes) to a pane id, and a
 * min-heap of panes ordered by (end, start, key bytes): an advance pops the
 * due panes in output order.
 */
#include "exec/join.h"
#include "base/buf.h"

#include "state/snap.h"
#include "state/table.h"
#include "time/trigger.h"
#include "time/watermark.h"

#include <stdlib.h>
#include <string.h>

#define NIL UINT32_MAX

/* ---- growable arrays ---------------------------------------------------- */


/* ---- row pool ----------------------------------------------------------- */

typedef struct jrow {
    int64_t ts;
    uint32_t prev, next; /* owner list links; `next` doubles as the free list */
    uint32_t owner;
    bool matched;        /* interval join: met a match (the outer rule) */
    uint64_t seq;        /* interval join: its place in the leaving order */
    char *strs;          /* owned; holds the row's string bytes */
    size_t str_cap;
} jrow;

typedef struct jpool {
    jrow *rows;
    tide_value *vals; /* nv per row */
    size_t nv;
    size_t cap;       /* rows */
    size_t vcap;      /* values */
    uint32_t hi;      /* slots ever used */
    uint32_t free_head;
    size_t live;
} jpool;

typedef struct jlist {
    uint32_t head, tail;
} jlist;

static void pool_init(jpool *p, size_t nv)
{
    memset(p, 0, sizeof *p);
    p->nv = nv;
    p->free_head = NIL;
}

static void pool_destroy(jpool *p)
{
    for (uint32_t i = 0; i < p->hi; i++)
        free(p->rows[i].strs);
    free(p->rows);
    free(p->vals);
}

static const tide_value *pool_vals(const jpool *p, uint32_t i)
{
    return p->nv ? p->vals + (size_t)i * p->nv : NULL;
}

/* Copy a row into a slot.  On TIDE_ENOMEM the pool is as it was. */
static int pool_add(jpool *p, int64_t ts, uint32_t owner, const tide_value *in, uint32_t *out)
{
    uint32_t i;
    bool fresh = false;
    if (p->free_head != NIL) {
        i = p->free_head;
    } else {
        if (p->hi == NIL - 1)
            return TIDE_ENOMEM;
        if (tide_array_grow((void **)&p->rows, &p->cap, (size_t)p->hi + 1, sizeof *p->rows) != 0)
            return TIDE_ENOMEM;
        if (p->nv && tide_array_grow((void **)&p->vals, &p->vcap, ((size_t)p->hi + 1) * p->nv,
                          sizeof *p->vals) != 0)
            return TIDE_ENOMEM;
        i = p->hi;
        p->rows[i].strs = NULL;
        p->rows[i].str_cap = 0;
        fresh = true;
    }
    jrow *r = &p->rows[i];
    size_t need = 0;
    for (size_t j = 0; j < p->nv; j++)
        if (!in[j].is_null && in[j].type == TIDE_TYPE_STRING)
            need += in[j].u.s.len;
    if (need > r->str_cap) {
        size_t ncap = r->str_cap ? r->str_cap : 32;
        while (ncap < need)
            ncap *= 2;
        char *ns = realloc(r->strs, ncap);
        if (!ns) {
            if (fresh) { /* keep the slot (it owns r->strs) on the free list */
                p->hi++;
                r->next = p->free_head;
                p->free_head = i;
            }
            return TIDE_ENOMEM;
        }
        r->strs = ns;
        r->str_cap = ncap;
    }
    if (fresh)
        p->hi++;
    else
        p->free_head = r->next;
    tide_value *v = p->nv ? p->vals + (size_t)i * p->nv : NULL;
    size_t off = 0;
    for (size_t j = 0; j < p->nv; j++) {
        v[j] = in[j];
        if (!in[j].is_null && in[j].type == TIDE_TYPE_STRING) {
            if (in[j].u.s.len)
                memcpy(r->strs + off, in[j].u.s.ptr, in[j].u.s.len);
            v[j].u.s.ptr = r->strs ? r->strs + off : "";
            off += in[j].u.s.len;
        }
    }
    r->ts = ts;
    r->prev = r->next = NIL;
    r->owner = owner;
    r->matched = false;
    p->live++;
    *out = i;
    return 0;
}

static void pool_release(jpool *p, uint32_t i)
{
    p->rows[i].next = p->free_head;
    p->free_head = i;
    p->live--;
}

static void list_append(jpool *p, jlist *l, uint32_t i)
{
    p->rows[i].prev = l->tail;
    p->rows[i].next = NIL;
    if (l->tail != NIL)
        p->rows[l->tail].next = i;
    else
        l->head = i;
    l->tail = i;
}

static void list_unlink(jpool *p, jlist *l, uint32_t i)
{
    jrow *r = &p->rows[i];
    if (r->prev != NIL)
        p->rows[r->prev].next = r->next;
    else
        l->head = r->next;
    if (r->next != NIL)
        p->rows[r->next].prev = r->prev;
    else
        l->tail = r->prev;
}

/* Release every row of a list. */
static void list_release_all(jpool *p, jlist *l)
{
    uint32_t i = l->head;
    while (i != NIL) {
        uint32_t nx = p->rows[i].next;
        pool_release(p, i);
        i = nx;
    }
    l->head = l->tail = NIL;
}

/* An owned copy of key bytes, reused across owners. */
static int set_bytes(char **buf, uint32_t *cap, const void *src, uint32_t len)
{
    if (len > *cap) {
        char *nb = realloc(*buf, len);
        if (!nb)
            return TIDE_ENOMEM;
        *buf = nb;
        *cap = len;
    }
    if (len)
        memcpy(*buf, src, len);
    return 0;
}

static int cb_code(int rc) { return rc < 0 ? rc : TIDE_EFAILED; }

/* Whether a candidate pair matches: 1, 0, or a negative code. */
static int call_match(tide_join_match_fn match, void *ctx, const tide_join_row *row)
{
    if (!match)
        return 1;
    int rc = match(ctx, row);
    return rc < 0 ? rc : rc != 0;
}

/* A row of side s with NULLs for the other side (the outer rule). */
static int emit_padded(tide_join_emit_fn emit, void *ctx, int s, const void *key, uint32_t klen,
                       const tide_value *vals, size_t n_left, size_t n_right, int64_t ts,
                       int64_t start, int64_t end, int64_t out_ts)
{
    tide_join_row row = {.key = key, .key_len = klen, .n_left = n_left, .n_right = n_right,
                         .ts = out_ts, .start = start, .end = end};
    if (s == TIDE_JOIN_LEFT) {
        row.left = vals;
        row.left_ts = ts;
    } else {
        row.right = vals;
        row.right_ts = ts;
    }
    return emit(ctx, &row);
}

/* ======================================================================== */
/* interval join                                                            */
/* ======================================================================== */

typedef struct ikey {
    jlist l[2];
    size_t n[2];
    char *kb;
    uint32_t klen, kcap;
    uint32_t next_free;
} ikey;

/* Rows leave in (ts, seq) order, seq counting the rows buffered: the order
 * of their padded rows (outer), the same after a restore. */
typedef struct iheap_ent {
    int64_t ts;
    uint64_t seq;
    uint32_t row;
} iheap_ent;

static bool ient_lt(const iheap_ent *a, const iheap_ent *b)
{
    return a->ts < b->ts || (a->ts == b->ts && a->seq < b->seq);
}

struct tide_join_interval {
    tide_join_interval_config cfg;
    int failed;
    int64_t wm;
    jpool pool[2];
    tide_table *keys; /* key bytes -> uint32 key id */
    ikey *ks;
    size_t ks_cap;
    uint32_t ks_hi, ks_free;
    size_t live_keys;
    iheap_ent *heap[2];
    size_t heap_n[2], heap_cap[2];
    uint64_t seq; /* rows buffered so far (iheap_ent) */
    uint64_t late, unbuffered;
};

static int ifail(tide_join_interval *op, tide_err *e, int code, const char *what)
{
    if (!op->failed)
        op->failed = code;
    return tide_err_set(e, code, "interval join: %s", what);
}

int tide_join_interval_create(const tide_join_interval_config *cfg, tide_join_interval **out,
                              tide_err *e)
{
    int rc = 0;
    tide_join_interval *op = NULL;
    *out = NULL;
    if (!cfg || !cfg->emit)
        return tide_err_set(e, TIDE_EINVAL, "interval join: an emit callback is required");
    if (cfg->lo > cfg->hi)
        return tide_err_set(e, TIDE_EINVAL,
                            "interval join: lower bound %lld above upper bound %lld",
                            (long long)cfg->lo, (long long)cfg->hi);
    op = calloc(1, sizeof *op);
    if (!op) {
        rc = tide_err_set(e, TIDE_ENOMEM, "interval join: out of memory at create");
        goto fail;
    }
    op->cfg = *cfg;
    op->wm = TIDE_TS_MIN;
    pool_init(&op->pool[0], cfg->n_left);
    pool_init(&op->pool[1], cfg->n_right);
    op->ks_free = NIL;
    rc = tide_table_create(&op->keys, TIDE_TABLE_KEY_BYTES, sizeof(uint32_t), 0, e);
    if (rc != 0)
        goto fail;
    *out = op;
    return 0;
fail:
    tide_join_interval_free(op);
    return rc;
}

void tide_join_interval_free(tide_join_interval *op)
{
    if (!op)
        return;
    for (int s = 0; s < 2; s++) {
        pool_destroy(&op->pool[s]);
        free(op->heap[s]);
    }
    for (uint32_t i = 0; i < op->ks_hi; i++)
        free(op->ks[i].kb);
    free(op->ks);
    tide_table_free(op->keys);
    free(op);
}

static int iheap_push(tide_join_interval *op, int s, int64_t ts, uint64_t seq, uint32_t row)
{
    if (tide_array_grow((void **)&op->heap[s], &op->heap_cap[s], op->heap_n[s] + 1, sizeof(iheap_ent)) != 0)
        return TIDE_ENOMEM;
    iheap_ent *h = op->heap[s];
    iheap_ent x = {ts, seq, row};
    size_t i = op->heap_n[s]++;
    while (i > 0) {
        size_t par = (i - 1) / 2;
        if (!ient_lt(&x, &h[par]))
            break;
        h[i] = h[par];
        i = par;
    }
    h[i] = x;
    return 0;
}

static void iheap_pop(tide_join_interval *op, int s)
{
    iheap_ent *h = op->heap[s];
    size_t n = --op->heap_n[s];
    if (n == 0)
        return;
    iheap_ent last = h[n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && ient_lt(&h[c + 1], &h[c]))
            c++;
        if (!ient_lt(&h[c], &last))
            break;
        h[i] = h[c];
        i = c;
    }
    h[i] = last;
}

/* Keep condition of a row of side `s` under watermark `wm` (join.h). */
static bool ikeep(const tide_join_interval *op, int s, int64_t ts, int64_t wm)
{
    if (wm == TIDE_TS_MAX)
        return false;
    if (s == TIDE_JOIN_LEFT)
        return ts >= tide_wm_sat_add(wm, op->cfg.lo);
    return ts >= tide_wm_sat_sub(wm, op->cfg.hi);
}

static int ikey_get(tide_join_interval *op, const void *key, uint32_t klen, uint32_t *out,
                    tide_err *e)
{
    void *v;
    bool is_new;
    int rc = tide_table_upsert(op->keys, key, klen, &v, &is_new, e);
    if (rc != 0)
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
            tide_table_delete(op->keys, key, klen);
            return tide_err_set(e, TIDE_ENOMEM, "interval join: out of memory for keys");
        }
        id = op->ks_hi++;
        op->ks[id].kb = NULL;
        op->ks[id].kcap = 0;
    }
    ikey *k = &op->ks[id];
    if (set_bytes(&k->kb, &k->kcap, key, klen) != 0) {
        k->next_free = op->ks_free;
        op->ks_free = id;
        tide_table_delete(op->keys, key, klen);
        return tide_err_set(e, TIDE_ENOMEM, "interval join: out of memory for a key");
    }
    k->klen = klen;
    for (int s = 0; s < 2; s++) {
        k->l[s].head = k->l[s].tail = NIL;
        k->n[s] = 0;
    }
    memcpy(v, &id, sizeof id);
    op->live_keys++;
    *out = id;
    return 0;
}

static void ikey_maybe_free(tide_join_interval *op, uint32_t id)
{
    ikey *k = &op->ks[id];
    if (k->n[0] || k->n[1])
        return;
    tide_table_delete(op->keys, k->kb, k->klen);
    k->next_free = op->ks_free;
    op->ks_free = id;
    op->live_keys--;
}

int tide_join_interval_push(tide_join_interval *op, tide_join_side side, const void *key,
                            uint32_t key_len, int64_t ts, const tide_value *vals, tide_err *e)
{
    if (op->failed)
        return tide_err_set(e, op->failed, "interval join: operator failed earlier");
    if (side != TIDE_JOIN_LEFT && side != TIDE_JOIN_RIGHT)
        return tide_err_set(e, TIDE_EINVAL, "interval join: bad side %d", (int)side);
    if (!vals && op->pool[side].nv)
        return tide_err_set(e, TIDE_EINVAL, "interval join: NULL values for a %zu-value row",
                            op->pool[side].nv);
    int s = (int)side, o = 1 - s;
    int64_t wm = op->wm;
    bool matched = false;
    if (ts < wm)
        op->late++;
    void *v = tide_table_find(op->keys, key, key_len);
    if (v) {
        uint32_t id;
        memcpy(&id, v, sizeof id);
        jpool *op_pool = &op->pool[o];
        tide_join_row row = {.key = key, .key_len = key_len};
        for (uint32_t i = op->ks[id].l[o].head; i != NIL; i = op_pool->rows[i].next) {
            int64_t ots = op_pool->rows[i].ts;
            int64_t lts = s == TIDE_JOIN_LEFT ? ts : ots;
            int64_t rts = s == TIDE_JOIN_LEFT ? ots : ts;
            int64_t d = tide_wm_sat_sub(lts, rts);
            if (d < op->cfg.lo || d > op->cfg.hi)
                continue;
            if (s == TIDE_JOIN_LEFT) {
                row.left = vals;
                row.right = pool_vals(op_pool, i);
            } else {
                row.left = pool_vals(op_pool, i);
                row.right = vals;
            }
            row.n_left = op->cfg.n_left;
            row.n_right = op->cfg.n_right;
            row.left_ts = lts;
            row.right_ts = rts;
            row.ts = lts > rts ? lts : rts;
            int m = call_match(op->cfg.match, op->cfg.ctx, &row);
            if (m < 0) {
                op->failed = m;
                return tide_err_set(e, m, "interval join: match callback returned %d", m);
            }
            if (!m)
                continue;
            matched = true;
            op_pool->rows[i].matched = true;
            int rc = op->cfg.emit(op->cfg.ctx, &row);
            if (rc != 0) {
                op->failed = cb_code(rc);
                return tide_err_set(e, op->failed, "interval join: emit callback returned %d",
                                    rc);
            }
        }
    }
    if (!ikeep(op, s, ts, wm)) {
        op->unbuffered++;
        if (op->cfg.outer[s] && !matched) { /* it can meet nothing more: final */
            int rc = emit_padded(op->cfg.emit, op->cfg.ctx, s, key, key_len, vals, op->cfg.n_left,
                                 op->cfg.n_right, ts, 0, 0, ts);
            if (rc != 0) {
                op->failed = cb_code(rc);
                return tide_err_set(e, op->failed, "interval join: emit callback returned %d",
                                    rc);
            }
        }
        return 0;
    }
    uint32_t id = 0, ri = 0;
    int rc = ikey_get(op, key, key_len, &id, e);
    if (rc != 0) {
        op->failed = rc;
        return rc;
    }
    if (pool_add(&op->pool[s], ts, id, vals, &ri) != 0) {
        ikey_maybe_free(op, id);
        return ifail(op, e, TIDE_ENOMEM, "out of memory buffering a row");
    }
    if (iheap_push(op, s, ts, op->seq, ri) != 0) {
        pool_release(&op->pool[s], ri);
        ikey_maybe_free(op, id);
        return ifail(op, e, TIDE_ENOMEM, "out of memory buffering a row");
    }
    list_append(&op->pool[s], &op->ks[id].l[s], ri);
    op->pool[s].rows[ri].matched = matched;
    op->pool[s].rows[ri].seq = op->seq++;
    op->ks[id].n[s]++;
    return 0;
}

int tide_join_interval_advance_watermark(tide_join_interval *op, int64_t wm, tide_err *e)
{
    if (op->failed)
        return tide_err_set(e, op->failed, "interval join: operator failed earlier");
    if (wm <= op->wm)
        return 0;
    op->wm = wm;
    for (int s = 0; s < 2; s++) {
        jpool *p = &op->pool[s];
        while (op->heap_n[s] > 0 && !ikeep(op, s, op->heap[s][0].ts, wm)) {
            uint32_t ri = op->heap[s][0].row;
            uint32_t id = p->rows[ri].owner;
            if (op->cfg.outer[s] && !p->rows[ri].matched) {
                /* it leaves unmatched: its padded row, final (join.h) */
                int rc = emit_padded(op->cfg.emit, op->cfg.ctx, s, op->ks[id].kb, op->ks[id].klen,
                                     pool_vals(p, ri), op->cfg.n_left, op->cfg.n_right,
                                     p->rows[ri].ts, 0, 0, p->rows[ri].ts);
                if (rc != 0) {
                    op->failed = cb_code(rc);
                    return tide_err_set(e, op->failed,
                                        "interval join: emit callback returned %d", rc);
                }
            }
            iheap_pop(op, s);
            list_unlink(p, &op->ks[id].l[s], ri);
            op->ks[id].n[s]--;
            pool_release(p, ri);
            ikey_maybe_free(op, id);
        }
    }
    return 0;
}

int64_t tide_join_interval_watermark(const tide_join_interval *op) { return op->wm; }

size_t tide_join_interval_rows(const tide_join_interval *op, tide_join_side side)
{
    return op->pool[side == TIDE_JOIN_RIGHT].live;
}

size_t tide_join_interval_keys(const tide_join_interval *op) { return op->live_keys; }
uint64_t tide_join_interval_late_count(const tide_join_interval *op) { return op->late; }
uint64_t tide_join_interval_unbuffered_count(const tide_join_interval *op)
{
    return op->unbuffered;
}

/* ======================================================================== */
/* window join                                                              */
/* ======================================================================== */

typedef struct pane {
    int64_t start, end;
    jlist l[2];
    char *kb;
    uint32_t klen, kcap;
    uint32_t next_free;
} pane;

struct tide_join_window {
    tide_join_window_config cfg;
    int failed;
    int64_t wm;
    jpool pool[2];
    tide_table *panes;     /* (start, end, key bytes) -> uint32 pane id */
    pane *ps;
    size_t ps_cap;
    uint32_t ps_hi, ps_free;
    size_t live_panes;
    uint32_t *heap;        /* pane ids by (end, start, key) */
    size_t heap_n, heap_cap;
    tide_win_range *ranges;
    unsigned char *scratch; /* composite key */
    size_t scratch_cap;
    uint64_t late, late_windows;
};

static int wfail(tide_join_window *op, tide_err *e, int code, const char *what)
{
    if (!op->failed)
        op->failed = code;
    return tide_err_set(e, code, "window join: %s", what);
}

int tide_join_window_create(const tide_join_window_config *cfg, tide_join_window **out,
                            tide_err *e)
{
    int rc = 0;
    tide_join_window *op = NULL;
    *out = NULL;
    if (!cfg || !cfg->emit)
        return tide_err_set(e, TIDE_EINVAL, "window join: an emit callback is required");
    rc = tide_win_spec_check(&cfg->window, e);
    if (rc != 0)
        return rc;
    if (cfg->window.kind == TIDE_WIN_SESSION)
        return tide_err_set(e, TIDE_EUNSUPPORTED, "window join: SESSION windows not supported");
    op = calloc(1, sizeof *op);
    if (!op) {
        rc = tide_err_set(e, TIDE_ENOMEM, "window join: out of memory at create");
        goto fail;
    }
    op->cfg = *cfg;
    op->wm = TIDE_TS_MIN;
    pool_init(&op->pool[0], cfg->n_left);
    pool_init(&op->pool[1], cfg->n_right);
    op->ps_free = NIL;
    op->ranges = malloc(tide_win_max_windows(&cfg->window) * sizeof *op->ranges);
    if (!op->ranges) {
        rc = tide_err_set(e, TIDE_ENOMEM, "window join: out of memory at create");
        goto fail;
    }
    rc = tide_table_create(&op->panes, TIDE_TABLE_KEY_BYTES, sizeof(uint32_t), 0, e);
    if (rc != 0)
        goto fail;
    *out = op;
    return 0;
fail:
    tide_join_window_free(op);
    return rc;
}

void tide_join_window_free(tide_join_window *op)
{
    if (!op)
        return;
    for (int s = 0; s < 2; s++)
        pool_destroy(&op->pool[s]);
    for (uint32_t i = 0; i < op->ps_hi; i++)
        free(op->ps[i].kb);
    free(op->ps);
    free(op->heap);
    free(op->ranges);
    free(op->scratch);
    tide_table_free(op->panes);
    free(op);
}

/* (end, start, key bytes) order; key bytes by memcmp, shorter first. */
static int pane_cmp(const tide_join_window *op, uint32_t a, uint32_t b)
{
    const pane *x = &op->ps[a], *y = &op->ps[b];
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    uint32_t n = x->klen < y->klen ? x->klen : y->klen;
    int c = n ? memcmp(x->kb, y->kb, n) : 0;
    if (c != 0)
        return c;
    return x->klen < y->klen ? -1 : x->klen > y->klen ? 1 : 0;
}

static int wheap_push(tide_join_window *op, uint32_t id)
{
    if (tide_array_grow((void **)&op->heap, &op->heap_cap, op->heap_n + 1, sizeof *op->heap) != 0)
        return TIDE_ENOMEM;
    size_t i = op->heap_n++;
    while (i > 0) {
        size_t par = (i - 1) / 2;
        if (pane_cmp(op, op->heap[par], id) <= 0)
            break;
        op->heap[i] = op->heap[par];
        i = par;
    }
    op->heap[i] = id;
    return 0;
}

static void wheap_pop(tide_join_window *op)
{
    size_t n = --op->heap_n;
    if (n == 0)
        return;
    uint32_t last = op->heap[n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && pane_cmp(op, op->heap[c + 1], op->heap[c]) < 0)
            c++;
        if (pane_cmp(op, op->heap[c], last) >= 0)
            break;
        op->heap[i] = op->heap[c];
        i = c;
    }
    op->heap[i] = last;
}

static void put_i64(unsigned char *p, int64_t v) { memcpy(p, &v, sizeof v); }

/* The composite table key of (window, key) in op->scratch; its length. */
static int pane_key(tide_join_window *op, tide_win_range w, const void *key, uint32_t klen,
                    size_t *len)
{
    size_t n = 16 + (size_t)klen;
    if (tide_array_grow((void **)&op->scratch, &op->scratch_cap, n, 1) != 0)
        return TIDE_ENOMEM;
    put_i64(op->scratch, w.start);
    put_i64(op->scratch + 8, w.end);
    if (klen)
        memcpy(op->scratch + 16, key, klen);
    *len = n;
    return 0;
}

static int pane_get(tide_join_window *op, tide_win_range w, const void *key, uint32_t klen,
                    uint32_t *out, tide_err *e)
{
    size_t n;
    if (pane_key(op, w, key, klen, &n) != 0)
        return tide_err_set(e, TIDE_ENOMEM, "window join: out of memory for a pane key");
    void *v;
    bool is_new;
    int rc = tide_table_upsert(op->panes, op->scratch, n, &v, &is_new, e);
    if (rc != 0)
        return rc;
    if (!is_new) {
        memcpy(out, v, sizeof *out);
        return 0;
    }
    uint32_t id;
    if (op->ps_free != NIL) {
        id = op->ps_free;
        op->ps_free = op->ps[id].next_free;
    } else {
        if (op->ps_hi == NIL - 1 ||
            tide_array_grow((void **)&op->ps, &op->ps_cap, (size_t)op->ps_hi + 1, sizeof *op->ps) != 0) {
            tide_table_delete(op->panes, op->scratch, n);
            return tide_err_set(e, TIDE_ENOMEM, "window join: out of memory for panes");
        }
        id = op->ps_hi++;
        op->ps[id].kb = NULL;
        op->ps[id].kcap = 0;
    }
    pane *p = &op->ps[id];
    if (set_bytes(&p->kb, &p->kcap, key, klen) != 0) {
        p->next_free = op->ps_free;
        op->ps_free = id;
        tide_table_delete(op->panes, op->scratch, n);
        return tide_err_set(e, TIDE_ENOMEM, "window join: out of memory for a key");
    }
    p->klen = klen;
    p->start = w.start;
    p->end = w.end;
    for (int s = 0; s < 2; s++)
        p->l[s].head = p->l[s].tail = NIL;
    if (wheap_push(op, id) != 0) {
        p->next_free = op->ps_free;
        op->ps_free = id;
        tide_table_delete(op->panes, op->scratch, n);
        return tide_err_set(e, TIDE_ENOMEM, "window join: out of memory for the pane heap");
    }
    memcpy(v, &id, sizeof id);
    op->live_panes++;
    *out = id;
    return 0;
}

/* Release a pane's rows, its table entry and its id (already off the heap). */
static void pane_free(tide_join_window *op, uint32_t id)
{
    pane *p = &op->ps[id];
    for (int s = 0; s < 2; s++)
        list_release_all(&op->pool[s], &p->l[s]);
    size_t n;
    if (pane_key(op, (tide_win_range){p->start, p->end}, p->kb, p->klen, &n) == 0)
        tide_table_delete(op->panes, op->scratch, n);
    /* pane_key cannot fail here: scratch already held a key this long when
     * the pane was created. */
    p->next_free = op->ps_free;
    op->ps_free = id;
    op->live_panes--;
}

int tide_join_window_push(tide_join_window *op, tide_join_side side, const void *key,
                          uint32_t key_len, int64_t ts, const tide_value *vals, tide_err *e)
{
    if (op->failed)
        return tide_err_set(e, op->failed, "window join: operator failed earlier");
    if (side != TIDE_JOIN_LEFT && side != TIDE_JOIN_RIGHT)
        return tide_err_set(e, TIDE_EINVAL, "window join: bad side %d", (int)side);
    if (!vals && op->pool[side].nv)
        return tide_err_set(e, TIDE_EINVAL, "window join: NULL values for a %zu-value row",
                            op->pool[side].nv);
    int s = (int)side;
    size_t nw = tide_win_assign(&op->cfg.window, ts, op->ranges);
    uint64_t missed = 0;
    for (size_t i = 0; i < nw; i++) {
        tide_win_range w = op->ranges[i];
        if (tide_trig_due(w.end, op->wm)) { /* fired (W >= end - 1): late for it */
            missed++;
            continue;
        }
        uint32_t id = 0, ri = 0;
        int rc = pane_get(op, w, key, key_len, &id, e);
        if (rc != 0) {
            op->failed = rc;
            return rc;
        }
        if (pool_add(&op->pool[s], ts, id, vals, &ri) != 0)
            return wfail(op, e, TIDE_ENOMEM, "out of memory buffering a row");
        list_append(&op->pool[s], &op->ps[id].l[s], ri);
    }
    if (missed) {
        op->late++;
        op->late_windows += missed;
        if (op->cfg.late) {
            size_t nv = s == TIDE_JOIN_LEFT ? op->cfg.n_left : op->cfg.n_right;
            int rc = op->cfg.late(op->cfg.ctx, side, key, key_len, ts, vals, nv);
            if (rc != 0) {
                op->failed = cb_code(rc);
                return tide_err_set(e, op->failed, "window join: late callback returned %d", rc);
            }
        }
    }
    return 0;
}

/* The pane's joined rows: left rows in arrival order, each with its
 * matching right rows in arrival order (or, outer, padded); then, outer on
 * the right, the right rows no left row matched, in arrival order. */
static int pane_fire(tide_join_window *op, uint32_t id)
{
    const pane *p = &op->ps[id];
    jpool *lp = &op->pool[0], *rp = &op->pool[1];
    tide_join_row row = {.key = p->kb, .key_len = p->klen, .n_left = op->cfg.n_left,
                         .n_right = op->cfg.n_right, .ts = p->end - 1, .start = p->start,
                         .end = p->end};
    if (p->end == TIDE_TS_MIN)
        row.ts = TIDE_TS_MIN;
    for (uint32_t j = p->l[1].head; j != NIL; j = rp->rows[j].next)
        rp->rows[j].matched = false;
    for (uint32_t i = p->l[0].head; i != NIL; i = lp->rows[i].next) {
        row.left = pool_vals(lp, i);
        row.left_ts = lp->rows[i].ts;
        bool matched = false;
        for (uint32_t j = p->l[1].head; j != NIL; j = rp->rows[j].next) {
            row.right = pool_vals(rp, j);
            row.right_ts = rp->rows[j].ts;
            int rc = call_match(op->cfg.match, op->cfg.ctx, &row);
            if (rc < 0)
                return rc;
            if (!rc)
                continue;
            matched = true;
            rp->rows[j].matched = true;
            if ((rc = op->cfg.emit(op->cfg.ctx, &row)) != 0)
                return rc;
        }
        if (!matched && op->cfg.outer[0]) {
            int rc = emit_padded(op->cfg.emit, op->cfg.ctx, 0, p->kb, p->klen, row.left,
                                 op->cfg.n_left, op->cfg.n_right, row.left_ts, p->start, p->end,
                                 row.ts);
            if (rc != 0)
                return rc;
        }
    }
    if (op->cfg.outer[1])
        for (uint32_t j = p->l[1].head; j != NIL; j = rp->rows[j].next) {
            if (rp->rows[j].matched)
                continue;
            int rc = emit_padded(op->cfg.emit, op->cfg.ctx, 1, p->kb, p->klen, pool_vals(rp, j),
                                 op->cfg.n_left, op->cfg.n_right, rp->rows[j].ts, p->start,
                                 p->end, row.ts);
            if (rc != 0)
                return rc;
        }
    return 0;
}

int tide_join_window_advance_watermark(tide_join_window *op, int64_t wm, tide_err *e)
{
    if (op->failed)
        return tide_err_set(e, op->failed, "window join: operator failed earlier");
    if (wm <= op->wm)
        return 0;
    op->wm = wm;
    while (op->heap_n > 0 && tide_trig_due(op->ps[op->heap[0]].end, wm)) {
        uint32_t id = op->heap[0];
        wheap_pop(op);
        int rc = pane_fire(op, id);
        pane_free(op, id);
        if (rc != 0) {
            op->failed = cb_code(rc);
            return tide_err_set(e, op->failed, "window join: emit callback returned %d", rc);
        }
    }
    return 0;
}

int64_t tide_join_window_watermark(const tide_join_window *op) { return op->wm; }
uint64_t tide_join_window_late_count(const tide_join_window *op) { return op->late; }
uint64_t tide_join_window_late_windows(const tide_join_window *op) { return op->late_windows; }
size_t tide_join_window_panes(const tide_join_window *op) { return op->live_panes; }
size_t tide_join_window_rows(const tide_join_window *op, tide_join_side side)
{
    return op->pool[side == TIDE_JOIN_RIGHT].live;
}

/* ======================================================================== */
/* snapshot / restore                                                       */
/* ======================================================================== */

/* Both joins' state is their buffered rows in their owners' lists: per
 * interval-join key (sorted by key bytes) or window-join pane (in firing
 * order), each side's rows in arrival order (which is the order matches are
 * emitted in), with event time and values (strings copied).  Restore
 * appends them in that order, so the lists, and with them every later
 * match, come out as they were; the heaps and tables are rebuilt. */

#define JI_SNAP_KIND "join_interval"
#define JW_SNAP_KIND "join_window"
#define J_SNAP_VERSION 2

static int j_snap_differs(tide_err *e, const char *op, const char *what, long long snap,
                          long long here)
{
    return tide_err_set(e, TIDE_EINVAL,
                        "%s: the snapshot is of another config: %s %lld in the snapshot, %lld here",
                        op, what, snap, here);
}

/* The rows of one list: count, then (ts, [matched,] values) each. */
static void j_snap_put_list(const jpool *p, const jlist *l, bool with_matched, tide_snap_w *w)
{
    uint64_t n = 0;
    for (uint32_t i = l->head; i != NIL; i = p->rows[i].next)
        n++;
    tide_snap_put_varint(w, n);
    for (uint32_t i = l->head; i != NIL; i = p->rows[i].next) {
        tide_snap_put_i64(w, p->rows[i].ts);
        if (with_matched) { /* the interval join's */
            tide_snap_put_u8(w, p->rows[i].matched);
            tide_snap_put_u64(w, p->rows[i].seq);
        }
        const tide_value *v = pool_vals(p, i);
        for (size_t j = 0; j < p->nv; j++)
            tide_snap_put_value(w, &v[j]);
    }
}

/* Read one row's values into `vals` (p->nv of them; strings borrow the
 * snapshot until pool_add copies them). */
static void j_snap_get_vals(tide_snap_r *r, tide_value *vals, size_t nv)
{
    for (size_t j = 0; j < nv; j++)
        vals[j] = tide_snap_get_value(r);
}

static void j_pool_reset(jpool *p)
{
    size_t nv = p->nv;
    pool_destroy(p);
    pool_init(p, nv);
}

/* ---- interval join ---- */

int tide_join_interval_snapshot(const tide_join_interval *op, tide_buf *out, tide_err *e)
{
    if (op->failed)
        return tide_err_set(e, TIDE_EFAILED, "interval join: no snapshot of a failed operator (%s)",
                            tide_err_name(op->failed));
    size_t n = tide_table_count(op->keys);
    tide_table_entry *ents = NULL;
    if (n && !(ents = malloc(n * sizeof *ents)))
        return tide_err_set(e, TIDE_ENOMEM, "interval join: snapshot: out of memory");
    if (n)
        tide_table_sorted(op->keys, ents);
    tide_snap_w w;
    tide_snap_begin(&w, out, JI_SNAP_KIND, J_SNAP_VERSION);
    tide_snap_put_i64(&w, op->cfg.lo);
    tide_snap_put_i64(&w, op->cfg.hi);
    tide_snap_put_varint(&w, op->cfg.n_left);
    tide_snap_put_varint(&w, op->cfg.n_right);
    tide_snap_put_u8(&w, (uint8_t)(op->cfg.outer[0] | op->cfg.outer[1] << 1));
    tide_snap_put_i64(&w, op->wm);
    tide_snap_put_u64(&w, op->late);
    tide_snap_put_u64(&w, op->unbuffered);
    tide_snap_put_u64(&w, op->seq);
    tide_snap_put_varint(&w, n);
    for (size_t k = 0; k < n; k++) {
        uint32_t id;
        memcpy(&id, ents[k].value, sizeof id);
        tide_snap_put_bytes(&w, ents[k].key, ents[k].klen);
        for (int s = 0; s < 2; s++)
            j_snap_put_list(&op->pool[s], &op->ks[id].l[s], true, &w);
    }
    free(ents);
    return tide_snap_end(&w, e);
}

static void ji_snap_reset(tide_join_interval *op)
{
    for (int s = 0; s < 2; s++) {
        j_pool_reset(&op->pool[s]);
        op->heap_n[s] = 0;
    }
    tide_table_clear(op->keys);
    for (uint32_t i = 0; i < op->ks_hi; i++) {
        free(op->ks[i].kb);
        op->ks[i].kb = NULL;
        op->ks[i].kcap = 0;
    }
    op->ks_hi = 0;
    op->ks_free = NIL;
    op->live_keys = 0;
    op->wm = TIDE_TS_MIN;
    op->late = op->unbuffered = 0;
    op->seq = 0;
    op->failed = 0;
}

/* One key of the snapshot with its rows: 0, TIDE_ENOMEM, or 0 with the
 * reader failed when it is malformed. */
static int ji_snap_get_key(tide_join_interval *op, tide_snap_r *r, tide_value *vals, tide_err *e)
{
    size_t klen;
    const void *key = tide_snap_get_bytes(r, &klen);
    if (klen > UINT32_MAX || tide_snap_failed(r) || tide_table_find(op->keys, key, klen)) {
        tide_snap_fail(r); /* (a key twice is malformed too) */
        return 0;
    }
    uint32_t id;
    int rc = ikey_get(op, key ? key : "", (uint32_t)klen, &id, e);
    if (rc)
        return rc;
    for (int s = 0; s < 2; s++) {
        uint64_t n = tide_snap_get_varint(r);
        if (n > tide_snap_remaining(r))
            tide_snap_fail(r);
        for (uint64_t i = 0; i < n && !tide_snap_failed(r); i++) {
            int64_t ts = tide_snap_get_i64(r);
            uint8_t matched = tide_snap_get_u8(r);
            uint64_t seq = tide_snap_get_u64(r);
            if (matched > 1 || seq >= op->seq)
                tide_snap_fail(r);
            j_snap_get_vals(r, vals, op->pool[s].nv);
            if (tide_snap_failed(r))
                break;
            uint32_t ri;
            if (pool_add(&op->pool[s], ts, id, vals, &ri) != 0)
                return tide_err_set(e, TIDE_ENOMEM, "interval join: restore: out of memory");
            op->pool[s].rows[ri].matched = matched;
            op->pool[s].rows[ri].seq = seq;
            list_append(&op->pool[s], &op->ks[id].l[s], ri);
            op->ks[id].n[s]++;
            if (iheap_push(op, s, ts, seq, ri) != 0)
                return tide_err_set(e, TIDE_ENOMEM, "interval join: restore: out of memory");
        }
    }
    if (!op->ks[id].n[0] && !op->ks[id].n[1])
        tide_snap_fail(r); /* a key is kept only while it holds rows */
    return 0;
}

int tide_join_interval_restore(tide_join_interval *op, const void *buf, size_t len, tide_err *e)
{
    if (op->failed || op->live_keys || op->wm != TIDE_TS_MIN || op->late || op->unbuffered)
        return tide_err_set(e, TIDE_EINVAL, "interval join: restore needs a freshly created operator");
    tide_snap_r r;
    int rc = tide_snap_open(&r, buf, len, JI_SNAP_KIND, J_SNAP_VERSION, NULL, e);
    if (rc)
        return rc;
    int64_t lo = tide_snap_get_i64(&r), hi = tide_snap_get_i64(&r);
    uint64_t nl = tide_snap_get_varint(&r), nr = tide_snap_get_varint(&r);
    uint8_t outer = tide_snap_get_u8(&r);
    if (tide_snap_failed(&r))
        return tide_snap_close(&r, e);
    uint8_t here_outer = (uint8_t)(op->cfg.outer[0] | op->cfg.outer[1] << 1);
    if (outer != here_outer)
        return j_snap_differs(e, "interval join", "outer sides", outer, here_outer);
    if (lo != op->cfg.lo || hi != op->cfg.hi)
        return tide_err_set(e, TIDE_EINVAL,
                            "interval join: the snapshot is of another config: bounds [%lld, %lld] "
                            "in the snapshot, [%lld, %lld] here",
                            (long long)lo, (long long)hi, (long long)op->cfg.lo,
                            (long long)op->cfg.hi);
    if (nl != op->cfg.n_left)
        return j_snap_differs(e, "interval join", "left values", (long long)nl,
                              (long long)op->cfg.n_left);
    if (nr != op->cfg.n_right)
        return j_snap_differs(e, "interval join", "right values", (long long)nr,
                              (long long)op->cfg.n_right);
    size_t nv = op->cfg.n_left > op->cfg.n_right ? op->cfg.n_left : op->cfg.n_right;
    tide_value *vals = malloc((nv + 1) * sizeof *vals);
    if (!vals)
        return tide_err_set(e, TIDE_ENOMEM, "interval join: restore: out of memory");
    /* From here on the operator changes; any failure resets it. */
    op->wm = tide_snap_get_i64(&r);
    op->late = tide_snap_get_u64(&r);
    op->unbuffered = tide_snap_get_u64(&r);
    op->seq = tide_snap_get_u64(&r);
    uint64_t n = tide_snap_get_varint(&r);
    if (n > tide_snap_remaining(&r))
        tide_snap_fail(&r);
    for (uint64_t k = 0; k < n && !rc && !tide_snap_failed(&r); k++)
        rc = ji_snap_get_key(op, &r, vals, e);
    free(vals);
    if (!rc)
        rc = tide_snap_close(&r, e);
    if (rc)
        ji_snap_reset(op);
    return rc;
}

/* ---- window join ---- */

/* A live pane, in firing order (pane_cmp's). */
typedef struct jw_snap_ref {
    int64_t end, start;
    const char *kb;
    uint32_t klen, id;
} jw_snap_ref;

static int jw_snap_ref_cmp(const void *pa, const void *pb)
{
    const jw_snap_ref *x = pa, *y = pb;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    uint32_t n = x->klen < y->klen ? x->klen : y->klen;
    int c = n ? memcmp(x->kb, y->kb, n) : 0;
    if (c != 0)
        return c;
    return x->klen < y->klen ? -1 : x->klen > y->klen ? 1 : 0;
}

/* The window spec with the fields its kind does not use zeroed. */
static tide_win_spec jw_snap_spec(const tide_win_spec *s)
{
    tide_win_spec n = {.kind = s->kind};
    if (s->kind == TIDE_WIN_TUMBLE || s->kind == TIDE_WIN_HOP || s->kind == TIDE_WIN_CUMULATE)
        n.size = s->size;
    if (s->kind == TIDE_WIN_HOP || s->kind == TIDE_WIN_CUMULATE)
        n.slide = s->slide;
    return n;
}

int tide_join_window_snapshot(const tide_join_window *op, tide_buf *out, tide_err *e)
{
    if (op->failed)
        return tide_err_set(e, TIDE_EFAILED, "window join: no snapshot of a failed operator (%s)",
                            tide_err_name(op->failed));
    jw_snap_ref *refs = NULL;
    if (op->heap_n && !(refs = malloc(op->heap_n * sizeof *refs)))
        return tide_err_set(e, TIDE_ENOMEM, "window join: snapshot: out of memory");
    /* the heap holds every live pane once */
    for (size_t i = 0; i < op->heap_n; i++) {
        const pane *p = &op->ps[op->heap[i]];
        refs[i] = (jw_snap_ref){p->end, p->start, p->kb, p->klen, op->heap[i]};
    }
    if (op->heap_n)
        qsort(refs, op->heap_n, sizeof *refs, jw_snap_ref_cmp);
    tide_win_spec ws = jw_snap_spec(&op->cfg.window);
    tide_snap_w w;
    tide_snap_begin(&w, out, JW_SNAP_KIND, J_SNAP_VERSION);
    tide_snap_put_u8(&w, (uint8_t)ws.kind);
    tide_snap_put_i64(&w, ws.size);
    tide_snap_put_i64(&w, ws.slide);
    tide_snap_put_varint(&w, op->cfg.n_left);
    tide_snap_put_varint(&w, op->cfg.n_right);
    tide_snap_put_u8(&w, (uint8_t)(op->cfg.outer[0] | op->cfg.outer[1] << 1));
    tide_snap_put_i64(&w, op->wm);
    tide_snap_put_u64(&w, op->late);
    tide_snap_put_u64(&w, op->late_windows);
    tide_snap_put_varint(&w, op->heap_n);
    for (size_t k = 0; k < op->heap_n; k++) {
        const pane *p = &op->ps[refs[k].id];
        tide_snap_put_i64(&w, p->start);
        tide_snap_put_i64(&w, p->end);
        tide_snap_put_bytes(&w, p->kb, p->klen);
        for (int s = 0; s < 2; s++)
            j_snap_put_list(&op->pool[s], &p->l[s], false, &w);
    }
    free(refs);
    return tide_snap_end(&w, e);
}

static void jw_snap_reset(tide_join_window *op)
{
    for (int s = 0; s < 2; s++)
        j_pool_reset(&op->pool[s]);
    tide_table_clear(op->panes);
    for (uint32_t i = 0; i < op->ps_hi; i++) {
        free(op->ps[i].kb);
        op->ps[i].kb = NULL;
        op->ps[i].kcap = 0;
    }
    op->ps_hi = 0;
    op->ps_free = NIL;
    op->live_panes = 0;
    op->heap_n = 0;
    op->wm = TIDE_TS_MIN;
    op->late = op->late_windows = 0;
    op->failed = 0;
}

/* One pane of the snapshot with its rows: 0, TIDE_ENOMEM, or 0 with the
 * reader failed when it is malformed. */
static int jw_snap_get_pane(tide_join_window *op, tide_snap_r *r, tide_value *vals, tide_err *e)
{
    int64_t start = tide_snap_get_i64(r), end = tide_snap_get_i64(r);
    size_t klen;
    const void *key = tide_snap_get_bytes(r, &klen);
    if (klen > UINT32_MAX || start > end)
        tide_snap_fail(r);
    if (tide_snap_failed(r))
        return 0;
    size_t before = op->live_panes;
    uint32_t id;
    int rc = pane_get(op, (tide_win_range){start, end}, key ? key : "", (uint32_t)klen, &id, e);
    if (rc)
        return rc;
    if (op->live_panes == before) { /* the same pane twice */
        tide_snap_fail(r);
        return 0;
    }
    bool any = false;
    for (int s = 0; s < 2; s++) {
        uint64_t n = tide_snap_get_varint(r);
        if (n > tide_snap_remaining(r))
            tide_snap_fail(r);
        for (uint64_t i = 0; i < n && !tide_snap_failed(r); i++) {
            int64_t ts = tide_snap_get_i64(r);
            j_snap_get_vals(r, vals, op->pool[s].nv);
            if (tide_snap_failed(r))
                break;
            uint32_t ri;
            if (pool_add(&op->pool[s], ts, id, vals, &ri) != 0)
                return tide_err_set(e, TIDE_ENOMEM, "window join: restore: out of memory");
            list_append(&op->pool[s], &op->ps[id].l[s], ri);
            any = true;
        }
    }
    if (!any)
        tide_snap_fail(r); /* a pane exists because a row went into it */
    return 0;
}

int tide_join_window_restore(tide_join_window *op, const void *buf, size_t len, tide_err *e)
{
    if (op->failed || op->live_panes || op->wm != TIDE_TS_MIN || op->late || op->late_windows)
        return tide_err_set(e, TIDE_EINVAL, "window join: restore needs a freshly created operator");
    tide_snap_r r;
    int rc = tide_snap_open(&r, buf, len, JW_SNAP_KIND, J_SNAP_VERSION, NULL, e);
    if (rc)
        return rc;
    tide_win_spec here = jw_snap_spec(&op->cfg.window), snap = {0};
    snap.kind = (tide_win_kind)tide_snap_get_u8(&r);
    snap.size = tide_snap_get_i64(&r);
    snap.slide = tide_snap_get_i64(&r);
    uint64_t nl = tide_snap_get_varint(&r), nr = tide_snap_get_varint(&r);
    uint8_t outer = tide_snap_get_u8(&r);
    if (tide_snap_failed(&r))
        return tide_snap_close(&r, e);
    uint8_t here_outer = (uint8_t)(op->cfg.outer[0] | op->cfg.outer[1] << 1);
    if (outer != here_outer)
        return j_snap_differs(e, "window join", "outer sides", outer, here_outer);
    if (snap.kind != here.kind || snap.size != here.size || snap.slide != here.slide)
        return tide_err_set(e, TIDE_EINVAL,
                            "window join: the snapshot is of another config: window %s(size %lld, "
                            "slide %lld) in the snapshot, %s(size %lld, slide %lld) here",
                            (unsigned)snap.kind <= TIDE_WIN_GLOBAL ? tide_win_kind_name(snap.kind)
                                                                   : "?",
                            (long long)snap.size, (long long)snap.slide,
                            tide_win_kind_name(here.kind), (long long)here.size,
                            (long long)here.slide);
    if (nl != op->cfg.n_left)
        return j_snap_differs(e, "window join", "left values", (long long)nl,
                              (long long)op->cfg.n_left);
    if (nr != op->cfg.n_right)
        return j_snap_differs(e, "window join", "right values", (long long)nr,
                              (long long)op->cfg.n_right);
    size_t nv = op->cfg.n_left > op->cfg.n_right ? op->cfg.n_left : op->cfg.n_right;
    tide_value *vals = malloc((nv + 1) * sizeof *vals);
    if (!vals)
        return tide_err_set(e, TIDE_ENOMEM, "window join: restore: out of memory");
    /* From here on the operator changes; any failure resets it. */
    op->wm = tide_snap_get_i64(&r);
    op->late = tide_snap_get_u64(&r);
    op->late_windows = tide_snap_get_u64(&r);
    uint64_t n = tide_snap_get_varint(&r);
    if (n > tide_snap_remaining(&r))
        tide_snap_fail(&r);
    for (uint64_t k = 0; k < n && !rc && !tide_snap_failed(&r); k++)
        rc = jw_snap_get_pane(op, &r, vals, e);
    free(vals);
    if (!rc)
        rc = tide_snap_close(&r, e);
    if (rc)
        jw_snap_reset(op);
    return rc;
}
