#!/bin/bash
# MIN and MAX of a STRING in window aggregations (TUMBLE runs as a HOP whose
# slide is its size, on the sliced node that keeps STRING results; HOP and
# CUMULATE too), against sqlite3 over the same CSV, at P = 1, 2, 4; a
# SESSION window refuses them at the aggregate's position.
. "$(dirname "$0")/lib.bash"
e2e_init run_minmax_string
B=$TIDE_BIN
command -v sqlite3 >/dev/null || { echo "sqlite3 missing (scripts/deps.sh installs it)" >&2; exit 1; }

# 3000 logins over 2 days, in time order (nothing late); names of varying
# length so that byte order matters (sqlite3 compares TEXT by bytes too)
awk 'BEGIN {
    seed = 99; split("de DE dk us US usa br brazil fr FR", c, " ")
    for (i = 0; i < 3000; i++) {
        seed = (seed * 1103515245 + 12345) % 2147483648
        r = int(seed / 65536)
        t = i * 57600 + r % 1000
        d = int(t / 86400000); ms = t % 86400000
        printf "2024-03-%02d %02d:%02d:%02d.%03d,%d,%s\n", 9 + d, int(ms / 3600000), int(ms / 60000) % 60, int(ms / 1000) % 60, ms % 1000, r % 50, c[r % 10 + 1]
    }
}' >"$T/in.csv"
table="CREATE TABLE t (ts TIMESTAMP(3), user_id BIGINT, country STRING, WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH ('connector' = 'file', 'path' = 'in.csv', 'format' = 'csv');"
sqlite3 "$T/db" <<EOF
CREATE TABLE t (ts TEXT, user_id INTEGER, country TEXT);
.mode csv
.import $T/in.csv t
EOF

check() { # NAME QUERY SQLITE-QUERY
    printf '%s\n%s\n' "$table" "$2" >"$T/q.sql"
    sqlite3 -list -separator , "$T/db" "$3" | sort >"$T/want"
    local p first=""
    for p in 1 2 4; do
        if ! "$B" run "$T/q.sql" --format csv --parallelism $p >"$T/out.$p" 2>"$T/err"; then
            bad "$1 at P=$p" "$(head -3 "$T/err")"; return; fi
        tail -n +2 "$T/out.$p" | sort >"$T/got.$p"
        [ -n "$first" ] || first=$p
        cmp -s "$T/out.$first" "$T/out.$p" || { bad "$1: P=$p differs from P=$first" "$(diff "$T/out.$first" "$T/out.$p" | head -3)"; return; }
    done
    if [ "$(wc -l <"$T/want")" -lt 20 ]; then bad "$1" "only $(wc -l <"$T/want") rows: proves little"; return; fi
    if cmp -s "$T/got.1" "$T/want"; then ok "$1: $(wc -l <"$T/want") rows equal sqlite3's at P = 1, 2, 4"; else
        bad "$1" "$(diff "$T/got.1" "$T/want" | head -5)"; fi
}

check "TUMBLE 1 h: MIN, MAX of a STRING per window and user bucket" \
    "SELECT window_start, user_id % 3 AS b, MIN(country) AS lo, MAX(country) AS hi, COUNT(*) AS n FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '1' HOUR)) GROUP BY window_start, window_end, user_id % 3;" \
    "SELECT substr(ts, 1, 13) || ':00:00.000', user_id % 3, MIN(country), MAX(country), COUNT(*) FROM t GROUP BY substr(ts, 1, 13), user_id % 3;"
check "HOP 2 h by 1 h: MAX of a STRING" \
    "SELECT window_end, MAX(country) AS hi FROM TABLE(HOP(TABLE t, DESCRIPTOR(ts), INTERVAL '1' HOUR, INTERVAL '2' HOUR)) GROUP BY window_start, window_end;" \
    "SELECT strftime('%Y-%m-%d %H:00:00.000', h, '+2 hour'), MAX(country) FROM (SELECT strftime('%Y-%m-%d %H:00:00', ts) AS h, country FROM t UNION ALL SELECT strftime('%Y-%m-%d %H:00:00', ts, '-1 hour'), country FROM t) GROUP BY h;"

printf '%s\n%s\n' "$table" "SELECT window_start, MIN(country) AS lo FROM TABLE(SESSION(TABLE t, DESCRIPTOR(ts), INTERVAL '1' MINUTE)) GROUP BY window_start, window_end;" >"$T/s.sql"
expect_status "SESSION with MIN of a STRING: a SQL error" 1 "$B" run "$T/s.sql"
expect_grep "named at the aggregate" "s.sql:2:22: not supported yet: MIN/MAX of a STRING" "$T/err"
e2e_finish
