#!/bin/bash
# Asynchronous checkpoints of a job with big keyed state: an unwindowed
# GROUP BY, whose group aggregate only copies its table at the barrier
# (exec/node.h freeze) while the coordinator's thread serialises and writes
# the copy.  The job is broken where a frozen copy is written (fault point
# flow.snapshot.write, the 3rd time: the second checkpoint's first copy at
# P = 2) with EIO and with a kill, then run again without faults to the end.
#   - after the EIO the job stopped with an error naming the point (exit
#     2), after the kill it died (137);
#   - the broken checkpoint left no manifest: the job's only complete
#     checkpoint is the first, and every manifest has its state file;
#   - the rerun resumes from it and finishes; the committed changelog
#     (file table: part files), applied, is the per-user COUNT(*) and SUM
#     awk computes over the input: nothing lost, nothing twice.
. "$(dirname "$0")/lib.bash"
e2e_init ckpt_async
B=$TIDE_BIN

awk 'BEGIN {
    seed = 5; n = 400000; t = 1704067200000
    for (i = 0; i < n; i++) {
        seed = (seed * 1103515245 + 12345) % 2147483648
        r = int(seed / 65536)
        t += r % 40
        printf "%.0f,%d,%s\n", t, (r * 7 + i) % 30000, (r % 2 ? "US" : "DE")
    }
}' >"$T/in.csv"
awk -F, '{ n[$2]++; s[$2] += $2 } END { for (u in n) print u "," n[u] "," s[u] }' "$T/in.csv" | sort >"$T/want"

# q.sql: the query into file table $1
mk() {
    cat <<EOF
CREATE TABLE logins (ts TIMESTAMP(3), user_id BIGINT, country STRING,
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND)
WITH ('connector' = 'file', 'path' = 'in.csv', 'format' = 'csv');
CREATE TABLE out (op STRING, user_id BIGINT, n BIGINT, s BIGINT)
WITH ('connector' = 'file', 'path' = '$1', 'format' = 'csv');
INSERT INTO out SELECT user_id, COUNT(*) AS n, SUM(user_id) AS s FROM logins GROUP BY user_id;
EOF
}

# The committed changelog of file table $1, applied: "user,n,s" sorted.
applied() {
    cat $(ls "$T/$1"/part-* 2>/dev/null | sort) </dev/null 2>/dev/null |
        awk -F, '$1 == "+I" || $1 == "+U" { v[$2] = $3 "," $4 }
                 $1 == "-U" || $1 == "-D" { delete v[$2] }
                 END { for (k in v) print k "," v[k] }' | sort
}

mk plain >"$T/plain.sql"
"$B" run "$T/plain.sql" --job plain --checkpoint-interval 2ms >/dev/null 2>"$T/err" ||
    bad "uninterrupted run" "$(head -c 300 "$T/err")"
expect_eq "uninterrupted job, checkpoints every 2 ms: applied output = awk's counts" \
    "$(applied plain | cksum)" "$(cksum <"$T/want")"

for action in eio kill; do
    job="j$action"
    mk "parts_$action" >"$T/q_$action.sql"
    TIDE_WORKERS=2 TIDE_FAULT="flow.snapshot.write:$action@3" "$B" run "$T/q_$action.sql" --job "$job" \
        --checkpoint-interval 2ms --parallelism 2 >/dev/null 2>"$T/f_$action.err"
    st=$?
    if [ "$action" = kill ]; then
        expect_eq "flow.snapshot.write:kill@3: the run died there" "$st" "137"
    elif [ "$st" -eq 2 ] && grep -q "flow.snapshot.write: injected fault" "$T/f_$action.err"; then
        ok "flow.snapshot.write:eio@3: the job stopped with the error"
    else
        bad "flow.snapshot.write:eio@3" "exit $st: $(head -c 300 "$T/f_$action.err")"
    fi
    dir="$TIDE_DATA/jobs/$job/checkpoints"
    manifests=$(cd "$dir" && ls -- *.manifest 2>/dev/null | tr '\n' ' ')
    expect_eq "$action: the only complete checkpoint is the first (the broken one has no manifest)" \
        "$manifests" "00000000000000000001.manifest "
    for m in $manifests; do
        [ -f "$dir/${m%.manifest}.state" ] || bad "$action: manifest $m" "without its state file"
    done
    "$B" run "$T/q_$action.sql" --job "$job" --checkpoint-interval 2ms --parallelism 2 >/dev/null \
        2>"$T/r_$action.err" || bad "$action: the rerun" "$(head -c 300 "$T/r_$action.err")"
    grep -q "^resumed $job from checkpoint 1 (" "$T/r_$action.err" ||
        bad "$action: the rerun" "does not say it resumed from checkpoint 1: $(head -c 300 "$T/r_$action.err")"
    expect_eq "$action: rerun to the end: applied committed output = awk's counts" \
        "$(applied "parts_$action" | cksum)" "$(cksum <"$T/want")"
done

e2e_finish
