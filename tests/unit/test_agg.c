/* Unit tests of exec/agg: every aggregate against a brute-force model over
 * random step/retract streams, merges of split inputs, the state codec,
 * NULL and empty-group rules, SUM overflow, and HyperLogLog accuracy. */
#include "base/buf.h"
#include "exec/agg.h"
#include "state/table.h"
#include "tt.h"

#include <math.h>
#include <stdbool.h>

/* ---- model values ---------------------------------------------------------- */

typedef struct mv {
    bool null;
    int64_t i;
    double f;
    uint32_t len;
    char s[24];
} mv;

static const char *const str_pool[] = {"",   "a",  "ab", "abc",  "abd",  "b",
                                       "ba", "zz", "Z",  "\xff", "a\0b", "longer string value",
                                       "m",  "mm"};
static const uint32_t str_len[] = {0, 1, 2, 3, 3, 1, 2, 2, 1, 1, 3, 19, 1, 2};

static mv gen(tide_type t, uint64_t *s, bool nulls)
{
    mv v = {0};
    uint64_t r = tt_rand(s);
    if (nulls && r % 10 == 0) {
        v.null = true;
        return v;
    }
    r >>= 8;
    switch (t) {
    case TIDE_TYPE_BOOLEAN:
        v.i = r & 1;
        break;
    case TIDE_TYPE_BIGINT:
    case TIDE_TYPE_TIMESTAMP:
        if (r % 50 == 0)
            v.i = (r & 256) ? INT64_MAX - (int64_t)(r % 7) : INT64_MIN + (int64_t)(r % 7);
        else if (r % 3 == 0)
            v.i = (int64_t)(tt_rand(s) >> 20) - ((int64_t)1 << 43);
        else
            v.i = (int64_t)(r % 41) - 20;
        break;
    case TIDE_TYPE_DOUBLE: {
        static const double special[] = {0.0, -0.0, 1.5, -2.25, 1e12, -1e-300};
        if (r % 7 == 0)
            v.f = special[(r >> 3) % 6];
        else if (r % 3 == 0)
            v.f = ((double)(tt_rand(s) >> 11) / 9007199254740992.0 - 0.5) * 1e6;
        else
            v.f = (double)((int64_t)(r % 31) - 15) / 4;
        break;
    }
    case TIDE_TYPE_STRING: {
        size_t k = r % (sizeof str_len / sizeof str_len[0]);
        v.len = str_len[k];
        memcpy(v.s, str_pool[k], v.len);
        break;
    }
    default:
        break;
    }
    return v;
}

/* Box a model value; STRING bytes go to `scratch`, which the caller
 * overwrites after the call (so a state that kept the pointer would fail). */
static tide_value boxv(tide_type t, const mv *v, char *scratch)
{
    tide_value x = {.type = t, .is_null = v->null};
    if (v->null)
        return x;
    switch (t) {
    case TIDE_TYPE_BOOLEAN:
        x.u.b = v->i != 0;
        break;
    case TIDE_TYPE_DOUBLE:
        x.u.f64 = v->f;
        break;
    case TIDE_TYPE_STRING:
        memcpy(scratch, v->s, v->len);
        x.u.s.ptr = scratch;
        x.u.s.len = v->len;
        break;
    default:
        x.u.i64 = v->i;
        break;
    }
    return x;
}

/* The model's own order (written independently of agg.c). */
static int model_cmp(tide_type t, const mv *a, const mv *b)
{
    if (t == TIDE_TYPE_DOUBLE) {
        if (isnan(a->f) || isnan(b->f))
            return isnan(a->f) - isnan(b->f);
        return a->f < b->f ? -1 : a->f > b->f;
    }
    if (t == TIDE_TYPE_STRING) {
        uint32_t n = a->len < b->len ? a->len : b->len;
        int c = memcmp(a->s, b->s, n);
        if (c)
            return c;
        return a->len < b->len ? -1 : a->len > b->len;
    }
    return a->i < b->i ? -1 : a->i > b->i;
}

static tide_type g_sort_type;
static int qs_cmp(const void *a, const void *b)
{
    return model_cmp(g_sort_type, a, b);
}

/* The expected result of aggregate `k` over the current multiset. */
typedef struct expect {
    int rc; /* 0 or TIDE_ERANGE */
    tide_value v;
    double tol; /* for DOUBLE results */
    mv extreme; /* MIN/MAX STRING: bytes */
} expect;

static expect brute(tide_agg_kind k, tide_type t, mv *vals, size_t n, double abs_hist)
{
    expect x = {0};
    size_t nn = 0;
    for (size_t i = 0; i < n; i++)
        nn += !vals[i].null;
    switch (k) {
    case TIDE_AGG_COUNT_STAR:
        x.v = (tide_value){.type = TIDE_TYPE_BIGINT, .u.i64 = (int64_t)n};
        return x;
    case TIDE_AGG_COUNT:
        x.v = (tide_value){.type = TIDE_TYPE_BIGINT, .u.i64 = (int64_t)nn};
        return x;
    case TIDE_AGG_SUM:
    case TIDE_AGG_AVG: {
        tide_type out = t; /* SUM and AVG keep the input type (Flink's) */
        x.v = (tide_value){.type = out, .is_null = nn == 0};
        if (!nn)
            return x;
        if (t == TIDE_TYPE_BIGINT) {
            __int128 s = 0;
            for (size_t i = 0; i < n; i++)
                if (!vals[i].null)
                    s += vals[i].i;
            if (k == TIDE_AGG_AVG) {
                x.v.u.i64 = (int64_t)(s / (__int128)nn); /* C truncates toward zero, as Java's long division */
            } else if (s > INT64_MAX || s < INT64_MIN) {
                x.rc = TIDE_ERANGE;
            } else {
                x.v.u.i64 = (int64_t)s;
            }
        } else {
            long double s = 0;
            for (size_t i = 0; i < n; i++)
                if (!vals[i].null)
                    s += vals[i].f;
            x.v.u.f64 = (double)s;
            x.tol = 1e-14 * (abs_hist + 1);
            if (k == TIDE_AGG_AVG) {
                x.v.u.f64 /= (double)nn;
                x.tol /= (double)nn;
            }
        }
        return x;
    }
    case TIDE_AGG_MIN:
    case TIDE_AGG_MAX: {
        x.v = (tide_value){.type = t, .is_null = nn == 0};
        const mv *best = NULL;
        for (size_t i = 0; i < n; i++) {
            if (vals[i].null)
                continue;
            int c = best ? model_cmp(t, &vals[i], best) : 0;
            if (!best || (k == TIDE_AGG_MIN ? c < 0 : c > 0))
                best = &vals[i];
        }
        if (best) {
            x.extreme = *best;
            x.v.u.i64 = best->i;
            if (t == TIDE_TYPE_DOUBLE)
                x.v.u.f64 = best->f;
            if (t == TIDE_TYPE_BOOLEAN)
                x.v.u.b = best->i != 0;
        }
        return x;
    }
    case TIDE_AGG_COUNT_DISTINCT: {
        mv *c = malloc((nn + 1) * sizeof *c);
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (!vals[i].null)
                c[m++] = vals[i];
        g_sort_type = t;
        qsort(c, m, sizeof *c, qs_cmp);
        int64_t d = 0;
        for (size_t i = 0; i < m; i++)
            if (i == 0 || model_cmp(t, &c[i - 1], &c[i]) != 0)
                d++;
        free(c);
        x.v = (tide_value){.type = TIDE_TYPE_BIGINT, .u.i64 = d};
        return x;
    }
    default:
        x.rc = -999;
        return x;
    }
}

