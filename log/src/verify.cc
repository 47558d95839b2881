// verify_log: a full scan of every segment, with per-type statistics and the first damage.
#include "cairn/log/verify.h"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "clean_close.h"
#include "frame_format.h"
#include "log_directory.h"
#include "log_scan.h"

namespace cairn::log {

std::string_view damage_kind_name(DamageKind kind) {
  switch (kind) {
    case DamageKind::kTornTail:
      return "torn tail";
    case DamageKind::kCorruption:
      return "corruption";
    case DamageKind::kBrokenSequence:
      return "broken segment sequence";
  }
  return "?";
}

bool is_segment_file_size(uint64_t bytes) {
  return format::is_segment_size(bytes);
}

std::string Damage::to_string() const {
  std::string s(damage_kind_name(kind));
  s += " in " + file + " at offset " + std::to_string(offset) + " (LSN " + std::to_string(lsn) +
       "): " + what;
  if (bytes_after > 0) {
    s += "; " + std::to_string(bytes_after) + " bytes from there to the end of the data";
  }
  return s;
}

namespace {

// Verifies run on the log of a running engine, whose retention may remove or recycle (rename,
// then overwrite) a segment while it is read: what that leaves looks like damage or a missing
// file. A scan that found either is repeated this many times in all while segments it listed have
// left the directory since.
constexpr int kScansWhileTheLogChanges = 3;

Result<VerifyReport> verify_once(FileSystem& fs, const std::string& dir,
                                 const VerifyOptions& options,
                                 std::vector<SegmentFile>* segments_read);

}  // namespace

Result<VerifyReport> verify_log(const std::filesystem::path& dir_path,
                                const VerifyOptions& options) {
  auto fs = options.file_system ? options.file_system : posix_file_system();
  const std::string dir = dir_path.string();
  CAIRN_ASSIGN_OR_RETURN(bool exists, fs->exists(dir));
  if (!exists) return Status(StatusCode::kNotFound, "no log directory " + dir);
  for (int scan = 1;; ++scan) {
    std::vector<SegmentFile> read;
    Result<VerifyReport> r = verify_once(*fs, dir, options, &read);
    if (r.ok() && r->intact()) return r;
    const std::optional<SegmentGone> gone = first_segment_gone(*fs, dir, read);
    if (!gone) return r;  // the damage (or error) is the log's own
    if (scan == kScansWhileTheLogChanges) {
      return Status(StatusCode::kNotFound,
                    "log " + dir + ": segment " + gone->name +
                        " left the log while it was verified, " + std::to_string(scan) +
                        " times over (a running engine's retention removes or recycles the "
                        "segments it no longer needs): verify it again");
    }
  }
}

namespace {

Result<VerifyReport> verify_once(FileSystem& fs, const std::string& dir,
                                 const VerifyOptions& options,
                                 std::vector<SegmentFile>* segments_read) {
  CAIRN_ASSIGN_OR_RETURN(DirectoryListing listing, list_log_directory(fs, dir));
  *segments_read = listing.segments;
  VerifyReport report;
  if (listing.segments.empty()) {
    return Status(StatusCode::kNotFound, "no log segments (*.wal) in " + dir);
  }
  uint64_t total = 0;
  for (const SegmentFile& f : listing.segments) {
    CAIRN_ASSIGN_OR_RETURN(int fd, fs.open(join_path(dir, f.name), OpenFlags{}));
    Result<uint64_t> size = fs.file_size(fd);
    (void)fs.close(fd);  // opened read-only to read its size: a failed close loses nothing
    if (!size.ok()) return size.status();
    total += *size;
  }
  ScanOptions so;
  so.payload_verifier = options.payload_verifier;
  so.tail_window_bytes = options.tail_window_bytes;
  // As the open judges it: a clean-close marker proves its records were durable.
  so.known_durable = std::max(options.known_durable_lsn,
                              durable_by_clean_close(read_clean_close(fs, dir), listing.segments));
  so.on_frame = [&](const format::DecodedFrame& f) {
    TypeCount& c = report.by_type[f.header.type];
    ++c.records;
    c.bytes += f.size;
  };
  uint64_t scanned = 0;
  so.on_bytes = [&](uint64_t n) {
    scanned += n;
    if (options.progress) options.progress(scanned, total);
  };
  std::optional<Damage> name_damage = check_segment_sequence(listing.segments);
  CAIRN_ASSIGN_OR_RETURN(LogScan scan, scan_log(fs, dir, listing.segments, so));
  report.damage = scan.damage;
  if (name_damage) {
    // A damage found by scanning an earlier segment comes first.
    bool earlier = false;
    for (const SegmentScan& s : scan.segments) {
      if (s.file.name == name_damage->file) break;
      if (scan.damage && s.file.name == scan.damage->file) earlier = true;
    }
    if (!earlier) report.damage = name_damage;
  }
  report.bytes_scanned = scanned;
  report.first_lsn = listing.segments.front().first_lsn;
  report.end_lsn = report.first_lsn;
  for (const SegmentScan& s : scan.segments) {
    report.segments.push_back(SegmentSummary{s.file.name, s.file.seq, s.file.first_lsn, s.end_lsn,
                                             s.records, s.data_end, s.file_size, s.segment_bytes});
    report.records += s.records;
    report.frame_bytes += s.frame_bytes;
    if (s.records > 0) report.end_lsn = s.end_lsn;
  }
  return report;
}

}  // namespace

}  // namespace cairn::log
