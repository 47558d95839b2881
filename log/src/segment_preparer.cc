// SegmentPreparer (see segment_preparer.h).
#include "segment_preparer.h"

#include <cstdlib>
#include <cstring>
#include <memory>

#include "frame_format.h"
#include "log_directory.h"

namespace cairn::log {

namespace {
constexpr size_t kZeroChunk = 1u << 20;

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};
}  // namespace

SegmentPreparer::SegmentPreparer(std::shared_ptr<FileSystem> fs, std::string dir,
                                 uint64_t segment_bytes)
    : fs_(std::move(fs)), dir_(std::move(dir)), segment_bytes_(segment_bytes) {
  thread_ = std::thread([this] { run(); });
}

SegmentPreparer::~SegmentPreparer() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  if (ready_) (void)fs_->remove(*ready_);
}

void SegmentPreparer::request() {
  {
    std::lock_guard lock(mu_);
    if (ready_ || busy_ || wanted_) return;
    wanted_ = true;
  }
  cv_.notify_all();
}

Result<std::string> SegmentPreparer::take() {
  std::unique_lock lock(mu_);
  if (!ready_ && !busy_ && !error_.ok()) {
    // Preparing ahead failed earlier (a full disk, say); space may be back: try once more now.
    error_ = Status();
    wanted_ = true;
    cv_.notify_all();
  }
  if (!ready_ && !busy_ && error_.ok()) {
    wanted_ = true;
    cv_.notify_all();
  }
  cv_.wait(lock, [&] { return ready_.has_value() || !error_.ok(); });
  if (!ready_) return error_;
  std::string path = std::move(*ready_);
  ready_.reset();
  return path;
}

Status SegmentPreparer::prepare_file(FileSystem& fs, const std::string& dir,
                                     const std::string& path, uint64_t segment_bytes) {
  // O_DIRECT keeps 64 MiB of zeros out of the page cache; fall back where it is refused.
  OpenFlags flags{.write = true, .create = true, .exclusive = true, .direct = true};
  Result<int> fd = fs.open(path, flags);
  if (!fd.ok() && fd.status().code() == StatusCode::kInvalidArgument) {
    flags.direct = false;
    fd = fs.open(path, flags);
  }
  if (!fd.ok()) return fd.status();
  std::unique_ptr<void, FreeDeleter> zeros(std::aligned_alloc(format::kBlockSize, kZeroChunk));
  CAIRN_CHECK(zeros != nullptr);
  std::memset(zeros.get(), 0, kZeroChunk);
  Status st;
  for (uint64_t off = 0; off < segment_bytes && st.ok(); off += kZeroChunk) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kZeroChunk, segment_bytes - off));
    st = fs.pwrite(*fd, zeros.get(), n, off);
  }
  if (st.ok()) st = fs.fdatasync(*fd);
  (void)fs.close(*fd);
  if (st.ok()) st = fs.fsync_dir(dir);
  if (!st.ok()) {
    (void)fs.remove(path);  // a half-written spare holds nothing; do not leave it behind
    return st.with_context("preparing segment file " + path);
  }
  return Status();
}

void SegmentPreparer::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || wanted_; });
    if (stop_) return;
    wanted_ = false;
    busy_ = true;
    const std::string path =
        join_path(dir_, std::string(format::kPreallocPrefix) + std::to_string(++counter_) + ".tmp");
    lock.unlock();
    Status st = prepare_file(*fs_, dir_, path, segment_bytes_);
    lock.lock();
    busy_ = false;
    if (st.ok()) {
      ready_ = path;
    } else {
      error_ = st;
    }
    cv_.notify_all();
  }
}

}  // namespace cairn::log
