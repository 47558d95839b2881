// DebounceTable (see debounce_table.h).
#include "debounce_table.h"

namespace cairn::detail {

DebounceTable::Arrival DebounceTable::arrive(const FunctionEntry& fn, RunRecord& run,
                                             int64_t created_ms) {
  auto [it, added] = by_fn_[&fn].try_emplace(run.flow->debounce_key, Waiting{&run, created_ms});
  if (added) {
    ++waiting_;
    return Arrival{nullptr, created_ms};
  }
  Waiting& w = it->second;
  Arrival a{w.run, w.since_ms};
  w.run = &run;
  return a;
}

void DebounceTable::leave(const FunctionEntry& fn, const RunRecord& run) {
  auto fn_it = by_fn_.find(&fn);
  if (fn_it == by_fn_.end()) return;
  auto it = fn_it->second.find(run.flow->debounce_key);
  if (it == fn_it->second.end() || it->second.run != &run) return;
  fn_it->second.erase(it);
  --waiting_;
  if (fn_it->second.empty()) by_fn_.erase(fn_it);
}

void DebounceTable::restore(const FunctionEntry& fn, RunRecord& run, int64_t since_ms) {
  auto [it, added] = by_fn_[&fn].try_emplace(run.flow->debounce_key, Waiting{&run, since_ms});
  if (added) ++waiting_;
}

}  // namespace cairn::detail
