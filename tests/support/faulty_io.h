// Fault injection for the log's I/O interfaces: FaultyIoQueue wraps a real IoQueue (the commit
// path's writes and syncs) and FaultyFileSystem wraps a real FileSystem (segment preparation,
// rotation, recovery). A test arms faults on a shared, thread-safe plan while the log runs.
#pragma once

#include <cerrno>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "cairn/log/io.h"

namespace cairn::testing {

// ---------------------------------------------------------------------------------------------
// IoQueue faults

enum class WriteFaultKind : uint8_t {
  // A real write of fewer bytes: half the length rounded down to 4 KiB, at least 4 KiB (a write
  // of 4 KiB or less cannot be shortened and goes through whole). Reports the short count and
  // skips the sync of a kWriteThenSync, as a real short write does.
  kShort,
  // Fails with -err. prefix_bytes (rounded down to 4 KiB) are really written first.
  kError,
  // The write happens in full but its durability fails: the sync of a kWriteThenSync reports
  // -err, and a plain kWrite (on an O_DSYNC fd, where the write is the sync) reports -err.
  kSyncError,
};

struct WriteFault {
  WriteFaultKind kind = WriteFaultKind::kError;
  int err = EIO;
  uint32_t prefix_bytes = 0;  // kError only
};

// One request as the log submitted it, and what it was told.
struct IoEvent {
  log::IoOp op = log::IoOp::kWrite;
  int fd = -1;
  uint64_t offset = 0;
  uint32_t len = 0;
  std::optional<WriteFaultKind> fault;  // the fault injected into it, if any
  std::optional<int64_t> result;        // set once its completion went to the log
};

struct IoFaultStats {
  uint64_t writes = 0;        // write requests (kWrite and kWriteThenSync)
  uint64_t syncs = 0;         // syncs asked for (kSync and the sync of kWriteThenSync)
  uint64_t short_writes = 0;  // kShort faults that did shorten a write
  uint64_t failed_writes = 0;
  uint64_t failed_syncs = 0;
  // Requests submitted after the log was told of an injected error. A log that stops for good at
  // its first I/O error submits none.
  uint64_t requests_after_error = 0;
};

// The faults of every FaultyIoQueue made from it (a reopened log gets a new queue, same plan).
class IoFaults {
 public:
  // The nth write submitted from now on (1: the next one) gets `fault`.
  void fault_nth_write(uint64_t nth, WriteFault fault);
  // Every write from now on gets `fault` (until clear()).
  void fault_every_write(WriteFault fault);
  void clear();

  IoFaultStats stats() const;
  std::vector<IoEvent> history() const;

  // --- for FaultyIoQueue ---
  // Records a submitted request and returns its fault, if one is due, and its history index.
  std::optional<WriteFault> on_submit(const log::IoRequest& r, size_t* event);
  void on_fault_applied(size_t event, WriteFaultKind kind, bool took_effect);
  void on_complete(size_t event, int64_t result);

 private:
  mutable std::mutex mu_;
  uint64_t writes_seen_ = 0;
  std::map<uint64_t, WriteFault> nth_faults_;  // by absolute write number
  std::optional<WriteFault> every_write_;
  bool error_delivered_ = false;
  IoFaultStats stats_;
  std::vector<IoEvent> history_;
};

enum class QueueKind : uint8_t { kUring, kSync };

// A factory for LogOptions::io_queue_factory: FaultyIoQueues over the real queue of `kind`.
// (The uring kind falls back to the sync queue where io_uring is unavailable, like the log.)
std::function<std::unique_ptr<log::IoQueue>()> faulty_io_queue_factory(
    std::shared_ptr<IoFaults> faults, QueueKind kind);

// ---------------------------------------------------------------------------------------------
// FileSystem faults

enum class FsOp : uint8_t { kOpen, kPwrite, kFdatasync, kFsyncDir, kRename, kRemove, kPread };

struct FsFault {
  FsOp op = FsOp::kPwrite;
  // Only calls on a path containing this (for pwrite, pread and fdatasync: the path the fd was
  // opened with; for rename: either name). Empty: every call.
  std::string path_contains;
  int err = EIO;
  uint64_t skip = 0;   // matching calls that succeed before the first failure
  uint64_t times = 1;  // matching calls that fail after those; 0: all of them
  // kPwrite only: bytes of matching pwrites that still go through (counted over calls). The call
  // that crosses the budget writes the bytes up to it (rounded down to 4 KiB) and then fails:
  // "ENOSPC after K bytes".
  uint64_t after_bytes = 0;
};

class FaultyFileSystem final : public log::FileSystem {
 public:
  explicit FaultyFileSystem(std::shared_ptr<log::FileSystem> inner = log::posix_file_system());

  void add_fault(FsFault fault);
  void clear();
  uint64_t faults_injected() const;
  uint64_t calls(FsOp op) const;

  Status create_dir(const std::string& path) override;
  Result<std::vector<std::string>> list_dir(const std::string& path) override;
  Result<bool> exists(const std::string& path) override;
  Result<int> open(const std::string& path, log::OpenFlags flags) override;
  Status close(int fd) override;
  Result<size_t> pread(int fd, void* buf, size_t len, uint64_t offset) override;
  Status pwrite(int fd, const void* buf, size_t len, uint64_t offset) override;
  Status fdatasync(int fd) override;
  Status fsync_dir(const std::string& path) override;
  Result<uint64_t> file_size(int fd) override;
  Status rename(const std::string& from, const std::string& to) override;
  Status remove(const std::string& path) override;
  Status lock(int fd) override;

 private:
  struct Rule {
    FsFault fault;
    uint64_t skipped = 0;
    uint64_t failed = 0;
    uint64_t bytes_passed = 0;
  };
  // What a call should do: go through (fail_err == 0), or fail after `allowed` bytes of a pwrite.
  struct Verdict {
    int fail_err = 0;
    uint64_t allowed = 0;
  };
  Verdict check(FsOp op, const std::string& path, const std::string& other, uint64_t len);
  std::string path_of(int fd) const;

  std::shared_ptr<log::FileSystem> inner_;
  mutable std::mutex mu_;
  std::vector<Rule> rules_;
  std::map<int, std::string> fd_paths_;
  std::map<FsOp, uint64_t> calls_;
  uint64_t faults_injected_ = 0;
};

}  // namespace cairn::testing
