#!/bin/bash
# Power loss across processes (base/io.h: TIDE_IO_JOURNAL, `tide debug
# powerloss`): what each fsync policy keeps of a finished `tide produce`
# (always: everything; never: nothing, the writer never fsynced), and a
# producer killed with SIGKILL in the middle and then the power cut: the
# partition keeps a prefix of its input (no hole, nothing out of order), the
# next writer cuts the torn tail, and appends go on after it.
. "$(dirname "$0")/lib.bash"
e2e_init powerloss
B=$TIDE_BIN
J="$T/journal"

for pol in always never; do
    "$B" topic create "t_$pol" --partitions 2 --fsync "$pol" >/dev/null
    seq 1 5000 | TIDE_IO_JOURNAL="$J" "$B" produce "t_$pol" --format raw >/dev/null 2>"$T/err"
    "$B" debug powerloss "$J" >"$T/pl"
    want=5000
    [ "$pol" = never ] && want=0
    expect_eq "fsync $pol: records after the power loss" "$("$B" consume "t_$pol" --format raw | wc -l)" "$want"
done
expect_grep "the tool reports what it cut" "power loss: .* files written, .* cut, .* unsynced bytes dropped" "$T/pl"

# a producer killed in the middle, then the power cut (one partition: order is total)
"$B" topic create k --partitions 1 --fsync interval:20 >/dev/null
mkfifo "$T/in"
TIDE_IO_JOURNAL="$J" "$B" produce k --format raw <"$T/in" >/dev/null 2>&1 &
pid=$!
exec 5>"$T/in"
i=0
while [ $i -lt 400 ]; do
    seq $((i * 100 + 1)) $((i * 100 + 100)) >&5
    i=$((i + 1))
    [ $((i % 40)) -eq 0 ] && sleep 0.03
done
kill -9 $pid
wait $pid 2>/dev/null
exec 5>&-
"$B" debug powerloss "$J" --seed 7 >"$T/pl2"
"$B" consume k --format raw >"$T/got" 2>"$T/cerr"
n=$(wc -l <"$T/got")
if seq 1 "$n" | cmp -s - "$T/got"; then ok "killed producer: a prefix of its input ($n records)"; else bad "prefix" "$(seq 1 "$n" | diff - "$T/got" | head -5)"; fi
seq 1000001 1000010 | "$B" produce k --format raw >/dev/null 2>"$T/perr"
{ seq 1 "$n"; seq 1000001 1000010; } >"$T/want"
if "$B" consume k --format raw | cmp -s - "$T/want"; then ok "appends go on after the cut"; else bad "appends" "differ"; fi

e2e_finish
