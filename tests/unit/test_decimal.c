/*
 * test_decimal.c - DECIMAL(p, s) values (data/decimal.h), their keys
 * (data/key.h) and aggregates (exec/agg.h).
 *
 * The arithmetic is checked against a brute-force model of its own: for
 * operands small enough that every intermediate fits in 128 bits, the exact
 * result is a fraction n / d, rounded HALF_UP at the result's scale by
 * comparing twice the remainder with d, and NULL when it needs more digits
 * than the type has.  Text, types and the other cases are hand-written
 * expectations (from Java's BigDecimal and Flink's LogicalTypeMerging).
 */
#include "data/decimal.h"
#include "data/key.h"
#include "exec/agg.h"
#include "state/snap.h"
#include "tt.h"

#include <math.h>

__extension__ typedef __int128 i128;

static tide_type D(unsigned p, unsigned s) { return tide_type_decimal(p, s); }

static const char *fmt(tide_i128 v, unsigned s)
{
    static char buf[4][TIDE_DEC_TEXT_MAX];
    static int k;
    k = (k + 1) % 4;
    tide_dec_format(v, s, buf[k]);
    return buf[k];
}

/* parse text into t and print it back ("ERANGE" / "EINVAL" on failure) */
static const char *rt(const char *text, tide_type t)
{
    tide_i128 v;
    const char *why;
    int rc = tide_dec_parse(text, strlen(text), t, &v, &why);
    if (rc)
        return rc == TIDE_ERANGE ? "ERANGE" : "EINVAL";
    return fmt(v, tide_dec_scale(t));
}

static void test_text(void)
{
    TT_ASSERT_EQ_STR(rt("12.5", D(10, 2)), "12.50");
    TT_ASSERT_EQ_STR(rt("0.125", D(5, 2)), "0.13");      /* HALF_UP: a tie away from zero */
    TT_ASSERT_EQ_STR(rt("-0.125", D(5, 2)), "-0.13");
    TT_ASSERT_EQ_STR(rt("0.124999", D(5, 2)), "0.12");
    TT_ASSERT_EQ_STR(rt("-0.004", D(5, 2)), "0.00");     /* no negative zero */
    TT_ASSERT_EQ_STR(rt(".5", D(3, 0)), "1");
    TT_ASSERT_EQ_STR(rt("  +7 ", D(3, 1)), "7.0");
    TT_ASSERT_EQ_STR(rt("1e2", D(5, 2)), "100.00");
    TT_ASSERT_EQ_STR(rt("1.5E-1", D(3, 2)), "0.15");
    TT_ASSERT_EQ_STR(rt("000123.4500", D(5, 2)), "123.45");
    TT_ASSERT_EQ_STR(rt("999.995", D(5, 2)), "ERANGE");  /* rounds to 1000.00 */
    TT_ASSERT_EQ_STR(rt("999.994", D(5, 2)), "999.99");
    TT_ASSERT_EQ_STR(rt("1000", D(3, 0)), "ERANGE");
    TT_ASSERT_EQ_STR(rt("0.00000000000000000000000000000000000000000000001", D(38, 2)), "0.00");
    TT_ASSERT_EQ_STR(rt("12345678901234567890123456789012345678", D(38, 0)),
                     "12345678901234567890123456789012345678");
    TT_ASSERT_EQ_STR(rt("-99999999999999999999999999999999999999", D(38, 0)),
                     "-99999999999999999999999999999999999999");
    TT_ASSERT_EQ_STR(rt("100000000000000000000000000000000000000", D(38, 0)), "ERANGE");
    TT_ASSERT_EQ_STR(rt("0.5", D(1, 1)), "0.5");
    TT_ASSERT_EQ_STR(rt("", D(5, 2)), "EINVAL");
    TT_ASSERT_EQ_STR(rt("abc", D(5, 2)), "EINVAL");
    TT_ASSERT_EQ_STR(rt("1.2.3", D(5, 2)), "EINVAL");
    TT_ASSERT_EQ_STR(rt("1e", D(5, 2)), "EINVAL");
    TT_ASSERT_EQ_STR(rt("-", D(5, 2)), "EINVAL");
    TT_ASSERT_EQ_STR(rt("1 2", D(5, 2)), "EINVAL");
    TT_ASSERT_EQ_STR(fmt(-5, 3), "-0.005");
    TT_ASSERT_EQ_STR(fmt(0, 0), "0");
    TT_ASSERT_EQ_STR(fmt(-120, 1), "-12.0");
    TT_ASSERT_EQ_STR(tide_type_name(D(10, 2)), "DECIMAL(10, 2)");
    TT_ASSERT(tide_type_valid(D(38, 38)) && !tide_type_valid(D(39, 0)) && !tide_type_valid(D(5, 6)) &&
              !tide_type_valid(D(0, 0)));
}

