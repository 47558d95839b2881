// Listing a log directory, checking the sequence of its segment names, finding a name not yet
// taken in it (for what is moved aside), and replacing a small file in it atomically.
#include "log_directory.h"

#include <algorithm>
#include <string_view>

#include "frame_format.h"

namespace cairn::log {

std::string join_path(const std::string& dir, const std::string& name) {
  if (dir.empty() || dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

Result<std::string> unused_path_in(FileSystem& fs, const std::string& dir,
                                   const std::string& name) {
  for (int n = 0; n <= 999; ++n) {
    std::string path = join_path(dir, n == 0 ? name : name + "." + std::to_string(n));
    CAIRN_ASSIGN_OR_RETURN(bool taken, fs.exists(path));
    if (!taken) return path;
  }
  return Status(StatusCode::kAlreadyExists, dir + " already holds " + name + " and " + name +
                                                ".1 to " + name + ".999: nothing was moved");
}

Status write_file_atomically(FileSystem& fs, const std::string& dir, const std::string& name,
                             std::span<const std::byte> bytes) {
  const std::string tmp = join_path(dir, name + ".tmp");
  // A leftover of an interrupted call: removed, not overwritten, since a longer one would keep
  // its tail past the new bytes.
  CAIRN_ASSIGN_OR_RETURN(bool leftover, fs.exists(tmp));
  if (leftover) CAIRN_RETURN_IF_ERROR(fs.remove(tmp));
  CAIRN_ASSIGN_OR_RETURN(int fd,
                         fs.open(tmp, OpenFlags{.write = true, .create = true, .exclusive = true}));
  Status st = bytes.empty() ? Status() : fs.pwrite(fd, bytes.data(), bytes.size(), 0);
  if (st.ok()) st = fs.fdatasync(fd);
  const Status closed = fs.close(fd);
  if (st.ok()) st = closed;
  if (st.ok()) st = fs.rename(tmp, join_path(dir, name));
  if (st.ok()) st = fs.fsync_dir(dir);
  return st;
}

std::string parent_path(const std::string& path) {
  size_t end = path.size();
  while (end > 1 && path[end - 1] == '/') --end;  // "a/b/" is "a/b"
  const size_t slash = path.rfind('/', end - 1);
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  size_t p = slash;
  while (p > 1 && path[p - 1] == '/') --p;
  return path.substr(0, p);
}

Status create_dirs_durably(FileSystem& fs, const std::string& path, bool* created) {
  if (created != nullptr) *created = false;
  // Every component of the path, deepest first, and whether it exists.
  std::vector<std::string> chain;
  size_t missing = 0;
  for (std::string p = path;;) {
    chain.push_back(p);
    CAIRN_ASSIGN_OR_RETURN(bool exists, fs.exists(p));
    if (!exists) missing = chain.size();
    const std::string up = parent_path(p);
    if (up == p || up == "." || up == "/") break;  // the root and "." are not ours to make
    p = up;
  }
  // Top down: create what is missing, and fsync the parent of every component, because an entry
  // survives a power cut only once its directory is synced. A component that exists may still be
  // undurable: an earlier open may have made it and died before its sync. Syncing the parent of
  // one that existed before is best effort (we may lack permission to open, say, a parent we
  // never wrote to); for one we create, a failed sync is an error.
  for (size_t i = chain.size(); i-- > 0;) {
    const std::string& dir = chain[i];
    const bool create = i < missing;
    if (create) {
      Status st = fs.create_dir(dir);
      // Made by someone else meanwhile: fine, and its entry still needs the sync below.
      if (!st.ok() && st.code() != StatusCode::kAlreadyExists) return st;
    }
    Status synced = fs.fsync_dir(parent_path(dir));
    if (!synced.ok() && create) return synced.with_context("making directory " + dir + " durable");
  }
  if (created != nullptr) *created = missing > 0;
  return Status();
}

Result<uint64_t> file_size_at(FileSystem& fs, const std::string& path) {
  CAIRN_ASSIGN_OR_RETURN(int fd, fs.open(path, OpenFlags{}));
  Result<uint64_t> bytes = fs.file_size(fd);
  (void)fs.close(fd);  // opened read-only for its size: a failed close loses nothing
  return bytes;
}

namespace {

// "prealloc-N.tmp" or "recycled-N.tmp", exactly as the log names its spares: the open deletes or
// reuses these, so a user's "recycled-notes.txt" must not match.
bool is_spare_file_name(std::string_view name) {
  for (const std::string_view prefix : {format::kPreallocPrefix, format::kRecycledPrefix}) {
    if (!name.starts_with(prefix) || !name.ends_with(".tmp")) continue;
    const std::string_view digits =
        name.substr(prefix.size(), name.size() - prefix.size() - std::string_view(".tmp").size());
    return !digits.empty() && digits.size() <= 20 &&
           digits.find_first_not_of("0123456789") == std::string_view::npos;
  }
  return false;
}

}  // namespace

Result<DirectoryListing> list_log_directory(FileSystem& fs, const std::string& dir) {
  CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> names, fs.list_dir(dir));
  DirectoryListing out;
  for (const std::string& name : names) {
    if (auto parsed = format::parse_segment_file_name(name)) {
      out.segments.push_back(SegmentFile{name, parsed->seq, parsed->first_lsn});
    } else if (is_spare_file_name(name)) {
      out.prealloc_files.push_back(name);
    }
  }
  std::sort(out.segments.begin(), out.segments.end(),
            [](const SegmentFile& a, const SegmentFile& b) { return a.seq < b.seq; });
  return out;
}

std::optional<SegmentGone> first_segment_gone(FileSystem& fs, const std::string& dir,
                                              std::span<const SegmentFile> read) {
  Result<DirectoryListing> now = list_log_directory(fs, dir);
  if (!now.ok()) return std::nullopt;
  for (const SegmentFile& f : read) {
    const bool listed = std::any_of(now->segments.begin(), now->segments.end(),
                                    [&](const SegmentFile& s) { return s.name == f.name; });
    if (listed) continue;
    SegmentGone gone{f.name, std::nullopt};
    if (!now->segments.empty()) gone.log_starts_at = now->segments.front().first_lsn;
    return gone;
  }
  return std::nullopt;
}

std::optional<std::string> why_not_next_segment(const SegmentFile& prev, Lsn prev_end,
                                                const SegmentFile& next) {
  if (next.seq == prev.seq) return "two segments have sequence number " + std::to_string(next.seq);
  if (next.seq == prev.seq + 2) return "segment " + std::to_string(prev.seq + 1) + " is missing";
  if (next.seq != prev.seq + 1) {
    return next.seq < prev.seq ? "sequence numbers out of order"
                               : "segments " + std::to_string(prev.seq + 1) + ".." +
                                     std::to_string(next.seq - 1) + " are missing";
  }
  // Also when the end is known: a segment holds at least one record before the next begins (the
  // writer writes a header only with the first batch, and rotates only for a record that does
  // not fit), so an empty one followed by another at its own first LSN is no log this writer made.
  if (next.first_lsn <= prev.first_lsn) {
    return "first LSN " + std::to_string(next.first_lsn) + " is not after the previous " +
           "segment's first LSN " + std::to_string(prev.first_lsn);
  }
  if (prev_end == kNoLsn || next.first_lsn == prev_end) return std::nullopt;
  return "segment starts at LSN " + std::to_string(next.first_lsn) + " but " + prev.name +
         " ends at LSN " + std::to_string(prev_end) + " (a segment is missing or misnamed)";
}

std::optional<Damage> check_segment_sequence(const std::vector<SegmentFile>& segments) {
  for (size_t i = 1; i < segments.size(); ++i) {
    if (auto why = why_not_next_segment(segments[i - 1], kNoLsn, segments[i])) {
      Damage d;
      d.kind = DamageKind::kBrokenSequence;
      d.file = segments[i].name;
      d.lsn = segments[i].first_lsn;
      d.what = std::move(*why);
      return d;
    }
  }
  return std::nullopt;
}

}  // namespace cairn::log
