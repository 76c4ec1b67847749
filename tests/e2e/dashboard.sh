#!/bin/bash
# The dashboard in a real browser (issue 13): Debian's chromium (installed
# here when missing), headless, driven over the DevTools protocol by
# dashboard_cdp.py, against a running `tide server` with two deployed jobs
# (one with a second version catching up) while a generator feeds their
# topic (with a tide that has no server command: against the stand-in
# tests/e2e/test_server.c, synthetic jobs whose counters grow with the
# clock).  The page must load with no console error, uncaught exception or
# failed request, show both jobs, redraw its charts with more points and
# new pixels as the input grows, and fill the result table.  The
# screenshot is kept as build/artifacts/dashboard.png.
. "$(dirname "$0")/lib.bash"
e2e_init dashboard

if ! command -v chromium >/dev/null; then
    if [ "$(id -u)" != 0 ]; then
        skip dashboard "chromium is not installed and this is not root (apt-get install chromium)"
        e2e_finish
    fi
    TIDE_EXTRA_PACKAGES="chromium" sh "$TIDE_SRC/scripts/deps.sh" >"$T/apt.log" 2>&1 ||
        { bad "install chromium" "$(tail -5 "$T/apt.log")"; e2e_finish; }
fi
e2e_pyvenv websocket-client || { bad "python venv" "cannot install websocket-client"; e2e_finish; }
gpid=
trap '[ -n "$gpid" ] && kill $gpid 2>/dev/null; [ -n "${SPID:-}" ] && kill $SPID 2>/dev/null' EXIT

if "$TIDE_BIN" --help 2>&1 | grep -q '^  server '; then
    B=$TIDE_BIN
    "$B" topic create logins --partitions 2 >/dev/null || bad "topic create" "failed"
    # the generator: logins stamped with the current time, 200 every 0.2 s
    gen() {
        local i=0
        while :; do
            awk -v now="$(date +%s%3N)" -v i="$i" 'BEGIN { for (k = 0; k < 200; k++) {
                ms = now - 200 + k; printf "%s.%03d,%d,%s\n", strftime("%Y-%m-%d %H:%M:%S", int(ms / 1000), 1),
                ms % 1000, (i * 200 + k) * 7919 % 97, substr("DEFRUSJPBR", 1 + 2 * (k % 5), 2) } }' |
                "$B" produce logins --format raw 2>/dev/null
            i=$((i + 1))
            sleep 0.2
        done
    }
    gen &
    gpid=$!
    for q in "per_country:country, COUNT(*) AS logins, COUNT(DISTINCT user_id) AS users:window_start, window_end, country" \
        "dau:COUNT(DISTINCT user_id) AS users:window_start, window_end"; do
        IFS=: read -r name sel grp <<<"$q"
        cat >"$T/$name.sql" <<SQL
CREATE TABLE logins (ts TIMESTAMP(3), user_id BIGINT, country STRING,
                     WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
WITH ('connector' = 'topic', 'topic' = 'logins', 'format' = 'csv');
SELECT window_start, window_end, $sel
FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '2' SECOND))
GROUP BY $grp;
SQL
    done
    e2e_server --checkpoint-interval 1s || { bad "tide server" "did not start"; e2e_finish; }
    expect_status "deploy per_country" 0 "$B" deploy "$T/per_country.sql" --job per_country
    expect_status "deploy dau" 0 "$B" deploy "$T/dau.sql" --job dau
    sleep 2
    expect_status "deploy dau v2 from earliest" 0 "$B" deploy "$T/dau.sql" --job dau --from earliest
    if ! "$PY" -c 'import sys, urllib.request
r = urllib.request.urlopen("http://%s/ui/dashboard.js" % sys.argv[1], timeout=10)
sys.exit(0 if r.status == 200 and "javascript" in r.headers.get("Content-Type", "") else 1)' "$ADDR" 2>/dev/null; then
        skip "tide server" "it does not serve the dashboard (GET /ui/dashboard.js): the test server stands in"
        kill $gpid 2>/dev/null
        gpid=
        kill -TERM "$SPID" 2>/dev/null
        wait "$SPID" 2>/dev/null
        SPID=
    fi
fi
if [ -z "${SPID:-}" ]; then
    e2e_test_server || { bad "test server" "did not start"; e2e_finish; }
fi
art=$(dirname "$TIDE_TEST_TMP")/artifacts
mkdir -p "$art"
if "$PY" "$TIDE_SRC/tests/e2e/dashboard_cdp.py" --chromium "$(command -v chromium)" --url "http://$ADDR/" \
    --jobs per_country,dau --screenshot "$art/dashboard.png" --wait 4 >"$T/cdp.log" 2>&1; then
    ok "the dashboard in chromium: $(grep -c '^ok' "$T/cdp.log") checks"
else
    bad "the dashboard in chromium" "$(grep -v '^ok' "$T/cdp.log" | head -c 1500)"
fi
cat "$T/cdp.log"
[ -n "$gpid" ] && kill $gpid 2>/dev/null
kill -TERM "$SPID"
wait "$SPID"
expect_eq "the server stops on SIGTERM" "$?" 0
SPID=
e2e_finish