static void test_types(void)
{
    /* Flink's LogicalTypeMerging, adjusted above 38 digits */
    TT_ASSERT(tide_dec_add_type(D(10, 2), D(5, 4)) == D(13, 4));
    TT_ASSERT(tide_dec_mul_type(D(10, 2), D(5, 4)) == D(16, 6));
    TT_ASSERT(tide_dec_div_type(D(10, 2), D(5, 4)) == D(20, 8));
    TT_ASSERT(tide_dec_div_type(D(10, 2), D(19, 0)) == D(30, 22));
    TT_ASSERT(tide_dec_mod_type(D(10, 2), D(10, 0)) == D(10, 2));
    TT_ASSERT(tide_dec_add_type(D(38, 10), D(38, 20)) == D(38, 9));
    TT_ASSERT(tide_dec_mul_type(D(38, 0), D(10, 2)) == D(38, 2));
    TT_ASSERT(tide_dec_mul_type(D(38, 10), D(38, 10)) == D(38, 6)); /* min(20, 6) kept */
    TT_ASSERT(tide_dec_mul_type(D(38, 2), D(38, 2)) == D(38, 4));   /* s < 6: all kept */
    TT_ASSERT(tide_dec_div_type(D(38, 0), D(10, 0)) == D(38, 6));
    TT_ASSERT(tide_dec_sum_type(D(10, 2)) == D(38, 2));
    TT_ASSERT(tide_dec_avg_type(D(10, 2)) == D(38, 6) && tide_dec_avg_type(D(20, 9)) == D(38, 9));
}

/* ---- the brute-force model: small operands, exact in 128 bits ---- */

static i128 p10(unsigned n)
{
    i128 v = 1;
    while (n--)
        v *= 10;
    return v;
}

/* n / d (d != 0) at scale 0, HALF_UP */
static i128 model_round(i128 n, i128 d)
{
    bool neg = (n < 0) != (d < 0);
    i128 an = n < 0 ? -n : n, ad = d < 0 ? -d : d;
    i128 q = an / ad, r = an % ad;
    if (2 * r >= ad)
        q++;
    return neg ? -q : q;
}

/* The exact result of a op b as a fraction over 10^k: value = num / den. */
static bool model(tide_dec_op op, i128 a, unsigned sa, i128 b, unsigned sb, tide_type rt, i128 *out)
{
    unsigned rs = tide_dec_scale(rt);
    i128 num, den; /* the result = num / den (in units, unscaled) */
    switch (op) {
    case TIDE_DEC_ADD:
    case TIDE_DEC_SUB: {
        unsigned s = sa > sb ? sa : sb;
        i128 x = a * p10(s - sa), y = b * p10(s - sb);
        num = op == TIDE_DEC_ADD ? x + y : x - y;
        den = p10(s);
        break;
    }
    case TIDE_DEC_MUL:
        num = a * b;
        den = p10(sa + sb);
        break;
    case TIDE_DEC_DIV:
        if (b == 0)
            return false;
        num = a * p10(sb);
        den = b * p10(sa);
        break;
    default: { /* % : the remainder of the truncated quotient, at the larger scale */
        if (b == 0)
            return false;
        unsigned s = sa > sb ? sa : sb;
        i128 x = a * p10(s - sa), y = b * p10(s - sb);
        num = x % y;
        den = p10(s);
        break;
    }
    }
    i128 v = model_round(num * p10(rs), den);
    if ((v < 0 ? -v : v) >= p10(tide_dec_precision(rt)))
        return false;
    *out = v;
    return true;
}

