// Scheduler: worker threads and the lock-free ready queue between apply and them. notify() is
// how anything (apply, a failed park) makes a run runnable; the kIdle -> kQueued transition on
// RunState::sched decides that exactly one worker owns a run at a time, so a run is never driven
// twice at once and a notification that arrives while it is being driven is never lost.
#pragma once

#include <atomic>
#include <functional>
#include <thread>
#include <vector>

#include <concurrentqueue/blockingconcurrentqueue.h>

#include "run_state.h"

namespace cairn::detail {

struct ReadyQueueTraits : moodycamel::ConcurrentQueueDefaultTraits {
  // Idle workers spin this long before sleeping: long enough to catch the next step of a busy
  // engine, short enough not to steal a core from the log writer on a 2-core machine.
  static const int MAX_SEMA_SPINS = 200;
};

class Scheduler {
 public:
  using DriveFn = std::function<void(RunState&)>;
  Scheduler(uint32_t workers, DriveFn drive);
  ~Scheduler();

  // Starts the workers; an error when the system refuses a thread (those started run until stop()).
  Status start();
  // Workers finish the run they are driving and exit. Queued runs stay queued (they are durable).
  void stop();
  bool stopping() const { return stopping_.load(std::memory_order_acquire); }
  // True on one of this scheduler's worker threads (where functions and steps run).
  bool on_worker_thread() const;

  // Any thread: the run has something to do.
  void notify(RunState& run);
  // The apply thread, inside a batch: like notify(), but runs that must be queued are queued
  // together by flush_deferred() (one wake-up of the workers per batch instead of per run).
  void notify_deferred(RunState& run);
  void flush_deferred();
  // The owning worker, when the run has nothing to do: true when it is parked now; false when a
  // notification came in meanwhile (the caller still owns it and drives it again).
  static bool try_park(RunState& run);

  // After stop(): runs still in the queue.
  std::vector<RunState*> drain();
  size_t queued_approx() const { return queue_.size_approx(); }

 private:
  void work();
  bool claim(RunState& run);  // true when the caller must queue it

  uint32_t workers_;
  DriveFn drive_;
  moodycamel::BlockingConcurrentQueue<RunState*, ReadyQueueTraits> queue_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stopping_{false};
  static constexpr size_t kDeferredGroup = 64;
  std::vector<RunState*> deferred_;  // apply thread only
};

}  // namespace cairn::detail
