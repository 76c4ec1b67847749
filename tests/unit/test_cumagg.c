/*
 * test_cumagg.c - CUMULATE and HOP by shared slices vs a brute-force model
 * that recomputes every window from the records pushed so far, and HOP vs
 * exec/winagg (allowed lateness 0, final firings) on the same records.
 * The models follow DESIGN.md 4: a window [s, e) fires when W >= e - 1; a
 * record is late when its first window has fired, dropped when its last
 * one has.
 */
#include "exec/cumagg.h"
#include "exec/winagg.h"
#include "snap_tt.h"
#include "tide.h"
#include "tt.h"

#include <stdlib.h>
#include <string.h>

typedef struct rec {
    int64_t key, ts, v;
} rec;

typedef struct orow {
    int64_t start, end, key, cnt, sum, dist;
} orow;

typedef struct sinkv {
    orow *rows;
    size_t n, cap;
} sinkv;

static int put(sinkv *s, orow r)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 64;
        s->rows = realloc(s->rows, s->cap * sizeof *s->rows);
        if (!s->rows)
            return TIDE_ENOMEM;
    }
    s->rows[s->n++] = r;
    return 0;
}

static int emit(void *ctx, const tide_cumagg_row *r)
{
    orow o = {r->start,         r->end,           r->keys[0].u.i64,
              r->vals[0].u.i64, r->vals[1].u.i64, r->vals[2].u.i64};
    return put(ctx, o);
}

