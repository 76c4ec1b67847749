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

int main(void)
{
    tmp = tt_tmpdir("test_sql_safe");
    TT_RUN(test_range_ends_every_window);
    TT_DONE();
}
