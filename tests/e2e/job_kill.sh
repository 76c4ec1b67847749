#!/bin/bash
# Named jobs (`tide run --job NAME`): checkpoints, resume after kill -9 and
# after SIGTERM, and the refusals.
#
# A CSV of out-of-order logins (within the 5 s watermark bound: no late
# rows), a per-minute, per-country COUNT(*) and COUNT(DISTINCT) to stdout.
# The uninterrupted run is checked against sqlite3.  Then the same query as
# a named job with checkpoints every 20 ms is killed (SIGKILL, and every
# fourth time SIGTERM) at random moments and rerun until a run finishes.
# stdout is at-least-once, so each run's rows must be a contiguous stretch
# of the uninterrupted run's rows, in order (a run writes exactly the rows
# after the checkpoint it resumed from, then dies anywhere), the last run's
# rows its tail, and the union of all runs every row.  Refusals: a second
# run of a running job (its lock), a changed query (another plan), a
# finished job, a script of two statements.  TIDE_KILLS sets the number of
# kills (default 12).
. "$(dirname "$0")/lib.bash"
e2e_init job_kill
B=$TIDE_BIN
command -v sqlite3 >/dev/null || { echo "sqlite3 missing (scripts/deps.sh installs it)" >&2; exit 1; }
KILLS=${TIDE_KILLS:-12}

awk 'BEGIN {
    seed = 4242; n = 1000000; t = 1704067200000
    split("US IN DE FR BR JP", ctry, " ")
    for (i = 0; i < n; i++) {
        seed = (seed * 1103515245 + 12345) % 2147483648
        r = int(seed / 65536)
        t += r % 40
        ts = t - (r % 8 == 0 ? r % 4000 : 0)
        printf "%.0f,%d,%s\n", ts, r % 5000, ctry[r % 6 + 1]
    }
}' >"$T/in.csv"
expect_eq "input rows" "$(wc -l <"$T/in.csv")" "1000000"

cat >"$T/q.sql" <<'EOF'
CREATE TABLE logins (ts TIMESTAMP(3), user_id BIGINT, country STRING,
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND)
WITH ('connector' = 'file', 'path' = 'in.csv', 'format' = 'csv');
SELECT window_start, window_end, country, COUNT(*) AS n, COUNT(DISTINCT user_id) AS users
FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
GROUP BY window_start, window_end, country;
EOF

# the uninterrupted run, and sqlite3's answer
"$B" run "$T/q.sql" --format csv >"$T/full.csv" 2>"$T/full.err" || bad "uninterrupted run" "$(cat "$T/full.err")"
tail -n +2 "$T/full.csv" >"$T/full.rows"
sqlite3 "$T/db" <<EOF >"$T/want.rows"
CREATE TABLE logins (ts INTEGER, user_id INTEGER, country TEXT);
.mode csv
.import $T/in.csv logins
.mode list
.separator ,
SELECT strftime('%Y-%m-%d %H:%M:%S.000', (ts / 60000) * 60, 'unixepoch'),
       strftime('%Y-%m-%d %H:%M:%S.000', (ts / 60000 + 1) * 60, 'unixepoch'),
       country, COUNT(*), COUNT(DISTINCT user_id)
FROM logins GROUP BY ts / 60000, country;
EOF
if [ -s "$T/want.rows" ] && cmp -s <(sort "$T/full.rows") <(sort "$T/want.rows"); then
    ok "uninterrupted run = sqlite3 ($(wc -l <"$T/full.rows") rows)"
else
    bad "uninterrupted run = sqlite3" "$(diff <(sort "$T/full.rows") <(sort "$T/want.rows") | head -5)"
fi

# one named run, never interrupted: the same rows, a finished checkpoint
t0=$(date +%s%N)
"$B" run "$T/q.sql" --format csv --job once >"$T/once.csv" 2>"$T/once.err"
expect_eq "named run exits 0" "$?" "0"
# Kills come at random moments scaled by how long that run took, so that a
# slow machine (a sanitizer build, a loaded CI) still sees runs get past
# their first checkpoints, and a run that resumed, with less left to do, is
# still killed before its end: between 5% and 35% of it.
once_ms=$((($(date +%s%N) - t0) / 1000000))
[ "$once_ms" -ge 200 ] || once_ms=200
kill_pause() { sleep "$(awk -v ms=$((once_ms / 20 + RANDOM % (once_ms * 3 / 10))) 'BEGIN { printf "%.3f", ms / 1000 }')"; }
if cmp -s "$T/full.csv" "$T/once.csv"; then ok "named run = plain run"; else bad "named run" "differs"; fi
expect_grep "final checkpoint" "^job once: checkpoint [0-9]+ \(finished\)" "$T/once.err"
expect_grep "manifest finished" "^finished 1" "$(ls "$TIDE_DATA"/jobs/once/checkpoints/*.manifest | tail -1)"
expect_grep "manifest info" "^info sources: .*in.csv byte [0-9]+ line 1000001 \(lag 0 bytes\), watermark " \
    "$(ls "$TIDE_DATA"/jobs/once/checkpoints/*.manifest | tail -1)"
