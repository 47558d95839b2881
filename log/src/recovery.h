// Recovery on Log::open: finds where the log ends, cuts a torn tail (keeping a copy of every cut
// byte in DIR/quarantine/), refuses other damage unless the recovery mode says otherwise, and
// creates the first segment of a new log.
#pragma once

#include <string>

#include "cairn/log/log.h"
#include "log_writer.h"

namespace cairn::log {

struct RecoveredLog {
  ActiveSegment active;  // fd not open yet
  Lsn end_lsn = 0;
};

// Bytes after a bad frame that may belong to writes that were in flight when the process died.
uint64_t tail_window_bytes(const LogOptions& options);

// `verifier` checks payloads in the segments scanned (null: frames only).
Result<RecoveredLog> recover_log(FileSystem& fs, const std::string& dir, const LogOptions& options,
                                 PayloadVerifier verifier, RecoveryReport* report);

}  // namespace cairn::log
