#!/bin/bash
# Regular (unwindowed) joins by `tide run`: of two streams (no time bound),
# of a stream with an aggregation's changelog, of two changelogs, INNER,
# LEFT, RIGHT and FULL.  The output is a changelog (+I, -D); applied in
# order (a -D must find its row), its final state must equal sqlite3's
# answer to the same query over the same CSV files.  P = 1, 2, 4 give the
# same bytes.  (Each step's output against a brute-force join:
# tests/unit/test_regjoin.c.)  Also SET 'table.exec.state.ttl' in explain,
# and a TTL longer than the data changes nothing.
. "$(dirname "$0")/lib.bash"
e2e_init run_regular_join
B=$TIDE_BIN
command -v sqlite3 >/dev/null || { echo "sqlite3 missing (scripts/deps.sh installs it)" >&2; exit 1; }
case "$(sqlite3 --version)" in
3.[0-9].* | 3.[12][0-9].* | 3.3[0-8].*) skip "regular joins" "sqlite3 older than 3.39 has no RIGHT / FULL JOIN"; e2e_finish ;;
esac

mkdir -p "$T/ex"
# 6000 logins over 5 days of users 1..120 (1 in 50 without a user id), a few seconds out of order.
awk 'BEGIN {
    seed = 91; n = 6000; span = 5 * 86400000; step = span / n
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
# 200 user records over the same days: ids 1..150 (some twice), a tier (or none).
awk 'BEGIN {
    split("gold silver bronze", tier, " ")
    for (i = 0; i < 200; i++) {
        t = int(i * 5 * 86400000 / 200) + 17
        d = int(t / 86400000); ms = t % 86400000
        h = int(ms / 3600000); mi = int(ms / 60000) % 60; s = int(ms / 1000) % 60; f = ms % 1000
        u = (i * 37) % 150 + 1
        tr = (i % 7 == 3) ? "" : tier[i % 3 + 1]
        printf "2024-05-%02d %02d:%02d:%02d.%03d,%d,%s\n", 1 + d, h, mi, s, f, u, tr
    }
}' >"$T/ex/users.csv"
DDL="CREATE TABLE logins (
  ts TIMESTAMP(3), user_id BIGINT, country STRING, device STRING,
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'file', 'path' = 'logins.csv', 'format' = 'csv');
CREATE TABLE users (
  ts TIMESTAMP(3), user_id BIGINT, tier STRING,
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'file', 'path' = 'users.csv', 'format' = 'csv');"
sqlite3 "$T/db" <<EOF
CREATE TABLE raw (ts TEXT, user_id TEXT, country TEXT, device TEXT);
CREATE TABLE uraw (ts TEXT, user_id TEXT, tier TEXT);
.mode csv
.import $T/ex/logins.csv raw
.import $T/ex/users.csv uraw
CREATE TABLE logins AS SELECT ts, CAST(NULLIF(user_id, '') AS INTEGER) AS user_id, country, device FROM raw;
CREATE TABLE users AS SELECT ts, CAST(user_id AS INTEGER) AS user_id, NULLIF(tier, '') AS tier FROM uraw;
EOF

# apply FILE: the final state of a CSV changelog (op first; none: append-only): each row as often as it is
# inserted minus retracted; "NEGATIVE" when a retraction finds no row.
apply() {
    local ops=0
    case "$(head -1 "$1")" in op,*) ops=1 ;; esac
    tail -n +2 "$1" | awk -v ops=$ops '{
        if (ops) { op = substr($0, 1, 2); row = substr($0, 4) } else { op = "+I"; row = $0 }
        if (op == "+I" || op == "+U") c[row]++
        else if (--c[row] < 0) { print "NEGATIVE " row; bad = 1 }
    } END { for (r in c) for (i = 0; i < c[r]; i++) print r }' | sort
}

# check NAME TIDE-QUERY SQLITE-QUERY [MIN-ROWS]
check() {
    local name=$1 q=$2 want=$3 min=${4:-100}
    printf '%s\n%s\n' "$DDL" "$q" >"$T/ex/$name.sql"
    sqlite3 -list -separator , "$T/db" "$want" | sort >"$T/$name.want"
    local n
    n=$(wc -l <"$T/$name.want")
    if [ "$n" -ge "$min" ]; then ok "$name: sqlite3 gives $n rows"; else bad "$name: sqlite3 rows" "only $n"; fi
    for p in 1 2 4; do
        (cd / && "$B" run "$T/ex/$name.sql" --format csv --parallelism $p >"$T/$name.$p" 2>"$T/err")
        expect_eq "$name P=$p: exit status" "$?" "0"
        expect_grep "$name P=$p: summary" "^records in [0-9]+, out [0-9]+, late 0, bad 0$" "$T/err"
        apply "$T/$name.$p" >"$T/$name.got"
        if cmp -s "$T/$name.got" "$T/$name.want"; then
            ok "$name P=$p: the changelog's final state equals sqlite3's $n rows"
        else
            bad "$name P=$p" "$(diff "$T/$name.got" "$T/$name.want" | head -5)"
        fi
    done
    if cmp -s "$T/$name.1" "$T/$name.2" && cmp -s "$T/$name.1" "$T/$name.4"; then
        ok "$name: P = 1, 2, 4 give the same bytes ($(($(wc -l <"$T/$name.1") - 1)) changes)"
    else
        bad "$name: determinism" "outputs differ"
    fi
}

