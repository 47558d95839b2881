// test_engine_options: the EngineOptions every engine test starts from: two workers, small log
// segments (rotations happen within a test) and small record, step-output and event limits, on the
// clock the test names (a ManualClock the test drives, or the system clock for a real process).
#pragma once

#include <filesystem>
#include <memory>

#include "cairn/engine.h"

namespace cairn::testing {

inline EngineOptions test_engine_options(const std::filesystem::path& dir,
                                         std::shared_ptr<Clock> clock) {
  EngineOptions o;
  o.dir = dir;
  o.workers = 2;
  o.clock = std::move(clock);
  o.log.segment_bytes = 1u << 20;
  o.log.batch_bytes_max = 256u << 10;
  o.log.record_bytes_max = 128u << 10;
  o.log.staging_bytes = 4u << 20;
  o.step_output_bytes_max = 64u << 10;
  o.event_bytes_max = 64u << 10;
  return o;
}

}  // namespace cairn::testing
