/*
 * node_rig.h - a test bench for flow nodes (exec/flow.h): a scripted
 * source node and a collecting sink node, shared by test_node_*.c.
 *
 * The source plays a script of events: rows (one int64 per column, read by
 * the column's type: BIGINT / TIMESTAMP as is, DOUBLE as the bits of a
 * double, BOOLEAN v != 0, STRING the text "s<v>"; a null mask; a changelog
 * op) and watermarks.  Rows go out in batches of at most `step` rows, cut at
 * every watermark, so a row's watermark (the last one before it in the
 * script) is the one it is handled at downstream (exec/node.h's alignment).
 * It can pause before event `pause_at` until `resume` is set, so that a
 * barrier lands exactly there, and it snapshots its position.
 *
 * The sink records each row as RIG_W int64s: the sink's watermark when the
 * row came (its step), the op, then the values read back the same way
 * (NULL as RIG_NULLV; STRING parsed back from "s<v>").  Sorting the records
 * sorts each step's rows, which is what an ordering sink does: equal sorted
 * records for P = 1, 2, 4 are equal output sequences.
 */
#ifndef TIDE_TESTS_NODE_RIG_H
#define TIDE_TESTS_NODE_RIG_H

#include "exec/flow.h"
#include "state/snap.h"
#include "tide.h"
#include "tt.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TT_OK_RC(x)            \
    do {                       \
        int rc_ = (x);         \
        if (rc_)               \
            return rc_;        \
    } while (0)

#define RIG_MAXC 32
#define RIG_NULLV (INT64_MIN + 1)
#define RIG_HDR 2 /* step, op */

static inline uint64_t rig_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static inline int64_t rig_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* The windows of ts, ascending (start, end), computed here (not by
 * time/window.h). */
static inline size_t rig_windows(const tide_win_spec *w, int64_t ts, int64_t *st, int64_t *en)
{
    size_t n = 0;
    if (w->kind == TIDE_WIN_TUMBLE) {
        st[0] = rig_floor_div(ts, w->size) * w->size;
        en[0] = st[0] + w->size;
        return 1;
    }
    if (w->kind == TIDE_WIN_HOP) {
        int64_t s = rig_floor_div(ts - w->size, w->slide) * w->slide;
        for (; s <= ts; s += w->slide)
            if (s > ts - w->size) {
                st[n] = s;
                en[n++] = s + w->size;
            }
        return n;
    }
    int64_t s0 = rig_floor_div(ts, w->size) * w->size;
    for (int64_t e = s0 + w->slide; e <= s0 + w->size; e += w->slide)
        if (e > ts) {
            st[n] = s0;
            en[n++] = e;
        }
    return n;
}

/* The firing rule of this branch's window operators (exec/cumagg.h,
 * exec/join.h's window join): a window [start, end) has fired once the
 * watermark W >= end - 1 (DESIGN.md 4, Flink's isWindowFired; the brute
 * forces follow the operators through this one function). */
static inline bool rig_fired(int64_t end, int64_t wm) { return wm != TIDE_TS_MIN && wm >= end - 1; }

/* ---- schemas ---- */

/* A schema from "name:TYPE" strings (TYPE: B BIGINT, T TIMESTAMP, D
 * DOUBLE, S STRING, O BOOLEAN; all nullable). */
static inline tide_schema *rig_schema(int n, const char *const *cols)
{
    tide_schema *s;
    tide_err e = {0};
    if (tide_schema_create(&s, &e))
        abort();
    for (int i = 0; i < n; i++) {
        const char *c = strchr(cols[i], ':');
        tide_type t = c[1] == 'B'   ? TIDE_TYPE_BIGINT
                      : c[1] == 'T' ? TIDE_TYPE_TIMESTAMP
                      : c[1] == 'D' ? TIDE_TYPE_DOUBLE
                      : c[1] == 'S' ? TIDE_TYPE_STRING
                                    : TIDE_TYPE_BOOLEAN;
        if (tide_schema_add_n(s, cols[i], (size_t)(c - cols[i]), t, true, &e))
            abort();
    }
    return s;
}

/* ---- the script ---- */

typedef struct rig_ev {
    bool is_wm;
    int64_t wm;
    int64_t v[RIG_MAXC];
    uint32_t nulls; /* bit c: column c is NULL */
    tide_op op;
} rig_ev;

typedef struct rig_script {
    rig_ev *ev;
    size_t n, cap;
} rig_script;

