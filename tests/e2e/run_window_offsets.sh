#!/bin/bash
# Window offsets (Flink's: a window starts at ts - floor_mod(ts - offset,
# alignment)): TUMBLE(..., INTERVAL '1' DAY, INTERVAL '8' HOUR) and negative
# offsets, HOP and CUMULATE with an offset, and the window TVF's rows, by
# `tide run` against sqlite3 computing the windows from epoch ms, at P = 1,
# 2, 4 (same bytes).  Logins up to 4 s out of order within the 5 s bound.
. "$(dirname "$0")/lib.bash"
e2e_init run_window_offsets
B=$TIDE_BIN
command -v sqlite3 >/dev/null || { echo "sqlite3 missing (scripts/deps.sh installs it)" >&2; exit 1; }
mkdir -p "$T/ex"
awk 'BEGIN {
    seed = 5; n = 5000; span = 3 * 86400000; step = span / n
    split("US IN DE FR", ctry, " ")
    for (i = 0; i < n; i++) {
        seed = (seed * 1103515245 + 12345) % 2147483648
        r = int(seed / 65536)
        t = int(i * step) + r % 5000
        if (r % 5 == 0 && mx > 5000) t = mx - 1 - r % 4000
        if (t > mx) mx = t
        d = int(t / 86400000); ms = t % 86400000
        seed = (seed * 1103515245 + 12345) % 2147483648
        u = int(seed / 65536) % 50 + 1
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
H=3600000
D=$((24 * H))
# the start of the period of length $1 with offset $2 (ms, 0 <= $2 < $1) that holds ms (ms > $2 here)
st() { echo "((ms - $2) / $1 * $1 + $2)"; }
t() { echo "strftime($F, ($1) / 1000.0, 'unixepoch')"; }

check() { # name, query, sqlite3 query, rows expected at least
    local name=$1
    printf '%s\n%s\n' "$DDL" "$2" >"$T/ex/$name.sql"
    sqlite3 -list -separator , "$T/db" "$3" | sort >"$T/$name.want"
    local n
    n=$(wc -l <"$T/$name.want")
    if [ "$n" -lt "$4" ]; then bad "$name: sqlite3" "only $n rows"; fi
    for p in 1 2 4; do
        (cd "$T/ex" && "$B" run "$name.sql" --format csv --parallelism $p >"$T/$name.$p" 2>"$T/$name.err.$p")
        expect_eq "$name P=$p: exit status" "$?" "0"
        expect_grep "$name P=$p: summary" "^records in 5000, out $n, late 0, bad 0$" "$T/$name.err.$p"
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
}

k=0
for off in "INTERVAL '8' HOUR:$((8 * H))" "INTERVAL '-8' HOUR:$((16 * H))" "-INTERVAL '32' HOUR:$((16 * H))"; do
    sql=${off%%:*}; ms=${off##*:}
    name=tumble_${ms}_$((++k))
    check "$name" \
        "SELECT window_start, window_end, COUNT(*) AS n, COUNT(DISTINCT user_id) AS u
FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' DAY, $sql)) GROUP BY window_start, window_end;" \
        "SELECT $(t "$(st $D "$ms")"), $(t "$(st $D "$ms") + $D"), COUNT(*), COUNT(DISTINCT user_id)
FROM logins GROUP BY $(st $D "$ms")" 3
done

check hop "SELECT country, window_start, window_end, COUNT(*) AS n
FROM TABLE(HOP(TABLE logins, DESCRIPTOR(ts), INTERVAL '15' MINUTE, INTERVAL '1' HOUR, INTERVAL '5' MINUTE))
GROUP BY country, window_start, window_end;" \
"WITH k(i) AS (VALUES (0), (1), (2), (3)),
 w AS (SELECT country, $(st 900000 300000) - i * 900000 AS s FROM logins, k)
SELECT country, $(t s), $(t "s + $H"), COUNT(*) FROM w GROUP BY country, s" 500

check cumulate "SELECT country, window_start, window_end, COUNT(*) AS n
FROM TABLE(CUMULATE(TABLE logins, DESCRIPTOR(ts), INTERVAL '2' HOUR, INTERVAL '1' DAY, -INTERVAL '5' HOUR))
GROUP BY country, window_start, window_end;" \
"WITH k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < 12),
 w AS (SELECT country, $(st $D $((19 * H))) AS s, ms FROM logins)
SELECT country, $(t s), $(t "s + i * 7200000"), COUNT(*) FROM w, k WHERE ms < s + i * 7200000
GROUP BY country, s, i" 100

# the window TVF's own rows (no aggregation)
check rows "SELECT ts, user_id, window_start, window_end
FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' HOUR, INTERVAL '20' MINUTE));" \
"SELECT ts, user_id, $(t "$(st $H 1200000)"), $(t "$(st $H 1200000) + $H") FROM logins" 5000

printf '%s\n%s\n' "$DDL" "SELECT window_start, COUNT(*) FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' DAY, INTERVAL '8' HOUR)) GROUP BY window_start, window_end;" >"$T/ex/x.sql"
(cd "$T/ex" && "$B" explain x.sql >"$T/plan" 2>&1)
expect_grep "explain shows the offset" "TUMBLE\(ts, 1 DAY, offset 8 HOUR\)" "$T/plan"
e2e_finish