expect_status "finished job: nothing to do" 0 "$B" run "$T/q.sql" --format csv --job once
expect_grep "finished job says so" "^job once finished at checkpoint [0-9]+ .*tide job reset once" "$T/err"
expect_eq "finished job writes no rows (the header only)" "$(cat "$T/out")" "$(head -1 "$T/full.csv")"

# kill at random moments until a run finishes
RANDOM=7
runs=0 kills=0 terms=0 resumed=0 finished=0 last=0
: >"$T/all.rows"
while [ "$finished" -eq 0 ] && [ "$runs" -lt $((KILLS * 3 + 20)) ]; do
    runs=$((runs + 1))
    out="$T/run.$runs"
    "$B" run "$T/q.sql" --format csv --job k --checkpoint-interval 20ms >"$out.csv" 2>"$out.err" &
    pid=$!
    if [ "$kills" -lt "$KILLS" ]; then
        kill_pause
        if [ $((kills % 4)) -eq 3 ]; then sig=TERM; else sig=KILL; fi
        kill -$sig "$pid" 2>/dev/null && { kills=$((kills + 1)); [ $sig = TERM ] && terms=$((terms + 1)); }
    fi
    wait "$pid"
    st=$?
    grep -q -E "^resumed k from checkpoint [0-9]+ \(sources: .*in.csv byte [0-9]+ line [0-9]+ \(lag [0-9]+ bytes\), watermark " \
        "$out.err" && resumed=$((resumed + 1))
    # (a run killed after its final checkpoint leaves a finished job: the next says so)
    grep -q -E "^job k: checkpoint [0-9]+ \(finished\)|^job k finished at checkpoint" "$out.err" && finished=1
    # (exit 143: a SIGTERM before the run set its handlers, at start-up: nothing written yet)
    if [ "$st" -eq 143 ] && [ ! -s "$out.err" ] && [ ! -s "$out.csv" ]; then st=137; fi
    if [ "$st" -ne 0 ] && [ "$st" -ne 137 ]; then bad "run $runs" "exit $st: $(head -c 300 "$out.err")"; fi
    # the run's rows: a contiguous stretch of the uninterrupted rows
    tail -n +2 "$out.csv" >"$out.rows"
    if [ -s "$out.rows" ]; then
        n=$(wc -l <"$out.rows")
        first=$(head -1 "$out.rows")
        at=$(grep -n -F -x -- "$first" "$T/full.rows" | head -1 | cut -d: -f1)
        if [ -z "$at" ] || ! cmp -s "$out.rows" <(tail -n +"$at" "$T/full.rows" | head -n "$n"); then
            bad "run $runs rows" "not a stretch of the uninterrupted output (first row '$first')"
        fi
    fi
    cat "$out.rows" >>"$T/all.rows"
    [ -s "$out.rows" ] && last=$runs
done
[ "$finished" -eq 1 ] && ok "finished after $runs runs, $kills kills ($terms SIGTERM), $resumed resumed" ||
    bad "finish" "no run finished in $runs runs"
if [ "$resumed" -ge 2 ]; then ok "resumed from checkpoints ($resumed)"; else bad "resumes" "only $resumed of $runs runs resumed"; fi
n=$(wc -l <"$T/run.$last.rows")
if cmp -s "$T/run.$last.rows" <(tail -n "$n" "$T/full.rows"); then ok "the last run that wrote rows ends with the uninterrupted tail ($n rows)"; else bad "last run" "run $last is not the tail"; fi
if cmp -s <(sort -u "$T/all.rows") <(sort -u "$T/full.rows"); then ok "every row written (at least once)"; else
    bad "union" "$(diff <(sort -u "$T/all.rows") <(sort -u "$T/full.rows") | head -5)"
