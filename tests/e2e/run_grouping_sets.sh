#!/bin/bash
# GROUPING SETS, ROLLUP and CUBE with GROUPING() / GROUPING_ID(), windowed
# (window_start, window_end beside the sets, as Flink requires) and
# unwindowed (a changelog, folded by awk into its final rows), against
# sqlite3 computing the same as a UNION ALL of one GROUP BY per set, at
# P = 1, 2, 4.  Logins up to 4 s out of order within the 5 s bound.
. "$(dirname "$0")/lib.bash"
e2e_init run_grouping_sets
B=$TIDE_BIN
command -v sqlite3 >/dev/null || { echo "sqlite3 missing (scripts/deps.sh installs it)" >&2; exit 1; }
mkdir -p "$T/ex"
awk 'BEGIN {
    seed = 17; n = 4000; span = 86400000; step = span / n
    split("US IN DE FR", ctry, " "); split("ios android web", dev, " ")
    for (i = 0; i < n; i++) {
        seed = (seed * 1103515245 + 12345) % 2147483648
        r = int(seed / 65536)
        t = int(i * step) + r % 5000
        if (r % 5 == 0 && mx > 5000) t = mx - 1 - r % 4000
        if (t > mx) mx = t
        ms = t % 86400000
        seed = (seed * 1103515245 + 12345) % 2147483648
        u = int(seed / 65536) % 60 + 1
        h = int(ms / 3600000); mi = int(ms / 60000) % 60; s = int(ms / 1000) % 60; f = ms % 1000
        printf "2024-05-01 %02d:%02d:%02d.%03d,%d,%s,%s,%d\n", h, mi, s, f, u, ctry[u % 4 + 1], dev[r % 3 + 1], r % 100
    }
}' >"$T/ex/logins.csv"
sqlite3 "$T/db" <<EOF
CREATE TABLE raw (ts TEXT, user_id INTEGER, country TEXT, device TEXT, amount INTEGER);
.mode csv
.import $T/ex/logins.csv raw
CREATE TABLE logins AS
  SELECT ts, user_id, country, device, amount, CAST(round((julianday(ts) - 2440587.5) * 86400000) AS INTEGER) AS ms
  FROM raw;
EOF
DDL="CREATE TABLE logins (ts TIMESTAMP(3), user_id BIGINT, country STRING, device STRING, amount BIGINT,
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND)
WITH ('connector' = 'file', 'path' = 'logins.csv', 'format' = 'csv');"
F="'%Y-%m-%d %H:%M:%f'"
W="strftime($F, ms / 3600000 * 3600, 'unixepoch')"

# 1. windowed GROUPING SETS
printf '%s\n%s\n' "$DDL" "SELECT window_start, country, device, COUNT(*) AS n, COUNT(DISTINCT user_id) AS u,
  SUM(amount) AS s, GROUPING(country) AS gc, GROUPING(country, device) AS gcd, GROUPING_ID(device) AS gd
FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' HOUR))
GROUP BY window_start, window_end, GROUPING SETS ((country, device), (country), ());" >"$T/ex/sets.sql"
sqlite3 -list -separator , "$T/db" "
SELECT $W, country, device, COUNT(*), COUNT(DISTINCT user_id), SUM(amount), 0, 0, 0 FROM logins
  GROUP BY ms / 3600000, country, device
UNION ALL SELECT $W, country, NULL, COUNT(*), COUNT(DISTINCT user_id), SUM(amount), 0, 1, 1 FROM logins
  GROUP BY ms / 3600000, country
UNION ALL SELECT $W, NULL, NULL, COUNT(*), COUNT(DISTINCT user_id), SUM(amount), 1, 3, 1 FROM logins
  GROUP BY ms / 3600000" | sort >"$T/sets.want"
n=$(wc -l <"$T/sets.want")
for p in 1 2 4; do
    (cd "$T/ex" && "$B" run sets.sql --format csv --parallelism $p >"$T/sets.$p" 2>"$T/sets.err.$p")
    expect_eq "windowed sets P=$p: exit status" "$?" "0"
    expect_grep "windowed sets P=$p: summary" "^records in 4000, out $n, late 0, bad 0$" "$T/sets.err.$p"
    if tail -n +2 "$T/sets.$p" | sort | cmp -s - "$T/sets.want"; then
        ok "windowed sets P=$p: $n rows equal sqlite3's UNION ALL"
    else
        bad "windowed sets P=$p" "$(tail -n +2 "$T/sets.$p" | sort | diff - "$T/sets.want" | head -5)"
    fi
done
if cmp -s "$T/sets.1" "$T/sets.2" && cmp -s "$T/sets.1" "$T/sets.4"; then
    ok "windowed sets: P = 1, 2, 4 give the same bytes"
else
    bad "windowed sets determinism" "outputs differ"
fi

