/*
 * test_sql_fanin.c - the multi-input plan shapes (sql/physical.h: join and
 * union nodes) and CUMULATE by slices: joins of windowed
 * aggregates on window_end (+ keys), UNION ALL, CUMULATE with keys, each
 * compared with a brute-force computation over the generator's events;
 * P = 1 and 3 give the same bytes; the shapes still refused name
 * themselves with positions.  A statement set (tide_sql_physical_set, a
 * named job's INSERTs): one graph, the table scanned once, and each
 * transactional sink its own producer "<job>.<i>", into one topic or two.
 */
#include "connect/gen_logins.h"
#include "data/timefmt.h"
#include "log/topic.h"
#include "sql/binder.h"
#include "sql/catalog.h"
#include "sql/physical.h"
#include "tide.h"
#include "sql_run.h"
#include "tt.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EVENTS 12000
#define USERS 400
#define DAYS 6
#define DAY_MS 86400000LL

static const char *tmp;

static const char ddl[] =
    "CREATE TABLE logins (ts TIMESTAMP(3), user_id BIGINT, country STRING, device STRING,\n"
    "  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND)\n"
    "  WITH ('connector' = 'logins', 'seed' = '11', 'events' = '12000', 'users' = '400',\n"
    "        'span' = '518400000', 'late.share' = '0.1', 'max.delay' = '4999');\n";

typedef struct events {
    int64_t ts[EVENTS], uid[EVENTS];
    uint8_t country[EVENTS], device[EVENTS];
    size_t n;
    int64_t start;
} events;

static events ev;

static int gen_events(void)
{
    tide_gen_logins_cfg cfg;
    tide_gen_logins_cfg_default(&cfg);
    cfg.seed = 11;
    cfg.events = EVENTS;
    cfg.users = USERS;
    cfg.end_ms = cfg.start_ms + DAYS * DAY_MS;
    cfg.late_share = 0.1;
    /* delays < B = 5 s: no record is late, so the brute force counts every
     * one (a record delayed by exactly B could arrive with ts == W and miss
     * the window ending at ts + 1, which fires at W = ts) */
    cfg.max_delay_ms = 4999;
    ev.start = cfg.start_ms;
    tide_gen_logins *g = NULL;
    tide_err e = {0};
    if (tide_gen_logins_create(&g, &cfg, &e))
        return -1;
    ev.n = 0;
    while (!tide_gen_logins_done(g)) {
        tide_gen_logins_cols c = {ev.ts + ev.n, ev.uid + ev.n, ev.country + ev.n, ev.device + ev.n,
                                  EVENTS - ev.n};
        size_t got = 0;
        if (tide_gen_logins_next(g, &c, EVENTS - ev.n, 0, &got, &e)) {
            tide_gen_logins_free(g);
            return -1;
        }
        ev.n += got;
    }
    tide_gen_logins_free(g);
    return ev.n == EVENTS ? 0 : -1;
}

/* Compile DDL + query, lower, run into a CSV file; *out gets the text. */
static int run_sql(const char *query, uint32_t par, char **out, tide_sql_error *serr,
                   tide_job_counts *counts)
{
    return sql_run(ddl, tmp, query, par, out, serr, counts);
}

/* A growing text. */
typedef struct text {
    char *s;
    size_t n, cap;
} text;