static int64_t fdiv(int64_t a, int64_t b)
{
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

static int orow_cmp(const void *a, const void *b)
{
    const orow *x = a, *y = b;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return (x->key > y->key) - (x->key < y->key);
}

/* Whether window [.., end) fires in a step of the watermark from lo to hi:
 * it fires at W >= end - 1. */
static bool fires_in(int64_t end, int64_t lo, int64_t hi)
{
    return end - 1 > lo && end - 1 <= hi;
}

/* Windows firing in (lo, hi] (fires_in) over recs[0, n), sorted. */
static int model_fire(const rec *recs, size_t n, const bool *late, int64_t step, int64_t max, int64_t off,
                      int64_t lo, int64_t hi, sinkv *out)
{
    size_t first = out->n;
    /* every (key, s0) present */
    for (size_t i = 0; i < n; i++) {
        if (late[i])
            continue;
        int64_t s0 = fdiv(recs[i].ts - off, max) * max + off; /* periods start at off + k * max */
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = !late[j] && recs[j].key == recs[i].key && fdiv(recs[j].ts - off, max) * max + off == s0;
        if (seen)
            continue;
        for (int64_t end = s0 + step; end <= s0 + max; end += step) {
            if (!fires_in(end, lo, hi))
                continue;
            orow o = {s0, end, recs[i].key, 0, 0, 0};
            int64_t dv[4096];
            size_t nd = 0;
            for (size_t j = 0; j < n; j++) {
                if (late[j] || recs[j].key != o.key || recs[j].ts < s0 || recs[j].ts >= end)
                    continue;
                o.cnt++;
                o.sum += recs[j].v;
                bool d = false;
                for (size_t k = 0; k < nd && !d; k++)
                    d = dv[k] == recs[j].v;
                if (!d)
                    dv[nd++] = recs[j].v;
            }
            o.dist = (int64_t)nd;
            if (o.cnt > 0 && put(out, o))
                return TIDE_ENOMEM;
        }
    }
    if (out->n > first)
        qsort(out->rows + first, out->n - first, sizeof *out->rows, orow_cmp);
    return 0;
}

static void bind3(tide_agg *aggs)
{
    tide_err e = {0};
    tide_agg_bind_kind(&aggs[0], TIDE_AGG_COUNT_STAR, TIDE_TYPE_NULL, 0, &e);
    tide_agg_bind_kind(&aggs[1], TIDE_AGG_SUM, TIDE_TYPE_BIGINT, 0, &e);
    tide_agg_bind_kind(&aggs[2], TIDE_AGG_COUNT_DISTINCT, TIDE_TYPE_BIGINT, 0, &e);
}

static void test_random_vs_model(void)
{
    TT_FOR_SEEDS(seed, 1, 40) {
        uint64_t s = seed;
        int64_t step = 10, max = 10 * (int64_t)(1 + tt_rand(&s) % 6);
        int64_t bound = (int64_t)(tt_rand(&s) % 25);
        /* an offset as written (either sign, beyond max too); the model uses its value mod max */
        int64_t woff = seed % 3 ? (int64_t)(tt_rand(&s) % 301) - 150 : 0, off = woff - fdiv(woff, max) * max;
        size_t n = 50 + tt_rand(&s) % 200;
        int nkeys = 1 + (int)(tt_rand(&s) % 4);
        rec *recs = calloc(n, sizeof *recs);
        bool *late = calloc(n, sizeof *late);
        TT_ASSERT(recs && late);
        tide_agg aggs[3];
        bind3(aggs);
        tide_type kt = TIDE_TYPE_BIGINT;
        tide_cumagg *c = NULL;
        tide_err e = {0};
        tide_win_spec w = tide_win_cumulate(step, max);
        tide_win_set_offset(&w, woff);
        TT_OK(tide_cumagg_create(&c, &w, aggs, 3, &kt, 1, &e));
        sinkv got = {0}, want = {0};
        int64_t mx = -100, wm = TIDE_TS_MIN;
        uint64_t nlate = 0; /* records whose first window had fired (DESIGN.md 4) */
        for (size_t i = 0; i < n; i++) {
            int64_t ts = -100 + (int64_t)i * 2 + (int64_t)(tt_rand(&s) % 30) - 15;
            if (tt_rand(&s) % 10 == 0)
                ts -= (int64_t)(tt_rand(&s) % 60); /* some late */
            recs[i] =
                (rec){(int64_t)(tt_rand(&s) % (uint64_t)nkeys), ts, (int64_t)(tt_rand(&s) % 7)};
            int64_t s0 = fdiv(ts - off, max) * max + off;
            late[i] = wm != TIDE_TS_MIN && s0 + max - 1 <= wm; /* dropped */
            nlate += wm != TIDE_TS_MIN && s0 + ((ts - s0) / step + 1) * step - 1 <= wm;
            tide_value k = {.type = TIDE_TYPE_BIGINT, .u.i64 = recs[i].key};
            tide_value v[3] = {{.type = TIDE_TYPE_BIGINT, .u.i64 = 1},
                               {.type = TIDE_TYPE_BIGINT, .u.i64 = recs[i].v},
                               {.type = TIDE_TYPE_BIGINT, .u.i64 = recs[i].v}};
            TT_OK(tide_cumagg_push(c, &k, v, ts, &e));
            if (ts > mx)
                mx = ts;
            if (tt_rand(&s) % 3 == 0 && mx - bound > wm) {
                int64_t prev = wm;
                wm = mx - bound;
                TT_OK(tide_cumagg_advance(c, wm, emit, &got, &e));
                TT_OK(model_fire(recs, i + 1, late, step, max, off, prev, wm, &want));
            }
        }
        TT_OK(tide_cumagg_advance(c, TIDE_TS_MAX, emit, &got, &e));
        TT_OK(model_fire(recs, n, late, step, max, off, wm, TIDE_TS_MAX, &want));
        if (got.n != want.n || tide_cumagg_late(c) != nlate || tide_cumagg_live(c) != 0)
            TT_SEED(seed);
        TT_ASSERT_EQ_INT(got.n, want.n);
        TT_ASSERT_EQ_INT(tide_cumagg_late(c), nlate);
        TT_ASSERT_EQ_INT(tide_cumagg_live(c), 0);
        for (size_t i = 0; i < got.n; i++) {
            if (memcmp(&got.rows[i], &want.rows[i], sizeof(orow)) != 0) {
                TT_SEED(seed);
                fprintf(stderr,
                        "row %zu: got [%lld,%lld) k%lld %lld %lld %lld want [%lld,%lld) k%lld %lld "
                        "%lld %lld\n",
                        i, (long long)got.rows[i].start, (long long)got.rows[i].end,
                        (long long)got.rows[i].key, (long long)got.rows[i].cnt,
                        (long long)got.rows[i].sum, (long long)got.rows[i].dist,
                        (long long)want.rows[i].start, (long long)want.rows[i].end,
                        (long long)want.rows[i].key, (long long)want.rows[i].cnt,
                        (long long)want.rows[i].sum, (long long)want.rows[i].dist);
                TT_ASSERT(0);
            }
        }
        tide_cumagg_free(c);
        free(got.rows);
        free(want.rows);
        free(recs);
        free(late);
    }
}

static int emit_nokey(void *ctx, const tide_cumagg_row *r)
{
    orow o = {r->start, r->end, 0, r->vals[0].u.i64, r->vals[1].u.i64, r->vals[2].u.i64};
    return put(ctx, o);
}

/* A 10-year max with a 1-day step: a record updates one state, not 3650,
 * and every day to the period's end fires with the records before it. */
static void test_long_max(void)
{
    const int64_t day = 86400000, n = 200000, gap = 7 * day / 200000;
    tide_agg aggs[3];
    bind3(aggs);
    tide_cumagg *c = NULL;
    tide_err e = {0};
    tide_win_spec w = tide_win_cumulate(day, 3650 * day);
    TT_OK(tide_cumagg_create(&c, &w, aggs, 3, NULL, 0, &e));
    int64_t t0 = 19783 * day; /* 2024-03-01 */
    int64_t s0 = 3650 * day * (19783 / 3650);
    sinkv got = {0};
    for (int64_t i = 0; i < n; i++) {
        tide_value v[3] = {{.type = TIDE_TYPE_BIGINT, .u.i64 = 1},
                           {.type = TIDE_TYPE_BIGINT, .u.i64 = i % 1000},
                           {.type = TIDE_TYPE_BIGINT, .u.i64 = i % 1000}};
        TT_OK(tide_cumagg_push(c, NULL, v, t0 + i * gap, &e));
        if (i % 1000 == 999)
            TT_OK(tide_cumagg_advance(c, t0 + i * gap - 5000, emit_nokey, &got, &e));
    }
    TT_OK(tide_cumagg_advance(c, TIDE_TS_MAX, emit_nokey, &got, &e));
    TT_ASSERT_EQ_INT(got.n, (s0 + 3650 * day - (t0 + day)) / day + 1);
    for (size_t k = 0; k < got.n; k++) {
        int64_t end = t0 + day * (int64_t)(k + 1);
        int64_t want = (end - t0 + gap - 1) / gap;
        if (want > n)
            want = n;
        TT_ASSERT_EQ_INT(got.rows[k].start, s0);
        TT_ASSERT_EQ_INT(got.rows[k].end, end);
        TT_ASSERT_EQ_INT(got.rows[k].cnt, want);
        TT_ASSERT_EQ_INT(got.rows[k].dist, want < 1000 ? want : 1000);
    }
    TT_ASSERT_EQ_INT(tide_cumagg_live(c), 0);
    tide_cumagg_free(c);
    free(got.rows);
}

/* ---- HOP ---- */

typedef struct hrow {
    int64_t start, end, key, cnt, sum, dist, max;
} hrow;

typedef struct hsink {
    hrow *rows;
    size_t n, cap;
} hsink;

static int hput(hsink *s, hrow r)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 64;
        s->rows = realloc(s->rows, s->cap * sizeof *s->rows);
        if (!s->rows)
            return TIDE_ENOMEM;
    }
    s->rows[s->n++] = r;
    return 0;
}

static int hemit(void *ctx, const tide_cumagg_row *r)
{
    hrow o = {r->start,
              r->end,
              r->n_keys ? r->keys[0].u.i64 : 0,
              r->vals[0].u.i64,
              r->vals[1].u.i64,
              r->vals[2].u.i64,
              r->vals[3].is_null ? INT64_MIN : r->vals[3].u.i64};
    return hput(ctx, o);
}

/* winagg's key bytes: big-endian with the sign bit flipped (numeric order) */
static void key8(int64_t k, unsigned char *b)
{
    uint64_t u = (uint64_t)k ^ (1ull << 63);
    for (int j = 0; j < 8; j++)
        b[j] = (unsigned char)(u >> (56 - 8 * j));
}

static int wemit(void *ctx, const tide_winagg_row *r)
{
    uint64_t u = 0;
    for (uint32_t j = 0; j < r->key_len; j++)
        u = (u << 8) | ((const unsigned char *)r->key)[j];
    hrow o = {r->start,
              r->end,
              r->key_len ? (int64_t)(u ^ (1ull << 63)) : 0,
              r->vals[0].u.i64,
              r->vals[1].u.i64,
              r->vals[2].u.i64,
              r->vals[3].is_null ? INT64_MIN : r->vals[3].u.i64};
    return r->op == TIDE_OP_INSERT ? hput(ctx, o) : TIDE_EINVAL;
}

