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
    if (waiting_.contains(id)) handed_.insert_or_assign(id, info);  // dropped below, maybe
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

Result<RunInfo> FinishedRuns::wait(RunId id, std::chrono::steady_clock::time_point deadline,
                                   const std::function<bool()>& unfinished) {
  using Clock = std::chrono::steady_clock;
  std::unique_lock lock(mu_);
  ++waiting_[id];
  auto leave = [&](Result<RunInfo> r) {
    if (--waiting_[id] == 0) {
      waiting_.erase(id);
      handed_.erase(id);
    }
    return r;
  };
  for (;;) {
    if (auto it = runs_.find(id); it != runs_.end()) return leave(it->second.info);
    if (auto it = handed_.find(id); it != handed_.end()) return leave(it->second);
    if (!failure_.ok()) return leave(failure_);
    const Clock::time_point now = Clock::now();
    if (now >= deadline) {
      return leave(Status(StatusCode::kTimeout, "run " + std::to_string(id) + " has not finished"));
    }
    const Clock::time_point slice = deadline - now > kRecheck ? now + kRecheck : deadline;
    if (cv_.wait_until(lock, slice) == std::cv_status::no_timeout) continue;
    // Asked without this lock: the projection adds finished runs here under its own.
    lock.unlock();
    const bool still_unfinished = unfinished();
    lock.lock();
    if (!still_unfinished && !runs_.contains(id) && !handed_.contains(id)) {
      return leave(Status(StatusCode::kNotFound,
                          "run " + std::to_string(id) +
                              " finished, but is no longer kept in memory (runs_finished_kept " +
                              std::to_string(kept_max_) + ", runs_finished_bytes_max " +
                              std::to_string(bytes_max_) + "): run_history reads it from the log"));
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
