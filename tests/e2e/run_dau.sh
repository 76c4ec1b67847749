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
# four has a time up to 4 s before the largest time in the file so far, so
# the file is out of order but always within the 5 s watermark bound.
awk 'BEGIN {
    seed = 12345; n = 4000; span = 5 * 86400000; step = span / n
    split("US IN DE FR BR JP", ctry, " "); split("ios android web", dev, " ")
    for (i = 0; i < n; i++) {
        seed = (seed * 1103515245 + 12345) % 2147483648
        u = int(seed / 65536) % 300 + 1
        seed = (seed * 1103515245 + 12345) % 2147483648
        r = int(seed / 65536)
        t = int(i * step) + 5000 + r % 1000
        if (r % 4 == 0 && i > 0) t = mx - 1 - r % 4000
        if (t > mx) mx = t
        d = int(t / 86400000); ms = t % 86400000
        h = int(ms / 3600000); mi = int(ms / 60000) % 60; s = int(ms / 1000) % 60; f = ms % 1000
        printf "2024-01-%02d %02d:%02d:%02d.%03d,%d,%s,%s\n", d + 1, h, mi, s, f, u, ctry[u % 6 + 1], dev[r % 3 + 1]
    }
}' >"$T/logins.csv"
expect_eq "input rows" "$(wc -l <"$T/logins.csv")" "4000"
disorder=$(awk -F, '$1 < prev { n++ } { if ($1 > prev) prev = $1 } END { print n + 0 }' "$T/logins.csv")
if [ "$disorder" -gt 100 ]; then ok "input is out of order ($disorder rows)"; else bad "input order" "only $disorder rows out of order"; fi
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

check "windowed GROUP BY without an aggregate (distinct keys per window)" \
    "SELECT window_start, country FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' DAY))
     GROUP BY window_start, window_end, country" \
    "SELECT DISTINCT $DAY, country FROM logins" --parallelism 2

check "stateless filter" \
    "SELECT ts, user_id, UPPER(device) AS d FROM logins WHERE user_id % 50 = 7" \
    "SELECT ts, user_id, upper(device) FROM logins WHERE user_id % 50 = 7"

# ---- output formats ----
{ ddl; echo "SELECT window_start, COUNT(*) AS n FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' DAY)) GROUP BY window_start, window_end;"; } >"$T/f.sql"
n1=$(sqlite3 "$T/db" "SELECT COUNT(*) FROM logins WHERE ts < '2024-01-02'")
expect_status "jsonl format" 0 "$B" run "$T/f.sql" --format jsonl
expect_grep "jsonl rows" '^\{"window_start":"2024-01-01 00:00:00.000","n":'"$n1"'\}$' "$T/out"
expect_status "table format" 0 "$B" run "$T/f.sql" --format table
expect_grep "table header" "^window_start +n$" "$T/out"
expect_grep "table row" "^2024-01-01 00:00:00.000 +$n1$" "$T/out"
expect_status "bad --format: exit 1" 1 "$B" run "$T/f.sql" --format xml

# ---- help ----
expect_status "run --help" 0 "$B" run --help
expect_grep "run --help prints usage" "^Usage: tide run FILE.sql" "$T/out"
expect_status "explain --help" 0 "$B" explain --help
expect_grep "explain --help prints usage" "^Usage: tide explain FILE.sql" "$T/out"
expect_status "run without a file: exit 1" 1 "$B" run

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

{ ddl; echo "SELECT a.user_id FROM logins a CROSS JOIN logins b;"; } >"$T/cross.sql"
expect_status "cross join: exit 1" 1 "$B" run "$T/cross.sql"
expect_grep "cross join: not supported yet" "cross\.sql:[0-9]+:[0-9]+: not supported yet: CROSS joins" "$T/err"

{ ddl; echo "SELECT a.user_id FROM logins a JOIN logins b ON a.user_id = b.user_id;"; } >"$T/join.sql"
expect_status "join: exit 1" 1 "$B" run "$T/join.sql"
expect_grep "join: not supported yet" "join\.sql:[0-9]+:[0-9]+: not supported yet: joins" "$T/err"

