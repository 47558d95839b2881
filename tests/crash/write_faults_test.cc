// Faults on the commit path, injected through the IoQueue: short writes are finished by the log;
// a failed write or a failed sync stops the writer for good, fails every record from the failed
// batch on, is never retried, and leaves a log that reopens with every acknowledged record.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <thread>

#include "crash/fault_test_support.h"
#include "support/blob_records.h"

namespace cairn::testing {
namespace {

using log::Lsn;

class WriteFaults : public FaultTest {
 protected:
  // After the writer failed on `err`: every way of asking the log reports that failure.
  void expect_stopped_by(log::Log& log, int err, Lsn failed_lsn) {
    const std::string cause = std::strerror(err);
    auto later = log.append(kBlobType, next_blob(100));
    ASSERT_FALSE(later.ok());
    EXPECT_EQ(later.status().code(), StatusCode::kFailed);
    EXPECT_NE(later.status().message().find(cause), std::string::npos)
        << later.status().to_string();
    auto durable = log.append_durable(kBlobType, next_blob(100));
    EXPECT_EQ(durable.status().code(), StatusCode::kFailed);
    const Status waited = log.wait_durable(failed_lsn);
    EXPECT_EQ(waited.code(), StatusCode::kFailed) << waited.to_string();
    EXPECT_NE(waited.message().find(cause), std::string::npos) << waited.to_string();
    EXPECT_EQ(log.health().code(), StatusCode::kFailed);
    EXPECT_LE(log.durable_lsn(), failed_lsn) << "a record of the failed batch counts as durable";
    const Status closed = log.close();
    EXPECT_EQ(closed.code(), StatusCode::kFailed) << closed.to_string();
    EXPECT_NE(closed.message().find(cause), std::string::npos) << closed.to_string();
    const IoFaultStats s = io_faults->stats();
    EXPECT_EQ(s.requests_after_error, 0u) << "the log wrote or synced again after the error";
  }

