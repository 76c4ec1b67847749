#!/bin/bash
# OVER aggregations ordered by event time, by `tide run`, against sqlite3's
# window functions over the same CSV (exec/node_over.h):
#   RANGE BETWEEN INTERVAL '10' SECOND PRECEDING AND CURRENT ROW  (rows with
#       equal ts see each other: the input has ties per key),
#   ROWS BETWEEN 4 PRECEDING AND CURRENT ROW (an input without ties per key,
#       where sqlite3's order among peers would be arbitrary),
#   RANGE UNBOUNDED PRECEDING (the default frame) and ROWS UNBOUNDED,
#   a named WINDOW clause, SUM/COUNT(*)/COUNT/AVG/MIN/MAX over BIGINT,
#   DOUBLE and STRING;
# and late rows: an input with rows behind the watermark, whose late rows
# (ts <= max ts seen before - 5 s, computed here by awk) are counted and
# get no output row, while the others equal sqlite3 over them alone.
# P = 1, 2, 4 give the same bytes.
. "$(dirname "$0")/lib.bash"
e2e_init run_over
B=$TIDE_BIN
command -v sqlite3 >/dev/null || { echo "sqlite3 missing (scripts/deps.sh installs it)" >&2; exit 1; }
mkdir -p "$T/ex"

# gen SEED N TIES LATE: rows "ts_ms,id,v,w" of 13 keys, up to 3 s out of
# order (within the 5 s bound); TIES: 5 keys, half the ts rounded down to
# 2 s (ties per key);
# LATE: every 50th row 20 s behind, every 50th + 25 exactly at the
# watermark (ts = max ts - 5 s: late, the boundary).
gen() {
    awk -v seed="$1" -v n="$2" -v ties="$3" -v late="$4" 'BEGIN {
        for (i = 0; i < n; i++) {
            seed = (seed * 1103515245 + 12345) % 2147483648; r = int(seed / 65536)
            t = 1700000000000 + i * 1000 + (ties ? r % 2000 : r % 997)
            if (ties && r % 2 == 0) t = t - t % 2000
            if (late && i % 50 == 49) t = t - 20000
            if (late && i % 50 == 24 && i > 0) t = mx - 5000
            if (t > mx) mx = t
            printf "%.0f,k%d,%d,%.3f\n", t, r % (ties ? 5 : 13), (r * 7) % 100 - 30, (r % 1000) / 8.0
        }
    }'
}
gen 42 3000 1 0 >"$T/ex/ties.csv"
gen 7 3000 0 0 >"$T/ex/uniq.csv"
gen 99 3000 1 1 >"$T/ex/late.csv"
dup=$(awk -F, '{ k = $2 "," $1; if (k in seen) n++; seen[k] = 1 } END { print n + 0 }' "$T/ex/ties.csv")
if [ "$dup" -gt 20 ]; then ok "ties.csv has $dup rows tying an earlier one's key and ts"; else bad "ties" "only $dup"; fi
dup=$(awk -F, '{ k = $2 "," $1; if (k in seen) n++; seen[k] = 1 } END { print n + 0 }' "$T/ex/uniq.csv")
expect_eq "uniq.csv has no ties" "$dup" "0"

table() { # NAME FILE
    cat <<EOF
CREATE TABLE $1 (ts TIMESTAMP(3), id STRING, v BIGINT, w DOUBLE,
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND)
WITH ('connector' = 'file', 'path' = '$2', 'format' = 'csv');
EOF
}
for f in ties uniq late; do
    sqlite3 "$T/db" "CREATE TABLE $f (ts INTEGER, id TEXT, v INTEGER, w REAL);" ".mode csv" ".import $T/ex/$f.csv $f"
done
# the late rows, by the watermark rule: ts <= (max ts of the rows before) - 5000
awk -F, '{ if (NR > 1 && $1 <= mx - 5000) print > "/dev/stderr"; else print; if (NR == 1 || $1 > mx) mx = $1 }' \
    "$T/ex/late.csv" >"$T/ex/ontime.csv" 2>"$T/ex/dropped.csv"
nlate=$(wc -l <"$T/ex/dropped.csv")
if [ "$nlate" -gt 10 ]; then ok "late.csv has $nlate late rows"; else bad "late rows" "only $nlate"; fi
sqlite3 "$T/db" "CREATE TABLE ontime (ts INTEGER, id TEXT, v INTEGER, w REAL);" ".mode csv" ".import $T/ex/ontime.csv ontime"

