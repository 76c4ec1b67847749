#!/bin/bash
# Flink's legacy group window syntax (GROUP BY TUMBLE/HOP/SESSION(ts, ...)
# with TUMBLE_START/_END/_ROWTIME and the HOP_, SESSION_ variants), which
# tide rewrites to the window TVF plan: each query gives the same rows as
# its TVF form and as sqlite3 over the same CSV (event times as epoch ms),
# at P = 1, 2, 4 (same bytes).  Logins up to 4 s out of order within the
# 5 s watermark bound, so no row is late.  Also: a cascade over
# TUMBLE_ROWTIME, and the refusals (_PROCTIME, a mismatched _START).
. "$(dirname "$0")/lib.bash"
e2e_init run_legacy_windows
B=$TIDE_BIN
command -v sqlite3 >/dev/null || { echo "sqlite3 missing (scripts/deps.sh installs it)" >&2; exit 1; }
mkdir -p "$T/ex"
# 6000 logins over 2 days of 40 users (sessions of a user: bursts, gaps)
awk 'BEGIN {
    seed = 11; n = 6000; span = 2 * 86400000; step = span / n
    split("US IN DE FR", ctry, " ")
    for (i = 0; i < n; i++) {
        seed = (seed * 1103515245 + 12345) % 2147483648
        r = int(seed / 65536)
        t = int(i * step) + r % 5000
        if (r % 5 == 0 && mx > 5000) t = mx - 1 - r % 4000
        if (t > mx) mx = t
        d = int(t / 86400000); ms = t % 86400000
        seed = (seed * 1103515245 + 12345) % 2147483648
        u = int(seed / 65536) % 40 + 1
        h = int(ms / 3600000); mi = int(ms / 60000) % 60; s = int(ms / 1000) % 60; f = ms % 1000
        printf "2024-05-%02d %02d:%02d:%02d.%03d,%d,%s\n", 1 + d, h, mi, s, f, u, ctry[u % 4 + 1]
    }
}' >"$T/ex/logins.csv"
sqlite3 "$T/db" <<EOF
CREATE TABLE raw (ts TEXT, user_id INTEGER, country TEXT);
.mode csv
.import $T/ex/logins.csv raw
CREATE TABLE logins AS
  SELECT ts, user_id, country, CAST(round((julianday(ts) - 2440587.5) * 86400000) AS INTEGER) AS ms FROM raw;
EOF
DDL="CREATE TABLE logins (ts TIMESTAMP(3), user_id BIGINT, country STRING,
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND)
WITH ('connector' = 'file', 'path' = 'logins.csv', 'format' = 'csv');"
F="'%Y-%m-%d %H:%M:%f'"

# name, legacy query, TVF query, sqlite3 query
check() {
    local name=$1 legacy=$2 tvf=$3 ref=$4
    printf '%s\n%s\n' "$DDL" "$legacy" >"$T/ex/$name.sql"
    printf '%s\n%s\n' "$DDL" "$tvf" >"$T/ex/$name-tvf.sql"
    sqlite3 -list -separator , "$T/db" "$ref" | sort >"$T/$name.want"
    local n
    n=$(wc -l <"$T/$name.want")
    if [ "$n" -lt 20 ]; then bad "$name: sqlite3" "only $n rows"; fi
    for p in 1 2 4; do
        (cd "$T/ex" && "$B" run "$name.sql" --format csv --parallelism $p >"$T/$name.$p" 2>"$T/$name.err.$p")
        expect_eq "$name P=$p: exit status" "$?" "0"
        expect_grep "$name P=$p: summary" "^records in 6000, out $n, late 0, bad 0$" "$T/$name.err.$p"
        if tail -n +2 "$T/$name.$p" | sort | cmp -s - "$T/$name.want"; then
            ok "$name P=$p: $n rows equal sqlite3's"
        else
            bad "$name P=$p" "$(tail -n +2 "$T/$name.$p" | sort | diff - "$T/$name.want" | head -5)"
        fi
    done
    if cmp -s "$T/$name.1" "$T/$name.2" && cmp -s "$T/$name.1" "$T/$name.4"; then
        ok "$name: P = 1, 2, 4 give the same bytes"
    else
        bad "$name determinism" "outputs differ"
    fi
    (cd "$T/ex" && "$B" run "$name-tvf.sql" --format csv --parallelism 2 >"$T/$name.tvf" 2>/dev/null)
    if tail -n +2 "$T/$name.tvf" | cmp -s - <(tail -n +2 "$T/$name.2"); then
        ok "$name: the same rows as the TVF query"
    else
        bad "$name vs TVF" "$(diff "$T/$name.tvf" "$T/$name.2" | head -5)"
    fi
}

check tumble \
"SELECT user_id, TUMBLE_START(ts, INTERVAL '1' HOUR) AS ws, TUMBLE_END(ts, INTERVAL '1' HOUR) AS we,
  TUMBLE_ROWTIME(ts, INTERVAL '1' HOUR) AS wt, COUNT(*) AS n
FROM logins GROUP BY TUMBLE(ts, INTERVAL '1' HOUR), user_id;" \
"SELECT user_id, window_start, window_end, window_time, COUNT(*)
FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' HOUR)) GROUP BY window_start, window_end, window_time, user_id;" \
"SELECT user_id, strftime($F, ms / 3600000 * 3600, 'unixepoch'), strftime($F, ms / 3600000 * 3600 + 3600, 'unixepoch'),
  strftime('%Y-%m-%d %H:59:59.999', ms / 3600000 * 3600, 'unixepoch'), COUNT(*)
