/* test_node_pipe.c - the pipeline's operators as flow nodes (exec/node_scan,
 * node_calc, node_winagg, node_groupagg, node_order), in whole flows:
 *
 *   scan -> calc -> hash -> winagg[P] -> gather -> order -> collect
 *
 * against brute force computed here from the events: window counts and
 * sums per key, the late records (DESIGN.md 4, time/trigger.h: a window
 * fires at W >= end - 1 and a record is late when W >= end - 1 + L at its
 * arrival, W = max ts seen - B, min over partitions), identical output
 * sequences for P = 1, 2, 4, a
 * shuffle within the declared out-of-orderness giving the same final table,
 * GROUP BY changelogs (also of a changelog input) applied = the final
 * table, HAVING over a changelog, the order node's stability, snapshot and
 * restore through the flow, a file source = the generator. */
#include "base/hash.h"
#include "connect/gen_logins.h"
#include "exec/flow.h"
#include "exec/node_calc.h"
#include "exec/node_groupagg.h"
#include "exec/node_order.h"
#include "exec/node_scan.h"
#include "exec/node_winagg.h"
#include "state/snap.h"
#include "tt.h"

#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/stat.h>

#define TT_OK_E(x)                                                                                 \
    do {                                                                                           \
        int rc_ = (x);                                                                             \
        if (rc_ != 0) {                                                                            \
            fprintf(stderr, "%s:%d: %s failed: %d: %s\n", __FILE__, __LINE__, #x, rc_, e.msg);     \
            tt_failed_now = 1;                                                                     \
            return;                                                                                \
        }                                                                                          \
    } while (0)

/* ---- rows collected by the test's sink node ---- */

#define MAXC 8

typedef struct row {
    int op;
    uint32_t step; /* watermarks the sink had seen before the row */
    int64_t v[MAXC];
} row;

#define NUL INT64_MIN /* a NULL cell, as collected */

typedef struct rows {
    row *r;
    size_t n, cap;
    uint32_t steps;
    size_t snap_n;   /* rows when the last snapshot was taken */
    size_t restored; /* rows the restored snapshot said */
} rows;

static void rows_free(rows *r)
{
    free(r->r);
    memset(r, 0, sizeof *r);
}

static int collect_batch(void *self, uint32_t in, const tide_cbatch *b, const uint32_t *sel, uint32_t n,
                         tide_node_ctx *cx, tide_err *e)
{
    (void)in;
    (void)cx;
    (void)e;
    rows *c = *(rows **)self;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t r = sel ? sel[i] : i;
        if (c->n == c->cap) {
            c->cap = c->cap ? 2 * c->cap : 1024;
            c->r = realloc(c->r, c->cap * sizeof *c->r);
            if (!c->r)
                return TIDE_ENOMEM;
        }
        row *o = &c->r[c->n++];
        memset(o, 0, sizeof *o);
        o->op = (int)tide_cbatch_op(b, r);
        o->step = c->steps;
        for (uint32_t k = 0; k < tide_cbatch_ncols(b) && k < MAXC; k++) {
            if (tide_cbatch_is_null(b, k, r)) {
                o->v[k] = NUL;
            } else if (tide_cbatch_type(b, k) == TIDE_TYPE_STRING) {
                tide_str str = tide_cbatch_str(b, k, r);
                o->v[k] = (int64_t)(tide_hash64(str.ptr, str.len, 1) >> 1);
            } else {
                o->v[k] = tide_cbatch_i64(b, k, r); /* (all other columns here are BIGINT/TIMESTAMP) */
            }
        }
    }
    return 0;
}

static int collect_wm(void *self, int64_t wm, tide_node_ctx *cx, tide_err *e)
{
    (void)wm;
    (void)cx;
    (void)e;
    (*(rows **)self)->steps++;
    return 0;
}

static int collect_snapshot(void *self, int64_t id, tide_buf *out, tide_err *e)
{
    (void)id;
    rows *c = *(rows **)self;
    c->snap_n = c->n;
    tide_snap_w w;
    tide_snap_begin(&w, out, "collect", 1);
    tide_snap_put_u64(&w, c->n);
    return tide_snap_end(&w, e);
}

static int collect_restore(void *self, const void *buf, size_t len, tide_err *e)
{
    rows *c = *(rows **)self;
    tide_snap_r r;
    int rc = tide_snap_open(&r, buf, len, "collect", 1, NULL, e);
    if (rc)
        return rc;
    c->restored = tide_snap_get_u64(&r);
    return tide_snap_close(&r, e);
}

static void collect_free(void *self) { free(self); }

static const tide_node_vt collect_vt = {.kind = "collect",
                                        .batch = collect_batch,
                                        .watermark = collect_wm,
                                        .snapshot = collect_snapshot,
                                        .restore = collect_restore,
                                        .free = collect_free};

static int collect_make(void *ctx, uint32_t k, uint32_t p, void **self, tide_err *e)
{
    (void)k;
    (void)p;
    (void)e;
    rows **h = malloc(sizeof *h);
    if (!h)
        return TIDE_ENOMEM;
    *h = ctx;
    *self = h;
    return 0;
}

static int row_cmp_vals(const void *pa, const void *pb)
{
    const row *a = pa, *b = pb;
    if (a->op != b->op)
        return a->op < b->op ? -1 : 1;
    for (int k = 0; k < MAXC; k++)
        if (a->v[k] != b->v[k])
            return a->v[k] < b->v[k] ? -1 : 1;
    return 0;
}

static bool same_rows(const rows *a, const rows *b, bool with_steps)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (row_cmp_vals(&a->r[i], &b->r[i]) != 0 || (with_steps && a->r[i].step != b->r[i].step))
            return false;
    return true;
}

/* ---- the events and the callback source ---- */

typedef struct ev {
    int64_t ts, k, v;
    uint32_t part;
} ev;

typedef struct feed {
    const ev *ev;
    size_t n, at;
    uint32_t batch, parts;
    size_t pause_at; /* SIZE_MAX: never */
    _Atomic int paused, resume;
} feed;

enum { S_TS, S_K, S_V, S_NCOLS };

static int feed_next(void *ctx, tide_cbatch *b, uint32_t *part, tide_err *e)
{
    (void)e;
    feed *f = ctx;
    if (f->at >= f->n)
        return TIDE_SRC_END;
    if (f->at == f->pause_at && !atomic_load(&f->resume)) {
        atomic_store(&f->paused, 1);
        return TIDE_SRC_NOTHING;
    }
    uint32_t p = f->ev[f->at].part, cap = tide_cbatch_capacity(b);
    *part = p;
    while (f->at < f->n && f->ev[f->at].part == p && tide_cbatch_rows(b) < cap && tide_cbatch_rows(b) < f->batch) {
        if (f->at == f->pause_at && !atomic_load(&f->resume))
            break;
        uint32_t r = 0;
        tide_cbatch_add_row(b, &r);
        const ev *x = &f->ev[f->at++];
        if (x->ts != NUL)
            tide_cbatch_set_i64(b, S_TS, r, x->ts);
        tide_cbatch_set_i64(b, S_K, r, x->k);
        tide_cbatch_set_i64(b, S_V, r, x->v);
        tide_cbatch_set_pos(b, r, f->at - 1);
    }
    return TIDE_SRC_READY;
}

static void feed_pos(void *ctx, uint32_t part, tide_src_pos *pos)
{
    (void)part;
    pos->offset = ((feed *)ctx)->at;
    pos->line = 0;
}

static int feed_seek(void *ctx, uint32_t part, const tide_src_pos *pos, tide_err *e)
{
    (void)part;
    (void)e;
    ((feed *)ctx)->at = pos->offset;
    return 0;
}

static tide_schema *src_schema(void)
{
    tide_schema *s;
    tide_err e = {0};
    if (tide_schema_create(&s, &e) || tide_schema_add(s, "ts", TIDE_TYPE_TIMESTAMP, true, &e) ||
        tide_schema_add(s, "k", TIDE_TYPE_BIGINT, false, &e) || tide_schema_add(s, "v", TIDE_TYPE_BIGINT, false, &e) ||
        tide_schema_set_time_column(s, S_TS, &e))
        abort();
    return s;
}

/* n events, ts about i * 10 ms from T0, keys 0..nkeys-1, v 0..999, in
 * blocks of 40 per partition; delivered sorted by ts + d with d uniform in
 * [0, B] (so every event has ts >= max ts before it - B), except a share
 * `late_pm` per mille delayed by up to 20 * B. */
#define T0 1000000
static ev *make_events(size_t n, uint32_t nkeys, uint32_t parts, int64_t B, int late_pm, uint64_t seed)
{
    ev *x = calloc(n, sizeof *x);
    int64_t *key = calloc(n, sizeof *key);
    if (!x || !key)
        abort();
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++) {
        x[i].ts = T0 + (int64_t)i * 10 + (int64_t)(tt_rand(&s) % 10);
        x[i].k = (int64_t)(tt_rand(&s) % nkeys);
        x[i].v = (int64_t)(tt_rand(&s) % 1000);
        int64_t d = (int64_t)(tt_rand(&s) % (uint64_t)(B + 1));
        if ((int)(tt_rand(&s) % 1000) < late_pm)
            d = (int64_t)(tt_rand(&s) % (uint64_t)(20 * B + 1));
        key[i] = x[i].ts + d;
    }
    /* sort by delivery key (insertion sort over a nearly sorted array) */
    for (size_t i = 1; i < n; i++) {
        ev t = x[i];
        int64_t kt = key[i];
        size_t j = i;
        while (j > 0 && key[j - 1] > kt) {
            x[j] = x[j - 1];
            key[j] = key[j - 1];
            j--;
        }
        x[j] = t;
        key[j] = kt;
    }
    for (size_t i = 0; i < n; i++)
        x[i].part = (uint32_t)((i / 40) % parts);
    free(key);
    return x;
}

/* ---- the brute force of a keyed tumbling COUNT(*), SUM(v) ---- */

typedef struct win {
    int64_t k, start, cnt, sum;
} win;

typedef struct expect {
    win *w;
    size_t nw;
    ev *late;
    size_t nlate;
} expect;

static int win_cmp(const void *pa, const void *pb)
{
    const win *a = pa, *b = pb;
    if (a->start != b->start)
        return a->start < b->start ? -1 : 1;
    if (a->k != b->k)
        return a->k < b->k ? -1 : 1;
    return 0;
}

static bool pass_filter(const ev *x) { return x->v % 7 != 3; }

/* The firing point of a window [start, end) is W >= end - FIRE_EARLY:
 * DESIGN.md 4's rule (Flink's isWindowFired, W >= end - 1 ms). */
#define FIRE_EARLY 1

/* W before each event: min over partitions of (max ts - B) (TIDE_TS_MIN
 * while a partition has no data); the event is late when its window fired
 * and is gone, W >= end - FIRE_EARLY + L; the others count in their window. */