fi
# a SIGTERM'd run took a checkpoint and the next run resumed there
for i in $(seq 1 $((runs - 1))); do
    if grep -q "(stopped)" "$T/run.$i.err" && grep -q "^job k: checkpoint" "$T/run.$i.err"; then
        id=$(sed -n 's/^job k: checkpoint \([0-9]*\).*/\1/p' "$T/run.$i.err")
        # (the next run that got as far as resuming: a kill may come before)
        j=$((i + 1))
        while [ "$j" -lt "$runs" ] && ! grep -q "^resumed k" "$T/run.$j.err"; do j=$((j + 1)); done
        expect_grep "SIGTERM run $i: the next resumes at its checkpoint $id" "^resumed k from checkpoint $id " \
            "$T/run.$j.err"
        break
    fi
done

# Exactly once: INSERT INTO a file table, which a named job writes as a
# directory of part files committed with its checkpoints (connect/sink.h
# transactions).  At every kill the committed parts, in name order, must be
# a prefix of the uninterrupted output; at the end all of it: 0 lost, 0
# duplicated.
sed -e 's/^SELECT window_start/INSERT INTO out SELECT window_start/' "$T/q.sql" >"$T/ins.body"
{
    echo "CREATE TABLE out (window_start TIMESTAMP(3), window_end TIMESTAMP(3), country STRING, n BIGINT, users BIGINT)"
    echo "WITH ('connector' = 'file', 'path' = 'parts', 'format' = 'csv');"
    cat "$T/ins.body"
} >"$T/ins.sql"
# kill_loop JOB SQL PARTS REF [tide run options]: run SQL as job JOB,
# killed (SIGKILL) at random moments, until a run finishes; after every kill
# the committed output must be a prefix of REF's rows, and at the end REF:
# PARTS is a directory (the part files in name order) or topic:NAME (its
# read-committed records, one partition, in offset order).
kill_loop() {
    local job=$1 sql=$2 parts=$3 ref=$4 runs=0 kills=0 finished=0 prefix_ok=1 n
    shift 4
    committed() {
        if [ "${parts#topic:}" != "$parts" ]; then
            "$B" consume "${parts#topic:}" --format raw 2>/dev/null
        else
            cat $(ls "$parts"/part-* 2>/dev/null | sort) </dev/null 2>/dev/null
        fi
    }
    while [ "$finished" -eq 0 ] && [ "$runs" -lt $((KILLS * 3 + 20)) ]; do
        runs=$((runs + 1))
        "$B" run "$sql" --job "$job" --checkpoint-interval 20ms "$@" >/dev/null 2>"$T/$job.$runs.err" &
        pid=$!
        if [ "$kills" -lt "$KILLS" ]; then
            kill_pause
            kill -KILL "$pid" 2>/dev/null && kills=$((kills + 1))
        fi
        wait "$pid"
        # (only a run that exits 0: one that said the job finished may still
        # be killed before its sink committed the last transaction)
        [ $? -eq 0 ] && grep -q -E "^job $job: checkpoint [0-9]+ \(finished\)|^job $job finished at checkpoint" \
            "$T/$job.$runs.err" && finished=1
        committed >"$T/committed"
        n=$(wc -l <"$T/committed")
        if ! cmp -s "$T/committed" <(head -n "$n" "$ref"); then
            prefix_ok=0
            bad "$job run $runs: committed output" "not a prefix of the uninterrupted output ($n rows)"
        fi
    done
    [ "$prefix_ok" -eq 1 ] && ok "$job: after each of $kills kills the committed parts are a prefix of the uninterrupted output"
    [ "$finished" -eq 1 ] && ok "$job finished after $runs runs" || bad "$job" "no run finished in $runs runs"
    if cmp -s "$T/committed" "$ref"; then
        ok "$job: committed output = uninterrupted output, row for row ($(wc -l <"$T/committed") rows: 0 lost, 0 duplicated)"
    else
        bad "$job: committed output" "$(diff "$T/committed" "$ref" | head -5)"
    fi
    if [ "${parts#topic:}" = "$parts" ]; then
        expect_eq "$job: no transaction left open or pre-committed" \
            "$(ls -A "$parts" | grep -v '^part-' | grep -v '^.lock$' | wc -l)" "0"
    fi
}
kill_loop x "$T/ins.sql" "$T/parts" "$T/full.rows"
# (the same at parallelism 1 and 4: the output is the same for every P)
sed -e "s/'path' = 'parts'/'path' = 'parts1'/" "$T/ins.sql" >"$T/ins1.sql"
sed -e "s/'path' = 'parts'/'path' = 'parts4'/" "$T/ins.sql" >"$T/ins4.sql"
kill_loop x1 "$T/ins1.sql" "$T/parts1" "$T/full.rows" --parallelism 1
kill_loop x4 "$T/ins4.sql" "$T/parts4" "$T/full.rows" --parallelism 4

