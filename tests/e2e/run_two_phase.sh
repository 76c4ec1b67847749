#!/bin/bash
# Two-phase (local-global) window aggregation end to end: `tide run` over a
# CSV of logins with late rows, under SET 'table.optimizer.agg-phase-strategy'
# = AUTO (the default), ONE_PHASE and TWO_PHASE, at P = 1, 2 and 4, checked
# against an independent computation: awk replays the file with the
# watermark rule (W = the largest time so far - 5 s, before each row; a row
# is late when W >= its hour's end - 1 ms) and keeps the rows on time,
# sqlite3 aggregates those.  Few keys (countries, Zipf-like), two keys, many
# keys (users: the local node passes rows on as they are), no key; COUNT(*),
# COUNT, COUNT(DISTINCT), SUM, MIN, MAX.  Then `tide explain` shows the two
# nodes and a bad setting is refused.
. "$(dirname "$0")/lib.bash"
e2e_init run_two_phase
B=$TIDE_BIN
command -v sqlite3 >/dev/null || { echo "sqlite3 missing (scripts/deps.sh installs it)" >&2; exit 1; }

# 30000 logins over 2 days from 2024-01-01 00:00 UTC, 3000 users, countries
# skewed (IN about half); about one row in 40 is 3-9 s behind the largest
# time so far (within or past the 5 s bound), one in 40 in the hour before
# the largest time's (late), and times crowd the hours' ends.
awk 'BEGIN {
    seed = 4242; n = 30000; span = 2 * 86400000; step = span / n
    split("IN IN IN IN IN IN US US US FR DE BR JP NG", ctry, " "); split("ios android web", dev, " ")
    for (i = 0; i < n; i++) {
        seed = (seed * 1103515245 + 12345) % 2147483648; u = int(seed / 65536) % 3000 + 1
        seed = (seed * 1103515245 + 12345) % 2147483648; r = int(seed / 65536)
        t = int(i * step) + r % 3000
        if (r % 7 == 0 && t % 3600000 > 3600000 - 20000) t = int(t / 3600000) * 3600000 + 3600000 - 2 + r % 5
        if (r % 40 == 1 && i > 0) t = mx - 3000 - r % 6000
        b = int(mx / 3600000) * 3600000
        if (r % 40 == 2 && mx - 5000 >= b - 1) t = b - 1 - r % 3000
        if (t < 0) t = 0
        if (t > mx) mx = t
        d = int(t / 86400000); ms = t % 86400000
        h = int(ms / 3600000); mi = int(ms / 60000) % 60; s = int(ms / 1000) % 60; f = ms % 1000
        printf "2024-01-%02d %02d:%02d:%02d.%03d,%d,%s,%s\n", d + 1, h, mi, s, f, u, ctry[u % 14 + 1], dev[r % 3 + 1]
    }
}' >"$T/logins.csv"
expect_eq "input rows" "$(wc -l <"$T/logins.csv")" "30000"

# the model: the rows on time, and the late count
awk -F, '
function ms(s,   d, h, mi, se, f) {
    d = substr(s, 9, 2) - 1; h = substr(s, 12, 2); mi = substr(s, 15, 2); se = substr(s, 18, 2); f = substr(s, 21, 3)
    return ((d * 24 + h) * 60 + mi) * 60000 + se * 1000 + f
}
{
    t = ms($1); e = (int(t / 3600000) + 1) * 3600000
    if (NR > 1 && mx - 5000 >= e - 1) late++; else print > "'"$T/ontime.csv"'"
    if (NR == 1 || t > mx) mx = t
}
END { print late + 0 }' "$T/logins.csv" >"$T/late.txt"
LATE=$(cat "$T/late.txt")
if [ "$LATE" -gt 50 ]; then ok "the input has late rows ($LATE)"; else bad "late rows" "only $LATE"; fi
sqlite3 "$T/db" <<EOF
CREATE TABLE logins (ts TEXT, user_id INTEGER, country TEXT, device TEXT);
.mode csv
.import $T/ontime.csv logins
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

HS="substr(ts, 1, 13) || ':00:00.000'"
HE="datetime(substr(ts, 1, 13) || ':00:00', '+1 hour') || '.000'"

