/*
 * test_sql_lower.c - SQL plans planned into physical graphs (sql/physical.h) and run:
 * results of windowed and stateless queries over the logins generator,
 * compared with a brute-force computation over the generator's events;
 * unsupported shapes rejected with positions.
 */
#include "connect/gen_logins.h"
#include "data/timefmt.h"
#include "sql/binder.h"
#include "sql/catalog.h"
#include "sql/physical.h"
#include "tide.h"
#include "sql_run.h"
#include "tt.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EVENTS 20000
#define USERS 500
#define DAYS 3
#define DAY_MS 86400000LL

static const char *tmp;

static const char ddl_std[] =
    "CREATE TABLE logins (ts TIMESTAMP(3), user_id BIGINT, country STRING, device STRING,\n"
    "  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND)\n"
    "  WITH ('connector' = 'logins', 'seed' = '7', 'events' = '20000', 'users' = '500',\n"
    "        'span' = '259200000', 'late.share' = '0.1', 'max.delay' = '4999');\n";

static const char *ddl = ddl_std;

/* The generator's events, as the SQL table configures it. */
typedef struct events {
    int64_t ts[EVENTS], uid[EVENTS];
    uint8_t country[EVENTS], device[EVENTS];
    size_t n;
} events;

static events ev;

static int gen_events(void)
{
    tide_gen_logins_cfg cfg;
    tide_gen_logins_cfg_default(&cfg);
    cfg.seed = 7;
    cfg.events = EVENTS;
    cfg.users = USERS;
    cfg.end_ms = cfg.start_ms + DAYS * DAY_MS;
    cfg.late_share = 0.1;
    /* delays < B = 5 s: no record is late, so the brute force counts every
     * one (a record delayed by exactly B could arrive with ts == W and miss
     * the window ending at ts + 1, which fires at W = ts) */
    cfg.max_delay_ms = 4999;
    tide_gen_logins *g = NULL;
    tide_err e = {0};
    if (tide_gen_logins_create(&g, &cfg, &e))
        return -1;
    ev.n = 0;
    while (!tide_gen_logins_done(g)) {
        tide_gen_logins_cols c = {ev.ts + ev.n, ev.uid + ev.n, ev.country + ev.n, ev.device + ev.n, EVENTS - ev.n};
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

/* Compile `query` after the DDL, lower it with output to a file in CSV and
 * run it; *out gets the file's text (malloc'd). */
static int run_sql(const char *query, uint32_t par, char **out, tide_sql_error *serr)
{
    return sql_run(ddl, tmp, query, par, out, serr, NULL);
}

static void put_ts(char *buf, int64_t ms) { tide_ts_format(ms, buf); }

/* Sort the lines of s in place (as text); returns a malloc'd copy. */
static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static char *sorted_lines(const char *s, bool drop_header)
{
    size_t n = 0, len = strlen(s);
    char *copy = strdup(s);
    char **lines = malloc((len + 1) * sizeof *lines);
    char *res = malloc(len + 2);
    if (!copy || !lines || !res) {
        free(copy);
        free(lines);
        free(res);
        return NULL;
    }
    for (char *tok = strtok(copy, "\n"); tok; tok = strtok(NULL, "\n"))
        lines[n++] = tok;
    size_t first = drop_header && n > 0 ? 1 : 0;
    qsort(lines + first, n - first, sizeof *lines, cmp_str);
    res[0] = 0;
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

static void test_dau(void)
{
    static bool seen[DAYS][USERS + 1];
    memset(seen, 0, sizeof seen);
    int64_t start = ev.ts[0] - ev.ts[0] % DAY_MS;
    for (size_t i = 0; i < ev.n; i++)
        seen[(ev.ts[i] - start) / DAY_MS][ev.uid[i]] = true;
    char want[4096] = "window_start,window_end,dau\n";
    for (int d = 0; d < DAYS; d++) {
        int cnt = 0;
        for (int u = 1; u <= USERS; u++)
            cnt += seen[d][u];
        char a[64], b[64];
        put_ts(a, start + d * DAY_MS);
        put_ts(b, start + (d + 1) * DAY_MS);
        snprintf(want + strlen(want), sizeof want - strlen(want), "%s,%s,%d\n", a, b, cnt);
    }
    for (uint32_t par = 1; par <= 3; par += 2) {
        char *got = NULL;
        tide_sql_error se;
        int rc = run_sql("SELECT window_start, window_end, COUNT(DISTINCT user_id) AS dau\n"
                         "FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' DAY))\n"
                         "GROUP BY window_start, window_end;",
                         par, &got, &se);
        TT_ASSERT_MSG(rc == 0, "%d: %u:%u: %s", rc, se.line, se.col, se.msg);
        int same = strcmp(got, want);
        if (same)
            fprintf(stderr, "got:\n%s\nwant:\n%s\n", got, want);
        free(got);
        TT_ASSERT_EQ_INT(same, 0);
    }
}

/* Keys, WHERE, HAVING, a computed output column. */
static void test_keys_where_having(void)
{
    enum { H = 6 * 3600000 };
    static int64_t cnt[DAYS * 4][TIDE_GEN_LOGINS_COUNTRIES];
    static int64_t mx[DAYS * 4][TIDE_GEN_LOGINS_COUNTRIES];
    memset(cnt, 0, sizeof cnt);
    memset(mx, 0, sizeof mx);
    int64_t start = ev.ts[0] - ev.ts[0] % DAY_MS;
    for (size_t i = 0; i < ev.n; i++) {
        if (strcmp(tide_gen_logins_device_name(ev.device[i]), "web") == 0 || ev.uid[i] % 3 == 0)
            continue;
        int w = (int)((ev.ts[i] - start) / H);
        cnt[w][ev.country[i]]++;
        if (ev.uid[i] > mx[w][ev.country[i]])
            mx[w][ev.country[i]] = ev.uid[i];
    }
    size_t cap = 1 << 16, at = 0;
    char *want = malloc(cap);
    TT_ASSERT(want);
    want[0] = 0;
    for (int w = 0; w < DAYS * 4; w++)
        for (int c = 0; c < TIDE_GEN_LOGINS_COUNTRIES; c++) {
            if (cnt[w][c] <= 40)
                continue;
            char a[64];
            put_ts(a, start + (int64_t)w * H);
            at += (size_t)snprintf(want + at, cap - at, "%s,%s,%lld,%lld\n", tide_gen_logins_country_name((uint8_t)c),
                                   a, (long long)cnt[w][c] * 2, (long long)mx[w][c]);
        }
    char *got = NULL;
    tide_sql_error se;
    int rc = run_sql("SELECT country, window_start, COUNT(*) * 2 AS n2, MAX(user_id) AS top\n"
                     "FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '6' HOUR))\n"
                     "WHERE device <> 'web' AND user_id % 3 <> 0\n"
                     "GROUP BY window_start, window_end, country HAVING COUNT(*) > 40;",
                     2, &got, &se);
    if (rc) {
        free(want);
        TT_ASSERT_MSG(rc == 0, "%d: %u:%u: %s", rc, se.line, se.col, se.msg);
    }
    char *gs = sorted_lines(got, true), *ws = sorted_lines(want, false);
    int diff = gs && ws ? strcmp(gs, ws) : -1;
    if (diff)
        fprintf(stderr, "got:\n%s\nwant:\n%s\n", gs ? gs : "?", ws ? ws : "?");
    bool some = ws && strlen(ws) > 0;
    free(gs);
    free(ws);
    free(got);
    free(want);
    TT_ASSERT(some);
    TT_ASSERT_EQ_INT(diff, 0);
}

/* A stateless query keeps the source's order. */
static void test_stateless(void)
{
    size_t cap = 1 << 16, at = 0;
    char *want = malloc(cap);
    TT_ASSERT(want);
    at += (size_t)snprintf(want, cap, "user_id,ts,d\n");
    for (size_t i = 0; i < ev.n; i++) {
        if (ev.uid[i] != 17)
            continue;
        char a[64], d[32];
        put_ts(a, ev.ts[i]);
        snprintf(d, sizeof d, "%s", tide_gen_logins_device_name(ev.device[i]));
        for (char *c = d; *c; c++)
            if (*c >= 'a' && *c <= 'z')
                *c = (char)(*c - 'a' + 'A');
        at += (size_t)snprintf(want + at, cap - at, "%lld,%s,%s\n", (long long)ev.uid[i], a, d);
    }
    char *got = NULL;
    tide_sql_error se;
    int rc = run_sql("SELECT user_id, ts, UPPER(device) AS d FROM logins WHERE user_id = 17;", 1, &got, &se);
    if (rc) {
        free(want);
        TT_ASSERT_MSG(rc == 0, "%d: %u:%u: %s", rc, se.line, se.col, se.msg);
    }
    int diff = strcmp(got, want);
    if (diff)
        fprintf(stderr, "got:\n%s\nwant:\n%s\n", got, want);
    free(got);
    free(want);
    TT_ASSERT_EQ_INT(diff, 0);
}

static void expect_unsupported(const char *query, uint32_t line, const char *what)
{
    char *got = NULL;
    tide_sql_error se;
    int rc = run_sql(query, 1, &got, &se);
    free(got);
    TT_ASSERT_EQ_INT(rc, TIDE_EUNSUPPORTED);
    TT_ASSERT_EQ_INT(se.line, line);
    TT_ASSERT(se.col >= 1);
    TT_ASSERT_MSG(strncmp(se.msg, "not supported yet: ", 19) == 0 && strstr(se.msg, what), "%s", se.msg);
}

static void test_unsupported(void)
{
    expect_unsupported("SELECT a.user_id FROM logins a JOIN logins b ON a.user_id = b.user_id;", 5, "joins");
    if (tt_failed_now)
        return;
    expect_unsupported("SELECT a.user_id FROM logins a CROSS JOIN logins b;", 5, "CROSS joins");
}

/* A 'logins' table may name the generator's columns in any order. */
static void test_logins_columns_by_name(void)
{
    size_t cap = 1 << 16, at = 0;
    char *want = malloc(cap);
    TT_ASSERT(want);
    at += (size_t)snprintf(want, cap, "device,user_id\n");
    for (size_t i = 0; i < ev.n; i++)
        if (ev.uid[i] == 17)
            at += (size_t)snprintf(want + at, cap - at, "%s,17\n", tide_gen_logins_device_name(ev.device[i]));
    ddl = "CREATE TABLE logins (device STRING, user_id BIGINT, ts TIMESTAMP(3),\n"
          "  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND)\n"
          "  WITH ('connector' = 'logins', 'seed' = '7', 'count' = '20000', 'users' = '500',\n"
          "        'start' = '2024-01-01 00:00:00', 'end' = '2024-01-04', 'late.share' = '0.1', 'max.delay' = '5000');\n";
    char *got = NULL;
    tide_sql_error se;
    int rc = run_sql("SELECT device, user_id FROM logins WHERE user_id = 17;", 1, &got, &se);
    int diff = rc ? -1 : strcmp(got, want);
    if (diff)
        fprintf(stderr, "rc %d (%s)\ngot:\n%s\nwant:\n%s\n", rc, se.msg, got ? got : "", want);
    free(got);
    free(want);
    /* a column the generator does not have */
    ddl = "CREATE TABLE logins (device BIGINT, ts TIMESTAMP(3),\n"
          "  WATERMARK FOR ts AS ts) WITH ('connector' = 'logins');\n\n\n";
    int rc2 = run_sql("SELECT device FROM logins;", 1, &got, &se);
    free(got);
    ddl = ddl_std;
    TT_ASSERT_EQ_INT(diff, 0);
    TT_ASSERT_EQ_INT(rc2, TIDE_EINVAL);
    TT_ASSERT_EQ_INT(se.line, 5);
    TT_ASSERT_MSG(strstr(se.msg, "column 'device' BIGINT is not one of the logins generator's"), "%s", se.msg);
}

/* ---- unwindowed GROUP BY: a changelog applied to a map ---- */

typedef struct cl_map {
    char key[64][64];
    char rest[64][128];
    bool live[64];
    int n;
    int ins, ub, ua, del; /* ops seen */
    int bad;              /* malformed changelog (printed) */
} cl_map;

static int cl_find(cl_map *m, const char *key)
{
    for (int i = 0; i < m->n; i++)
        if (strcmp(m->key[i], key) == 0)
            return i;
    if (m->n == 64)
        return -1;
    snprintf(m->key[m->n], sizeof m->key[0], "%s", key);
    m->live[m->n] = false;
    return m->n++;
}

/* Apply a CSV changelog "op,<key>,<rest>" (header first; keyed false: the
 * whole row after the op is the value of one global key).  Checks: +I of an
 * absent key, -U / -D of the key's current row, each -U followed by the +U
 * of its key with a different row.  Returns the final table as sorted
 * "key,rest" lines (malloc'd). */
static char *cl_apply(const char *csv, bool keyed, cl_map *m)
{
    memset(m, 0, sizeof *m);
    char *copy = strdup(csv);
    if (!copy)
        return NULL;
    char *save = NULL, *line = strtok_r(copy, "\n", &save);
    char pend_key[64] = "", pend_rest[128] = "";
    bool pend = false;
    for (line = strtok_r(NULL, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char op[4] = "", key[64] = "", rest[128] = "";
        char *c1 = strchr(line, ',');
        if (!c1 || c1 - line > 2) {
            m->bad++;
            continue;
        }
        memcpy(op, line, (size_t)(c1 - line));
        const char *kv = c1 + 1;
        if (keyed) {
            const char *c2 = strchr(kv, ',');
            size_t kl = c2 ? (size_t)(c2 - kv) : strlen(kv);
            snprintf(key, sizeof key, "%.*s", (int)kl, kv);
            snprintf(rest, sizeof rest, "%s", c2 ? c2 + 1 : "");
        } else {
            snprintf(rest, sizeof rest, "%s", kv);
        }
        int i = cl_find(m, key);
        if (i < 0) {
            m->bad++;
            continue;
        }
        if (pend && strcmp(op, "+U") != 0) {
            fprintf(stderr, "  -U of %s without its +U\n", pend_key);
            m->bad++;
            pend = false;
        }
        if (strcmp(op, "+I") == 0) {
            m->ins++;
            if (m->live[i]) {
                fprintf(stderr, "  +I of %s, which has a row\n", key);
                m->bad++;
            }
            snprintf(m->rest[i], sizeof m->rest[0], "%s", rest);
            m->live[i] = true;
        } else if (strcmp(op, "-U") == 0 || strcmp(op, "-D") == 0) {
            if (op[1] == 'U')
                m->ub++;
            else
                m->del++;
            if (!m->live[i] || strcmp(m->rest[i], rest) != 0) {
                fprintf(stderr, "  %s %s,%s does not retract its row %s\n", op, key, rest, m->live[i] ? m->rest[i] : "(none)");
                m->bad++;
            }
            m->live[i] = false;
            if (op[1] == 'U') {
                pend = true;
                snprintf(pend_key, sizeof pend_key, "%s", key);
                snprintf(pend_rest, sizeof pend_rest, "%s", rest);
            }
        } else if (strcmp(op, "+U") == 0) {
            m->ua++;
            if (!pend || strcmp(pend_key, key) != 0 || strcmp(pend_rest, rest) == 0) {
                fprintf(stderr, "  +U %s,%s not after a -U of another row of its key\n", key, rest);
                m->bad++;
            }
            pend = false;
            snprintf(m->rest[i], sizeof m->rest[0], "%s", rest);
            m->live[i] = true;
        } else {
            m->bad++;
        }
    }
    if (pend)
        m->bad++;
    free(copy);
    size_t cap = 64 * 200 + 1, at = 0;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    out[0] = 0;
    for (int i = 0; i < m->n; i++)
        if (m->live[i])
            at += (size_t)snprintf(out + at, cap - at, keyed ? "%s,%s\n" : "%s%s\n", m->key[i], m->rest[i]);
    char *sorted = sorted_lines(out, false);
    free(out);
    return sorted;
}

/* GROUP BY country with WHERE and a HAVING band: countries enter the
 * result (+I), change (-U/+U) and leave it (-D) as their counts grow; the
 * applied changelog equals the brute-force GROUP BY ... HAVING, P = 1 and 3
 * give the same changelog. */
static void test_groupby_having(void)
{
    int64_t cnt[TIDE_GEN_LOGINS_COUNTRIES] = {0};
    static bool seen[TIDE_GEN_LOGINS_COUNTRIES][USERS + 1];
    memset(seen, 0, sizeof seen);
    for (size_t i = 0; i < ev.n; i++) {
        if (strcmp(tide_gen_logins_device_name(ev.device[i]), "web") == 0)
            continue;
        cnt[ev.country[i]]++;
        seen[ev.country[i]][ev.uid[i]] = true;
    }
    /* the band: [lo, hi) with hi the median final count (the larger half
     * of the countries leaves the result on the way), lo a tenth of it */
    int64_t sorted[TIDE_GEN_LOGINS_COUNTRIES];
    memcpy(sorted, cnt, sizeof sorted);
    for (int i = 0; i < TIDE_GEN_LOGINS_COUNTRIES; i++)
        for (int j = i + 1; j < TIDE_GEN_LOGINS_COUNTRIES; j++)
            if (sorted[j] < sorted[i]) {
                int64_t t = sorted[i];
                sorted[i] = sorted[j];
                sorted[j] = t;
            }
    int64_t hi = sorted[TIDE_GEN_LOGINS_COUNTRIES / 2], lo = sorted[0] / 10;
    size_t cap = 1 << 14, at = 0;
    char *want = malloc(cap);
    TT_ASSERT(want);
    want[0] = 0;
    for (int c = 0; c < TIDE_GEN_LOGINS_COUNTRIES; c++) {
        if (cnt[c] < lo || cnt[c] >= hi)
            continue;
        int u = 0;
        for (int k = 0; k <= USERS; k++)
            u += seen[c][k];
        at += (size_t)snprintf(want + at, cap - at, "%s,%lld,%d\n", tide_gen_logins_country_name((uint8_t)c),
                               (long long)cnt[c], u);
    }
    char *ws = sorted_lines(want, false);
    free(want);
    char q[512];
    snprintf(q, sizeof q,
             "SELECT country, COUNT(*) AS n, COUNT(DISTINCT user_id) AS u FROM logins\n"
             "WHERE device <> 'web' GROUP BY country HAVING COUNT(*) >= %lld AND COUNT(*) < %lld;",
             (long long)lo, (long long)hi);
    char *first = NULL;
    for (uint32_t par = 1; par <= 3; par += 2) {
        char *got = NULL;
        tide_sql_error se;
        int rc = run_sql(q, par, &got, &se);
        if (rc) {
            free(ws);
            free(first);
            TT_ASSERT_MSG(rc == 0, "%d: %u:%u: %s", rc, se.line, se.col, se.msg);
        }
        cl_map m;
        char *fin = cl_apply(got, true, &m);
        bool hdr = strncmp(got, "op,country,n,u\n", 15) == 0;
        int diff = fin && ws ? strcmp(fin, ws) : -1;
        if (diff)
            fprintf(stderr, "applied:\n%s\nwant:\n%s\n", fin ? fin : "?", ws ? ws : "?");
        int same = first ? strcmp(first, got) : 0;
        if (!first)
            first = got;
        else
            free(got);
        free(fin);
        if (diff || m.bad || !hdr || same)
            free(ws), free(first), ws = first = NULL;
        TT_ASSERT(hdr);
        TT_ASSERT_EQ_INT(m.bad, 0);
        TT_ASSERT_EQ_INT(diff, 0);
        TT_ASSERT_MSG(same == 0, "P = 1 and 3 differ");
        /* every kind of change happened */
        TT_ASSERT(m.ins > 0 && m.ub > 0 && m.ua == m.ub && m.del > 0);
    }
    free(first);
    free(ws);
}

/* An aggregation over another one's changelog (Flink's): GROUP BY n over
 * (country, n = its row count), the inner rows' -U/+U retracting.  Applied,
 * the output is the histogram of the final counts, at P = 1 and 2. */
static void test_agg_over_changelog(void)
{
    int64_t per[TIDE_GEN_LOGINS_COUNTRIES] = {0};
    for (size_t i = 0; i < ev.n; i++)
        per[ev.country[i]]++;
    int64_t hist_n[TIDE_GEN_LOGINS_COUNTRIES];
    int64_t hist_c[TIDE_GEN_LOGINS_COUNTRIES];
    int nh = 0;
    for (int c = 0; c < TIDE_GEN_LOGINS_COUNTRIES; c++) {
        if (!per[c])
            continue;
        int h = 0;
        while (h < nh && hist_n[h] != per[c])
            h++;
        if (h == nh) {
            hist_n[nh] = per[c];
            hist_c[nh++] = 0;
        }
        hist_c[h]++;
    }
    char want[4096] = "";
    size_t at = 0;
    for (int h = 0; h < nh; h++)
        at += (size_t)snprintf(want + at, sizeof want - at, "%lld,%lld\n", (long long)hist_n[h],
                               (long long)hist_c[h]);
    char *ws = sorted_lines(want, false);
    for (uint32_t par = 1; par <= 2; par++) {
        char *got = NULL;
        tide_sql_error se;
        int rc = run_sql("SELECT n, COUNT(*) AS c FROM (SELECT country, COUNT(*) AS n FROM logins GROUP BY country) "
                         "GROUP BY n;",
                         par, &got, &se);
        if (rc) {
            free(ws);
            TT_ASSERT_MSG(rc == 0, "%d: %u:%u: %s", rc, se.line, se.col, se.msg);
        }
        cl_map m;
        char *fin = cl_apply(got, true, &m);
        int diff = fin && ws ? strcmp(fin, ws) : -1;
        if (diff)
            fprintf(stderr, "P=%u applied:\n%s\nwant:\n%s\n", par, fin ? fin : "?", ws ? ws : "?");
        free(fin);
        free(got);
        if (diff || m.bad) {
            free(ws);
            TT_ASSERT_EQ_INT(m.bad, 0);
            TT_ASSERT_EQ_INT(diff, 0);
        }
    }
    free(ws);
}

/* SELECT DISTINCT: only +I rows (a key's growing row count is not in the
 * output, so its -U/+U pairs vanish); a global aggregate (no GROUP BY). */
static void test_distinct_and_global(void)
{
    bool seen[TIDE_GEN_LOGINS_COUNTRIES] = {0};
    int64_t n = 0, sum = 0;
    for (size_t i = 0; i < ev.n; i++) {
        if (ev.uid[i] % 97 == 0)
            seen[ev.country[i]] = true;
        n++;
        sum += ev.uid[i];
    }
    char want[1024] = "";
    size_t at = 0;
    for (int c = 0; c < TIDE_GEN_LOGINS_COUNTRIES; c++)
        if (seen[c])
            at += (size_t)snprintf(want + at, sizeof want - at, "%s,\n", tide_gen_logins_country_name((uint8_t)c));
    char *ws = sorted_lines(want, false);
    char *got = NULL;
    tide_sql_error se;
    int rc = run_sql("SELECT DISTINCT country FROM logins WHERE user_id % 97 = 0;", 2, &got, &se);
    if (rc) {
        free(ws);
        TT_ASSERT_MSG(rc == 0, "%d: %u:%u: %s", rc, se.line, se.col, se.msg);
    }
    cl_map m;
    char *fin = cl_apply(got, true, &m);
    int diff = fin && ws ? strcmp(fin, ws) : -1;
    if (diff)
        fprintf(stderr, "applied:\n%s\nwant:\n%s\n", fin ? fin : "?", ws ? ws : "?");
    free(fin);
    free(ws);
    free(got);
    TT_ASSERT_EQ_INT(m.bad, 0);
    TT_ASSERT_EQ_INT(diff, 0);
    TT_ASSERT(m.ins > 0 && m.ub == 0 && m.ua == 0 && m.del == 0);

    rc = run_sql("SELECT COUNT(*) AS n, SUM(user_id) AS s FROM logins;", 2, &got, &se);
    TT_ASSERT_MSG(rc == 0, "%d: %u:%u: %s", rc, se.line, se.col, se.msg);
    snprintf(want, sizeof want, "%lld,%lld\n", (long long)n, (long long)sum);
    fin = cl_apply(got, false, &m);
    diff = fin ? strcmp(fin, want) : -1;
    if (diff)
        fprintf(stderr, "applied:\n%s\nwant:\n%s\n", fin ? fin : "?", want);
    free(fin);
    free(got);
    TT_ASSERT_EQ_INT(m.bad, 0);
    TT_ASSERT_EQ_INT(diff, 0);
    TT_ASSERT(m.ins == 1 && m.ub > 0);
}

/* HAVING on a changelog, step by step: a CSV whose rows of key 'a' each
 * form one watermark step (WATERMARK ts - 0: every 'z' row is behind the
 * watermark, so the source cuts its batch before it and the step's changes
 * are flushed); SUM(v) of 'a' goes 5, -5, 15, 16, -84, 16 and HAVING
 * SUM(v) > 0 turns that into +I, -D, +I, -U/+U, -D, +I.  Without SUM in the
 * output the -U/+U pair of an unchanged row vanishes. */
static void test_having_transitions(void)
{
    static const int v[] = {5, -10, 20, 1, -100, 100};
    char path[4200];
    snprintf(path, sizeof path, "%s/steps.csv", tmp);
    FILE *f = fopen(path, "w");
    TT_ASSERT(f);
    for (int i = 0; i < 6; i++) {
        fprintf(f, "2024-01-01 00:00:%02d.000,a,%d\n", 10 + 2 * i, v[i]);
        fprintf(f, "2024-01-01 00:00:%02d.000,z,1\n", i);
    }
    fclose(f);
    static char d[8192];
    snprintf(d, sizeof d,
             "CREATE TABLE logins (ts TIMESTAMP(3), country STRING, v BIGINT,\n"
             "  WATERMARK FOR ts AS ts) WITH ('connector' = 'file', 'path' = '%s', 'format' = 'csv');\n",
             path);
    ddl = d;
    char *got = NULL, *got2 = NULL;
    tide_sql_error se, se2;
    int rc = run_sql("SELECT country, SUM(v) AS s FROM logins WHERE country = 'a' GROUP BY country HAVING SUM(v) > 0;",
                     2, &got, &se);
    int rc2 = run_sql("SELECT country FROM logins WHERE country = 'a' GROUP BY country HAVING SUM(v) > 0;", 2, &got2,
                      &se2);
    ddl = ddl_std;
    const char *want = "op,country,s\n+I,a,5\n-D,a,5\n+I,a,15\n-U,a,15\n+U,a,16\n-D,a,16\n+I,a,16\n";
    const char *want2 = "op,country\n+I,a\n-D,a\n+I,a\n-D,a\n+I,a\n";
    int d1 = rc ? -1 : strcmp(got, want), d2 = rc2 ? -1 : strcmp(got2, want2);
    if (d1 || d2)
        fprintf(stderr, "rc %d %d (%s / %s)\ngot:\n%s\nwant:\n%s\ngot:\n%s\nwant:\n%s\n", rc, rc2, se.msg, se2.msg,
                got ? got : "", want, got2 ? got2 : "", want2);
    free(got);
    free(got2);
    TT_ASSERT_EQ_INT(d1, 0);
    TT_ASSERT_EQ_INT(d2, 0);
}

/* GROUP BY a DOUBLE column: 0.0 and -0.0 are one group, and every NaN is one
 * group (as COUNT(DISTINCT) counts them, exec/agg.h), in an unwindowed
 * GROUP BY, a TUMBLE (winagg) and a HOP (sliced windows, exec/cumagg.h),
 * at P = 1 and 2; windowed groups come in key order (NULL, -inf, 0, 1.5,
 * NaN: the key codec's order). */
static void test_double_keys(void)
{
    /* x per row: zeros in four spellings, NaNs in four, 1.5, -inf, NULL */
    static const char *const xs[] = {"0.0", "-0.0", "NaN", "1.5", "-nan", "0",   "",
                                     "-0",  "nan",  "-inf", "nan(123)", "-0.0", "1.5"};
    enum { NX = sizeof xs / sizeof xs[0] };
    char path[4200];
    snprintf(path, sizeof path, "%s/doubles.csv", tmp);
    FILE *f = fopen(path, "w");
    TT_ASSERT(f);
    /* the first minute gets every row, the second one only its first 6 */
    for (int i = 0; i < NX; i++)
        fprintf(f, "2024-01-01 00:00:%02d.000,%s\n", 2 * i, xs[i]);
    for (int i = 0; i < 6; i++)
        fprintf(f, "2024-01-01 00:01:%02d.000,%s\n", 2 * i, xs[i]);
    fclose(f);
    static char d[8192];
    snprintf(d, sizeof d,
             "CREATE TABLE t (ts TIMESTAMP(3), x DOUBLE, WATERMARK FOR ts AS ts)\n"
             "  WITH ('connector' = 'file', 'path' = '%s', 'format' = 'csv');\n",
             path);
    ddl = d;
    static const char *const queries[] = {
        "SELECT x, COUNT(*) AS n FROM t GROUP BY x;",
        "SELECT COUNT(DISTINCT x) AS d, COUNT(*) AS n FROM t;",
        "SELECT window_start, x, COUNT(*) AS n\n"
        "FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '1' MINUTE))\n"
        "GROUP BY window_start, window_end, x;",
        "SELECT window_start, x, COUNT(*) AS n\n"
        "FROM TABLE(HOP(TABLE t, DESCRIPTOR(ts), INTERVAL '1' MINUTE, INTERVAL '2' MINUTE))\n"
        "GROUP BY window_start, window_end, x;",
    };
    static const char *const want[] = {
        /* the applied changelog, sorted as text */
        ",1\n-inf,1\n0,8\n1.5,3\nnan,6\n",
        "4,19\n",
        "window_start,x,n\n"
        "2024-01-01 00:00:00.000,,1\n"
        "2024-01-01 00:00:00.000,-inf,1\n"
        "2024-01-01 00:00:00.000,0,5\n"
        "2024-01-01 00:00:00.000,1.5,2\n"
        "2024-01-01 00:00:00.000,nan,4\n"
        "2024-01-01 00:01:00.000,0,3\n"
        "2024-01-01 00:01:00.000,1.5,1\n"
        "2024-01-01 00:01:00.000,nan,2\n",
        "window_start,x,n\n"
        "2023-12-31 23:59:00.000,,1\n"
        "2023-12-31 23:59:00.000,-inf,1\n"
        "2023-12-31 23:59:00.000,0,5\n"
        "2023-12-31 23:59:00.000,1.5,2\n"
        "2023-12-31 23:59:00.000,nan,4\n"
        "2024-01-01 00:00:00.000,,1\n"
        "2024-01-01 00:00:00.000,-inf,1\n"
        "2024-01-01 00:00:00.000,0,8\n"
        "2024-01-01 00:00:00.000,1.5,3\n"
        "2024-01-01 00:00:00.000,nan,6\n"
        "2024-01-01 00:01:00.000,0,3\n"
        "2024-01-01 00:01:00.000,1.5,1\n"
        "2024-01-01 00:01:00.000,nan,2\n",
    };
    int fails = 0;
    for (int q = 0; q < 4; q++)
        for (uint32_t par = 1; par <= 2; par++) {
            char *got = NULL, *fin = NULL;
            tide_sql_error se;
            int rc = run_sql(queries[q], par, &got, &se);
            cl_map m = {0};
            if (rc == 0 && q < 2)
                fin = cl_apply(got, q == 0, &m);
            const char *res = q < 2 ? fin : got;
            bool ok = rc == 0 && res && m.bad == 0 && strcmp(res, want[q]) == 0 &&
                      (q != 0 || m.ins == 5); /* one +I per group */
            if (!ok) {
                fails++;
                fprintf(stderr, "query %d P=%u: rc %d (%s), %d bad, %d +I\ngot:\n%s\nwant:\n%s\n",
                        q, par, rc, se.msg, m.bad, m.ins, res ? res : "", want[q]);
            }
            free(fin);
            free(got);
        }
    ddl = ddl_std;
    TT_ASSERT_EQ_INT(fails, 0);
}

/* ---- SESSION windows: Flink's SESSION_WINDOW_EVENT_TIME ---- */

/* The rows of Flink's WindowAggregateTestPrograms (before and after its
 * restore, in that order): ts, a_int, comment, name; W = ts - 1 s. */
static const char flink_rows[] =
    "2020-10-10 00:00:01,1,Hi,a\n"
    "2020-10-10 00:00:02,2,Comment#1,a\n"
    "2020-10-10 00:00:03,2,Comment#1,a\n"
    "2020-10-10 00:00:04,5,,a\n"
    "2020-10-10 00:00:07,3,Hello,b\n"
    "2020-10-10 00:00:06,6,Hi,b\n"
    "2020-10-10 00:00:08,3,Comment#2,a\n"
    "2020-10-10 00:00:04,5,Hi,a\n"
    "2020-10-10 00:00:16,4,Hi,b\n"
    "2020-10-10 00:00:32,7,,\n"
    "2020-10-10 00:00:34,1,Comment#3,b\n"
    "2020-10-10 00:00:40,10,Comment#4,a\n"
    "2020-10-10 00:00:42,11,Comment#5,d\n"
    "2020-10-10 00:00:43,12,Comment#6,c\n"
    "2020-10-10 00:00:44,13,Comment#7,d\n";

static int run_flink(const char *window, const char *select, const char *group, uint32_t par,
                     char **got, tide_sql_error *se)
{
    char path[4200];
    static char d[8192], q[2048];
    snprintf(path, sizeof path, "%s/window_source_t.csv", tmp);
    FILE *f = fopen(path, "w");
    if (!f)
        return TIDE_EIO;
    fputs(flink_rows, f);
    fclose(f);
    snprintf(d, sizeof d,
             "CREATE TABLE window_source_t (ts TIMESTAMP(3), a_int BIGINT, note STRING, name STRING,\n"
             "  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)\n"
             "  WITH ('connector' = 'file', 'path' = '%s', 'format' = 'csv');\n",
             path);
    snprintf(q, sizeof q, "SELECT %s FROM TABLE(%s)\nGROUP BY %s, window_start, window_end;", select,
             window, group);
    ddl = d;
    int rc = run_sql(q, par, got, se);
    ddl = ddl_std;
    return rc;
}

static void expect_flink(const char *window, const char *select, const char *group,
                         const char *want)
{
    for (uint32_t par = 1; par <= 3; par += 2) {
        char *got = NULL;
        tide_sql_error se;
        int rc = run_flink(window, select, group, par, &got, &se);
        TT_ASSERT_MSG(rc == 0, "%d: %u:%u: %s", rc, se.line, se.col, se.msg);
        int diff = strcmp(got, want);
        if (diff)
            fprintf(stderr, "P = %u, got:\n%s\nwant:\n%s\n", par, got, want);
        free(got);
        TT_ASSERT_EQ_INT(diff, 0);
    }
}

/* Without PARTITION BY a gap in the whole input ends a session; GROUP BY
 * name splits it: Flink's final rows (its changelog materialised), e.g.
 * b [00:00:01, 00:00:13) with 2 rows, not b's own session [6 s, 12 s).
 * In tide's order: by watermark step, then (end, start, key bytes); the
 * NULL name first. */
static void test_session_flink_global(void)
{
    expect_flink("SESSION(TABLE window_source_t, DESCRIPTOR(ts), INTERVAL '5' SECOND)",
                 "name, window_start, window_end, COUNT(*) AS cnt, SUM(a_int) AS sum_int, "
                 "COUNT(DISTINCT note) AS distinct_cnt",
                 "name",
                 "name,window_start,window_end,cnt,sum_int,distinct_cnt\n"
                 "a,2020-10-10 00:00:01.000,2020-10-10 00:00:13.000,6,18,3\n"
                 "b,2020-10-10 00:00:01.000,2020-10-10 00:00:13.000,2,9,2\n"
                 "b,2020-10-10 00:00:16.000,2020-10-10 00:00:21.000,1,4,1\n"
                 ",2020-10-10 00:00:32.000,2020-10-10 00:00:39.000,1,7,0\n"
                 "b,2020-10-10 00:00:32.000,2020-10-10 00:00:39.000,1,1,1\n"
                 "a,2020-10-10 00:00:40.000,2020-10-10 00:00:49.000,1,10,1\n"
                 "c,2020-10-10 00:00:40.000,2020-10-10 00:00:49.000,1,12,1\n"
                 "d,2020-10-10 00:00:40.000,2020-10-10 00:00:49.000,2,24,2\n");
}

/* Flink's SESSION_WINDOW_PARTITION_EVENT_TIME: sessions per name. */
static void test_session_flink_partitioned(void)
{
    expect_flink("SESSION(TABLE window_source_t PARTITION BY name, DESCRIPTOR(ts), INTERVAL '5' SECOND)",
                 "name, window_start, window_end, COUNT(*) AS cnt, SUM(a_int) AS sum_int, "
                 "COUNT(DISTINCT note) AS distinct_cnt",
                 "name",
                 "name,window_start,window_end,cnt,sum_int,distinct_cnt\n"
                 "b,2020-10-10 00:00:06.000,2020-10-10 00:00:12.000,2,9,2\n"
                 "a,2020-10-10 00:00:01.000,2020-10-10 00:00:13.000,6,18,3\n"
                 "b,2020-10-10 00:00:16.000,2020-10-10 00:00:21.000,1,4,1\n"
                 ",2020-10-10 00:00:32.000,2020-10-10 00:00:37.000,1,7,0\n"
                 "b,2020-10-10 00:00:34.000,2020-10-10 00:00:39.000,1,1,1\n"
                 "a,2020-10-10 00:00:40.000,2020-10-10 00:00:45.000,1,10,1\n"
                 "c,2020-10-10 00:00:43.000,2020-10-10 00:00:48.000,1,12,1\n"
                 "d,2020-10-10 00:00:42.000,2020-10-10 00:00:49.000,2,24,2\n");
}

/* Sessions per name, rows per (note, name): the partition column is the
 * second GROUP BY key; rows of a step in (end, start, key bytes) order with
 * the partition key first (keys in SQL order: data/key.h). */
static void test_session_partition_subset(void)
{
    expect_flink("SESSION(TABLE window_source_t PARTITION BY name, DESCRIPTOR(ts), INTERVAL '5' SECOND)",
                 "note, name, window_start, window_end, COUNT(*) AS cnt, SUM(a_int) AS s", "note, name",
                 "note,name,window_start,window_end,cnt,s\n"
                 "Hello,b,2020-10-10 00:00:06.000,2020-10-10 00:00:12.000,1,3\n"
                 "Hi,b,2020-10-10 00:00:06.000,2020-10-10 00:00:12.000,1,6\n"
                 ",a,2020-10-10 00:00:01.000,2020-10-10 00:00:13.000,1,5\n"
                 "Comment#1,a,2020-10-10 00:00:01.000,2020-10-10 00:00:13.000,2,4\n"
                 "Comment#2,a,2020-10-10 00:00:01.000,2020-10-10 00:00:13.000,1,3\n"
                 "Hi,a,2020-10-10 00:00:01.000,2020-10-10 00:00:13.000,2,6\n"
                 "Hi,b,2020-10-10 00:00:16.000,2020-10-10 00:00:21.000,1,4\n"
                 ",,2020-10-10 00:00:32.000,2020-10-10 00:00:37.000,1,7\n"
                 "Comment#3,b,2020-10-10 00:00:34.000,2020-10-10 00:00:39.000,1,1\n"
                 "Comment#4,a,2020-10-10 00:00:40.000,2020-10-10 00:00:45.000,1,10\n"
                 "Comment#6,c,2020-10-10 00:00:43.000,2020-10-10 00:00:48.000,1,12\n"
                 "Comment#5,d,2020-10-10 00:00:42.000,2020-10-10 00:00:49.000,1,11\n"
                 "Comment#7,d,2020-10-10 00:00:42.000,2020-10-10 00:00:49.000,1,13\n");
    /* global sessions grouped by the same keys: one session [1 s, 13 s)
     * holds a's and b's rows */
    expect_flink("SESSION(TABLE window_source_t, DESCRIPTOR(ts), INTERVAL '5' SECOND)",
                 "note, name, COUNT(*) AS cnt", "name, note",
                 "note,name,cnt\n"
                 ",a,1\nComment#1,a,2\nComment#2,a,1\nHi,a,2\nHello,b,1\nHi,b,1\n"
                 "Hi,b,1\n"
                 ",,1\nComment#3,b,1\n"
                 "Comment#4,a,1\nComment#6,c,1\nComment#5,d,1\nComment#7,d,1\n");
    /* a partition column that is not a GROUP BY key */
    char *got = NULL;
    tide_sql_error se;
    int rc = run_flink("SESSION(TABLE window_source_t PARTITION BY name, DESCRIPTOR(ts), INTERVAL '5' SECOND)",
                       "note, COUNT(*) AS cnt", "note", 1, &got, &se);
    free(got);
    TT_ASSERT_EQ_INT(rc, TIDE_EUNSUPPORTED);
    TT_ASSERT_MSG(strstr(se.msg, "PARTITION BY a column that is not a GROUP BY key"), "%s", se.msg);
}

int main(void)
{
    tmp = tt_tmpdir("test_sql_lower");
    if (!tmp || gen_events()) {
        fprintf(stderr, "setup failed\n");
        return 1;
    }
    TT_RUN(test_dau);
    TT_RUN(test_keys_where_having);
    TT_RUN(test_stateless);
    TT_RUN(test_unsupported);
    TT_RUN(test_logins_columns_by_name);
    TT_RUN(test_groupby_having);
    TT_RUN(test_distinct_and_global);
    TT_RUN(test_agg_over_changelog);
    TT_RUN(test_having_transitions);
    TT_RUN(test_double_keys);
    TT_RUN(test_session_flink_global);
    TT_RUN(test_session_flink_partitioned);
    TT_RUN(test_session_partition_subset);
    TT_DONE();
}