static int cand_cmp(const void *a, const void *b)
{
    const int64_t *x = a, *y = b;
    if (x[0] != y[0])
        return x[0] < y[0] ? -1 : 1;
    return (x[1] > y[1]) - (x[1] < y[1]);
}

/* HOP windows firing in (lo, hi] (fires_in) over recs[0, n) (late ones
 * excluded), appended sorted by (end, key).  Straight from the definition: a window
 * [E - size, E) with E a multiple of slide holds the records in it. */
static int hop_model(const rec *recs, size_t n, const bool *late, int64_t slide, int64_t size, int64_t off,
                     int64_t lo, int64_t hi, hsink *out)
{
    int64_t(*cand)[2] = malloc((n * (size_t)(size / slide) + 1) * sizeof *cand);
    size_t nc = 0;
    if (!cand)
        return TIDE_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (late[i])
            continue;
        int64_t first = fdiv(recs[i].ts - off, slide) * slide + off + slide; /* ends are off + k * slide */
        for (int64_t end = first; end - size <= recs[i].ts; end += slide)
            if (fires_in(end, lo, hi)) {
                cand[nc][0] = end;
                cand[nc][1] = recs[i].key;
                nc++;
            }
    }
    qsort(cand, nc, sizeof *cand, cand_cmp);
    int rc = 0;
    for (size_t c = 0; c < nc && !rc; c++) {
        if (c > 0 && cand[c][0] == cand[c - 1][0] && cand[c][1] == cand[c - 1][1])
            continue;
        hrow o = {cand[c][0] - size, cand[c][0], cand[c][1], 0, 0, 0, INT64_MIN};
        int64_t dv[4096];
        size_t nd = 0;
        for (size_t j = 0; j < n; j++) {
            if (late[j] || recs[j].key != o.key || recs[j].ts < o.start || recs[j].ts >= o.end)
                continue;
            o.cnt++;
            o.sum += recs[j].v;
            if (recs[j].v > o.max)
                o.max = recs[j].v;
            bool d = false;
            for (size_t k = 0; k < nd && !d; k++)
                d = dv[k] == recs[j].v;
            if (!d)
                dv[nd++] = recs[j].v;
        }
        o.dist = (int64_t)nd;
        rc = hput(out, o);
    }
    free(cand);
    return rc;
}

static void bind4(tide_agg *aggs)
{
    tide_err e = {0};
    bind3(aggs);
    tide_agg_bind_kind(&aggs[3], TIDE_AGG_MAX, TIDE_TYPE_BIGINT, 0, &e);
}

static bool hrows_eq(const hsink *got, const hsink *want, const char *what)
{
    if (got->n != want->n) {
        fprintf(stderr, "%s: %zu rows, want %zu\n", what, got->n, want->n);
        return false;
    }
    for (size_t i = 0; i < got->n; i++) {
        const hrow *g = &got->rows[i], *w = &want->rows[i];
        if (memcmp(g, w, sizeof *g) != 0) {
            fprintf(stderr,
                    "%s: row %zu: got [%lld,%lld) k%lld %lld %lld %lld %lld, want [%lld,%lld) "
                    "k%lld %lld %lld %lld %lld\n",
                    what, i, (long long)g->start, (long long)g->end, (long long)g->key,
                    (long long)g->cnt, (long long)g->sum, (long long)g->dist, (long long)g->max,
                    (long long)w->start, (long long)w->end, (long long)w->key, (long long)w->cnt,
                    (long long)w->sum, (long long)w->dist, (long long)w->max);
            return false;
        }
    }
    return true;
}

/* One random HOP run: the operator vs the model and vs winagg, watermark by
 * watermark (rows and order), late count vs the model. */
