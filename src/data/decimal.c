/*
 * decimal.c - DECIMAL(p, s) arithmetic (see decimal.h for the rules).
 *
 * Every operation works on magnitudes and a sign.  Intermediate results
 * that do not fit 128 bits (a product of two 38-digit values, a dividend
 * scaled up for a division) are 256-bit unsigned integers, u256 below,
 * with the few operations the rules need: add, multiply 128 x 128, compare,
 * and division by long division (shift and subtract; a division is at most
 * 256 steps, only done by / and AVG results).
 */
#include "data/decimal.h"

#include "tide.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__extension__ typedef unsigned __int128 u128;

typedef struct u256 {
    u128 hi, lo;
} u256;

static const u128 U64 = ((u128)1 << 64);

static const u128 POW10[39] = {
    (u128)1ull,
    (u128)10ull,
    (u128)100ull,
    (u128)1000ull,
    (u128)10000ull,
    (u128)100000ull,
    (u128)1000000ull,
    (u128)10000000ull,
    (u128)100000000ull,
    (u128)1000000000ull,
    (u128)10000000000ull,
    (u128)100000000000ull,
    (u128)1000000000000ull,
    (u128)10000000000000ull,
    (u128)100000000000000ull,
    (u128)1000000000000000ull,
    (u128)10000000000000000ull,
    (u128)100000000000000000ull,
    (u128)1000000000000000000ull,
    (u128)10000000000000000000ull,
    (u128)10000000000000000000ull * 10ull,
    (u128)10000000000000000000ull * 100ull,
    (u128)10000000000000000000ull * 1000ull,
    (u128)10000000000000000000ull * 10000ull,
    (u128)10000000000000000000ull * 100000ull,
    (u128)10000000000000000000ull * 1000000ull,
    (u128)10000000000000000000ull * 10000000ull,
    (u128)10000000000000000000ull * 100000000ull,
    (u128)10000000000000000000ull * 1000000000ull,
    (u128)10000000000000000000ull * 10000000000ull,
    (u128)10000000000000000000ull * 100000000000ull,
    (u128)10000000000000000000ull * 1000000000000ull,
    (u128)10000000000000000000ull * 10000000000000ull,
    (u128)10000000000000000000ull * 100000000000000ull,
    (u128)10000000000000000000ull * 1000000000000000ull,
    (u128)10000000000000000000ull * 10000000000000000ull,
    (u128)10000000000000000000ull * 100000000000000000ull,
    (u128)10000000000000000000ull * 1000000000000000000ull,
    (u128)10000000000000000000ull * 10000000000000000000ull};

static u128 pow10_u(unsigned n)
{
    return POW10[n];
}

tide_i128 tide_dec_pow10(unsigned n)
{
    return (tide_i128)POW10[n > 38 ? 38 : n];
}

static u128 mag(tide_i128 v)
{
    return v < 0 ? (u128)0 - (u128)v : (u128)v;
}

bool tide_dec_fits(tide_i128 v, unsigned p)
{
    return mag(v) < (u128)tide_dec_pow10(p);
}

/* ---- 256-bit magnitudes ---- */

static u256 u256_of(u128 v) { return (u256){0, v}; }

static int u256_cmp(u256 a, u256 b)
{
    if (a.hi != b.hi)
        return a.hi < b.hi ? -1 : 1;
    return a.lo < b.lo ? -1 : a.lo > b.lo;
}

static u256 u256_add(u256 a, u256 b)
{
    u256 r = {a.hi + b.hi, a.lo + b.lo};
    if (r.lo < a.lo)
        r.hi++;
    return r;
}

static u256 u256_sub(u256 a, u256 b) /* a >= b */
{
    u256 r = {a.hi - b.hi, a.lo - b.lo};
    if (a.lo < b.lo)
        r.hi--;
    return r;
}

