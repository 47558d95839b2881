// Shared by the fault-injection tests: the matrix they run on (io_uring or sync queue, direct or
// buffered I/O), a fixture whose log sends its I/O through the fault injectors, a completion that
// remembers what it was told, and the check of the log reopened without faults.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cairn/log/log.h"
#include "support/faulty_io.h"
#include "support/temp_dir.h"

namespace cairn::testing {

struct FaultMatrix {
  QueueKind queue = QueueKind::kUring;
  log::IoMode mode = log::IoMode::kAuto;  // kAuto: direct I/O on this machine's file system
};

std::string fault_matrix_name(const ::testing::TestParamInfo<FaultMatrix>& info);
// Every combination of queue and I/O mode.
std::vector<FaultMatrix> fault_matrix();

// Records the one on_durable call it gets.
class RecordingCompletion final : public log::AppendCompletion {
 public:
  void on_durable(log::Lsn lsn, const Status& status) noexcept override;
  // Waits for the call (the log promises one for every accepted append).
  Status wait();
  log::Lsn lsn() const { return lsn_; }

 private:
  std::atomic<bool> done_{false};
  log::Lsn lsn_ = 0;
  Status status_;
};

struct AckedRecord {
  uint32_t producer = 0;
  uint64_t seq = 0;
};

class FaultTest : public ::testing::TestWithParam<FaultMatrix> {
 protected:
  void SetUp() override;

  // Small segments and batches, I/O through io_faults and fs.
  log::LogOptions faulty_options() const;
  // The same sizes and mode on the real file system and queue.
  log::LogOptions clean_options() const;

  // append_durable of `n` Blob records (sizes vary from 100 to 3,000 bytes) that must succeed;
  // each is remembered as acknowledged.
  void append_acknowledged(log::Log& log, int n);
  // A Blob of `size` data bytes from the test's producer (the next seq).
  std::vector<std::byte> next_blob(size_t size);
  // append_durable until one fails (at most `max` tries); returns the failure. Records that
  // succeed are remembered as acknowledged.
  Status append_until_failure(log::Log& log, size_t size, int max);

  // Reopens without faults and checks every acknowledged record is at its LSN with its payload,
  // the log reads to its end without error and verify_log finds it intact. Returns the report.
  log::RecoveryReport reopen_and_check();

  // Names in the log directory that start with `prefix`.
  std::vector<std::string> files_starting_with(const std::string& prefix) const;

  TempDir dir;
  std::shared_ptr<IoFaults> io_faults = std::make_shared<IoFaults>();
  std::shared_ptr<FaultyFileSystem> fs = std::make_shared<FaultyFileSystem>();
  std::map<log::Lsn, AckedRecord> acked;
  uint32_t producer = 1;
  uint64_t next_seq = 0;
};

}  // namespace cairn::testing