static void brute_windows(const ev *x, size_t n, uint32_t parts, int64_t B, int64_t size, int64_t L,
                          int64_t vmul, expect *out)
{
    int64_t pmax[8];
    for (uint32_t p = 0; p < parts; p++)
        pmax[p] = INT64_MIN;
    out->w = calloc(n + 1, sizeof *out->w);
    out->late = calloc(n + 1, sizeof *out->late);
    out->nw = out->nlate = 0;
    win *all = calloc(n + 1, sizeof *all);
    size_t na = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t W = INT64_MAX;
        for (uint32_t p = 0; p < parts; p++) {
            int64_t w = pmax[p] == INT64_MIN ? INT64_MIN : pmax[p] - B;
            W = w < W ? w : W;
        }
        if (pass_filter(&x[i])) {
            int64_t start = x[i].ts / size * size, end = start + size;
            if (W != INT64_MIN && W >= end - FIRE_EARLY + L)
                out->late[out->nlate++] = x[i];
            else
                all[na++] = (win){x[i].k, start, 1, x[i].v * vmul};
        }
        if (x[i].ts > pmax[x[i].part])
            pmax[x[i].part] = x[i].ts;
    }
    qsort(all, na, sizeof *all, win_cmp);
    for (size_t i = 0; i < na; i++) {
        if (out->nw && win_cmp(&out->w[out->nw - 1], &all[i]) == 0) {
            out->w[out->nw - 1].cnt++;
            out->w[out->nw - 1].sum += all[i].sum;
        } else {
            out->w[out->nw++] = all[i];
        }
    }
    free(all);
}

static void expect_free(expect *x)
{
    free(x->w);
    free(x->late);
}

/* ---- the flow: scan -> calc -> hash(k) -> winagg[P] -> gather -> order -> collect
 *                                            winagg.late -> gather -> order -> collect ---- */

typedef struct rig {
    feed f;
    tide_node_scan_cfg scan;
    tide_node_calc_cfg calc;
    tide_node_winagg_cfg wa;
    tide_node_order_cfg ord, ord_late;
    tide_schema *s_src, *s_calc, *s_win, *s_late;
    bool computed; /* SELECT ts, k, v * 2 instead of column references */
    uint32_t key_cols[1], value_cols[1], sort_res[3], sort_late[3];
    tide_winagg_call aggs[2];
    rows res, late;
} rig;

/* WHERE v % 7 != 3; SELECT ts, k, v (or v * 2) */
static int build_exprs(void *ctx, uint32_t instance, tide_expr **where, tide_expr **exprs, tide_err *e)
{
    (void)instance;
    rig *r = ctx;
    tide_expr *v = NULL, *seven = NULL, *m = NULL, *three = NULL;
    tide_expr_column(&v, r->s_src, S_V, e);
    tide_expr_literal_i64(&seven, 7, e);
    tide_expr_arith(&m, TIDE_EXPR_MOD, v, seven, e);
    tide_expr_literal_i64(&three, 3, e);
    int rc = tide_expr_compare(where, TIDE_EXPR_NE, m, three, e);
    rc |= tide_expr_column(&exprs[0], r->s_src, S_TS, e);
    rc |= tide_expr_column(&exprs[1], r->s_src, S_K, e);
    if (r->computed) {
        tide_expr *c = NULL, *two = NULL;
        tide_expr_column(&c, r->s_src, S_V, e);
        tide_expr_literal_i64(&two, 2, e);
        rc |= tide_expr_arith(&exprs[2], TIDE_EXPR_MUL, c, two, e);
    } else {
        rc |= tide_expr_column(&exprs[2], r->s_src, S_V, e);
    }
    return rc ? (e->code ? e->code : TIDE_EINVAL) : 0;
}

static void rig_init(rig *r, const ev *x, size_t n, uint32_t parts, int64_t B, int64_t size, int64_t L,
                     tide_trig_mode mode)
{
    memset(r, 0, sizeof *r);
    tide_err e = {0};
    r->f = (feed){.ev = x, .n = n, .batch = 64, .parts = parts, .pause_at = SIZE_MAX};
    r->s_src = src_schema();
    tide_node_scan_cfg_init(&r->scan);
    r->scan.kind = TIDE_NODE_SCAN_CALLBACK;
    r->scan.schema = r->s_src;
    r->scan.partitions = parts;
    r->scan.next = feed_next;
    r->scan.position = feed_pos;
    r->scan.seek = feed_seek;
    r->scan.ctx = &r->f;
    r->scan.wm_bound = B;
    r->scan.batch_rows = 256;
    r->scan.positions = true;
    if (tide_schema_clone(r->s_src, &r->s_calc, &e))
        abort();
    r->calc = (tide_node_calc_cfg){.in = r->s_src,
                                   .out = r->s_calc,
                                   .n_exprs = 3,
                                   .build = build_exprs,
                                   .build_ctx = r,
                                   .in_flags = TIDE_CBATCH_POS};
    r->key_cols[0] = S_K;
    r->value_cols[0] = S_V;
    r->aggs[0] = (tide_winagg_call){TIDE_AGG_COUNT_STAR, 0, TIDE_TYPE_NULL};
    r->aggs[1] = (tide_winagg_call){TIDE_AGG_SUM, 0, TIDE_TYPE_BIGINT};
    r->wa = (tide_node_winagg_cfg){.in = r->s_calc,
                                   .in_flags = TIDE_CBATCH_POS,
                                   .key_cols = r->key_cols,
                                   .n_keys = 1,
                                   .time_col = S_TS,
                                   .value_cols = r->value_cols,
                                   .n_values = 1,
                                   .aggs = r->aggs,
                                   .n_aggs = 2,
                                   .window = tide_win_tumble(size),
                                   .allowed_lateness = L,
                                   .mode = mode,
                                   .capacity_hint = 64,
                                   .batch_rows = 100};
    if (tide_node_winagg_schema(&r->wa, 0, &r->s_win, &e) || tide_node_winagg_schema(&r->wa, 1, &r->s_late, &e))
        abort();
    /* results: k, window_start, window_end, window_time, cnt, sum */
    r->sort_res[0] = 2;
    r->sort_res[1] = 1;
    r->sort_res[2] = 0;
    r->ord = (tide_node_order_cfg){.schema = r->s_win,
                                   .flags = TIDE_CBATCH_OPS,
                                   .sort_cols = r->sort_res,
                                   .n_sort = 3,
                                   .batch_rows = 50};
    r->sort_late[0] = S_TS;
    r->sort_late[1] = S_K;
    r->sort_late[2] = S_V;
    r->ord_late = (tide_node_order_cfg){.schema = r->s_late,
                                        .flags = TIDE_CBATCH_POS,
                                        .sort_cols = r->sort_late,
                                        .n_sort = 3};
}

static void rig_free(rig *r)
{
    tide_schema_free(r->s_src);
    tide_schema_free(r->s_calc);
    tide_schema_free(r->s_win);
    tide_schema_free(r->s_late);
    rows_free(&r->res);
    rows_free(&r->late);
}

static tide_flow_node node(const char *name, const tide_node_vt *vt, tide_flow_make_fn mk, void *ctx,
                           uint32_t par, const tide_schema *s0, unsigned f0)
{
    tide_flow_node n = {.name = name, .vt = vt, .make = mk, .make_ctx = ctx, .parallelism = par, .n_out = 1};
    n.out_schema[0] = s0;
    n.out_flags[0] = f0;
    return n;
}

static int build_win(tide_flow *f, rig *r, uint32_t P, tide_err *e)
{
    int src, calc, wa, ord, col, ordl, coll, rc;
    tide_flow_node n = node("scan", &tide_node_scan_vt, tide_node_scan_make, &r->scan, 1, r->s_src,
                            tide_node_scan_flags(&r->scan));
    if ((rc = tide_flow_add(f, &n, &src, e)))
        return rc;
    n = node("calc", &tide_node_calc_vt, tide_node_calc_make, &r->calc, 1, r->s_calc, tide_node_calc_flags(&r->calc));
    if ((rc = tide_flow_add(f, &n, &calc, e)))
        return rc;
    n = node("winagg", &tide_node_winagg_vt, tide_node_winagg_make, &r->wa, P, r->s_win,
             tide_node_winagg_flags(&r->wa, 0));
    n.n_out = 2;
    n.out_schema[1] = r->s_late;
    n.out_flags[1] = tide_node_winagg_flags(&r->wa, 1);
    if ((rc = tide_flow_add(f, &n, &wa, e)))
        return rc;
    n = node("order", &tide_node_order_vt, tide_node_order_make, &r->ord, 1, r->s_win, TIDE_CBATCH_OPS);
    if ((rc = tide_flow_add(f, &n, &ord, e)))
        return rc;
    n = node("collect", &collect_vt, collect_make, &r->res, 1, r->s_win, TIDE_CBATCH_OPS);
    if ((rc = tide_flow_add(f, &n, &col, e)))
        return rc;
    n = node("order-late", &tide_node_order_vt, tide_node_order_make, &r->ord_late, 1, r->s_late, TIDE_CBATCH_POS);
    if ((rc = tide_flow_add(f, &n, &ordl, e)))
        return rc;
    n = node("collect-late", &collect_vt, collect_make, &r->late, 1, r->s_late, TIDE_CBATCH_POS);
    if ((rc = tide_flow_add(f, &n, &coll, e)))
        return rc;
    uint32_t key = S_K;
    if ((rc = tide_flow_connect(f, src, 0, calc, TIDE_FLOW_FORWARD, NULL, 0, e)) ||
        (rc = tide_flow_connect(f, calc, 0, wa, P == 1 ? TIDE_FLOW_FORWARD : TIDE_FLOW_HASH, &key, 1, e)) ||
        (rc = tide_flow_connect(f, wa, 0, ord, TIDE_FLOW_GATHER, NULL, 0, e)) ||
        (rc = tide_flow_connect(f, ord, 0, col, TIDE_FLOW_FORWARD, NULL, 0, e)) ||
        (rc = tide_flow_connect(f, wa, 1, ordl, TIDE_FLOW_GATHER, NULL, 0, e)) ||
        (rc = tide_flow_connect(f, ordl, 0, coll, TIDE_FLOW_FORWARD, NULL, 0, e)))
        return rc;
    return 0;
}

static int run_win(rig *r, uint32_t P, uint64_t counts[TIDE_NODE_COUNTERS], tide_err *e)
{
    tide_flow *f = NULL;
    tide_flow_cfg fc = {.batch_rows = 32, .chan_capacity = 4};
    int rc = tide_flow_create(&f, &fc, e);
    if (rc == 0)
        rc = build_win(f, r, P, e);
    if (rc == 0)
        rc = tide_flow_run(f, e);
    if (counts)
        tide_flow_counts(f, counts);
    tide_flow_free(f);
    return rc;
}

/* The collected window results against the brute force (L = 0: one +I row
 * per window), and their order inside each watermark step. */
