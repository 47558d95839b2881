// Snapshotter (see snapshotter.h).
#include "snapshotter.h"

#include <algorithm>
#include <chrono>

#include "engine_core.h"

namespace cairn::detail {
namespace {

constexpr auto kPollInterval = std::chrono::milliseconds(50);
// Records applied between looks at stop(): a stop waits at most this much work.
constexpr uint64_t kRecordsPerTurn = 65'536;

std::string parent_of(const std::string& dir) {
  const size_t slash = dir.find_last_of('/');
  return slash == std::string::npos ? "." : (slash == 0 ? "/" : dir.substr(0, slash));
}

}  // namespace

Snapshotter::Snapshotter(EngineCore& core, std::shared_ptr<log::FileSystem> fs, std::string dir)
    : core_(core),
      options_(core.options()),
      fs_(std::move(fs)),
      dir_(std::move(dir)),
      dedup_(core.options().dedup_window.count()),
      finished_(core.options().runs_finished_kept, core.options().runs_finished_bytes_max),
      floor_(core.options().history_window),
      projection_(core, core.options(), core.registry(), dedup_, *this, core.clock(),
                  ProjectedRuns::kRecordsOnly) {}

Snapshotter::~Snapshotter() {
  stop();
}

void Snapshotter::start(log::Log& log, std::optional<SnapshotName> from,
                        std::shared_ptr<const SnapshotContents> contents) {
  CAIRN_CHECK(from.has_value() == (contents != nullptr));
  log_ = &log;
  from_ = std::move(from);
  from_contents_ = std::move(contents);
  thread_ = std::thread([this] { run(); });
}

void Snapshotter::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

SnapshotterStats Snapshotter::stats() const {
  SnapshotterStats s;
  {
    std::lock_guard lock(mu_);
    s = stats_;
  }
  s.runs_packed = projection_.frozen_runs();
  return s;
}

void Snapshotter::run() {
  auto note = [this](const Status& st) {
    std::lock_guard lock(mu_);
    ++stats_.failed;
    stats_.last_error = st.to_string();
  };
  Status st;
  if (from_) {
    // Recovery checked these bytes and loaded them into the engine's projection. A failure now
    // (a bug: the same bytes loaded there) leaves the snapshotter idle: without its starting state
    // it cannot write a correct snapshot.
    Result<uint64_t> lsn =
        projection_.load_snapshot(*from_contents_, finished_, from_->lsn, &floor_);
    if (!lsn.ok()) {
      note(lsn.status().with_context("the snapshotter loading " + from_->name));
      return;
    }
    next_lsn_ = snapshot_lsn_ = *lsn;
    last_frame_ = snapshot_last_frame(*from_contents_);
    from_contents_.reset();
    good_.push_back(*from_);
  }
  bool more = false;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      // No wait while the last turn stopped at its cap: the log is ahead.
      if (!more) {
        cv_.wait_for(lock, kPollInterval,
                     [this] { return stopping_ || poked_.load(std::memory_order_relaxed); });
      }
      if (stopping_) break;
    }
    poked_.store(false, std::memory_order_relaxed);
    pending_.store(0, std::memory_order_relaxed);
    st = catch_up(false, &more);
    if (!st.ok()) {
      note(st);
      more = false;
      // A reader that failed may hold what it read before the error: the next turn reads again
      // from the record after the last one applied.
      reader_.reset();
      // The next attempt waits for another snapshot_every_records (a full disk, an I/O error:
      // not retried in a loop).
      records_since_ = 0;
      bytes_since_ = 0;
    }
  }
  st = catch_up(true, &more);
  if (!st.ok()) note(st);
}

Status Snapshotter::catch_up(bool final, bool* more) {
  *more = false;
  for (uint64_t n = 0;; ++n) {
    if (!final && n == kRecordsPerTurn) {
      *more = true;
      break;
    }
    if (!reader_) {
      CAIRN_ASSIGN_OR_RETURN(reader_, log_->read_from(next_lsn_, last_frame_));
    }
    CAIRN_ASSIGN_OR_RETURN(const log::ReadRecord* rec, reader_->next());
    if (rec == nullptr) break;
    projection_.apply(rec->lsn, rec->type, rec->payload, /*live=*/false);
    next_lsn_ = rec->lsn + 1;
    last_frame_ = log::FramePosition{rec->segment_seq, rec->offset, rec->lsn};
    ++records_since_;
    bytes_since_ += rec->payload.size();
    if (records_since_ >= options_.snapshot_every_records ||
        bytes_since_ >= options_.snapshot_every_bytes) {
      CAIRN_RETURN_IF_ERROR(write_snapshot());
    }
  }
  if (final && options_.snapshot_on_shutdown && next_lsn_ > snapshot_lsn_) {
    return write_snapshot();
  }
  return Status();
}

