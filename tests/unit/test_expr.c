/*
 * test_expr.c - vectorised expressions against a row-at-a-time reference.
 *
 * The reference is a tiny independent interpreter over tide_value written
 * here (struct rnode): random well-typed trees are generated, built through
 * the tide_expr constructors, evaluated over random batches (every type,
 * NULLs, extreme values), and every row is compared with the reference's
 * value.  Time functions are checked against libc (gmtime_r / timegm /
 * strftime), LIKE against a recursive matcher, and casts by round trips and
 * tables.  Build-time type errors, runtime CAST errors (and their laziness
 * under CASE / AND / selections) and the filter / project helpers have
 * their own tests.
 */
#include "exec/expr.h"
#include "alloc_tt.h"
#include "tt.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <strings.h>
#include <time.h>

/* ---- the test schema and random batches ---- */

enum { C_B, C_I1, C_I2, C_D1, C_D2, C_S1, C_S2, C_T1, C_T2, NCOLS };
static const tide_type COLT[NCOLS] = {TIDE_TYPE_BOOLEAN, TIDE_TYPE_BIGINT, TIDE_TYPE_BIGINT,
                                      TIDE_TYPE_DOUBLE,  TIDE_TYPE_DOUBLE, TIDE_TYPE_STRING,
                                      TIDE_TYPE_STRING,  TIDE_TYPE_TIMESTAMP, TIDE_TYPE_TIMESTAMP};

static tide_schema *g_schema;

static tide_schema *make_schema(void)
{
    static const char *names[NCOLS] = {"b", "i1", "i2", "d1", "d2", "s1", "s2", "t1", "t2"};
    tide_schema *s = NULL;
    tide_err e = {0};
    if (tide_schema_create(&s, &e))
        return NULL;
    for (int i = 0; i < NCOLS; i++)
        if (tide_schema_add(s, names[i], COLT[i], true, &e))
            return NULL;
    return s;
}

static uint64_t rnd(uint64_t *s, uint64_t n) { return tt_rand(s) % n; }

static int64_t rand_i64(uint64_t *s)
{
    static const int64_t special[] = {0, 1, -1, 2, 3, 10, -10, INT64_MAX, INT64_MIN, 1000000007};
    switch (rnd(s, 4)) {
    case 0:
        return special[rnd(s, 10)];
    case 1:
        return (int64_t)tt_rand(s);
    default:
        return (int64_t)rnd(s, 11) - 5;
    }
}

static double rand_f64(uint64_t *s)
{
    static const double special[] = {0.0, -0.0, 1.0, -1.0, 0.5, 1e300, -1e300, 3.0, 2.5};
    switch (rnd(s, 6)) {
    case 0:
        return special[rnd(s, 9)];
    case 1:
        return rnd(s, 2) ? NAN : (rnd(s, 2) ? INFINITY : -INFINITY);
    case 2:
        return ((double)(int64_t)tt_rand(s)) / 1e6;
    default:
        return (double)((int64_t)rnd(s, 11) - 5);
    }
}

/* Between 1900 and 2100, so libc's gmtime/timegm are a safe reference. */
#define TS_LO (-2208988800000LL)
#define TS_HI (4102444800000LL)
static int64_t rand_ts(uint64_t *s)
{
    switch (rnd(s, 5)) {
    case 0: {
        static const int64_t special[] = {0, -1, 1, 86400000, -86400000, 951782400000LL /* 2000-02-29 */,
                                          1704067199999LL, 1704067200000LL};
        return special[rnd(s, 8)];
    }
    case 1: /* whole units */
        return TS_LO / 2 + (int64_t)rnd(s, 100000) * 3600000;
    default:
        return TS_LO + (int64_t)rnd(s, (uint64_t)(TS_HI - TS_LO));
    }
}

static const char *const PIECES[] = {"a", "b", "A", "%", "_", " ", "\xc3\xa9", "1", "ab", "Z", "!"};
#define NPIECES (sizeof PIECES / sizeof PIECES[0])
static const char *const WORDS[] = {" 42", "-7", "1.5e3", "nan", "yes", "FALSE", "+9223372036854775807",
                                    "9223372036854775808", "abc", "", "  ", "0x10", ".5", "5.", "Infinity",
                                    "-infinity", "1e", "t", "00012"};
#define NWORDS (sizeof WORDS / sizeof WORDS[0])

static size_t rand_str(uint64_t *s, char *buf)
{
    if (rnd(s, 4) == 0) {
        const char *w = WORDS[rnd(s, NWORDS)];
        memcpy(buf, w, strlen(w));
        return strlen(w);
    }
    size_t n = 0, k = rnd(s, 6);
    for (size_t i = 0; i < k; i++) {
        const char *p = PIECES[rnd(s, NPIECES)];
        memcpy(buf + n, p, strlen(p));
        n += strlen(p);
    }
    return n;
}

static tide_cbatch *rand_batch(uint64_t *s, uint32_t rows)
{
    tide_cbatch *b = NULL;
    tide_err e = {0};
    if (tide_cbatch_create(&b, g_schema, rows, TIDE_CBATCH_OPS | TIDE_CBATCH_POS, &e))
        return NULL;
    for (uint32_t r = 0; r < rows; r++) {
        uint32_t row = 0;
        tide_cbatch_add_row(b, &row);
        tide_cbatch_set_op(b, row, (tide_op)rnd(s, 4));
        tide_cbatch_set_pos(b, row, 1000 + row);
        for (int c = 0; c < NCOLS; c++) {
            if (rnd(s, 5) == 0) {
                /* NULL, over a random value: kernels compute NULL rows too
                 * and must be safe (UBSan) on whatever the slot holds */
                if (COLT[c] == TIDE_TYPE_BIGINT || COLT[c] == TIDE_TYPE_TIMESTAMP)
                    tide_cbatch_set_i64(b, c, row, (int64_t)tt_rand(s));
                else if (COLT[c] == TIDE_TYPE_DOUBLE)
                    tide_cbatch_set_f64(b, c, row, rand_f64(s));
                tide_cbatch_set_null(b, c, row);
                continue;
            }
            switch (COLT[c]) {
            case TIDE_TYPE_BOOLEAN:
                tide_cbatch_set_bool(b, c, row, rnd(s, 2));
                break;
            case TIDE_TYPE_BIGINT:
                tide_cbatch_set_i64(b, c, row, rand_i64(s));
                break;
            case TIDE_TYPE_DOUBLE:
                tide_cbatch_set_f64(b, c, row, rand_f64(s));
                break;
            case TIDE_TYPE_STRING: {
                char buf[64];
                size_t n = rand_str(s, buf);
                tide_cbatch_set_str(b, c, row, buf, n, &e);
                break;
            }
            default:
                tide_cbatch_set_i64(b, c, row, rand_ts(s));
                break;
            }
        }
    }
    return b;
}

/* ---- the reference interpreter ---- */

typedef enum rkind {
    R_COL, R_LIT, R_ARITH, R_NEG, R_CMP, R_AND, R_OR, R_NOT, R_IS, R_BETWEEN, R_IN, R_LIKE, R_CASE,
    R_COALESCE, R_CAST, R_CONCAT, R_STRFN, R_SUBSTR, R_TRIM, R_FLOOR, R_EXTRACT, R_DATEFMT,
} rkind;

typedef struct rnode rnode;
struct rnode {
    rkind kind;
    tide_type type; /* the result type the test expects */
    int op;
    bool flag;
    int n;
    rnode *k[8];
    tide_value lit;
    char litbuf[64];
    uint32_t col;
    tide_type to;
    tide_ts_unit unit;
    int escape;
    bool interval;
};

static rnode g_pool[4096];
static int g_npool;
static rnode *nn(rkind kind, tide_type type)
{
    if (g_npool == (int)(sizeof g_pool / sizeof g_pool[0]))
        abort();
    rnode *r = &g_pool[g_npool++];
    memset(r, 0, sizeof *r);
    r->kind = kind;
    r->type = type;
    r->escape = -1;
    return r;
}

/* Strings made by the reference for one row live here. */
static char g_sbuf[1 << 16];
static size_t g_sused;
static tide_str sput(const char *p, size_t n)
{
    if (g_sused + n > sizeof g_sbuf)
        abort();
    memcpy(g_sbuf + g_sused, p, n);
    tide_str s = {g_sbuf + g_sused, (uint32_t)n};
    g_sused += n;
    return s;
}

static tide_value vnull(tide_type t) { return (tide_value){.type = t, .is_null = true}; }
static tide_value vbool(bool b) { return (tide_value){.type = TIDE_TYPE_BOOLEAN, .u.b = b}; }
static tide_value vi64(int64_t i) { return (tide_value){.type = TIDE_TYPE_BIGINT, .u.i64 = i}; }
static tide_value vf64(double d) { return (tide_value){.type = TIDE_TYPE_DOUBLE, .u.f64 = d}; }
static tide_value vts(int64_t i) { return (tide_value){.type = TIDE_TYPE_TIMESTAMP, .u.i64 = i}; }
static tide_value vstr(tide_str s) { return (tide_value){.type = TIDE_TYPE_STRING, .u.s = s}; }

static double as_f64(tide_value v) { return v.type == TIDE_TYPE_DOUBLE ? v.u.f64 : (double)v.u.i64; }

/* Three-valued truth: 0 false, 1 true, 2 unknown. */
static int truth(tide_value v) { return v.is_null ? 2 : v.u.b ? 1 : 0; }
static tide_value from_truth(int t) { return t == 2 ? vnull(TIDE_TYPE_BOOLEAN) : vbool(t == 1); }

/* The SQL truth tables, written out. */
static const int AND_T[3][3] = {{0, 0, 0}, {0, 1, 2}, {0, 2, 2}};
static const int OR_T[3][3] = {{0, 1, 2}, {1, 1, 1}, {2, 1, 2}};
static const int NOT_T[3] = {1, 0, 2};

/* -1, 0, 1 or 2 (unordered: a NaN). */
static int ref_cmp3(tide_value a, tide_value b)
{
    if (a.type == TIDE_TYPE_STRING) {
        for (uint32_t i = 0;; i++) {
            if (i == a.u.s.len || i == b.u.s.len)
                return a.u.s.len == b.u.s.len ? 0 : (i == a.u.s.len ? -1 : 1);
            unsigned char x = (unsigned char)a.u.s.ptr[i], y = (unsigned char)b.u.s.ptr[i];
            if (x != y)
                return x < y ? -1 : 1;
        }
    }
    if (a.type == TIDE_TYPE_BOOLEAN)
        return (a.u.b > b.u.b) - (a.u.b < b.u.b);
    if (a.type == TIDE_TYPE_DOUBLE || b.type == TIDE_TYPE_DOUBLE) {
        double x = as_f64(a), y = as_f64(b);
        if (isnan(x) || isnan(y))
            return 2;
        return (x > y) - (x < y);
    }
    return (a.u.i64 > b.u.i64) - (a.u.i64 < b.u.i64);
}

static tide_value ref_compare(int op, tide_value a, tide_value b)
{
    if (op == TIDE_EXPR_IS_DISTINCT || op == TIDE_EXPR_IS_NOT_DISTINCT) {
        bool same = a.is_null || b.is_null ? a.is_null && b.is_null : ref_cmp3(a, b) == 0;
        return vbool(same == (op == TIDE_EXPR_IS_NOT_DISTINCT));
    }
    if (a.is_null || b.is_null)
        return vnull(TIDE_TYPE_BOOLEAN);
    int c = ref_cmp3(a, b);
    if (c == 2)
        return vbool(op == TIDE_EXPR_NE);
    switch (op) {
    case TIDE_EXPR_EQ: return vbool(c == 0);
    case TIDE_EXPR_NE: return vbool(c != 0);
    case TIDE_EXPR_LT: return vbool(c < 0);
    case TIDE_EXPR_LE: return vbool(c <= 0);
    case TIDE_EXPR_GT: return vbool(c > 0);
    default: return vbool(c >= 0);
    }
}

/* Code points of a UTF-8 string: start offsets into s (plus s.len at the end). */
static uint32_t cps(tide_str s, uint32_t *off)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < s.len; i++)
        if (((unsigned char)s.ptr[i] & 0xC0) != 0x80)
            off[n++] = i;
    off[n] = s.len;
    return n;
}

/* The LIKE reference: recursive over code points of both. */
static bool like_rec(const char *p, uint32_t pl, const char *s, uint32_t sl, int esc)
{
    if (pl == 0)
        return sl == 0;
    unsigned char c = (unsigned char)p[0];
    if (esc >= 0 && c == esc)
        return sl > 0 && s[0] == p[1] && like_rec(p + 2, pl - 2, s + 1, sl - 1, esc);
    if (c == '%') {
        for (uint32_t i = 0; i <= sl; i++) {
            if (i < sl && ((unsigned char)s[i] & 0xC0) == 0x80)
                continue; /* only at code point boundaries */
            if (like_rec(p + 1, pl - 1, s + i, sl - i, esc))
                return true;
        }
        return false;
    }
    if (sl == 0)
        return false;
    if (c == '_') {
        uint32_t j = 1;
        while (j < sl && ((unsigned char)s[j] & 0xC0) == 0x80)
            j++;
        return like_rec(p + 1, pl - 1, s + j, sl - j, esc);
    }
    return s[0] == p[0] && like_rec(p + 1, pl - 1, s + 1, sl - 1, esc);
}

static tide_str ref_trim_ws(tide_str s)
{
    while (s.len && isspace((unsigned char)s.ptr[0]))
        s.ptr++, s.len--;
    while (s.len && isspace((unsigned char)s.ptr[s.len - 1]))
        s.len--;
    return s;
}

static bool ref_parse_i64(tide_str s, int64_t *out)
{
    char buf[80];
    s = ref_trim_ws(s);
    if (s.len == 0 || s.len >= sizeof buf)
        return false;
    memcpy(buf, s.ptr, s.len);
    buf[s.len] = 0;
    for (uint32_t i = 0; i < s.len; i++)
        if (!isdigit((unsigned char)buf[i]) && !(i == 0 && (buf[i] == '+' || buf[i] == '-')))
            return false;
    if (!isdigit((unsigned char)buf[s.len - 1]))
        return false;
    errno = 0;
    long long v = strtoll(buf, NULL, 10);
    if (errno)
        return false;
    *out = v;
    return true;
}

