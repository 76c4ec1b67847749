#!/bin/sh
# Install what is missing, build, and run the whole test suite (ctest).
# Usage: scripts/test.sh [--asan]   (--asan: the same suite under ASan+UBSan)
set -eu
cd "$(dirname "$0")/.."
. scripts/deps.sh
dir=$(scripts/build.sh "$@")
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export ASAN_OPTIONS UBSAN_OPTIONS
ctest --test-dir "$dir" --output-on-failure -j "$(nproc)"
