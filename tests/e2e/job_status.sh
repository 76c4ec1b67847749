#!/bin/bash
# `tide job list`, `tide job status NAME`, `tide job reset NAME`: a finished
# job (its counts are the run's summary line, its checkpoint the newest
# manifest's), a running one (a job reading a FIFO: its live status follows
# the records written into it), one killed by SIGKILL, a damaged status
# file (refused, never shown), and reset (refused while running; then the
# next run starts over).
. "$(dirname "$0")/lib.bash"
e2e_init job_status
B=$TIDE_BIN

awk 'BEGIN { for (i = 0; i < 50000; i++) printf "%d,%d\n", 1704067200000 + i * 100, i % 97 }' >"$T/in.csv"
cat >"$T/q.sql" <<'EOF'
CREATE TABLE t (ts TIMESTAMP(3), k BIGINT, WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
WITH ('connector' = 'file', 'path' = 'in.csv', 'format' = 'csv');
SELECT window_start, k, COUNT(*) AS n FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
GROUP BY window_start, window_end, k;
EOF
"$B" run "$T/q.sql" --job fin --format csv >"$T/fin.csv" 2>"$T/fin.err"
expect_eq "finished run" "$?" "0"
summary=$(grep '^records in' "$T/fin.err")
man=$(ls "$TIDE_DATA"/jobs/fin/checkpoints/*.manifest | tail -1)
id=$(sed -n 's/^id //p' "$man")
expect_status "status of a finished job" 0 "$B" job status fin
expect_grep "finished" "^job fin: stopped \(finished: its input ended\)" "$T/out"
expect_grep "its last checkpoint is the newest manifest" "^  last checkpoint $id at .*: [0-9]+ bytes, took [0-9]+ ms" "$T/out"
expect_grep "its counts are the run's" "^  $summary\$" "$T/out"
expect_grep "positions and lag" "^  sources: .*in.csv byte [0-9]+ line 50001 \(lag 0 bytes\), watermark " "$T/out"
expect_status "list" 0 "$B" job list
expect_grep "list names it" "^fin  stopped \(finished: its input ended\)  checkpoint $id at " "$T/out"

# a running job: stdin from a FIFO kept open
mkfifo "$T/fifo"
cat >"$T/s.sql" <<'EOF'
CREATE TABLE s (ts TIMESTAMP(3), x BIGINT, WATERMARK FOR ts AS ts) WITH ('connector' = 'stdin', 'format' = 'csv');
SELECT * FROM s;
EOF
"$B" run "$T/s.sql" --job live --checkpoint-interval 50ms <"$T/fifo" >"$T/live.out" 2>"$T/live.err" &
lpid=$!
exec 9>"$T/fifo"
printf '1,1\n2,2\n3,3\n' >&9
# wait (up to 10 s) for the status to count the 3 records in and out (a
# status written between the scan and the sink counts them in, not yet out)
for _ in $(seq 1 1000); do
    "$B" job status live >"$T/st" 2>&1
    grep -q "records in 3, out 3," "$T/st" && break
    sleep 0.01
done
expect_grep "a running job" "^job live: running \(pid $lpid\)" "$T/st"
expect_grep "its live counts" "^  records in 3, out 3, late 0, bad 0" "$T/st"
"$B" job list >"$T/list"
expect_grep "list: running" "^live  running \(pid $lpid\)" "$T/list"
expect_status "reset of a running job is refused" 2 "$B" job reset live
expect_grep "the refusal names the pid" "job live is running \(pid $lpid\)" "$T/err"
kill -KILL "$lpid"
wait "$lpid" 2>/dev/null
exec 9>&-
expect_status "status after SIGKILL" 0 "$B" job status live
expect_grep "the last run died" "^job live: stopped \(the last run, pid $lpid, died without finishing: killed\?\)" "$T/out"

# a damaged status file is not shown
printf 'x' >>"$TIDE_DATA/jobs/fin/status"
expect_status "damaged status" 2 "$B" job status fin
expect_grep "named as damaged" "jobs/fin/status: damaged" "$T/err"

# reset: the next run starts over (no resume), and writes the same rows
expect_status "reset" 0 "$B" job reset fin
expect_eq "its directory is gone" "$(ls "$TIDE_DATA/jobs")" "live"
"$B" run "$T/q.sql" --job fin --format csv >"$T/fin2.csv" 2>"$T/fin2.err"
if grep -q "resumed\|finished at checkpoint" "$T/fin2.err"; then bad "after reset" "$(cat "$T/fin2.err")"; else ok "after reset the job starts over"; fi
if cmp -s "$T/fin.csv" "$T/fin2.csv"; then ok "and writes the same rows"; else bad "after reset" "other rows"; fi
expect_status "status of no job" 2 "$B" job status nosuch
expect_status "usage" 1 "$B" job frob

e2e_finish