static bool ref_parse_f64(tide_str s, double *out)
{
    char buf[80];
    s = ref_trim_ws(s);
    if (s.len == 0 || s.len >= sizeof buf)
        return false;
    memcpy(buf, s.ptr, s.len);
    buf[s.len] = 0;
    if (strcasecmp(buf, "nan") == 0)
        return *out = NAN, true;
    const char *b = buf + (buf[0] == '+' || buf[0] == '-');
    if (strcasecmp(b, "infinity") == 0)
        return *out = buf[0] == '-' ? -INFINITY : INFINITY, true;
    if (strpbrk(buf, "xXnNiIpP"))
        return false;
    char *end;
    double d = strtod(buf, &end);
    if (*end || end == buf)
        return false;
    *out = d;
    return true;
}

static bool ref_parse_bool(tide_str s, bool *out)
{
    char buf[16];
    s = ref_trim_ws(s);
    if (s.len >= sizeof buf)
        return false;
    memcpy(buf, s.ptr, s.len);
    buf[s.len] = 0;
    static const char *const T[] = {"true", "t", "yes", "y", "1"}, *const F[] = {"false", "f", "no", "n", "0"};
    for (int i = 0; i < 5; i++) {
        if (strcasecmp(buf, T[i]) == 0)
            return *out = true, true;
        if (strcasecmp(buf, F[i]) == 0)
            return *out = false, true;
    }
    return false;
}

/* libc calendar for the reference (years 1900..2100 here). */
static void ref_tm(int64_t ms, struct tm *tm, int *milli)
{
    int64_t sec = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    *milli = (int)(ms - sec * 1000);
    time_t t = (time_t)sec;
    gmtime_r(&t, tm);
}

static int64_t ref_tm_ms(struct tm *tm) { return (int64_t)timegm(tm) * 1000; }

static int64_t ref_floor(int64_t ms, tide_ts_unit u, bool ceil_)
{
    struct tm tm;
    int milli;
    ref_tm(ms, &tm, &milli);
    if (u == TIDE_TS_UNIT_MILLISECOND)
        return ms;
    int64_t f;
    if (u >= TIDE_TS_UNIT_MINUTE)
        tm.tm_sec = 0;
    if (u >= TIDE_TS_UNIT_HOUR)
        tm.tm_min = 0;
    if (u >= TIDE_TS_UNIT_DAY)
        tm.tm_hour = 0;
    if (u == TIDE_TS_UNIT_WEEK)
        tm.tm_mday -= (tm.tm_wday + 6) % 7;
    if (u >= TIDE_TS_UNIT_MONTH)
        tm.tm_mday = 1;
    if (u == TIDE_TS_UNIT_QUARTER)
        tm.tm_mon = tm.tm_mon / 3 * 3;
    if (u == TIDE_TS_UNIT_YEAR)
        tm.tm_mon = 0;
    f = ref_tm_ms(&tm);
    if (!ceil_ || f == ms)
        return f;
    switch (u) {
    case TIDE_TS_UNIT_SECOND: tm.tm_sec++; break;
    case TIDE_TS_UNIT_MINUTE: tm.tm_min++; break;
    case TIDE_TS_UNIT_HOUR: tm.tm_hour++; break;
    case TIDE_TS_UNIT_DAY: tm.tm_mday++; break;
    case TIDE_TS_UNIT_WEEK: tm.tm_mday += 7; break;
    case TIDE_TS_UNIT_MONTH: tm.tm_mon++; break;
    case TIDE_TS_UNIT_QUARTER: tm.tm_mon += 3; break;
    default: tm.tm_year++; break;
    }
    return ref_tm_ms(&tm);
}

static int64_t ref_extract(int64_t ms, tide_ts_unit u)
{
    struct tm tm;
    int milli;
    ref_tm(ms, &tm, &milli);
    char buf[8];
    switch (u) {
    case TIDE_TS_UNIT_MILLISECOND: return milli;
    case TIDE_TS_UNIT_SECOND: return tm.tm_sec;
    case TIDE_TS_UNIT_MINUTE: return tm.tm_min;
    case TIDE_TS_UNIT_HOUR: return tm.tm_hour;
    case TIDE_TS_UNIT_DAY: return tm.tm_mday;
    case TIDE_TS_UNIT_WEEK: strftime(buf, sizeof buf, "%V", &tm); return atoi(buf);
    case TIDE_TS_UNIT_MONTH: return tm.tm_mon + 1;
    case TIDE_TS_UNIT_QUARTER: return tm.tm_mon / 3 + 1;
    default: return tm.tm_year + 1900;
    }
}

static size_t ref_ts_text(int64_t ms, char *buf)
{
    struct tm tm;
    int milli;
    ref_tm(ms, &tm, &milli);
    return (size_t)snprintf(buf, 40, "%04d-%02d-%02d %02d:%02d:%02d.%03d", tm.tm_year + 1900, tm.tm_mon + 1,
                            tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, milli);
}

/* DATE_FORMAT patterns used by the random trees, with their expansion into
 * strftime + milliseconds written by hand ('#' = milliseconds). */
static const char *const DF_PAT[] = {"yyyy-MM-dd", "HH:mm:ss.SSS", "yyyy/MM/dd'T'HH", "dd.MM.yyyy 'at' HH''mm", "SSS"};
static const char *const DF_REF[] = {"%Y-%m-%d", "%H:%M:%S.#", "%Y/%m/%dT%H", "%d.%m.%Y at %H'%M", "#"};
#define NDF 5

static size_t ref_datefmt(int64_t ms, int which, char *out)
{
    struct tm tm;
    int milli;
    ref_tm(ms, &tm, &milli);
    char fmt[64], *q = fmt;
    for (const char *p = DF_REF[which]; *p; p++) {
        if (*p == '#')
            q += sprintf(q, "%03d", milli);
        else
            *q++ = *p;
    }
    *q = 0;
    return strftime(out, 64, fmt, &tm);
}

static tide_value ref_eval(const rnode *r, const tide_cbatch *b, uint32_t row);

static tide_value ref_cast(const rnode *r, tide_value a)
{
    tide_type to = r->to;
    if (a.is_null || a.type == TIDE_TYPE_NULL)
        return vnull(to);
    char buf[64];
    switch (to) {
    case TIDE_TYPE_BOOLEAN:
        if (a.type == TIDE_TYPE_BOOLEAN)
            return a;
        if (a.type == TIDE_TYPE_BIGINT)
            return vbool(a.u.i64 != 0);
        if (a.type == TIDE_TYPE_DOUBLE)
            return vbool(a.u.f64 != 0.0);
        {
            bool v;
            return ref_parse_bool(a.u.s, &v) ? vbool(v) : vnull(to);
        }
    case TIDE_TYPE_BIGINT:
        if (a.type == TIDE_TYPE_BOOLEAN)
            return vi64(a.u.b);
        if (a.type == TIDE_TYPE_BIGINT || a.type == TIDE_TYPE_TIMESTAMP)
            return vi64(a.u.i64);
        if (a.type == TIDE_TYPE_DOUBLE) {
            double d = a.u.f64;
            if (isnan(d) || d < -9.2233720368547758e18 || d >= 9.2233720368547758e18)
                return vnull(to);
            return vi64((int64_t)d);
        }
        {
            int64_t v;
            return ref_parse_i64(a.u.s, &v) ? vi64(v) : vnull(to);
        }
    case TIDE_TYPE_DOUBLE:
        if (a.type == TIDE_TYPE_BOOLEAN)
            return vf64(a.u.b ? 1.0 : 0.0);
        if (a.type == TIDE_TYPE_BIGINT)
            return vf64((double)a.u.i64);
        if (a.type == TIDE_TYPE_DOUBLE)
            return a;
        {
            double v;
            return ref_parse_f64(a.u.s, &v) ? vf64(v) : vnull(to);
        }
    case TIDE_TYPE_TIMESTAMP:
        return vts(a.u.i64); /* from BIGINT or TIMESTAMP (STRING is not generated) */
    case TIDE_TYPE_STRING:
        if (a.type == TIDE_TYPE_BOOLEAN)
            return vstr(sput(a.u.b ? "TRUE" : "FALSE", a.u.b ? 4 : 5));
        if (a.type == TIDE_TYPE_BIGINT)
            return vstr(sput(buf, (size_t)snprintf(buf, sizeof buf, "%lld", (long long)a.u.i64)));
        if (a.type == TIDE_TYPE_TIMESTAMP)
            return vstr(sput(buf, ref_ts_text(a.u.i64, buf)));
        return a;
    default:
        return vnull(to);
    }
}

/* Row failures of the reference (an integer overflow, a TIMESTAMP out of
 * range) where SQL evaluates (g_lazy == 0: not under the operand of an
 * AND/OR that the left side decided). */
static int g_failed, g_lazy;
static tide_value ref_fail(tide_type t)
{
    if (!g_lazy)
        g_failed = 1;
    return vnull(t);
}

static tide_value ref_arith(int op, tide_value a, tide_value b, tide_type t)
{
    if (a.is_null || b.is_null)
        return vnull(t);
    if (t == TIDE_TYPE_DOUBLE) {
        double x = as_f64(a), y = as_f64(b);
        switch (op) {
        case TIDE_EXPR_ADD: return vf64(x + y);
        case TIDE_EXPR_SUB: return vf64(x - y);
        case TIDE_EXPR_MUL: return vf64(x * y);
        case TIDE_EXPR_DIV: return vf64(x / y);
        default: return vf64(fmod(x, y));
        }
    }
    /* exact, in 128 bits: a result outside BIGINT (or a TIMESTAMP outside
     * its range) fails the row */
    __int128 x = a.u.i64, y = b.u.i64, z;
    switch (op) {
    case TIDE_EXPR_ADD: z = x + y; break;
    case TIDE_EXPR_SUB: z = x - y; break;
    case TIDE_EXPR_MUL: z = x * y; break;
    default:
        if (y == 0)
            return vnull(t);
        z = op == TIDE_EXPR_DIV ? x / y : x % y;
    }
    if (z < INT64_MIN || z > INT64_MAX)
        return ref_fail(t);
    if (t == TIDE_TYPE_TIMESTAMP && (z < -62167219200000LL || z > 253402300799999LL))
        return ref_fail(t);
    return (tide_value){.type = t, .u.i64 = (int64_t)z};
}

/* Whether any operand of r (BETWEEN, IN) is a DOUBLE: then all of them
 * compare as DOUBLEs. */
static bool common_double(const rnode *r)
{
    for (int i = 0; i < r->n; i++)
        if (r->k[i]->type == TIDE_TYPE_DOUBLE)
            return true;
    return false;
}

/* v at the operands' common type (dbl: DOUBLE). */
static tide_value at_common(tide_value v, bool dbl)
{
    if (!dbl || v.is_null || v.type == TIDE_TYPE_DOUBLE || v.type == TIDE_TYPE_NULL)
        return v;
    return vf64((double)v.u.i64);
}

static tide_value ref_eval(const rnode *r, const tide_cbatch *b, uint32_t row)
{
    tide_value a, c;
    switch (r->kind) {
    case R_COL:
        return tide_cbatch_get(b, r->col, row);
    case R_LIT:
        return r->lit;
    case R_ARITH:
        return ref_arith(r->op, ref_eval(r->k[0], b, row), ref_eval(r->k[1], b, row), r->type);
    case R_NEG:
        a = ref_eval(r->k[0], b, row);
        if (a.is_null)
            return vnull(r->type);
        if (r->type == TIDE_TYPE_DOUBLE)
            return vf64(-a.u.f64);
        if (a.u.i64 == INT64_MIN)
            return ref_fail(r->type);
        return (tide_value){.type = r->type, .u.i64 = -a.u.i64};
    case R_CMP:
        return ref_compare(r->op, ref_eval(r->k[0], b, row), ref_eval(r->k[1], b, row));
    case R_AND:
    case R_OR: {
        int l = truth(ref_eval(r->k[0], b, row));
        bool decided = l == (r->kind == R_AND ? 0 : 1); /* SQL need not evaluate the right side */
        g_lazy += decided;
        int rt = truth(ref_eval(r->k[1], b, row));
        g_lazy -= decided;
        return from_truth(r->kind == R_AND ? AND_T[l][rt] : OR_T[l][rt]);
    }
    case R_NOT:
        return from_truth(NOT_T[truth(ref_eval(r->k[0], b, row))]);
    case R_IS: {
        a = ref_eval(r->k[0], b, row);
        int t = a.is_null ? 2 : (a.type == TIDE_TYPE_BOOLEAN ? (a.u.b ? 1 : 0) : 1);
        switch (r->op) {
        case TIDE_EXPR_IS_NULL: return vbool(t == 2);
        case TIDE_EXPR_IS_NOT_NULL: return vbool(t != 2);
        case TIDE_EXPR_IS_TRUE: return vbool(t == 1);
        case TIDE_EXPR_IS_NOT_TRUE: return vbool(t != 1);
        case TIDE_EXPR_IS_FALSE: return vbool(t == 0);
        default: return vbool(t != 0);
        }
    }
    case R_BETWEEN: {
        /* the three operands compare at their one common type (Calcite
         * coerces all of BETWEEN's operands together): with a DOUBLE among
         * them, two BIGINTs compare as DOUBLEs too */
        bool dbl = common_double(r);
        a = at_common(ref_eval(r->k[0], b, row), dbl);
        int t = AND_T[truth(ref_compare(TIDE_EXPR_GE, a, at_common(ref_eval(r->k[1], b, row), dbl)))]
                     [truth(ref_compare(TIDE_EXPR_LE, a, at_common(ref_eval(r->k[2], b, row), dbl)))];
        return from_truth(r->flag ? NOT_T[t] : t);
    }
    case R_IN: {
        bool dbl = common_double(r); /* likewise the value and its whole list */
        a = at_common(ref_eval(r->k[0], b, row), dbl);
        int t = 0;
        for (int i = 1; i < r->n; i++)
            t = OR_T[t][truth(ref_compare(TIDE_EXPR_EQ, a, at_common(ref_eval(r->k[i], b, row), dbl)))];
        return from_truth(r->flag ? NOT_T[t] : t);
    }
    case R_LIKE: {
        a = ref_eval(r->k[0], b, row);
        if (a.is_null || r->k[1]->lit.is_null)
            return vnull(TIDE_TYPE_BOOLEAN);
        tide_str p = r->k[1]->lit.u.s;
        bool m = like_rec(p.ptr, p.len, a.u.s.ptr, a.u.s.len, r->escape);
        return vbool(m != r->flag);
    }
    case R_CASE: {
        int nw = r->n / 2;
        for (int i = 0; i < nw; i++)
            if (truth(ref_eval(r->k[i], b, row)) == 1)
                return ref_eval(r->k[nw + i], b, row);
        if (r->n % 2)
            return ref_eval(r->k[r->n - 1], b, row);
        return vnull(r->type);
    }
    case R_COALESCE:
        for (int i = 0; i < r->n; i++) {
            a = ref_eval(r->k[i], b, row);
            if (!a.is_null && a.type != TIDE_TYPE_NULL)
                return a;
        }
        return vnull(r->type);
    case R_CAST:
        return ref_cast(r, ref_eval(r->k[0], b, row));
    case R_CONCAT: {
        a = ref_eval(r->k[0], b, row);
        c = ref_eval(r->k[1], b, row);
        if (a.is_null || c.is_null)
            return vnull(TIDE_TYPE_STRING);
        char buf[256];
        memcpy(buf, a.u.s.ptr, a.u.s.len);
        memcpy(buf + a.u.s.len, c.u.s.ptr, c.u.s.len);
        return vstr(sput(buf, a.u.s.len + c.u.s.len));
    }
    case R_STRFN: {
        a = ref_eval(r->k[0], b, row);
        if (a.is_null)
            return vnull(r->type);
        uint32_t off[256];
        if (r->op == TIDE_EXPR_CHAR_LENGTH)
            return vi64(cps(a.u.s, off));
        char buf[256];
        for (uint32_t i = 0; i < a.u.s.len; i++) {
            unsigned char ch = (unsigned char)a.u.s.ptr[i];
            buf[i] = (char)(ch < 128 ? (r->op == TIDE_EXPR_UPPER ? toupper(ch) : tolower(ch)) : ch);
        }
        return vstr(sput(buf, a.u.s.len));
    }
    case R_SUBSTR: {
        a = ref_eval(r->k[0], b, row);
        tide_value st = ref_eval(r->k[1], b, row), ln = r->n > 2 ? ref_eval(r->k[2], b, row) : vi64(0);
        if (a.is_null || st.is_null || ln.is_null || (r->n > 2 && ln.u.i64 < 0))
            return vnull(TIDE_TYPE_STRING);
        uint32_t off[256], n = cps(a.u.s, off);
        /* positions p (1-based) with start <= p < start + len and 1 <= p <= n */
        long double lo = (long double)st.u.i64, hi = r->n > 2 ? lo + (long double)ln.u.i64 : 1e30L;
        int64_t first = -1, last = -1;
        for (uint32_t p = 1; p <= n; p++)
            if ((long double)p >= lo && (long double)p < hi) {
                if (first < 0)
                    first = p;
                last = p;
            }
        if (first < 0)
            return vstr(sput("", 0));
        return vstr(sput(a.u.s.ptr + off[first - 1], off[last] - off[first - 1]));
    }
    case R_TRIM: {
        a = ref_eval(r->k[0], b, row);
        if (a.is_null)
            return a;
        tide_str s = a.u.s;
        if (r->op != TIDE_EXPR_TRIM_TRAILING)
            while (s.len && s.ptr[0] == ' ')
                s.ptr++, s.len--;
        if (r->op != TIDE_EXPR_TRIM_LEADING)
            while (s.len && s.ptr[s.len - 1] == ' ')
                s.len--;
        return vstr(s);
    }
    case R_FLOOR:
        a = ref_eval(r->k[0], b, row);
        if (a.is_null)
            return vnull(TIDE_TYPE_TIMESTAMP);
        c = vts(ref_floor(a.u.i64, r->unit, r->flag));
        return c.u.i64 < -62167219200000LL || c.u.i64 > 253402300799999LL ? ref_fail(TIDE_TYPE_TIMESTAMP) : c;
    case R_EXTRACT:
        a = ref_eval(r->k[0], b, row);
        if (a.is_null)
            return vnull(TIDE_TYPE_BIGINT);
        return vi64(ref_extract(a.u.i64, r->unit));
    case R_DATEFMT: {
        a = ref_eval(r->k[0], b, row);
        if (a.is_null)
            return vnull(TIDE_TYPE_STRING);
        char buf[64];
        return vstr(sput(buf, ref_datefmt(a.u.i64, r->op, buf)));
    }
    }
    return vnull(TIDE_TYPE_NULL);
}

