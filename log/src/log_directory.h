// What is in a log directory: its segment files in order, leftover preallocated files, and the
// check that segment names form one unbroken sequence.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "cairn/log/io.h"
#include "cairn/log/verify.h"

namespace cairn::log {

struct SegmentFile {
  std::string name;
  uint64_t seq = 0;
  Lsn first_lsn = 0;
};

struct DirectoryListing {
  std::vector<SegmentFile> segments;  // sorted by seq
  // Spares: zero-filled (prealloc-*) or recycled (recycled-*) files; never hold records.
  std::vector<std::string> prealloc_files;
};

// The size of the file at `path`, opened read-only for it (and closed again).
Result<uint64_t> file_size_at(FileSystem& fs, const std::string& path);

Result<DirectoryListing> list_log_directory(FileSystem& fs, const std::string& dir);

// A segment a reader listed that is no longer in the directory, and where the log starts now.
struct SegmentGone {
  std::string name;
  std::optional<Lsn> log_starts_at;  // none: no segment is left
};

// The first of `read` that is no longer in `dir`, or none (also when `dir` cannot be listed).
// Segment names are never used again (the sequence number is in them), so a missing one was
// removed or recycled since it was listed: a running engine's retention, under a reader.
std::optional<SegmentGone> first_segment_gone(FileSystem& fs, const std::string& dir,
                                              std::span<const SegmentFile> read);

// The one rule for a log's segments: `next` follows `prev` when its sequence number is the next
// one and it starts where `prev` ends. `prev_end` is the LSN after prev's last record, or kNoLsn
// when only the names are known (then next must merely start after prev does). Returns why not,
// or nullopt when it follows.
std::optional<std::string> why_not_next_segment(const SegmentFile& prev, Lsn prev_end,
                                                const SegmentFile& next);

// Damage when the names skip a sequence number or their first LSNs do not increase.
std::optional<Damage> check_segment_sequence(const std::vector<SegmentFile>& segments);

std::string join_path(const std::string& dir, const std::string& name);

// The directory that holds `path` ("a/b" for "a/b/c", "." for "c", "/" for "/c").
std::string parent_path(const std::string& path);

// mkdir -p that survives a power cut: creates each missing directory of `path`, top down, and
// fsyncs the parent of each one it created before creating the next, so that once this returns
// every entry on the way is durable. Sets *created when it made `path` itself. A directory that
// already exists is left as it is.
Status create_dirs_durably(FileSystem& fs, const std::string& path, bool* created = nullptr);

}  // namespace cairn::log
