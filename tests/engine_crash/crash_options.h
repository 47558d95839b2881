// What the crash test's parent and child agree on: the child's engine options (the parent needs
// the log's to verify what the child wrote: its tail window depends on them) and its exit codes.
#pragma once

#include <filesystem>

#include "cairn/engine.h"
#include "cairn/log/verify.h"
#include "cairn/schema/record_schema.h"
#include "support/test_engine_options.h"

namespace cairn::engine_crash {

// engine_crash_child's exit codes. Anything but kExitFinished or kExitStopped fails the test.
inline constexpr int kExitFinished = 0;  // every run finished
inline constexpr int kExitBadArguments = 2;
inline constexpr int kExitNoStart = 3;        // the engine did not start
inline constexpr int kExitEngineError = 4;    // an engine call failed
inline constexpr int kExitAcceptedTwice = 5;  // an acknowledged event was accepted again
inline constexpr int kExitStopped = 10;       // SIGTERM: the engine shut down with runs in flight

// The tests' small options (small segments: rotations happen while being killed) on the system
// clock. engine_crash_child replaces the clock with its FastClock (fast_clock.h); the power-cut
// rounds keep the system clock.
inline EngineOptions child_engine_options(const std::filesystem::path& dir) {
  EngineOptions o = testing::test_engine_options(dir, system_clock());
  // Snapshots every few dozen records: kills land while they are written and rotated, and
  // every restart loads one and replays only the log after it.
  o.snapshot_every_records = 40;
  return o;
}

// The engine keeps its log in DIR/log.
inline std::filesystem::path log_dir_of(const std::filesystem::path& dir) {
  return dir / "log";
}

inline log::VerifyOptions verify_options() {
  const log::LogOptions lo = child_engine_options({}).log;
  log::VerifyOptions v;
  v.payload_verifier = &schema::verify_payload;
  v.tail_window_bytes = uint64_t{lo.writes_in_flight_max} * lo.batch_bytes_max;
  return v;
}

}  // namespace cairn::engine_crash
