#!/bin/bash
# MIN and MAX of a STRING in window aggregations (TUMBLE runs as a HOP whose
# slide is its size, on the sliced node that keeps STRING results; HOP and
# CUMULATE too), against sqlite3 over the same CSV, at P = 1, 2, 4; SESSION
# windows (global and PARTITION BY, with early firings that retract STRING
# results) against a model of sessions.
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

# unwindowed GROUP BY: a changelog (emitted per watermark step: 30,000 rows
# read in many steps) whose -U rows carry the previous STRING; and one over
# another's changelog (MIN/MAX retract through an ordered set: the counts
# per user as text, which change at every step)
awk 'BEGIN {
    seed = 5; split("de DE dk us US usa br brazil fr FR", c, " ")
    for (i = 0; i < 30000; i++) {
        seed = (seed * 1103515245 + 12345) % 2147483648
        r = int(seed / 65536); t = i * 5760 + r % 1000
        d = int(t / 86400000); ms = t % 86400000
        printf "2024-03-%02d %02d:%02d:%02d.%03d,%d,%s\n", 9 + d, int(ms / 3600000), int(ms / 60000) % 60, int(ms / 1000) % 60, ms % 1000, r % 50, c[r % 10 + 1]
    }
}' >"$T/big.csv"
sqlite3 "$T/db" <<EOF
CREATE TABLE b (ts TEXT, user_id INTEGER, country TEXT);
.mode csv
.import $T/big.csv b
EOF
btable="CREATE TABLE t (ts TIMESTAMP(3), user_id BIGINT, country STRING, WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH ('connector' = 'file', 'path' = 'big.csv', 'format' = 'csv');"
changelog_check() { # NAME QUERY SQLITE-QUERY (over b)
    printf '%s\n%s\n' "$btable" "$2" >"$T/q.sql"
    sqlite3 -list -separator , "$T/db" "$3" | sort >"$T/want"
    local p
    for p in 1 2 4; do
        if ! "$B" run "$T/q.sql" --format csv --parallelism $p >"$T/out.$p" 2>"$T/err"; then
            bad "$1 at P=$p" "$(head -3 "$T/err")"; return; fi
        # applied: +I/+U add a row, -U/-D remove one
        awk -F, 'NR > 1 { k = substr($0, index($0, ",") + 1); c[k] += ($1 == "+I" || $1 == "+U") ? 1 : -1 }
                 END { for (k in c) for (i = 0; i < c[k]; i++) print k }' "$T/out.$p" | sort >"$T/got.$p"
        grep -q '^-U,' "$T/out.$p" || { bad "$1" "no -U row at P=$p: proves little"; return; }
        cmp -s "$T/got.1" "$T/got.$p" || { bad "$1: P=$p differs from P=1" "$(diff "$T/got.1" "$T/got.$p" | head -3)"; return; }
    done
    if [ "$(wc -l <"$T/want")" -lt 20 ]; then bad "$1" "only $(wc -l <"$T/want") rows: proves little"; return; fi
    if cmp -s "$T/got.1" "$T/want"; then ok "$1: $(wc -l <"$T/want") rows equal sqlite3's at P = 1, 2, 4 ($(grep -c '^-U,' "$T/out.1") -U rows)"; else
        bad "$1" "$(diff "$T/got.1" "$T/want" | head -5)"; fi
}
changelog_check "unwindowed GROUP BY: MIN, MAX of a STRING (the changelog applied)" \
    "SELECT user_id, MIN(country) AS lo, MAX(country) AS hi, COUNT(*) AS n FROM t GROUP BY user_id;" \
    "SELECT user_id, MIN(country), MAX(country), COUNT(*) FROM b GROUP BY user_id;"
changelog_check "GROUP BY over a changelog: MIN, MAX of STRINGs that are retracted" \
    "SELECT b, MIN(c) AS lo, MAX(c) AS hi, COUNT(*) AS n FROM (SELECT user_id % 25 AS b, CAST(COUNT(*) AS STRING) AS c FROM t GROUP BY user_id) GROUP BY b;" \
    "SELECT b, MIN(c), MAX(c), COUNT(*) FROM (SELECT user_id % 25 AS b, CAST(COUNT(*) AS TEXT) AS c FROM b GROUP BY user_id) GROUP BY b;"

