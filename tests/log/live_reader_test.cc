// A live reader (Log::read_from) follows a log while others append to it: it never returns a
// record that is not durable yet, returns nothing (not an error) when it has caught up, picks up
// what became durable since, across segment rotations, and so in the end returns every record
// once, in LSN order.
#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <map>
#include <thread>

#include "blob_log.h"
#include "cairn/log/log.h"
#include "support/temp_dir.h"

namespace cairn::log {
namespace {

using cairn::testing::BlobLogSpec;
using cairn::testing::BlobRecord;

TEST(LiveReader, FollowsConcurrentAppendsAndNeverRunsAheadOfDurability) {
  cairn::testing::TempDir dir;
  auto log = Log::open(dir.path(), cairn::testing::small_log_options());
  ASSERT_TRUE(log.ok()) << log.status().to_string();
  constexpr int kThreads = 3;
  constexpr size_t kPerThread = 1000;
  auto reader = (*log)->read_from(0);
  ASSERT_TRUE(reader.ok()) << reader.status().to_string();

  std::latch start(kThreads + 1);
  std::atomic<int> finished{0};
  std::vector<std::thread> appenders;
  for (int t = 0; t < kThreads; ++t) {
    appenders.emplace_back([&, t] {
      start.arrive_and_wait();
      BlobLogSpec spec{.records = kPerThread,
                       .producer = static_cast<uint32_t>(t),
                       .data_bytes = [](uint64_t seq) { return 100 + (seq * 613) % 2500; }};
      cairn::testing::append_blobs(**log, spec);  // returns once all its records are durable
      finished.fetch_add(1);
    });
  }
  start.arrive_and_wait();

  std::map<uint32_t, uint64_t> next_seq;
  Lsn expected = 0;
  size_t got = 0;
  // The loop stops at the first failure (break, not ASSERT: the appenders must be joined).
  for (;;) {
    // Read before next(): once every appender is done, everything is durable, so an empty answer
    // then means the reader has returned all there is.
    const bool appenders_done = finished.load() == kThreads;
    auto r = (*reader)->next();
    if (!r.ok()) {
      ADD_FAILURE() << "after " << got << " records: " << r.status().to_string();
      break;
    }
    if (*r == nullptr) {
      if (appenders_done) break;
      std::this_thread::yield();
      continue;
    }
    const Lsn durable_after = (*log)->durable_lsn();
    if ((*r)->lsn >= durable_after) {
      ADD_FAILURE() << "record at LSN " << (*r)->lsn << " returned while durable_lsn() was "
                    << durable_after;
      break;
    }
    if ((*r)->lsn != expected) {
      ADD_FAILURE() << "record at LSN " << (*r)->lsn << " where " << expected
                    << " was next: records come in LSN order, none skipped";
      break;
    }
    const BlobRecord b = cairn::testing::to_blob_record(**r);
    EXPECT_TRUE(b.data_ok);
    EXPECT_EQ(b.seq, next_seq[b.producer]++) << "producer " << b.producer;
    expected = b.end_lsn();
    ++got;
  }
  for (auto& a : appenders) a.join();
  EXPECT_EQ(got, kThreads * kPerThread);
  EXPECT_EQ(expected, (*log)->durable_lsn());
  EXPECT_GT((*log)->stats().segments_created, 0u) << "the reader followed at least one rotation";
}

TEST(LiveReader, FromTheMiddlePicksUpLaterRecordsAcrossARotation) {
  cairn::testing::TempDir dir;
  auto log = Log::open(dir.path(), cairn::testing::small_log_options());
  ASSERT_TRUE(log.ok()) << log.status().to_string();
  BlobLogSpec first{.records = 200, .data_bytes = [](uint64_t) { return 3000; }};
  const auto lsns = cairn::testing::append_blobs(**log, first);
  ASSERT_EQ(lsns.size(), 200u);

  auto reader = (*log)->read_from(lsns[150]);
  ASSERT_TRUE(reader.ok()) << reader.status().to_string();
  auto read_until_caught_up = [&]() {
    std::vector<BlobRecord> out;
    for (;;) {
      auto r = (*reader)->next();
      EXPECT_TRUE(r.ok()) << r.status().to_string();
      if (!r.ok() || *r == nullptr) return out;
      out.push_back(cairn::testing::to_blob_record(**r));
    }
  };
  auto got = read_until_caught_up();
  ASSERT_EQ(got.size(), 50u);
  EXPECT_EQ(got.front().lsn, lsns[150]);
  EXPECT_EQ(got.back().seq, 199u);
  EXPECT_TRUE(read_until_caught_up().empty()) << "caught up: nothing new";

  // 600 KB more: the log rotates into segment 2 while the reader waits at the end of segment 1.
  const auto more = cairn::testing::append_blobs(**log, first, 200);
  ASSERT_EQ(more.size(), 200u);
  got = read_until_caught_up();
  ASSERT_EQ(got.size(), 200u);
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].lsn, more[i]);
    EXPECT_EQ(got[i].seq, 200 + i);
    EXPECT_TRUE(got[i].data_ok);
  }
  EXPECT_EQ(got.back().segment_seq, 2u);
}

// A reader kept past its log's destruction read the durable LSN through the freed writer (a
// heap-use-after-free under AddressSanitizer). It reads what was durable at the close, then ends.
TEST(LiveReader, AReaderThatOutlivesItsLogReadsWhatWasDurableAndEnds) {
  cairn::testing::TempDir dir;
  auto log = Log::open(dir.path(), cairn::testing::small_log_options());
  ASSERT_TRUE(log.ok()) << log.status().to_string();
  BlobLogSpec spec{.records = 40, .data_bytes = [](uint64_t) { return 100; }};
  const auto lsns = cairn::testing::append_blobs(**log, spec);
  ASSERT_EQ(lsns.size(), 40u);
  auto reader = (*log)->read_from(0);
  ASSERT_TRUE(reader.ok()) << reader.status().to_string();
  auto first = (*reader)->next();
  ASSERT_TRUE(first.ok() && *first != nullptr);
  log->reset();  // closes the log and frees its writer
  size_t more = 0;
  for (;;) {
    auto r = (*reader)->next();
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    if (*r == nullptr) break;
    ++more;
  }
  EXPECT_EQ(more, 39u);
}

TEST(LiveReader, OnAnEmptyLogReturnsNothingUntilARecordIsDurable) {
  cairn::testing::TempDir dir;
  auto log = Log::open(dir.path(), cairn::testing::small_log_options());
  ASSERT_TRUE(log.ok()) << log.status().to_string();
  auto reader = (*log)->read_from(0);
  ASSERT_TRUE(reader.ok()) << reader.status().to_string();
  auto r = (*reader)->next();
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(*r, nullptr);
  BlobLogSpec one{.records = 1, .one_batch_each = true};
  ASSERT_EQ(cairn::testing::append_blobs(**log, one).size(), 1u);
  r = (*reader)->next();
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  ASSERT_NE(*r, nullptr);
  EXPECT_EQ((*r)->lsn, 0u);
  r = (*reader)->next();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, nullptr);
}

}  // namespace
}  // namespace cairn::log
