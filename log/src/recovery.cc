// Recovery (see recovery.h). Every change it makes to the directory is synced before the log
// opens, and no byte it takes out of the log is deleted: it is copied to DIR/quarantine/ first.
#include "recovery.h"

#include <algorithm>
#include <vector>

#include "frame_format.h"
#include "log_directory.h"
#include "log_scan.h"
#include "segment_cursor.h"
#include "segment_preparer.h"

namespace cairn::log {
namespace {

using format::kBlockSize;

Status quarantine_dir(FileSystem& fs, const std::string& dir, std::string* qdir) {
  *qdir = join_path(dir, std::string(format::kQuarantineDir));
  return create_dirs_durably(fs, *qdir);
}

// Copies [from, to) of `path` into a new file in the quarantine directory and syncs it.
Status quarantine_copy(FileSystem& fs, const std::string& dir, const std::string& path,
                       uint64_t from, uint64_t to, const std::string& qname,
                       RecoveryReport* report) {
  std::string qdir;
  CAIRN_RETURN_IF_ERROR(quarantine_dir(fs, dir, &qdir));
  CAIRN_ASSIGN_OR_RETURN(int in, fs.open(path, OpenFlags{}));
  // An earlier recovery that was interrupted may have left a copy under this name: keep it (it may
  // hold bytes that were zeroed since) and write this one beside it.
  std::string qpath = join_path(qdir, qname);
  Result<int> out = fs.open(qpath, OpenFlags{.write = true, .create = true, .exclusive = true});
  for (int n = 1; !out.ok() && out.status().code() == StatusCode::kAlreadyExists && n < 1000; ++n) {
    qpath = join_path(qdir, qname + "." + std::to_string(n));
    out = fs.open(qpath, OpenFlags{.write = true, .create = true, .exclusive = true});
  }
  if (!out.ok()) {
    (void)fs.close(in);  // read-only: a failed close loses nothing; the open's error is reported
    return out.status();
  }
  std::vector<std::byte> buf(1u << 20);
  Status st;
  for (uint64_t off = from; off < to && st.ok();) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), to - off));
    Result<size_t> got = fs.pread(in, buf.data(), n, off);
    if (!got.ok()) {
      st = got.status();
      break;
    }
    if (*got != n) {
      st = Status(StatusCode::kIoError, "short read of " + path);
      break;
    }
    st = fs.pwrite(*out, buf.data(), n, off - from);
    off += n;
  }
  if (st.ok()) st = fs.fdatasync(*out);
  // The copy's durability is fdatasync's answer above; a close after it can lose nothing (and
  // `in` was only read).
  (void)fs.close(in);
  (void)fs.close(*out);
  if (st.ok()) st = fs.fsync_dir(qdir);
  if (!st.ok()) return st.with_context("copying damaged bytes to " + qpath);
  report->bytes_quarantined += to - from;
  report->quarantined_files.push_back(qpath);
  return Status();
}

// Zeroes [from, to) of a segment and syncs it. The block holding `from` is rewritten (with its
// bytes before `from` unchanged) only if it has non-zero bytes after `from`.
Status zero_range(FileSystem& fs, const std::string& path, uint64_t from, uint64_t to) {
  if (from >= to) return Status();
  CAIRN_ASSIGN_OR_RETURN(int fd, fs.open(path, OpenFlags{.write = true}));
  std::vector<std::byte> buf(1u << 20);
  Status st;
  uint64_t off = format::round_down(from, kBlockSize);
  if (off < from) {
    Result<size_t> got = fs.pread(fd, buf.data(), kBlockSize, off);
    st = got.ok() ? Status() : got.status();
    const auto tail_begin = buf.begin() + static_cast<ptrdiff_t>(from - off);
    const auto tail_end = buf.begin() + kBlockSize;
    // Rewrite the block only when its tail is not zero already: it may hold acknowledged frames.
    if (st.ok() &&
        std::any_of(tail_begin, tail_end, [](std::byte b) { return b != std::byte{0}; })) {
      std::fill(tail_begin, tail_end, std::byte{0});
      st = fs.pwrite(fd, buf.data(), kBlockSize, off);
    }
    off += kBlockSize;
  }
  std::fill(buf.begin(), buf.end(), std::byte{0});
  while (st.ok() && off < to) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), to - off));
    st = fs.pwrite(fd, buf.data(), n, off);
    off += n;
  }
  if (st.ok()) st = fs.fdatasync(fd);
  (void)fs.close(fd);  // durability is fdatasync's answer above; a close after it loses nothing
  return st.ok() ? st : st.with_context("zeroing the damaged end of " + path);
}