/* a * b, exact. */
static u256 u256_mul(u128 a, u128 b)
{
    uint64_t a0 = (uint64_t)a, a1 = (uint64_t)(a >> 64), b0 = (uint64_t)b, b1 = (uint64_t)(b >> 64);
    u128 p00 = (u128)a0 * b0, p01 = (u128)a0 * b1, p10 = (u128)a1 * b0, p11 = (u128)a1 * b1;
    u128 mid = (p00 >> 64) + (uint64_t)p01 + (uint64_t)p10;
    u256 r;
    r.lo = (p00 & (U64 - 1)) | (mid << 64);
    r.hi = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
    return r;
}

/* a * b with a 256 bits; false on overflow of 256 bits. */
static bool u256_mul_small(u256 a, u128 b, u256 *out)
{
    u256 lo = u256_mul(a.lo, b), hi = u256_mul(a.hi, b);
    if (hi.hi != 0)
        return false;
    u256 r = {lo.hi + hi.lo, lo.lo};
    if (r.hi < lo.hi)
        return false;
    *out = r;
    return true;
}

/* q = n / d, r = n % d (d > 0), by shift and subtract. */
static void u256_divmod(u256 n, u256 d, u256 *q, u256 *r)
{
    u256 quo = {0, 0}, rem = {0, 0};
    int top = 255;
    while (top >= 0 && !((top >= 128 ? n.hi >> (top - 128) : n.lo >> top) & 1))
        top--;
    for (int i = top; i >= 0; i--) {
        rem.hi = (rem.hi << 1) | (rem.lo >> 127);
        rem.lo = (rem.lo << 1) | ((i >= 128 ? n.hi >> (i - 128) : n.lo >> i) & 1);
        if (u256_cmp(rem, d) >= 0) {
            rem = u256_sub(rem, d);
            if (i >= 128)
                quo.hi |= (u128)1 << (i - 128);
            else
                quo.lo |= (u128)1 << i;
        }
    }
    *q = quo;
    if (r)
        *r = rem;
}

/* The exact form: magnitude and sign at some scale, to a value of type rt. */
static bool finish(u256 m, bool neg, unsigned scale, tide_type rt, tide_i128 *out)
{
    unsigned rs = tide_dec_scale(rt), rp = tide_dec_precision(rt);
    if (rs < scale) {
        unsigned k = scale - rs;
        /* round half up: (m + 10^k / 2) / 10^k, in <= 38-digit steps */
        u256 half = u256_of(pow10_u(k > 38 ? 38 : k) / 2);
        if (k > 38) {
            if (!u256_mul_small(half, pow10_u(k - 38), &half))
                return false;
        }
        m = u256_add(m, half);
        while (k > 0) {
            unsigned step = k > 38 ? 38 : k;
            u256 q;
            u256_divmod(m, u256_of(pow10_u(step)), &q, NULL);
            m = q;
            k -= step;
        }
    } else if (rs > scale) {
        unsigned k = rs - scale;
        if (k > 38 || !u256_mul_small(m, pow10_u(k), &m))
            return false;
    }
    if (m.hi != 0 || m.lo >= pow10_u(rp))
        return false;
    *out = neg ? -(tide_i128)m.lo : (tide_i128)m.lo;
    return true;
}

/* ---- types ---- */

static tide_type adjust(int p, int s)
{
    if (p <= TIDE_DEC_MAX_PRECISION)
        return tide_type_decimal((unsigned)(p < 1 ? 1 : p), (unsigned)s);
    int digits = p - s;
    int min_scale = s < 6 ? s : 6;
    int ns = TIDE_DEC_MAX_PRECISION - digits;
    if (ns < min_scale)
        ns = min_scale;
    return tide_type_decimal(TIDE_DEC_MAX_PRECISION, (unsigned)ns);
}

#define P(t) ((int)tide_dec_precision(t))
#define S(t) ((int)tide_dec_scale(t))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define MIN(a, b) ((a) < (b) ? (a) : (b))

