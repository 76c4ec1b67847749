#!/bin/bash
# Two query shapes of the dataflow graph by `tide run`, on an awk-generated
# CSV of logins (3 days, rows up to 4 s out of order within the 5 s
# watermark bound, so none is late), compared with sqlite3 over the same
# CSV:
#   cascading windows   hourly counts per country (TUMBLE 1 h), then a
#                       TUMBLE of 1 day over their window_time: per country
#                       and day the sum, the hours with logins, the busiest
#                       hour (sqlite3: GROUP BY hour, then GROUP BY day);
#   after a join        the hourly counts joined per hour and country with
#                       the hourly distinct users of mobile logins, then an
#                       unwindowed GROUP BY country: a changelog, applied
#                       (sqlite3: the join of the two GROUP BYs, grouped).
# P = 1, 2, 4 give the same bytes.
. "$(dirname "$0")/lib.bash"
e2e_init run_shapes
B=$TIDE_BIN
command -v sqlite3 >/dev/null || { echo "sqlite3 missing (scripts/deps.sh installs it)" >&2; exit 1; }

mkdir -p "$T/ex"
# 6000 logins over 3 days of 200 users.
awk 'BEGIN {
    seed = 777; n = 6000; span = 3 * 86400000; step = span / n
    split("US IN DE FR BR", ctry, " "); split("ios android web", dev, " ")
    for (i = 0; i < n; i++) {
        seed = (seed * 1103515245 + 12345) % 2147483648
        r = int(seed / 65536)
        t = int(i * step) + r % 5000
        if (r % 4 == 0 && i > 0) t = mx - 1 - r % 4000
        if (t > mx) mx = t
        d = int(t / 86400000); ms = t % 86400000
        seed = (seed * 1103515245 + 12345) % 2147483648
        u = int(seed / 65536) % 200 + 1
        h = int(ms / 3600000); mi = int(ms / 60000) % 60; s = int(ms / 1000) % 60; f = ms % 1000
        printf "2024-03-%02d %02d:%02d:%02d.%03d,%d,%s,%s\n", 9 + d, h, mi, s, f, u, ctry[u % 5 + 1], dev[r % 3 + 1]
    }
}' >"$T/ex/logins.csv"
expect_eq "input rows" "$(wc -l <"$T/ex/logins.csv")" "6000"
disorder=$(awk -F, '$1 < prev { n++ } { if ($1 > prev) prev = $1 } END { print n + 0 }' "$T/ex/logins.csv")
if [ "$disorder" -gt 100 ]; then ok "input is out of order ($disorder rows)"; else bad "input order" "only $disorder rows out of order"; fi

cat >"$T/ex/table.sql" <<'EOF'
CREATE TABLE logins (
  ts TIMESTAMP(3), user_id BIGINT, country STRING, device STRING,
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'file', 'path' = 'logins.csv', 'format' = 'csv');
EOF
{ cat "$T/ex/table.sql"; cat <<'EOF'
-- Flink's cascading window aggregation: the hourly rows' window_time is
-- the daily window's event time
CREATE VIEW hourly AS
  SELECT country, window_time, COUNT(*) AS cnt
  FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' HOUR))
  GROUP BY window_start, window_end, window_time, country;
SELECT country, window_start, window_end, SUM(cnt) AS total, COUNT(*) AS hours, MAX(cnt) AS peak
FROM TABLE(TUMBLE(TABLE hourly, DESCRIPTOR(window_time), INTERVAL '1' DAY))
GROUP BY window_start, window_end, country;
EOF
} >"$T/ex/cascade.sql"
{ cat "$T/ex/table.sql"; cat <<'EOF'
CREATE VIEW a AS
  SELECT country, window_end, COUNT(*) AS n
  FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' HOUR))
  GROUP BY window_start, window_end, country;
CREATE VIEW b AS
  SELECT country, window_end, COUNT(DISTINCT user_id) AS u
  FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' HOUR))
  WHERE device <> 'web'
  GROUP BY window_start, window_end, country;
SELECT a.country, SUM(a.n) AS n, SUM(b.u) AS u, COUNT(*) AS hours
FROM a JOIN b ON a.window_end = b.window_end AND a.country = b.country
GROUP BY a.country;
EOF
} >"$T/ex/joinagg.sql"

