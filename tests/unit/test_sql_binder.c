/* Tests of the SQL binder, the logical plan and explain.
 *
 * Table-driven: a script and the explain text of its plans, written by hand
 * from the rules in sql/binder.h and sql/plan.h (not captured from the
 * code); a script and its expected error (line:col: message).  The edit
 * distance behind the suggestions is checked against a brute-force
 * recursive definition; a mutation loop checks that no input crashes the
 * binder (run it under ASan). */
#include "sql/binder.h"
#include "sql/catalog.h"
#include "sql/plan.h"
#include "tt.h"

#include "exec/expr.h"

#include <stdbool.h>

/* ---- helpers -------------------------------------------------------- */

#define LOGINS                                                                               \
    "CREATE TABLE logins (\n"                                                                \
    "  ts TIMESTAMP(3),\n"                                                                   \
    "  user_id BIGINT,\n"                                                                    \
    "  country STRING,\n"                                                                    \
    "  device STRING,\n"                                                                     \
    "  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND\n"                                       \
    ") WITH ('connector' = 'logins', 'events' = '1000', 'users' = '50');\n"

static char result[1 << 16];

/* Compile `sql` in a fresh catalog; the explain text of every plan,
 * separated by "--\n", or "ERROR line:col: message". */
static const char *run(const char *sql)
{
    tide_sql_catalog *cat = NULL;
    tide_sql_program *prog = NULL;
    tide_sql_error err;
    tide_buf out = {0};
    memset(&err, 0, sizeof err);
    result[0] = 0;
    if (tide_sql_catalog_create(&cat) != 0)
        return "ENOMEM";
    int rc = tide_sql_compile(cat, "t.sql", sql, strlen(sql), &prog, &err);
    if (rc != 0) {
        snprintf(result, sizeof result, "ERROR %u:%u: %s", err.line, err.col, err.msg);
    } else {
        for (uint32_t i = 0; i < prog->nplans; i++) {
            if (i)
                tide_buf_printf(&out, "--\n");
            tide_sql_explain(prog->plans[i], &out);
        }
        snprintf(result, sizeof result, "%.*s", (int)out.len, out.len ? (const char *)out.data : "");
    }
    tide_buf_free(&out);
    tide_sql_program_free(prog);
    tide_sql_catalog_free(cat);
    return result;
}

typedef struct plan_case {
    const char *name, *sql, *explain;
} plan_case;

/* ---- plans ---------------------------------------------------------- */

