/*
 * test_join.c - interval and window joins against brute-force models.
 */
#include "exec/join.h"
#include "snap_tt.h"
#include "tt.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- test rows ---------------------------------------------------------- */

typedef struct trow {
    int side;
    uint32_t key;
    int64_t ts;
    int64_t id;  /* arrival index after ordering */
    int64_t ord; /* sort key for the arrival order */
} trow;

static void key_bytes(uint32_t k, char *buf, uint32_t *len)
{
    /* short keys and a few over 12 bytes (out-of-line in the table) */
    int n = (k % 3 == 2) ? snprintf(buf, 64, "a-longer-key-name-%u", k) : snprintf(buf, 64, "k%u", k);
    *len = (uint32_t)n;
}

static int cmp_ord(const void *a, const void *b)
{
    const trow *x = a, *y = b;
    if (x->ord != y->ord)
        return x->ord < y->ord ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* n rows with ts in [0, span), random side and key; arrival order sorted by
 * ts + r with r in [0, disorder]: a row arrives after every row with
 * ts + r smaller, so max seen ts before it is <= its ts + disorder. */
static void gen_rows(uint64_t *s, trow *rows, size_t n, int64_t span, uint32_t nkeys)
{
    for (size_t i = 0; i < n; i++) {
        rows[i].side = (int)(tt_rand(s) % 2);
        rows[i].key = (uint32_t)(tt_rand(s) % nkeys);
        rows[i].ts = (int64_t)(tt_rand(s) % (uint64_t)span) - span / 4; /* some negative */
        rows[i].id = (int64_t)i;
    }
}

static void order_rows(uint64_t *s, trow *rows, size_t n, int64_t disorder)
{
    for (size_t i = 0; i < n; i++)
        rows[i].ord = rows[i].ts + (int64_t)(tt_rand(s) % (uint64_t)(disorder + 1));
    qsort(rows, n, sizeof *rows, cmp_ord);
}

/* values: left (BIGINT id, STRING "s<id>" or NULL), right (BIGINT id) */
typedef struct tvals {
    tide_value v[2];
    char str[32];
} tvals;

static void make_vals(const trow *r, tvals *tv)
{
    memset(tv, 0, sizeof *tv);
    tv->v[0].type = TIDE_TYPE_BIGINT;
    tv->v[0].u.i64 = r->id;
    tv->v[1].type = TIDE_TYPE_STRING;
    if (r->id % 5 == 0) {
        tv->v[1].is_null = true;
    } else {
        int n = snprintf(tv->str, sizeof tv->str, "s%lld", (long long)r->id);
        tv->v[1].u.s.ptr = tv->str;
        tv->v[1].u.s.len = (uint32_t)n;
    }
}

/* ---- collected output ---------------------------------------------------- */

typedef struct tout {
    int64_t lid, rid, ts, start, end;
    char key[64];
    uint32_t klen;
} tout;

typedef struct sink {
    tout *v;
    size_t n, cap;
    bool bad; /* a value did not survive the copy */
    size_t late_n;
    int64_t late_ts_sum;
    int fail_after; /* > 0: return an error on that call */
} sink;

static void sink_add(sink *k, const tout *o)
{
    if (k->n == k->cap) {
        k->cap = k->cap ? k->cap * 2 : 256;
        k->v = realloc(k->v, k->cap * sizeof *k->v);
        if (!k->v)
            abort();
    }
    k->v[k->n++] = *o;
}

static bool check_left_vals(const tide_value *v)
{
    char want[32];
    int64_t id = v[0].u.i64;
    if (v[0].type != TIDE_TYPE_BIGINT)
        return false;
    if (id % 5 == 0)
        return v[1].is_null;
    int n = snprintf(want, sizeof want, "s%lld", (long long)id);
    return !v[1].is_null && v[1].u.s.len == (uint32_t)n && memcmp(v[1].u.s.ptr, want, (size_t)n) == 0;
}

static int on_emit(void *ctx, const tide_join_row *row)
{
    sink *k = ctx;
    tout o;
    memset(&o, 0, sizeof o);
    if (row->n_left != 2 || row->n_right != 2 || !check_left_vals(row->left) ||
        !check_left_vals(row->right) || row->key_len >= sizeof o.key)
        k->bad = true;
    o.lid = row->left[0].u.i64;
    o.rid = row->right[0].u.i64;
    o.ts = row->ts;
    o.start = row->start;
    o.end = row->end;
    o.klen = row->key_len < sizeof o.key ? row->key_len : 0;
    memcpy(o.key, row->key, o.klen);
    sink_add(k, &o);
    if (k->fail_after > 0 && (int)k->n == k->fail_after)
        return TIDE_EIO;
    return 0;
}

static int on_late(void *ctx, tide_join_side side, const void *key, uint32_t key_len, int64_t ts,
                   const tide_value *vals, size_t n_vals)
{
    sink *k = ctx;
    (void)side;
    (void)key;
    (void)key_len;
    if (n_vals != 2 || !check_left_vals(vals))
        k->bad = true;
    k->late_n++;
    k->late_ts_sum += ts;
    return 0;
}

static int cmp_key(const char *a, uint32_t al, const char *b, uint32_t bl)
{
    uint32_t n = al < bl ? al : bl;
    int c = n ? memcmp(a, b, n) : 0;
    if (c)
        return c;
    return al < bl ? -1 : al > bl;
}

static int cmp_pair(const void *a, const void *b)
{
    const tout *x = a, *y = b;
    if (x->lid != y->lid)
        return x->lid < y->lid ? -1 : 1;
    if (x->rid != y->rid)
        return x->rid < y->rid ? -1 : 1;
    return x->ts < y->ts ? -1 : x->ts > y->ts;
}

static int cmp_win(const void *a, const void *b)
{
    const tout *x = a, *y = b;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    int c = cmp_key(x->key, x->klen, y->key, y->klen);
    if (c)
        return c;
    return cmp_pair(a, b);
}

static bool same(const tout *a, const tout *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i].lid != b[i].lid || a[i].rid != b[i].rid || a[i].ts != b[i].ts ||
            a[i].start != b[i].start || a[i].end != b[i].end || a[i].klen != b[i].klen ||
            memcmp(a[i].key, b[i].key, a[i].klen) != 0)
            return false;
    return true;
}

/* ---- interval join ------------------------------------------------------- */

/* Run the interval join over rows in their array order, with the watermark
 * max seen - bound after each push.  Checks the buffered row counts against
 * the keep conditions after every advance.  Returns false (and says why)
 * on a failure. */
