#!/bin/bash
# `tide run` end to end on a fixed CSV of logins, checked against sqlite3
# over the same file: daily active users (TUMBLE 1 day), a HOP (1 day
# slide, 3 days size) COUNT(DISTINCT), a WHERE filter, GROUP BY a key with
# HAVING, a stateless filter query, P = 1 and 3; then SQL errors (unknown
# column with suggestion and caret, unsupported shapes: exit 1) and
# `tide explain`.
. "$(dirname "$0")/lib.bash"
e2e_init run_dau
B=$TIDE_BIN
command -v sqlite3 >/dev/null || { echo "sqlite3 missing (scripts/deps.sh installs it)" >&2; exit 1; }

# 4000 logins over 5 days from 2024-01-01 00:00 UTC, 300 users; about one in
# four is delivered up to 4 s early in the order (its ts is moved back), so
# the file is out of order but always within the 5 s watermark bound.
awk 'BEGIN {
    seed = 12345; n = 4000; span = 5 * 86400000; step = span / n
    split("US IN DE FR BR JP", ctry, " "); split("ios android web", dev, " ")
    for (i = 0; i < n; i++) {
        seed = (seed * 1103515245 + 12345) % 2147483648
        u = int(seed / 65536) % 300 + 1
        seed = (seed * 1103515245 + 12345) % 2147483648
        r = int(seed / 65536)
        t = int(i * step) + 5000
        if (r % 4 == 0) t -= (r % 4000)
        d = int(t / 86400000); ms = t % 86400000
        h = int(ms / 3600000); mi = int(ms / 60000) % 60; s = int(ms / 1000) % 60; f = ms % 1000
        printf "2024-01-%02d %02d:%02d:%02d.%03d,%d,%s,%s\n", d + 1, h, mi, s, f, u, ctry[u % 6 + 1], dev[r % 3 + 1]
    }
}' >"$T/logins.csv"
expect_eq "input rows" "$(wc -l <"$T/logins.csv")" "4000"
sqlite3 "$T/db" <<EOF
CREATE TABLE logins (ts TEXT, user_id INTEGER, country TEXT, device TEXT);
.mode csv
.import $T/logins.csv logins
EOF

ddl() {
    cat <<EOF
CREATE TABLE logins (
  ts TIMESTAMP(3),
  user_id BIGINT,
  country STRING,
  device STRING,
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'file', 'path' = 'logins.csv', 'format' = 'csv');
EOF
}

# check NAME SQL_QUERY SQLITE_QUERY [tide options]: run the tide query on the
# file and compare its rows (header dropped, sorted) with sqlite3's.
check() {
    local name=$1 q=$2 want=$3
    shift 3
    { ddl; echo "$q;"; } >"$T/q.sql"
    "$B" run "$T/q.sql" --format csv "$@" >"$T/got.csv" 2>"$T/got.err"
    local rc=$?
    expect_eq "$name: exit status" "$rc" "0"
    tail -n +2 "$T/got.csv" | sort >"$T/got.sorted"
    sqlite3 -list -separator , "$T/db" "$want" | sort >"$T/want.sorted"
    if [ ! -s "$T/want.sorted" ]; then
        bad "$name" "sqlite3 gave no rows"
    elif cmp -s "$T/got.sorted" "$T/want.sorted"; then
        ok "$name: $(wc -l <"$T/want.sorted") rows equal sqlite3's"
    else
        bad "$name" "rows differ: $(diff "$T/got.sorted" "$T/want.sorted" | head -5)"
    fi
}

DAY="substr(ts, 1, 10) || ' 00:00:00.000'"
NEXT="date(ts, '+1 day') || ' 00:00:00.000'"

check "DAU tumble" \
    "SELECT window_start, window_end, COUNT(DISTINCT user_id) AS dau
     FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' DAY))
     GROUP BY window_start, window_end" \
    "SELECT $DAY, $NEXT, COUNT(DISTINCT user_id) FROM logins GROUP BY 1, 2"
head -1 "$T/got.csv" >"$T/header"
expect_eq "DAU csv header" "$(cat "$T/header")" "window_start,window_end,dau"
expect_grep "DAU summary line" "^records in 4000, out 5, late 0, bad 0$" "$T/got.err"

check "DAU tumble, parallelism 3" \
    "SELECT window_start, window_end, COUNT(DISTINCT user_id) AS dau
     FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' DAY))
     GROUP BY window_start, window_end" \
    "SELECT $DAY, $NEXT, COUNT(DISTINCT user_id) FROM logins GROUP BY 1, 2" --parallelism 3

