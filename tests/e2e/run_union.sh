#!/bin/bash
# UNION ALL by `tide run`: windowed aggregates of different windows and
# filters in one output, and a stateless union of two filtered streams, on
# an awk-generated CSV of logins (40 days, out of order within the
# watermark bound).  Compared with sqlite3 over the same CSV: the multiset of
# rows equals the concatenation of the branches' results; each stateless
# branch's rows keep their input order; P = 1, 2, 4 give the same bytes.
# Also the refusals: stdin feeding two branches, an outer join, a join of
# raw streams without a time bound.
. "$(dirname "$0")/lib.bash"
e2e_init run_union
B=$TIDE_BIN
command -v sqlite3 >/dev/null || { echo "sqlite3 missing (scripts/deps.sh installs it)" >&2; exit 1; }

mkdir -p "$T/ex"
awk 'BEGIN {
    seed = 99; n = 6000; span = 40 * 86400000; step = span / n
    split("31 29 31 30", mdays, " "); split("US IN DE FR", ctry, " "); split("ios android web", dev, " ")
    for (i = 0; i < n; i++) {
        seed = (seed * 1103515245 + 12345) % 2147483648
        r = int(seed / 65536)
        t = int(i * step) + r % 5000
        if (r % 5 == 0 && i > 0) t = mx - 1 - r % 4000
        if (t > mx) mx = t
        d = int(t / 86400000); ms = t % 86400000
        seed = (seed * 1103515245 + 12345) % 2147483648
        u = 25 * d + int(seed / 65536) % 400 + 1
        m = 2; dd = 10 + d
        while (dd > mdays[m]) { dd -= mdays[m]; m++ }
        h = int(ms / 3600000); mi = int(ms / 60000) % 60; s = int(ms / 1000) % 60; f = ms % 1000
        printf "2024-%02d-%02d %02d:%02d:%02d.%03d,%d,%s,%s\n", m, dd, h, mi, s, f, u, ctry[u % 4 + 1], dev[r % 3 + 1]
    }
}' >"$T/ex/logins.csv"
expect_eq "input rows" "$(wc -l <"$T/ex/logins.csv")" "6000"

