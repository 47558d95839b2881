// Appended records are durable, readable in LSN order, and survive close and reopen.
#include <gtest/gtest.h>

#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <map>
#include <thread>

#include "cairn/log/log.h"
#include "cairn/log/reader.h"
#include "cairn/log/verify.h"
#include "cairn/schema/record_schema.h"
#include "support/blob_records.h"
#include "support/temp_dir.h"

namespace cairn::log {
namespace {

using testing::kBlobType;
using testing::make_blob;
using testing::read_blob;

LogOptions small_options() {
  LogOptions o;
  o.segment_bytes = 1 << 20;
  o.batch_bytes_max = 256 << 10;
  o.record_bytes_max = 64 << 10;
  o.staging_bytes = 1 << 20;
  return o;
}

std::vector<ReadRecord> read_all(const std::filesystem::path& dir,
                                 std::vector<std::vector<std::byte>>* payloads) {
  auto reader = LogReader::open(dir, {});
  EXPECT_TRUE(reader.ok()) << reader.status().to_string();
  std::vector<ReadRecord> out;
  for (;;) {
    auto r = (*reader)->next();
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    if (!r.ok() || *r == nullptr) break;
    out.push_back(**r);
    payloads->emplace_back((*r)->payload.begin(), (*r)->payload.end());
  }
  return out;
}

TEST(LogAppend, RecordsFromManyThreadsAreDurableAndReadBackInOrder) {
  testing::TempDir dir;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 3000;
  std::map<Lsn, std::pair<uint32_t, uint64_t>> written;
  std::mutex mu;
  {
    auto log = Log::open(dir.path(), small_options());
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) {
          auto payload = make_blob(t, i, 100 + (i * 37) % 900);
          auto lsn = (*log)->append(kBlobType, payload);
          ASSERT_TRUE(lsn.ok()) << lsn.status().to_string();
          std::lock_guard lock(mu);
          written[*lsn] = {static_cast<uint32_t>(t), static_cast<uint64_t>(i)};
        }
      });
    }
    for (auto& th : threads) th.join();
    const Lsn last = written.rbegin()->first;
    ASSERT_TRUE((*log)->wait_durable(last).ok());
    EXPECT_GT((*log)->durable_lsn(), last);
    EXPECT_EQ((*log)->stats().records_durable, uint64_t{kThreads * kPerThread});
    ASSERT_TRUE((*log)->close().ok());
  }
  std::vector<std::vector<std::byte>> payloads;
  auto records = read_all(dir.path(), &payloads);
  ASSERT_EQ(records.size(), written.size());
  auto it = written.begin();
  for (size_t i = 0; i < records.size(); ++i, ++it) {
    ASSERT_EQ(records[i].lsn, it->first);
    auto id = read_blob(payloads[i]);
    EXPECT_EQ(id.producer, it->second.first);
    EXPECT_EQ(id.seq, it->second.second);
    EXPECT_TRUE(id.data_ok);
  }
  // The log rotated through several 1 MiB segments and verifies as intact.
  auto report = verify_log(dir.path(), {});
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->intact()) << report->damage->to_string();
  EXPECT_GT(report->segments.size(), 3u);
  EXPECT_EQ(report->records, written.size());
}

TEST(LogAppend, ReopenContinuesTheLsnSequence) {
  testing::TempDir dir;
  Lsn end_first = 0;
  {
    auto log = Log::open(dir.path(), small_options());
    ASSERT_TRUE(log.ok());
    for (int i = 0; i < 10; ++i)
      ASSERT_TRUE((*log)->append_durable(kBlobType, make_blob(0, i, 50)).ok());
    end_first = (*log)->durable_lsn();
  }
  {
    auto log = Log::open(dir.path(), small_options());
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    EXPECT_EQ((*log)->recovery_report().end_lsn, end_first);
    EXPECT_TRUE((*log)->recovery_report().damage.empty());
    auto lsn = (*log)->append_durable(kBlobType, make_blob(1, 0, 50));
    ASSERT_TRUE(lsn.ok());
    EXPECT_EQ(*lsn, end_first);
  }
  std::vector<std::vector<std::byte>> payloads;
  EXPECT_EQ(read_all(dir.path(), &payloads).size(), 11u);
}

