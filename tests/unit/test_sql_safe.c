/*
 * test_sql_safe.c - nothing lost without a word (issue 12), through SQL:
 * event times at both ends of the TIMESTAMP range through every window type
 * against a brute-force model, values outside it counted as bad rows.
 */
#include "data/timefmt.h"
#include "data/types.h"
#include "sql_run.h"
#include "tt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *tmp;

/* ---- helpers ---- */

static void write_file(const char *name, const char *text)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", tmp, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        return;
    fputs(text, f);
    fclose(f);
}

static int cmp_line(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The lines of `text` after its first (the CSV header), sorted, joined by
 * '\n' into a malloc'd string. */
static char *sorted_body(const char *text)
{
    char *copy = strdup(text);
    size_t n = 0, cap = 64;
    char **v = malloc(cap * sizeof *v);
    char *save = NULL;
    bool header = true;
    for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        if (header) {
            header = false;
            continue;
        }
        if (n == cap)
            v = realloc(v, (cap *= 2) * sizeof *v);
        v[n++] = l;
    }
    qsort(v, n, sizeof *v, cmp_line);
    size_t len = 1;
    for (size_t i = 0; i < n; i++)
        len += strlen(v[i]) + 1;
    char *out = malloc(len), *p = out;
    *p = 0;
    for (size_t i = 0; i < n; i++)
        p += sprintf(p, "%s\n", v[i]);
    free(v);
    free(copy);
    return out;
}

/* A growing text of result lines. */
typedef struct lines {
    char buf[1 << 16];
    size_t n;
} lines;

static void add_window(lines *l, int64_t start, int64_t end, int64_t count, int64_t sum)
{
    char a[TIDE_TS_FORMAT_MAX], b[TIDE_TS_FORMAT_MAX];
    tide_ts_format(start, a);
    tide_ts_format(end, b);
    l->n += (size_t)snprintf(l->buf + l->n, sizeof l->buf - l->n, "%s,%s,%lld,%lld\n", a, b, (long long)count,
                             (long long)sum);
}

/* ---- event times at the ends of the TIMESTAMP range ---- */

#define SEC 1000LL

/* In-range rows, in file (and time) order: v = index + 1. */
static const int64_t ends_ts[] = {
    TIDE_TS_VALID_MIN, TIDE_TS_VALID_MIN + 1, TIDE_TS_VALID_MIN + 1999, TIDE_TS_VALID_MIN + 2000,
    TIDE_TS_VALID_MIN + 7000, TIDE_TS_VALID_MIN + 9999, TIDE_TS_VALID_MIN + 10000, TIDE_TS_VALID_MIN + 15000,
    TIDE_TS_VALID_MIN + 25000, 0, TIDE_TS_VALID_MAX - 30000, TIDE_TS_VALID_MAX - 12000,
    TIDE_TS_VALID_MAX - 9999, TIDE_TS_VALID_MAX - 5000, TIDE_TS_VALID_MAX - 1, TIDE_TS_VALID_MAX,
};
#define NENDS (sizeof ends_ts / sizeof ends_ts[0])

/* Rows outside the range, as the file writes them (after in-range row i). */
static const struct {
    size_t after;
    const char *text;
} ends_bad[] = {
    {0, "-0001-12-31 23:59:59.999"}, /* VALID_MIN - 1 */
    {3, "-9223372036854775808"},
    {8, "-62167219200001"},
    {9, "+10000-01-01 00:00:00.000"}, /* VALID_MAX + 1 */
    {12, "9223372036854775807"},
    {15, "253402300800000"},
};
#define NBAD (sizeof ends_bad / sizeof ends_bad[0])

static const char ends_ddl[] =
    "CREATE TABLE t (ts TIMESTAMP(3), v BIGINT, WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)\n"
    "  WITH ('connector' = 'file', 'path' = '%s/ends.csv', 'format' = 'csv',\n"
    "        'csv.header' = 'true');\n";

static void write_ends(void)
{
    static char text[8192];
    size_t n = (size_t)snprintf(text, sizeof text, "ts,v\n");
    for (size_t i = 0; i < NENDS; i++) {
        char ts[TIDE_TS_FORMAT_MAX];
        tide_ts_format(ends_ts[i], ts);
        /* alternate the text and epoch-ms forms */
        if (i % 2)
            n += (size_t)snprintf(text + n, sizeof text - n, "%s,%zu\n", ts, i + 1);
        else
            n += (size_t)snprintf(text + n, sizeof text - n, "%lld,%zu\n", (long long)ends_ts[i], i + 1);
        for (size_t j = 0; j < NBAD; j++)
            if (ends_bad[j].after == i)
                n += (size_t)snprintf(text + n, sizeof text - n, "%s,%d\n", ends_bad[j].text, 1000);
    }
    write_file("ends.csv", text);
}