/* ---- building the same tree with the API ---- */

static tide_expr *build(const rnode *r, tide_err *e)
{
    tide_expr *x = NULL, *k[8] = {0};
    if (r->kind != R_LIT && r->kind != R_COL)
        for (int i = 0; i < r->n; i++)
            k[i] = build(r->k[i], e);
    switch (r->kind) {
    case R_COL: tide_expr_column(&x, g_schema, r->col, e); break;
    case R_LIT:
        tide_expr_literal(&x, &r->lit, e);
        if (x && r->interval)
            x = (tide_expr_free(x), NULL), tide_expr_literal_interval(&x, r->lit.u.i64, e);
        break;
    case R_ARITH: tide_expr_arith(&x, r->op, k[0], k[1], e); break;
    case R_NEG: tide_expr_neg(&x, k[0], e); break;
    case R_CMP: tide_expr_compare(&x, r->op, k[0], k[1], e); break;
    case R_AND: tide_expr_logic(&x, TIDE_EXPR_AND, k[0], k[1], e); break;
    case R_OR: tide_expr_logic(&x, TIDE_EXPR_OR, k[0], k[1], e); break;
    case R_NOT: tide_expr_not(&x, k[0], e); break;
    case R_IS: tide_expr_is(&x, r->op, k[0], e); break;
    case R_BETWEEN: tide_expr_between(&x, k[0], k[1], k[2], r->flag, e); break;
    case R_IN: tide_expr_in(&x, k[0], k + 1, (uint32_t)r->n - 1, r->flag, e); break;
    case R_LIKE: tide_expr_like(&x, k[0], k[1], r->escape, r->flag, e); break;
    case R_CASE: {
        int nw = r->n / 2;
        tide_expr_case(&x, k, k + nw, (uint32_t)nw, r->n % 2 ? k[r->n - 1] : NULL, e);
        break;
    }
    case R_COALESCE: tide_expr_coalesce(&x, k, (uint32_t)r->n, e); break;
    case R_CAST: tide_expr_cast(&x, k[0], r->to, r->flag, e); break;
    case R_CONCAT: tide_expr_concat(&x, k[0], k[1], e); break;
    case R_STRFN: tide_expr_str_fn(&x, r->op, k[0], e); break;
    case R_SUBSTR: tide_expr_substring(&x, k[0], k[1], r->n > 2 ? k[2] : NULL, e); break;
    case R_TRIM: tide_expr_trim(&x, r->op, k[0], e); break;
    case R_FLOOR: tide_expr_floor(&x, k[0], r->unit, r->flag, e); break;
    case R_EXTRACT: tide_expr_extract(&x, r->unit, k[0], e); break;
    case R_DATEFMT: tide_expr_date_format(&x, k[0], k[1], e); break;
    }
    return x;
}

/* ---- random well-typed trees ---- */

static rnode *gen(uint64_t *s, tide_type t, int depth);

static rnode *gen_col(uint64_t *s, tide_type t)
{
    static const int cols[][2] = {
        [TIDE_TYPE_BOOLEAN] = {C_B, C_B}, [TIDE_TYPE_BIGINT] = {C_I1, C_I2}, [TIDE_TYPE_DOUBLE] = {C_D1, C_D2},
        [TIDE_TYPE_STRING] = {C_S1, C_S2}, [TIDE_TYPE_TIMESTAMP] = {C_T1, C_T2}};
    rnode *r = nn(R_COL, t);
    r->col = (uint32_t)cols[t][rnd(s, 2)];
    return r;
}

static rnode *gen_lit(uint64_t *s, tide_type t)
{
    rnode *r = nn(R_LIT, t);
    if (rnd(s, 8) == 0) {
        r->lit = vnull(t);
        return r;
    }
    switch (t) {
    case TIDE_TYPE_BOOLEAN: r->lit = vbool(rnd(s, 2)); break;
    case TIDE_TYPE_BIGINT: r->lit = vi64(rand_i64(s)); break;
    case TIDE_TYPE_DOUBLE: r->lit = vf64(rand_f64(s)); break;
    case TIDE_TYPE_TIMESTAMP: r->lit = vts(rand_ts(s)); break;
    default: {
        size_t n = rand_str(s, r->litbuf);
        r->lit = vstr((tide_str){r->litbuf, (uint32_t)n});
        break;
    }
    }
    return r;
}

/* An untyped NULL, sometimes, to exercise coercion. */
static rnode *maybe_untyped_null(uint64_t *s, rnode *r)
{
    if (rnd(s, 16))
        return r;
    rnode *n = nn(R_LIT, TIDE_TYPE_NULL);
    n->lit = vnull(TIDE_TYPE_NULL);
    return n;
}

/* A comparable type and one of its operands. */
static tide_type comparable(uint64_t *s)
{
    static const tide_type ts[] = {TIDE_TYPE_BOOLEAN, TIDE_TYPE_BIGINT, TIDE_TYPE_DOUBLE, TIDE_TYPE_STRING,
                                   TIDE_TYPE_TIMESTAMP};
    return ts[rnd(s, 5)];
}
/* For numeric families, an operand of BIGINT or DOUBLE at random. */
static rnode *gen_like_type(uint64_t *s, tide_type t, int depth)
{
    if (t == TIDE_TYPE_BIGINT || t == TIDE_TYPE_DOUBLE)
        t = rnd(s, 2) ? TIDE_TYPE_BIGINT : TIDE_TYPE_DOUBLE;
    return maybe_untyped_null(s, gen(s, t, depth));
}

static rnode *gen_case(uint64_t *s, tide_type t, int depth)
{
    int nw = 1 + (int)rnd(s, 3);
    bool els = rnd(s, 2);
    rnode *r = nn(R_CASE, t);
    for (int i = 0; i < nw; i++) {
        r->k[i] = gen(s, TIDE_TYPE_BOOLEAN, depth);
        r->k[nw + i] = i ? maybe_untyped_null(s, gen(s, t, depth)) : gen(s, t, depth);
    }
    r->n = 2 * nw;
    if (els)
        r->k[r->n++] = gen(s, t, depth);
    return r;
}

static rnode *gen_coalesce(uint64_t *s, tide_type t, int depth)
{
    rnode *r = nn(R_COALESCE, t);
    r->n = 1 + (int)rnd(s, 3);
    for (int i = 0; i < r->n; i++)
        r->k[i] = maybe_untyped_null(s, gen(s, t, depth));
    if (r->k[r->n - 1]->type == TIDE_TYPE_NULL)
        r->k[r->n - 1] = gen(s, t, depth);
    return r;
}

static rnode *gen_cast(uint64_t *s, tide_type to, int depth)
{
    /* sources that the reference covers */
    static const tide_type from[][4] = {
        [TIDE_TYPE_BOOLEAN] = {TIDE_TYPE_BIGINT, TIDE_TYPE_DOUBLE, TIDE_TYPE_STRING, TIDE_TYPE_BOOLEAN},
        [TIDE_TYPE_BIGINT] = {TIDE_TYPE_BOOLEAN, TIDE_TYPE_DOUBLE, TIDE_TYPE_STRING, TIDE_TYPE_TIMESTAMP},
        [TIDE_TYPE_DOUBLE] = {TIDE_TYPE_BOOLEAN, TIDE_TYPE_BIGINT, TIDE_TYPE_STRING, TIDE_TYPE_DOUBLE},
        [TIDE_TYPE_STRING] = {TIDE_TYPE_BOOLEAN, TIDE_TYPE_BIGINT, TIDE_TYPE_TIMESTAMP, TIDE_TYPE_STRING},
        [TIDE_TYPE_TIMESTAMP] = {TIDE_TYPE_BIGINT, TIDE_TYPE_TIMESTAMP, TIDE_TYPE_BIGINT, TIDE_TYPE_TIMESTAMP},
    };
    tide_type f = from[to][rnd(s, 4)];
    rnode *r = nn(R_CAST, to);
    r->to = to;
    r->n = 1;
    if (to == TIDE_TYPE_TIMESTAMP && f == TIDE_TYPE_BIGINT) {
        /* keep the instant inside the reference calendar's range */
        r->k[0] = nn(R_LIT, TIDE_TYPE_BIGINT);
        r->k[0]->lit = vi64(rand_ts(s));
    } else {
        r->k[0] = gen(s, f, depth);
    }
    /* conversions that can fail are TRY_CASTs here (strict ones are tested
     * on their own) */
    bool can_fail = (f == TIDE_TYPE_STRING && to != TIDE_TYPE_STRING) ||
                    (f == TIDE_TYPE_DOUBLE && to == TIDE_TYPE_BIGINT);
    r->flag = can_fail || rnd(s, 2);
    return r;
}

static rnode *gen_bool(uint64_t *s, int depth)
{
    rnode *r;
    switch (rnd(s, 10)) {
    case 0: {
        r = nn(R_CMP, TIDE_TYPE_BOOLEAN);
        r->op = (int)rnd(s, 8); /* = <> < <= > >=, IS [NOT] DISTINCT FROM */
        tide_type t = comparable(s);
        r->k[0] = gen_like_type(s, t, depth);
        r->k[1] = gen_like_type(s, t, depth);
        r->n = 2;
        return r;
    }
    case 1:
        r = nn(rnd(s, 2) ? R_AND : R_OR, TIDE_TYPE_BOOLEAN);
        r->k[0] = maybe_untyped_null(s, gen(s, TIDE_TYPE_BOOLEAN, depth));
        r->k[1] = maybe_untyped_null(s, gen(s, TIDE_TYPE_BOOLEAN, depth));
        r->n = 2;
        return r;
    case 2:
        r = nn(R_NOT, TIDE_TYPE_BOOLEAN);
        r->k[0] = gen(s, TIDE_TYPE_BOOLEAN, depth);
        r->n = 1;
        return r;
    case 3:
        r = nn(R_IS, TIDE_TYPE_BOOLEAN);
        r->op = (int)rnd(s, 6);
        r->k[0] = gen(s, r->op < 2 ? comparable(s) : TIDE_TYPE_BOOLEAN, depth);
        r->n = 1;
        return r;
    case 4: {
        r = nn(R_BETWEEN, TIDE_TYPE_BOOLEAN);
        tide_type t = comparable(s);
        for (int i = 0; i < 3; i++)
            r->k[i] = gen_like_type(s, t, depth);
        r->n = 3;
        r->flag = rnd(s, 2);
        return r;
    }
    case 5: {
        r = nn(R_IN, TIDE_TYPE_BOOLEAN);
        tide_type t = comparable(s);
        r->n = 2 + (int)rnd(s, 4);
        bool all_lit = rnd(s, 3) == 0; /* the one-pass constant list path */
        for (int i = 0; i < r->n; i++)
            r->k[i] = i && (all_lit || rnd(s, 2)) ? gen_lit(s, t == TIDE_TYPE_DOUBLE ? TIDE_TYPE_BIGINT : t)
                                                 : gen_like_type(s, t, depth);
        r->flag = rnd(s, 2);
        return r;
    }
    case 6: {
        r = nn(R_LIKE, TIDE_TYPE_BOOLEAN);
        r->k[0] = gen(s, TIDE_TYPE_STRING, depth);
        rnode *p = nn(R_LIT, TIDE_TYPE_STRING);
        static const char *const pp[] = {"a", "%", "_", "b", "\xc3\xa9", "!", "A", "%a", "_%"};
        size_t n = 0, k = rnd(s, 6);
        r->escape = rnd(s, 3) == 0 ? '!' : -1;
        for (size_t i = 0; i < k; i++) {
            const char *w = pp[rnd(s, 9)];
            memcpy(p->litbuf + n, w, strlen(w));
            n += strlen(w);
        }
        if (r->escape == '!' && n && p->litbuf[n - 1] == '!')
            p->litbuf[n++] = '%'; /* an escape must escape something */
        /* an escape followed by an escape, then at the end: fix up */
        if (r->escape == '!') {
            size_t i = 0;
            while (i < n) {
                if (p->litbuf[i] == '!') {
                    if (i + 1 == n)
                        p->litbuf[n++] = '_';
                    i += 2;
                } else {
                    i++;
                }
            }
        }
        p->lit = rnd(s, 20) ? vstr((tide_str){p->litbuf, (uint32_t)n}) : vnull(TIDE_TYPE_STRING);
        r->k[1] = p;
        r->n = 2;
        r->flag = rnd(s, 2);
        return r;
    }
    case 7:
        return gen_case(s, TIDE_TYPE_BOOLEAN, depth);
    case 8:
        return gen_cast(s, TIDE_TYPE_BOOLEAN, depth);
    default:
        return gen_coalesce(s, TIDE_TYPE_BOOLEAN, depth);
    }
}