static void hop_run(uint64_t seed, size_t n, bool with_model)
{
    uint64_t s = seed;
    int64_t slide = 1 + (int64_t)(tt_rand(&s) % 10);
    int64_t size = slide * (int64_t)(1 + tt_rand(&s) % 8);
    int64_t bound = (int64_t)(tt_rand(&s) % 40);
    int64_t gap = 1 + (int64_t)(tt_rand(&s) % 6); /* wide gaps leave slices empty */
    int64_t woff = seed % 3 ? (int64_t)(tt_rand(&s) % 101) - 50 : 0; /* an offset as written */
    int64_t off = woff - fdiv(woff, slide) * slide;
    int nkeys = (int)(tt_rand(&s) % 6);           /* 0: no key column */
    int nvals = 2 + (int)(tt_rand(&s) % 20);
    rec *recs = calloc(n, sizeof *recs);
    bool *late = calloc(n, sizeof *late);
    TT_ASSERT(recs && late);
    tide_agg aggs[4];
    bind4(aggs);
    tide_type kt = TIDE_TYPE_BIGINT;
    tide_cumagg *c = NULL;
    tide_err e = {0};
    tide_win_spec w = tide_win_hop(slide, size);
    tide_win_set_offset(&w, woff);
    TT_OK(tide_cumagg_create(&c, &w, aggs, 4, &kt, nkeys ? 1 : 0, &e));
    hsink got = {0}, want = {0}, wgot = {0};
    tide_winagg_call calls[4] = {{TIDE_AGG_COUNT_STAR, 0, TIDE_TYPE_NULL},
                                 {TIDE_AGG_SUM, 1, TIDE_TYPE_BIGINT},
                                 {TIDE_AGG_COUNT_DISTINCT, 2, TIDE_TYPE_BIGINT},
                                 {TIDE_AGG_MAX, 3, TIDE_TYPE_BIGINT}};
    tide_winagg_config wc = {.window = w,
                             .aggs = calls,
                             .n_aggs = 4,
                             .n_inputs = 4,
                             .allowed_lateness = 0,
                             .mode = TIDE_TRIG_ACCUMULATING,
                             .emit = wemit,
                             .ctx = &wgot};
    tide_winagg *wa = NULL;
    TT_OK(tide_winagg_create(&wc, &wa, &e));
    int64_t mx = -200, wm = TIDE_TS_MIN;
    uint64_t nlate = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t ts = -200 + (int64_t)i * gap + (int64_t)(tt_rand(&s) % 30) - 15;
        if (tt_rand(&s) % 10 == 0)
            ts -= (int64_t)(tt_rand(&s) % 100); /* some late */
        int64_t key = nkeys ? (int64_t)(tt_rand(&s) % (uint64_t)nkeys) - 2 : 0;
        recs[i] = (rec){key, ts, (int64_t)(tt_rand(&s) % (uint64_t)nvals) - 3};
        int64_t start = fdiv(ts - off, slide) * slide + off;
        late[i] = wm != TIDE_TS_MIN && start + size - 1 <= wm; /* dropped: no window left */
        nlate += wm != TIDE_TS_MIN && start + slide - 1 <= wm;  /* late: its first window fired */
        tide_value k = {.type = TIDE_TYPE_BIGINT, .u.i64 = key};
        tide_value v[4] = {{.type = TIDE_TYPE_BIGINT, .u.i64 = 1},
                           {.type = TIDE_TYPE_BIGINT, .u.i64 = recs[i].v},
                           {.type = TIDE_TYPE_BIGINT, .u.i64 = recs[i].v},
                           {.type = TIDE_TYPE_BIGINT, .u.i64 = recs[i].v}};
        TT_OK(tide_cumagg_push(c, &k, v, ts, &e));
        unsigned char kb[8];
        key8(key, kb);
        TT_OK(tide_winagg_push(wa, kb, nkeys ? 8 : 0, ts, v, 0, &e));
        if (ts > mx)
            mx = ts;
        if (tt_rand(&s) % 3 == 0 && mx - bound > wm) {
            int64_t prev = wm;
            wm = mx - bound;
            TT_OK(tide_cumagg_advance(c, wm, hemit, &got, &e));
            TT_OK(tide_winagg_advance_watermark(wa, wm, 0, &e));
            if (with_model)
                TT_OK(hop_model(recs, i + 1, late, slide, size, off, prev, wm, &want));
        }
    }
    TT_OK(tide_cumagg_advance(c, TIDE_TS_MAX, hemit, &got, &e));
    TT_OK(tide_winagg_advance_watermark(wa, TIDE_TS_MAX, 0, &e));
    if (with_model)
        TT_OK(hop_model(recs, n, late, slide, size, off, wm, TIDE_TS_MAX, &want));
    bool ok = hrows_eq(&got, &wgot, "vs winagg") &&
              (!with_model || hrows_eq(&got, &want, "vs model")) && tide_cumagg_late(c) == nlate &&
              tide_cumagg_live(c) == 0;
    if (!ok) {
        fprintf(stderr,
                "slide %lld size %lld bound %lld gap %lld keys %d: late %llu want %llu, live %zu\n",
                (long long)slide, (long long)size, (long long)bound, (long long)gap, nkeys,
                (unsigned long long)tide_cumagg_late(c), (unsigned long long)nlate,
                tide_cumagg_live(c));
        TT_SEED(seed);
    }
    TT_ASSERT(ok);
    /* the same late rule as winagg's */
    TT_ASSERT_EQ_INT(tide_winagg_late_count(wa), nlate);
    tide_cumagg_free(c);
    tide_winagg_free(wa);
    free(got.rows);
    free(want.rows);
    free(wgot.rows);
    free(recs);
    free(late);
}

static void test_hop_random(void)
{
    TT_FOR_SEEDS(seed, 1, 300)
        hop_run(seed, 30 + seed % 270, true);
}

/* Longer runs (many flips of the two stacks) vs winagg only. */
static void test_hop_long_vs_winagg(void)
{
    TT_FOR_SEEDS(seed, 1000, 1010 - 1)
        hop_run(seed, 20000, false);
}

/* HOP(1 day, 30 days) without keys, 1 record a minute for 90 days: every
 * window's COUNT(DISTINCT) by formula. */
static void test_hop_month(void)
{
    const int64_t day = 86400000, min = 60000, n = 90 * 1440;
    tide_agg aggs[4];
    bind4(aggs);
    tide_cumagg *c = NULL;
    tide_err e = {0};
    tide_win_spec w = tide_win_hop(day, 30 * day);
    TT_OK(tide_cumagg_create(&c, &w, aggs, 4, NULL, 0, &e));
    int64_t t0 = 19783 * day;
    hsink got = {0};
    for (int64_t i = 0; i < n; i++) {
        int64_t u = i % 5000; /* user ids cycle every 5000 minutes */
        tide_value v[4] = {{.type = TIDE_TYPE_BIGINT, .u.i64 = 1},
                           {.type = TIDE_TYPE_BIGINT, .u.i64 = u},
                           {.type = TIDE_TYPE_BIGINT, .u.i64 = u},
                           {.type = TIDE_TYPE_BIGINT, .u.i64 = u}};
        TT_OK(tide_cumagg_push(c, NULL, v, t0 + i * min, &e));
        if (i % 100 == 99)
            TT_OK(tide_cumagg_advance(c, t0 + i * min - 5000, hemit, &got, &e));
    }
    TT_OK(tide_cumagg_advance(c, TIDE_TS_MAX, hemit, &got, &e));
    TT_ASSERT_EQ_INT(got.n, 90 + 29);
    for (size_t k = 0; k < got.n; k++) {
        int64_t end = t0 + day * (int64_t)(k + 1);
        int64_t lo = end - 30 * day < t0 ? 0 : (end - 30 * day - t0) / min;
        int64_t hi = (end - t0) / min < n ? (end - t0) / min : n; /* minutes [lo, hi) */
        TT_ASSERT_EQ_INT(got.rows[k].end, end);
        TT_ASSERT_EQ_INT(got.rows[k].cnt, hi - lo);
        TT_ASSERT_EQ_INT(got.rows[k].dist, hi - lo < 5000 ? hi - lo : 5000);
    }
    TT_ASSERT_EQ_INT(tide_cumagg_live(c), 0);
    tide_cumagg_free(c);
    free(got.rows);
}

/* ---- the boundary rule ----
 * Watermarks driven to exactly e - 2, e - 1 and e of the next window ends,
 * records arriving around W: each advance emits exactly the windows the
 * rule fires in that step (CUMULATE by model_fire, HOP from its
 * definition), the late count is the rule's, and winagg agrees. */

