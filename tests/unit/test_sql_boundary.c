/* test_sql_boundary.c - windowed SQL at the watermark's boundaries, against
 * a brute-force model of the semantics (DESIGN.md 4).
 *
 * Inputs are CSV files whose timestamps crowd around multiples of a second
 * (k * 1000 + d, d in -2..2, and a few anywhere), out of order, so that
 * records land exactly at the watermark, exactly on a window's last
 * millisecond, and exactly where W = end - 1.  Each file runs through
 * TUMBLE COUNT(*) alone (the batch fast path), TUMBLE COUNT(*) with SUM
 * (the generic path), HOP, and CUMULATE, at P = 1 and P = 2, with a
 * watermark delay of 0 s and 1 s.  The model replays the file in order:
 * W = max ts seen - B before each record; a window [s, e) has fired when
 * W >= e - 1; a record is late (counted once) when any of its windows has
 * fired, and still counts in those that have not.  The rows (sorted) and
 * the late count must be the model's. */
#include "sql_run.h"
#include "tt.h"

#include <inttypes.h>

#define NREC 400
#define MAXW 8

static char tmp[1024];
static int64_t ts[NREC];
static int64_t val[NREC];

/* "1970-01-01 HH:MM:SS.mmm" for 0 <= ms < one day (independent of tide's
 * formatter). */
static void fmt_ts(char *out, size_t cap, int64_t ms)
{
    int64_t s = ms / 1000;
    snprintf(out, cap, "1970-01-01 %02" PRId64 ":%02" PRId64 ":%02" PRId64 ".%03" PRId64, s / 3600,
             s / 60 % 60, s % 60, ms % 1000);
}

static void gen(uint64_t *seed)
{
    int64_t base = 100000; /* 100 s: all windows start >= 0 */
    for (int i = 0; i < NREC; i++) {
        uint64_t r = tt_rand(seed);
        /* time moves forward about 0.4 s a record, with jitter up to 2.5 s back */
        int64_t at = base + (int64_t)i * 400 - (int64_t)(tt_rand(seed) % 2500);
        if (r % 8 != 0)
            at = (at + 500) / 1000 * 1000 + (int64_t)(tt_rand(seed) % 5) - 2;
        ts[i] = at;
        val[i] = (int64_t)(tt_rand(seed) % 100);
    }
}

typedef struct wrow {
    int64_t start, end, n, sum;
} wrow;

/* The windows of `ts` for kind 0 TUMBLE(size), 1 HOP(slide, size),
 * 2 CUMULATE(step = slide, max = size); returns how many. */
static int windows(int kind, int64_t size, int64_t slide, int64_t t, int64_t st[MAXW], int64_t en[MAXW])
{
    int n = 0;
    if (kind == 0) {
        st[0] = t - t % size;
        en[0] = st[0] + size;
        return 1;
    }
    if (kind == 1) {
        for (int64_t s = t - t % slide; s > t - size; s -= slide) {
            st[n] = s;
            en[n++] = s + size;
        }
        return n;
    }
    int64_t s0 = t - t % size;
    for (int64_t e = s0 + slide; e <= s0 + size; e += slide)
        if (e > t) {
            st[n] = s0;
            en[n++] = e;
        }
    return n;
}

/* The model: rows sorted by (end, start), and the late count. */
static size_t model(int kind, int64_t size, int64_t slide, int64_t bound, wrow *rows, uint64_t *late)
{
    size_t nr = 0;
    int64_t max = INT64_MIN;
    *late = 0;
    for (int i = 0; i < NREC; i++) {
        int64_t w = max == INT64_MIN ? INT64_MIN : max - bound;
        int64_t st[MAXW], en[MAXW];
        int nw = windows(kind, size, slide, ts[i], st, en);
        bool missed = false;
        for (int k = 0; k < nw; k++) {
            if (w >= en[k] - 1) {
                missed = true;
                continue;
            }
            size_t j = 0;
            while (j < nr && !(rows[j].start == st[k] && rows[j].end == en[k]))
                j++;
            if (j == nr)
                rows[nr++] = (wrow){st[k], en[k], 0, 0};
            rows[j].n++;
            rows[j].sum += val[i];
        }
        *late += missed;
        if (ts[i] > max)
            max = ts[i];
    }
    return nr;
}

