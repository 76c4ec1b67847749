#!/bin/bash
# The dashboard in a real browser (issue 13): Debian's chromium (installed
# here when missing), headless, driven over the DevTools protocol by
# dashboard_cdp.py, against the test server (tests/e2e/test_server.c: the
# real HTTP listener and embedded page over synthetic jobs whose counters
# grow with the clock; `tide server` with deployed jobs is not on main
# yet).  The page must load with no console error, uncaught exception or
# failed request, show both jobs, redraw its charts with more points and
# new pixels as the counters grow, and fill the result table.  The
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
trap '[ -n "${SPID:-}" ] && kill $SPID 2>/dev/null' EXIT

e2e_test_server || e2e_finish
art=$(dirname "$TIDE_TEST_TMP")/artifacts
mkdir -p "$art"
if "$PY" "$TIDE_SRC/tests/e2e/dashboard_cdp.py" --chromium "$(command -v chromium)" --url "http://$ADDR/" \
    --jobs per_country,dau --screenshot "$art/dashboard.png" --wait 4 >"$T/cdp.log" 2>&1; then
    ok "the dashboard in chromium: $(grep -c '^ok' "$T/cdp.log") checks"
else
    bad "the dashboard in chromium" "$(grep -v '^ok' "$T/cdp.log" | head -c 1500)"
fi
cat "$T/cdp.log"
kill -TERM "$SPID"
wait "$SPID"
expect_eq "the test server stops on SIGTERM" "$?" 0
SPID=
e2e_finish
