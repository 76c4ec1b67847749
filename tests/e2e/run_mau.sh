#!/bin/bash
# The shipped examples/mau.sql (monthly active users: HOP 1 day slide,
# 30 days size, COUNT(DISTINCT user_id)) run by `tide run` on an
# awk-generated CSV of logins over 40 days, out of order within the 5 s
# watermark bound; every window row is compared with sqlite3 computing, for
# each window [k days, k days + 30 days) holding at least one login, the
# distinct users inside it.  P = 1 and 2.
. "$(dirname "$0")/lib.bash"
e2e_init run_mau
B=$TIDE_BIN
command -v sqlite3 >/dev/null || { echo "sqlite3 missing (scripts/deps.sh installs it)" >&2; exit 1; }
SRC=${TIDE_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
[ -f "$SRC/examples/mau.sql" ] || { echo "examples/mau.sql not found under $SRC" >&2; exit 1; }

# 6000 logins over 40 days from 2024-02-10 (crosses the end of February of
# a leap year), 2000 users with a drifting active set: on day d the users
# are about 25 d .. 25 d + 400, so the monthly count rises and falls.  One
# in five rows is up to 4 s before the largest time so far.
mkdir -p "$T/ex"
awk 'BEGIN {
    seed = 777; n = 6000; span = 40 * 86400000; step = span / n
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
disorder=$(awk -F, '$1 < prev { n++ } { if ($1 > prev) prev = $1 } END { print n + 0 }' "$T/ex/logins.csv")
if [ "$disorder" -gt 100 ]; then ok "input is out of order ($disorder rows)"; else bad "input order" "only $disorder rows out of order"; fi
cp "$SRC/examples/mau.sql" "$T/ex/"

sqlite3 "$T/db" <<EOF
CREATE TABLE logins (ts TEXT, user_id INTEGER, country TEXT, device TEXT);
.mode csv
.import $T/ex/logins.csv logins
.import $T/ex/logins.csv logins
EOF
# A login on day D lies in the windows starting on days D-29 .. D, i.e.
# ending on days D+1 .. D+30.
sqlite3 -list -separator , "$T/db" "
    WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k WHERE n < 30)
    SELECT date(ts, '+' || n || ' days') || ' 00:00:00.000', COUNT(DISTINCT user_id)
    FROM logins, k GROUP BY 1" | sort >"$T/want"
expect_eq "sqlite3: windows (40 days of data + 29)" "$(wc -l <"$T/want")" "69"

for p in 1 2; do
    (cd / && "$B" run "$T/ex/mau.sql" --format csv --parallelism $p >"$T/got" 2>"$T/err")
    expect_eq "mau.sql P=$p: exit status" "$?" "0"
    expect_eq "mau.sql P=$p: csv header" "$(head -1 "$T/got")" "day_end,mau"
    expect_grep "mau.sql P=$p: summary line" "^records in 6000, out 69, late 0, bad 0$" "$T/err"
    tail -n +2 "$T/got" | sort >"$T/got.sorted"
    if cmp -s "$T/got.sorted" "$T/want"; then
        ok "mau.sql P=$p: $(wc -l <"$T/want") windows equal sqlite3's"
    else
        bad "mau.sql P=$p" "rows differ: $(diff "$T/got.sorted" "$T/want" | head -5)"
    fi
done
max=$(sort -t, -k2 -n "$T/want" | tail -1 | cut -d, -f2)
if [ "$max" -gt 400 ]; then ok "monthly counts exceed a single day's set ($max)"; else bad "mau spread" "max $max"; fi

e2e_finish