/* HOP windows [e - size, e), e a multiple of slide, firing in (lo, hi]. */
static int hop_model_o(const rec *recs, size_t n, const bool *late, int64_t slide, int64_t size,
                       int64_t lo, int64_t hi, sinkv *out)
{
    size_t first = out->n;
    for (size_t i = 0; i < n; i++) {
        if (late[i])
            continue;
        for (int64_t e = fdiv(recs[i].ts, slide) * slide + slide; e - size <= recs[i].ts;
             e += slide) {
            if (!fires_in(e, lo, hi))
                continue;
            bool seen = false; /* once per (window, key) */
            for (size_t j = first; j < out->n && !seen; j++)
                seen = out->rows[j].end == e && out->rows[j].key == recs[i].key;
            if (seen)
                continue;
            orow o = {e - size, e, recs[i].key, 0, 0, 0};
            int64_t dv[4096];
            size_t nd = 0;
            for (size_t j = 0; j < n; j++) {
                if (late[j] || recs[j].key != o.key || recs[j].ts < o.start || recs[j].ts >= e)
                    continue;
                o.cnt++;
                o.sum += recs[j].v;
                bool d = false;
                for (size_t k = 0; k < nd && !d; k++)
                    d = dv[k] == recs[j].v;
                if (!d)
                    dv[nd++] = recs[j].v;
            }
            o.dist = (int64_t)nd;
            if (put(out, o))
                return TIDE_ENOMEM;
        }
    }
    if (out->n > first)
        qsort(out->rows + first, out->n - first, sizeof *out->rows, orow_cmp);
    return 0;
}

static int wemit_o(void *ctx, const tide_winagg_row *r)
{
    uint64_t u = 0;
    for (uint32_t j = 0; j < r->key_len; j++)
        u = (u << 8) | ((const unsigned char *)r->key)[j];
    orow o = {r->start, r->end, (int64_t)(u ^ (1ull << 63)), r->vals[0].u.i64, r->vals[1].u.i64,
              r->vals[2].u.i64};
    return r->op == TIDE_OP_INSERT ? put(ctx, o) : TIDE_EINVAL;
}

static bool orows_eq(const sinkv *a, const sinkv *b)
{
    return a->n == b->n && (a->n == 0 || memcmp(a->rows, b->rows, a->n * sizeof *a->rows) == 0);
}

static void test_boundaries(void)
{
    uint64_t at_boundary = 0, lates = 0;
    TT_FOR_SEEDS(seed, 1, 400) {
        uint64_t s = seed;
        bool hop = seed % 2;
        int64_t step = 2 + (int64_t)(tt_rand(&s) % 5);
        int64_t max = step * (int64_t)(1 + tt_rand(&s) % 4);
        size_t n = 100 + tt_rand(&s) % 100;
        rec *recs = calloc(n, sizeof *recs);
        bool *late = calloc(n, sizeof *late);
        TT_ASSERT(recs && late);
        tide_agg aggs[3];
        bind3(aggs);
        tide_type kt = TIDE_TYPE_BIGINT;
        tide_cumagg *c = NULL;
        tide_winagg *wa = NULL;
        tide_err e = {0};
        tide_win_spec w = hop ? tide_win_hop(step, max) : tide_win_cumulate(step, max);
        tide_winagg_call calls[3] = {{TIDE_AGG_COUNT_STAR, 0, TIDE_TYPE_NULL},
                                     {TIDE_AGG_SUM, 1, TIDE_TYPE_BIGINT},
                                     {TIDE_AGG_COUNT_DISTINCT, 2, TIDE_TYPE_BIGINT}};
        sinkv got = {0}, want = {0}, wgot = {0};
        tide_winagg_config wc = {.window = w, .aggs = calls, .n_aggs = 3, .n_inputs = 3,
                                 .mode = TIDE_TRIG_ACCUMULATING, .emit = wemit_o, .ctx = &wgot};
        TT_OK(tide_cumagg_create(&c, &w, aggs, 3, &kt, 1, &e));
        TT_OK(tide_winagg_create(&wc, &wa, &e));
        int64_t wm = TIDE_TS_MIN, now = 0;
        uint64_t nlate = 0;
        bool ok = true;
        for (size_t i = 0; i < n && ok; i++) {
            int64_t base = wm == TIDE_TS_MIN ? now : wm;
            int64_t ts = base - 6 + (int64_t)(tt_rand(&s) % 10);
            now = ts > now ? ts : now;
            recs[i] = (rec){(int64_t)(tt_rand(&s) % 3), ts, (int64_t)(tt_rand(&s) % 5)};
            /* the rule: the first window of ts ends at its slice's end
             * (HOP) or the next step of its period (CUMULATE); its last at
             * the slice start + size or s0 + max */
            int64_t sl = fdiv(ts, step) * step, s0 = fdiv(ts, max) * max;
            int64_t first_end = sl + step, last_end = hop ? sl + max : s0 + max;
            if (wm != TIDE_TS_MIN) {
                late[i] = last_end - 1 <= wm;
                nlate += first_end - 1 <= wm;
                at_boundary += first_end - 1 == wm;
            }
            tide_value k = {.type = TIDE_TYPE_BIGINT, .u.i64 = recs[i].key};
            tide_value v[3] = {{.type = TIDE_TYPE_BIGINT, .u.i64 = 1},
                               {.type = TIDE_TYPE_BIGINT, .u.i64 = recs[i].v},
                               {.type = TIDE_TYPE_BIGINT, .u.i64 = recs[i].v}};
            unsigned char kb[8];
            key8(recs[i].key, kb);
            TT_OK(tide_cumagg_push(c, &k, v, ts, &e));
            TT_OK(tide_winagg_push(wa, kb, 8, ts, v, 0, &e));
            if (tt_rand(&s) % 3 != 0 && i + 1 < n)
                continue;
            /* next watermark: e - 2, e - 1 or e of one of the next two ends */
            int64_t e0 = fdiv(wm == TIDE_TS_MIN ? now - 4 : wm, step) * step +
                         step * (int64_t)(1 + tt_rand(&s) % 2);
            int64_t to = e0 - 2 + (int64_t)(tt_rand(&s) % 3);
            if (i + 1 == n)
                to = TIDE_TS_MAX;
            if (to <= wm)
                continue;
            int64_t prev = wm;
            wm = to;
            got.n = want.n = wgot.n = 0;
            TT_OK(tide_cumagg_advance(c, wm, emit, &got, &e));
            TT_OK(tide_winagg_advance_watermark(wa, wm, 0, &e));
            if (hop)
                TT_OK(hop_model_o(recs, i + 1, late, step, max, prev, wm, &want));
            else
                TT_OK(model_fire(recs, i + 1, late, step, max, 0, prev, wm, &want));
            ok = orows_eq(&got, &want) && orows_eq(&wgot, &want);
            if (!ok)
                fprintf(stderr, "  %s(%lld, %lld): W %lld -> %lld: %zu rows, winagg %zu, want %zu\n",
                        hop ? "HOP" : "CUMULATE", (long long)step, (long long)max, (long long)prev,
                        (long long)wm, got.n, wgot.n, want.n);
        }
        ok = ok && tide_cumagg_late(c) == nlate && tide_winagg_late_count(wa) == nlate &&
             tide_cumagg_live(c) == 0;
        lates += nlate;
        if (!ok)
            TT_SEED(seed);
        TT_ASSERT(ok);
        tide_cumagg_free(c);
        tide_winagg_free(wa);
        free(got.rows);
        free(want.rows);
        free(wgot.rows);
        free(recs);
        free(late);
    }
    TT_ASSERT_MSG(tt_replaying() || (at_boundary > 200 && lates > 1000), "at boundary %llu, late %llu",
                  (unsigned long long)at_boundary, (unsigned long long)lates);
}

