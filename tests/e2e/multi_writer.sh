#!/bin/bash
# Several processes append to one topic at once (issue 12, "Many writers"):
# two `tide produce` on one topic, and two producers sharing one dead-letter
# topic that neither found (both create it).  Both are certain to have their
# writers open at the same time: each reads a FIFO that stays open until the
# topic holds records of both.  Checked: every line produced exactly once,
# each producer's lines in input order within a partition, offsets dense;
# every dead letter of both once; deletion refused while a producer runs.
. "$(dirname "$0")/lib.bash"
e2e_init multi_writer
B=$TIDE_BIN
N=20000

# gen W FROM TO: CSV rows "w,seq,key" of producer W
gen() { awk -v w="$1" -v a="$2" -v b="$3" 'BEGIN { for (i = a; i < b; i++) printf "%s,%d,k%d\n", w, i, i % 97 }'; }

# wait_count TOPIC N: poll (bounded) until TOPIC holds at least N records
wait_count() {
    local deadline=$((SECONDS + 120))
    while [ $SECONDS -lt $deadline ]; do
        [ "$("$B" consume "$1" --format raw 2>/dev/null | wc -l)" -ge "$2" ] && return 0
        sleep 0.05
    done
    return 1
}

# ---- two producers, one topic ----
"$B" topic create t --partitions 3 --segment-bytes 65536 >/dev/null
mkfifo "$T/a.fifo" "$T/b.fifo"
"$B" produce t --key key <"$T/a.fifo" 2>"$T/a.err" &
pa=$!
"$B" produce t --key key <"$T/b.fifo" 2>"$T/b.err" &
pb=$!
exec 3>"$T/a.fifo" 4>"$T/b.fifo"
{ echo 'w,seq,key'; gen a 0 100; } >&3
{ echo 'w,seq,key'; gen b 0 100; } >&4
# an idle input flushes: both have appended once their first rows are in
if wait_count t 200; then ok "both producers open at once and appending"; else bad "both appending" "$(head -c 400 "$T/a.err" "$T/b.err")"; fi
expect_status "delete refused while producers write: exit 2" 2 "$B" topic delete t
expect_grep "delete names the reason" "topic t is being written by another process" "$T/err"
gen a 100 $N >&3 &
ga=$!
gen b 100 $N >&4
wait $ga
exec 3>&- 4>&-
wait $pa
sa=$?
wait $pb
sb=$?
expect_eq "producer a: exit 0" "$sa" 0
expect_eq "producer b: exit 0" "$sb" 0
expect_grep "producer a: summary" "^produced $N records to t" "$T/a.err"
expect_grep "producer b: summary" "^produced $N records to t" "$T/b.err"

"$B" consume t --format csv | tail -n +2 >"$T/all.csv"
expect_eq "every line once" "$(cut -d, -f5- "$T/all.csv" | sort | uniq | wc -l) $(wc -l <"$T/all.csv")" \
    "$((2 * N)) $((2 * N))"
# the values are the input rows: exactly the two inputs
{ gen a 0 $N; gen b 0 $N; } | sort >"$T/want"
cut -d, -f5- "$T/all.csv" | tr -d '"' | sort >"$T/got"
if cmp -s "$T/got" "$T/want"; then ok "the topic holds both inputs"; else bad "both inputs" "$(diff "$T/got" "$T/want" | head)"; fi
# offsets dense per partition, each producer in input order per partition
awk -F, '{ if ($2 != next_off[$1] + 0) { print "partition " $1 ": offset " $2 ", expected " next_off[$1] + 0; exit 1 }
           next_off[$1] = $2 + 1
           w = substr($5, 2); k = $1 "/" w
           if ((k in last) && $6 + 0 <= last[k]) { print "partition " $1 ": " w " seq " $6 " after " last[k]; exit 1 }
           last[k] = $6 + 0 }' "$T/all.csv" >"$T/order"
expect_eq "offsets dense, each producer's rows in order" "$(cat "$T/order")" ""
"$B" topic describe t --verify >"$T/desc" 2>&1
expect_eq "describe --verify: no damage" "$?" 0
expect_grep "several segments rolled" "^ +[0-9]+ +0 +[0-9]+ +[0-9]+ +([2-9]|[1-9][0-9]+) " "$T/desc"

# ---- two producers sharing a dead-letter topic neither found ----
"$B" topic create u >/dev/null
bad_rows() { awk -v w="$1" 'BEGIN { for (i = 0; i < 300; i++) printf "%s,%d,x\"%d\n", w, i, i }'; }
mkfifo "$T/c.fifo" "$T/d.fifo"
"$B" produce u --dead-letter topic:u.dead <"$T/c.fifo" 2>"$T/c.err" &
pc=$!
"$B" produce u --dead-letter topic:u.dead <"$T/d.fifo" 2>"$T/d.err" &
pd=$!
exec 5>"$T/c.fifo" 6>"$T/d.fifo"
{ echo 'w,seq,key'; gen c 0 10; bad_rows c; } >&5
{ echo 'w,seq,key'; gen d 0 10; bad_rows d; } >&6
if wait_count u.dead 600; then ok "both dead-letter writers open at once"; else bad "both letters" "$(head -c 400 "$T/c.err" "$T/d.err")"; fi
gen c 10 2000 >&5
gen d 10 2000 >&6
exec 5>&- 6>&-
wait $pc
sc=$?
wait $pd
sd=$?
expect_eq "producer c: exit 0" "$sc" 0
expect_eq "producer d: exit 0" "$sd" 0
expect_grep "producer c: its letters counted" "skipped 300 malformed lines, wrote 300 dead letters to topic u.dead" "$T/c.err"
expect_grep "producer d: its letters counted" "skipped 300 malformed lines, wrote 300 dead letters to topic u.dead" "$T/d.err"
"$B" consume u.dead --format raw | sed -E 's/.*"raw":"([^"\\]*).*/\1/' | sort >"$T/got.dead"
{ bad_rows c; bad_rows d; } | sed -E 's/".*//' | sort >"$T/want.dead"
if cmp -s "$T/got.dead" "$T/want.dead"; then ok "every letter of both, once"; else bad "letters" "$(diff "$T/got.dead" "$T/want.dead" | head)"; fi
expect_eq "the good rows of both" "$("$B" consume u --format raw | sort | uniq | wc -l)" 4000

e2e_finish