// Cuts segment `s` at `cut`: copies [cut, end of non-zero data) to the quarantine, then zeroes it.
Status cut_segment(FileSystem& fs, const std::string& dir, const SegmentScan& s, uint64_t cut,
                   uint64_t scan_to, const char* why, RecoveryReport* report) {
  const std::string path = join_path(dir, s.file.name);
  SegmentCursor cursor(fs, path, s.file, 4u << 20, nullptr);
  CAIRN_RETURN_IF_ERROR(cursor.open());
  CAIRN_ASSIGN_OR_RETURN(uint64_t extent, cursor.nonzero_extent(cut, scan_to));
  if (extent <= cut) return Status();
  const std::string qname = s.file.name + ".at-" + std::to_string(cut) + "." + why;
  CAIRN_RETURN_IF_ERROR(quarantine_copy(fs, dir, path, cut, extent, qname, report));
  return zero_range(fs, path, cut, extent);
}

// Writes zeros from the end of segment file `s` up to `to` bytes, and syncs it: the writer may
// append into it, and a later open must find it at that size. For a file something cut short,
// `to` is the size its header names; for one whose header is gone and whose size no log makes
// (zeroed by the cut before this), a size the writer can fill. Zeros, not a hole: the log's
// writes land on blocks that exist, as in any segment it made.
Status grow_with_zeros(FileSystem& fs, const std::string& dir, const SegmentScan& s, uint64_t to,
                       RecoveryReport* report) {
  CAIRN_CHECK(s.file_size < to);
  const std::string path = join_path(dir, s.file.name);
  CAIRN_ASSIGN_OR_RETURN(int fd, fs.open(path, OpenFlags{.write = true}));
  const std::vector<std::byte> zeros(1u << 20);
  Status st;
  for (uint64_t off = s.file_size; off < to && st.ok();) {
    // The first write ends on a chunk boundary, so the rest are whole chunks.
    const uint64_t chunk_end = std::min(format::round_down(off, zeros.size()) + zeros.size(), to);
    st = fs.pwrite(fd, zeros.data(), static_cast<size_t>(chunk_end - off), off);
    off = chunk_end;
  }
  if (st.ok()) st = fs.fdatasync(fd);
  Result<uint64_t> size = st.ok() ? fs.file_size(fd) : Result<uint64_t>(st);
  (void)fs.close(fd);  // durability is fdatasync's answer above; a close after it loses nothing
  if (size.ok() && *size != to) {
    size = Status(StatusCode::kIoError, "the file is " + std::to_string(*size) +
                                            " bytes after the write, not " + std::to_string(to));
  }
  if (!size.ok()) {
    return size.status().with_context("writing zeros to " + path + " up to " + std::to_string(to) +
                                      " bytes");
  }
  report->files_restored.push_back(s.file.name);
  return Status();
}

// After a cut: the size segment `s` must have for the log to go on in it, when it lacks it. A
// file cut short goes back to the size its header names. One whose header was damaged (now
// zeroed) keeps its size when the log can make a segment of it, and otherwise grows to the
// next such size, at least the log's first segment size.
std::optional<uint64_t> size_to_restore(const SegmentScan& s, const LogOptions& options) {
  if (s.is_short()) return s.segment_bytes;
  if (s.stop != SegmentScan::Stop::kBadHeader || format::is_segment_size(s.file_size)) {
    return std::nullopt;
  }
  return std::max(format::round_up(s.file_size, kBlockSize), first_segment_bytes(options));
}

// Moves whole segments into the quarantine (kPointInTime).
Status quarantine_segments(FileSystem& fs, const std::string& dir,
                           const std::vector<SegmentFile>& segments, RecoveryReport* report) {
  if (segments.empty()) return Status();
  std::string qdir;
  CAIRN_RETURN_IF_ERROR(quarantine_dir(fs, dir, &qdir));
  // Newest first, each rename synced before the next: whatever a crash or power cut keeps, the
  // segments left are a prefix of the log, which the next recovery opens (or repairs) as usual.
  for (auto f = segments.rbegin(); f != segments.rend(); ++f) {
    // A repaired log grows again through the same segment names (the next segment begins where
    // the last kept one ends), so a second repair can move a segment of a name moved before.
    CAIRN_ASSIGN_OR_RETURN(std::string to, unused_path_in(fs, qdir, f->name));
    CAIRN_RETURN_IF_ERROR(fs.rename(join_path(dir, f->name), to));
    CAIRN_RETURN_IF_ERROR(fs.fsync_dir(qdir));
    CAIRN_RETURN_IF_ERROR(fs.fsync_dir(dir));
    report->quarantined_files.push_back(to);
  }
  std::reverse(report->quarantined_files.end() - static_cast<ptrdiff_t>(segments.size()),
               report->quarantined_files.end());
  return Status();
}

