#!/bin/sh
# Configure and build tide.  Usage: scripts/build.sh [--asan] [--tsan] [--fuzz]
# Prints the build directory on stdout.
set -eu
cd "$(dirname "$0")/.."
dir=build
opts="-DTIDE_WERROR=ON"
for a in "$@"; do
    case "$a" in
    --asan) dir=build-asan; opts="$opts -DTIDE_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug" ;;
    --tsan) dir=build-tsan; opts="$opts -DTIDE_TSAN=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang" ;;
    --fuzz) dir=build-fuzz; opts="$opts -DTIDE_FUZZ=ON -DTIDE_SANITIZE=ON -DCMAKE_C_COMPILER=clang" ;;
    *) echo "usage: scripts/build.sh [--asan] [--tsan] [--fuzz]" >&2; exit 1 ;;
    esac
done
# shellcheck disable=SC2086
cmake -S . -B "$dir" -G Ninja $opts >&2
ninja -C "$dir" >&2
echo "$dir"
