#!/bin/sh
# Install what is missing, build, and run the whole test suite (ctest).
# Usage: scripts/test.sh [--asan | --tsan]
#   --asan: the same suite under ASan+UBSan
#   --tsan: the tests that run threads (ctest label "threads") under ThreadSanitizer
set -eu
cd "$(dirname "$0")/.."
. scripts/deps.sh
dir=$(scripts/build.sh "$@")
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}
export ASAN_OPTIONS UBSAN_OPTIONS TSAN_OPTIONS
label=""
for a in "$@"; do [ "$a" = --tsan ] && label="-L threads"; done
# shellcheck disable=SC2086
ctest --test-dir "$dir" --output-on-failure -j "$(nproc)" $label
