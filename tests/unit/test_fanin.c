/*
 * test_fanin.c - combining branch outputs: UNION ALL order and multiset,
 * and the window-end join, against models computed here, with branches
 * pushing from their own threads (so any interleaving may happen).
 */
#include "job/fanin.h"
#include "tide.h"
#include "tt.h"

#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

/* One branch's script: rows (a, b, string) and reports. */
typedef struct ev {
    bool report;
    int64_t wm;
    int64_t a, b; /* row values; for the join a = window end, b = key (-1: NULL) */
    uint64_t seq;
    int64_t tag; /* model: the report that tags it */
} ev;

typedef struct script {
    ev *evs;
    size_t n;
    tide_fanin *f;
    uint32_t branch;
    uint64_t seed;
    int rc;
    bool join;
} script;

typedef struct got {
    pthread_mutex_t
        mu;        /* emit runs under the fan-in's lock already; this only guards the test's view */
    int64_t *rows; /* UNION: branch, a, b, strlen; JOIN: le, lk, lb, re, rk, rb */
    size_t n, cap, width;
} got;

static void *drive(void *arg)
{
    script *s = arg;
    tide_err e = {0};
    char str[32];
    for (size_t i = 0; i < s->n && !s->rc; i++) {
        if (tt_rand(&s->seed) % 4 == 0)
            sched_yield();
        const ev *x = &s->evs[i];
        if (x->report) {
            s->rc = tide_fanin_watermark(s->f, s->branch, x->wm, &e);
            continue;
        }
        int len = snprintf(str, sizeof str, "s%lld", (long long)x->b);
        tide_value v[3] = {{.type = TIDE_TYPE_TIMESTAMP, .u.i64 = x->a},
                           {.type = TIDE_TYPE_BIGINT, .u.i64 = x->b, .is_null = x->b < 0},
                           {.type = TIDE_TYPE_STRING, .u.s = {str, (uint32_t)len}}};
        s->rc = tide_fanin_push(s->f, s->branch, TIDE_OP_INSERT, v, &e);
    }
    return NULL;
}

static int on_emit(void *ctx, const tide_fanin_out *o)
{
    got *g = ctx;
    pthread_mutex_lock(&g->mu);
    if (g->n + g->width > g->cap) {
        g->cap = g->cap ? 2 * g->cap : 1024;
        g->rows = realloc(g->rows, g->cap * sizeof *g->rows);
    }
    int64_t *r = g->rows + g->n;
    if (g->width == 4) {
        r[0] = o->branch;
        r[1] = o->left[0].u.i64;
        r[2] = o->left[1].u.i64;
        r[3] = o->left[2].u.s.len;
    } else {
        r[0] = o->left[0].u.i64;
        r[1] = o->left[1].is_null ? -1 : o->left[1].u.i64;
        r[2] = o->left[2].u.s.len;
        r[3] = o->right[0].u.i64;
        r[4] = o->right[1].is_null ? -1 : o->right[1].u.i64;
        r[5] = o->right[2].u.s.len;
    }
    g->n += g->width;
    pthread_mutex_unlock(&g->mu);
    return 0;
}

/* A branch script: nrows rows; reports with growing watermarks; the rows
 * of the join are final window results: a window [.., end) fires at
 * W >= end - 1, so a row comes before the first report >= end - 1 and
 * after every report < end - 1. */