/* ---- snapshot / restore --------------------------------------------------
 *
 * The property: a run (HOP or CUMULATE, records out of order and late, up
 * to two key columns with NULLs, every aggregate kind, DOUBLE values with
 * infinities and NaN) cut anywhere by a snapshot, a restore into a fresh
 * operator and the free of the original fires exactly the rows of the
 * uninterrupted run, in order and to the bit, with the same late count. */

#define CNA 13
static void bind_all(tide_agg *aggs, bool hll)
{
    static const struct {
        tide_agg_kind kind;
        tide_type type;
    } k[CNA] = {
        {TIDE_AGG_COUNT_STAR, TIDE_TYPE_NULL},      {TIDE_AGG_COUNT, TIDE_TYPE_BIGINT},
        {TIDE_AGG_SUM, TIDE_TYPE_BIGINT},           {TIDE_AGG_MIN, TIDE_TYPE_BIGINT},
        {TIDE_AGG_MAX, TIDE_TYPE_BIGINT},           {TIDE_AGG_AVG, TIDE_TYPE_BIGINT},
        {TIDE_AGG_COUNT_DISTINCT, TIDE_TYPE_BIGINT}, {TIDE_AGG_SUM, TIDE_TYPE_DOUBLE},
        {TIDE_AGG_AVG, TIDE_TYPE_DOUBLE},           {TIDE_AGG_MIN, TIDE_TYPE_DOUBLE},
        {TIDE_AGG_MAX, TIDE_TYPE_DOUBLE},           {TIDE_AGG_COUNT_DISTINCT, TIDE_TYPE_STRING},
        {TIDE_AGG_APPROX_COUNT_DISTINCT, TIDE_TYPE_BIGINT},
    };
    for (int a = 0; a < CNA; a++)
        tide_agg_bind_kind(&aggs[a], hll || a < CNA - 1 ? k[a].kind : TIDE_AGG_COUNT, k[a].type,
                           0, NULL);
}

static const char *const cstrs[] = {"", "x", "yy", "a string longer than sixteen bytes"};
/* (math.h's fdiv would clash with this file's) */
static const double cdbl[] = {0.1, -2.5, __builtin_inf(), -__builtin_inf(), __builtin_nan(""),
                              -0.0, 1e300, 3.0};

typedef struct crec {
    tide_value keys[2];
    tide_value vals[CNA];
    int64_t ts;
} crec;

typedef struct ccase {
    tide_win_spec w;
    tide_agg aggs[CNA];
    tide_type kt[2];
    size_t nkeys;
    int64_t bound;
} ccase;

static size_t ccase_of(uint64_t seed, ccase *cc, crec *recs, size_t maxn)
{
    uint64_t s = seed;
    int64_t step = 1 + (int64_t)(tt_rand(&s) % 10);
    int64_t max = step * (int64_t)(1 + tt_rand(&s) % 8);
    cc->w = seed % 2 ? tide_win_hop(step, max) : tide_win_cumulate(step, max);
    bool hll = tt_rand(&s) % 4 == 0;
    bind_all(cc->aggs, hll);
    cc->nkeys = (size_t)(tt_rand(&s) % 3);
    cc->kt[0] = TIDE_TYPE_BIGINT;
    cc->kt[1] = TIDE_TYPE_STRING;
    cc->bound = (int64_t)(tt_rand(&s) % 40);
    int64_t gap = 1 + (int64_t)(tt_rand(&s) % 6);
    size_t n = 1 + tt_rand(&s) % (hll ? maxn / 8 : maxn);
    int nk = 1 + (int)(tt_rand(&s) % 5);
    for (size_t i = 0; i < n; i++) {
        crec *r = &recs[i];
        memset(r, 0, sizeof *r);
        r->ts = -200 + (int64_t)i * gap + (int64_t)(tt_rand(&s) % 30) - 15;
        if (tt_rand(&s) % 10 == 0)
            r->ts -= (int64_t)(tt_rand(&s) % 100); /* some late */
        uint64_t k = tt_rand(&s) % (uint64_t)nk;
        r->keys[0] = (tide_value){.type = TIDE_TYPE_BIGINT, .is_null = k == 4, .u.i64 = (int64_t)k - 2};
        const char *ks = cstrs[k % 4];
        r->keys[1] = (tide_value){.type = TIDE_TYPE_STRING, .is_null = k == 3,
                                  .u.s = {ks, (uint32_t)strlen(ks)}};
        int64_t v = (int64_t)(tt_rand(&s) % 9) - 3;
        bool null = tt_rand(&s) % 8 == 0;
        const char *vs = cstrs[tt_rand(&s) % 4];
        for (int a = 0; a < CNA; a++) {
            tide_type t = cc->aggs[a].in_type == TIDE_TYPE_NULL ? TIDE_TYPE_BIGINT : cc->aggs[a].in_type;
            tide_value x = {.type = t, .is_null = null};
            if (t == TIDE_TYPE_DOUBLE)
                x.u.f64 = cdbl[(uint64_t)(v + 3) % 8];
            else if (t == TIDE_TYPE_STRING)
                x.u.s = (tide_str){vs, (uint32_t)strlen(vs)};
            else
                x.u.i64 = v;
            r->vals[a] = x;
        }
    }
    return n;
}

