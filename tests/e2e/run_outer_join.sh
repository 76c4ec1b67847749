#!/bin/bash
# LEFT, RIGHT and FULL OUTER interval and window joins by `tide run`, compared
# with sqlite3 (3.39+ for RIGHT and FULL) computing the same outer join over
# the same CSV.  Rows come up to 4 s out of order within the 5 s watermark
# bound, so no row is late and the padded rows tide emits when an interval
# or a window closes are exactly SQL's: the same multiset of rows.  The ON
# condition has conjuncts beyond keys and bounds (one on each side, and one
# on the left side alone), which decide inside the join whether a pair
# matches; some user ids are NULL (they match nothing: padded).  P = 1, 2, 4
# give the same bytes.  (When each padded row comes out is checked against a
# brute-force model in tests/unit/test_join_outer.c.)
. "$(dirname "$0")/lib.bash"
e2e_init run_outer_join
B=$TIDE_BIN
command -v sqlite3 >/dev/null || { echo "sqlite3 missing (scripts/deps.sh installs it)" >&2; exit 1; }
case "$(sqlite3 --version)" in
3.[0-9].* | 3.[12][0-9].* | 3.3[0-8].*) skip "outer joins" "sqlite3 older than 3.39 has no RIGHT / FULL JOIN"; e2e_finish ;;
esac

mkdir -p "$T/ex"
# 6000 logins over 5 days of 120 users; 1 in 50 without a user id.
awk 'BEGIN {
    seed = 77; n = 6000; span = 5 * 86400000; step = span / n
    split("US IN DE FR", ctry, " "); split("ios android web", dev, " ")
    for (i = 0; i < n; i++) {
        seed = (seed * 1103515245 + 12345) % 2147483648
        r = int(seed / 65536)
        t = int(i * step) + r % 5000
        if (r % 5 == 0 && i > 0) t = mx - 1 - r % 4000
        if (t > mx) mx = t
        d = int(t / 86400000); ms = t % 86400000
        seed = (seed * 1103515245 + 12345) % 2147483648
        u = int(seed / 65536) % 120 + 1
        h = int(ms / 3600000); mi = int(ms / 60000) % 60; s = int(ms / 1000) % 60; f = ms % 1000
        uid = (r % 50 == 7) ? "" : u
        printf "2024-05-%02d %02d:%02d:%02d.%03d,%s,%s,%s\n", 1 + d, h, mi, s, f, uid, ctry[u % 4 + 1], dev[r % 3 + 1]
    }
}' >"$T/ex/logins.csv"
expect_eq "input rows" "$(wc -l <"$T/ex/logins.csv")" "6000"
DDL="CREATE TABLE logins (
  ts TIMESTAMP(3), user_id BIGINT, country STRING, device STRING,
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'file', 'path' = 'logins.csv', 'format' = 'csv');"
sqlite3 "$T/db" <<EOF
CREATE TABLE raw (ts TEXT, user_id TEXT, country TEXT, device TEXT);
.mode csv
.import $T/ex/logins.csv raw
CREATE TABLE logins AS
  SELECT ts, CAST(NULLIF(user_id, '') AS INTEGER) AS user_id, country, device,
         CAST(round((julianday(ts) - 2440587.5) * 86400000) AS INTEGER) AS ms FROM raw;
CREATE INDEX lu ON logins (user_id);
EOF

# check NAME TIDE-QUERY SQLITE-QUERY: the rows equal as multisets at P = 1, 2, 4,
# the same bytes, and padded rows on each outer side.
check() {
    local name=$1 q=$2 want=$3
    printf '%s\n%s\n' "$DDL" "$q" >"$T/ex/$name.sql"
    sqlite3 -list -separator , "$T/db" "$want" | sort >"$T/$name.want"
    local n pad
    n=$(wc -l <"$T/$name.want")
    pad=$(grep -c -E '^,|,$' "$T/$name.want")
    case $name in *INNER) pad=51 ;; esac # (an inner join pads nothing)
    if [ "$n" -gt 500 ] && [ "$pad" -gt 50 ]; then ok "$name: sqlite3 gives $n rows, $pad padded"; else bad "$name: sqlite3 rows" "$n rows, $pad padded"; fi
    for p in 1 2 4; do
        (cd / && "$B" run "$T/ex/$name.sql" --format csv --parallelism $p >"$T/$name.$p" 2>"$T/err")
        expect_eq "$name P=$p: exit status" "$?" "0"
        expect_grep "$name P=$p: summary" "^records in 6000, out $n, late 0, bad 0$" "$T/err"
        if tail -n +2 "$T/$name.$p" | sort | cmp -s - "$T/$name.want"; then
            ok "$name P=$p: $n rows equal sqlite3's (as a multiset)"
        else
            bad "$name P=$p" "$(tail -n +2 "$T/$name.$p" | sort | diff - "$T/$name.want" | head -5)"
        fi
    done
    if cmp -s "$T/$name.1" "$T/$name.2" && cmp -s "$T/$name.1" "$T/$name.4"; then
        ok "$name: P = 1, 2, 4 give the same bytes"
    else
        bad "$name: determinism" "outputs differ"
    fi
}

# Interval joins: a mobile login and the web logins of the same user from 2 hours before to
# 30 minutes after it, the web side in a subquery, a condition on each side in ON.
IJ_ON="m.user_id = w.user_id AND w.ts BETWEEN m.ts - INTERVAL '2' HOUR AND m.ts + INTERVAL '30' MINUTE
  AND m.device <> 'web' AND w.device = 'web' AND m.country <> 'DE'"