# 2. windowed CUBE (2 keys: 4 sets), with HAVING
printf '%s\n%s\n' "$DDL" "SELECT window_start, window_end, country, device, GROUPING_ID(country, device) AS g, COUNT(*) AS n
FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '6' HOUR))
GROUP BY CUBE(country, device), window_start, window_end HAVING COUNT(*) > 40;" >"$T/ex/cube.sql"
W6="strftime($F, ms / 21600000 * 21600, 'unixepoch'), strftime($F, ms / 21600000 * 21600 + 21600, 'unixepoch')"
sqlite3 -list -separator , "$T/db" "
SELECT $W6, country, device, 0, COUNT(*) FROM logins GROUP BY ms / 21600000, country, device HAVING COUNT(*) > 40
UNION ALL SELECT $W6, country, NULL, 1, COUNT(*) FROM logins GROUP BY ms / 21600000, country HAVING COUNT(*) > 40
UNION ALL SELECT $W6, NULL, device, 2, COUNT(*) FROM logins GROUP BY ms / 21600000, device HAVING COUNT(*) > 40
UNION ALL SELECT $W6, NULL, NULL, 3, COUNT(*) FROM logins GROUP BY ms / 21600000 HAVING COUNT(*) > 40" | sort >"$T/cube.want"
n=$(wc -l <"$T/cube.want")
for p in 1 4; do
    (cd "$T/ex" && "$B" run cube.sql --format csv --parallelism $p >"$T/cube.$p" 2>"$T/cube.err.$p")
    if tail -n +2 "$T/cube.$p" | sort | cmp -s - "$T/cube.want"; then
        ok "windowed CUBE P=$p: $n rows equal sqlite3's UNION ALL"
    else
        bad "windowed CUBE P=$p" "$(tail -n +2 "$T/cube.$p" | sort | diff - "$T/cube.want" | head -5) $(cat "$T/cube.err.$p")"
    fi
done

# 3. unwindowed ROLLUP: a changelog; its final rows, keyed by (g, country, device)
printf '%s\n%s\n' "$DDL" "SELECT GROUPING(country, device) AS g, country, device, COUNT(*) AS n, SUM(amount) AS s
FROM logins GROUP BY ROLLUP(country, device);" >"$T/ex/rollup.sql"
sqlite3 -list -separator , "$T/db" "
SELECT 0, country, device, COUNT(*), SUM(amount) FROM logins GROUP BY country, device
UNION ALL SELECT 1, country, NULL, COUNT(*), SUM(amount) FROM logins GROUP BY country
UNION ALL SELECT 3, NULL, NULL, COUNT(*), SUM(amount) FROM logins" | sort >"$T/rollup.want"
cat >"$T/fold.awk" <<'EOF'
BEGIN { FS = "," }
NR == 1 { next }
{ key = $2 "," $3 "," $4; row = substr($0, length($1) + 2)
  if ($1 == "+I" || $1 == "+U") m[key] = row; else if ($1 == "-U" || $1 == "-D") delete m[key]; else bad++ }
END { for (k in m) print m[k]; if (bad) print "bad ops " bad >"/dev/stderr" }
EOF
n=$(wc -l <"$T/rollup.want")
for p in 1 2 4; do
    (cd "$T/ex" && "$B" run rollup.sql --format csv --parallelism $p >"$T/rollup.$p" 2>"$T/rollup.err.$p")
    expect_eq "ROLLUP P=$p: header" "$(head -1 "$T/rollup.$p")" "op,g,country,device,n,s"
    if awk -f "$T/fold.awk" "$T/rollup.$p" | sort | cmp -s - "$T/rollup.want"; then
        ok "ROLLUP P=$p: the changelog's final $n rows equal sqlite3's"
    else
        bad "ROLLUP P=$p" "$(awk -f "$T/fold.awk" "$T/rollup.$p" | sort | diff - "$T/rollup.want" | head -5)"
    fi
done

# Refusals at their position.
printf '%s\n%s\n' "$DDL" "SELECT country, COUNT(*) FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' HOUR))
GROUP BY GROUPING SETS ((window_start, window_end, country), (country));" >"$T/ex/e1.sql"
(cd "$T/ex" && "$B" run e1.sql >/dev/null 2>"$T/e1")
expect_grep "a set without the window" "e1.sql:4:1: with a window table function every grouping set must hold window_start and window_end" "$T/e1"
printf '%s\n%s\n' "$DDL" "SELECT country, GROUPING(device) FROM logins GROUP BY ROLLUP(country);" >"$T/ex/e2.sql"
(cd "$T/ex" && "$B" run e2.sql >/dev/null 2>"$T/e2")
expect_grep "GROUPING of a non-key" "e2.sql:4:26: the arguments of GROUPING must be GROUP BY keys" "$T/e2"
e2e_finish
