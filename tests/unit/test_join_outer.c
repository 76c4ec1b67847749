/*
 * test_join_outer.c - LEFT, RIGHT and FULL outer interval and window joins
 * (exec/join.h's outer rule) against a brute-force model that says, for
 * every output row, at which call it must come out: a matched pair when
 * its later row is pushed (interval) or when its window fires (window); a
 * row that matched nothing, once, with NULLs for the other side, when it
 * can no longer match (the watermark passed its interval, or it came too
 * late to be buffered; its window fired).  A match also needs the rest of
 * the ON condition (a match callback over the values).
 */
#include "exec/join.h"
#include "tt.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct orow {
    int side;
    uint32_t key;
    int64_t ts, id;
} orow;

/* One output row: the ids (-1 for a padded side) and the call it came in
 * (2i: push of row i, 2i + 1: the advance after it, 2n: the end). */
typedef struct oout {
    int64_t lid, rid, step, ts;
} oout;

typedef struct osink {
    oout *v;
    size_t n, cap;
    int64_t step;
    int mod; /* the rest of ON: (lid + rid) % mod != 0 (0: always) */
    bool bad;
} osink;

static void osink_add(osink *k, oout o)
{
    if (k->n == k->cap) {
        k->cap = k->cap ? 2 * k->cap : 256;
        k->v = realloc(k->v, k->cap * sizeof *k->v);
        if (!k->v)
            abort();
    }
    k->v[k->n++] = o;
}

static bool pred(int mod, int64_t lid, int64_t rid) { return mod == 0 || (lid + rid) % mod != 0; }

static int o_emit(void *ctx, const tide_join_row *row)
{
    osink *k = ctx;
    if ((!row->left && !row->right) || row->n_left != 1 || row->n_right != 1)
        k->bad = true;
    int64_t lid = row->left ? row->left[0].u.i64 : -1, rid = row->right ? row->right[0].u.i64 : -1;
    if (row->left && row->right && !pred(k->mod, lid, rid))
        k->bad = true; /* emitted a pair the match callback refused */
    osink_add(k, (oout){lid, rid, k->step, row->ts});
    return 0;
}

static int o_match(void *ctx, const tide_join_row *row)
{
    const osink *k = ctx;
    return pred(k->mod, row->left[0].u.i64, row->right[0].u.i64);
}

static int cmp_out(const void *a, const void *b)
{
    const oout *x = a, *y = b;
    if (x->step != y->step)
        return x->step < y->step ? -1 : 1;
    if (x->lid != y->lid)
        return x->lid < y->lid ? -1 : 1;
    if (x->rid != y->rid)
        return x->rid < y->rid ? -1 : 1;
    return (x->ts > y->ts) - (x->ts < y->ts);
}

/* Rows with ts in [0, span), arriving at most `disorder` behind the
 * largest time seen so far (<= the watermark bound: all on time), or more
 * (some late). */
static size_t gen(uint64_t *s, orow *rows, size_t n, int64_t span, uint32_t nkeys, int64_t disorder)
{
    int64_t *ord = malloc(n * sizeof *ord);
    for (size_t i = 0; i < n; i++) {
        rows[i].side = (int)(tt_rand(s) % 2);
        rows[i].key = (uint32_t)(tt_rand(s) % nkeys);
        rows[i].ts = (int64_t)(tt_rand(s) % (uint64_t)span);
        ord[i] = rows[i].ts + (int64_t)(tt_rand(s) % (uint64_t)(disorder + 1));
    }
    /* insertion sort by ord (n is small) */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && ord[j - 1] > ord[j]; j--) {
            int64_t t = ord[j];
            ord[j] = ord[j - 1];
            ord[j - 1] = t;
            orow r = rows[j];
            rows[j] = rows[j - 1];
            rows[j - 1] = r;
        }
    for (size_t i = 0; i < n; i++)
        rows[i].id = (int64_t)i;
    free(ord);
    return n;
}

static int64_t sat_add(int64_t a, int64_t b)
{
    if (b > 0 && a > INT64_MAX - b)
        return INT64_MAX;
    if (b < 0 && a < INT64_MIN - b)
        return INT64_MIN;
    return a + b;
}

