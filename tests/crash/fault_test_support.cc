// FaultTest and its helpers (see fault_test_support.h).
#include "crash/fault_test_support.h"
#include "cairn/schema/record_schema.h"

#include <chrono>
#include <filesystem>
#include <string_view>
#include <thread>

#include "cairn/log/reader.h"
#include "cairn/log/verify.h"
#include "support/blob_records.h"

namespace cairn::testing {

std::string fault_matrix_name(const ::testing::TestParamInfo<FaultMatrix>& info) {
  const std::string queue = info.param.queue == QueueKind::kUring ? "Uring" : "Sync";
  return queue + (info.param.mode == log::IoMode::kBuffered ? "Buffered" : "Direct");
}

std::vector<FaultMatrix> fault_matrix() {
  return {{QueueKind::kUring, log::IoMode::kAuto},
          {QueueKind::kUring, log::IoMode::kBuffered},
          {QueueKind::kSync, log::IoMode::kAuto},
          {QueueKind::kSync, log::IoMode::kBuffered}};
}

void RecordingCompletion::on_durable(log::Lsn lsn, const Status& status) noexcept {
  lsn_ = lsn;
  status_ = status;
  done_.store(true, std::memory_order_release);
}

Status RecordingCompletion::wait() {
  // Bounded, so that a log that never completes an append fails the test instead of hanging it.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!done_.load(std::memory_order_acquire)) {
    if (std::chrono::steady_clock::now() > deadline) {
      return Status(StatusCode::kTimeout, "the append's completion never ran");
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return status_;
}

void FaultTest::SetUp() {
  if (GetParam().queue == QueueKind::kUring &&
      std::string_view(faulty_io_queue_factory(io_faults, QueueKind::kUring)()->name()) !=
          "io_uring") {
    GTEST_SKIP() << "io_uring is unavailable here; the sync queue variant covers the test";
  }
  if (GetParam().mode != log::IoMode::kAuto) return;
  TempDir probe;
  auto log = log::Log::open(probe.path(), clean_options());
  ASSERT_TRUE(log.ok()) << log.status().to_string();
  if (!(*log)->stats().direct_io) GTEST_SKIP() << "this file system refuses O_DIRECT";
}

log::LogOptions FaultTest::clean_options() const {
  log::LogOptions o;
  o.segment_bytes = 1 << 20;
  o.batch_bytes_max = 256 << 10;
  o.record_bytes_max = 64 << 10;
  o.staging_bytes = 1 << 20;
  o.io_mode = GetParam().mode;
  return o;
}

log::LogOptions FaultTest::faulty_options() const {
  log::LogOptions o = clean_options();
  o.file_system = fs;
  o.io_queue_factory = faulty_io_queue_factory(io_faults, GetParam().queue);
  return o;
}

std::vector<std::byte> FaultTest::next_blob(size_t size) {
  return make_blob(producer, next_seq++, size);
}

void FaultTest::append_acknowledged(log::Log& log, int n) {
  for (int i = 0; i < n; ++i) {
    const uint64_t seq = next_seq;
    auto lsn = log.append_durable(kBlobType, next_blob(100 + (seq * 397) % 2900));
    ASSERT_TRUE(lsn.ok()) << lsn.status().to_string();
    acked[*lsn] = AckedRecord{producer, seq};
  }
}

Status FaultTest::append_until_failure(log::Log& log, size_t size, int max) {
  for (int i = 0; i < max; ++i) {
    const uint64_t seq = next_seq;
    auto lsn = log.append_durable(kBlobType, next_blob(size));
    if (!lsn.ok()) return lsn.status();
    acked[*lsn] = AckedRecord{producer, seq};
  }
  return Status();
}

log::RecoveryReport FaultTest::reopen_and_check() {
  log::RecoveryReport report;
  {
    auto log = log::Log::open(dir.path(), clean_options());
    EXPECT_TRUE(log.ok()) << "reopening without faults: " << log.status().to_string();
    if (!log.ok()) return report;
    report = (*log)->recovery_report();
    EXPECT_TRUE((*log)->close().ok());
  }
  auto reader = log::LogReader::open(dir.path(), {});
  EXPECT_TRUE(reader.ok()) << reader.status().to_string();
  if (!reader.ok()) return report;
  size_t found = 0;
  log::Lsn expected = report.first_lsn;
  for (;;) {
    auto next = (*reader)->next();
    EXPECT_TRUE(next.ok()) << next.status().to_string();
    if (!next.ok() || *next == nullptr) break;
    const log::ReadRecord& rec = **next;
    EXPECT_EQ(rec.lsn, expected) << "the LSN chain breaks";
    expected = rec.lsn + 24 + (rec.payload.size() + 7) / 8 * 8;
    const BlobId id = read_blob(rec.payload);
    EXPECT_TRUE(id.data_ok) << "damaged payload at LSN " << rec.lsn;
    auto it = acked.find(rec.lsn);
    if (it == acked.end()) continue;  // not acknowledged: it may or may not have survived
    EXPECT_EQ(id.producer, it->second.producer) << "at LSN " << rec.lsn;
    EXPECT_EQ(id.seq, it->second.seq) << "at LSN " << rec.lsn;
    ++found;
  }
  EXPECT_EQ(found, acked.size()) << "acknowledged records are missing after the reopen";
  EXPECT_EQ(expected, report.end_lsn);
  auto verified = log::verify_log(dir.path(), {});
  EXPECT_TRUE(verified.ok()) << verified.status().to_string();
  if (verified.ok()) {
    EXPECT_TRUE(verified->intact()) << verified->damage->to_string();
  }
  return report;
}

std::vector<std::string> FaultTest::files_starting_with(const std::string& prefix) const {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    const std::string name = e.path().filename().string();
    if (name.starts_with(prefix)) out.push_back(name);
  }
  return out;
}

}  // namespace cairn::testing