/* 0 when `got` matches `want`; else a line number for the message. */
static int check(const tide_agg *a, int rc, const tide_value *got, const expect *want)
{
    if (rc != want->rc)
        return __LINE__;
    if (rc)
        return 0;
    if (got->type != a->out_type || got->type != want->v.type)
        return __LINE__;
    if (got->is_null != want->v.is_null)
        return __LINE__;
    if (got->is_null)
        return 0;
    switch (got->type) {
    case TIDE_TYPE_DOUBLE: {
        double g = got->u.f64, w = want->v.u.f64;
        if (isnan(g) || isnan(w))
            return isnan(g) && isnan(w) ? 0 : __LINE__;
        if (isinf(g) || isinf(w))
            return g == w ? 0 : __LINE__;
        return fabs(g - w) <= want->tol ? 0 : __LINE__;
    }
    case TIDE_TYPE_STRING:
        if (got->u.s.len != want->extreme.len ||
            memcmp(got->u.s.ptr, want->extreme.s, want->extreme.len) != 0)
            return __LINE__;
        return 0;
    case TIDE_TYPE_BOOLEAN:
        return got->u.b == want->v.u.b ? 0 : __LINE__;
    default:
        return got->u.i64 == want->v.u.i64 ? 0 : __LINE__;
    }
}

/* ---- random step/retract streams ------------------------------------------- */

typedef struct acase {
    tide_agg_kind kind;
    tide_type type;
    unsigned flags;
} acase;

static const acase cases[] = {
    {TIDE_AGG_COUNT_STAR, TIDE_TYPE_BIGINT, 0},
    {TIDE_AGG_COUNT, TIDE_TYPE_STRING, 0},
    {TIDE_AGG_COUNT, TIDE_TYPE_DOUBLE, 0},
    {TIDE_AGG_SUM, TIDE_TYPE_BIGINT, 0},
    {TIDE_AGG_SUM, TIDE_TYPE_DOUBLE, 0},
    {TIDE_AGG_AVG, TIDE_TYPE_BIGINT, 0},
    {TIDE_AGG_AVG, TIDE_TYPE_DOUBLE, 0},
    {TIDE_AGG_MIN, TIDE_TYPE_BIGINT, TIDE_AGG_RETRACTABLE},
    {TIDE_AGG_MAX, TIDE_TYPE_BIGINT, TIDE_AGG_RETRACTABLE},
    {TIDE_AGG_MIN, TIDE_TYPE_DOUBLE, TIDE_AGG_RETRACTABLE},
    {TIDE_AGG_MAX, TIDE_TYPE_DOUBLE, TIDE_AGG_RETRACTABLE},
    {TIDE_AGG_MIN, TIDE_TYPE_STRING, TIDE_AGG_RETRACTABLE},
    {TIDE_AGG_MAX, TIDE_TYPE_STRING, TIDE_AGG_RETRACTABLE},
    {TIDE_AGG_MAX, TIDE_TYPE_TIMESTAMP, TIDE_AGG_RETRACTABLE},
    {TIDE_AGG_MIN, TIDE_TYPE_BOOLEAN, TIDE_AGG_RETRACTABLE},
    {TIDE_AGG_MIN, TIDE_TYPE_BIGINT, 0},
    {TIDE_AGG_MAX, TIDE_TYPE_DOUBLE, 0},
    {TIDE_AGG_MIN, TIDE_TYPE_STRING, 0},
    {TIDE_AGG_MAX, TIDE_TYPE_STRING, 0},
    {TIDE_AGG_MAX, TIDE_TYPE_BOOLEAN, 0},
    {TIDE_AGG_COUNT_DISTINCT, TIDE_TYPE_BIGINT, 0},
    {TIDE_AGG_COUNT_DISTINCT, TIDE_TYPE_DOUBLE, 0},
    {TIDE_AGG_COUNT_DISTINCT, TIDE_TYPE_STRING, 0},
    {TIDE_AGG_COUNT_DISTINCT, TIDE_TYPE_BOOLEAN, 0},
};
#define NCASES (sizeof cases / sizeof cases[0])

/* Insert a DOUBLE inf/NaN now and then so their retraction is exercised. */
static mv gen_case(const acase *c, uint64_t *s)
{
    mv v = gen(c->type, s, true);
    if (c->type == TIDE_TYPE_DOUBLE && !v.null && tt_rand(s) % 60 == 0) {
        static const double odd[] = {INFINITY, -INFINITY, NAN};
        v.f = odd[tt_rand(s) % 3];
    }
    return v;
}

static int run_stream(const acase *c, uint64_t seed)
{
    uint64_t s = seed;
    tide_err e = {0};
    tide_agg a;
    if (tide_agg_bind_kind(&a, c->kind, c->type, c->flags, &e))
        return __LINE__;
    _Alignas(16) unsigned char st[TIDE_AGG_STATE_MAX];
    tide_agg_init(&a, st);
    size_t cap = 4096, n = 0;
    mv *vals = malloc(cap * sizeof *vals);
    char scratch[32];
    double abs_hist = 0;
    int fail = 0;
    size_t nops = 1500 + tt_rand(&s) % 1500;
    for (size_t op = 0; op < nops && !fail; op++) {
        bool retract = a.invertible && n > 0 && tt_rand(&s) % 100 < 45;
        tide_value x;
        int rc;
        if (retract) {
            size_t i = tt_rand(&s) % n;
            mv v = vals[i];
            vals[i] = vals[--n];
            x = boxv(c->type, &v, scratch);
            bool typed = !v.null && tt_rand(&s) % 2;
            if (typed && c->type == TIDE_TYPE_DOUBLE && c->kind != TIDE_AGG_COUNT_STAR)
                rc = tide_agg_retract_f64(&a, st, v.f, &e);
            else if (typed && c->type == TIDE_TYPE_BIGINT)
                rc = tide_agg_retract_i64(&a, st, v.i, &e);
            else
                rc = tide_agg_retract(&a, st, &x, &e);
        } else {
            mv v = gen_case(c, &s);
            if (n == cap)
                vals = realloc(vals, (cap *= 2) * sizeof *vals);
            vals[n++] = v;
            if (!v.null && c->type == TIDE_TYPE_DOUBLE)
                abs_hist += isfinite(v.f) ? fabs(v.f) : 0;
            x = boxv(c->type, &v, scratch);
            bool typed = !v.null && tt_rand(&s) % 2;
            if (typed && c->type == TIDE_TYPE_DOUBLE && c->kind != TIDE_AGG_COUNT_STAR)
                rc = tide_agg_step_f64(&a, st, v.f, &e);
            else if (typed && c->type == TIDE_TYPE_BIGINT)
                rc = tide_agg_step_i64(&a, st, v.i, &e);
            else
                rc = tide_agg_step(&a, st, &x, &e);
        }
        memset(scratch, '#', sizeof scratch); /* the input's bytes are gone */
        if (rc) {
            fprintf(stderr, "  op %zu: %s\n", op, e.msg);
            fail = __LINE__;
            break;
        }
        if (op % 7 == 0 || op + 1 == nops) {
            tide_value got;
            tide_err_clear(&e);
            rc = tide_agg_result(&a, st, &got, &e);
            expect want = brute(c->kind, c->type, vals, n, abs_hist);
            fail = check(&a, rc, &got, &want);
            tide_err_clear(&e);
            if (fail)
                fprintf(stderr, "  op %zu, n %zu: got %lld/%g null=%d, want %lld/%g null=%d\n", op,
                        n, (long long)got.u.i64, got.u.f64, got.is_null, (long long)want.v.u.i64,
                        want.v.u.f64, want.v.is_null);
        }
    }
    tide_agg_free(&a, st);
    tide_agg_free(&a, st); /* twice is safe */
    free(vals);
    return fail;
}