Status Snapshotter::write_snapshot() {
  const auto t0 = std::chrono::steady_clock::now();
  const uint64_t lsn = next_lsn_;
  reader_.reset();  // it pins the log from where it began: retention below must not see it
  if (!dir_ready_) {
    Status made = fs_->create_dir(dir_);
    if (!made.ok() && made.code() != StatusCode::kAlreadyExists) return made;
    CAIRN_RETURN_IF_ERROR(fs_->fsync_dir(parent_of(dir_)));
    dir_ready_ = true;
  }
  // The writer refuses to grow past snapshot_bytes_max (recovery would refuse to load such a
  // file): the write stops there, nothing is committed (the writer removes its file), no retention.
  CAIRN_ASSIGN_OR_RETURN(auto out,
                         SnapshotFileWriter::create(fs_, dir_, lsn, options_.snapshot_bytes_max));
  // Buckets older than the window go before the floor is saved.
  (void)floor_.floor(core_.clock().now_ms());
  Status written =
      projection_.write_snapshot(*out, lsn, last_frame_, core_.clock().now_us(), finished_, floor_);
  if (!written.ok()) {
    return written.with_context("writing the snapshot at LSN " + std::to_string(lsn));
  }
  CAIRN_RETURN_IF_ERROR(out->commit());
  std::erase_if(good_, [&](const SnapshotName& g) { return g.lsn == lsn; });  // rewritten
  good_.insert(good_.begin(), SnapshotName{lsn, snapshot_file_name(lsn)});
  const uint64_t ms = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count());
  {
    std::lock_guard lock(mu_);
    ++stats_.written;
    stats_.last_lsn = lsn;
    stats_.last_bytes = out->bytes();
    stats_.longest_ms = std::max(stats_.longest_ms, ms);
  }
  snapshot_lsn_ = lsn;
  records_since_ = 0;
  bytes_since_ = 0;
  return remove_old_snapshots_and_segments();
}

Status Snapshotter::remove_old_snapshots_and_segments() {
  const size_t kept = std::max<size_t>(1, options_.snapshots_kept);
  bool removed_any = false;
  while (good_.size() > kept) {
    // Gone already (deleted by hand): what this removal wanted. Failing here would fail every
    // later snapshot's cleanup, and retention with it.
    Status gone = fs_->remove(dir_ + "/" + good_.back().name);
    if (!gone.ok() && gone.code() != StatusCode::kNotFound) return gone;
    good_.pop_back();
    removed_any = true;
  }
  // Files older than the oldest kept (an earlier incarnation's) are never needed again.
  CAIRN_ASSIGN_OR_RETURN(std::vector<SnapshotName> listed, list_snapshots(*fs_, dir_));
  for (const SnapshotName& s : listed) {
    if (s.lsn < good_.back().lsn) {
      CAIRN_RETURN_IF_ERROR(fs_->remove(dir_ + "/" + s.name));
      removed_any = true;
    }
  }
  if (removed_any) CAIRN_RETURN_IF_ERROR(fs_->fsync_dir(dir_));
  if (!options_.retention) return Status();
  // Recovery may fall back to the oldest snapshot kept, and replays the log from its LSN; an
  // unfinished run's records stay for run_history (and tools) until it ends, and a finished
  // run's for history_window after it ended; and never past the snapshot just written. Time is
  // the engine's clock (EngineOptions::clock), as in the records.
  const int64_t now_ms = core_.clock().now_ms();
  const uint64_t keep_from = std::min({good_.back().lsn, projection_.oldest_live_created_lsn(),
                                       floor_.floor(now_ms), snapshot_lsn_});
  const auto sealed_before =
      std::chrono::system_clock::time_point(std::chrono::milliseconds(now_ms)) -
      options_.history_window;
  CAIRN_ASSIGN_OR_RETURN(log::SegmentsRemoved removed,
                         log_->remove_segments_before(keep_from, sealed_before));
  std::lock_guard lock(mu_);
  stats_.segments_removed += removed.segments;
  stats_.retained_from_lsn = removed.first_lsn;
  return Status();
}

}  // namespace cairn::detail
