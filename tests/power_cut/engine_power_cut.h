// One power-cut round of the engine: the crash test's workload (engine_crash/workload.h: steps
// with retries, sleeps, waits that are approved or time out, invoke, send_event, runs that fail
// and their on_failure handlers) runs in process on a SimDisk, incarnation after incarnation; the
// power fails at a seeded operation of each — while steps are recorded, during recovery, right
// after a write completed with another in flight — and the next incarnation starts on what
// survived. A last incarnation runs every run to its end. Then the log and the side journal must
// show what the SIGKILL crash test demands (engine_crash/crash_checks.h): every acknowledged event
// durable, every run finished exactly once with the output recomputed from its input, no step
// run again once its completion was durable.
#pragma once

#include <cstdint>
#include <string>

namespace cairn::testing {

struct EngineCutConfig {
  uint64_t seed = 0;
  uint32_t incarnations = 6;  // cut ones; one more runs to the end
  uint64_t target_runs = 80;  // runs of "main"
  uint64_t cut_ops_max = 30;
};

struct EngineCutResult {
  std::string failure;  // empty when every check held
  std::string summary;  // the crash checks' summary line
  uint64_t cuts = 0;
  uint64_t cuts_during_start = 0;
  // Disk images (after a cut, and the last one) on which a snapshot was there to load, and the
  // state from it matched a full replay.
  uint64_t snapshot_loads = 0;
};

EngineCutResult run_engine_cut_round(const EngineCutConfig& config);

}  // namespace cairn::testing
