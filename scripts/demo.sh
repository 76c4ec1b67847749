#!/bin/sh
# Install what is missing, build, and run the demo on the embedded default
# (data directory ./tide-data, generated data; nothing else to install or start):
#   1. the durable log: a 4-partition topic, 100,000 generated logins in and out;
#   2. streaming SQL on the built-in 'logins' generator (4,000,000 logins of
#      100,000 users over 91 days, 5% out of order): daily active users
#      (examples/demo_dau.sql), monthly active users and churn
#      (examples/demo_churn.sql: a join of two windowed aggregations),
#      printed as one aligned table per day and a terminal chart (`tide chart`).
set -eu
cd "$(dirname "$0")/.."
. scripts/deps.sh
dir=$(scripts/build.sh)
tide="$dir/tide"

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
t0=$(now)

echo "== 1. the log"
"$tide" demo "$@"
echo

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# The queries, one per line: a name and a script printing CSV "day,<values>"
# (day = yyyy-MM-dd).  The table keeps the days of the first one.
queries="dau examples/demo_dau.sql
churn examples/demo_churn.sql"

echo "== 2. streaming SQL on 4,000,000 generated logins (91 days, 5% out of order)"
sql_t0=$(now)
echo "$queries" | while read -r name file; do
    t=$(now)
    if ! "$tide" run "$file" --format csv >"$tmp/$name.csv" 2>"$tmp/$name.err"; then
        cat "$tmp/$name.err" >&2
        exit 2
    fi
    printf '   %-24s %5s s   %s\n' "$file" "$(secs "$t")" "$(tail -n 1 "$tmp/$name.err")"
done
sql_secs=$(secs "$sql_t0")

# One table: the days of the first query, with every value column of every
# query on that day (blank when it has none).
# shellcheck disable=SC2046
awk -F, '
    FNR == 1 { for (i = 2; i <= NF; i++) { cols[++nc] = $i; from[FILENAME, i] = nc } first = first == "" ? FILENAME : first; next }
    { for (i = 2; i <= NF; i++) val[from[FILENAME, i], $1] = $i; if (FILENAME == first) days[++nd] = $1 }
    END {
        line = "day"; for (c = 1; c <= nc; c++) line = line "," cols[c]; print line
        for (d = 1; d <= nd; d++) {
            line = days[d]
            for (c = 1; c <= nc; c++) line = line "," ((c, days[d]) in val ? val[c, days[d]] : "")
            print line
        }
    }' $(echo "$queries" | awk -v t="$tmp" '{ print t "/" $1 ".csv" }') >"$tmp/all.csv"
echo
# the table: ratio columns (churn) in percent
awk -F, '{
    line = sprintf("   %-10s", $1)
    for (i = 2; i <= NF; i++) {
        if (NR == 1) pct[i] = $i == "churn"
        v = NR > 1 && pct[i] && $i != "" ? sprintf("%.1f%%", $i * 100) : $i
        line = line sprintf("  %7s", v)
    }
    print line
}' "$tmp/all.csv"
echo
"$tide" chart "$tmp/all.csv" --x day --height 4
echo
days=$(($(wc -l <"$tmp/all.csv") - 1))
echo "You saw exact DAU, MAU and churn for $days days from 4,000,000 out-of-order events, by streaming SQL in $sql_secs s ($(secs "$t0") s in all). Next: examples/demo_churn.sql, then 'Running SQL' in the README."
