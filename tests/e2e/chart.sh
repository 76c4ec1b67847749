#!/bin/bash
# `tide chart` end to end: exact output for a small CSV (worked out by hand
# from the scale rule in src/data/chart.h), default columns, a file and
# stdin, grouping of long inputs within 80 columns, the chart of a real
# query's output, and bad input named by line:col.
. "$(dirname "$0")/lib.bash"
e2e_init chart
B=$TIDE_BIN

cat >"$T/small.csv" <<'EOF'
day,dau,share
2024-01-01,10,0.25
2024-01-02,20,0.5
2024-01-03,,0.375
EOF
# dau: lo 10, hi 20, 8 steps: 10 -> 1, 20 -> 8, missing -> blank (trimmed)
# share (a ratio: percent): .25 -> 1, .5 -> 8, .375 -> 1 + round(3.5) = 5
# labels are 3 wide ("20", "50%"); the x labels don't fit side by side.
printf '%s\n' \
    "dau  min 10  max 20  last 20" \
    " 20 ┤▁█" \
    "share  min 25%  max 50%  last 37.5%" \
    "50% ┤▁█▅" \
    "    └───" \
    "     2024-01-01" >"$T/small.want"
expect_status "small: exit 0" 0 "$B" chart "$T/small.csv" --x day --y dau,share --height 1 --width 40
if cmp -s "$T/out" "$T/small.want"; then ok "small: the chart worked out by hand"; else bad "small chart" "$(diff "$T/out" "$T/small.want")"; fi
expect_status "defaults (x: first column, y: numeric ones), stdin" 0 sh -c "\"$B\" chart --height 1 --width 40 <\"$T/small.csv\""
if cmp -s "$T/out" "$T/small.want"; then ok "defaults: same chart"; else bad "defaults" "$(diff "$T/out" "$T/small.want")"; fi
expect_status "'-' is stdin" 0 sh -c "\"$B\" chart - --height 1 --width 40 <\"$T/small.csv\""
if cmp -s "$T/out" "$T/small.want"; then ok "'-': same chart"; else bad "'-'" "$(diff "$T/out" "$T/small.want")"; fi
expect_status "ascii" 0 "$B" chart "$T/small.csv" --y dau --height 1 --width 40 --ascii
expect_eq "ascii bars" "$(sed -n 2p "$T/out")" "20 +.#"

# 91 days fit 80 columns two to a column; every line fits
awk 'BEGIN { print "day,n"; for (i = 0; i < 91; i++) printf "d%02d,%d\n", i, 1000 + (i * 37) % 500 }' >"$T/long.csv"
expect_status "long: exit 0" 0 "$B" chart "$T/long.csv"
widest=$(awk '{ n = 0; for (i = 1; i <= length($0); i++) { c = substr($0, i, 1); if (c < "\200" || c >= "\300") n++ } if (n > w) w = n } END { print w }' "$T/out")
if [ "$widest" -le 80 ]; then ok "long: fits 80 columns (widest line $widest)"; else bad "long width" "widest line $widest"; fi
expect_grep "long: grouping footer" "^\(91 rows, 2 to a column: each column is their mean\)$" "$T/out"
expect_eq "long: panel rows (title, 4 rows, axis, labels, footer)" "$(wc -l <"$T/out")" "8"

# a query's output: DAU of a small CSV, charted through a pipe
awk 'BEGIN { for (i = 0; i < 3000; i++) printf "2024-01-%02d %02d:00:00.000,%d,US,ios\n", int(i / 300) + 1, (i % 300) / 13, (i * 7) % (200 + 20 * int(i / 300)) }' >"$T/logins.csv"
cat >"$T/dau.sql" <<'EOF'
CREATE TABLE logins (ts TIMESTAMP(3), user_id BIGINT, country STRING, device STRING,
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND) WITH ('connector' = 'file', 'path' = 'logins.csv', 'format' = 'csv');
SELECT window_start, window_end, COUNT(DISTINCT user_id) AS dau
FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' DAY)) GROUP BY window_start, window_end;
EOF
expect_status "pipe from tide run" 0 sh -c "\"$B\" run \"$T/dau.sql\" --format csv 2>/dev/null | \"$B\" chart --x window_start"
# distinct users per day, brute force over the CSV: min, max, last
read -r want_min want_max want_last < <(awk -F, '{ d = substr($1, 1, 10); if (!((d, $2) in seen)) { seen[d, $2] = 1; n[d]++ } }
    END { for (d in n) { if (min == "" || n[d] < min) min = n[d]; if (n[d] > max) max = n[d] } print min, max, n["2024-01-10"] }' "$T/logins.csv")
expect_grep "pipe: title from the query's numbers" "^dau  min $want_min  max $want_max  last $want_last$" "$T/out"
expect_grep "pipe: x label without the common midnight" "^     2024-01-01$" "$T/out"

# ---- errors ----
printf 'day,dau\n2024-01-01,10\n2024-01-02,1x2\n' >"$T/bad.csv"
expect_status "not a number: exit 2" 2 "$B" chart "$T/bad.csv"
expect_grep "not a number: file:line:col" "bad\.csv:3:12: column 'dau': '1x2' is not a number" "$T/err"
printf 'day,dau\n2024-01-01,10\n2024-01-02,12,5\n' | "$B" chart >"$T/out" 2>"$T/err"
expect_eq "wrong field count: exit 2" "$?" "2"
expect_grep "wrong field count: stdin:line" "stdin:3: expected 2 fields \(as the header\), found 3" "$T/err"
printf 'day,dau\n2024-01-01,"10\n' | "$B" chart >"$T/out" 2>"$T/err"
expect_eq "unclosed quote: exit 2" "$?" "2"
expect_grep "unclosed quote: stdin:line:col" "stdin:2:12: " "$T/err"
expect_status "unknown --y column: exit 2" 2 "$B" chart "$T/small.csv" --y dau,mau
expect_grep "unknown --y column named" "small\.csv:1: no column 'mau' in the header" "$T/err"
expect_status "unknown --x column: exit 2" 2 "$B" chart "$T/small.csv" --x date
expect_grep "unknown --x column named" "no column 'date'" "$T/err"
expect_status "no numbers: exit 2" 2 sh -c "printf 'a,b\nx,y\n' | \"$B\" chart"
expect_grep "no numbers: says so" "stdin:2: no column holds numbers" "$T/err"
expect_status "empty input: exit 2" 2 sh -c "\"$B\" chart </dev/null"
expect_grep "empty input: says so" "no header row" "$T/err"
expect_status "header only: exit 0" 0 sh -c "printf 'day,dau\n' | \"$B\" chart --y dau"
expect_grep "header only: no rows" "^dau  \(no rows\)$" "$T/out"
expect_status "missing file: exit 2" 2 "$B" chart "$T/nope.csv"
expect_grep "missing file named" "nope\.csv" "$T/err"
expect_status "bad --width: exit 1" 1 "$B" chart "$T/small.csv" --width 5
expect_grep "bad --width: says the range" "--width must be 24\.\.1000" "$T/err"
expect_status "bad --height: exit 1" 1 "$B" chart "$T/small.csv" --height 0
expect_status "unknown option: exit 1" 1 "$B" chart "$T/small.csv" --colour
expect_status "--help" 0 "$B" chart --help
expect_grep "--help: usage" "^Usage: tide chart \[FILE\]" "$T/out"
expect_status "tide --help lists chart" 0 "$B" --help
expect_grep "tide --help: chart" "^  chart \[FILE\]" "$T/out"

e2e_finish
