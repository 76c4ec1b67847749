#!/bin/bash
# Out-of-order and late data through `tide run`: the shipped
# examples/late.sql on examples/late.csv, then the same query shape on an
# awk-generated stream with heavy disorder.  The changelog is applied (+I/+U
# set a window's row, -U/-D remove it) and the final count per window must
# equal awk's count of the rows that were not too late, where a row is too
# late when, at its arrival, W = (max ts of the rows before it) - bound is
# >= its window's end - 1 ms + allowed lateness (a window fires at its last
# millisecond, as in Flink); the summary's `late N` must equal awk's count
# of those dropped rows.
. "$(dirname "$0")/lib.bash"
e2e_init run_late
B=$TIDE_BIN
SRC=${TIDE_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
[ -f "$SRC/examples/late.sql" ] || { echo "examples/late.sql not found under $SRC" >&2; exit 1; }

# model CSV SIZE_MS BOUND_MS LATENESS_MS: "start_ms,count" per window (sorted)
# and a last line "late N".  Times are 'YYYY-MM-DD HH:MM:SS[.fff]' of one day.
model() {
    awk -F, -v size="$2" -v bound="$3" -v lat="$4" '
    function ms(s,   h, m, x) { h = substr(s, 12, 2); m = substr(s, 15, 2); x = substr(s, 18)
        return h * 3600000 + m * 60000 + int(x * 1000 + 0.5) }
    BEGIN { have = 0 }
    {
        t = ms($1); st = t - t % size; end = st + size
        if (have && mx - bound >= end - 1 + lat) late++
        else cnt[st]++
        if (!have || t > mx) mx = t
        have = 1
    }
    END { for (s in cnt) print s "," cnt[s] | "sort -n"; close("sort -n"); print "late " late + 0 }' "$1"
}

# final CHANGELOG_CSV: apply the changelog (op,window_start,...,count),
# print "start_ms,count" per window that has a row at the end (sorted).
final() {
    awk -F, '
    function ms(s,   h, m, x) { h = substr(s, 12, 2); m = substr(s, 15, 2); x = substr(s, 18)
        return h * 3600000 + m * 60000 + int(x * 1000 + 0.5) }
    NR == 1 { next }
    $1 == "+I" || $1 == "+U" { v[ms($2)] = $NF; next }
    $1 == "-U" || $1 == "-D" { delete v[ms($2)]; next }
    { print "bad op " $1; exit 1 }
    END { for (s in v) print s "," v[s] | "sort -n" }' "$1"
}

# check NAME SQL CSV SIZE BOUND LATENESS [tide options]
check() {
    local name=$1 sql=$2 csv=$3 size=$4 bound=$5 lat=$6
    shift 6
    (cd / && "$B" run "$sql" --format csv "$@" >"$T/got" 2>"$T/err")
    expect_eq "$name: exit status" "$?" "0"
    model "$csv" "$size" "$bound" "$lat" >"$T/model"
    grep -v '^late ' "$T/model" >"$T/want"
    local nlate
    nlate=$(sed -n 's/^late //p' "$T/model")
    final "$T/got" >"$T/final"
    if [ -s "$T/want" ] && cmp -s "$T/final" "$T/want"; then
        ok "$name: final counts of $(wc -l <"$T/want") windows equal awk's"
    else
        bad "$name" "final rows differ: $(diff "$T/final" "$T/want" | head -5)"
    fi
    expect_grep "$name: summary late $nlate" "^records in $(wc -l <"$csv"), out [0-9]+, late $nlate, bad 0$" "$T/err"
    local ups downs
    ups=$(grep -c '^+U,' "$T/got")
    downs=$(grep -c '^-U,' "$T/got")
    if [ "$ups" -gt 0 ] && { [ "$downs" == "$ups" ] || [ "$downs" == 0 ]; }; then
        ok "$name: $ups +U rows, $downs -U rows"
    else
        bad "$name" "$ups +U rows, $downs -U rows"
    fi
}

# ---- the shipped example: its story says 12:00 -> 8, 12:01 -> 8,
# 12:02 -> 5, 12:03 -> 3 and late 3 ----
mkdir -p "$T/ex"
cp "$SRC/examples/late.sql" "$SRC/examples/late.csv" "$T/ex/"
check "late.sql" "$T/ex/late.sql" "$T/ex/late.csv" 60000 5000 30000
expect_eq "late.sql: the documented story" "$(tr '\n' ' ' <"$T/model")" \
    "43200000,8 43260000,8 43320000,5 43380000,3 late 3 "
expect_grep "late.sql: early firing (+I before the window is complete)" \
    "^\+I,2024-05-01 12:00:00.000,2024-05-01 12:01:00.000,3$" "$T/got"

# ---- a generated stream: 3000 views over 2 hours, one in four delayed by
# up to 90 s behind the largest time so far (some within the 20 s
# lateness, some beyond it) ----
awk 'BEGIN {
    seed = 4242; n = 3000; step = 7200000 / n
    for (i = 0; i < n; i++) {
        seed = (seed * 1103515245 + 12345) % 2147483648
        r = int(seed / 65536)
        t = int(i * step) + r % 2000
        seed = (seed * 1103515245 + 12345) % 2147483648
        if (r % 4 == 0 && i > 0) t = mx - 1 - int(seed / 65536) * 3 % 90000
        if (t < 0) t = 0
        if (t > mx) mx = t
        h = int(t / 3600000); mi = int(t / 60000) % 60; s = int(t / 1000) % 60; f = t % 1000
        printf "2024-05-01 %02d:%02d:%02d.%03d,%d,/p%d\n", h, mi, s, f, r % 100, r % 7
    }
}' >"$T/gen.csv"
gen_sql() {
    cat <<EOF
CREATE TABLE views (ts TIMESTAMP(3), user_id BIGINT, page STRING,
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND)
WITH ('connector' = 'file', 'path' = '$T/gen.csv', 'format' = 'csv');
SELECT window_start, window_end, COUNT(*) AS views
FROM TABLE(TUMBLE(TABLE views, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
GROUP BY window_start, window_end
EMIT $1;
EOF
}
gen_sql "EARLY EVERY 5 ROWS ALLOW LATENESS INTERVAL '20' SECOND RETRACTING" >"$T/gen1.sql"
check "generated, retracting" "$T/gen1.sql" "$T/gen.csv" 60000 5000 20000
nl=$(sed -n 's/^late //p' "$T/model")
if [ "$nl" -gt 20 ] && [ "$nl" -lt 750 ]; then ok "generated: $nl rows too late, the rest counted"; else bad "generated lateness" "late $nl"; fi
gen_sql "ALLOW LATENESS INTERVAL '20' SECOND EARLY EVERY 7 ROWS" >"$T/gen2.sql"
check "generated, accumulating, parallelism 2" "$T/gen2.sql" "$T/gen.csv" 60000 5000 20000 --parallelism 2
gen_sql "ALLOW LATENESS INTERVAL '1' MINUTE" >"$T/gen3.sql"
check "generated, lateness 1 minute, no early firings" "$T/gen3.sql" "$T/gen.csv" 60000 5000 60000

e2e_finish