static void make_script(script *s, uint64_t *seed, size_t nrows, bool join, int nkeys)
{
    s->evs = calloc(2 * nrows + 2, sizeof *s->evs);
    s->n = 0;
    int64_t wm = 0;
    uint64_t seq = 0;
    size_t pending = 0;
    bool first = true;
    for (size_t i = 0; i < nrows; i++) {
        ev x = {0};
        if (join) {
            /* a window end, a multiple of 10, with end - 1 in (wm, wm + 30] */
            x.a = ((wm + 1) / 10 + 1 + (int64_t)(tt_rand(seed) % 3)) * 10;
            x.b = (int64_t)(tt_rand(seed) % (uint64_t)(nkeys + 1)) - 1;
        } else {
            x.a = (int64_t)(tt_rand(seed) % 1000);
            x.b = (int64_t)(tt_rand(seed) % 100000);
        }
        x.seq = seq++;
        s->evs[s->n++] = x;
        pending++;
        if (tt_rand(seed) % 5 == 0) {
            int64_t mx = wm;
            for (size_t k = s->n - pending; k < s->n; k++)
                if (join && s->evs[k].a > mx)
                    mx = s->evs[k].a;
            int64_t nwm = mx - (join ? 1 : 0) + (int64_t)(tt_rand(seed) % 25);
            if (nwm < wm)
                nwm = wm;
            if (nwm > wm || first) { /* a repeated report tags nothing */
                for (size_t k = s->n - pending; k < s->n; k++)
                    s->evs[k].tag = nwm;
                pending = 0;
            }
            wm = nwm;
            first = false;
            s->evs[s->n++] = (ev){.report = true, .wm = wm};
            if (pending)
                pending++; /* the report sits among the pending rows */
        }
    }
    for (size_t k = s->n - pending; k < s->n; k++)
        s->evs[k].tag = TIDE_TS_MAX;
    s->evs[s->n++] = (ev){.report = true, .wm = TIDE_TS_MAX};
}

static void test_union_order_and_multiset(void)
{
    for (uint64_t seed = 1; seed <= 30; seed++) {
        uint64_t sd = seed;
        uint32_t nb = 1 + (uint32_t)(tt_rand(&sd) % 4);
        tide_fanin_config cfg = {.mode = TIDE_FANIN_UNION, .branches = nb, .emit = on_emit};
        got g = {.width = 4};
        pthread_mutex_init(&g.mu, NULL);
        cfg.ctx = &g;
        script sc[4] = {{0}};
        size_t total = 0;
        for (uint32_t b = 0; b < nb; b++) {
            cfg.ncols[b] = 3;
            make_script(&sc[b], &sd, 50 + tt_rand(&sd) % 400, false, 0);
            sc[b].branch = b;
            sc[b].seed = seed * 31 + b;
        }
        /* the model: every row, ordered by (tag, branch, seq) */
        size_t nm = 0;
        for (uint32_t b = 0; b < nb; b++)
            for (size_t i = 0; i < sc[b].n; i++)
                nm += !sc[b].evs[i].report;
        int64_t *want = calloc(nm * 4 + 1, sizeof *want);
        for (int64_t t_done = TIDE_TS_MIN;;) {
            int64_t t = TIDE_TS_MAX;
            bool any = false;
            for (uint32_t b = 0; b < nb; b++)
                for (size_t i = 0; i < sc[b].n; i++)
                    if (!sc[b].evs[i].report && sc[b].evs[i].tag > t_done &&
                        (!any || sc[b].evs[i].tag < t)) {
                        t = sc[b].evs[i].tag;
                        any = true;
                    }
            if (!any)
                break;
            for (uint32_t b = 0; b < nb; b++)
                for (size_t i = 0; i < sc[b].n; i++) {
                    const ev *x = &sc[b].evs[i];
                    if (x->report || x->tag != t)
                        continue;
                    char str[32];
                    int64_t *r = want + total;
                    r[0] = b;
                    r[1] = x->a;
                    r[2] = x->b;
                    r[3] = snprintf(str, sizeof str, "s%lld", (long long)x->b);
                    total += 4;
                }
            if (t == TIDE_TS_MAX)
                break;
            t_done = t;
        }
        TT_ASSERT_EQ_INT(total, nm * 4);
        for (int rep = 0; rep < 3; rep++) {
            tide_fanin *f = NULL;
            tide_err e = {0};
            TT_OK(tide_fanin_create(&f, &cfg, &e));
            g.n = 0;
            pthread_t th[4];
            for (uint32_t b = 0; b < nb; b++) {
                sc[b].f = f;
                sc[b].rc = 0;
                sc[b].seed = seed * 131 + (uint64_t)rep * 7 + b;
                TT_ASSERT(pthread_create(&th[b], NULL, drive, &sc[b]) == 0);
            }
            for (uint32_t b = 0; b < nb; b++)
                pthread_join(th[b], NULL);
            for (uint32_t b = 0; b < nb; b++)
                TT_ASSERT_EQ_INT(sc[b].rc, 0);
            TT_ASSERT_EQ_INT(tide_fanin_held(f), 0);
            if (g.n != total || memcmp(g.rows, want, total * sizeof *want) != 0)
                TT_SEED(seed);
            TT_ASSERT_EQ_INT(g.n, total);
            TT_ASSERT(memcmp(g.rows, want, total * sizeof *want) == 0);
            tide_fanin_free(f);
        }
        for (uint32_t b = 0; b < nb; b++)
            free(sc[b].evs);
        free(want);
        free(g.rows);
        pthread_mutex_destroy(&g.mu);
    }
}