# TUMBLE with early firings runs on the window node, which keeps copies of
# its previous STRING results for the -U rows: the changelog nets out to
# sqlite3's rows
printf '%s\n%s\n' "$table" "SELECT window_start, user_id % 3 AS b, MIN(country) AS lo, MAX(country) AS hi, COUNT(*) AS n FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '1' HOUR)) GROUP BY window_start, window_end, user_id % 3 EMIT EARLY EVERY 2 ROWS RETRACTING;" >"$T/te.sql"
sqlite3 -list -separator , "$T/db" "SELECT substr(ts, 1, 13) || ':00:00.000', user_id % 3, MIN(country), MAX(country), COUNT(*) FROM t GROUP BY substr(ts, 1, 13), user_id % 3;" | sort >"$T/want.te"
if "$B" run "$T/te.sql" --format csv >"$T/out.te" 2>"$T/err"; then
    awk -F, 'NR > 1 { k = substr($0, index($0, ",") + 1); c[k] += ($1 == "+I" || $1 == "+U") ? 1 : -1; if ($1 == "-U") r++ }
             END { for (k in c) for (i = 0; i < c[k]; i++) print k; print "retractions " r + 0 > "/dev/stderr" }' "$T/out.te" 2>"$T/r.te" | sort >"$T/got.te"
    if cmp -s "$T/got.te" "$T/want.te" && ! grep -q '^retractions 0$' "$T/r.te"; then
        ok "TUMBLE with early firings: the changelog nets out to sqlite3's $(wc -l <"$T/want.te") rows ($(cat "$T/r.te"))"
    else bad "TUMBLE with early firings" "$(diff "$T/got.te" "$T/want.te" | head -5)"; fi
else bad "TUMBLE with early firings" "$(head -3 "$T/err")"; fi

# SESSION windows (the session node, and the window node for PARTITION BY)
# against a model of sessions in python3: per partition, rows in time
# order, a row after the session's last ts + gap starts a new one (a row
# exactly at it joins: Flink merges session windows that touch)
PY=$(command -v python3) || { bad "python3" "missing (scripts/deps.sh installs it)"; e2e_finish; }
session_check() { # NAME GAP-MS PARTITION(0/1) QUERY [TABLE CSV]
    printf '%s\n%s\n' "${5:-$table}" "$4" >"$T/q.sql"
    "$PY" - "$T/${6:-in.csv}" "$2" "$3" <<'EOF2' | sort >"$T/want"
import sys, calendar, time
gap, part = int(sys.argv[2]), sys.argv[3] == '1'
def ms(s):
    return calendar.timegm(time.strptime(s[:19], '%Y-%m-%d %H:%M:%S')) * 1000 + int(s[20:23])
def fmt(m):
    return time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(m // 1000)) + '.%03d' % (m % 1000)
parts = {}
for line in open(sys.argv[1]):
    ts, uid, c = line.rstrip('\n').split(',')
    parts.setdefault(uid if part else '', []).append((ms(ts), c))
for p, rows in parts.items():
    rows.sort()
    cur = None
    def out(s):
        cs = [c for _, c in s]
        key = [p] if part else []
        print(','.join([fmt(s[0][0]), fmt(s[-1][0] + gap)] + key + [min(cs), max(cs), str(len(cs))]))
    for r in rows:
        if cur and r[0] > cur[-1][0] + gap:  # Flink merges windows that touch
            out(cur)
            cur = None
        cur = (cur or []) + [r]
    out(cur)
EOF2
    local p
    for p in 1 2 4; do
        if ! "$B" run "$T/q.sql" --format csv --parallelism $p >"$T/out.$p" 2>"$T/err"; then
            bad "$1 at P=$p" "$(head -3 "$T/err")"; return; fi
        tail -n +2 "$T/out.$p" | sort >"$T/got.$p"
        cmp -s "$T/got.1" "$T/got.$p" || { bad "$1: P=$p differs from P=1" "$(diff "$T/got.1" "$T/got.$p" | head -3)"; return; }
    done
    local n sessions
    n=$(wc -l <"$T/want")
    if [ "$n" -lt 20 ] || [ "$(awk -F, '$NF > 1' "$T/want" | wc -l)" -lt 10 ]; then bad "$1" "$n rows, too few sessions of several rows: proves little"; return; fi
    if cmp -s "$T/got.1" "$T/want"; then ok "$1: $n sessions equal the model's at P = 1, 2, 4"; else
        bad "$1" "$(diff "$T/got.1" "$T/want" | head -5)"; fi
}
session_check "SESSION (58 s gap): MIN, MAX of a STRING per session" 58000 0 \
    "SELECT window_start, window_end, MIN(country) AS lo, MAX(country) AS hi, COUNT(*) AS n FROM TABLE(SESSION(TABLE t, DESCRIPTOR(ts), INTERVAL '58' SECOND)) GROUP BY window_start, window_end;"
session_check "SESSION PARTITION BY user_id (1 h gap): MIN, MAX of a STRING" 3600000 1 \
    "SELECT window_start, window_end, user_id, MIN(country) AS lo, MAX(country) AS hi, COUNT(*) AS n FROM TABLE(SESSION(TABLE t PARTITION BY user_id, DESCRIPTOR(ts), INTERVAL '1' HOUR)) GROUP BY window_start, window_end, user_id;"

# with early firings a STRING result is retracted and updated (-U shows the
# previous STRING, a copy the node keeps): the changelog's final rows are
# the sessions'
# Sessions whose first two rows are their first and last (blocks of 5 rows
# 10 s apart, 10 min between blocks, written in the order 0, 40, 10, 20,
# 30 s), behind a watermark an hour late: the later rows land inside a
# session without extending it and update its row (-U of the previous
# STRING, a copy the node keeps)
awk 'BEGIN { split("de DE dk us US usa br brazil fr FR", c, " "); split("0 40 10 20 30", o, " "); seed = 7
    for (b = 0; b < 300; b++) for (j = 1; j <= 5; j++) {
        seed = (seed * 1103515245 + 12345) % 2147483648; r = int(seed / 65536)
        t = b * 600 + o[j]; printf "2024-03-%02d %02d:%02d:%02d.%03d,%d,%s\n", 9 + int(t / 86400), int(t / 3600) % 24, int(t / 60) % 60, t % 60, r % 1000, r % 4, c[r % 10 + 1]
    } }' >"$T/blocks.csv"