tide_type tide_dec_add_type(tide_type a, tide_type b)
{
    int s = MAX(S(a), S(b));
    return adjust(MAX(P(a) - S(a), P(b) - S(b)) + s + 1, s);
}

tide_type tide_dec_mul_type(tide_type a, tide_type b)
{
    return adjust(P(a) + P(b) + 1, S(a) + S(b));
}

tide_type tide_dec_div_type(tide_type a, tide_type b)
{
    int s = MAX(6, S(a) + P(b) + 1);
    return adjust(P(a) - S(a) + S(b) + s, s);
}

tide_type tide_dec_mod_type(tide_type a, tide_type b)
{
    int s = MAX(S(a), S(b));
    return adjust(MIN(P(a) - S(a), P(b) - S(b)) + s, s);
}

tide_type tide_dec_sum_type(tide_type a)
{
    return tide_type_decimal(TIDE_DEC_MAX_PRECISION, (unsigned)S(a));
}

tide_type tide_dec_avg_type(tide_type a)
{
    return tide_type_decimal(TIDE_DEC_MAX_PRECISION, (unsigned)MAX(S(a), 6));
}

tide_type tide_dec_of_bigint(bool int_literal)
{
    return tide_type_decimal(int_literal ? 10 : 19, 0);
}

/* ---- arithmetic ---- */

bool tide_dec_arith(tide_dec_op op, tide_i128 a, tide_type ta, tide_i128 b, tide_type tb, tide_type rt,
                    tide_i128 *out)
{
    unsigned sa = tide_dec_scale(ta), sb = tide_dec_scale(tb);
    u128 ma = mag(a), mb = mag(b);
    bool na = a < 0, nb = b < 0;
    switch (op) {
    case TIDE_DEC_ADD:
    case TIDE_DEC_SUB: {
        if (op == TIDE_DEC_SUB)
            nb = !nb;
        unsigned s = MAX(sa, sb);
        u256 x = u256_mul(ma, pow10_u(s - sa)), y = u256_mul(mb, pow10_u(s - sb));
        if (na == nb)
            return finish(u256_add(x, y), na, s, rt, out);
        if (u256_cmp(x, y) >= 0)
            return finish(u256_sub(x, y), na, s, rt, out);
        return finish(u256_sub(y, x), nb, s, rt, out);
    }
    case TIDE_DEC_MUL:
        return finish(u256_mul(ma, mb), na != nb && ma && mb, sa + sb, rt, out);
    case TIDE_DEC_DIV: {
        if (mb == 0)
            return false;
        /* q = round(a 10^e / b) with e = rs - sa + sb: the result's scale */
        int e = (int)tide_dec_scale(rt) - (int)sa + (int)sb;
        u256 n = u256_of(ma), d = u256_of(mb);
        if (e >= 0) {
            for (int k = e; k > 0; k -= 38)
                if (!u256_mul_small(n, pow10_u(k > 38 ? 38 : (unsigned)k), &n))
                    return false;
        } else {
            for (int k = -e; k > 0; k -= 38)
                if (!u256_mul_small(d, pow10_u(k > 38 ? 38 : (unsigned)k), &d))
                    return false;
        }
        /* round half up: floor((2n + d) / 2d) */
        u256 n2 = u256_add(n, n), d2 = u256_add(d, d), q;
        if (n2.hi >> 127 || d2.hi >> 127)
            return false;
        u256_divmod(u256_add(n2, d), d2, &q, NULL);
        return finish(q, na != nb && (q.hi || q.lo), tide_dec_scale(rt), rt, out);
    }
    case TIDE_DEC_MOD: {
        if (mb == 0)
            return false;
        unsigned s = MAX(sa, sb);
        u256 x = u256_mul(ma, pow10_u(s - sa)), y = u256_mul(mb, pow10_u(s - sb)), q, r;
        u256_divmod(x, y, &q, &r);
        return finish(r, na && (r.hi || r.lo), s, rt, out);
    }
    }
    return false;
}

