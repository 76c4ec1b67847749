#!/bin/sh
# The differential harness against Apache Flink: the same CREATE TABLE +
# query over the same CSV in Flink's SQL (PyFlink, streaming mode) and in
# tide, final rows compared (scripts/flink_diff.py says how).  Not part of
# the default test command: it installs Java 17 and PyFlink (~1 GB, once,
# in $TIDE_FLINK_VENV, default ~/.cache/tide-flink) and takes minutes.
#
# Usage: scripts/flink_diff.sh [--generated N] [--seed S] [--only TEXT] [--parallelism 1,2,4] [--no-decimal]
# Runs every query of examples/, N (default 40) generated queries and the
# DECIMAL family (decimal#N).
set -eu
cd "$(dirname "$0")/.."
command -v java >/dev/null 2>&1 || TIDE_EXTRA_PACKAGES="openjdk-17-jre-headless"
TIDE_EXTRA_PACKAGES="${TIDE_EXTRA_PACKAGES:-} python3-venv"
. scripts/deps.sh
venv=${TIDE_FLINK_VENV:-$HOME/.cache/tide-flink}
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import pyflink' 2>/dev/null; then
    echo "flink_diff: installing apache-flink from PyPI into $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q apache-flink
fi
dir=$(scripts/build.sh)
work=${TMPDIR:-/tmp}/tide-flink-diff.$$
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT
# Flink's JVM logs go to a file; the harness's lines to stdout
if "$venv/bin/python" scripts/flink_diff.py --tide "$dir/tide" --examples examples --work "$work" "$@" \
    2>"$work/flink.log"; then
    exit 0
fi
echo "flink_diff: disagreements (or a failure: the last lines of Flink's log follow)" >&2
grep -v -e '^WARNING' -e '^SLF4J' "$work/flink.log" | tail -5 >&2
exit 1
