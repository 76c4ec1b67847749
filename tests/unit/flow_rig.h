/*
 * flow_rig.h - helpers of the test_flow_*.c programs: flows built from the
 * runtime's own nodes (exec/node_*.h) over generated input, checked against
 * brute force computed in the tests.
 *
 *   fr_events   the logins generator's events as arrays (a scan of the same
 *               generator configuration delivers the same events in the
 *               same order, connect/gen_logins.h);
 *   fr_sink     a collecting sink node: each row as FR_W(ncols) int64s
 *               (its step, its op, then the cells: BIGINT / TIMESTAMP as
 *               they are, DOUBLE as its bits, BOOLEAN 0/1, a STRING of at
 *               most 7 bytes packed so that the numbers sort as the key
 *               codec sorts the strings, NULL as FR_NULL), and every
 *               watermark it receives.  A row's step is the number of
 *               watermarks the sink had received before it: the watermark
 *               that released it downstream is wms[step] (the next one).
 *               Rows and watermarks are stored in fixed arrays and
 *               published through atomic counts, so another thread may read
 *               them while the flow runs;
 *   fr_clock    a fake clock several threads may read;
 *   fr_runner   a flow run on a thread of its own, and bounded waits for a
 *               condition (polls with a 1 ms pause, never a sleep standing
 *               in for the condition).
 */
#ifndef TIDE_TESTS_FLOW_RIG_H
#define TIDE_TESTS_FLOW_RIG_H

#include "base/clock.h"
#include "connect/gen_logins.h"
#include "exec/flow.h"
#include "tide.h"
#include "tt.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FR_NULL (INT64_MIN + 1) /* a NULL cell */
#define FR_LONG (INT64_MIN + 2) /* a STRING longer than 7 bytes */
#define FR_HDR 2                /* step, op */
#define FR_W(ncols) ((size_t)FR_HDR + (ncols))

static inline int64_t fr_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* A string of at most 7 bytes as a number that sorts as the bytes do
 * (shorter first on a common prefix): big-endian, zero-padded. */
static inline int64_t fr_str(const char *s, size_t n)
{
    if (n > 7)
        return FR_LONG;
    uint64_t v = 0;
    for (size_t i = 0; i < 7; i++)
        v = v << 8 | (i < n ? (uint8_t)s[i] : 0);
    return (int64_t)v;
}

static inline int64_t fr_cstr(const char *s) { return fr_str(s, strlen(s)); }

/* ---- the generator's events ---- */

typedef struct fr_events {
    int64_t *ts, *user;
    uint8_t *country, *device;
    size_t n;
} fr_events;

static inline void fr_events_free(fr_events *ev)
{
    free(ev->ts);
    free(ev->user);
    free(ev->country);
    free(ev->device);
    memset(ev, 0, sizeof *ev);
}

/* Every event of the generator `cfg`, in delivery order. */
static inline int fr_gen_events(const tide_gen_logins_cfg *cfg, fr_events *ev)
{
    tide_gen_logins *g = NULL;
    tide_err e = {0};
    memset(ev, 0, sizeof *ev);
    int rc = tide_gen_logins_create(&g, cfg, &e);
    if (rc)
        return rc;
    size_t cap = (size_t)cfg->events + 1;
    ev->ts = malloc(cap * sizeof *ev->ts);
    ev->user = malloc(cap * sizeof *ev->user);
    ev->country = malloc(cap);
    ev->device = malloc(cap);
    if (!ev->ts || !ev->user || !ev->country || !ev->device)
        rc = TIDE_ENOMEM;
    while (!rc && !tide_gen_logins_done(g)) {
        tide_gen_logins_cols c = {ev->ts + ev->n, ev->user + ev->n, ev->country + ev->n,
                                  ev->device + ev->n, cap - ev->n};
        size_t n = 0;
        rc = tide_gen_logins_next(g, &c, cap - ev->n, 0, &n, &e);
        ev->n += n;
    }
    tide_gen_logins_free(g);
    return rc;
}

/* ---- the collecting sink ---- */

typedef struct fr_sink {
    uint32_t ncols;
    size_t cap;    /* rows kept; 0: rows only counted */
    int64_t *rows; /* cap * FR_W(ncols) */
    _Atomic size_t n;
    _Atomic int overflow; /* more rows than cap */
    int64_t *wms;
    size_t wm_cap;
    _Atomic size_t n_wm;
    /* called (may be NULL) after each batch, with the rows seen so far */
    void (*hook)(void *ctx, size_t n);
    void *hook_ctx;
} fr_sink;