static int check_windows(const rows *res, const expect *x, int64_t size)
{
    if (res->n != x->nw)
        return -1;
    win *got = calloc(res->n + 1, sizeof *got);
    for (size_t i = 0; i < res->n; i++) {
        const row *o = &res->r[i];
        if (o->op != TIDE_OP_INSERT || o->v[2] != o->v[1] + size || o->v[3] != o->v[2] - 1) {
            free(got);
            return -2;
        }
        got[i] = (win){o->v[0], o->v[1], o->v[4], o->v[5]};
        if (i > 0 && res->r[i - 1].step == o->step) {
            const row *p = &res->r[i - 1];
            bool ordered = p->v[2] < o->v[2] || (p->v[2] == o->v[2] && (p->v[1] < o->v[1] ||
                                                                         (p->v[1] == o->v[1] && p->v[0] < o->v[0])));
            if (!ordered) {
                free(got);
                return -3;
            }
        }
    }
    qsort(got, res->n, sizeof *got, win_cmp);
    int rc = 0;
    for (size_t i = 0; i < res->n && rc == 0; i++)
        if (win_cmp(&got[i], &x->w[i]) != 0 || got[i].cnt != x->w[i].cnt || got[i].sum != x->w[i].sum)
            rc = -4;
    free(got);
    return rc;
}

static int ev_cmp(const void *pa, const void *pb)
{
    const ev *a = pa, *b = pb;
    if (a->ts != b->ts)
        return a->ts < b->ts ? -1 : 1;
    if (a->k != b->k)
        return a->k < b->k ? -1 : 1;
    if (a->v != b->v)
        return a->v < b->v ? -1 : 1;
    return 0;
}

static int check_late(const rows *late, expect *x, int64_t vmul)
{
    if (late->n != x->nlate)
        return -1;
    ev *got = calloc(late->n + 1, sizeof *got);
    for (size_t i = 0; i < late->n; i++)
        got[i] = (ev){late->r[i].v[S_TS], late->r[i].v[S_K], late->r[i].v[S_V], 0};
    for (size_t i = 0; i < x->nlate; i++)
        x->late[i].v *= vmul, x->late[i].part = 0;
    qsort(got, late->n, sizeof *got, ev_cmp);
    qsort(x->late, x->nlate, sizeof *x->late, ev_cmp);
    int rc = 0;
    for (size_t i = 0; i < late->n && rc == 0; i++)
        if (ev_cmp(&got[i], &x->late[i]) != 0)
            rc = -2;
    for (size_t i = 0; i < x->nlate; i++)
        x->late[i].v /= vmul;
    free(got);
    return rc;
}

/* Windows and late records against the brute force, for P = 1, 2, 4, with
 * identical sequences (and watermark steps) for every P. */
static void test_window_counts_parallel(void)
{
    uint64_t seed = tt_seed(7);
    TT_SEED(seed);
    const size_t N = 20000;
    const int64_t B = 300, SIZE = 1000;
    ev *x = make_events(N, 37, 2, B, 20, seed);
    expect want;
    brute_windows(x, N, 2, B, SIZE, 0, 1, &want);
    TT_ASSERT(want.nlate > 10);
    rig first;
    bool have_first = false;
    for (uint32_t P = 1; P <= 4; P *= 2) {
        rig r;
        rig_init(&r, x, N, 2, B, SIZE, 0, TIDE_TRIG_ACCUMULATING);
        tide_err e = {0};
        uint64_t cnt[TIDE_NODE_COUNTERS];
        TT_OK_E(run_win(&r, P, cnt, &e));
        TT_ASSERT_MSG(check_windows(&r.res, &want, SIZE) == 0, "P=%u: %d", P, check_windows(&r.res, &want, SIZE));
        TT_ASSERT_EQ_INT(check_late(&r.late, &want, 1), 0);
        TT_ASSERT_EQ_INT(cnt[TIDE_NODE_IN], N);
        TT_ASSERT_EQ_INT(cnt[TIDE_NODE_LATE], want.nlate);
        TT_ASSERT_EQ_INT(cnt[TIDE_NODE_BAD], 0);
        TT_ASSERT(cnt[TIDE_NODE_WM_CUTS] > 0);
        TT_ASSERT(r.res.steps > 100);
        if (!have_first) {
            first = r;
            have_first = true;
            continue;
        }
        TT_ASSERT_MSG(same_rows(&first.res, &r.res, true), "P=%u differs from P=1", P);
        TT_ASSERT_MSG(same_rows(&first.late, &r.late, true), "P=%u late differs from P=1", P);
        rig_free(&r);
    }
    rig_free(&first);
    expect_free(&want);
    free(x);
}

/* A projection that computes (v * 2: not a view), one partition, batches
 * of one row. */
static void test_window_computed_projection(void)
{
    const size_t N = 3000;
    const int64_t B = 100, SIZE = 500;
    ev *x = make_events(N, 5, 1, B, 30, 11);
    expect want;
    brute_windows(x, N, 1, B, SIZE, 0, 2, &want);
    rig r;
    rig_init(&r, x, N, 1, B, SIZE, 0, TIDE_TRIG_ACCUMULATING);
    r.computed = true;
    r.f.batch = 1;
    tide_err e = {0};
    TT_OK_E(run_win(&r, 2, NULL, &e));
    TT_ASSERT_EQ_INT(check_windows(&r.res, &want, SIZE), 0);
    TT_ASSERT_EQ_INT(check_late(&r.late, &want, 2), 0);
    rig_free(&r);
    expect_free(&want);
    free(x);
}

/* Events shuffled within the declared out-of-orderness B give the same
 * final table as the in-order stream (no record is late in either). */
static void test_shuffle_within_bound(void)
{
    const size_t N = 8000;
    const int64_t B = 250, SIZE = 700;
    ev *shuffled = make_events(N, 23, 1, B, 0, 99);
    ev *sorted = calloc(N, sizeof *sorted);
    memcpy(sorted, shuffled, N * sizeof *sorted);
    qsort(sorted, N, sizeof *sorted, ev_cmp);
    bool moved = false;
    for (size_t i = 0; i < N; i++)
        moved |= ev_cmp(&sorted[i], &shuffled[i]) != 0;
    TT_ASSERT(moved);
    rig a, b;
    rig_init(&a, sorted, N, 1, B, SIZE, 0, TIDE_TRIG_ACCUMULATING);
    rig_init(&b, shuffled, N, 1, B, SIZE, 0, TIDE_TRIG_ACCUMULATING);
    tide_err e = {0};
    TT_OK_E(run_win(&a, 1, NULL, &e));
    TT_OK_E(run_win(&b, 2, NULL, &e));
    TT_ASSERT_EQ_INT(a.late.n, 0);
    TT_ASSERT_EQ_INT(b.late.n, 0);
    qsort(a.res.r, a.res.n, sizeof *a.res.r, row_cmp_vals);
    qsort(b.res.r, b.res.n, sizeof *b.res.r, row_cmp_vals);
    TT_ASSERT(same_rows(&a.res, &b.res, false));
    rig_free(&a);
    rig_free(&b);
    free(shuffled);
    free(sorted);
}

/* Allowed lateness L > 0, retracting: the changelog applied (+I/+U set,
 * -U/-D delete) is the brute force's final table; rows identical for P. */
static void test_lateness_retracting(void)
{
    const size_t N = 10000;
    const int64_t B = 200, SIZE = 800, L = 1500;
    ev *x = make_events(N, 11, 2, B, 60, 5);
    expect want;
    brute_windows(x, N, 2, B, SIZE, L, 1, &want);
    rows first = {0};
    for (uint32_t P = 1; P <= 4; P *= 2) {
        rig r;
        rig_init(&r, x, N, 2, B, SIZE, L, TIDE_TRIG_RETRACTING);
        tide_err e = {0};
        TT_OK_E(run_win(&r, P, NULL, &e));
        /* apply */
        win *tab = calloc(want.nw + r.res.n + 1, sizeof *tab);
        size_t nt = 0;
        bool ok = true;
        for (size_t i = 0; i < r.res.n && ok; i++) {
            const row *o = &r.res.r[i];
            win w = {o->v[0], o->v[1], o->v[4], o->v[5]};
            size_t j = 0;
            while (j < nt && win_cmp(&tab[j], &w) != 0)
                j++;
            if (o->op == TIDE_OP_INSERT || o->op == TIDE_OP_UPDATE_AFTER) {
                if (j == nt)
                    nt++;
                tab[j] = w;
            } else {
                ok = j < nt && tab[j].cnt == w.cnt && tab[j].sum == w.sum; /* retracts what it said */
                if (ok)
                    tab[j] = tab[--nt];
            }
        }
        TT_ASSERT(ok);
        qsort(tab, nt, sizeof *tab, win_cmp);
        TT_ASSERT_EQ_INT(nt, want.nw);
        for (size_t i = 0; i < nt; i++)
            TT_ASSERT(win_cmp(&tab[i], &want.w[i]) == 0 && tab[i].cnt == want.w[i].cnt &&
                      tab[i].sum == want.w[i].sum);
        free(tab);
        TT_ASSERT_EQ_INT(check_late(&r.late, &want, 1), 0);
        if (P == 1) {
            first = r.res;
            memset(&r.res, 0, sizeof r.res);
        } else {
            TT_ASSERT(same_rows(&first, &r.res, true));
        }
        rig_free(&r);
    }
    rows_free(&first);
    expect_free(&want);
    free(x);
}

/* Rows without an event time are dead letters: counted, handed over, never
 * in a window. */
static int dead_count(void *ctx, const tide_node_scan_dead *d)
{
    (void)d;
    ++*(int *)ctx;
    return 0;
}

static void test_dead_letters(void)
{
    const size_t N = 2000;
    ev *x = make_events(N, 7, 1, 100, 0, 3);
    for (size_t i = 0; i < N; i += 97)
        x[i].ts = NUL;
    size_t nnull = (N + 96) / 97;
    ev *clean = calloc(N, sizeof *clean);
    size_t nc = 0;
    for (size_t i = 0; i < N; i++)
        if (x[i].ts != NUL)
            clean[nc++] = x[i];
    expect want;
    brute_windows(clean, nc, 1, 100, 500, 0, 1, &want);
    rig r;
    rig_init(&r, x, N, 1, 100, 500, 0, TIDE_TRIG_ACCUMULATING);
    int dead = 0;
    r.scan.on_dead = dead_count;
    r.scan.dead_ctx = &dead;
    tide_err e = {0};
    uint64_t cnt[TIDE_NODE_COUNTERS];
    TT_OK_E(run_win(&r, 2, cnt, &e));
    TT_ASSERT_EQ_INT(dead, nnull);
    TT_ASSERT_EQ_INT(cnt[TIDE_NODE_BAD], nnull);
    TT_ASSERT_EQ_INT(cnt[TIDE_NODE_IN], nc);
    TT_ASSERT_EQ_INT(check_windows(&r.res, &want, 500), 0);
    rig_free(&r);
    expect_free(&want);
    free(x);
    free(clean);
}

/* ---- GROUP BY: scan -> hash -> groupagg[P] -> gather -> order(k) -> collect,
 * and a second GROUP BY over the first one's changelog ---- */

typedef struct grig {
    feed f;
    tide_node_scan_cfg scan;
    tide_node_groupagg_cfg g1, g2;
    tide_node_order_cfg ord;
    tide_node_calc_cfg having;
    tide_schema *s_src, *s_g1, *s_g2, *s_hv;
    uint32_t k1[1], v1[1], k2[1], sort[1];
    tide_groupagg_call a1[2], a2[1];
    tide_expr *hv_where, *hv_exprs[2];
    rows res;
} grig;

