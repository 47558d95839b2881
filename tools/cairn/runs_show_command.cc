// `cairn runs show DIR RUN_ID`: one run's timeline, read from the log by cairn::read_run_history
// (the same history Engine::run_history returns), with the run's summary from RunScanner seeing the
// same records. `--at LSN` reads the log only up to that LSN: the run as it stood then.
#include <cerrno>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "cairn/run_history.h"
#include "engine_dir.h"
#include "format.h"
#include "record_display.h"
#include "run_scan.h"
#include "runs_commands.h"
#include "time_text.h"

namespace cairn::tools {
namespace {

using Kind = HistoryEntry::Kind;

struct RunsShowArgs {
  std::string dir;
  RunId run = 0;
  std::optional<log::Lsn> at;
  uint64_t limit = 10'000;
  bool json = false;
};

constexpr size_t kPreviewChars = 120;

int64_t micros(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

schema::ValueFormat schema_format(ValueFormat f) {
  return static_cast<schema::ValueFormat>(static_cast<uint8_t>(f));
}

std::string preview(const HistoryEntry& e) {
  return value_preview(e.value, schema_format(e.format), kPreviewChars);
}

// "#3 charge-card": the operation's position in the run and its id.
std::string operation(const HistoryEntry& e) {
  return "#" + std::to_string(e.position) + " " + e.step_id;
}

std::string event_text(const Event& ev) {
  std::string s = ev.name;
  if (!ev.id.empty()) s += " (id " + ev.id + ")";
  s += " data " + value_preview(ev.data, schema::ValueFormat::Json, kPreviewChars);
  return s;
}

// What the timeline line says after its LSN and time. `copied`: a result a replay was given (it
// shares the replay's RunCreated record): nothing ran for it.
std::string entry_text(const HistoryEntry& e, bool copied) {
  if (copied && e.kind == Kind::kStepCompleted)
    return "step " + operation(e) + " copied: " + preview(e);
  if (copied) return "copied: " + entry_text(e, false);
  const int64_t took = micros(e.finished_at) - micros(e.at);
  switch (e.kind) {
    case Kind::kCreated:
      if (e.run != 0 && e.event.name == "cairn/function.failed") {
        return "created to handle the failure of run " + std::to_string(e.run);
      }
      if (e.run != 0) {
        return "created by run " + std::to_string(e.run) + " (invoke) with data " +
               value_preview(e.event.data, schema::ValueFormat::Json, kPreviewChars);
      }
      // A replay says which run it replays (run_history puts "replay of run N" in `value`).
      return "created by event " + event_text(e.event) +
             (e.value.empty() ? std::string() : " (" + e.value + ")");
    case Kind::kStepCompleted:
      return "step " + operation(e) + " attempt " + std::to_string(e.attempt) + " completed in " +
             duration_text(took) + ": " + preview(e);
    case Kind::kStepFailed:
      return "step " + operation(e) + " attempt " + std::to_string(e.attempt) + " failed after " +
             duration_text(took) + ": " + text_preview(e.value, kPreviewChars) +
             (micros(e.deadline) == 0 ? std::string("; no retry left")
                                      : "; retry at " + utc_time(micros(e.deadline)));
    case Kind::kSendDeferred:
      return "send " + operation(e) + " attempt " + std::to_string(e.attempt) +
             " found no room: " + text_preview(e.value, kPreviewChars) +
             (micros(e.deadline) == 0 ? std::string("; not tried again (a StepError)")
                                      : "; tried again at " + utc_time(micros(e.deadline)));
    case Kind::kSleepStarted:
      return "sleep " + operation(e) + " until " + utc_time(micros(e.deadline));
    case Kind::kWaitStarted:
      return "wait " + operation(e) + " for event " + e.event.name +
             (e.value.empty() ? std::string() : " matching " + e.value) + ", " +
             (micros(e.deadline) == 0 ? std::string("no timeout")
                                      : "until " + utc_time(micros(e.deadline)));
    case Kind::kWaitMatched:
      return "wait " + operation(e) + " ended by event " + event_text(e.event);
    case Kind::kResumed:
      return operation(e) + " resumed: " + e.value;  // timer fired, wait timed out, retry due
    case Kind::kEventSent:
      return "send " + operation(e) + ": event " + event_text(e.event);
    case Kind::kInvoked:
      return "invoke " + operation(e) + " started run " + std::to_string(e.run);
    case Kind::kCompleted:
      return "completed: " + preview(e);
    case Kind::kFailed:
      return "failed: " + text_preview(e.value, kPreviewChars) +
             (e.run != 0 ? "; on_failure run " + std::to_string(e.run) : std::string());
    case Kind::kCancelled:
      return "cancelled: " + text_preview(e.value, kPreviewChars);
    case Kind::kAdmitted:
      return "admitted by flow control (" + e.value + ")";
    case Kind::kSkipped:
      return "skipped: " + text_preview(e.value, kPreviewChars);
  }
  return std::string(history_kind_name(e.kind));
}

nlohmann::json json_text(std::string_view text, schema::ValueFormat format) {
  return nlohmann::json::parse(value_json(text, format));
}

nlohmann::json entry_json(const HistoryEntry& e) {
  const bool attempt = e.kind == Kind::kStepCompleted || e.kind == Kind::kStepFailed ||
                       e.kind == Kind::kSendDeferred;
  const bool has_operation = e.kind != Kind::kCreated && e.kind != Kind::kCompleted &&
                             e.kind != Kind::kFailed && e.kind != Kind::kCancelled &&
                             e.kind != Kind::kAdmitted && e.kind != Kind::kSkipped;
  nlohmann::json j{
      {"lsn", e.lsn},
      {"kind", history_kind_name(e.kind)},
      {"at", utc_time(micros(e.at))},
      {"at_us", micros(e.at)},
      {"position", has_operation ? nlohmann::json(e.position) : nlohmann::json(nullptr)},
      {"step_id", has_operation ? nlohmann::json(e.step_id) : nlohmann::json(nullptr)},
      {"attempt", attempt ? nlohmann::json(e.attempt) : nlohmann::json(nullptr)},
      {"finished_at",
       attempt ? nlohmann::json(utc_time(micros(e.finished_at))) : nlohmann::json(nullptr)},
      {"duration_us",
       attempt ? nlohmann::json(micros(e.finished_at) - micros(e.at)) : nlohmann::json(nullptr)},
      {"deadline", micros(e.deadline) == 0 ? nlohmann::json(nullptr)
                                           : nlohmann::json(utc_time(micros(e.deadline)))},
      // The output (by its format), the error, the reason, the resume cause, the match path.
      {"value", json_text(e.value, schema_format(e.format))},
      {"format", e.format == ValueFormat::kJson   ? "json"
                 : e.format == ValueFormat::kText ? "text"
                                                  : "bytes"},
      {"event", nullptr},
      {"run", e.run == 0 ? nlohmann::json(nullptr) : nlohmann::json(e.run)},
  };
  if (!e.event.name.empty()) {
    j["event"] = {{"name", e.event.name},
                  {"id", e.event.id.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.event.id)},
                  {"data", json_text(e.event.data, schema::ValueFormat::Json)},
                  {"ts_ms", e.event.ts_ms}};
  }
  return j;
}

// Records that resume an operation (RunResumed) carry its position but not always its id: name
// it after the entry that started the operation at that position.
void name_operations(std::vector<HistoryEntry>& history) {
  std::unordered_map<uint32_t, std::string> ids;
  for (HistoryEntry& e : history) {
    if (e.kind == Kind::kCreated || e.kind == Kind::kCompleted || e.kind == Kind::kFailed ||
        e.kind == Kind::kCancelled || e.kind == Kind::kAdmitted || e.kind == Kind::kSkipped) {
      continue;
    }
    if (!e.step_id.empty()) {
      ids.try_emplace(e.position, e.step_id);
    } else if (auto it = ids.find(e.position); it != ids.end()) {
      e.step_id = it->second;
    }
  }
}

std::string summary_text(const RunSummary& r, const std::optional<log::Lsn>& at) {
  std::string s = "run " + std::to_string(r.id) + "  function " + r.function + "  status " +
                  std::string(run_status_name(r.status));
  if (at) s += "  (as of LSN " + std::to_string(*at) + ")";
  s += "\n";
  s += "created   " + utc_time(r.created_us) + "\n";
  if (r.finished_us != 0) {
    s += "finished  " + utc_time(r.finished_us) + " (after " +
         duration_text(r.finished_us - r.created_us) + ")\n";
  }
  s += "steps     " + std::to_string(r.steps) + ", " + std::to_string(r.attempts) +
       " step attempt" + (r.attempts == 1 ? "" : "s") + "\n";
  if (r.parent != 0) s += "parent    run " + std::to_string(r.parent) + "\n";
  if (!r.error.empty()) s += "error     " + text_preview(r.error, 200) + "\n";
  return s;
}

int not_found(const RunsShowArgs& args) {
  std::string where = "the log of " + args.dir;
  if (args.at) where += " up to LSN " + std::to_string(*args.at);
  std::fprintf(stderr, "cairn runs show: no run %llu in %s\n`cairn runs list %s` lists the runs.\n",
               static_cast<unsigned long long>(args.run), where.c_str(), args.dir.c_str());
  return kExitNotFound;
}

int run_runs_show(const RunsShowArgs& args) {
  const char* kCommand = "runs show";
  Result<std::filesystem::path> log_dir = engine_log_dir(args.dir);
  if (!log_dir.ok()) return fail_unreadable(kCommand, log_dir.status());
  Result<std::unique_ptr<log::LogReader>> reader = open_engine_log(*log_dir);
  if (!reader.ok()) return fail_unreadable(kCommand, reader.status());

  std::optional<RunSummary> finished;
  RunScanner scanner([&](RunSummary&& r) {
    if (r.id == args.run) finished = std::move(r);
  });
  ObservedReader observed(
      **reader, [&](const log::ReadRecord& r) { scanner.add(r); }, args.at.value_or(~log::Lsn{0}));
  Result<std::vector<HistoryEntry>> history =
      read_run_history(observed, args.run, static_cast<size_t>(args.limit));
  if (!history.ok()) return fail_unreadable(kCommand, history.status());
  name_operations(*history);
  const Status& read_error = observed.error();
  if (history->empty()) {
    if (!read_error.ok()) {
      const int code = end_of_damaged_scan(kCommand, *log_dir, read_error);
      if (code != kExitOk) return code;
    }
    return not_found(args);
  }
  RunSummary summary;
  if (finished) {
    summary = *finished;
  } else if (const RunSummary* r = scanner.unfinished(args.run)) {
    summary = *r;
  } else {
    summary.id = args.run;  // not created by a record the scanner knows: show the history only
    summary.function = "?";
  }
  const bool truncated = history->size() >= args.limit;

  std::string out;
  if (args.json) {
    nlohmann::json entries = nlohmann::json::array();
    for (const HistoryEntry& e : *history) entries.push_back(entry_json(e));
    const nlohmann::json doc{
        {"run", run_summary_json(summary)},
        {"at", args.at ? nlohmann::json(*args.at) : nlohmann::json(nullptr)},
        {"entries", std::move(entries)},
        {"truncated", truncated},
    };
    out = doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  } else {
    out = summary_text(summary, args.at) + "\n";
    std::vector<std::vector<std::string>> rows;
    rows.push_back({"LSN", "TIME", "WHAT"});
    // A replay (its kCreated says "replay of run N") lists the results it was given under its
    // own RunCreated record's LSN.
    const bool replay = !history->empty() && history->front().kind == Kind::kCreated &&
                        !history->front().value.empty();
    for (const HistoryEntry& e : *history) {
      const bool copied = replay && e.kind != Kind::kCreated && e.lsn == history->front().lsn;
      rows.push_back({std::to_string(e.lsn), utc_time(micros(e.at)), entry_text(e, copied)});
    }
    out += table_text(rows);
    if (truncated) {
      out += "(the first " + std::to_string(history->size()) + " entries: --limit shows more)\n";
    }
  }
  if (!write_output(kCommand, out)) return kExitUsage;
  if (!read_error.ok()) return end_of_damaged_scan(kCommand, *log_dir, read_error);
  return kExitOk;
}

}  // namespace

void add_runs_show_command(CLI::App& runs_group, CommandRun* selected) {
  auto args = std::make_shared<RunsShowArgs>();
  CLI::App* cmd = runs_group.add_subcommand(
      "show",
      "One run's timeline: its trigger, every step attempt with its duration, output or error, "
      "sleeps and waits with their deadlines, invoked runs, and how it ended");
  cmd->add_option("DIR", args->dir, "The engine's directory (EngineOptions::dir)")->required();
  cmd->add_option("RUN_ID", args->run, "The run's id (`cairn runs list` shows them)")
      ->required()
      ->transform(run_id_number());
  cmd->add_option("--at", args->at,
                  "Read the log only up to this LSN (included): the run as it stood then. Each "
                  "timeline line starts with its record's LSN")
      ->transform(decimal_number())
      ->type_name("LSN");
  cmd->add_option("--limit", args->limit, "Show at most N timeline entries")
      ->transform(decimal_number())
      ->check(CLI::Range(uint64_t{1}, uint64_t{10'000'000}))
      ->type_name("N")
      ->default_str("10000");
  cmd->add_flag("--json", args->json,
                "One JSON object: {\"run\": {..as runs list --json..}, \"at\", \"entries\": [{lsn, "
                "kind, at, at_us, position, step_id, attempt, finished_at, duration_us, deadline, "
                "value, format, event, run}], \"truncated\"}; values are JSON by their format");
  cmd->footer(
      "Values are shown by the format their codec recorded: JSON as JSON, text as a string, bytes "
      "as\nbyte values; the text output cuts long ones (--json has them whole).\n"
      "Exit status: 0 OK (also for a torn tail, with a note), 1 the log is damaged (the timeline\n"
      "is as of the records before the damage), 2 usage error or DIR cannot be read, 3 no such\n"
      "run (at that LSN).");
  cmd->callback([args, selected] { *selected = [args] { return run_runs_show(*args); }; });
}

}  // namespace cairn::tools
