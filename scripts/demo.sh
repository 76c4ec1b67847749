#!/bin/sh
# Install what is missing, build, and run the demo on the embedded default
# (data directory ./tide-data, generated data; nothing else to install or start):
#   1. the durable log: a 4-partition topic, 100,000 generated logins in and out;
#   2. streaming SQL: daily and monthly active users (DAU, MAU) over 1,000,000
#      generated, out-of-order logins (examples/analytics_logins.sql).
set -eu
cd "$(dirname "$0")/.."
. scripts/deps.sh
dir=$(scripts/build.sh)
"$dir/tide" demo "$@"
echo
echo "== streaming SQL: examples/analytics_logins.sql (DAU per day, then MAU over sliding 30 days)"
"$dir/tide" run examples/analytics_logins.sql --format table
echo
echo "That was one engine, event time and exact COUNT(DISTINCT) over an out-of-order stream."
echo "Next: $dir/tide explain examples/analytics_logins.sql, and the README's 'Using the log' section."
