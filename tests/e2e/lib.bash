# lib.bash - shared helpers of the end-to-end tests (sourced, not a test:
# CMake runs tests/e2e/*.sh only).
#
# Each test gets $TIDE_BIN (the tide binary), $TIDE_TEST_TMP (a scratch
# directory) and $TIDE_SRC (the repo root).  e2e_init creates a private
# directory $T with its own data directory ($TIDE_DATA), removed at the end
# when every check passed.

set -u
: "${TIDE_BIN:?TIDE_BIN must name the tide binary}"
TIDE_TEST_TMP=${TIDE_TEST_TMP:-/tmp}
export LC_ALL=C

e2e_pass=0
e2e_fail=0

e2e_init() {
    mkdir -p "$TIDE_TEST_TMP"
    T=$(mktemp -d "$TIDE_TEST_TMP/e2e-$1.XXXXXX")
    export TIDE_DATA="$T/data"
}

ok() { e2e_pass=$((e2e_pass + 1)); echo "ok   $1"; }
bad() { e2e_fail=$((e2e_fail + 1)); echo "FAIL $1: $2" >&2; }
# skip NAME WHY: a check that cannot run here (never for something the
# repository itself should provide: that is `bad`).  A script with skips and
# no failures exits 77, which ctest reports as skipped, not passed.
e2e_skip=0
skip() { e2e_skip=$((e2e_skip + 1)); echo "skip $1: $2"; }

# expect_eq NAME GOT WANT
expect_eq() {
    if [ "$2" == "$3" ]; then ok "$1"; else bad "$1" "got '$2', want '$3'"; fi
}

# expect_status NAME WANT CMD...: run CMD (stdout/stderr to $T/out, $T/err).
expect_status() {
    local name=$1 want=$2
    shift 2
    "$@" >"$T/out" 2>"$T/err"
    local got=$?
    if [ "$got" == "$want" ]; then ok "$name"; else bad "$name" "exit $got, want $want; stderr: $(head -c 400 "$T/err")"; fi
}

# expect_grep NAME PATTERN FILE
expect_grep() {
    if grep -q -E -- "$2" "$3"; then ok "$1"; else bad "$1" "no line matching '$2' in $3: $(head -c 400 "$3")"; fi
}

now_s() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now_s)" 'BEGIN { printf "%.2f", b - a }'; }

e2e_finish() {
    echo "$e2e_pass passed, $e2e_fail failed, $e2e_skip skipped"
    if [ "$e2e_fail" -eq 0 ]; then
        rm -rf "$T"
        [ "$e2e_skip" -eq 0 ] || exit 77
        exit 0
    fi
    echo "(kept $T)" >&2
    exit 1
}

# e2e_pyvenv PACKAGE...: a Python venv with the PyPI packages, in
# $TIDE_PY_VENV (default ~/.cache/tide-py), created or completed on first
# use (python3-venv from Debian, scripts/deps.sh installs it).  Sets $PY.
e2e_pyvenv() {
    local venv=${TIDE_PY_VENV:-$HOME/.cache/tide-py} p missing=""
    if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
        TIDE_EXTRA_PACKAGES="python3-venv" sh "$TIDE_SRC/scripts/deps.sh" || return 1
    fi
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv" || return 1
    for p in "$@"; do
        "$venv/bin/pip" show -q "$p" >/dev/null 2>&1 || missing="$missing $p"
    done
    if [ -n "$missing" ]; then
        echo "installing$missing from PyPI into $venv" >&2
        # shellcheck disable=SC2086
        "$venv/bin/pip" install -q $missing >&2 || return 1
    fi
    PY=$venv/bin/python
}

# e2e_test_server [TOKEN]: start tests/e2e/test_server.c ($TIDE_TEST_SERVER:
# the real HTTP listener, dashboard and /metrics over synthetic jobs and the
# real topics of $TIDE_DATA) in the background ($SPID), wait for its
# address ($ADDR).  With TOKEN it listens on 0.0.0.0 and checks it.
e2e_test_server() {
    : "${TIDE_TEST_SERVER:?TIDE_TEST_SERVER must name the test server}"
    rm -f "$T/test_server.addr"
    "$TIDE_TEST_SERVER" "$TIDE_DATA" "$T/test_server.addr" "$@" >>"$T/server.log" 2>&1 &
    SPID=$!
    e2e_wait_addr "$T/test_server.addr" "test server start"
}

# e2e_wait_addr FILE WHAT: wait (up to 30 s) until the server $SPID wrote
# its address to FILE ($ADDR), or it died (a `bad` line naming WHAT).
e2e_wait_addr() {
    for _ in $(seq 1 600); do
        if [ -s "$1" ]; then
            ADDR=$(head -n 1 "$1")
            return 0
        fi
        kill -0 "$SPID" 2>/dev/null || break
        sleep 0.05
    done
    bad "$2" "no address in $1: $(tail -5 "$T/server.log")"
    return 1
}

# e2e_server [ARGS...]: start `tide server --listen 127.0.0.1:0 ARGS` on
# $TIDE_DATA in the background ($SPID), wait for its address ($ADDR, from
# server.addr); its output goes to $T/server.log.
e2e_server() {
    rm -f "$TIDE_DATA/server.addr"
    "$TIDE_BIN" server --listen 127.0.0.1:0 "$@" >>"$T/server.log" 2>&1 &
    SPID=$!
    e2e_wait_addr "$TIDE_DATA/server.addr" "server start"
}