static bool run_interval(const trow *rows, size_t n, int64_t lo, int64_t hi, int64_t bound,
                         sink *out, bool expect_on_time)
{
    tide_err e = {0};
    tide_join_interval *op = NULL;
    tide_join_interval_config cfg = {.lo = lo, .hi = hi, .n_left = 2, .n_right = 2,
                                     .emit = on_emit, .ctx = out};
    if (tide_join_interval_create(&cfg, &op, &e) != 0)
        return false;
    bool ok = true;
    int64_t maxts = INT64_MIN;
    char kb[64];
    uint32_t kl;
    for (size_t i = 0; i < n && ok; i++) {
        tvals tv;
        make_vals(&rows[i], &tv);
        key_bytes(rows[i].key, kb, &kl);
        if (expect_on_time && maxts != INT64_MIN && rows[i].ts < maxts - bound) {
            fprintf(stderr, "  generator produced a late row\n");
            ok = false;
        }
        if (tide_join_interval_push(op, (tide_join_side)rows[i].side, kb, kl, rows[i].ts, tv.v,
                                    &e) != 0)
            ok = false;
        if (rows[i].ts > maxts)
            maxts = rows[i].ts;
        int64_t w = maxts - bound;
        if (tide_join_interval_advance_watermark(op, w, &e) != 0)
            ok = false;
        /* cleanup model: buffered = pushed rows whose keep condition holds */
        size_t want[2] = {0, 0};
        bool keyseen[64] = {false};
        size_t wkeys = 0;
        for (size_t j = 0; j <= i; j++) {
            bool keep = rows[j].side == 0 ? rows[j].ts >= w + lo : rows[j].ts >= w - hi;
            if (!keep)
                continue;
            want[rows[j].side]++;
            if (!keyseen[rows[j].key]) {
                keyseen[rows[j].key] = true;
                wkeys++;
            }
        }
        if (want[0] != tide_join_interval_rows(op, TIDE_JOIN_LEFT) ||
            want[1] != tide_join_interval_rows(op, TIDE_JOIN_RIGHT) ||
            wkeys != tide_join_interval_keys(op)) {
            fprintf(stderr, "  state after row %zu: left %zu/%zu right %zu/%zu keys %zu/%zu\n", i,
                    tide_join_interval_rows(op, TIDE_JOIN_LEFT), want[0],
                    tide_join_interval_rows(op, TIDE_JOIN_RIGHT), want[1],
                    tide_join_interval_keys(op), wkeys);
            ok = false;
        }
    }
    if (ok && expect_on_time && tide_join_interval_late_count(op) != 0) {
        fprintf(stderr, "  %llu late rows\n", (unsigned long long)tide_join_interval_late_count(op));
        ok = false;
    }
    /* the watermark passes everything: state goes back to zero */
    int64_t wend = maxts + (lo < 0 ? -lo : lo) + (hi < 0 ? -hi : hi) + 1;
    if (ok && tide_join_interval_advance_watermark(op, wend, &e) != 0)
        ok = false;
    if (ok && (tide_join_interval_rows(op, TIDE_JOIN_LEFT) != 0 ||
               tide_join_interval_rows(op, TIDE_JOIN_RIGHT) != 0 ||
               tide_join_interval_keys(op) != 0)) {
        fprintf(stderr, "  state not empty after the final watermark\n");
        ok = false;
    }
    tide_join_interval_free(op);
    if (out->bad)
        fprintf(stderr, "  a value did not survive the copy\n");
    return ok && !out->bad;
}

static void brute_interval(const trow *rows, size_t n, int64_t lo, int64_t hi, sink *out)
{
    for (size_t i = 0; i < n; i++) {
        if (rows[i].side != 0)
            continue;
        for (size_t j = 0; j < n; j++) {
            if (rows[j].side != 1 || rows[j].key != rows[i].key)
                continue;
            int64_t d = rows[i].ts - rows[j].ts;
            if (d < lo || d > hi)
                continue;
            tout o;
            memset(&o, 0, sizeof o);
            o.lid = rows[i].id;
            o.rid = rows[j].id;
            o.ts = rows[i].ts > rows[j].ts ? rows[i].ts : rows[j].ts;
            key_bytes(rows[i].key, o.key, &o.klen);
            sink_add(out, &o);
        }
    }
}

/* Property: with all rows on time, the output multiset is the nested-loop
 * join; buffered state matches the keep conditions at every step and is
 * empty once the watermark has passed; a second arrival order within the
 * bound (shuffle invariance) gives the same multiset. */
static void test_interval_vs_brute_force(void)
{
    TT_FOR_SEEDS(seed, 1, 300) {
        uint64_t s = seed * 7919;
        size_t n = 20 + (size_t)(tt_rand(&s) % 300);
        int64_t span = 200 + (int64_t)(tt_rand(&s) % 3000);
        uint32_t nkeys = 1 + (uint32_t)(tt_rand(&s) % 6);
        int64_t lo = (int64_t)(tt_rand(&s) % 120) - 80; /* [-80, 39] */
        int64_t hi = lo + (int64_t)(tt_rand(&s) % 150);
        if (seed % 7 == 0)
            hi = lo; /* exact offset */
        int64_t bound = (int64_t)(tt_rand(&s) % 120);
        trow *rows = malloc(n * sizeof *rows);
        TT_ASSERT(rows);
        gen_rows(&s, rows, n, span, nkeys);
        /* ids are fixed before ordering, so both orders share them */
        order_rows(&s, rows, n, bound);
        sink got = {0}, want = {0}, got2 = {0};
        bool ok = run_interval(rows, n, lo, hi, bound, &got, true);
        brute_interval(rows, n, lo, hi, &want);
        order_rows(&s, rows, n, bound);
        bool ok2 = run_interval(rows, n, lo, hi, bound, &got2, true);
        if (got.n)
            qsort(got.v, got.n, sizeof *got.v, cmp_pair);
        if (got2.n)
            qsort(got2.v, got2.n, sizeof *got2.v, cmp_pair);
        if (want.n)
            qsort(want.v, want.n, sizeof *want.v, cmp_pair);
        bool eq = got.n == want.n && same(got.v, want.v, got.n);
        bool eq2 = got2.n == want.n && same(got2.v, want.v, got2.n);
        if (!ok || !ok2 || !eq || !eq2) {
            TT_SEED(seed);
            fprintf(stderr, "  n %zu lo %lld hi %lld bound %lld: got %zu / %zu want %zu\n", n,
                    (long long)lo, (long long)hi, (long long)bound, got.n, got2.n, want.n);
        }
        free(rows);
        free(got.v);
        free(got2.v);
        free(want.v);
        TT_ASSERT(ok && ok2 && eq && eq2);
    }
}

