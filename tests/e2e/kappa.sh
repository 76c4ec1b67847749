#!/bin/bash
# The Kappa workflow (issue 13): a generator feeds topic `logins`
# continuously; v1 of a DAU job with a bug (COUNT instead of COUNT
# DISTINCT) is deployed on `tide server`; v2 (fixed) is deployed from
# earliest; a promote before v2 caught up is refused; v2's own process is
# killed with SIGKILL during its catch-up and the server restarts it; the
# server is killed with SIGKILL while v2 catches up (twice) and restarted; `tide promote dau
# v2 --wait` switches; v1 is stopped and its output and state are gone;
# `tide query dau` gives v2's answers, checked against sqlite3 over the
# generated input; the server is killed again and the answers stay;
# /metrics parses with prometheus_client and agrees with GET /jobs and the
# topic; `tide verify dau` prints identical; a version that failed is refused by
# promote; a second server on the data directory is refused.
. "$(dirname "$0")/lib.bash"
e2e_init kappa
B=$TIDE_BIN
if ! command -v sqlite3 >/dev/null; then
    skip kappa "sqlite3 is not installed (scripts/deps.sh installs it)"
    e2e_finish
fi

"$B" topic create logins --partitions 1 >/dev/null || bad "topic create" "failed"

# The input: logins at 100 ms of event time each, 40 users with repeats, in
# order (ts,user_id; no header).  The generator appends them in batches of
# 200 while everything below happens; gen.csv keeps what it produced.
awk 'BEGIN { for (i = 0; i < 12000; i++) printf "%s,%d\n", strftime("%Y-%m-%d %H:%M:%S", 1767225600 + int(i / 10), 1) "." sprintf("%03d", (i % 10) * 100), (i * 7919 + int(i / 13)) % 40 }' >"$T/all.csv"
# a backlog before the job exists, then the rest as it comes
head -n 4000 "$T/all.csv" | "$B" produce logins --format raw 2>/dev/null
gen() {
    local from=4001
    while [ $from -le 12000 ]; do
        sed -n "${from},$((from + 199))p" "$T/all.csv" | "$B" produce logins --format raw 2>/dev/null
        from=$((from + 200))
        sleep 0.05
    done
}
gen &
gpid=$!

cat >"$T/v1.sql" <<'EOF'
CREATE TABLE logins (ts TIMESTAMP(3), user_id BIGINT, WATERMARK FOR ts AS ts - INTERVAL '2' SECOND)
WITH ('connector' = 'topic', 'topic' = 'logins', 'format' = 'csv');
SELECT window_start, window_end, COUNT(user_id) AS dau
FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
GROUP BY window_start, window_end;
EOF
sed 's/COUNT(user_id)/COUNT(DISTINCT user_id)/' "$T/v1.sql" >"$T/v2.sql"

spid=
start_server() { # start_server CHECKPOINT-INTERVAL
    e2e_server --checkpoint-interval "$1" --max-restarts 2 --restart-backoff 50ms
    spid=$SPID
}
kill9_server() {
    kill -KILL "$spid" 2>/dev/null
    wait "$spid" 2>/dev/null
}

start_server 2s
expect_status "deploy v1" 0 "$B" deploy "$T/v1.sql" --job dau
expect_grep "v1 is deployed" "^deployed dau v1: its output is topic dau.v1" "$T/out"
expect_status "a second server on the data directory is refused" 2 "$B" server --listen 127.0.0.1:0
expect_grep "naming the first" "served by another tide server \(pid $spid, address 127.0.0.1:[0-9]+\)" "$T/err"
cat >"$T/ins.sql" <<'EOF'
CREATE TABLE t (ts TIMESTAMP(3), user_id BIGINT, WATERMARK FOR ts AS ts) WITH ('connector' = 'topic', 'topic' = 'logins', 'format' = 'csv');
CREATE TABLE o (ts TIMESTAMP(3), user_id BIGINT) WITH ('connector' = 'topic', 'topic' = 'o', 'format' = 'csv');
INSERT INTO o SELECT * FROM t;
EOF
expect_status "an INSERT is refused at deploy" 1 "$B" deploy "$T/ins.sql" --job bad
expect_grep "saying why" "a deployed job writes its own output" "$T/err"
sleep 1
expect_status "deploy v2 from earliest" 0 "$B" deploy "$T/v2.sql" --job dau --from earliest
# no checkpoint of v2 yet (every 2 s): not caught up
expect_status "promote before v2 caught up is refused" 1 "$B" promote dau v2
expect_grep "saying why" "v2 (has not caught up|is not running)" "$T/err"
"$B" job status dau >"$T/status1" 2>&1
expect_grep "v1 is live" "^  v1  live " "$T/status1"
expect_grep "v2 is catching up" "^  v2  catching-up " "$T/status1"