/* The watermark after each push (max ts - bound), raised monotonically. */
static void watermarks(const orow *rows, size_t n, int64_t bound, int64_t *wm)
{
    int64_t mx = INT64_MIN;
    for (size_t i = 0; i < n; i++) {
        if (rows[i].ts > mx)
            mx = rows[i].ts;
        wm[i] = mx - bound;
    }
}

/* ---- interval ----------------------------------------------------------- */

static bool keep(int side, int64_t ts, int64_t w, int64_t lo, int64_t hi)
{
    if (w == INT64_MAX)
        return false;
    return side == 0 ? ts >= sat_add(w, lo) : ts >= sat_add(w, -hi);
}

static void model_interval(const orow *rows, size_t n, const int64_t *wm, int64_t lo, int64_t hi,
                           const bool *outer, int mod, osink *want)
{
    for (size_t i = 0; i < n; i++) {
        bool matched = false;
        for (size_t j = 0; j < n; j++) {
            if (rows[j].side == rows[i].side || rows[j].key != rows[i].key)
                continue;
            const orow *l = rows[i].side == 0 ? &rows[i] : &rows[j];
            const orow *r = rows[i].side == 0 ? &rows[j] : &rows[i];
            int64_t d = l->ts - r->ts;
            if (d < lo || d > hi || !pred(mod, l->id, r->id))
                continue;
            matched = true;
            if (rows[i].side == 0) /* each pair once: from its left row */
                osink_add(want, (oout){l->id, r->id, 2 * (int64_t)(i > j ? i : j),
                                       l->ts > r->ts ? l->ts : r->ts});
        }
        int s = rows[i].side;
        if (matched || !outer[s])
            continue;
        int64_t step = 2 * (int64_t)n;
        int64_t before = i ? wm[i - 1] : INT64_MIN;
        if (!keep(s, rows[i].ts, before, lo, hi)) {
            step = 2 * (int64_t)i;
        } else {
            for (size_t k = i; k < n; k++)
                if (!keep(s, rows[i].ts, wm[k], lo, hi)) {
                    step = 2 * (int64_t)k + 1;
                    break;
                }
        }
        osink_add(want, (oout){s == 0 ? rows[i].id : -1, s == 1 ? rows[i].id : -1, step, rows[i].ts});
    }
}

static void run_interval(const orow *rows, size_t n, const int64_t *wm, int64_t lo, int64_t hi,
                         const bool *outer, int mod, osink *got)
{
    tide_join_interval_config cfg = {.lo = lo, .hi = hi, .n_left = 1, .n_right = 1, .emit = o_emit,
                                     .match = mod ? o_match : NULL, .outer = {outer[0], outer[1]},
                                     .ctx = got};
    tide_join_interval *op = NULL;
    tide_err e = {0};
    TT_OK(tide_join_interval_create(&cfg, &op, &e));
    for (size_t i = 0; i < n && op; i++) {
        char kb[16];
        int kl = snprintf(kb, sizeof kb, "k%u", rows[i].key);
        tide_value v = {.type = TIDE_TYPE_BIGINT, .u.i64 = rows[i].id};
        got->step = 2 * (int64_t)i;
        TT_OK(tide_join_interval_push(op, (tide_join_side)rows[i].side, kb, (uint32_t)kl, rows[i].ts, &v, &e));
        got->step++;
        TT_OK(tide_join_interval_advance_watermark(op, wm[i], &e));
    }
    got->step = 2 * (int64_t)n;
    if (op)
        TT_OK(tide_join_interval_advance_watermark(op, INT64_MAX, &e));
    if (op) {
        TT_ASSERT_EQ_INT(tide_join_interval_rows(op, TIDE_JOIN_LEFT), 0);
        TT_ASSERT_EQ_INT(tide_join_interval_rows(op, TIDE_JOIN_RIGHT), 0);
    }
    tide_join_interval_free(op);
}