static rnode *gen(uint64_t *s, tide_type t, int depth)
{
    if (depth <= 0 || rnd(s, 4) == 0)
        return rnd(s, 3) ? gen_col(s, t) : gen_lit(s, t);
    depth--;
    rnode *r;
    switch (t) {
    case TIDE_TYPE_BOOLEAN:
        return gen_bool(s, depth);
    case TIDE_TYPE_BIGINT:
        switch (rnd(s, 7)) {
        case 0:
        case 1:
            r = nn(R_ARITH, t);
            r->op = (int)rnd(s, 5);
            r->k[0] = maybe_untyped_null(s, gen(s, t, depth));
            r->k[1] = gen(s, t, depth);
            r->n = 2;
            return r;
        case 2:
            r = nn(R_NEG, t);
            r->k[0] = gen(s, t, depth);
            r->n = 1;
            return r;
        case 3:
            if (rnd(s, 2)) {
                r = nn(R_STRFN, t);
                r->op = TIDE_EXPR_CHAR_LENGTH;
                r->k[0] = gen(s, TIDE_TYPE_STRING, depth);
                r->n = 1;
            } else {
                r = nn(R_EXTRACT, t);
                r->unit = (tide_ts_unit)rnd(s, TIDE_TS_UNIT_COUNT);
                r->k[0] = gen(s, TIDE_TYPE_TIMESTAMP, depth);
                r->n = 1;
            }
            return r;
        case 4:
            return gen_case(s, t, depth);
        case 5:
            return gen_coalesce(s, t, depth);
        default:
            return gen_cast(s, t, depth);
        }
    case TIDE_TYPE_DOUBLE:
        switch (rnd(s, 6)) {
        case 0:
        case 1: {
            r = nn(R_ARITH, t);
            r->op = (int)rnd(s, 5);
            int mixed = (int)rnd(s, 3); /* 0: both DOUBLE, 1: left BIGINT, 2: right BIGINT */
            r->k[0] = gen(s, mixed == 1 ? TIDE_TYPE_BIGINT : t, depth);
            r->k[1] = gen(s, mixed == 2 ? TIDE_TYPE_BIGINT : t, depth);
            r->n = 2;
            return r;
        }
        case 2:
            r = nn(R_NEG, t);
            r->k[0] = gen(s, t, depth);
            r->n = 1;
            return r;
        case 3:
            return gen_case(s, t, depth);
        case 4:
            return gen_coalesce(s, t, depth);
        default:
            return gen_cast(s, t, depth);
        }
    case TIDE_TYPE_STRING:
        switch (rnd(s, 8)) {
        case 0:
            r = nn(R_CONCAT, t);
            r->k[0] = gen(s, t, depth);
            r->k[1] = maybe_untyped_null(s, gen(s, t, depth));
            r->n = 2;
            return r;
        case 1:
            r = nn(R_STRFN, t);
            r->op = (int)rnd(s, 2);
            r->k[0] = gen(s, t, depth);
            r->n = 1;
            return r;
        case 2:
            r = nn(R_SUBSTR, t);
            r->k[0] = gen(s, t, depth);
            r->k[1] = nn(R_LIT, TIDE_TYPE_BIGINT);
            r->k[1]->lit = rnd(s, 10) ? vi64((int64_t)rnd(s, 9) - 3) : vi64(rand_i64(s));
            r->n = 2;
            if (rnd(s, 3)) {
                r->k[2] = rnd(s, 4) ? nn(R_LIT, TIDE_TYPE_BIGINT) : gen(s, TIDE_TYPE_BIGINT, 0);
                if (r->k[2]->kind == R_LIT)
                    r->k[2]->lit = rnd(s, 10) ? vi64((int64_t)rnd(s, 7) - 1) : vi64(rand_i64(s));
                r->n = 3;
            }
            return r;
        case 3:
            r = nn(R_TRIM, t);
            r->op = (int)rnd(s, 3);
            r->k[0] = gen(s, t, depth);
            r->n = 1;
            return r;
        case 4:
            r = nn(R_DATEFMT, t);
            r->op = (int)rnd(s, NDF);
            r->k[0] = gen(s, TIDE_TYPE_TIMESTAMP, depth);
            r->k[1] = nn(R_LIT, TIDE_TYPE_STRING);
            r->k[1]->lit = vstr((tide_str){DF_PAT[r->op], (uint32_t)strlen(DF_PAT[r->op])});
            r->n = 2;
            return r;
        case 5:
            return gen_case(s, t, depth);
        case 6:
            return gen_coalesce(s, t, depth);
        default:
            return gen_cast(s, t, depth);
        }
    default: /* TIMESTAMP */
        switch (rnd(s, 5)) {
        case 0:
            r = nn(R_FLOOR, t);
            r->unit = (tide_ts_unit)rnd(s, TIDE_TS_UNIT_COUNT);
            r->flag = rnd(s, 2);
            r->k[0] = gen(s, t, depth);
            r->n = 1;
            return r;
        case 1: {
            /* ts +- INTERVAL (a literal of up to +-10 days), or INTERVAL + ts */
            r = nn(R_ARITH, t);
            rnode *iv = nn(R_LIT, TIDE_TYPE_BIGINT);
            iv->lit = vi64((int64_t)rnd(s, 20 * 86400000ULL) - 10 * 86400000LL);
            iv->interval = true;
            r->op = rnd(s, 2) ? TIDE_EXPR_ADD : TIDE_EXPR_SUB;
            rnode *ts = gen(s, t, depth);
            if (r->op == TIDE_EXPR_ADD && rnd(s, 2))
                r->k[0] = iv, r->k[1] = ts;
            else
                r->k[0] = ts, r->k[1] = iv;
            r->n = 2;
            return r;
        }
        case 2:
            return gen_case(s, t, depth);
        case 3:
            return gen_coalesce(s, t, depth);
        default:
            return gen_cast(s, t, depth);
        }
    }
}

/* Same value?  (NaNs equal; -0.0 and 0.0 differ; strings bytewise.) */
static bool same(tide_value want, const tide_expr_vec *v, uint32_t row, char *why, size_t whylen);

/* The reference's value of row `row` against the tree's: a row the
 * reference fails must be marked failed (its value does not matter), any
 * other must not be and must have the same value. */
static bool same_or_failed(const rnode *r, const tide_cbatch *b, const tide_expr *x, const tide_expr_vec *v,
                           uint32_t row, char *why, size_t whylen)
{
    g_sused = 0;
    g_failed = 0;
    tide_value want = ref_eval(r, b, row);
    const uint8_t *rows;
    const char *reason;
    bool failed = tide_expr_faults(x, &rows, &reason) && rows[row];
    if (failed != (g_failed != 0)) {
        snprintf(why, whylen, "failed: want %d got %d (%s)", g_failed, failed, reason ? reason : "-");
        return false;
    }
    if (failed)
        return strncmp(reason, "integer overflow in ", 20) == 0 || strncmp(reason, "TIMESTAMP out of range", 22) == 0;
    return same(want, v, row, why, whylen);
}

static bool same(tide_value want, const tide_expr_vec *v, uint32_t row, char *why, size_t whylen)
{
    bool wn = want.is_null || want.type == TIDE_TYPE_NULL, gn = v->nulls[row] != 0;
    if (wn || gn) {
        snprintf(why, whylen, "null: want %d got %d", wn, gn);
        return wn == gn;
    }
    switch (v->type) {
    case TIDE_TYPE_BOOLEAN:
        snprintf(why, whylen, "want %d got %d", want.u.b, v->v.b[row]);
        return (v->v.b[row] != 0) == want.u.b && v->v.b[row] <= 1;
    case TIDE_TYPE_DOUBLE: {
        double g = v->v.f64[row], w = want.type == TIDE_TYPE_DOUBLE ? want.u.f64 : (double)want.u.i64;
        snprintf(why, whylen, "want %.17g got %.17g", w, g);
        return (isnan(g) && isnan(w)) || (g == w && signbit(g) == signbit(w));
    }
    case TIDE_TYPE_STRING: {
        tide_str g = v->v.s[row];
        snprintf(why, whylen, "want '%.*s' got '%.*s'", (int)want.u.s.len, want.u.s.ptr, (int)g.len, g.ptr);
        return g.len == want.u.s.len && (g.len == 0 || memcmp(g.ptr, want.u.s.ptr, g.len) == 0);
    }
    default:
        snprintf(why, whylen, "want %lld got %lld", (long long)want.u.i64, (long long)v->v.i64[row]);
        return v->v.i64[row] == want.u.i64;
    }
}

/* ---- tests ---- */

static void test_random_trees(void)
{
    uint64_t seed = tt_seed(0x5eed0001), s = seed;
    tide_err e = {0};
    int trees = 0, rows_checked = 0;
    for (int it = 0; it < 1500; it++) {
        tide_cbatch *b = rand_batch(&s, 1 + (uint32_t)rnd(&s, 300));
        TT_ASSERT(b);
        for (int t = 0; t < 4; t++) {
            g_npool = 0;
            static const tide_type types[] = {TIDE_TYPE_BOOLEAN, TIDE_TYPE_BIGINT, TIDE_TYPE_DOUBLE,
                                              TIDE_TYPE_STRING, TIDE_TYPE_TIMESTAMP};
            tide_type want_t = types[rnd(&s, 5)];
            uint64_t tree_seed = s;
            rnode *r = gen(&s, want_t, 1 + (int)rnd(&s, 4));
            tide_err_clear(&e);
            tide_expr *x = build(r, &e);
            if (!x)
                TT_SEED(tree_seed);
            TT_ASSERT_MSG(x != NULL, "build failed: %s", e.msg);
            TT_ASSERT_EQ_INT(tide_expr_type(x), r->type);
            const tide_expr_vec *v;
            int rc = tide_expr_eval(x, b, NULL, 0, &v, &e);
            if (rc)
                TT_SEED(tree_seed);
            TT_ASSERT_MSG(rc == 0, "eval: %s", e.msg);
            TT_ASSERT_EQ_INT(v->rows, tide_cbatch_rows(b));
            for (uint32_t row = 0; row < v->rows; row++) {
                char why[256];
                if (!same_or_failed(r, b, x, v, row, why, sizeof why)) {
                    TT_SEED(tree_seed);
                    tide_expr_free(x);
                    tide_cbatch_free(b);
                    TT_ASSERT_MSG(0, "iteration %d tree %d row %u (kind %d): %s", it, t, row, r->kind, why);
                }
                rows_checked++;
            }
            /* evaluating again (buffers reused) gives the same */
            TT_OK(tide_expr_eval(x, b, NULL, 0, &v, &e));
            if (want_t == TIDE_TYPE_BOOLEAN) {
                uint32_t *sel = malloc(sizeof *sel * tide_cbatch_rows(b)), n;
                TT_OK(tide_expr_filter(x, b, sel, &n, &e));
                uint32_t k = 0;
                for (uint32_t row = 0; row < tide_cbatch_rows(b); row++) {
                    g_sused = 0;
                    g_failed = 0;
                    tide_value w = ref_eval(r, b, row);
                    if (!g_failed && !w.is_null && w.u.b) {
                        if (k >= n || sel[k] != row)
                            TT_SEED(tree_seed);
                        TT_ASSERT(k < n && sel[k] == row);
                        k++;
                    }
                }
                TT_ASSERT_EQ_INT(k, n);
                free(sel);
            }
            tide_expr_free(x);
            trees++;
        }
        tide_cbatch_free(b);
    }
    fprintf(stderr, "  %d random trees, %d rows compared\n", trees, rows_checked);
}

/* One tree evaluated over batches of changing sizes: buffers grow (and
 * literal buffers are refilled), string outputs outgrow their buffers, and
 * results stay right. */
static void test_reuse_across_batches(void)
{
    uint64_t seed = tt_seed(0x5eed0002), s = seed;
    tide_err e = {0};
    static const uint32_t sizes[] = {5, 700, 3, 2100, 64, 4000};
    tide_cbatch *bs[6];
    for (int i = 0; i < 6; i++) {
        bs[i] = rand_batch(&s, sizes[i]);
        TT_ASSERT(bs[i]);
    }
    for (int it = 0; it < 150; it++) {
        static const tide_type types[] = {TIDE_TYPE_BOOLEAN, TIDE_TYPE_BIGINT, TIDE_TYPE_DOUBLE,
                                          TIDE_TYPE_STRING, TIDE_TYPE_TIMESTAMP};
        g_npool = 0;
        uint64_t tree_seed = s;
        rnode *r = gen(&s, types[it % 5], 4);
        tide_expr *x = build(r, &e);
        TT_ASSERT_MSG(x != NULL, "%s", e.msg);
        for (int k = 0; k < 6; k++) {
            const tide_expr_vec *v;
            TT_OK(tide_expr_eval(x, bs[k], NULL, 0, &v, &e));
            for (uint32_t row = 0; row < v->rows; row++) {
                char why[256];
                if (!same_or_failed(r, bs[k], x, v, row, why, sizeof why)) {
                    TT_SEED(tree_seed);
                    tide_expr_free(x);
                    TT_ASSERT_MSG(0, "tree %d batch %d row %u: %s", it, k, row, why);
                }
            }
        }
        tide_expr_free(x);
    }
    for (int i = 0; i < 6; i++)
        tide_cbatch_free(bs[i]);
}

