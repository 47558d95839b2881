// KeyedWaitingRuns (see keyed_waiting_runs.h).
#include "keyed_waiting_runs.h"

namespace cairn::detail {

KeyedWaitingRuns::Waiting* KeyedWaitingRuns::find(const FunctionEntry& fn, const std::string& key) {
  auto fn_it = by_fn_.find(&fn);
  if (fn_it == by_fn_.end()) return nullptr;
  auto it = fn_it->second.find(key);
  return it == fn_it->second.end() ? nullptr : &it->second;
}

void KeyedWaitingRuns::put(const FunctionEntry& fn, const std::string& key, Waiting w) {
  auto [it, added] = by_fn_[&fn].insert_or_assign(key, w);
  if (added) ++size_;
}

void KeyedWaitingRuns::erase(const FunctionEntry& fn, const std::string& key,
                             const RunRecord& run) {
  auto fn_it = by_fn_.find(&fn);
  if (fn_it == by_fn_.end()) return;
  auto it = fn_it->second.find(key);
  if (it == fn_it->second.end() || it->second.run != &run) return;
  fn_it->second.erase(it);
  --size_;
  if (fn_it->second.empty()) by_fn_.erase(fn_it);
}

}  // namespace cairn::detail
