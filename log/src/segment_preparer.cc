// SegmentPreparer (see segment_preparer.h).
#include "segment_preparer.h"

#include <algorithm>
#include <memory>

#include "frame_format.h"
#include "log_directory.h"
#include "write_buffer.h"

namespace cairn::log {

namespace {
constexpr size_t kZeroChunk = 1u << 20;
}  // namespace

SegmentPreparer::SegmentPreparer(std::shared_ptr<FileSystem> fs, std::string dir,
                                 uint32_t recycled_max)
    : fs_(std::move(fs)), dir_(std::move(dir)), recycled_max_(recycled_max) {
  thread_ = std::thread([this] { run(); });
}

SegmentPreparer::~SegmentPreparer() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  // Recycled files stay, and the next open takes them back (adopt_recycled_files in log.cc), so a
  // restart does not cost the next segments a write of zeros. So does a zero-filled spare, renamed
  // as a recycled one: a prealloc-* file the next open cannot tell from a half-made one and
  // deletes, but a recycled file's bytes never matter, and this one's are zeros.
  if (ready_ && !ready_->recycled) keep_as_recycled(ready_->path);
}

void SegmentPreparer::keep_as_recycled(const std::string& path) {
  for (uint64_t n = 0; n < 1000; ++n) {
    const std::string to =
        join_path(dir_, std::string(format::kRecycledPrefix) +
                            std::to_string(format::kKeptSpareNumberBase + n) + ".tmp");
    Result<bool> taken = fs_->exists(to);
    if (!taken.ok()) break;
    if (*taken) continue;
    // Made durable, or the next open may find the old name and delete the file: no harm either.
    if (fs_->rename(path, to).ok()) {
      (void)fs_->fsync_dir(dir_);  // a spare holds no records: a failed sync loses nothing
      return;
    }
    break;
  }
  (void)fs_->remove(path);  // a spare holds no records: it may go instead
}

void SegmentPreparer::request(uint64_t bytes) {
  {
    std::lock_guard lock(mu_);
    if (ready_ || busy_ || wanted_bytes_ != 0) return;
    wanted_bytes_ = bytes;
  }
  cv_.notify_all();
}

bool SegmentPreparer::ready() const {
  std::lock_guard lock(mu_);
  return ready_.has_value();
}

Result<Spare> SegmentPreparer::take(uint64_t bytes) {
  std::unique_lock lock(mu_);
  if (!ready_ && !busy_) {
    // Nothing on its way (never asked, or preparing failed — a full disk, say — and space may be
    // back, or a recycled file may have come in since): try now. At the size the caller needs: a
    // smaller file might not hold the record that made it rotate, and rotating again would leave
    // an empty segment between two that hold records.
    error_ = Status();
    if (wanted_bytes_ == 0) wanted_bytes_ = bytes;
    cv_.notify_all();
  }
  cv_.wait(lock, [&] { return ready_.has_value() || !error_.ok() || stop_; });
  if (!ready_) return error_.ok() ? Status(StatusCode::kClosed, "the log is closing") : error_;
  Spare spare = std::move(*ready_);
  ready_.reset();
  return spare;
}

void SegmentPreparer::add_recycled(std::string path, uint64_t bytes) {
  {
    std::lock_guard lock(mu_);
    if (recycled_.size() >= recycled_max_ && recycled_max_ > 0 && recycled_.front().bytes < bytes) {
      // Full of files from while segments grew: a full-size one is worth more.
      std::swap(recycled_.front().path, path);
      recycled_.front().bytes = bytes;
      std::sort(recycled_.begin(), recycled_.end(),
                [](const Spare& a, const Spare& b) { return a.bytes < b.bytes; });
    } else if (recycled_.size() < recycled_max_) {
      recycled_.push_back(Spare{std::move(path), bytes, true});
      path.clear();
      std::sort(recycled_.begin(), recycled_.end(),
                [](const Spare& a, const Spare& b) { return a.bytes < b.bytes; });
    }
  }
  if (!path.empty()) {
    (void)fs_->remove(path);  // the pool is full; a spare that holds no records may go
  } else {
    cv_.notify_all();
  }
}