/* Brute force for TUMBLE (slide = size), HOP, CUMULATE: scan every candidate
 * start near ts one by one (no floor division); accumulate per window in a
 * small table. */
typedef struct win_acc {
    int64_t start, end, count, sum;
} win_acc;

static void acc_add(win_acc *w, size_t *nw, int64_t start, int64_t end, int64_t v)
{
    for (size_t i = 0; i < *nw; i++)
        if (w[i].start == start && w[i].end == end) {
            w[i].count++;
            w[i].sum += v;
            return;
        }
    w[(*nw)++] = (win_acc){start, end, 1, v};
}

/* kind: 0 TUMBLE(size), 1 HOP(slide, size), 2 CUMULATE(step = slide, max = size) */
static void brute_aligned(int kind, int64_t slide, int64_t size, lines *out)
{
    static win_acc w[4096];
    size_t nw = 0;
    for (size_t r = 0; r < NENDS; r++) {
        int64_t ts = ends_ts[r], v = (int64_t)r + 1;
        if (kind == 2) {
            for (int64_t s0 = ts - size + 1; s0 <= ts; s0++)
                if (s0 % size == 0)
                    for (int64_t e = s0 + slide; e <= s0 + size; e += slide)
                        if (ts < e)
                            acc_add(w, &nw, s0, e, v);
            continue;
        }
        int64_t step = kind == 0 ? size : slide;
        for (int64_t st = ts - size + 1; st <= ts; st++)
            if (st % step == 0)
                acc_add(w, &nw, st, st + size, v);
    }
    for (size_t i = 0; i < nw; i++)
        add_window(out, w[i].start, w[i].end, w[i].count, w[i].sum);
}

/* SESSION(gap) over the whole stream: rows in time order; a row joins the
 * open session when ts <= last + gap (Flink's intersects). */
static void brute_session(int64_t gap, lines *out)
{
    int64_t first = ends_ts[0], last = ends_ts[0], count = 1, sum = 1;
    for (size_t r = 1; r < NENDS; r++) {
        int64_t ts = ends_ts[r];
        if (ts <= last + gap) {
            last = ts;
            count++;
            sum += (int64_t)r + 1;
            continue;
        }
        add_window(out, first, last + gap, count, sum);
        first = last = ts;
        count = 1;
        sum = (int64_t)r + 1;
    }
    add_window(out, first, last + gap, count, sum);
}

static void check_ends(const char *tvf, int kind, int64_t slide, int64_t size)
{
    char ddl[8192], query[1024];
    snprintf(ddl, sizeof ddl, ends_ddl, tmp);
    snprintf(query, sizeof query,
             "SELECT window_start, window_end, COUNT(*) AS n, SUM(v) AS s FROM TABLE(%s) "
             "GROUP BY window_start, window_end;\n",
             tvf);
    lines want = {.n = 0};
    if (kind == 3)
        brute_session(size, &want);
    else
        brute_aligned(kind, slide, size, &want);
    for (uint32_t par = 1; par <= 2; par++) {
        char *out = NULL;
        tide_sql_error serr;
        tide_job_counts c;
        int rc = sql_run(ddl, tmp, query, par, &out, &serr, &c);
        TT_ASSERT_MSG(rc == 0, "%s: rc %d: %u:%u: %s", tvf, rc, serr.line, serr.col, serr.msg);
        char *got = sorted_body(out);
        /* want has no header line: sort it with one prepended */
        char *w2 = malloc(want.n + 8);
        snprintf(w2, want.n + 8, "h\n%s", want.buf);
        char *exp = sorted_body(w2);
        free(w2);
        TT_ASSERT_MSG(strcmp(got, exp) == 0, "%s P=%u:\n got:\n%s want:\n%s", tvf, par, got, exp);
        TT_ASSERT_EQ_INT(c.in, NENDS);
        TT_ASSERT_EQ_INT(c.bad, NBAD);
        TT_ASSERT_EQ_INT(c.late, 0);
        free(got);
        free(exp);
        free(out);
    }
}

