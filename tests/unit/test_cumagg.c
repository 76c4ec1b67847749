/*
 * test_cumagg.c - CUMULATE by shared slices vs a brute-force model that
 * recomputes every window from the records pushed so far.
 */
#include "exec/cumagg.h"
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

/* Windows with end in (lo, hi] over recs[0, n), sorted. */
static int model_fire(const rec *recs, size_t n, const bool *late, int64_t step, int64_t max,
                      int64_t lo, int64_t hi, sinkv *out)
{
    size_t first = out->n;
    /* every (key, s0) present */
    for (size_t i = 0; i < n; i++) {
        if (late[i])
            continue;
        int64_t s0 = fdiv(recs[i].ts, max) * max;
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = !late[j] && recs[j].key == recs[i].key && fdiv(recs[j].ts, max) * max == s0;
        if (seen)
            continue;
        for (int64_t end = s0 + step; end <= s0 + max; end += step) {
            if (end <= lo || end > hi)
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
    for (uint64_t seed = 1; seed <= 40; seed++) {
        uint64_t s = seed;
        int64_t step = 10, max = 10 * (int64_t)(1 + tt_rand(&s) % 6);
        int64_t bound = (int64_t)(tt_rand(&s) % 25);
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
        TT_OK(tide_cumagg_create(&c, step, max, aggs, 3, &kt, 1, &e));
        sinkv got = {0}, want = {0};
        int64_t mx = -100, wm = TIDE_TS_MIN;
        for (size_t i = 0; i < n; i++) {
            int64_t ts = -100 + (int64_t)i * 2 + (int64_t)(tt_rand(&s) % 30) - 15;
            if (tt_rand(&s) % 10 == 0)
                ts -= (int64_t)(tt_rand(&s) % 60); /* some late */
            recs[i] =
                (rec){(int64_t)(tt_rand(&s) % (uint64_t)nkeys), ts, (int64_t)(tt_rand(&s) % 7)};
            late[i] = wm != TIDE_TS_MIN && fdiv(ts, max) * max + max <= wm;
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
                TT_OK(model_fire(recs, i + 1, late, step, max, prev, wm, &want));
            }
        }
        TT_OK(tide_cumagg_advance(c, TIDE_TS_MAX, emit, &got, &e));
        TT_OK(model_fire(recs, n, late, step, max, wm, TIDE_TS_MAX, &want));
        uint64_t nlate = 0;
        for (size_t i = 0; i < n; i++)
            nlate += late[i];
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
    TT_OK(tide_cumagg_create(&c, day, 3650 * day, aggs, 3, NULL, 0, &e));
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

int main(void)
{
    TT_RUN(test_random_vs_model);
    TT_RUN(test_long_max);
    TT_DONE();
}