/* Build one node over literals and evaluate it on a 1-row batch. */
static tide_cbatch *g_one;
static int eval1(tide_expr *x, tide_value *out, tide_err *e)
{
    const tide_expr_vec *v;
    if (!x)
        return -100;
    int rc = tide_expr_eval(x, g_one, NULL, 0, &v, e);
    if (rc == 0) {
        *out = (tide_value){.type = v->type, .is_null = v->nulls[0] != 0};
        switch (v->type) {
        case TIDE_TYPE_BOOLEAN: out->u.b = v->v.b[0]; break;
        case TIDE_TYPE_DOUBLE: out->u.f64 = v->v.f64[0]; break;
        case TIDE_TYPE_STRING: out->u.s = v->v.s[0]; break;
        default: out->u.i64 = v->v.i64[0]; break;
        }
    }
    return rc;
}

static tide_expr *L3(int t, tide_err *e) /* 0 false, 1 true, 2 NULL (untyped) */
{
    tide_expr *x = NULL;
    if (t == 2)
        tide_expr_literal_null(&x, TIDE_TYPE_NULL, e);
    else
        tide_expr_literal_bool(&x, t == 1, e);
    return x;
}

static void test_truth_tables(void)
{
    tide_err e = {0};
    /* Written out from the SQL standard's tables, independent of AND_T/OR_T. */
    static const char *const want_and[3][3] = {{"F", "F", "F"}, {"F", "T", "N"}, {"F", "N", "N"}};
    static const char *const want_or[3][3] = {{"F", "T", "N"}, {"T", "T", "T"}, {"N", "T", "N"}};
    for (int a = 0; a < 3; a++) {
        for (int b = 0; b < 3; b++) {
            for (int op = 0; op < 2; op++) {
                tide_expr *x = NULL;
                tide_expr_logic(&x, op ? TIDE_EXPR_OR : TIDE_EXPR_AND, L3(a, &e), L3(b, &e), &e);
                tide_value v;
                TT_OK(eval1(x, &v, &e));
                const char *got = v.is_null ? "N" : v.u.b ? "T" : "F";
                TT_ASSERT_EQ_STR(got, op ? want_or[a][b] : want_and[a][b]);
                tide_expr_free(x);
            }
        }
        tide_expr *x = NULL;
        tide_value v;
        tide_expr_not(&x, L3(a, &e), &e);
        TT_OK(eval1(x, &v, &e));
        static const char *const want_not[3] = {"T", "F", "N"};
        TT_ASSERT_EQ_STR(v.is_null ? "N" : v.u.b ? "T" : "F", want_not[a]);
        tide_expr_free(x);
        static const char *const is_want[6] = {"FFT", "TTF", "FTF", "TFT", "TFF", "FTT"};
        for (int op = 0; op < 6; op++) {
            tide_expr_is(&x, (tide_expr_is_op)op, L3(a, &e), &e);
            TT_OK(eval1(x, &v, &e));
            TT_ASSERT(!v.is_null);
            TT_ASSERT_EQ_INT(v.u.b, is_want[op][a] == 'T');
            tide_expr_free(x);
        }
    }
    /* IN with NULLs: 1 IN (2, NULL) is NULL; 1 IN (1, NULL) is TRUE; 1 NOT IN (2, NULL) is NULL */
    tide_expr *items[2], *x, *one;
    tide_value v;
    tide_expr_literal_i64(&one, 1, &e);
    tide_expr_literal_i64(&items[0], 2, &e);
    tide_expr_literal_null(&items[1], TIDE_TYPE_NULL, &e);
    TT_OK(tide_expr_in(&x, one, items, 2, false, &e));
    TT_OK(eval1(x, &v, &e));
    TT_ASSERT(v.is_null);
    tide_expr_free(x);
    tide_expr_literal_i64(&one, 1, &e);
    tide_expr_literal_f64(&items[0], 1.0, &e);
    tide_expr_literal_null(&items[1], TIDE_TYPE_NULL, &e);
    TT_OK(tide_expr_in(&x, one, items, 2, true, &e));
    TT_OK(eval1(x, &v, &e));
    TT_ASSERT(!v.is_null && !v.u.b);
    tide_expr_free(x);
}

static void test_arith_semantics(void)
{
    tide_err e = {0};
    struct { int64_t a, b; int op; bool null; int64_t want; } t[] = {
        {7, 0, TIDE_EXPR_DIV, true, 0},   {7, 0, TIDE_EXPR_MOD, true, 0},
        {-7, 2, TIDE_EXPR_DIV, false, -3}, {-7, 2, TIDE_EXPR_MOD, false, -1},
        {7, -2, TIDE_EXPR_MOD, false, 1},  {INT64_MIN, -1, TIDE_EXPR_MOD, false, 0},
        {INT64_MAX - 1, 1, TIDE_EXPR_ADD, false, INT64_MAX}, {INT64_MIN + 1, 1, TIDE_EXPR_SUB, false, INT64_MIN},
        {INT64_MIN / 2, 2, TIDE_EXPR_MUL, false, INT64_MIN}, {INT64_MIN, 1, TIDE_EXPR_DIV, false, INT64_MIN},
        /* overflows fail the row (null = true, and marked) */
        {INT64_MIN, -1, TIDE_EXPR_DIV, true, 1}, {INT64_MAX, 1, TIDE_EXPR_ADD, true, 1},
        {INT64_MIN, 1, TIDE_EXPR_SUB, true, 1}, {INT64_MAX, 2, TIDE_EXPR_MUL, true, 1},
        {-2, INT64_MAX, TIDE_EXPR_MUL, true, 1}, {INT64_MIN, -1, TIDE_EXPR_MUL, true, 1},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        for (int lit = 0; lit < 2; lit++) { /* constant divisor path, and a computed one */
            tide_expr *a, *b, *x;
            tide_value v;
            tide_expr_literal_i64(&a, t[i].a, &e);
            tide_expr_literal_i64(&b, t[i].b, &e);
            if (!lit)
                tide_expr_neg(&b, (tide_expr_neg(&b, b, &e), b), &e);
            TT_OK(tide_expr_arith(&x, t[i].op, a, b, &e));
            TT_OK(eval1(x, &v, &e));
            TT_ASSERT_EQ_INT(v.type, TIDE_TYPE_BIGINT);
            TT_ASSERT_EQ_INT(v.is_null, t[i].null);
            if (!t[i].null)
                TT_ASSERT_EQ_INT(v.u.i64, t[i].want);
            const uint8_t *rows;
            const char *why;
            bool failed = t[i].null && t[i].want == 1;
            TT_ASSERT_EQ_INT(tide_expr_faults(x, &rows, &why), failed);
            if (failed) {
                char want[64];
                snprintf(want, sizeof want, "integer overflow in BIGINT %s BIGINT", tide_expr_arith_name(t[i].op));
                TT_ASSERT_EQ_STR(why, want);
                TT_ASSERT(rows[0] == 1);
            }
            tide_expr_free(x);
        }
    }
    /* promotion and IEEE division */
    tide_expr *a, *b, *x;
    tide_value v;
    tide_expr_literal_i64(&a, 1, &e);
    tide_expr_literal_f64(&b, 0.0, &e);
    TT_OK(tide_expr_arith(&x, TIDE_EXPR_DIV, a, b, &e));
    TT_ASSERT_EQ_INT(tide_expr_type(x), TIDE_TYPE_DOUBLE);
    TT_OK(eval1(x, &v, &e));
    TT_ASSERT(!v.is_null && isinf(v.u.f64) && v.u.f64 > 0);
    tide_expr_free(x);
    /* timestamps and intervals */
    tide_expr_literal_ts(&a, 1000, &e);
    tide_expr_literal_interval(&b, 60000, &e);
    tide_expr *three;
    tide_expr_literal_i64(&three, 3, &e);
    TT_OK(tide_expr_arith(&b, TIDE_EXPR_MUL, b, three, &e));
    TT_ASSERT(tide_expr_is_interval(b));
    TT_OK(tide_expr_arith(&x, TIDE_EXPR_SUB, a, b, &e));
    TT_ASSERT_EQ_INT(tide_expr_type(x), TIDE_TYPE_TIMESTAMP);
    TT_OK(eval1(x, &v, &e));
    TT_ASSERT_EQ_INT(v.u.i64, 1000 - 180000);
    tide_expr_free(x);
    /* TIMESTAMP results outside the range fail: +- INTERVAL, FLOOR, CEIL */
    const uint8_t *rows;
    const char *why;
    tide_expr_literal_ts(&a, TIDE_TS_VALID_MAX, &e);
    tide_expr_literal_interval(&b, 1, &e);
    TT_OK(tide_expr_arith(&x, TIDE_EXPR_ADD, a, b, &e));
    TT_OK(eval1(x, &v, &e));
    TT_ASSERT(v.is_null && tide_expr_faults(x, &rows, &why) == 1);
    TT_ASSERT_EQ_STR(why, "TIMESTAMP out of range (timestamp outside 0000-01-01 00:00:00.000 .. 9999-12-31 "
                          "23:59:59.999) in TIMESTAMP(3) + INTERVAL");
    tide_expr_free(x);
    tide_expr_literal_ts(&a, TIDE_TS_VALID_MIN, &e); /* a Saturday: its week began in year -1 */
    TT_OK(tide_expr_floor(&x, a, TIDE_TS_UNIT_WEEK, false, &e));
    TT_OK(eval1(x, &v, &e));
    TT_ASSERT(v.is_null && tide_expr_faults(x, &rows, &why) == 1);
    TT_ASSERT(strstr(why, "in FLOOR(... TO WEEK)") != NULL);
    tide_expr_free(x);
    tide_expr_literal_ts(&a, TIDE_TS_VALID_MAX, &e);
    TT_OK(tide_expr_floor(&x, a, TIDE_TS_UNIT_YEAR, true, &e));
    TT_OK(eval1(x, &v, &e));
    TT_ASSERT(v.is_null && tide_expr_faults(x, &rows, &why) == 1);
    tide_expr_free(x);
    tide_expr_literal_ts(&a, TIDE_TS_VALID_MAX, &e);
    TT_OK(tide_expr_floor(&x, a, TIDE_TS_UNIT_YEAR, false, &e));
    TT_OK(eval1(x, &v, &e));
    TT_ASSERT(!v.is_null && tide_expr_faults(x, &rows, &why) == 0);
    tide_expr_free(x);
}

static void expect_type_error(tide_expr *x, int rc, int want_rc, const char *want_msg, tide_err *e)
{
    (void)x;
    if (rc != want_rc || !strstr(e->msg, want_msg)) {
        fprintf(stderr, "  want %d '%s', got %d '%s'\n", want_rc, want_msg, rc, e->msg);
        tt_failed_now = 1;
    }
    tide_err_clear(e);
}

static void test_type_errors(void)
{
    tide_err e = {0};
    tide_expr *a, *b, *x = (tide_expr *)1, *c;
    int rc;

    tide_expr_literal_str(&a, "x", 1, &e);
    tide_expr_literal_i64(&b, 1, &e);
    rc = tide_expr_compare(&x, TIDE_EXPR_EQ, a, b, &e);
    TT_ASSERT(x == NULL);
    expect_type_error(x, rc, TIDE_EINVAL, "cannot compare STRING with BIGINT", &e);

    tide_expr_column(&a, g_schema, C_T1, &e);
    tide_expr_column(&b, g_schema, C_I1, &e);
    rc = tide_expr_arith(&x, TIDE_EXPR_ADD, a, b, &e);
    expect_type_error(x, rc, TIDE_EINVAL, "cannot apply + to TIMESTAMP(3) and BIGINT", &e);

    tide_expr_literal_interval(&a, 5, &e);
    tide_expr_literal_i64(&b, 1, &e);
    rc = tide_expr_arith(&x, TIDE_EXPR_ADD, a, b, &e);
    expect_type_error(x, rc, TIDE_EINVAL, "cannot apply + to INTERVAL and BIGINT", &e);

    tide_expr_column(&a, g_schema, C_S1, &e);
    tide_expr_literal_f64(&b, 1, &e);
    rc = tide_expr_arith(&x, TIDE_EXPR_MUL, a, b, &e);
    expect_type_error(x, rc, TIDE_EINVAL, "cannot apply * to STRING and DOUBLE", &e);

    tide_expr_column(&a, g_schema, C_I1, &e);
    tide_expr_literal_bool(&b, true, &e);
    rc = tide_expr_logic(&x, TIDE_EXPR_AND, a, b, &e);
    expect_type_error(x, rc, TIDE_EINVAL, "AND needs a BOOLEAN operand, not BIGINT", &e);

    tide_expr_column(&a, g_schema, C_B, &e);
    rc = tide_expr_cast(&x, a, TIDE_TYPE_TIMESTAMP, false, &e);
    expect_type_error(x, rc, TIDE_EINVAL, "cannot cast BOOLEAN to TIMESTAMP(3)", &e);

    tide_expr_column(&a, g_schema, C_S1, &e);
    tide_expr_column(&b, g_schema, C_S2, &e);
    rc = tide_expr_like(&x, a, b, -1, false, &e);
    expect_type_error(x, rc, TIDE_EUNSUPPORTED, "LIKE pattern must be a constant", &e);

    tide_expr *conds[2], *vals[2];
    tide_expr_literal_bool(&conds[0], true, &e);
    tide_expr_literal_bool(&conds[1], false, &e);
    tide_expr_literal_str(&vals[0], "a", 1, &e);
    tide_expr_literal_i64(&vals[1], 2, &e);
    rc = tide_expr_case(&x, conds, vals, 2, NULL, &e);
    expect_type_error(x, rc, TIDE_EINVAL, "CASE operands have incompatible types STRING and BIGINT", &e);

    tide_expr_column(&a, g_schema, C_I1, &e);
    tide_expr_literal_str(&b, "a", 1, &e);
    tide_expr_literal_str(&c, "b", 1, &e);
    rc = tide_expr_between(&x, a, b, c, false, &e);
    expect_type_error(x, rc, TIDE_EINVAL, "cannot compare BIGINT with STRING", &e);

    tide_expr_column(&a, g_schema, C_T1, &e);
    tide_expr_literal_str(&b, "yyyy-QQ", 7, &e);
    rc = tide_expr_date_format(&x, a, b, &e);
    expect_type_error(x, rc, TIDE_EINVAL, "DATE_FORMAT pattern letter 'Q' at position 6", &e);

    tide_expr_literal_str(&a, "abc", 3, &e);
    tide_expr_literal_str(&b, "a!", 2, &e);
    rc = tide_expr_like(&x, a, b, '!', false, &e);
    expect_type_error(x, rc, TIDE_EINVAL, "ends with the escape", &e);

    /* a failed child propagates, its error kept, nothing leaks (ASan) */
    tide_expr_literal_str(&a, "x", 1, &e);
    tide_expr_literal_i64(&b, 1, &e);
    tide_expr_compare(&c, TIDE_EXPR_LT, a, b, &e); /* fails: c = NULL */
    tide_expr_literal_bool(&a, true, &e);
    rc = tide_expr_logic(&x, TIDE_EXPR_OR, a, c, &e);
    expect_type_error(x, rc, TIDE_EINVAL, "cannot compare STRING with BIGINT", &e);

    tide_expr_column(&a, g_schema, 99, &e);
    TT_ASSERT(a == NULL && e.code == TIDE_EINVAL);
    tide_err_clear(&e);

    /* untyped NULL coerces */
    tide_expr_column(&a, g_schema, C_S1, &e);
    tide_expr_literal_null(&b, TIDE_TYPE_NULL, &e);
    TT_OK(tide_expr_compare(&x, TIDE_EXPR_EQ, a, b, &e));
    tide_expr_free(x);
    TT_ASSERT(!tt_failed_now);
}