static void test_join_vs_brute_force(void)
{
    for (uint64_t seed = 1; seed <= 30; seed++) {
        uint64_t sd = seed;
        int nkeys = (int)(tt_rand(&sd) % 4);
        tide_fanin_config cfg = {.mode = TIDE_FANIN_JOIN, .branches = 2, .emit = on_emit};
        cfg.ncols[0] = cfg.ncols[1] = 3;
        cfg.end_col[0] = cfg.end_col[1] = 0;
        if (nkeys > 0) {
            cfg.nkeys = 1;
            cfg.key_cols[0][0] = cfg.key_cols[1][0] = 1;
        }
        got g = {.width = 6};
        pthread_mutex_init(&g.mu, NULL);
        cfg.ctx = &g;
        script sc[2] = {{0}};
        for (uint32_t b = 0; b < 2; b++) {
            make_script(&sc[b], &sd, 20 + tt_rand(&sd) % 200, true, nkeys > 0 ? nkeys : 1);
            sc[b].branch = b;
        }
        /* brute force: every pair with equal end (and equal non-NULL key),
         * ordered by (end, key, left seq, right seq) */
        size_t cap = 1024, nw = 0;
        int64_t *want = malloc(cap * sizeof *want);
        for (int64_t end = 0; end <= 100000; end += 10) {
            for (int64_t key = -1; key < (nkeys > 0 ? nkeys : 1); key++)
                for (size_t i = 0; i < sc[0].n; i++) {
                    const ev *l = &sc[0].evs[i];
                    if (l->report || l->a != end || (nkeys > 0 && l->b != key) ||
                        (nkeys == 0 && key != -1))
                        continue;
                    if (nkeys > 0 && l->b < 0)
                        continue;
                    for (size_t j = 0; j < sc[1].n; j++) {
                        const ev *r = &sc[1].evs[j];
                        if (r->report || r->a != end || (nkeys > 0 && r->b != l->b))
                            continue;
                        if (nw + 6 > cap)
                            want = realloc(want, (cap *= 2) * sizeof *want);
                        int64_t row[6] = {l->a, l->b, 0, r->a, r->b, 0};
                        char str[32];
                        row[2] = snprintf(str, sizeof str, "s%lld", (long long)l->b);
                        row[5] = snprintf(str, sizeof str, "s%lld", (long long)r->b);
                        memcpy(want + nw, row, sizeof row);
                        nw += 6;
                    }
                }
        }
        for (int rep = 0; rep < 3; rep++) {
            tide_fanin *f = NULL;
            tide_err e = {0};
            TT_OK(tide_fanin_create(&f, &cfg, &e));
            g.n = 0;
            pthread_t th[2];
            for (uint32_t b = 0; b < 2; b++) {
                sc[b].f = f;
                sc[b].rc = 0;
                sc[b].seed = seed * 17 + (uint64_t)rep * 3 + b;
                TT_ASSERT(pthread_create(&th[b], NULL, drive, &sc[b]) == 0);
            }
            for (uint32_t b = 0; b < 2; b++)
                pthread_join(th[b], NULL);
            TT_ASSERT_EQ_INT(sc[0].rc, 0);
            TT_ASSERT_EQ_INT(sc[1].rc, 0);
            TT_ASSERT_EQ_INT(tide_fanin_held(f), 0);
            if (g.n != nw || memcmp(g.rows, want, nw * sizeof *want) != 0)
                TT_SEED(seed);
            TT_ASSERT_EQ_INT(g.n, nw);
            TT_ASSERT(memcmp(g.rows, want, nw * sizeof *want) == 0);
            tide_fanin_free(f);
        }
        free(sc[0].evs);
        free(sc[1].evs);
        free(want);
        free(g.rows);
        pthread_mutex_destroy(&g.mu);
    }
}

