// scan_log: reads segments in order and classifies the first damage (torn tail, corruption,
// broken sequence) by the rules of docs/log_format.md. verify_log and Log::open both use it, so
// the tool and recovery can never disagree about a log.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cairn/log/verify.h"
#include "clean_close.h"
#include "frame_decoder.h"
#include "log_directory.h"

namespace cairn::log {

struct SegmentScan {
  enum class Stop : uint8_t {
    kCleanEnd,   // zeros where the next batch would start, or the end of the file
    kBadFrame,   // a frame that is not intact or not in sequence
    kBadHeader,  // the segment header is damaged
    kEmpty,      // the header block is all zeros: created, never written
  };
  SegmentFile file;
  Stop stop = Stop::kCleanEnd;
  Lsn end_lsn = 0;                // after the last intact frame
  uint64_t data_end = 0;          // byte offset after the last intact frame
  uint64_t records = 0;           // checked
  uint64_t records_followed = 0;  // before ScanOptions::check_from: followed, not checked
  uint64_t frame_bytes = 0;
  uint64_t file_size = 0;
  uint64_t segment_bytes = 0;  // the size its header names; 0 without a valid header
  uint64_t bad_offset = 0;
  uint64_t bad_end = 0;            // end of the bad frame's claimed extent
  bool bad_intact = false;         // the bad frame's checksum was valid but its content not
  bool header_maybe_torn = false;  // kBadHeader: it can be our own header, torn while written
  bool short_end = false;          // kBadFrame: the file, shorter than its header says, ended there
  std::string what;
  uint64_t later_data_end = 0;  // farthest end of an intact, later frame after the stop point
  bool not_read = false;        // wholly before check_from: known by its and the next one's names
  bool closed_cleanly = false;  // ScanOptions::clean_close matched: no search past the end ran
  // Something other than the log cut the file (SegmentCursor::stopped_at_short_end).
  bool is_short() const { return file_size < segment_bytes; }
  bool has_data() const {
    return records > 0 || records_followed > 0 || not_read || stop == Stop::kBadFrame ||
           stop == Stop::kBadHeader || later_data_end > 0;
  }
};

struct ScanOptions {
  PayloadVerifier payload_verifier = nullptr;
  uint64_t tail_window_bytes = 8ull << 20;
  size_t chunk_bytes = 4u << 20;
  // Frames wholly before this LSN are followed, not checked, counted or passed to on_frame
  // (SegmentCursor::check_from); a segment followed by one that begins at or before it is not
  // read at all (the next one's name says where it ends). Default: 0 (all are checked).
  Lsn check_from = 0;
  // A frame at or before check_from: its segment is followed from there (SegmentCursor::start_at).
  FramePosition check_from_frame{};
  // Records before this LSN were durable once (the owner saw them so, e.g. a snapshot covers
  // them): damage before it is never a torn write, whatever is checked. Effective: the larger of
  // this and check_from.
  Lsn known_durable = 0;
  // A clean-close marker found in the directory (clean_close.h): when the last segment is the one
  // it names and ends at its end LSN, no search for a torn write's frames runs past that end.
  std::optional<CleanClose> clean_close;
  // Each intact frame, in order (may be empty).
  std::function<void(const format::DecodedFrame&)> on_frame;
  std::function<void(uint64_t)> on_bytes;  // bytes of segment files read so far
};

struct LogScan {
  std::vector<SegmentScan> segments;  // those scanned, in order
  std::optional<Damage> damage;       // the first damage
  // Index into `segments` of the last one holding data, or -1 when none does.
  int last_with_data = -1;
};

// Scans `segments` (sorted by seq, all of one directory). Damage is reported, not returned as an
// error; errors are I/O failures.
Result<LogScan> scan_log(FileSystem& fs, const std::string& dir,
                         const std::vector<SegmentFile>& segments, const ScanOptions& options);

}  // namespace cairn::log
