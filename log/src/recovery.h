// Recovery on Log::open: finds where the log ends, cuts a torn tail (keeping a copy of every cut
// byte in DIR/quarantine/), refuses other damage unless the recovery mode says otherwise, and
// creates the first segment of a new log.
#pragma once

#include <optional>
#include <string>

#include "cairn/log/log.h"
#include "clean_close.h"
#include "log_writer.h"

namespace cairn::log {

struct RecoveredLog {
  ActiveSegment active;  // fd not open yet
  Lsn end_lsn = 0;
};

// Bytes after a bad frame that may belong to writes that were in flight when the process died.
uint64_t tail_window_bytes(const LogOptions& options);

// `verifier` checks payloads in the segments scanned (null: frames only). `clean_close`: the
// directory's clean-close marker, when it has a valid one (clean_close.h).
Result<RecoveredLog> recover_log(FileSystem& fs, const std::string& dir, const LogOptions& options,
                                 PayloadVerifier verifier, std::optional<CleanClose> clean_close,
                                 RecoveryReport* report);

}  // namespace cairn::log