TEST(LogAppend, RejectsBadArgumentsWithoutChangingTheLog) {
  testing::TempDir dir;
  auto log = Log::open(dir.path(), small_options());
  ASSERT_TRUE(log.ok());
  auto zero = (*log)->append(0, make_blob(0, 0, 10));
  EXPECT_EQ(zero.status().code(), StatusCode::kInvalidArgument);
  std::vector<std::byte> huge(small_options().record_bytes_max + 1);
  EXPECT_EQ((*log)->append(kBlobType, huge).status().code(), StatusCode::kLimitExceeded);
  EXPECT_EQ((*log)->durable_lsn(), 0u);
  ASSERT_TRUE((*log)->close().ok());
  EXPECT_EQ((*log)->append(kBlobType, make_blob(0, 0, 10)).status().code(), StatusCode::kClosed);
}

TEST(LogOpen, RejectsInvalidOptions) {
  testing::TempDir dir;
  LogOptions o = small_options();
  o.segment_bytes = 12345;
  EXPECT_EQ(Log::open(dir.path(), o).status().code(), StatusCode::kInvalidArgument);
  o = small_options();
  o.writes_in_flight_max = 0;
  EXPECT_EQ(Log::open(dir.path(), o).status().code(), StatusCode::kInvalidArgument);
  // Each new segment is written whole before its first record: a terabyte would be written so.
  o = small_options();
  o.segment_bytes = 1ull << 40;
  o.segment_bytes_initial = 1ull << 40;
  Result<std::unique_ptr<Log>> huge = Log::open(dir.path(), o);
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(huge.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(huge.status().message().find("at most 4 GiB"), std::string::npos)
      << huge.status().to_string();
}

#ifndef CAIRN_SANITIZER_BUILD
// In a death test's child: opens a log with an 8 GiB staging ring in 4 GiB of address space.
[[noreturn]] void open_with_little_address_space(const std::filesystem::path& dir) {
  const rlimit limit{.rlim_cur = 4ull << 30, .rlim_max = 4ull << 30};
  if (setrlimit(RLIMIT_AS, &limit) != 0) _exit(10);
  LogOptions o = small_options();
  o.staging_bytes = 8ull << 30;
  Result<std::unique_ptr<Log>> log = Log::open(dir, o);
  if (log.ok()) _exit(11);
  std::fprintf(stderr, "%s\n", log.status().to_string().c_str());
  _exit(log.status().code() == StatusCode::kLimitExceeded ? 0 : 12);
}
#endif

// A staging ring larger than the system grants (here: beyond RLIMIT_AS, in a child process) is an
// error naming staging_bytes, not an abort: the log was fine, only a setting was too large.
TEST(LogOpen, AStagingRingTheSystemRefusesIsAnErrorNamingTheOption) {
#ifdef CAIRN_SANITIZER_BUILD
  GTEST_SKIP() << "the sanitizers reserve terabytes of address space: RLIMIT_AS would stop them; "
                  "the normal build runs this";
#else
  testing::TempDir dir;
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(open_with_little_address_space(dir.path()), ::testing::ExitedWithCode(0),
              "staging_bytes: the system refused 8589934592 bytes");
  // Nothing was written that a later open with a sane setting could not take.
  Result<std::unique_ptr<Log>> log = Log::open(dir.path(), small_options());
  ASSERT_TRUE(log.ok()) << log.status().to_string();
  ASSERT_TRUE((*log)->append_durable(kBlobType, make_blob(0, 0, 10)).ok());
  EXPECT_TRUE((*log)->close().ok());
#endif
}

TEST(LogOpen, SecondWriterIsRefusedByTheLock) {
  testing::TempDir dir;
  auto first = Log::open(dir.path(), small_options());
  ASSERT_TRUE(first.ok());
  auto second = Log::open(dir.path(), small_options());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kLocked);
  (*first)->close().ok();
  first->reset();
  EXPECT_TRUE(Log::open(dir.path(), small_options()).ok());
}

}  // namespace
}  // namespace cairn::log
