#!/bin/bash
# The progress line of a bounded `tide run` (job/progress.h): drawn only
# when stderr is a terminal (here a pty from script(1)), redrawn in place
# (CR, erase line), cleared before the summary; records and percentages
# only grow; each percentage is within 2 points of records / the file's
# lines as wc counts them; stdout is the same as without a terminal, and a
# run whose stderr is not a terminal prints no progress line.
. "$(dirname "$0")/lib.bash"
e2e_init run_progress
B=$TIDE_BIN
command -v script >/dev/null || { skip run_progress "script(1) is not installed (util-linux)"; e2e_finish; }

awk 'BEGIN { for (i = 0; i < 3000000; i++) printf "2026-01-01 %02d:%02d:%02d.000,%d\n", int(i / 3600000) % 24,
     int(i / 60000) % 60, int(i / 1000) % 60, (i * 7919) % 997 }' >"$T/big.csv"
lines=$(wc -l <"$T/big.csv")
cat >"$T/q.sql" <<'SQL'
CREATE TABLE l (ts TIMESTAMP(3), user_id BIGINT, WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
WITH ('connector' = 'file', 'path' = 'big.csv', 'format' = 'csv');
SELECT window_start, COUNT(DISTINCT user_id) AS users
FROM TABLE(TUMBLE(TABLE l, DESCRIPTOR(ts), INTERVAL '1' MINUTE)) GROUP BY window_start, window_end;
SQL
cd "$T" || exit 1
"$B" run q.sql >plain.out 2>plain.err
expect_eq "a run without a terminal exits 0" "$?" 0
if grep -q 'ETA' plain.err; then bad "no progress line without a terminal" "$(head -c 300 plain.err)"; else ok "no progress line without a terminal"; fi

t0=$(now_s)
script -qfec "'$B' run q.sql >tty.out" typescript >/dev/null 2>&1
took=$(elapsed "$t0")
expect_eq "the same results with a terminal" "$(cmp -s plain.out tty.out && echo same)" same
# the frames: split the typescript at CR, keep the progress frames
tr '\r' '\n' <typescript | sed 's/\x1b\[K//' | grep -E '^[0-9,]+ records  [0-9,]+/s' >frames || true
nframes=$(wc -l <frames)
if [ "$nframes" -eq 0 ]; then
    if awk -v t="$took" 'BEGIN { exit !(t < 0.6) }'; then
        skip "progress frames" "the run took ${took}s, before the first frame at 0.3 s"
    else
        bad "progress frames" "none in $(head -c 400 typescript | cat -v)"
    fi
    e2e_finish
fi
ok "$nframes progress frames in ${took}s"
expect_grep "each frame redraws in place (CR, erase line)" $'\r\x1b\\[K[0-9,]+ records' typescript
expect_grep "the line is cleared before the summary" $'\r\x1b\\[Krecords in '"$lines"', ' typescript
if awk -v lines="$lines" '
    { r = $1; gsub(",", "", r); r += 0; p = $0; sub(/.*~/, "", p); sub(/%.*/, "", p); p += 0
      if (r < prev_r || p < prev_p) { print "not monotone at " NR ": " $0; bad = 1 }
      want = 100 * r / lines
      if (p > want + 2 || p < want - 2 - 1) { print "frame " NR ": " p "% for " r " of " lines; bad = 1 }
      if ($0 !~ /ETA ([0-9]+:[0-9][0-9]|--:--)$/) { print "no ETA in frame " NR ": " $0; bad = 1 }
      prev_r = r; prev_p = p }
    END { exit bad }' frames >check.txt; then
    ok "records and percentages grow, each within 2 points of records / $lines lines, with an ETA"
else
    bad "frames" "$(head -5 check.txt)"
fi
e2e_finish
