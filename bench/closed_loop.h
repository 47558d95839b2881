// A closed-loop driver for the peers (RocksDB, SQLite): N threads each repeat one synchronous
// write as fast as it returns; after a warm-up the writes completed in a measured window count.
#pragma once

#include <cstdint>
#include <functional>

#include "cairn/log/status.h"
#include "cpu_usage.h"

namespace cairn::bench {

// One durable write of `records_per_op` records, done by one thread.
using WorkerOp = std::function<Status()>;
// Runs on each worker thread before the clock starts (opening a connection, preparing
// statements); the WorkerOp it returns is destroyed on that thread too.
using MakeWorker = std::function<Result<WorkerOp>(uint32_t thread)>;

struct ClosedLoopConfig {
  uint32_t threads = 1;
  uint32_t records_per_op = 1;
  double warmup_seconds = 0.3;
  double seconds = 3;
};

struct RecordRate {
  uint64_t records = 0;
  double seconds = 0;
  CpuUse cpu;  // over the window
  double records_per_s() const { return seconds > 0 ? records / seconds : 0; }
};

// The first error of any worker (setup or write) fails the run.
Result<RecordRate> run_closed_loop(const ClosedLoopConfig& config, const MakeWorker& make_worker);

}  // namespace cairn::bench