static tide_cbatch *str_batch(const char *const *vals, uint32_t n)
{
    tide_cbatch *b = NULL;
    tide_err e = {0};
    if (tide_cbatch_create(&b, g_schema, n, TIDE_CBATCH_POS, &e))
        return NULL;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t r = 0;
        tide_cbatch_add_row(b, &r);
        tide_cbatch_set_pos(b, r, 500 + i);
        if (vals[i])
            tide_cbatch_set_str(b, C_S1, r, vals[i], strlen(vals[i]), &e);
        tide_cbatch_set_i64(b, C_I1, r, (int64_t)i);
    }
    return b;
}

static void test_cast_errors_and_laziness(void)
{
    tide_err e = {0};
    const char *vals[] = {"12", " -3 ", "abc", NULL, ""};
    tide_cbatch *b = str_batch(vals, 5);
    TT_ASSERT(b);
    tide_expr *s, *x;
    const tide_expr_vec *v;

    /* TRY_CAST: NULL */
    tide_expr_column(&s, g_schema, C_S1, &e);
    TT_OK(tide_expr_cast(&x, s, TIDE_TYPE_BIGINT, true, &e));
    TT_OK(tide_expr_eval(x, b, NULL, 0, &v, &e));
    TT_ASSERT(!v->nulls[0] && v->v.i64[0] == 12 && !v->nulls[1] && v->v.i64[1] == -3);
    TT_ASSERT(v->nulls[2] && v->nulls[3] && v->nulls[4]);
    tide_expr_free(x);

    /* CAST: an error naming the value, the row and the source position */
    tide_expr_column(&s, g_schema, C_S1, &e);
    TT_OK(tide_expr_cast(&x, s, TIDE_TYPE_BIGINT, false, &e));
    TT_ASSERT_EQ_INT(tide_expr_eval(x, b, NULL, 0, &v, &e), TIDE_EINVAL);
    TT_ASSERT_MSG(strstr(e.msg, "CAST('abc' AS BIGINT) failed") && strstr(e.msg, "row 2") &&
                      strstr(e.msg, "source position 502"),
                  "%s", e.msg);
    tide_err_clear(&e);
    /* rows outside the selection do not raise */
    uint32_t sel[] = {0, 1, 3};
    TT_OK(tide_expr_eval(x, b, sel, 3, &v, &e));
    TT_ASSERT(v->v.i64[0] == 12 && v->v.i64[1] == -3);
    tide_expr_free(x);

    /* CASE WHEN i1 < 2 THEN CAST(s1 AS BIGINT) ELSE -1 END: rows 2, 4 never cast */
    tide_expr *cond, *c1, *two, *then, *els;
    tide_expr_column(&c1, g_schema, C_I1, &e);
    tide_expr_literal_i64(&two, 2, &e);
    tide_expr_compare(&cond, TIDE_EXPR_LT, c1, two, &e);
    tide_expr_column(&s, g_schema, C_S1, &e);
    tide_expr_cast(&then, s, TIDE_TYPE_BIGINT, false, &e);
    tide_expr_literal_i64(&els, -1, &e);
    TT_OK(tide_expr_case(&x, &cond, &then, 1, els, &e));
    TT_OK(tide_expr_eval(x, b, NULL, 0, &v, &e));
    TT_ASSERT(v->v.i64[0] == 12 && v->v.i64[1] == -3 && v->v.i64[2] == -1 && v->v.i64[4] == -1);
    tide_expr_free(x);

    /* i1 < 2 AND CAST(s1 AS BIGINT) > 0: the right side only where the left is not FALSE */
    tide_expr *zero, *gt;
    tide_expr_column(&c1, g_schema, C_I1, &e);
    tide_expr_literal_i64(&two, 2, &e);
    tide_expr_compare(&cond, TIDE_EXPR_LT, c1, two, &e);
    tide_expr_column(&s, g_schema, C_S1, &e);
    tide_expr_cast(&then, s, TIDE_TYPE_BIGINT, false, &e);
    tide_expr_literal_i64(&zero, 0, &e);
    tide_expr_compare(&gt, TIDE_EXPR_GT, then, zero, &e);
    TT_OK(tide_expr_logic(&x, TIDE_EXPR_AND, cond, gt, &e));
    uint32_t n, sel5[5];
    TT_OK(tide_expr_filter(x, b, sel5, &n, &e));
    TT_ASSERT(n == 1 && sel5[0] == 0);
    tide_expr_free(x);

    /* COALESCE(TRY_CAST(s1 AS BIGINT), CAST('7' AS BIGINT)) */
    tide_expr *args[2], *seven;
    tide_expr_column(&s, g_schema, C_S1, &e);
    tide_expr_cast(&args[0], s, TIDE_TYPE_BIGINT, true, &e);
    tide_expr_literal_str(&seven, "7", 1, &e);
    tide_expr_cast(&args[1], seven, TIDE_TYPE_BIGINT, false, &e);
    TT_OK(tide_expr_coalesce(&x, args, 2, &e));
    TT_OK(tide_expr_eval(x, b, NULL, 0, &v, &e));
    TT_ASSERT(v->v.i64[0] == 12 && v->v.i64[2] == 7 && v->v.i64[3] == 7 && !v->nulls[4]);
    tide_expr_free(x);
    tide_cbatch_free(b);
}

static tide_value cast1(tide_value in, tide_type to, tide_err *e)
{
    tide_expr *l, *x;
    tide_value v = {0};
    tide_expr_literal(&l, &in, e);
    static char keep[64]; /* the result outlives the tree: copy its bytes */
    if (tide_expr_cast(&x, l, to, true, e) || eval1(x, &v, e))
        v.type = TIDE_TYPE_COUNT;
    if (v.type == TIDE_TYPE_STRING && !v.is_null && v.u.s.len <= sizeof keep) {
        memcpy(keep, v.u.s.ptr, v.u.s.len);
        v.u.s.ptr = keep;
    }
    tide_expr_free(x);
    return v;
}

static bool str_is(tide_value v, const char *s)
{
    return v.type == TIDE_TYPE_STRING && !v.is_null && v.u.s.len == strlen(s) && memcmp(v.u.s.ptr, s, v.u.s.len) == 0;
}

static void test_cast_round_trips(void)
{
    tide_err e = {0};
    /* TIMESTAMP from BIGINT or STRING: only inside its range (TRY_CAST: NULL) */
    TT_ASSERT(cast1(vi64(TIDE_TS_VALID_MAX), TIDE_TYPE_TIMESTAMP, &e).u.i64 == TIDE_TS_VALID_MAX);
    TT_ASSERT(cast1(vi64(TIDE_TS_VALID_MIN), TIDE_TYPE_TIMESTAMP, &e).u.i64 == TIDE_TS_VALID_MIN);
    TT_ASSERT(cast1(vi64(TIDE_TS_VALID_MAX + 1), TIDE_TYPE_TIMESTAMP, &e).is_null);
    TT_ASSERT(cast1(vi64(INT64_MIN), TIDE_TYPE_TIMESTAMP, &e).is_null);
    static char plus[] = "+10000-01-01";
    TT_ASSERT(cast1(vstr((tide_str){plus, 12}), TIDE_TYPE_TIMESTAMP, &e).is_null);
    /* DOUBLE -> STRING table */
    struct { double d; const char *s; } ft[] = {
        {2.0, "2.0"}, {0.1, "0.1"}, {-1.5, "-1.5"}, {1e20, "1e+20"}, {NAN, "NaN"}, {INFINITY, "Infinity"},
        {-INFINITY, "-Infinity"}, {-0.0, "-0.0"}, {1.0 / 3, "0.3333333333333333"}, {123456789.0, "123456789.0"},
    };
    for (size_t i = 0; i < sizeof ft / sizeof ft[0]; i++) {
        tide_value v = cast1(vf64(ft[i].d), TIDE_TYPE_STRING, &e);
        TT_ASSERT_MSG(str_is(v, ft[i].s), "%g -> '%.*s'", ft[i].d, (int)v.u.s.len, v.u.s.ptr);
    }
    TT_ASSERT(str_is(cast1(vbool(true), TIDE_TYPE_STRING, &e), "TRUE"));
    TT_ASSERT(str_is(cast1(vi64(INT64_MIN), TIDE_TYPE_STRING, &e), "-9223372036854775808"));
    TT_ASSERT(str_is(cast1(vts(0), TIDE_TYPE_STRING, &e), "1970-01-01 00:00:00.000"));
    /* STRING -> TIMESTAMP accepts tide_ts_parse's forms, trimmed */
    const char *tsin[] = {" 2024-02-29 12:34:56.789 ", "2024-02-29T12:34:56.789Z", "1709210096789"};
    for (int i = 0; i < 3; i++) {
        tide_value v = cast1(vstr((tide_str){tsin[i], (uint32_t)strlen(tsin[i])}), TIDE_TYPE_TIMESTAMP, &e);
        TT_ASSERT_MSG(!v.is_null && v.u.i64 == 1709210096789LL, "%s", tsin[i]);
    }
    TT_ASSERT(cast1(vstr((tide_str){"2023-02-29", 10}), TIDE_TYPE_TIMESTAMP, &e).is_null);
    TT_ASSERT(cast1(vf64(9.3e18), TIDE_TYPE_BIGINT, &e).is_null);
    TT_ASSERT(cast1(vf64(-9.2233720368547758e18), TIDE_TYPE_BIGINT, &e).u.i64 == INT64_MIN);
    TT_ASSERT(cast1(vf64(-2.9), TIDE_TYPE_BIGINT, &e).u.i64 == -2);

    /* random round trips through STRING, built as one vectorised tree */
    uint64_t seed = tt_seed(77), s = seed;
    for (int it = 0; it < 40; it++) {
        tide_cbatch *b = rand_batch(&s, 256);
        /* overwrite some values with wide-range ones */
        for (uint32_t r = 0; r < 256; r++) {
            if (rnd(&s, 2)) {
                uint64_t bits = tt_rand(&s);
                double d;
                memcpy(&d, &bits, 8);
                tide_cbatch_set_f64(b, C_D1, r, d);
            }
            if (rnd(&s, 2)) /* (a TIMESTAMP is inside its range: data/types.h) */
                tide_cbatch_set_i64(b, C_T1, r,
                                    TIDE_TS_VALID_MIN + (int64_t)(tt_rand(&s) % (uint64_t)TIDE_TS_VALID_SPAN));
            if (r < 4)
                tide_cbatch_set_i64(b, C_T1, r, (int64_t[]){TIDE_TS_VALID_MIN, TIDE_TS_VALID_MAX, -1, 0}[r]);
        }
        for (int col = 0; col < 4; col++) {
            static const int cols[4] = {C_D1, C_T1, C_I1, C_B};
            tide_expr *c, *x;
            tide_type t = COLT[cols[col]];
            tide_expr_column(&c, g_schema, (uint32_t)cols[col], &e);
            tide_expr_cast(&c, c, TIDE_TYPE_STRING, false, &e);
            TT_OK(tide_expr_cast(&x, c, t, false, &e));
            const tide_expr_vec *v;
            TT_OK(tide_expr_eval(x, b, NULL, 0, &v, &e));
            for (uint32_t r = 0; r < 256; r++) {
                tide_value want = tide_cbatch_get(b, (uint32_t)cols[col], r);
                char why[256];
                if (!same(want, v, r, why, sizeof why))
                    TT_SEED(seed);
                TT_ASSERT_MSG(same(want, v, r, why, sizeof why), "column %d row %u: %s", cols[col], r, why);
            }
            tide_expr_free(x);
        }
        tide_cbatch_free(b);
    }
}

static void test_like_table(void)
{
    tide_err e = {0};
    struct { const char *s, *p; int esc; bool want; } t[] = {
        {"abc", "abc", -1, true},     {"abc", "a%", -1, true},      {"abc", "%c", -1, true},
        {"abc", "%b%", -1, true},     {"abc", "a_c", -1, true},     {"abc", "a_", -1, false},
        {"", "%", -1, true},          {"", "_", -1, false},         {"\xc3\xa9x", "_x", -1, true},
        {"a%b", "a!%b", '!', true},   {"axb", "a!%b", '!', false},  {"a_", "a!_", '!', true},
        {"aaab", "%a%ab", -1, true},  {"abab", "%ab%ab", -1, true}, {"ab", "%ab%ab", -1, false},
        {"ABC", "abc", -1, false},    {"a\nb", "a_b", -1, true},    {"xyz", "%%%", -1, true},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        tide_expr *a, *p, *x;
        tide_value v;
        tide_expr_literal_str(&a, t[i].s, strlen(t[i].s), &e);
        tide_expr_literal_str(&p, t[i].p, strlen(t[i].p), &e);
        TT_OK(tide_expr_like(&x, a, p, t[i].esc, false, &e));
        TT_OK(eval1(x, &v, &e));
        TT_ASSERT_MSG(v.u.b == t[i].want, "'%s' LIKE '%s'", t[i].s, t[i].p);
        TT_ASSERT_EQ_INT(like_rec(t[i].p, (uint32_t)strlen(t[i].p), t[i].s, (uint32_t)strlen(t[i].s), t[i].esc),
                         t[i].want);
        tide_expr_free(x);
    }
}

