#!/bin/bash
# An unwindowed GROUP BY with WHERE and HAVING run by `tide run` on an
# awk-generated CSV of logins, P = 1, 2 and 4.  The output is a changelog
# (op column); awk applies it to a map (+I/+U set, -U/-D delete) checking
# that it is well formed (+I of a key without a row, -U/-D retract the row
# the key has, every -U is followed by the +U of its key) and the final map
# is compared with sqlite3's GROUP BY ... HAVING over the same file: exactly
# equal.  The HAVING band makes countries enter the result (+I) and leave it
# (-D) as their counts grow.  Then examples/countries.sql on the same data.
. "$(dirname "$0")/lib.bash"
e2e_init run_groupby
B=$TIDE_BIN
command -v sqlite3 >/dev/null || { echo "sqlite3 missing (scripts/deps.sh installs it)" >&2; exit 1; }
SRC=${TIDE_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}

# 30000 logins over 3 days from 2024-06-01, 5000 users, 10 countries with
# skewed shares (28% .. 1%), one in five rows up to 4 s before the largest
# time so far (within the 5 s watermark bound).
mkdir -p "$T/ex"
awk 'BEGIN {
    seed = 4242; n = 30000; span = 3 * 86400000; step = span / n
    split("US IN DE FR BR JP GB ID MX NG", ctry, " "); split("28 20 14 10 8 7 5 4 3 1", share, " ")
    split("ios android web", dev, " ")
    for (i = 0; i < n; i++) {
        seed = (seed * 1103515245 + 12345) % 2147483648
        r = int(seed / 65536)
        t = int(i * step) + r % 3000
        if (r % 5 == 0 && i > 0) t = mx - 1 - r % 4000
        if (t > mx) mx = t
        seed = (seed * 1103515245 + 12345) % 2147483648
        x = int(seed / 65536)
        u = x % 5000 + 1
        seed = (seed * 1103515245 + 12345) % 2147483648
        p = int(seed / 65536) % 100; c = 1
        while (p >= share[c]) { p -= share[c]; c++ }
        d = int(t / 86400000); ms = t % 86400000
        h = int(ms / 3600000); mi = int(ms / 60000) % 60; s = int(ms / 1000) % 60; f = ms % 1000
        printf "2024-06-%02d %02d:%02d:%02d.%03d,%d,%s,%s\n", d + 1, h, mi, s, f, u, ctry[c], dev[r % 3 + 1]
    }
}' >"$T/ex/logins.csv"
expect_eq "input rows" "$(wc -l <"$T/ex/logins.csv")" "30000"
disorder=$(awk -F, '$1 < prev { n++ } { if ($1 > prev) prev = $1 } END { print n + 0 }' "$T/ex/logins.csv")
if [ "$disorder" -gt 1000 ]; then ok "input is out of order ($disorder rows)"; else bad "input order" "only $disorder rows out of order"; fi

sqlite3 "$T/db" <<EOF
CREATE TABLE logins (ts TEXT, user_id INTEGER, country TEXT, device TEXT);
.mode csv
.import $T/ex/logins.csv logins
EOF

cat >"$T/ex/gb.sql" <<'EOF'
CREATE TABLE logins (
  ts TIMESTAMP(3),
  user_id BIGINT,
  country STRING,
  device STRING,
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'file', 'path' = 'logins.csv', 'format' = 'csv');

SELECT country, COUNT(*) AS n, COUNT(DISTINCT user_id) AS u, MAX(user_id) AS top
FROM logins
WHERE device <> 'web'
GROUP BY country
HAVING COUNT(*) >= 300 AND COUNT(*) < 2000;
EOF
sqlite3 -list -separator , "$T/db" "
    SELECT country, COUNT(*), COUNT(DISTINCT user_id), MAX(user_id) FROM logins
    WHERE device <> 'web' GROUP BY country HAVING COUNT(*) >= 300 AND COUNT(*) < 2000" | sort >"$T/want"
expect_eq "sqlite3: countries in the band" "$(wc -l <"$T/want")" "6"
left=$(sqlite3 "$T/db" "SELECT COUNT(*) FROM (SELECT country FROM logins WHERE device <> 'web'
    GROUP BY country HAVING COUNT(*) >= 2000)")
expect_eq "sqlite3: countries past the band (they must leave the result)" "$left" "3"