SQ_ON="m.user_id = w.user_id AND w.ms BETWEEN m.ms - 7200000 AND m.ms + 1800000
  AND m.device <> 'web' AND w.device = 'web' AND m.country <> 'DE'"
for k in LEFT RIGHT FULL; do
    check "interval_$k" \
        "SELECT m.user_id, m.ts, m.device, w.user_id AS wu, w.ts AS web_ts FROM logins m $k JOIN logins w ON $IJ_ON;" \
        "SELECT m.user_id, m.ts, m.device, w.user_id, w.ts FROM logins m $k JOIN logins w ON $SQ_ON"
done
(cd / && "$B" explain "$T/ex/interval_FULL.sql" >"$T/plan" 2>&1)
expect_grep "explain: a FULL interval join" "Join FULL interval on m.user_id = w.user_id" "$T/plan"
expect_grep "explain: append-only" "Sink stdout \[append\]" "$T/plan"

# A WHERE after a LEFT join filters the joined rows (padded ones too): only the
# mobile logins that no web login followed, per user.
check "interval_unmatched" \
    "SELECT m.user_id, m.ts FROM logins m LEFT JOIN logins w ON m.user_id = w.user_id
       AND w.ts BETWEEN m.ts AND m.ts + INTERVAL '1' HOUR AND w.device = 'web'
     WHERE m.device <> 'web' AND w.ts IS NULL;" \
    "SELECT m.user_id, m.ts FROM logins m LEFT JOIN logins w ON m.user_id = w.user_id
       AND w.ms BETWEEN m.ms AND m.ms + 3600000 AND w.device = 'web'
     WHERE m.device <> 'web' AND w.ts IS NULL"

# Window joins: the same hourly TUMBLE on both sides, ON window_start, window_end, the user.
for k in LEFT RIGHT FULL; do
    check "window_$k" \
        "SELECT m.user_id, m.ts, w.user_id AS wu, w.ts AS web_ts
         FROM (SELECT * FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' HOUR)) WHERE device <> 'web') m
         $k JOIN (SELECT * FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' HOUR)) WHERE device = 'web') w
         ON m.window_start = w.window_start AND m.window_end = w.window_end AND m.user_id = w.user_id
            AND m.country <> 'IN';" \
        "SELECT m.user_id, m.ts, w.user_id, w.ts
         FROM (SELECT * FROM logins WHERE device <> 'web') m
         $k JOIN (SELECT * FROM logins WHERE device = 'web') w
         ON m.ms / 3600000 = w.ms / 3600000 AND m.user_id = w.user_id AND m.country <> 'IN'"
done
(cd / && "$B" explain "$T/ex/window_LEFT.sql" >"$T/plan" 2>&1)
expect_grep "explain: a LEFT window join" "Join LEFT window on m.window_start = w.window_start" "$T/plan"

# IS [NOT] DISTINCT FROM: as an expression (never NULL: NULL is not distinct from NULL), and
# as a join key, where the logins without a user id meet each other (= would match none of them).
check_expr() {
    printf '%s\n%s\n' "$DDL" "SELECT ts, user_id, user_id IS DISTINCT FROM 7 AS d7, user_id IS NOT DISTINCT FROM NULL AS n,
       NOT (user_id + 0 IS DISTINCT FROM user_id) AS same, country IS DISTINCT FROM 'DE' AS nde FROM logins;" >"$T/ex/expr.sql"
    sqlite3 -list -separator , "$T/db" "SELECT ts, user_id,
        CASE WHEN user_id IS DISTINCT FROM 7 THEN 'true' ELSE 'false' END,
        CASE WHEN user_id IS NOT DISTINCT FROM NULL THEN 'true' ELSE 'false' END,
        CASE WHEN NOT (user_id + 0 IS DISTINCT FROM user_id) THEN 'true' ELSE 'false' END,
        CASE WHEN country IS DISTINCT FROM 'DE' THEN 'true' ELSE 'false' END FROM logins" | sort >"$T/expr.want"
    (cd / && "$B" run "$T/ex/expr.sql" --format csv >"$T/expr.got" 2>"$T/err")
    expect_eq "IS DISTINCT FROM expressions: exit status" "$?" "0"
    if tail -n +2 "$T/expr.got" | sort | cmp -s - "$T/expr.want"; then
        ok "IS [NOT] DISTINCT FROM expressions equal sqlite3's on 6000 rows"
    else
        bad "IS DISTINCT FROM expressions" "$(tail -n +2 "$T/expr.got" | sort | diff - "$T/expr.want" | head -5)"
    fi
}
check_expr
ND_ON="m.user_id IS NOT DISTINCT FROM w.user_id AND w.ts BETWEEN m.ts - INTERVAL '2' HOUR AND m.ts + INTERVAL '30' MINUTE
  AND m.device <> 'web' AND w.device = 'web'"
ND_SQ="m.user_id IS NOT DISTINCT FROM w.user_id AND w.ms BETWEEN m.ms - 7200000 AND m.ms + 1800000
  AND m.device <> 'web' AND w.device = 'web'"
for k in INNER LEFT; do
    check "null_safe_$k" \
        "SELECT m.user_id, m.ts, w.user_id AS wu, w.ts AS web_ts FROM logins m $k JOIN logins w ON $ND_ON;" \
        "SELECT m.user_id, m.ts, w.user_id, w.ts FROM logins m $k JOIN logins w ON $ND_SQ"
    nulls=$(grep -c '^,.*,,' "$T/null_safe_$k.want")
    if [ "$nulls" -gt 0 ]; then ok "null_safe_$k: $nulls pairs of logins without a user id"; else bad "null_safe_$k" "no NULL pair"; fi
done

e2e_finish
