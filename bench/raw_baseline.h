// The raw durable write paths the log is compared with, measured on the same file system as the
// log: (1) pwrite + fdatasync of one batch at a time, the bar the log issue names, and (2) the
// fastest path on this kind of disk: io_uring writes to an O_DIRECT|O_DSYNC file with two writes
// in flight (see ../shared/limits/durable_paths.c). Both write into a file that was pre-written
// with zeros and synced, cycling from offset 0: rewriting allocated, written blocks commits no
// metadata, exactly like the log's pre-written segments. Into a growing file the loop would be
// 1.6-3.4x slower and flatter the log.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "cairn/log/status.h"

namespace cairn::bench {

inline constexpr uint64_t kBaselineFileBytes = uint64_t{256} << 20;

// Writes `bytes` of zeros to a new file at `path` and fdatasyncs it.
Status prewrite_zero_file(const std::string& path, uint64_t bytes);

struct SyncLoopResult {
  uint64_t syncs = 0;
  double seconds = 0;
  uint32_t batch_bytes = 0;
  double fdatasync_median_us = 0;  // only the fdatasync call is timed
  double write_sync_p99_us = 0;    // pwrite + fdatasync, one after the other
  double syncs_per_s() const { return syncs / seconds; }
  double mb_per_s() const { return syncs_per_s() * batch_bytes / 1e6; }
};

// pwrite(batch_bytes) + fdatasync in a loop for `seconds`, cycling through the pre-written file.
Result<SyncLoopResult> run_write_fdatasync_loop(const std::string& path, uint64_t file_bytes,
                                                uint32_t batch_bytes, double seconds);

struct DirectLoopResult {
  uint64_t writes = 0;
  double seconds = 0;
  uint32_t batch_bytes = 0;
  double write_median_us = 0;  // submit to completion of one O_DSYNC write
  double write_p99_us = 0;
  double writes_per_s() const { return writes / seconds; }
  double mb_per_s() const { return writes_per_s() * batch_bytes / 1e6; }
};

// io_uring writes of batch_bytes (a multiple of 4 KiB) to the pre-written file opened
// O_DIRECT|O_DSYNC, two in flight, for `seconds`. nullopt when the file system refuses O_DIRECT
// (tmpfs).
Result<std::optional<DirectLoopResult>> run_direct_dsync_loop(const std::string& path,
                                                              uint64_t file_bytes,
                                                              uint32_t batch_bytes, double seconds);

}  // namespace cairn::bench
