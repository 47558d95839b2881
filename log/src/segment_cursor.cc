// SegmentCursor (see segment_cursor.h). The scanning rules are those of docs/log_format.md.
#include "segment_cursor.h"

#include <algorithm>
#include <cstring>

namespace cairn::log {

using format::kBlockSize;
using format::kFrameHeaderSize;

SegmentCursor::SegmentCursor(FileSystem& fs, std::string path, SegmentFile file, size_t chunk_bytes,
                             PayloadVerifier verifier)
    : fs_(fs),
      path_(std::move(path)),
      file_(std::move(file)),
      chunk_bytes_(std::max<size_t>(format::round_up(chunk_bytes, kBlockSize), kBlockSize)),
      verifier_(verifier),
      expected_lsn_(file_.first_lsn) {}

SegmentCursor::~SegmentCursor() {
  if (fd_ >= 0) (void)fs_.close(fd_);  // read-only: a failed close loses nothing
}

Status SegmentCursor::open() {
  CAIRN_ASSIGN_OR_RETURN(fd_, fs_.open(path_, OpenFlags{}));
  CAIRN_ASSIGN_OR_RETURN(file_size_, fs_.file_size(fd_));
  if (file_size_ < format::kSegmentHeaderSize) {
    // Not a segment our writer made (spares are full size before they are renamed).
    header_state_ = format::HeaderState::kInvalid;
    bad_what_ = "file is shorter than a segment header (" + std::to_string(file_size_) + " bytes)";
    stopped_ = true;
    stop_result_ = Next::kBad;
    return Status();
  }
  // The header alone: a cursor moved by start_at goes on far from here.
  CAIRN_ASSIGN_OR_RETURN(const std::byte* h,
                         bytes(0, format::kSegmentHeaderSize, format::kSegmentHeaderSize));
  header_state_ = format::decode_segment_header(h, &header_, &bad_what_);
  // Our writer writes headers only into files of a size a log makes (recovery makes sure of it):
  // a torn one in a file of another size is not ours to cut.
  header_maybe_torn_ = header_state_ == format::HeaderState::kInvalid &&
                       format::is_segment_size(file_size_) &&
                       format::is_torn_header_prefix(h, file_.seq, file_.first_lsn, file_size_);
  if (header_state_ == format::HeaderState::kValid &&
      (header_.seq != file_.seq || header_.first_lsn != file_.first_lsn)) {
    header_state_ = format::HeaderState::kInvalid;
    bad_what_ = "segment header says sequence " + std::to_string(header_.seq) + ", first LSN " +
                std::to_string(header_.first_lsn) + ", but the file name says otherwise";
  } else if (header_state_ == format::HeaderState::kValid && header_.segment_bytes < file_size_) {
    // The writer never changes a segment's size (spares are made full size), so something else
    // extended it: what lies past the header's size is not the log's.
    header_state_ = format::HeaderState::kInvalid;
    bad_what_ = "segment file is " + std::to_string(file_size_) + " bytes but its header says " +
                std::to_string(header_.segment_bytes) +
                " (extended by something other than the log)";
  } else if (header_state_ == format::HeaderState::kValid) {
    // Shorter than its header says: cut by something else. The frames before the cut are as
    // good as any; the cursor reads them and reports the cut where they end (stop_short).
    short_file_ = header_.segment_bytes > file_size_;
  }
  pos_ = format::kSegmentHeaderSize;
  data_end_ = pos_;
  if (header_state_ != format::HeaderState::kValid) {
    stopped_ = true;
    stop_result_ = header_state_ == format::HeaderState::kInvalid ? Next::kBad : Next::kEnd;
    bad_offset_ = 0;
    data_end_ = 0;
  }
  return Status();
}

Result<const std::byte*> SegmentCursor::bytes(uint64_t off, size_t n, size_t ahead) {
  CAIRN_CHECK(n <= file_size_ && off <= file_size_ - n);
  if (off >= buf_start_ && off + n <= buf_start_ + buf_len_) {
    return buf_.get() + (off - buf_start_);
  }
  const uint64_t start = format::round_down(off, kBlockSize);
  const size_t want = std::max<size_t>(ahead == 0 ? chunk_bytes_ : ahead, (off - start) + n);
  const size_t len = static_cast<size_t>(std::min<uint64_t>(want, file_size_ - start));
  if (buf_capacity_ < len) {
    buf_ = std::make_unique_for_overwrite<std::byte[]>(len);
    buf_capacity_ = len;
  }
  buf_len_ = 0;  // until the read below succeeds
  CAIRN_ASSIGN_OR_RETURN(size_t got, fs_.pread(fd_, buf_.get(), len, start));
  if (got < (off - start) + n) {
    buf_len_ = 0;
    return Status(StatusCode::kIoError, "short read of " + path_ + " at offset " +
                                            std::to_string(off) + " (file changed size?)");
  }
  buf_start_ = start;
  buf_len_ = got;
  return buf_.get() + (off - start);
}

SegmentCursor::Next SegmentCursor::stop_bad(uint64_t off, std::string what, bool intact,
                                            uint64_t end) {
  stopped_ = true;
  stop_result_ = Next::kBad;
  bad_offset_ = off;
  bad_what_ = std::move(what);
  bad_intact_ = intact;
  bad_end_ = end;
  return Next::kBad;
}

SegmentCursor::Next SegmentCursor::stop_short() {
  short_end_ = true;
  return stop_bad(data_end_,
                  "segment file is " + std::to_string(file_size_) + " bytes but its header says " +
                      std::to_string(header_.segment_bytes) +
                      ": cut short by something other than the log, which never changes a "
                      "segment's size; records after LSN " +
                      std::to_string(expected_lsn_) + " may have been in the bytes cut off",
                  false, file_size_);
}

Result<bool> SegmentCursor::one_block_gap() {
  const uint64_t next = pos_ + kBlockSize;
  if (next + kFrameHeaderSize > file_size_) return false;
  CAIRN_ASSIGN_OR_RETURN(const std::byte* block, bytes(pos_, kBlockSize));
  if (!format::all_zero(block, kBlockSize)) return false;
  CAIRN_ASSIGN_OR_RETURN(const std::byte* h, bytes(next, kFrameHeaderSize));
  const uint32_t size = format::peek_frame_size({h, kFrameHeaderSize});
  if (size == 0 || size == format::kNoSize || next + size > file_size_) return false;
  CAIRN_ASSIGN_OR_RETURN(const std::byte* f, bytes(next, size));
  format::DecodedFrame frame;
  return format::decode_frame({f, size}, expected_lsn_, nullptr, &frame) == format::FrameCheck::kOk;
}

Result<bool> SegmentCursor::start_at(uint64_t offset, Lsn lsn) {
  CAIRN_CHECK(!stopped_ || header_state_ != format::HeaderState::kValid);
  // Subtracted, never added: the offset comes from a snapshot's header, and one near 2^64 wrapped
  // around past the check (the frame was then read from before the buffer).
  if (header_state_ != format::HeaderState::kValid || offset < pos_ || offset % 8 != 0 ||
      lsn < expected_lsn_ || offset > file_size_ || file_size_ - offset < kFrameHeaderSize) {
    return false;
  }
  // What follows a snapshot's last record is usually short: a smaller first read.
  constexpr size_t kFirstRead = 256u << 10;
  CAIRN_ASSIGN_OR_RETURN(const std::byte* h,
                         bytes(offset, kFrameHeaderSize, std::min(chunk_bytes_, kFirstRead)));
  const uint32_t size = format::peek_frame_size({h, kFrameHeaderSize});
  if (size == 0 || size == format::kNoSize || size > file_size_ - offset) return false;
  CAIRN_ASSIGN_OR_RETURN(const std::byte* f, bytes(offset, size));
  format::DecodedFrame frame;
  if (format::decode_frame({f, size}, lsn, verifier_, &frame) != format::FrameCheck::kOk) {
    return false;
  }
  pos_ = offset;
  data_end_ = offset;
  expected_lsn_ = lsn;
  return true;
}

Status SegmentCursor::start_near(const FramePosition& near) {
  if (!near.known() || near.segment_seq != file_.seq || near.lsn > check_from_) return Status();
  return start_at(near.offset, near.lsn).status();
}

Result<SegmentCursor::Next> SegmentCursor::next(format::DecodedFrame* frame, uint64_t* offset) {
  if (stopped_) return stop_result_;
  CAIRN_ASSIGN_OR_RETURN(const Next n, next_frame(frame, offset));
  if (n == Next::kBad && followed_at_ != kNone) CAIRN_RETURN_IF_ERROR(blame_followed_frame());
  return n;
}

Status SegmentCursor::blame_followed_frame() {
  const uint64_t at = followed_at_;
  followed_at_ = kNone;
  CAIRN_ASSIGN_OR_RETURN(const std::byte* h, bytes(at, kFrameHeaderSize));
  const uint32_t size = format::peek_frame_size({h, kFrameHeaderSize});
  format::FrameCheck check = format::FrameCheck::kBadLength;
  if (size != format::kNoSize && at + size <= file_size_) {
    CAIRN_ASSIGN_OR_RETURN(const std::byte* f, bytes(at, size));
    format::DecodedFrame frame;
    check = format::decode_frame({f, size}, followed_lsn_, verifier_, &frame);
  }
  if (check == format::FrameCheck::kOk) return Status();  // the damage is where it was found
  expected_lsn_ = followed_lsn_;
  data_end_ = at;
  const bool intact =
      check == format::FrameCheck::kBadTag || check == format::FrameCheck::kBadPayload;
  // stop_bad records the damage (its result, kBad, is what next() already returns).
  (void)stop_bad(at, std::string(format::frame_check_name(check)), intact,
                 size == format::kNoSize ? at + kFrameHeaderSize : at + size);
  return Status();
}

Result<SegmentCursor::Next> SegmentCursor::next_frame(format::DecodedFrame* frame,
                                                      uint64_t* offset) {
  for (;;) {
    if (pos_ + 8 > file_size_) {
      if (short_file_) return stop_short();
      stopped_ = true;
      return Next::kEnd;
    }
    // A zero checksum word is never a frame (the writer salts a zero checksum away), so it marks
    // padding even when fewer than 24 bytes are left before the block boundary.
    CAIRN_ASSIGN_OR_RETURN(const std::byte* w, bytes(pos_, 8));
    if (format::is_zero_word(w)) {
      if (pos_ % kBlockSize == 0) {
        CAIRN_ASSIGN_OR_RETURN(const bool gap, one_block_gap());
        if (gap) {
          pos_ += kBlockSize;
          continue;
        }
        if (short_file_) return stop_short();
        stopped_ = true;
        return Next::kEnd;
      }
      // Padding after the last frame of a batch: the rest of the block must be zero (of what the
      // file holds of it: a file that ends inside a block was cut short, which the next turn
      // reports, but a reader must not read past the end either way).
      const uint64_t block_end = std::min(format::round_up(pos_, kBlockSize), file_size_);
      CAIRN_ASSIGN_OR_RETURN(const std::byte* pad, bytes(pos_, block_end - pos_));
      if (!format::all_zero(pad, block_end - pos_)) {
        return stop_bad(pos_, "non-zero bytes in the padding after a batch", false, block_end);
      }
      pos_ = block_end;
      continue;
    }
    if (pos_ + kFrameHeaderSize > file_size_) {
      if (short_file_) return stop_short();
      return stop_bad(pos_, format::frame_check_name(format::FrameCheck::kTruncated), false,
                      file_size_);
    }
    CAIRN_ASSIGN_OR_RETURN(const std::byte* h, bytes(pos_, kFrameHeaderSize));
    const uint32_t size = format::peek_frame_size({h, kFrameHeaderSize});
    if (size == format::kNoSize) {
      return stop_bad(pos_, format::frame_check_name(format::FrameCheck::kBadLength), false,
                      pos_ + kFrameHeaderSize);
    }
    if (pos_ + size > file_size_) {
      if (short_file_) return stop_short();
      return stop_bad(pos_, format::frame_check_name(format::FrameCheck::kTruncated), false,
                      file_size_);
    }
    if (expected_lsn_ + size <= check_from_ && format::load_header(h).lsn == expected_lsn_) {
      followed_at_ = pos_;
      followed_lsn_ = expected_lsn_;
      pos_ += size;
      data_end_ = pos_;
      expected_lsn_ += size;
      ++frames_followed_;
      continue;
    }
    CAIRN_ASSIGN_OR_RETURN(const std::byte* f, bytes(pos_, size));
    const format::FrameCheck check =
        format::decode_frame({f, size}, expected_lsn_, verifier_, frame);
    if (check == format::FrameCheck::kLsnMismatch && frame->header.lsn < file_.first_lsn &&
        pos_ % kBlockSize == 0) {
      // An intact frame from before this segment began: this file was a recycled segment, and
      // what follows its new data is the old data. Batches start on block boundaries and are
      // padded with zeros, so this is where the new data ends, as zeros would say.
      if (short_file_) return stop_short();
      stopped_ = true;
      return Next::kEnd;
    }
    if (check != format::FrameCheck::kOk) {
      std::string what = format::frame_check_name(check);
      uint64_t bad_at = pos_;
      if (check == format::FrameCheck::kLsnMismatch) {
        what = "LSN " + std::to_string(frame->header.lsn) + " where " +
               std::to_string(expected_lsn_) + " was expected";
        // Records are missing: they belonged right after the last intact frame, where what looked
        // like a batch's padding began. That is the place to report, not the frame after it.
        if (frame->header.lsn > expected_lsn_ && data_end_ > 0 && data_end_ < pos_) {
          bad_at = data_end_;
        }
      }
      // Bad content under a valid checksum was written that way: it is never a torn write.
      const bool intact =
          check == format::FrameCheck::kBadTag || check == format::FrameCheck::kBadPayload;
      return stop_bad(bad_at, std::move(what), intact, pos_ + size);
    }
    *offset = pos_;
    pos_ += size;
    data_end_ = pos_;
    expected_lsn_ += size;
    followed_at_ = kNone;
    return Next::kFrame;
  }
}

Result<uint64_t> SegmentCursor::find_later_frames() {
  CAIRN_CHECK(stopped_);
  uint64_t farthest = 0;
  const uint64_t from = header_state_ == format::HeaderState::kValid ? pos_ : 0;
  uint64_t b = format::round_up(from + 1, kBlockSize);
  if (header_state_ != format::HeaderState::kValid) b = kBlockSize;
  format::DecodedFrame f;
  while (b + kFrameHeaderSize <= file_size_) {
    // Frames of a later batch start at a block boundary and then follow one another.
    uint64_t p = b;
    for (;;) {
      if (p + kFrameHeaderSize > file_size_) break;
      CAIRN_ASSIGN_OR_RETURN(const std::byte* h, bytes(p, kFrameHeaderSize));
      const uint32_t size = format::peek_frame_size({h, kFrameHeaderSize});
      if (size == 0 || size == format::kNoSize || p + size > file_size_) break;
      CAIRN_ASSIGN_OR_RETURN(const std::byte* fb, bytes(p, size));
      const format::FrameCheck c = format::decode_frame({fb, size}, kNoLsn, nullptr, &f);
      if (c != format::FrameCheck::kOk || f.header.lsn < expected_lsn_) break;
      p += size;
      farthest = p;
    }
    b = format::round_up(std::max(p, b + 1), kBlockSize);
  }
  return farthest;
}

Result<uint64_t> SegmentCursor::find_stale_frames(uint64_t span) {
  CAIRN_CHECK(stopped_);
  if (stop_result_ != Next::kEnd || header_state_ == format::HeaderState::kInvalid) return 0;
  // Where the stream's next frame would have gone, and the first place to look.
  const uint64_t base = header_state_ == format::HeaderState::kValid ? data_end_ : kBlockSize;
  const uint64_t from = header_state_ == format::HeaderState::kValid ? pos_ : kBlockSize;
  CAIRN_CHECK(from % 8 == 0 && from >= base);
  // The unfinished writes began at the stop point, or with the header when it was never written.
  const uint64_t writes_began = header_state_ == format::HeaderState::kValid ? pos_ : 0;
  const uint64_t end = std::min(file_size_, writes_began + span);
  uint64_t farthest = 0;
  uint64_t p = from;
  format::DecodedFrame f;
  while (p + kFrameHeaderSize <= end) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(end - p, chunk_bytes_));
    CAIRN_ASSIGN_OR_RETURN(const std::byte* c, bytes(p, n));
    size_t i = 0;
    uint64_t candidate = kNone;
    for (; i + kFrameHeaderSize <= n; i += 8) {
      // Cheap tests first: zeros and most old bytes fail them.
      if (format::is_zero_word(c + i)) continue;
      const Lsn lsn = format::load_u64(c + i + format::kLsnOffset);
      if (lsn < expected_lsn_ || lsn - expected_lsn_ > p + i - base) continue;
      candidate = p + i;
      break;
    }
    if (candidate == kNone) {
      p += i;
      continue;
    }
    p = candidate + 8;  // whatever the candidate is, the search goes on after it
    CAIRN_ASSIGN_OR_RETURN(const std::byte* h, bytes(candidate, kFrameHeaderSize));
    const uint32_t size = format::peek_frame_size({h, kFrameHeaderSize});
    if (size == format::kNoSize || candidate + size > end) continue;
    CAIRN_ASSIGN_OR_RETURN(const std::byte* fb, bytes(candidate, size));
    if (format::decode_frame({fb, size}, kNoLsn, nullptr, &f) == format::FrameCheck::kOk) {
      farthest = std::max(farthest, candidate + size);
    }
  }
  return farthest;
}

Result<uint64_t> SegmentCursor::nonzero_extent(uint64_t from, uint64_t to) {
  to = std::min(to, file_size_);
  uint64_t extent = from;
  for (uint64_t off = from; off < to;) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(to - off, chunk_bytes_));
    CAIRN_ASSIGN_OR_RETURN(const std::byte* p, bytes(off, n));
    for (size_t i = n; i > 0; --i) {
      if (p[i - 1] != std::byte{0}) {
        extent = off + i;
        break;
      }
    }
    off += n;
  }
  return extent;
}

}  // namespace cairn::log
