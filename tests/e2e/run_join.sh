#!/bin/bash
# An interval join and a window join of two streams by `tide run` (both sides read the same
# CSV of logins, filtered differently; rows up to 4 s out of order within
# the 5 s watermark bound, so no row is late and the result is the full
# inner join), compared with sqlite3 computing the same join over the CSV
# (event times as epoch milliseconds): the same multiset of rows; P = 1, 2
# give the same bytes; the summary counts the file once.
. "$(dirname "$0")/lib.bash"
e2e_init run_join
B=$TIDE_BIN
command -v sqlite3 >/dev/null || { echo "sqlite3 missing (scripts/deps.sh installs it)" >&2; exit 1; }

mkdir -p "$T/ex"
# 8000 logins over 10 days of 80 users (a user logs in every 2-3 hours).
awk 'BEGIN {
    seed = 2024; n = 8000; span = 10 * 86400000; step = span / n
    split("US IN DE FR", ctry, " "); split("ios android web", dev, " ")
    for (i = 0; i < n; i++) {
        seed = (seed * 1103515245 + 12345) % 2147483648
        r = int(seed / 65536)
        t = int(i * step) + r % 5000
        if (r % 5 == 0 && i > 0) t = mx - 1 - r % 4000
        if (t > mx) mx = t
        d = int(t / 86400000); ms = t % 86400000
        seed = (seed * 1103515245 + 12345) % 2147483648
        u = int(seed / 65536) % 80 + 1
        h = int(ms / 3600000); mi = int(ms / 60000) % 60; s = int(ms / 1000) % 60; f = ms % 1000
        printf "2024-05-%02d %02d:%02d:%02d.%03d,%d,%s,%s\n", 1 + d, h, mi, s, f, u, ctry[u % 4 + 1], dev[r % 3 + 1]
    }
}' >"$T/ex/logins.csv"
expect_eq "input rows" "$(wc -l <"$T/ex/logins.csv")" "8000"
cat >"$T/ex/join.sql" <<'EOF'
CREATE TABLE logins (
  ts TIMESTAMP(3), user_id BIGINT, country STRING, device STRING,
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'file', 'path' = 'logins.csv', 'format' = 'csv');

-- a web login within 2 hours before to 30 minutes after a mobile login of the same user
SELECT m.user_id, m.ts AS mobile_ts, w.ts AS web_ts, m.device
FROM logins m JOIN logins w
  ON m.user_id = w.user_id AND w.ts BETWEEN m.ts - INTERVAL '2' HOUR AND m.ts + INTERVAL '30' MINUTE
WHERE m.device <> 'web' AND w.device = 'web';
EOF
sqlite3 "$T/db" <<EOF
CREATE TABLE raw (ts TEXT, user_id INTEGER, country TEXT, device TEXT);
.mode csv
.import $T/ex/logins.csv raw
CREATE TABLE logins AS
  SELECT ts, user_id, country, device, CAST(round((julianday(ts) - 2440587.5) * 86400000) AS INTEGER) AS ms FROM raw;
CREATE INDEX lu ON logins (user_id);
EOF
sqlite3 -list -separator , "$T/db" "
    SELECT m.user_id, m.ts, w.ts, m.device FROM logins m JOIN logins w
      ON m.user_id = w.user_id AND w.ms BETWEEN m.ms - 7200000 AND m.ms + 1800000
    WHERE m.device <> 'web' AND w.device = 'web'" | sort >"$T/want"
n=$(wc -l <"$T/want")
if [ "$n" -gt 1000 ]; then ok "sqlite3: $n joined rows"; else bad "sqlite3 rows" "only $n"; fi

for p in 1 2; do
    (cd / && "$B" run "$T/ex/join.sql" --format csv --parallelism $p >"$T/got.$p" 2>"$T/err")
    expect_eq "join P=$p: exit status" "$?" "0"
    expect_eq "join P=$p: header" "$(head -1 "$T/got.$p")" "user_id,mobile_ts,web_ts,device"
    expect_grep "join P=$p: summary" "^records in 8000, out $n, late 0, bad 0$" "$T/err"
    if tail -n +2 "$T/got.$p" | sort | cmp -s - "$T/want"; then
        ok "join P=$p: $n rows equal sqlite3's (as a multiset)"
    else
        bad "join P=$p" "$(tail -n +2 "$T/got.$p" | sort | diff - "$T/want" | head -5)"
    fi
done
if cmp -s "$T/got.1" "$T/got.2"; then ok "P = 1, 2 give the same bytes"; else bad "determinism" "outputs differ"; fi
(cd / && "$B" explain "$T/ex/join.sql" >"$T/plan" 2>&1)
expect_grep "explain: interval join" "Join INNER interval on m.user_id = w.user_id AND w.ts BETWEEN" "$T/plan"

# A window join (Flink's syntax: the same TUMBLE on both sides, ON equating
# window_start, window_end and the user): every pair of one user's mobile
# and web logins in the same clock hour.
cat >"$T/ex/wjoin.sql" <<'EOF'
CREATE TABLE logins (
  ts TIMESTAMP(3), user_id BIGINT, country STRING, device STRING,
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'file', 'path' = 'logins.csv', 'format' = 'csv');

SELECT m.user_id, m.window_end, m.ts, w.ts AS web_ts
FROM (SELECT * FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' HOUR)) WHERE device <> 'web') m
JOIN (SELECT * FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' HOUR)) WHERE device = 'web') w
  ON m.window_start = w.window_start AND m.window_end = w.window_end AND m.user_id = w.user_id;
EOF
sqlite3 -list -separator , "$T/db" "
    SELECT m.user_id, strftime('%Y-%m-%d %H:00:00.000', m.ts, '+1 hour'), m.ts, w.ts FROM logins m JOIN logins w
      ON m.user_id = w.user_id AND m.ms / 3600000 = w.ms / 3600000
    WHERE m.device <> 'web' AND w.device = 'web'" | sort >"$T/wwant"
nw=$(wc -l <"$T/wwant")
if [ "$nw" -gt 300 ]; then ok "sqlite3: $nw window-joined rows"; else bad "sqlite3 window rows" "only $nw"; fi
for p in 1 2; do
    (cd / && "$B" run "$T/ex/wjoin.sql" --format csv --parallelism $p >"$T/wgot.$p" 2>"$T/err")
    expect_eq "window join P=$p: exit status" "$?" "0"
    expect_grep "window join P=$p: summary" "^records in 8000, out $nw, late 0, bad 0$" "$T/err"
    if tail -n +2 "$T/wgot.$p" | sort | cmp -s - "$T/wwant"; then
        ok "window join P=$p: $nw rows equal sqlite3's (as a multiset)"
    else
        bad "window join P=$p" "$(tail -n +2 "$T/wgot.$p" | sort | diff - "$T/wwant" | head -5)"
    fi
done
if cmp -s "$T/wgot.1" "$T/wgot.2"; then ok "window join: P = 1, 2 give the same bytes"; else bad "window join determinism" "outputs differ"; fi
(cd / && "$B" explain "$T/ex/wjoin.sql" >"$T/plan" 2>&1)
expect_grep "explain: window join" "Join INNER window on m.window_start = w.window_start" "$T/plan"

e2e_finish