etable="CREATE TABLE t (ts TIMESTAMP(3), user_id BIGINT, country STRING, WATERMARK FOR ts AS ts - INTERVAL '1' HOUR) WITH ('connector' = 'file', 'path' = 'blocks.csv', 'format' = 'csv');"
early_check() { # NAME GAP-MS PARTITION(0/1) QUERY (without EMIT)
    printf '%s\n%s\n' "$etable" "$4 EMIT EARLY EVERY 3 ROWS RETRACTING;" >"$T/e.sql"
    "$B" run "$T/e.sql" --format csv >"$T/out.e" 2>"$T/err" || { bad "$1" "$(head -3 "$T/err")"; return; }
    "$PY" - "$T/out.e" >"$T/got.e" <<'EOF2'
import csv, sys
from collections import Counter
rows = list(csv.reader(open(sys.argv[1])))[1:]
live = Counter()
for r in rows:
    live[tuple(r[1:])] += 1 if r[0] in ('+I', '+U') else -1
print('\n'.join(sorted(','.join(k) for k, v in live.items() for _ in range(v))))
print('retractions', sum(1 for r in rows if r[0] == '-U'))
EOF2
    session_check "$1 (the reference)" "$2" "$3" "$4;" "$etable" blocks.csv
    if [ "$(grep -v '^retractions' "$T/got.e")" == "$(cat "$T/want")" ] && ! grep -q '^retractions 0$' "$T/got.e"; then
        ok "$1: the changelog's final rows are the sessions ($(grep '^retractions' "$T/got.e"))"
    else
        bad "$1" "$(grep -v '^retractions' "$T/got.e" | diff - "$T/want" | head -5)"
    fi
}
early_check "SESSION with early firings" 60000 0 \
    "SELECT window_start, window_end, MIN(country) AS lo, MAX(country) AS hi, COUNT(*) AS n FROM TABLE(SESSION(TABLE t, DESCRIPTOR(ts), INTERVAL '1' MINUTE)) GROUP BY window_start, window_end"
early_check "SESSION PARTITION BY with early firings" 60000 1 \
    "SELECT window_start, window_end, user_id, MIN(country) AS lo, MAX(country) AS hi, COUNT(*) AS n FROM TABLE(SESSION(TABLE t PARTITION BY user_id, DESCRIPTOR(ts), INTERVAL '1' MINUTE)) GROUP BY window_start, window_end, user_id"
e2e_finish
