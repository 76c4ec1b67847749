#!/bin/bash
# Flink's date and time functions and computed columns, by `tide run`,
# against sqlite3's strftime/date arithmetic over the same rows:
#   - a table with a computed column `rt AS TO_TIMESTAMP(s)` and every
#     function of the README's list over it (YEAR .. SECOND, EXTRACT with
#     DOW/DOY, UNIX_TIMESTAMP, FROM_UNIXTIME, DATE_FORMAT, TO_TIMESTAMP with a
#     format, TO_TIMESTAMP_LTZ, TIMESTAMPADD/TIMESTAMPDIFF, FLOOR/CEIL),
#     2000 random instants of 1902-2097;
#   - a TUMBLE over a computed WATERMARK column (`rt AS TO_TIMESTAMP(s)`),
#     with rows that do not parse (dead letters, named by file:line) and an
#     epoch column read through TO_TIMESTAMP_LTZ(e, 3), per day, against
#     sqlite3's GROUP BY date(...), at P = 1, 2, 4 (same bytes).
. "$(dirname "$0")/lib.bash"
e2e_init run_datetime
B=$TIDE_BIN
command -v sqlite3 >/dev/null || { echo "sqlite3 missing (scripts/deps.sh installs it)" >&2; exit 1; }
mkdir -p "$T/ex"

# epoch seconds in [-2145916800, 4102444800) (1902 .. 2099) and a count k
awk 'BEGIN { seed = 7; for (i = 0; i < 2000; i++) {
    seed = (seed * 1103515245 + 12345) % 2147483648; a = int(seed / 16)
    seed = (seed * 1103515245 + 12345) % 2147483648; b = int(seed / 16)
    e = -2114380800 + (a * 65536 + b % 65536) % 6216825600
    if (i % 7 == 0) e -= e % 86400          # some midnights
    if (i % 11 == 0) e -= e % 3600          # some whole hours
    printf "%d,%d\n", e, (b % 61) - 30 } }' >"$T/raw.csv"
sqlite3 "$T/db" <<EOF
CREATE TABLE raw (e INTEGER, k INTEGER);
.mode csv
.import $T/raw.csv raw
CREATE TABLE t AS SELECT datetime(e, 'unixepoch') AS s, e, k FROM raw;
EOF
sqlite3 -csv "$T/db" "SELECT s, e, k FROM t" >"$T/ex/t.csv"
expect_eq "input rows" "$(wc -l <"$T/ex/t.csv")" "2000"

cat >"$T/ex/fns.sql" <<'EOF'
CREATE TABLE t (s STRING, e BIGINT, k BIGINT, rt AS TO_TIMESTAMP(s))
WITH ('connector' = 'file', 'path' = 't.csv', 'format' = 'csv');
CREATE TABLE w (s STRING, e BIGINT, k BIGINT, rt AS TO_TIMESTAMP(s),
  WATERMARK FOR rt AS rt - INTERVAL '100000' DAY)
WITH ('connector' = 'file', 'path' = 't.csv', 'format' = 'csv');
SELECT e, YEAR(rt), QUARTER(rt), MONTH(rt), WEEK(rt), DAYOFYEAR(rt), DAYOFMONTH(rt), DAYOFWEEK(rt),
       HOUR(rt), MINUTE(rt), SECOND(rt), EXTRACT(DOW FROM rt), EXTRACT(DOY FROM rt), EXTRACT(MONTH FROM rt),
       UNIX_TIMESTAMP(s), UNIX_TIMESTAMP(DATE_FORMAT(rt, 'dd.MM.yyyy HH:mm'), 'dd.MM.yyyy HH:mm'),
       FROM_UNIXTIME(e), FROM_UNIXTIME(e, 'yyyy/MM/dd'), DATE_FORMAT(rt, 'yyyy-MM-dd HH'), DATE_FORMAT(s, 'HH:mm'),
       TO_TIMESTAMP_LTZ(e, 0), TO_TIMESTAMP_LTZ(e * 1000 + 7, 3),
       TO_TIMESTAMP(DATE_FORMAT(rt, 'dd/MM/yyyy HH:mm'), 'dd/MM/yyyy HH:mm'),
       TIMESTAMPADD(HOUR, k, rt), TIMESTAMPADD(MONTH, k, rt), TIMESTAMPADD(YEAR, k, rt), TIMESTAMPADD(WEEK, k, rt),
       TIMESTAMPDIFF(HOUR, rt, TIMESTAMP '2000-01-01 00:00:00'), TIMESTAMPDIFF(DAY, DATE '1970-01-01', rt),
       TIMESTAMPDIFF(SECOND, rt, TIMESTAMPADD(SECOND, k, rt)),
       FLOOR(rt TO DAY), FLOOR(rt TO MONTH), CEIL(rt TO HOUR)
