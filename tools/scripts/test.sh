#!/bin/bash
# The whole test suite: installs what is missing, builds, and runs every test — first in a normal
# build, then under AddressSanitizer+UBSan and ThreadSanitizer. `.ci/run` calls exactly this.
#   CAIRN_TEST_BUILDS="normal asan tsan"   which builds to run (default: all three)
set -euo pipefail
cd "$(dirname "$0")/../.."
# --browser: the dashboard's end-to-end test (tests/dashboard_e2e) drives headless Chromium.
./tools/scripts/install-deps.sh --browser
jobs=$(nproc)
builds=${CAIRN_TEST_BUILDS:-normal asan tsan}
start=$SECONDS
for b in $builds; do
  # Build time is most of this script's time, so: unity builds (a target's files compiled as one,
  # which parses the heavy headers — gtest, nlohmann/json, the engine's coroutines — once per target
  # instead of once per file; a missing include still shows in a developer's usual build), no full
  # debug info (a third of the compile time), and AddressSanitizer at -O0 (half the compile time
  # of -O1 for a slightly slower run). The sanitizer builds keep line tables (-g1) so that their
  # reports name files and lines, and leave out the benchmark, the examples and the CLI: these only
  # read what the libraries hand them, and the decoders they use (frames, payloads, payload JSON)
  # run under the sanitizers through the fuzz drivers.
  common=(-DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=16)
  leaner=(-DCAIRN_BUILD_BENCH=OFF -DCAIRN_BUILD_EXAMPLES=OFF -DCAIRN_BUILD_TOOLS=OFF)
  case $b in
    normal) dir=build/test; flags=(-DCMAKE_BUILD_TYPE=Release "-DCMAKE_CXX_FLAGS_RELEASE=-O2 -DNDEBUG") ;;
    asan) dir=build/asan; flags=(-DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS_DEBUG=-O0 -g1"
            -DCAIRN_SANITIZER=address "${leaner[@]}") ;;
    tsan) dir=build/tsan; flags=(-DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS_DEBUG=-O1 -g1"
            -DCAIRN_SANITIZER=thread "${leaner[@]}") ;;
    *) echo "unknown build '$b' (normal, asan, tsan)" >&2; exit 2 ;;
  esac
  echo "=== $b build ($dir)"
  t0=$SECONDS
  cmake -S . -B "$dir" -G Ninja "${common[@]}" "${flags[@]}" >/dev/null
  cmake --build "$dir" -j "$jobs"
  echo "=== $b tests (built in $((SECONDS - t0)) s)"
  t0=$SECONDS
  export CAIRN_BUILD_KIND=$b
  # Under a sanitizer the crash and power-cut tests look for memory errors and races on the paths
  # of writing, killing and recovering, not for rare kill timings or the one offset that differs:
  # fewer rounds, every 4th offset of the every-offset tests (the normal build runs the full
  # counts). These are most of a sanitizer build's test time. A caller's setting wins.
  if [ "$b" != normal ]; then
    export CAIRN_CRASH_ROUNDS=${CAIRN_CRASH_ROUNDS:-10} CAIRN_ENGINE_CRASH_ROUNDS=${CAIRN_ENGINE_CRASH_ROUNDS:-15}
    export CAIRN_POWER_CUT_ROUNDS=${CAIRN_POWER_CUT_ROUNDS:-10}
    export CAIRN_EVERY_OFFSET_STRIDE=${CAIRN_EVERY_OFFSET_STRIDE:-4}
  fi
  export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/tests/tsan.supp"
  export ASAN_OPTIONS="detect_leaks=1 abort_on_error=1"
  export UBSAN_OPTIONS="print_stacktrace=1 halt_on_error=1"
  ctest --test-dir "$dir" --output-on-failure -j "$jobs"
  echo "=== $b tests passed in $((SECONDS - t0)) s"
done
echo "all tests passed ($builds) in $((SECONDS - start)) s"
