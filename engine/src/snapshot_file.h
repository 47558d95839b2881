// Snapshot files: how the engine's state as of an LSN is laid out on disk, written atomically and
// read back only when every byte checks out. The state itself (what goes into the frames) is the
// projection's business (projection_snapshot.cc); this file owns the bytes:
//
//   file    = magic "CAIRNSNP" | u32 format version | u32 reserved (0) | frame...
//   frame   = u32 kind | u32 payload length | u64 XXH3 of (kind, length, payload) | payload
//   kinds   : 1 SnapshotHeader, 2 SnapshotChunk (any number), 3 SnapshotEnd (last)
//
// A file is DIR/snapshots/snapshot-<LSN, 20 digits>.snap. It is written as a .tmp file, fsynced,
// renamed and the directory fsynced, so a name without .tmp always means a whole file. A file
// that fails any check is damaged (recovery reports it and uses an older one); a file with a
// newer format version is refused (recovery stops: an older Cairn must not guess).
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "cairn/log/io.h"
#include "cairn/log/status.h"
#include "cairn/log/types.h"

namespace cairn::detail {

// The newest format this build reads and writes. A file is written as version 1 unless it needs
// what version 2 added (SnapRunMore pieces of a run too large for one frame) or version 3 (a run
// whose ctx.send_event waits to be tried again), so that an older Cairn still reads every
// snapshot it could read before, and refuses only those it would misread.
inline constexpr uint32_t kSnapshotFormatVersion = 3;
inline constexpr uint32_t kSnapshotFormatVersionBase = 1;
inline constexpr uint32_t kSnapshotFrameBytesMax = 64u << 20;
// Bytes of a run's history, and of its batch, that its own frame holds; the rest follows in
// SnapRunMore pieces of this size (projection_snapshot.cc).
inline constexpr size_t kSnapshotPieceBytes = 4u << 20;

enum class SnapshotFrameKind : uint32_t { kHeader = 1, kChunk = 2, kEnd = 3 };

struct SnapshotName {
  uint64_t lsn = 0;
  std::string name;  // file name inside the snapshot directory
};

std::string snapshot_file_name(uint64_t lsn);
// The snapshots in `dir`, newest (highest LSN) first. `remove_leftovers`: .tmp files (writes a
// crash interrupted) are removed — the engine's listing; tools that only read pass false.
Result<std::vector<SnapshotName>> list_snapshots(log::FileSystem& fs, const std::string& dir,
                                                 bool remove_leftovers = true);

// Writes one snapshot: append frames, then commit() (fsync, rename, directory fsync). Destroying
// an uncommitted writer removes its temporary file. `bytes_max` (snapshot_bytes_max): add()
// refuses a frame that would take the file past it (kLimitExceeded), so a snapshot recovery would
// refuse to load is given up as soon as it passes the limit, and never committed.
class SnapshotFileWriter {
 public:
  static Result<std::unique_ptr<SnapshotFileWriter>> create(std::shared_ptr<log::FileSystem> fs,
                                                            std::string dir, uint64_t lsn,
                                                            uint64_t bytes_max = UINT64_MAX);
  ~SnapshotFileWriter();
  Status add(SnapshotFrameKind kind, std::span<const uint8_t> payload);
  // The file holds something only a reader of `version` (at most kSnapshotFormatVersion) reads
  // right: commit() writes that version into the file's header.
  void require_version(uint32_t version) { version_ = std::max(version_, version); }
  Status commit();
  // The file's size once committed: what was written and what is still buffered.
  uint64_t bytes() const { return offset_ + buf_.size(); }

 private:
  SnapshotFileWriter(std::shared_ptr<log::FileSystem> fs, std::string dir, uint64_t lsn, int fd,
                     uint64_t bytes_max);
  Status flush();
  std::shared_ptr<log::FileSystem> fs_;
  std::string dir_;
  std::string tmp_path_;
  std::string path_;
  int fd_ = -1;
  uint64_t bytes_max_ = UINT64_MAX;
  uint64_t offset_ = 0;
  uint32_t version_ = kSnapshotFormatVersionBase;
  std::vector<uint8_t> buf_;  // written in pieces of ~1 MiB
  bool committed_ = false;
};

struct SnapshotFrame {
  SnapshotFrameKind kind = SnapshotFrameKind::kHeader;
  std::span<const uint8_t> payload;
};

// A whole snapshot file read into memory with its frames checked (checksums, order, and each
// payload by the FlatBuffers verifier of its table). kCorruption names the file, offset and what
// is wrong; *newer_format is set when that is a format version newer than this build reads.
struct SnapshotContents {
  std::vector<uint8_t> bytes;
  std::vector<SnapshotFrame> frames;  // point into bytes
};
Result<SnapshotContents> read_snapshot_file(log::FileSystem& fs, const std::string& path,
                                            uint64_t bytes_max, bool* newer_format);

// Where the last record a snapshot includes is in the log (SnapshotHeader.last_frame_*), from
// the checked contents or, before the log is open, from the file's header frame alone (checked
// the same way: magic, version, checksum, table). None when the file cannot tell: it is a hint
// (log::FramePosition), and what recovery trusts is still only read_snapshot_file's verdict.
log::FramePosition snapshot_last_frame(const SnapshotContents& snapshot);
log::FramePosition read_snapshot_last_frame(log::FileSystem& fs, const std::string& path);

// The newest of `newest_first` (in `dir`) that begins with the snapshot magic. Its name proves the
// records before its LSN durable even when its contents are damaged: the engine renames a
// snapshot to its name only after the records it covers were durable. A file that does not begin
// as a snapshot is no snapshot the engine wrote, and its name proves nothing (a stray file named
// with a huge LSN made the first start refuse the log, and the second, after moving it aside,
// cut the same damage as a torn tail).
std::optional<SnapshotName> newest_snapshot_by_name(log::FileSystem& fs, const std::string& dir,
                                                    const std::vector<SnapshotName>& newest_first);

}  // namespace cairn::detail