static inline rig_ev *rig_push(rig_script *s)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 256;
        s->ev = realloc(s->ev, s->cap * sizeof *s->ev);
        if (!s->ev)
            abort();
    }
    rig_ev *x = &s->ev[s->n++];
    memset(x, 0, sizeof *x);
    return x;
}

static inline void rig_row(rig_script *s, int n, const int64_t *v, uint32_t nulls)
{
    rig_ev *x = rig_push(s);
    memcpy(x->v, v, (size_t)n * sizeof *v);
    x->nulls = nulls;
}

static inline void rig_wm(rig_script *s, int64_t wm)
{
    rig_ev *x = rig_push(s);
    x->is_wm = true;
    x->wm = wm;
}

/* The watermark each event is handled at (the last one before it). */
static inline int64_t *rig_row_wms(const rig_script *s)
{
    int64_t *w = malloc((s->n + 1) * sizeof *w), cur = TIDE_TS_MIN;
    for (size_t i = 0; i < s->n; i++) {
        w[i] = cur;
        if (s->ev[i].is_wm && s->ev[i].wm > cur)
            cur = s->ev[i].wm;
    }
    return w;
}

static inline void rig_script_free(rig_script *s)
{
    free(s->ev);
    memset(s, 0, sizeof *s);
}

/* ---- the source ---- */

typedef struct rig_src_cfg {
    const tide_schema *s;
    const rig_script *sc;
    uint32_t step;
    size_t pause_at; /* SIZE_MAX: never */
    _Atomic int paused, resume;
} rig_src_cfg;

typedef struct rig_src {
    rig_src_cfg *cfg;
    size_t next;
    tide_cbatch *b;
} rig_src;

static inline int rig_set(tide_cbatch *b, uint32_t c, uint32_t r, const rig_ev *x, tide_err *e)
{
    if (x->nulls & (1u << c))
        return 0;
    int64_t v = x->v[c];
    switch (tide_cbatch_type(b, c)) {
    case TIDE_TYPE_DOUBLE: {
        double d;
        memcpy(&d, &v, 8);
        tide_cbatch_set_f64(b, c, r, d);
        return 0;
    }
    case TIDE_TYPE_BOOLEAN:
        tide_cbatch_set_bool(b, c, r, v != 0);
        return 0;
    case TIDE_TYPE_STRING: {
        char t[32];
        int n = snprintf(t, sizeof t, "s%lld", (long long)v);
        return tide_cbatch_set_str(b, c, r, t, (size_t)n, e);
    }
    default:
        tide_cbatch_set_i64(b, c, r, v);
        return 0;
    }
}

static int rig_src_poll(void *self, tide_node_ctx *cx, tide_err *e)
{
    rig_src *g = self;
    rig_src_cfg *c = g->cfg;
    const rig_script *sc = c->sc;
    if (g->next >= sc->n)
        return 0;
    if (g->next == c->pause_at && !atomic_load(&c->resume)) {
        atomic_store(&c->paused, 1);
        return TIDE_EAGAIN;
    }
    tide_cbatch_reset(g->b);
    uint32_t nc = tide_cbatch_ncols(g->b);
    int rc = 0;
    while (g->next < sc->n && !rc) {
        const rig_ev *x = &sc->ev[g->next];
        if (x->is_wm) {
            if (tide_cbatch_rows(g->b))
                break; /* the rows first */
            g->next++;
            rc = tide_node_emit_watermark(cx, x->wm, e);
            return rc ? rc : 1;
        }
        if (tide_cbatch_rows(g->b) == c->step || (g->next == c->pause_at && g->next > 0 &&
                                                  tide_cbatch_rows(g->b)))
            break;
        uint32_t r = 0;
        tide_cbatch_add_row(g->b, &r);
        tide_cbatch_set_op(g->b, r, x->op);
        for (uint32_t col = 0; col < nc && !rc; col++)
            rc = rig_set(g->b, col, r, x, e);
        g->next++;
    }
    if (!rc)
        rc = tide_node_emit(cx, 0, g->b, NULL, tide_cbatch_rows(g->b), e);
    return rc ? rc : 1;
}

static int rig_src_snapshot(void *self, int64_t id, tide_buf *out, tide_err *e)
{
    (void)id;
    rig_src *g = self;
    tide_snap_w w;
    tide_snap_begin(&w, out, "rigsrc", 1);
    tide_snap_put_u64(&w, g->next);
    return tide_snap_end(&w, e);
}