# apply.awk: the changelog (CSV with a header: op,key,values...) to a map;
# prints the final rows (key,values) and, on stderr, what was wrong.
cat >"$T/apply.awk" <<'EOF'
BEGIN { FS = ","; bad = 0 }
NR == 1 { next }
{
    op = $1; key = $2; row = substr($0, length(op) + 2)
    if (pend != "" && op != "+U") { print "line " NR ": -U of " pend " without its +U" >"/dev/stderr"; bad++ }
    if (op == "+I") {
        if (key in m) { print "line " NR ": +I of " key ", which has a row" >"/dev/stderr"; bad++ }
        m[key] = row; n["+I"]++
    } else if (op == "-U" || op == "-D") {
        if (!(key in m) || m[key] != row) { print "line " NR ": " op " does not retract " key "'s row" >"/dev/stderr"; bad++ }
        delete m[key]; n[op]++
        pend = op == "-U" ? key : ""
        prow = row
    } else if (op == "+U") {
        if (pend != key || prow == row) { print "line " NR ": +U not after a -U of another row of " key >"/dev/stderr"; bad++ }
        m[key] = row; pend = ""; n["+U"]++
    } else { print "line " NR ": op " op >"/dev/stderr"; bad++ }
}
END {
    for (k in m) print m[k]
    printf "ops +I %d -U %d +U %d -D %d bad %d\n", n["+I"], n["-U"], n["+U"], n["-D"], bad >"/dev/stderr"
}
EOF

for p in 1 2 4; do
    (cd / && "$B" run "$T/ex/gb.sql" --format csv --parallelism $p >"$T/got.$p" 2>"$T/err")
    expect_eq "P=$p: exit status" "$?" "0"
    expect_eq "P=$p: csv header" "$(head -1 "$T/got.$p")" "op,country,n,u,top"
    expect_grep "P=$p: summary line" "^records in 30000, out [0-9]+, late 0, bad 0$" "$T/err"
    awk -f "$T/apply.awk" "$T/got.$p" 2>"$T/apply.err" | sort >"$T/final.$p"
    expect_grep "P=$p: a well-formed changelog" " bad 0$" "$T/apply.err"
    expect_grep "P=$p: rows enter, change and leave the result" "^ops \+I [1-9][0-9]* -U [1-9][0-9]* \+U [1-9][0-9]* -D [1-9][0-9]* " "$T/apply.err"
    if cmp -s "$T/final.$p" "$T/want"; then
        ok "P=$p: the applied changelog equals sqlite3's GROUP BY ... HAVING ($(wc -l <"$T/want") rows)"
    else
        bad "P=$p" "rows differ: $(diff "$T/final.$p" "$T/want" | head -5)"
    fi
done
if cmp -s "$T/got.1" "$T/got.2" && cmp -s "$T/got.1" "$T/got.4"; then
    ok "P=1, 2, 4: identical changelogs ($(($(wc -l <"$T/got.1") - 1)) rows)"
else
    bad "P=1, 2, 4" "changelogs differ"
fi

# the summed COUNT(*) over the changelog without HAVING: +I/+U add, -U/-D subtract
sed -e '/^HAVING/d' -e 's/^GROUP BY country$/GROUP BY country;/' "$T/ex/gb.sql" >"$T/ex/nohaving.sql"
(cd / && "$B" run "$T/ex/nohaving.sql" --format csv --parallelism 2 >"$T/got.nh" 2>"$T/err")
expect_eq "no HAVING: exit status" "$?" "0"
sum=$(awk -F, 'NR > 1 { s += ($1 == "+I" || $1 == "+U") ? $3 : -$3 } END { print s }' "$T/got.nh")
expect_eq "no HAVING: COUNT(*) summed over the changelog" "$sum" \
    "$(sqlite3 "$T/db" "SELECT COUNT(*) FROM logins WHERE device <> 'web'")"

# tide explain shows the aggregation
"$B" explain "$T/ex/gb.sql" >"$T/explain" 2>&1
expect_grep "explain: the aggregation" "Aggregate keys=\[country\] aggs=\[COUNT\(\*\), COUNT\(DISTINCT user_id\), MAX\(user_id\)\] \[changelog\]" "$T/explain"
expect_grep "explain: HAVING" "Filter COUNT\(\*\) >= 300 AND COUNT\(\*\) < 2000 \[changelog\]" "$T/explain"

# the shipped example
if [ -f "$SRC/examples/countries.sql" ]; then
    cp "$SRC/examples/countries.sql" "$T/ex/"
    (cd / && "$B" run "$T/ex/countries.sql" --format csv --parallelism 2 >"$T/got.ex" 2>"$T/err")
    expect_eq "countries.sql: exit status" "$?" "0"
    awk -f "$T/apply.awk" "$T/got.ex" 2>"$T/apply.err" | sort >"$T/final.ex"
    expect_grep "countries.sql: a well-formed changelog" " bad 0$" "$T/apply.err"
    sqlite3 -list -separator , "$T/db" "
        SELECT country, COUNT(*), COUNT(DISTINCT user_id) FROM logins
        GROUP BY country HAVING COUNT(DISTINCT user_id) >= 1000" | sort >"$T/want.ex"
    if cmp -s "$T/final.ex" "$T/want.ex"; then
        ok "countries.sql: equals sqlite3 ($(wc -l <"$T/want.ex") rows)"
    else
        bad "countries.sql" "rows differ: $(diff "$T/final.ex" "$T/want.ex" | head -5)"
    fi
else
    bad "examples/countries.sql" "not found under $SRC"
fi

e2e_finish