FROM w;
EOF
F="'%Y-%m-%d %H:%M:%f'"
# ISO week: the week of the Thursday of rt's Monday-to-Sunday week
ISOW="(CAST(strftime('%j', date(s, printf('%+d days', 3 - (CAST(strftime('%w', s) AS INT) + 6) % 7))) AS INT) - 1) / 7 + 1"
# + n months, the day clamped to the new month's last (Java's plusMonths)
addm() { # $1: months expression
    echo "strftime('%Y-%m-', date(s, 'start of month', printf('%+d months', $1))) ||
      printf('%02d', min(CAST(strftime('%d', s) AS INT),
        CAST(strftime('%d', date(s, 'start of month', printf('%+d months', $1)), '+1 month', '-1 day') AS INT)))
      || strftime(' %H:%M:%f', s)"
}
sqlite3 -list -separator , "$T/db" "
SELECT e, strftime('%Y', s) + 0, (strftime('%m', s) + 2) / 3, strftime('%m', s) + 0, $ISOW,
       strftime('%j', s) + 0, strftime('%d', s) + 0, strftime('%w', s) + 1,
       strftime('%H', s) + 0, strftime('%M', s) + 0, strftime('%S', s) + 0, strftime('%w', s) + 1,
       strftime('%j', s) + 0, strftime('%m', s) + 0,
       e, e - e % 60 - CASE WHEN e % 60 < 0 THEN 60 ELSE 0 END,
       s, strftime('%Y/%m/%d', s), strftime('%Y-%m-%d %H', s), strftime('%H:%M', s),
       strftime($F, s), strftime('%Y-%m-%d %H:%M:%S', s) || '.007',
       strftime('%Y-%m-%d %H:%M:00.000', s),
       strftime($F, s, printf('%+d hours', k)), $(addm k), $(addm '12 * k'), strftime($F, s, printf('%+d days', 7 * k)),
       (946684800 - e) / 3600, e / 86400, k,
       strftime('%Y-%m-%d 00:00:00.000', s), strftime('%Y-%m-01 00:00:00.000', s),
       strftime($F, CASE WHEN e % 3600 = 0 THEN e WHEN e > 0 THEN e / 3600 * 3600 + 3600 ELSE e / 3600 * 3600 END, 'unixepoch')
FROM t" | sort >"$T/want"
expect_eq "sqlite3 rows" "$(wc -l <"$T/want")" "2000"
(cd "$T/ex" && "$B" run fns.sql --format csv >"$T/got" 2>"$T/err")
expect_eq "functions: exit status" "$?" "0"
expect_grep "functions: summary" "^records in 2000, out 2000, late 0, bad 0$" "$T/err"
if tail -n +2 "$T/got" | sort | cmp -s - "$T/want"; then
    ok "functions: 2000 rows x 33 columns equal sqlite3's"
else
    bad "functions" "$(tail -n +2 "$T/got" | sort | diff - "$T/want" | head -6)"
fi

# A window over a computed event time, with rows that do not parse.
awk -F, 'NR % 4 == 0 { print "2024-05-" sprintf("%02d", NR % 28 + 1) " 1" NR % 10 ":00:00," NR }' "$T/ex/t.csv" |
    sort >"$T/ex/w.csv"
sed -i '40s/.*/2024-05-32 10:00:00,999/; 90s/.*/yesterday,998/; 200s/.*/,997/' "$T/ex/w.csv"
cat >"$T/ex/win.sql" <<'EOF'
CREATE TABLE w (s STRING, v BIGINT,
  rt AS TO_TIMESTAMP(s),
  WATERMARK FOR rt AS rt - INTERVAL '1' SECOND)
