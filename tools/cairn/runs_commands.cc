// The `cairn runs` group (see runs_commands.h): wiring, and what its commands share.
#include "runs_commands.h"

#include <cstdio>
#include <string>

#include "cairn/engine.h"
#include "cairn/schema/record_schema.h"
#include "log_dir_check.h"
#include "time_text.h"

namespace cairn::tools {

void add_runs_commands(CLI::App& root, CommandRun* selected) {
  CLI::App* runs_group = root.add_subcommand(
      "runs",
      "List and inspect the runs of an engine, read from its log; cancel unfinished runs; replay "
      "finished ones");
  runs_group->require_subcommand(1);
  runs_group->footer(
      "DIR is the engine's directory (EngineOptions::dir); its log is DIR/log. list and show take\n"
      "no lock and change nothing. cancel and replay open the engine themselves, or, when a\n"
      "running engine serves its dashboard (DIR/admin.json), go through its endpoint.\n"
      "Exit status: 0 OK (also when the log ends in a torn tail, which the engine cuts at its "
      "next\n"
      "start), 1 the log is damaged (the output covers the records before the damage), 2 usage\n"
      "error or DIR cannot be read, 3 no such run (or, for cancel, already finished), 4 the\n"
      "engine could not do it (DIR is in use by a running engine that serves no endpoint), 5\n"
      "(cancel, replay) done, but the report could not be written.");
  add_runs_list_command(*runs_group, selected);
  add_runs_show_command(*runs_group, selected);
  add_runs_cancel_command(*runs_group, selected);
  add_runs_replay_command(*runs_group, selected);
}

CLI::Validator run_status_name_check() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        std::string names;
        for (int s = 0; s <= static_cast<int>(RunStatus::kSkipped); ++s) {
          const std::string_view name = run_status_name(static_cast<RunStatus>(s));
          if (value == name) return "";
          names += (names.empty() ? "" : ", ") + std::string(name);
        }
        return "unknown run status '" + value + "' (one of: " + names + ")";
      },
      "STATUS", "run status");
}

Result<std::unique_ptr<log::LogReader>> open_engine_log(const std::filesystem::path& log_dir) {
  log::ReaderOptions options;
  options.payload_verifier = &schema::verify_payload;
  return log::LogReader::open(log_dir, options);
}

ObservedReader::ObservedReader(log::LogReader& inner,
                               std::function<void(const log::ReadRecord&)> observe, log::Lsn until)
    : inner_(inner), observe_(std::move(observe)), until_(until) {}

Result<const log::ReadRecord*> ObservedReader::next() {
  const log::ReadRecord* none = nullptr;
  if (!error_.ok() || stopped_at_until_) return none;
  Result<const log::ReadRecord*> r = inner_.next();
  if (!r.ok()) {
    error_ = r.status();
    return none;
  }
  if (*r == nullptr) return none;
  if ((*r)->lsn > until_) {
    stopped_at_until_ = true;
    return none;
  }
  observe_(**r);
  return r;
}

nlohmann::json run_summary_json(const RunSummary& r) {
  nlohmann::json error = nullptr;
  if (!r.error.empty() || r.error_bytes > 0) error = r.error;
  return {
      {"id", r.id},
      {"function", r.function},
      {"status", run_status_name(r.status)},
      {"event", r.event_name},
      {"parent", r.parent == 0 ? nlohmann::json(nullptr) : nlohmann::json(r.parent)},
      {"created",
       r.created_us == 0 ? nlohmann::json(nullptr) : nlohmann::json(utc_time(r.created_us))},
      {"created_us", r.created_us},
      {"finished",
       r.finished_us == 0 ? nlohmann::json(nullptr) : nlohmann::json(utc_time(r.finished_us))},
      {"finished_us", r.finished_us == 0 ? nlohmann::json(nullptr) : nlohmann::json(r.finished_us)},
      {"steps", r.steps},
      {"attempts", r.attempts},
      {"error", error},  // at most RunSummary::kErrorKept bytes
      {"error_bytes", r.error_bytes},
      {"created_lsn", r.created_lsn},
      {"last_lsn", r.last_lsn},
  };
}

int end_of_damaged_scan(std::string_view command, const std::filesystem::path& log_dir,
                        const Status& error) {
  const std::string cmd(command);
  if (error.code() != StatusCode::kCorruption) return fail_unreadable(command, error);
  Result<std::optional<log::Lsn>> torn = torn_tail_the_engine_cuts(log_dir);
  if (!torn.ok()) return fail_unreadable(command, torn.status());
  if (*torn) {
    std::fprintf(stderr,
                 "cairn %s: note: the log ends in a torn tail at LSN %llu (the unacknowledged end "
                 "of an interrupted write, which the engine cuts at its next start); the output "
                 "covers everything before it.\n",
                 cmd.c_str(), static_cast<unsigned long long>(**torn));
    return kExitOk;
  }
  std::fprintf(stderr,
               "cairn %s: %s\nThe output covers only the records before the damage. "
               "`cairn log verify %s` says what the damage is and what the engine will do.\n",
               cmd.c_str(), error.message().c_str(), log_dir.string().c_str());
  return kExitDamage;
}

}  // namespace cairn::tools
