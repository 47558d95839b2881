// LogWriter: the single writer thread. It gathers published frames from the StagingRing into a
// block-aligned batch, writes the batch (O_DIRECT|O_DSYNC, or write + fdatasync) through the
// IoQueue while the next batch accumulates, and once a batch is durable — and every batch before
// it — advances the durable LSN, tells the listener and the appenders' completions, and releases
// the ring space. It keeps the disk busy: the next batch goes out before (and while) a finished
// one is acknowledged, into a spare buffer. It rotates segments, and stops for good at the first
// I/O error.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "cairn/log/log.h"
#include "segment_preparer.h"
#include "staging_ring.h"
#include "write_buffer.h"

namespace cairn::log {

// Where the writer starts: the segment it appends to and the offset of its next block.
struct ActiveSegment {
  uint64_t seq = 0;
  Lsn first_lsn = 0;
  std::string name;
  int fd = -1;
  uint64_t write_offset = 0;  // block aligned; 0 means the header block is still to be written
  uint64_t bytes = 0;         // the file's size: segments grow from small to segment_bytes
  // The file was a recycled segment (old bytes after the data): batches end with a zero block.
  // Recovery cannot tell, so a reopened log's last segment counts as recycled.
  bool recycled = true;
};

// Segment sizes: the first segment of a new log is small (a log of a dozen records should not
// claim 64 MiB), each next one twice the last, up to LogOptions::segment_bytes — and never less
// than what one record of record_bytes_max needs.
uint64_t first_segment_bytes(const LogOptions& options);
uint64_t unix_ms_now();
// A synchronous appender sleeps with the bit of its record's LSN bucket; a durable batch wakes the
// buckets it covers, not the appenders still waiting for the next batch (who would only sleep
// again). Buckets of kDurableWaitBucketBytes, 32 of them in turn.
inline constexpr uint64_t kDurableWaitBucketBytes = 1024;
uint32_t durable_wait_bit(Lsn lsn);
uint32_t durable_wake_mask(Lsn begin, Lsn end);
int64_t steady_ns();  // a monotonic clock, for the writer's own statistics
uint64_t next_segment_bytes(const LogOptions& options, uint64_t current);

struct WriterConfig {
  std::shared_ptr<FileSystem> fs;
  std::string dir;
  LogOptions options;
  DurableListener* listener = nullptr;
  // Told of every segment the writer starts (for retention's list of segments).
  std::function<void(const ActiveSegment& segment, uint64_t created_unix_ms)> on_new_segment;
  bool direct_io = false;  // segment fds are O_DIRECT|O_DSYNC
  ActiveSegment segment;
  Lsn start_lsn = 0;
};

class LogWriter {
 public:
  LogWriter(WriterConfig config, StagingRing& ring, std::unique_ptr<IoQueue> io,
            SegmentPreparer& preparer);
  ~LogWriter();
  LogWriter(const LogWriter&) = delete;
  LogWriter& operator=(const LogWriter&) = delete;

  void start();
  // Writes everything published, waits for it to be durable, and joins the thread.
  void stop();
  // After stop(): whether the writer ended without failing, with every reserved frame written
  // and durable and no write in flight; and the segment it wrote last (for the clean-close
  // marker, clean_close.h).
  bool drained() const {
    return exited_.load(std::memory_order_acquire) && !failed() &&
           consumed_ == ring_.reserved_end() && durable_lsn() == consumed_;
  }
  const ActiveSegment& last_segment() const { return seg_; }

  // Appenders call this after publishing the frame that ends at `end`: wakes the writer if it
  // sleeps until frames up to wake_at_ are published.
  void notify_published(Lsn end) {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (!idle_.load(std::memory_order_acquire)) return;
    // Also when this frame ends before the mark but others reach it: they may all have been
    // published before the writer went to sleep, waiting for this one.
    const Lsn mark = wake_at_.load(std::memory_order_relaxed);
    if ((end >= mark || ring_.reserved_end() >= mark) && idle_.exchange(false)) io_->wake();
  }

  Lsn durable_lsn() const { return durable_lsn_->lsn.load(std::memory_order_acquire); }
  // The same LSN, shared: readers (Log::read_from) keep it, so one that outlives the log reads up
  // to what was durable when it closed instead of through a freed writer.
  std::shared_ptr<const std::atomic<Lsn>> durable_mark() const {
    return {durable_lsn_, &durable_lsn_->lsn};
  }
  // Waits until durable_lsn() > lsn, or the writer failed.
  Status wait_durable(Lsn lsn);
  bool failed() const { return failed_.load(std::memory_order_acquire); }
  Status failure() const;
  // Set while the writer waits for disk space (no spare segment could be made): appends still
  // queue up to the staging limit, and the writer goes on once a spare can be had.
  bool waiting_for_space() const { return no_space_.load(std::memory_order_acquire); }
  // Why, while waiting_for_space().
  Status no_space_status() const;
  LogStats stats() const;