static void test_streams_vs_model(void)
{
    for (size_t ci = 0; ci < NCASES; ci++) {
        TT_FOR_SEEDS(seed, 1, 25) {
            int line = run_stream(&cases[ci], seed * 1000 + ci);
            if (line) {
                fprintf(stderr, "  case %zu (%s %s flags %u) failed at line %d\n", ci,
                        tide_agg_kind_name(cases[ci].kind), tide_type_name(cases[ci].type),
                        cases[ci].flags, line);
                TT_SEED(seed * 1000 + ci);
            }
            TT_ASSERT(line == 0);
        }
    }
}

/* ---- merge of split inputs == one pass; codec round trip ------------------- */

static int encode_of(const tide_agg *a, const void *st, tide_buf *b)
{
    tide_err e = {0};
    b->len = 0;
    return tide_agg_encode(a, st, b, &e);
}

static int run_merge(const acase *c, uint64_t seed)
{
    uint64_t s = seed;
    tide_err e = {0};
    tide_agg a;
    if (tide_agg_bind_kind(&a, c->kind, c->type, c->flags, &e))
        return __LINE__;
    enum { PARTS = 5 };
    _Alignas(16) unsigned char one[TIDE_AGG_STATE_MAX], part[PARTS][TIDE_AGG_STATE_MAX],
        all[TIDE_AGG_STATE_MAX], back[TIDE_AGG_STATE_MAX];
    tide_agg_init(&a, one);
    tide_agg_init(&a, all);
    for (int p = 0; p < PARTS; p++)
        tide_agg_init(&a, part[p]);
    size_t n = 200 + tt_rand(&s) % 2000;
    mv *vals = malloc(n * sizeof *vals);
    char scratch[32];
    double abs_hist = 0;
    int fail = 0;
    for (size_t i = 0; i < n && !fail; i++) {
        vals[i] = gen_case(c, &s);
        if (!vals[i].null && c->type == TIDE_TYPE_DOUBLE && isfinite(vals[i].f))
            abs_hist += fabs(vals[i].f);
        tide_value x = boxv(c->type, &vals[i], scratch);
        int p = (int)(tt_rand(&s) % PARTS);
        if (tide_agg_step(&a, one, &x, &e) || tide_agg_step(&a, part[p], &x, &e))
            fail = __LINE__;
        /* noise an invertible part can absorb: step a value, retract it */
        if (a.invertible && tt_rand(&s) % 4 == 0) {
            mv noise = gen_case(c, &s);
            tide_value y = boxv(c->type, &noise, scratch);
            if (tide_agg_step(&a, part[p], &y, &e) || tide_agg_retract(&a, part[p], &y, &e))
                fail = __LINE__;
        }
    }
    for (int p = PARTS; p-- > 0 && !fail;)
        if (tide_agg_merge(&a, all, part[p], &e))
            fail = __LINE__;
    tide_buf b1 = {0}, b2 = {0};
    if (!fail) {
        tide_value g1, g2;
        int r1 = tide_agg_result(&a, one, &g1, &e);
        tide_err_clear(&e);
        int r2 = tide_agg_result(&a, all, &g2, &e);
        tide_err_clear(&e);
        expect want = brute(c->kind, c->type, vals, n, abs_hist);
        fail = check(&a, r1, &g1, &want);
        if (!fail)
            fail = check(&a, r2, &g2, &want);
        /* exact forms have canonical encodings: merged == one pass */
        bool exact =
            !(c->type == TIDE_TYPE_DOUBLE && (c->kind == TIDE_AGG_SUM || c->kind == TIDE_AGG_AVG));
        if (!fail && (encode_of(&a, one, &b1) || encode_of(&a, all, &b2)))
            fail = __LINE__;
        if (!fail && exact && (b1.len != b2.len || memcmp(b1.data, b2.data, b1.len) != 0))
            fail = __LINE__;
        /* decode(encode(one)) encodes the same and gives the same result */
        size_t used = 0;
        if (!fail && tide_agg_decode(&a, back, b1.data, b1.len, &used, &e))
            fail = __LINE__;
        if (!fail && used != b1.len)
            fail = __LINE__;
        if (!fail) {
            if (encode_of(&a, back, &b2) || b1.len != b2.len || memcmp(b1.data, b2.data, b1.len))
                fail = __LINE__;
            tide_value g3;
            int r3 = tide_agg_result(&a, back, &g3, &e);
            tide_err_clear(&e);
            if (!fail)
                fail = check(&a, r3, &g3, &want);
            tide_agg_free(&a, back);
            /* a truncated encoding is rejected, never read past */
            for (size_t cut = 0; cut < b1.len && !fail; cut += 1 + b1.len / 16) {
                tide_err_clear(&e);
                if (tide_agg_decode(&a, back + 0, b1.data, cut, &used, &e) != TIDE_ECORRUPT)
                    fail = __LINE__;
            }
            tide_agg_free(&a, back);
        }
    }
    tide_agg_free(&a, one);
    tide_agg_free(&a, all);
    for (int p = 0; p < PARTS; p++)
        tide_agg_free(&a, part[p]);
    tide_buf_free(&b1);
    tide_buf_free(&b2);
    free(vals);
    return fail;
}

static void test_merge_split_inputs(void)
{
    for (size_t ci = 0; ci < NCASES; ci++) {
        TT_FOR_SEEDS(seed, 1, 12) {
            int line = run_merge(&cases[ci], seed * 7777 + ci);
            if (line) {
                fprintf(stderr, "  case %zu (%s %s) failed at line %d\n", ci,
                        tide_agg_kind_name(cases[ci].kind), tide_type_name(cases[ci].type), line);
                TT_SEED(seed * 7777 + ci);
            }
            TT_ASSERT(line == 0);
        }
    }
}

/* ---- binding, NULLs, empty groups, errors ---------------------------------- */

