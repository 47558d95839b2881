#!/bin/bash
# The main job: installs what is missing, builds in Release, and runs the example workload — the
# order workflow (examples/order_workflow) with its flaky payment provider — which ends with a
# summary of durable steps/s, retries, latency and the log. Extra arguments go to order_workflow
# (--orders N, --in-flight W, --payment-failure-rate R, ...).
set -euo pipefail
cd "$(dirname "$0")/../.."
./tools/scripts/install-deps.sh
# A unity build (each target compiled as one file) halves the build on a fresh machine.
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DCAIRN_BUILD_TESTS=OFF \
  -DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=16 >/dev/null
cmake --build build/release -j "$(nproc)"
data=${CAIRN_DATA_DIR:-./cairn-data}/orders
rm -rf "$data"
exec ./build/release/examples/order_workflow --dir "$data" "$@"