static int rig_src_restore(void *self, const void *buf, size_t len, tide_err *e)
{
    rig_src *g = self;
    tide_snap_r r;
    int rc = tide_snap_open(&r, buf, len, "rigsrc", 1, NULL, e);
    if (rc)
        return rc;
    g->next = tide_snap_get_u64(&r);
    return tide_snap_close(&r, e);
}

static void rig_src_free(void *self)
{
    rig_src *g = self;
    tide_cbatch_free(g->b);
    free(g);
}

static const tide_node_vt rig_src_vt = {.kind = "rigsrc",
                                        .poll = rig_src_poll,
                                        .snapshot = rig_src_snapshot,
                                        .restore = rig_src_restore,
                                        .free = rig_src_free};

static int rig_src_make(void *ctx, uint32_t k, uint32_t p, void **self, tide_err *e)
{
    (void)k;
    (void)p;
    rig_src_cfg *c = ctx;
    rig_src *g = calloc(1, sizeof *g);
    if (!g)
        return TIDE_ENOMEM;
    g->cfg = c;
    int rc = tide_cbatch_create(&g->b, c->s, c->step, TIDE_CBATCH_OPS, e);
    if (rc) {
        free(g);
        return rc;
    }
    *self = g;
    return 0;
}

static inline void rig_src_init(rig_src_cfg *c, const tide_schema *s, const rig_script *sc,
                                uint32_t step)
{
    memset(c, 0, sizeof *c);
    c->s = s;
    c->sc = sc;
    c->step = step;
    c->pause_at = SIZE_MAX;
}

/* ---- the sink ---- */

typedef struct rig_sink {
    uint32_t ncols;
    int64_t *rows; /* RIG_HDR + ncols per row */
    size_t n, cap; /* rows */
    int64_t wm;
    int64_t *wms;
    size_t n_wm, cap_wm;
    size_t base; /* rows before the barrier this one was restored from */
    size_t at_barrier;
} rig_sink;

static inline size_t rig_width(const rig_sink *k) { return RIG_HDR + k->ncols; }

static int rig_sink_batch(void *self, uint32_t in, const tide_cbatch *b, const uint32_t *sel,
                          uint32_t n, tide_node_ctx *cx, tide_err *e)
{
    (void)in;
    (void)cx;
    (void)e;
    rig_sink *k = *(rig_sink **)self;
    size_t w = rig_width(k);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t r = sel ? sel[i] : i;
        if (k->n == k->cap) {
            k->cap = k->cap ? 2 * k->cap : 1024;
            k->rows = realloc(k->rows, k->cap * w * sizeof *k->rows);
            if (!k->rows)
                return TIDE_ENOMEM;
        }
        int64_t *o = k->rows + k->n * w;
        o[0] = k->wm;
        o[1] = tide_cbatch_op(b, r);
        for (uint32_t c = 0; c < k->ncols; c++) {
            int64_t v = RIG_NULLV;
            if (!tide_cbatch_is_null(b, c, r)) {
                switch (tide_cbatch_type(b, c)) {
                case TIDE_TYPE_DOUBLE: {
                    double d = tide_cbatch_f64(b, c, r);
                    memcpy(&v, &d, 8);
                    break;
                }
                case TIDE_TYPE_BOOLEAN:
                    v = tide_cbatch_bool(b, c, r);
                    break;
                case TIDE_TYPE_STRING: {
                    tide_str s = tide_cbatch_str(b, c, r);
                    char t[32] = {0};
                    memcpy(t, s.ptr, s.len < 31 ? s.len : 31);
                    v = t[0] == 's' ? strtoll(t + 1, NULL, 10) : RIG_NULLV + 1;
                    break;
                }
                default:
                    v = tide_cbatch_i64(b, c, r);
                    break;
                }
            }
            o[RIG_HDR + c] = v;
        }
        k->n++;
    }
    return 0;
}

static int rig_sink_wm(void *self, int64_t wm, tide_node_ctx *cx, tide_err *e)
{
    (void)cx;
    (void)e;
    rig_sink *k = *(rig_sink **)self;
    k->wm = wm;
    if (k->n_wm == k->cap_wm) {
        k->cap_wm = k->cap_wm ? 2 * k->cap_wm : 256;
        k->wms = realloc(k->wms, k->cap_wm * sizeof *k->wms);
        if (!k->wms)
            return TIDE_ENOMEM;
    }
    k->wms[k->n_wm++] = wm;
    return 0;
}