static void test_range_ends_every_window(void)
{
    write_ends();
    check_ends("TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '10' SECOND)", 0, 0, 10 * SEC);
    check_ends("HOP(TABLE t, DESCRIPTOR(ts), INTERVAL '2' SECOND, INTERVAL '10' SECOND)", 1, 2 * SEC, 10 * SEC);
    check_ends("CUMULATE(TABLE t, DESCRIPTOR(ts), INTERVAL '2' SECOND, INTERVAL '10' SECOND)", 2, 2 * SEC,
               10 * SEC);
    check_ends("SESSION(TABLE t, DESCRIPTOR(ts), INTERVAL '5' SECOND)", 3, 0, 5 * SEC);
}

/* ---- integer overflow in expressions: a bad row, never a wrapped value ---- */

static const int64_t specials[] = {0, 1, -1, 2, -2, 3, 7, 1000000007, 3037000499, 3037000500, -3037000500,
                                   4611686018427387904, INT64_MAX, INT64_MAX - 1, INT64_MIN, INT64_MIN + 1};
#define NSPEC (sizeof specials / sizeof specials[0])

/* x as SQL prints it, or "" (NULL) when *fail is set by an overflow: the
 * exact value in 128 bits, outside BIGINT fails */
static void put_i128(char *buf, size_t n, __int128 z, bool *fail)
{
    if (z < INT64_MIN || z > INT64_MAX)
        *fail = true;
    else
        snprintf(buf, n, "%lld", (long long)z);
}

static void test_integer_overflow_is_a_bad_row(void)
{
    static char text[1 << 16];
    size_t tn = 0;
    /* every pair of special values, one row each, at increasing times */
    for (size_t i = 0; i < NSPEC; i++)
        for (size_t j = 0; j < NSPEC; j++)
            tn += (size_t)snprintf(text + tn, sizeof text - tn, "%zu,%lld,%lld\n", i * NSPEC + j,
                                   (long long)specials[i], (long long)specials[j]);
    write_file("ints.csv", text);
    char ddl[1024];
    snprintf(ddl, sizeof ddl,
             "CREATE TABLE t (ts TIMESTAMP(3), a BIGINT, b BIGINT, WATERMARK FOR ts AS ts)\n"
             "  WITH ('connector' = 'file', 'path' = '%s/ints.csv', 'format' = 'csv');\n",
             tmp);
    /* the brute force: 128-bit arithmetic */
    static char want[1 << 17];
    size_t wn = (size_t)snprintf(want, sizeof want, "h\n");
    uint64_t bad = 0, bad_where = 0, kept_where = 0;
    for (size_t i = 0; i < NSPEC; i++)
        for (size_t j = 0; j < NSPEC; j++) {
            __int128 a = specials[i], b = specials[j];
            char s[32], d[32], p[32], q[32] = "", r[32] = "", n[32];
            bool fail = false;
            put_i128(s, sizeof s, a + b, &fail);
            put_i128(d, sizeof d, a - b, &fail);
            put_i128(p, sizeof p, a * b, &fail);
            if (b != 0) { /* x / 0 and x % 0 are NULL */
                put_i128(q, sizeof q, a / b, &fail);
                put_i128(r, sizeof r, a % b, &fail);
            }
            put_i128(n, sizeof n, -a, &fail);
            /* WHERE a * b > 0 */
            __int128 ab = a * b;
            if (ab < INT64_MIN || ab > INT64_MAX)
                bad_where++;
            else
                kept_where += ab > 0;
            if (fail) {
                bad++;
                continue;
            }
            wn += (size_t)snprintf(want + wn, sizeof want - wn, "%lld,%lld,%s,%s,%s,%s,%s,%s\n", (long long)a,
                                   (long long)b, s, d, p, q, r, n);
        }
    char *exp = sorted_body(want);
    for (uint32_t par = 1; par <= 2; par++) {
        char *out = NULL;
        tide_sql_error serr;
        tide_job_counts c;
        int rc = sql_run(ddl, tmp,
                         "SELECT a, b, a + b AS s, a - b AS d, a * b AS p, a / b AS q, a % b AS r, -a AS n FROM t;\n",
                         par, &out, &serr, &c);
        TT_ASSERT_MSG(rc == 0, "rc %d: %u:%u: %s", rc, serr.line, serr.col, serr.msg);
        char *got = sorted_body(out);
        TT_ASSERT_MSG(strcmp(got, exp) == 0, "P=%u:\n got:\n%s want:\n%s", par, got, exp);
        TT_ASSERT_EQ_INT(c.in, NSPEC * NSPEC);
        TT_ASSERT_EQ_INT(c.bad, bad);
        TT_ASSERT_EQ_INT(c.out, NSPEC * NSPEC - bad);
        free(got);
        free(out);
        /* a failed row never passes a filter, even one that asks for NULL */
        rc = sql_run(ddl, tmp, "SELECT a FROM t WHERE a * b > 0 OR (a * b) IS NULL;\n", par, &out, &serr, &c);
        TT_ASSERT_MSG(rc == 0, "rc %d: %u:%u: %s", rc, serr.line, serr.col, serr.msg);
        TT_ASSERT_EQ_INT(c.bad, bad_where);
        TT_ASSERT_EQ_INT(c.out, kept_where);
        free(out);
    }
    free(exp);
    TT_ASSERT(bad > 0 && bad_where > 0);
}