static int clog_emit(void *ctx, const tide_cumagg_row *r)
{
    tide_buf *b = ctx;
    slog_i64(b, r->start);
    slog_i64(b, r->end);
    slog_values(b, r->keys, r->n_keys);
    slog_values(b, r->vals, r->n_vals);
    return 0;
}

typedef const char *(*ccut_fn)(tide_cumagg **c, const ccase *cc, void *ctx);

static const char *c_no_cut(tide_cumagg **c, const ccase *cc, void *ctx)
{
    (void)c, (void)cc, (void)ctx;
    return NULL;
}

static int ccreate(const ccase *cc, tide_cumagg **out)
{
    return tide_cumagg_create(out, &cc->w, cc->aggs, CNA, cc->kt, cc->nkeys, NULL);
}

static const char *c_snap_cut(tide_cumagg **c, const ccase *cc, void *ctx)
{
    uint64_t *cuts = ctx;
    tide_buf a = {0}, b = {0}, d = {0};
    tide_err e = {0};
    tide_cumagg *fresh = NULL;
    const char *why = NULL;
    if (tide_cumagg_snapshot(*c, &a, &e) || tide_cumagg_snapshot(*c, &b, &e))
        why = "snapshot failed";
    else if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
        why = "two snapshots of one state differ";
    else if (ccreate(cc, &fresh) || tide_cumagg_restore(fresh, a.data, a.len, &e))
        why = "restore failed";
    else if (tide_cumagg_live(fresh) != tide_cumagg_live(*c))
        why = "the restored operator holds another count of states";
    else if (tide_cumagg_snapshot(fresh, &d, &e))
        why = "snapshot of the restored operator failed";
    else if (d.len != a.len || memcmp(d.data, a.data, a.len) != 0)
        why = "the restored operator snapshots to other bytes";
    if (why) {
        fprintf(stderr, "  cut: %s (%s)\n", why, e.msg);
        tide_cumagg_free(fresh);
    } else {
        tide_cumagg_free(*c);
        *c = fresh;
        ++*cuts;
    }
    tide_buf_free(&a);
    tide_buf_free(&b);
    tide_buf_free(&d);
    return why;
}

/* Push recs, advancing the watermark now and then (max ts - bound), cutting
 * before the records at cuts[] (n: before the end of input). */
static const char *cdrive(const ccase *cc, const crec *recs, size_t n, uint64_t seed,
                          const size_t *cuts, int ncuts, tide_buf *log, ccut_fn cut, void *ctx)
{
    tide_cumagg *c = NULL;
    tide_err e = {0};
    if (ccreate(cc, &c))
        return "create failed";
    const char *why = NULL;
    int64_t mx = TIDE_TS_MIN, wm = TIDE_TS_MIN;
    uint64_t s = seed ^ 0x77;
    int ci = 0;
    for (size_t i = 0; i <= n && !why; i++) {
        while (ci < ncuts && cuts[ci] == i && !why)
            why = cut(&c, cc, ctx), ci++;
        if (why || i == n)
            break;
        if (tide_cumagg_push(c, recs[i].keys, recs[i].vals, recs[i].ts, &e)) {
            why = "push failed";
            break;
        }
        if (recs[i].ts > mx)
            mx = recs[i].ts;
        if (tt_rand(&s) % 3 == 0 && mx - cc->bound > wm) {
            wm = mx - cc->bound;
            slog_i64(log, wm);
            if (tide_cumagg_advance(c, wm, clog_emit, log, &e))
                why = "advance failed";
        }
    }
    if (!why && tide_cumagg_advance(c, TIDE_TS_MAX, clog_emit, log, &e))
        why = "end of input failed";
    if (!why) {
        slog_i64(log, (int64_t)tide_cumagg_late(c));
        slog_i64(log, (int64_t)tide_cumagg_live(c));
    }
    if (why)
        fprintf(stderr, "  drive: %s (%s)\n", why, e.msg);
    tide_cumagg_free(c);
    return why;
}

static int ccmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

static void test_snapshot_cut_anywhere(void)
{
    int count = TT_ASAN ? 100 : 300; /* (ASan: the damage tests matter more) */
    uint64_t first = snap_tt_seeds(1, &count);
    uint64_t ncut = 0;
    static crec recs[600];
    for (int iter = 0; iter < count; iter++) {
        uint64_t seed = first + (uint64_t)iter;
        ccase cc;
        size_t n = ccase_of(seed, &cc, recs, 600);
        uint64_t s = seed * 3 + 1;
        size_t cuts[6];
        int ncuts = 1 + (int)(tt_rand(&s) % 6);
        for (int i = 0; i < ncuts; i++)
            cuts[i] = tt_rand(&s) % (n + 1);
        qsort(cuts, (size_t)ncuts, sizeof *cuts, ccmp_size);
        tide_buf whole = {0}, cut = {0};
        const char *why = cdrive(&cc, recs, n, seed, cuts, ncuts, &whole, c_no_cut, NULL);
        if (!why)
            why = cdrive(&cc, recs, n, seed, cuts, ncuts, &cut, c_snap_cut, &ncut);
        long at = why ? -1 : slog_diff(&whole, &cut);
        if (why || at >= 0)
            SNAP_TT_FAILED(seed, "%s; output differs at byte %ld of %zu / %zu (%s(%lld, %lld), "
                           "%zu keys, %zu records)",
                           why ? why : "ok", at, whole.len, cut.len,
                           tide_win_kind_name(cc.w.kind), (long long)cc.w.slide,
                           (long long)cc.w.size, cc.nkeys, n);
        tide_buf_free(&whole);
        tide_buf_free(&cut);
        TT_ASSERT(!why && at < 0);
    }
    if (count == 300)
        TT_ASSERT(ncut > 800);
}

typedef struct cfix {
    const ccase *cc;
    tide_cumagg *c;
    uint64_t seed;
    int accepted;
    const char *why;
} cfix;