sqlite3 "$T/db" <<EOF
CREATE TABLE logins (ts TEXT, user_id INTEGER, country TEXT, device TEXT);
.mode csv
.import $T/ex/logins.csv logins
EOF
sqlite3 -list -separator , "$T/db" "
    SELECT country, day || ' 00:00:00.000', date(day, '+1 day') || ' 00:00:00.000', SUM(cnt), COUNT(*), MAX(cnt)
    FROM (SELECT country, substr(ts, 1, 10) AS day, substr(ts, 1, 13) AS hour, COUNT(*) AS cnt
          FROM logins GROUP BY 1, 2, 3)
    GROUP BY country, day" | sort >"$T/want.cascade"
sqlite3 -list -separator , "$T/db" "
    WITH a AS (SELECT country, substr(ts, 1, 13) AS hour, COUNT(*) AS n FROM logins GROUP BY 1, 2),
         b AS (SELECT country, substr(ts, 1, 13) AS hour, COUNT(DISTINCT user_id) AS u FROM logins
               WHERE device <> 'web' GROUP BY 1, 2)
    SELECT a.country, SUM(a.n), SUM(b.u), COUNT(*) FROM a JOIN b USING (country, hour) GROUP BY a.country" |
    sort >"$T/want.joinagg"
nc=$(wc -l <"$T/want.cascade")
nj=$(wc -l <"$T/want.joinagg")
expect_eq "sqlite3: a row per country and day" "$nc" "15"
expect_eq "sqlite3: a row per country" "$nj" "5"

# The table a changelog "op,key,rest" leaves (header dropped), sorted; a
# malformed change (an -U/-D that does not retract the key's row, a +I of a
# key that has one) prints BAD.
apply() {
    awk -F, 'NR > 1 {
        key = $2; rest = substr($0, length($1) + 2)
        if ($1 == "+I" || $1 == "+U") {
            if ($1 == "+I" && (key in row)) print "BAD +I " rest
            row[key] = rest
        } else {
            if (!(key in row) || row[key] != rest) print "BAD " $0
            delete row[key]
        }
    } END { for (k in row) print row[k] }' "$1" | sort
}

for p in 1 2 4; do
    (cd / && "$B" run "$T/ex/cascade.sql" --format csv --parallelism $p >"$T/gc.$p" 2>"$T/err")
    expect_eq "cascade P=$p: exit status" "$?" "0"
    expect_eq "cascade P=$p: header" "$(head -1 "$T/gc.$p")" "country,window_start,window_end,total,hours,peak"
    expect_grep "cascade P=$p: summary" "^records in 6000, out $nc, late 0, bad 0$" "$T/err"
    if tail -n +2 "$T/gc.$p" | sort | cmp -s - "$T/want.cascade"; then
        ok "cascade P=$p: $nc rows equal sqlite3's"
    else
        bad "cascade P=$p" "$(tail -n +2 "$T/gc.$p" | sort | diff - "$T/want.cascade" | head -5)"
    fi
    (cd / && "$B" run "$T/ex/joinagg.sql" --format csv --parallelism $p >"$T/gj.$p" 2>"$T/err")
    expect_eq "join then GROUP BY P=$p: exit status" "$?" "0"
    expect_eq "join then GROUP BY P=$p: header" "$(head -1 "$T/gj.$p")" "op,country,n,u,hours"
    expect_grep "join then GROUP BY P=$p: summary" "^records in 6000, out [0-9]+, late 0, bad 0$" "$T/err"
    apply "$T/gj.$p" >"$T/aj.$p"
    if cmp -s "$T/aj.$p" "$T/want.joinagg"; then
        ok "join then GROUP BY P=$p: the applied changelog ($(($(wc -l <"$T/gj.$p") - 1)) changes) equals sqlite3's $nj rows"
    else
        bad "join then GROUP BY P=$p" "$(diff "$T/aj.$p" "$T/want.joinagg" | head -5)"
    fi
done
updates=$(grep -c '^-U,' "$T/gj.1")
if [ "$updates" -gt 0 ]; then ok "join then GROUP BY: the sums were updated ($updates -U/+U pairs)"; else bad "changelog" "no updates"; fi
if cmp -s "$T/gc.1" "$T/gc.2" && cmp -s "$T/gc.1" "$T/gc.4" && cmp -s "$T/gj.1" "$T/gj.2" && cmp -s "$T/gj.1" "$T/gj.4"; then
    ok "P = 1, 2, 4 give the same bytes"
else
    bad "determinism" "outputs differ between P"
fi

# explain: the physical graph has the two window aggregations, one after the other
(cd / && "$B" explain "$T/ex/cascade.sql" >"$T/plan" 2>&1)
expect_eq "explain: two window aggregations" "$(grep -c 'WindowAggregate TUMBLE' "$T/plan")" "2"

e2e_finish