static int fail_emit(void *ctx, const tide_fanin_out *o)
{
    (void)ctx;
    (void)o;
    return TIDE_EIO;
}

static void test_emit_error_sticks(void)
{
    tide_fanin_config cfg = {.mode = TIDE_FANIN_UNION, .branches = 2, .emit = fail_emit};
    cfg.ncols[0] = cfg.ncols[1] = 1;
    tide_fanin *f = NULL;
    tide_err e = {0};
    TT_OK(tide_fanin_create(&f, &cfg, &e));
    tide_value v = {.type = TIDE_TYPE_BIGINT, .u.i64 = 1};
    TT_OK(tide_fanin_push(f, 0, TIDE_OP_INSERT, &v, &e));
    TT_OK(tide_fanin_watermark(f, 0, 10, &e));
    TT_ASSERT_EQ_INT(tide_fanin_watermark_min(f), TIDE_TS_MIN); /* branch 1 has not reported */
    TT_ASSERT_EQ_INT(tide_fanin_watermark(f, 1, 20, &e), TIDE_EIO);
    TT_ASSERT_EQ_INT(tide_fanin_push(f, 1, TIDE_OP_INSERT, &v, &e), TIDE_EIO);
    tide_fanin_free(f);
    cfg.mode = TIDE_FANIN_JOIN;
    cfg.branches = 3;
    e = (tide_err){0};
    TT_ASSERT_EQ_INT(tide_fanin_create(&f, &cfg, &e), TIDE_EINVAL);
}

/* DOUBLE join keys compare as SQL does: -0.0 matches 0.0, NaN and NULL
 * match nothing (not even NaN), pairs come in key order. */
typedef struct dpairs {
    double l[8], r[8];
    int n;
} dpairs;

static int on_dpair(void *ctx, const tide_fanin_out *o)
{
    dpairs *p = ctx;
    if (p->n < 8) {
        p->l[p->n] = o->left[1].u.f64;
        p->r[p->n] = o->right[1].u.f64;
    }
    p->n++;
    return 0;
}

static void test_join_double_keys(void)
{
    dpairs got = {0};
    tide_fanin_config cfg = {.mode = TIDE_FANIN_JOIN, .branches = 2, .nkeys = 1,
                             .emit = on_dpair, .ctx = &got};
    cfg.ncols[0] = cfg.ncols[1] = 2;
    cfg.end_col[0] = cfg.end_col[1] = 0;
    cfg.key_cols[0][0] = cfg.key_cols[1][0] = 1;
    tide_fanin *f = NULL;
    tide_err e = {0};
    TT_OK(tide_fanin_create(&f, &cfg, &e));
    uint64_t nan2 = 0xfff8dead00000000ull;
    double other_nan;
    memcpy(&other_nan, &nan2, 8);
    const double lx[] = {0.0, NAN, 0, 1.5, -INFINITY}, rx[] = {-0.0, other_nan, 0, -INFINITY, 2.0};
    for (int side = 0; side < 2; side++)
        for (int i = 0; i < 5; i++) {
            tide_value v[2] = {{.type = TIDE_TYPE_TIMESTAMP, .u.i64 = 10},
                               {.type = TIDE_TYPE_DOUBLE, .u.f64 = side ? rx[i] : lx[i],
                                .is_null = i == 2}};
            TT_OK(tide_fanin_push(f, (uint32_t)side, TIDE_OP_INSERT, v, &e));
        }
    TT_OK(tide_fanin_watermark(f, 0, 10, &e));
    TT_OK(tide_fanin_watermark(f, 1, 10, &e));
    tide_fanin_free(f);
    TT_ASSERT_EQ_INT(got.n, 2);
    TT_ASSERT(got.l[0] == -INFINITY && got.r[0] == -INFINITY);
    TT_ASSERT(got.l[1] == 0 && !signbit(got.l[1]) && got.r[1] == 0 && signbit(got.r[1]));
}

int main(void)
{
    TT_RUN(test_union_order_and_multiset);
    TT_RUN(test_join_vs_brute_force);
    TT_RUN(test_emit_error_sticks);
    TT_RUN(test_join_double_keys);
    TT_DONE();
}
