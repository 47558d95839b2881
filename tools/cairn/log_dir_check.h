// The check every `cairn log` command makes before it reads: that DIR is a readable directory
// holding at least one segment file. Its failures are usage errors (exit 2), not damage.
#pragma once

#include <filesystem>

#include "cairn/log/status.h"

namespace cairn::tools {

// OK when `dir` is a directory with at least one *.wal file; else a message that says what is
// wrong and what DIR should be.
Status check_log_dir(const std::filesystem::path& dir);

}  // namespace cairn::tools