static int rig_sink_snapshot(void *self, int64_t id, tide_buf *out, tide_err *e)
{
    (void)id;
    rig_sink *k = *(rig_sink **)self;
    k->at_barrier = k->n;
    tide_snap_w w;
    tide_snap_begin(&w, out, "rigsink", 1);
    tide_snap_put_u64(&w, k->n);
    tide_snap_put_i64(&w, k->wm);
    return tide_snap_end(&w, e);
}

static int rig_sink_restore(void *self, const void *buf, size_t len, tide_err *e)
{
    rig_sink *k = *(rig_sink **)self;
    tide_snap_r r;
    int rc = tide_snap_open(&r, buf, len, "rigsink", 1, NULL, e);
    if (rc)
        return rc;
    k->base = tide_snap_get_u64(&r);
    k->wm = tide_snap_get_i64(&r);
    return tide_snap_close(&r, e);
}

static void rig_sink_free(void *self) { free(self); }

static const tide_node_vt rig_sink_vt = {.kind = "rigsink",
                                         .batch = rig_sink_batch,
                                         .watermark = rig_sink_wm,
                                         .snapshot = rig_sink_snapshot,
                                         .restore = rig_sink_restore,
                                         .free = rig_sink_free};

static int rig_sink_make(void *ctx, uint32_t k, uint32_t p, void **self, tide_err *e)
{
    (void)k;
    (void)p;
    (void)e;
    rig_sink **h = malloc(sizeof *h);
    if (!h)
        return TIDE_ENOMEM;
    *h = ctx;
    *self = h;
    return 0;
}

static inline void rig_sink_init(rig_sink *k, uint32_t ncols)
{
    memset(k, 0, sizeof *k);
    k->ncols = ncols;
    k->wm = TIDE_TS_MIN;
}

static inline void rig_sink_free_rows(rig_sink *k)
{
    free(k->rows);
    free(k->wms);
    memset(k, 0, sizeof *k);
}

/* ---- sorting records of `w` int64s ---- */

static size_t rig_sort_w, rig_sort_from;

static int rig_rec_cmp(const void *a, const void *b)
{
    const int64_t *x = a, *y = b;
    for (size_t i = rig_sort_from; i < rig_sort_w; i++)
        if (x[i] != y[i])
            return x[i] < y[i] ? -1 : 1;
    return 0;
}

/* Sort n records of w int64s, comparing from field `from` on (0: the step
 * first, so each step's rows in order; RIG_HDR: values only). */
static inline void rig_sort(int64_t *rows, size_t n, size_t w, size_t from)
{
    rig_sort_w = w;
    rig_sort_from = from;
    qsort(rows, n, w * sizeof *rows, rig_rec_cmp);
}

/* A copy of the sink's records. */
static inline int64_t *rig_copy(const rig_sink *k)
{
    size_t bytes = k->n * rig_width(k) * sizeof(int64_t);
    int64_t *p = malloc(bytes ? bytes : 1);
    if (bytes)
        memcpy(p, k->rows, bytes);
    return p;
}

/* ---- building ---- */

static inline tide_flow_node rig_node(const char *name, const tide_node_vt *vt,
                                      tide_flow_make_fn mk, void *ctx, uint32_t par,
                                      const tide_schema *s0)
{
    tide_flow_node n = {.name = name, .vt = vt, .make = mk, .make_ctx = ctx, .parallelism = par,
                        .n_out = 1};
    n.out_schema[0] = s0;
    n.out_flags[0] = TIDE_CBATCH_OPS;
    return n;
}

/* Pause every source of srcs[0..n) at its pause_at, inject a barrier, then
 * resume them (run on a thread of its own while the flow runs). */
typedef struct rig_injector {
    tide_flow *f;
    rig_src_cfg *srcs[4];
    int n;
    int64_t id;
} rig_injector;

static void *rig_inject(void *arg)
{
    rig_injector *in = arg;
    for (int i = 0; i < in->n; i++)
        while (!atomic_load(&in->srcs[i]->paused))
            sched_yield();
    in->id = tide_flow_inject_barrier(in->f);
    for (int i = 0; i < in->n; i++)
        atomic_store(&in->srcs[i]->resume, 1);
    return NULL;
}

#endif