static uint64_t rng(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 33;
}

static void test_arith_model(void)
{
    static const tide_dec_op ops[] = {TIDE_DEC_ADD, TIDE_DEC_SUB, TIDE_DEC_MUL, TIDE_DEC_DIV, TIDE_DEC_MOD};
    long checked = 0, nulls = 0, rounded = 0;
    TT_FOR_SEEDS(seed, 1, 40) {
        uint64_t st = seed;
        for (int i = 0; i < 3000; i++) {
            unsigned pa = 1 + rng(&st) % 9, pb = 1 + rng(&st) % 9;
            unsigned sa = rng(&st) % (pa + 1), sb = rng(&st) % (pb + 1);
            i128 a = (i128)(rng(&st) % (uint64_t)p10(pa)), b = (i128)(rng(&st) % (uint64_t)p10(pb));
            if (rng(&st) & 1)
                a = -a;
            if (rng(&st) & 1)
                b = -b;
            if (rng(&st) % 8 == 0) /* ties: a 5 in the last place */
                a = a / 10 * 10 + 5;
            tide_dec_op op = ops[rng(&st) % 5];
            tide_type ta = D(pa, sa), tb = D(pb, sb);
            tide_type rt = op == TIDE_DEC_MUL ? tide_dec_mul_type(ta, tb)
                           : op == TIDE_DEC_DIV ? tide_dec_div_type(ta, tb)
                           : op == TIDE_DEC_MOD ? tide_dec_mod_type(ta, tb)
                                                : tide_dec_add_type(ta, tb);
            if (rng(&st) % 4 == 0) /* any target: narrower types round and overflow */
                rt = D(1 + rng(&st) % 12, 0), rt = D(tide_dec_precision(rt), rng(&st) % (tide_dec_precision(rt) + 1));
            i128 want = 0;
            tide_i128 got = 0;
            bool wok = model(op, a, sa, b, sb, rt, &want);
            bool gok = tide_dec_arith(op, a, ta, b, tb, rt, &got);
            TT_ASSERT_MSG(wok == gok && (!wok || want == got), "seed %" PRIu64 " op %d: %s (%u,%u) and %s (%u,%u) into (%u,%u): got %s %s, want %s %s",
                          seed, (int)op, fmt(a, sa), pa, sa, fmt(b, sb), pb, sb, tide_dec_precision(rt),
                          tide_dec_scale(rt), gok ? "ok" : "NULL", fmt(got, tide_dec_scale(rt)), wok ? "ok" : "NULL",
                          fmt(want, tide_dec_scale(rt)));
            checked++;
            nulls += !wok;
            rounded += wok && op == TIDE_DEC_DIV;
        }
    }
    if (!tt_replaying())
        TT_ASSERT(checked == 120000 && nulls > 1000 && rounded > 1000);
}

