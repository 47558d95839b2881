// The LOCK file keeps a second writer out, and only that: close() releases it for the next
// writer, and readers (LogReader, verify_log) take no lock, so they work beside a writer.
#include <gtest/gtest.h>

#include "blob_log.h"
#include "cairn/log/log.h"
#include "cairn/log/verify.h"
#include "support/temp_dir.h"

namespace cairn::log {
namespace {

using cairn::testing::BlobLogSpec;

TEST(LockFile, CloseReleasesTheDirectoryForTheNextWriter) {
  // Log::close() promises to release the directory, so a closed Log that is still around must
  // not keep the next writer out.
  cairn::testing::TempDir dir;
  auto first = Log::open(dir.path(), cairn::testing::small_log_options());
  ASSERT_TRUE(first.ok()) << first.status().to_string();
  ASSERT_EQ(cairn::testing::append_blobs(**first, BlobLogSpec{.records = 5}).size(), 5u);
  ASSERT_TRUE((*first)->close().ok());
  auto second = Log::open(dir.path(), cairn::testing::small_log_options());
  ASSERT_TRUE(second.ok()) << second.status().to_string();
  EXPECT_EQ((*second)->recovery_report().end_lsn, (*first)->durable_lsn());
}

TEST(LockFile, DestroyingTheLogReleasesTheLock) {
  cairn::testing::TempDir dir;
  Lsn end = 0;
  {
    auto log = Log::open(dir.path(), cairn::testing::small_log_options());
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    const auto lsns = cairn::testing::append_blobs(**log, BlobLogSpec{.records = 5});
    ASSERT_EQ(lsns.size(), 5u);
    end = (*log)->durable_lsn();
  }  // no close(): the destructor closes
  auto again = Log::open(dir.path(), cairn::testing::small_log_options());
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_EQ((*again)->recovery_report().end_lsn, end);
  EXPECT_EQ(cairn::testing::read_blob_log(dir.path()).size(), 5u);
}

TEST(LockFile, ReadersWorkWhileAWriterHoldsTheLock) {
  cairn::testing::TempDir dir;
  auto log = Log::open(dir.path(), cairn::testing::small_log_options());
  ASSERT_TRUE(log.ok()) << log.status().to_string();
  ASSERT_EQ(cairn::testing::append_blobs(**log, BlobLogSpec{.records = 300}).size(), 300u);

  EXPECT_EQ(cairn::testing::read_blob_log(dir.path()).size(), 300u);
  auto report = verify_log(dir.path(), {});
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  EXPECT_TRUE(report->intact()) << report->damage->to_string();
  EXPECT_EQ(report->records, 300u);

  // The readers neither took the lock nor disturbed the writer.
  auto second = Log::open(dir.path(), cairn::testing::small_log_options());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kLocked);
  ASSERT_EQ(cairn::testing::append_blobs(**log, BlobLogSpec{.records = 100}, 300).size(), 100u);
  EXPECT_TRUE((*log)->health().ok());
  EXPECT_EQ(cairn::testing::read_blob_log(dir.path()).size(), 400u);
}

}  // namespace
}  // namespace cairn::log
