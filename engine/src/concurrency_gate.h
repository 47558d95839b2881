// ConcurrencyGate: the concurrency slots of flow control (FunctionOptions::concurrency, per
// function and per key, and EngineOptions::runs_executing_max across functions). A run takes a
// slot when it has steps to execute and gives it back when it sleeps, waits or finishes; runs
// without a free slot wait in their function's FairKeyQueue (round-robin across keys, aged
// priority within one), and functions waiting only for an engine-wide slot take turns.
//
// Slots are derived state, never recorded: after a restart no run executes, so every slot is
// free and finish_replay queues the unfinished runs again in the order they were created.
// Apply thread only (and start(), before the workers run).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <unordered_map>

#include "flow/fair_key_queue.h"
#include "function_registry.h"
#include "run_state.h"

namespace cairn::detail {

class ConcurrencyGate {
 public:
  using StartFn = std::function<void(RunState&)>;
  // engine_max: runs executing at once over all functions (0: no limit); queued_max: runs one
  // function may queue.
  ConcurrencyGate(uint32_t engine_max, uint32_t queued_max, StartFn start)
      : engine_max_(engine_max), queued_max_(queued_max), start_(std::move(start)) {}

  // Whether `fn`'s runs take slots at all.
  bool applies_to(const FunctionEntry& fn) const {
    return engine_max_ != 0 || (fn.flow != nullptr && fn.flow->limits_concurrency());
  }
  bool engine_wide() const { return engine_max_ != 0; }

  // The run has steps to execute: it starts now if it holds a slot or takes a free one, else it
  // waits in its function's queue. kLimitExceeded when that queue is full (nothing changes).
  Status want(RunState& run, int64_t now_ms);
  // The run sleeps, waits or finished: its slot goes to the next queued run.
  void release(RunState& run);
  // The run finished or is being cancelled: out of the queue, and its slot given back.
  void forget(RunState& run);

  uint64_t running() const { return running_; }
  uint64_t queued() const;

 private:
  struct FunctionQueue {
    explicit FunctionQueue(flow::FairKeyQueue q) : queue(std::move(q)) {}
    flow::FairKeyQueue queue;
    bool listed = false;  // in turns_
  };
  FunctionQueue& queue_of(const FunctionEntry& fn);
  void list(FunctionQueue& q);
  // Hands free slots to queued runs, one function at a time in turn.
  void pump();
  static std::string_view key_of(const RunState& run) {
    return {reinterpret_cast<const char*>(&run.flow->concurrency_key),
            sizeof(run.flow->concurrency_key)};
  }

  const uint32_t engine_max_;
  const uint32_t queued_max_;
  StartFn start_;
  uint64_t running_ = 0;
  std::unordered_map<const FunctionEntry*, FunctionQueue> queues_;
  std::deque<FunctionQueue*> turns_;  // functions with queued runs, in turn order
};

}  // namespace cairn::detail
