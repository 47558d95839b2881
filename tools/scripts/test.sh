#!/bin/bash
# The whole test suite: installs what is missing, builds, and runs every test — first in a normal
# build, then under AddressSanitizer+UBSan and ThreadSanitizer. `.ci/run` calls exactly this.
#   CAIRN_TEST_BUILDS="normal asan tsan"   which builds to run (default: all three)
set -euo pipefail
cd "$(dirname "$0")/../.."
# --browser: the dashboard's end-to-end test (tests/dashboard_e2e) drives headless Chromium.
# --clang: the sanitizer builds compile with Clang (below).
./tools/scripts/install-deps.sh --browser --clang
jobs=$(nproc)
read -r -a builds <<<"${CAIRN_TEST_BUILDS:-normal asan tsan}"
start=$SECONDS

# Three builds and their tests must fit in 15 minutes on a 2-core machine, and compiling is most
# of the CPU (measured on the 2-core VM, 2026-12-01: the normal build 565 s of CPU at -O2, the
# sanitizer builds 527 s and 320 s with GCC; their tests 258, 439 and 430 s). So:
# - unity builds (a target's files compiled as one, which parses the heavy headers — gtest,
#   nlohmann/json, the engine's coroutines — once per target instead of once per file; a missing
#   include still shows in a developer's usual build), no precompiled header then (making one
#   cost more than it saved), no full debug info, and lld (a third of GNU ld's CPU per link);
# - the normal build at -O1 with a lazier GCC garbage collector: 416 s of CPU against 565 s, for
#   tests that ran as fast (main.sh and the benchmarks build Release at -O2); the GoogleTest
#   binaries' own files at -O0 (CAIRN_TEST_CODE_OPTIONS: the libraries they test stay at -O1);
# - the sanitizer builds with Clang, which compiles them in 55 % (ASan) and 80 % (TSan) of GCC's
#   CPU (and checks that Cairn builds with a second compiler): AddressSanitizer+UBSan (less its
#   costly vptr check, cmake/CairnCompileOptions.cmake) at -O0,
#   ThreadSanitizer at -O1 for the libraries and -O0 for the tests' own code and harnesses
#   (CAIRN_TEST_CODE_OPTIONS, CAIRN_TEST_HARNESS_OPTIONS: half the CPU of -O1 there, e.g.
#   engine_tests' first unity file 27 s against 59 s), with line tables (-g1) so that their
#   reports name files and lines (llvm-symbolizer turns them into names, which tests/tsan.supp
#   matches). They leave out the benchmark, the examples and the CLI: these only read what the
#   libraries hand them, and the
#   decoders they use (frames, payloads, payload JSON) run under AddressSanitizer+UBSan through
#   the fuzz drivers (50,000 generated inputs each under AddressSanitizer, against 200,000 in
#   the normal build, besides the seed corpus). Nor do they make the libFuzzer binaries
#   (CAIRN_LIBFUZZER), which CTest does not run: the drivers run the same fuzz targets. The
#   engine crash checks' own tests (crash_checks_tests) run in the normal build only;
# - each GoogleTest binary runs as 4 processes (CAIRN_TEST_SHARDS, tests/CMakeLists.txt) instead
#   of one per test: a sanitizer process costs 0.2 to 0.3 s of CPU to start.
common=(-DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=16 -DCAIRN_TEST_SHARDS=4
  -DCMAKE_EXE_LINKER_FLAGS=-fuse-ld=lld -DCMAKE_SHARED_LINKER_FLAGS=-fuse-ld=lld)
leaner=(-DCAIRN_BUILD_BENCH=OFF -DCAIRN_BUILD_EXAMPLES=OFF -DCAIRN_BUILD_TOOLS=OFF)
dir_of() {
  case $1 in
    normal) echo build/test ;;
    asan) echo build/asan ;;
    tsan) echo build/tsan ;;
    *) echo "unknown build '$1' (normal, asan, tsan)" >&2; exit 2 ;;
  esac
}
for b in "${builds[@]}"; do dir_of "$b" >/dev/null; done

# configure_and_build BUILD: output goes to stdout (the caller may redirect it).
configure_and_build() {
  local b=$1 dir flags
  dir=$(dir_of "$b")
  case $b in
    normal) flags=(-DCMAKE_BUILD_TYPE=Release
            "-DCMAKE_CXX_FLAGS_RELEASE=-O1 -DNDEBUG --param=ggc-min-expand=400 --param=ggc-min-heapsize=2097152"
            -DCAIRN_TEST_CODE_OPTIONS=-O0) ;;
    asan) flags=(-DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Debug
            "-DCMAKE_CXX_FLAGS_DEBUG=-O0 -g1" -DCAIRN_SANITIZER=address -DCAIRN_LIBFUZZER=OFF
            -DCAIRN_FUZZ_DRIVER_ITERATIONS=50000 "${leaner[@]}") ;;
    tsan) flags=(-DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Debug
            "-DCMAKE_CXX_FLAGS_DEBUG=-O1 -g1" -DCAIRN_SANITIZER=thread "${leaner[@]}"
            -DCAIRN_TEST_CODE_OPTIONS=-O0 -DCAIRN_TEST_HARNESS_OPTIONS=-O0) ;;
  esac
  cmake -S . -B "$dir" -G Ninja "${common[@]}" "${flags[@]}" >/dev/null
  cmake --build "$dir" -j "$jobs"
}

