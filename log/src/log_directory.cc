// Listing a log directory and checking the sequence of its segment names.
#include "log_directory.h"

#include <algorithm>

#include "frame_format.h"

namespace cairn::log {

std::string join_path(const std::string& dir, const std::string& name) {
  if (dir.empty() || dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

Result<DirectoryListing> list_log_directory(FileSystem& fs, const std::string& dir) {
  CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> names, fs.list_dir(dir));
  DirectoryListing out;
  for (const std::string& name : names) {
    if (auto parsed = format::parse_segment_file_name(name)) {
      out.segments.push_back(SegmentFile{name, parsed->seq, parsed->first_lsn});
    } else if (name.starts_with(format::kPreallocPrefix)) {
      out.prealloc_files.push_back(name);
    }
  }
  std::sort(out.segments.begin(), out.segments.end(),
            [](const SegmentFile& a, const SegmentFile& b) { return a.seq < b.seq; });
  return out;
}

std::optional<Damage> check_segment_sequence(const std::vector<SegmentFile>& segments) {
  for (size_t i = 1; i < segments.size(); ++i) {
    const SegmentFile& prev = segments[i - 1];
    const SegmentFile& cur = segments[i];
    Damage d;
    d.kind = DamageKind::kBrokenSequence;
    d.file = cur.name;
    d.lsn = cur.first_lsn;
    if (cur.seq != prev.seq + 1) {
      if (cur.seq == prev.seq) {
        d.what = "two segments have sequence number " + std::to_string(cur.seq);
      } else if (cur.seq == prev.seq + 2) {
        d.what = "segment " + std::to_string(prev.seq + 1) + " is missing";
      } else {
        d.what = "segments " + std::to_string(prev.seq + 1) + ".." + std::to_string(cur.seq - 1) +
                 " are missing";
      }
      return d;
    }
    if (cur.first_lsn <= prev.first_lsn) {
      d.what = "first LSN " + std::to_string(cur.first_lsn) + " is not after the previous " +
               "segment's first LSN " + std::to_string(prev.first_lsn);
      return d;
    }
  }
  return std::nullopt;
}

}  // namespace cairn::log
