#!/bin/bash
# Top-N and deduplication (ROW_NUMBER filtered by a rank range,
# exec/node_topn.h) by `tide run`, against sqlite3's ROW_NUMBER over the
# same CSV:
#   unwindowed Top-N         a changelog; applied by (partition, rank) when
#                            the rank is an output column, as a multiset of
#                            rows when not (rn BETWEEN 2 AND 4); its final
#                            table equals sqlite3's;
#   Top-N over a GROUP BY    the input is a changelog (retractions re-rank);
#   keep the last row        ORDER BY ts DESC, rn = 1: -U/+U per key;
#   keep the first row       ORDER BY ts, rn = 1: append-only, final rows;
#   window Top-N             over a window TVF and over a window aggregation:
#                            append-only, final rows per window;
#   window deduplication     the last row per key and window (TVF).
# The changelog sequences themselves are checked against a brute force in
# tests/unit/test_node_topn.c.  P = 1, 2, 4 give the same bytes.
. "$(dirname "$0")/lib.bash"
e2e_init run_topn
B=$TIDE_BIN
command -v sqlite3 >/dev/null || { echo "sqlite3 missing (scripts/deps.sh installs it)" >&2; exit 1; }
mkdir -p "$T/ex"

# 20000 rows "ts_ms,id,v" of 13 ids (id j with weight 2j + 1, so their
# counts differ), up to 3 s out of order (bound 5 s).  Neither v nor ts
# repeats: rows with equal sort values are ranked by the watermark step
# they arrived in, then by their values (exec/node_topn.h), which sqlite3
# cannot know; tests/unit/test_node_topn.c checks ties against a model.
awk 'BEGIN { seed = 5; n = 20000
    for (i = 0; i < n; i++) {
        seed = (seed * 1103515245 + 12345) % 2147483648; r = int(seed / 65536)
        t = 1700000000000 + i * 1000 + (r % 997) * 3
        printf "%.0f,k%d,%d\n", t, int(sqrt(r % 169)), (i * 7919) % 20011 - 5000
    }
}' >"$T/ex/s.csv"
expect_eq "no v twice" "$(cut -d, -f3 "$T/ex/s.csv" | sort | uniq -d | wc -l)" "0"
expect_eq "no ts twice" "$(cut -d, -f1 "$T/ex/s.csv" | sort | uniq -d | wc -l)" "0"
sqlite3 "$T/db" "CREATE TABLE s (ts INTEGER, id TEXT, v INTEGER);" ".mode csv" ".import $T/ex/s.csv s"
cat >"$T/ex/table.sql" <<'EOF'
CREATE TABLE s (ts TIMESTAMP(3), id STRING, v BIGINT,
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND)
WITH ('connector' = 'file', 'path' = 's.csv', 'format' = 'csv');
EOF

# apply FILE KEYFIELDS: the table a changelog "op,cols..." leaves (header
# dropped), sorted.  KEYFIELDS: the fields (2 = the first column) keying
# it; empty: a multiset of whole rows.  A -U/-D that does not match its
# key's row, or a +I of a key that has one, prints BAD.
apply() {
    awk -F, -v kf="$2" 'NR > 1 {
        rest = substr($0, length($1) + 2)
        key = rest
        if (kf != "") { n = split(kf, f, " "); key = ""; for (i = 1; i <= n; i++) key = key "," $(f[i]) }
        if ($1 == "+I" || $1 == "+U") {
            if (kf != "" && $1 == "+I" && (key in row)) print "BAD +I " rest
            if (kf != "") row[key] = rest; else cnt[rest]++
        } else if (kf != "") {
            if (!(key in row) || row[key] != rest) print "BAD " $0
            delete row[key]
        } else {
            if (cnt[rest] < 1) print "BAD " $0
            cnt[rest]--
        }
    } END {
        for (k in row) print row[k]
        for (r in cnt) for (i = 0; i < cnt[r]; i++) print r
    }' "$1" | sort
}

