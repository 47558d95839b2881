// The synchronous appenders' wake-ups by LSN bucket (log_writer.h): a durable batch's mask holds
// the bit of every LSN in it, so no appender it made durable sleeps on; and many threads calling
// append_durable at once all return, each with its record durable.
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>
#include <vector>

#include "cairn/log/log.h"
#include "log_writer.h"
#include "support/blob_records.h"
#include "support/temp_dir.h"

namespace cairn::log {
namespace {

TEST(DurableWake, ABatchsMaskHoldsTheBitOfEveryLsnInIt) {
  std::mt19937_64 rng(20261201);
  for (int i = 0; i < 20000; ++i) {
    const Lsn begin = rng() % (1u << 24);
    // Mostly batches of a few KiB (where the mask leaves buckets out), some far larger.
    const Lsn len = 1 + (i % 10 == 0 ? rng() % (1u << 20) : rng() % (8 * kDurableWaitBucketBytes));
    const uint32_t mask = durable_wake_mask(begin, begin + len);
    for (Lsn lsn : {begin, begin + len / 2, begin + len - 1, begin + rng() % len}) {
      ASSERT_NE(mask & durable_wait_bit(lsn), 0u)
          << "lsn " << lsn << " in [" << begin << ", " << begin + len << ")";
    }
  }
  EXPECT_EQ(durable_wake_mask(100, 100), 0u);
  EXPECT_EQ(durable_wake_mask(0, 64 * kDurableWaitBucketBytes), ~uint32_t{0});
  // A small batch leaves out the buckets after it, where the next batch's appenders sleep.
  const uint32_t small = durable_wake_mask(0, 3 * kDurableWaitBucketBytes);
  EXPECT_EQ(small, 0b111u);
  EXPECT_EQ(small & durable_wait_bit(3 * kDurableWaitBucketBytes), 0u);
}

TEST(DurableWake, ManySynchronousAppendersAllReturnDurable) {
  testing::TempDir dir;
  auto log = Log::open(dir.path(), LogOptions{});
  ASSERT_TRUE(log.ok()) << log.status().to_string();
  constexpr int kThreads = 48;
  constexpr int kEach = 150;
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto lsn = (*log)->append_durable(testing::kBlobType, testing::make_blob(t, i, 100));
        if (!lsn.ok() || (*log)->durable_lsn() <= *lsn) bad.fetch_add(1);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ((*log)->stats().records_durable, uint64_t{kThreads * kEach});
}

}  // namespace
}  // namespace cairn::log
