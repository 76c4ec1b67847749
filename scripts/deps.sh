#!/bin/sh
# Install what tide needs to build and test, on Debian 12, if it is missing.
# Sourced by scripts/demo.sh and scripts/test.sh; safe to run again.
set -eu

# TIDE_EXTRA_PACKAGES: what one mode needs besides (scripts/coverage.sh: gcovr).
TIDE_PACKAGES="build-essential cmake ninja-build clang libclang-rt-14-dev sqlite3 python3 procps ${TIDE_EXTRA_PACKAGES:-}"

tide_missing=""
for p in $TIDE_PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        tide_missing="$tide_missing $p"
    fi
done
if [ -n "$tide_missing" ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "tide: missing Debian packages:$tide_missing (run as root, or install them)" >&2
        exit 2
    fi
    echo "tide: installing$tide_missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >&2
    # shellcheck disable=SC2086
    apt-get install -y -q --no-install-recommends $tide_missing >&2
fi