# check NAME KEYFIELDS HEADER TIDE-SELECT SQLITE-SELECT: KEYFIELDS "-" for
# an append-only output (no op column)
check() {
    local name=$1 kf=$2 header=$3 q=$4 want=$5 n
    { cat "$T/ex/table.sql"; echo "$q"; } >"$T/ex/$name.sql"
    sqlite3 -list -separator , "$T/db" "$want" | sort >"$T/want.$name"
    n=$(wc -l <"$T/want.$name")
    for p in 1 2 4; do
        (cd "$T/ex" && "$B" run "$name.sql" --format csv --parallelism $p >"$T/got.$name.$p" 2>"$T/err")
        expect_eq "$name P=$p: exit status" "$?" "0"
        expect_eq "$name P=$p: header" "$(head -1 "$T/got.$name.$p")" "$header"
        expect_grep "$name P=$p: summary" "^records in 20000, out [0-9]+, late 0, bad 0$" "$T/err"
        if [ "$kf" = "-" ]; then
            tail -n +2 "$T/got.$name.$p" | sort >"$T/app.$name.$p"
        else
            apply "$T/got.$name.$p" "$kf" >"$T/app.$name.$p"
        fi
        if cmp -s "$T/app.$name.$p" "$T/want.$name"; then
            ok "$name P=$p: $(($(wc -l <"$T/got.$name.$p") - 1)) rows give sqlite3's $n"
        else
            bad "$name P=$p" "$(diff "$T/app.$name.$p" "$T/want.$name" | head -5)"
        fi
    done
    if cmp -s "$T/got.$name.1" "$T/got.$name.2" && cmp -s "$T/got.$name.1" "$T/got.$name.4"; then
        ok "$name: P = 1, 2, 4 give the same bytes"
    else
        bad "$name" "outputs differ between P"
    fi
}

check top3 "2 5" "op,id,t,v,rn" \
"SELECT * FROM (
  SELECT id, CAST(ts AS BIGINT) AS t, v, ROW_NUMBER() OVER (PARTITION BY id ORDER BY v DESC) AS rn FROM s
) WHERE rn <= 3;" \
"SELECT * FROM (SELECT id, ts, v, ROW_NUMBER() OVER (PARTITION BY id ORDER BY v DESC, rowid) AS rn FROM s)
 WHERE rn <= 3"
updates=$(grep -c '^-U,' "$T/got.top3.1")
if [ "$updates" -gt 20 ]; then ok "top3: the ranking changed over time ($updates -U/+U pairs)"; else bad "top3" "only $updates updates"; fi

check range_norank "" "op,id,t,v" \
"SELECT id, t, v FROM (
  SELECT id, CAST(ts AS BIGINT) AS t, v, ROW_NUMBER() OVER (PARTITION BY id ORDER BY v, ts DESC) AS rn FROM s
) WHERE rn BETWEEN 2 AND 4;" \
"SELECT id, ts, v FROM (SELECT id, ts, v, ROW_NUMBER() OVER (PARTITION BY id ORDER BY v, ts DESC, rowid) AS rn FROM s)
 WHERE rn BETWEEN 2 AND 4"
if grep -q '^-[UD],' "$T/got.range_norank.1" && ! grep -q '^[-+]U,' "$T/got.range_norank.1"; then
    ok "range_norank: without the rank, rows leave with -D and enter with +I"
else
    bad "range_norank" "unexpected ops: $(cut -d, -f1 "$T/got.range_norank.1" | sort | uniq -c | tr '\n' ' ')"
fi

check over_groupby "4" "op,id,n,rn" \
"SELECT * FROM (
  SELECT id, n, ROW_NUMBER() OVER (ORDER BY n DESC) AS rn FROM (SELECT id, COUNT(*) AS n FROM s GROUP BY id)
) WHERE rn < 4;" \
"SELECT * FROM (SELECT id, n, ROW_NUMBER() OVER (ORDER BY n DESC, last) AS rn
  FROM (SELECT id, COUNT(*) AS n, MAX(rowid) AS last FROM s GROUP BY id)) WHERE rn < 4"

check keep_last "2" "op,id,t,v" \
"SELECT id, t, v FROM (
  SELECT id, CAST(ts AS BIGINT) AS t, v, ROW_NUMBER() OVER (PARTITION BY id ORDER BY ts DESC) AS rn FROM s
) WHERE rn = 1;" \
"SELECT id, ts, v FROM (SELECT id, ts, v, ROW_NUMBER() OVER (PARTITION BY id ORDER BY ts DESC, rowid) AS rn FROM s)
 WHERE rn = 1"
if grep -q '^-U,' "$T/got.keep_last.1" && ! grep -q '^-D,' "$T/got.keep_last.1"; then
    ok "keep_last: a newer row replaces the last one with -U/+U"
else
    bad "keep_last" "ops: $(cut -d, -f1 "$T/got.keep_last.1" | sort | uniq -c | tr '\n' ' ')"
fi

