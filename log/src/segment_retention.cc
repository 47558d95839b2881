// SegmentRetention (see segment_retention.h).
#include "segment_retention.h"

#include "frame_format.h"

namespace cairn::log {

SegmentRetention::SegmentRetention(std::shared_ptr<FileSystem> fs, std::string dir,
                                   SegmentPreparer& preparer)
    : fs_(std::move(fs)), dir_(std::move(dir)), preparer_(preparer) {}

void SegmentRetention::reset(std::vector<SegmentFile> segments) {
  std::lock_guard lock(mu_);
  segments_ = std::move(segments);
}

void SegmentRetention::add(const SegmentFile& segment) {
  std::lock_guard lock(mu_);
  segments_.push_back(segment);
}

void SegmentRetention::pin(Lsn lsn) {
  std::lock_guard lock(mu_);
  pins_.insert(lsn);
}

void SegmentRetention::unpin(Lsn lsn) {
  std::lock_guard lock(mu_);
  auto it = pins_.find(lsn);
  if (it != pins_.end()) pins_.erase(it);
}

Lsn SegmentRetention::first_lsn() const {
  std::lock_guard lock(mu_);
  return segments_.empty() ? 0 : segments_.front().first_lsn;
}

size_t SegmentRetention::count() const {
  std::lock_guard lock(mu_);
  return segments_.size();
}

Result<uint64_t> SegmentRetention::sealed_at_ms(size_t index) const {
  const SegmentFile& next = segments_[index + 1];
  CAIRN_ASSIGN_OR_RETURN(int fd, fs_->open(join_path(dir_, next.name), OpenFlags{}));
  std::byte header[format::kSegmentHeaderSize];
  Result<size_t> got = fs_->pread(fd, header, sizeof header, 0);
  (void)fs_->close(fd);  // opened read-only for its header: a failed close loses nothing
  if (!got.ok()) return got.status();
  format::SegmentHeader h;
  std::string why;
  if (*got != sizeof header ||
      format::decode_segment_header(header, &h, &why) != format::HeaderState::kValid) {
    return uint64_t{0};  // not written yet (or unreadable): sealed just now, as far as we know
  }
  return h.created_unix_ms;
}

Result<SegmentsRemoved> SegmentRetention::remove_before(
    Lsn lsn, std::chrono::system_clock::time_point sealed_before) {
  std::lock_guard lock(mu_);
  if (!pins_.empty()) lsn = std::min(lsn, *pins_.begin());
  const int64_t before_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(sealed_before.time_since_epoch())
          .count();
  // Oldest first, and only a prefix: the log stays one unbroken sequence. The last segment is
  // the writer's and never leaves.
  size_t n = 0;
  while (n + 1 < segments_.size() && segments_[n + 1].first_lsn <= lsn) {
    CAIRN_ASSIGN_OR_RETURN(uint64_t sealed_ms, sealed_at_ms(n));
    if (sealed_ms == 0 || static_cast<int64_t>(sealed_ms) >= before_ms) break;
    ++n;
  }
  SegmentsRemoved out;
  if (n == 0) {
    out.first_lsn = segments_.empty() ? 0 : segments_.front().first_lsn;
    return out;
  }
  std::vector<Spare> moved;
  Status st;
  size_t removed = 0;
  while (removed < n) {
    const SegmentFile& s = segments_[removed];
    CAIRN_CHECK(s.seq < format::kKeptSpareNumberBase);  // its recycled name is its own
    const std::string from = join_path(dir_, s.name);
    const std::string to =
        join_path(dir_, std::string(format::kRecycledPrefix) + std::to_string(s.seq) + ".tmp");
    Result<uint64_t> bytes = file_size_at(*fs_, from);
    if (!bytes.ok()) {
      st = bytes.status();
      break;
    }
    st = fs_->rename(from, to);
    if (!st.ok()) break;
    // Each rename is made durable before the next one: POSIX does not promise that a later
    // rename in a directory survives a power cut only with the earlier ones, and a later segment
    // gone while an earlier one stays would break the log's sequence. It must be durable anyway
    // before the renamed file is written again as a new segment.
    moved.push_back(Spare{to, *bytes, true});
    ++removed;
    st = fs_->fsync_dir(dir_);
    if (!st.ok()) break;
  }
  segments_.erase(segments_.begin(), segments_.begin() + static_cast<ptrdiff_t>(removed));
  if (st.ok()) {
    for (Spare& s : moved) {
      out.bytes += s.bytes;
      preparer_.add_recycled(std::move(s.path), s.bytes);
    }
  }
  out.segments = static_cast<uint32_t>(removed);
  out.first_lsn = segments_.empty() ? 0 : segments_.front().first_lsn;
  if (!st.ok()) return st.with_context("removing old segments of log " + dir_);
  return out;
}

}  // namespace cairn::log