/* Large operands: identities the model cannot reach. */
static void test_arith_large(void)
{
    tide_type t38 = D(38, 0);
    tide_i128 max = tide_dec_pow10(38) - 1, r;
    TT_ASSERT(tide_dec_arith(TIDE_DEC_ADD, max, t38, 0, t38, t38, &r) && r == max);
    TT_ASSERT(!tide_dec_arith(TIDE_DEC_ADD, max, t38, 1, t38, t38, &r));       /* 10^38: NULL */
    TT_ASSERT(tide_dec_arith(TIDE_DEC_SUB, -max, t38, -max, t38, t38, &r) && r == 0);
    TT_ASSERT(!tide_dec_arith(TIDE_DEC_MUL, max, t38, max, t38, t38, &r));
    TT_ASSERT(tide_dec_arith(TIDE_DEC_MUL, max, t38, -1, t38, t38, &r) && r == -max);
    /* (10^38 - 1)^2 / 10^38 = 10^38 - 2 + 10^-38: a 76-digit product rounded to scale 0 */
    TT_ASSERT(tide_dec_arith(TIDE_DEC_MUL, max, D(38, 19), max, D(38, 19), D(38, 0), &r) && r == max - 1);
    TT_ASSERT(tide_dec_arith(TIDE_DEC_MUL, max, D(38, 38), max, D(38, 38), D(38, 38), &r) &&
              r == max - 1); /* 0.99..9^2 = 0.99..98000..01 rounds to 0.99..98 */
    TT_ASSERT(tide_dec_arith(TIDE_DEC_DIV, 1, D(1, 0), 3, D(1, 0), D(38, 37), &r) &&
              strcmp(fmt(r, 37), "0.3333333333333333333333333333333333333") == 0);
    TT_ASSERT(tide_dec_arith(TIDE_DEC_DIV, 2, D(1, 0), 3, D(1, 0), D(38, 37), &r) &&
              strcmp(fmt(r, 37), "0.6666666666666666666666666666666666667") == 0);
    TT_ASSERT(tide_dec_arith(TIDE_DEC_DIV, -max, t38, 7, D(1, 0), D(38, 0), &r) &&
              r == -(tide_dec_pow10(38) - 1 + 3) / 7); /* -14285714285714285714285714285714285714.14..: -..714 */
    TT_ASSERT(!tide_dec_arith(TIDE_DEC_DIV, 1, t38, 0, t38, t38, &r));
    TT_ASSERT(!tide_dec_arith(TIDE_DEC_MOD, 1, t38, 0, t38, t38, &r));
    TT_ASSERT(tide_dec_cmp(1, 0, 10, 1) == 0 && tide_dec_cmp(-1, 0, 1, 38) < 0 && tide_dec_cmp(max, 0, max, 38) > 0);
    TT_ASSERT(tide_dec_div_i64(7, 2, 3, 6, &r) && r == 23333); /* 0.07 / 3 = 0.023333 */
    TT_ASSERT(tide_dec_div_i64(-5, 0, 2, 0, &r) && r == -3);   /* -2.5 -> -3 */
}

static void test_conversions(void)
{
    tide_i128 r;
    int64_t i;
    TT_ASSERT(tide_dec_from_f64(0.1, D(10, 2), &r) && r == 10);
    TT_ASSERT(tide_dec_from_f64(2.675, D(10, 2), &r) && r == 268); /* "2.675": the shortest text, HALF_UP */
    TT_ASSERT(tide_dec_from_f64(-1e-9, D(10, 2), &r) && r == 0);
    TT_ASSERT(!tide_dec_from_f64(1e300, D(38, 0), &r) && !tide_dec_from_f64(NAN, D(10, 2), &r) &&
              !tide_dec_from_f64(INFINITY, D(10, 2), &r));
    TT_ASSERT(tide_dec_to_f64(1, 1) == 0.1 && tide_dec_to_f64(-12345, 2) == -123.45);
    TT_ASSERT(tide_dec_to_i64(-1999, 3, &i) && i == -1);        /* toward zero */
    TT_ASSERT(!tide_dec_to_i64(tide_dec_pow10(30), 0, &i));
    TT_ASSERT(tide_dec_from_i64(INT64_MIN, D(19, 0), &r) && r == INT64_MIN);
    TT_ASSERT(!tide_dec_from_i64(100, D(4, 2), &r) && tide_dec_from_i64(99, D(4, 2), &r) && r == 9900);
    TT_ASSERT(tide_dec_cast(125, 2, D(3, 1), &r) && r == 13 && tide_dec_cast(-125, 2, D(3, 1), &r) && r == -13);
    TT_ASSERT(!tide_dec_cast(99995, 2, D(4, 1), &r));
}

