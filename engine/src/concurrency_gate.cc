// ConcurrencyGate (see concurrency_gate.h).
#include "concurrency_gate.h"

namespace cairn::detail {

ConcurrencyGate::FunctionQueue& ConcurrencyGate::queue_of(const FunctionEntry& fn) {
  auto it = queues_.find(&fn);
  if (it != queues_.end()) return it->second;
  flow::FairKeyQueueOptions o;
  o.queued_max = queued_max_;
  if (fn.flow != nullptr) {
    o.running_max = fn.flow->running_max;
    o.per_key_running_max = fn.flow->key_running_max;
  }
  Result<flow::FairKeyQueue> q = flow::FairKeyQueue::create(o);
  CAIRN_CHECK_MSG(q.ok(), "concurrency limits are checked at registration");
  return queues_.try_emplace(&fn, std::move(*q)).first->second;
}

void ConcurrencyGate::list(FunctionQueue& q) {
  if (q.listed || q.queue.queued() == 0) return;
  q.listed = true;
  turns_.push_back(&q);
}

Status ConcurrencyGate::want(RunState& run, int64_t now_ms) {
  RunFlow& f = *run.flow;
  if (run.holds_slot) {
    start_(run);
    return Status();
  }
  if (f.queued) return Status();  // already waiting for a slot
  FunctionQueue& q = queue_of(*run.fn);
  // Nobody waits: take the slot without queueing (no engine-wide turn is pending either).
  if (turns_.empty() && (engine_max_ == 0 || running_ < engine_max_) &&
      q.queue.try_take(key_of(run))) {
    run.holds_slot = true;
    ++running_;
    start_(run);
    return Status();
  }
  const Status pushed =
      q.queue.push(key_of(run), reinterpret_cast<uint64_t>(&run), f.priority, now_ms);
  if (!pushed.ok()) return pushed;
  f.queued = true;
  list(q);
  pump();
  return Status();
}

void ConcurrencyGate::release(RunState& run) {
  if (!run.holds_slot) return;
  run.holds_slot = false;
  FunctionQueue& q = queue_of(*run.fn);
  q.queue.release(key_of(run));
  --running_;
  list(q);
  pump();
}

void ConcurrencyGate::forget(RunState& run) {
  RunFlow& f = *run.flow;
  if (f.queued) {
    FunctionQueue& q = queue_of(*run.fn);
    CAIRN_CHECK(q.queue.remove(reinterpret_cast<uint64_t>(&run)));
    f.queued = false;
  }
  release(run);
}

void ConcurrencyGate::pump() {
  while (!turns_.empty() && (engine_max_ == 0 || running_ < engine_max_)) {
    FunctionQueue* q = turns_.front();
    turns_.pop_front();
    std::optional<flow::QueuedRun> next = q->queue.pop();
    if (!next) {
      q->listed = false;  // every key with queued runs is at its limit: listed again on release
      continue;
    }
    if (q->queue.queued() > 0) {
      turns_.push_back(q);
    } else {
      q->listed = false;
    }
    auto* run = reinterpret_cast<RunState*>(next->handle);
    run->flow->queued = false;
    run->holds_slot = true;
    ++running_;
    start_(*run);
  }
}

uint64_t ConcurrencyGate::queued() const {
  uint64_t n = 0;
  for (const auto& [fn, q] : queues_) n += q.queue.queued();
  return n;
}

}  // namespace cairn::detail
