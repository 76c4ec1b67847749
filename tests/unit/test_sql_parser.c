/* Tests of the SQL front end: lexer, parser, AST printer, error rendering.
 *
 * The expected canonical texts and error positions below were written by
 * hand from the grammar in sql/parser.h, not captured from the parser.  The
 * property tests compare against independent models: a fully parenthesized
 * random expression evaluated on the generator's own tree, and flat operator
 * chains evaluated with the two-pass (multiplicative, then additive) rule. */
#include "sql/ast.h"
#include "sql/lexer.h"
#include "sql/parser.h"
#include "tt.h"

#include <stdbool.h>

/* ---- helpers -------------------------------------------------------- */

static char printed[1 << 16];

/* Parse and print the script; "" plus the error message on failure. */
static const char *roundtrip(const char *sql, tide_sql_error *err)
{
    tide_sql_script *s = NULL;
    tide_buf out = {0};
    printed[0] = '\0';
    if (tide_sql_parse("t.sql", sql, strlen(sql), &s, err) != 0)
        return printed;
    if (tide_sql_print_script(s, &out) == 0) {
        size_t n = out.len < sizeof printed - 1 ? out.len : sizeof printed - 1;
        if (n)
            memcpy(printed, out.data, n);
        printed[n] = '\0';
    }
    tide_buf_free(&out);
    tide_sql_script_free(s);
    return printed;
}

static tide_sql_script *parse_ok(const char *sql)
{
    tide_sql_script *s = NULL;
    tide_sql_error err;
    if (tide_sql_parse("t.sql", sql, strlen(sql), &s, &err) != 0) {
        fprintf(stderr, "unexpected error: %s:%u:%u: %s\n", err.file, err.line, err.col, err.msg);
        return NULL;
    }
    return s;
}

/* ---- lexer ---------------------------------------------------------- */