static void test_bind(void)
{
    tide_err e = {0};
    tide_agg a;
    TT_OK(tide_agg_bind(&a, "count", 5, true, false, TIDE_TYPE_NULL, 0, &e));
    TT_ASSERT_EQ_INT(a.kind, TIDE_AGG_COUNT_STAR);
    TT_ASSERT_EQ_INT(a.out_type, TIDE_TYPE_BIGINT);
    TT_OK(tide_agg_bind(&a, "Count", 5, false, true, TIDE_TYPE_STRING, 0, &e));
    TT_ASSERT_EQ_INT(a.kind, TIDE_AGG_COUNT_DISTINCT);
    TT_ASSERT(a.invertible && a.has_free);
    TT_OK(tide_agg_bind(&a, "SUM", 3, false, false, TIDE_TYPE_BIGINT, 0, &e));
    TT_ASSERT_EQ_INT(a.out_type, TIDE_TYPE_BIGINT);
    TT_OK(tide_agg_bind(&a, "sum", 3, false, false, TIDE_TYPE_DOUBLE, 0, &e));
    TT_ASSERT_EQ_INT(a.out_type, TIDE_TYPE_DOUBLE);
    TT_OK(tide_agg_bind(&a, "avg", 3, false, false, TIDE_TYPE_BIGINT, 0, &e));
    TT_ASSERT_EQ_INT(a.out_type, TIDE_TYPE_BIGINT);
    TT_OK(tide_agg_bind(&a, "MIN", 3, false, false, TIDE_TYPE_TIMESTAMP, 0, &e));
    TT_ASSERT_EQ_INT(a.out_type, TIDE_TYPE_TIMESTAMP);
    TT_ASSERT(!a.invertible && !a.has_free);
    TT_OK(tide_agg_bind(&a, "MAX", 3, false, true, TIDE_TYPE_STRING, TIDE_AGG_RETRACTABLE, &e));
    TT_ASSERT(a.invertible && a.has_free);
    TT_OK(tide_agg_bind(&a, "approx_count_distinct", 21, false, false, TIDE_TYPE_STRING,
                        TIDE_AGG_RETRACTABLE, &e));
    TT_ASSERT(!a.invertible);
    for (int k = 0; k < TIDE_AGG_KIND_COUNT; k++) {
        TT_ASSERT(tide_agg_bind_kind(&a, (tide_agg_kind)k, TIDE_TYPE_BIGINT, 0, &e) == 0);
        TT_ASSERT(a.state_size <= TIDE_AGG_STATE_MAX && a.state_size % 8 == 0);
    }
    TT_ASSERT_EQ_INT(tide_agg_bind(&a, "MEDIAN", 6, false, false, TIDE_TYPE_BIGINT, 0, &e),
                     TIDE_ENOENT);
    TT_ASSERT(strstr(e.msg, "MEDIAN") != NULL);
    tide_err_clear(&e);
    TT_ASSERT_EQ_INT(tide_agg_bind(&a, "SUM", 3, false, false, TIDE_TYPE_STRING, 0, &e),
                     TIDE_EUNSUPPORTED);
    TT_ASSERT(strstr(e.msg, "SUM(STRING)") != NULL);
    tide_err_clear(&e);
    TT_ASSERT_EQ_INT(tide_agg_bind(&a, "SUM", 3, false, true, TIDE_TYPE_BIGINT, 0, &e),
                     TIDE_EUNSUPPORTED);
    tide_err_clear(&e);
    TT_ASSERT_EQ_INT(tide_agg_bind(&a, "SUM", 3, true, false, TIDE_TYPE_BIGINT, 0, &e),
                     TIDE_EUNSUPPORTED);
    tide_err_clear(&e);
    TT_ASSERT_EQ_INT(tide_agg_bind(&a, "COUNTX", 6, false, false, TIDE_TYPE_BIGINT, 0, &e),
                     TIDE_ENOENT); /* the length counts */
}

static void test_nulls_and_empty(void)
{
    tide_err e = {0};
    static const struct {
        tide_agg_kind k;
        tide_type t;
        bool null_result;
    } rows[] = {
        {TIDE_AGG_COUNT_STAR, TIDE_TYPE_BIGINT, false},
        {TIDE_AGG_COUNT, TIDE_TYPE_BIGINT, false},
        {TIDE_AGG_SUM, TIDE_TYPE_BIGINT, true},
        {TIDE_AGG_SUM, TIDE_TYPE_DOUBLE, true},
        {TIDE_AGG_AVG, TIDE_TYPE_DOUBLE, true},
        {TIDE_AGG_MIN, TIDE_TYPE_STRING, true},
        {TIDE_AGG_MAX, TIDE_TYPE_BIGINT, true},
        {TIDE_AGG_COUNT_DISTINCT, TIDE_TYPE_BIGINT, false},
        {TIDE_AGG_APPROX_COUNT_DISTINCT, TIDE_TYPE_STRING, false},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        for (unsigned flags = 0; flags < 2; flags++) {
            tide_agg a;
            TT_OK(tide_agg_bind_kind(&a, rows[i].k, rows[i].t, flags, &e));
            _Alignas(16) unsigned char st[TIDE_AGG_STATE_MAX];
            tide_agg_init(&a, st);
            tide_value r;
            /* no rows */
            TT_OK(tide_agg_result(&a, st, &r, &e));
            TT_ASSERT_EQ_INT(r.type, a.out_type);
            TT_ASSERT_EQ_INT(r.is_null, rows[i].null_result);
            if (!r.is_null)
                TT_ASSERT_EQ_INT(r.u.i64, 0);
            /* only NULLs (typed and untyped): same, except COUNT(*) counts them */
            tide_value n1 = {.type = rows[i].t, .is_null = true};
            tide_value n2 = {.type = TIDE_TYPE_NULL, .is_null = true};
            TT_OK(tide_agg_step(&a, st, &n1, &e));
            TT_OK(tide_agg_step(&a, st, &n2, &e));
            TT_OK(tide_agg_result(&a, st, &r, &e));
            if (rows[i].k == TIDE_AGG_COUNT_STAR) {
                TT_ASSERT_EQ_INT(r.u.i64, 2);
            } else {
                TT_ASSERT_EQ_INT(r.is_null, rows[i].null_result);
                if (!r.is_null)
                    TT_ASSERT_EQ_INT(r.u.i64, 0);
            }
            /* a wrongly typed value is an error naming both types */
            tide_value bad = {.type = rows[i].t == TIDE_TYPE_STRING ? TIDE_TYPE_BIGINT
                                                                    : TIDE_TYPE_STRING};
            int rc = tide_agg_step(&a, st, &bad, &e);
            if (rows[i].k == TIDE_AGG_COUNT_STAR || rows[i].k == TIDE_AGG_COUNT) {
                TT_ASSERT_EQ_INT(rc, 0);
            } else {
                TT_ASSERT_EQ_INT(rc, TIDE_EINVAL);
                TT_ASSERT(strstr(e.msg, "given a") != NULL);
            }
            tide_err_clear(&e);
            tide_agg_free(&a, st);
        }
    }
}

static void test_sum_overflow(void)
{
    tide_err e = {0};
    tide_agg a;
    TT_OK(tide_agg_bind(&a, "SUM", 3, false, false, TIDE_TYPE_BIGINT, 0, &e));
    _Alignas(16) unsigned char st[TIDE_AGG_STATE_MAX];
    tide_agg_init(&a, st);
    tide_value r;
    TT_OK(tide_agg_step_i64(&a, st, INT64_MAX, &e));
    TT_OK(tide_agg_step_i64(&a, st, 1, &e));
    TT_ASSERT_EQ_INT(tide_agg_result(&a, st, &r, &e), TIDE_ERANGE);
    TT_ASSERT(strstr(e.msg, "overflow") != NULL);
    tide_err_clear(&e);
    /* exact in 128 bits: taking the 1 out makes the sum valid again */
    TT_OK(tide_agg_retract_i64(&a, st, 1, &e));
    TT_OK(tide_agg_result(&a, st, &r, &e));
    TT_ASSERT(r.u.i64 == INT64_MAX);
    /* intermediate overflow in both directions does not matter */
    for (int i = 0; i < 1000; i++)
        TT_OK(tide_agg_step_i64(&a, st, INT64_MAX, &e));
    for (int i = 0; i < 1000; i++)
        TT_OK(tide_agg_step_i64(&a, st, INT64_MIN, &e));
    TT_OK(tide_agg_result(&a, st, &r, &e));
    TT_ASSERT_EQ_INT(r.u.i64, INT64_MAX - 1000);
    /* AVG(BIGINT) of huge values does not overflow */
    TT_OK(tide_agg_bind(&a, "AVG", 3, false, false, TIDE_TYPE_BIGINT, 0, &e));
    tide_agg_init(&a, st);
    TT_OK(tide_agg_step_i64(&a, st, INT64_MAX, &e));
    TT_OK(tide_agg_step_i64(&a, st, INT64_MAX, &e));
    TT_OK(tide_agg_result(&a, st, &r, &e));
    TT_ASSERT(r.type == TIDE_TYPE_BIGINT && r.u.i64 == INT64_MAX);
    /* truncated toward zero, as Flink's (Java's long division): -7 / 2 = -3 */
    tide_agg_init(&a, st);
    TT_OK(tide_agg_step_i64(&a, st, -3, &e));
    TT_OK(tide_agg_step_i64(&a, st, -4, &e));
    TT_OK(tide_agg_result(&a, st, &r, &e));
    TT_ASSERT_EQ_INT(r.u.i64, -3);
    tide_agg_init(&a, st);
    TT_OK(tide_agg_step_i64(&a, st, 3, &e));
    TT_OK(tide_agg_step_i64(&a, st, 4, &e));
    TT_OK(tide_agg_result(&a, st, &r, &e));
    TT_ASSERT_EQ_INT(r.u.i64, 3);
}

