// verify_log: a full scan of a log directory that checks every frame and says what is wrong and
// where. `cairn log verify` and `cairn log stats` print its report; Log::open uses the same scan.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cairn/log/io.h"
#include "cairn/log/status.h"
#include "cairn/log/types.h"

namespace cairn::log {

enum class DamageKind : uint8_t {
  // Damage at the end of the last segment with at most one tail window of data after it: the
  // unacknowledged end of a write that was interrupted. Log::open cuts it by default.
  kTornTail,
  // A bad frame anywhere else: a flipped bit, overwritten bytes. Log::open refuses to open.
  kCorruption,
  // A segment is missing, misnamed, out of order, or does not start where the previous one ends.
  kBrokenSequence,
};

std::string_view damage_kind_name(DamageKind kind);

// Whether a segment file of this size is one a log makes: whole 4 KiB blocks, at least 8 KiB, at
// most 1 TiB. A repair grows a segment whose header it zeroed to such a size when it has another.
bool is_segment_file_size(uint64_t bytes);

struct Damage {
  DamageKind kind = DamageKind::kCorruption;
  std::string file{};        // segment file name
  uint64_t offset = 0;       // byte offset of the first bad frame in that file
  Lsn lsn = 0;               // the LSN the first bad frame should have had
  std::string what{};        // "checksum mismatch", "LSN 812 where 816 was expected", ...
  uint64_t bytes_after = 0;  // bytes from `offset` to the end of the data that follows
  // A segment file shorter than its header says, whose records are all there (the next segment
  // begins where they end): a repair (kPointInTime) restores its size and moves nothing for it.
  bool size_only = false;
  // With size_only: the first damage after this one (Damage::to_string), which the repair then
  // finds and repairs as usual; empty when the rest of the log is intact (every record stays).
  std::string damage_after{};
  std::string to_string() const;
};

struct SegmentSummary {
  std::string file{};
  uint64_t seq = 0;
  Lsn first_lsn = 0;
  Lsn end_lsn = 0;  // LSN after its last intact record
  uint64_t records = 0;
  uint64_t data_bytes = 0;  // bytes up to the end of its last intact record
  uint64_t file_bytes = 0;  // the file's size
  // The size its header names (0 when the header is not valid). Larger than file_bytes when
  // something cut the file short; a repair writes zeros up to it.
  uint64_t header_bytes = 0;
};

struct TypeCount {
  uint64_t records = 0;
  uint64_t bytes = 0;  // frame bytes
};

struct VerifyReport {
  std::vector<SegmentSummary> segments{};
  std::map<RecordType, TypeCount> by_type{};
  uint64_t records = 0;
  uint64_t frame_bytes = 0;    // sum of the frames' sizes
  uint64_t bytes_scanned = 0;  // segment bytes read
  Lsn first_lsn = 0;
  Lsn end_lsn = 0;
  std::optional<Damage> damage{};  // the first damage; none when the log is intact
  bool intact() const { return !damage.has_value(); }
};

struct VerifyOptions {
  // Checks every payload (see PayloadVerifier). Default (null): frames only.
  PayloadVerifier payload_verifier = nullptr;
  // Bytes after a bad frame that may still hold data of a torn write: writes_in_flight_max *
  // batch_bytes_max of the options the log was written with. Default: that of LogOptions{}.
  uint64_t tail_window_bytes = 8ull << 20;
  // Records before this LSN are known to have been durable (the engine's newest snapshot covers
  // them, say): damage before it is corruption, never a torn tail a recovery may cut. Default 0.
  Lsn known_durable_lsn = 0;
  // Called now and then with (bytes scanned, bytes in all segments).
  std::function<void(uint64_t, uint64_t)> progress{};
  std::shared_ptr<FileSystem> file_system{};
};

// Reads every segment of the log in `dir`. Errors are only for what prevents reading at all (no
// such directory, an I/O error); damage is in the report. On a running engine's log, retention
// may remove or recycle a segment while it is read, which looks like damage or a missing file:
// a scan that found either while segments it listed left the directory is repeated (3 scans in
// all), then kNotFound says the log kept changing.
Result<VerifyReport> verify_log(const std::filesystem::path& dir, const VerifyOptions& options);

}  // namespace cairn::log