/* Property with late rows (disorder beyond the bound): the output sequence,
 * in order, equals the documented rule: arriving row i joins, in arrival
 * order, every earlier row j of the other side and key that matches the
 * bound and still satisfies its keep condition under W at i's arrival
 * (l.ts >= W + lo, r.ts >= W - hi). */
static void test_interval_late_model(void)
{
    TT_FOR_SEEDS(seed, 1, 150) {
        uint64_t s = seed * 6151;
        size_t n = 20 + (size_t)(tt_rand(&s) % 250);
        int64_t lo = (int64_t)(tt_rand(&s) % 120) - 80;
        int64_t hi = lo + (int64_t)(tt_rand(&s) % 150);
        int64_t bound = (int64_t)(tt_rand(&s) % 60);
        int64_t disorder = bound + 1 + (int64_t)(tt_rand(&s) % 150);
        trow *rows = malloc(n * sizeof *rows);
        int64_t *warr = malloc(n * sizeof *warr);
        TT_ASSERT(rows && warr);
        gen_rows(&s, rows, n, 200 + (int64_t)(tt_rand(&s) % 2000), 1 + (uint32_t)(tt_rand(&s) % 4));
        order_rows(&s, rows, n, disorder);
        int64_t maxts = INT64_MIN;
        size_t nlate = 0;
        for (size_t i = 0; i < n; i++) {
            warr[i] = maxts == INT64_MIN ? INT64_MIN : maxts - bound;
            if (warr[i] != INT64_MIN && rows[i].ts < warr[i])
                nlate++;
            if (rows[i].ts > maxts)
                maxts = rows[i].ts;
        }
        sink want = {0}, got = {0};
        for (size_t i = 0; i < n; i++) {
            int64_t w = warr[i];
            for (size_t j = 0; j < i; j++) {
                if (rows[j].side == rows[i].side || rows[j].key != rows[i].key)
                    continue;
                const trow *l = rows[i].side == 0 ? &rows[i] : &rows[j];
                const trow *r = rows[i].side == 0 ? &rows[j] : &rows[i];
                int64_t d = l->ts - r->ts;
                if (d < lo || d > hi)
                    continue;
                bool kept = w == INT64_MIN ||
                            (rows[j].side == 0 ? rows[j].ts >= w + lo : rows[j].ts >= w - hi);
                if (!kept)
                    continue;
                tout o;
                memset(&o, 0, sizeof o);
                o.lid = l->id;
                o.rid = r->id;
                o.ts = l->ts > r->ts ? l->ts : r->ts;
                key_bytes(rows[i].key, o.key, &o.klen);
                sink_add(&want, &o);
            }
        }
        bool ok = run_interval(rows, n, lo, hi, bound, &got, false);
        bool eq = ok && got.n == want.n && same(got.v, want.v, got.n);
        if (!eq || (seed == 1 && nlate == 0)) {
            TT_SEED(seed);
            fprintf(stderr, "  n %zu lo %lld hi %lld bound %lld late %zu: got %zu want %zu\n", n,
                    (long long)lo, (long long)hi, (long long)bound, nlate, got.n, want.n);
        }
        free(rows);
        free(warr);
        free(got.v);
        free(want.v);
        TT_ASSERT(eq);
    }
}

/* Same input, same arrival order: the same output sequence. */
static void test_interval_deterministic(void)
{
    uint64_t s = 42;
    size_t n = 300;
    trow rows[300];
    gen_rows(&s, rows, n, 1000, 3);
    order_rows(&s, rows, n, 50);
    sink a = {0}, b = {0};
    TT_ASSERT(run_interval(rows, n, -30, 20, 50, &a, true));
    TT_ASSERT(run_interval(rows, n, -30, 20, 50, &b, true));
    TT_ASSERT(a.n > 0);
    TT_ASSERT_EQ_INT(a.n, b.n);
    TT_ASSERT(same(a.v, b.v, a.n));
    free(a.v);
    free(b.v);
}

static int push1(tide_join_interval *op, int side, int64_t ts, int64_t id)
{
    trow r = {.side = side, .ts = ts, .id = id};
    tvals tv;
    make_vals(&r, &tv);
    return tide_join_interval_push(op, (tide_join_side)side, "k", 1, ts, tv.v, NULL);
}

/* The documented late-row rule, step by step (X = Y = 10: lo -10, hi 10). */
static void test_interval_late_rows(void)
{
    sink k = {0};
    tide_join_interval *op = NULL;
    tide_err e = {0};
    tide_join_interval_config cfg = {.lo = -10, .hi = 10, .n_left = 2, .n_right = 2,
                                     .emit = on_emit, .ctx = &k};
    TT_OK(tide_join_interval_create(&cfg, &op, &e));
    TT_OK(push1(op, 1, 100, 1));            /* right 100 */
    TT_OK(tide_join_interval_advance_watermark(op, 105, &e));
    TT_ASSERT_EQ_INT(tide_join_interval_rows(op, TIDE_JOIN_RIGHT), 1); /* 100 >= 105 - 10 */
    TT_OK(push1(op, 0, 92, 2));             /* late left: joins right 100 (d = -8) */
    TT_ASSERT_EQ_INT(k.n, 1);
    TT_ASSERT_EQ_INT(k.v[0].lid, 2);
    TT_ASSERT_EQ_INT(k.v[0].rid, 1);
    TT_ASSERT_EQ_INT(k.v[0].ts, 100);
    /* not buffered: 92 < W + lo = 95, no future right row can match it */
    TT_ASSERT_EQ_INT(tide_join_interval_rows(op, TIDE_JOIN_LEFT), 0);
    TT_ASSERT_EQ_INT(tide_join_interval_unbuffered_count(op), 1);
    TT_ASSERT_EQ_INT(tide_join_interval_late_count(op), 1);
    TT_OK(push1(op, 1, 95, 3));             /* late right: its match (left 92) is gone */
    TT_ASSERT_EQ_INT(k.n, 1);
    TT_ASSERT_EQ_INT(tide_join_interval_rows(op, TIDE_JOIN_RIGHT), 2); /* 95 >= 95 */
    TT_OK(push1(op, 0, 95, 4));             /* left 95 (late, buffered): joins 100 and 95 */
    TT_ASSERT_EQ_INT(k.n, 3);
    TT_ASSERT_EQ_INT(k.v[1].rid, 1);        /* buffered rows in arrival order */
    TT_ASSERT_EQ_INT(k.v[2].rid, 3);
    TT_ASSERT_EQ_INT(tide_join_interval_rows(op, TIDE_JOIN_LEFT), 1);
    TT_OK(tide_join_interval_advance_watermark(op, 106, &e));
    TT_ASSERT_EQ_INT(tide_join_interval_rows(op, TIDE_JOIN_LEFT), 0);  /* 95 < 96 */
    TT_ASSERT_EQ_INT(tide_join_interval_rows(op, TIDE_JOIN_RIGHT), 1); /* 95 < 96 */
    TT_OK(tide_join_interval_advance_watermark(op, 111, &e));
    TT_ASSERT_EQ_INT(tide_join_interval_rows(op, TIDE_JOIN_RIGHT), 0);
    TT_ASSERT_EQ_INT(tide_join_interval_keys(op), 0);
    /* a callback error sticks */
    k.fail_after = (int)k.n + 1;
    TT_OK(push1(op, 1, 200, 5));
    TT_ASSERT(push1(op, 0, 200, 6) == TIDE_EIO);
    TT_ASSERT(push1(op, 0, 300, 7) == TIDE_EIO);
    tide_join_interval_free(op);
    tide_join_interval_free(NULL);
    cfg.lo = 5;
    cfg.hi = 4;
    TT_ASSERT(tide_join_interval_create(&cfg, &op, &e) == TIDE_EINVAL);
    free(k.v);
}