WITH ('connector' = 'file', 'path' = 'w.csv', 'format' = 'csv');
SELECT window_start, COUNT(*) AS n, SUM(v) AS total
FROM TABLE(TUMBLE(TABLE w, DESCRIPTOR(rt), INTERVAL '1' DAY))
GROUP BY window_start, window_end;
EOF
sqlite3 "$T/db" "CREATE TABLE wr (s TEXT, v INTEGER);"
sqlite3 "$T/db" ".mode csv" ".import $T/ex/w.csv wr"
sqlite3 -list -separator , "$T/db" "SELECT date(s) || ' 00:00:00.000', COUNT(*), SUM(v) FROM wr
  WHERE s GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]' AND date(s) IS NOT NULL
    AND substr(s, 9, 2) + 0 <= 31 GROUP BY date(s) ORDER BY 1" >"$T/wwant"
n=$(wc -l <"$T/wwant")
rows=$(wc -l <"$T/ex/w.csv")
for p in 1 2 4; do
    (cd "$T/ex" && "$B" run win.sql --format csv --parallelism $p >"$T/wgot.$p" 2>"$T/werr.$p")
    expect_eq "window P=$p: exit status" "$?" "0"
    expect_grep "window P=$p: summary" "^records in $((rows - 3)), out $n, late 0, bad 3$" "$T/werr.$p"
    expect_grep "window P=$p: a bad date named" "w.csv:40: event time is NULL" "$T/werr.$p"
    expect_grep "window P=$p: text named" "w.csv:90: event time is NULL" "$T/werr.$p"
    if tail -n +2 "$T/wgot.$p" | cmp -s - "$T/wwant"; then
        ok "window P=$p: $n days equal sqlite3's"
    else
        bad "window P=$p" "$(tail -n +2 "$T/wgot.$p" | diff - "$T/wwant" | head -5)"
    fi
done
if cmp -s "$T/wgot.1" "$T/wgot.2" && cmp -s "$T/wgot.1" "$T/wgot.4"; then
    ok "window: P = 1, 2, 4 give the same bytes"
else
    bad "window determinism" "outputs differ"
fi

# Sub-second intervals: a TUMBLE of 250 ms over a computed event time
# (TO_TIMESTAMP_LTZ of epoch ms), a watermark bound of 0.5 s, and
# window_start + INTERVAL '1.5' SECOND; a FLOAT column (read as DOUBLE).
# Rows more than 0.5 s behind the largest time seen are late for their
# window when it has fired: counted (awk's model), not aggregated.
awk 'BEGIN { seed = 3; t = 1714550400000; for (i = 0; i < 3000; i++) {
    seed = (seed * 1103515245 + 12345) % 2147483648; r = int(seed / 65536)
    t += r % 40; u = t - r % 700; printf "%.0f,%d,%d.%02d\n", u, r % 7, r % 1000, r % 99 + 1 } }' >"$T/ex/ms.csv"
cat >"$T/ex/ms.sql" <<'EOF'
CREATE TABLE m (e BIGINT, k BIGINT, f FLOAT, ts AS TO_TIMESTAMP_LTZ(e, 3),
  WATERMARK FOR ts AS ts - INTERVAL '0.5' SECOND)
WITH ('connector' = 'file', 'path' = 'ms.csv', 'format' = 'csv');
SELECT window_start, window_end, COUNT(*) AS n, SUM(k) AS s, MAX(f) AS mf,
  window_start + INTERVAL '1.5' SECOND AS later
FROM TABLE(TUMBLE(TABLE m, DESCRIPTOR(ts), INTERVAL '0.25' SECOND))
GROUP BY window_start, window_end;
EOF
# a window [s, s + 250) fires when W >= s + 249, W = max e - 500
awk -F, '{ if ($1 > mx) mx = $1; if (int($1 / 250) * 250 + 249 <= mx - 500) late++; else print }
    END { print late + 0 >"/dev/stderr" }' "$T/ex/ms.csv" >"$T/ex/ms.kept.csv" 2>"$T/ms.late"
sqlite3 "$T/db" "CREATE TABLE mk (e INTEGER, k INTEGER, f REAL);"
sqlite3 "$T/db" ".mode csv" ".import $T/ex/ms.kept.csv mk"
sqlite3 -list -separator , "$T/db" "SELECT strftime($F, e / 250 * 250 / 1000.0, 'unixepoch'),
  strftime($F, (e / 250 * 250 + 250) / 1000.0, 'unixepoch'), COUNT(*), SUM(k), MAX(f),
  strftime($F, (e / 250 * 250 + 1500) / 1000.0, 'unixepoch') FROM mk GROUP BY e / 250" >"$T/ms.want"