check keep_first - "id,t,v" \
"SELECT id, t, v FROM (
  SELECT id, CAST(ts AS BIGINT) AS t, v, ROW_NUMBER() OVER (PARTITION BY id ORDER BY ts) AS rn FROM s
) WHERE rn = 1;" \
"SELECT id, ts, v FROM (SELECT id, ts, v, ROW_NUMBER() OVER (PARTITION BY id ORDER BY ts, rowid) AS rn FROM s)
 WHERE rn = 1"

check window_tvf - "ws,id,v,rn" \
"SELECT CAST(window_start AS BIGINT) AS ws, id, v, rn FROM (
  SELECT window_start, window_end, id, v,
    ROW_NUMBER() OVER (PARTITION BY window_start, window_end ORDER BY v DESC) AS rn
  FROM TABLE(TUMBLE(TABLE s, DESCRIPTOR(ts), INTERVAL '10' MINUTE))
) WHERE rn <= 3;" \
"SELECT ws, id, v, rn FROM (SELECT ts - ts % 600000 AS ws, id, v,
  ROW_NUMBER() OVER (PARTITION BY ts - ts % 600000 ORDER BY v DESC, rowid) AS rn FROM s) WHERE rn <= 3"

check window_agg - "ws,id,n,rn" \
"SELECT CAST(window_start AS BIGINT) AS ws, id, n, rn FROM (
  SELECT window_start, window_end, id, n,
    ROW_NUMBER() OVER (PARTITION BY window_start, window_end ORDER BY n DESC, id) AS rn
  FROM (SELECT window_start, window_end, id, COUNT(*) AS n
        FROM TABLE(TUMBLE(TABLE s, DESCRIPTOR(ts), INTERVAL '1' HOUR)) GROUP BY window_start, window_end, id)
) WHERE rn <= 2;" \
"SELECT ws, id, n, rn FROM (SELECT ws, id, n, ROW_NUMBER() OVER (PARTITION BY ws ORDER BY n DESC, id) AS rn
  FROM (SELECT ts - ts % 3600000 AS ws, id, COUNT(*) AS n FROM s GROUP BY 1, 2)) WHERE rn <= 2"

check window_dedup - "ws,id,t,v" \
"SELECT CAST(window_start AS BIGINT) AS ws, id, t, v FROM (
  SELECT window_start, window_end, id, CAST(ts AS BIGINT) AS t, v,
    ROW_NUMBER() OVER (PARTITION BY window_start, window_end, id ORDER BY ts DESC) AS rn
  FROM TABLE(TUMBLE(TABLE s, DESCRIPTOR(ts), INTERVAL '10' MINUTE))
) WHERE rn = 1;" \
"SELECT ws, id, ts, v FROM (SELECT ts - ts % 600000 AS ws, id, ts, v,
  ROW_NUMBER() OVER (PARTITION BY ts - ts % 600000, id ORDER BY ts DESC) AS rn FROM s) WHERE rn = 1"

(cd / && "$B" explain "$T/ex/window_agg.sql" >"$T/plan" 2>&1)
expect_grep "explain: a window Top-N" "window-topn" "$T/plan"
(cd / && "$B" explain "$T/ex/keep_first.sql" >"$T/plan" 2>&1)
expect_grep "explain: a keep-first deduplication" "dedup-first" "$T/plan"

refuse() { # NAME QUERY MESSAGE
    { cat "$T/ex/table.sql"; echo "$2"; } >"$T/ex/bad.sql"
    (cd "$T/ex" && "$B" run bad.sql >/dev/null 2>"$T/err")
    expect_eq "$1: refused" "$?" "1"
    expect_grep "$1: message" "$3" "$T/err"
}
refuse "ROW_NUMBER without a filter" "SELECT id, ROW_NUMBER() OVER (PARTITION BY id ORDER BY v) AS rn FROM s;" \
    "bad.sql:4:12: ROW_NUMBER needs a filter on it in the enclosing query"
refuse "no upper bound" \
    "SELECT * FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY id ORDER BY v) AS rn FROM s) WHERE rn > 3;" \
    "bad.sql:4:27: ROW_NUMBER needs a filter"
refuse "an empty rank range" \
    "SELECT * FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY id ORDER BY v) AS rn FROM s) WHERE rn < 1;" \
    "bad.sql:4:94: this filter leaves no rank of the ROW_NUMBER"
refuse "a frame" \
    "SELECT * FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY v ROWS 2 PRECEDING) AS rn FROM s) WHERE rn < 3;" \
    "bad.sql:4:57: ROW_NUMBER takes no frame"

e2e_finish