/* ---- window join --------------------------------------------------------- */

/* The windows of ts, computed independently of time/window.c. */
static size_t brute_windows(const tide_win_spec *w, int64_t ts, int64_t *st, int64_t *en)
{
    size_t n = 0;
    if (w->kind == TIDE_WIN_TUMBLE) {
        int64_t k = ts >= 0 ? ts / w->size : -((-ts + w->size - 1) / w->size);
        st[0] = k * w->size;
        en[0] = st[0] + w->size;
        return 1;
    }
    if (w->kind == TIDE_WIN_HOP) {
        int64_t k = ts >= 0 ? ts / w->slide : -((-ts + w->slide - 1) / w->slide);
        for (int64_t s = k * w->slide - w->size; s <= ts; s += w->slide)
            if (s + w->size > ts) {
                st[n] = s;
                en[n++] = s + w->size;
            }
        return n;
    }
    /* CUMULATE */
    int64_t k = ts >= 0 ? ts / w->size : -((-ts + w->size - 1) / w->size);
    int64_t s0 = k * w->size;
    for (int64_t e = s0 + w->slide; e <= s0 + w->size; e += w->slide)
        if (ts < e) {
            st[n] = s0;
            en[n++] = e;
        }
    return n;
}

static void test_window_vs_brute_force(void)
{
    TT_FOR_SEEDS(seed, 1, 240) {
        uint64_t s = seed * 104729;
        size_t n = 20 + (size_t)(tt_rand(&s) % 250);
        int64_t span = 200 + (int64_t)(tt_rand(&s) % 2000);
        uint32_t nkeys = 1 + (uint32_t)(tt_rand(&s) % 6);
        tide_win_spec spec;
        int kind = (int)(seed % 3);
        int64_t slide = 10 + (int64_t)(tt_rand(&s) % 60);
        int64_t mult = 1 + (int64_t)(tt_rand(&s) % 4);
        if (kind == 0)
            spec = tide_win_tumble(slide * mult);
        else if (kind == 1)
            spec = tide_win_hop(slide, slide * mult);
        else
            spec = tide_win_cumulate(slide, slide * mult);
        int64_t bound = (int64_t)(tt_rand(&s) % 80);
        /* disorder beyond the bound makes some rows late */
        int64_t disorder = bound + (seed % 2 ? (int64_t)(tt_rand(&s) % 100) : 0);
        trow *rows = malloc(n * sizeof *rows);
        TT_ASSERT(rows);
        gen_rows(&s, rows, n, span, nkeys);
        order_rows(&s, rows, n, disorder);
        for (size_t i = 0; i < n; i++)
            rows[i].id = (int64_t)i; /* id = arrival index */

        /* brute force: W at each arrival, windows, lateness, pairs */
        int64_t *warr = malloc(n * sizeof *warr);
        TT_ASSERT(warr);
        int64_t maxts = INT64_MIN;
        size_t want_late = 0, want_late_w = 0;
        int64_t want_late_ts = 0;
        for (size_t i = 0; i < n; i++) {
            warr[i] = maxts == INT64_MIN ? INT64_MIN : maxts - bound;
            if (rows[i].ts > maxts)
                maxts = rows[i].ts;
        }
        sink want = {0};
        int64_t st[8], en[8], st2[8], en2[8];
        for (size_t i = 0; i < n; i++) {
            size_t nw = brute_windows(&spec, rows[i].ts, st, en);
            size_t missed = 0;
            for (size_t a = 0; a < nw; a++)
                if (warr[i] >= en[a] - 1) /* fired at W >= end - 1: late */
                    missed++;
            if (missed) {
                want_late++;
                want_late_w += missed;
                want_late_ts += rows[i].ts;
            }
            if (rows[i].side != 0)
                continue;
            for (size_t a = 0; a < nw; a++) {
                if (warr[i] >= en[a] - 1)
                    continue;
                for (size_t j = 0; j < n; j++) {
                    if (rows[j].side != 1 || rows[j].key != rows[i].key)
                        continue;
                    size_t nw2 = brute_windows(&spec, rows[j].ts, st2, en2);
                    for (size_t b = 0; b < nw2; b++) {
                        if (st2[b] != st[a] || en2[b] != en[a] || warr[j] >= en2[b] - 1)
                            continue;
                        tout o;
                        memset(&o, 0, sizeof o);
                        o.lid = rows[i].id;
                        o.rid = rows[j].id;
                        o.start = st[a];
                        o.end = en[a];
                        o.ts = en[a] - 1;
                        key_bytes(rows[i].key, o.key, &o.klen);
                        sink_add(&want, &o);
                    }
                }
            }
        }
        if (want.n)
            qsort(want.v, want.n, sizeof *want.v, cmp_win);

        sink got = {0};
        tide_err e = {0};
        tide_join_window *op = NULL;
        tide_join_window_config cfg = {.window = spec, .n_left = 2, .n_right = 2,
                                       .emit = on_emit, .late = on_late, .ctx = &got};
        TT_OK(tide_join_window_create(&cfg, &op, &e));
        bool ok = true;
        maxts = INT64_MIN;
        for (size_t i = 0; i < n && ok; i++) {
            tvals tv;
            char kb[64];
            uint32_t kl;
            make_vals(&rows[i], &tv);
            key_bytes(rows[i].key, kb, &kl);
            if (tide_join_window_push(op, (tide_join_side)rows[i].side, kb, kl, rows[i].ts, tv.v,
                                      &e) != 0)
                ok = false;
            if (rows[i].ts > maxts)
                maxts = rows[i].ts;
            if (tide_join_window_advance_watermark(op, maxts - bound, &e) != 0)
                ok = false;
        }
        if (ok && tide_join_window_advance_watermark(op, TIDE_TS_MAX, &e) != 0)
            ok = false;
        bool eq = ok && got.n == want.n && same(got.v, want.v, got.n) && !got.bad;
        bool late_ok = tide_join_window_late_count(op) == want_late &&
                       tide_join_window_late_windows(op) == want_late_w &&
                       got.late_n == want_late && got.late_ts_sum == want_late_ts;
        bool empty = tide_join_window_panes(op) == 0 &&
                     tide_join_window_rows(op, TIDE_JOIN_LEFT) == 0 &&
                     tide_join_window_rows(op, TIDE_JOIN_RIGHT) == 0;
        if (!eq || !late_ok || !empty) {
            TT_SEED(seed);
            fprintf(stderr, "  %s n %zu bound %lld disorder %lld: got %zu want %zu late %llu/%zu\n",
                    tide_win_kind_name(spec.kind), n, (long long)bound, (long long)disorder,
                    got.n, want.n, (unsigned long long)tide_join_window_late_count(op), want_late);
        }
        tide_join_window_free(op);
        free(rows);
        free(warr);
        free(got.v);
        free(want.v);
        TT_ASSERT(eq && late_ok && empty);
    }
}