# check NAME TABLE FILE TIDE-SELECT SQLITE-SELECT (late rows: $LATE, else 0)
check() {
    local name=$1 tab=$2 file=$3 q=$4 want=$5 nin nout late=${LATE:-0}
    { table "$tab" "$file"; echo "$q"; } >"$T/ex/$name.sql"
    sqlite3 -list -separator , "$T/db" "$want" | sort >"$T/want.$name"
    nout=$(wc -l <"$T/want.$name")
    nin=$(wc -l <"$T/ex/$file")
    for p in 1 2 4; do
        (cd "$T/ex" && "$B" run "$name.sql" --format csv --parallelism $p >"$T/got.$name.$p" 2>"$T/err")
        expect_eq "$name P=$p: exit status" "$?" "0"
        expect_grep "$name P=$p: summary" "^records in $nin, out $nout, late $late, bad 0$" "$T/err"
        if tail -n +2 "$T/got.$name.$p" | sort | cmp -s - "$T/want.$name"; then
            ok "$name P=$p: $nout rows equal sqlite3's"
        else
            bad "$name P=$p" "$(tail -n +2 "$T/got.$name.$p" | sort | diff - "$T/want.$name" | head -5)"
        fi
    done
    if cmp -s "$T/got.$name.1" "$T/got.$name.2" && cmp -s "$T/got.$name.1" "$T/got.$name.4"; then
        ok "$name: P = 1, 2, 4 give the same bytes"
    else
        bad "$name" "outputs differ between P"
    fi
}

check range ties ties.csv \
"SELECT id, CAST(ts AS BIGINT) AS t, v,
  SUM(v) OVER w AS s, COUNT(*) OVER w AS n, MIN(v) OVER w AS lo, MAX(id || '-' || CAST(v AS STRING)) OVER w AS hi,
  CAST(AVG(w) OVER w * 1000 AS BIGINT) AS a
FROM ties WINDOW w AS (PARTITION BY id ORDER BY ts RANGE BETWEEN INTERVAL '10' SECOND PRECEDING AND CURRENT ROW);" \
"SELECT id, ts, v, SUM(v) OVER w, COUNT(*) OVER w, MIN(v) OVER w, MAX(id || '-' || v) OVER w,
  CAST(AVG(w) OVER w * 1000 AS INTEGER)
FROM ties WINDOW w AS (PARTITION BY id ORDER BY ts RANGE BETWEEN 10000 PRECEDING AND CURRENT ROW)"

check rows uniq uniq.csv \
"SELECT id, CAST(ts AS BIGINT) AS t, SUM(v) OVER (PARTITION BY id ORDER BY ts ROWS BETWEEN 4 PRECEDING AND CURRENT ROW) AS s,
  MAX(v) OVER (PARTITION BY id ORDER BY ts ROWS BETWEEN 4 PRECEDING AND CURRENT ROW) AS hi,
  COUNT(v) OVER (PARTITION BY id ORDER BY ts ROWS BETWEEN 4 PRECEDING AND CURRENT ROW) AS n
FROM uniq;" \
"SELECT id, ts, SUM(v) OVER w, MAX(v) OVER w, COUNT(v) OVER w
FROM uniq WINDOW w AS (PARTITION BY id ORDER BY ts ROWS BETWEEN 4 PRECEDING AND CURRENT ROW)"

check unbounded ties ties.csv \
"SELECT id, CAST(ts AS BIGINT) AS t, SUM(v) OVER (PARTITION BY id ORDER BY ts) AS s,
  MIN(w) OVER (PARTITION BY id ORDER BY ts RANGE UNBOUNDED PRECEDING) AS lo
FROM ties WHERE v > -20;" \
"SELECT id, ts, SUM(v) OVER (PARTITION BY id ORDER BY ts), MIN(w) OVER (PARTITION BY id ORDER BY ts)
FROM ties WHERE v > -20"

check global ties ties.csv \
"SELECT CAST(ts AS BIGINT) AS t, v, COUNT(*) OVER w AS n, SUM(v) OVER w AS s3
FROM ties WINDOW w AS (ORDER BY ts RANGE BETWEEN INTERVAL '3' SECOND PRECEDING AND CURRENT ROW);" \
"SELECT ts, v, COUNT(*) OVER w, SUM(v) OVER w
FROM ties WINDOW w AS (ORDER BY ts RANGE BETWEEN 3000 PRECEDING AND CURRENT ROW)"