/* A changelog's CSV (op first) applied: the rows that remain, sorted, one
 * per line after a header line "h" (malloc'd). */
static char *apply_changelog(const char *text)
{
    char *copy = strdup(text), *save = NULL;
    static char *live[4096];
    size_t n = 0;
    bool header = true;
    for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        if (header) {
            header = false;
            continue;
        }
        char *row = strchr(l, ',');
        if (!row)
            continue;
        row++;
        if (l[0] == '+') {
            live[n++] = row;
            continue;
        }
        for (size_t i = 0; i < n; i++)
            if (!strcmp(live[i], row)) {
                live[i] = live[--n];
                break;
            }
    }
    size_t len = 3;
    for (size_t i = 0; i < n; i++)
        len += strlen(live[i]) + 1;
    char *joined = malloc(len), *p = joined;
    p += sprintf(p, "h\n");
    for (size_t i = 0; i < n; i++)
        p += sprintf(p, "%s\n", live[i]);
    char *out = sorted_body(joined);
    free(joined);
    free(copy);
    return out;
}

static void test_overflow_in_a_changelog(void)
{
    char ddl[1024];
    snprintf(ddl, sizeof ddl,
             "CREATE TABLE t (ts TIMESTAMP(3), a BIGINT, b BIGINT, WATERMARK FOR ts AS ts)\n"
             "  WITH ('connector' = 'file', 'path' = '%s/ints.csv', 'format' = 'csv');\n",
             tmp);
    /* per key a: COUNT(*) = NSPEC; the projection k * 2^62 fails for most keys */
    static char want[1 << 14];
    size_t wn = (size_t)snprintf(want, sizeof want, "h\n");
    for (size_t i = 0; i < NSPEC; i++) {
        __int128 m = (__int128)specials[i] * 4611686018427387904LL;
        if (m >= INT64_MIN && m <= INT64_MAX)
            wn += (size_t)snprintf(want + wn, sizeof want - wn, "%lld,%zu\n", (long long)m, NSPEC);
    }
    char *exp = sorted_body(want);
    char *out = NULL;
    tide_sql_error serr;
    tide_job_counts c;
    int rc = sql_run(ddl, tmp,
                     "SELECT k * 4611686018427387904 AS m, n FROM (SELECT a AS k, COUNT(*) AS n FROM t GROUP BY a);\n",
                     2, &out, &serr, &c);
    TT_ASSERT_MSG(rc == 0, "rc %d: %u:%u: %s", rc, serr.line, serr.col, serr.msg);
    char *got = apply_changelog(out);
    TT_ASSERT_MSG(strcmp(got, exp) == 0, "got:\n%s want:\n%s (output:\n%s)", got, exp, out);
    TT_ASSERT(c.bad > 0);
    free(got);
    free(exp);
    free(out);
}

/* ---- TIMESTAMP +- INTERVAL leaving the range: a bad row ---- */

