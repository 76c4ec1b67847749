#!/bin/bash
# A named job broken at each fault point of a checkpoint and of its sink's
# commit (base/fault.h: TIDE_FAULT="POINT:kill@N" kills the process there,
# "POINT:eio@N" makes that step fail with EIO), one at a time; then run
# again without faults until it finishes.  The committed output (a file
# table: part files) must then be the uninterrupted run's, row for row, and
# after an EIO the job must have stopped with an error naming the point
# (exit 2), after a kill have died (137).
. "$(dirname "$0")/lib.bash"
e2e_init job_faults
B=$TIDE_BIN

awk 'BEGIN {
    seed = 99; n = 1000000; t = 1704067200000
    split("US IN DE FR BR JP", ctry, " ")
    for (i = 0; i < n; i++) {
        seed = (seed * 1103515245 + 12345) % 2147483648
        r = int(seed / 65536)
        t += r % 40
        printf "%.0f,%d,%s\n", t - (r % 8 == 0 ? r % 4000 : 0), r % 5000, ctry[r % 6 + 1]
    }
}' >"$T/in.csv"

# q.sql: the query into file table `parts` ($1)
mk() {
    cat <<EOF
CREATE TABLE logins (ts TIMESTAMP(3), user_id BIGINT, country STRING,
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND)
WITH ('connector' = 'file', 'path' = 'in.csv', 'format' = 'csv');
CREATE TABLE out (window_start TIMESTAMP(3), window_end TIMESTAMP(3), country STRING, n BIGINT, users BIGINT)
WITH ('connector' = 'file', 'path' = '$1', 'format' = 'csv');
INSERT INTO out SELECT window_start, window_end, country, COUNT(*) AS n, COUNT(DISTINCT user_id) AS users
FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
GROUP BY window_start, window_end, country;
EOF
}
mk full.csv >"$T/full.sql"
"$B" run "$T/full.sql" 2>"$T/err" || bad "uninterrupted run" "$(cat "$T/err")"
rows=$(wc -l <"$T/full.csv")
[ "$rows" -gt 100 ] && ok "uninterrupted run: $rows rows" || bad "uninterrupted run" "$rows rows"

i=0
for point in ckpt.state.write ckpt.state.fsync ckpt.state.rename ckpt.manifest.write ckpt.prune \
    job.barrier job.complete job.ids \
    sink.file.precommit sink.file.precommit.rename sink.file.commit; do
    for action in kill eio; do
        i=$((i + 1))
        n=2
        # (job.ids: at the start only, then every 1024 ids; ckpt.prune: from the 4th checkpoint)
        [ "$point" = job.ids ] || [ "$point" = ckpt.prune ] && n=1
        mk "parts$i" >"$T/q$i.sql"
        TIDE_FAULT="$point:$action@$n" "$B" run "$T/q$i.sql" --job "j$i" --checkpoint-interval 2ms \
            >/dev/null 2>"$T/f$i.err"
        st=$?
        if [ "$action" = kill ]; then
            expect_eq "$point:kill@$n: the run died there" "$st" "137"
        else
            if [ "$st" -eq 2 ] && grep -q "$point: injected fault" "$T/f$i.err"; then
                ok "$point:eio@$n: the job stopped with the error"
            else
                bad "$point:eio@$n" "exit $st: $(head -c 300 "$T/f$i.err")"
            fi
        fi
        # again, without faults, until it finishes
        for _ in 1 2 3; do
            "$B" run "$T/q$i.sql" --job "j$i" --checkpoint-interval 2ms >/dev/null 2>"$T/r$i.err" && break
        done
        grep -q -E "^job j$i: checkpoint [0-9]+ \(finished\)" "$T/r$i.err" ||
            bad "$point:$action: the rerun" "did not finish: $(head -c 300 "$T/r$i.err")"
        got=$(cat $(ls "$T/parts$i"/part-* 2>/dev/null | sort) </dev/null 2>/dev/null | cksum)
        expect_eq "$point:$action: committed output = uninterrupted output" "$got" "$(cksum <"$T/full.csv")"
    done
done

e2e_finish