static const plan_case plan_cases[] = {
    {"dau: daily distinct users, TUMBLE",
     LOGINS "SELECT window_start, window_end, COUNT(DISTINCT user_id) AS dau\n"
            "FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' DAY))\n"
            "GROUP BY window_start, window_end;",
     "Sink stdout [append]\n"
     "└─ Project window_start, window_end, COUNT(DISTINCT user_id) AS dau\n"
     "   └─ WindowAggregate TUMBLE(ts, 1 DAY) keys=[] aggs=[COUNT(DISTINCT user_id)] emit=on-watermark\n"
     "      └─ Scan logins (logins generator) watermark ts - 5 SECOND\n"},
    {"mau: 30-day distinct users every day, HOP",
     LOGINS "SELECT window_end AS day, COUNT(DISTINCT user_id) AS mau\n"
            "FROM TABLE(HOP(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' DAY, INTERVAL '30' DAY))\n"
            "GROUP BY window_start, window_end;",
     "Sink stdout [append]\n"
     "└─ Project window_end AS day, COUNT(DISTINCT user_id) AS mau\n"
     "   └─ WindowAggregate HOP(ts, 1 DAY, 30 DAY) keys=[] aggs=[COUNT(DISTINCT user_id)] emit=on-watermark\n"
     "      └─ Scan logins (logins generator) watermark ts - 5 SECOND\n"},
    {"dau per country into a file, late firings accumulate (changelog, op column)",
     LOGINS "CREATE TABLE daily (op STRING, day TIMESTAMP(3), country STRING, dau BIGINT)\n"
            "  WITH ('connector' = 'file', 'path' = 'daily.csv', 'format' = 'csv');\n"
            "INSERT INTO daily\n"
            "SELECT window_start, country, COUNT(DISTINCT user_id)\n"
            "FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' DAY))\n"
            "WHERE device <> 'bot'\n"
            "GROUP BY window_start, window_end, country\n"
            "EMIT ALLOW LATENESS INTERVAL '1' HOUR;",
     "Sink daily (file daily.csv) [changelog]\n"
     "└─ Project window_start, country, COUNT(DISTINCT user_id) AS EXPR$2 [changelog]\n"
     "   └─ WindowAggregate TUMBLE(ts, 1 DAY) keys=[country] aggs=[COUNT(DISTINCT user_id)] "
     "emit=[lateness 1 HOUR, accumulating] [changelog]\n"
     "      └─ Filter device <> 'bot'\n"
     "         └─ Scan logins (logins generator) watermark ts - 5 SECOND\n"},
    {"early firings, discarding stays append-only",
     LOGINS "SELECT window_start, COUNT(*) AS n\n"
            "FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' HOUR))\n"
            "GROUP BY window_start, window_end\n"
            "EMIT EARLY EVERY INTERVAL '1' MINUTE DISCARDING;",
     "Sink stdout [append]\n"
     "└─ Project window_start, COUNT(*) AS n\n"
     "   └─ WindowAggregate TUMBLE(ts, 1 HOUR) keys=[] aggs=[COUNT(*)] "
     "emit=[early every 1 MINUTE, discarding]\n"
     "      └─ Scan logins (logins generator) watermark ts - 5 SECOND\n"},
    {"sessions per user, retracting, every 100 rows",
     LOGINS "SELECT user_id, window_start, window_end, COUNT(*) AS logins\n"
            "FROM TABLE(SESSION(TABLE logins PARTITION BY user_id, DESCRIPTOR(ts), INTERVAL '30' MINUTE))\n"
            "GROUP BY user_id, window_start, window_end\n"
            "EMIT EARLY EVERY 100 ROWS RETRACTING;",
     "Sink stdout [changelog]\n"
     "└─ Project user_id, window_start, window_end, COUNT(*) AS logins [changelog]\n"
     "   └─ WindowAggregate SESSION(ts, 30 MINUTE, PARTITION BY user_id) keys=[user_id] aggs=[COUNT(*)] "
     "emit=[early every 100 ROWS, retracting] [changelog]\n"
     "      └─ Scan logins (logins generator) watermark ts - 5 SECOND\n"},
    {"churn: users active in a 30-day window but not in its last 7 days (CTE, CASE, MAX)",
     LOGINS "WITH per_user AS (\n"
            "  SELECT window_end, user_id, MAX(ts) AS last_seen\n"
            "  FROM TABLE(HOP(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' DAY, INTERVAL '30' DAY))\n"
            "  GROUP BY window_start, window_end, user_id)\n"
            "SELECT window_end, user_id FROM per_user\n"
            "WHERE last_seen < window_end - INTERVAL '7' DAY;",
     "Sink stdout [append]\n"
     "└─ Project window_end, user_id\n"
     "   └─ Filter last_seen < window_end - INTERVAL '7' DAY\n"
     "      └─ Project window_end, user_id, MAX(ts) AS last_seen\n"
     "         └─ WindowAggregate HOP(ts, 1 DAY, 30 DAY) keys=[user_id] aggs=[MAX(ts)] emit=on-watermark\n"
     "            └─ Scan logins (logins generator) watermark ts - 5 SECOND\n"},
    {"unwindowed GROUP BY with HAVING: a changelog; the repeated aggregate is computed once",
     LOGINS "SELECT country, COUNT(*) AS n FROM logins GROUP BY country HAVING COUNT(*) > 10;",
     "Sink stdout [changelog]\n"
     "└─ Project country, COUNT(*) AS n [changelog]\n"
     "   └─ Filter COUNT(*) > 10 [changelog]\n"
     "      └─ Aggregate keys=[country] aggs=[COUNT(*)] [changelog]\n"
     "         └─ Scan logins (logins generator) watermark ts - 5 SECOND\n"},
    {"file source with a computed column, a view, CUMULATE without aggregation",
     "CREATE TABLE clicks (ts TIMESTAMP(3), url STRING, ms BIGINT, secs AS ms / 1000,\n"
     "  WATERMARK FOR ts AS ts) WITH ('connector' = 'file', 'path' = 'clicks.csv', 'format' = 'csv');\n"
     "CREATE VIEW slow AS SELECT ts, url FROM clicks WHERE secs > 2;\n"
     "SELECT url, window_end FROM TABLE(CUMULATE(TABLE slow, DESCRIPTOR(ts), INTERVAL '1' HOUR, INTERVAL '1' DAY));",
     "Sink stdout [append]\n"
     "└─ Project url, window_end\n"
     "   └─ Window CUMULATE(ts, 1 HOUR, 1 DAY)\n"
     "      └─ Project ts, url\n"
     "         └─ Filter secs > 2\n"
     "            └─ Project ts, url, ms, ms / 1000 AS secs\n"
     "               └─ Scan clicks (file clicks.csv) watermark ts\n"},
    {"UNION ALL of two topics into a topic",
     "CREATE TABLE a (ts TIMESTAMP(3), v DOUBLE) WITH ('connector' = 'topic', 'topic' = 'a');\n"
     "CREATE TABLE b (ts TIMESTAMP(3), v DOUBLE) WITH ('connector' = 'topic', 'topic' = 'b');\n"
     "CREATE TABLE ab (ts TIMESTAMP(3), v DOUBLE) WITH ('connector' = 'topic', 'topic' = 'ab');\n"
     "INSERT INTO ab SELECT * FROM a UNION ALL SELECT ts, v * 2 FROM b;",
     "Sink ab (topic ab) [append]\n"
     "└─ Union ALL\n"
     "   ├─ Project ts, v\n"
     "   │  └─ Scan a (topic a)\n"
     "   └─ Project ts, v * 2 AS EXPR$1\n"
     "      └─ Scan b (topic b)\n"},
    {"interval join (plan node only)",
     LOGINS "CREATE TABLE buys (bts TIMESTAMP(3), uid BIGINT, amount DOUBLE, WATERMARK FOR bts AS bts)\n"
            "  WITH ('connector' = 'stdin', 'format' = 'csv');\n"
            "SELECT l.user_id, b.amount FROM logins l JOIN buys b\n"
            "  ON l.user_id = b.uid AND b.bts BETWEEN l.ts AND l.ts + INTERVAL '1' HOUR;",
     "Sink stdout [append]\n"
     "└─ Project l.user_id AS user_id, b.amount AS amount\n"
     "   └─ Join INNER interval on l.user_id = b.uid AND b.bts BETWEEN l.ts AND l.ts + INTERVAL '1' HOUR\n"
     "      ├─ Scan logins (logins generator) watermark ts - 5 SECOND\n"
     "      └─ Scan buys (stdin) watermark bts\n"},
    {"SELECT DISTINCT and a subquery with an alias",
     LOGINS "SELECT DISTINCT c FROM (SELECT UPPER(country) AS c FROM logins) AS t;",
     "Sink stdout [changelog]\n"
     "└─ Aggregate keys=[c] aggs=[] [changelog]\n"
     "   └─ Project c\n"
     "      └─ Project UPPER(country) AS c\n"
     "         └─ Scan logins (logins generator) watermark ts - 5 SECOND\n"},
    {"WHERE on a window column: the TVF is not fused, the aggregation is unwindowed",
     LOGINS "SELECT window_start, COUNT(*) AS n\n"
            "FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' HOUR))\n"
            "WHERE window_start > TIMESTAMP '2024-01-01 00:00:00'\n"
            "GROUP BY window_start, window_end;",
     "Sink stdout [changelog]\n"
     "└─ Project window_start, COUNT(*) AS n [changelog]\n"
     "   └─ Aggregate keys=[window_start, window_end] aggs=[COUNT(*)] [changelog]\n"
     "      └─ Filter window_start > TIMESTAMP '2024-01-01 00:00:00'\n"
     "         └─ Window TUMBLE(ts, 1 HOUR)\n"
     "            └─ Scan logins (logins generator) watermark ts - 5 SECOND\n"},
    {"EMIT on an unwindowed GROUP BY",
     LOGINS "SELECT country, COUNT(*) FROM logins GROUP BY country EMIT EARLY EVERY INTERVAL '10' SECOND;",
     "Sink stdout [changelog]\n"
     "└─ Project country, COUNT(*) AS EXPR$1 [changelog]\n"
     "   └─ Aggregate keys=[country] aggs=[COUNT(*)] emit=[early every 10 SECOND, accumulating] [changelog]\n"
     "      └─ Scan logins (logins generator) watermark ts - 5 SECOND\n"},
    {"aggregates without GROUP BY: one global group",
     LOGINS "SELECT COUNT(*) AS total, SUM(user_id) FROM logins;",
     "Sink stdout [changelog]\n"
     "└─ Project COUNT(*) AS total, SUM(user_id) AS EXPR$1 [changelog]\n"
     "   └─ Aggregate keys=[] aggs=[COUNT(*), SUM(user_id)] [changelog]\n"
     "      └─ Scan logins (logins generator) watermark ts - 5 SECOND\n"},
    {"no FROM; several statements give several plans",
     "SELECT 1 + 2 AS x, 'a' || 'b';\nSELECT CAST('7' AS BIGINT) AS y;",
     "Sink stdout [append]\n"
     "└─ Project 1 + 2 AS x, 'a' || 'b' AS EXPR$1\n"
     "   └─ Values\n"
     "--\n"
     "Sink stdout [append]\n"
     "└─ Project CAST('7' AS BIGINT) AS y\n"
     "   └─ Values\n"},
};