check "HOP 1 day slide, 3 days size" \
    "SELECT window_start, window_end, COUNT(DISTINCT user_id)
     FROM TABLE(HOP(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' DAY, INTERVAL '3' DAY))
     GROUP BY window_start, window_end" \
    "SELECT date(ts, '-' || k || ' days') || ' 00:00:00.000' AS s,
            date(ts, '+' || (3 - k) || ' days') || ' 00:00:00.000',
            COUNT(DISTINCT user_id)
     FROM logins, (SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2) GROUP BY 1, 2"

check "WHERE filter" \
    "SELECT window_start, window_end, COUNT(DISTINCT user_id) AS dau
     FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' DAY))
     WHERE country = 'DE' AND device <> 'web'
     GROUP BY window_start, window_end" \
    "SELECT $DAY, $NEXT, COUNT(DISTINCT user_id) FROM logins
     WHERE country = 'DE' AND device <> 'web' GROUP BY 1, 2"

check "GROUP BY a key, HAVING, projection" \
    "SELECT country, window_start, COUNT(*) AS n, MAX(user_id) AS top
     FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '12' HOUR))
     GROUP BY window_start, window_end, country
     HAVING COUNT(*) > 66" \
    "SELECT country,
            substr(ts, 1, 10) || CASE WHEN substr(ts, 12, 2) < '12' THEN ' 00' ELSE ' 12' END || ':00:00.000',
            COUNT(*), MAX(user_id)
     FROM logins GROUP BY 1, 2 HAVING COUNT(*) > 66" --parallelism 2

check "stateless filter" \
    "SELECT ts, user_id, UPPER(device) AS d FROM logins WHERE user_id % 50 = 7" \
    "SELECT ts, user_id, upper(device) FROM logins WHERE user_id % 50 = 7"

# ---- output formats ----
{ ddl; echo "SELECT window_start, COUNT(*) AS n FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' DAY)) GROUP BY window_start, window_end;"; } >"$T/f.sql"
expect_status "jsonl format" 0 "$B" run "$T/f.sql" --format jsonl
expect_grep "jsonl rows" '^\{"window_start":"2024-01-01 00:00:00.000","n":800\}$' "$T/out"
expect_status "table format" 0 "$B" run "$T/f.sql" --format table
expect_grep "table header" "^window_start +n$" "$T/out"
expect_grep "table row" "^2024-01-01 00:00:00.000 +800$" "$T/out"
expect_status "bad --format: exit 1" 1 "$B" run "$T/f.sql" --format xml

# ---- explain ----
expect_status "explain" 0 "$B" explain "$T/f.sql"
expect_grep "explain shows the window aggregate" "WindowAggregate TUMBLE\(ts, 1 DAY\)" "$T/out"

# ---- SQL errors: caret, exit 1 ----
{ ddl; printf "SELECT window_start, COUNT(DISTINCT usr_id)\nFROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' DAY))\nGROUP BY window_start, window_end;\n"; } >"$T/bad.sql"
expect_status "unknown column: exit 1" 1 "$B" run "$T/bad.sql"
expect_grep "unknown column: file:line:col" "bad\.sql:8:37: .*usr_id" "$T/err"
expect_grep "unknown column: suggestion" "did you mean 'user_id'" "$T/err"
expect_grep "unknown column: source line" "^  SELECT window_start, COUNT\(DISTINCT usr_id\)$" "$T/err"
expect_grep "unknown column: caret" "^ {38}\^$" "$T/err"
expect_eq "unknown column: nothing on stdout" "$(wc -c <"$T/out")" "0"

{ ddl; echo "SELECT country, COUNT(*) FROM logins GROUP BY country;"; } >"$T/unwin.sql"
expect_status "unwindowed GROUP BY: exit 1" 1 "$B" run "$T/unwin.sql"
expect_grep "unwindowed GROUP BY: not supported yet" "unwin\.sql:[0-9]+:[0-9]+: not supported yet: GROUP BY without a window" "$T/err"

{ ddl; echo "SELECT a.user_id FROM logins a JOIN logins b ON a.user_id = b.user_id;"; } >"$T/join.sql"
expect_status "join: exit 1" 1 "$B" run "$T/join.sql"
expect_grep "join: not supported yet" "join\.sql:[0-9]+:[0-9]+: not supported yet: joins" "$T/err"

expect_status "missing file: exit 2" 2 "$B" run "$T/nope.sql"
sed 's/logins.csv/missing.csv/' "$T/f.sql" >"$T/missing.sql"
expect_status "missing input file: exit 2" 2 "$B" run "$T/missing.sql"
expect_grep "missing input file named" "missing\.csv" "$T/err"

e2e_finish