/* Shuffle invariance: two arrival orders within the out-of-orderness
 * bound give the same output multiset and no late rows.  Within means
 * delays < B: a row delayed by B can arrive with ts == W and miss the window
 * ending at ts + 1, which fired at W = ts. */
static void test_window_shuffle_invariance(void)
{
    TT_FOR_SEEDS(seed, 1, 60) {
        uint64_t s = seed * 31337;
        size_t n = 50 + (size_t)(tt_rand(&s) % 200);
        int64_t bound = 1 + (int64_t)(tt_rand(&s) % 100);
        tide_win_spec spec = seed % 2 ? tide_win_hop(20, 60) : tide_win_tumble(40);
        trow *rows = malloc(n * sizeof *rows);
        TT_ASSERT(rows);
        gen_rows(&s, rows, n, 1500, 4);
        sink out[2] = {{0}, {0}};
        uint64_t late[2];
        for (int pass = 0; pass < 2; pass++) {
            order_rows(&s, rows, n, bound - 1);
            tide_err e = {0};
            tide_join_window *op = NULL;
            tide_join_window_config cfg = {.window = spec, .n_left = 2, .n_right = 2,
                                           .emit = on_emit, .ctx = &out[pass]};
            TT_OK(tide_join_window_create(&cfg, &op, &e));
            int64_t maxts = INT64_MIN;
            for (size_t i = 0; i < n; i++) {
                tvals tv;
                char kb[64];
                uint32_t kl;
                make_vals(&rows[i], &tv);
                key_bytes(rows[i].key, kb, &kl);
                TT_OK(tide_join_window_push(op, (tide_join_side)rows[i].side, kb, kl, rows[i].ts,
                                            tv.v, &e));
                if (rows[i].ts > maxts)
                    maxts = rows[i].ts;
                TT_OK(tide_join_window_advance_watermark(op, maxts - bound, &e));
            }
            TT_OK(tide_join_window_advance_watermark(op, TIDE_TS_MAX, &e));
            late[pass] = tide_join_window_late_count(op);
            tide_join_window_free(op);
            if (out[pass].n)
                qsort(out[pass].v, out[pass].n, sizeof(tout), cmp_win);
        }
        bool eq = out[0].n == out[1].n && same(out[0].v, out[1].v, out[0].n) && late[0] == 0 &&
                  late[1] == 0 && !out[0].bad && !out[1].bad;
        if (!eq)
            TT_SEED(seed);
        free(rows);
        free(out[0].v);
        free(out[1].v);
        TT_ASSERT(eq);
    }
}

/* The window [0, 10) joins its rows when W reaches its last millisecond,
 * 9: not at 8; a row arriving with W = 9 has missed it (late once). */
static void test_window_boundary(void)
{
    sink k = {0};
    tide_join_window *op = NULL;
    tide_err e = {0};
    tide_join_window_config cfg = {.window = tide_win_tumble(10), .n_left = 2, .n_right = 2,
                                   .emit = on_emit, .late = on_late, .ctx = &k};
    TT_OK(tide_join_window_create(&cfg, &op, &e));
    trow r = {.ts = 5, .id = 1};
    tvals tv;
    make_vals(&r, &tv);
    TT_OK(tide_join_window_push(op, TIDE_JOIN_LEFT, "x", 1, 5, tv.v, &e));
    TT_OK(tide_join_window_push(op, TIDE_JOIN_RIGHT, "x", 1, 9, tv.v, &e));
    TT_OK(tide_join_window_advance_watermark(op, 8, &e));
    TT_ASSERT_EQ_INT(k.n, 0);
    TT_OK(tide_join_window_push(op, TIDE_JOIN_LEFT, "x", 1, 9, tv.v, &e)); /* on time at W = 8 */
    TT_ASSERT_EQ_INT(tide_join_window_late_count(op), 0);
    TT_OK(tide_join_window_advance_watermark(op, 9, &e));
    TT_ASSERT_EQ_INT(k.n, 2);
    TT_ASSERT_EQ_INT(k.v[0].end, 10);
    TT_ASSERT_EQ_INT(k.v[0].ts, 9);
    TT_ASSERT_EQ_INT(tide_join_window_panes(op), 0);
    TT_OK(tide_join_window_push(op, TIDE_JOIN_RIGHT, "x", 1, 9, tv.v, &e)); /* ts == W: late */
    TT_ASSERT_EQ_INT(tide_join_window_late_count(op), 1);
    TT_ASSERT_EQ_INT(k.late_n, 1);
    TT_OK(tide_join_window_push(op, TIDE_JOIN_RIGHT, "x", 1, 10, tv.v, &e)); /* [10,20) */
    TT_OK(tide_join_window_advance_watermark(op, 10, &e));
    TT_ASSERT_EQ_INT(tide_join_window_late_count(op), 1);
    TT_ASSERT_EQ_INT(tide_join_window_panes(op), 1);
    TT_OK(tide_join_window_advance_watermark(op, TIDE_TS_MAX, &e));
    TT_ASSERT_EQ_INT(k.n, 2); /* no left row in [10,20) */
    tide_join_window_free(op);
    free(k.v);
}

