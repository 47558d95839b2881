// LogReader: reads records in LSN order, from any LSN, verifying every frame's checksum, the LSN
// chain and (with a payload verifier) each payload.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>

#include "cairn/log/io.h"
#include "cairn/log/status.h"
#include "cairn/log/types.h"

namespace cairn::log {

struct ReadRecord {
  Lsn lsn = 0;
  RecordType type = 0;
  std::span<const std::byte> payload;  // valid until the next call to next()
  uint64_t segment_seq = 0;            // where the frame is on disk
  uint64_t offset = 0;
};

struct ReaderOptions {
  // The first record returned is the one at this LSN, or the first one after it; the frames
  // before it are followed by their headers, not checked. Default: 0.
  Lsn from = 0;
  // A record at or before `from` (see FramePosition): reading starts there instead of at the start
  // of its segment. Default: none.
  FramePosition from_frame{};
  // Checks every payload before it is returned (see PayloadVerifier). Default (null): frames are
  // checked, payloads are not.
  PayloadVerifier payload_verifier = nullptr;
  // Bytes read from a segment at a time. Default: 4 MiB.
  size_t chunk_bytes = 4u << 20;
  // Default (null): the real file system.
  std::shared_ptr<FileSystem> file_system{};
};

class LogReader {
 public:
  // A reader of what is on disk in `dir` (no lock is taken; for tools and recovery).
  static Result<std::unique_ptr<LogReader>> open(const std::filesystem::path& dir,
                                                 ReaderOptions options);
  virtual ~LogReader() = default;

  // The next record; nullptr at the end of the log (for a live reader: at the end of what is
  // durable now: call again later for more). Damage is an error naming segment, offset and LSN.
  virtual Result<const ReadRecord*> next() = 0;
};

}  // namespace cairn::log