static inline void fr_sink_init(fr_sink *k, uint32_t ncols, size_t cap)
{
    memset(k, 0, sizeof *k);
    k->ncols = ncols;
    k->cap = cap;
    k->rows = calloc(cap ? cap * FR_W(ncols) : 1, sizeof *k->rows);
    k->wm_cap = 1 << 20;
    k->wms = calloc(k->wm_cap, sizeof *k->wms);
    if (!k->rows || !k->wms)
        abort();
}

static inline void fr_sink_free(fr_sink *k)
{
    free(k->rows);
    free(k->wms);
    memset(k, 0, sizeof *k);
}

/* Row i's record, and the watermarks before and after it. */
static inline const int64_t *fr_row(const fr_sink *k, size_t i) { return k->rows + i * FR_W(k->ncols); }

static inline int64_t fr_wm_after(const fr_sink *k, size_t i)
{
    size_t s = (size_t)fr_row(k, i)[0];
    return s < atomic_load(&k->n_wm) ? k->wms[s] : TIDE_TS_MIN;
}

static inline int64_t fr_wm_before(const fr_sink *k, size_t i)
{
    size_t s = (size_t)fr_row(k, i)[0];
    return s > 0 ? k->wms[s - 1] : TIDE_TS_MIN;
}

static inline int64_t fr_cell(const tide_cbatch *b, uint32_t c, uint32_t r)
{
    if (tide_cbatch_is_null(b, c, r))
        return FR_NULL;
    switch (tide_cbatch_type(b, c)) {
    case TIDE_TYPE_DOUBLE: {
        double d = tide_cbatch_f64(b, c, r);
        int64_t v;
        memcpy(&v, &d, 8);
        return v;
    }
    case TIDE_TYPE_BOOLEAN:
        return tide_cbatch_bool(b, c, r);
    case TIDE_TYPE_STRING: {
        tide_str s = tide_cbatch_str(b, c, r);
        return fr_str(s.ptr, s.len);
    }
    default:
        return tide_cbatch_i64(b, c, r);
    }
}

static int fr_sink_batch(void *self, uint32_t in, const tide_cbatch *b, const uint32_t *sel,
                         uint32_t n, tide_node_ctx *cx, tide_err *e)
{
    (void)in;
    (void)cx;
    (void)e;
    fr_sink *k = self;
    size_t at = atomic_load(&k->n), w = FR_W(k->ncols);
    int64_t step = (int64_t)atomic_load(&k->n_wm);
    for (uint32_t i = 0; i < n; i++, at++) {
        uint32_t r = sel ? sel[i] : i;
        if (at >= k->cap) {
            if (k->cap)
                atomic_store(&k->overflow, 1);
            continue;
        }
        int64_t *o = k->rows + at * w;
        o[0] = step;
        o[1] = (int64_t)tide_cbatch_op(b, r);
        for (uint32_t c = 0; c < k->ncols; c++)
            o[FR_HDR + c] = c < tide_cbatch_ncols(b) ? fr_cell(b, c, r) : FR_NULL;
    }
    atomic_store(&k->n, at); /* publish the rows written above */
    if (k->hook)
        k->hook(k->hook_ctx, at);
    return 0;
}

static int fr_sink_wm(void *self, int64_t wm, tide_node_ctx *cx, tide_err *e)
{
    (void)cx;
    fr_sink *k = self;
    size_t i = atomic_load(&k->n_wm);
    if (i == k->wm_cap)
        return tide_err_set(e, TIDE_ENOMEM, "fr_sink: more than %zu watermarks", k->wm_cap);
    k->wms[i] = wm;
    atomic_store(&k->n_wm, i + 1);
    return 0;
}

static const tide_node_vt fr_sink_vt = {.kind = "fr_sink", .batch = fr_sink_batch, .watermark = fr_sink_wm};

static int fr_sink_make(void *ctx, uint32_t k, uint32_t p, void **self, tide_err *e)
{
    (void)k;
    if (p != 1)
        return tide_err_set(e, TIDE_EINVAL, "fr_sink: parallelism %u", p);
    *self = ctx;
    return 0;
}

/* The rows of a and b from field `from` on (FR_HDR: ops and cells; 0: the
 * steps too) and, with the steps, the watermarks: equal?  (Sinks that only
 * count compare by their counts.) */
