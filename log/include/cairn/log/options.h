// LogOptions: every limit and mode of the log, with its default and what happens at the limit.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "cairn/log/io.h"
#include "cairn/log/types.h"

namespace cairn::log {

enum class Durability : uint8_t {
  // A record is acknowledged only once it is on stable storage (O_DSYNC write or fdatasync).
  kFsync,
  // UNSAFE: records are acknowledged once written to the OS, never synced. A power loss or kernel
  // crash loses acknowledged records. For tests and benchmarks only.
  kNoneUnsafe,
};

enum class IoMode : uint8_t {
  kAuto,      // direct I/O (O_DIRECT|O_DSYNC) when the file system supports it, else buffered
  kDirect,    // direct I/O or fail to open
  kBuffered,  // page cache writes, made durable with fdatasync
};

// What Log::open does with damage it finds (the names follow RocksDB's WAL recovery modes).
enum class RecoveryMode : uint8_t {
  // Default. A torn tail (damage in the last segment followed by no more than one tail window of
  // unacknowledged data) is cut: its bytes are copied to DIR/quarantine/ and zeroed in place.
  // Any other damage refuses to open, naming the file, offset and LSN.
  kTolerateTornTail,
  // Any damage, even a torn tail, refuses to open.
  kAbsoluteConsistency,
  // Opens at the first damage wherever it is: the damaged segment and everything after it are
  // copied to DIR/quarantine/ first, then the log continues from the last intact record. Records
  // after the damage are no longer in the log (they stay in the quarantine); the recovery report
  // says how many bytes and which files. Use only after reading `cairn log verify`.
  kPointInTime,
};

struct LogOptions {
  // Largest size of a segment file. A multiple of 4 KiB, at least 1 MiB and at most 4 GiB (a new
  // segment is written whole, with zeros, before its first record).
  // Default: 64 MiB.
  uint64_t segment_bytes = 64ull << 20;

  // Size of a new log's first segment: each next segment is twice the last, up to segment_bytes,
  // so a small log stays small. Raised to what one record of record_bytes_max needs (at least
  // 1 MiB). A multiple of 4 KiB.
  // Default: 1 MiB.
  uint64_t segment_bytes_initial = 1ull << 20;

  // Segments that left the log (Log::remove_segments_before) kept as spares for the next ones:
  // writing into a recycled segment writes nothing twice (a new segment is first filled with
  // zeros). More are deleted.
  // Default: 4.
  uint32_t recycled_segments_max = 4;

  // Largest payload one record may have. append() returns kLimitExceeded above it.
  // Default: 1 MiB. At most 64 MiB, and its frame (the payload rounded up to 8 bytes, plus a
  // 24-byte header) and 8 KiB more must fit batch_bytes_max.
  uint32_t record_bytes_max = 1u << 20;

  // Largest write the writer issues (records plus padding). A batch closes at this size even if
  // more records are waiting; they go into the next batch. At least 64 KiB, a multiple of 4 KiB,
  // at most segment_bytes.
  // Default: 4 MiB.
  uint32_t batch_bytes_max = 4u << 20;

  // Batches written concurrently. 2 lets the next batch be written while the previous one is
  // becoming durable; acknowledgements stay in LSN order. 1 or 2.
  // Default: 2.
  uint32_t writes_in_flight_max = 2;

  // Bytes of records that may be appended but not yet durable (the queue depth, in bytes; rounded
  // up to a power of two). At the limit append() blocks until the writer catches up. At least two
  // frames of record_bytes_max, at most 16 GiB; open() fails with kLimitExceeded when the system
  // refuses that much memory.
  // Default: 32 MiB.
  uint64_t staging_bytes = 32ull << 20;

  Durability durability = Durability::kFsync;
  IoMode io_mode = IoMode::kAuto;
  RecoveryMode recovery_mode = RecoveryMode::kTolerateTornTail;

  // Segments whose checksums Log::open verifies, counted from the end (the rest are checked by
  // their names and headers, and fully by any reader). 0 verifies all.
  // Default: 2.
  uint32_t segments_verified_on_open = 2;
  // Frames wholly before this LSN are not checked on open, only followed (length and LSN chain)
  // to find the log's end: their owner needs none of them (the engine sets it to its newest
  // snapshot's LSN, so that a restart checks what it will replay, not the history the snapshot
  // covers). Readers check every frame they return; `cairn log verify` checks them all.
  // Default: 0 (everything in the verified segments is checked).
  Lsn open_checks_from = 0;
  // A record at or before open_checks_from (see FramePosition): open starts following its segment
  // there instead of at the segment's start (the engine passes the last record its snapshot
  // covers, so that a restart reads only what comes after). Default: none.
  FramePosition open_checks_from_frame{};

  // Create the directory and an empty log when there is none. Default: true.
  bool create_if_missing = true;

  // Where file operations go. Default (null): the real file system.
  std::shared_ptr<FileSystem> file_system{};

  // Makes the queue the writer submits to. Default (null): io_uring, or synchronous writes where
  // io_uring is unavailable.
  std::function<std::unique_ptr<IoQueue>()> io_queue_factory{};
};

}  // namespace cairn::log