static bool same_out(osink *want, osink *got, uint64_t seed, const char *what)
{
    if (want->n)
        qsort(want->v, want->n, sizeof *want->v, cmp_out);
    if (got->n)
        qsort(got->v, got->n, sizeof *got->v, cmp_out);
    bool ok = want->n == got->n && !got->bad;
    for (size_t i = 0; ok && i < want->n; i++)
        ok = cmp_out(&want->v[i], &got->v[i]) == 0;
    if (!ok) {
        fprintf(stderr, "  %s, seed %llu: %zu rows wanted, %zu got%s\n", what, (unsigned long long)seed,
                want->n, got->n, got->bad ? " (a bad row)" : "");
        for (size_t i = 0; i < want->n || i < got->n; i++) {
            const oout *a = i < want->n ? &want->v[i] : NULL, *b = i < got->n ? &got->v[i] : NULL;
            if (a && b && cmp_out(a, b) == 0)
                continue;
            fprintf(stderr, "    want %lld,%lld@%lld  got %lld,%lld@%lld\n", a ? (long long)a->lid : 0,
                    a ? (long long)a->rid : 0, a ? (long long)a->step : 0, b ? (long long)b->lid : 0,
                    b ? (long long)b->rid : 0, b ? (long long)b->step : 0);
            break;
        }
    }
    return ok;
}

/* Every outer kind, on-time rows, random bounds (also one-sided ones) and
 * a random rest of ON: the rows and the call each comes out in. */
static void test_interval_outer_model(void)
{
    static orow rows[160];
    static int64_t wm[160];
    int checked = 0, padded = 0;
    TT_FOR_SEEDS(seed, 1, 400)
    {
        uint64_t s = seed * 977 + 5;
        size_t n = 1 + (size_t)(tt_rand(&s) % 160);
        int64_t bound = (int64_t)(tt_rand(&s) % 40);
        gen(&s, rows, n, 50 + (int64_t)(tt_rand(&s) % 800), 1 + (uint32_t)(tt_rand(&s) % 5), bound);
        int64_t lo = -(int64_t)(tt_rand(&s) % 60) + 15, hi = lo + (int64_t)(tt_rand(&s) % 70);
        bool outer[2] = {seed % 3 != 1, seed % 3 != 0}; /* LEFT, RIGHT, FULL */
        int mod = (int)(tt_rand(&s) % 4); /* 0: no rest; 1 refuses every pair */
        watermarks(rows, n, bound, wm);
        osink want = {.mod = mod}, got = {.mod = mod};
        model_interval(rows, n, wm, lo, hi, outer, mod, &want);
        run_interval(rows, n, wm, lo, hi, outer, mod, &got);
        for (size_t i = 0; i < want.n; i++)
            padded += want.v[i].lid < 0 || want.v[i].rid < 0;
        TT_ASSERT(same_out(&want, &got, seed, "interval"));
        free(want.v);
        free(got.v);
        checked++;
    }
    if (!tt_replaying())
        TT_ASSERT(padded > 1000 && checked == 400);
}

/* Hand-made: a left row padded exactly when the watermark passes its
 * interval, a late row padded at once, a match that arrives in time. */
static void test_interval_outer_cases(void)
{
    osink k = {0};
    tide_join_interval_config cfg = {.lo = -10, .hi = 5, .n_left = 1, .n_right = 1, .emit = o_emit,
                                     .outer = {true, false}, .ctx = &k};
    tide_join_interval *op = NULL;
    tide_err e = {0};
    TT_OK(tide_join_interval_create(&cfg, &op, &e));
    tide_value v = {.type = TIDE_TYPE_BIGINT, .u.i64 = 1};
    TT_OK(tide_join_interval_push(op, TIDE_JOIN_LEFT, "a", 1, 100, &v, &e)); /* r.ts in [95, 110] */
    TT_OK(tide_join_interval_advance_watermark(op, 110, &e));
    TT_ASSERT_EQ_INT(k.n, 0); /* a right row at 110 is still on time */
    v.u.i64 = 2;
    TT_OK(tide_join_interval_push(op, TIDE_JOIN_RIGHT, "a", 1, 110, &v, &e));
    TT_ASSERT_EQ_INT(k.n, 1);
    TT_ASSERT(k.v[0].lid == 1 && k.v[0].rid == 2);
    v.u.i64 = 3;
    TT_OK(tide_join_interval_push(op, TIDE_JOIN_LEFT, "b", 1, 105, &v, &e)); /* late, kept: 105 >= 110 - 10 */
    TT_OK(tide_join_interval_advance_watermark(op, 115, &e));
    TT_ASSERT_EQ_INT(k.n, 1); /* 105 >= 115 - 10: still waiting */
    TT_OK(tide_join_interval_advance_watermark(op, 116, &e));
    TT_ASSERT_EQ_INT(k.n, 2); /* now it leaves, padded; the matched left row 100 leaves silently */
    TT_ASSERT(k.v[1].lid == 3 && k.v[1].rid == -1 && k.v[1].ts == 105);
    v.u.i64 = 4;
    TT_OK(tide_join_interval_push(op, TIDE_JOIN_LEFT, "c", 1, 50, &v, &e)); /* too late to keep */
    TT_ASSERT_EQ_INT(k.n, 3);
    TT_ASSERT(k.v[2].lid == 4 && k.v[2].rid == -1);
    v.u.i64 = 5;
    TT_OK(tide_join_interval_push(op, TIDE_JOIN_RIGHT, "d", 1, 200, &v, &e)); /* RIGHT is not outer */
    TT_OK(tide_join_interval_advance_watermark(op, INT64_MAX, &e));
    TT_ASSERT_EQ_INT(k.n, 3);
    tide_join_interval_free(op);
    free(k.v);
}

