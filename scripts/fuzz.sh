#!/bin/sh
# Build the libFuzzer targets and run each briefly over its corpus.
# Usage: scripts/fuzz.sh [SECONDS-PER-TARGET]   (default 30)
set -eu
cd "$(dirname "$0")/.."
. scripts/deps.sh
secs=${1:-30}
dir=$(scripts/build.sh --fuzz)
found=0
for f in "$dir"/fuzz_*; do
    [ -x "$f" ] || continue
    found=1
    name=$(basename "$f" | sed 's/^fuzz_//')
    corpus="fuzz/corpus/$name"
    work=$(mktemp -d)
    [ -d "$corpus" ] && cp -r "$corpus"/. "$work"/ 2>/dev/null || true
    echo "fuzz: $name for ${secs}s" >&2
    "$f" -max_total_time="$secs" -print_final_stats=0 -detect_leaks=1 "$work" >"$work.log" 2>&1 || {
        tail -50 "$work.log" >&2
        echo "fuzz: $name FAILED" >&2
        exit 1
    }
    rm -rf "$work" "$work.log"
done
[ $found = 1 ] || echo "fuzz: no targets built" >&2
