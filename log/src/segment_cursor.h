// SegmentCursor: walks the frames of one segment file in order, reading it in large chunks, and
// stops at the clean end of its data or at the first frame that is not intact and in sequence.
// After stopping it can look further for intact frames, which tells a torn tail from corruption.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "cairn/log/io.h"
#include "frame_decoder.h"
#include "log_directory.h"

namespace cairn::log {

class SegmentCursor {
 public:
  enum class Next : uint8_t {
    kFrame,  // `frame` is the next intact record
    kEnd,    // clean end: zeros where the next batch would start, or the end of the file
    kBad,    // damage at bad_offset(); bad_what() says what
  };

  SegmentCursor(FileSystem& fs, std::string path, SegmentFile file, size_t chunk_bytes,
                PayloadVerifier verifier);
  ~SegmentCursor();
  SegmentCursor(const SegmentCursor&) = delete;
  SegmentCursor& operator=(const SegmentCursor&) = delete;

  // Opens the file and reads its header. I/O errors only; a bad header shows in header_state().
  Status open();
  format::HeaderState header_state() const { return header_state_; }
  const std::string& header_problem() const { return bad_what_; }
  // With an invalid header: whether it can be the torn first write of our own header (see
  // format::is_torn_header_prefix). Anything else in a header is not ours to cut.
  bool header_maybe_torn() const { return header_maybe_torn_; }
  const format::SegmentHeader& header() const { return header_; }
  uint64_t file_size() const { return file_size_; }
  // Whether the cursor stopped where a file cut short runs out: a valid header naming a larger
  // size than the file has means something other than the log cut it. Its frames are read as
  // usual up to the cut, and then the cursor stops with kBad at the end of the last intact frame
  // instead of ending cleanly: whatever followed them is gone, and nothing says whether it held
  // records.
  bool stopped_at_short_end() const { return short_end_; }

  Result<Next> next(format::DecodedFrame* frame, uint64_t* offset);

  // Before the first next(): moves the cursor to `offset` when an intact frame with LSN `lsn` is
  // there (its checksum and payload checked), skipping the frames before it unread; returns false
  // and changes nothing otherwise. For a caller that knows where a record is (FramePosition) and
  // needs nothing before it. I/O errors only.
  Result<bool> start_at(uint64_t offset, Lsn lsn);
  // start_at(near) when `near` is in this segment and at or before check_from(); else nothing.
  // A position that does not hold is ignored: the cursor follows the segment from its start.
  Status start_near(const FramePosition& near);

  Lsn expected_lsn() const { return expected_lsn_; }
  // Frames that end at or before `lsn` are followed by their headers only (length, and the LSN
  // chain) — not checksummed, verified or returned: whoever reads from `lsn` needs none of them,
  // and a damaged header still breaks the chain and is reported at the next frame. Default: 0.
  void check_from(Lsn lsn) { check_from_ = lsn; }
  // Frames followed that way so far.
  uint64_t frames_followed() const { return frames_followed_; }
  uint64_t data_end() const { return data_end_; }  // after the last intact frame
  uint64_t bad_offset() const { return bad_offset_; }
  const std::string& bad_what() const { return bad_what_; }
  // True when the frame that stopped the cursor had a valid checksum but invalid content: it was
  // written that way, so it cannot be the torn end of a write.
  bool bad_frame_was_intact() const { return bad_intact_; }
  uint64_t bad_frame_end() const { return bad_end_; }

  // After kEnd or kBad: the end offset of the farthest intact frame with an LSN at or after
  // expected_lsn() that starts a block anywhere after the stop point (where a later batch would
  // begin); 0 when there is none.
  Result<uint64_t> find_later_frames();
  // After a clean end (kEnd, or a header never written): the end offset of the farthest intact
  // frame that starts at any 8-byte offset after the stop point, ends within `span` bytes of
  // where the unfinished writes began (the stop point, or offset 0 when the header was never
  // written), and has an LSN that a frame of this segment's stream could have there (from
  // expected_lsn() up to as many bytes past it as the frame lies past the data); 0 when there is
  // none. Such frames are what a torn write leaves when its first sectors were lost: left in
  // place, a later write at the same offsets with the same LSNs, torn in turn, would bring them
  // back between its own frames as if they were its own.
  Result<uint64_t> find_stale_frames(uint64_t span);
  // Offset just past the last non-zero byte in [from, to), or `from` when all are zero.
  Result<uint64_t> nonzero_extent(uint64_t from, uint64_t to);

  // Live readers: forgets buffered bytes and reads again from the current position (after a
  // kEnd or kBad), to see what the writer has written since. Needs a valid header.
  void retry() {
    CAIRN_CHECK(header_state_ == format::HeaderState::kValid);
    buf_len_ = 0;
    stopped_ = false;
  }

 private:
  // Makes [off, off + n) readable; returns a pointer to it. n <= file_size_ - off. A read
  // fetches `ahead` bytes (chunk_bytes_ when 0) from the block that holds `off`.
  Result<const std::byte*> bytes(uint64_t off, size_t n, size_t ahead = 0);
  Next stop_bad(uint64_t off, std::string what, bool intact, uint64_t end);
  // Where a short file's data runs out, however it does (see stopped_at_short_end()).
  Next stop_short();
  // At a block boundary of zeros: whether it is the one zero block a batch in a recycled segment
  // leaves when the next batch was written while it was in flight — the block is all zeros and
  // the next one starts with the very frame the LSN chain expects. Anything else is the end.
  Result<bool> one_block_gap();
  Result<Next> next_frame(format::DecodedFrame* frame, uint64_t* offset);
  // After a stop at damage: if the frame before it was only followed and is itself damaged, the
  // damage is reported there (at its offset and LSN) instead.
  Status blame_followed_frame();

  FileSystem& fs_;
  std::string path_;
  SegmentFile file_;
  size_t chunk_bytes_;
  PayloadVerifier verifier_;
  int fd_ = -1;
  uint64_t file_size_ = 0;
  format::HeaderState header_state_ = format::HeaderState::kEmpty;
  format::SegmentHeader header_;
  bool header_maybe_torn_ = false;
  bool short_file_ = false;
  bool short_end_ = false;

  // File bytes [buf_start_, buf_start_ + buf_len_). Not zeroed when allocated: pread fills what
  // is used, and a 4 MiB memset per cursor was a third of a restart's CPU.
  std::unique_ptr<std::byte[]> buf_;
  size_t buf_capacity_ = 0;
  uint64_t buf_start_ = 0;
  size_t buf_len_ = 0;

  uint64_t pos_ = 0;
  Lsn expected_lsn_ = 0;
  Lsn check_from_ = 0;
  uint64_t frames_followed_ = 0;
  // The last frame followed without a check, until a checked frame comes: when damage follows
  // it, that frame is checked after all — a damaged length there explains what comes next.
  static constexpr uint64_t kNone = ~uint64_t{0};
  uint64_t followed_at_ = kNone;
  Lsn followed_lsn_ = 0;
  uint64_t data_end_ = 0;
  bool stopped_ = false;
  Next stop_result_ = Next::kEnd;
  uint64_t bad_offset_ = 0;
  uint64_t bad_end_ = 0;
  bool bad_intact_ = false;
  std::string bad_what_;
};

}  // namespace cairn::log