static inline bool fr_same(const fr_sink *a, const fr_sink *b, size_t from)
{
    size_t n = atomic_load(&a->n), w = FR_W(a->ncols);
    if (n != atomic_load(&b->n) || a->ncols != b->ncols || atomic_load(&a->overflow) ||
        atomic_load(&b->overflow))
        return false;
    for (size_t i = 0; i < n && i < a->cap; i++)
        if (memcmp(fr_row(a, i) + from, fr_row(b, i) + from, (w - from) * sizeof(int64_t)) != 0)
            return false;
    if (from == 0)
        return atomic_load(&a->n_wm) == atomic_load(&b->n_wm) &&
               memcmp(a->wms, b->wms, atomic_load(&a->n_wm) * sizeof *a->wms) == 0;
    return true;
}

/* ---- building ---- */

static inline tide_flow_node fr_node(const char *name, const tide_node_vt *vt, tide_flow_make_fn mk, void *ctx,
                                     uint32_t par, const tide_schema *s0, unsigned f0)
{
    tide_flow_node n = {.name = name, .vt = vt, .make = mk, .make_ctx = ctx, .parallelism = par, .n_out = 1};
    n.out_schema[0] = s0;
    n.out_flags[0] = f0;
    return n;
}

/* A collecting sink of rows of schema s (its ncols must match). */
static inline int fr_add_sink(tide_flow *f, const char *name, fr_sink *k, const tide_schema *s, int *id,
                              tide_err *e)
{
    tide_flow_node n = fr_node(name, &fr_sink_vt, fr_sink_make, k, 1, s, 0);
    n.n_out = 0;
    return tide_flow_add(f, &n, id, e);
}

/* ---- the fake clock ---- */

typedef struct fr_clock {
    tide_clock clock;
    _Atomic int64_t ms;
} fr_clock;

static int64_t fr_clock_now_ms(void *ctx) { return atomic_load(&((fr_clock *)ctx)->ms); }
static int64_t fr_clock_mono_ns(void *ctx) { return atomic_load(&((fr_clock *)ctx)->ms) * 1000000; }

static inline void fr_clock_init(fr_clock *c, int64_t ms)
{
    c->clock = (tide_clock){fr_clock_now_ms, fr_clock_mono_ns, c};
    atomic_store(&c->ms, ms);
}

/* ---- a flow on its own thread ---- */

typedef struct fr_runner {
    tide_flow *f;
    pthread_t th;
    int rc;
    tide_err e;
} fr_runner;

static void *fr_runner_main(void *arg)
{
    fr_runner *r = arg;
    r->rc = tide_flow_run(r->f, &r->e);
    return NULL;
}

static inline int fr_runner_start(fr_runner *r, tide_flow *f)
{
    memset(r, 0, sizeof *r);
    r->f = f;
    return pthread_create(&r->th, NULL, fr_runner_main, r) == 0 ? 0 : TIDE_EIO;
}

/* Cancel (when still running) and join: the flow's result. */
static inline int fr_runner_stop(fr_runner *r, bool cancel)
{
    if (cancel)
        tide_flow_cancel(r->f);
    pthread_join(r->th, NULL);
    return r->rc;
}

/* Poll cond(ctx) with 1 ms pauses for at most `seconds` of real time. */
static inline bool fr_wait(bool (*cond)(void *ctx), void *ctx, int seconds)
{
    struct timespec d = {0, 1000000};
    for (long i = 0; i < (long)seconds * 1000; i++) {
        if (cond(ctx))
            return true;
        nanosleep(&d, NULL);
    }
    return cond(ctx);
}

typedef struct fr_at_least {
    _Atomic size_t *v;
    size_t want;
} fr_at_least;

static bool fr_at_least_cond(void *ctx)
{
    fr_at_least *a = ctx;
    return atomic_load(a->v) >= a->want;
}

/* *v >= want within `seconds`. */
static inline bool fr_wait_size(_Atomic size_t *v, size_t want, int seconds)
{
    fr_at_least a = {v, want};
    return fr_wait(fr_at_least_cond, &a, seconds);
}

typedef struct fr_count_at_least {
    tide_flow *f;
    tide_node_counter c;
    uint64_t want;
} fr_count_at_least;

static bool fr_count_cond(void *ctx)
{
    fr_count_at_least *a = ctx;
    uint64_t c[TIDE_NODE_COUNTERS];
    tide_flow_counts(a->f, c);
    return c[a->c] >= a->want;
}

/* The flow's counter c >= want within `seconds`. */
static inline bool fr_wait_count(tide_flow *f, tide_node_counter c, uint64_t want, int seconds)
{
    fr_count_at_least a = {f, c, want};
    return fr_wait(fr_count_cond, &a, seconds);
}

#endif