static void test_timestamp_arithmetic_is_checked(void)
{
    write_ends();
    char ddl[8192];
    snprintf(ddl, sizeof ddl, ends_ddl, tmp);
    /* ts + 20 s and ts - 20 s: rows within 20 s of an end fail */
    uint64_t bad = 0;
    static char want[1 << 14];
    size_t wn = (size_t)snprintf(want, sizeof want, "h\n");
    for (size_t i = 0; i < NENDS; i++) {
        __int128 up = (__int128)ends_ts[i] + 20000, down = (__int128)ends_ts[i] - 20000;
        if (up > TIDE_TS_VALID_MAX || down < TIDE_TS_VALID_MIN) {
            bad++;
            continue;
        }
        char a[TIDE_TS_FORMAT_MAX], b[TIDE_TS_FORMAT_MAX];
        tide_ts_format((int64_t)up, a);
        tide_ts_format((int64_t)down, b);
        wn += (size_t)snprintf(want + wn, sizeof want - wn, "%zu,%s,%s\n", i + 1, a, b);
    }
    char *exp = sorted_body(want);
    char *out = NULL;
    tide_sql_error serr;
    tide_job_counts c;
    int rc = sql_run(ddl, tmp,
                     "SELECT v, ts + INTERVAL '20' SECOND AS up, ts - INTERVAL '20' SECOND AS down FROM t;\n", 1,
                     &out, &serr, &c);
    TT_ASSERT_MSG(rc == 0, "rc %d: %u:%u: %s", rc, serr.line, serr.col, serr.msg);
    char *got = sorted_body(out);
    TT_ASSERT_MSG(strcmp(got, exp) == 0, "got:\n%s want:\n%s", got, exp);
    TT_ASSERT_EQ_INT(c.bad, NBAD + bad); /* the file's own out-of-range rows, and these */
    TT_ASSERT(bad > 0);
    free(got);
    free(exp);
    free(out);

    /* CEIL(ts TO DAY) fails at the upper end (into 10000-01-01); FLOOR
     * stays inside (tide_ts_floor's WEEK could leave it: 0000-01-01 is a
     * Saturday, exec/expr.h; SQL has no WEEK unit for FLOOR) */
    const int64_t D = 86400000;
    bad = 0;
    wn = (size_t)snprintf(want, sizeof want, "h\n");
    for (size_t i = 0; i < NENDS; i++) {
        int64_t t = ends_ts[i];
        int64_t days = t >= 0 ? t / D : -((-t + D - 1) / D); /* floor */
        int64_t floor_day = days * D, ceil_day = floor_day == t ? t : (days + 1) * D;
        if (ceil_day > TIDE_TS_VALID_MAX) {
            bad++;
            continue;
        }
        char a[TIDE_TS_FORMAT_MAX], b[TIDE_TS_FORMAT_MAX];
        tide_ts_format(floor_day, a);
        tide_ts_format(ceil_day, b);
        wn += (size_t)snprintf(want + wn, sizeof want - wn, "%zu,%s,%s\n", i + 1, a, b);
    }
    exp = sorted_body(want);
    rc = sql_run(ddl, tmp, "SELECT v, FLOOR(ts TO DAY) AS f, CEIL(ts TO DAY) AS d FROM t;\n", 1, &out, &serr, &c);
    TT_ASSERT_MSG(rc == 0, "rc %d: %u:%u: %s", rc, serr.line, serr.col, serr.msg);
    got = sorted_body(out);
    TT_ASSERT_MSG(strcmp(got, exp) == 0, "got:\n%s want:\n%s", got, exp);
    TT_ASSERT_EQ_INT(c.bad, NBAD + bad);
    TT_ASSERT(bad > 0);
    free(got);
    free(exp);
    free(out);
}

/* ---- refused at plan time, with the position ---- */

/* Compile `query` after the ends table; expect failure at line:col with
 * `msg` in the message. */
static void expect_refused(const char *query, uint32_t line, uint32_t col, const char *msg)
{
    char ddl[8192];
    snprintf(ddl, sizeof ddl, ends_ddl, tmp);
    char *out = NULL;
    tide_sql_error serr;
    int rc = sql_run(ddl, tmp, query, 1, &out, &serr, NULL);
    free(out);
    TT_ASSERT_MSG(rc != 0, "accepted: %s", query);
    TT_ASSERT_MSG(serr.line == line && serr.col == col && strstr(serr.msg, msg),
                  "%s\n  got %u:%u: %s\n  want %u:%u: ...%s...", query, serr.line, serr.col, serr.msg, line, col,
                  msg);
}