static void grig_init(grig *r, const ev *x, size_t n)
{
    memset(r, 0, sizeof *r);
    tide_err e = {0};
    r->f = (feed){.ev = x, .n = n, .batch = 50, .parts = 1, .pause_at = SIZE_MAX};
    r->s_src = src_schema();
    tide_node_scan_cfg_init(&r->scan);
    r->scan.kind = TIDE_NODE_SCAN_CALLBACK;
    r->scan.schema = r->s_src;
    r->scan.next = feed_next;
    r->scan.ctx = &r->f;
    r->scan.wm_bound = 100;
    r->scan.batch_rows = 128;
    r->k1[0] = S_K;
    r->v1[0] = S_V;
    r->a1[0] = (tide_groupagg_call){TIDE_AGG_SUM, 0, TIDE_TYPE_BIGINT};
    r->a1[1] = (tide_groupagg_call){TIDE_AGG_COUNT_STAR, 0, TIDE_TYPE_NULL};
    r->g1 = (tide_node_groupagg_cfg){.in = r->s_src,
                                     .key_cols = r->k1,
                                     .n_keys = 1,
                                     .value_cols = r->v1,
                                     .n_values = 1,
                                     .aggs = r->a1,
                                     .n_aggs = 2,
                                     .batch_rows = 64};
    if (tide_node_groupagg_schema(&r->g1, 0, &r->s_g1, &e))
        abort();
    /* second level: GROUP BY the count (column 2 of k, sum, count) */
    r->k2[0] = 2;
    r->a2[0] = (tide_groupagg_call){TIDE_AGG_COUNT_STAR, 0, TIDE_TYPE_NULL};
    r->g2 = (tide_node_groupagg_cfg){.in = r->s_g1, .key_cols = r->k2, .n_keys = 1, .aggs = r->a2, .n_aggs = 1,
                                     .changelog = true};
    if (tide_node_groupagg_schema(&r->g2, 0, &r->s_g2, &e))
        abort();
    r->sort[0] = 0;
}

static void grig_free(grig *r)
{
    tide_schema_free(r->s_src);
    tide_schema_free(r->s_g1);
    tide_schema_free(r->s_g2);
    tide_schema_free(r->s_hv);
    tide_expr_free(r->hv_where);
    tide_expr_free(r->hv_exprs[0]);
    tide_expr_free(r->hv_exprs[1]);
    rows_free(&r->res);
}

/* levels 1: per k (k, sum, count); 2: per count (count, keys); having:
 * level 1 then HAVING sum % 3 != 0 SELECT k, sum / 1000 */
static int run_group(grig *r, int levels, bool having, uint32_t P, tide_err *e)
{
    tide_flow *f = NULL;
    tide_flow_cfg fc = {.batch_rows = 16, .chan_capacity = 4};
    int rc = tide_flow_create(&f, &fc, e), src, g1, g2 = -1, ord, hv = -1, col;
    if (rc)
        return rc;
    const tide_schema *last = levels == 2 ? r->s_g2 : r->s_g1;
    r->ord = (tide_node_order_cfg){.schema = last, .flags = TIDE_CBATCH_OPS, .sort_cols = r->sort, .n_sort = 1};
    tide_flow_node n = node("scan", &tide_node_scan_vt, tide_node_scan_make, &r->scan, 1, r->s_src, 0);
    rc = tide_flow_add(f, &n, &src, e);
    n = node("g1", &tide_node_groupagg_vt, tide_node_groupagg_make, &r->g1, P, r->s_g1, TIDE_CBATCH_OPS);
    rc = rc ? rc : tide_flow_add(f, &n, &g1, e);
    if (levels == 2) {
        n = node("g2", &tide_node_groupagg_vt, tide_node_groupagg_make, &r->g2, P, r->s_g2, TIDE_CBATCH_OPS);
        rc = rc ? rc : tide_flow_add(f, &n, &g2, e);
    }
    n = node("order", &tide_node_order_vt, tide_node_order_make, &r->ord, 1, last, TIDE_CBATCH_OPS);
    rc = rc ? rc : tide_flow_add(f, &n, &ord, e);
    const tide_schema *out = last;
    if (having) {
        n = node("having", &tide_node_calc_vt, tide_node_calc_make, &r->having, 1, r->s_hv, TIDE_CBATCH_OPS);
        rc = rc ? rc : tide_flow_add(f, &n, &hv, e);
        out = r->s_hv;
    }
    n = node("collect", &collect_vt, collect_make, &r->res, 1, out, TIDE_CBATCH_OPS);
    rc = rc ? rc : tide_flow_add(f, &n, &col, e);
    uint32_t key = S_K, key2 = 2;
    rc = rc ? rc : tide_flow_connect(f, src, 0, g1, TIDE_FLOW_HASH, &key, 1, e);
    if (levels == 2) {
        rc = rc ? rc : tide_flow_connect(f, g1, 0, g2, TIDE_FLOW_HASH, &key2, 1, e);
        rc = rc ? rc : tide_flow_connect(f, g2, 0, ord, TIDE_FLOW_GATHER, NULL, 0, e);
    } else {
        rc = rc ? rc : tide_flow_connect(f, g1, 0, ord, TIDE_FLOW_GATHER, NULL, 0, e);
    }
    if (having) {
        rc = rc ? rc : tide_flow_connect(f, ord, 0, hv, TIDE_FLOW_FORWARD, NULL, 0, e);
        rc = rc ? rc : tide_flow_connect(f, hv, 0, col, TIDE_FLOW_FORWARD, NULL, 0, e);
    } else {
        rc = rc ? rc : tide_flow_connect(f, ord, 0, col, TIDE_FLOW_FORWARD, NULL, 0, e);
    }
    rc = rc ? rc : tide_flow_run(f, e);
    tide_flow_free(f);
    return rc;
}

/* Apply a changelog of (key, values...) rows keyed by column 0: +I/+U set,
 * -U/-D delete (checking they retract the row the table holds).  The table
 * is tab[key] (nv values), has[key]; false on a bad retraction. */
static bool apply(const rows *c, uint32_t nv, int64_t (*tab)[4], bool *has, int64_t nkeys)
{
    for (size_t i = 0; i < c->n; i++) {
        const row *o = &c->r[i];
        int64_t k = o->v[0];
        if (k < 0 || k >= nkeys)
            return false;
        if (o->op == TIDE_OP_INSERT || o->op == TIDE_OP_UPDATE_AFTER) {
            if (o->op == TIDE_OP_INSERT && has[k])
                return false;
            for (uint32_t j = 0; j < nv; j++)
                tab[k][j] = o->v[1 + j];
            has[k] = true;
        } else {
            if (!has[k])
                return false;
            for (uint32_t j = 0; j < nv; j++)
                if (tab[k][j] != o->v[1 + j])
                    return false;
            has[k] = false;
        }
    }
    return true;
}

static void test_groupagg_changelog(void)
{
    const size_t N = 12000;
    const int64_t NK = 50;
    ev *x = make_events(N, (uint32_t)NK, 1, 100, 0, 21);
    int64_t sum[64] = {0}, cnt[64] = {0};
    for (size_t i = 0; i < N; i++) {
        sum[x[i].k] += x[i].v;
        cnt[x[i].k]++;
    }
    rows first = {0};
    for (uint32_t P = 1; P <= 4; P *= 2) {
        grig r;
        grig_init(&r, x, N);
        tide_err e = {0};
        TT_OK_E(run_group(&r, 1, false, P, &e));
        int64_t tab[64][4];
        bool has[64] = {0};
        TT_ASSERT(apply(&r.res, 2, tab, has, NK));
        for (int64_t k = 0; k < NK; k++) {
            TT_ASSERT(has[k] == (cnt[k] > 0));
            if (has[k])
                TT_ASSERT(tab[k][0] == sum[k] && tab[k][1] == cnt[k]);
        }
        TT_ASSERT(r.res.steps > 50);
        if (P == 1) {
            first = r.res;
            memset(&r.res, 0, sizeof r.res);
        } else {
            TT_ASSERT(same_rows(&first, &r.res, true));
        }
        grig_free(&r);
    }
    rows_free(&first);
    free(x);
}

/* GROUP BY over a changelog (the first level's -U/+U retract and add): the
 * histogram of the keys' counts. */
static void test_groupagg_of_changelog(void)
{
    const size_t N = 6000;
    const int64_t NK = 40;
    ev *x = make_events(N, (uint32_t)NK, 1, 100, 0, 8);
    int64_t cnt[64] = {0};
    for (size_t i = 0; i < N; i++)
        cnt[x[i].k]++;
    enum { MAXCNT = 1024 };
    int64_t hist[MAXCNT] = {0};
    for (int64_t k = 0; k < NK; k++)
        if (cnt[k])
            hist[cnt[k]]++;
    rows first = {0};
    for (uint32_t P = 1; P <= 4; P *= 2) {
        grig r;
        grig_init(&r, x, N);
        tide_err e = {0};
        TT_OK_E(run_group(&r, 2, false, P, &e));
        static int64_t tab[MAXCNT][4];
        static bool has[MAXCNT];
        memset(has, 0, sizeof has);
        TT_ASSERT(apply(&r.res, 1, tab, has, MAXCNT));
        for (int64_t c = 0; c < MAXCNT; c++) {
            TT_ASSERT(has[c] == (hist[c] > 0));
            if (has[c])
                TT_ASSERT(tab[c][0] == hist[c]);
        }
        if (P == 1) {
            first = r.res;
            memset(&r.res, 0, sizeof r.res);
        } else {
            TT_ASSERT(same_rows(&first, &r.res, true));
        }
        grig_free(&r);
    }
    rows_free(&first);
    free(x);
}

/* HAVING over the GROUP BY changelog: HAVING sum % 3 != 0, SELECT k,
 * sum / 1000.  The output applied = the filtered final table; every -U is
 * followed by the +U of its key and the two differ. */
