#!/bin/bash
# The main job: installs what is missing, builds in Release, and runs the log benchmark
# (8 producers, 128-byte records, fsync) with its same-run baseline. Extra arguments go to
# cairn-bench log.
set -euo pipefail
cd "$(dirname "$0")/../.."
./tools/scripts/install-deps.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DCAIRN_BUILD_TESTS=OFF >/dev/null
cmake --build build/release -j "$(nproc)"
data=${CAIRN_DATA_DIR:-./cairn-data}/bench-log
rm -rf "$data"
./build/release/bench/cairn-bench log --producers 8 --payload 128 --seconds 5 --dir "$data" "$@"
echo
echo "The log is in $data. Inspect it with:"
echo "  ./build/release/tools/cairn log verify $data"
echo "  ./build/release/tools/cairn log stats $data"
echo "  ./build/release/tools/cairn log dump $data --json | head"