static void test_windows_refused_like_flink(void)
{
    /* (the DDL is 3 lines: the query starts on line 4); at the size */
    expect_refused("SELECT window_start, COUNT(*) FROM TABLE(\n"
                   "  HOP(TABLE t, DESCRIPTOR(ts), INTERVAL '3' SECOND, INTERVAL '10' SECOND)) GROUP BY window_start;\n",
                   5, 53, "HOP: size must be a multiple of slide (got slide 3000 ms, size 10000 ms)");
    expect_refused("SELECT window_start, COUNT(*) FROM TABLE(\n"
                   "  HOP(TABLE t, DESCRIPTOR(ts), INTERVAL '10' SECOND, INTERVAL '5' SECOND)) GROUP BY window_start;\n",
                   5, 54, "HOP: size must be a multiple of slide (got slide 10000 ms, size 5000 ms)");
    expect_refused("SELECT window_start, COUNT(*) FROM TABLE(\n"
                   "  CUMULATE(TABLE t, DESCRIPTOR(ts), INTERVAL '3' SECOND, INTERVAL '10' SECOND)) GROUP BY window_start;\n",
                   5, 58, "max a multiple of step");
    expect_refused("SELECT window_start, COUNT(*) FROM TABLE(\n"
                   "  TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '3660000' DAY)) GROUP BY window_start;\n",
                   5, 35, "longer than the TIMESTAMP range");
    expect_refused("SELECT v FROM t WHERE ts > TIMESTAMP '+10000-01-01 00:00:00';\n", 4, 28,
                   "TIMESTAMP literal '+10000-01-01 00:00:00': timestamp outside");
}

/* ---- INSERT INTO a file the same statement reads ---- */

static void test_insert_into_own_source_refused(void)
{
    write_ends();
    char link[4200];
    snprintf(link, sizeof link, "%s/ends-link.csv", tmp);
    unlink(link);
    TT_ASSERT(symlink("ends.csv", link) == 0);
    /* the same file under other names: a symlink, "x/../", "./" and "//" */
    const char *outs[] = {"%s/ends-link.csv", "%s/sub/../ends.csv", "%s/./ends.csv", "%s//ends.csv"};
    for (size_t i = 0; i < sizeof outs / sizeof outs[0]; i++) {
        char ddl[8192], path[4200];
        snprintf(path, sizeof path, outs[i], tmp);
        int n = snprintf(ddl, sizeof ddl, ends_ddl, tmp);
        snprintf(ddl + n, sizeof ddl - (size_t)n,
                 "CREATE TABLE o (ts TIMESTAMP(3), v BIGINT) WITH ('connector' = 'file', 'path' = '%s',\n"
                 "  'format' = 'csv');\n",
                 path);
        char *out = NULL;
        tide_sql_error serr;
        int rc = sql_run(ddl, tmp, "INSERT INTO o\nSELECT ts, v FROM t WHERE v > 1;\n", 1, &out, &serr, NULL);
        free(out);
        TT_ASSERT_MSG(rc != 0, "accepted: INSERT INTO %s", path);
        TT_ASSERT_MSG(serr.line == 6 && serr.col == 13 && strstr(serr.msg, "is also read by this statement (table 't' at 7:"),
                      "%s: %u:%u: %s", path, serr.line, serr.col, serr.msg);
    }
    /* a file that does not exist yet, named twice by normalized path, is
     * not read (the source is ends.csv): accepted, and written */
    char ddl[8192];
    int n = snprintf(ddl, sizeof ddl, ends_ddl, tmp);
    snprintf(ddl + n, sizeof ddl - (size_t)n,
             "CREATE TABLE o (ts TIMESTAMP(3), v BIGINT) WITH ('connector' = 'file', 'path' = '%s/./o.csv',\n"
             "  'format' = 'csv');\n",
             tmp);
    char *out = NULL;
    tide_sql_error serr;
    int rc = sql_run(ddl, tmp, "INSERT INTO o\nSELECT ts, v FROM t WHERE v > 15;\n", 1, &out, &serr, NULL);
    TT_ASSERT_MSG(rc == 0, "%u:%u: %s", serr.line, serr.col, serr.msg);
    free(out);
    char path[4200], got[256] = "";
    snprintf(path, sizeof path, "%s/o.csv", tmp);
    FILE *f = fopen(path, "rb");
    TT_ASSERT(f != NULL);
    size_t n2 = fread(got, 1, sizeof got - 1, f);
    got[n2] = 0;
    fclose(f);
    TT_ASSERT_EQ_STR(got, "9999-12-31 23:59:59.999,16\n");
}