static void test_double_specials(void)
{
    tide_err e = {0};
    tide_agg a;
    TT_OK(tide_agg_bind(&a, "SUM", 3, false, false, TIDE_TYPE_DOUBLE, 0, &e));
    _Alignas(16) unsigned char st[TIDE_AGG_STATE_MAX];
    tide_agg_init(&a, st);
    tide_value r;
    TT_OK(tide_agg_step_f64(&a, st, 1.0, &e));
    TT_OK(tide_agg_step_f64(&a, st, INFINITY, &e));
    TT_OK(tide_agg_result(&a, st, &r, &e));
    TT_ASSERT(isinf(r.u.f64) && r.u.f64 > 0);
    TT_OK(tide_agg_step_f64(&a, st, -INFINITY, &e));
    TT_OK(tide_agg_result(&a, st, &r, &e));
    TT_ASSERT(isnan(r.u.f64));
    TT_OK(tide_agg_retract_f64(&a, st, INFINITY, &e));
    TT_OK(tide_agg_retract_f64(&a, st, -INFINITY, &e));
    TT_OK(tide_agg_step_f64(&a, st, NAN, &e));
    TT_OK(tide_agg_retract_f64(&a, st, NAN, &e));
    TT_OK(tide_agg_result(&a, st, &r, &e));
    TT_ASSERT(r.u.f64 == 1.0); /* exact again */
    /* compensated: 1e16 + 1 + 1 - 1e16 == 2 (naive double summation gives 0 or 4) */
    TT_OK(tide_agg_step_f64(&a, st, 1e16, &e));
    TT_OK(tide_agg_step_f64(&a, st, 1.0, &e));
    TT_OK(tide_agg_retract_f64(&a, st, 1e16, &e));
    TT_OK(tide_agg_result(&a, st, &r, &e));
    TT_ASSERT(r.u.f64 == 2.0);

    /* merge keeps the compensation: {1e16, 1, 1} merged with {-1e16} is 2 */
    _Alignas(16) unsigned char st2[TIDE_AGG_STATE_MAX];
    tide_agg_init(&a, st);
    tide_agg_init(&a, st2);
    TT_OK(tide_agg_step_f64(&a, st, 1e16, &e));
    TT_OK(tide_agg_step_f64(&a, st, 1.0, &e));
    TT_OK(tide_agg_step_f64(&a, st, 1.0, &e));
    TT_OK(tide_agg_step_f64(&a, st2, -1e16, &e));
    TT_OK(tide_agg_merge(&a, st2, st, &e));
    TT_OK(tide_agg_result(&a, st2, &r, &e));
    TT_ASSERT(r.u.f64 == 2.0);

    /* COUNT(DISTINCT) and MIN over DOUBLE: -0.0 == 0.0; NaN is one value, the largest */
    TT_OK(tide_agg_bind(&a, "COUNT", 5, false, true, TIDE_TYPE_DOUBLE, 0, &e));
    tide_agg_init(&a, st);
    const double xs[] = {0.0, -0.0, NAN, -NAN, 1.0};
    for (int i = 0; i < 5; i++)
        TT_OK(tide_agg_step_f64(&a, st, xs[i], &e));
    TT_OK(tide_agg_result(&a, st, &r, &e));
    TT_ASSERT_EQ_INT(r.u.i64, 3);
    tide_agg_free(&a, st);
    TT_OK(tide_agg_bind(&a, "MAX", 3, false, false, TIDE_TYPE_DOUBLE, 0, &e));
    tide_agg_init(&a, st);
    for (int i = 0; i < 5; i++)
        TT_OK(tide_agg_step_f64(&a, st, xs[i], &e));
    TT_OK(tide_agg_result(&a, st, &r, &e));
    TT_ASSERT(isnan(r.u.f64));
}

static void test_retract_errors(void)
{
    tide_err e = {0};
    tide_agg a;
    _Alignas(16) unsigned char st[TIDE_AGG_STATE_MAX];
    TT_OK(tide_agg_bind(&a, "MIN", 3, false, false, TIDE_TYPE_BIGINT, 0, &e));
    tide_agg_init(&a, st);
    TT_OK(tide_agg_step_i64(&a, st, 5, &e));
    TT_ASSERT_EQ_INT(tide_agg_retract_i64(&a, st, 5, &e), TIDE_EUNSUPPORTED);
    tide_err_clear(&e);
    TT_OK(tide_agg_bind(&a, "MIN", 3, false, false, TIDE_TYPE_BIGINT, TIDE_AGG_RETRACTABLE, &e));
    tide_agg_init(&a, st);
    TT_ASSERT_EQ_INT(tide_agg_retract_i64(&a, st, 5, &e), TIDE_EINVAL);
    tide_err_clear(&e);
    TT_OK(tide_agg_step_i64(&a, st, 5, &e));
    TT_ASSERT_EQ_INT(tide_agg_retract_i64(&a, st, 6, &e), TIDE_EINVAL);
    tide_err_clear(&e);
    tide_agg_free(&a, st);
    TT_OK(tide_agg_bind(&a, "COUNT", 5, false, true, TIDE_TYPE_STRING, 0, &e));
    tide_agg_init(&a, st);
    tide_value v = {.type = TIDE_TYPE_STRING, .u.s = {"x", 1}};
    TT_ASSERT_EQ_INT(tide_agg_retract(&a, st, &v, &e), TIDE_EINVAL);
    tide_err_clear(&e);
    TT_OK(tide_agg_bind(&a, "APPROX_COUNT_DISTINCT", 21, false, false, TIDE_TYPE_STRING, 0, &e));
    tide_agg_init(&a, st);
    TT_OK(tide_agg_step(&a, st, &v, &e));
    TT_ASSERT_EQ_INT(tide_agg_retract(&a, st, &v, &e), TIDE_EUNSUPPORTED);
    tide_agg_free(&a, st);
}

/* A sliding window: MIN/MAX stay exact while the oldest values leave,
 * checked against a rescan of the window contents. */