static void test_plans(void)
{
    for (size_t i = 0; i < sizeof plan_cases / sizeof plan_cases[0]; i++) {
        const plan_case *c = &plan_cases[i];
        const char *got = run(c->sql);
        TT_ASSERT_MSG(strcmp(got, c->explain) == 0, "case '%s':\n--- got:\n%s\n--- want:\n%s", c->name, got,
                      c->explain);
    }
}

/* ---- errors --------------------------------------------------------- */

typedef struct err_case {
    const char *sql, *want; /* want: "line:col: message" */
} err_case;

static const err_case err_cases[] = {
    /* names, with suggestions */
    {LOGINS "SELECT usr_id FROM logins;", "8:8: unknown column 'usr_id' (did you mean 'user_id'?)"},
    {LOGINS "SELECT * FROM login;", "8:15: unknown table 'login' (did you mean 'logins'?)"},
    {LOGINS "SELECT cuont(*) FROM logins;", "8:8: unknown function 'cuont' (did you mean 'COUNT'?)"},
    {LOGINS "SELECT x.ts FROM logins AS l;", "8:8: unknown table or alias 'x'"},
    {LOGINS "SELECT lgins.ts FROM logins;", "8:8: unknown table or alias 'lgins' (did you mean 'logins'?)"},
    {LOGINS "SELECT zzz FROM logins;", "8:8: unknown column 'zzz'"},
    {LOGINS "SELECT ts FROM logins a, logins b;",
     "8:8: column 'ts' is ambiguous (qualify it with a table name)"},
    {LOGINS "CREATE TABLE out1 (n BIGINT) WITH ('connector' = 'stdout');\nINSERT INTO ou1 SELECT 1;",
     "9:13: unknown table 'ou1' (did you mean 'out1'?)"},
    /* types */
    {LOGINS "SELECT country FROM logins WHERE country = 5;", "8:34: cannot compare STRING with BIGINT"},
    {LOGINS "SELECT user_id + country FROM logins;", "8:8: cannot apply '+' to BIGINT and STRING"},
    {LOGINS "SELECT * FROM logins WHERE user_id;", "8:28: WHERE must be BOOLEAN, found BIGINT"},
    {LOGINS "SELECT SUM(country) FROM logins;", "8:8: SUM(STRING) is not supported (BIGINT, DOUBLE or DECIMAL)"},
    {LOGINS "SELECT CAST(ts AS BOOLEAN) FROM logins;", "8:8: cannot cast TIMESTAMP(3) to BOOLEAN"},
    {LOGINS "SELECT user_id FROM logins UNION ALL SELECT country FROM logins;",
     "8:38: UNION ALL column 1 ('user_id') is BIGINT on the left and STRING on the right"},
    {LOGINS "SELECT user_id FROM logins UNION ALL SELECT user_id, ts FROM logins;",
     "8:38: UNION ALL inputs have different numbers of columns (1 and 2)"},
    /* grouping and aggregates */
    {LOGINS "SELECT country, COUNT(*) FROM logins;",
     "8:8: column 'country' must appear in GROUP BY or be used in an aggregate function"},
    {LOGINS "SELECT device, COUNT(*) FROM logins GROUP BY country;",
     "8:8: column 'device' must appear in GROUP BY or be used in an aggregate function"},
    {LOGINS "SELECT * FROM logins WHERE COUNT(*) > 1;",
     "8:28: aggregate function COUNT is not allowed in WHERE"},
    {LOGINS "SELECT MAX(COUNT(*)) FROM logins;", "8:12: aggregate calls cannot be nested"},
    {LOGINS "SELECT * FROM logins HAVING user_id > 1;", "8:29: HAVING needs GROUP BY or an aggregate"},
    /* windows and EMIT */
    {LOGINS "SELECT * FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(user_id), INTERVAL '1' DAY));",
     "8:53: DESCRIPTOR(user_id) must name the event-time column 'ts'"},
    {LOGINS "CREATE TABLE t (x BIGINT, ts TIMESTAMP(3)) WITH ('connector' = 'stdin');\n"
            "SELECT * FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '1' DAY));",
     "9:34: TUMBLE needs an input with an event-time column (declare a WATERMARK on the table)"},
    {LOGINS "SELECT * FROM TABLE(HOP(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' MONTH, INTERVAL '1' DAY));",
     "8:55: INTERVAL in MONTH is not supported (months and years have no fixed length)"},
    {LOGINS "SELECT * FROM logins EMIT EARLY EVERY INTERVAL '1' MINUTE;",
     "8:22: EMIT applies to an aggregation (GROUP BY, windowed or not)"},
    {LOGINS "SELECT country, COUNT(*) FROM logins GROUP BY country EMIT ALLOW LATENESS INTERVAL '1' HOUR;",
     "8:75: ALLOW LATENESS needs a windowed aggregation"},
    /* DDL */
    {"CREATE TABLE t (x BIGINT) WITH ('connector' = 'fiel');", "1:33: unknown connector 'fiel' (did you mean 'file'?)"},
    {"CREATE TABLE t (x BIGINT) WITH ('connector' = 'file', 'pth' = 'a');",
     "1:55: unknown option 'pth' for connector 'file' (did you mean 'path'?)"},
    {"CREATE TABLE t (x BIGINT) WITH ('connector' = 'file');", "1:33: connector 'file' needs the option 'path'"},
    {"CREATE TABLE t (x BIGINT);", "1:14: table 't' needs a 'connector' option (file, topic, stdin, stdout or logins)"},
    {"CREATE TABLE t (x BIGINT, X STRING) WITH ('connector' = 'stdin');", "1:27: duplicate column 'x'"},
    {"CREATE TABLE t (x BIGINT, WATERMARK FOR x AS x) WITH ('connector' = 'stdin');",
     "1:41: the WATERMARK column 'x' must be TIMESTAMP(3), not BIGINT"},
    {"CREATE TABLE t (ts TIMESTAMP(3), WATERMARK FOR tss AS ts) WITH ('connector' = 'stdin');",
     "1:48: unknown column 'tss' (did you mean 'ts'?)"},
    {"CREATE TABLE t (ts TIMESTAMP(3), WATERMARK FOR ts AS ts + INTERVAL '1' SECOND) WITH ('connector' = 'stdin');",
     "1:54: the WATERMARK must be `ts` or `ts - INTERVAL 'n' unit`"},
    {"CREATE TABLE t (x BIGINT) WITH ('connector' = 'stdin');\nCREATE TABLE T (y BIGINT) WITH ('connector' = 'stdin');",
     "2:14: table 't' already exists"},
    /* INSERT */
    {LOGINS "CREATE TABLE out1 (n BIGINT) WITH ('connector' = 'stdout');\n"
            "INSERT INTO out1 SELECT country FROM logins;",
     "9:25: INSERT INTO out1: column 1 'country' is STRING, but the table's column 'n' is BIGINT"},
    {LOGINS "CREATE TABLE out1 (n BIGINT) WITH ('connector' = 'stdout');\n"
            "INSERT INTO out1 SELECT COUNT(*) FROM logins;",
     "9:13: the query produces a changelog (updated results), so table 'out1' needs an 'op' STRING column "
     "to receive the change kind"},
    {LOGINS "INSERT INTO logins SELECT * FROM logins;",
     "8:13: table 'logins' (connector 'logins') cannot be written to"},
    {LOGINS "SELECT * FROM logins ORDER BY ts;", "8:31: ORDER BY is not supported on a stream"},
    /* source options checked at plan time, named as the user wrote them */
#define GEN(opts) "CREATE TABLE g (ts TIMESTAMP(3), WATERMARK FOR ts AS ts)\n  WITH ('connector' = 'logins', " opts ");\n" \
                  "SELECT * FROM g;"
    {GEN("'count' = '-5'"), "2:33: source option 'count': bad value '-5'"},
    {GEN("'events' = '9', 'users' = '0'"), "2:49: source option 'users' of table 'g': must be in 1..2147483648"},
    {GEN("'zipf' = '-1'"), "2:33: source option 'zipf' of table 'g': must be in 0..10"},
    {GEN("'late.share' = '1.5'"), "2:33: source option 'late.share' of table 'g': must be in 0..1"},
    {GEN("'rate' = '-2'"), "2:33: source option 'rate' of table 'g': must be >= 0 and finite"},
    {GEN("'start' = '-0001-12-31 23:59:59.999'"),
     "2:33: source option 'start' of table 'g': timestamp outside 0000-01-01 00:00:00.000 .. 9999-12-31 23:59:59.999"},
    {GEN("'start' = '9999-12-31 12:00:00'"),
     "2:33: source option 'start' of table 'g': the last event time would be a timestamp outside 0000-01-01 "
     "00:00:00.000 .. 9999-12-31 23:59:59.999"},
#undef GEN
    /* a repeated WITH name among many (found by sorting): the first in text order */
    {"WITH a0 AS (SELECT 1), a1 AS (SELECT 1), a2 AS (SELECT 1), a3 AS (SELECT 1), a4 AS (SELECT 1), a5 AS (SELECT 1),\n"
     "a6 AS (SELECT 1), a7 AS (SELECT 1), a8 AS (SELECT 1), a9 AS (SELECT 1), b0 AS (SELECT 1), b1 AS (SELECT 1),\n"
     "b2 AS (SELECT 1), b3 AS (SELECT 1), b4 AS (SELECT 1), B1 AS (SELECT 1), b6 AS (SELECT 1), A3 AS (SELECT 1)\n"
     "SELECT * FROM a0;",
     "3:55: duplicate WITH name 'b1'"},
    {LOGINS "SELECT * FROM logins LIMIT 3;", "8:28: LIMIT is not supported on a stream"},
    {LOGINS "SELECT ts FROM logins UNION SELECT ts FROM logins;",
     "8:23: UNION without ALL is not supported (use UNION ALL)"},
    {LOGINS "CREATE VIEW v AS SELECT ts FROM logins;\nINSERT INTO v SELECT ts FROM logins;",
     "9:13: cannot INSERT INTO view 'v'"},
    {LOGINS "CREATE VIEW c AS SELECT ts, COUNT(*) AS n FROM logins GROUP BY ts;\n"
            "SELECT * FROM TABLE(TUMBLE(TABLE c, DESCRIPTOR(ts), INTERVAL '1' DAY));",
     "9:34: TUMBLE needs an input with an event-time column (declare a WATERMARK on the table)"},
    {LOGINS "SELECT * FROM TABLE(CUMULATE(TABLE logins, DESCRIPTOR(ts), INTERVAL '7' HOUR, INTERVAL '1' DAY));",
     "8:79: CUMULATE: step and max must be > 0 and max a multiple of step (got 25200000, 86400000)"},
};