/* ---- an empty changelog's header names its op column too ---- */

static void test_empty_changelog_header(void)
{
    char ddl[1024];
    snprintf(ddl, sizeof ddl,
             "CREATE TABLE e (ts TIMESTAMP(3), k BIGINT, WATERMARK FOR ts AS ts)\n"
             "  WITH ('connector' = 'file', 'path' = '%s/empty.csv', 'format' = 'csv');\n",
             tmp);
    const char *queries[] = {
        "SELECT k, COUNT(*) AS n FROM e GROUP BY k;\n",
        "SELECT window_start, COUNT(*) AS n FROM TABLE(TUMBLE(TABLE e, DESCRIPTOR(ts), INTERVAL '1' MINUTE))\n"
        "  GROUP BY window_start, window_end EMIT ALLOW LATENESS INTERVAL '1' HOUR;\n",
    };
    const char *rows[] = {"", "1970-01-01 00:00:00.001,7\n"};
    for (size_t q = 0; q < 2; q++)
        for (size_t r = 0; r < 2; r++) {
            write_file("empty.csv", rows[r]);
            char *out = NULL;
            tide_sql_error serr;
            int rc = sql_run(ddl, tmp, queries[q], 1, &out, &serr, NULL);
            TT_ASSERT_MSG(rc == 0, "%u:%u: %s", serr.line, serr.col, serr.msg);
            TT_ASSERT_MSG(strncmp(out, "op,", 3) == 0, "query %zu, %s input: header %s", q, r ? "one-row" : "empty",
                          out);
            free(out);
        }
}

/* ---- a NUL byte inside a string literal or a quoted name ---- */

static void expect_nul_refused(const char *src, size_t len, uint32_t line, uint32_t col, const char *msg)
{
    tide_sql_catalog *cat = NULL;
    tide_sql_program *prog = NULL;
    tide_sql_error serr;
    memset(&serr, 0, sizeof serr);
    TT_OK(tide_sql_catalog_create(&cat));
    int rc = tide_sql_compile(cat, "t.sql", src, len, &prog, &serr);
    TT_ASSERT_MSG(rc != 0, "a NUL byte accepted at %u:%u", line, col);
    TT_ASSERT_MSG(serr.line == line && serr.col == col && strstr(serr.msg, msg), "got %u:%u: %s, want %u:%u: %s",
                  serr.line, serr.col, serr.msg, line, col, msg);
    tide_sql_program_free(prog);
    tide_sql_catalog_free(cat);
}

static void test_nul_in_literal_refused(void)
{
    static const char a[] = "CREATE TABLE t (ts TIMESTAMP(3), WATERMARK FOR ts AS ts)\n"
                            "  WITH ('connector' = 'file', 'path' = 'good\0.csv', 'format' = 'csv');\n"
                            "SELECT * FROM t;\n";
    expect_nul_refused(a, sizeof a - 1, 2, 45, "a NUL byte inside a string literal");
    static const char b[] = "SELECT 'x' AS \"a\0b\";\n";
    expect_nul_refused(b, sizeof b - 1, 1, 17, "a NUL byte inside a quoted identifier");
    /* and without it the same text compiles (the NUL is the only fault) */
    static const char c[] = "CREATE TABLE t (ts TIMESTAMP(3), WATERMARK FOR ts AS ts)\n"
                            "  WITH ('connector' = 'file', 'path' = 'good.csv', 'format' = 'csv');\n"
                            "SELECT * FROM t;\n";
    tide_sql_catalog *cat = NULL;
    tide_sql_program *prog = NULL;
    tide_sql_error serr;
    TT_OK(tide_sql_catalog_create(&cat));
    TT_OK(tide_sql_compile(cat, "t.sql", c, sizeof c - 1, &prog, &serr));
    tide_sql_program_free(prog);
    tide_sql_catalog_free(cat);
}

int main(void)
{
    tmp = tt_tmpdir("test_sql_safe");
    TT_RUN(test_range_ends_every_window);
    TT_RUN(test_integer_overflow_is_a_bad_row);
    TT_RUN(test_overflow_in_a_changelog);
    TT_RUN(test_timestamp_arithmetic_is_checked);
    TT_RUN(test_windows_refused_like_flink);
    TT_RUN(test_nul_in_literal_refused);
    TT_RUN(test_insert_into_own_source_refused);
    TT_RUN(test_empty_changelog_header);
    TT_DONE();
}
