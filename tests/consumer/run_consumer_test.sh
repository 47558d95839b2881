#!/bin/bash
# Builds a small project outside Cairn's tree against Cairn, the way a user would, with warnings
# as errors, runs it and checks what it prints. Registered with CTest (tests/CMakeLists.txt):
#
#   run_consumer_test.sh find_package    CMAKE CXX SOURCE_DIR BUILD_DIR
#     installs BUILD_DIR (already built) into a temporary prefix, moves the prefix elsewhere
#     (the package must be relocatable), checks no installed file names the build or source tree,
#     builds find_package/ against it (find_package(Cairn COMPONENTS json flatbuffers)) and the
#     same program with pkg-config (cairn.pc), runs both, and the installed `cairn` on their log.
#   run_consumer_test.sh add_subdirectory CMAKE CXX SOURCE_DIR
#     configures add_subdirectory/ (Cairn as a subproject), checks that Cairn's tests, benchmark,
#     CLI and examples default to OFF there and that their packages were not looked for, that the
#     dashboard's target is there, builds the libraries and the program (ninja, -j2, unity build
#     at -O0) and runs it.
set -euo pipefail
mode=$1 cmake=$2 cxx=$3 src=$4 build=${5:-}
here=$(cd "$(dirname "$0")" && pwd)
t=$(mktemp -d "${TMPDIR:-/tmp}/cairn-consumer-XXXXXX")
trap 'rm -rf "$t"' EXIT
start=$SECONDS

fail() {
  echo "FAIL ($mode): $*" >&2
  exit 1
}
# step LOG CMD...: runs CMD with its output in $t/LOG, shown only when it fails.
step() {
  local log=$t/$1
  shift
  "$@" >"$log" 2>&1 || { cat "$log" >&2; fail "$* (output above)"; }
}
# check_run WHAT EXPECTED_REGEX CMD...: runs CMD and matches its output.
check_run() {
  local what=$1 want=$2 out
  shift 2
  out=$("$@" 2>&1) || fail "$what exited with $?: $out"
  [[ $out =~ $want ]] || fail "$what printed: $out (expected /$want/)"
  echo "$what: $out"
}
# The run's result and its records: the step, the sleep, the wait and the event that ended it.
want_run='^completed 42 history: created, step completed price, sleep cooling-off, (.+, )?wait approval, wait matched.*, step completed fee, completed$'

case $mode in
  find_package)
    [ -d "$build" ] || fail "no build directory '$build'"
    step install.log "$cmake" --install "$build" --prefix "$t/staging"
    mv "$t/staging" "$t/prefix"  # relocatable: nothing may point back to where it was installed
    leaks=$(grep -rlF -e "$build" -e "$src" -e "$t/staging" "$t/prefix" \
      --include='*.cmake' --include='*.pc' --include='*.h' || true)
    [ -z "$leaks" ] || fail "installed files name the build or source tree: $leaks"
    for f in include/cairn/engine.h include/cairn/log/log.h; do
      [ -f "$t/prefix/$f" ] || fail "not installed: $f"
    done
    for f in CairnConfig.cmake CairnConfigVersion.cmake CairnTargets.cmake cairn.pc; do
      [ -n "$(find "$t/prefix" -name "$f")" ] || fail "not installed: $f"
    done
    [ ! -e "$t/prefix/include/cairn/schema" ] || fail "the internal schema headers were installed"

    step configure.log "$cmake" -S "$here/find_package" -B "$t/build" -G Ninja \
      -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_PREFIX_PATH="$t/prefix"
    step build.log "$cmake" --build "$t/build" -j 2
    check_run "find_package consumer" "$want_run" "$t/build/consumer" "$t/data"
    check_run "find_package codecs" '^json \{"total":42\}$' "$t/build/consumer_codecs"
    check_run "find_package dashboard" '^dashboard 200 runs 1$' "$t/build/consumer_dashboard" "$t/dash_data"

    # pkg-config: the same program from cairn.pc alone (libs and flags of liburing/libxxhash too).
    PKG_CONFIG_PATH=$(dirname "$(find "$t/prefix" -name cairn.pc)")
    export PKG_CONFIG_PATH
    pc_flags=$(pkg-config --cflags --libs cairn) || fail "pkg-config --cflags --libs cairn failed"
    read -r -a pc <<<"$pc_flags"
    step pkgconfig.log "$cxx" -std=c++20 -O1 -Wall -Wextra -Wpedantic -Werror \
      "$here/main.cc" -o "$t/pc_consumer" "${pc[@]}"
    check_run "pkg-config consumer" "$want_run" "$t/pc_consumer" "$t/pc_data"

    # The installed tools (when this build made them) read what the consumer wrote.
    if [ -x "$build/tools/cairn" ]; then
      [ -x "$t/prefix/bin/cairn" ] || fail "the cairn tool was not installed"
      step verify.log "$t/prefix/bin/cairn" log verify "$t/data/log"
      echo "installed cairn: log verify of the consumer's log passed"
    fi
    if [ -x "$build/bench/cairn-bench" ]; then
      [ -x "$t/prefix/bin/cairn-bench" ] || fail "cairn-bench was not installed"
    fi
    ;;
  add_subdirectory)
    # Cairn's libraries are compiled again here: a unity build at -O0 without debug info (what
    # this checks is the subproject's wiring; find_package above uses the optimized build): 36 s
    # on the 2-core VM, against about 80 s for the Release build it was.
    step configure.log "$cmake" -S "$here/add_subdirectory" -B "$t/build" -G Ninja \
      -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-O0 -DCMAKE_CXX_COMPILER="$cxx" \
      -DCAIRN_SOURCE_DIR="$src" -DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=16
    cache=$t/build/CMakeCache.txt
    for opt in CAIRN_BUILD_TESTS CAIRN_BUILD_BENCH CAIRN_BUILD_TOOLS CAIRN_BUILD_EXAMPLES CAIRN_INSTALL; do
      grep -qx "$opt:BOOL=OFF" "$cache" || fail "$opt is not OFF by default in a subproject: $(grep "^$opt:" "$cache")"
    done
    looked=$(grep -oE '^(GTest_DIR|GTEST_[A-Z_]*|benchmark_DIR|CLI11_DIR|RocksDB_DIR|SQLite3_[A-Z_]*)[:=]' "$cache" || true)
    [ -z "$looked" ] || fail "a subproject looked for the tests' or tools' packages: $looked"
    # The dashboard's target is configured here (its cpp-httplib found through pkg-config in a
    # subproject) but not compiled: the find_package consumer builds and runs the same program
    # against the installed dashboard, and compiling it again cost a third of this test's CPU.
    dash=$(ninja -C "$t/build" -t query consumer_dashboard) ||
      fail "the subproject has no consumer_dashboard: $dash"
    grep -q 'libcairn_dashboard\.a' <<<"$dash" || fail "consumer_dashboard does not link Cairn::dashboard: $dash"
    step build.log "$cmake" --build "$t/build" -j 2 --target consumer
    check_run "add_subdirectory consumer" "$want_run" "$t/build/consumer" "$t/data"
    ;;
  *)
    fail "unknown mode (find_package, add_subdirectory)"
    ;;
esac
echo "$mode consumer test passed in $((SECONDS - start)) s"