static void test_having_changelog(void)
{
    const size_t N = 8000;
    const int64_t NK = 30;
    ev *x = make_events(N, (uint32_t)NK, 1, 100, 0, 33);
    int64_t sum[64] = {0};
    bool seen[64] = {0};
    for (size_t i = 0; i < N; i++) {
        sum[x[i].k] += x[i].v;
        seen[x[i].k] = true;
    }
    rows first = {0};
    for (uint32_t P = 1; P <= 2; P++) {
        grig r;
        grig_init(&r, x, N);
        tide_err e = {0};
        /* k, sum, count -> k, sum / 1000 where sum % 3 != 0 */
        tide_schema *hv;
        TT_OK_E(tide_schema_create(&hv, &e));
        TT_OK_E(tide_schema_add(hv, "k", TIDE_TYPE_BIGINT, true, &e));
        TT_OK_E(tide_schema_add(hv, "s", TIDE_TYPE_BIGINT, true, &e));
        r.s_hv = hv;
        tide_expr *s = NULL, *three = NULL, *m = NULL, *zero = NULL, *s2 = NULL, *thou = NULL;
        tide_expr_column(&s, r.s_g1, 1, &e);
        tide_expr_literal_i64(&three, 3, &e);
        tide_expr_arith(&m, TIDE_EXPR_MOD, s, three, &e);
        tide_expr_literal_i64(&zero, 0, &e);
        TT_OK_E(tide_expr_compare(&r.hv_where, TIDE_EXPR_NE, m, zero, &e));
        TT_OK_E(tide_expr_column(&r.hv_exprs[0], r.s_g1, 0, &e));
        tide_expr_column(&s2, r.s_g1, 1, &e);
        tide_expr_literal_i64(&thou, 1000, &e);
        TT_OK_E(tide_expr_arith(&r.hv_exprs[1], TIDE_EXPR_DIV, s2, thou, &e));
        r.having = (tide_node_calc_cfg){.in = r.s_g1,
                                        .out = hv,
                                        .n_exprs = 2,
                                        .where = r.hv_where,
                                        .exprs = r.hv_exprs,
                                        .in_flags = TIDE_CBATCH_OPS,
                                        .changelog = true};
        TT_OK_E(run_group(&r, 1, true, P, &e));
        int64_t tab[64][4];
        bool has[64] = {0};
        TT_ASSERT(apply(&r.res, 1, tab, has, NK));
        for (int64_t k = 0; k < NK; k++) {
            bool want = seen[k] && sum[k] % 3 != 0;
            TT_ASSERT_MSG(has[k] == want, "key %lld", (long long)k);
            if (want)
                TT_ASSERT(tab[k][0] == sum[k] / 1000);
        }
        size_t pairs = 0;
        for (size_t i = 0; i < r.res.n; i++) {
            const row *o = &r.res.r[i];
            if (o->op == TIDE_OP_UPDATE_BEFORE) {
                TT_ASSERT(i + 1 < r.res.n && r.res.r[i + 1].op == TIDE_OP_UPDATE_AFTER &&
                          r.res.r[i + 1].v[0] == o->v[0] && r.res.r[i + 1].v[1] != o->v[1]);
                pairs++;
            }
            if (o->op == TIDE_OP_UPDATE_AFTER)
                TT_ASSERT(i > 0 && r.res.r[i - 1].op == TIDE_OP_UPDATE_BEFORE);
        }
        TT_ASSERT(pairs > 0);
        if (P == 1) {
            first = r.res;
            memset(&r.res, 0, sizeof r.res);
        } else {
            TT_ASSERT(same_rows(&first, &r.res, true));
        }
        grig_free(&r);
    }
    rows_free(&first);
    free(x);
}

/* ---- a changelog source node (test only): rows (k, v) with ops from an
 * array, a watermark after every `step` rows, pausing before row
 * `pause_at` so that a barrier lands there ---- */

typedef struct clog {
    int64_t k, v;
    int op;
} clog;

typedef struct clsrc_cfg {
    const clog *c;
    size_t n, step, pause_at;
    _Atomic int paused, resume;
    const tide_schema *s;
} clsrc_cfg;

typedef struct clsrc {
    clsrc_cfg *cfg;
    size_t at;
    tide_cbatch *b;
} clsrc;

static int clsrc_poll(void *self, tide_node_ctx *cx, tide_err *e)
{
    clsrc *s = self;
    clsrc_cfg *c = s->cfg;
    if (s->at >= c->n)
        return 0;
    if (s->at == c->pause_at && !atomic_load(&c->resume)) {
        atomic_store(&c->paused, 1);
        return TIDE_EAGAIN;
    }
    tide_cbatch_reset(s->b);
    size_t end = (s->at / c->step + 1) * c->step;
    end = end < c->n ? end : c->n;
    if (c->pause_at > s->at && end > c->pause_at)
        end = c->pause_at;
    for (; s->at < end; s->at++) {
        uint32_t r = 0;
        tide_cbatch_add_row(s->b, &r);
        tide_cbatch_set_op(s->b, r, (tide_op)c->c[s->at].op);
        if (c->c[s->at].k != NUL)
            tide_cbatch_set_i64(s->b, 0, r, c->c[s->at].k);
        tide_cbatch_set_i64(s->b, 1, r, c->c[s->at].v);
    }
    int rc = tide_node_emit(cx, 0, s->b, NULL, tide_cbatch_rows(s->b), e);
    if (rc == 0 && (s->at % c->step == 0 || s->at == c->n))
        rc = tide_node_emit_watermark(cx, (int64_t)s->at, e);
    return rc ? rc : 1;
}

static int clsrc_snapshot(void *self, int64_t id, tide_buf *out, tide_err *e)
{
    (void)id;
    tide_snap_w w;
    tide_snap_begin(&w, out, "clsrc", 1);
    tide_snap_put_u64(&w, ((clsrc *)self)->at);
    return tide_snap_end(&w, e);
}

static int clsrc_restore(void *self, const void *buf, size_t len, tide_err *e)
{
    tide_snap_r r;
    int rc = tide_snap_open(&r, buf, len, "clsrc", 1, NULL, e);
    if (rc)
        return rc;
    ((clsrc *)self)->at = tide_snap_get_u64(&r);
    return tide_snap_close(&r, e);
}

static void clsrc_free(void *self)
{
    clsrc *s = self;
    tide_cbatch_free(s->b);
    free(s);
}

static const tide_node_vt clsrc_vt = {
    .kind = "clsrc", .poll = clsrc_poll, .snapshot = clsrc_snapshot, .restore = clsrc_restore, .free = clsrc_free};

static int clsrc_make(void *ctx, uint32_t k, uint32_t p, void **self, tide_err *e)
{
    (void)k;
    (void)p;
    clsrc_cfg *c = ctx;
    clsrc *s = calloc(1, sizeof *s);
    if (!s)
        return TIDE_ENOMEM;
    s->cfg = c;
    int rc = tide_cbatch_create(&s->b, c->s, (uint32_t)c->step, TIDE_CBATCH_OPS, e);
    if (rc) {
        free(s);
        return rc;
    }
    *self = s;
    return 0;
}

/* A random changelog over keys 0..nk-1 that a GROUP BY could write: +I a
 * new key, -U/+U an existing one (possibly to the same value), -D. */
static clog *make_changelog(size_t *n_out, size_t target, int64_t nk, uint64_t seed)
{
    clog *c = calloc(target + 2, sizeof *c);
    int64_t cur[64];
    bool live[64] = {0};
    size_t n = 0;
    uint64_t s = seed;
    while (n + 2 <= target) {
        int64_t k = (int64_t)(tt_rand(&s) % (uint64_t)nk);
        int64_t v = (int64_t)(tt_rand(&s) % 12);
        if (!live[k]) {
            c[n++] = (clog){k, v, TIDE_OP_INSERT};
            live[k] = true;
        } else if (tt_rand(&s) % 8 == 0) {
            c[n++] = (clog){k, cur[k], TIDE_OP_DELETE};
            live[k] = false;
            continue;
        } else {
            c[n++] = (clog){k, cur[k], TIDE_OP_UPDATE_BEFORE};
            c[n++] = (clog){k, v, TIDE_OP_UPDATE_AFTER};
        }
        cur[k] = v;
    }
    *n_out = n;
    return c;
}

typedef struct hrig {
    clsrc_cfg src;
    tide_node_calc_cfg calc;
    tide_schema *s_in, *s_out;
    tide_expr *where, *exprs[2];
    rows res;
} hrig;

/* HAVING v % 3 != 0, SELECT k, v / 2 */
static void hrig_init(hrig *h, const clog *c, size_t n, size_t step)
{
    memset(h, 0, sizeof *h);
    tide_err e = {0};
    if (tide_schema_create(&h->s_in, &e) || tide_schema_add(h->s_in, "k", TIDE_TYPE_BIGINT, true, &e) ||
        tide_schema_add(h->s_in, "v", TIDE_TYPE_BIGINT, true, &e) || tide_schema_clone(h->s_in, &h->s_out, &e))
        abort();
    tide_expr *v = NULL, *three = NULL, *m = NULL, *zero = NULL, *v2 = NULL, *two = NULL;
    tide_expr_column(&v, h->s_in, 1, &e);
    tide_expr_literal_i64(&three, 3, &e);
    tide_expr_arith(&m, TIDE_EXPR_MOD, v, three, &e);
    tide_expr_literal_i64(&zero, 0, &e);
    tide_expr_compare(&h->where, TIDE_EXPR_NE, m, zero, &e);
    tide_expr_column(&h->exprs[0], h->s_in, 0, &e);
    tide_expr_column(&v2, h->s_in, 1, &e);
    tide_expr_literal_i64(&two, 2, &e);
    if (tide_expr_arith(&h->exprs[1], TIDE_EXPR_DIV, v2, two, &e))
        abort();
    h->src = (clsrc_cfg){.c = c, .n = n, .step = step, .pause_at = SIZE_MAX, .s = h->s_in};
    h->calc = (tide_node_calc_cfg){.in = h->s_in,
                                   .out = h->s_out,
                                   .n_exprs = 2,
                                   .where = h->where,
                                   .exprs = h->exprs,
                                   .in_flags = TIDE_CBATCH_OPS,
                                   .changelog = true};
}

static void hrig_free(hrig *h)
{
    tide_expr_free(h->where);
    tide_expr_free(h->exprs[0]);
    tide_expr_free(h->exprs[1]);
    tide_schema_free(h->s_in);
    tide_schema_free(h->s_out);
    rows_free(&h->res);
}

static int build_having(tide_flow *f, hrig *h, tide_err *e)
{
    int src, calc, col, rc;
    tide_flow_node n = node("clsrc", &clsrc_vt, clsrc_make, &h->src, 1, h->s_in, TIDE_CBATCH_OPS);
    if ((rc = tide_flow_add(f, &n, &src, e)))
        return rc;
    n = node("having", &tide_node_calc_vt, tide_node_calc_make, &h->calc, 1, h->s_out, TIDE_CBATCH_OPS);
    if ((rc = tide_flow_add(f, &n, &calc, e)))
        return rc;
    n = node("collect", &collect_vt, collect_make, &h->res, 1, h->s_out, TIDE_CBATCH_OPS);
    if ((rc = tide_flow_add(f, &n, &col, e)))
        return rc;
    /* the source and the HAVING are two tasks: the barrier snapshots calc
     * after the source's rows before it */
    if ((rc = tide_flow_connect(f, src, 0, calc, TIDE_FLOW_GATHER, NULL, 0, e)) ||
        (rc = tide_flow_connect(f, calc, 0, col, TIDE_FLOW_FORWARD, NULL, 0, e)))
        return rc;
    return 0;
}

/* The rule of node_calc.h applied row by row, independently: the expected
 * output (op, k, v / 2). */