/* The 16-byte form and the key codec: memcmp order is numeric order. */
static void test_key_order(void)
{
    tide_schema *sc = NULL;
    tide_err e = {0};
    TT_OK(tide_schema_create(&sc, &e));
    TT_OK(tide_schema_add(sc, "d", D(38, 4), true, &e));
    tide_cbatch *b = NULL;
    TT_OK(tide_cbatch_create(&b, sc, 64, 0, &e));
    tide_i128 vals[] = {0, 1, -1, tide_dec_pow10(38) - 1, -(tide_dec_pow10(38) - 1), (tide_i128)INT64_MAX + 1,
                        (tide_i128)INT64_MIN - 1, 10000, -10000, 42};
    size_t n = sizeof vals / sizeof *vals;
    for (size_t i = 0; i < n; i++) {
        uint32_t r;
        TT_OK(tide_cbatch_add_row(b, &r));
        tide_cbatch_set_dec(b, 0, r, vals[i]);
    }
    uint32_t nr;
    TT_OK(tide_cbatch_add_row(b, &nr)); /* a NULL */
    uint32_t col = 0;
    for (uint32_t x = 0; x <= n; x++)
        for (uint32_t y = 0; y <= n; y++) {
            uint8_t kx[32], ky[32];
            size_t lx = (size_t)(tide_key_row_put(b, x, &col, 1, kx) - kx);
            size_t ly = (size_t)(tide_key_row_put(b, y, &col, 1, ky) - ky);
            TT_ASSERT(lx == tide_key_row_size(b, x, &col, 1));
            int c = memcmp(kx, ky, lx < ly ? lx : ly);
            if (!c)
                c = (lx > ly) - (lx < ly);
            int want = x == n || y == n ? (x == n) == (y == n) ? 0 : x == n ? -1 : 1
                                        : (vals[x] > vals[y]) - (vals[x] < vals[y]);
            TT_ASSERT_MSG((c > 0) - (c < 0) == want, "rows %u, %u", x, y);
            tide_value v;
            tide_type t = D(38, 4);
            TT_OK(tide_key_decode(kx, lx, &t, 1, NULL, &v, &e));
            TT_ASSERT(v.type == t && (x == n ? v.is_null : !v.is_null && v.u.d == vals[x]));
            TT_ASSERT(tide_key_prefix_len(kx, lx, &t, 1) == lx);
            if (x != n && y != n && vals[x] == vals[y])
                TT_ASSERT(tide_key_row_hash(b, x, &col, 1) == tide_key_row_hash(b, y, &col, 1));
        }
    /* a key whose value is beyond the type's precision is refused */
    uint8_t k[17] = {TIDE_KEY_VALUE};
    tide_dec_put16(tide_dec_pow10(10), k + 1);
    tide_value v;
    tide_type t5 = D(5, 0);
    TT_ASSERT(tide_key_decode(k, 17, &t5, 1, NULL, &v, &e) == TIDE_EINVAL);
    tide_cbatch_free(b);
    tide_schema_free(sc);
}

static tide_value dv(tide_type t, tide_i128 d) { return (tide_value){.type = t, .u.d = d}; }

/* SUM, AVG, MIN, MAX, COUNT(DISTINCT) of DECIMAL: against sums and extremes
 * kept here, through retractions, merges and the state codec. */
