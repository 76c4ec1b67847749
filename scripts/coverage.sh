#!/bin/sh
# Line and branch coverage of the test suite, per folder of src/.
# Usage: scripts/coverage.sh [ctest args...]   (e.g. -L unit: unit tests only)
#
# Builds build-coverage (gcov instrumentation, -O0: scripts/build.sh
# --coverage), clears earlier counts, runs the suite (ctest), and prints
# for each folder the lines and branches the suite executed, from gcovr
# (installed from Debian when missing).  Per-file figures:
# build-coverage/coverage.csv; an HTML report with the lines not covered:
# gcovr -r . --html-details build-coverage/coverage.html build-coverage.
set -eu
cd "$(dirname "$0")/.."
TIDE_EXTRA_PACKAGES=gcovr
. scripts/deps.sh
dir=$(scripts/build.sh --coverage)
find "$dir" -name '*.gcda' -delete
# -O0 and counters make the binaries slower: the timed latency test gets
# the allowance of the sanitizer build (its promise is the release build's).
TIDE_LIVE_ALLOW_MS=${TIDE_LIVE_ALLOW_MS:-3000}
export TIDE_LIVE_ALLOW_MS
suite=0
ctest --test-dir "$dir" --output-on-failure -j "$(nproc)" "$@" >"$dir/coverage-ctest.log" 2>&1 || suite=$?
tail -n 3 "$dir/coverage-ctest.log"
gcovr -r . --filter 'src/' --csv "$dir/coverage.csv" "$dir" >/dev/null
# csv: filename,line_total,line_covered,line_percent,branch_total,branch_covered,...
awk -F, 'NR > 1 {
        n = split($1, p, "/"); d = p[1] "/" p[2];
        lt[d] += $2; lc[d] += $3; bt[d] += $5; bc[d] += $6;
        LT += $2; LC += $3; BT += $5; BC += $6;
    }
    function pct(c, t) { return t ? sprintf("%5.1f%%", 100 * c / t) : "    -" }
    END {
        printf "%-12s %16s %8s %16s %8s\n", "folder", "lines", "", "branches", "";
        for (d in lt) printf "%-12s %7d / %6d %8s %7d / %6d %8s\n", d, lc[d], lt[d], pct(lc[d], lt[d]), bc[d], bt[d], pct(bc[d], bt[d]) | "sort";
        close("sort");
        printf "%-12s %7d / %6d %8s %7d / %6d %8s\n", "total", LC, LT, pct(LC, LT), BC, BT, pct(BC, BT);
    }' "$dir/coverage.csv"
if [ "$suite" != 0 ]; then
    echo "coverage: the suite failed (figures above are of a failing run): $dir/coverage-ctest.log" >&2
    exit 1
fi