static void test_time_functions(void)
{
    /* wide random timestamps, every unit, FLOOR / CEIL / EXTRACT against libc */
    tide_err e = {0};
    uint64_t seed = tt_seed(99), s = seed;
    tide_cbatch *b = NULL;
    TT_OK(tide_cbatch_create(&b, g_schema, 1024, 0, &e));
    for (uint32_t i = 0; i < 1024; i++) {
        uint32_t r = 0;
        tide_cbatch_add_row(b, &r);
        tide_cbatch_set_i64(b, C_T1, r, rand_ts(&s));
    }
    for (int u = 0; u < TIDE_TS_UNIT_COUNT; u++) {
        for (int kind = 0; kind < 3; kind++) {
            tide_expr *c, *x;
            tide_expr_column(&c, g_schema, C_T1, &e);
            if (kind == 2)
                TT_OK(tide_expr_extract(&x, (tide_ts_unit)u, c, &e));
            else
                TT_OK(tide_expr_floor(&x, c, (tide_ts_unit)u, kind == 1, &e));
            const tide_expr_vec *v;
            TT_OK(tide_expr_eval(x, b, NULL, 0, &v, &e));
            for (uint32_t r = 0; r < 1024; r++) {
                int64_t ts = tide_cbatch_i64(b, C_T1, r);
                int64_t want = kind == 2 ? ref_extract(ts, (tide_ts_unit)u) : ref_floor(ts, (tide_ts_unit)u, kind == 1);
                TT_ASSERT_MSG(v->v.i64[r] == want, "unit %s kind %d ts %lld: want %lld got %lld",
                              tide_ts_unit_name((tide_ts_unit)u), kind, (long long)ts, (long long)want,
                              (long long)v->v.i64[r]);
            }
            tide_expr_free(x);
        }
    }
    tide_cbatch_free(b);
    /* the sentinels: CEIL saturates */
    tide_expr *l, *x;
    tide_value v;
    tide_expr_literal_ts(&l, INT64_MAX - 5, &e);
    TT_OK(tide_expr_floor(&x, l, TIDE_TS_UNIT_DAY, true, &e));
    TT_OK(eval1(x, &v, &e));
    TT_ASSERT_EQ_INT(v.u.i64, INT64_MAX);
    tide_expr_free(x);
    /* DATE_FORMAT with quotes, negative years */
    tide_expr *p;
    tide_expr_literal_ts(&l, -62198755200000LL /* -0001-01-01 */ + 3723004, &e);
    const char *pat = "yyyy|MM|dd 'o''clock' HH:mm:ss.SSS";
    tide_expr_literal_str(&p, pat, strlen(pat), &e);
    TT_OK(tide_expr_date_format(&x, l, p, &e));
    TT_OK(eval1(x, &v, &e));
    TT_ASSERT_MSG(str_is(v, "-0001|01|01 o'clock 01:02:03.004"), "%.*s", (int)v.u.s.len, v.u.s.ptr);
    tide_expr_free(x);
}

/* A STRING literal (the caller's text). */
static tide_expr *lit_s(const char *t)
{
    tide_expr *x = NULL;
    tide_err e = {0};
    tide_expr_literal_str(&x, t, strlen(t), &e);
    return x;
}

static tide_expr *lit_ts(const char *t)
{
    int64_t ms = 0;
    tide_expr *x = NULL;
    tide_err e = {0};
    tide_ts_error te;
    if (tide_ts_parse(t, strlen(t), &ms, &te) == 0)
        tide_expr_literal_ts(&x, ms, &e);
    return x;
}

/* Flink's date and time functions: DAYOFWEEK, DAYOFYEAR, TIMESTAMPADD
 * (MONTH, QUARTER, YEAR clamp the day) and TO_TIMESTAMP of DATE_FORMAT's
 * text against libc over random instants; TIMESTAMPDIFF(MONTH) and the
 * parsing rules against hand-computed values. */
static void test_flink_time_functions(void)
{
    tide_err e = {0};
    uint64_t seed = tt_seed(101), s = seed;
    enum { N = 1024 };
    tide_cbatch *b = NULL;
    TT_OK(tide_cbatch_create(&b, g_schema, N, 0, &e));
    for (uint32_t i = 0; i < N; i++) {
        uint32_t r = 0;
        tide_cbatch_add_row(b, &r);
        tide_cbatch_set_i64(b, C_T1, r, rand_ts(&s));
        tide_cbatch_set_i64(b, C_I1, r, (int64_t)rnd(&s, 400) - 200);
    }
    const char *pat = "yyyy-MM-dd HH:mm:ss.SSS";
    for (int f = 0; f < 6; f++) {
        tide_expr *c = NULL, *x = NULL, *k = NULL;
        tide_expr_column(&c, g_schema, C_T1, &e);
        if (f < 2) {
            TT_OK(tide_expr_day_of(&x, f == 1, c, &e));
        } else if (f < 5) {
            static const tide_ts_unit u[] = {TIDE_TS_UNIT_MONTH, TIDE_TS_UNIT_QUARTER, TIDE_TS_UNIT_YEAR};
            tide_expr_column(&k, g_schema, C_I1, &e);
            TT_OK(tide_expr_ts_add(&x, u[f - 2], k, c, &e));
        } else {
            tide_expr *txt = NULL;
            TT_OK(tide_expr_date_format(&txt, c, lit_s(pat), &e));
            TT_OK(tide_expr_ts_parse(&x, txt, lit_s(pat), false, &e));
        }
        const tide_expr_vec *v;
        TT_OK(tide_expr_eval(x, b, NULL, 0, &v, &e));
        for (uint32_t r = 0; r < N; r++) {
            int64_t ts = tide_cbatch_i64(b, C_T1, r), want;
            struct tm tm;
            int milli;
            ref_tm(ts, &tm, &milli);
            bool null = false;
            if (f == 0) {
                want = tm.tm_wday + 1;
            } else if (f == 1) {
                want = tm.tm_yday + 1;
            } else if (f < 5) {
                int64_t k = tide_cbatch_i64(b, C_I1, r) * (f == 2 ? 1 : f == 3 ? 3 : 12);
                int mday = tm.tm_mday;
                tm.tm_mday = 1;
                tm.tm_mon += (int)k;
                struct tm first = tm;
                int64_t m0 = ref_tm_ms(&first); /* normalizes the month */
                struct tm nt;
                int nm;
                ref_tm(m0, &nt, &nm);
                int mdays = nt.tm_mon == 1 ? ((nt.tm_year + 1900) % 4 == 0 && ((nt.tm_year + 1900) % 100 != 0 ||
                                                                               (nt.tm_year + 1900) % 400 == 0)
                                                  ? 29
                                                  : 28)
                            : (nt.tm_mon == 3 || nt.tm_mon == 5 || nt.tm_mon == 8 || nt.tm_mon == 10) ? 30
                                                                                                     : 31;
                want = m0 + (int64_t)((mday < mdays ? mday : mdays) - 1) * 86400000 + milli;
                null = !tide_ts_valid(want);
            } else {
                want = ts;
                null = ts < 0 - 62167219200000LL; /* years before 0000 do not fit 'yyyy' */
            }
            if (null)
                continue;
            TT_ASSERT_MSG(!v->nulls[r] && v->v.i64[r] == want, "f %d ts %lld: want %lld got %lld%s", f, (long long)ts,
                          (long long)want, (long long)v->v.i64[r], v->nulls[r] ? " (NULL)" : "");
        }
        tide_expr_free(x);
    }
    tide_cbatch_free(b);

    /* TIMESTAMPDIFF(MONTH / YEAR / DAY, a, b), by hand (Calcite's rule) */
    static const struct {
        tide_ts_unit u;
        const char *a, *b;
        int64_t want;
    } diffs[] = {
        {TIDE_TS_UNIT_MONTH, "2024-01-31 00:00:00", "2024-02-29 00:00:00", 1},
        {TIDE_TS_UNIT_MONTH, "2024-01-31 12:00:00", "2024-02-29 06:00:00", 0}, /* a + 1 month (clamped), earlier in the day */
        {TIDE_TS_UNIT_MONTH, "2024-01-15 12:00:00", "2024-02-15 06:00:00", 0}, /* the day reached, not the time */
        {TIDE_TS_UNIT_MONTH, "2024-01-15 06:00:00", "2024-02-15 12:00:00", 1},
        {TIDE_TS_UNIT_MONTH, "2024-03-31 00:00:00", "2024-02-29 00:00:00", -1},
        {TIDE_TS_UNIT_MONTH, "2023-05-10 00:00:00", "2024-05-09 23:59:59.999", 11},
        {TIDE_TS_UNIT_YEAR, "2023-05-10 00:00:00", "2024-05-09 23:59:59.999", 0},
        {TIDE_TS_UNIT_YEAR, "2020-02-29 00:00:00", "2021-02-28 00:00:00", 1},
        {TIDE_TS_UNIT_QUARTER, "2024-01-01 00:00:00", "2024-12-31 00:00:00", 3},
        {TIDE_TS_UNIT_DAY, "2024-01-01 00:00:00", "2023-12-30 00:00:01", -1}, /* toward zero */
        {TIDE_TS_UNIT_WEEK, "2024-01-01 00:00:00", "2024-01-15 00:00:00", 2},
    };
    for (size_t i = 0; i < sizeof diffs / sizeof diffs[0]; i++) {
        tide_expr *x = NULL;
        tide_value v;
        TT_OK(tide_expr_ts_diff(&x, diffs[i].u, lit_ts(diffs[i].a), lit_ts(diffs[i].b), &e));
        TT_OK(eval1(x, &v, &e));
        TT_ASSERT_MSG(!v.is_null && v.u.i64 == diffs[i].want, "TIMESTAMPDIFF(%s, %s, %s): want %lld got %lld",
                      tide_ts_unit_name(diffs[i].u), diffs[i].a, diffs[i].b, (long long)diffs[i].want,
                      (long long)v.u.i64);
        tide_expr_free(x);
    }

    /* TO_TIMESTAMP / UNIX_TIMESTAMP texts, by hand */
    static const struct {
        const char *text, *fmt; /* fmt NULL: the default form */
        const char *want;       /* NULL: does not parse */
    } parses[] = {
        {"2024-05-01 08:09:10", NULL, "2024-05-01 08:09:10.000"},
        {"2024-5-1 8:9:1", NULL, "2024-05-01 08:09:01.000"},
        {"2024-05-01", NULL, "2024-05-01 00:00:00.000"},
        {"2024-05-01 08:09:10.123456", NULL, "2024-05-01 08:09:10.123"},
        {"2024-05-01 08:09:10.5", NULL, "2024-05-01 08:09:10.500"},
        {"2024-02-30 00:00:00", NULL, NULL},
        {"2023-02-29", NULL, NULL},
        {"2024-05-01T08:09:10", NULL, NULL},
        {"2024-05-01 24:00:00", NULL, NULL},
        {"2024-05-01 08:09", NULL, NULL},
        {" 2024-05-01", NULL, NULL},
        {"", NULL, NULL},
        {"01/05/2024 08h", "dd/MM/yyyy HH'h'", "2024-05-01 08:00:00.000"},
        {"20240501", "yyyyMMdd", "2024-05-01 00:00:00.000"},
        {"2024-05-01 08", "yyyyMMdd", NULL},
        {"1/05/2024 08h", "dd/MM/yyyy HH'h'", NULL},
        {"08:09", "HH:mm", "1970-01-01 08:09:00.000"},
    };
    for (size_t i = 0; i < sizeof parses / sizeof parses[0]; i++) {
        for (int sec = 0; sec < 2; sec++) {
            tide_expr *x = NULL;
            tide_value v;
            TT_OK(tide_expr_ts_parse(&x, lit_s(parses[i].text), parses[i].fmt ? lit_s(parses[i].fmt) : NULL, sec, &e));
            TT_OK(eval1(x, &v, &e));
            int64_t want = 0;
            tide_ts_error te;
            if (parses[i].want)
                tide_ts_parse(parses[i].want, strlen(parses[i].want), &want, &te);
            if (!sec)
                TT_ASSERT_MSG(parses[i].want ? !v.is_null && v.u.i64 == want : v.is_null, "TO_TIMESTAMP('%s')",
                              parses[i].text);
            else
                TT_ASSERT_MSG(!v.is_null && v.u.i64 == (parses[i].want ? want / 1000 : INT64_MIN),
                              "UNIX_TIMESTAMP('%s') = %lld", parses[i].text, (long long)v.u.i64);
            tide_expr_free(x);
        }
    }

    /* TO_TIMESTAMP_LTZ and TIMESTAMPADD fail rows outside the range */
    tide_expr *x = NULL, *n = NULL;
    tide_value v;
    tide_expr_literal_i64(&n, 253402300800LL /* 10000-01-01 in seconds */, &e);
    TT_OK(tide_expr_from_epoch(&x, n, 0, &e));
    TT_OK(eval1(x, &v, &e));
    const uint8_t *rows;
    const char *why;
    TT_ASSERT(v.is_null && tide_expr_faults(x, &rows, &why) == 1 && strstr(why, "TO_TIMESTAMP_LTZ"));
    tide_expr_free(x);
    tide_expr_literal_i64(&n, 1, &e);
    TT_OK(tide_expr_ts_add(&x, TIDE_TS_UNIT_YEAR, n, lit_ts("9999-06-01 00:00:00"), &e));
    TT_OK(eval1(x, &v, &e));
    TT_ASSERT(v.is_null && tide_expr_faults(x, &rows, &why) == 1 && strstr(why, "TIMESTAMPADD(YEAR"));
    tide_expr_free(x);
    /* processing time from an injected clock: read at each evaluation */
    tide_clock_manual mc;
    tide_clock_manual_init(&mc, 1714617000123LL); /* 2024-05-02 02:30:00.123 */
    static const struct {
        tide_expr_now_kind k;
        int64_t want;
    } nows[] = {{TIDE_EXPR_NOW, 1714617000123LL}, {TIDE_EXPR_NOW_DATE, 1714608000000LL},
                {TIDE_EXPR_NOW_SECONDS, 1714617000LL}};
    for (int i = 0; i < 3; i++) {
        TT_OK(tide_expr_now(&x, &mc.clock, nows[i].k, &e));
        TT_OK(eval1(x, &v, &e));
        TT_ASSERT_EQ_INT(v.u.i64, nows[i].want);
        mc.now_ms += 86400000;
        TT_OK(eval1(x, &v, &e));
        TT_ASSERT_EQ_INT(v.u.i64, nows[i].want + (i == 2 ? 86400 : 86400000));
        mc.now_ms -= 86400000;
        tide_expr_free(x);
    }
    tide_expr_literal_i64(&n, 7, &e);
    TT_ASSERT(tide_expr_from_epoch(&x, n, 6, &e) == TIDE_EINVAL && !x);
    TT_ASSERT(tide_expr_ts_parse(&x, lit_s("x"), lit_s("yyyy-QQ"), false, &e) == TIDE_EINVAL && !x);
}