static void test_aggregates(void)
{
    tide_err e = {0};
    tide_type t = D(12, 3);
    TT_FOR_SEEDS(seed, 1, 20) {
        uint64_t st = seed;
        tide_agg sum, avg, mn, mx, cd, mmx;
        TT_OK(tide_agg_bind(&sum, "SUM", 3, false, false, t, TIDE_AGG_RETRACTABLE, &e));
        TT_OK(tide_agg_bind(&avg, "AVG", 3, false, false, t, TIDE_AGG_RETRACTABLE, &e));
        TT_OK(tide_agg_bind(&mn, "MIN", 3, false, false, t, TIDE_AGG_RETRACTABLE, &e));
        TT_OK(tide_agg_bind(&mx, "MAX", 3, false, false, t, TIDE_AGG_RETRACTABLE, &e));
        TT_OK(tide_agg_bind(&cd, "COUNT", 5, false, true, t, TIDE_AGG_RETRACTABLE, &e));
        TT_OK(tide_agg_bind(&mmx, "MAX", 3, false, false, t, 0, &e)); /* append-only form */
        TT_ASSERT(sum.out_type == D(38, 3) && avg.out_type == D(38, 6) && mn.out_type == t);
        tide_agg *all[] = {&sum, &avg, &mn, &mx, &cd, &mmx};
        _Alignas(16) unsigned char slot[6][TIDE_AGG_STATE_MAX];
        for (int k = 0; k < 6; k++)
            tide_agg_init(all[k], slot[k]);
        tide_i128 live[200];
        int nl = 0;
        i128 total = 0;
        tide_i128 amax = 0;
        bool any = false;
        for (int i = 0; i < 300; i++) {
            bool del = nl > 0 && rng(&st) % 3 == 0;
            if (del) {
                int j = (int)(rng(&st) % (uint64_t)nl);
                tide_value v = dv(t, live[j]);
                for (int k = 0; k < 5; k++)
                    TT_OK(tide_agg_retract(all[k], slot[k], &v, &e));
                total -= live[j];
                live[j] = live[--nl];
            } else if (nl < 200) {
                tide_i128 x = (tide_i128)(rng(&st) % 2000000) - 1000000;
                if (rng(&st) % 5 == 0)
                    x = tide_dec_pow10(12) - 1 - (tide_i128)(rng(&st) % 3); /* near the precision */
                tide_value v = dv(t, x);
                for (int k = 0; k < 6; k++)
                    TT_OK(tide_agg_step(all[k], slot[k], &v, &e));
                live[nl++] = x;
                total += x;
                amax = !any || x > amax ? x : amax;
                any = true;
            }
        }
        tide_value r;
        TT_OK(tide_agg_result(&sum, slot[0], &r, &e));
        TT_ASSERT(nl ? !r.is_null && r.u.d == total : r.is_null);
        if (nl) {
            TT_OK(tide_agg_result(&avg, slot[1], &r, &e));
            TT_ASSERT(!r.is_null && r.u.d == model_round(total * 1000, nl)); /* scale 3 -> 6 */
            tide_i128 lo = live[0], hi = live[0];
            for (int j = 1; j < nl; j++)
                lo = live[j] < lo ? live[j] : lo, hi = live[j] > hi ? live[j] : hi;
            TT_OK(tide_agg_result(&mn, slot[2], &r, &e));
            TT_ASSERT(!r.is_null && r.type == t && r.u.d == lo);
            TT_OK(tide_agg_result(&mx, slot[3], &r, &e));
            TT_ASSERT(!r.is_null && r.u.d == hi);
            int distinct = 0;
            for (int j = 0; j < nl; j++) {
                bool seen = false;
                for (int q = 0; q < j && !seen; q++)
                    seen = live[q] == live[j];
                distinct += !seen;
            }
            TT_OK(tide_agg_result(&cd, slot[4], &r, &e));
            TT_ASSERT(r.u.i64 == distinct);
        }
        TT_OK(tide_agg_result(&mmx, slot[5], &r, &e));
        TT_ASSERT(any && r.u.d == amax);
        /* every state through its codec gives the same results */
        for (int k = 0; k < 6; k++) {
            tide_buf buf = {0};
            TT_OK(tide_agg_encode(all[k], slot[k], &buf, &e));
            _Alignas(16) unsigned char copy[TIDE_AGG_STATE_MAX];
            size_t used;
            TT_OK(tide_agg_decode(all[k], copy, buf.data, buf.len, &used, &e));
            TT_ASSERT(used == buf.len);
            tide_value a, b2;
            TT_OK(tide_agg_result(all[k], slot[k], &a, &e));
            TT_OK(tide_agg_result(all[k], copy, &b2, &e));
            TT_ASSERT(a.is_null == b2.is_null && (a.is_null || (k == 4 ? a.u.i64 == b2.u.i64 : a.u.d == b2.u.d)));
            tide_agg_free(all[k], copy);
            tide_buf_free(&buf);
        }
        for (int k = 0; k < 6; k++)
            tide_agg_free(all[k], slot[k]);
    }
    /* a SUM beyond 38 digits is NULL (the sum wraps 128 bits and back) */
    tide_agg sum;
    tide_type t38 = D(38, 0);
    TT_OK(tide_agg_bind(&sum, "SUM", 3, false, false, t38, TIDE_AGG_RETRACTABLE, &e));
    _Alignas(16) unsigned char s[TIDE_AGG_STATE_MAX];
    tide_agg_init(&sum, s);
    tide_value big = dv(t38, tide_dec_pow10(38) - 1), r;
    for (int i = 0; i < 3; i++) /* 3 (10^38 - 1) wraps to about -4.03e37, which would fit */
        TT_OK(tide_agg_step(&sum, s, &big, &e));
    TT_OK(tide_agg_result(&sum, s, &r, &e));
    TT_ASSERT(r.is_null);
    for (int i = 0; i < 2; i++)
        TT_OK(tide_agg_retract(&sum, s, &big, &e));
    TT_OK(tide_agg_result(&sum, s, &r, &e));
    TT_ASSERT(!r.is_null && r.u.d == big.u.d);
}

