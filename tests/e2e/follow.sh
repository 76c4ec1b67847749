#!/bin/bash
# Following: `tide consume --follow` runs while producers append in other
# processes; it must see every record exactly once (stopped by --max N).
# Then a group follower is interrupted with SIGINT: it exits 0, commits what
# it printed, and a later consume of the group reads exactly the rest.
# Every wait is bounded (timeout, or a polling loop with a deadline).
. "$(dirname "$0")/lib.bash"
e2e_init follow
B=$TIDE_BIN

"$B" topic create f --partitions 3 >/dev/null

ROUNDS=20
PER=500
N=$((ROUNDS * PER))
timeout 120 "$B" consume f --follow --max "$N" --format raw >"$T/seen" 2>"$T/follow.err" &
follower=$!

for r in $(seq 1 "$ROUNDS"); do
    awk -v r="$r" -v n="$PER" 'BEGIN { print "k,id"; for (i = 0; i < n; i++) printf "k%d,%d-%d\n", i % 37, r, i }' >"$T/batch.csv"
    cat "$T/batch.csv" >>"$T/all.csv"
    if ! timeout 60 "$B" produce f --key k <"$T/batch.csv" 2>>"$T/produce.err"; then bad "produce round $r" "$(tail -2 "$T/produce.err")"; fi
done
wait "$follower"
rc=$?
expect_eq "follower stopped by --max (not by timeout)" "$rc" 0
expect_eq "follower saw N records" "$(wc -l <"$T/seen")" "$N"
grep -v '^k,id$' "$T/all.csv" | sort >"$T/want"
sort "$T/seen" >"$T/got"
if cmp -s "$T/want" "$T/got"; then ok "every record exactly once"; else bad "every record exactly once" "$(diff "$T/want" "$T/got" | head -5)"; fi
# within a key the follower keeps the produced order (ids r-i increase)
awk -F, '{ split($2, a, "-"); s = a[1] * 100000 + a[2]; if ($1 in last && s <= last[$1]) { bad = 1 } last[$1] = s } END { exit bad }' "$T/seen"
expect_eq "per-key order while following" "$?" 0

# ---- a group follower stopped with SIGINT ----
"$B" topic create g --partitions 2 >/dev/null
{ echo "k,id"; for i in $(seq 1 300); do echo "k$((i % 7)),$i"; done; } | "$B" produce g --key k 2>/dev/null
: >"$T/part1" # exists before the polling below reads it (the follower opens it after the fork)
timeout 60 "$B" consume g --follow --group grp --format raw >"$T/part1" 2>"$T/g.err" &
follower=$!
# wait (bounded) until it has printed everything produced so far
deadline=$((SECONDS + 30))
while [ "$(wc -l <"$T/part1")" -lt 300 ] && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
{ echo "k,id"; for i in $(seq 301 400); do echo "k$((i % 7)),$i"; done; } | "$B" produce g --key k 2>/dev/null
deadline=$((SECONDS + 30))
while [ "$(wc -l <"$T/part1")" -lt 400 ] && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
kill -INT "$follower"
wait "$follower"
rc=$?
expect_eq "SIGINT: follower exits 0" "$rc" 0
expect_eq "follower printed all 400" "$(wc -l <"$T/part1")" 400
{ echo "k,id"; for i in $(seq 401 450); do echo "k$((i % 7)),$i"; done; } | "$B" produce g --key k 2>/dev/null
timeout 60 "$B" consume g --group grp --format raw >"$T/part2" 2>>"$T/g.err"
expect_eq "group resumes after what the follower committed" "$(wc -l <"$T/part2")" 50
expect_eq "no record twice, none missing" "$(cat "$T/part1" "$T/part2" | cut -d, -f2 | sort -un | wc -l)" 450

# ---- --from latest with --follow sees only new records ----
timeout 60 "$B" consume g --follow --from latest --max 5 --format raw >"$T/latest" 2>"$T/l.err" &
follower=$!
# the follower positions itself at the end when it starts; keep producing
# single records until it has seen five (bounded)
deadline=$((SECONDS + 30))
i=1000
while kill -0 "$follower" 2>/dev/null && [ $SECONDS -lt $deadline ]; do
    i=$((i + 1))
    printf 'k,id\nk1,%d\n' "$i" | "$B" produce g --key k 2>/dev/null
done
wait "$follower"
expect_eq "--from latest --follow --max 5 exits 0" "$?" 0
expect_eq "--from latest sees only new records" "$(awk -F, '$2 <= 450' "$T/latest" | wc -l) $(wc -l <"$T/latest")" "0 5"
e2e_finish