static void test_errors(void)
{
    for (size_t i = 0; i < sizeof err_cases / sizeof err_cases[0]; i++) {
        const err_case *c = &err_cases[i];
        char want[512];
        snprintf(want, sizeof want, "ERROR %s", c->want);
        const char *got = run(c->sql);
        TT_ASSERT_MSG(strcmp(got, want) == 0, "case %zu:\n  got:  %s\n  want: %s", i, got, want);
    }
}

/* The rendered error has the caret under the offending name. */
static void test_error_render(void)
{
    const char *sql = LOGINS "SELECT usr_id\nFROM logins;";
    tide_sql_catalog *cat = NULL;
    tide_sql_program *prog = NULL;
    tide_sql_error err;
    tide_buf out = {0};
    memset(&err, 0, sizeof err);
    TT_ASSERT(tide_sql_catalog_create(&cat) == 0);
    TT_ASSERT_EQ_INT(tide_sql_compile(cat, "q.sql", sql, strlen(sql), &prog, &err), TIDE_EINVAL);
    TT_ASSERT(prog == NULL);
    TT_ASSERT(tide_sql_error_render(&err, sql, strlen(sql), &out) == 0);
    TT_ASSERT(tide_buf_putc(&out, 0) == 0);
    TT_ASSERT_EQ_STR((const char *)out.data,
                     "q.sql:8:8: unknown column 'usr_id' (did you mean 'user_id'?)\n"
                     "  SELECT usr_id\n"
                     "         ^\n");
    tide_buf_free(&out);
    tide_sql_catalog_free(cat);
    /* a long line is quoted as an excerpt around the column */
    tide_buf line = {0};
    TT_ASSERT(tide_buf_printf(&line, "SELECT ") == 0);
    for (int i = 0; i < 5000; i++) /* "nope" in the middle */
        TT_ASSERT(tide_buf_printf(&line, "%s%d AS c%d%s", i ? ", " : "", i, i, i == 2500 ? ", nope" : "") == 0);
    TT_ASSERT(tide_buf_printf(&line, " FROM logins;") == 0);
    tide_sql_error e2 = {.line = 1, .col = 1};
    snprintf(e2.file, sizeof e2.file, "long.sql");
    snprintf(e2.msg, sizeof e2.msg, "unknown column 'nope'");
    const char *ltxt = (const char *)line.data;
    e2.off = (size_t)(strstr(ltxt, "nope") - ltxt);
    e2.col = (uint32_t)e2.off + 1;
    tide_buf r2 = {0};
    TT_ASSERT(tide_sql_error_render(&e2, ltxt, line.len, &r2) == 0);
    TT_ASSERT(tide_buf_putc(&r2, 0) == 0);
    const char *txt = (const char *)r2.data;
    TT_ASSERT_MSG(r2.len < 400, "%zu bytes", r2.len);
    const char *l2 = strchr(txt, '\n') + 1, *l3 = strchr(l2, '\n') + 1;
    TT_ASSERT_MSG(strncmp(l2, "  ...", 5) == 0 && strstr(l2, "...\n") != NULL, "%s", txt);
    /* the caret stands under the 'n' of nope */
    size_t caret = strlen(l3) - 2; /* "   ...   ^\n" */
    TT_ASSERT(l3[caret] == '^' && strncmp(l2 + caret, "nope", 4) == 0);
    tide_buf_free(&r2);
    tide_buf_free(&line);
}