static void tprintf(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tprintf(text *t, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (t->n + (size_t)k + 1 > t->cap) {
        t->cap = (t->n + (size_t)k + 1) * 2;
        t->s = realloc(t->s, t->cap);
    }
    memcpy(t->s + t->n, line, (size_t)k + 1);
    t->n += (size_t)k;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The lines of s (minus a header), sorted, as one text. */
static char *sorted_lines(const char *s, bool drop_header)
{
    size_t n = 0, len = strlen(s);
    char *copy = strdup(s);
    char **lines = malloc((len + 1) * sizeof *lines);
    char *res = malloc(len + 2);
    if (!copy || !lines || !res)
        abort();
    for (char *tok = strtok(copy, "\n"); tok; tok = strtok(NULL, "\n"))
        lines[n++] = tok;
    size_t first = drop_header && n > 0 ? 1 : 0;
    qsort(lines + first, n - first, sizeof *lines, cmp_str);
    size_t at = 0;
    for (size_t i = first; i < n; i++) {
        size_t k = strlen(lines[i]);
        memcpy(res + at, lines[i], k);
        at += k;
        res[at++] = '\n';
    }
    res[at] = 0;
    free(copy);
    free(lines);
    return res;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

static bool contains(const int64_t *set, size_t n, int64_t x)
{
    for (size_t i = 0; i < n; i++)
        if (set[i] == x)
            return true;
    return false;
}

/* Join: per (day end, country) the day's count, joined with the 3-day
 * distinct users of non-web logins, HAVING-like filter after the join. */
static void test_join_keys_vs_brute_force(void)
{
    static const char q[] =
        "WITH a AS (SELECT country, window_end, COUNT(*) AS n\n"
        "  FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' DAY)) GROUP BY "
        "window_start, window_end, "
        "country),\n"
        "b AS (SELECT window_end AS e, country AS c, COUNT(DISTINCT user_id) AS u\n"
        "  FROM TABLE(HOP(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' DAY, INTERVAL '3' DAY)) WHERE "
        "device <> 'web'\n"
        "  GROUP BY window_start, window_end, country)\n"
        "SELECT a.window_end, a.country, a.n, b.u, a.n - b.u AS d FROM a JOIN b ON b.e = "
        "a.window_end AND a.country = "
        "b.c\n"
        "WHERE a.n > 60;\n";
    /* brute force, ordered by (window_end, country) */
    text want = {0};
    tprintf(&want, "window_end,country,n,u,d\n");
    int64_t d0 = floor_div(ev.start, DAY_MS);
    static int64_t users[EVENTS];
    for (int64_t d = d0 + 1; d <= d0 + DAYS + 3; d++) {
        int64_t end = d * DAY_MS;
        const char *names[TIDE_GEN_LOGINS_COUNTRIES];
        int order[TIDE_GEN_LOGINS_COUNTRIES];
        for (int c = 0; c < TIDE_GEN_LOGINS_COUNTRIES; c++) {
            names[c] = tide_gen_logins_country_name((uint8_t)c);
            order[c] = c;
        }
        /* countries by their key bytes: length first, then bytes */
        for (int i = 1; i < TIDE_GEN_LOGINS_COUNTRIES; i++)
            for (int j = i; j > 0; j--) {
                const char *x = names[order[j - 1]], *y = names[order[j]];
                size_t lx = strlen(x), ly = strlen(y);
                if (lx > ly || (lx == ly && strcmp(x, y) > 0)) {
                    int t = order[j];
                    order[j] = order[j - 1];
                    order[j - 1] = t;
                }
            }
        for (int oc = 0; oc < TIDE_GEN_LOGINS_COUNTRIES; oc++) {
            int c = order[oc];
            int64_t n = 0;
            size_t nu = 0;
            bool bwin = false;
            for (size_t i = 0; i < ev.n; i++) {
                if (ev.country[i] != c)
                    continue;
                if (ev.ts[i] >= end - DAY_MS && ev.ts[i] < end)
                    n++;
                if (ev.ts[i] >= end - 3 * DAY_MS && ev.ts[i] < end &&
                    strcmp(tide_gen_logins_device_name(ev.device[i]), "web") != 0) {
                    bwin = true;
                    if (!contains(users, nu, ev.uid[i]))
                        users[nu++] = ev.uid[i];
                }
            }
            if (n > 60 && bwin) {
                char ts[64];
                tide_ts_format(end, ts);
                tprintf(&want, "%s,%s,%lld,%zu,%lld\n", ts, names[c], (long long)n, nu,
                        (long long)(n - (int64_t)nu));
            }
        }
    }
    char *got1 = NULL, *got3 = NULL;
    tide_sql_error se;
    tide_job_counts c;
    TT_OK(run_sql(q, 1, &got1, &se, &c));
    TT_ASSERT_EQ_INT(c.in, EVENTS); /* one table, read by two branches, counted once */
    TT_OK(run_sql(q, 3, &got3, &se, NULL));
    TT_ASSERT(want.n > 200);
    TT_ASSERT_MSG(strcmp(got1, want.s) == 0, "got:\n%.600s\nwant:\n%.600s", got1, want.s);
    TT_ASSERT_EQ_STR(got3, got1);
    free(got1);
    free(got3);
    free(want.s);
}

/* CUMULATE (by slices) with a key and several aggregates vs brute force. */
static void test_cumulate_keys_vs_brute_force(void)
{
    static const char q[] =
        "SELECT device, window_start, window_end, COUNT(DISTINCT user_id) AS u, SUM(user_id) AS s, "
        "MAX(country) AS m,\n"
        "  COUNT(*) AS n\n"
        "FROM TABLE(CUMULATE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' DAY, INTERVAL '4' DAY))\n"
        "WHERE user_id % 3 <> 0 GROUP BY window_start, window_end, device;\n";
    text want = {0};
    tprintf(&want, "device,window_start,window_end,u,s,m,n\n");
    static int64_t users[EVENTS];
    const int64_t max = 4 * DAY_MS;
    int64_t p0 = floor_div(ev.start, max) * max;
    for (int64_t p = p0; p < ev.start + DAYS * DAY_MS; p += max)
        for (int64_t end = p + DAY_MS; end <= p + max; end += DAY_MS)
            for (int dv = 0; dv < TIDE_GEN_LOGINS_DEVICES; dv++) {
                size_t nu = 0;
                int64_t s = 0, n = 0;
                const char *m = NULL;
                for (size_t i = 0; i < ev.n; i++) {
                    if (ev.device[i] != dv || ev.uid[i] % 3 == 0 || ev.ts[i] < p || ev.ts[i] >= end)
                        continue;
                    n++;
                    s += ev.uid[i];
                    const char *cn = tide_gen_logins_country_name(ev.country[i]);
                    if (!m || strcmp(cn, m) > 0)
                        m = cn;
                    if (!contains(users, nu, ev.uid[i]))
                        users[nu++] = ev.uid[i];
                }
                if (n == 0)
                    continue;
                char a[64], b[64];
                tide_ts_format(p, a);
                tide_ts_format(end, b);
                tprintf(&want, "%s,%s,%s,%zu,%lld,%s,%lld\n",
                        tide_gen_logins_device_name((uint8_t)dv), a, b, nu, (long long)s, m,
                        (long long)n);
            }
    char *got = NULL, *got3 = NULL;
    tide_sql_error se;
    TT_OK(run_sql(q, 1, &got, &se, NULL));
    TT_OK(run_sql(q, 3, &got3, &se, NULL));
    TT_ASSERT_EQ_STR(got3, got);
    char *gs = sorted_lines(got, true), *ws = sorted_lines(want.s, true);
    TT_ASSERT(want.n > 1000);
    TT_ASSERT_MSG(strcmp(gs, ws) == 0, "got:\n%.600s\nwant:\n%.600s", gs, ws);
    free(gs);
    free(ws);
    free(got);
    free(got3);
    free(want.s);
}

/* UNION ALL: the multiset is the concatenation of the branches' results. */
static void test_union_vs_brute_force(void)
{
    /* the third branch follows the most frequent user (so it has rows) */
    static size_t seen[USERS + 1];
    int64_t hot = 1;
    for (size_t i = 0; i < ev.n; i++)
        if (++seen[ev.uid[i]] > seen[hot])
            hot = ev.uid[i];
    static const char qf[] = "SELECT 'day' AS k, window_end AS e, COUNT(DISTINCT user_id) AS v\n"
                            "  FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' DAY)) "
                            "GROUP BY window_start, window_end\n"
                            "UNION ALL\n"
                            "SELECT 'ios2d', window_end, COUNT(*) FROM TABLE(HOP(TABLE logins, "
                            "DESCRIPTOR(ts), INTERVAL '1' DAY, INTERVAL "
                            "'2' DAY))\n"
                            "  WHERE device = 'ios' GROUP BY window_start, window_end\n"
                            "UNION ALL\n"
                            "SELECT 'first', ts, user_id FROM logins WHERE user_id = %lld;\n";
    char q[sizeof qf + 24];
    snprintf(q, sizeof q, qf, (long long)hot);
    text want = {0};
    static int64_t users[EVENTS];
    int64_t d0 = floor_div(ev.start, DAY_MS);
    char ts[64];
    for (int64_t d = d0 + 1; d <= d0 + DAYS + 2; d++) {
        int64_t end = d * DAY_MS;
        size_t nu = 0;
        int64_t ios = 0;
        for (size_t i = 0; i < ev.n; i++) {
            if (ev.ts[i] >= end - DAY_MS && ev.ts[i] < end && !contains(users, nu, ev.uid[i]))
                users[nu++] = ev.uid[i];
            if (ev.ts[i] >= end - 2 * DAY_MS && ev.ts[i] < end &&
                strcmp(tide_gen_logins_device_name(ev.device[i]), "ios") == 0)
                ios++;
        }
        tide_ts_format(end, ts);
        if (nu)
            tprintf(&want, "day,%s,%zu\n", ts, nu);
        if (ios)
            tprintf(&want, "ios2d,%s,%lld\n", ts, (long long)ios);
    }
    size_t nfirst = 0;
    for (size_t i = 0; i < ev.n; i++)
        if (ev.uid[i] == hot) {
            tide_ts_format(ev.ts[i], ts);
            tprintf(&want, "first,%s,%lld\n", ts, (long long)hot);
            nfirst++;
        }
    char *got = NULL, *got3 = NULL;
    tide_sql_error se;
    TT_OK(run_sql(q, 1, &got, &se, NULL));
    TT_OK(run_sql(q, 3, &got3, &se, NULL));
    TT_ASSERT_EQ_STR(got3, got);
    TT_ASSERT(strncmp(got, "k,e,v\n", 6) == 0);
    char *gs = sorted_lines(got, true), *ws = sorted_lines(want.s, false);
    TT_ASSERT(nfirst > 5);
    TT_ASSERT_MSG(strcmp(gs, ws) == 0, "got:\n%.600s\nwant:\n%.600s", gs, ws);
    free(gs);
    free(ws);
    free(got);
    free(got3);
    free(want.s);
}

/* Interval join of two streams (both the generator, 10% of rows up to 5 s
 * late within the watermark bound): the full inner join, vs brute force. */
static void test_interval_join_vs_brute_force(void)
{
    static const char q[] =
        "SELECT a.user_id, a.ts, b.ts AS bts, b.country FROM logins a JOIN logins b\n"
        "  ON a.user_id = b.user_id AND a.ts BETWEEN b.ts - INTERVAL '30' MINUTE AND b.ts + "
        "INTERVAL '10' MINUTE\n"
        "WHERE a.device = 'ios' AND b.device <> 'ios' AND a.user_id < 200;\n";
    text want = {0};
    for (size_t i = 0; i < ev.n; i++) {
        if (ev.uid[i] >= 200 || strcmp(tide_gen_logins_device_name(ev.device[i]), "ios") != 0)
            continue;
        for (size_t k = 0; k < ev.n; k++) {
            if (ev.uid[k] != ev.uid[i] ||
                strcmp(tide_gen_logins_device_name(ev.device[k]), "ios") == 0)
                continue;
            int64_t d = ev.ts[i] - ev.ts[k];
            if (d < -1800000 || d > 600000)
                continue;
            char a[64], b[64];
            tide_ts_format(ev.ts[i], a);
            tide_ts_format(ev.ts[k], b);
            tprintf(&want, "%lld,%s,%s,%s\n", (long long)ev.uid[i], a, b,
                    tide_gen_logins_country_name(ev.country[k]));
        }
    }
    char *got = NULL, *got3 = NULL;
    tide_sql_error se;
    tide_job_counts c;
    TT_OK(run_sql(q, 1, &got, &se, &c));
    TT_ASSERT_EQ_INT(c.late, 0);
    TT_OK(run_sql(q, 3, &got3, &se, NULL));
    TT_ASSERT_EQ_STR(got3, got);
    char *gs = sorted_lines(got, true), *ws = sorted_lines(want.s, false);
    TT_ASSERT(want.n > 500);
    TT_ASSERT_MSG(strcmp(gs, ws) == 0, "got:\n%.600s\nwant:\n%.600s", gs, ws);
    free(gs);
    free(ws);
    free(got);
    free(got3);
    free(want.s);
}

/* Window join of two streams (HOP: a row in two windows) vs brute force:
 * every pair of rows of one user in a common 2-hour window sliding by 1
 * hour. */
static void test_window_join_vs_brute_force(void)
{
    static const char q[] = "SELECT l.user_id, l.window_end, l.ts, r.ts AS rts\n"
                            "FROM (SELECT * FROM TABLE(HOP(TABLE logins, DESCRIPTOR(ts), INTERVAL "
                            "'1' HOUR, INTERVAL '2' HOUR))\n"
                            "      WHERE device = 'web') l\n"
                            "JOIN (SELECT user_id, ts, window_start, window_end\n"
                            "      FROM TABLE(HOP(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' HOUR, "
                            "INTERVAL '2' HOUR))\n"
                            "      WHERE device = 'android') r\n"
                            "ON l.window_start = r.window_start AND l.window_end = r.window_end "
                            "AND l.user_id = r.user_id\n"
                            "WHERE l.user_id < 200;\n";
    const int64_t hour = 3600000;
    text want = {0};
    for (size_t i = 0; i < ev.n; i++) {
        if (ev.uid[i] >= 200 || strcmp(tide_gen_logins_device_name(ev.device[i]), "web") != 0)
            continue;
        for (size_t k = 0; k < ev.n; k++) {
            if (ev.uid[k] != ev.uid[i] ||
                strcmp(tide_gen_logins_device_name(ev.device[k]), "android") != 0)
                continue;
            /* windows [s, s + 2h), s a multiple of 1h, holding both */
            int64_t lo = ev.ts[i] > ev.ts[k] ? ev.ts[i] : ev.ts[k],
                    hi = ev.ts[i] < ev.ts[k] ? ev.ts[i] : ev.ts[k];
            for (int64_t st = floor_div(hi, hour) * hour; st > lo - 2 * hour; st -= hour) {
                if (st > hi || st + 2 * hour <= lo)
                    continue;
                char a[64], b[64], c[64];
                tide_ts_format(st + 2 * hour, a);
                tide_ts_format(ev.ts[i], b);
                tide_ts_format(ev.ts[k], c);
                tprintf(&want, "%lld,%s,%s,%s\n", (long long)ev.uid[i], a, b, c);
            }
        }
    }
    char *got = NULL, *got3 = NULL;
    tide_sql_error se;
    tide_job_counts c;
    TT_OK(run_sql(q, 1, &got, &se, &c));
    TT_ASSERT_EQ_INT(c.late, 0);
    TT_OK(run_sql(q, 3, &got3, &se, NULL));
    TT_ASSERT_EQ_STR(got3, got);
    char *gs = sorted_lines(got, true), *ws = sorted_lines(want.s, false);
    TT_ASSERT(want.n > 500);
    TT_ASSERT_MSG(strcmp(gs, ws) == 0, "got:\n%.600s\nwant:\n%.600s", gs, ws);
    free(gs);
    free(ws);
    free(got);
    free(got3);
    free(want.s);
}

/* The query is refused, named at its line (the query's first is line 5)
 * and, when `at` is given, at the column where the query's text `at`
 * begins: the refused construct itself (issue 10), not the SELECT around
 * it. */
static void expect_refused_at(const char *query, uint32_t line, const char *what, const char *at)
{
    char *got = NULL;
    tide_sql_error se;
    int rc = run_sql(query, 1, &got, &se, NULL);
    free(got);
    TT_ASSERT_MSG(rc == TIDE_EUNSUPPORTED, "rc %d for: %s", rc, query);
    TT_ASSERT_EQ_INT(se.line, line);
    TT_ASSERT(se.col >= 1);
    TT_ASSERT_MSG(strncmp(se.msg, "not supported yet: ", 19) == 0 && strstr(se.msg, what), "%s",
                  se.msg);
    if (at) {
        const char *want = strstr(query, at);
        TT_ASSERT(want);
        TT_ASSERT_MSG(se.col == (uint32_t)(want - query) + 1, "%s: at column %u ('%.20s'), want %u ('%s')",
                      se.msg, se.col, query + se.col - 1, (uint32_t)(want - query) + 1, at);
    }
}

static void expect_refused(const char *query, uint32_t line, const char *what)
{
    expect_refused_at(query, line, what, NULL);
}

#define AGG(alias, extra)                                                                          \
    "(SELECT window_end, COUNT(*) AS n FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL "  \
    "'1' DAY)) GROUP BY "                                                                          \
    "window_start, window_end" extra ") " alias

static void test_refused(void)
{
    expect_refused_at("SELECT a.n FROM " AGG("a", "") " CROSS JOIN " AGG("b", "") ";", 5, "CROSS joins", "CROSS");
    expect_refused_at("SELECT a.n FROM " AGG("a", "") " JOIN " AGG("b", "") " ON a.n = b.n;", 5,
                      "ON their window_end", "JOIN");
    expect_refused_at("SELECT a.n FROM " AGG("a", " EMIT EARLY EVERY INTERVAL '1' HOUR") " JOIN " AGG(
                          "b", "") " ON "
                                   "a.window_end = b.window_end;",
                      5, "early or late firings", "EMIT");
    /* nested in a subquery, a refused join is named at its JOIN (it used to be
     * the SELECT around it) */
    expect_refused_at("SELECT * FROM (SELECT x.user_id FROM (SELECT 1 AS q, user_id FROM logins) x, logins y "
                      "WHERE x.user_id = y.user_id) z;",
                      5, "CROSS joins", ", logins y");
    expect_refused_at("SELECT * FROM (SELECT * FROM (SELECT a.window_start FROM TABLE(TUMBLE(TABLE logins, "
                      "DESCRIPTOR(ts), INTERVAL '1' HOUR)) a LEFT JOIN TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), "
                      "INTERVAL '2' HOUR)) b ON a.window_start = b.window_start AND a.window_end = b.window_end));",
                      5, "two different windows", "LEFT JOIN");
    expect_refused_at("SELECT * FROM (SELECT window_start, device, COUNT(*) AS n FROM TABLE(SESSION(TABLE logins "
                      "PARTITION BY country, DESCRIPTOR(ts), INTERVAL '5' MINUTE)) GROUP BY window_start, "
                      "window_end, device);",
                      5, "SESSION PARTITION BY a column that is not a GROUP BY key", "country,");
    expect_refused_at("SELECT * FROM (SELECT a.user_id FROM logins a JOIN logins b ON a.user_id = b.user_id "
                      "UNION ALL SELECT user_id FROM logins CROSS JOIN (SELECT 1 AS one FROM logins) c);",
                      5, "CROSS joins", "CROSS JOIN (");
    expect_refused(
        "SELECT a.window_start FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' HOUR)) "
        "a JOIN "
        "TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '2' HOUR)) b ON a.window_start = "
        "b.window_start AND a.window_end = b.window_end AND a.user_id = b.user_id;",
        5, "two different windows");
    expect_refused(
        "SELECT a.window_start FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' HOUR)) "
        "a JOIN "
        "TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' HOUR)) b ON a.window_end = "
        "b.window_end AND a.user_id = b.user_id;",
        5, "equate both window_start and window_end");
}

/* Nested anywhere: a join of two windowed aggregates inside a UNION ALL
 * with a third one (one graph: the table is scanned once).  Each day's
 * count comes twice; P = 1 and 3 give the same sequence. */
static void test_join_inside_union(void)
{
    const char *q = "SELECT n FROM " AGG("a", "") " UNION ALL SELECT a.n FROM " AGG("a", "") " JOIN " AGG(
        "b", "") " ON a.window_end = b.window_end;";
    int64_t days[64] = {0};
    int64_t first = INT64_MAX;
    for (size_t i = 0; i < ev.n; i++)
        if (ev.ts[i] < first)
            first = ev.ts[i];
    int64_t d0 = first - (first % DAY_MS + DAY_MS) % DAY_MS;
    for (size_t i = 0; i < ev.n; i++) {
        int64_t d = (ev.ts[i] - d0) / DAY_MS;
        TT_ASSERT(d >= 0 && d < 64);
        days[d]++;
    }
    text want = {0};
    for (int d = 0; d < 64; d++)
        if (days[d])
            for (int k = 0; k < 2; k++)
                tprintf(&want, "%lld\n", (long long)days[d]);
    char *got1 = NULL, *got3 = NULL;
    tide_sql_error se;
    tide_job_counts c;
    TT_OK(run_sql(q, 1, &got1, &se, &c));
    TT_ASSERT_EQ_INT(c.in, EVENTS); /* one scan */
    TT_OK(run_sql(q, 3, &got3, &se, NULL));
    TT_ASSERT_EQ_STR(got3, got1);
    char *gs = sorted_lines(got1, true), *ws = sorted_lines(want.s, false);
    TT_ASSERT_MSG(strcmp(gs, ws) == 0, "got:\n%.600s\nwant:\n%.600s", gs, ws);
    free(gs);
    free(ws);
    free(got1);
    free(got3);
    free(want.s);
}

/* A named job's statement set: two INSERTs into topics (the same topic, or
 * two) planned into one graph with tide_sql_physical_set, run once.  The
 * table is scanned once; each sink is the transactional producer
 * "<job>.<i>" of its topic (a shared name would be refused: one writer per
 * producer), and it writes its statement's rows. */
static void run_set(const char *job, const char *t0, const char *t1)
{
    char data[1024], src[16384], p[1400];
    snprintf(data, sizeof data, "%s/set-%s", tmp, job);
    tide_err e = {0};
    tide_topic_config tc;
    tide_topic_config_default(&tc);
    TT_OK(tide_topic_create(data, t0, &tc, &e));
    if (strcmp(t0, t1) != 0)
        TT_OK(tide_topic_create(data, t1, &tc, &e));
    snprintf(src, sizeof src,
             "%s"
             "CREATE TABLE o0 (d TIMESTAMP(3), n BIGINT) WITH ('connector' = 'topic', 'topic' = '%s', 'data' = "
             "'%s', 'format' = 'csv');\n"
             "CREATE TABLE o1 (c STRING, n BIGINT) WITH ('connector' = 'topic', 'topic' = '%s', 'data' = '%s', "
             "'format' = 'csv');\n"
             "INSERT INTO o0 SELECT window_start, COUNT(*) FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), "
             "INTERVAL '1' DAY)) GROUP BY window_start, window_end;\n"
             "INSERT INTO o1 SELECT country, COUNT(*) FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), "
             "INTERVAL '1' DAY)) GROUP BY window_start, window_end, country;\n",
             ddl, t0, data, t1, data);
    tide_sql_catalog *cat = NULL;
    tide_sql_program *prog = NULL;
    tide_sql_error se;
    memset(&se, 0, sizeof se);
    TT_OK(tide_sql_catalog_create(&cat));
    TT_ASSERT_MSG(tide_sql_compile(cat, "set.sql", src, strlen(src), &prog, &se) == 0, "%s", se.msg);
    TT_ASSERT_EQ_INT(prog->nplans, 2);
    tide_sql_phys_opts o = {.datadir = data, .parallelism = 2, .job = job};
    tide_sql_phys_info info;
    tide_job_spec *spec = NULL;
    TT_OK(tide_job_spec_create(&spec, &e));
    TT_ASSERT_MSG(tide_sql_physical_set((const tide_sql_plan *const *)prog->plans, 2, &o, spec, &info, &se) == 0,
                  "%s", se.msg);
    uint32_t scans = 0, writes = 0;
    for (uint32_t i = 0; i < tide_job_spec_node_count(spec); i++) {
        const char *name = tide_job_spec_get_node(spec, (int)i)->name;
        scans += strncmp(name, "scan", 4) == 0;
        writes += strncmp(name, "write", 5) == 0;
    }
    TT_ASSERT_EQ_INT(scans, 1);
    TT_ASSERT_EQ_INT(writes, 2);
    tide_job *j = NULL;
    TT_OK(tide_job_create(&j, spec, NULL, &e));
    int rc = tide_job_run(j, &e);
    TT_ASSERT_MSG(rc == 0, "run: %s", e.msg);
    tide_job_counts c;
    tide_job_counts_get(j, &c);
    TT_ASSERT_EQ_INT(c.in, EVENTS); /* one scan for both */
    TT_ASSERT(c.out > 0);
    tide_job_free(j);
    tide_job_spec_free(spec);
    tide_sql_program_free(prog);
    tide_sql_catalog_free(cat);
    for (int i = 0; i < 2; i++) {
        snprintf(p, sizeof p, "%s/topics/%s/producers/%s.%d.state", data, i ? t1 : t0, job, i);
        TT_ASSERT_MSG(access(p, F_OK) == 0, "no producer state %s", p);
    }
}

static void test_statement_set(void)
{
    run_set("two", "a", "b");
    run_set("one", "same", "same");
}

int main(void)
{
    tmp = tt_tmpdir("test_sql_fanin");
    if (!tmp || gen_events() != 0) {
        fprintf(stderr, "setup failed\n");
        return 1;
    }
    TT_RUN(test_join_keys_vs_brute_force);
    TT_RUN(test_cumulate_keys_vs_brute_force);
    TT_RUN(test_union_vs_brute_force);
    TT_RUN(test_interval_join_vs_brute_force);
    TT_RUN(test_window_join_vs_brute_force);
    TT_RUN(test_refused);
    TT_RUN(test_join_inside_union);
    TT_RUN(test_statement_set);
    TT_DONE();
}