bool tide_dec_div_i64(tide_i128 a, unsigned scale, int64_t n, unsigned to_scale, tide_i128 *out)
{
    u128 mn = n < 0 ? (u128)0 - (u128)(tide_i128)n : (u128)n;
    tide_i128 bn = (tide_i128)mn;
    tide_type rt = tide_type_decimal(TIDE_DEC_MAX_PRECISION, to_scale);
    if (n < 0)
        bn = -bn;
    return tide_dec_arith(TIDE_DEC_DIV, a, tide_type_decimal(TIDE_DEC_MAX_PRECISION, scale), bn,
                          tide_type_decimal(19, 0), rt, out);
}

bool tide_dec_cast(tide_i128 v, unsigned from, tide_type to, tide_i128 *out)
{
    return finish(u256_of(mag(v)), v < 0, from, to, out);
}

int tide_dec_cmp(tide_i128 a, unsigned sa, tide_i128 b, unsigned sb)
{
    if (sa == sb)
        return (a > b) - (a < b);
    bool na = a < 0, nb = b < 0;
    if (na != nb)
        return na ? -1 : 1;
    unsigned s = MAX(sa, sb);
    u256 x = u256_mul(mag(a), pow10_u(s - sa)), y = u256_mul(mag(b), pow10_u(s - sb));
    int c = u256_cmp(x, y);
    return na ? -c : c;
}

/* ---- text ---- */

int tide_dec_parse(const char *s, size_t len, tide_type t, tide_i128 *out, const char **why)
{
    static const char *const bad = "not a number ([+-]digits[.digits][e[+-]digits])";
    const char *p = s, *end = s + len;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    bool neg = false;
    if (p < end && (*p == '+' || *p == '-'))
        neg = *p++ == '-';
    /* the significant digits (leading zeros skipped) and where the point is */
    char dig[80];
    int nd = 0, point = -1, dropped = 0; /* dropped: digits beyond 40 significant */
    bool any = false;
    for (; p < end; p++) {
        if (*p >= '0' && *p <= '9') {
            any = true;
            if (nd == 0 && *p == '0') { /* a leading zero: only shifts the point */
                if (point >= 0)
                    point++;
                continue;
            }
            if (nd < 40) /* a DECIMAL has <= 38 digits and HALF_UP looks at one more */
                dig[nd++] = *p;
            else
                dropped++;
            if (point >= 0)
                point++;
        } else if (*p == '.' && point < 0) {
            point = 0;
        } else {
            break;
        }
    }
    if (!any) {
        *why = bad;
        return TIDE_EINVAL;
    }
    long exp10 = 0;
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        bool eneg = false;
        if (p < end && (*p == '+' || *p == '-'))
            eneg = *p++ == '-';
        if (p == end) {
            *why = bad;
            return TIDE_EINVAL;
        }
        for (; p < end && *p >= '0' && *p <= '9'; p++)
            if (exp10 < 100000)
                exp10 = exp10 * 10 + (*p - '0');
        if (eneg)
            exp10 = -exp10;
    }
    if (p != end) {
        *why = bad;
        return TIDE_EINVAL;
    }
    /* value = digits(dig[0..nd)) * 10^(dropped + exp10 - fraction digits) */
    long frac = point < 0 ? 0 : point;
    long e = (long)dropped + exp10 - frac; /* the scale of the digits is -e */
    unsigned rs = tide_dec_scale(t);
    if (nd == 0) {
        *out = 0;
        return 0;
    }
    /* m = the digits, at scale -e; shift to the type's scale */
    long shift = (long)rs + e; /* m * 10^shift */
    if (shift > 0 && (long)nd + shift > (long)tide_dec_precision(t)) {
        *why = "does not fit the DECIMAL's precision";
        return TIDE_ERANGE;
    }
    /* digits -> u256 */
    u256 m = {0, 0};
    for (int i = 0; i < nd; i++) {
        u256_mul_small(m, 10, &m);
        m = u256_add(m, u256_of((u128)(dig[i] - '0')));
    }
    if (shift >= 0) {
        for (long k = shift; k > 0; k -= 38)
            u256_mul_small(m, pow10_u(k > 38 ? 38 : (unsigned)k), &m);
    } else {
        long k = -shift;
        if (k > (long)nd + 1) { /* far below half a unit */
            m = (u256){0, 0};
        } else {
            /* round half up at 10^k (digits dropped beyond the 40th cannot
             * change a HALF_UP rounding: it looks at one digit only) */
            u256 half = u256_of(pow10_u((unsigned)(k > 38 ? 38 : k)) / 2);
            if (k > 38)
                u256_mul_small(half, pow10_u((unsigned)(k - 38)), &half);
            m = u256_add(m, half);
            for (; k > 0; k -= 38) {
                u256 q;
                u256_divmod(m, u256_of(pow10_u((unsigned)(k > 38 ? 38 : k))), &q, NULL);
                m = q;
            }
        }
    }
    if (m.hi || m.lo >= pow10_u(tide_dec_precision(t))) {
        *why = "does not fit the DECIMAL's precision";
        return TIDE_ERANGE;
    }
    *out = neg ? -(tide_i128)m.lo : (tide_i128)m.lo;
    return 0;
}