static void test_window_config(void)
{
    sink k = {0};
    tide_join_window *op = NULL;
    tide_err e = {0};
    tide_join_window_config cfg = {.window = tide_win_session(10), .n_left = 2, .n_right = 2,
                                   .emit = on_emit, .ctx = &k};
    TT_ASSERT(tide_join_window_create(&cfg, &op, &e) == TIDE_EUNSUPPORTED);
    tide_err_clear(&e);
    cfg.window = tide_win_tumble(0);
    TT_ASSERT(tide_join_window_create(&cfg, &op, &e) == TIDE_EINVAL);
    cfg.window = tide_win_global();
    TT_OK(tide_join_window_create(&cfg, &op, &e));
    trow r = {.ts = 7, .id = 1};
    tvals tv;
    make_vals(&r, &tv);
    TT_OK(tide_join_window_push(op, TIDE_JOIN_LEFT, "x", 1, 7, tv.v, &e));
    TT_OK(tide_join_window_push(op, TIDE_JOIN_RIGHT, "x", 1, 9, tv.v, &e));
    TT_OK(tide_join_window_advance_watermark(op, 1000000, &e));
    TT_ASSERT_EQ_INT(k.n, 0); /* GLOBAL fires only at end of input */
    TT_OK(tide_join_window_advance_watermark(op, TIDE_TS_MAX, &e));
    TT_ASSERT_EQ_INT(k.n, 1);
    tide_join_window_free(op);
    tide_join_window_free(NULL);
    free(k.v);
}

/* ---- snapshot / restore --------------------------------------------------
 *
 * The property, for both joins: rows from gen_rows / order_rows (late ones
 * too), cut anywhere by a snapshot, a restore into a fresh operator and the
 * free of the original, give exactly the uninterrupted run's output (rows,
 * order, values, late callbacks and counts). */

static int jlog_emit(void *ctx, const tide_join_row *row)
{
    tide_buf *b = ctx;
    slog_i64(b, 'R');
    slog_bytes(b, row->key, row->key_len);
    if (row->left)
        slog_values(b, row->left, row->n_left);
    else
        slog_i64(b, -1); /* padded (outer) */
    if (row->right)
        slog_values(b, row->right, row->n_right);
    else
        slog_i64(b, -1);
    slog_i64(b, row->left_ts);
    slog_i64(b, row->right_ts);
    slog_i64(b, row->ts);
    slog_i64(b, row->start);
    slog_i64(b, row->end);
    return 0;
}

static int jlog_late(void *ctx, tide_join_side side, const void *key, uint32_t key_len, int64_t ts,
                     const tide_value *vals, size_t n_vals)
{
    tide_buf *b = ctx;
    slog_i64(b, 'L');
    slog_i64(b, side);
    slog_bytes(b, key, key_len);
    slog_i64(b, ts);
    slog_values(b, vals, n_vals);
    return 0;
}

/* The rest of an ON condition: the ids' sum not a multiple of 3. */
static int jlog_match(void *ctx, const tide_join_row *row)
{
    (void)ctx;
    return (row->left[0].u.i64 + row->right[0].u.i64) % 3 != 0;
}

/* One join of either kind behind one set of calls. */
typedef struct jop {
    bool window;
    tide_join_interval_config icfg;
    tide_join_window_config wcfg;
    tide_join_interval *i;
    tide_join_window *w;
} jop;

static int jop_create(jop *j)
{
    j->i = NULL;
    j->w = NULL;
    return j->window ? tide_join_window_create(&j->wcfg, &j->w, NULL)
                     : tide_join_interval_create(&j->icfg, &j->i, NULL);
}

static void jop_free(jop *j)
{
    tide_join_interval_free(j->i);
    tide_join_window_free(j->w);
    j->i = NULL;
    j->w = NULL;
}

static int jop_snapshot(const jop *j, tide_buf *out, tide_err *e)
{
    return j->window ? tide_join_window_snapshot(j->w, out, e)
                     : tide_join_interval_snapshot(j->i, out, e);
}

static int jop_restore(jop *j, const void *buf, size_t len, tide_err *e)
{
    return j->window ? tide_join_window_restore(j->w, buf, len, e)
                     : tide_join_interval_restore(j->i, buf, len, e);
}

/* The case of `seed`: the join, its rows in arrival order, the bound. */
static size_t jcase_of(uint64_t seed, jop *j, trow *rows, size_t maxn, int64_t *bound)
{
    uint64_t s = seed * 7727 + 3;
    memset(j, 0, sizeof *j);
    j->window = seed % 2;
    size_t n = 1 + (size_t)(tt_rand(&s) % maxn);
    int64_t span = 100 + (int64_t)(tt_rand(&s) % 1500);
    uint32_t nkeys = 1 + (uint32_t)(tt_rand(&s) % 6);
    int64_t slide = 10 + (int64_t)(tt_rand(&s) % 60), mult = 1 + (int64_t)(tt_rand(&s) % 4);
    int kind = (int)(tt_rand(&s) % 4);
    j->wcfg.window = kind == 0   ? tide_win_tumble(slide * mult)
                     : kind == 1 ? tide_win_hop(slide, slide * mult)
                     : kind == 2 ? tide_win_cumulate(slide, slide * mult)
                                 : tide_win_global();
    j->wcfg.n_left = j->wcfg.n_right = 2;
    j->icfg.lo = -(int64_t)(tt_rand(&s) % 80);
    j->icfg.hi = (int64_t)(tt_rand(&s) % 80) - 20;
    if (j->icfg.hi < j->icfg.lo)
        j->icfg.hi = j->icfg.lo;
    j->icfg.n_left = j->icfg.n_right = 2;
    *bound = (int64_t)(tt_rand(&s) % 60);
    int64_t disorder = *bound + (tt_rand(&s) % 2 ? (int64_t)(tt_rand(&s) % 100) : 0);
    gen_rows(&s, rows, n, span, nkeys);
    order_rows(&s, rows, n, disorder);
    for (size_t i = 0; i < n; i++)
        rows[i].id = (int64_t)i;
    /* outer sides and a rest of ON, from a stream of their own (the cases
     * above stay as they were) */
    uint64_t o = seed * 31 + 11;
    unsigned kindo = (unsigned)(tt_rand(&o) % 4); /* inner, LEFT, RIGHT, FULL */
    j->icfg.outer[0] = j->wcfg.outer[0] = kindo == 1 || kindo == 3;
    j->icfg.outer[1] = j->wcfg.outer[1] = kindo == 2 || kindo == 3;
    if (tt_rand(&o) % 2)
        j->icfg.match = j->wcfg.match = jlog_match;
    return n;
}

typedef const char *(*jcut_fn)(jop *j, void *ctx);

static const char *j_no_cut(jop *j, void *ctx)
{
    (void)j, (void)ctx;
    return NULL;
}