# check NAME SQL_QUERY SQLITE_QUERY: under each strategy and P, the rows
# (header dropped, sorted) equal sqlite3's and the summary counts the late rows.
check() {
    local name=$1 q=$2 want=$3
    sqlite3 -list -separator , "$T/db" "$want" | sort >"$T/want.sorted"
    [ -s "$T/want.sorted" ] || bad "$name" "sqlite3 gave no rows"
    local fails=0 runs=0
    for strategy in AUTO ONE_PHASE TWO_PHASE; do
        { ddl; echo "SET 'table.optimizer.agg-phase-strategy' = '$strategy';"; echo "$q;"; } >"$T/q.sql"
        for p in 1 2 4; do
            runs=$((runs + 1))
            "$B" run "$T/q.sql" --format csv --parallelism $p >"$T/got.csv" 2>"$T/got.err"
            local rc=$?
            tail -n +2 "$T/got.csv" | sort >"$T/got.sorted"
            if [ "$rc" != 0 ]; then
                bad "$name ($strategy, P = $p)" "exit $rc: $(head -c 300 "$T/got.err")"
                fails=$((fails + 1))
            elif ! cmp -s "$T/got.sorted" "$T/want.sorted"; then
                bad "$name ($strategy, P = $p)" "rows differ: $(diff "$T/got.sorted" "$T/want.sorted" | head -5)"
                fails=$((fails + 1))
            elif ! grep -q "^records in 30000, out [0-9]*, late $LATE, bad 0$" "$T/got.err"; then
                bad "$name ($strategy, P = $p)" "summary: $(cat "$T/got.err"), want late $LATE"
                fails=$((fails + 1))
            fi
        done
    done
    [ "$fails" -eq 0 ] && ok "$name: $(wc -l <"$T/want.sorted") rows equal sqlite3's, late $LATE ($runs runs)"
}

check "hourly count per country" \
    "SELECT country, window_start, window_end, COUNT(*) AS n
     FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' HOUR))
     GROUP BY window_start, window_end, country" \
    "SELECT country, $HS, $HE, COUNT(*) FROM logins GROUP BY 1, 2, 3"

check "hourly aggregates per country" \
    "SELECT country, window_end, COUNT(*) AS n, COUNT(DISTINCT user_id) AS users, SUM(user_id) AS s,
            MIN(user_id) AS lo, MAX(user_id) AS hi, COUNT(device) AS d
     FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' HOUR))
     GROUP BY window_start, window_end, country" \
    "SELECT country, $HE, COUNT(*), COUNT(DISTINCT user_id), SUM(user_id), MIN(user_id), MAX(user_id), COUNT(device)
     FROM logins GROUP BY country, 2"

check "hourly count per device and country" \
    "SELECT device, country, window_start, COUNT(*) AS n
     FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' HOUR))
     GROUP BY window_start, window_end, device, country" \
    "SELECT device, country, $HS, COUNT(*) FROM logins GROUP BY 1, 2, 3"

check "hourly count per user (many keys)" \
    "SELECT user_id, window_start, COUNT(*) AS n
     FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' HOUR))
     GROUP BY window_start, window_end, user_id" \
    "SELECT user_id, $HS, COUNT(*) FROM logins GROUP BY 1, 2"

check "hourly distinct users (no key)" \
    "SELECT window_start, COUNT(DISTINCT user_id) AS users, COUNT(*) AS n
     FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' HOUR))
     GROUP BY window_start, window_end" \
    "SELECT $HS, COUNT(DISTINCT user_id), COUNT(*) FROM logins GROUP BY 1"

# ---- explain: the plan each strategy makes ----
plan() { { ddl; [ -n "$1" ] && echo "SET 'table.optimizer.agg-phase-strategy' = '$1';"; echo "SELECT country, COUNT(*) FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' HOUR)) GROUP BY window_start, window_end, country;"; } >"$T/e.sql"; }
plan ""
expect_status "explain (AUTO)" 0 "$B" explain "$T/e.sql"
if [ "$(nproc)" -gt 1 ]; then
    expect_grep "AUTO at P = cores > 1: local agg chained to the scan" "keys -> [0-9]+ local agg  chained" "$T/out"
    expect_grep "AUTO: partials hashed to the global agg" "local agg -> [0-9]+ global agg  hash by \[k0\]" "$T/out"
    expect_grep "AUTO: rows passed on hashed too" "local agg -> [0-9]+ global agg \(output 2\)  hash by \[k0\]" "$T/out"
fi
plan ONE_PHASE
expect_status "explain (ONE_PHASE)" 0 "$B" explain "$T/e.sql"
if grep -q "local agg" "$T/out"; then bad "ONE_PHASE" "plans a local agg"; else ok "ONE_PHASE plans one winagg"; fi
# TWO_PHASE where it does not apply (allowed lateness, early firings, HOP): one winagg, as ONE_PHASE
for emit in "EMIT ALLOW LATENESS INTERVAL '1' MINUTE" "EMIT EARLY EVERY 10 ROWS"; do
    { ddl; echo "SET 'table.optimizer.agg-phase-strategy' = 'TWO_PHASE';"
      echo "SELECT country, COUNT(*) FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' HOUR)) GROUP BY window_start, window_end, country $emit;"; } >"$T/e.sql"
    expect_status "explain ($emit)" 0 "$B" explain "$T/e.sql"
    if grep -q "local agg" "$T/out"; then bad "$emit" "plans two phases"; else ok "$emit: one phase"; fi
done
plan BOTH
expect_status "a bad strategy is refused" 1 "$B" run "$T/e.sql"
expect_grep "the bad strategy named" "agg-phase-strategy' = 'BOTH': not AUTO, ONE_PHASE or TWO_PHASE" "$T/err"

e2e_finish
