// Scheduler (see scheduler.h).
#include "scheduler.h"

#include <chrono>
#include <string>
#include <system_error>

namespace cairn::detail {

Scheduler::Scheduler(uint32_t workers, DriveFn drive)
    : workers_(workers == 0 ? 1 : workers), drive_(std::move(drive)) {}

Scheduler::~Scheduler() {
  stop();
}

Status Scheduler::start() {
  for (uint32_t i = 0; i < workers_; ++i) {
    try {
      threads_.emplace_back([this] { work(); });
    } catch (const std::system_error& e) {
      return Status(StatusCode::kLimitExceeded,
                    "the system refused worker thread " + std::to_string(i + 1) + " of " +
                        std::to_string(workers_) + " (EngineOptions::workers): " + e.what());
    }
  }
  return Status();
}

void Scheduler::stop() {
  stopping_.store(true, std::memory_order_release);
  for (size_t i = 0; i < threads_.size(); ++i) queue_.enqueue(nullptr);  // wake each worker
  for (auto& t : threads_) t.join();
  threads_.clear();
}

bool Scheduler::claim(RunState& run) {
  Sched s = run.sched.load(std::memory_order_acquire);
  for (;;) {
    if (s == Sched::kIdle) {
      if (run.sched.compare_exchange_weak(s, Sched::kQueued, std::memory_order_acq_rel))
        return true;
    } else if (s == Sched::kQueued) {
      if (run.sched.compare_exchange_weak(s, Sched::kNotified, std::memory_order_acq_rel)) {
        return false;
      }
    } else {
      return false;  // already notified, or abandoned by a stopping worker
    }
  }
}

void Scheduler::notify(RunState& run) {
  if (claim(run)) queue_.enqueue(&run);
}

void Scheduler::notify_deferred(RunState& run) {
  if (!claim(run)) return;
  deferred_.push_back(&run);
  // Queued in groups: one wake-up per group instead of one per run, and the first runs of a large
  // batch (or of one record that starts hundreds of runs) do not wait for all of it to be applied.
  if (deferred_.size() >= kDeferredGroup) flush_deferred();
}

void Scheduler::flush_deferred() {
  if (deferred_.empty()) return;
  queue_.enqueue_bulk(deferred_.data(), deferred_.size());
  deferred_.clear();
}

bool Scheduler::try_park(RunState& run) {
  Sched s = Sched::kQueued;
  if (run.sched.compare_exchange_strong(s, Sched::kIdle, std::memory_order_acq_rel)) return true;
  // kNotified: something happened while we drove it. We still own it. (A CAS, not a store: apply
  // may finish it meanwhile, and its kFinished must stay.)
  if (s == Sched::kNotified) {
    run.sched.compare_exchange_strong(s, Sched::kQueued, std::memory_order_acq_rel);
  }
  return false;  // kFinished: the caller sees it and frees the run
}

std::vector<RunState*> Scheduler::drain() {
  std::vector<RunState*> out;
  RunState* r;
  while (queue_.try_dequeue(r)) {
    if (r != nullptr) out.push_back(r);
  }
  return out;
}

namespace {
thread_local const Scheduler* t_worker_of = nullptr;
}  // namespace

bool Scheduler::on_worker_thread() const {
  return t_worker_of == this;
}

void Scheduler::work() {
  t_worker_of = this;
  while (!stopping()) {
    RunState* run = nullptr;
    if (!queue_.wait_dequeue_timed(run, std::chrono::milliseconds(100))) continue;
    if (run == nullptr) continue;
    if (stopping()) {
      queue_.enqueue(run);  // leave it for drain()
      return;
    }
    drive_(*run);
  }
}

}  // namespace cairn::detail
