#!/bin/bash
# The whole test suite: installs what is missing, builds, and runs every test — first in a normal
# build, then under AddressSanitizer+UBSan and ThreadSanitizer. `.ci/run` calls exactly this.
#   CAIRN_TEST_BUILDS="normal asan tsan"   which builds to run (default: all three)
set -euo pipefail
cd "$(dirname "$0")/../.."
./tools/scripts/install-deps.sh
jobs=$(nproc)
builds=${CAIRN_TEST_BUILDS:-normal asan tsan}
for b in $builds; do
  case $b in
    normal) dir=build/test; flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
    asan) dir=build/asan; flags=(-DCMAKE_BUILD_TYPE=Debug -DCAIRN_SANITIZER=address -DCAIRN_BUILD_BENCH=OFF) ;;
    tsan) dir=build/tsan; flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCAIRN_SANITIZER=thread -DCAIRN_BUILD_BENCH=OFF) ;;
    *) echo "unknown build '$b' (normal, asan, tsan)" >&2; exit 2 ;;
  esac
  echo "=== $b build ($dir)"
  cmake -S . -B "$dir" -G Ninja "${flags[@]}" >/dev/null
  cmake --build "$dir" -j "$jobs"
  echo "=== $b tests"
  export CAIRN_BUILD_KIND=$b
  export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/tests/tsan.supp"
  export ASAN_OPTIONS="detect_leaks=1 abort_on_error=1"
  export UBSAN_OPTIONS="print_stacktrace=1 halt_on_error=1"
  ctest --test-dir "$dir" --output-on-failure -j "$jobs"
done
echo "all tests passed ($builds)"
