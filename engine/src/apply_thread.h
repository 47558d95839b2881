// ApplyThread: applies durable batches on a thread of its own instead of the log's writer thread.
//
// It is the log's DurableListener. On the writer thread, on_durable() copies the batch — one
// memcpy of the bytes from the first payload to the end of the last (the frames in between), plus
// the record views rebased onto the copy — into a slot it owns, and returns. Its thread hands each
// copy, in LSN order, to the engine's listener and then advances applied_lsn(). Since "durable" no
// longer implies "applied", whoever must see a record's effects waits with wait_applied().
//
// Bounded: kSlots slots, each growing to the largest batch it has held (at most the log's
// batch_bytes_max) and then reused, so no allocation per batch or record once warm. When every
// slot is full the writer waits for the apply thread to free one: back-pressure for as long as
// applying one batch takes. The writer can never wait forever because applying never waits for
// the log (apply must not append: an append may wait for ring space that only the writer frees).
//
// A log failure travels the same queue: the listener's on_log_failed() runs after every batch
// that became durable before it was applied, and then wait_applied() reports the failure.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <thread>
#include <vector>

#include "cairn/log/log.h"

namespace cairn::detail {

class ApplyThread final : public log::DurableListener {
 public:
  explicit ApplyThread(log::DurableListener& target) : target_(target) {}
  ~ApplyThread();  // stop()
  ApplyThread(const ApplyThread&) = delete;
  ApplyThread& operator=(const ApplyThread&) = delete;

  // Before the log can deliver a batch.
  void start();
  // After the log is closed (no batch will come): applies what is queued, then the thread exits.
  // Waiters still short of their LSN get kClosed.
  void stop();

  // Waits until every record below `lsn` + 1 is applied (the record at `lsn` and all before it).
  // Returns the log's error if it failed first, kClosed if stop() came first.
  Status wait_applied(log::Lsn lsn);
  log::Lsn applied_lsn() const { return applied_lsn_.load(std::memory_order_acquire); }

  // log::DurableListener, on the writer thread: copy and queue.
  void on_durable(const log::DurableBatch& batch) noexcept override;
  void on_log_failed(const Status& status) noexcept override;

 private:
  struct Slot {
    std::vector<std::byte> bytes;
    std::vector<log::RecordView> views;  // into `bytes`
    log::Lsn begin = 0;
    log::Lsn end = 0;
    bool failure = false;
    Status status;  // when `failure`
  };
  static constexpr uint32_t kSlots = 4;

  Slot& acquire_slot();  // writer thread: the next free slot, waiting for one if all are full
  void publish();        // writer thread: hands the slot acquire_slot() gave to the apply thread
  void run();

  log::DurableListener& target_;
  Slot slots_[kSlots];
  std::thread thread_;
  // Slot counters: the writer fills slots_[published_ % kSlots], the apply thread empties
  // slots_[consumed_ % kSlots]; both only grow (and wrap).
  std::atomic<uint32_t> published_{0};
  std::atomic<uint32_t> consumed_{0};
  std::atomic<bool> writer_waiting_{false};  // for a slot: wake it on consumed_
  std::atomic<bool> apply_sleeping_{false};  // for work: wake it on signal_
  std::atomic<uint32_t> signal_{0};
  std::atomic<bool> stop_requested_{false};

  std::atomic<log::Lsn> applied_lsn_{0};
  std::atomic<uint32_t> applied_seq_{0};  // bumped after each slot; waiters sleep on it
  std::atomic<uint32_t> applied_waiters_{0};
  std::atomic<bool> failed_{false};
  std::atomic<bool> exited_{false};
  Status failure_;  // written once, before failed_ is set
};

}  // namespace cairn::detail