size_t tide_dec_format(tide_i128 v, unsigned scale, char *buf)
{
    char tmp[48];
    int n = 0;
    u128 m = mag(v);
    do {
        tmp[n++] = (char)('0' + (int)(m % 10));
        m /= 10;
    } while (m);
    while (n <= (int)scale) /* at least one digit before the point */
        tmp[n++] = '0';
    size_t k = 0;
    if (v < 0)
        buf[k++] = '-';
    while (n) {
        if (n == (int)scale)
            buf[k++] = '.';
        buf[k++] = tmp[--n];
    }
    buf[k] = '\0';
    return k;
}

/* ---- conversions ---- */

bool tide_dec_from_i64(int64_t x, tide_type t, tide_i128 *out)
{
    return tide_dec_cast((tide_i128)x, 0, t, out);
}

bool tide_dec_to_i64(tide_i128 v, unsigned scale, int64_t *out)
{
    tide_i128 q = v / tide_dec_pow10(scale); /* C truncates toward zero */
    if (q > INT64_MAX || q < INT64_MIN)
        return false;
    *out = (int64_t)q;
    return true;
}

bool tide_dec_from_f64(double x, tide_type t, tide_i128 *out)
{
    if (!isfinite(x))
        return false;
    char buf[40];
    int len = 0;
    for (int prec = 1; prec <= 17; prec++) { /* the shortest text that reads back */
        len = snprintf(buf, sizeof buf, "%.*e", prec - 1, x);
        if (strtod(buf, NULL) == x)
            break;
    }
    const char *why;
    return tide_dec_parse(buf, (size_t)len, t, out, &why) == 0;
}

double tide_dec_to_f64(tide_i128 v, unsigned scale)
{
    char buf[TIDE_DEC_TEXT_MAX];
    tide_dec_format(v, scale, buf);
    return strtod(buf, NULL);
}

void tide_dec_put16(tide_i128 v, uint8_t out[16])
{
    u128 u = (u128)v ^ ((u128)1 << 127);
    for (int i = 15; i >= 0; i--) {
        out[i] = (uint8_t)u;
        u >>= 8;
    }
}

tide_i128 tide_dec_get16(const uint8_t in[16])
{
    u128 u = 0;
    for (int i = 0; i < 16; i++)
        u = (u << 8) | in[i];
    return (tide_i128)(u ^ ((u128)1 << 127));
}