/* ---- the plan's contents -------------------------------------------- */

static void test_plan_fields(void)
{
    const char *sql = LOGINS
        "CREATE TABLE daily (op STRING, day TIMESTAMP(3), country STRING, dau BIGINT, avg_id DOUBLE)\n"
        "  WITH ('connector' = 'file', 'path' = 'daily.csv');\n"
        "INSERT INTO daily\n"
        "SELECT window_start, country, COUNT(DISTINCT user_id), AVG(user_id)\n"
        "FROM TABLE(HOP(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' DAY, INTERVAL '30' DAY))\n"
        "GROUP BY window_end, country, window_start\n"
        "EMIT EARLY EVERY INTERVAL '10' SECOND ALLOW LATENESS INTERVAL '2' HOUR RETRACTING;";
    tide_sql_catalog *cat = NULL;
    tide_sql_program *prog = NULL;
    tide_sql_error err;
    memset(&err, 0, sizeof err);
    TT_ASSERT(tide_sql_catalog_create(&cat) == 0);
    TT_ASSERT_MSG(tide_sql_compile(cat, "t.sql", sql, strlen(sql), &prog, &err) == 0, "%u:%u: %s", err.line,
                  err.col, err.msg);
    TT_ASSERT_EQ_INT(prog->nplans, 1);
    TT_ASSERT_EQ_INT(tide_sql_catalog_count(cat), 2);
    const tide_sql_table *lt = tide_sql_catalog_find(cat, "LOGINS");
    TT_ASSERT(lt && lt->time_col == 0 && lt->wm_bound == 5000 && lt->connector == TIDE_SQL_CONN_LOGINS);

    const tide_sql_plan *sink = prog->plans[0];
    TT_ASSERT_EQ_INT(sink->kind, TIDE_SQL_PLAN_SINK);
    TT_ASSERT(sink->changelog);
    TT_ASSERT_EQ_INT(sink->u.sink.op_col, 0);
    TT_ASSERT_EQ_INT(sink->u.sink.cfg.kind, TIDE_SINK_FILE);
    TT_ASSERT_EQ_STR(sink->u.sink.cfg.path, "daily.csv");
    TT_ASSERT(sink->u.sink.cfg.schema && tide_schema_ncols(sink->u.sink.cfg.schema) == 5);

    const tide_sql_plan *proj = sink->input;
    TT_ASSERT_EQ_INT(proj->kind, TIDE_SQL_PLAN_PROJECT);
    TT_ASSERT_EQ_INT(proj->ncols, 4);
    const tide_sql_plan *wa = proj->input;
    TT_ASSERT_EQ_INT(wa->kind, TIDE_SQL_PLAN_WINDOW_AGGREGATE);
    /* output: keys (country), window_start, window_end, window_time, aggs */
    TT_ASSERT_EQ_INT(wa->ncols, 6);
    TT_ASSERT_EQ_STR(wa->cols[0].name, "country");
    TT_ASSERT_EQ_STR(wa->cols[1].name, "window_start");
    TT_ASSERT_EQ_STR(wa->cols[3].name, "window_time");
    TT_ASSERT(wa->cols[3].rowtime);
    TT_ASSERT_EQ_INT(wa->cols[4].type, TIDE_TYPE_BIGINT);
    TT_ASSERT_EQ_INT(wa->cols[5].type, TIDE_TYPE_BIGINT);
    /* the project reads country (0), window_start (1), the two aggregates (4, 5) */
    uint32_t want_cols[4] = {1, 0, 4, 5};
    for (int i = 0; i < 4; i++) {
        TT_ASSERT_EQ_INT(proj->u.project.exprs[i]->kind, TIDE_SQL_BX_COLUMN);
        TT_ASSERT_EQ_INT(proj->u.project.exprs[i]->col, want_cols[i]);
    }
    TT_ASSERT_EQ_INT(wa->u.agg.w.spec.kind, TIDE_WIN_HOP);
    TT_ASSERT(wa->u.agg.w.spec.slide == 86400000LL && wa->u.agg.w.spec.size == 30 * 86400000LL);
    TT_ASSERT_EQ_INT(wa->u.agg.w.time_col, 0);
    TT_ASSERT_EQ_INT(wa->u.agg.nkeys, 1);
    TT_ASSERT_EQ_INT(wa->u.agg.keys[0]->kind, TIDE_SQL_BX_COLUMN);
    TT_ASSERT_EQ_INT(wa->u.agg.keys[0]->col, 2); /* logins.country */
    TT_ASSERT_EQ_INT(wa->u.agg.naggs, 2);
    TT_ASSERT_EQ_INT(wa->u.agg.aggs[0].agg.kind, TIDE_AGG_COUNT_DISTINCT);
    TT_ASSERT_EQ_INT(wa->u.agg.aggs[0].arg->col, 1);
    TT_ASSERT_EQ_INT(wa->u.agg.aggs[1].agg.kind, TIDE_AGG_AVG);
    TT_ASSERT(wa->u.agg.emit.early_ms == 10000 && wa->u.agg.emit.lateness == 7200000);
    TT_ASSERT_EQ_INT(wa->u.agg.emit.mode, TIDE_TRIG_RETRACTING);

    const tide_sql_plan *scan = wa->input;
    TT_ASSERT_EQ_INT(scan->kind, TIDE_SQL_PLAN_SCAN);
    TT_ASSERT_EQ_INT(scan->u.scan.cfg.kind, TIDE_SRC_GEN_LOGINS);
    TT_ASSERT_EQ_INT(scan->u.scan.time_col, 0);
    TT_ASSERT(scan->u.scan.wm_bound == 5000);
    tide_sql_program_free(prog);
    tide_sql_catalog_free(cat);
}

