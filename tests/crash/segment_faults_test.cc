// Faults off the commit path, injected through the FileSystem: a full disk while a spare segment
// is prepared (the log waits for space and goes on), a failed rename or directory sync at
// rotation (the writer stops with a message naming the cause). Each leaves a log that reopens
// with every acknowledged record.
#include <chrono>
#include <thread>

#include "crash/fault_test_support.h"
#include "support/blob_records.h"

namespace cairn::testing {
namespace {

// Records of 8 KiB: a 1 MiB segment fills after about 128 of them.
constexpr size_t kRecordBytes = 8 << 10;
constexpr int kAppendsMax = 1000;

class SegmentFaults : public FaultTest {};

// A full disk when the next segment is needed: the log waits — health() says why, appends keep
// queueing, nothing durable is lost — and goes on by itself once space is back.
TEST_P(SegmentFaults, NoSpaceForTheNextSegmentWaitsForSpaceAndGoesOn) {
  {
    auto log = log::Log::open(dir.path(), faulty_options());
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    // The disk fills 256 KiB into the next spare, until the test frees space.
    fs->add_fault(FsFault{.op = FsOp::kPwrite,
                          .path_contains = "prealloc-",
                          .err = ENOSPC,
                          .times = 0,
                          .after_bytes = 256 << 10});
    // More than a segment holds: the writer needs the next one and cannot have it.
    std::vector<std::pair<log::Lsn, uint64_t>> queued;
    for (int i = 0; i < 160; ++i) {
      const uint64_t seq = next_seq;
      auto lsn = (*log)->append(kBlobType, next_blob(kRecordBytes));
      ASSERT_TRUE(lsn.ok()) << lsn.status().to_string();
      queued.emplace_back(*lsn, seq);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while ((*log)->health().ok() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    const Status waiting = (*log)->health();
    ASSERT_EQ(waiting.code(), StatusCode::kNoSpace) << waiting.to_string();
    EXPECT_NE(waiting.message().find("waits for disk space"), std::string::npos)
        << waiting.to_string();
    EXPECT_NE(waiting.message().find("No space"), std::string::npos) << waiting.to_string();
    const log::Lsn durable = (*log)->durable_lsn();
    EXPECT_LT(durable, queued.back().first) << "records beyond the first segment became durable";
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // still waiting, not failed
    EXPECT_EQ((*log)->health().code(), StatusCode::kNoSpace);

    fs->clear();  // space is back
    ASSERT_TRUE((*log)->wait_durable(queued.back().first).ok());
    EXPECT_TRUE((*log)->health().ok()) << (*log)->health().to_string();
    for (const auto& [lsn, seq] : queued) acked[lsn] = AckedRecord{producer, seq};
    append_acknowledged(**log, 5);
    ASSERT_TRUE((*log)->close().ok());
  }
  EXPECT_GE(fs->faults_injected(), 1u);
  EXPECT_EQ(files_starting_with("prealloc-"), std::vector<std::string>{})
      << "a half-written spare was left behind";
  EXPECT_GE(files_starting_with("0000000").size(), 2u) << "the log went on in a new segment";
  const log::RecoveryReport report = reopen_and_check();
  EXPECT_EQ(report.damage, "");
}

// Closing while the log waits for space: what was durable stays; what was not is reported as not
// durable (close() says why), and the log reopens with everything acknowledged.
TEST_P(SegmentFaults, CloseWhileWaitingForSpaceKeepsWhatWasDurable) {
  {
    auto log = log::Log::open(dir.path(), faulty_options());
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    append_acknowledged(**log, 20);
    fs->add_fault(FsFault{.op = FsOp::kPwrite,
                          .path_contains = "prealloc-",
                          .err = ENOSPC,
                          .times = 0,
                          .after_bytes = 256 << 10});
    for (int i = 0; i < 160; ++i)
      ASSERT_TRUE((*log)->append(kBlobType, next_blob(kRecordBytes)).ok());
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while ((*log)->health().ok() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ASSERT_EQ((*log)->health().code(), StatusCode::kNoSpace);
    const Status closed = (*log)->close();
    EXPECT_FALSE(closed.ok());
    EXPECT_NE(closed.message().find("No space"), std::string::npos) << closed.to_string();
  }
  const log::RecoveryReport report = reopen_and_check();
  EXPECT_EQ(report.damage, "");
}

TEST_P(SegmentFaults, NoSpaceForTheFirstSegmentFailsOpenAndChangesNothing) {
  fs->add_fault(FsFault{.op = FsOp::kPwrite,
                        .path_contains = "prealloc-",
                        .err = ENOSPC,
                        .times = 0,
                        .after_bytes = 128 << 10});
  auto log = log::Log::open(dir.path(), faulty_options());
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), StatusCode::kNoSpace) << log.status().to_string();
  EXPECT_EQ(files_starting_with("prealloc-"), std::vector<std::string>{});
  EXPECT_EQ(files_starting_with("0000000"), std::vector<std::string>{});
  fs->clear();
  {
    auto again = log::Log::open(dir.path(), faulty_options());
    ASSERT_TRUE(again.ok()) << again.status().to_string();
    EXPECT_TRUE((*again)->recovery_report().created);
    append_acknowledged(**again, 5);
    EXPECT_TRUE((*again)->close().ok());
  }
  reopen_and_check();
}

TEST_P(SegmentFaults, FailedRenameAtRotationStopsTheWriter) {
  {
    auto log = log::Log::open(dir.path(), faulty_options());
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    fs->add_fault(FsFault{.op = FsOp::kRename, .path_contains = ".wal", .err = EIO, .times = 0});
    const Status failure = append_until_failure(**log, kRecordBytes, kAppendsMax);
    ASSERT_FALSE(failure.ok()) << "the log never rotated";
    EXPECT_EQ(failure.code(), StatusCode::kFailed) << failure.to_string();
    EXPECT_NE(failure.message().find("renaming"), std::string::npos) << failure.to_string();
    EXPECT_EQ((*log)->close().code(), StatusCode::kFailed);
  }
  EXPECT_EQ(files_starting_with("0000000").size(), 1u);
  reopen_and_check();
  EXPECT_EQ(files_starting_with("prealloc-"), std::vector<std::string>{})
      << "recovery leaves no spare behind";
}

// The spare is renamed into place, then the directory sync fails: the new name may not be
// durable, so nothing may be written into the new segment and acknowledged.
TEST_P(SegmentFaults, FailedDirectorySyncAtRotationStopsTheWriter) {
  {
    auto log = log::Log::open(dir.path(), faulty_options());
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    // Fill a third of the segment so the writer asks for a spare, and wait until the spare is
    // ready (its preparation ends with a directory sync): the next directory sync is then the
    // writer's own, right after it renamed the spare at rotation.
    const uint64_t dir_syncs = fs->calls(FsOp::kFsyncDir);
    ASSERT_TRUE(append_until_failure(**log, kRecordBytes, 48).ok());
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (fs->calls(FsOp::kFsyncDir) == dir_syncs) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "no spare was prepared";
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    fs->add_fault(FsFault{.op = FsOp::kFsyncDir, .err = EIO, .times = 0});
    const Status failure = append_until_failure(**log, kRecordBytes, kAppendsMax);
    ASSERT_FALSE(failure.ok()) << "the log never rotated";
    EXPECT_EQ(failure.code(), StatusCode::kFailed) << failure.to_string();
    EXPECT_NE(failure.message().find("fsync of directory"), std::string::npos)
        << failure.to_string();
    EXPECT_EQ((*log)->close().code(), StatusCode::kFailed);
  }
  EXPECT_EQ(fs->faults_injected(), 1u);
  const log::RecoveryReport report = reopen_and_check();
  EXPECT_EQ(report.damage, "");
}

// Retention renames old segments away oldest first, and each rename is made durable before the
// next one: a power cut must never keep a later segment's removal without the earlier ones (the
// log would have a gap). So a directory sync that fails stops it after the first rename, and the
// log, its acknowledged records and a later retention are all fine.
TEST_P(SegmentFaults, FailedDirectorySyncStopsRetentionBeforeItsNextRename) {
  {
    auto log = log::Log::open(dir.path(), faulty_options());
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    append_acknowledged(**log, 1200);  // 8 KiB each: segments of 1, 2, 4 and 8 MiB
    ASSERT_GE(files_starting_with("0000000").size(), 3u);
    const uint64_t renames = fs->calls(FsOp::kRename);
    fs->add_fault(FsFault{.op = FsOp::kFsyncDir, .err = EIO, .times = 1});
    auto removed = (*log)->remove_segments_before(
        log::kNoLsn, std::chrono::system_clock::now() + std::chrono::hours(1));
    ASSERT_FALSE(removed.ok()) << "the directory sync did not fail";
    EXPECT_NE(removed.status().message().find("fsync of directory"), std::string::npos)
        << removed.status().to_string();
    EXPECT_EQ(fs->calls(FsOp::kRename) - renames, 1u) << "a second rename before the first synced";
    fs->clear();
    auto again = (*log)->remove_segments_before(
        log::kNoLsn, std::chrono::system_clock::now() + std::chrono::hours(1));
    ASSERT_TRUE(again.ok()) << again.status().to_string();
    EXPECT_GT(again->segments, 0u);
    // The records retention took out are no longer the log's to keep.
    acked.erase(acked.begin(), acked.lower_bound((*log)->first_lsn()));
    append_acknowledged(**log, 5);
    ASSERT_TRUE((*log)->close().ok());
  }
  const log::RecoveryReport report = reopen_and_check();
  EXPECT_EQ(report.damage, "");
}

INSTANTIATE_TEST_SUITE_P(Io, SegmentFaults, ::testing::ValuesIn(fault_matrix()), fault_matrix_name);

}  // namespace
}  // namespace cairn::testing
