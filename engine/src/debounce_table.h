// DebounceTable: for each function with a debounce and each of its keys, the one run waiting for
// the key's events to go quiet (docs/flow-control.md, "Debounce"). Every event creates a run; a
// newer run of the same key takes the waiting one's place (that one is skipped) and carries on
// the sequence's start, which bounds the wait by the debounce timeout. Owned by a projection and
// changed only by apply, in log order, so replay rebuilds it exactly (snapshots carry each waiting
// run's sequence start).
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>

#include "function_registry.h"
#include "run_state.h"

namespace cairn::detail {

class DebounceTable {
 public:
  struct Arrival {
    RunRecord* replaced = nullptr;  // the key's run that was waiting: the caller skips it
    int64_t since_ms = 0;           // when the key's sequence of events began
  };
  // `run` (of `fn`, key run.flow->debounce_key) arrived at created_ms and now waits.
  Arrival arrive(const FunctionEntry& fn, RunRecord& run, int64_t created_ms);
  // `run` no longer waits (its quiet period passed, or it was cancelled or finished).
  void leave(const FunctionEntry& fn, const RunRecord& run);
  // A loaded snapshot's waiting run.
  void restore(const FunctionEntry& fn, RunRecord& run, int64_t since_ms);
  size_t waiting() const { return waiting_; }

 private:
  struct Waiting {
    RunRecord* run = nullptr;
    int64_t since_ms = 0;
  };
  std::unordered_map<const FunctionEntry*, std::unordered_map<std::string, Waiting>> by_fn_;
  size_t waiting_ = 0;
};

}  // namespace cairn::detail