static void test_sliding_min_max(void)
{
    tide_err e = {0};
    tide_agg mn, mx;
    TT_OK(tide_agg_bind(&mn, "MIN", 3, false, false, TIDE_TYPE_BIGINT, TIDE_AGG_RETRACTABLE, &e));
    TT_OK(tide_agg_bind(&mx, "MAX", 3, false, false, TIDE_TYPE_BIGINT, TIDE_AGG_RETRACTABLE, &e));
    _Alignas(16) unsigned char s1[TIDE_AGG_STATE_MAX], s2[TIDE_AGG_STATE_MAX];
    tide_agg_init(&mn, s1);
    tide_agg_init(&mx, s2);
    enum { W = 100, N = 20000 };
    static int64_t xs[N];
    uint64_t s = 42;
    for (int i = 0; i < N; i++) {
        xs[i] = (int64_t)(tt_rand(&s) % 1000) - (i % 2000); /* a drifting series */
        TT_OK(tide_agg_step_i64(&mn, s1, xs[i], &e));
        TT_OK(tide_agg_step_i64(&mx, s2, xs[i], &e));
        if (i >= W) {
            TT_OK(tide_agg_retract_i64(&mn, s1, xs[i - W], &e));
            TT_OK(tide_agg_retract_i64(&mx, s2, xs[i - W], &e));
        }
        int64_t lo = INT64_MAX, hi = INT64_MIN;
        for (int j = i >= W ? i - W + 1 : 0; j <= i; j++) {
            lo = xs[j] < lo ? xs[j] : lo;
            hi = xs[j] > hi ? xs[j] : hi;
        }
        tide_value r1, r2;
        TT_OK(tide_agg_result(&mn, s1, &r1, &e));
        TT_OK(tide_agg_result(&mx, s2, &r2, &e));
        TT_ASSERT_MSG(r1.u.i64 == lo && r2.u.i64 == hi, "at %d: %lld/%lld vs %lld/%lld", i,
                      (long long)r1.u.i64, (long long)r2.u.i64, (long long)lo, (long long)hi);
    }
    tide_agg_free(&mn, s1);
    tide_agg_free(&mx, s2);
}

/* ---- HyperLogLog ---------------------------------------------------------------- */

static void test_hll_accuracy(void)
{
    tide_err e = {0};
    tide_agg a;
    TT_OK(tide_agg_bind(&a, "APPROX_COUNT_DISTINCT", 21, false, false, TIDE_TYPE_BIGINT, 0, &e));
    _Alignas(16) unsigned char st[TIDE_AGG_STATE_MAX];
    const double se = 1.04 / sqrt(16384.0);
    uint64_t s = 20261125;
    double worst = 0;
    for (int set = 0; set < 20; set++) {
        /* sizes 1e3 .. 1e6, log-spaced */
        int64_t n = (int64_t)llround(pow(10.0, 3.0 + 3.0 * set / 19.0));
        tide_agg_init(&a, st);
        uint64_t base = tt_rand(&s);
        for (int64_t i = 0; i < n; i++) {
            /* distinct values; every value stepped twice where i is even */
            int64_t x = (int64_t)(base + (uint64_t)i * 0x9e3779b97f4a7c15ull);
            TT_OK(tide_agg_step_i64(&a, st, x, &e));
            if (i % 2 == 0)
                TT_OK(tide_agg_step_i64(&a, st, x, &e));
        }
        tide_value r;
        TT_OK(tide_agg_result(&a, st, &r, &e));
        double rel = fabs((double)r.u.i64 - (double)n) / (double)n;
        worst = rel > worst ? rel : worst;
        TT_ASSERT_MSG(rel <= 3 * se, "set %d: n %lld estimate %lld (error %.3f%%)", set,
                      (long long)n, (long long)r.u.i64, rel * 100);
        tide_agg_free(&a, st);
    }
    fprintf(stderr, "  HLL worst relative error over 20 sets: %.3f%% (3 SE = %.3f%%)\n",
            worst * 100, 3 * se * 100);
    /* strings too: small sets are nearly exact (linear counting) */
    TT_OK(tide_agg_bind(&a, "APPROX_COUNT_DISTINCT", 21, false, false, TIDE_TYPE_STRING, 0, &e));
    tide_agg_init(&a, st);
    char buf[32];
    for (int i = 0; i < 500; i++) {
        int n = snprintf(buf, sizeof buf, "user-%d", i % 250);
        tide_value v = {.type = TIDE_TYPE_STRING, .u.s = {buf, (uint32_t)n}};
        TT_OK(tide_agg_step(&a, st, &v, &e));
    }
    tide_value r;
    TT_OK(tide_agg_result(&a, st, &r, &e));
    TT_ASSERT_MSG(llabs(r.u.i64 - 250) <= 3, "estimate %lld", (long long)r.u.i64);
    tide_agg_free(&a, st);
}

static void test_hll_merge_is_union(void)
{
    tide_err e = {0};
    tide_agg a;
    TT_OK(tide_agg_bind(&a, "APPROX_COUNT_DISTINCT", 21, false, false, TIDE_TYPE_BIGINT, 0, &e));
    _Alignas(16) unsigned char sa[TIDE_AGG_STATE_MAX], sb[TIDE_AGG_STATE_MAX],
        su[TIDE_AGG_STATE_MAX], empty[TIDE_AGG_STATE_MAX];
    TT_FOR_SEEDS(seed, 1, 5) {
        uint64_t s = seed;
        tide_agg_init(&a, sa);
        tide_agg_init(&a, sb);
        tide_agg_init(&a, su);
        tide_agg_init(&a, empty);
        int64_t na = 1000 + (int64_t)(tt_rand(&s) % 100000), nb = (int64_t)(tt_rand(&s) % 50000);
        for (int64_t i = 0; i < na; i++) { /* A = [0, na), B = [na/2, na/2 + nb) */
            TT_OK(tide_agg_step_i64(&a, sa, i, &e));
            TT_OK(tide_agg_step_i64(&a, su, i, &e));
        }
        for (int64_t i = na / 2; i < na / 2 + nb; i++) {
            TT_OK(tide_agg_step_i64(&a, sb, i, &e));
            TT_OK(tide_agg_step_i64(&a, su, i, &e));
        }
        TT_OK(tide_agg_merge(&a, sa, sb, &e));
        TT_OK(tide_agg_merge(&a, sa, empty, &e)); /* merging an empty sketch changes nothing */
        tide_buf b1 = {0}, b2 = {0};
        TT_OK(tide_agg_encode(&a, sa, &b1, &e));
        TT_OK(tide_agg_encode(&a, su, &b2, &e));
        TT_ASSERT(b1.len == 1 + 16384 && b1.len == b2.len);
        TT_ASSERT(memcmp(b1.data, b2.data, b1.len) == 0); /* register-wise identical */
        /* and into an empty destination */
        TT_OK(tide_agg_merge(&a, empty, su, &e));
        b1.len = 0;
        TT_OK(tide_agg_encode(&a, empty, &b1, &e));
        TT_ASSERT(memcmp(b1.data, b2.data, b1.len) == 0);
        tide_buf_free(&b1);
        tide_buf_free(&b2);
        tide_agg_free(&a, sa);
        tide_agg_free(&a, sb);
        tide_agg_free(&a, su);
        tide_agg_free(&a, empty);
    }
}

/* Checkpoint composition: a keyed table whose values are aggregate states
 * (COUNT(DISTINCT) + retractable MAX over STRING), snapshotted with the
 * aggregate codec and restored into a fresh table, gives the same results. */
static const tide_agg *g_aggs;

static int enc_aggs(const void *value, tide_buf *out, void *ctx, tide_err *e)
{
    (void)ctx;
    const unsigned char *v = value;
    int rc = tide_agg_encode(&g_aggs[0], v, out, e);
    return rc ? rc : tide_agg_encode(&g_aggs[1], v + g_aggs[0].state_size, out, e);
}

static int dec_aggs(const unsigned char *p, size_t n, void *value, void *ctx, tide_err *e)
{
    (void)ctx;
    unsigned char *v = value;
    size_t u1 = 0, u2 = 0;
    int rc = tide_agg_decode(&g_aggs[0], v, p, n, &u1, e);
    if (!rc)
        rc = tide_agg_decode(&g_aggs[1], v + g_aggs[0].state_size, p + u1, n - u1, &u2, e);
    if (!rc && u1 + u2 != n)
        rc = tide_err_set(e, TIDE_ECORRUPT, "trailing bytes");
    return rc;
}