static size_t having_brute(const clog *c, size_t n, row *out)
{
    size_t m = 0;
    bool pend = false;
    clog old = {0};
#define PASS(x) ((x).v % 3 != 0)
#define OUT(o, x) (out[m++] = (row){.op = (o), .v = {(x).k, (x).v / 2}})
    for (size_t i = 0; i < n; i++) {
        clog x = c[i];
        if (x.op == TIDE_OP_UPDATE_BEFORE) {
            if (pend && PASS(old))
                OUT(TIDE_OP_DELETE, old);
            pend = true;
            old = x;
        } else if (x.op == TIDE_OP_UPDATE_AFTER && pend) {
            pend = false;
            if (PASS(old) && PASS(x)) {
                if (old.v / 2 != x.v / 2) {
                    OUT(TIDE_OP_UPDATE_BEFORE, old);
                    OUT(TIDE_OP_UPDATE_AFTER, x);
                }
            } else if (PASS(old)) {
                OUT(TIDE_OP_DELETE, old);
            } else if (PASS(x)) {
                OUT(TIDE_OP_INSERT, x);
            }
        } else {
            if (pend && PASS(old))
                OUT(TIDE_OP_DELETE, old);
            pend = false;
            if (PASS(x))
                OUT(x.op, x);
        }
    }
    if (pend && PASS(old))
        OUT(TIDE_OP_DELETE, old);
#undef PASS
#undef OUT
    return m;
}

/* The HAVING rig over changelog c[0, n) in batches of 1, 7 (so -U and +U
 * often sit in two batches) and 64, against having_brute. */
static void having_rule_run(const clog *c, size_t n, const char *what)
{
    row *want = calloc(n + 1, sizeof *want);
    size_t nw = having_brute(c, n, want);
    size_t steps[] = {1, 7, 64};
    for (int si = 0; si < 3; si++) {
        hrig h;
        hrig_init(&h, c, n, steps[si]);
        tide_flow *f;
        tide_err e = {0};
        tide_flow_cfg fc = {.batch_rows = 16};
        TT_OK_E(tide_flow_create(&f, &fc, &e));
        TT_OK_E(build_having(f, &h, &e));
        TT_OK_E(tide_flow_run(f, &e));
        tide_flow_free(f);
        TT_ASSERT_EQ_INT(h.res.n, nw);
        for (size_t i = 0; i < nw; i++)
            TT_ASSERT_MSG(h.res.r[i].op == want[i].op && h.res.r[i].v[0] == want[i].v[0] &&
                              h.res.r[i].v[1] == want[i].v[1],
                          "%s: row %zu step %zu", what, i, steps[si]);
        hrig_free(&h);
    }
    free(want);
}

static void test_having_rule(void)
{
    size_t n;
    clog *c = make_changelog(&n, 4000, 20, 77);
    having_rule_run(c, n, "pairs");
    /* some +U rows dropped, so a -U is followed by another -U, a +I, a -D,
     * and at the end by nothing: each such -U is a deletion (node_calc.h) */
    size_t m = 0;
    uint64_t s = 99;
    for (size_t i = 0; i < n; i++)
        if (!(c[i].op == TIDE_OP_UPDATE_AFTER && tt_rand(&s) % 4 == 0))
            c[m++] = c[i];
    c[m++] = (clog){c[0].k, 1, TIDE_OP_UPDATE_BEFORE}; /* 1 passes: a -D at the end */
    TT_ASSERT(m < n);
    having_rule_run(c, m, "lone -U");
    free(c);
}

typedef struct injector {
    tide_flow *f;
    _Atomic int *paused, *resume;
    int64_t id;
} injector;

static void *inject_at_pause(void *arg)
{
    injector *in = arg;
    while (!atomic_load(in->paused))
        sched_yield();
    in->id = tide_flow_inject_barrier(in->f);
    atomic_store(in->resume, 1);
    return NULL;
}

/* A barrier right after a -U (held by the HAVING): restored, the flow
 * finishes with exactly the output of the run that was not interrupted. */
static void test_having_snapshot_restore(void)
{
    size_t n;
    clog *c = make_changelog(&n, 600, 6, 5);
    size_t pause = 0;
    for (size_t i = 200; i < n && !pause; i++)
        if (c[i].op == TIDE_OP_UPDATE_BEFORE && c[i + 1].op == TIDE_OP_UPDATE_AFTER && c[i].v % 3 != 0)
            pause = i + 1;
    TT_ASSERT(pause > 0);
    hrig h;
    hrig_init(&h, c, n, 5);
    h.src.pause_at = pause;
    tide_flow *f;
    tide_err e = {0};
    tide_flow_cfg fc = {.batch_rows = 16};
    TT_OK_E(tide_flow_create(&f, &fc, &e));
    TT_OK_E(build_having(f, &h, &e));
    injector inj = {.f = f, .paused = &h.src.paused, .resume = &h.src.resume};
    TT_OK_E(tide_flow_start(f, &e));
    pthread_t th;
    pthread_create(&th, NULL, inject_at_pause, &inj);
    TT_OK_E(tide_flow_wait(f, &e));
    pthread_join(th, NULL);
    tide_buf store = {0};
    TT_ASSERT(tide_flow_snapshot(f, inj.id, &store, &e));
    tide_flow_free(f);
    size_t at = h.res.snap_n;

    hrig h2;
    hrig_init(&h2, c, n, 5);
    TT_OK_E(tide_flow_create(&f, &fc, &e));
    TT_OK_E(build_having(f, &h2, &e));
    TT_OK_E(tide_flow_restore(f, &store, &e));
    TT_OK_E(tide_flow_run(f, &e));
    tide_flow_free(f);
    TT_ASSERT_EQ_INT(h2.res.restored, at);
    TT_ASSERT_EQ_INT(at + h2.res.n, h.res.n);
    for (size_t i = 0; i < h2.res.n; i++)
        TT_ASSERT(row_cmp_vals(&h2.res.r[i], &h.res.r[at + i]) == 0);
    tide_buf_free(&store);
    hrig_free(&h);
    hrig_free(&h2);
    free(c);
}

/* ---- the order node: stable, per watermark step ---- */

typedef struct orig {
    clsrc_cfg src;
    tide_node_order_cfg ord;
    tide_schema *s;
    uint32_t sort[1];
    rows res;
} orig;

static int build_order(tide_flow *f, orig *o, tide_err *e)
{
    int src, ord, col, rc;
    tide_flow_node n = node("clsrc", &clsrc_vt, clsrc_make, &o->src, 1, o->s, TIDE_CBATCH_OPS);
    if ((rc = tide_flow_add(f, &n, &src, e)))
        return rc;
    n = node("order", &tide_node_order_vt, tide_node_order_make, &o->ord, 1, o->s, TIDE_CBATCH_OPS);
    if ((rc = tide_flow_add(f, &n, &ord, e)))
        return rc;
    n = node("collect", &collect_vt, collect_make, &o->res, 1, o->s, TIDE_CBATCH_OPS);
    if ((rc = tide_flow_add(f, &n, &col, e)))
        return rc;
    if ((rc = tide_flow_connect(f, src, 0, ord, TIDE_FLOW_GATHER, NULL, 0, e)) ||
        (rc = tide_flow_connect(f, ord, 0, col, TIDE_FLOW_FORWARD, NULL, 0, e)))
        return rc;
    return 0;
}

static void orig_init(orig *o, const clog *c, size_t n, size_t step)
{
    memset(o, 0, sizeof *o);
    tide_err e = {0};
    if (tide_schema_create(&o->s, &e) || tide_schema_add(o->s, "k", TIDE_TYPE_BIGINT, true, &e) ||
        tide_schema_add(o->s, "v", TIDE_TYPE_BIGINT, true, &e))
        abort();
    o->src = (clsrc_cfg){.c = c, .n = n, .step = step, .pause_at = SIZE_MAX, .s = o->s};
    o->sort[0] = 0;
    o->ord = (tide_node_order_cfg){.schema = o->s, .flags = TIDE_CBATCH_OPS, .sort_cols = o->sort, .n_sort = 1,
                                   .batch_rows = 13};
}

static void orig_free(orig *o)
{
    tide_schema_free(o->s);
    rows_free(&o->res);
}

/* Rows (k, seq) with ops, a watermark every 50 rows: each step comes out
 * sorted by k, equal k in arrival order (seq rising), ops with their rows
 * (a -U before the +U of its key); a barrier between two watermarks (the
 * order node holds rows) restores to the same output. */
static void test_order_stable(void)
{
    enum { N = 3000 };
    clog *c = calloc(N, sizeof *c);
    uint64_t s = 4;
    for (size_t i = 0; i < N; i++) {
        int64_t k = i % 11 == 0 ? NUL : (int64_t)(tt_rand(&s) % 9); /* NULLs sort first */
        c[i] = (clog){k, (int64_t)i, (int)(tt_rand(&s) % 4)};
        if (i > 0 && c[i - 1].op == TIDE_OP_UPDATE_BEFORE)
            c[i] = (clog){c[i - 1].k, (int64_t)i, TIDE_OP_UPDATE_AFTER};
    }
    orig o;
    orig_init(&o, c, N, 50);
    o.src.pause_at = 1525; /* inside a step */
    tide_flow *f;
    tide_err e = {0};
    tide_flow_cfg fc = {.batch_rows = 8};
    TT_OK_E(tide_flow_create(&f, &fc, &e));
    TT_OK_E(build_order(f, &o, &e));
    injector inj = {.f = f, .paused = &o.src.paused, .resume = &o.src.resume};
    TT_OK_E(tide_flow_start(f, &e));
    pthread_t th;
    pthread_create(&th, NULL, inject_at_pause, &inj);
    TT_OK_E(tide_flow_wait(f, &e));
    pthread_join(th, NULL);
    TT_ASSERT_EQ_INT(o.res.n, N);
    for (size_t i = 0; i < N; i++) {
        const row *r = &o.res.r[i];
        TT_ASSERT_EQ_INT(r->op, c[r->v[1]].op);
        TT_ASSERT_EQ_INT(r->v[0], c[r->v[1]].k);
        TT_ASSERT_EQ_INT((size_t)r->v[1] / 50, r->step); /* released at its step's watermark */
        if (i > 0 && o.res.r[i - 1].step == r->step) {
            const row *p = &o.res.r[i - 1];
            TT_ASSERT(p->v[0] < r->v[0] || (p->v[0] == r->v[0] && p->v[1] < r->v[1]));
        }
        if (r->op == TIDE_OP_UPDATE_BEFORE && (size_t)r->v[1] + 1 < N && (r->v[1] + 1) % 50 != 0)
            TT_ASSERT(i + 1 < N && o.res.r[i + 1].v[1] == r->v[1] + 1);
    }
    tide_buf store = {0};
    TT_ASSERT(tide_flow_snapshot(f, inj.id, &store, &e));
    tide_flow_free(f);
    size_t at = o.res.snap_n;
    TT_ASSERT_EQ_INT(at, 1500); /* the rows of the 30 steps before the barrier */
    orig o2;
    orig_init(&o2, c, N, 50);
    TT_OK_E(tide_flow_create(&f, &fc, &e));
    TT_OK_E(build_order(f, &o2, &e));
    TT_OK_E(tide_flow_restore(f, &store, &e));
    TT_OK_E(tide_flow_run(f, &e));
    tide_flow_free(f);
    TT_ASSERT_EQ_INT(at + o2.res.n, N);
    for (size_t i = 0; i < o2.res.n; i++)
        TT_ASSERT(row_cmp_vals(&o2.res.r[i], &o.res.r[at + i]) == 0);
    tide_buf_free(&store);
    orig_free(&o);
    orig_free(&o2);
    free(c);
}

