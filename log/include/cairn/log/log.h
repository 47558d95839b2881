// Log: Cairn's append-only write-ahead log. Any number of threads append records without taking a
// lock; one writer thread gathers them into batches, writes each batch and makes it durable
// through io_uring (group commit), and then acknowledges every record in it, in LSN order.
//
//   auto log = cairn::log::Log::open("data/log", {});          // recovers what is on disk
//   auto lsn = (*log)->append(type, payload_bytes);            // returns at once
//   (*log)->wait_durable(*lsn);                                // or pass an AppendCompletion
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "cairn/log/options.h"
#include "cairn/log/reader.h"
#include "cairn/log/status.h"
#include "cairn/log/types.h"

namespace cairn::log {

// Told when one appended record became durable, or never will. Owned by the caller, who must keep
// it alive until on_durable ran.
class AppendCompletion {
 public:
  // Runs on the writer thread: keep it short, never block in it and never append from it.
  // `status` is OK when the record is durable, else the error that stopped the writer.
  virtual void on_durable(Lsn lsn, const Status& status) noexcept = 0;

 protected:
  ~AppendCompletion() = default;
};

// A durable record as the writer hands it to a DurableListener.
struct RecordView {
  Lsn lsn = 0;
  RecordType type = 0;
  std::span<const std::byte> payload{};  // valid during the listener call only
};

struct DurableBatch {
  Lsn begin = 0;  // LSN of the first record
  Lsn end = 0;    // LSN after the last record: everything below is durable
  std::span<const RecordView> records{};
};

// Sees every record once it is durable, batch by batch, in LSN order, on the writer thread. This
// is how a projection (the engine's run state) follows the log live. A batch reaches the listener
// before durable_lsn() passes it and before any waiter or AppendCompletion learns it is durable,
// so whatever learns that a record is durable also sees the listener's effects of it.
class DurableListener {
 public:
  virtual void on_durable(const DurableBatch& batch) noexcept = 0;
  // The writer stopped for good; no further batch will come.
  virtual void on_log_failed(const Status& status) noexcept = 0;

 protected:
  ~DurableListener() = default;
};

// What Log::open found and did.
struct RecoveryReport {
  uint32_t segments = 0;
  uint64_t records_verified = 0;  // in the segments scanned on open
  // Frames before open_checks_from followed by their headers only (fewer when it started at
  // open_checks_from_frame; segments wholly before it are not read at all).
  uint64_t records_followed = 0;
  Lsn first_lsn = 0;     // first record of the log
  Lsn end_lsn = 0;       // the next record's LSN
  bool created = false;  // the log was new
  // The last Log::close was clean and nothing was written since (its CLOSED marker matched the
  // log's end): the searches for a torn write's frames past the end were skipped.
  bool closed_cleanly = false;
  // Set when damage was cut or moved aside; empty when the log was intact.
  std::string damage{};
  uint64_t bytes_quarantined = 0;
  std::vector<std::string> quarantined_files{};
  // Segment files something had cut short, written back to the size their header names with
  // zeros (kPointInTime; their records before the cut stay in the log).
  std::vector<std::string> files_restored{};
};

// What Log::remove_segments_before took out of the log.
struct SegmentsRemoved {
  uint32_t segments = 0;
  uint64_t bytes = 0;
  Lsn first_lsn = 0;  // the log's first record now
};

struct LogStats {
  uint64_t records_durable = 0;
  uint64_t bytes_durable = 0;  // frame bytes, without padding
  uint64_t batches = 0;
  uint64_t bytes_written = 0;  // including padding and segment headers
  uint64_t segments_created = 0;
  uint64_t segments_recycled = 0;  // of those, made from segments retention gave back
  // Where the writer's time goes, to tell a slow disk from a slow writer:
  // - write_ns: summed over batches, from submitting a batch's write (or sync) to the writer
  //   seeing it done; divided by `batches`, the mean write the log saw (the disk's latency plus
  //   the writer's delay in noticing). Writes in flight together each count their own time.
  // - disk_idle_ns: time with no write in flight although records were already waiting when the
  //   last write finished: the writer's own delay before the next write (acknowledging the batch,
  //   waking its appenders). Records that arrive during that delay are not counted: a lower bound.
  uint64_t write_ns = 0;
  uint64_t disk_idle_ns = 0;
  const char* io_queue = "";  // "io_uring" or "sync"
  bool direct_io = false;
};

// What the log's owner plugs into it (as opposed to LogOptions, which say how it works).
struct LogHooks {
  // Sees every durable batch, in LSN order, on the writer thread (see DurableListener).
  DurableListener* listener = nullptr;
  // Checks payloads during recovery and in readers of this log (see PayloadVerifier). Null:
  // frames are checked, payloads are not.
  PayloadVerifier payload_verifier = nullptr;
};

class Log {
 public:
  // Opens (or creates) the log in `dir`, recovers it as options.recovery_mode says, takes the
  // directory's lock and starts the writer. Fails with kLocked when another process has it open.
  static Result<std::unique_ptr<Log>> open(const std::filesystem::path& dir, LogOptions options,
                                           LogHooks hooks = {});

  ~Log();  // close()
  Log(const Log&) = delete;
  Log& operator=(const Log&) = delete;

  // Appends one record and returns its LSN without waiting for durability. `payload` is copied.
  // Thread-safe and lock-free; blocks only while the staging buffer is full (back-pressure).
  // Errors: kInvalidArgument (type 0), kLimitExceeded (payload above record_bytes_max),
  // kFailed (an I/O error stopped the writer; the message names it), kClosed.
  // `done`, if given, is told on the writer thread once the record is durable.
  Result<Lsn> append(RecordType type, std::span<const std::byte> payload,
                     AppendCompletion* done = nullptr);

  // Appends and waits until the record is durable.
  Result<Lsn> append_durable(RecordType type, std::span<const std::byte> payload);

  // Waits until the record at `lsn` (and so everything before it) is durable. Returns the
  // writer's error if it stopped first, and kInvalidArgument for an LSN no append has reached
  // yet (it would wait for records that may never come).
  Status wait_durable(Lsn lsn);

  // Every record with an LSN below this is durable.
  Lsn durable_lsn() const;

  // OK while the writer runs; else the error that stopped it (or kClosed).
  Status health() const;

  // Makes everything appended so far durable, stops the writer and releases the directory.
  // Idempotent. No append may run concurrently with or after close().
  Status close();

  // A reader of this log's durable records, from `from` (an LSN of a record, or 0 for the first
  // record). It never returns a record that is not durable yet, and may run while others append.
  // While it lives, retention leaves what it may read in place. It may outlive the Log: it then
  // reads up to what was durable when the log closed, and ends there.
  // `near`: a record at or before `from` to start at (see FramePosition).
  Result<std::unique_ptr<LogReader>> read_from(Lsn from, FramePosition near = {});

  // Retention: takes whole segments out of the log that hold only records below `lsn` and were
  // sealed (the next segment began) before `sealed_before` — oldest first, never the segment being
  // written, never what an open reader may read. They become spares for the next segments
  // (LogOptions::recycled_segments_max), so steady state writes nothing twice; the rest are
  // deleted. The log's first LSN moves up. Thread-safe; the owner decides what it no longer needs.
  Result<SegmentsRemoved> remove_segments_before(
      Lsn lsn, std::chrono::system_clock::time_point sealed_before);
  // The LSN of the log's first record (moves up with retention).
  Lsn first_lsn() const;

  const RecoveryReport& recovery_report() const;
  LogStats stats() const;
  const std::filesystem::path& dir() const;

 private:
  class Impl;
  explicit Log(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cairn::log