/* ---- window -------------------------------------------------------------- */

static void model_window(const orow *rows, size_t n, const int64_t *wm, const tide_win_spec *w,
                         const bool *outer, int mod, osink *want)
{
    tide_win_range rg[64], rg2[64];
    /* each (row, window) the row is in (not late for it) */
    for (size_t i = 0; i < n; i++) {
        size_t nw = tide_win_assign(w, rows[i].ts, rg);
        int64_t before = i ? wm[i - 1] : INT64_MIN;
        for (size_t a = 0; a < nw; a++) {
            if (before >= rg[a].end - 1)
                continue; /* late for this window */
            /* fire step: the first advance at or after i with wm >= end - 1 */
            int64_t step = 2 * (int64_t)n;
            for (size_t k = i; k < n; k++)
                if (wm[k] >= rg[a].end - 1) {
                    step = 2 * (int64_t)k + 1;
                    break;
                }
            bool matched = false;
            for (size_t j = 0; j < n; j++) {
                if (rows[j].side == rows[i].side || rows[j].key != rows[i].key)
                    continue;
                size_t nw2 = tide_win_assign(w, rows[j].ts, rg2);
                bool in = false;
                int64_t before2 = j ? wm[j - 1] : INT64_MIN;
                for (size_t b = 0; b < nw2; b++)
                    in |= rg2[b].start == rg[a].start && rg2[b].end == rg[a].end && before2 < rg2[b].end - 1;
                int64_t lid = rows[i].side == 0 ? rows[i].id : rows[j].id;
                int64_t rid = rows[i].side == 0 ? rows[j].id : rows[i].id;
                if (!in || !pred(mod, lid, rid))
                    continue;
                matched = true;
                if (rows[i].side == 0)
                    osink_add(want, (oout){lid, rid, step, rg[a].end - 1});
            }
            int s = rows[i].side;
            if (!matched && outer[s])
                osink_add(want, (oout){s == 0 ? rows[i].id : -1, s == 1 ? rows[i].id : -1, step, rg[a].end - 1});
        }
    }
}

static void run_window(const orow *rows, size_t n, const int64_t *wm, const tide_win_spec *w,
                       const bool *outer, int mod, osink *got)
{
    tide_join_window_config cfg = {.window = *w, .n_left = 1, .n_right = 1, .emit = o_emit,
                                   .match = mod ? o_match : NULL, .outer = {outer[0], outer[1]},
                                   .ctx = got};
    tide_join_window *op = NULL;
    tide_err e = {0};
    TT_OK(tide_join_window_create(&cfg, &op, &e));
    for (size_t i = 0; i < n && op; i++) {
        char kb[16];
        int kl = snprintf(kb, sizeof kb, "k%u", rows[i].key);
        tide_value v = {.type = TIDE_TYPE_BIGINT, .u.i64 = rows[i].id};
        got->step = 2 * (int64_t)i;
        TT_OK(tide_join_window_push(op, (tide_join_side)rows[i].side, kb, (uint32_t)kl, rows[i].ts, &v, &e));
        got->step++;
        TT_OK(tide_join_window_advance_watermark(op, wm[i], &e));
    }
    got->step = 2 * (int64_t)n;
    if (op)
        TT_OK(tide_join_window_advance_watermark(op, INT64_MAX, &e));
    tide_join_window_free(op);
}

