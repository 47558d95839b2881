// FinishedRuns (see finished_runs.h).
#include "finished_runs.h"

namespace cairn::detail {

void FinishedRuns::add(RunInfo info) {
  {
    std::lock_guard lock(mu_);
    const RunId id = info.id;
    if (runs_.insert_or_assign(id, std::move(info)).second) order_.push_back(id);
    ++added_;
    while (order_.size() > kept_max_) {
      runs_.erase(order_.front());
      order_.pop_front();
    }
  }
  cv_.notify_all();
}

std::optional<RunInfo> FinishedRuns::find(RunId id) const {
  std::lock_guard lock(mu_);
  auto it = runs_.find(id);
  if (it == runs_.end()) return std::nullopt;
  return it->second;
}

void FinishedRuns::list(const RunQuery& q, std::vector<RunInfo>* out) const {
  std::lock_guard lock(mu_);
  for (auto it = order_.rbegin(); it != order_.rend() && out->size() < q.limit; ++it) {
    const RunInfo& r = runs_.at(*it);
    if (!q.function_id.empty() && r.function_id != q.function_id) continue;
    if (q.status && r.status != *q.status) continue;
    out->push_back(r);
  }
}

Result<RunInfo> FinishedRuns::wait(RunId id, std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mu_);
  for (;;) {
    auto it = runs_.find(id);
    if (it != runs_.end()) return it->second;
    if (!failure_.ok()) return failure_;
    if (cv_.wait_until(lock, deadline) == std::cv_status::timeout) {
      it = runs_.find(id);
      if (it != runs_.end()) return it->second;
      return Status(StatusCode::kTimeout, "run " + std::to_string(id) + " has not finished");
    }
  }
}

void FinishedRuns::fail(const Status& status) {
  {
    std::lock_guard lock(mu_);
    failure_ = status;
  }
  cv_.notify_all();
}

uint64_t FinishedRuns::added() const {
  std::lock_guard lock(mu_);
  return added_;
}

}  // namespace cairn::detail