static void test_table_snapshot_of_states(void)
{
    tide_err e = {0};
    tide_agg aggs[2];
    TT_OK(tide_agg_bind(&aggs[0], "COUNT", 5, false, true, TIDE_TYPE_STRING, 0, &e));
    TT_OK(tide_agg_bind(&aggs[1], "MAX", 3, false, false, TIDE_TYPE_STRING, TIDE_AGG_RETRACTABLE,
                        &e));
    g_aggs = aggs;
    size_t vs = aggs[0].state_size + aggs[1].state_size;
    tide_table *t, *r;
    TT_OK(tide_table_create(&t, TIDE_TABLE_KEY_U64, vs, 0, &e));
    TT_OK(tide_table_create(&r, TIDE_TABLE_KEY_U64, vs, 0, &e));
    uint64_t s = 5;
    char buf[32];
    for (int i = 0; i < 20000; i++) {
        void *v;
        bool is_new;
        TT_OK(tide_table_upsert_u64(t, tt_rand(&s) % 300, &v, &is_new, &e));
        unsigned char *slot = v;
        if (is_new) {
            tide_agg_init(&aggs[0], slot);
            tide_agg_init(&aggs[1], slot + aggs[0].state_size);
        }
        int n = snprintf(buf, sizeof buf, "v%d", (int)(tt_rand(&s) % 500));
        tide_value x = {.type = TIDE_TYPE_STRING, .u.s = {buf, (uint32_t)n}};
        TT_OK(tide_agg_step(&aggs[0], slot, &x, &e));
        TT_OK(tide_agg_step(&aggs[1], slot + aggs[0].state_size, &x, &e));
    }
    tide_buf b = {0};
    TT_OK(tide_table_snapshot(t, &b, enc_aggs, NULL, &e));
    TT_OK(tide_table_restore(r, b.data, b.len, dec_aggs, NULL, &e));
    TT_ASSERT_EQ_INT(tide_table_count(r), tide_table_count(t));
    tide_table_iter it = {0};
    tide_table_entry ent;
    while (tide_table_next(t, &it, &ent)) {
        unsigned char *a = ent.value, *c = tide_table_find(r, ent.key, ent.klen);
        TT_ASSERT(c != NULL);
        for (int k = 0; k < 2; k++) {
            size_t off = k ? aggs[0].state_size : 0;
            tide_value x, y;
            TT_OK(tide_agg_result(&aggs[k], a + off, &x, &e));
            TT_OK(tide_agg_result(&aggs[k], c + off, &y, &e));
            if (k == 0)
                TT_ASSERT(x.u.i64 == y.u.i64 && x.u.i64 > 0);
            else
                TT_ASSERT(x.u.s.len == y.u.s.len && memcmp(x.u.s.ptr, y.u.s.ptr, x.u.s.len) == 0);
        }
    }
    /* free the states (out of line) of both tables */
    for (int pass = 0; pass < 2; pass++) {
        tide_table *tt = pass ? r : t;
        tide_table_iter i2 = {0};
        while (tide_table_next(tt, &i2, &ent)) {
            tide_agg_free(&aggs[0], ent.value);
            tide_agg_free(&aggs[1], (unsigned char *)ent.value + aggs[0].state_size);
        }
        tide_table_free(tt);
    }
    tide_buf_free(&b);
}

/* ---- the operators' shared mechanism: results compared and kept ---------- */

static tide_value vi(tide_type t, int64_t x) { return (tide_value){.type = t, .u.i64 = x}; }
static tide_value vf(double x) { return (tide_value){.type = TIDE_TYPE_DOUBLE, .u.f64 = x}; }
static tide_value vs(const char *p, uint32_t n)
{
    return (tide_value){.type = TIDE_TYPE_STRING, .u.s = {p, n}};
}
static tide_value vnull(tide_type t) { return (tide_value){.type = t, .is_null = true}; }

/* tide_agg_results_same: each pair with the answer SQL's IS NOT DISTINCT
 * FROM gives, except that DOUBLEs compare by their bits (a result that
 * changed from 0.0 to -0.0 is a change to emit), and values of different
 * types always differ. */
static void test_results_same(void)
{
    char ab1[] = "ab", ab2[] = "ab";
    tide_type d2 = tide_type_decimal(10, 2), d3 = tide_type_decimal(10, 3);
    struct {
        tide_value a, b;
        bool same;
    } cases[] = {
        {vi(TIDE_TYPE_BIGINT, 7), vi(TIDE_TYPE_BIGINT, 7), true},
        {vi(TIDE_TYPE_BIGINT, 7), vi(TIDE_TYPE_BIGINT, -7), false},
        {vi(TIDE_TYPE_BIGINT, 7), vi(TIDE_TYPE_TIMESTAMP, 7), false},
        {vi(TIDE_TYPE_TIMESTAMP, 1), vi(TIDE_TYPE_TIMESTAMP, 1), true},
        {vnull(TIDE_TYPE_BIGINT), vnull(TIDE_TYPE_BIGINT), true},
        {vnull(TIDE_TYPE_BIGINT), vi(TIDE_TYPE_BIGINT, 0), false},
        {vi(TIDE_TYPE_BIGINT, 0), vnull(TIDE_TYPE_BIGINT), false},
        {vnull(TIDE_TYPE_BIGINT), vnull(TIDE_TYPE_DOUBLE), false},
        {vf(NAN), vf(NAN), true},
        {vf(0.0), vf(-0.0), false},
        {vf(1.5), vf(1.5), true},
        {vf(1.5), vf(1.25), false},
        {{.type = TIDE_TYPE_BOOLEAN, .u.b = true}, {.type = TIDE_TYPE_BOOLEAN, .u.b = true}, true},
        {{.type = TIDE_TYPE_BOOLEAN, .u.b = true}, {.type = TIDE_TYPE_BOOLEAN, .u.b = false}, false},
        {{.type = d2, .u.d = 12345}, {.type = d2, .u.d = 12345}, true},
        {{.type = d2, .u.d = (tide_i128)1 << 100}, {.type = d2, .u.d = ((tide_i128)1 << 100) + 1},
         false},
        {{.type = d2, .u.d = 12345}, {.type = d3, .u.d = 12345}, false},
        {vs(ab1, 2), vs(ab2, 2), true},
        {vs(ab1, 2), vs("ac", 2), false},
        {vs(ab1, 2), vs(ab1, 1), false},
        {vs(NULL, 0), vs("", 0), true},
        {vs("x", 1), vnull(TIDE_TYPE_STRING), false},
    };
    size_t nc = sizeof cases / sizeof cases[0];
    for (size_t i = 0; i < nc; i++) {
        TT_ASSERT_MSG(tide_agg_results_same(&cases[i].a, &cases[i].b, 1) == cases[i].same,
                      "case %zu", i);
        TT_ASSERT_MSG(tide_agg_results_same(&cases[i].b, &cases[i].a, 1) == cases[i].same,
                      "case %zu reversed", i);
    }
    /* rows: the same when every column is; any one column differing differs */
    tide_value a[24], b[24];
    size_t n = 0;
    for (size_t i = 0; i < nc; i++)
        if (cases[i].same) {
            a[n] = cases[i].a;
            b[n++] = cases[i].b;
        }
    TT_ASSERT(tide_agg_results_same(a, b, n));
    TT_ASSERT(tide_agg_results_same(a, b, 0));
    for (size_t i = 0; i < nc; i++) {
        if (cases[i].same)
            continue;
        for (size_t at = 0; at < n; at += 3) {
            tide_value x = a[at], y = b[at];
            a[at] = cases[i].a;
            b[at] = cases[i].b;
            TT_ASSERT_MSG(!tide_agg_results_same(a, b, n), "case %zu at column %zu", i, at);
            a[at] = x;
            b[at] = y;
        }
    }
}