# The same from a topic of 3 partitions (the CSV lines spread round robin;
# bounded: the run ends at the offsets it found at start).  Its reference is
# the uninterrupted run over the topic, which has the file run's rows (the
# data is out of order within the bound everywhere: no late rows).
"$B" topic create logins --partitions 3 >/dev/null 2>"$T/err" || bad "topic create" "$(cat "$T/err")"
"$B" produce logins --format raw <"$T/in.csv" >/dev/null 2>"$T/err" || bad "produce" "$(cat "$T/err")"
sed -e "s/'connector' = 'file', 'path' = 'in.csv'/'connector' = 'topic', 'topic' = 'logins', 'scan.bounded.mode' = 'latest-offset'/" \
    -e "s/'path' = 'parts'/'path' = 'tparts'/" "$T/ins.sql" >"$T/tins.sql"
sed -e "s/'connector' = 'file', 'path' = 'in.csv'/'connector' = 'topic', 'topic' = 'logins', 'scan.bounded.mode' = 'latest-offset'/" \
    "$T/q.sql" >"$T/tq.sql"
"$B" run "$T/tq.sql" --format csv >"$T/tfull.csv" 2>"$T/err" || bad "topic run" "$(cat "$T/err")"
tail -n +2 "$T/tfull.csv" >"$T/tfull.rows"
if cmp -s <(sort "$T/tfull.rows") <(sort "$T/full.rows"); then ok "topic run = file run (as sets)"; else
    bad "topic run" "$(diff <(sort "$T/tfull.rows") <(sort "$T/full.rows") | head -5)"
fi
kill_loop t "$T/tins.sql" "$T/tparts" "$T/tfull.rows"
# topic in, topic out: one log transaction per checkpoint
"$B" topic create tout --partitions 1 >/dev/null 2>"$T/err" || bad "topic create tout" "$(cat "$T/err")"
sed -e "s/'connector' = 'file', 'path' = 'tparts', 'format' = 'csv'/'connector' = 'topic', 'topic' = 'tout', 'format' = 'csv'/" \
    "$T/tins.sql" >"$T/tt.sql"
kill_loop tt "$T/tt.sql" "topic:tout" "$T/tfull.rows"
expect_grep "topic positions in the manifest" "^info sources: topic logins \[0@[0-9]+, 1@[0-9]+, 2@[0-9]+\] \(lag 0 records\)" \
    "$(ls "$TIDE_DATA"/jobs/t/checkpoints/*.manifest | tail -1)"

# refusals: another plan
sed 's/INTERVAL .1. MINUTE/INTERVAL '"'"'2'"'"' MINUTE/' "$T/q.sql" >"$T/q2.sql"
"$B" run "$T/q.sql" --format csv --job p --checkpoint-interval 0 >/dev/null 2>&1 &
pid=$!
wait "$pid"
expect_status "another plan is refused" 2 "$B" run "$T/q2.sql" --format csv --job p
expect_grep "refusal names the reset" "another plan .*tide job reset p" "$T/err"
expect_status "two statements" 1 "$B" run <(cat "$T/q.sql"; echo "SELECT * FROM logins;") --job two
# the lock: a job reading a FIFO that stays open
mkfifo "$T/fifo"
cat >"$T/s.sql" <<'EOF'
CREATE TABLE s (ts TIMESTAMP(3), x BIGINT, WATERMARK FOR ts AS ts) WITH ('connector' = 'stdin', 'format' = 'csv');
SELECT * FROM s;
EOF
"$B" run "$T/s.sql" --job L <"$T/fifo" >"$T/L.out" 2>"$T/L.err" &
lpid=$!
exec 9>"$T/fifo"
for _ in $(seq 1 500); do [ -s "$TIDE_DATA/jobs/L/lock" ] && break; sleep 0.01; done
expect_status "a second run of a running job is refused" 2 "$B" run "$T/s.sql" --job L </dev/null
expect_grep "the refusal names the pid" "job L is running \(pid $lpid\)" "$T/err"
echo "1,1" >&9
exec 9>&-
wait "$lpid"
expect_eq "the first run ended cleanly" "$?" "0"

e2e_finish