# The next build compiles while this one's tests run, at the lowest CPU priority: tests wait on
# fsync, child processes and timers much of the time, and the compiler takes only what they leave
# (the tests never depend on the machine being idle: crash tests kill by progress, not time).
background=
background_log=
stop_background() {
  if [ -n "$background" ]; then kill -- "-$background" 2>/dev/null || true; fi
}
trap stop_background EXIT

echo "=== ${builds[0]} build ($(dir_of "${builds[0]}"))"
t0=$SECONDS
configure_and_build "${builds[0]}"
echo "=== ${builds[0]} built in $((SECONDS - t0)) s"
for i in "${!builds[@]}"; do
  b=${builds[$i]}
  dir=$(dir_of "$b")
  next=${builds[$((i + 1))]:-}
  if [ -n "$next" ]; then
    background_log=$(dir_of "$next").build.log
    mkdir -p "$(dirname "$background_log")"
    echo "=== $next build ($(dir_of "$next")) beside the $b tests, output in $background_log"
    t_next=$SECONDS
    set -m  # its own process group, so that stop_background can end all of it
    nice -n 19 bash -c "set -euo pipefail; $(declare -p common leaner jobs); $(declare -f dir_of configure_and_build); configure_and_build $next" \
      >"$background_log" 2>&1 &
    background=$!
    set +m
  fi

  echo "=== $b tests"
  t0=$SECONDS
  export CAIRN_BUILD_KIND=$b
  # Under a sanitizer the crash and power-cut tests look for memory errors and races on the paths
  # of writing, killing and recovering, not for rare kill timings or the one offset that differs:
  # fewer rounds (the log power cuts still go on until one has left a torn tail to cut; the
  # engine's 6 are the fewest that must cover every timed and keyed path), a fifth of the engine
  # crash test's runs in 10 rounds (every kind of run still finishes, is cancelled and is
  # recovered in them: 16 s against 28 s under ASan for 15 rounds of 800 runs, 2026-12-02),
  # every 16th offset of the every-offset tests, fewer iterations of the race hunts (the normal
  # build runs the full counts). These are most of a sanitizer build's test time. A caller's
  # setting wins.
  if [ "$b" != normal ]; then
    export CAIRN_CRASH_ROUNDS=${CAIRN_CRASH_ROUNDS:-6} CAIRN_ENGINE_CRASH_ROUNDS=${CAIRN_ENGINE_CRASH_ROUNDS:-10}
    export CAIRN_ENGINE_CRASH_RUNS=${CAIRN_ENGINE_CRASH_RUNS:-550}
    export CAIRN_POWER_CUT_ROUNDS=${CAIRN_POWER_CUT_ROUNDS:-3} CAIRN_ENGINE_POWER_CUT_ROUNDS=${CAIRN_ENGINE_POWER_CUT_ROUNDS:-6}
    export CAIRN_EVERY_OFFSET_STRIDE=${CAIRN_EVERY_OFFSET_STRIDE:-16} CAIRN_RACE_ITERATIONS=${CAIRN_RACE_ITERATIONS:-250}
  fi
  export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/tests/tsan.supp"
  export ASAN_OPTIONS="detect_leaks=1 abort_on_error=1"
  export UBSAN_OPTIONS="print_stacktrace=1 halt_on_error=1"
  # glibc's malloc returns a large block to the kernel when it is freed and faults in fresh zeroed
  # pages for the next one: the tests open thousands of logs, simulated disks and children, and
  # the normal build's tests spent 17 % less CPU with these thresholds (172 s against 143 s of
  # CPU, measured 2026-12-02). The sanitizers bring their own allocators and ignore them.
  export GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=268435456
  ctest --test-dir "$dir" --output-on-failure -j "$jobs"
  echo "=== $b tests passed in $((SECONDS - t0)) s"

  if [ -n "$next" ]; then
    t1=$SECONDS
    if ! wait "$background"; then
      background=
      cat "$background_log"
      echo "=== the $next build failed (output above)" >&2
      exit 1
    fi
    background=
    echo "=== $next built in $((SECONDS - t_next)) s ($((SECONDS - t1)) s of it after the $b tests)"
  fi
done
echo "all tests passed (${builds[*]}) in $((SECONDS - start)) s"
