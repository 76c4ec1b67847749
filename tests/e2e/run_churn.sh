#!/bin/bash
# The shipped examples/churn.sql (churn since launch at each day's end: a
# HOP 30-day MAU joined on window_end with a CUMULATE users-seen count) run
# by `tide run` on an awk-generated CSV of logins over 120 days (out of
# order within the 5 s watermark bound), compared with sqlite3 computing,
# for each day end D with a login in the 30 days before it: users with a
# first login before D, users active in [D - 30 days, D), and, directly,
# users whose last login before D is before D - 30 days; the rounded
# percentage from those integers.  Exact equality, same row order, and the
# same bytes for P = 1, 2 and 4.
. "$(dirname "$0")/lib.bash"
e2e_init run_churn
B=$TIDE_BIN
command -v sqlite3 >/dev/null || { echo "sqlite3 missing (scripts/deps.sh installs it)" >&2; exit 1; }
SRC=${TIDE_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
[ -f "$SRC/examples/churn.sql" ] || { echo "examples/churn.sql not found under $SRC" >&2; exit 1; }

# 12000 logins over 120 days from 2024-01-05 (crosses the end of February
# of a leap year).  Users: 20% a loyal group 1..50 active all along; 10%
# returners 5001..5200 at random times (long gaps, so they churn and come
# back); the rest a drifting set around 100 + 20 d .. + 300 on day d, so
# users leave for good.  One in five rows is up to 4 s before the largest
# time so far.
mkdir -p "$T/ex"
awk 'BEGIN {
    seed = 4242; n = 12000; span = 120 * 86400000; step = span / n
    split("31 29 31 30 31 30", mdays, " "); split("US IN DE FR", ctry, " "); split("ios android web", dev, " ")
    for (i = 0; i < n; i++) {
        seed = (seed * 1103515245 + 12345) % 2147483648
        r = int(seed / 65536)
        t = int(i * step) + r % 5000
        if (r % 5 == 0 && i > 0) t = mx - 1 - r % 4000
        if (t > mx) mx = t
        d = int(t / 86400000); ms = t % 86400000
        seed = (seed * 1103515245 + 12345) % 2147483648
        q = int(seed / 65536)
        if (q % 10 < 2) u = 1 + q % 50
        else if (q % 10 == 2) u = 5001 + int(q / 10) % 200
        else u = 100 + 20 * d + int(q / 10) % 300
        m = 1; dd = 5 + d
        while (dd > mdays[m]) { dd -= mdays[m]; m++ }
        h = int(ms / 3600000); mi = int(ms / 60000) % 60; s = int(ms / 1000) % 60; f = ms % 1000
        printf "2024-%02d-%02d %02d:%02d:%02d.%03d,%d,%s,%s\n", m, dd, h, mi, s, f, u, ctry[u % 4 + 1], dev[r % 3 + 1]
    }
}' >"$T/ex/logins.csv"
expect_eq "input rows" "$(wc -l <"$T/ex/logins.csv")" "12000"
disorder=$(awk -F, '$1 < prev { n++ } { if ($1 > prev) prev = $1 } END { print n + 0 }' "$T/ex/logins.csv")
if [ "$disorder" -gt 100 ]; then ok "input is out of order ($disorder rows)"; else bad "input order" "only $disorder rows out of order"; fi
cp "$SRC/examples/churn.sql" "$T/ex/"

sqlite3 "$T/db" <<EOF
CREATE TABLE logins (ts TEXT, user_id INTEGER, country TEXT, device TEXT);
.mode csv
.import $T/ex/logins.csv logins
CREATE INDEX logins_ts ON logins (ts);
EOF
# The day ends D with a login in [D - 30 days, D): the days after a login's
# day, up to 30 of them.  For each: seen, active and churned computed
# separately (churned from each user's last login before D).
sqlite3 -list -separator , "$T/db" "
    WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k WHERE n < 30),
    days(d) AS (SELECT DISTINCT date(ts, '+' || n || ' days') FROM logins, k),
    c AS (
      SELECT d,
        (SELECT COUNT(DISTINCT user_id) FROM logins WHERE ts < d || ' 00:00:00.000') AS seen,
        (SELECT COUNT(DISTINCT user_id) FROM logins
           WHERE ts >= date(d, '-30 days') || ' 00:00:00.000' AND ts < d || ' 00:00:00.000') AS active,
        (SELECT COUNT(*) FROM (SELECT MAX(ts) AS last FROM logins WHERE ts < d || ' 00:00:00.000' GROUP BY user_id)
           WHERE last < date(d, '-30 days') || ' 00:00:00.000') AS churned
      FROM days),
    p AS (SELECT d, seen, active, churned, (churned * 20000 + seen) / (2 * seen) AS bp FROM c)
    SELECT d || ' 00:00:00.000', seen, active, churned,
      CASE WHEN bp % 100 = 0 THEN printf('%d', bp / 100)
           WHEN bp % 10 = 0 THEN printf('%d.%d', bp / 100, (bp % 100) / 10)
           ELSE printf('%d.%02d', bp / 100, bp % 100) END
    FROM p ORDER BY d" >"$T/want"
expect_eq "sqlite3: days (120 days of data + 29)" "$(wc -l <"$T/want")" "149"
inconsistent=$(awk -F, '$2 - $3 != $4' "$T/want" | wc -l)
expect_eq "sqlite3: churned = seen - active on every day" "$inconsistent" "0"

for p in 1 2 4; do
    (cd / && "$B" run "$T/ex/churn.sql" --format csv --parallelism $p >"$T/got.$p" 2>"$T/err")
    expect_eq "churn.sql P=$p: exit status" "$?" "0"
    expect_eq "churn.sql P=$p: csv header" "$(head -1 "$T/got.$p")" "day_end,seen,active,churned,churn_pct"
    expect_grep "churn.sql P=$p: summary line (the file counts once)" "^records in 12000, out 149, late 0, bad 0$" "$T/err"
    tail -n +2 "$T/got.$p" >"$T/got"
    if cmp -s "$T/got" "$T/want"; then
        ok "churn.sql P=$p: $(wc -l <"$T/want") days equal sqlite3's, in order"
    else
        bad "churn.sql P=$p" "rows differ: $(diff "$T/got" "$T/want" | head -6)"
    fi
done
if cmp -s "$T/got.1" "$T/got.2" && cmp -s "$T/got.1" "$T/got.4"; then ok "P = 1, 2, 4 give the same bytes"; else bad "determinism" "outputs differ"; fi
mid=$(awk -F, '$1 == "2024-04-20 00:00:00.000" { print $4 }' "$T/want")
if [ -n "$mid" ] && [ "$mid" -gt 100 ]; then ok "churn well under way mid-run ($mid users on 2024-04-20)"; else bad "churn spread" "churned on 2024-04-20: '$mid'"; fi

# explain shows the join of the two aggregations
(cd / && "$B" explain "$T/ex/churn.sql" >"$T/plan" 2>&1)
expect_grep "explain: the join" "Join INNER .*on mau.window_end = seen.window_end" "$T/plan"
expect_grep "explain: the cumulate side" "WindowAggregate CUMULATE\(ts, 1 DAY, 3650 DAY\)" "$T/plan"

e2e_finish