static int cfix_restore(void *ctx, const void *buf, size_t len, tide_err *e)
{
    cfix *f = ctx;
    if (!f->c && ccreate(f->cc, &f->c))
        return TIDE_ENOMEM;
    int rc = tide_cumagg_restore(f->c, buf, len, e);
    if (rc == 0) {
        tide_buf again = {0};
        if (tide_cumagg_snapshot(f->c, &again, NULL))
            f->why = "snapshot of an accepted changed payload failed";
        tide_buf_free(&again);
        tide_cumagg_free(f->c);
        f->c = NULL;
    } else if (tide_cumagg_live(f->c) || tide_cumagg_late(f->c)) {
        f->why = "a refused restore left state behind";
    }
    return rc;
}

static const char *c_damage_cut(tide_cumagg **c, const ccase *cc, void *ctx)
{
    cfix *f = ctx;
    tide_buf a = {0};
    tide_err e = {0};
    const char *why = NULL;
    size_t where = 0;
    f->cc = cc;
    if (tide_cumagg_snapshot(*c, &a, &e))
        why = "snapshot failed";
    if (!why && (why = snap_tt_damage(a.data, a.len, 400, f->seed, cfix_restore, f, &where)))
        fprintf(stderr, "  byte %zu of %zu\n", where, a.len);
    if (!why)
        why = snap_tt_fuzz(a.data, a.len, 0, 300, f->seed, cfix_restore, f, &f->accepted);
    if (!why && f->why)
        why = f->why;
    if (!why && !f->c && ccreate(cc, &f->c))
        why = "create failed";
    if (!why && tide_cumagg_restore(f->c, a.data, a.len, &e))
        why = "restore after refusals failed";
    if (!why) {
        tide_cumagg_free(*c);
        *c = f->c;
        f->c = NULL;
    }
    tide_buf_free(&a);
    return why;
}

/* Every single-byte change and truncation of mid-run snapshots refused;
 * changed payloads behind a valid checksum read without a crash or leak;
 * the operator those refusals left finishes the run exactly. */
static void test_snapshot_damage(void)
{
    int count = 10;
    uint64_t first = snap_tt_seeds(200, &count);
    int accepted = 0;
    static crec recs[300];
    for (int iter = 0; iter < count; iter++) {
        uint64_t seed = first + (uint64_t)iter;
        ccase cc;
        size_t n = ccase_of(seed, &cc, recs, 300);
        bind_all(cc.aggs, false); /* no 16 KiB sketches to damage byte by byte */
        size_t cuts[1] = {n / 2};
        cfix f = {.seed = seed};
        tide_buf whole = {0}, cut = {0};
        const char *why = cdrive(&cc, recs, n, seed, cuts, 1, &whole, c_no_cut, NULL);
        if (!why)
            why = cdrive(&cc, recs, n, seed, cuts, 1, &cut, c_damage_cut, &f);
        long at = why ? -1 : slog_diff(&whole, &cut);
        if (why || at >= 0)
            SNAP_TT_FAILED(seed, "%s; output differs at byte %ld", why ? why : "ok", at);
        tide_cumagg_free(f.c);
        tide_buf_free(&whole);
        tide_buf_free(&cut);
        accepted += f.accepted;
        TT_ASSERT(!why && at < 0);
    }
    if (count > 1)
        TT_ASSERT(accepted > 0);
}

static void test_snapshot_refusals(void)
{
    ccase cc;
    static crec recs[50];
    size_t n = ccase_of(4, &cc, recs, 50);
    cc.nkeys = 2;
    tide_cumagg *c, *d;
    TT_OK(ccreate(&cc, &c));
    for (size_t i = 0; i < n; i++)
        TT_OK(tide_cumagg_push(c, recs[i].keys, recs[i].vals, recs[i].ts, NULL));
    tide_buf a = {0};
    tide_err e = {0};
    TT_OK(tide_cumagg_snapshot(c, &a, &e));
    struct {
        const char *field;
        ccase cc;
    } diff[5];
    for (int i = 0; i < 5; i++)
        diff[i].cc = cc;
    diff[0].field = "window", diff[0].cc.w = tide_win_hop(cc.w.slide, cc.w.size);
    diff[1].field = "aggregate 12", bind_all(diff[1].cc.aggs, true);
    diff[2].field = "aggregate 3";
    tide_agg_bind_kind(&diff[2].cc.aggs[3], TIDE_AGG_MIN, TIDE_TYPE_BIGINT, TIDE_AGG_RETRACTABLE,
                       NULL);
    diff[3].field = "key count", diff[3].cc.nkeys = 1;
    diff[4].field = "key 1", diff[4].cc.kt[1] = TIDE_TYPE_BIGINT;
    for (int i = 0; i < 5; i++) {
        TT_OK(ccreate(&diff[i].cc, &d));
        tide_err_clear(&e);
        TT_ASSERT_EQ_INT(tide_cumagg_restore(d, a.data, a.len, &e), TIDE_EINVAL);
        TT_ASSERT_MSG(strstr(e.msg, diff[i].field) != NULL, "%s", e.msg);
        tide_cumagg_free(d);
    }
    tide_buf fake = {0};
    tide_snap_w w;
    tide_snap_begin(&w, &fake, "winagg", 1);
    TT_OK(tide_snap_end(&w, &e));
    TT_OK(ccreate(&cc, &d));
    tide_err_clear(&e);
    TT_ASSERT_EQ_INT(tide_cumagg_restore(d, fake.data, fake.len, &e), TIDE_ECORRUPT);
    TT_ASSERT(strstr(e.msg, "winagg") != NULL);
    TT_OK(tide_cumagg_restore(d, a.data, a.len, &e));
    TT_ASSERT_EQ_INT(tide_cumagg_live(d), tide_cumagg_live(c));
    tide_err_clear(&e);
    TT_ASSERT_EQ_INT(tide_cumagg_restore(d, a.data, a.len, &e), TIDE_EINVAL);
    TT_ASSERT(strstr(e.msg, "fresh") != NULL);
    tide_cumagg_free(d);
    tide_cumagg_free(c);
    tide_buf_free(&a);
    tide_buf_free(&fake);
}

int main(void)
{
    TT_RUN(test_random_vs_model);
    TT_RUN(test_long_max);
    TT_RUN(test_hop_random);
    TT_RUN(test_hop_long_vs_winagg);
    TT_RUN(test_hop_month);
    TT_RUN(test_boundaries);
    TT_RUN(test_snapshot_cut_anywhere);
    TT_RUN(test_snapshot_damage);
    TT_RUN(test_snapshot_refusals);
    TT_DONE();
}