Status refuse(const std::string& dir, const Damage& d, const char* mode_hint) {
  return Status(StatusCode::kCorruption, "log " + dir +
                                             " is damaged and was not opened: " + d.to_string() +
                                             ". Nothing was changed. `cairn log verify " + dir +
                                             "` shows the details; " + mode_hint);
}

Result<RecoveredLog> create_first_segment(FileSystem& fs, const std::string& dir,
                                          const LogOptions& options, RecoveryReport* report) {
  const std::string spare = join_path(dir, std::string(format::kPreallocPrefix) + "0.tmp");
  const uint64_t bytes = first_segment_bytes(options);
  CAIRN_RETURN_IF_ERROR(SegmentPreparer::prepare_file(fs, dir, spare, bytes));
  RecoveredLog out;
  out.active = ActiveSegment{1, 0, format::segment_file_name(1, 0), -1, 0, bytes, false};
  CAIRN_RETURN_IF_ERROR(fs.rename(spare, join_path(dir, out.active.name)));
  CAIRN_RETURN_IF_ERROR(fs.fsync_dir(dir));
  report->created = true;
  report->segments = 1;
  return out;
}

// Zero-filled spares (prealloc-*) may be half made: a crash can interrupt the fill. They go.
// Recycled files stay: their contents never mattered (a recycled segment's header is zeroed
// before it is used, and readers tell its old frames by their LSNs), and Log::open hands them back
// to the preparer, so that a restart does not cost the next segments a write of zeros.
// Zero-filled spares always go (a crash can leave one half filled); recycled ones only with
// `recycled` (see recover_log).
Status remove_spares(FileSystem& fs, const std::string& dir, const DirectoryListing& listing,
                     bool recycled) {
  for (const std::string& name : listing.prealloc_files) {
    if (!name.starts_with(format::kPreallocPrefix) &&
        !(recycled && name.starts_with(format::kRecycledPrefix))) {
      continue;
    }
    CAIRN_RETURN_IF_ERROR(fs.remove(join_path(dir, name)));
  }
  return Status();
}

// A point-in-time repair scans again after each damage it repairs, until a scan finds the log
// intact. `repaired`: the damage the pass before this one repaired (empty on the first scan);
// `pass`: how many repairs this open made so far.
Result<RecoveredLog> recover_segments(FileSystem& fs, const std::string& dir,
                                      const LogOptions& options, PayloadVerifier verifier,
                                      std::optional<CleanClose> clean_close,
                                      std::vector<SegmentFile>& segs, RecoveryReport* report,
                                      const std::string& repaired = "", size_t pass = 0);

// Before a point-in-time repair scans again: what the earlier passes counted is counted again.
Result<RecoveredLog> scan_again(FileSystem& fs, const std::string& dir, const LogOptions& options,
                                PayloadVerifier verifier, std::optional<CleanClose> clean_close,
                                std::vector<SegmentFile>& segs, RecoveryReport* report,
                                const Damage& repaired, size_t pass) {
  // Each pass repairs another damage in one of the segments (at most a few each: a file cut
  // short, then its torn end once it is the last): a bound that only a loop this code does not
  // foresee reaches.
  if (pass > 8 + 4 * segs.size()) {
    return Status(StatusCode::kCorruption,
                  "log " + dir + ": the point-in-time repair made " + std::to_string(pass) +
                      " repairs and still finds damage (" + repaired.to_string() +
                      "); it stopped, and what it took out so far is in " +
                      join_path(dir, std::string(format::kQuarantineDir)));
  }
  report->records_verified = 0;
  report->records_followed = 0;
  return recover_segments(fs, dir, options, verifier, clean_close, segs, report,
                          repaired.to_string(), pass + 1);
}

}  // namespace

uint64_t tail_window_bytes(const LogOptions& options) {
  return uint64_t{options.writes_in_flight_max} * options.batch_bytes_max;
}