static const char *j_snap_cut(jop *j, void *ctx)
{
    uint64_t *cuts = ctx;
    tide_buf a = {0}, b = {0}, c = {0};
    tide_err e = {0};
    jop fresh = *j;
    const char *why = NULL;
    if (jop_snapshot(j, &a, &e) || jop_snapshot(j, &b, &e))
        why = "snapshot failed";
    else if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
        why = "two snapshots of one state differ";
    else if (jop_create(&fresh) || jop_restore(&fresh, a.data, a.len, &e))
        why = "restore failed";
    else if (jop_snapshot(&fresh, &c, &e))
        why = "snapshot of the restored operator failed";
    else if (c.len != a.len || memcmp(c.data, a.data, a.len) != 0)
        why = "the restored operator snapshots to other bytes";
    if (why) {
        fprintf(stderr, "  cut: %s (%s)\n", why, e.msg);
        jop_free(&fresh);
    } else {
        jop_free(j);
        *j = fresh;
        ++*cuts;
    }
    tide_buf_free(&a);
    tide_buf_free(&b);
    tide_buf_free(&c);
    return why;
}

/* Push rows in order, the watermark (max ts - bound) after each, cutting
 * before the rows at cuts[] (n: before the end). */
static const char *jdrive(const jop *proto, const trow *rows, size_t n, int64_t bound,
                          const size_t *cuts, int ncuts, tide_buf *log, jcut_fn cut, void *ctx)
{
    jop j = *proto;
    j.icfg.emit = j.wcfg.emit = jlog_emit;
    j.wcfg.late = jlog_late;
    j.icfg.ctx = j.wcfg.ctx = log;
    if (jop_create(&j))
        return "create failed";
    tide_err e = {0};
    const char *why = NULL;
    int64_t maxts = INT64_MIN;
    int ci = 0;
    for (size_t i = 0; i <= n && !why; i++) {
        while (ci < ncuts && cuts[ci] == i && !why)
            why = cut(&j, ctx), ci++;
        if (why || i == n)
            break;
        tvals tv;
        make_vals(&rows[i], &tv);
        char kb[64];
        uint32_t kl;
        key_bytes(rows[i].key, kb, &kl);
        tide_join_side side = (tide_join_side)rows[i].side;
        int rc = j.window ? tide_join_window_push(j.w, side, kb, kl, rows[i].ts, tv.v, &e)
                          : tide_join_interval_push(j.i, side, kb, kl, rows[i].ts, tv.v, &e);
        if (rows[i].ts > maxts)
            maxts = rows[i].ts;
        if (!rc)
            rc = j.window ? tide_join_window_advance_watermark(j.w, maxts - bound, &e)
                          : tide_join_interval_advance_watermark(j.i, maxts - bound, &e);
        if (rc)
            why = "push / advance failed";
    }
    if (!why) {
        int rc = j.window ? tide_join_window_advance_watermark(j.w, TIDE_TS_MAX, &e)
                          : tide_join_interval_advance_watermark(j.i, TIDE_TS_MAX, &e);
        if (rc)
            why = "end failed";
    }
    if (!why && j.window) {
        slog_i64(log, (int64_t)tide_join_window_late_count(j.w));
        slog_i64(log, (int64_t)tide_join_window_late_windows(j.w));
        slog_i64(log, (int64_t)tide_join_window_panes(j.w));
    } else if (!why) {
        slog_i64(log, (int64_t)tide_join_interval_late_count(j.i));
        slog_i64(log, (int64_t)tide_join_interval_unbuffered_count(j.i));
        slog_i64(log, (int64_t)tide_join_interval_keys(j.i));
    }
    if (why)
        fprintf(stderr, "  drive: %s (%s)\n", why, e.msg);
    jop_free(&j);
    return why;
}

static int jcmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

static void test_snapshot_cut_anywhere(void)
{
    int count = TT_ASAN ? 150 : 400; /* (ASan: the damage tests matter more) */
    uint64_t first = snap_tt_seeds(1, &count);
    uint64_t ncut = 0;
    static trow rows[300];
    for (int iter = 0; iter < count; iter++) {
        uint64_t seed = first + (uint64_t)iter;
        jop j;
        int64_t bound;
        size_t n = jcase_of(seed, &j, rows, 300, &bound);
        uint64_t s = seed ^ 0x1234;
        size_t cuts[6];
        int ncuts = 1 + (int)(tt_rand(&s) % 6);
        for (int i = 0; i < ncuts; i++)
            cuts[i] = tt_rand(&s) % (n + 1);
        qsort(cuts, (size_t)ncuts, sizeof *cuts, jcmp_size);
        tide_buf whole = {0}, cut = {0};
        const char *why = jdrive(&j, rows, n, bound, cuts, ncuts, &whole, j_no_cut, NULL);
        if (!why)
            why = jdrive(&j, rows, n, bound, cuts, ncuts, &cut, j_snap_cut, &ncut);
        long at = why ? -1 : slog_diff(&whole, &cut);
        if (why || at >= 0)
            SNAP_TT_FAILED(seed, "%s join: %s; output differs at byte %ld of %zu / %zu",
                           j.window ? "window" : "interval", why ? why : "ok", at, whole.len,
                           cut.len);
        tide_buf_free(&whole);
        tide_buf_free(&cut);
        TT_ASSERT(!why && at < 0);
    }
    if (count == 400)
        TT_ASSERT(ncut > 1000);
}

typedef struct jfix {
    jop proto;
    jop j;
    bool have;
    uint64_t seed;
    int accepted;
    const char *why;
} jfix;

static int jfix_restore(void *ctx, const void *buf, size_t len, tide_err *e)
{
    jfix *f = ctx;
    if (!f->have) {
        f->j = f->proto;
        if (jop_create(&f->j))
            return TIDE_ENOMEM;
        f->have = true;
    }
    int rc = jop_restore(&f->j, buf, len, e);
    if (rc == 0) {
        tide_buf again = {0};
        if (jop_snapshot(&f->j, &again, NULL))
            f->why = "snapshot of an accepted changed payload failed";
        tide_buf_free(&again);
        jop_free(&f->j);
        f->have = false;
    }
    return rc;
}

