// Retention report (see retention_report.h).
#include "retention_report.h"

#include <algorithm>
#include <filesystem>
#include <limits>

#include "cairn/log/io.h"
#include "cairn/schema/snapshot_generated.h"
#include "format.h"
#include "options_file.h"
#include "snapshot_file.h"
#include "time_text.h"

namespace cairn::tools {
namespace {

namespace fs = std::filesystem;

std::string lsn_text(uint64_t lsn) {
  return "LSN " + std::to_string(lsn);
}

// What the engine's options file says of retention; a file that does not read is reported, not
// a reason to fail the report.
void read_engine_settings(log::FileSystem& fsys, const fs::path& engine_dir, RetentionReport* r) {
  EngineOptions o;
  Result<std::optional<OptionsFileRead>> read = apply_options_file(fsys, engine_dir, &o);
  if (read.ok() && !read->has_value()) return;
  r->options_file = (engine_dir / kOptionsFileName).string();
  if (!read.ok()) {
    r->options_problem = read.status().message();
    return;
  }
  r->snapshots_on = o.snapshots;
  r->retention_on = o.retention;
  r->history_window_ms = o.history_window.count();
}

std::string history_window_text(const RetentionReport& r) {
  if (!r.history_window_ms) return "EngineOptions::history_window, 7 days by default";
  const int64_t ms = *r.history_window_ms;
  const std::string window = ms <= std::numeric_limits<int64_t>::max() / 1000
                                 ? duration_text(ms * 1000)
                                 : std::to_string(ms) + " ms";
  return "history_window " + window + " in " + r.options_file;
}

// The snapshots, and the reasons they and the history window give for where the log begins.
void read_snapshot_reasons(log::FileSystem& fsys, RetentionReport& r) {
  std::error_code ec;
  auto names = detail::list_snapshots(fsys, r.snapshot_dir, /*remove_leftovers=*/false);
  if (!names.ok()) {
    r.why.push_back("the snapshots could not be listed: " + names.status().to_string());
    return;
  }
  for (const detail::SnapshotName& n : *names) {
    SnapshotSummary s;
    s.file = n.name;
    s.lsn = n.lsn;
    const std::string path = r.snapshot_dir + "/" + n.name;
    s.bytes = fs::file_size(path, ec);
    if (ec) s.bytes = 0;  // not a regular file (its read below says what): no size to add up
    bool newer = false;
    auto c = detail::read_snapshot_file(fsys, path, ~uint64_t{0}, &newer);
    if (!c.ok()) {
      s.problem = c.status().message();
    } else {
      const auto* h =
          flatbuffers::GetRoot<schema::snapshot::SnapshotHeader>(c->frames.front().payload.data());
      s.unfinished_runs = h->runs();
      if (h->oldest_live_created_lsn() != ~uint64_t{0}) {
        s.oldest_live_lsn = h->oldest_live_created_lsn();
      }
      if (h->finished_floor() == nullptr) {
        s.floor_unknown = true;
      } else {
        for (const schema::snapshot::SnapFinishedFloor* b : *h->finished_floor()) {
          s.finished_floor_lsn =
              std::min(s.finished_floor_lsn.value_or(b->created_lsn()), b->created_lsn());
        }
      }
    }
    r.snapshots.push_back(std::move(s));
  }
  if (r.snapshots.empty()) {
    r.why.push_back("no snapshot yet: retention has not run, the whole log is kept");
    return;
  }
  const SnapshotSummary& oldest = r.snapshots.back();
  const SnapshotSummary& newest = r.snapshots.front();
  // Each reason with the LSN it keeps the log from; the binding one (the lowest) first.
  std::vector<std::pair<uint64_t, std::string>> reasons;
  reasons.emplace_back(oldest.lsn, "the oldest snapshot kept (" + oldest.file +
                                       ") covers records below " + lsn_text(oldest.lsn) +
                                       ": recovery may fall back to it and replay from there");
  if (newest.oldest_live_lsn) {
    reasons.emplace_back(*newest.oldest_live_lsn,
                         "the oldest unfinished run (in " + newest.file + ") began at " +
                             lsn_text(*newest.oldest_live_lsn) +
                             ": a run's records stay until it ends (run_history, the tools)");
  }
  if (newest.finished_floor_lsn) {
    reasons.emplace_back(*newest.finished_floor_lsn,
                         "the earliest run that finished within the history window (in " +
                             newest.file + ") began at " + lsn_text(*newest.finished_floor_lsn) +
                             ": a finished run stays whole for history_window after it ends");
  }
  if (newest.floor_unknown) {
    reasons.emplace_back(0, newest.file +
                                " was written before snapshots saved where finished runs began: "
                                "the whole log stays for history_window after its time");
  }
  std::stable_sort(reasons.begin(), reasons.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [lsn, text] : reasons) r.why.push_back(std::move(text));
  const uint64_t needed = reasons.front().first;
  if (r.log_first_lsn < needed && r.retention_on != false) {
    r.why.push_back("records from " + lsn_text(r.log_first_lsn) + " to " + lsn_text(needed) +
                    " are kept only by the history window (" + history_window_text(r) +
                    ": segments sealed within it stay), or retention has not run since");
  }
}

}  // namespace

std::optional<RetentionReport> read_retention(const std::string& log_dir, uint64_t log_first_lsn) {
  const fs::path snap_dir = fs::path(log_dir).lexically_normal().parent_path() / "snapshots";
  RetentionReport r;
  r.snapshot_dir = snap_dir.string();
  r.log_first_lsn = log_first_lsn;
  auto fsys = log::posix_file_system();
  read_engine_settings(*fsys, snap_dir.parent_path(), &r);
  std::error_code ec;
  if (fs::is_directory(snap_dir, ec)) {
    read_snapshot_reasons(*fsys, r);
  } else if (r.options_file.empty()) {
    return std::nullopt;  // neither snapshots nor an options file: not an engine's log
  } else if (r.snapshots_on == false) {
    // Retention runs after each snapshot: an engine that writes none never removes a segment.
    r.why.push_back("snapshots are off (snapshots = false in " + r.options_file +
                    "): retention runs after each snapshot, so the whole log is kept");
  } else {
    r.why.push_back("no snapshot yet: retention has not run, the whole log is kept");
  }
  if (r.retention_on == false) {  // binding before any of the others
    r.why.insert(r.why.begin(), "retention is off (retention = false in " + r.options_file +
                                    "): the engine removes no segment");
  }
  if (!r.options_problem.empty()) {
    r.why.push_back(r.options_file + " does not read (" + r.options_problem +
                    "): the engine's retention settings are not known");
  }
  return r;
}

std::string retention_text(const RetentionReport& r) {
  std::string s = "\nretention (snapshots in " + r.snapshot_dir + ")\n";
  for (const SnapshotSummary& n : r.snapshots) {
    s += "  " + n.file + "  " + bytes_with_human(n.bytes);
    if (n.problem.empty()) {
      s += ", " + std::to_string(n.unfinished_runs) + " unfinished runs\n";
    } else {
      s += "  DAMAGED: " + n.problem + "\n";
    }
  }
  s += "  the log begins at " + lsn_text(r.log_first_lsn) + "; kept because:\n";
  for (const std::string& w : r.why) s += "    - " + w + "\n";
  return s;
}

nlohmann::json retention_json(const RetentionReport& r) {
  nlohmann::json snaps = nlohmann::json::array();
  for (const SnapshotSummary& n : r.snapshots) {
    snaps.push_back(
        {{"file", n.file},
         {"lsn", n.lsn},
         {"bytes", n.bytes},
         {"problem", n.problem.empty() ? nlohmann::json(nullptr) : nlohmann::json(n.problem)},
         {"unfinished_runs", n.unfinished_runs},
         {"oldest_unfinished_run_lsn",
          n.oldest_live_lsn ? nlohmann::json(*n.oldest_live_lsn) : nlohmann::json(nullptr)},
         {"finished_within_window_lsn",
          n.finished_floor_lsn ? nlohmann::json(*n.finished_floor_lsn) : nlohmann::json(nullptr)},
         {"finished_floor_unknown", n.floor_unknown}});
  }
  auto or_null = [](const auto& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
  return {{"snapshot_dir", r.snapshot_dir},
          {"snapshots", snaps},
          {"log_first_lsn", r.log_first_lsn},
          {"kept_because", r.why},
          {"options_file",
           r.options_file.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.options_file)},
          {"options_problem",
           r.options_problem.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.options_problem)},
          {"snapshots_on", or_null(r.snapshots_on)},
          {"retention_on", or_null(r.retention_on)},
          {"history_window_ms", or_null(r.history_window_ms)}};
}

}  // namespace cairn::tools
