// The workload: sends orders to the engine, keeps a window of them in flight, keeps the books on
// their runs (how each ended, how long it took) from the run ends that on_run_finished hands over
// through a RunEndRing, and shows a progress line. One thread does all of it, so the books need
// no lock.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <vector>

#include "cairn/engine.h"
#include "spsc_ring.h"

namespace orders {

struct LoadOptions {
  uint64_t orders = 40000;    // orders to send
  uint64_t in_flight = 4000;  // orders sent whose run has not ended, at most
};

// A run's end, as on_run_finished reports it.
struct RunEnd {
  cairn::RunId run = 0;
  cairn::RunStatus status = cairn::RunStatus::kCompleted;
  std::chrono::steady_clock::time_point at;  // when on_run_finished was called
};
using RunEndRing = SpscRing<RunEnd>;

// What the ring must hold: the ends that can be pending at once. An end waits in the ring only
// until the workload's thread next drains it (after each send() and each 1 ms idle pause), and in
// that time only runs that exist can end: the orders in the window with their shipment and
// notification runs (three runs per order), notifications of orders that just ended, and runs a
// --resume brought back. Four entries per order in the window, and at least 64 Ki (24 bytes
// each), cover that with room to spare. A full ring never makes on_run_finished wait: the end is
// dropped and counted, and the workload asks the engine about its orders in flight instead.
inline size_t run_end_capacity(const LoadOptions& options) {
  return std::max<size_t>(64 * 1024, 4 * options.in_flight);
}

struct LoadResult {
  uint64_t completed = 0;   // order runs (fulfil-order) that completed
  uint64_t failed = 0;      // ... that failed
  uint64_t cancelled = 0;   // ... that their customer cancelled (order/cancelled, cancel_on)
  uint64_t duplicates = 0;  // orders sent by an earlier invocation (--resume): no run started
  double seconds = 0;       // first send -> last order run ended
  std::vector<std::chrono::nanoseconds> latency;  // per order run: send -> end
  cairn::EngineStats at_end;                      // when the last order run ended
  cairn::EngineStats settled;  // after the shipments and notifications still running ended
  std::vector<cairn::RunInfo> failed_runs;  // failed order runs, newest first (at most 100)
  uint64_t run_ends_dropped = 0;            // by a full ring while orders were in flight
};

// Sends `options.orders` orders ("order/created") to the started `engine`, whose on_run_finished
// pushes every run's end into `run_ends`, until each order's run has ended. Prints progress to
// stderr every 250 ms. An error: send() failed, or the engine stopped.
cairn::Result<LoadResult> run_order_load(cairn::Engine& engine, RunEndRing& run_ends,
                                         const LoadOptions& options);

}  // namespace orders