static void test_window_outer_model(void)
{
    static orow rows[120];
    static int64_t wm[120];
    int padded = 0, checked = 0;
    TT_FOR_SEEDS(seed, 1, 300)
    {
        uint64_t s = seed * 131 + 7;
        size_t n = 1 + (size_t)(tt_rand(&s) % 120);
        int64_t bound = (int64_t)(tt_rand(&s) % 30);
        /* some rows later than the bound: late for their windows */
        gen(&s, rows, n, 50 + (int64_t)(tt_rand(&s) % 600), 1 + (uint32_t)(tt_rand(&s) % 4),
            bound + (seed % 4 == 0 ? 20 : 0));
        int64_t slide = 5 + (int64_t)(tt_rand(&s) % 40), mult = 1 + (int64_t)(tt_rand(&s) % 3);
        tide_win_spec w = seed % 2 ? tide_win_tumble(slide * mult) : tide_win_hop(slide, slide * mult);
        bool outer[2] = {seed % 3 != 1, seed % 3 != 0};
        int mod = (int)(tt_rand(&s) % 4);
        watermarks(rows, n, bound, wm);
        osink want = {.mod = mod}, got = {.mod = mod};
        model_window(rows, n, wm, &w, outer, mod, &want);
        run_window(rows, n, wm, &w, outer, mod, &got);
        for (size_t i = 0; i < want.n; i++)
            padded += want.v[i].lid < 0 || want.v[i].rid < 0;
        TT_ASSERT(same_out(&want, &got, seed, "window"));
        free(want.v);
        free(got.v);
        checked++;
    }
    if (!tt_replaying())
        TT_ASSERT(padded > 1000 && checked == 300);
}

/* A snapshot keeps which buffered rows matched: cut after a match and
 * before the row leaves, the restored operator does not pad it; and it
 * refuses a snapshot of another outer kind. */
static void test_outer_snapshot(void)
{
    osink k = {0};
    tide_join_interval_config cfg = {.lo = -10, .hi = 10, .n_left = 1, .n_right = 1, .emit = o_emit,
                                     .outer = {true, true}, .ctx = &k};
    tide_join_interval *a = NULL, *b = NULL, *c = NULL;
    tide_err e = {0};
    tide_buf snap = {0};
    TT_OK(tide_join_interval_create(&cfg, &a, &e));
    tide_value v = {.type = TIDE_TYPE_BIGINT, .u.i64 = 1};
    TT_OK(tide_join_interval_push(a, TIDE_JOIN_LEFT, "a", 1, 100, &v, &e));
    v.u.i64 = 2;
    TT_OK(tide_join_interval_push(a, TIDE_JOIN_RIGHT, "a", 1, 105, &v, &e));
    v.u.i64 = 3;
    TT_OK(tide_join_interval_push(a, TIDE_JOIN_LEFT, "b", 1, 100, &v, &e));
    TT_ASSERT_EQ_INT(k.n, 1);
    TT_OK(tide_join_interval_snapshot(a, &snap, &e));
    tide_join_interval_free(a);
    TT_OK(tide_join_interval_create(&cfg, &b, &e));
    TT_OK(tide_join_interval_restore(b, snap.data, snap.len, &e));
    TT_OK(tide_join_interval_advance_watermark(b, INT64_MAX, &e));
    TT_ASSERT_EQ_INT(k.n, 2); /* only the unmatched left row 3 */
    TT_ASSERT(k.v[1].lid == 3 && k.v[1].rid == -1);
    tide_join_interval_free(b);
    cfg.outer[1] = false;
    TT_OK(tide_join_interval_create(&cfg, &c, &e));
    TT_ASSERT_EQ_INT(tide_join_interval_restore(c, snap.data, snap.len, &e), TIDE_EINVAL);
    TT_ASSERT(strstr(e.msg, "outer sides") != NULL);
    tide_join_interval_free(c);
    tide_buf_free(&snap);
    free(k.v);
}

int main(void)
{
    TT_RUN(test_interval_outer_cases);
    TT_RUN(test_interval_outer_model);
    TT_RUN(test_window_outer_model);
    TT_RUN(test_outer_snapshot);
    TT_DONE();
}