static int cmp_line(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sort the lines of `text` after its header, in place; returns their count. */
static size_t sort_lines(char *text, char **lines, size_t cap)
{
    size_t n = 0;
    char *p = strchr(text, '\n');
    while (p && p[1] && n < cap) {
        *p = 0;
        lines[n++] = p + 1;
        p = strchr(p + 1, '\n');
    }
    if (p)
        *p = 0;
    qsort(lines, n, sizeof *lines, cmp_line);
    return n;
}

static bool run_case(int kind, int64_t size_s, int64_t slide_s, int64_t bound_s, int with_sum, uint32_t par,
                     uint64_t *late_seen)
{
    static const char *fn[3] = {"TUMBLE", "HOP", "CUMULATE"};
    char ddl[2048], q[1024], win[256];
    snprintf(ddl, sizeof ddl,
             "CREATE TABLE t (ts TIMESTAMP(3), v BIGINT,\n"
             "  WATERMARK FOR ts AS ts - INTERVAL '%" PRId64 "' SECOND)\n"
             "  WITH ('connector' = 'file', 'path' = '%s/in.csv', 'format' = 'csv');\n",
             bound_s, tmp);
    if (kind == 0)
        snprintf(win, sizeof win, "TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '%" PRId64 "' SECOND)", size_s);
    else
        snprintf(win, sizeof win,
                 "%s(TABLE t, DESCRIPTOR(ts), INTERVAL '%" PRId64 "' SECOND, INTERVAL '%" PRId64 "' SECOND)",
                 fn[kind], slide_s, size_s);
    snprintf(q, sizeof q,
             "SELECT window_start, window_end, COUNT(*) AS n%s FROM TABLE(%s)\n"
             "GROUP BY window_start, window_end;\n",
             with_sum ? ", SUM(v) AS s" : "", win);
    char *out = NULL;
    tide_sql_error se;
    tide_job_counts c;
    int rc = sql_run(ddl, tmp, q, par, &out, &se, &c);
    if (rc) {
        fprintf(stderr, "%s: rc %d: %s\n", q, rc, se.msg);
        free(out);
        return false;
    }
    static wrow rows[NREC * MAXW];
    uint64_t late;
    size_t nr = model(kind, size_s * 1000, slide_s * 1000, bound_s * 1000, rows, &late);
    static char *got[NREC * MAXW + 1], *want[NREC * MAXW + 1];
    static char wbuf[NREC * MAXW][192];
    for (size_t i = 0; i < nr; i++) {
        char a[64], b[64];
        fmt_ts(a, sizeof a, rows[i].start);
        fmt_ts(b, sizeof b, rows[i].end);
        if (with_sum)
            snprintf(wbuf[i], sizeof wbuf[i], "%s,%s,%" PRId64 ",%" PRId64, a, b, rows[i].n, rows[i].sum);
        else
            snprintf(wbuf[i], sizeof wbuf[i], "%s,%s,%" PRId64, a, b, rows[i].n);
        want[i] = wbuf[i];
    }
    qsort(want, nr, sizeof *want, cmp_line);
    size_t ng = sort_lines(out, got, NREC * MAXW + 1);
    bool ok = ng == nr && c.late == late && c.bad == 0 && c.in == NREC;
    for (size_t i = 0; ok && i < nr; i++)
        if (strcmp(got[i], want[i]) != 0) {
            fprintf(stderr, "row %zu: got %s, want %s\n", i, got[i], want[i]);
            ok = false;
        }
    if (!ok)
        fprintf(stderr, "%s at P = %u, B = %" PRId64 " s: %zu rows (want %zu), late %" PRIu64
                        " (want %" PRIu64 "), in %" PRIu64 ", bad %" PRIu64 "\n",
                q, par, bound_s, ng, nr, (uint64_t)c.late, late, (uint64_t)c.in, (uint64_t)c.bad);
    *late_seen += late;
    free(out);
    return ok;
}

static void test_windows_at_the_watermark(void)
{
    uint64_t seed0 = 20261207;
    uint64_t seed = seed0;
    uint64_t late = 0, at_w = 0, at_fire = 0;
    for (int file = 0; file < 3; file++) {
        gen(&seed);
        char path[1100];
        snprintf(path, sizeof path, "%s/in.csv", tmp);
        FILE *f = fopen(path, "w");
        TT_ASSERT(f);
        for (int i = 0; i < NREC; i++)
            fprintf(f, "%" PRId64 ",%" PRId64 "\n", ts[i], val[i]);
        fclose(f);
        /* how often the file hits the boundaries, for B = 0 s: a record
         * exactly at W, a record whose window fires exactly at W */
        int64_t max = INT64_MIN;
        for (int i = 0; i < NREC; i++) {
            at_w += max != INT64_MIN && ts[i] == max;
            at_fire += max != INT64_MIN && (ts[i] - ts[i] % 1000) + 999 == max;
            max = ts[i] > max ? ts[i] : max;
        }
        for (int64_t b = 0; b < 2; b++)
            for (uint32_t par = 1; par <= 2; par++) {
                bool ok = run_case(0, 1, 0, b, 0, par, &late) && run_case(0, 2, 0, b, 1, par, &late) &&
                          run_case(1, 3, 1, b, 0, par, &late) && run_case(2, 4, 1, b, 1, par, &late);
                if (!ok)
                    TT_SEED(seed0);
                TT_ASSERT(ok);
            }
    }
    fprintf(stderr, "  %" PRIu64 " late (all cases), %" PRIu64 " records at W, %" PRIu64 " at W = end - 1 (B = 0)\n",
            late, at_w, at_fire);
    /* the inputs did exercise the rule */
    TT_ASSERT_MSG(late > 100 && at_w > 5 && at_fire > 5, "late %" PRIu64 ", at W %" PRIu64 ", at W = end - 1 %" PRIu64,
                  late, at_w, at_fire);
}

int main(void)
{
    const char *d = tt_tmpdir("test_sql_boundary");
    if (!d)
        return 1;
    snprintf(tmp, sizeof tmp, "%s", d);
    TT_RUN(test_windows_at_the_watermark);
    TT_DONE();
}