/* A failed script leaves the catalog as it was; DDL carries over between
 * compiles. */
static void test_catalog_across_scripts(void)
{
    tide_sql_catalog *cat = NULL;
    tide_sql_program *prog = NULL;
    tide_sql_error err;
    memset(&err, 0, sizeof err);
    TT_ASSERT(tide_sql_catalog_create(&cat) == 0);
    const char *s1 = LOGINS;
    TT_ASSERT(tide_sql_compile(cat, "a.sql", s1, strlen(s1), &prog, &err) == 0);
    TT_ASSERT_EQ_INT(prog->nplans, 0);
    tide_sql_program_free(prog);
    const char *s2 = "CREATE TABLE t2 (x BIGINT) WITH ('connector' = 'stdin'); SELECT nope FROM t2;";
    TT_ASSERT(tide_sql_compile(cat, "b.sql", s2, strlen(s2), &prog, &err) == TIDE_EINVAL);
    TT_ASSERT(prog == NULL);
    TT_ASSERT_EQ_INT(tide_sql_catalog_count(cat), 1);
    TT_ASSERT(tide_sql_catalog_find(cat, "t2") == NULL);
    const char *s3 = "SELECT user_id FROM logins WHERE country LIKE 'D%';";
    TT_ASSERT(tide_sql_compile(cat, "c.sql", s3, strlen(s3), &prog, &err) == 0);
    TT_ASSERT_EQ_INT(prog->nplans, 1);
    TT_ASSERT_EQ_INT(prog->plans[0]->input->input->kind, TIDE_SQL_PLAN_FILTER);
    tide_sql_program_free(prog);
    tide_sql_catalog_free(cat);
}

/* Bound expressions translate to exec/expr.h trees that compute what SQL
 * says: a WHERE and a CASE over random rows, against the same predicate
 * written in C. */