nl=$(cat "$T/ms.late")
nw=$(wc -l <"$T/ms.want")
for p in 1 2 4; do
    (cd "$T/ex" && "$B" run ms.sql --format csv --parallelism $p >"$T/ms.$p" 2>"$T/ms.err.$p")
    expect_grep "250 ms windows P=$p: summary" "^records in 3000, out $nw, late $nl, bad 0$" "$T/ms.err.$p"
    if tail -n +2 "$T/ms.$p" | cmp -s - "$T/ms.want"; then
        ok "250 ms windows P=$p: $nw windows equal sqlite3's ($nl late rows)"
    else
        bad "250 ms windows P=$p" "$(tail -n +2 "$T/ms.$p" | diff - "$T/ms.want" | head -5)"
    fi
done
if [ "$nl" -gt 10 ]; then ok "late rows: $nl"; else bad "late rows" "only $nl: the test needs some"; fi

# Errors name the place.
printf "CREATE TABLE x (s STRING, rt AS TO_TIMESTAMP(s, 'yyyy-QQ'), WATERMARK FOR rt AS rt)\nWITH ('connector' = 'file', 'path' = 'w.csv');\nSELECT * FROM x;\n" >"$T/ex/e1.sql"
(cd "$T/ex" && "$B" run e1.sql >/dev/null 2>"$T/e1")
expect_grep "bad format: position" "e1.sql:1:" "$T/e1"
expect_grep "bad format: why" "pattern letter 'Q'" "$T/e1"
printf "SELECT CURRENT_TIME;\n" >"$T/ex/e2.sql"
(cd "$T/ex" && "$B" run e2.sql >/dev/null 2>"$T/e2")
expect_grep "CURRENT_TIME refused" "e2.sql:1:8: CURRENT_TIME is not supported .tide has no TIME type" "$T/e2"

# Processing time: NOW(), CURRENT_TIMESTAMP, LOCALTIMESTAMP and
# UNIX_TIMESTAMP() read the clock between the run's start and end;
# CURRENT_DATE is that day's midnight (UTC).
cat >"$T/ex/now.sql" <<'EOF'
CREATE TABLE w (s STRING, v BIGINT, rt AS TO_TIMESTAMP(s), WATERMARK FOR rt AS rt)
WITH ('connector' = 'file', 'path' = 'w.csv', 'format' = 'csv');
SELECT DATE_FORMAT(NOW(), 'yyyy-MM-dd HH:mm:ss.SSS'), DATE_FORMAT(CURRENT_TIMESTAMP, 'yyyy-MM-dd HH:mm:ss.SSS'),
  DATE_FORMAT(LOCALTIMESTAMP, 'yyyy-MM-dd HH:mm:ss.SSS'), UNIX_TIMESTAMP(), CURRENT_DATE, v FROM w WHERE v < 200;
EOF
t0=$(date +%s%3N)
(cd "$T/ex" && "$B" run now.sql --format csv >"$T/now" 2>"$T/now.err")
st=$?
t1=$(date +%s%3N)
expect_eq "processing time: exit status" "$st" "0"
tail -n +2 "$T/now" >"$T/now.rows"
sqlite3 "$T/db" "CREATE TABLE nw (a TEXT, b TEXT, c TEXT, u INTEGER, d TEXT, v INTEGER);"
sqlite3 "$T/db" ".mode csv" ".import $T/now.rows nw"
out=$(sqlite3 "$T/db" "SELECT COUNT(*),
  SUM(CAST(round((julianday(a) - 2440587.5) * 86400000) AS INTEGER) BETWEEN $t0 AND $t1),
  SUM(CAST(round((julianday(b) - 2440587.5) * 86400000) AS INTEGER) BETWEEN $t0 AND $t1 AND
      CAST(round((julianday(c) - 2440587.5) * 86400000) AS INTEGER) BETWEEN $t0 AND $t1),
  SUM(u BETWEEN $t0 / 1000 AND $t1 / 1000),
  SUM(d = date(a) || ' 00:00:00.000') FROM nw")
n=$(awk -F, '$2 < 200' "$T/ex/w.csv" | wc -l)
expect_eq "processing time: every row inside the run" "$out" "$n|$n|$n|$n|$n"

e2e_finish
