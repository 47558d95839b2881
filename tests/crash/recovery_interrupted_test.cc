// Recovery itself can be interrupted: a crash or an I/O error while it copies a torn tail to the
// quarantine or zeroes it. The next open must still succeed and keep every acknowledged record.
#include "crash/fault_test_support.h"
#include "support/blob_records.h"

namespace cairn::testing {
namespace {

class RecoveryInterrupted : public FaultTest {
 protected:
  // Leaves a torn tail: a record whose write failed after its first block reached the disk.
  void make_torn_tail() {
    auto log = log::Log::open(dir.path(), faulty_options());
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    append_acknowledged(**log, 20);
    io_faults->fault_nth_write(
        1, WriteFault{.kind = WriteFaultKind::kError, .err = EIO, .prefix_bytes = 4096});
    RecordingCompletion done;
    ASSERT_TRUE((*log)->append(kBlobType, next_blob(20 << 10), &done).ok());
    EXPECT_EQ(done.wait().code(), StatusCode::kFailed);
    EXPECT_EQ((*log)->close().code(), StatusCode::kFailed);
  }

  // Opens with `fault` (which must make the open fail), then opens cleanly.
  void interrupt_recovery_with(FsFault fault) {
    make_torn_tail();
    if (HasFatalFailure()) return;
    fs->add_fault(std::move(fault));
    auto interrupted = log::Log::open(dir.path(), faulty_options());
    ASSERT_FALSE(interrupted.ok()) << "the injected fault did not reach recovery";
    EXPECT_EQ(interrupted.status().code(), StatusCode::kIoError)
        << interrupted.status().to_string();
    const log::RecoveryReport report = reopen_and_check();
    EXPECT_NE(report.damage.find("torn tail"), std::string::npos) << report.damage;
  }
};

TEST_P(RecoveryInterrupted, FailureWhileZeroingTheTornTailDoesNotBlockTheNextOpen) {
  // The segment itself, not its copy in DIR/quarantine/ (whose name starts with the segment's).
  const std::string segment = (dir.path() / "00000001-").string();
  interrupt_recovery_with(FsFault{.op = FsOp::kPwrite, .path_contains = segment, .times = 0});
}

TEST_P(RecoveryInterrupted, FailureWhileSyncingTheQuarantineCopyDoesNotBlockTheNextOpen) {
  interrupt_recovery_with(
      FsFault{.op = FsOp::kFdatasync, .path_contains = "quarantine", .times = 0});
}

INSTANTIATE_TEST_SUITE_P(Io, RecoveryInterrupted, ::testing::ValuesIn(fault_matrix()),
                         fault_matrix_name);

}  // namespace
}  // namespace cairn::testing
