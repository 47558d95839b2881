// `cairn runs list DIR`: the runs of a stopped engine, newest first, filtered and paged, derived
// from its log in one pass (RunScanner). Memory: the unfinished runs and one page of matches.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine_dir.h"
#include "format.h"
#include "record_display.h"
#include "run_scan.h"
#include "runs_commands.h"
#include "time_text.h"

namespace cairn::tools {
namespace {

struct RunsListArgs {
  std::string dir;
  std::string function;
  std::string status;
  std::string since;
  uint64_t limit = 50;
  RunId before = 0;
  bool json = false;
};

// The newest `limit` runs offered, and how many were offered.
class NewestRuns {
 public:
  explicit NewestRuns(size_t limit) : limit_(limit) {}
  void offer(RunSummary&& run) {
    ++matched_;
    if (heap_.size() < limit_) {
      heap_.push(std::move(run));
    } else if (limit_ > 0 && run.id > heap_.top().id) {
      heap_.pop();
      heap_.push(std::move(run));
    }
  }
  uint64_t matched() const { return matched_; }
  std::vector<RunSummary> take_newest_first() {
    std::vector<RunSummary> out;
    out.reserve(heap_.size());
    while (!heap_.empty()) {
      out.push_back(heap_.top());
      heap_.pop();
    }
    std::reverse(out.begin(), out.end());
    return out;
  }

 private:
  struct OlderFirst {
    bool operator()(const RunSummary& a, const RunSummary& b) const { return a.id > b.id; }
  };
  size_t limit_;
  uint64_t matched_ = 0;
  std::priority_queue<RunSummary, std::vector<RunSummary>, OlderFirst> heap_;
};

std::string runs_table(const std::vector<RunSummary>& runs) {
  std::vector<std::vector<std::string>> rows;
  rows.push_back(
      {"RUN", "FUNCTION", "STATUS", "CREATED", "FINISHED", "STEPS", "ATTEMPTS", "ERROR"});
  for (const RunSummary& r : runs) {
    rows.push_back({std::to_string(r.id), r.function, std::string(run_status_name(r.status)),
                    utc_time(r.created_us), utc_time(r.finished_us), std::to_string(r.steps),
                    std::to_string(r.attempts), text_preview(r.error, 60)});
  }
  return table_text(rows);
}

int run_runs_list(const RunsListArgs& args) {
  const char* kCommand = "runs list";
  std::optional<int64_t> since;
  if (!args.since.empty()) {
    Result<int64_t> t = parse_time(args.since, system_now_us());
    if (!t.ok()) return fail_unreadable(kCommand, t.status());  // the validator let it pass
    since = *t;
  }
  Result<std::filesystem::path> log_dir = engine_log_dir(args.dir);
  if (!log_dir.ok()) return fail_unreadable(kCommand, log_dir.status());
  Result<std::unique_ptr<log::LogReader>> reader = open_engine_log(*log_dir);
  if (!reader.ok()) return fail_unreadable(kCommand, reader.status());

  std::optional<RunStatus> status;
  for (int s = 0; s <= static_cast<int>(RunStatus::kSkipped); ++s) {
    if (args.status == run_status_name(static_cast<RunStatus>(s))) {
      status = static_cast<RunStatus>(s);
    }
  }
  auto matches = [&](const RunSummary& r) {
    return (args.function.empty() || r.function == args.function) &&
           (!status || r.status == *status) && (!since || r.created_us >= *since) &&
           (args.before == 0 || r.id < args.before);
  };
  NewestRuns newest(args.limit);
  // A finished run's summary is final: it is kept only if it can be on the page.
  RunScanner scanner([&](RunSummary&& r) {
    if (matches(r)) newest.offer(std::move(r));
  });
  Status read_error;
  for (;;) {
    Result<const log::ReadRecord*> record = (*reader)->next();
    if (!record.ok()) {
      read_error = record.status();
      break;
    }
    if (*record == nullptr) break;
    scanner.add(**record);
  }
  scanner.for_each_unfinished([&](const RunSummary& r) {
    if (matches(r)) newest.offer(RunSummary(r));
  });
  const uint64_t matched = newest.matched();
  std::vector<RunSummary> page = newest.take_newest_first();
  const RunId next_before = matched > page.size() && !page.empty() ? page.back().id : 0;

  std::string out;
  if (args.json) {
    nlohmann::json runs = nlohmann::json::array();
    for (const RunSummary& r : page) runs.push_back(run_summary_json(r));
    const nlohmann::json doc{
        {"runs", std::move(runs)},
        {"matched", matched},
        {"next_before", next_before == 0 ? nlohmann::json(nullptr) : nlohmann::json(next_before)},
    };
    out = doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  } else if (page.empty()) {
    out = "no runs match\n";
  } else {
    out = runs_table(page);
    if (next_before != 0) {
      out += std::to_string(matched - page.size()) + " more matching run" +
             (matched - page.size() == 1 ? "" : "s") + ": next page with --before " +
             std::to_string(next_before) + "\n";
    }
  }
  if (!write_output(kCommand, out)) return kExitUsage;
  if (!read_error.ok()) return end_of_damaged_scan(kCommand, *log_dir, read_error);
  return kExitOk;
}

}  // namespace

void add_runs_list_command(CLI::App& runs_group, CommandRun* selected) {
  auto args = std::make_shared<RunsListArgs>();
  CLI::App* cmd = runs_group.add_subcommand(
      "list", "A table of runs, newest first: status, times, steps, attempts and error");
  cmd->add_option("DIR", args->dir, "The engine's directory (EngineOptions::dir)")->required();
  cmd->add_option("--function", args->function, "Only runs of this function id")->type_name("F");
  cmd->add_option("--status", args->status,
                  "Only runs in this status: queued, running, sleeping, waiting, completed, "
                  "failed or cancelled")
      ->check(run_status_name_check())
      ->type_name("S");
  cmd->add_option("--since", args->since,
                  "Only runs created at or after T: 2026-11-28T09:14:03Z (RFC 3339; no zone: "
                  "UTC), 2026-11-28, or an age: 90s, 15m, 2h, 7d")
      ->check(since_validator())
      ->type_name("T");
  cmd->add_option("--limit", args->limit, "Show at most N runs (a page)")
      ->transform(decimal_number())
      ->check(CLI::Range(uint64_t{1}, uint64_t{1'000'000}))
      ->type_name("N")
      ->default_str("50");
  cmd->add_option("--before", args->before,
                  "Only runs with an id below this one: the next page (the text output names it)")
      ->transform(run_id_number())  // 0 is refused: it read as "no bound", the first page again
      ->type_name("RUN_ID");
  cmd->add_flag("--json", args->json,
                "One JSON object: {\"runs\":[{id, function, status, event, parent, created, "
                "created_us, finished, finished_us, steps, attempts, error, error_bytes, "
                "created_lsn, last_lsn}], \"matched\", \"next_before\"}");
  cmd->footer(
      "Columns: RUN id, FUNCTION, STATUS, CREATED and FINISHED (UTC, the engine's clock), STEPS\n"
      "(operations recorded), ATTEMPTS (step attempts, failed ones included), ERROR (a failed\n"
      "run's error, a cancelled run's reason, or the last failed attempt of a run still "
      "retrying).\n"
      "Exit status: 0 OK (also for a torn tail, with a note), 1 the log is damaged (the runs\n"
      "shown are as of the records before the damage), 2 usage error or DIR cannot be read.");
  cmd->callback([args, selected] { *selected = [args] { return run_runs_list(*args); }; });
}

}  // namespace cairn::tools