# Two streams, no time bound: every login with the records of its user (a tier not bronze).
for k in INNER LEFT RIGHT FULL; do
    check "streams_$k" \
        "SELECT l.ts, l.user_id, u.user_id AS uid, u.tier FROM logins l $k JOIN users u
           ON l.user_id = u.user_id AND u.tier <> 'bronze';" \
        "SELECT l.ts, l.user_id, u.user_id, u.tier FROM logins l $k JOIN users u
           ON l.user_id = u.user_id AND u.tier <> 'bronze'"
done
(cd / && "$B" explain "$T/ex/streams_INNER.sql" >"$T/plan" 2>&1)
expect_grep "explain: an inner join of streams is append-only" "Sink stdout \[append\]" "$T/plan"
expect_grep "explain: a regular join" "Join INNER regular on l.user_id = u.user_id" "$T/plan"

# A stream with an aggregation's changelog: each login with its user's count (as it ends).
check "agg_LEFT" \
    "SELECT l.ts, l.user_id, c.n FROM logins l LEFT JOIN
       (SELECT user_id, COUNT(*) AS n FROM logins GROUP BY user_id) c ON l.user_id = c.user_id;" \
    "SELECT l.ts, l.user_id, c.n FROM logins l LEFT JOIN
       (SELECT user_id, COUNT(*) AS n FROM logins GROUP BY user_id) c ON l.user_id = c.user_id" 5000
nd=$(grep -c '^-D' "$T/agg_LEFT.1")
if [ "$nd" -gt 1000 ]; then ok "agg_LEFT: $nd joined rows retracted as the counts changed"; else bad "agg_LEFT" "only $nd -D rows"; fi

# Two changelogs, FULL: logins per user and user records per user (ids 121..150 have no
# logins; the logins without a user id have no record).
check "changelogs_FULL" \
    "SELECT a.user_id, a.n, b.user_id AS bu, b.m FROM
       (SELECT user_id, COUNT(*) AS n FROM logins GROUP BY user_id) a FULL JOIN
       (SELECT user_id, COUNT(*) AS m FROM users GROUP BY user_id) b
       ON a.user_id = b.user_id AND b.m < a.n;" \
    "SELECT a.user_id, a.n, b.user_id, b.m FROM
       (SELECT user_id, COUNT(*) AS n FROM logins GROUP BY user_id) a FULL JOIN
       (SELECT user_id, COUNT(*) AS m FROM users GROUP BY user_id) b
       ON a.user_id = b.user_id AND b.m < a.n"
# ... and a GROUP BY over a join of changelogs (a changelog of a changelog)
check "join_then_agg" \
    "SELECT c.n, COUNT(*) AS users FROM
       (SELECT user_id, COUNT(*) AS n FROM logins GROUP BY user_id) c JOIN
       (SELECT DISTINCT user_id FROM users) u ON c.user_id = u.user_id GROUP BY c.n;" \
    "SELECT c.n, COUNT(*) FROM
       (SELECT user_id, COUNT(*) AS n FROM logins GROUP BY user_id) c JOIN
       (SELECT DISTINCT user_id FROM users) u ON c.user_id = u.user_id GROUP BY c.n" 10

# Time attributes compared without a bound on both sides: a regular join (as in Flink).
check "time_compare" \
    "SELECT a.user_id, a.ts, b.ts AS bts FROM users a JOIN users b ON a.user_id = b.user_id AND a.ts >= b.ts;" \
    "SELECT a.user_id, a.ts, b.ts FROM users a JOIN users b ON a.user_id = b.user_id AND a.ts >= b.ts"

# SET 'table.exec.state.ttl': shown by explain; one longer than the data changes nothing.
printf '%s\n%s\n%s\n' "SET 'table.exec.state.ttl' = '100 d';" "$DDL" \
    "SELECT l.ts, l.user_id, c.n FROM logins l LEFT JOIN
       (SELECT user_id, COUNT(*) AS n FROM logins GROUP BY user_id) c ON l.user_id = c.user_id;" >"$T/ex/ttl.sql"
(cd / && "$B" explain "$T/ex/ttl.sql" >"$T/plan" 2>&1)
expect_grep "explain: state TTL" "Join LEFT regular on l.user_id = c.user_id state-ttl=100 DAY" "$T/plan"
(cd / && "$B" run "$T/ex/ttl.sql" --format csv --parallelism 2 >"$T/ttl.out" 2>"$T/err")
if cmp -s "$T/ttl.out" "$T/agg_LEFT.2"; then ok "a 100-day TTL gives the same bytes"; else bad "TTL" "output differs"; fi
printf '%s\n' "SET 'table.exec.state.ttl' = 'soon';" "$DDL" "SELECT * FROM users;" >"$T/ex/badttl.sql"
(cd / && "$B" run "$T/ex/badttl.sql" >"$T/out" 2>"$T/err")
expect_eq "bad TTL: exit 1" "$?" "1"
expect_grep "bad TTL: position" "badttl.sql:1:5: 'table.exec.state.ttl' = 'soon': not a duration" "$T/err"

e2e_finish