static void test_keywords(void)
{
    int n = 0;
#define CHECK_KW(name, reserved)                                                                   \
    do {                                                                                           \
        char lower_[32];                                                                           \
        size_t i_;                                                                                 \
        for (i_ = 0; #name[i_]; i_++)                                                              \
            lower_[i_] = (char)(#name[i_] | 0x20);                                                 \
        TT_ASSERT_EQ_INT(tide_sql_lex_keyword(#name, strlen(#name)), TIDE_SQL_KW_##name);          \
        TT_ASSERT_EQ_INT(tide_sql_lex_keyword(lower_, i_), TIDE_SQL_KW_##name);                    \
        TT_ASSERT_EQ_INT(tide_sql_lex_kw_reserved(TIDE_SQL_KW_##name), reserved);                  \
        TT_ASSERT_EQ_STR(tide_sql_lex_kw_name(TIDE_SQL_KW_##name), #name);                         \
        n++;                                                                                       \
    } while (0);
    TIDE_SQL_KEYWORD_MAP(CHECK_KW)
#undef CHECK_KW
    TT_ASSERT_EQ_INT(n, TIDE_SQL_KW_COUNT - 1);
    TT_ASSERT_EQ_INT(tide_sql_lex_keyword("selects", 7), TIDE_SQL_KW_NONE);
    TT_ASSERT_EQ_INT(tide_sql_lex_keyword("SELEC", 5), TIDE_SQL_KW_NONE);
    TT_ASSERT_EQ_INT(tide_sql_lex_keyword("a", 1), TIDE_SQL_KW_NONE);
    TT_ASSERT_EQ_INT(tide_sql_lex_keyword("zzz", 3), TIDE_SQL_KW_NONE);
    TT_ASSERT_EQ_INT(tide_sql_lex_keyword("", 0), TIDE_SQL_KW_NONE);
    TT_ASSERT(tide_sql_lex_needs_quotes("select", 6));
    TT_ASSERT(tide_sql_lex_needs_quotes("Ab", 2));
    TT_ASSERT(tide_sql_lex_needs_quotes("1a", 2));
    TT_ASSERT(tide_sql_lex_needs_quotes("a b", 3));
    TT_ASSERT(!tide_sql_lex_needs_quotes("day", 3));
    TT_ASSERT(!tide_sql_lex_needs_quotes("_a1", 3));
}

static void test_tokens(void)
{
    /* kind, line, col, text */
    static const struct {
        tide_sql_tok_kind kind;
        unsigned line, col;
        const char *text;
    } want[] = {
        {TIDE_SQL_TOK_WORD, 1, 1, "a"},
        {TIDE_SQL_TOK_DOT, 1, 2, "."},
        {TIDE_SQL_TOK_WORD, 1, 3, "Select"},
        {TIDE_SQL_TOK_NE, 1, 9, "<>"},
        {TIDE_SQL_TOK_GE, 1, 11, ">="},
        {TIDE_SQL_TOK_NE, 1, 13, "!="},
        {TIDE_SQL_TOK_CONCAT, 1, 15, "||"},
        {TIDE_SQL_TOK_LE, 1, 17, "<="},
        {TIDE_SQL_TOK_EQ, 1, 19, "=="},
        {TIDE_SQL_TOK_STRING, 2, 7, "'q'''"},
        {TIDE_SQL_TOK_QUOTED_IDENT, 2, 13, "`x``y`"},
        {TIDE_SQL_TOK_QUOTED_IDENT, 2, 20, "\"Z\""},
        {TIDE_SQL_TOK_DECIMAL, 3, 1, "1.5e3"},
        {TIDE_SQL_TOK_DECIMAL, 3, 7, ".5"},
        {TIDE_SQL_TOK_INTEGER, 3, 10, "7"},
        {TIDE_SQL_TOK_DECIMAL, 3, 12, "2."},
        {TIDE_SQL_TOK_WORD, 3, 15, "é"}, /* one code point, two bytes */
        {TIDE_SQL_TOK_PERCENT, 3, 16, "%"},
        {TIDE_SQL_TOK_SEMI, 3, 17, ";"},
        {TIDE_SQL_TOK_EOF, 4, 3, ""},
    };
    const char *src =
        "a.Select<>>=!=||<=== -- comment\n/*x*/ 'q''' `x``y` \"Z\"\n1.5e3 .5 7 2. é%;\n  ";
    tide_sql_lexer lx;
    tide_sql_lex_init(&lx, src, strlen(src));
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        tide_sql_token t;
        tide_sql_lex_next(&lx, &t);
        TT_ASSERT_MSG(t.kind == want[i].kind, "token %zu kind %d", i, (int)t.kind);
        TT_ASSERT_MSG(t.line == want[i].line && t.col == want[i].col, "token %zu at %u:%u", i,
                      t.line, t.col);
        TT_ASSERT_MSG(t.len == strlen(want[i].text) &&
                          memcmp(src + t.off, want[i].text, t.len) == 0,
                      "token %zu text", i);
    }
    tide_sql_token t;
    tide_sql_lex_next(&lx, &t);
    TT_ASSERT_EQ_INT(t.kind, TIDE_SQL_TOK_EOF); /* EOF repeats */
    /* keyword classification of words */
    tide_sql_lex_init(&lx, "from Day x", 10);
    tide_sql_lex_next(&lx, &t);
    TT_ASSERT_EQ_INT(t.kw, TIDE_SQL_KW_FROM);
    tide_sql_lex_next(&lx, &t);
    TT_ASSERT_EQ_INT(t.kw, TIDE_SQL_KW_DAY);
    tide_sql_lex_next(&lx, &t);
    TT_ASSERT_EQ_INT(t.kw, TIDE_SQL_KW_NONE);
    /* the lexer never reads past len: "ab" of "abc" */
    tide_sql_lex_init(&lx, "abc", 2);
    tide_sql_lex_next(&lx, &t);
    TT_ASSERT_EQ_INT(t.len, 2);
}

/* ---- round trips: input -> canonical text --------------------------- */

static const struct {
    const char *in, *want;
} canon[] = {
    /* basics */
    {"select a, b from t", "SELECT a, b FROM t;"},
    {"SELECT * FROM t", "SELECT * FROM t;"},
    {"select t.* , u.x from t, u", "SELECT t.*, u.x FROM t, u;"},
    {"SELECT DISTINCT a AS x, b y FROM t AS s", "SELECT DISTINCT a AS x, b AS y FROM t AS s;"},
    {"SELECT ALL a FROM t s", "SELECT a FROM t AS s;"},
    {"SELECT 1", "SELECT 1;"},
    /* precedence: arithmetic and || (which binds like *) */
    {"SELECT 1 + 2 * 3, (1 + 2) * 3, 1 - (2 - 3), (1 - 2) - 3, 2 * (3 / 4), 2 * 3 % 4",
     "SELECT 1 + 2 * 3, (1 + 2) * 3, 1 - (2 - 3), 1 - 2 - 3, 2 * (3 / 4), 2 * 3 % 4;"},
    {"SELECT a || b * c, (a || b) + c, a || (b || c), a + b || c",
     "SELECT a || b * c, a || b + c, a || (b || c), a + b || c;"},
    /* logic */
    {"SELECT NOT a AND b, NOT (a AND b), a OR b AND c, (a OR b) AND c, NOT NOT a, not a = b",
     "SELECT NOT a AND b, NOT (a AND b), a OR b AND c, (a OR b) AND c, NOT NOT a, NOT a = b;"},
    {"SELECT (NOT a) = b, a AND (b OR c) AND d", "SELECT (NOT a) = b, a AND (b OR c) AND d;"},
    /* unary */
    {"SELECT -a, - -a, -(a + b), -a * b, -(a * b), +a, + +a, a - -1, a - (-1), - 5",
     "SELECT -a, - -a, -(a + b), -a * b, -(a * b), +a, + +a, a - -1, a - -1, -5;"},
    {"SELECT -9223372036854775808, 9223372036854775807, -(-9223372036854775808)",
     "SELECT -9223372036854775808, 9223372036854775807, - -9223372036854775808;"},
    /* comparisons and predicates */
    {"SELECT a = b, a <> b, a != b, a < b, a <= b, a > b, a >= b, a == b",
     "SELECT a = b, a <> b, a <> b, a < b, a <= b, a > b, a >= b, a = b;"},
    {"SELECT (a = b) = c, a = (b = c), a + b = c * d",
     "SELECT a = b = c, a = (b = c), a + b = c * d;"},
    {"SELECT a IS NULL, a IS NOT NULL, a + b IS NULL, (a = b) IS NULL, a = (b IS NULL)",
     "SELECT a IS NULL, a IS NOT NULL, a + b IS NULL, a = b IS NULL, a = (b IS NULL);"},
    {"SELECT a IS DISTINCT FROM b, a is not distinct from b + 1, (a IS DISTINCT FROM b) = c, NOT a IS NOT DISTINCT FROM NULL",
     "SELECT a IS DISTINCT FROM b, a IS NOT DISTINCT FROM b + 1, a IS DISTINCT FROM b = c, NOT a IS NOT DISTINCT FROM NULL;"},
    {"SELECT a FROM t WHERE a IN (SELECT b FROM u) AND NOT EXISTS (SELECT 1 FROM v WHERE v.x = t.a) AND a not in (select c from w)",
     "SELECT a FROM t WHERE a IN (SELECT b FROM u) AND NOT EXISTS (SELECT 1 FROM v WHERE v.x = t.a) AND a NOT IN (SELECT c FROM w);"},
    {"SELECT a BETWEEN 1 AND 2, a NOT BETWEEN b - 1 AND b + 1 AND c, a BETWEEN (b AND c) AND d",
     "SELECT a BETWEEN 1 AND 2, a NOT BETWEEN b - 1 AND b + 1 AND c, a BETWEEN (b AND c) AND d;"},
    {"SELECT a IN (1, 2, 3), a NOT IN ('x'), a + 1 IN (b = c, d)",
     "SELECT a IN (1, 2, 3), a NOT IN ('x'), a + 1 IN (b = c, d);"},
    {"SELECT a LIKE 'x%', a NOT LIKE '%y' ESCAPE '!', a || 'b' LIKE c",
     "SELECT a LIKE 'x%', a NOT LIKE '%y' ESCAPE '!', a || 'b' LIKE c;"},
    /* functions */
    {"SELECT COUNT(*), count(DISTINCT user_id), APPROX_COUNT_DISTINCT(x), sum(ALL x), f(), g(1, "
     "'a', TRUE, FALSE, NULL)",
     "SELECT COUNT(*), COUNT(DISTINCT user_id), APPROX_COUNT_DISTINCT(x), SUM(x), F(), G(1, 'a', "
     "TRUE, FALSE, NULL);"},
    {"SELECT `Weird Fn`(x), `left`(s, 2), timestamp(x)",
     "SELECT `Weird Fn`(x), `left`(s, 2), TIMESTAMP(x);"},
    {"SELECT CAST(a AS int), cast(b as VARCHAR(10)), CAST(c AS varchar), CAST(d AS timestamp), "
     "cast(e as TIMESTAMP(3)), cast(f as bool), cast(g as double), CAST(h AS integer), CAST(i AS "
     "string)",
     "SELECT CAST(a AS BIGINT), CAST(b AS VARCHAR(10)), CAST(c AS STRING), CAST(d AS "
     "TIMESTAMP(3)), "
     "CAST(e AS TIMESTAMP(3)), CAST(f AS BOOLEAN), CAST(g AS DOUBLE), CAST(h AS BIGINT), CAST(i AS "
     "STRING);"},
    {"SELECT CASE WHEN a > 1 THEN 'big' WHEN a > 0 THEN 'small' ELSE 'none' END, case a when 1 "
     "then 2 end",
     "SELECT CASE WHEN a > 1 THEN 'big' WHEN a > 0 THEN 'small' ELSE 'none' END, CASE a WHEN 1 "
     "THEN 2 END;"},
    {"SELECT FLOOR(ts TO DAY), ceil(ts to hour), floor(x), CEIL(ts TO MINUTES)",
     "SELECT FLOOR(ts TO DAY), CEIL(ts TO HOUR), FLOOR(x), CEIL(ts TO MINUTE);"},
    {"SELECT extract(dow from ts), TimestampAdd(months, -2, ts), TIMESTAMPDIFF(week, a, b), floor(ts to quarter), "
     "date '2024-05-01', to_timestamp(s, 'yyyy')",
     "SELECT EXTRACT(DOW FROM ts), TIMESTAMPADD(MONTH, -2, ts), TIMESTAMPDIFF(WEEK, a, b), FLOOR(ts TO QUARTER), "
     "DATE '2024-05-01', TO_TIMESTAMP(s, 'yyyy');"},
    {"SELECT ts + INTERVAL '1.5' SECOND, INTERVAL '0.001' SECOND, INTERVAL '-0.25' SECOND, INTERVAL '2.000' second, "
     "INTERVAL '.5' SECOND, CAST(x AS FLOAT), CAST(x AS REAL)",
     "SELECT ts + INTERVAL '1.5' SECOND, INTERVAL '0.001' SECOND, INTERVAL '-0.25' SECOND, INTERVAL '2.0' SECOND, "
     "INTERVAL '0.5' SECOND, CAST(x AS DOUBLE), CAST(x AS DOUBLE);"},
    {"SELECT a, b, grouping(a, b) FROM t GROUP BY grouping sets ((a, b), a, ()), rollup(c, d), cube (e), ()",
     "SELECT a, b, GROUPING(a, b) FROM t GROUP BY GROUPING SETS ((a, b), a, ()), ROLLUP(c, d), CUBE(e), ();"},
    {"SELECT rollup FROM t GROUP BY rollup", "SELECT rollup FROM t GROUP BY rollup;"},
    /* literals */
    {"SELECT 'it''s', '', 1.5, .5, 1e3, 2.5E-3, 1.50",
     "SELECT 'it''s', '', 1.5, .5, 1e3, 2.5E-3, 1.50;"},
    {"SELECT TIMESTAMP '2024-01-01 00:00:00', timestamp '2024-01-01T00:00:00Z'",
     "SELECT TIMESTAMP '2024-01-01 00:00:00', TIMESTAMP '2024-01-01T00:00:00Z';"},
    {"SELECT INTERVAL '30' DAY, interval '1' hours, INTERVAL '2' MONTH, interval 5 minutes, "
     "INTERVAL ' -3 ' SECOND, "
     "INTERVAL '1' YEARS, INTERVAL '+4' SECONDS",
     "SELECT INTERVAL '30' DAY, INTERVAL '1' HOUR, INTERVAL '2' MONTH, INTERVAL '5' MINUTE, "
     "INTERVAL '-3' SECOND, "
     "INTERVAL '1' YEAR, INTERVAL '4' SECOND;"},
    /* Flink's precision after the unit: checked, then dropped */
    {"SELECT INTERVAL '3650' DAY(4), INTERVAL '5' SECOND(2, 3), INTERVAL '99' hour(2)",
     "SELECT INTERVAL '3650' DAY, INTERVAL '5' SECOND, INTERVAL '99' HOUR;"},
    /* identifiers */
    {"SELECT `User Id`, \"Name\", `a``b`, \"x\"\"y\", MyCol, \"lower\", `select` FROM `My Table`",
     "SELECT `User Id`, `Name`, `a``b`, `x\"y`, mycol, lower, `select` FROM `My Table`;"},
    {"SELECT day, rows, mode, timestamp, t.year, partition FROM t",
     "SELECT day, rows, mode, timestamp, t.year, partition FROM t;"},
    /* clauses */
    {"SELECT a, COUNT(*) c FROM t WHERE b > 0 GROUP BY a HAVING COUNT(*) > 1 ORDER BY c DESC, a "
     "ASC LIMIT 10",
     "SELECT a, COUNT(*) AS c FROM t WHERE b > 0 GROUP BY a HAVING COUNT(*) > 1 ORDER BY c DESC, a "
     "LIMIT 10;"},
    /* set operations */
    {"SELECT a FROM t UNION ALL SELECT a FROM u UNION ALL SELECT a FROM v",
     "SELECT a FROM t UNION ALL SELECT a FROM u UNION ALL SELECT a FROM v;"},
    {"SELECT 1 UNION SELECT 2 UNION DISTINCT SELECT 3", "SELECT 1 UNION SELECT 2 UNION SELECT 3;"},
    {"SELECT 1 UNION ALL (SELECT 2 UNION ALL SELECT 3)",
     "SELECT 1 UNION ALL (SELECT 2 UNION ALL SELECT 3);"},
    {"(SELECT 1 ORDER BY 1 LIMIT 1) UNION ALL SELECT 2",
     "(SELECT 1 ORDER BY 1 LIMIT 1) UNION ALL SELECT 2;"},
    {"(SELECT 1) UNION ALL (SELECT 2)", "SELECT 1 UNION ALL SELECT 2;"},
    {"SELECT 1 UNION ALL SELECT 2 ORDER BY 1", "SELECT 1 UNION ALL SELECT 2 ORDER BY 1;"},
    {"(SELECT a FROM t ORDER BY a) ORDER BY a DESC",
     "(SELECT a FROM t ORDER BY a) ORDER BY a DESC;"},
    {"((SELECT 1))", "SELECT 1;"},
    {"WITH d AS (SELECT 1 AS x), e AS (SELECT x FROM d) SELECT * FROM e",
     "WITH d AS (SELECT 1 AS x), e AS (SELECT x FROM d) SELECT * FROM e;"},
    {"WITH a AS (SELECT 1) (WITH b AS (SELECT 2) SELECT * FROM b)",
     "WITH a AS (SELECT 1) (WITH b AS (SELECT 2) SELECT * FROM b);"},
    /* FROM */
    {"SELECT * FROM a JOIN b ON a.k = b.k INNER JOIN c ON c.k = a.k LEFT OUTER JOIN d ON d.k = a.k "
     "RIGHT JOIN e ON TRUE FULL OUTER JOIN f ON TRUE CROSS JOIN g, h",
     "SELECT * FROM a JOIN b ON a.k = b.k JOIN c ON c.k = a.k LEFT JOIN d ON d.k = a.k "
     "RIGHT JOIN e ON TRUE FULL JOIN f ON TRUE CROSS JOIN g, h;"},
    {"SELECT x.a FROM (SELECT a FROM t) x, (SELECT 1) AS y, (SELECT 2)",
     "SELECT x.a FROM (SELECT a FROM t) AS x, (SELECT 1) AS y, (SELECT 2);"},
    /* interval join */
    {"SELECT * FROM a, b WHERE a.id = b.id AND a.ts BETWEEN b.ts - INTERVAL '1' HOUR AND b.ts + "
     "INTERVAL '1' HOUR",
     "SELECT * FROM a, b WHERE a.id = b.id AND a.ts BETWEEN b.ts - INTERVAL '1' HOUR AND b.ts + "
     "INTERVAL '1' HOUR;"},
    {"SELECT * FROM a LEFT JOIN b ON a.id = b.id AND a.ts BETWEEN b.ts - INTERVAL '1' HOUR AND "
     "b.ts",
     "SELECT * FROM a LEFT JOIN b ON a.id = b.id AND a.ts BETWEEN b.ts - INTERVAL '1' HOUR AND "
     "b.ts;"},
    /* window table functions: DAU, MAU, cumulate, sessions */
    {"SELECT window_start, window_end, COUNT(DISTINCT user_id) AS dau\n"
     "FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' DAY))\n"
     "GROUP BY window_start, window_end",
     "SELECT window_start, window_end, COUNT(DISTINCT user_id) AS dau "
     "FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' DAY)) GROUP BY window_start, "
     "window_end;"},
    {"select window_end, count(distinct user_id) mau from table(hop(table logins, descriptor(ts), "
     "interval '1' day, interval '30' day)) group by window_start, window_end",
     "SELECT window_end, COUNT(DISTINCT user_id) AS mau FROM TABLE(HOP(TABLE logins, "
     "DESCRIPTOR(ts), "
     "INTERVAL '1' DAY, INTERVAL '30' DAY)) GROUP BY window_start, window_end;"},
    {"SELECT * FROM TABLE(CUMULATE(TABLE t, DESCRIPTOR(ts), INTERVAL '1' HOUR, INTERVAL '1' DAY)) "
     "w",
     "SELECT * FROM TABLE(CUMULATE(TABLE t, DESCRIPTOR(ts), INTERVAL '1' HOUR, INTERVAL '1' DAY)) "
     "AS w;"},
    {"SELECT * FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '1' DAY, INTERVAL '8' HOUR))",
     "SELECT * FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '1' DAY, INTERVAL '8' HOUR));"},
    {"SELECT user_id, window_start, window_end, COUNT(*) AS logins\n"
     "FROM TABLE(SESSION(TABLE logins PARTITION BY user_id, DESCRIPTOR(ts), INTERVAL '30' "
     "MINUTES))\n"
     "GROUP BY user_id, window_start, window_end",
     "SELECT user_id, window_start, window_end, COUNT(*) AS logins "
     "FROM TABLE(SESSION(TABLE logins PARTITION BY user_id, DESCRIPTOR(ts), INTERVAL '30' MINUTE)) "
     "GROUP BY user_id, window_start, window_end;"},
    {"SELECT * FROM TABLE(SESSION(TABLE t PARTITION BY (a, b), DESCRIPTOR(ts), INTERVAL '5' "
     "SECOND))",
     "SELECT * FROM TABLE(SESSION(TABLE t PARTITION BY (a, b), DESCRIPTOR(ts), INTERVAL '5' "
     "SECOND));"},
    {"SELECT * FROM TABLE(SESSION(TABLE t PARTITION BY (a), DESCRIPTOR(ts), INTERVAL '5' SECOND))",
     "SELECT * FROM TABLE(SESSION(TABLE t PARTITION BY a, DESCRIPTOR(ts), INTERVAL '5' SECOND));"},
    {"SELECT * FROM TABLE(SESSION(TABLE t, DESCRIPTOR(ts), INTERVAL '5' SECOND))",
     "SELECT * FROM TABLE(SESSION(TABLE t, DESCRIPTOR(ts), INTERVAL '5' SECOND));"},
    {"SELECT * FROM TABLE(TUMBLE(TABLE (SELECT * FROM t WHERE x > 0), DESCRIPTOR(ts), INTERVAL '1' "
     "MINUTE)) AS w",
     "SELECT * FROM TABLE(TUMBLE((SELECT * FROM t WHERE x > 0), DESCRIPTOR(ts), INTERVAL '1' "
     "MINUTE)) AS w;"},
    {"SELECT * FROM TABLE(TUMBLE((SELECT * FROM t), DESCRIPTOR(ts), INTERVAL '1' MINUTE))",
     "SELECT * FROM TABLE(TUMBLE((SELECT * FROM t), DESCRIPTOR(ts), INTERVAL '1' MINUTE));"},
    /* EMIT */
    {"SELECT COUNT(*) FROM t GROUP BY a EMIT EARLY EVERY 1000 ROWS",
     "SELECT COUNT(*) FROM t GROUP BY a EMIT EARLY EVERY 1000 ROWS;"},
    {"SELECT COUNT(*) FROM t GROUP BY a EMIT RETRACTING ALLOW LATENESS INTERVAL '1' HOUR EARLY "
     "EVERY INTERVAL '1' MINUTE",
     "SELECT COUNT(*) FROM t GROUP BY a EMIT EARLY EVERY INTERVAL '1' MINUTE ALLOW LATENESS "
     "INTERVAL '1' HOUR RETRACTING;"},
    {"SELECT COUNT(*) FROM t GROUP BY a EMIT MODE DISCARDING",
     "SELECT COUNT(*) FROM t GROUP BY a EMIT DISCARDING;"},
    {"SELECT COUNT(*) FROM t GROUP BY a HAVING COUNT(*) > 2 emit accumulating ORDER BY 1",
     "SELECT COUNT(*) FROM t GROUP BY a HAVING COUNT(*) > 2 EMIT ACCUMULATING ORDER BY 1;"},
    {"SELECT COUNT(*) FROM t GROUP BY a EMIT ALLOW LATENESS INTERVAL '10' MINUTES",
     "SELECT COUNT(*) FROM t GROUP BY a EMIT ALLOW LATENESS INTERVAL '10' MINUTE;"},
    /* churn: users active in one 30-day window and not in the next */
    {"WITH act AS (\n"
     "  SELECT window_start AS ws, user_id\n"
     "  FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '30' DAY))\n"
     "  GROUP BY window_start, window_end, user_id)\n"
     "SELECT p.ws + INTERVAL '30' DAY AS month, COUNT(*) AS churned\n"
     "FROM act p LEFT JOIN act c ON p.user_id = c.user_id AND c.ws = p.ws + INTERVAL '30' DAY\n"
     "WHERE c.user_id IS NULL GROUP BY p.ws",
     "WITH act AS (SELECT window_start AS ws, user_id FROM TABLE(TUMBLE(TABLE logins, "
     "DESCRIPTOR(ts), "
     "INTERVAL '30' DAY)) GROUP BY window_start, window_end, user_id) SELECT p.ws + INTERVAL '30' "
     "DAY AS month, "
     "COUNT(*) AS churned FROM act AS p LEFT JOIN act AS c ON p.user_id = c.user_id AND c.ws = "
     "p.ws + "
     "INTERVAL '30' DAY WHERE c.user_id IS NULL GROUP BY p.ws;"},
    /* statements */
    {"CREATE TABLE logins (\n"
     "  ts TIMESTAMP(3),\n"
     "  user_id BIGINT NOT NULL,\n"
     "  country VARCHAR(2),\n"
     "  ok BOOLEAN,\n"
     "  score DOUBLE,\n"
     "  day_str AS CAST(FLOOR(ts TO DAY) AS STRING),\n"
     "  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND\n"
     ") WITH ('connector' = 'file', 'path' = 'logins.csv', 'format' = 'csv')",
     "CREATE TABLE logins (ts TIMESTAMP(3), user_id BIGINT NOT NULL, country VARCHAR(2), ok "
     "BOOLEAN, "
     "score DOUBLE, day_str AS CAST(FLOOR(ts TO DAY) AS STRING), WATERMARK FOR ts AS ts - INTERVAL "
     "'5' SECOND) "
     "WITH ('connector' = 'file', 'path' = 'logins.csv', 'format' = 'csv');"},
    {"create table if not exists s (a string, t timestamp_ltz(3), watermark bigint) with "
     "('connector'='stdout', 'x'='it''s')",
     "CREATE TABLE IF NOT EXISTS s (a STRING, t TIMESTAMP(3), watermark BIGINT) WITH ('connector' "
     "= 'stdout', 'x' = 'it''s');"},
    {"CREATE TABLE g (ts TIMESTAMP, WATERMARK FOR ts AS ts)",
     "CREATE TABLE g (ts TIMESTAMP(3), WATERMARK FOR ts AS ts);"},
    {"create view v as select a from t", "CREATE VIEW v AS SELECT a FROM t;"},
    {"INSERT INTO sink SELECT * FROM v", "INSERT INTO sink SELECT * FROM v;"},
    {"insert into `Sink` with x as (select 1) select * from x",
     "INSERT INTO `Sink` WITH x AS (SELECT 1) SELECT * FROM x;"},
    /* scripts and comments */
    {"-- comment\nCREATE VIEW v AS SELECT 1; /* block\n comment */ SELECT * FROM v;;",
     "CREATE VIEW v AS SELECT 1;\nSELECT * FROM v;"},
    {"", ""},
    {" ; ; -- nothing", ""},
    {"SELECT 1--x\n+2", "SELECT 1 + 2;"},
    {"SELECT a/**/FROM/**/t", "SELECT a FROM t;"},
    /* OVER windows and the WINDOW clause */
    {"select sum(v) over (partition by k, j order by ts rows 3 preceding), count(*) over () from t",
     "SELECT SUM(v) OVER (PARTITION BY k, j ORDER BY ts ROWS BETWEEN 3 PRECEDING AND CURRENT ROW), "
     "COUNT(*) OVER () FROM t;"},
    {"select max(v) over (order by ts range between interval '1' hour preceding and current row) from t",
     "SELECT MAX(v) OVER (ORDER BY ts RANGE BETWEEN INTERVAL '1' HOUR PRECEDING AND CURRENT ROW) FROM t;"},
    {"select row_number() over (partition by k order by v desc, ts) as rn from t",
     "SELECT ROW_NUMBER() OVER (PARTITION BY k ORDER BY v DESC, ts) AS rn FROM t;"},
    {"select avg(v) over w, min(v) over w from t window w as (order by ts range unbounded preceding)",
     "SELECT AVG(v) OVER w, MIN(v) OVER w FROM t WINDOW w AS (ORDER BY ts RANGE BETWEEN UNBOUNDED "
     "PRECEDING AND CURRENT ROW);"},
    {"select window from t window", "SELECT window FROM t AS window;"},
    {"select avg(v) over w from t window w as (order by ts rows between current row and current row), "
     "w2 as (partition by k)",
     "SELECT AVG(v) OVER w FROM t WINDOW w AS (ORDER BY ts ROWS BETWEEN CURRENT ROW AND CURRENT ROW), "
     "w2 AS (PARTITION BY k);"},
};

static void test_canonical(void)
{
    for (size_t i = 0; i < sizeof canon / sizeof canon[0]; i++) {
        tide_sql_error err;
        const char *got = roundtrip(canon[i].in, &err);
        TT_ASSERT_MSG(err.code == 0, "case %zu: %s:%u:%u: %s", i, err.file, err.line, err.col,
                      err.msg);
        TT_ASSERT_MSG(strcmp(got, canon[i].want) == 0, "case %zu:\n got  %s\n want %s", i, got,
                      canon[i].want);
        /* the canonical text is a fixed point */
        char again_in[sizeof printed];
        snprintf(again_in, sizeof again_in, "%s", got);
        got = roundtrip(again_in, &err);
        TT_ASSERT_MSG(err.code == 0 && strcmp(got, canon[i].want) == 0, "case %zu reprint: %s", i,
                      got);
    }
}

/* ---- errors: position and message ----------------------------------- */

static const struct {
    const char *in;
    unsigned line, col;
    const char *msg;
} errors[] = {
    {"SELECT INTERVAL '3650' DAY(3)", 1, 28, "interval value of 4 digits exceeds the precision 3 of its unit"},
    {"SELECT INTERVAL '1' DAY(0)", 1, 25, "expected an interval precision (1 to 18), found '0'"},
    {"SELECT INTERVAL '1' DAY(2", 1, 26, "expected ')' after the interval precision, found end of input"},
    {"SELECT COUNT(x FROM t", 1, 16, "expected ')' after function arguments, found 'FROM'"},
    {"SELECT a FROM", 1, 14, "expected a table name, '(' or TABLE(...), found end of input"},
    {"SELECT 'abc", 1, 8, "unterminated string literal"},
    {"SELECT `abc", 1, 8, "unterminated quoted identifier"},
    {"SELECT \"\"", 1, 8, "empty quoted identifier"},
    {"SELECT 1 /* x", 1, 10, "unterminated comment"},
    {"SELECT a # b", 1, 10, "unexpected character '#'"},
    {"SELECT a | b", 1, 10, "unexpected character '|'"},
    {"SELECT a \001 b", 1, 10, "unexpected character (byte 0x01)"},
    {"SELECT 12abc", 1, 8, "invalid number"},
    {"SELECT a FROM t WHERE", 1, 22, "expected an expression, found end of input"},
    {"SELECT a FROM t GROUP a", 1, 23, "expected BY after GROUP, found 'a'"},
    {"SELECT FROM t", 1, 8, "expected an expression, found 'FROM'"},
    {"SELECT a b c FROM t", 1, 12, "expected ';' or end of input after the statement, found 'c'"},
    {"DROP TABLE t", 1, 1, "expected a statement (CREATE, INSERT, SELECT, WITH or SET), found 'DROP'"},
    {"CREATE INDEX i", 1, 8, "expected TABLE or VIEW after CREATE, found 'INDEX'"},
    {"CREATE TABLE t (a MONEY)", 1, 19,
     "expected a type (BOOLEAN, BIGINT, DOUBLE, DECIMAL(p, s), STRING, VARCHAR or TIMESTAMP(3)), found 'MONEY'"},
    {"CREATE TABLE t (ts TIMESTAMP(6))", 1, 30, "only TIMESTAMP(3) (milliseconds) is supported"},
    {"CREATE TABLE t (a BIGINT, WATERMARK FOR a AS a, WATERMARK FOR a AS a)", 1, 49,
     "only one WATERMARK per table"},
    {"CREATE TABLE t (a BIGINT) WITH ('k' = 'v', 'k' = 'w')", 1, 44, "duplicate option 'k'"},
    {"CREATE TABLE t (a BIGINT) WITH (connector = 'x')", 1, 33,
     "expected an option name in quotes, found 'connector'"},
    {"CREATE TABLE t (a BIGINT) WITH ('connector' = file)", 1, 47,
     "expected an option value in quotes, found 'file'"},
    {"CREATE TABLE t (a BIGINT", 1, 25,
     "expected ',' or ')' in the column list, found end of input"},
    {"CREATE TABLE t (select BIGINT)", 1, 17,
     "expected a column name or WATERMARK, found 'select'"},
    {"SELECT * FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts)))", 1, 51,
     "too few arguments to TUMBLE: expected a size (and an optional offset) after DESCRIPTOR"},
    {"SELECT * FROM TABLE(HOP(TABLE t, DESCRIPTOR(ts),\n INTERVAL '1' DAY))", 2, 18,
     "too few arguments to HOP: expected a slide and a size (and an optional offset) after "
     "DESCRIPTOR"},
    {"SELECT * FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '1' DAY, INTERVAL '1' HOUR,\n  "
     "INTERVAL '1' DAY))",
     2, 3,
     "too many arguments to TUMBLE: expected a size (and an optional offset) after DESCRIPTOR"},
    {"SELECT * FROM TABLE(TUMBLE(TABLE t PARTITION BY k, DESCRIPTOR(ts), INTERVAL '1' DAY))", 1, 36,
     "PARTITION BY is only allowed in SESSION windows"},
    {"SELECT * FROM TABLE(WINDOW(TABLE t))", 1, 21,
     "expected a window function (TUMBLE, HOP, CUMULATE or SESSION), found 'WINDOW'"},
    {"SELECT * FROM TABLE(TUMBLE(t, DESCRIPTOR(ts), INTERVAL '1' DAY))", 1, 28,
     "expected TABLE <name> as the first argument of TUMBLE, found 't'"},
    {"SELECT * FROM TABLE(TUMBLE(TABLE t, ts, INTERVAL '1' DAY))", 1, 37,
     "expected DESCRIPTOR(<time column>), found 'ts'"},
    {"SELECT INTERVAL '1.5' DAY", 1, 23, "a fractional interval must be in SECOND (INTERVAL '1.5' SECOND)"},
    {"SELECT INTERVAL '1e3' DAY", 1, 17, "invalid interval value '1e3' (expected a whole number)"},
    {"SELECT INTERVAL '1' WEEK", 1, 21,
     "expected a time unit (SECOND, MINUTE, HOUR, DAY, MONTH or YEAR) after the interval value, "
     "found 'WEEK'"},
    {"SELECT INTERVAL x", 1, 17, "expected a quoted number after INTERVAL, found 'x'"},
    {"SELECT a FROM t GROUP BY a EMIT", 1, 32,
     "expected EARLY EVERY, ALLOW LATENESS or an accumulation mode after EMIT, found end of input"},
    {"SELECT a FROM t GROUP BY a EMIT EARLY EVERY 0 ROWS", 1, 45,
     "EARLY EVERY n ROWS needs a row count n > 0"},
    {"SELECT a FROM t GROUP BY a EMIT ACCUMULATING RETRACTING", 1, 46,
     "duplicate accumulation mode in EMIT clause"},
    {"SELECT a FROM t GROUP BY a EMIT EARLY EVERY INTERVAL '1' MINUTE EARLY EVERY 5 ROWS", 1, 65,
     "duplicate EARLY in EMIT clause"},
    {"SELECT a FROM t GROUP BY a EMIT EARLY EVERY 5", 1, 46,
     "expected ROWS after the row count, found end of input"},
    {"SELECT a FROM t GROUP BY a EMIT MODE FAST", 1, 38,
     "expected ACCUMULATING, DISCARDING or RETRACTING after MODE, found 'FAST'"},
    {"SELECT a FROM t GROUP BY a EMIT ALLOW LATENESS '1' HOUR", 1, 48,
     "expected INTERVAL after ALLOW LATENESS, found string '1'"},
    {"SELECT (SELECT 1)", 1, 9, "subqueries in expressions are not supported"},
    {"SELECT a FROM t WHERE EXISTS SELECT 1", 1, 30, "expected '(' after EXISTS, found 'SELECT'"},
    {"SELECT a FROM t WHERE a IN (SELECT b FROM u", 1, 44, "expected ')' after the IN subquery, found end of input"},
    {"SELECT COUNT(*) OVER (ORDER BY ts ROWS 1 FOLLOWING) FROM t", 1, 42,
     "FOLLOWING is not supported: a frame ends at the current row"},
    {"SELECT COUNT(*) OVER (ORDER BY ts ROWS BETWEEN UNBOUNDED FOLLOWING AND CURRENT ROW) FROM t", 1, 58,
     "expected PRECEDING after UNBOUNDED, found 'FOLLOWING'"},
    {"SELECT a FROM t INTERSECT SELECT a FROM u", 1, 17, "INTERSECT and EXCEPT are not supported"},
    {"SELECT a FROM t JOIN u", 1, 23, "expected ON after the joined table, found end of input"},
    {"SELECT a FROM t INNER u", 1, 23, "expected JOIN after INNER, found 'u'"},
    {"SELECT a.b.c FROM t", 1, 11, "too many name parts (expected column or table.column)"},
    {"SELECT a FROM db.t", 1, 17, "qualified table names (catalog.db.table) are not supported"},
    {"SELECT 1 + a.* FROM t", 1, 14, "expected a column name after '.', found '*'"},
    {"SELECT a.* + 1 FROM t", 1, 12, "expected ';' or end of input after the statement, found '+'"},
    {"SELECT CASE END", 1, 13, "expected an expression, found 'END'"},
    {"SELECT CASE a END", 1, 15, "expected WHEN in CASE, found 'END'"},
    {"SELECT CASE WHEN a THEN b", 1, 26, "expected END to close CASE, found end of input"},
    {"SELECT CASE WHEN a b END", 1, 20, "expected THEN after WHEN condition, found 'b'"},
    {"SELECT CAST(a AS)", 1, 17,
     "expected a type (BOOLEAN, BIGINT, DOUBLE, DECIMAL(p, s), STRING, VARCHAR or TIMESTAMP(3)), found ')'"},
    {"SELECT CAST(a, STRING)", 1, 14, "expected AS in CAST, found ','"},
    {"SELECT a IS b", 1, 13, "expected NULL, NOT NULL or DISTINCT FROM after IS, found 'b'"},
    {"SELECT a IS DISTINCT b", 1, 22, "expected FROM after IS DISTINCT, found 'b'"},
    {"SELECT a BETWEEN 1 OR 2", 1, 20, "expected AND in BETWEEN, found 'OR'"},
    {"SELECT a IN 1", 1, 13, "expected '(' after IN, found '1'"},
    {"SELECT (a + b", 1, 14, "expected ')' to close '(', found end of input"},
    {"SELECT FLOOR(ts TO FORTNIGHT)", 1, 20,
     "expected a time unit (MILLISECOND, SECOND, MINUTE, HOUR, DAY, WEEK, MONTH, QUARTER, YEAR, DOW or DOY) after "
     "TO, found 'FORTNIGHT'"},
    {"SELECT EXTRACT(HOUR ts)", 1, 21, "expected FROM after the time unit, found 'ts'"},
    {"SELECT TIMESTAMPADD(DAYS 1, ts)", 1, 26, "expected ',' after the time unit, found '1'"},
    {"SELECT TIME '10:00:00'", 1, 8, "TIME literals are not supported (tide has no TIME type; use a TIMESTAMP)"},
    {"SELECT INTERVAL '1.5' MINUTE", 1, 23, "a fractional interval must be in SECOND (INTERVAL '1.5' SECOND)"},
    {"SELECT a FROM t GROUP BY GROUPING SETS (ROLLUP(a))", 1, 41,
     "ROLLUP, CUBE and GROUPING SETS inside GROUPING SETS are not supported"},
    {"SELECT a FROM t GROUP BY GROUPING SETS a", 1, 40, "expected '(' after GROUPING SETS, found 'a'"},
    {"SELECT INTERVAL '0.0001' SECOND", 1, 17,
     "interval '0.0001' is finer than a millisecond (tide counts time in milliseconds)"},
    {"SELECT INTERVAL '1.x' SECOND", 1, 17, "invalid interval value '1.x' (expected a number)"},
    {"CREATE TABLE t (price DECIMAL(40, 2))", 1, 31, "DECIMAL precision must be 1 to 38, found 40"},
    {"CREATE TABLE t (price DECIMAL(10, 11))", 1, 35, "DECIMAL scale must be 0 to the precision (10), found 11"},
    {"CREATE TABLE t (price DECIMAL(10, 2)", 1, 37, "expected ',' or ')' in the column list, found end of input"},
    {"SELECT a,\n       b\nFROM t\nWHERE c = = 1", 4, 11, "expected an expression, found '='"},
    {"SELECT 1;\nSELECT 'x", 2, 8, "unterminated string literal"},
    {"INSERT sink SELECT 1", 1, 8, "expected INTO after INSERT, found 'sink'"},
    {"INSERT INTO sink VALUES (1)", 1, 18, "expected SELECT, found 'VALUES'"},
    {"SELECT a FROM t LIMIT x", 1, 23, "expected a row count after LIMIT, found 'x'"},
    {"SELECT 99999999999999999999", 1, 8, "integer literal out of range"},
    {"SELECT a AS FROM t", 1, 13, "expected an alias after AS, found 'FROM'"},
    {"WITH x (SELECT 1) SELECT 1", 1, 8, "expected AS after the WITH query's name, found '('"},
    {"CREATE VIEW v SELECT 1", 1, 15, "expected AS after the view name, found 'SELECT'"},
    {"SELECT 'a very long string literal that goes on and on' FROM", 1, 61,
     "expected a table name, '(' or TABLE(...), found end of input"},
    {"SELECT a FROM t 'a very long string literal that goes on and on'", 1, 17,
     "expected ';' or end of input after the statement, found string 'a very long string literal "
     "that goes..."},
    {"SELECT é FROM t WHERE x = = 1", 1, 27, "expected an expression, found '='"},
};

static void test_errors(void)
{
    for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++) {
        tide_sql_error err;
        tide_sql_script *s = (tide_sql_script *)1;
        int rc = tide_sql_parse("t.sql", errors[i].in, strlen(errors[i].in), &s, &err);
        TT_ASSERT_MSG(rc == TIDE_EPARSE && s == NULL, "case %zu: parsed (%d)", i, rc);
        TT_ASSERT_MSG(err.code == TIDE_EPARSE, "case %zu", i);
        TT_ASSERT_MSG(err.line == errors[i].line && err.col == errors[i].col,
                      "case %zu: at %u:%u, want %u:%u (%s)", i, err.line, err.col, errors[i].line,
                      errors[i].col, err.msg);
        TT_ASSERT_MSG(strcmp(err.msg, errors[i].msg) == 0, "case %zu:\n got  %s\n want %s", i,
                      err.msg, errors[i].msg);
        TT_ASSERT_EQ_STR(err.file, "t.sql");
    }
}

/* ---- caret rendering ------------------------------------------------ */

static void expect_render(const char *file, const char *sql, const char *want)
{
    tide_sql_error err;
    tide_sql_script *s;
    tide_buf out = {0};
    TT_ASSERT(tide_sql_parse(file, sql, strlen(sql), &s, &err) == TIDE_EPARSE);
    TT_OK(tide_sql_error_render(&err, sql, strlen(sql), &out));
    TT_OK(tide_buf_putc(&out, '\0'));
    TT_ASSERT_MSG(strcmp((char *)out.data, want) == 0, "\n got:\n%s want:\n%s", (char *)out.data,
                  want);
    tide_buf_free(&out);
}

static void test_render(void)
{
    expect_render("q.sql", "SELECT COUNT(x FROM t",
                  "q.sql:1:16: expected ')' after function arguments, found 'FROM'\n"
                  "  SELECT COUNT(x FROM t\n"
                  "                 ^\n");
    /* a tab in the line is kept in the caret line so they line up */
    expect_render("in.sql", "SELECT a,\n\tb FROM t WHERE",
                  "in.sql:2:16: expected an expression, found end of input\n"
                  "  \tb FROM t WHERE\n"
                  "  \t              ^\n");
    /* a multi-byte character counts as one column */
    expect_render("u.sql", "SELECT 'é' # x",
                  "u.sql:1:12: unexpected character '#'\n"
                  "  SELECT 'é' # x\n"
                  "             ^\n");
    /* CRLF line ends; an error at the end of input on the last line */
    expect_render("w.sql", "SELECT a\r\nFROM",
                  "w.sql:2:5: expected a table name, '(' or TABLE(...), found end of input\n"
                  "  FROM\n"
                  "      ^\n");
    /* the middle line of three; control characters show as '?' */
    expect_render("m.sql", "SELECT 1;\nSELECT \002 x;\nSELECT 3",
                  "m.sql:2:8: unexpected character (byte 0x02)\n"
                  "  SELECT ? x;\n"
                  "         ^\n");
    expect_render(NULL, "x",
                  "<input>:1:1: expected a statement (CREATE, INSERT, SELECT, WITH or SET), found 'x'\n"
                  "  x\n"
                  "  ^\n");
    /* and as a tide_err */
    tide_sql_error err;
    tide_sql_script *s;
    tide_err e = {0};
    TT_ASSERT(tide_sql_parse("j.sql", "SELECT\n  1 +", 12, &s, &err) == TIDE_EPARSE);
    TT_ASSERT_EQ_INT(tide_sql_error_to_err(&err, &e), TIDE_EPARSE);
    TT_ASSERT_EQ_STR(e.msg, "j.sql:2:6: expected an expression, found end of input");
}

/* ---- the tree itself ------------------------------------------------ */

static void test_tree_positions(void)
{
    const char *sql = "SELECT a +\n  b AS s FROM t";
    tide_sql_script *s = parse_ok(sql);
    TT_ASSERT(s && s->nstmts == 1);
    const tide_sql_stmt *st = s->stmts[0];
    TT_ASSERT_EQ_INT(st->kind, TIDE_SQL_STMT_QUERY);
    TT_ASSERT_EQ_INT(st->pos.off, 0);
    TT_ASSERT_EQ_INT(st->pos.len, strlen(sql));
    const tide_sql_select *sel = st->u.query->u.select;
    TT_ASSERT_EQ_INT(sel->nitems, 1);
    const tide_sql_expr *e = sel->items[0].expr;
    TT_ASSERT_EQ_INT(e->kind, TIDE_SQL_EXPR_BINARY);
    TT_ASSERT_EQ_INT(e->u.binary.op, TIDE_SQL_OP_ADD);
    TT_ASSERT(e->pos.line == 1 && e->pos.col == 8 && e->pos.off == 7 && e->pos.len == 7);
    const tide_sql_expr *b = e->u.binary.right;
    TT_ASSERT(b->kind == TIDE_SQL_EXPR_COLUMN && b->pos.line == 2 && b->pos.col == 3 &&
              b->pos.off == 13);
    TT_ASSERT_EQ_STR(b->u.column.name.str, "b");
    TT_ASSERT(sel->items[0].alias.pos.line == 2 && sel->items[0].alias.pos.col == 8);
    TT_ASSERT(sel->from->kind == TIDE_SQL_FROM_TABLE && sel->from->pos.line == 2 &&
              sel->from->pos.col == 15);
    TT_ASSERT_EQ_INT(e->height, 2);
    tide_sql_script_free(s);
}

static void test_tree_create_table(void)
{
    tide_sql_script *s = parse_ok("CREATE TABLE Logins (ts TIMESTAMP(3), `User` BIGINT NOT NULL, c "
                                  "VARCHAR(7), d AS ts + INTERVAL '1' DAY,\n"
                                  " WATERMARK FOR ts AS ts - INTERVAL '5' SECOND) WITH "
                                  "('connector' = 'file', 'path' = 'it''s.csv');\n"
                                  "CREATE VIEW v AS SELECT 1; INSERT INTO out SELECT * FROM v");
    TT_ASSERT(s && s->nstmts == 3);
    const tide_sql_create_table *ct = &s->stmts[0]->u.create_table;
    TT_ASSERT_EQ_INT(s->stmts[0]->kind, TIDE_SQL_STMT_CREATE_TABLE);
    TT_ASSERT_EQ_STR(ct->name.str, "logins");
    TT_ASSERT(!ct->name.quoted && !ct->if_not_exists);
    TT_ASSERT_EQ_INT(ct->ncolumns, 4);
    TT_ASSERT_EQ_INT(ct->columns[0].type.type, TIDE_TYPE_TIMESTAMP);
    TT_ASSERT_EQ_STR(ct->columns[1].name.str, "User");
    TT_ASSERT(ct->columns[1].name.quoted && ct->columns[1].not_null);
    TT_ASSERT_EQ_INT(ct->columns[1].type.type, TIDE_TYPE_BIGINT);
    TT_ASSERT(ct->columns[2].type.type == TIDE_TYPE_STRING && ct->columns[2].type.length == 7);
    TT_ASSERT(ct->columns[3].computed && ct->columns[3].computed->kind == TIDE_SQL_EXPR_BINARY);
    TT_ASSERT_EQ_STR(ct->watermark_col.str, "ts");
    const tide_sql_expr *wm = ct->watermark;
    TT_ASSERT(wm->kind == TIDE_SQL_EXPR_BINARY && wm->u.binary.op == TIDE_SQL_OP_SUB);
    TT_ASSERT(wm->u.binary.right->kind == TIDE_SQL_EXPR_INTERVAL);
    TT_ASSERT_EQ_INT(wm->u.binary.right->u.interval.count, 5);
    TT_ASSERT_EQ_INT(wm->u.binary.right->u.interval.unit, TIDE_SQL_UNIT_SECOND);
    TT_ASSERT_EQ_INT(wm->pos.line, 2);
    TT_ASSERT_EQ_INT(wm->pos.col, 22);
    TT_ASSERT_EQ_INT(ct->noptions, 2);
    TT_ASSERT_EQ_STR(ct->options[0].key, "connector");
    TT_ASSERT_EQ_STR(ct->options[0].value, "file");
    TT_ASSERT_EQ_STR(ct->options[1].value, "it's.csv");
    TT_ASSERT_EQ_INT(ct->options[1].value_len, 8);
    TT_ASSERT_EQ_INT(s->stmts[1]->kind, TIDE_SQL_STMT_CREATE_VIEW);
    TT_ASSERT_EQ_STR(s->stmts[1]->u.create_view.name.str, "v");
    TT_ASSERT_EQ_INT(s->stmts[2]->kind, TIDE_SQL_STMT_INSERT);
    TT_ASSERT_EQ_STR(s->stmts[2]->u.insert.table.str, "out");
    TT_ASSERT_EQ_INT(s->stmts[2]->pos.line, 3);
    TT_ASSERT_EQ_INT(s->stmts[2]->pos.col, 28);
    tide_sql_script_free(s);
}

static void test_tree_window_emit(void)
{
    tide_sql_script *s = parse_ok("SELECT COUNT(DISTINCT user_id) FROM TABLE(HOP(TABLE logins, "
                                  "DESCRIPTOR(ts), INTERVAL '1' DAY, "
                                  "INTERVAL '30' DAY)) AS w GROUP BY window_end EMIT EARLY EVERY "
                                  "500 ROWS ALLOW LATENESS INTERVAL '2' HOUR "
                                  "DISCARDING");
    TT_ASSERT(s);
    const tide_sql_select *sel = s->stmts[0]->u.query->u.select;
    const tide_sql_expr *cnt = sel->items[0].expr;
    TT_ASSERT(cnt->kind == TIDE_SQL_EXPR_CALL && cnt->u.call.distinct && cnt->u.call.nargs == 1);
    TT_ASSERT_EQ_STR(cnt->u.call.name.str, "count");
    const tide_sql_from *f = sel->from;
    TT_ASSERT_EQ_INT(f->kind, TIDE_SQL_FROM_WINDOW);
    TT_ASSERT_EQ_INT(f->u.window.kind, TIDE_SQL_WINDOW_HOP);
    TT_ASSERT_EQ_STR(f->alias.str, "w");
    TT_ASSERT_EQ_STR(f->u.window.time_col.str, "ts");
    TT_ASSERT(f->u.window.input->kind == TIDE_SQL_FROM_TABLE);
    TT_ASSERT_EQ_STR(f->u.window.input->u.table.name.str, "logins");
    TT_ASSERT_EQ_INT(f->u.window.nargs, 2);
    TT_ASSERT_EQ_INT(f->u.window.args[0]->u.interval.count, 1);
    TT_ASSERT_EQ_INT(f->u.window.args[1]->u.interval.count, 30);
    TT_ASSERT_EQ_INT(f->u.window.args[1]->u.interval.unit, TIDE_SQL_UNIT_DAY);
    TT_ASSERT_EQ_INT(f->u.window.npartition, 0);
    const tide_sql_emit *em = sel->emit;
    TT_ASSERT(em && em->early_rows == 500 && em->early_interval == NULL);
    TT_ASSERT(em->lateness && em->lateness->u.interval.count == 2 &&
              em->lateness->u.interval.unit == TIDE_SQL_UNIT_HOUR);
    TT_ASSERT_EQ_INT(em->mode, TIDE_SQL_ACC_DISCARDING);
    tide_sql_script_free(s);

    s = parse_ok("SELECT 1 FROM TABLE(SESSION(TABLE t PARTITION BY (a, `B`), DESCRIPTOR(ts), "
                 "INTERVAL '9' MINUTE))");
    TT_ASSERT(s);
    f = s->stmts[0]->u.query->u.select->from;
    TT_ASSERT_EQ_INT(f->u.window.kind, TIDE_SQL_WINDOW_SESSION);
    TT_ASSERT_EQ_INT(f->u.window.npartition, 2);
    TT_ASSERT_EQ_STR(f->u.window.partition_by[1]->u.column.name.str, "B");
    TT_ASSERT(s->stmts[0]->u.query->u.select->emit == NULL);
    tide_sql_script_free(s);
}

static void test_tree_literals(void)
{
    tide_sql_script *s =
        parse_ok("SELECT -9223372036854775808, 2.5E-3, 'a''b', TRUE, NULL, INTERVAL '-7' MINUTE, "
                 "TIMESTAMP '2024-01-01 00:00:00.000', x.y");
    TT_ASSERT(s);
    const tide_sql_select *sel = s->stmts[0]->u.query->u.select;
    TT_ASSERT_EQ_INT(sel->nitems, 8);
    TT_ASSERT(sel->items[0].expr->kind == TIDE_SQL_EXPR_INT &&
              sel->items[0].expr->u.i64 == INT64_MIN);
    TT_ASSERT(sel->items[1].expr->kind == TIDE_SQL_EXPR_DECIMAL &&
              sel->items[1].expr->u.dec.value == 2.5e-3);
    TT_ASSERT_EQ_STR(sel->items[1].expr->u.dec.text, "2.5E-3");
    TT_ASSERT_EQ_STR(sel->items[2].expr->u.str.str, "a'b");
    TT_ASSERT_EQ_INT(sel->items[2].expr->u.str.len, 3);
    TT_ASSERT(sel->items[3].expr->kind == TIDE_SQL_EXPR_BOOL && sel->items[3].expr->u.b);
    TT_ASSERT_EQ_INT(sel->items[4].expr->kind, TIDE_SQL_EXPR_NULL);
    TT_ASSERT_EQ_INT(sel->items[5].expr->u.interval.count, -7);
    TT_ASSERT_EQ_INT(sel->items[6].expr->kind, TIDE_SQL_EXPR_TIMESTAMP);
    TT_ASSERT_EQ_STR(sel->items[6].expr->u.str.str, "2024-01-01 00:00:00.000");
    TT_ASSERT_EQ_STR(sel->items[7].expr->u.column.qualifier.str, "x");
    TT_ASSERT_EQ_STR(sel->items[7].expr->u.column.name.str, "y");
    tide_sql_script_free(s);
}

/* ---- limits --------------------------------------------------------- */

static char *repeat3(const char *pre, const char *mid, int n, const char *post)
{
    size_t lp = strlen(pre), lm = strlen(mid), lq = strlen(post);
    char *buf = malloc(lp + lm * (size_t)n * 2 + lq + 64);
    char *w = buf;
    memcpy(w, pre, lp);
    w += lp;
    for (int i = 0; i < n; i++, w += lm)
        memcpy(w, mid, lm);
    *w = '\0';
    return buf; /* caller appends */
}

static int depth_case(const char *open, const char *atom, const char *close, int n,
                      tide_sql_error *err)
{
    char *sql = repeat3("SELECT ", open, n, "");
    strcat(sql, atom);
    size_t lc = strlen(close), len = strlen(sql);
    char *big = realloc(sql, len + lc * (size_t)n + 1);
    for (int i = 0; i < n; i++, len += lc)
        memcpy(big + len, close, lc);
    big[len] = '\0';
    tide_sql_script *s;
    int rc = tide_sql_parse("d.sql", big, len, &s, err);
    if (rc == 0) {
        tide_buf out = {0};
        rc = tide_sql_print_script(s, &out); /* the printer copes too */
        tide_buf_free(&out);
        tide_sql_script_free(s);
    }
    free(big);
    return rc;
}

static void test_depth_limits(void)
{
    tide_sql_error err;
    TT_OK(depth_case("(", "1", ")", 150, &err));
    TT_ASSERT_EQ_INT(depth_case("(", "1", ")", 100000, &err), TIDE_EPARSE);
    TT_ASSERT_EQ_STR(err.msg, "expression nested too deeply (more than 200 levels)");
    TT_OK(depth_case("- ", "1", "", 150, &err));
    TT_ASSERT_EQ_INT(depth_case("- ", "1", "", 5000, &err), TIDE_EPARSE);
    TT_ASSERT_EQ_STR(err.msg, "expression nested too deeply (more than 200 levels)");
    TT_ASSERT_EQ_INT(depth_case("NOT ", "1", "", 5000, &err), TIDE_EPARSE);
    TT_ASSERT_EQ_INT(depth_case("f(", "1", ")", 5000, &err), TIDE_EPARSE);
    TT_ASSERT_EQ_STR(err.msg, "expression nested too deeply (more than 200 levels)");
    TT_ASSERT_EQ_INT(depth_case("CASE WHEN ", "1", " THEN 1 END", 5000, &err), TIDE_EPARSE);
    TT_ASSERT_EQ_INT(depth_case("CAST(", "1", " AS BIGINT)", 5000, &err), TIDE_EPARSE);
    TT_OK(depth_case("* FROM (SELECT ", "1", ")", 100, &err));
    TT_ASSERT_EQ_INT(depth_case("* FROM (SELECT ", "1", ")", 5000, &err), TIDE_EPARSE);
    TT_ASSERT_EQ_STR(err.msg, "query nested too deeply (more than 200 levels)");
    TT_ASSERT_EQ_INT(depth_case("* FROM TABLE(TUMBLE((SELECT ", "1",
                                "), DESCRIPTOR(ts), INTERVAL '1' DAY))", 5000, &err),
                     TIDE_EPARSE);
    /* long flat chains are bounded by the tree height instead */
    TT_OK(depth_case("1 + ", "1", "", 900, &err));
    TT_ASSERT_EQ_INT(depth_case("1 + ", "1", "", 100000, &err), TIDE_EPARSE);
    TT_ASSERT_EQ_STR(err.msg, "expression too complex (more than 1000 levels)");
    TT_ASSERT_EQ_INT(depth_case("1 UNION ALL SELECT ", "1", "", 5000, &err), TIDE_EPARSE);
    TT_ASSERT_EQ_STR(err.msg, "query too complex (more than 1000 levels)");
    TT_ASSERT_EQ_INT(depth_case("", "* FROM t", " JOIN t ON TRUE", 5000, &err), TIDE_EPARSE);
    TT_ASSERT_EQ_STR(err.msg, "query too complex (more than 1000 levels)");
    TT_OK(depth_case("", "* FROM t", " JOIN t ON TRUE", 500, &err));
    /* but wide lists are fine */
    TT_OK(depth_case("1, ", "1", "", 20000, &err));
}

/* ---- property tests against independent models ----------------------- */

/* Evaluate an integer/boolean expression tree (booleans as 0/1). */
static bool eval(const tide_sql_expr *e, int64_t *v)
{
    int64_t a, b, c;
    switch (e->kind) {
    case TIDE_SQL_EXPR_INT:
        *v = e->u.i64;
        return true;
    case TIDE_SQL_EXPR_BOOL:
        *v = e->u.b;
        return true;
    case TIDE_SQL_EXPR_UNARY:
        if (!eval(e->u.unary.arg, &a))
            return false;
        *v = e->u.unary.op == TIDE_SQL_OP_NEG   ? (int64_t)(0 - (uint64_t)a)
             : e->u.unary.op == TIDE_SQL_OP_NOT ? !a
                                                : a;
        return true;
    case TIDE_SQL_EXPR_BETWEEN:
        if (!eval(e->u.between.arg, &a) || !eval(e->u.between.low, &b) ||
            !eval(e->u.between.high, &c))
            return false;
        *v = (a >= b && a <= c) != e->u.between.negated;
        return true;
    case TIDE_SQL_EXPR_BINARY:
        if (!eval(e->u.binary.left, &a) || !eval(e->u.binary.right, &b))
            return false;
        switch (e->u.binary.op) {
        case TIDE_SQL_OP_ADD:
            *v = (int64_t)((uint64_t)a + (uint64_t)b);
            return true;
        case TIDE_SQL_OP_SUB:
            *v = (int64_t)((uint64_t)a - (uint64_t)b);
            return true;
        case TIDE_SQL_OP_MUL:
            *v = (int64_t)((uint64_t)a * (uint64_t)b);
            return true;
        case TIDE_SQL_OP_MOD:
            if (b == 0 || (b == -1 && a == INT64_MIN))
                return false;
            *v = a % b;
            return true;
        case TIDE_SQL_OP_EQ:
            *v = a == b;
            return true;
        case TIDE_SQL_OP_NE:
            *v = a != b;
            return true;
        case TIDE_SQL_OP_LT:
            *v = a < b;
            return true;
        case TIDE_SQL_OP_LE:
            *v = a <= b;
            return true;
        case TIDE_SQL_OP_GT:
            *v = a > b;
            return true;
        case TIDE_SQL_OP_GE:
            *v = a >= b;
            return true;
        case TIDE_SQL_OP_AND:
            *v = a && b;
            return true;
        case TIDE_SQL_OP_OR:
            *v = a || b;
            return true;
        default:
            return false;
        }
    default:
        return false;
    }
}

/* Parse "SELECT <expr>", evaluate; also print, reparse, evaluate again. */
static bool parse_eval(const char *expr, int64_t *v, int64_t *v2, char *canon_out, size_t cap)
{
    char sql[8192];
    snprintf(sql, sizeof sql, "SELECT %s", expr);
    tide_sql_script *s = parse_ok(sql);
    if (!s)
        return false;
    bool ok = eval(s->stmts[0]->u.query->u.select->items[0].expr, v);
    tide_buf out = {0};
    ok = ok && tide_sql_print_script(s, &out) == 0 && tide_buf_putc(&out, '\0') == 0;
    tide_sql_script_free(s);
    if (ok) {
        snprintf(canon_out, cap, "%s", (char *)out.data);
        s = parse_ok(canon_out);
        ok = s && eval(s->stmts[0]->u.query->u.select->items[0].expr, v2);
        tide_buf_reset(&out);
        if (ok) {
            /* printing is a fixed point */
            ok = tide_sql_print_script(s, &out) == 0 && tide_buf_putc(&out, '\0') == 0 &&
                 strcmp((char *)out.data, canon_out) == 0;
        }
        tide_sql_script_free(s);
    }
    tide_buf_free(&out);
    return ok;
}

/* A random fully parenthesized expression; returns its value (the model). */
static int64_t gen_int(uint64_t *rng, int depth, char *buf, size_t cap, size_t *w);
static int64_t gen_bool(uint64_t *rng, int depth, char *buf, size_t cap, size_t *w);

static void emit(char *buf, size_t cap, size_t *w, const char *s)
{
    size_t n = strlen(s);
    if (*w + n < cap) {
        memcpy(buf + *w, s, n + 1);
        *w += n;
    }
}

static int64_t gen_int(uint64_t *rng, int depth, char *buf, size_t cap, size_t *w)
{
    int k = depth <= 0 ? 0 : (int)(tt_rand(rng) % 5);
    if (k == 0) {
        char num[32];
        int64_t v = (int64_t)(tt_rand(rng) % 20);
        snprintf(num, sizeof num, "%lld", (long long)v);
        emit(buf, cap, w, num);
        return v;
    }
    if (k == 4) {
        emit(buf, cap, w, "(-");
        int64_t a = gen_int(rng, depth - 1, buf, cap, w);
        emit(buf, cap, w, ")");
        return (int64_t)(0 - (uint64_t)a);
    }
    static const char *ops[] = {" + ", " - ", " * "};
    emit(buf, cap, w, "(");
    int64_t a = gen_int(rng, depth - 1, buf, cap, w);
    emit(buf, cap, w, ops[k - 1]);
    int64_t b = gen_int(rng, depth - 1, buf, cap, w);
    emit(buf, cap, w, ")");
    uint64_t ua = (uint64_t)a, ub = (uint64_t)b;
    return (int64_t)(k == 1 ? ua + ub : k == 2 ? ua - ub : ua * ub);
}

static int64_t gen_bool(uint64_t *rng, int depth, char *buf, size_t cap, size_t *w)
{
    int k = depth <= 0 ? 0 : (int)(tt_rand(rng) % 6);
    if (k == 0 || k == 5) { /* comparison or BETWEEN of integers */
        emit(buf, cap, w, "(");
        int64_t a = gen_int(rng, depth - 1, buf, cap, w), b, c;
        if (k == 5) {
            emit(buf, cap, w, " BETWEEN ");
            b = gen_int(rng, depth - 1, buf, cap, w);
            emit(buf, cap, w, " AND ");
            c = gen_int(rng, depth - 1, buf, cap, w);
            emit(buf, cap, w, ")");
            return a >= b && a <= c;
        }
        static const char *ops[] = {" = ", " <> ", " < ", " <= ", " > ", " >= "};
        int op = (int)(tt_rand(rng) % 6);
        emit(buf, cap, w, ops[op]);
        b = gen_int(rng, depth - 1, buf, cap, w);
        emit(buf, cap, w, ")");
        switch (op) {
        case 0:
            return a == b;
        case 1:
            return a != b;
        case 2:
            return a < b;
        case 3:
            return a <= b;
        case 4:
            return a > b;
        default:
            return a >= b;
        }
    }
    if (k == 4) {
        emit(buf, cap, w, "(NOT ");
        int64_t a = gen_bool(rng, depth - 1, buf, cap, w);
        emit(buf, cap, w, ")");
        return !a;
    }
    emit(buf, cap, w, "(");
    int64_t a = gen_bool(rng, depth - 1, buf, cap, w);
    emit(buf, cap, w, k == 1 || k == 3 ? " AND " : " OR ");
    int64_t b = gen_bool(rng, depth - 1, buf, cap, w);
    emit(buf, cap, w, ")");
    return k == 1 || k == 3 ? (a && b) : (a || b);
}

static void test_property_parenthesized(void)
{
    uint64_t seed = tt_seed(0x5eed5eedULL), rng = seed;
    for (int iter = 0; iter < 3000; iter++) {
        char text[8192], canon_text[8192];
        size_t w = 0;
        text[0] = '\0';
        bool boolean = iter & 1;
        int64_t want = boolean ? gen_bool(&rng, 1 + (int)(tt_rand(&rng) % 5), text, sizeof text, &w)
                               : gen_int(&rng, 1 + (int)(tt_rand(&rng) % 6), text, sizeof text, &w);
        int64_t got = 0, got2 = 0;
        bool ok = parse_eval(text, &got, &got2, canon_text, sizeof canon_text);
        if (!ok || got != want || got2 != want) {
            TT_SEED(seed);
            TT_ASSERT_MSG(false, "iter %d: %s = %lld, parsed %lld, canonical %s = %lld", iter, text,
                          (long long)want, (long long)got, canon_text, (long long)got2);
        }
    }
}

/* Flat chains without parentheses: "NOT? a1 op a2 op ... cmp b1 op ... AND/OR ...".
 * The model evaluates with the textbook rule instead of a tree: unary minus
 * on literals, then * and % left to right, then + and - left to right, then
 * the comparison, then NOT, then AND before OR. */
typedef struct chain {
    int n;
    int64_t val[8];
    char op[8]; /* op[i] joins val[i-1] and val[i]: + - * % */
} chain;

static int64_t chain_value(const chain *c)
{
    /* pass 1: multiplicative runs collapse into terms */
    int64_t terms[8];
    char addop[8];
    int nt = 0;
    int64_t cur = c->val[0];
    for (int i = 1; i < c->n; i++) {
        if (c->op[i] == '*')
            cur *= c->val[i];
        else if (c->op[i] == '%')
            cur %= c->val[i];
        else {
            terms[nt] = cur;
            addop[nt++] = c->op[i];
            cur = c->val[i];
        }
    }
    /* pass 2: additive, left to right */
    int64_t acc = nt ? terms[0] : cur;
    for (int i = 0; i < nt; i++) {
        int64_t rhs = i + 1 < nt ? terms[i + 1] : cur;
        acc = addop[i] == '+' ? acc + rhs : acc - rhs;
    }
    return acc;
}

static void gen_chain(uint64_t *rng, chain *c, char *buf, size_t cap, size_t *w)
{
    static const char ops[] = "+-*%";
    c->n = 1 + (int)(tt_rand(rng) % 6);
    for (int i = 0; i < c->n; i++) {
        char num[32];
        c->op[i] = i ? ops[tt_rand(rng) % 4] : 0;
        int64_t v = 1 + (int64_t)(tt_rand(rng) % 9);
        bool neg = tt_rand(rng) % 4 == 0;
        if (i) {
            snprintf(num, sizeof num, " %c ", c->op[i]);
            emit(buf, cap, w, num);
        }
        snprintf(num, sizeof num, "%s%lld", neg ? "-" : "", (long long)v);
        emit(buf, cap, w, num);
        c->val[i] = neg ? -v : v;
    }
}

static void test_property_precedence(void)
{
    uint64_t seed = tt_seed(0xC0FFEEULL), rng = seed;
    for (int iter = 0; iter < 3000; iter++) {
        char text[4096], canon_text[8192];
        size_t w = 0;
        text[0] = '\0';
        int nconj = 1 + (int)(tt_rand(&rng) % 4);
        bool conj[4]; /* value of each comparison (after NOT) */
        bool is_and[4];
        for (int k = 0; k < nconj; k++) {
            chain a, b;
            is_and[k] = tt_rand(&rng) & 1;
            if (k)
                emit(text, sizeof text, &w, is_and[k] ? " AND " : " OR ");
            bool not_ = tt_rand(&rng) % 3 == 0;
            if (not_)
                emit(text, sizeof text, &w, "NOT ");
            gen_chain(&rng, &a, text, sizeof text, &w);
            static const char *cmps[] = {" = ", " < ", " >= "};
            int cmp = (int)(tt_rand(&rng) % 3);
            emit(text, sizeof text, &w, cmps[cmp]);
            gen_chain(&rng, &b, text, sizeof text, &w);
            int64_t va = chain_value(&a), vb = chain_value(&b);
            bool r = cmp == 0 ? va == vb : cmp == 1 ? va < vb : va >= vb;
            conj[k] = not_ ? !r : r;
        }
        /* AND before OR: split into OR-separated groups of ANDs */
        bool any = false, group = conj[0];
        for (int k = 1; k < nconj; k++) {
            if (is_and[k]) {
                group = group && conj[k];
            } else {
                any = any || group;
                group = conj[k];
            }
        }
        int64_t want = any || group;
        int64_t got = -1, got2 = -1;
        bool ok = parse_eval(text, &got, &got2, canon_text, sizeof canon_text);
        if (!ok || got != want || got2 != want) {
            TT_SEED(seed);
            TT_ASSERT_MSG(false, "iter %d: %s = %lld, parsed %lld, canonical %s = %lld", iter, text,
                          (long long)want, (long long)got, canon_text, (long long)got2);
        }
    }
}

/* Every prefix of valid scripts fails cleanly or parses; never crashes. */
static void test_prefixes(void)
{
    for (size_t i = 0; i < sizeof canon / sizeof canon[0]; i++) {
        const char *sql = canon[i].in;
        size_t len = strlen(sql);
        for (size_t n = 0; n <= len; n++) {
            tide_sql_error err;
            tide_sql_script *s;
            int rc = tide_sql_parse("p.sql", sql, n, &s, &err);
            TT_ASSERT(rc == 0 || rc == TIDE_EPARSE);
            if (rc == 0) {
                tide_sql_script_free(s);
            } else {
                TT_ASSERT(err.line >= 1 && err.col >= 1 && err.off <= n && err.msg[0]);
                tide_buf out = {0};
                TT_OK(tide_sql_error_render(&err, sql, n, &out));
                tide_buf_free(&out);
            }
        }
    }
}

int main(void)
{
    TT_RUN(test_keywords);
    TT_RUN(test_tokens);
    TT_RUN(test_canonical);
    TT_RUN(test_errors);
    TT_RUN(test_render);
    TT_RUN(test_tree_positions);
    TT_RUN(test_tree_create_table);
    TT_RUN(test_tree_window_emit);
    TT_RUN(test_tree_literals);
    TT_RUN(test_depth_limits);
    TT_RUN(test_property_parenthesized);
    TT_RUN(test_property_precedence);
    TT_RUN(test_prefixes);
    TT_DONE();
}