static void test_translate(void)
{
    const char *sql =
        "CREATE TABLE t (id BIGINT, name STRING, ts TIMESTAMP(3)) WITH ('connector' = 'stdin');\n"
        "SELECT CASE WHEN id % 2 = 0 THEN UPPER(name) ELSE name || '!' END AS v, id * 2 + 1 AS w FROM t\n"
        "WHERE (id % 10 = 3 OR name LIKE 'D%') AND id BETWEEN -50 AND 80 AND name IN ('DE', 'FR', 'dk', 'Dx')\n"
        "  AND ts < TIMESTAMP '1970-01-01 00:00:01';";
    tide_sql_catalog *cat = NULL;
    tide_sql_program *prog = NULL;
    tide_sql_error err;
    tide_schema *sch = NULL;
    tide_cbatch *batch = NULL;
    tide_expr *pred = NULL, *v = NULL, *w = NULL;
    tide_err e = {0};
    memset(&err, 0, sizeof err);
    TT_ASSERT(tide_sql_catalog_create(&cat) == 0);
    TT_ASSERT_MSG(tide_sql_compile(cat, "t.sql", sql, strlen(sql), &prog, &err) == 0, "%u:%u: %s", err.line,
                  err.col, err.msg);
    const tide_sql_plan *proj = prog->plans[0]->input, *filt = proj->input;
    TT_ASSERT_EQ_INT(filt->kind, TIDE_SQL_PLAN_FILTER);
    TT_ASSERT(tide_sql_plan_schema(filt->input, &sch, &e) == 0);
    TT_ASSERT_MSG(tide_sql_plan_expr(filt->u.filter.pred, sch, &pred, &e) == 0, "%s", e.msg);
    TT_ASSERT_MSG(tide_sql_plan_expr(proj->u.project.exprs[0], sch, &v, &e) == 0, "%s", e.msg);
    TT_ASSERT_MSG(tide_sql_plan_expr(proj->u.project.exprs[1], sch, &w, &e) == 0, "%s", e.msg);
    TT_ASSERT_EQ_INT(tide_expr_type(v), TIDE_TYPE_STRING);
    TT_ASSERT(tide_cbatch_create(&batch, sch, 256, 0, &e) == 0);
    static const char *const names[] = {"DE", "FR", "dk", "Dx", "US", "D", ""};
    int64_t ids[256], tss[256];
    const char *nm[256];
    uint64_t seed = tt_seed(7);
    for (uint32_t r = 0; r < 256; r++) {
        uint32_t row;
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        ids[r] = (int64_t)((seed >> 33) % 200) - 100;
        nm[r] = names[(seed >> 20) % 7];
        tss[r] = (int64_t)((seed >> 40) % 2000);
        TT_ASSERT(tide_cbatch_add_row(batch, &row) == 0);
        tide_cbatch_set_i64(batch, 0, row, ids[r]);
        TT_ASSERT(tide_cbatch_set_str(batch, 1, row, nm[r], strlen(nm[r]), &e) == 0);
        tide_cbatch_set_i64(batch, 2, row, tss[r]);
    }
    uint32_t sel[256], n = 0;
    TT_ASSERT(tide_expr_filter(pred, batch, sel, &n, &e) == 0);
    uint32_t k = 0;
    for (uint32_t r = 0; r < 256; r++) {
        bool in = !strcmp(nm[r], "DE") || !strcmp(nm[r], "FR") || !strcmp(nm[r], "dk") || !strcmp(nm[r], "Dx");
        bool want = (ids[r] % 10 == 3 || nm[r][0] == 'D') && ids[r] >= -50 && ids[r] <= 80 && in && tss[r] < 1000;
        if (want) {
            TT_ASSERT_MSG(k < n && sel[k] == r, "row %u should pass", r);
            k++;
        }
    }
    TT_ASSERT_EQ_INT(k, n);
    const tide_expr_vec *vv = NULL, *wv = NULL;
    TT_ASSERT(tide_expr_eval(v, batch, NULL, 0, &vv, &e) == 0);
    for (uint32_t r = 0; r < 256; r++) {
        char want[16];
        if (ids[r] % 2 == 0) {
            size_t i = 0;
            for (; nm[r][i]; i++)
                want[i] = (char)(nm[r][i] >= 'a' && nm[r][i] <= 'z' ? nm[r][i] - 32 : nm[r][i]);
            want[i] = 0;
        } else {
            snprintf(want, sizeof want, "%s!", nm[r]);
        }
        TT_ASSERT(!vv->nulls[r] && vv->v.s[r].len == strlen(want) && !memcmp(vv->v.s[r].ptr, want, strlen(want)));
    }
    TT_ASSERT(tide_expr_eval(w, batch, NULL, 0, &wv, &e) == 0);
    for (uint32_t r = 0; r < 256; r++)
        TT_ASSERT(wv->v.i64[r] == ids[r] * 2 + 1);
    tide_expr_free(pred);
    tide_expr_free(v);
    tide_expr_free(w);
    tide_cbatch_free(batch);
    tide_schema_free(sch);
    tide_sql_program_free(prog);
    tide_sql_catalog_free(cat);
}

/* Views and WITH names are inlined at each reference: a script whose plan
 * would double 40 times is refused, quickly, with a position. */
static void test_limits(void)
{
    static char sql[8192];
    size_t n = 0;
    n += (size_t)snprintf(sql + n, sizeof sql - n,
                          "CREATE TABLE t (x BIGINT) WITH ('connector' = 'stdin');\n"
                          "CREATE VIEW v0 AS SELECT x FROM t;\n");
    for (int i = 1; i <= 40; i++)
        n += (size_t)snprintf(sql + n, sizeof sql - n,
                              "CREATE VIEW v%d AS SELECT a.x FROM v%d a JOIN v%d b ON a.x = b.x;\n", i, i - 1, i - 1);
    n += (size_t)snprintf(sql + n, sizeof sql - n, "SELECT * FROM v40;");
    const char *got = run(sql);
    TT_ASSERT_MSG(strstr(got, "ERROR") == got && strstr(got, "too large"), "%s", got);
}

/* ---- suggestions ---------------------------------------------------- */

