// Snapshotter: writes the engine's snapshots in the background, without ever holding up the
// step path. It keeps a second projection of its own, in replay mode (which keeps each run's
// history, as a snapshot needs), fed by a reader that follows the durable log; every
// snapshot_every_records records (or bytes) it writes that projection's state as of the last
// record it applied (snapshot_file.h), removes snapshots past snapshots_kept, and lets the log
// drop the segments nothing needs any more (retention). The engine's own projection and threads
// never wait for it: the only cost on the step path is the CPU it uses, and the memory of the
// second projection (the unfinished runs again, with their histories).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "cairn/engine.h"
#include "cairn/log/log.h"
#include "dedup_window.h"
#include "finished_runs.h"
#include "projection.h"
#include "retention_floor.h"

namespace cairn::detail {

class EngineCore;

struct SnapshotterStats {
  uint64_t written = 0;
  uint64_t failed = 0;  // attempts that failed (disk full, I/O error): retried at the next turn
  uint64_t last_lsn = 0;
  uint64_t last_bytes = 0;
  uint64_t longest_ms = 0;  // the longest snapshot write (in the background)
  uint64_t segments_removed = 0;
  uint64_t retained_from_lsn = 0;  // retention kept the log from here
  uint64_t runs_packed = 0;        // its projection's frozen runs, now
  std::string last_error;
};

class Snapshotter final : private ProjectionEffects {
 public:
  Snapshotter(EngineCore& core, std::shared_ptr<log::FileSystem> fs, std::string dir);
  ~Snapshotter();  // stop()

  // Starts following `log` from the snapshot recovery loaded (`contents`: its checked bytes, which
  // this loads into its own projection in the background), or from the log's first record.
  void start(log::Log& log, std::optional<SnapshotName> from,
             std::shared_ptr<const SnapshotContents> contents);
  // Catches up with everything durable, writes a last snapshot if anything is new (when
  // snapshot_on_shutdown), and stops. Call after the log stopped taking appends.
  void stop();
  SnapshotterStats stats() const;
  // Called with each durable batch (on the writer thread): wakes the snapshotter once a snapshot
  // is due instead of letting it find out at its next poll. A few atomic operations.
  void note_durable(uint64_t records) {
    const uint64_t due = options_.snapshot_every_records;
    if (pending_.fetch_add(records, std::memory_order_relaxed) + records >= due &&
        !poked_.exchange(true, std::memory_order_relaxed)) {
      cv_.notify_one();
    }
  }

 private:
  void run();
  // Applies what is durable (at most kRecordsPerTurn unless `final`) and writes the snapshots
  // that fall due. *more: it stopped at the cap with more to read.
  Status catch_up(bool final, bool* more);
  Status write_snapshot();
  Status remove_old_snapshots_and_segments();

  // ProjectionEffects: in replay mode only run_finished is called.
  void make_runnable(RunRecord&) override {}
  void arm_timer(RunId, uint32_t, schema::ResumeReason, int64_t) override {}
  void cancel_timer(RunId) override {}
  void run_finished(const RunInfo& info, uint64_t created_lsn, uint64_t, bool) override {
    finished_.add(info, created_lsn);
    floor_.add(
        std::chrono::duration_cast<std::chrono::milliseconds>(info.finished_at.time_since_epoch())
            .count(),
        created_lsn);
  }
  void release_finished(RunRecord&) override {}
  void wake(RunRecord&) override {}
  void slot_released(RunRecord&) override {}
  void leave_gate(RunRecord&) override {}
  void cron_applied(std::string_view, std::string_view, int64_t) override {}

  EngineCore& core_;
  const EngineOptions& options_;
  std::shared_ptr<log::FileSystem> fs_;
  std::string dir_;
  log::Log* log_ = nullptr;
  std::optional<SnapshotName> from_;
  std::shared_ptr<const SnapshotContents> from_contents_;  // dropped once loaded
  DedupWindow dedup_;
  FinishedRuns finished_;
  // Where runs that finished within history_window began (this thread's alone).
  RetentionFloor floor_;
  Projection projection_;
  std::unique_ptr<log::LogReader> reader_;
  uint64_t next_lsn_ = 0;            // the state includes every record below this
  log::FramePosition last_frame_{};  // where the record at next_lsn_ - 1 is (a hint for restarts)
  uint64_t snapshot_lsn_ = 0;
  bool dir_ready_ = false;
  // The snapshots known good, newest first: the one recovery loaded and those written since.
  // Only these count for retention and are rotated out; other files are never trusted.
  std::vector<SnapshotName> good_;
  uint64_t records_since_ = 0;
  uint64_t bytes_since_ = 0;

  std::thread thread_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::atomic<uint64_t> pending_{0};  // records made durable since the snapshotter last looked
  std::atomic<bool> poked_{false};
  SnapshotterStats stats_;
};

}  // namespace cairn::detail
