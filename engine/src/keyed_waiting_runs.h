// KeyedWaitingRuns: for each function and key, the one run that waits on behalf of the key — a
// debounced run waiting for its key's events to go quiet, or the run that collects a batch of
// its key's events (docs/flow-control.md, "Debounce" and "Batching"). With it, since when the key
// has been waited for and how many events the run holds. Owned by a projection and changed only
// by apply, in log order, so replay rebuilds it exactly (snapshots carry each waiting run).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "function_registry.h"
#include "run_state.h"

namespace cairn::detail {

class KeyedWaitingRuns {
 public:
  struct Waiting {
    RunRecord* run = nullptr;
    int64_t since_ms = 0;  // the first event of the key's sequence or batch
    uint32_t events = 0;   // a batch's events so far
  };
  // The key's waiting run; null when none.
  Waiting* find(const FunctionEntry& fn, const std::string& key);
  // Makes w the key's waiting run (replacing any).
  void put(const FunctionEntry& fn, const std::string& key, Waiting w);
  // Forgets the key's waiting run if it is `run`.
  void erase(const FunctionEntry& fn, const std::string& key, const RunRecord& run);
  size_t size() const { return size_; }

 private:
  std::unordered_map<const FunctionEntry*, std::unordered_map<std::string, Waiting>> by_fn_;
  size_t size_ = 0;
};

}  // namespace cairn::detail
