// The clean-close marker: a file named CLOSED in a log directory, written by Log::close when
// every appended record was durable and no write was in flight, naming the last segment and the
// LSN where its records end. The next Log::open that finds the last segment ending exactly there
// skips the searches for a torn write's frames past the end (SegmentCursor::find_later_frames,
// find_stale_frames), which read up to the tail window and the rest of the segment from disk: no
// write can have gone past that end since. Log::open removes the marker, and syncs the directory,
// before anything new is written, so a marker never outlives the state it describes. It is a hint
// only: a missing, unreadable, damaged or unmatched marker means the searches run, as after a
// crash. Layout (48 bytes, little-endian; docs/log_format.md):
//   0  magic "CAIRNCLS"   8  format version u32 (1)   12  zero u32
//   16 segment seq u64    24 segment first LSN u64    32  end LSN u64
//   40 XXH3-64 of bytes [0, 40)
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "cairn/log/io.h"
#include "cairn/log/status.h"
#include "cairn/log/types.h"

namespace cairn::log {

struct SegmentFile;  // log_directory.h

struct CleanClose {
  uint64_t seq = 0;   // the last segment
  Lsn first_lsn = 0;  // its first LSN (its name says so too)
  Lsn end_lsn = 0;    // the LSN after its last record
  bool operator==(const CleanClose&) const = default;
};

inline constexpr size_t kCleanCloseBytes = 48;

std::array<std::byte, kCleanCloseBytes> encode_clean_close(const CleanClose& marker);
// The marker in `bytes`, or nullopt and `why` when they are not one this format wrote (another
// size, magic or version, a checksum that does not match).
std::optional<CleanClose> decode_clean_close(std::span<const std::byte> bytes, std::string* why);

// Writes the marker durably: a temporary file, synced, renamed to CLOSED, the directory synced.
Status write_clean_close(FileSystem& fs, const std::string& dir, const CleanClose& marker);
// The marker in `dir`: nullopt when there is none, or when it cannot be read or decoded (a hint
// only: either way the open searches, as after a crash).
std::optional<CleanClose> read_clean_close(FileSystem& fs, const std::string& dir);
// The LSN before which the marker proves every record was durable: its end LSN when it names one
// of `segments` (its seq and first LSN), else 0. A close writes the marker only once every record
// is durable, and an open removes it (synced) before it acknowledges anything new, so damage
// before that LSN is never a torn write: recovery refuses it, and no longer cuts acknowledged
// records after a flipped bit in a cleanly closed log.
Lsn durable_by_clean_close(const std::optional<CleanClose>& marker,
                           const std::vector<SegmentFile>& segments);
// Removes the marker and a temporary file a close killed midway left (neither needs to exist).
// The caller syncs the directory before it writes anything the marker would misdescribe.
Status remove_clean_close(FileSystem& fs, const std::string& dir);

}  // namespace cairn::log