check rows_unbounded uniq uniq.csv \
"SELECT id, CAST(ts AS BIGINT) AS t, v - SUM(v) OVER (PARTITION BY id ORDER BY ts ROWS UNBOUNDED PRECEDING) AS d
FROM uniq;" \
"SELECT id, ts, v - SUM(v) OVER (PARTITION BY id ORDER BY ts ROWS UNBOUNDED PRECEDING) FROM uniq"

LATE=$nlate check late late late.csv \
"SELECT id, CAST(ts AS BIGINT) AS t, v, SUM(v) OVER w AS s, COUNT(*) OVER w AS n
FROM late WINDOW w AS (PARTITION BY id ORDER BY ts RANGE BETWEEN INTERVAL '30' SECOND PRECEDING AND CURRENT ROW);" \
"SELECT id, ts, v, SUM(v) OVER w, COUNT(*) OVER w
FROM ontime WINDOW w AS (PARTITION BY id ORDER BY ts RANGE BETWEEN 30000 PRECEDING AND CURRENT ROW)"

# OVER over a window aggregation at P instances: the rows of a country and
# window come from several instances (one per device), tied in window_time;
# ROWS frames take tied rows in their values' order (exec/node_over.h),
# here device, so sqlite3 orders by (window, device) and P does not matter
{ table ties ties.csv; cat <<'EOF'
SELECT id, dev, CAST(window_time AS BIGINT) AS wt, n,
  SUM(n) OVER (PARTITION BY id ORDER BY window_time ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS s2
FROM (SELECT id, v % 3 AS dev, window_time, COUNT(*) AS n
      FROM TABLE(TUMBLE(TABLE ties, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
      GROUP BY window_start, window_end, window_time, id, v % 3);
EOF
} >"$T/ex/winover.sql"
sqlite3 -list -separator , "$T/db" "
    SELECT id, dev, wt, n, SUM(n) OVER (PARTITION BY id ORDER BY wt, dev ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)
    FROM (SELECT id, v % 3 AS dev, ts - ts % 60000 + 59999 AS wt, COUNT(*) AS n FROM ties GROUP BY 1, 2, 3)" |
    sort >"$T/want.winover"
for p in 1 2 4; do
    (cd "$T/ex" && "$B" run winover.sql --format csv --parallelism $p >"$T/got.winover.$p" 2>"$T/err")
    expect_eq "over a window aggregation P=$p: exit status" "$?" "0"
    if tail -n +2 "$T/got.winover.$p" | sort | cmp -s - "$T/want.winover"; then
        ok "over a window aggregation P=$p: $(wc -l <"$T/want.winover") rows equal sqlite3's"
    else
        bad "over a window aggregation P=$p" "$(tail -n +2 "$T/got.winover.$p" | sort | diff - "$T/want.winover" | head -5)"
    fi
done

# refusals, at their own positions
refuse() { # NAME QUERY MESSAGE
    { table ties ties.csv; echo "$2"; } >"$T/ex/bad.sql"
    (cd "$T/ex" && "$B" run bad.sql >/dev/null 2>"$T/err")
    expect_eq "$1: refused" "$?" "1"
    expect_grep "$1: message" "$3" "$T/err"
}
refuse "order by a non-time column" "SELECT SUM(v) OVER (PARTITION BY id ORDER BY v) FROM ties;" \
    "bad.sql:4:46: an OVER aggregate must be ordered by one event-time attribute"
refuse "FOLLOWING" "SELECT SUM(v) OVER (ORDER BY ts ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING) FROM ties;" \
    "bad.sql:4:62: expected CURRENT ROW"
refuse "two windows" "SELECT SUM(v) OVER (ORDER BY ts), COUNT(*) OVER (PARTITION BY id ORDER BY ts) FROM ties;" \
    "bad.sql:4:49: not supported yet: OVER windows that differ in one SELECT"
refuse "OVER in WHERE" "SELECT v FROM ties WHERE SUM(v) OVER (ORDER BY ts) > 3;" \
    "bad.sql:4:26: window functions \\(OVER\\) are not allowed in WHERE"
refuse "unknown window" "SELECT SUM(v) OVER w2 FROM ties WINDOW w AS (ORDER BY ts);" \
    "bad.sql:4:20: unknown window 'w2'"

e2e_finish
