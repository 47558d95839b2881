// The engine workload of `cairn-bench engine`: functions of N trivial durable steps, driven either
// closed-loop (a fixed number of runs in flight, a new run for each one that finishes) or
// open-loop (runs started at a fixed rate), measuring durable steps/s, run latency and the
// engine's own step-dispatch latency.
#pragma once

#include <cstdint>
#include <filesystem>

#include "cairn/log/options.h"
#include "cairn/log/status.h"

namespace cairn::bench {

struct EngineWorkload {
  std::filesystem::path dir;  // a fresh engine directory
  uint32_t steps = 10;
  uint32_t in_flight = 4096;  // closed loop: runs in flight
  double runs_per_s = 0;      // > 0: open loop at this rate instead
  double seconds = 5;
  double warmup_seconds = 0.5;
  uint32_t workers = 0;
  log::Durability durability = log::Durability::kFsync;
  // Flow control (cairn-bench flow): events carry {"customer": "c<i % keys>"} when keys > 0, and
  // with key_concurrency > 0 the function allows that many runs per customer at once.
  uint32_t keys = 0;
  uint32_t key_concurrency = 0;
};

struct EngineWorkloadResult {
  double seconds = 0;
  uint64_t runs = 0;   // finished in the window
  uint64_t steps = 0;  // durable steps in the window
  double steps_per_s = 0;
  double runs_per_s = 0;
  double run_p50_ms = 0;
  double run_p99_ms = 0;
  double dispatch_p50_us = 0;
  double dispatch_p99_us = 0;
  double dispatch_p999_us = 0;
  uint64_t dispatch_samples = 0;
  double records_per_batch = 0;
  double batches_per_s = 0;
  double shutdown_ms = 0;  // Engine::shutdown() after the window (runs still in flight)
  const char* io = "";
  bool direct_io = false;
};

Result<EngineWorkloadResult> run_engine_workload(const EngineWorkload& w);

}  // namespace cairn::bench