  // Appends one record whose write gets `fault`, after some acknowledged ones; returns its LSN.
  Lsn append_into_fault(log::Log& log, WriteFault fault, size_t size) {
    append_acknowledged(log, 20);
    io_faults->fault_nth_write(1, fault);
    RecordingCompletion done;
    auto lsn = log.append(kBlobType, next_blob(size), &done);
    EXPECT_TRUE(lsn.ok()) << lsn.status().to_string();
    const Status st = done.wait();
    EXPECT_EQ(st.code(), StatusCode::kFailed) << st.to_string();
    EXPECT_NE(st.message().find(std::strerror(fault.err)), std::string::npos) << st.to_string();
    return lsn.ok() ? *lsn : 0;
  }
};

TEST_P(WriteFaults, ShortWritesAreFinishedAndEveryRecordIsDurable) {
  io_faults->fault_every_write(WriteFault{.kind = WriteFaultKind::kShort});
  {
    auto log = log::Log::open(dir.path(), faulty_options());
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    append_acknowledged(**log, 20);
    // A 40 KiB record makes a batch of many blocks: it is written in at least three pieces.
    const uint64_t seq = next_seq;
    auto big = (*log)->append_durable(kBlobType, next_blob(40 << 10));
    ASSERT_TRUE(big.ok()) << big.status().to_string();
    acked[*big] = AckedRecord{producer, seq};
    // Many appends in flight at once make batches of every size.
    Lsn last = 0;
    for (int i = 0; i < 2000; ++i) {
      const uint64_t s = next_seq;
      auto lsn = (*log)->append(kBlobType, next_blob(100 + (s * 7919) % 5000));
      ASSERT_TRUE(lsn.ok()) << lsn.status().to_string();
      acked[*lsn] = AckedRecord{producer, s};
      last = *lsn;
    }
    const Status waited = (*log)->wait_durable(last);
    ASSERT_TRUE(waited.ok()) << waited.to_string();
    EXPECT_EQ((*log)->stats().records_durable, acked.size());
    const Status closed = (*log)->close();
    ASSERT_TRUE(closed.ok()) << closed.to_string();
  }
  const IoFaultStats s = io_faults->stats();
  EXPECT_GE(s.short_writes, 2u);
  EXPECT_GT(s.writes, s.short_writes) << "every shortened write needs a follow-up";
  const log::RecoveryReport report = reopen_and_check();
  EXPECT_EQ(report.damage, "");
}

TEST_P(WriteFaults, IoErrorFailsTheBatchStopsTheLogAndKeepsAcknowledgedRecords) {
  Lsn failed = 0;
  {
    auto log = log::Log::open(dir.path(), faulty_options());
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    failed = append_into_fault(**log, WriteFault{.kind = WriteFaultKind::kError, .err = EIO}, 500);
    expect_stopped_by(**log, EIO, failed);
  }
  EXPECT_EQ(io_faults->stats().failed_writes, 1u);
  const log::RecoveryReport report = reopen_and_check();
  EXPECT_EQ(report.damage, "") << "nothing of the failed batch reached the disk";
  EXPECT_EQ(report.end_lsn, failed);
}

TEST_P(WriteFaults, FullDiskOnACommitWriteFailsWithNoSpace) {
  Lsn failed = 0;
  {
    auto log = log::Log::open(dir.path(), faulty_options());
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    failed =
        append_into_fault(**log, WriteFault{.kind = WriteFaultKind::kError, .err = ENOSPC}, 500);
    EXPECT_NE((*log)->health().message().find("NoSpace"), std::string::npos)
        << (*log)->health().to_string();
    expect_stopped_by(**log, ENOSPC, failed);
  }
  reopen_and_check();
}

// The write stops after its first block: part of a frame is on disk, which recovery must cut.
TEST_P(WriteFaults, IoErrorAfterAPartialWriteLeavesATornTailThatRecoveryCuts) {
  Lsn failed = 0;
  {
    auto log = log::Log::open(dir.path(), faulty_options());
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    failed = append_into_fault(
        **log, WriteFault{.kind = WriteFaultKind::kError, .err = EIO, .prefix_bytes = 4096},
        20 << 10);
    expect_stopped_by(**log, EIO, failed);
  }
  const log::RecoveryReport report = reopen_and_check();
  EXPECT_NE(report.damage.find("torn tail"), std::string::npos) << report.damage;
  EXPECT_EQ(report.end_lsn, failed);
  EXPECT_EQ(report.quarantined_files.size(), 1u);
}

// A failed fdatasync (or a failed O_DSYNC write) is final: the pages may be gone from the cache,
// so the log may neither sync again and believe it nor acknowledge anything in or after the batch.
TEST_P(WriteFaults, FailedSyncIsNeverRetriedAndNothingAfterItIsAcknowledged) {
  Lsn first_failed = 0;
  {
    auto log = log::Log::open(dir.path(), faulty_options());
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    append_acknowledged(**log, 20);
    io_faults->fault_nth_write(1, WriteFault{.kind = WriteFaultKind::kSyncError, .err = EIO});
    // Several records in quick succession: with two writes in flight the batch after the failed
    // one may complete first, and must not be acknowledged either.
    // Once the writer has failed, append() itself refuses.
    std::vector<std::unique_ptr<RecordingCompletion>> done;
    for (int i = 0; i < 8; ++i) {
      auto completion = std::make_unique<RecordingCompletion>();
      auto lsn = (*log)->append(kBlobType, next_blob(3000), completion.get());
      if (i > 0 && !lsn.ok()) {
        EXPECT_EQ(lsn.status().code(), StatusCode::kFailed) << lsn.status().to_string();
        continue;
      }
      ASSERT_TRUE(lsn.ok()) << lsn.status().to_string();
      if (i == 0) first_failed = *lsn;
      done.push_back(std::move(completion));
    }
    for (auto& d : done) {
      const Status st = d->wait();
      EXPECT_EQ(st.code(), StatusCode::kFailed)
          << "record at LSN " << d->lsn() << ": " << st.to_string();
    }
    expect_stopped_by(**log, EIO, first_failed);
  }
  const IoFaultStats s = io_faults->stats();
  EXPECT_EQ(s.failed_syncs, 1u);
  // The failed request's range was never written or synced again.
  const std::vector<IoEvent> history = io_faults->history();
  size_t failed_at = history.size();
  for (size_t i = 0; i < history.size(); ++i) {
    if (history[i].fault == WriteFaultKind::kSyncError) failed_at = i;
  }
  ASSERT_LT(failed_at, history.size());
  for (size_t i = failed_at + 1; i < history.size(); ++i) {
    const IoEvent& e = history[i];
    const IoEvent& f = history[failed_at];
    const bool overlaps =
        e.fd == f.fd && e.offset < f.offset + f.len && f.offset < e.offset + e.len;
    EXPECT_FALSE(overlaps) << "request " << i << " rewrote the failed range at offset " << e.offset;
  }
  reopen_and_check();
}

// Counts the calls it gets, so a test can see every accepted append completed exactly once.
class CountingCompletion final : public log::AppendCompletion {
 public:
  void on_durable(Lsn lsn, const Status& status) noexcept override {
    lsn_ = lsn;
    ok_ = status.ok();
    calls_.fetch_add(1, std::memory_order_release);
  }
  int calls() const { return calls_.load(std::memory_order_acquire); }
  bool ok() const { return ok_; }
  Lsn lsn() const { return lsn_; }