expect_status "missing file: exit 2" 2 "$B" run "$T/nope.sql"
sed 's/logins.csv/missing.csv/' "$T/f.sql" >"$T/missing.sql"
expect_status "missing input file: exit 2" 2 "$B" run "$T/missing.sql"
expect_grep "missing input file named" "missing\.csv" "$T/err"

# ---- the examples: make_logins_csv.sql writes logins.csv next to itself
# (relative path), dau.sql reads it; checked against sqlite3 ----
if [ -n "${TIDE_SRC:-}" ] && [ -f "$TIDE_SRC/examples/dau.sql" ]; then
    mkdir -p "$T/ex"
    cp "$TIDE_SRC/examples/dau.sql" "$TIDE_SRC/examples/make_logins_csv.sql" "$T/ex/"
    (cd "$T" && "$B" run ex/make_logins_csv.sql >"$T/out" 2>"$T/err")
    expect_eq "example: make_logins_csv.sql rows" "$(wc -l <"$T/ex/logins.csv")" "200000"
    (cd / && "$B" run "$T/ex/dau.sql" --format csv >"$T/ex/got" 2>"$T/err")
    expect_eq "example: dau.sql exit status" "$?" "0"
    sqlite3 "$T/ex/db" <<EOF
CREATE TABLE logins (ts TEXT, user_id INTEGER, country TEXT, device TEXT);
.mode csv
.import $T/ex/logins.csv logins
EOF
    sqlite3 -list -separator , "$T/ex/db" "SELECT $DAY, $NEXT, COUNT(DISTINCT user_id) FROM logins GROUP BY 1, 2" | sort >"$T/ex/want"
    tail -n +2 "$T/ex/got" | sort >"$T/ex/got.sorted"
    if cmp -s "$T/ex/got.sorted" "$T/ex/want"; then ok "example: dau.sql equals sqlite3 ($(wc -l <"$T/ex/want") days)"; else bad "example dau.sql" "$(diff "$T/ex/got.sorted" "$T/ex/want" | head -5)"; fi
fi

# ---- Ctrl-C stops an unbounded run (a topic source) cleanly ----
"$B" topic create logins_t >/dev/null 2>&1
{ echo "ts,user_id,country,device"; cat "$T/logins.csv"; } | "$B" produce logins_t --format csv >/dev/null 2>&1
cat >"$T/live.sql" <<EOF
CREATE TABLE logins (ts TIMESTAMP(3), user_id BIGINT, country STRING, device STRING,
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND) WITH ('connector' = 'topic', 'topic' = 'logins_t', 'format' = 'csv');
SELECT window_start, window_end, COUNT(DISTINCT user_id) AS dau
FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' DAY)) GROUP BY window_start, window_end;
EOF
"$B" run "$T/live.sql" --format csv >"$T/live.out" 2>"$T/live.err" &
pid=$!
# the first 4 days fire (the 5th waits for more data): poll for their rows
for _ in $(seq 1 600); do
    [ "$(wc -l <"$T/live.out")" -ge 5 ] && break
    sleep 0.05
done
kill -INT "$pid"
wait "$pid"
expect_eq "Ctrl-C: exit status" "$?" "0"
expect_grep "Ctrl-C: summary says stopped" "^records in 4000, out 4, late 0, bad 0 \(stopped\)$" "$T/live.err"
sqlite3 -list -separator , "$T/db" "SELECT $DAY, $NEXT, COUNT(DISTINCT user_id) FROM logins GROUP BY 1, 2 ORDER BY 1 LIMIT 4" >"$T/live.want"
tail -n +2 "$T/live.out" >"$T/live.got"
if cmp -s "$T/live.got" "$T/live.want"; then ok "Ctrl-C: the 4 complete days equal sqlite3's"; else bad "Ctrl-C rows" "$(diff "$T/live.got" "$T/live.want" | head -5)"; fi

e2e_finish