static void test_strings(void)
{
    tide_err e = {0};
    struct { const char *s; int64_t start, len; bool has_len; const char *want; } t[] = {
        {"hello", 2, 3, true, "ell"}, {"hello", 0, 2, true, "h"},     {"hello", -5, 100, true, "hello"},
        {"hello", 4, 0, false, "lo"}, {"hello", 9, 1, true, ""},      {"h\xc3\xa9llo", 2, 2, true, "\xc3\xa9l"},
        {"hello", 1, INT64_MAX, true, "hello"}, {"hello", INT64_MIN, INT64_MAX, true, ""},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        tide_expr *a, *st, *ln = NULL, *x;
        tide_value v;
        tide_expr_literal_str(&a, t[i].s, strlen(t[i].s), &e);
        tide_expr_literal_i64(&st, t[i].start, &e);
        if (t[i].has_len)
            tide_expr_literal_i64(&ln, t[i].len, &e);
        TT_OK(tide_expr_substring(&x, a, st, ln, &e));
        TT_OK(eval1(x, &v, &e));
        TT_ASSERT_MSG(str_is(v, t[i].want), "case %zu: '%.*s'", i, (int)v.u.s.len, v.u.s.ptr);
        tide_expr_free(x);
    }
    tide_expr *a, *st, *ln, *x;
    tide_value v;
    tide_expr_literal_str(&a, "abc", 3, &e);
    tide_expr_literal_i64(&st, 1, &e);
    tide_expr_literal_i64(&ln, -1, &e);
    TT_OK(tide_expr_substring(&x, a, st, ln, &e));
    TT_OK(eval1(x, &v, &e));
    TT_ASSERT(v.is_null);
    tide_expr_free(x);
    tide_expr_literal_str(&a, "  Grüße ", 10, &e);
    tide_expr_trim(&a, TIDE_EXPR_TRIM_BOTH, a, &e);
    tide_expr_str_fn(&a, TIDE_EXPR_UPPER, a, &e);
    tide_expr *b2;
    tide_expr_literal_str(&b2, "!", 1, &e);
    TT_OK(tide_expr_concat(&x, a, b2, &e));
    TT_OK(eval1(x, &v, &e));
    TT_ASSERT(str_is(v, "GRüßE!"));
    tide_expr_free(x);
}

static void test_filter_project(void)
{
    tide_err e = {0};
    uint64_t seed = tt_seed(4242), s = seed;
    tide_schema *os = NULL;
    TT_OK(tide_schema_create(&os, &e));
    TT_OK(tide_schema_add(os, "t", TIDE_TYPE_TIMESTAMP, true, &e));
    TT_OK(tide_schema_add(os, "x", TIDE_TYPE_BIGINT, true, &e));
    TT_OK(tide_schema_add(os, "u", TIDE_TYPE_STRING, true, &e));
    for (int it = 0; it < 20; it++) {
        tide_cbatch *in = rand_batch(&s, 500), *out = NULL;
        TT_OK(tide_cbatch_create(&out, os, 600, TIDE_CBATCH_OPS | TIDE_CBATCH_POS, &e));
        /* WHERE i1 % 3 = 1 OR s1 LIKE 'a%'  SELECT t1, i1 * 2, UPPER(s1) */
        tide_expr *c, *l, *m, *p1, *p2, *pred, *ex[3];
        tide_expr_column(&c, g_schema, C_I1, &e);
        tide_expr_literal_i64(&l, 3, &e);
        tide_expr_arith(&m, TIDE_EXPR_MOD, c, l, &e);
        tide_expr_literal_i64(&l, 1, &e);
        tide_expr_compare(&p1, TIDE_EXPR_EQ, m, l, &e);
        tide_expr_column(&c, g_schema, C_S1, &e);
        tide_expr_literal_str(&l, "a%", 2, &e);
        tide_expr_like(&p2, c, l, -1, false, &e);
        TT_OK(tide_expr_logic(&pred, TIDE_EXPR_OR, p1, p2, &e));
        tide_expr_column(&ex[0], g_schema, C_T1, &e);
        tide_expr_column(&c, g_schema, C_I1, &e);
        tide_expr_literal_i64(&l, 2, &e);
        tide_expr_arith(&ex[1], TIDE_EXPR_MUL, c, l, &e);
        tide_expr_column(&c, g_schema, C_S1, &e);
        TT_OK(tide_expr_str_fn(&ex[2], TIDE_EXPR_UPPER, c, &e));
        uint32_t sel[500], n;
        TT_OK(tide_expr_filter(pred, in, sel, &n, &e));
        TT_OK(tide_expr_project(ex, 3, in, sel, n, out, &e));
        uint32_t k = 0, kept = 0, overflowed = 0;
        for (uint32_t r = 0; r < 500; r++) {
            tide_value i1 = tide_cbatch_get(in, C_I1, r), s1 = tide_cbatch_get(in, C_S1, r);
            bool a = !i1.is_null && i1.u.i64 % 3 == 1;
            bool b = !s1.is_null && s1.u.s.len && s1.u.s.ptr[0] == 'a';
            if (!(a || b))
                continue;
            TT_ASSERT(k < n && sel[k] == r);
            __int128 twice = (__int128)i1.u.i64 * 2;
            if (!i1.is_null && (twice > INT64_MAX || twice < INT64_MIN)) {
                overflowed++; /* a failed row: not appended */
                k++;
                continue;
            }
            uint32_t w = kept++; /* the output row */
            TT_ASSERT_EQ_INT(tide_cbatch_op(out, w), tide_cbatch_op(in, r));
            TT_ASSERT_EQ_INT(tide_cbatch_pos(out, w), tide_cbatch_pos(in, r));
            TT_ASSERT_EQ_INT(tide_cbatch_is_null(out, 0, w), tide_cbatch_is_null(in, C_T1, r));
            if (!tide_cbatch_is_null(out, 0, w))
                TT_ASSERT_EQ_INT(tide_cbatch_i64(out, 0, w), tide_cbatch_i64(in, C_T1, r));
            TT_ASSERT_EQ_INT(tide_cbatch_is_null(out, 1, w), i1.is_null);
            if (!i1.is_null)
                TT_ASSERT_EQ_INT(tide_cbatch_i64(out, 1, w), (int64_t)((uint64_t)i1.u.i64 * 2));
            TT_ASSERT_EQ_INT(tide_cbatch_is_null(out, 2, w), s1.is_null);
            if (!s1.is_null) {
                tide_str o = tide_cbatch_str(out, 2, w);
                TT_ASSERT(o.len == s1.u.s.len);
                for (uint32_t j = 0; j < o.len; j++) {
                    unsigned char ch = (unsigned char)s1.u.s.ptr[j];
                    TT_ASSERT((unsigned char)o.ptr[j] == (ch < 128 ? toupper(ch) : ch));
                }
            }
            k++;
        }
        TT_ASSERT_EQ_INT(k, n);
        TT_ASSERT_EQ_INT(tide_cbatch_rows(out), kept);
        TT_ASSERT_EQ_INT(kept + overflowed, n);
        /* not enough room: TIDE_ERANGE, nothing appended */
        if (kept > 100) {
            uint32_t before = tide_cbatch_rows(out);
            TT_ASSERT_EQ_INT(tide_expr_project(ex, 3, in, NULL, 0, out, &e), TIDE_ERANGE);
            TT_ASSERT_EQ_INT(tide_cbatch_rows(out), before);
            tide_err_clear(&e);
        }
        /* wrong arity / types */
        TT_ASSERT_EQ_INT(tide_expr_project(ex, 2, in, sel, n, out, &e), TIDE_EINVAL);
        tide_err_clear(&e);
        TT_ASSERT_EQ_INT(tide_expr_filter(ex[1], in, sel, &n, &e), TIDE_EINVAL);
        tide_err_clear(&e);
        tide_expr_free(pred);
        for (int j = 0; j < 3; j++)
            tide_expr_free(ex[j]);
        tide_cbatch_free(out);
        tide_cbatch_free(in);
    }
    /* a batch whose column types differ from the tree's */
    tide_cbatch *other = NULL;
    TT_OK(tide_cbatch_create(&other, os, 4, 0, &e));
    uint32_t r = 0;
    tide_cbatch_add_row(other, &r);
    tide_expr *c;
    const tide_expr_vec *v;
    tide_expr_column(&c, g_schema, C_S1, &e); /* index 5: out of other's range */
    TT_ASSERT_EQ_INT(tide_expr_eval(c, other, NULL, 0, &v, &e), TIDE_EINVAL);
    tide_err_clear(&e);
    tide_expr_free(c);
    tide_expr_column(&c, g_schema, C_B, &e); /* BOOLEAN vs TIMESTAMP */
    TT_ASSERT_EQ_INT(tide_expr_eval(c, other, NULL, 0, &v, &e), TIDE_EINVAL);
    tide_expr_free(c);
    tide_cbatch_free(other);
    tide_schema_free(os);
}

/* ---- allocation failures ----
 * tests/unit/alloc_tt.h fails the Nth allocation and counts live blocks:
 * every failure must surface as TIDE_ENOMEM (no crash) and leave no block
 * behind once the trees are freed.  (Not under ASan, which owns malloc.) */
#if ALLOC_TT_HOOKED
/* WHERE s1 LIKE 'a%' OR i1 IN (1, 2, 3)
 * SELECT CASE WHEN b THEN UPPER(s1 || 'x') ELSE CAST(i1 AS STRING) END,
 *        DATE_FORMAT(t1, 'yyyy-MM-dd'), COALESCE(d1, 0.5) * 2 */
static int oom_scenario(tide_cbatch *in, tide_cbatch *out)
{
    tide_err e = {0};
    tide_expr *c, *l, *p1, *p2, *pred = NULL, *ex[3] = {0}, *items[3], *t1, *t2, *cond, *then, *els;
    tide_expr_column(&c, g_schema, C_S1, &e);
    tide_expr_literal_str(&l, "a%", 2, &e);
    tide_expr_like(&p1, c, l, -1, false, &e);
    tide_expr_column(&c, g_schema, C_I1, &e);
    for (int i = 0; i < 3; i++)
        tide_expr_literal_i64(&items[i], i + 1, &e);
    tide_expr_in(&p2, c, items, 3, false, &e);
    tide_expr_logic(&pred, TIDE_EXPR_OR, p1, p2, &e);
    tide_expr_column(&cond, g_schema, C_B, &e);
    tide_expr_column(&t1, g_schema, C_S1, &e);
    tide_expr_literal_str(&t2, "x", 1, &e);
    tide_expr_concat(&then, t1, t2, &e);
    tide_expr_str_fn(&then, TIDE_EXPR_UPPER, then, &e);
    tide_expr_column(&els, g_schema, C_I1, &e);
    tide_expr_cast(&els, els, TIDE_TYPE_STRING, false, &e);
    tide_expr_case(&ex[0], &cond, &then, 1, els, &e);
    tide_expr_column(&c, g_schema, C_T1, &e);
    tide_expr_literal_str(&l, "yyyy-MM-dd", 10, &e);
    tide_expr_date_format(&ex[1], c, l, &e);
    tide_expr *args[2];
    tide_expr_column(&args[0], g_schema, C_D1, &e);
    tide_expr_literal_f64(&args[1], 0.5, &e);
    tide_expr_coalesce(&c, args, 2, &e);
    tide_expr_literal_i64(&l, 2, &e);
    tide_expr_arith(&ex[2], TIDE_EXPR_MUL, c, l, &e);
    if (e.code == 0) {
        uint32_t sel[400], n;
        tide_cbatch_reset(out);
        if (tide_expr_filter(pred, in, sel, &n, &e) == 0)
            tide_expr_project(ex, 3, in, sel, n, out, &e);
    }
    tide_expr_free(pred);
    for (int i = 0; i < 3; i++)
        tide_expr_free(ex[i]);
    return e.code;
}
#endif

static void test_alloc_failures(void)
{
#if !ALLOC_TT_HOOKED
    TT_SKIP("the sanitizer owns malloc, so allocations cannot be failed here");
#else
    uint64_t s = 5;
    tide_err e = {0};
    tide_schema *os = NULL;
    TT_OK(tide_schema_create(&os, &e));
    TT_OK(tide_schema_add(os, "a", TIDE_TYPE_STRING, true, &e));
    TT_OK(tide_schema_add(os, "b", TIDE_TYPE_STRING, true, &e));
    TT_OK(tide_schema_add(os, "c", TIDE_TYPE_DOUBLE, true, &e));
    tide_cbatch *in = rand_batch(&s, 400), *out = NULL;
    TT_OK(tide_cbatch_create(&out, os, 400, 0, &e));
    TT_ASSERT_EQ_INT(oom_scenario(in, out), 0); /* warm up libc (stdio, locale) */
    long failures = 0;
    for (long n = 0;; n++) {
        tide_cbatch_reset(out);
        long live = alloc_tt_live();
        alloc_tt_fail_at(n);
        int rc = oom_scenario(in, out);
        bool hit = alloc_tt_count() > n;
        alloc_tt_fail_at(-1);
        TT_ASSERT_MSG(alloc_tt_live() == live, "failing allocation %ld: %ld blocks leaked", n,
                      alloc_tt_live() - live);
        if (!hit) {
            TT_ASSERT_EQ_INT(rc, 0);
            break;
        }
        TT_ASSERT_MSG(rc == TIDE_ENOMEM, "failing allocation %ld: rc %d", n, rc);
        failures++;
    }
    fprintf(stderr, "  %ld allocation points failed in turn\n", failures);
    tide_cbatch_free(in);
    tide_cbatch_free(out);
    tide_schema_free(os);
#endif
}

int main(void)
{
    g_schema = make_schema();
    tide_err e = {0};
    if (!g_schema || tide_cbatch_create(&g_one, g_schema, 1, 0, &e))
        return 1;
    uint32_t r = 0;
    tide_cbatch_add_row(g_one, &r);
    TT_RUN(test_truth_tables);
    TT_RUN(test_arith_semantics);
    TT_RUN(test_type_errors);
    TT_RUN(test_cast_errors_and_laziness);
    TT_RUN(test_cast_round_trips);
    TT_RUN(test_like_table);
    TT_RUN(test_strings);
    TT_RUN(test_time_functions);
    TT_RUN(test_flink_time_functions);
    TT_RUN(test_filter_project);
    TT_RUN(test_random_trees);
    TT_RUN(test_reuse_across_batches);
    TT_RUN(test_alloc_failures);
    tide_cbatch_free(g_one);
    tide_schema_free(g_schema);
    TT_DONE();
}
