// LogStats' account of the writer's time: write_ns (each batch's write, submit to completion) and
// disk_idle_ns (no write in flight while records waited). A queue that holds completions back
// keeps a write in flight for as long as the test wants, and a listener that sleeps in on_durable
// delays the writer after it, so both figures have known lower bounds.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "cairn/log/io.h"
#include "cairn/log/log.h"
#include "support/blob_records.h"
#include "support/temp_dir.h"

namespace cairn::log {
namespace {

using namespace std::chrono_literals;
using testing::kBlobType;
using testing::make_blob;

// The synchronous queue, except that while `held` is set no completion comes out: the write
// stays in flight as the writer sees it.
class HeldIoQueue final : public IoQueue {
 public:
  HeldIoQueue(std::atomic<bool>& held, std::atomic<uint64_t>& submitted)
      : inner_(sync_io_queue()), held_(held), submitted_(submitted) {}

  Status submit(std::span<const IoRequest> requests) override {
    Status st = inner_->submit(requests);
    submitted_.fetch_add(requests.size());
    return st;
  }
  Result<size_t> wait(std::span<IoCompletion> out, bool block) override {
    for (;;) {
      if (!held_.load()) return inner_->wait(out, block);
      if (!block || woken_.exchange(false)) return size_t{0};
      std::this_thread::sleep_for(1ms);
    }
  }
  void wake() override {
    woken_.store(true);
    inner_->wake();
  }
  // Not "sync": the writer then treats it as an asynchronous queue, as it does io_uring.
  const char* name() const override { return "held"; }

 private:
  std::unique_ptr<IoQueue> inner_;
  std::atomic<bool>& held_;
  std::atomic<uint64_t>& submitted_;
  std::atomic<bool> woken_{false};
};

// Sleeps in its first on_durable: the writer's delay after the first write.
class SlowFirstListener final : public DurableListener {
 public:
  explicit SlowFirstListener(std::chrono::milliseconds delay) : delay_(delay) {}
  void on_durable(const DurableBatch&) noexcept override {
    if (!slept_.exchange(true)) std::this_thread::sleep_for(delay_);
  }
  void on_log_failed(const Status&) noexcept override {}

 private:
  std::chrono::milliseconds delay_;
  std::atomic<bool> slept_{false};
};

TEST(LogWriterStats, OneSynchronousWriterNeverLeavesTheDiskIdleWithRecordsWaiting) {
  testing::TempDir dir;
  auto log = Log::open(dir.path(), LogOptions{});
  ASSERT_TRUE(log.ok()) << log.status().to_string();
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE((*log)->append_durable(kBlobType, make_blob(0, i, 100)).ok());
  }
  const LogStats s = (*log)->stats();
  // Each record went out alone, after the last one was durable: when a write finished, nothing
  // else had been appended.
  EXPECT_EQ(s.batches, 20u);
  EXPECT_EQ(s.disk_idle_ns, 0u);
  EXPECT_GT(s.write_ns, 0u);
}

TEST(LogWriterStats, CountsTheWriteInFlightAndTheWritersDelayAfterIt) {
  testing::TempDir dir;
  std::atomic<bool> held{true};
  std::atomic<uint64_t> submitted{0};
  SlowFirstListener listener(40ms);
  LogOptions o;
  o.io_queue_factory = [&] { return std::make_unique<HeldIoQueue>(held, submitted); };
  auto log = Log::open(dir.path(), o, LogHooks{.listener = &listener});
  ASSERT_TRUE(log.ok()) << log.status().to_string();

  // The first record's write goes out and is held.
  const auto t0 = std::chrono::steady_clock::now();
  auto first = (*log)->append(kBlobType, make_blob(0, 0, 100));
  ASSERT_TRUE(first.ok());
  while (submitted.load() == 0) std::this_thread::sleep_for(1ms);
  // A second record waits behind it (too small for a second write in flight).
  auto second = (*log)->append(kBlobType, make_blob(0, 1, 100));
  ASSERT_TRUE(second.ok());
  std::this_thread::sleep_for(30ms);
  held.store(false);
  ASSERT_TRUE((*log)->wait_durable(*second).ok());
  const auto elapsed = std::chrono::steady_clock::now() - t0;

  const LogStats s = (*log)->stats();
  EXPECT_EQ(s.batches, 2u);
  // The first write was in flight for the 30 ms it was held.
  EXPECT_GE(s.write_ns, uint64_t{30'000'000});
  // After it, the second record waited while the listener slept 40 ms: the disk sat idle.
  EXPECT_GE(s.disk_idle_ns, uint64_t{40'000'000});
  // Neither exceeds the time the whole exchange took.
  const auto elapsed_ns =
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count());
  EXPECT_LE(s.write_ns, elapsed_ns);
  EXPECT_LE(s.disk_idle_ns, elapsed_ns);
}

}  // namespace
}  // namespace cairn::log