 private:
  std::atomic<int> calls_{0};
  Lsn lsn_ = 0;
  bool ok_ = false;
};

// Appenders race the failure: some are blocked on the full staging ring, some publish after the
// writer stopped. Every append that was accepted must still be completed, once, and the ones
// completed OK must be exactly those before the failed batch.
TEST_P(WriteFaults, EveryAcceptedAppendIsCompletedOnceWhenTheWriterFails) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 1500;
  std::vector<std::vector<CountingCompletion>> done(kThreads);
  std::vector<std::vector<bool>> accepted(kThreads, std::vector<bool>(kPerThread, false));
  for (auto& d : done) d = std::vector<CountingCompletion>(kPerThread);
  {
    auto log = log::Log::open(dir.path(), faulty_options());
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    io_faults->fault_nth_write(6, WriteFault{.kind = WriteFaultKind::kError, .err = EIO});
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) {
          const auto payload = make_blob(100 + t, i, 100 + (i * 131) % 3000);
          auto lsn = (*log)->append(kBlobType, payload, &done[t][i]);
          accepted[t][i] = lsn.ok();
          if (!lsn.ok()) {
            EXPECT_EQ(lsn.status().code(), StatusCode::kFailed);
          }
        }
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ((*log)->close().code(), StatusCode::kFailed);
  }
  ASSERT_EQ(io_faults->stats().failed_writes, 1u) << "the log wrote fewer than six batches";
  Lsn last_ok = 0;
  Lsn first_failed = log::kNoLsn;
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      const CountingCompletion& c = done[t][i];
      ASSERT_EQ(c.calls(), accepted[t][i] ? 1 : 0) << "thread " << t << " append " << i;
      if (!accepted[t][i]) continue;
      if (c.ok()) {
        last_ok = std::max(last_ok, c.lsn());
        acked[c.lsn()] = AckedRecord{static_cast<uint32_t>(100 + t), static_cast<uint64_t>(i)};
      } else {
        first_failed = std::min(first_failed, c.lsn());
      }
    }
  }
  EXPECT_LT(last_ok, first_failed) << "a record after the failed batch was acknowledged";
  reopen_and_check();
}

// The failure says "reopen the log to recover", and close() promises to release the directory: an
// application that keeps the failed Log object around while it reopens must be able to.
TEST_P(WriteFaults, CloseAfterAFailureReleasesTheDirectoryForTheReopen) {
  auto log = log::Log::open(dir.path(), faulty_options());
  ASSERT_TRUE(log.ok()) << log.status().to_string();
  append_into_fault(**log, WriteFault{.kind = WriteFaultKind::kError, .err = EIO}, 500);
  EXPECT_EQ((*log)->close().code(), StatusCode::kFailed);
  auto reopened = log::Log::open(dir.path(), clean_options());
  EXPECT_TRUE(reopened.ok()) << reopened.status().to_string();
}

INSTANTIATE_TEST_SUITE_P(Io, WriteFaults, ::testing::ValuesIn(fault_matrix()), fault_matrix_name);

}  // namespace
}  // namespace cairn::testing
