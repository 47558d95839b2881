// FinishedRuns (see finished_runs.h).
#include "finished_runs.h"

#include "run_page.h"

namespace cairn::detail {
namespace {

// What a kept run costs in memory, roughly: its strings and a fixed part for the rest.
uint64_t bytes_of(const RunInfo& r) {
  return 256 + r.function_id.size() + r.event.name.size() + r.event.data.size() +
         r.event.id.size() + r.output.size() + r.error.size();
}

}  // namespace

void FinishedRuns::add(RunInfo info, uint64_t created_lsn) {
  {
    std::lock_guard lock(mu_);
    const RunId id = info.id;
    const uint64_t bytes = bytes_of(info);
    auto [it, fresh] = runs_.try_emplace(id);
    if (fresh) {
      order_.push_back(id);
    } else {
      bytes_ -= it->second.bytes;
    }
    it->second = Kept{std::move(info), created_lsn, bytes};
    bytes_ += bytes;
    ++added_;
    while (!order_.empty() && (order_.size() > kept_max_ || bytes_ > bytes_max_)) drop_oldest();
  }
  cv_.notify_all();
}

void FinishedRuns::drop_oldest() {
  auto it = runs_.find(order_.front());
  bytes_ -= it->second.bytes;
  runs_.erase(it);
  order_.pop_front();
}

std::optional<RunInfo> FinishedRuns::find(RunId id) const {
  std::lock_guard lock(mu_);
  auto it = runs_.find(id);
  if (it == runs_.end()) return std::nullopt;
  return it->second.info;
}

std::optional<uint64_t> FinishedRuns::created_lsn(RunId id) const {
  std::lock_guard lock(mu_);
  auto it = runs_.find(id);
  if (it == runs_.end()) return std::nullopt;
  return it->second.created_lsn;
}

std::vector<RunInfo> FinishedRuns::page(const RunQuery& q) const {
  std::lock_guard lock(mu_);
  NewestRuns<const RunInfo*> newest(q.limit + 1);
  for (const auto& [id, kept] : runs_) {
    const RunInfo& r = kept.info;
    if (matches(q, id, r.function_id, r.status, r.created_at)) newest.offer(id, &r);
  }
  std::vector<RunInfo> out;
  for (const auto& [id, r] : newest.take()) out.push_back(*r);
  return out;
}

Result<RunInfo> FinishedRuns::wait(RunId id, std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mu_);
  for (;;) {
    auto it = runs_.find(id);
    if (it != runs_.end()) return it->second.info;
    if (!failure_.ok()) return failure_;
    if (cv_.wait_until(lock, deadline) == std::cv_status::timeout) {
      it = runs_.find(id);
      if (it != runs_.end()) return it->second.info;
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