uint32_t SegmentPreparer::recycled_count() const {
  std::lock_guard lock(mu_);
  return static_cast<uint32_t>(recycled_.size());
}

Status SegmentPreparer::prepare_file(FileSystem& fs, const std::string& dir,
                                     const std::string& path, uint64_t bytes) {
  // Through the page cache, not O_DIRECT: on the virtio disk of our test machines, direct writes
  // into a file whose blocks were first written directly are about 1.5x slower than into one
  // first written through the page cache (the cause is below the guest; bench/README.md,
  // 2026-12-01 (night)), and every write the log makes lands on such blocks, recycled or not.
  // After the sync the zeros are dropped from the cache: the log writes this file directly.
  Result<int> fd = fs.open(path, OpenFlags{.write = true, .create = true, .exclusive = true});
  if (!fd.ok()) return fd.status().with_context("preparing segment file " + path);
  const WriteBuffer zeros(kZeroChunk);  // starts zeroed
  Status st;
  for (uint64_t off = 0; off < bytes && st.ok(); off += kZeroChunk) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kZeroChunk, bytes - off));
    st = fs.pwrite(*fd, zeros.data(), n, off);
  }
  if (st.ok()) st = fs.fdatasync(*fd);
  if (st.ok()) fs.drop_cached_pages(*fd);
  (void)fs.close(*fd);  // st holds fdatasync's answer; a close after it loses nothing
  if (st.ok()) st = fs.fsync_dir(dir);
  if (!st.ok()) {
    (void)fs.remove(path);  // a half-written spare holds nothing; do not leave it behind
    return st.with_context("preparing segment file " + path);
  }
  return Status();
}

Status SegmentPreparer::reset_header(FileSystem& fs, const std::string& path) {
  CAIRN_ASSIGN_OR_RETURN(int fd, fs.open(path, OpenFlags{.write = true}));
  const WriteBuffer zeros(format::kSegmentHeaderSize);
  Status st = fs.pwrite(fd, zeros.data(), format::kSegmentHeaderSize, 0);
  if (st.ok()) st = fs.fdatasync(fd);
  (void)fs.close(fd);  // st holds fdatasync's answer; a close after it loses nothing
  return st.with_context("resetting the header of recycled segment file " + path);
}

Result<Spare> SegmentPreparer::make_spare(uint64_t bytes) {
  std::optional<Spare> recycled;
  std::string path;
  std::vector<std::string> too_small;
  {
    std::lock_guard lock(mu_);
    // A recycled file smaller than the segment wanted (one from while segments grew) would make
    // the log rotate sooner for as long as it is in use: it goes, and a full-size one is taken.
    while (!recycled_.empty() && recycled_.front().bytes < bytes) {
      too_small.push_back(std::move(recycled_.front().path));
      recycled_.pop_front();
    }
    if (!recycled_.empty()) {
      recycled = std::move(recycled_.front());
      recycled_.pop_front();
    } else {
      path = join_path(dir_,
                       std::string(format::kPreallocPrefix) + std::to_string(++counter_) + ".tmp");
    }
  }
  for (const std::string& p : too_small) (void)fs_->remove(p);  // spares: they hold no records
  if (recycled) {
    Status st = reset_header(*fs_, recycled->path);
    if (st.ok()) return std::move(*recycled);
    (void)fs_->remove(recycled->path);  // not usable: make a new one instead
    std::lock_guard lock(mu_);
    path =
        join_path(dir_, std::string(format::kPreallocPrefix) + std::to_string(++counter_) + ".tmp");
  }
  CAIRN_RETURN_IF_ERROR(prepare_file(*fs_, dir_, path, bytes));
  return Spare{path, bytes, false};
}

void SegmentPreparer::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || wanted_bytes_ != 0; });
    if (stop_) return;
    const uint64_t bytes = wanted_bytes_;
    wanted_bytes_ = 0;
    busy_ = true;
    lock.unlock();
    Result<Spare> spare = make_spare(bytes);
    lock.lock();
    busy_ = false;
    if (spare.ok()) {
      ready_ = std::move(*spare);
    } else {
      error_ = spare.status();
    }
    cv_.notify_all();
  }
}

}  // namespace cairn::log