FROM logins GROUP BY user_id, ms / 3600000"

check hop \
"SELECT country, HOP_START(ts, INTERVAL '15' MINUTE, INTERVAL '1' HOUR) AS ws,
  HOP_END(ts, INTERVAL '15' MINUTE, INTERVAL '1' HOUR) AS we, COUNT(*) AS n, COUNT(DISTINCT user_id) AS u
FROM logins GROUP BY country, HOP(ts, INTERVAL '15' MINUTE, INTERVAL '1' HOUR);" \
"SELECT country, window_start, window_end, COUNT(*), COUNT(DISTINCT user_id)
FROM TABLE(HOP(TABLE logins, DESCRIPTOR(ts), INTERVAL '15' MINUTE, INTERVAL '1' HOUR))
GROUP BY country, window_start, window_end;" \
"WITH k(i) AS (VALUES (0), (1), (2), (3)),
 w AS (SELECT country, user_id, (ms / 900000 - i) * 900 AS s FROM logins, k)
SELECT country, strftime($F, s, 'unixepoch'), strftime($F, s + 3600, 'unixepoch'), COUNT(*), COUNT(DISTINCT user_id)
FROM w GROUP BY country, s"

check session \
"SELECT user_id, SESSION_START(ts, INTERVAL '10' MINUTE) AS ss, SESSION_END(ts, INTERVAL '10' MINUTE) AS se,
  COUNT(*) AS n
FROM logins GROUP BY SESSION(ts, INTERVAL '10' MINUTE), user_id;" \
"SELECT user_id, window_start, window_end, COUNT(*)
FROM TABLE(SESSION(TABLE logins PARTITION BY user_id, DESCRIPTOR(ts), INTERVAL '10' MINUTE))
GROUP BY user_id, window_start, window_end;" \
"WITH o AS (SELECT user_id, ms, CASE WHEN ms - LAG(ms) OVER (PARTITION BY user_id ORDER BY ms) <= 600000 THEN 0 ELSE 1 END AS new
            FROM logins),
 s AS (SELECT user_id, ms, SUM(new) OVER (PARTITION BY user_id ORDER BY ms ROWS UNBOUNDED PRECEDING) AS sid FROM o)
SELECT user_id, strftime($F, MIN(ms) / 1000.0, 'unixepoch'), strftime($F, (MAX(ms) + 600000) / 1000.0, 'unixepoch'), COUNT(*)
FROM s GROUP BY user_id, sid"

# A cascade: hourly counts per user, then the daily maximum over TUMBLE_ROWTIME.
printf '%s\n%s\n' "$DDL" "SELECT DATE_FORMAT(TUMBLE_START(wt, INTERVAL '1' DAY), 'yyyy-MM-dd') AS day, MAX(n) AS top
FROM (SELECT user_id, TUMBLE_ROWTIME(ts, INTERVAL '1' HOUR) AS wt, COUNT(*) AS n
      FROM logins GROUP BY TUMBLE(ts, INTERVAL '1' HOUR), user_id)
GROUP BY TUMBLE(wt, INTERVAL '1' DAY);" >"$T/ex/cascade.sql"
sqlite3 -list -separator , "$T/db" "SELECT day, MAX(n) FROM (SELECT date(ms / 1000, 'unixepoch') AS day, COUNT(*) AS n
  FROM logins GROUP BY user_id, ms / 3600000) GROUP BY day" >"$T/cascade.want"
(cd "$T/ex" && "$B" run cascade.sql --format csv >"$T/cascade.got" 2>/dev/null)
if tail -n +2 "$T/cascade.got" | cmp -s - "$T/cascade.want"; then
    ok "cascade over TUMBLE_ROWTIME: $(wc -l <"$T/cascade.want") days equal sqlite3's"
else
    bad "cascade" "$(tail -n +2 "$T/cascade.got" | diff - "$T/cascade.want" | head -5)"
fi

# Refusals, at their position.
refuse() { # name, query, expected text
    printf '%s\n%s\n' "$DDL" "$2" >"$T/ex/$1.sql"
    (cd "$T/ex" && "$B" run "$1.sql" >/dev/null 2>"$T/$1.err")
    expect_eq "$1: refused" "$?" "1"
    expect_grep "$1: why" "$3" "$T/$1.err"
}
refuse proctime "SELECT TUMBLE_PROCTIME(ts, INTERVAL '1' HOUR) FROM logins GROUP BY TUMBLE(ts, INTERVAL '1' HOUR);" \
    "^proctime.sql:4:8: TUMBLE_PROCTIME is processing time"
refuse mismatch "SELECT TUMBLE_START(ts, INTERVAL '2' HOUR) FROM logins GROUP BY TUMBLE(ts, INTERVAL '1' HOUR);" \
    "4:8: TUMBLE_START must repeat the arguments of the GROUP BY's TUMBLE"
refuse nogroup "SELECT HOP_END(ts, INTERVAL '1' HOUR, INTERVAL '2' HOUR), COUNT(*) FROM logins GROUP BY user_id;" \
    "4:8: HOP_END needs GROUP BY HOP\(\.\.\.\) in the same SELECT"
refuse sesskey "SELECT COUNT(*) FROM logins GROUP BY SESSION(ts, INTERVAL '1' HOUR), user_id % 2;" \
    "4:70: with GROUP BY SESSION\(\.\.\.\) the other keys partition the sessions, so they must be columns"
e2e_finish
