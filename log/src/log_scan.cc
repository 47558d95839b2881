// scan_log (see log_scan.h): per-segment scans, then one pass that classifies damage.
#include "log_scan.h"

#include <algorithm>

#include "frame_format.h"
#include "segment_cursor.h"

namespace cairn::log {
namespace {

// `last`: the last file of the log, the only one an unfinished write can have touched.
Result<SegmentScan> scan_segment(FileSystem& fs, const std::string& dir, const SegmentFile& file,
                                 const ScanOptions& options, bool last) {
  SegmentCursor cursor(fs, join_path(dir, file.name), file, options.chunk_bytes,
                       options.payload_verifier);
  CAIRN_RETURN_IF_ERROR(cursor.open());
  cursor.check_from(options.check_from);
  CAIRN_RETURN_IF_ERROR(cursor.start_near(options.check_from_frame));
  SegmentScan scan;
  scan.file = file;
  scan.file_size = cursor.file_size();
  scan.end_lsn = file.first_lsn;
  if (cursor.header_state() == format::HeaderState::kEmpty &&
      !format::is_segment_size(scan.file_size)) {
    // Never written, but of a size no log makes (cut or extended by something else): the writer
    // would fill it up to that size and name it in the header, which readers then refuse.
    scan.stop = SegmentScan::Stop::kBadHeader;
    scan.what = "the file holds no header and is " + std::to_string(scan.file_size) +
                " bytes, a size no log makes a segment";
  } else if (cursor.header_state() == format::HeaderState::kEmpty) {
    scan.stop = SegmentScan::Stop::kEmpty;
  } else if (cursor.header_state() == format::HeaderState::kInvalid) {
    scan.stop = SegmentScan::Stop::kBadHeader;
    scan.what = cursor.header_problem();
    scan.header_maybe_torn = cursor.header_maybe_torn();
  } else {
    scan.segment_bytes = cursor.header().segment_bytes;
    format::DecodedFrame frame;
    uint64_t offset = 0;
    for (;;) {
      CAIRN_ASSIGN_OR_RETURN(SegmentCursor::Next n, cursor.next(&frame, &offset));
      if (n == SegmentCursor::Next::kEnd) break;
      if (n == SegmentCursor::Next::kBad) {
        scan.stop = SegmentScan::Stop::kBadFrame;
        scan.bad_offset = cursor.bad_offset();
        scan.bad_end = cursor.bad_frame_end();
        scan.bad_intact = cursor.bad_frame_was_intact();
        scan.what = cursor.bad_what();
        scan.short_end = cursor.stopped_at_short_end();
        break;
      }
      ++scan.records;
      scan.frame_bytes += frame.size;
      if (options.on_frame) options.on_frame(frame);
    }
  }
  scan.records_followed = cursor.frames_followed();
  scan.end_lsn = cursor.expected_lsn();
  scan.data_end = cursor.data_end();
  // The log was closed cleanly right here (clean_close.h): no write went past this end since,
  // so there is nothing to search for (it reads up to the rest of the segment from disk).
  const std::optional<CleanClose>& closed = options.clean_close;
  scan.closed_cleanly =
      last && closed && closed->seq == file.seq && closed->first_lsn == file.first_lsn &&
      closed->end_lsn == scan.end_lsn &&
      (scan.stop == SegmentScan::Stop::kCleanEnd || scan.stop == SegmentScan::Stop::kEmpty);
  if (scan.closed_cleanly) {
    if (options.on_bytes) options.on_bytes(scan.file_size);
    return scan;
  }
  CAIRN_ASSIGN_OR_RETURN(scan.later_data_end, cursor.find_later_frames());
  if (last) {
    // Frames of a torn write whose first sectors were lost, anywhere in the tail window: intact
    // records after the end of the data, like those at a block boundary above.
    CAIRN_ASSIGN_OR_RETURN(const uint64_t stale,
                           cursor.find_stale_frames(options.tail_window_bytes));
    scan.later_data_end = std::max(scan.later_data_end, stale);
  }
  if (options.on_bytes) options.on_bytes(scan.file_size);
  return scan;
}

Damage damage_at(const SegmentScan& s, DamageKind kind, std::string what) {
  Damage d;
  d.kind = kind;
  d.file = s.file.name;
  d.offset = s.stop == SegmentScan::Stop::kBadFrame ? s.bad_offset : s.data_end;
  d.lsn = s.end_lsn;
  d.what = std::move(what);
  const uint64_t extent = std::max({s.bad_end, s.later_data_end, d.offset});
  d.bytes_after = extent - d.offset;
  return d;
}

// The damage in one scanned segment, given whether a torn write could have left it.
std::optional<Damage> classify(const SegmentScan& s, bool tail, uint64_t window) {
  using Stop = SegmentScan::Stop;
  const bool clean = (s.stop == Stop::kCleanEnd || s.stop == Stop::kEmpty);
  if (clean && s.later_data_end == 0) return std::nullopt;
  std::string what = s.what;
  if (clean) what = "intact records after zeroed bytes";
  if (s.stop == Stop::kBadHeader) what = "bad segment header: " + s.what;
  // A file cut short was cut by something else: the log never changes a segment's size.
  if (!tail || s.is_short()) return damage_at(s, DamageKind::kCorruption, what);
  // A frame whose checksum is valid was written whole: it cannot be the torn end of a write.
  if (s.stop == Stop::kBadFrame && s.bad_intact) {
    return damage_at(s, DamageKind::kCorruption, what);
  }
  // Nor can a header that is not a prefix of the one our writer would have written there: a newer
  // format version, a file of someone else's, garbage. Recovery must not cut what it did not write.
  if (s.stop == Stop::kBadHeader && !s.header_maybe_torn) {
    return damage_at(s, DamageKind::kCorruption, what);
  }
  // Where the writes that were in flight can have begun: at or before a bad frame (a torn batch
  // starts on a block boundary before it), or — after a clean end — at the block boundary after
  // the last intact frame, since the batch that holds it was padded to there. (Counting from the
  // end of the frames instead refused real torn tails: found by the power-cut rounds.)
  const uint64_t start =
      s.stop == Stop::kBadFrame ? s.bad_offset : format::round_up(s.data_end, format::kBlockSize);
  const bool beyond_window = s.later_data_end > start + window;
  return damage_at(s, beyond_window ? DamageKind::kCorruption : DamageKind::kTornTail, what);
}

}  // namespace

Result<LogScan> scan_log(FileSystem& fs, const std::string& dir,
                         const std::vector<SegmentFile>& segments, const ScanOptions& options) {
  LogScan out;
  for (size_t i = 0; i < segments.size(); ++i) {
    if (i + 1 < segments.size() && segments[i + 1].first_lsn <= options.check_from &&
        segments[i + 1].first_lsn > segments[i].first_lsn) {
      // Wholly before check_from: nothing in it is needed, and the next file's name says where
      // it ends (the sequence check below relies on that).
      SegmentScan s;
      s.file = segments[i];
      s.end_lsn = segments[i + 1].first_lsn;
      s.not_read = true;
      out.segments.push_back(std::move(s));
      continue;
    }
    CAIRN_ASSIGN_OR_RETURN(SegmentScan s,
                           scan_segment(fs, dir, segments[i], options, i + 1 == segments.size()));
    out.segments.push_back(std::move(s));
  }
  for (size_t i = 0; i < out.segments.size(); ++i) {
    if (out.segments[i].has_data()) out.last_with_data = static_cast<int>(i);
  }
  // The damage scan `i` shows, given the ones before it (which showed none).
  auto damage_in = [&](size_t i) -> std::optional<Damage> {
    const SegmentScan& s = out.segments[i];
    if (i > 0) {
      const SegmentScan& prev = out.segments[i - 1];
      // Where the previous segment ends is known only when it ends cleanly; damage inside it is
      // reported for it below instead.
      const bool prev_clean = prev.stop == SegmentScan::Stop::kCleanEnd && prev.later_data_end == 0;
      if (auto why = why_not_next_segment(prev.file, prev_clean ? prev.end_lsn : kNoLsn, s.file);
          why && prev_clean) {
        Damage d;
        d.kind = DamageKind::kBrokenSequence;
        d.file = s.file.name;
        d.lsn = prev.end_lsn;
        d.what = std::move(*why);
        return d;
      }
    }
    const int idx = static_cast<int>(i);
    if (s.stop == SegmentScan::Stop::kEmpty && idx < out.last_with_data) {
      return damage_at(s, DamageKind::kCorruption,
                       "segment has no header but later segments hold records");
    }
    if (s.stop == SegmentScan::Stop::kEmpty && idx > out.last_with_data + 1) {
      return damage_at(s, DamageKind::kBrokenSequence, "more than one empty segment at the end");
    }
    // Only the last file can end in a torn write: the writer drains every write into a segment
    // before it creates the next one, so damage followed by any segment file is corruption.
    const bool tail = idx == out.last_with_data && i + 1 == out.segments.size();
    std::optional<Damage> damage = classify(s, tail, options.tail_window_bytes);
    const Lsn durable = std::max(options.check_from, options.known_durable);
    if (damage && damage->kind == DamageKind::kTornTail && damage->lsn < durable) {
      // The owner saw the records up to there durable: damage before it is no torn write.
      damage->kind = DamageKind::kCorruption;
      damage->what +=
          " (before LSN " + std::to_string(durable) + ", which was durable: not a torn write)";
    }
    return damage;
  };
  // Scan `i` stopped at the end of a file cut only after its records: the next segment begins
  // right where they end, so none is missing, and restoring the size repairs it.
  auto cut_after_its_records = [&](size_t i) {
    const SegmentScan& s = out.segments[i];
    return s.short_end && i + 1 < out.segments.size() &&
           out.segments[i + 1].file.first_lsn == s.end_lsn;
  };
  for (size_t i = 0; i < out.segments.size() && !out.damage; ++i) {
    out.damage = damage_in(i);
    if (!out.damage || !cut_after_its_records(i)) continue;
    // Whether restoring keeps every record of the log depends on what follows: the scan looks on
    // for damage that is not of the same kind (which the repair restores in turn).
    const SegmentScan& s = out.segments[i];
    out.damage->size_only = true;
    for (size_t j = i + 1; j < out.segments.size(); ++j) {
      std::optional<Damage> later = damage_in(j);
      if (later && !cut_after_its_records(j)) {
        out.damage->damage_after = later->to_string();
        break;
      }
    }
    out.damage->what = "segment file is " + std::to_string(s.file_size) +
                       " bytes but its header says " + std::to_string(s.segment_bytes) +
                       ": cut short by something other than the log, which never changes a "
                       "segment's size; none of its records is missing (the next segment begins "
                       "at LSN " +
                       std::to_string(s.end_lsn) + ", where they end)" +
                       (out.damage->damage_after.empty() ? "" : ", but a later segment is damaged");
  }
  return out;
}

}  // namespace cairn::log
