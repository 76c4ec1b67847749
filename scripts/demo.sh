#!/bin/sh
# Install what is missing, build, and run the demo pipeline on the embedded
# default (a data directory under ./tide-data, generated data).
set -eu
cd "$(dirname "$0")/.."
. scripts/deps.sh
dir=$(scripts/build.sh)
exec "$dir/tide" demo "$@"