static int lc(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

/* Optimal string alignment distance, straight from its recursive definition. */
static unsigned osa_ref(const char *a, int i, const char *b, int j)
{
    if (i == 0)
        return (unsigned)j;
    if (j == 0)
        return (unsigned)i;
    unsigned best = osa_ref(a, i - 1, b, j) + 1;
    unsigned t = osa_ref(a, i, b, j - 1) + 1;
    best = t < best ? t : best;
    t = osa_ref(a, i - 1, b, j - 1) + (lc(a[i - 1]) != lc(b[j - 1]));
    best = t < best ? t : best;
    if (i > 1 && j > 1 && lc(a[i - 1]) == lc(b[j - 2]) && lc(a[i - 2]) == lc(b[j - 1])) {
        t = osa_ref(a, i - 2, b, j - 2) + 1;
        best = t < best ? t : best;
    }
    return best;
}

static void test_edit_distance(void)
{
    uint64_t seed = tt_seed(0x5eed1234u);
    for (int iter = 0; iter < 3000; iter++) {
        char a[8], b[8];
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        int la = (int)((seed >> 33) % 7), lb = (int)((seed >> 40) % 7);
        for (int k = 0; k < la; k++) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            a[k] = "abcAB"[(seed >> 35) % 5];
        }
        for (int k = 0; k < lb; k++) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            b[k] = "abcAB"[(seed >> 35) % 5];
        }
        unsigned want = osa_ref(a, la, b, lb);
        unsigned got = tide_sql_edit_distance(a, (size_t)la, b, (size_t)lb, 100);
        if (got != want)
            TT_SEED(iter);
        TT_ASSERT_MSG(got == want, "'%.*s' vs '%.*s': %u != %u", la, a, lb, b, got, want);
        /* capped */
        unsigned capped = tide_sql_edit_distance(a, (size_t)la, b, (size_t)lb, 2);
        TT_ASSERT_EQ_INT(capped, want < 2 ? want : 2);
    }
    tide_sql_suggest s;
    tide_sql_suggest_init(&s, "usr_id", 6);
    tide_sql_suggest_offer(&s, "ts");
    tide_sql_suggest_offer(&s, "user_id");
    tide_sql_suggest_offer(&s, "country");
    TT_ASSERT_EQ_STR(tide_sql_suggest_best(&s), "user_id");
    tide_sql_suggest_init(&s, "x", 1);
    tide_sql_suggest_offer(&s, "abc");
    TT_ASSERT(tide_sql_suggest_best(&s) == NULL);
}

/* ---- robustness ----------------------------------------------------- */

/* Translate every Filter / Project expression of a plan (errors allowed:
 * exec/expr.h may refuse what the binder accepted; crashes and leaks not). */
static int translate_all(const tide_sql_plan *p)
{
    int bad = 0;
    if (!p)
        return 0;
    if ((p->kind == TIDE_SQL_PLAN_FILTER || p->kind == TIDE_SQL_PLAN_PROJECT) && p->input) {
        tide_schema *s = NULL;
        tide_err e = {0};
        if (tide_sql_plan_schema(p->input, &s, &e) == 0) {
            uint32_t n = p->kind == TIDE_SQL_PLAN_FILTER ? 1 : p->ncols;
            for (uint32_t i = 0; i < n; i++) {
                tide_expr *x = NULL;
                tide_err e2 = {0};
                const tide_sql_bexpr *bx = p->kind == TIDE_SQL_PLAN_FILTER ? p->u.filter.pred : p->u.project.exprs[i];
                int rc = tide_sql_plan_expr(bx, s, &x, &e2);
                bad += rc == 0 ? x == NULL : (x != NULL || !e2.msg[0]);
                tide_expr_free(x);
            }
            tide_schema_free(s);
        }
    }
    return bad + translate_all(p->input) + translate_all(p->right);
}

/* Mutations of valid scripts (a byte replaced by a piece of SQL, bytes
 * dropped) must never crash; every error must carry a position and a
 * message. */
static void test_mutations(void)
{
    static const char *const pieces[] = {" ", "(", ")", ",", "*", "ts", "window_start", "COUNT(*)", "GROUP BY ",
                                         "'", "1", "INTERVAL '1' DAY", "x.", "EMIT ALLOW LATENESS INTERVAL '1' HOUR ",
                                         "SELECT ", "FROM logins", "AS ", "NULL", ";", "TABLE(", "DESCRIPTOR(ts)"};
    uint64_t seed = tt_seed(42);
    char buf[4096];
    for (size_t c = 0; c < sizeof plan_cases / sizeof plan_cases[0]; c++) {
        const char *base = plan_cases[c].sql;
        size_t n = strlen(base);
        for (int iter = 0; iter < 150; iter++) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            size_t at = (size_t)(seed >> 33) % n;
            size_t drop = (size_t)(seed >> 20) % 4;
            const char *ins = pieces[(seed >> 45) % (sizeof pieces / sizeof pieces[0])];
            size_t il = strlen(ins);
            if (at + drop > n)
                drop = n - at;
            if (n - drop + il >= sizeof buf)
                continue;
            memcpy(buf, base, at);
            memcpy(buf + at, ins, il);
            memcpy(buf + at + il, base + at + drop, n - at - drop);
            size_t len = n - drop + il;
            tide_sql_catalog *cat = NULL;
            tide_sql_program *prog = NULL;
            tide_sql_error err;
            tide_buf out = {0};
            memset(&err, 0, sizeof err);
            TT_ASSERT(tide_sql_catalog_create(&cat) == 0);
            int rc = tide_sql_compile(cat, "m.sql", buf, len, &prog, &err);
            if (rc != 0) {
                if (!(err.code == rc && err.line >= 1 && err.col >= 1 && err.off <= len && err.msg[0]))
                    TT_SEED(seed);
                TT_ASSERT(err.code == rc && err.line >= 1 && err.col >= 1 && err.off <= len && err.msg[0]);
                TT_ASSERT(tide_sql_error_render(&err, buf, len, &out) == 0);
            } else {
                for (uint32_t i = 0; i < prog->nplans; i++) {
                    TT_ASSERT(tide_sql_explain(prog->plans[i], &out) == 0);
                    TT_ASSERT_EQ_INT(translate_all(prog->plans[i]), 0);
                }
            }
            tide_buf_free(&out);
            tide_sql_program_free(prog);
            tide_sql_catalog_free(cat);
        }
    }
}

int main(void)
{
    TT_RUN(test_plans);
    TT_RUN(test_errors);
    TT_RUN(test_error_render);
    TT_RUN(test_plan_fields);
    TT_RUN(test_catalog_across_scripts);
    TT_RUN(test_translate);
    TT_RUN(test_limits);
    TT_RUN(test_edit_distance);
    TT_RUN(test_mutations);
    TT_DONE();
}