/* Snapshot values: DECIMAL keeps its type and value, NULL or not; a value
 * beyond its precision behind a valid checksum is refused. */
static void test_snapshot_values(void)
{
    tide_err e = {0};
    tide_buf buf = {0};
    tide_snap_w w;
    tide_snap_begin(&w, &buf, "dec", 1);
    tide_value vals[] = {dv(D(38, 38), -(tide_dec_pow10(38) - 1)), dv(D(5, 2), 12345), dv(D(1, 0), 0),
                         {.type = D(7, 3), .is_null = true}, dv(D(3, 0), 1000) /* beyond DECIMAL(3, 0) */};
    for (size_t i = 0; i < 5; i++)
        tide_snap_put_value(&w, &vals[i]);
    TT_OK(tide_snap_end(&w, &e));
    tide_snap_r r;
    TT_OK(tide_snap_open(&r, buf.data, buf.len, "dec", 1, NULL, &e));
    for (size_t i = 0; i < 4; i++) {
        tide_value v = tide_snap_get_value(&r);
        TT_ASSERT(!tide_snap_failed(&r) && v.type == vals[i].type && v.is_null == vals[i].is_null &&
                  (v.is_null || v.u.d == vals[i].u.d));
    }
    (void)tide_snap_get_value(&r);
    TT_ASSERT(tide_snap_failed(&r));
    TT_ASSERT(tide_snap_close(&r, &e) == TIDE_ECORRUPT);
    tide_buf_free(&buf);
}

int main(void)
{
    TT_RUN(test_text);
    TT_RUN(test_types);
    TT_RUN(test_arith_model);
    TT_RUN(test_arith_large);
    TT_RUN(test_conversions);
    TT_RUN(test_key_order);
    TT_RUN(test_aggregates);
    TT_RUN(test_snapshot_values);
    TT_DONE();
}