# SIGKILL of v2's own process during its catch-up: the server restarts it
# from its last checkpoint (a new process)
v2pid() { awk '$1 == "pid" { print $2 }' "$TIDE_DATA/jobs/dau.v2/status" 2>/dev/null; }
for _ in $(seq 1 600); do
    p1=$(v2pid)
    [ -n "$p1" ] && kill -0 "$p1" 2>/dev/null && break
    sleep 0.05
done
if [ -n "$p1" ] && [ "$p1" != "$spid" ] && kill -KILL "$p1" 2>/dev/null; then
    ok "v2 runs in a process of its own ($p1), SIGKILLed during its catch-up"
else
    bad "v2's process" "no pid of its own in jobs/dau.v2/status (got '$p1', server $spid)"
fi
for _ in $(seq 1 600); do
    p2=$(v2pid)
    [ -n "$p2" ] && [ "$p2" != "$p1" ] && break
    sleep 0.05
done
if [ -n "$p2" ] && [ "$p2" != "$p1" ]; then ok "the server restarted v2 (process $p2)"; else
    bad "v2 restarted" "still $p2: $(tail -5 "$T/server.log")"; fi
expect_grep "saying it was killed" "dau.v2: failed \(its process was killed by signal 9" "$T/server.log"

# SIGKILL of the server (and so of v2's process) during v2's catch-up, twice
kill9_server
start_server 150ms
sleep 0.4
"$B" job status dau >"$T/status2" 2>&1
kill9_server
start_server 150ms
expect_status "promote --wait" 0 "$B" promote dau v2 --wait
expect_grep "v2 is live" "^dau: v2 is live" "$T/out"
"$B" job status dau >"$T/status3" 2>&1
expect_grep "v1 is retired" "^  v1  retired " "$T/status3"
expect_grep "v2 is live now" "^  v2  live " "$T/status3"
"$B" topic list >"$T/topics"
if grep -q '^dau.v1$' "$T/topics"; then bad "v1's output is gone" "topic dau.v1 still listed"; else ok "v1's output is gone"; fi
if [ -e "$TIDE_DATA/jobs/dau.v1" ]; then bad "v1's state is gone" "jobs/dau.v1 exists"; else ok "v1's state is gone"; fi

# the generator ends; every window the final watermark closes is then out
wait "$gpid"
cat >"$T/check.sql" <<EOF
CREATE TABLE l (ts TEXT, user_id INTEGER);
.mode csv
.import $T/all.csv l
.mode list
.separator ,
.headers off
SELECT strftime('%Y-%m-%d %H:%M:00.000', ts) AS ws, COUNT(DISTINCT user_id), COUNT(user_id) FROM l
GROUP BY ws
HAVING strftime('%s', ws) * 1000 + 60000 - 1 <= (SELECT (strftime('%s', max(ts)) * 1000 + CAST(substr(max(ts), 21, 3) AS INTEGER)) - 2000 FROM l)
ORDER BY ws;
EOF
sqlite3 <"$T/check.sql" >"$T/expect_both.csv" || bad "sqlite3" "failed"
cut -d, -f1,2 "$T/expect_both.csv" >"$T/expect.csv"
nwin=$(wc -l <"$T/expect.csv")
# wait until v2 has them all (committed at its checkpoints)
for _ in $(seq 1 900); do
    "$B" query dau --format csv >"$T/q.csv" 2>"$T/q.err"
    [ "$(($(wc -l <"$T/q.csv") - 1))" -ge "$nwin" ] && break
    sleep 0.1
