// What retention keeps in an engine's log, and why: `cairn log stats` adds it when the log
// directory is an engine's (DIR/log beside DIR/snapshots). Read-only: snapshots are read and
// checked, and the engine's options file (DIR/OPTIONS) says whether retention is on and its
// history window; nothing is removed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cairn::tools {

struct SnapshotSummary {
  std::string file;
  uint64_t lsn = 0;  // covers every record below it
  uint64_t bytes = 0;
  std::string problem;                      // empty when it reads and checks whole
  uint64_t unfinished_runs = 0;             // from its header (when it reads)
  std::optional<uint64_t> oldest_live_lsn;  // where its oldest unfinished run began
  // Where the earliest run that finished within the history window began (its retention floor
  // for finished runs); none when no such run. `floor_unknown`: a snapshot from before the floor
  // was saved (the engine then keeps the whole log for a window after it).
  std::optional<uint64_t> finished_floor_lsn;
  bool floor_unknown = false;
};

struct RetentionReport {
  std::string snapshot_dir;
  std::vector<SnapshotSummary> snapshots;  // newest first
  uint64_t log_first_lsn = 0;
  std::vector<std::string> why;  // one line per reason, the binding one first
  // The engine's settings as its options file beside the log (DIR/OPTIONS) gives them: the path
  // when there is one, why it did not read (then the defaults are named instead), and its
  // retention and history window when it read.
  std::string options_file;
  std::string options_problem;
  std::optional<bool> snapshots_on;
  std::optional<bool> retention_on;
  std::optional<int64_t> history_window_ms;
};

// nullopt when `log_dir` has neither a snapshots directory nor an options file beside it (not an
// engine's log, or one an older engine wrote that never wrote a snapshot).
std::optional<RetentionReport> read_retention(const std::string& log_dir, uint64_t log_first_lsn);
std::string retention_text(const RetentionReport& r);
nlohmann::json retention_json(const RetentionReport& r);

}  // namespace cairn::tools