/* ---- snapshot and restore of the scan (callback and generator) ---- */

/* scan(callback) -> calc -> order -> collect with a barrier in a pause of
 * the source (the order node holding rows): a fresh flow restored from it
 * finishes with exactly the rows the interrupted run wrote after the
 * barrier. */
typedef struct srig {
    rig r;
    tide_node_order_cfg oc;
    uint32_t sk[2];
    rows out;
} srig;

static int build_scan_order(tide_flow *f, srig *s, tide_err *e)
{
    int src, calc, ord, col, rc;
    s->sk[0] = S_K;
    s->sk[1] = S_V;
    s->oc = (tide_node_order_cfg){.schema = s->r.s_calc, .flags = TIDE_CBATCH_POS, .sort_cols = s->sk, .n_sort = 2};
    tide_flow_node n = node("scan", &tide_node_scan_vt, tide_node_scan_make, &s->r.scan, 1, s->r.s_src, TIDE_CBATCH_POS);
    if ((rc = tide_flow_add(f, &n, &src, e)))
        return rc;
    n = node("calc", &tide_node_calc_vt, tide_node_calc_make, &s->r.calc, 1, s->r.s_calc, TIDE_CBATCH_POS);
    if ((rc = tide_flow_add(f, &n, &calc, e)))
        return rc;
    n = node("order", &tide_node_order_vt, tide_node_order_make, &s->oc, 1, s->r.s_calc, TIDE_CBATCH_POS);
    if ((rc = tide_flow_add(f, &n, &ord, e)))
        return rc;
    n = node("collect", &collect_vt, collect_make, &s->out, 1, s->r.s_calc, TIDE_CBATCH_POS);
    if ((rc = tide_flow_add(f, &n, &col, e)))
        return rc;
    if ((rc = tide_flow_connect(f, src, 0, calc, TIDE_FLOW_FORWARD, NULL, 0, e)) ||
        (rc = tide_flow_connect(f, calc, 0, ord, TIDE_FLOW_GATHER, NULL, 0, e)) ||
        (rc = tide_flow_connect(f, ord, 0, col, TIDE_FLOW_FORWARD, NULL, 0, e)))
        return rc;
    return 0;
}

static void test_scan_snapshot_restore(void)
{
    const size_t N = 5000;
    const int64_t B = 100;
    ev *x = make_events(N, 9, 2, B, 10, 13);
    srig *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
    rig_init(&a->r, x, N, 2, B, 500, 0, TIDE_TRIG_ACCUMULATING);
    a->r.f.pause_at = 2345;
    tide_flow *f;
    tide_err e = {0};
    tide_flow_cfg fc = {.batch_rows = 32};
    TT_OK_E(tide_flow_create(&f, &fc, &e));
    TT_OK_E(build_scan_order(f, a, &e));
    injector inj = {.f = f, .paused = &a->r.f.paused, .resume = &a->r.f.resume};
    TT_OK_E(tide_flow_start(f, &e));
    pthread_t th;
    pthread_create(&th, NULL, inject_at_pause, &inj);
    TT_OK_E(tide_flow_wait(f, &e));
    pthread_join(th, NULL);
    tide_buf store = {0};
    TT_ASSERT(tide_flow_snapshot(f, inj.id, &store, &e));
    tide_flow_free(f);
    size_t at = a->out.snap_n;
    TT_ASSERT(at > 0 && at < a->out.n);

    rig_init(&b->r, x, N, 2, B, 500, 0, TIDE_TRIG_ACCUMULATING);
    TT_OK_E(tide_flow_create(&f, &fc, &e));
    TT_OK_E(build_scan_order(f, b, &e));
    TT_OK_E(tide_flow_restore(f, &store, &e));
    TT_OK_E(tide_flow_run(f, &e));
    tide_flow_free(f);
    TT_ASSERT_EQ_INT(b->out.restored, at);
    TT_ASSERT_EQ_INT(at + b->out.n, a->out.n);
    for (size_t i = 0; i < b->out.n; i++)
        TT_ASSERT(row_cmp_vals(&b->out.r[i], &a->out.r[at + i]) == 0 &&
                  b->out.r[i].step + a->out.r[at].step == a->out.r[at + i].step + b->out.r[0].step);
    tide_buf_free(&store);
    rows_free(&a->out);
    rows_free(&b->out);
    rig_free(&a->r);
    rig_free(&b->r);
    free(a);
    free(b);
    free(x);
}

/* ---- a file = the generator, at P = 1 and 2 ---- */

typedef struct lrig {
    tide_node_scan_cfg scan;
    tide_src_config conn;
    tide_node_calc_cfg calc;
    tide_node_winagg_cfg wa;
    tide_node_order_cfg ord;
    tide_schema *s_src, *s_calc, *s_win;
    tide_expr *exprs[2];
    uint32_t key[1], sort[3];
    tide_winagg_call agg[1];
    tide_win_spec window;
    int64_t lateness;
    tide_trig_mode mode;
    rows res;
} lrig;

/* scan -> calc(SELECT user_id, ts) -> winagg[P] TUMBLE COUNT(*) by user
 * -> order -> collect */
static int run_logins(lrig *l, uint32_t P, tide_err *e)
{
    tide_schema *s = NULL;
    int rc = tide_node_scan_schema(&l->scan, 0, &s, e);
    if (rc)
        return rc;
    l->s_src = s;
    if ((rc = tide_schema_create(&l->s_calc, e)) || (rc = tide_schema_add(l->s_calc, "user_id", TIDE_TYPE_BIGINT, false, e)) ||
        (rc = tide_schema_add(l->s_calc, "ts", TIDE_TYPE_TIMESTAMP, false, e)) ||
        (rc = tide_expr_column(&l->exprs[0], s, TIDE_NODE_SCAN_LOGINS_USER_ID, e)) ||
        (rc = tide_expr_column(&l->exprs[1], s, TIDE_NODE_SCAN_LOGINS_TS, e)))
        return rc;
    l->calc = (tide_node_calc_cfg){.in = s, .out = l->s_calc, .n_exprs = 2, .exprs = l->exprs};
    l->key[0] = 0;
    l->agg[0] = (tide_winagg_call){TIDE_AGG_COUNT_STAR, 0, TIDE_TYPE_NULL};
    l->wa = (tide_node_winagg_cfg){.in = l->s_calc,
                                   .key_cols = l->key,
                                   .n_keys = 1,
                                   .time_col = 1,
                                   .aggs = l->agg,
                                   .n_aggs = 1,
                                   .window = l->window,
                                   .allowed_lateness = l->lateness,
                                   .mode = l->mode};
    if ((rc = tide_node_winagg_schema(&l->wa, 0, &l->s_win, e)))
        return rc;
    l->sort[0] = 2;
    l->sort[1] = 1;
    l->sort[2] = 0;
    l->ord = (tide_node_order_cfg){.schema = l->s_win, .flags = TIDE_CBATCH_OPS, .sort_cols = l->sort, .n_sort = 3};
    tide_flow *f;
    tide_flow_cfg fc = {.batch_rows = 256};
    if ((rc = tide_flow_create(&f, &fc, e)))
        return rc;
    int src, calc, wa, ord, col;
    tide_flow_node n = node("scan", &tide_node_scan_vt, tide_node_scan_make, &l->scan, 1, s, 0);
    rc = tide_flow_add(f, &n, &src, e);
    n = node("calc", &tide_node_calc_vt, tide_node_calc_make, &l->calc, 1, l->s_calc, 0);
    rc = rc ? rc : tide_flow_add(f, &n, &calc, e);
    n = node("winagg", &tide_node_winagg_vt, tide_node_winagg_make, &l->wa, P, l->s_win, TIDE_CBATCH_OPS);
    rc = rc ? rc : tide_flow_add(f, &n, &wa, e);
    n = node("order", &tide_node_order_vt, tide_node_order_make, &l->ord, 1, l->s_win, TIDE_CBATCH_OPS);
    rc = rc ? rc : tide_flow_add(f, &n, &ord, e);
    n = node("collect", &collect_vt, collect_make, &l->res, 1, l->s_win, TIDE_CBATCH_OPS);
    rc = rc ? rc : tide_flow_add(f, &n, &col, e);
    rc = rc ? rc : tide_flow_connect(f, src, 0, calc, TIDE_FLOW_FORWARD, NULL, 0, e);
    rc = rc ? rc : tide_flow_connect(f, calc, 0, wa, P == 1 ? TIDE_FLOW_FORWARD : TIDE_FLOW_HASH, l->key, 1, e);
    rc = rc ? rc : tide_flow_connect(f, wa, 0, ord, TIDE_FLOW_GATHER, NULL, 0, e);
    rc = rc ? rc : tide_flow_connect(f, ord, 0, col, TIDE_FLOW_FORWARD, NULL, 0, e);
    rc = rc ? rc : tide_flow_run(f, e);
    tide_flow_free(f);
    return rc;
}

static void lrig_free(lrig *l)
{
    tide_expr_free(l->exprs[0]);
    tide_expr_free(l->exprs[1]);
    tide_schema_free(l->s_src);
    tide_schema_free(l->s_calc);
    tide_schema_free(l->s_win);
    rows_free(&l->res);
}

/* The same windows over the same events: the flow over the generator at
 * P = 1 and 2, and over a CSV file of those events, give the same rows in
 * the same order, for TUMBLE, SESSION (retracting, with allowed lateness:
 * -D of merged sessions, -U/+U of late firings) and HOP (the operators'
 * results themselves are checked against brute force in test_winagg); and
 * a file read in chunks gives the same rows at P = 1 (one thread) and P = 2
 * (parsed by two). */
typedef struct wcase {
    tide_win_spec window;
    int64_t lateness;
    tide_trig_mode mode;
} wcase;