cat >"$T/ex/table.sql" <<'EOF'
CREATE TABLE logins (
  ts TIMESTAMP(3), user_id BIGINT, country STRING, device STRING,
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'file', 'path' = 'logins.csv', 'format' = 'csv');
EOF
{ cat "$T/ex/table.sql"; cat <<'EOF'
SELECT 'dau' AS metric, window_end, COUNT(DISTINCT user_id) AS n
FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' DAY))
GROUP BY window_start, window_end
UNION ALL
SELECT 'wau_us', window_end, COUNT(DISTINCT user_id)
FROM TABLE(HOP(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' DAY, INTERVAL '7' DAY))
WHERE country = 'US'
GROUP BY window_start, window_end
UNION ALL
SELECT 'web', window_end, COUNT(*)
FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' DAY))
WHERE device = 'web'
GROUP BY window_start, window_end;
EOF
} >"$T/ex/windows.sql"
{ cat "$T/ex/table.sql"; cat <<'EOF'
SELECT ts, user_id, 'ios' AS src FROM logins WHERE device = 'ios'
UNION ALL
SELECT ts, user_id + 0, 'us' FROM logins WHERE country = 'US' AND user_id % 2 = 0;
EOF
} >"$T/ex/rows.sql"

sqlite3 "$T/db" <<EOF
CREATE TABLE logins (ts TEXT, user_id INTEGER, country TEXT, device TEXT);
.mode csv
.import $T/ex/logins.csv logins
EOF
sqlite3 -list -separator , "$T/db" "
    WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k WHERE n < 7)
    SELECT 'dau', date(ts, '+1 day') || ' 00:00:00.000', COUNT(DISTINCT user_id) FROM logins GROUP BY 2
    UNION ALL
    SELECT 'wau_us', date(ts, '+' || n || ' days') || ' 00:00:00.000', COUNT(DISTINCT user_id)
      FROM logins, k WHERE country = 'US' GROUP BY 2
    UNION ALL
    SELECT 'web', date(ts, '+1 day') || ' 00:00:00.000', COUNT(*) FROM logins WHERE device = 'web' GROUP BY 2" |
    sort >"$T/want.windows"
sqlite3 -list -separator , "$T/db" "
    SELECT ts, user_id, 'ios' FROM logins WHERE device = 'ios'
    UNION ALL
    SELECT ts, user_id, 'us' FROM logins WHERE country = 'US' AND user_id % 2 = 0" | sort >"$T/want.rows"
nw=$(wc -l <"$T/want.windows")
nr=$(wc -l <"$T/want.rows")

for p in 1 2 4; do
    (cd / && "$B" run "$T/ex/windows.sql" --format csv --parallelism $p >"$T/gw.$p" 2>"$T/err")
    expect_eq "windows P=$p: exit status" "$?" "0"
    expect_eq "windows P=$p: header" "$(head -1 "$T/gw.$p")" "metric,window_end,n"
    expect_grep "windows P=$p: summary (3 branches, one file)" "^records in 6000, out $nw, late 0, bad 0$" "$T/err"
    if tail -n +2 "$T/gw.$p" | sort | cmp -s - "$T/want.windows"; then
        ok "windows P=$p: $nw rows equal sqlite3's (as a multiset)"
    else
        bad "windows P=$p" "$(tail -n +2 "$T/gw.$p" | sort | diff - "$T/want.windows" | head -5)"
    fi
    (cd / && "$B" run "$T/ex/rows.sql" --format csv --parallelism $p >"$T/gr.$p" 2>"$T/err")
    expect_eq "rows P=$p: exit status" "$?" "0"
    if tail -n +2 "$T/gr.$p" | sort | cmp -s - "$T/want.rows"; then
        ok "rows P=$p: $nr rows equal sqlite3's (as a multiset)"
    else
        bad "rows P=$p" "$(tail -n +2 "$T/gr.$p" | sort | diff - "$T/want.rows" | head -5)"
    fi
done
if cmp -s "$T/gw.1" "$T/gw.2" && cmp -s "$T/gw.1" "$T/gw.4" && cmp -s "$T/gr.1" "$T/gr.2" && cmp -s "$T/gr.1" "$T/gr.4"; then
    ok "P = 1, 2, 4 give the same bytes"
else
    bad "determinism" "outputs differ between P"
fi
# each stateless branch keeps its input order
awk -F, '$4 == "ios" { print $1 "," $2 }' "$T/ex/logins.csv" >"$T/in.ios"
awk -F, '$3 == "US" && $2 % 2 == 0 { print $1 "," $2 }' "$T/ex/logins.csv" >"$T/in.us"
awk -F, 'NR > 1 && $3 == "ios" { print $1 "," $2 }' "$T/gr.1" >"$T/out.ios"
awk -F, 'NR > 1 && $3 == "us" { print $1 "," $2 }' "$T/gr.1" >"$T/out.us"
if cmp -s "$T/in.ios" "$T/out.ios" && cmp -s "$T/in.us" "$T/out.us"; then ok "each branch's rows in input order"; else bad "branch order" "differs"; fi
# the two branches interleave (released per watermark step, not one after the other)
switches=$(awk -F, 'NR > 2 && $3 != prev { n++ } { prev = $3 } END { print n + 0 }' "$T/gr.1")
if [ "$switches" -ge 2 ]; then ok "branches interleave in watermark order ($switches switches)"; else bad "interleaving" "$switches switches"; fi

# explain
(cd / && "$B" explain "$T/ex/windows.sql" >"$T/plan" 2>&1)
expect_grep "explain: union" "Union ALL" "$T/plan"

cat >"$T/ex/stdin.sql" <<'EOF'
CREATE TABLE s (ts TIMESTAMP(3), x BIGINT, WATERMARK FOR ts AS ts) WITH ('connector' = 'stdin', 'format' = 'csv');
SELECT ts, x FROM s UNION ALL SELECT ts, x FROM s;
EOF
# one table is one scan in the graph: stdin is read once and feeds both branches
printf '2024-01-01 00:00:00,1\n2024-01-01 00:00:01,2\n2024-01-01 00:00:02,3\n' >"$T/three.csv"
(cd / && "$B" run "$T/ex/stdin.sql" --format csv <"$T/three.csv" >"$T/out" 2>"$T/err")
expect_eq "stdin feeding both branches: exit 0" "$?" "0"
expect_eq "stdin feeding both branches: each row twice" "$(tail -n +2 "$T/out" | cut -d, -f2 | sort | tr '\n' ' ')" "1 1 2 2 3 3 "
expect_grep "stdin feeding both branches: read once" "^records in 3, out 6" "$T/err"
# refusals, with positions
{ cat "$T/ex/table.sql"; cat <<'EOF'
SELECT a.window_end, a.n, b.n FROM
  (SELECT window_end, COUNT(*) AS n FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' DAY)) GROUP BY window_start, window_end) a
  CROSS JOIN
  (SELECT window_end, COUNT(*) AS n FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' DAY)) GROUP BY window_start, window_end) b;
EOF
} >"$T/ex/cross.sql"
(cd / && "$B" run "$T/ex/cross.sql" >"$T/out" 2>"$T/err")
expect_eq "cross join: exit 1" "$?" "1"
expect_grep "cross join: not supported yet" "cross.sql:[0-9]+:[0-9]+: not supported yet: CROSS joins" "$T/err"
{ cat "$T/ex/table.sql"; cat <<'EOF'
SELECT a.ts, b.ts FROM logins a JOIN logins b
  ON a.user_id = b.user_id AND a.ts >= b.ts;
EOF
} >"$T/ex/unbounded.sql"
(cd / && "$B" run "$T/ex/unbounded.sql" >"$T/out" 2>"$T/err")
expect_eq "stream join without an upper time bound: exit 1" "$?" "1"
expect_grep "stream join without an upper time bound: not supported yet" "not supported yet: joins of two streams without a time bound" "$T/err"

# ---- stdin that arrives slowly, on one worker: the source never holds the worker in read(2) ----
printf "%s\n" "CREATE TABLE s (ts TIMESTAMP(3), n BIGINT, WATERMARK FOR ts AS ts - INTERVAL '0' SECOND)" \
    "WITH ('connector' = 'stdin', 'format' = 'csv');" \
    "SELECT window_start, COUNT(*) AS c, SUM(n) AS s FROM TABLE(TUMBLE(TABLE s, DESCRIPTOR(ts), INTERVAL '1' SECOND))" \
    "GROUP BY window_start, window_end;" >"$T/slow.sql"
printf '2024-01-01 00:00:00.100,1\n2024-01-01 00:00:00.200,2\n2024-01-01 00:00:01.500,4\n2024-01-01 00:00:02.000,8\n' >"$T/slow.csv"
# the expected rows: per second, count and sum (awk over the same input)
want=$(awk -F, '{ s = substr($1, 1, 19); c[s]++; t[s] += $2 } END { for (k in c) printf "%s.000,%d,%d\n", k, c[k], t[k] }' "$T/slow.csv" | sort | tr '\n' ' ')
{ head -2 "$T/slow.csv"; sleep 1; sed -n 3p "$T/slow.csv"; sleep 1; sed -n 4p "$T/slow.csv"; } |
    TIDE_WORKERS=1 timeout 30 "$B" run "$T/slow.sql" --format csv >"$T/slow.out" 2>"$T/slow.err"
expect_eq "slow stdin on one worker: every window" "$(tail -n +2 "$T/slow.out" | sort | tr '\n' ' ')" "$want"

e2e_finish
