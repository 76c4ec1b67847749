/*
 * test_sql_lower.c - SQL plans lowered onto the pipeline (sql/lower.h):
 * results of windowed and stateless queries over the logins generator,
 * compared with a brute-force computation over the generator's events;
 * unsupported shapes rejected with positions.
 */
#include "connect/gen_logins.h"
#include "data/timefmt.h"
#include "job/pipeline.h"
#include "sql/binder.h"
#include "sql/catalog.h"
#include "sql/lower.h"
#include "tide.h"
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
    "        'span' = '259200000', 'late.share' = '0.1', 'max.delay' = '5000');\n";

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
    cfg.max_delay_ms = 5000;
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

/* Compile `query` after the DDL, lower its (only) plan with output to a file
 * in CSV and run it; *out gets the file's text (malloc'd).  Returns the
 * first failing step's code; serr says where for SQL errors. */
static int run_sql(const char *query, uint32_t par, char **out, tide_sql_error *serr)
{
    char src[4096], path[4200];
    snprintf(src, sizeof src, "%s%s", ddl, query);
    snprintf(path, sizeof path, "%s/out.csv", tmp);
    tide_sql_catalog *cat = NULL;
    tide_sql_program *prog = NULL;
    tide_sql_lowered *l = NULL;
    tide_pipe *p = NULL;
    tide_err e = {0};
    int fd = -1, rc;
    memset(serr, 0, sizeof *serr);
    *out = NULL;
    if ((rc = tide_sql_catalog_create(&cat)) != 0)
        goto done;
    if ((rc = tide_sql_compile(cat, "t.sql", src, strlen(src), &prog, serr)) != 0)
        goto done;
    if (prog->nplans != 1) {
        rc = TIDE_EINVAL;
        goto done;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        rc = TIDE_EIO;
        goto done;
    }
    tide_sql_lower_opts o = {.format = TIDE_SQL_OUT_CSV, .out_fd = fd, .parallelism = par};
    if ((rc = tide_sql_lower(prog->plans[0], &o, &l, serr)) != 0)
        goto done;
    if ((rc = tide_sql_lower_open(l, &e)) != 0 || (rc = tide_pipe_create(&p, tide_sql_lower_config(l), &e)) != 0)
        goto done;
    rc = tide_pipe_run(p, &e);
    int frc = tide_sql_lower_finish(l, rc == 0, &e);
    if (!rc)
        rc = frc;
    if (rc)
        fprintf(stderr, "run: %s\n", e.msg);
done:
    tide_pipe_free(p);
    tide_sql_lower_free(l);
    if (fd >= 0)
        close(fd);
    tide_sql_program_free(prog);
    tide_sql_catalog_free(cat);
    if (!rc) {
        FILE *f = fopen(path, "rb");
        if (!f)
            return TIDE_EIO;
        char *b = malloc(1 << 22);
        size_t n = b ? fread(b, 1, (1 << 22) - 1, f) : 0;
        fclose(f);
        if (!b)
            return TIDE_ENOMEM;
        b[n] = 0;
        *out = b;
    }
    return rc;
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
    expect_unsupported("SELECT country, COUNT(*) FROM logins GROUP BY country;", 5, "GROUP BY without a window");
    if (tt_failed_now)
        return;
    expect_unsupported("SELECT a.user_id FROM logins a JOIN logins b ON a.user_id = b.user_id;", 5, "joins");
    if (tt_failed_now)
        return;
    expect_unsupported("SELECT user_id FROM logins UNION ALL SELECT user_id FROM logins;", 5, "UNION ALL");
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
    TT_DONE();
}
