#!/bin/bash
# GET /metrics parsed with prometheus_client's text-format parser (PyPI, in
# a venv), served by the real HTTP listener and metrics renderer over the
# test server's synthetic jobs (tests/e2e/test_server.c) and the real
# topics of the data directory: the topic's end offsets add up to the
# records this test wrote, every job version of GET /jobs has its state and
# counters (metrics_check.py).  With a token (a listener on 0.0.0.0), a
# request without it gets 401 and one with it 200.
. "$(dirname "$0")/lib.bash"
e2e_init metrics
B=$TIDE_BIN

e2e_pyvenv prometheus_client || { bad "python venv" "cannot install prometheus_client"; e2e_finish; }

"$B" topic create logins --partitions 3 >/dev/null || bad "topic create" "failed"
"$B" topic create 'odd"name' --partitions 1 >/dev/null 2>&1 # a name that needs escaping, if allowed
awk 'BEGIN { for (i = 0; i < 3000; i++) printf "%s,%d\n",
     strftime("%Y-%m-%d %H:%M:%S", 1767225600 + int(i / 5), 1) "." sprintf("%03d", (i % 5) * 200), (i * 31) % 53 }' \
    >"$T/in.csv"
records=$(wc -l <"$T/in.csv")
for part in 1 2 3; do
    sed -n "$(((part - 1) * 1000 + 1)),$((part * 1000))p" "$T/in.csv" | "$B" produce logins --format raw 2>/dev/null
done
trap '[ -n "${SPID:-}" ] && kill $SPID 2>/dev/null' EXIT

e2e_test_server || e2e_finish
sleep 1.2 # a second of growth, so counters are not all zero
if "$PY" "$TIDE_SRC/tests/e2e/metrics_check.py" "$ADDR" - dau logins "$records" >"$T/check.log" 2>&1; then
    ok "/metrics parses and agrees: $(grep -c '^ok' "$T/check.log") checks"
else
    bad "/metrics" "$(grep -v '^ok' "$T/check.log" | head -c 1500)"
fi
cat "$T/check.log"
kill -TERM "$SPID"
wait "$SPID"
expect_eq "the test server stops on SIGTERM" "$?" 0
SPID=

# a non-loopback listener with a token
e2e_test_server s3cret || e2e_finish
port=${ADDR##*:}
status_of() { # status_of TOKEN|-
    "$PY" - "$port" "$1" <<'PYEOF'
import sys, urllib.request, urllib.error
h = {} if sys.argv[2] == "-" else {"Authorization": "Bearer " + sys.argv[2]}
try:
    print(urllib.request.urlopen(urllib.request.Request("http://127.0.0.1:%s/metrics" % sys.argv[1], headers=h),
                                 timeout=10).status)
except urllib.error.HTTPError as e:
    print(e.code)
PYEOF
}
expect_eq "a listener on ${ADDR%:*}: /metrics without the token gets 401" "$(status_of -)" 401
expect_eq "a wrong token gets 401" "$(status_of s3cre)" 401
expect_eq "the token gets 200" "$(status_of s3cret)" 200
kill -TERM "$SPID"
wait "$SPID"
SPID=
e2e_finish
