// The `cairn runs ...` group: what happened to the runs of a stopped engine, read from its log
// (DIR/log) without the engine and without its lock; and `runs cancel`, which opens the engine.
// Each subcommand lives in its own file (runs_<name>_command.cc); this header also holds what they
// share: opening the engine's log and reporting a scan that stopped at damage.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string_view>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cairn/log/reader.h"
#include "command.h"
#include "run_scan.h"

namespace cairn::tools {

// Adds `runs` and its subcommands to the root app; the selected one leaves its work in *selected.
void add_runs_commands(CLI::App& root, CommandRun* selected);

void add_runs_list_command(CLI::App& runs_group, CommandRun* selected);
void add_runs_show_command(CLI::App& runs_group, CommandRun* selected);
void add_runs_cancel_command(CLI::App& runs_group, CommandRun* selected);
void add_runs_replay_command(CLI::App& runs_group, CommandRun* selected);

// Accepts the names of RunStatus (queued, running, sleeping, waiting, completed, failed,
// cancelled).
CLI::Validator run_status_name_check();

// A reader of the engine's log in `log_dir` from its first record, every payload verified as an
// engine record. Never takes the log's lock: a live engine may be writing meanwhile.
Result<std::unique_ptr<log::LogReader>> open_engine_log(const std::filesystem::path& log_dir);

// A LogReader in front of another that shows every record to `observe` before handing it on,
// ends at `until` (records at LSNs above it are not read), and turns the inner reader's error into
// the end of the log, keeping the error: read_run_history then returns what came before damage.
class ObservedReader final : public log::LogReader {
 public:
  ObservedReader(log::LogReader& inner, std::function<void(const log::ReadRecord&)> observe,
                 log::Lsn until);
  Result<const log::ReadRecord*> next() override;
  const Status& error() const { return error_; }
  bool stopped_at_until() const { return stopped_at_until_; }

 private:
  log::LogReader& inner_;
  std::function<void(const log::ReadRecord&)> observe_;
  log::Lsn until_;
  Status error_;
  bool stopped_at_until_ = false;
};

// A run's summary as `runs list --json` and `runs show --json` print it: id, function, status,
// event, parent, created, created_us, finished, finished_us, steps, attempts, error, error_bytes,
// created_lsn, last_lsn (times as RFC 3339 UTC text and as microseconds; null when unset).
nlohmann::json run_summary_json(const RunSummary& r);

// After a scan of the log stopped at `error`: for damage, runs `cairn log verify`'s check to tell
// a torn tail (the unacknowledged end of an interrupted write, which the engine cuts at its next
// start: what was read is the whole story, exit 0 with a note) from other damage (exit 1, with
// the error and what to run next). Any other error cannot be read past: exit 2.
int end_of_damaged_scan(std::string_view command, const std::filesystem::path& log_dir,
                        const Status& error);

}  // namespace cairn::tools