static void test_file_gen_pipeline(void)
{
    tide_gen_logins_cfg g;
    tide_gen_logins_cfg_default(&g);
    g.seed = 3;
    g.events = 40000;
    g.users = 500;
    g.start_ms = 1700000000000LL;
    g.end_ms = g.start_ms + 6 * 3600000LL;
    g.late_share = 0.05;
    g.max_delay_ms = 20000; /* beyond B: some late records */
    tide_err e = {0};
    const char *dir = tt_tmpdir("test_node_pipe");
    TT_ASSERT(dir != NULL);
    char path[4200];
    snprintf(path, sizeof path, "%s/logins.csv", dir);
    TT_OK_E(tide_gen_logins_write_csv(&g, path, &e));
    wcase cases[] = {
        {tide_win_tumble(600000), 0, TIDE_TRIG_ACCUMULATING},
        {tide_win_session(300000), 10000, TIDE_TRIG_RETRACTING},
        {tide_win_hop(300000, 900000), 5000, TIDE_TRIG_ACCUMULATING},
    };
    for (int ci = 0; ci < 3; ci++) {
        rows ref = {0}, ref_cut = {0};
        /* v 0, 1: the generator at P = 1, 2; v 2: the file (one chunk);
         * v 3, 4: the file in chunks of 100 kB (batches cut at their ends:
         * other watermark steps than the generator's), read by one thread
         * at P = 1 and by two (connect/src_file_par.c) at P = 2 */
        for (int v = 0; v < 5; v++) {
            lrig l;
            memset(&l, 0, sizeof l);
            l.window = cases[ci].window;
            l.lateness = cases[ci].lateness;
            l.mode = cases[ci].mode;
            tide_node_scan_cfg_init(&l.scan);
            l.scan.wm_bound = 5000;
            l.scan.batch_rows = 1024;
            if (v < 2) {
                l.scan.gen = g;
                l.scan.unread_cols = 1u << TIDE_NODE_SCAN_LOGINS_COUNTRY | 1u << TIDE_NODE_SCAN_LOGINS_DEVICE;
            } else {
                tide_src_config_init(&l.conn);
                l.conn.kind = TIDE_SRC_FILE;
                l.conn.path = path;
                l.conn.header = true;
                TT_OK_E(tide_node_scan_schema(&l.scan, 0, &l.s_src, &e)); /* the logins schema */
                l.conn.schema = l.s_src;
                l.scan.kind = TIDE_NODE_SCAN_CONNECT;
                l.scan.conn = &l.conn;
                l.conn.chunk_size = v >= 3 ? 100000 : (size_t)1 << 40; /* v 2: one chunk, whatever the default */
                if (v == 4)
                    l.conn.parse_threads = 2;
            }
            tide_schema *keep = l.s_src;
            l.s_src = NULL;
            TT_OK_E(run_logins(&l, v == 0 || v == 3 ? 1 : 2, &e));
            tide_schema_free(keep);
            if (v == 3) {
                TT_ASSERT(l.res.n > 0);
                ref_cut = l.res;
                memset(&l.res, 0, sizeof l.res);
            } else if (v == 4) {
                TT_ASSERT(same_rows(&ref_cut, &l.res, true));
            } else if (v == 0) {
                /* TUMBLE: final rows only; SESSION (retracting, lateness)
                 * and HOP (lateness): changes too */
                bool changes = false;
                for (size_t i = 0; i < l.res.n; i++)
                    changes |= l.res.r[i].op != TIDE_OP_INSERT;
                TT_ASSERT(l.res.n > 0);
                TT_ASSERT(changes == (ci > 0));
                ref = l.res;
                memset(&l.res, 0, sizeof l.res);
            } else {
                TT_ASSERT(same_rows(&ref, &l.res, true));
            }
            lrig_free(&l);
        }
        rows_free(&ref);
        rows_free(&ref_cut);
    }
}

/* The generator's scan restores by skipping the delivered events: a flow
 * restored from a barrier taken mid-run finishes with the same rows. */
typedef struct gen_injector {
    tide_flow *f;
    rows *out;
    int64_t id;
} gen_injector;

static void *inject_when_rows(void *arg)
{
    gen_injector *g = arg;
    while (__atomic_load_n(&g->out->n, __ATOMIC_RELAXED) < 1000)
        sched_yield();
    g->id = tide_flow_inject_barrier(g->f);
    return NULL;
}

/* Run the scan of `sc` (rows of schema s) into an ordering sink twice:
 * once with a barrier injected mid-run, once restored from it; the
 * restored run's rows are the rest of the first run's. */
static void scan_restore_case(const tide_node_scan_cfg *sc, const tide_schema *s, size_t expect)
{
    tide_err e = {0};
    uint32_t sort[2] = {TIDE_NODE_SCAN_LOGINS_TS, TIDE_NODE_SCAN_LOGINS_USER_ID};
    tide_node_order_cfg oc = {.schema = s, .flags = TIDE_CBATCH_POS, .sort_cols = sort, .n_sort = 2};
    rows out[2] = {{0}};
    tide_buf store = {0};
    size_t at = 0;
    for (int pass = 0; pass < 2; pass++) {
        tide_flow *f;
        TT_OK_E(tide_flow_create(&f, NULL, &e));
        int src, ord, col;
        tide_flow_node n = node("scan", &tide_node_scan_vt, tide_node_scan_make, (void *)sc, 1, s, TIDE_CBATCH_POS);
        TT_OK_E(tide_flow_add(f, &n, &src, &e));
        n = node("order", &tide_node_order_vt, tide_node_order_make, &oc, 1, s, TIDE_CBATCH_POS);
        TT_OK_E(tide_flow_add(f, &n, &ord, &e));
        n = node("collect", &collect_vt, collect_make, &out[pass], 1, s, TIDE_CBATCH_POS);
        TT_OK_E(tide_flow_add(f, &n, &col, &e));
        TT_OK_E(tide_flow_connect(f, src, 0, ord, TIDE_FLOW_GATHER, NULL, 0, &e));
        TT_OK_E(tide_flow_connect(f, ord, 0, col, TIDE_FLOW_FORWARD, NULL, 0, &e));
        if (pass == 1)
            TT_OK_E(tide_flow_restore(f, &store, &e));
        gen_injector inj = {.f = f, .out = &out[pass]};
        TT_OK_E(tide_flow_start(f, &e));
        pthread_t th;
        if (pass == 0)
            pthread_create(&th, NULL, inject_when_rows, &inj);
        TT_OK_E(tide_flow_wait(f, &e));
        if (pass == 0) {
            pthread_join(th, NULL);
            TT_ASSERT(tide_flow_snapshot(f, inj.id, &store, &e));
            at = out[0].snap_n;
        }
        tide_flow_free(f);
    }
    TT_ASSERT_EQ_INT(out[0].n, expect);
    TT_ASSERT_EQ_INT(out[1].restored, at);
    TT_ASSERT_EQ_INT(at + out[1].n, out[0].n);
    for (size_t i = 0; i < out[1].n; i++)
        TT_ASSERT(row_cmp_vals(&out[1].r[i], &out[0].r[at + i]) == 0);
    tide_buf_free(&store);
    rows_free(&out[0]);
    rows_free(&out[1]);
}

static void test_gen_restore(void)
{
    tide_node_scan_cfg sc;
    tide_node_scan_cfg_init(&sc);
    sc.gen.events = 400000;
    sc.gen.users = 1000;
    sc.batch_rows = 512;
    sc.positions = true;
    tide_err e = {0};
    tide_schema *s;
    TT_OK_E(tide_node_scan_schema(&sc, 0, &s, &e));
    scan_restore_case(&sc, s, sc.gen.events);
    tide_schema_free(s);
}

/* A connect source seeks on restore (tide_src_seek): a file read by one
 * thread or several, and the generator behind the source interface; stdin
 * cannot go back. */
static void test_connect_restore(void)
{
    tide_err e = {0};
    const char *dir = tt_tmpdir("test_node_pipe_conn");
    TT_ASSERT(dir != NULL);
    char path[4200];
    snprintf(path, sizeof path, "%s/l.csv", dir);
    tide_gen_logins_cfg g;
    tide_gen_logins_cfg_default(&g);
    g.events = 200000;
    g.users = 1000;
    TT_OK_E(tide_gen_logins_write_csv(&g, path, &e));
    tide_node_scan_cfg sc;
    tide_node_scan_cfg_init(&sc);
    tide_schema *s;
    TT_OK_E(tide_node_scan_schema(&sc, 0, &s, &e));
    tide_src_config conn;
    for (int v = 0; v < 3; v++) {
        tide_src_config_init(&conn);
        conn.kind = v < 2 ? TIDE_SRC_FILE : TIDE_SRC_GEN_LOGINS;
        conn.path = path;
        conn.header = true;
        conn.schema = s;
        conn.gen = g;
        if (v == 1) {
            conn.parse_threads = 3;
            conn.chunk_size = 100000;
        }
        sc.kind = TIDE_NODE_SCAN_CONNECT;
        sc.conn = &conn;
        sc.batch_rows = 700;
        sc.positions = true;
        scan_restore_case(&sc, s, g.events);
        if (tt_failed_now) {
            fprintf(stderr, "  variant %d\n", v);
            break;
        }
    }
    /* stdin cannot go back: a restore that needs it says so */
    int fds[2];
    TT_ASSERT(pipe(fds) == 0);
    tide_src_config_init(&conn);
    conn.kind = TIDE_SRC_STDIN;
    conn.fd = fds[0];
    conn.schema = s;
    sc.conn = &conn;
    void *a = NULL, *b = NULL;
    TT_OK_E(tide_node_scan_make(&sc, 0, 1, &a, &e));
    TT_OK_E(tide_node_scan_make(&sc, 0, 1, &b, &e));
    /* a snapshot at the start restores (no seek needed) */
    tide_buf snap = {0};
    TT_OK_E(tide_node_scan_vt.snapshot(a, 1, &snap, &e));
    TT_OK_E(tide_node_scan_vt.restore(b, snap.data, snap.len, &e));
    tide_node_scan_vt.free(b);
    TT_OK_E(tide_node_scan_make(&sc, 0, 1, &b, &e));
    /* a moved position does not */
    tide_buf_free(&snap);
    snap = (tide_buf){0};
    tide_snap_w w;
    tide_snap_begin(&w, &snap, "scan", 2);
    tide_snap_put_u32(&w, TIDE_NODE_SCAN_CONNECT);
    tide_snap_put_u32(&w, 1);
    tide_snap_put_u64(&w, 4242);
    tide_snap_put_u64(&w, 17);
    tide_snap_put_bool(&w, false);
    tide_snap_put_i64(&w, 5);
    tide_snap_put_i64(&w, 0);
    tide_snap_put_bool(&w, false);
    tide_snap_put_i64(&w, 0);
    tide_snap_put_i64(&w, 0);
    tide_snap_put_bool(&w, false);
    TT_OK_E(tide_snap_end(&w, &e));
    TT_ASSERT_EQ_INT(tide_node_scan_vt.restore(b, snap.data, snap.len, &e), TIDE_EUNSUPPORTED);
    TT_ASSERT(strstr(e.msg, "stdin") != NULL);
    tide_buf_free(&snap);
    tide_node_scan_vt.free(a);
    tide_node_scan_vt.free(b);
    close(fds[0]);
    close(fds[1]);
    tide_schema_free(s);
}

int main(void)
{
    TT_RUN(test_window_counts_parallel);
    TT_RUN(test_window_computed_projection);
    TT_RUN(test_shuffle_within_bound);
    TT_RUN(test_lateness_retracting);
    TT_RUN(test_dead_letters);
    TT_RUN(test_groupagg_changelog);
    TT_RUN(test_groupagg_of_changelog);
    TT_RUN(test_having_changelog);
    TT_RUN(test_having_rule);
    TT_RUN(test_having_snapshot_restore);
    TT_RUN(test_order_stable);
    TT_RUN(test_scan_snapshot_restore);
    TT_RUN(test_file_gen_pipeline);
    TT_RUN(test_gen_restore);
    TT_RUN(test_connect_restore);
    TT_DONE();
}