done
expect_grep "query's header" "^window_start,window_end,dau$" "$T/q.csv"
tail -n +2 "$T/q.csv" | cut -d, -f1,3 >"$T/got.csv"
if cmp -s "$T/got.csv" "$T/expect.csv"; then ok "query gives v2's answers, as sqlite3 computes them ($nwin windows)"; else
    bad "query = sqlite3" "$(diff "$T/got.csv" "$T/expect.csv" | head -10)"; fi
# the check can fail: v1's bug gives other numbers
if awk -F, '$2 != $3 { d = 1 } END { exit !d }' "$T/expect_both.csv"; then ok "COUNT and COUNT DISTINCT differ here"; else
    bad "the bug is visible" "COUNT = COUNT DISTINCT in every window"; fi
expect_status "query --where" 0 "$B" query dau --format csv --where "dau >= 39 AND window_start >= '2026-01-01 00:05'"
awk -F, '$2 >= 39 && $1 >= "2026-01-01 00:05"' "$T/expect.csv" >"$T/expect_where.csv"
tail -n +2 "$T/out" | cut -d, -f1,3 >"$T/got_where.csv"
if cmp -s "$T/got_where.csv" "$T/expect_where.csv"; then ok "--where filters as awk does"; else
    bad "--where" "$(diff "$T/got_where.csv" "$T/expect_where.csv" | head -5)"; fi
expect_status "query --where with an unknown column" 1 "$B" query dau --where "users > 3"
expect_grep "names it" "no column 'users'" "$T/err"

# SIGKILL of the server once more: the answers stay
kill9_server
start_server 150ms
for _ in $(seq 1 600); do
    "$B" query dau --format csv >"$T/q2.csv" 2>/dev/null && [ "$(($(wc -l <"$T/q2.csv") - 1))" -ge "$nwin" ] && break
    sleep 0.1
done
tail -n +2 "$T/q2.csv" | cut -d, -f1,3 >"$T/got2.csv"
if cmp -s "$T/got2.csv" "$T/expect.csv"; then ok "after a SIGKILL of the server: the same answers"; else
    bad "after SIGKILL" "$(diff "$T/got2.csv" "$T/expect.csv" | head -10)"; fi
# /metrics of the real server, parsed by prometheus_client (PyPI): the
# topic's end offsets are the 12,000 records generated, every version of
# GET /jobs has its state and counters (metrics_check.py)
if e2e_pyvenv prometheus_client; then
    if "$PY" "$TIDE_SRC/tests/e2e/metrics_check.py" "$(cat "$TIDE_DATA/server.addr")" - dau logins \
        "$(wc -l <"$T/all.csv")" >"$T/metrics.log" 2>&1; then
        ok "the server's /metrics parses and agrees: $(grep -c '^ok' "$T/metrics.log") checks"
    else
        bad "the server's /metrics" "$(grep -v '^ok' "$T/metrics.log" | head -c 1500)"
    fi
else
    bad "python venv" "cannot install prometheus_client"
fi
expect_status "verify" 0 "$B" verify dau
expect_grep "identical" "^identical \([0-9]+ rows\)$" "$T/out"

# a version that fails: its input topic is deleted under it
"$B" topic create scratch --partitions 1 >/dev/null
sed "s/'topic' = 'logins'/'topic' = 'scratch'/" "$T/v2.sql" >"$T/v3.sql"
expect_status "deploy v3" 0 "$B" deploy "$T/v3.sql" --job dau
sleep 0.5
"$B" topic delete scratch >/dev/null 2>&1
for _ in $(seq 1 600); do
    "$B" job status dau >"$T/status4" 2>&1
    grep -q "^  v3  failed " "$T/status4" && break
    sleep 0.1
done
expect_grep "v3 failed, with its error" "^  v3  failed " "$T/status4"
expect_status "promote of a failed version is refused" 1 "$B" promote dau v3
expect_grep "saying so" "v3 failed" "$T/err"
expect_status "job stop dau@v2" 0 "$B" job stop dau@v2
"$B" job status dau >"$T/status5" 2>&1
expect_grep "v2 stopped" "^  v2  stopped " "$T/status5"

# SIGTERM: a clean stop
kill -TERM "$spid"
wait "$spid"
expect_eq "the server stops cleanly on SIGTERM" "$?" "0"
if [ -e "$TIDE_DATA/server.addr" ]; then bad "server.addr removed" "still there"; else ok "server.addr removed"; fi
e2e_finish