/* tide_agg_results_keep: random rows of STRING (NULL, empty, long), BIGINT
 * and DOUBLE results kept one after another into one row and its buffer;
 * after each keep the source strings are scribbled over (as the next step
 * of a MIN/MAX would change the state they borrow), and the kept row must
 * still be the model's copy taken before. */
static void test_results_keep(void)
{
    enum { N = 5 };
    tide_value prev[N];
    char *buf = NULL;
    size_t cap = 0, cap_max = 0;
    uint64_t seed = 0x6b656570ull;
    for (int round = 0; round < 2000; round++) {
        char src_bytes[N][40];
        tide_value src[N];
        char model[N][40];
        uint32_t mlen[N];
        bool mnull[N];
        for (int i = 0; i < N; i++) {
            uint64_t r = tt_rand(&seed);
            if (i == 3) {
                src[i] = r % 5 ? vi(TIDE_TYPE_BIGINT, (int64_t)(r >> 8)) : vnull(TIDE_TYPE_BIGINT);
            } else if (i == 4) {
                src[i] = vf((double)(r >> 11));
            } else if (r % 6 == 0) {
                src[i] = vnull(TIDE_TYPE_STRING);
            } else {
                uint32_t len = (uint32_t)((r >> 8) % 40);
                for (uint32_t k = 0; k < len; k++)
                    src_bytes[i][k] = (char)('a' + (tt_rand(&seed) % 26));
                src[i] = vs(len ? src_bytes[i] : NULL, len);
            }
            mnull[i] = src[i].is_null;
            mlen[i] = src[i].type == TIDE_TYPE_STRING && !mnull[i] ? src[i].u.s.len : 0;
            if (mlen[i])
                memcpy(model[i], src[i].u.s.ptr, mlen[i]);
        }
        TT_OK(tide_agg_results_keep(prev, src, N, &buf, &cap));
        tide_value orig[N];
        memcpy(orig, src, sizeof src);
        memset(src_bytes, '#', sizeof src_bytes); /* the state moves on */
        for (int i = 0; i < N; i++) {
            TT_ASSERT(prev[i].type == orig[i].type && prev[i].is_null == mnull[i]);
            if (i < 3 && !mnull[i]) {
                TT_ASSERT(prev[i].u.s.len == mlen[i] && prev[i].u.s.ptr != NULL);
                TT_ASSERT(!mlen[i] || memcmp(prev[i].u.s.ptr, model[i], mlen[i]) == 0);
            }
        }
        TT_ASSERT(tide_agg_results_same(&prev[3], &orig[3], 2));
        TT_ASSERT(cap >= cap_max); /* the buffer is reused, grown only when too small */
        cap_max = cap;
    }
    TT_ASSERT(cap_max > 0 && cap_max <= 3 * 39);
    free(buf);
    /* without a buffer (no STRING results): a plain copy */
    tide_value s2[2] = {vi(TIDE_TYPE_BIGINT, 5), vnull(TIDE_TYPE_DOUBLE)}, p2[2];
    TT_OK(tide_agg_results_keep(p2, s2, 2, NULL, NULL));
    TT_ASSERT(memcmp(p2, s2, sizeof s2) == 0);
}

/* The counted sets (COUNT(DISTINCT), MIN/MAX bound retractable) encode
 * the number of values, then each value and its count (varints, exec/agg.h:
 * a count is at least 1).  A state of one value occurring three times ends
 * in that count, the byte 3; with 0 there instead, or with 2^63 (a 10-byte
 * varint, beyond int64), decoding must refuse it as corrupt, and with 2 it
 * decodes to a state whose result is the same but that holds the value
 * twice (two retractions empty it). */
static void test_counted_set_counts(void)
{
    struct {
        tide_agg_kind kind;
        unsigned flags;
    } forms[2] = {{TIDE_AGG_COUNT_DISTINCT, 0}, {TIDE_AGG_MIN, TIDE_AGG_RETRACTABLE}};
    for (int f = 0; f < 2; f++) {
        tide_agg a;
        tide_err e = {0};
        TT_OK(tide_agg_bind_kind(&a, forms[f].kind, TIDE_TYPE_BIGINT, forms[f].flags, &e));
        TT_ASSERT(a.invertible && a.state_size <= TIDE_AGG_STATE_MAX);
        uint64_t st[TIDE_AGG_STATE_MAX / 8], back[TIDE_AGG_STATE_MAX / 8];
        tide_agg_init(&a, st);
        for (int i = 0; i < 3; i++)
            TT_OK(tide_agg_step_i64(&a, st, 42, &e));
        tide_buf b = {0};
        TT_OK(tide_agg_encode(&a, st, &b, &e));
        TT_ASSERT(b.len >= 3 && b.data[0] == 1 && b.data[b.len - 1] == 3);
        size_t used = 0;
        /* a count of 0 */
        b.data[b.len - 1] = 0;
        tide_agg_init(&a, back);
        TT_ASSERT_EQ_INT(tide_agg_decode(&a, back, b.data, b.len, &used, &e), TIDE_ECORRUPT);
        /* a count of 2 */
        b.data[b.len - 1] = 2;
        tide_agg_init(&a, back);
        TT_OK(tide_agg_decode(&a, back, b.data, b.len, &used, &e));
        TT_ASSERT(used == b.len);
        tide_value r;
        TT_OK(tide_agg_result(&a, back, &r, &e));
        TT_ASSERT(!r.is_null && r.u.i64 == (forms[f].kind == TIDE_AGG_MIN ? 42 : 1));
        TT_OK(tide_agg_retract_i64(&a, back, 42, &e));
        TT_OK(tide_agg_retract_i64(&a, back, 42, &e));
        TT_OK(tide_agg_result(&a, back, &r, &e));
        TT_ASSERT(forms[f].kind == TIDE_AGG_MIN ? r.is_null : r.u.i64 == 0);
        tide_agg_free(&a, back);
        /* a count of 2^63: beyond int64 */
        b.len--;
        for (int i = 0; i < 9; i++)
            TT_OK(tide_buf_append(&b, "\x80", 1));
        TT_OK(tide_buf_append(&b, "\x01", 1));
        tide_agg_init(&a, back);
        TT_ASSERT_EQ_INT(tide_agg_decode(&a, back, b.data, b.len, &used, &e), TIDE_ECORRUPT);
        tide_buf_free(&b);
        tide_agg_free(&a, st);
    }
}

int main(void)
{
    TT_RUN(test_bind);
    TT_RUN(test_nulls_and_empty);
    TT_RUN(test_sum_overflow);
    TT_RUN(test_double_specials);
    TT_RUN(test_retract_errors);
    TT_RUN(test_sliding_min_max);
    TT_RUN(test_streams_vs_model);
    TT_RUN(test_merge_split_inputs);
    TT_RUN(test_hll_accuracy);
    TT_RUN(test_hll_merge_is_union);
    TT_RUN(test_table_snapshot_of_states);
    TT_RUN(test_results_same);
    TT_RUN(test_results_keep);
    TT_RUN(test_counted_set_counts);
    TT_DONE();
}