 private:
  struct Batch {
    WriteBuffer memory;    // empty once leaked (drain_after_failure)
    uint32_t len = 0;      // bytes to write, block aligned
    uint32_t written = 0;  // bytes confirmed written so far (short writes)
    uint32_t piece = 0;    // bytes asked for in the request in flight
    uint64_t offset = 0;   // file offset of the buffer's first byte
    int fd = -1;
    Lsn begin = 0;
    Lsn end = 0;
    uint64_t frame_bytes = 0;
    bool in_flight = false;
    bool done = false;
    int64_t error = 0;         // -errno of a failed write or sync
    int64_t submitted_ns = 0;  // when its first piece went out (LogStats::write_ns)
    std::vector<RecordView> views;
    std::vector<std::pair<Lsn, AppendCompletion*>> completions;
  };

  void run();
  bool gather(Batch& b);
  // Gathers into the next batch and submits it; false when nothing was published. A failed
  // submit stops the writer through fail(): the result says only whether a batch went out, so
  // callers that merely try to keep the disk busy may ignore it.
  bool gather_and_submit();
  // The batch buffers (WriteBuffer), registered with the queue when it can: the writer thread's
  // first act.
  void allocate_batch_buffers();
  Status submit(Batch& b);
  Status reap(bool block);
  Status on_io_done(Batch& b, int64_t result);
  void complete_in_order();
  void acknowledge(Batch& b);
  Status rotate();
  void fail(const Status& status);
  void drain_after_failure();
  // No spare segment could be made for lack of space: note it and let time pass before retrying.
  void wait_for_space(const Status& why);
  void reset(Batch& b);
  size_t in_flight() const;
  // Batches from the oldest one still in flight to the newest one submitted. A power cut can tear
  // the first and keep all the others (writes complete in any order), and recovery cuts a torn
  // tail of at most writes_in_flight_max batches: this, not in_flight(), is what stays below it.
  size_t writes_at_risk() const;
  bool can_gather() const;
  bool should_gather() const;
  // A batch may go out ahead of acknowledging a finished one (overlap_acks_) only when it carries
  // kSecondWriteMinBytes: the same bar as a second write in flight.
  bool worth_a_write_ahead() const;
  // Watches the completion queue for up to kPollTime; true when something happened.
  bool poll_for_completion();

  // A second concurrent write needs at least this much waiting to be worth its sync.
  static constexpr uint64_t kSecondWriteMinBytes = 64 << 10;
  // While acknowledging a batch, every this many completions the writer sees whether the next
  // batch can go out.
  static constexpr size_t kAckStride = 64;
  // Polling instead of sleeping is for light load: batches this small, for this long.
  static constexpr uint32_t kPollBatchRecordsMax = 4;
  static constexpr std::chrono::microseconds kPollTime{250};

  WriterConfig cfg_;
  StagingRing& ring_;
  std::unique_ptr<IoQueue> io_;
  SegmentPreparer& preparer_;
  DurableListener* listener_;
  std::thread thread_;

  ActiveSegment seg_;
  bool spare_requested_ = false;
  uint32_t last_batch_records_ = 0;
  uint64_t completions_ = 0;  // I/O completions handled
  bool rotation_pending_ = false;
  bool overlap_acks_ = true;  // batches go out before and while others are acknowledged
  // A write failed: the writer is about to stop, and nothing may be written after it.
  bool write_failed_ = false;
  Lsn consumed_;  // next frame to gather
  std::vector<Batch> batches_;
  size_t head_ = 0;  // oldest batch in flight (batches are used round-robin)
  size_t next_ = 0;  // batch to fill next

  std::atomic<bool> idle_{false};
  std::atomic<Lsn> wake_at_{0};  // while idle_: a frame ending here is worth waking the writer
  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> failed_{false};
  std::atomic<bool> no_space_{false};
  std::atomic<bool> exited_{false};
  mutable std::mutex failure_mu_;
  Status failure_;
  Status no_space_status_;

  // On a cache line of its own: appenders poll it while the writer advances it.
  struct alignas(64) DurableMark {
    explicit DurableMark(Lsn start) : lsn(start) {}
    std::atomic<Lsn> lsn;
  };
  const std::shared_ptr<DurableMark> durable_lsn_;
  std::atomic<uint32_t> durable_seq_{0};
  std::atomic<uint32_t> durable_waiters_{0};

  std::atomic<uint64_t> stat_records_{0};
  std::atomic<uint64_t> stat_frame_bytes_{0};
  std::atomic<uint64_t> stat_batches_{0};
  std::atomic<uint64_t> stat_bytes_written_{0};
  std::atomic<uint64_t> stat_segments_created_{0};
  std::atomic<uint64_t> stat_segments_recycled_{0};
  std::atomic<uint64_t> stat_write_ns_{0};
  std::atomic<uint64_t> stat_disk_idle_ns_{0};
  // Set when the last write in flight finished with records waiting (LogStats::disk_idle_ns).
  int64_t disk_idle_since_ns_ = 0;
};

}  // namespace cairn::log