static const char *j_damage_cut(jop *j, void *ctx)
{
    jfix *f = ctx;
    tide_buf a = {0};
    tide_err e = {0};
    const char *why = NULL;
    size_t where = 0;
    f->proto = *j;
    if (jop_snapshot(j, &a, &e))
        why = "snapshot failed";
    if (!why && (why = snap_tt_damage(a.data, a.len, 400, f->seed, jfix_restore, f, &where)))
        fprintf(stderr, "  byte %zu of %zu\n", where, a.len);
    if (!why)
        why = snap_tt_fuzz(a.data, a.len, 0, 300, f->seed, jfix_restore, f, &f->accepted);
    if (!why && f->why)
        why = f->why;
    if (!why && !f->have) {
        f->j = *j;
        if (jop_create(&f->j))
            why = "create failed";
        f->have = !why;
    }
    if (!why && jop_restore(&f->j, a.data, a.len, &e))
        why = "restore after refusals failed";
    if (!why) {
        jop_free(j);
        *j = f->j;
        f->have = false;
    }
    tide_buf_free(&a);
    return why;
}

static void test_snapshot_damage(void)
{
    int count = 12;
    uint64_t first = snap_tt_seeds(500, &count);
    int accepted = 0;
    static trow rows[200];
    for (int iter = 0; iter < count; iter++) {
        uint64_t seed = first + (uint64_t)iter;
        jop j;
        int64_t bound;
        size_t n = jcase_of(seed, &j, rows, 200, &bound);
        size_t cuts[1] = {n / 2};
        jfix f = {.seed = seed};
        tide_buf whole = {0}, cut = {0};
        const char *why = jdrive(&j, rows, n, bound, cuts, 1, &whole, j_no_cut, NULL);
        if (!why)
            why = jdrive(&j, rows, n, bound, cuts, 1, &cut, j_damage_cut, &f);
        long at = why ? -1 : slog_diff(&whole, &cut);
        if (why || at >= 0)
            SNAP_TT_FAILED(seed, "%s; output differs at byte %ld", why ? why : "ok", at);
        if (f.have)
            jop_free(&f.j);
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
    tide_buf log = {0};
    tide_join_interval_config ic = {.lo = -5, .hi = 5, .n_left = 2, .n_right = 2,
                                    .emit = jlog_emit, .ctx = &log};
    tide_join_window_config wc = {.window = tide_win_hop(10, 20), .n_left = 2, .n_right = 2,
                                  .emit = jlog_emit, .ctx = &log};
    tide_join_interval *i1, *i2;
    tide_join_window *w1, *w2;
    tide_err e = {0};
    TT_OK(tide_join_interval_create(&ic, &i1, &e));
    TT_OK(tide_join_window_create(&wc, &w1, &e));
    trow r = {.side = 0, .key = 1, .ts = 3, .id = 7};
    tvals tv;
    make_vals(&r, &tv);
    TT_OK(tide_join_interval_push(i1, TIDE_JOIN_LEFT, "k", 1, 3, tv.v, &e));
    TT_OK(tide_join_window_push(w1, TIDE_JOIN_RIGHT, "k", 1, 3, tv.v, &e));
    tide_buf a = {0}, b = {0};
    TT_OK(tide_join_interval_snapshot(i1, &a, &e));
    TT_OK(tide_join_window_snapshot(w1, &b, &e));
    /* other configs */
    tide_join_interval_config ic2 = ic;
    ic2.hi = 6;
    TT_OK(tide_join_interval_create(&ic2, &i2, &e));
    TT_ASSERT_EQ_INT(tide_join_interval_restore(i2, a.data, a.len, &e), TIDE_EINVAL);
    TT_ASSERT(strstr(e.msg, "bounds") != NULL);
    tide_join_interval_free(i2);
    ic2 = ic;
    ic2.n_right = 3;
    TT_OK(tide_join_interval_create(&ic2, &i2, &e));
    tide_err_clear(&e);
    TT_ASSERT_EQ_INT(tide_join_interval_restore(i2, a.data, a.len, &e), TIDE_EINVAL);
    TT_ASSERT(strstr(e.msg, "right values") != NULL);
    tide_join_interval_free(i2);
    tide_join_window_config wc2 = wc;
    wc2.window = tide_win_cumulate(10, 20);
    TT_OK(tide_join_window_create(&wc2, &w2, &e));
    tide_err_clear(&e);
    TT_ASSERT_EQ_INT(tide_join_window_restore(w2, b.data, b.len, &e), TIDE_EINVAL);
    TT_ASSERT(strstr(e.msg, "window HOP") != NULL && strstr(e.msg, "CUMULATE") != NULL);
    tide_join_window_free(w2);
    /* each other's snapshots */
    TT_OK(tide_join_interval_create(&ic, &i2, &e));
    TT_OK(tide_join_window_create(&wc, &w2, &e));
    tide_err_clear(&e);
    TT_ASSERT_EQ_INT(tide_join_interval_restore(i2, b.data, b.len, &e), TIDE_ECORRUPT);
    TT_ASSERT(strstr(e.msg, "join_window") != NULL);
    tide_err_clear(&e);
    TT_ASSERT_EQ_INT(tide_join_window_restore(w2, a.data, a.len, &e), TIDE_ECORRUPT);
    TT_ASSERT(strstr(e.msg, "join_interval") != NULL);
    /* then the right ones; a second restore is refused (not fresh) */
    TT_OK(tide_join_interval_restore(i2, a.data, a.len, &e));
    TT_OK(tide_join_window_restore(w2, b.data, b.len, &e));
    TT_ASSERT_EQ_INT(tide_join_interval_rows(i2, TIDE_JOIN_LEFT), 1);
    TT_ASSERT_EQ_INT(tide_join_window_rows(w2, TIDE_JOIN_RIGHT), 2);
    tide_err_clear(&e);
    TT_ASSERT_EQ_INT(tide_join_interval_restore(i2, a.data, a.len, &e), TIDE_EINVAL);
    TT_ASSERT(strstr(e.msg, "fresh") != NULL);
    tide_err_clear(&e);
    TT_ASSERT_EQ_INT(tide_join_window_restore(w2, b.data, b.len, &e), TIDE_EINVAL);
    TT_ASSERT(strstr(e.msg, "fresh") != NULL);
    tide_join_interval_free(i1);
    tide_join_interval_free(i2);
    tide_join_window_free(w1);
    tide_join_window_free(w2);
    tide_buf_free(&a);
    tide_buf_free(&b);
    tide_buf_free(&log);
}

int main(void)
{
    TT_RUN(test_interval_late_rows);
    TT_RUN(test_interval_deterministic);
    TT_RUN(test_interval_vs_brute_force);
    TT_RUN(test_interval_late_model);
    TT_RUN(test_window_config);
    TT_RUN(test_window_boundary);
    TT_RUN(test_window_vs_brute_force);
    TT_RUN(test_window_shuffle_invariance);
    TT_RUN(test_snapshot_cut_anywhere);
    TT_RUN(test_snapshot_damage);
    TT_RUN(test_snapshot_refusals);
    TT_DONE();
}