Result<RecoveredLog> recover_log(FileSystem& fs, const std::string& dir, const LogOptions& options,
                                 PayloadVerifier verifier, std::optional<CleanClose> clean_close,
                                 RecoveryReport* report) {
  CAIRN_ASSIGN_OR_RETURN(DirectoryListing listing, list_log_directory(fs, dir));
  std::vector<SegmentFile>& segs = listing.segments;
  if (segs.empty()) {
    // A new log starts at LSN 0: a recycled file left from segments that are gone (deleted by
    // hand) could hold frames at or past the new stream's LSNs, where readers rely on old frames
    // having lower ones. Only a log's own recycled files are reused.
    CAIRN_RETURN_IF_ERROR(remove_spares(fs, dir, listing, /*recycled=*/true));
    return create_first_segment(fs, dir, options, report);
  }
  CAIRN_ASSIGN_OR_RETURN(RecoveredLog out,
                         recover_segments(fs, dir, options, verifier, clean_close, segs, report));
  // Spares never hold records; half-made ones go only once the log is going to open (a refused
  // open changes nothing).
  CAIRN_RETURN_IF_ERROR(remove_spares(fs, dir, listing, /*recycled=*/false));
  return out;
}

namespace {

Result<RecoveredLog> recover_segments(FileSystem& fs, const std::string& dir,
                                      const LogOptions& options, PayloadVerifier verifier,
                                      std::optional<CleanClose> clean_close,
                                      std::vector<SegmentFile>& segs, RecoveryReport* report,
                                      const std::string& repaired, size_t pass) {
  const bool point_in_time = options.recovery_mode == RecoveryMode::kPointInTime;
  if (auto d = check_segment_sequence(segs)) {
    if (!point_in_time)
      return refuse(dir, *d, "RecoveryMode::kPointInTime opens the log before the break.");
    // Keep the segments before the break; move the rest aside.
    auto bad = std::find_if(segs.begin(), segs.end(),
                            [&](const SegmentFile& f) { return f.name == d->file; });
    CAIRN_RETURN_IF_ERROR(
        quarantine_segments(fs, dir, std::vector<SegmentFile>(bad, segs.end()), report));
    segs.erase(bad, segs.end());
    report->damage = d->to_string();
  }

  const uint64_t window = tail_window_bytes(options);
  const size_t n = segs.size();
  // Point-in-time recovery must find the first damage wherever it is: it reads everything.
  const size_t verified = point_in_time ? 0 : options.segments_verified_on_open;
  const size_t first = (verified == 0 || verified >= n) ? 0 : n - verified;
  ScanOptions so;
  so.tail_window_bytes = window;
  so.payload_verifier = verifier;
  so.check_from = options.open_checks_from;
  so.check_from_frame = options.open_checks_from_frame;
  // Point-in-time recovery looks at everything, past a clean end too.
  if (!point_in_time) so.clean_close = clean_close;
  so.known_durable = durable_by_clean_close(clean_close, segs);
  CAIRN_ASSIGN_OR_RETURN(
      LogScan scan,
      scan_log(fs, dir, std::vector<SegmentFile>(segs.begin() + first, segs.end()), so));
  if (scan.last_with_data < 0 && first > 0) {
    Damage d;
    d.kind = DamageKind::kBrokenSequence;
    d.file = segs[first].name;
    d.what = "the last segments hold no records although earlier ones exist";
    return refuse(dir, d, "this needs a manual look.");
  }
  for (const SegmentScan& s : scan.segments) {
    report->records_verified += s.records;
    report->records_followed += s.records_followed;
  }

  if (scan.damage) {
    const Damage& d = *scan.damage;
    const bool torn = d.kind == DamageKind::kTornTail;
    const bool cut_ok =
        (torn && options.recovery_mode != RecoveryMode::kAbsoluteConsistency) || point_in_time;
    if (!cut_ok) {
      return refuse(dir, d,
                    torn ? "RecoveryMode::kTolerateTornTail cuts it (the default)."
                    : d.size_only
                        ? "RecoveryMode::kPointInTime writes the file back to its size, keeping "
                          "its records, then repairs any damage after it."
                        : "RecoveryMode::kPointInTime opens the log at the last intact record, "
                          "keeping everything after it in the quarantine directory.");
    }
    if (!repaired.empty() && d.to_string() == repaired) {
      // Each repair moves segments aside or changes the damaged one, so that the next scan
      // finds other damage or none. The same damage again means this code does not understand
      // what it sees: it stops rather than go on changing the directory.
      return Status(StatusCode::kCorruption,
                    "log " + dir +
                        ": the point-in-time repair found the damage it had just "
                        "repaired again (" +
                        d.to_string() + "), and stopped; what it took out so far is in " +
                        join_path(dir, std::string(format::kQuarantineDir)));
    }
    auto it = std::find_if(scan.segments.begin(), scan.segments.end(),
                           [&](const SegmentScan& s) { return s.file.name == d.file; });
    CAIRN_CHECK(it != scan.segments.end());
    CAIRN_CHECK(!d.size_only || (point_in_time && it->is_short()));
    // A segment that does not begin where the one before it ends (kPointInTime only): it and
    // everything after it go to the quarantine, and the log ends where the one before it does.
    // (Cutting it at its own end, as damage inside a segment is cut, kept it, and the log stayed
    // damaged for good: a repair killed between its cut and its moves leaves exactly that.)
    const bool broken_sequence = d.kind == DamageKind::kBrokenSequence;
    CAIRN_CHECK(!broken_sequence || it != scan.segments.begin());
    const size_t bad_idx = first + static_cast<size_t>(it - scan.segments.begin());
    if (broken_sequence) --it;
    const SegmentScan& s = *it;
    const size_t idx = first + static_cast<size_t>(it - scan.segments.begin());
    CAIRN_CHECK(!torn || idx + 1 == segs.size());
    // Everything after the damaged segment goes to the quarantine first (kPointInTime only: a
    // torn tail is by definition in the last segment file), so that a repair cut short leaves
    // the damage in the last segment, where the next one finds and cuts it. Nothing goes when
    // the damage took no record (size_only): the segment is cut after its records and gets its
    // size back, and the scan that follows looks at the segments after it.
    const size_t moved_from = d.size_only ? segs.size() : broken_sequence ? bad_idx : idx + 1;
    CAIRN_RETURN_IF_ERROR(quarantine_segments(
        fs, dir,
        std::vector<SegmentFile>(segs.begin() + static_cast<ptrdiff_t>(moved_from), segs.end()),
        report));
    const uint64_t cut = broken_sequence                           ? s.data_end
                         : s.stop == SegmentScan::Stop::kBadHeader ? 0
                                                                   : s.data_end;
    if (!broken_sequence) {
      const uint64_t scan_to =
          torn ? std::max(d.offset + d.bytes_after, cut + window) + kBlockSize : s.file_size;
      CAIRN_RETURN_IF_ERROR(
          cut_segment(fs, dir, s, cut, scan_to, torn ? "torn" : "damaged", report));
      // The log goes on writing into it, at a size it can fill: a file cut short lacks the size
      // its header names, and one whose header was bad may have a size no log makes (it was
      // extended, or is shorter than a header).
      if (const std::optional<uint64_t> to = size_to_restore(s, options)) {
        CAIRN_RETURN_IF_ERROR(grow_with_zeros(fs, dir, s, *to, report));
      }
    }
    report->damage = (report->damage.empty() ? "" : report->damage + "; ") + d.to_string() +
                     (torn          ? " — cut"
                      : d.size_only ? " — written back to its size, every record kept"
                                    : " — log opened before it (point in time)");
    if (point_in_time) {
      // What was the last segment's neighbour may now be the last segment, and bytes after its
      // records that were no damage there (intact frames a zeroed word hid, which only the last
      // segment is searched for) are a torn tail here: a repair ends with a log that verifies
      // intact, so it looks again (found by segment_scan_fuzz).
      segs.erase(segs.begin() + static_cast<ptrdiff_t>(moved_from), segs.end());
      return scan_again(fs, dir, options, verifier, clean_close, segs, report, d, pass);
    }
    // The log now ends where the damaged segment's intact records end (a torn tail: a file cut
    // short is corruption, which only kPointInTime repairs, above).
    CAIRN_CHECK(torn && !s.is_short());
    RecoveredLog out;
    out.active = ActiveSegment{
        s.file.seq, s.file.first_lsn, s.file.name, -1, format::round_up(cut, kBlockSize),
        s.file_size};
    out.end_lsn = s.end_lsn;
    report->segments = static_cast<uint32_t>(idx + 1);
    report->first_lsn = segs.front().first_lsn;
    report->end_lsn = out.end_lsn;
    return out;
  }

  // Intact. Continue in the last segment: the empty one at the end if there is one.
  const SegmentScan& last = scan.segments.back();
  RecoveredLog out;
  out.end_lsn = last.end_lsn;
  const uint64_t offset =
      last.stop == SegmentScan::Stop::kEmpty ? 0 : format::round_up(last.data_end, kBlockSize);
  out.active =
      ActiveSegment{last.file.seq, last.file.first_lsn, last.file.name, -1, offset, last.file_size};
  report->segments = static_cast<uint32_t>(n);
  report->first_lsn = segs.front().first_lsn;
  report->end_lsn = out.end_lsn;
  report->closed_cleanly = last.closed_cleanly;
  return out;
}

}  // namespace

}  // namespace cairn::log
