// `cairn runs cancel DIR (RUN_ID... | --function F [--since T]) [--reason TEXT]`: cancels
// unfinished runs. On a stopped engine it reads the log first (RunScanner, as `runs list` does) to
// choose the runs, then opens the engine in DIR with no functions registered (which takes DIR's
// lock) and calls Engine::cancel for each. When DIR is in use by a running engine that advertises
// its admin endpoint (DIR/admin.json, written by its cairn::Dashboard), the runs are chosen from
// and cancelled by that engine over its API (admin_client.h), with the same output.
//
// Explicit ids are all or nothing: when any id is unknown or already finished, the command names
// them, cancels none and exits 3. A --function selection cancels the unfinished runs of that
// function (created at or after --since), and matching none is not an error.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "admin_client.h"
#include "cairn/engine.h"
#include "engine_dir.h"
#include "log_dir_check.h"
#include "run_scan.h"
#include "runs_commands.h"
#include "time_text.h"

namespace cairn::tools {
// A named namespace: the unity build joins this file's anonymous namespace with its neighbours'.
namespace runs_cancel_impl {

constexpr const char* kCommand = "runs cancel";

struct RunsCancelArgs {
  std::string dir;
  std::vector<RunId> ids;
  std::string function;
  std::string since;
  std::string reason = "cancelled with cairn runs cancel";
  bool json = false;
  std::string token;  // a live engine's token (--token; else CAIRN_TOKEN)
};

struct Target {
  RunId id = 0;
  std::string function;
  RunStatus was = RunStatus::kQueued;  // its status when it was cancelled
};

int usage(const std::string& message) {
  std::fprintf(stderr, "cairn %s: %s\nRun `cairn %s --help` for usage.\n", kCommand,
               message.c_str(), kCommand);
  return kExitUsage;
}

// An engine error as an exit code, with what to do about it.
int engine_failed(std::string_view what, const Status& st, const std::string& dir) {
  return report_engine_error(kCommand, what, st, dir,
                             "cancel through that engine (Engine::cancel); this command works on a "
                             "stopped engine's directory. Nothing was cancelled.");
}

std::string join_problems(const std::vector<std::string>& problems) {
  std::string s;
  for (const std::string& p : problems) s += (s.empty() ? "" : "; ") + p;
  return s;
}

// Shows "cancelling: 40 of 300" on stderr while many runs are cancelled, only on a terminal.
class CancelProgress {
 public:
  explicit CancelProgress(size_t total)
      : total_(total), shown_(total >= 20 && isatty(STDERR_FILENO) == 1) {}
  ~CancelProgress() {
    if (shown_) std::fprintf(stderr, "\r\033[K");
  }
  void done(size_t n) {
    if (!shown_ || (n % 10 != 0 && n != total_)) return;
    std::fprintf(stderr, "\rcancelling: %zu of %zu\033[K", n, total_);
    std::fflush(stderr);
  }

 private:
  size_t total_;
  bool shown_;
};

// What one pass over the log says about the runs.
struct LogView {
  std::vector<RunSummary> unfinished;          // the unfinished runs
  std::map<RunId, RunStatus> finished_wanted;  // how the asked-for ids that finished ended
  log::Lsn first_lsn = 0;                      // of the first record read
  bool empty = true;
};

// What a cancel did, whichever engine did it.
struct CancelOutcome {
  size_t targets = 0;  // runs chosen to cancel (0: --function matched none)
  std::vector<Target> cancelled;
  std::vector<std::pair<RunId, std::string>> skipped;  // --function: finished meanwhile
  Status failed;                                       // what stopped it, if anything did
  RunId failed_id = 0;                                 // the run it failed on; 0: closing
};

// Prints what `outcome` says (text or JSON) and returns the exit code. `live`: the running
// engine's endpoint that did it (nullptr: the tool's own engine).
int finish_cancel(const RunsCancelArgs& args, const CancelOutcome& outcome,
                  std::optional<int64_t> since, const AdminClient* live) {
  std::string out;
  if (args.json) {
    nlohmann::json runs = nlohmann::json::array();
    for (const Target& t : outcome.cancelled) {
      runs.push_back({{"id", t.id}, {"function", t.function}, {"was", run_status_name(t.was)}});
    }
    nlohmann::json skip = nlohmann::json::array();
    for (const auto& [id, why] : outcome.skipped) skip.push_back({{"id", id}, {"why", why}});
    const nlohmann::json doc{
        {"cancelled", std::move(runs)},
        {"reason", args.reason},
        {"skipped", std::move(skip)},
        {"error",
         outcome.failed.ok() ? nlohmann::json(nullptr) : nlohmann::json(outcome.failed.message())},
    };
    out = doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  } else {
    for (const Target& t : outcome.cancelled) {
      out += "cancelled run " + std::to_string(t.id) + " (" + t.function + ", was " +
             std::string(run_status_name(t.was)) + ")\n";
    }
    for (const auto& [id, why] : outcome.skipped) out += "skipped: " + why + "\n";
    if (outcome.targets == 0) {
      out += "no unfinished runs of function " + args.function +
             (since ? " created since " + utc_time(*since) : std::string()) +
             ": nothing to cancel\n";
    } else {
      out += std::to_string(outcome.cancelled.size()) +
             (outcome.cancelled.size() == 1 ? " run" : " runs") +
             " cancelled, reason: " + args.reason +
             (live != nullptr ? " (by the running engine, " + live->endpoint().url + ")" : "") +
             "\n";
    }
  }
  if (!write_output(kCommand, out)) {
    return outcome.cancelled.empty() ? kExitUsage : kExitDoneUnreported;
  }
  if (outcome.failed.ok()) return kExitOk;
  const std::string what = outcome.failed_id == 0
                               ? std::string("closing the engine")
                               : "cancelling run " + std::to_string(outcome.failed_id) +
                                     " (the runs listed before it are cancelled)";
  if (live != nullptr) {
    return report_admin_error(kCommand, outcome.failed.with_context(what));
  }
  return engine_failed(what, outcome.failed, args.dir);
}

// Ids that cannot all be cancelled (unknown, already finished): nothing was, and the command says
// why on stderr and, with --json, as the document's "error" (a script reads one shape).
int refuse_ids(const RunsCancelArgs& args, const std::vector<std::string>& problems) {
  const std::string why = join_problems(problems) + ". Nothing was cancelled.";
  std::fprintf(stderr, "cairn %s: %s\n", kCommand, why.c_str());
  if (args.json) {
    const nlohmann::json doc{{"cancelled", nlohmann::json::array()},
                             {"reason", args.reason},
                             {"skipped", nlohmann::json::array()},
                             {"error", why}};
    if (!write_output(kCommand,
                      doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n")) {
      return kExitUsage;
    }
  }
  return kExitNotFound;
}

// The cancel, done by the running engine over its API: the runs chosen from what it knows (by id:
// all or nothing, as on a stopped engine), then cancelled one request each.
int cancel_live(const RunsCancelArgs& args, const std::vector<RunId>& ids,
                std::optional<int64_t> since, AdminClient& client) {
  std::vector<Target> targets;
  if (!ids.empty()) {
    std::vector<std::string> problems;
    for (RunId id : ids) {
      Result<LiveRun> r = client.get_run(id);
      if (!r.ok() && r.status().code() != StatusCode::kNotFound) {
        return report_admin_error(kCommand, r.status());
      }
      if (!r.ok()) {
        problems.push_back("no run " + std::to_string(id) + " in " + args.dir);
      } else if (is_finished(r->status)) {
        problems.push_back("run " + std::to_string(id) + " already " +
                           std::string(run_status_name(r->status)));
      } else {
        targets.push_back(Target{id, r->function, r->status});
      }
    }
    if (!problems.empty()) {
      return refuse_ids(args, problems);
    }
  } else {
    // The unfinished statuses one by one: the API filters by one status at a time.
    for (RunStatus status :
         {RunStatus::kQueued, RunStatus::kRunning, RunStatus::kSleeping, RunStatus::kWaiting}) {
      Result<std::vector<LiveRun>> found = client.list_runs(
          {.function = args.function,
           .status = status,
           .since_ms = since ? std::optional<int64_t>(*since / 1000) : std::nullopt});
      if (!found.ok()) return report_admin_error(kCommand, found.status());
      for (const LiveRun& r : *found) {
        if (!since || r.created_at_ms * 1000 >= *since) {
          targets.push_back(Target{r.id, r.function, r.status});
        }
      }
    }
    std::sort(targets.begin(), targets.end(),
              [](const Target& a, const Target& b) { return a.id < b.id; });
  }
  CancelOutcome outcome{.targets = targets.size()};
  CancelProgress progress(targets.size());
  for (const Target& t : targets) {
    Status st = client.cancel_run(t.id, args.reason);
    const bool gone =
        st.code() == StatusCode::kInvalidArgument || st.code() == StatusCode::kNotFound;
    if (!st.ok() && ids.empty() && gone) {  // --function: it finished since it was listed
      outcome.skipped.emplace_back(t.id, "run " + std::to_string(t.id) + ": " + st.message());
      continue;
    }
    if (!st.ok()) {
      outcome.failed = st;
      outcome.failed_id = t.id;
      break;
    }
    outcome.cancelled.push_back(t);
    progress.done(outcome.cancelled.size());
  }
  return finish_cancel(args, outcome, since, &client);
}

int run_runs_cancel(const RunsCancelArgs& args) {
  if (args.ids.empty() && args.function.empty()) {
    return usage("name the runs to cancel: RUN_ID... or --function F");
  }
  // The reason is what runs show and get_run report as the run's error: an empty one says nothing.
  if (args.reason.empty()) return usage("--reason must not be empty (it is the run's error)");
  std::optional<int64_t> since;
  if (!args.since.empty()) {
    Result<int64_t> t = parse_time(args.since, system_now_us());
    if (!t.ok()) return fail_unreadable(kCommand, t.status());  // the validator let it pass
    since = *t;
  }
  Result<std::filesystem::path> log_dir = engine_log_dir(args.dir);
  if (!log_dir.ok()) return fail_unreadable(kCommand, log_dir.status());
  const std::vector<RunId> ids = without_repeats(args.ids);
  // A running engine that serves its admin endpoint cancels them itself.
  Result<std::optional<std::unique_ptr<AdminClient>>> live =
      AdminClient::connect(args.dir, admin_token(args.token));
  if (!live.ok()) return report_admin_error(kCommand, live.status());
  if (live->has_value()) return cancel_live(args, ids, since, *live->value());

  // 1. Which runs: read the log (no lock yet).
  const std::set<RunId> wanted(ids.begin(), ids.end());
  LogView view;
  {
    Result<std::unique_ptr<log::LogReader>> reader = open_engine_log(*log_dir);
    if (!reader.ok()) return fail_unreadable(kCommand, reader.status());
    RunScanner scanner([&](RunSummary&& r) {
      if (wanted.contains(r.id)) view.finished_wanted[r.id] = r.status;
    });
    Status read_error;
    for (;;) {
      Result<const log::ReadRecord*> record = (*reader)->next();
      if (!record.ok()) {
        read_error = record.status();
        break;
      }
      if (*record == nullptr) break;
      if (view.empty) view.first_lsn = (*record)->lsn;
      view.empty = false;
      scanner.add(**record);
    }
    if (!read_error.ok()) {
      if (read_error.code() != StatusCode::kCorruption)
        return fail_unreadable(kCommand, read_error);
      Result<std::optional<log::Damage>> damage = first_damage_as_engine_judges(*log_dir);
      if (!damage.ok()) return fail_unreadable(kCommand, damage.status());
      if (!*damage || (*damage)->kind != log::DamageKind::kTornTail) {
        if (std::optional<detail::SnapshotName> past =
                *damage ? snapshot_past(*log_dir, **damage) : std::nullopt) {
          std::fprintf(stderr,
                       "cairn %s: %s\nThis tool finds runs by reading the log from its start, and "
                       "stops at the damage; nothing was cancelled. The engine itself opens the "
                       "log as it is (its newest snapshot, %s, lies past the damage): cancel "
                       "through the application's engine (Engine::cancel, or its dashboard while "
                       "it serves). Do not run `cairn log recover`: it would cut records the "
                       "engine needs.\n",
                       kCommand, read_error.message().c_str(), past->name.c_str());
          return kExitDamage;
        }
        std::fprintf(stderr,
                     "cairn %s: %s\nThe engine refuses to open a damaged log, so nothing was "
                     "cancelled. `cairn log verify %s` says what the damage is; `cairn log "
                     "recover %s` repairs it.\n",
                     kCommand, read_error.message().c_str(), log_dir->string().c_str(),
                     log_dir->string().c_str());
        return kExitDamage;
      }
      // A torn tail is cut when the engine opens below; what came before it is the whole log.
    }
    scanner.for_each_unfinished([&](const RunSummary& r) { view.unfinished.push_back(r); });
  }
  std::sort(view.unfinished.begin(), view.unfinished.end(),
            [](const RunSummary& a, const RunSummary& b) { return a.id < b.id; });
  auto unfinished_in_log = [&](RunId id) -> const RunSummary* {
    auto it = std::lower_bound(view.unfinished.begin(), view.unfinished.end(), id,
                               [](const RunSummary& r, RunId v) { return r.id < v; });
    return it != view.unfinished.end() && it->id == id ? &*it : nullptr;
  };

  std::vector<Target> targets;
  if (!ids.empty()) {
    // All or nothing: every id must be an unfinished run.
    std::vector<std::string> problems;
    // Retention may have removed the records that created a run that is still unfinished: only
    // the engine knows those, so an id the log does not show is asked of it below.
    const bool log_trimmed = view.first_lsn > 0;
    for (RunId id : ids) {
      if (const RunSummary* r = unfinished_in_log(id)) {
        targets.push_back(Target{id, r->function, r->status});
      } else if (auto f = view.finished_wanted.find(id); f != view.finished_wanted.end()) {
        problems.push_back("run " + std::to_string(id) + " already " +
                           std::string(run_status_name(f->second)));
      } else if (log_trimmed) {
        targets.push_back(Target{id, "", RunStatus::kQueued});
      } else {
        problems.push_back("no run " + std::to_string(id) + " in " + args.dir);
      }
    }
    if (!problems.empty()) {
      return refuse_ids(args, problems);
    }
  } else {
    for (const RunSummary& r : view.unfinished) {
      if (r.function == args.function && (!since || r.created_us >= *since)) {
        targets.push_back(Target{r.id, r.function, r.status});
      }
    }
  }

  std::vector<Target> cancelled;
  std::vector<std::pair<RunId, std::string>> skipped;  // --function: finished meanwhile
  Status failed;
  RunId failed_id = 0;
  if (!targets.empty()) {
    // 2. Open the engine (takes DIR's lock; a torn tail is cut here) and check with it.
    Result<EngineOptions> options = tool_engine_options(args.dir, "runs cancel");
    if (!options.ok()) return fail_unreadable("runs cancel", options.status());
    std::unique_ptr<Engine> engine = Engine::create(std::move(*options));
    if (Status s = engine->start(); !s.ok())
      return engine_failed("opening the engine", s, args.dir);
    std::vector<std::string> problems;
    std::vector<Target> checked;
    for (Target& t : targets) {
      Result<RunInfo> info = engine->get_run(t.id);
      std::string problem;
      if (!info.ok()) {
        problem = "no unfinished run " + std::to_string(t.id) + " in " + args.dir;
      } else if (is_finished(info->status)) {
        problem = "run " + std::to_string(t.id) + " already " +
                  std::string(run_status_name(info->status));
      } else {
        t.function = info->function_id;
        t.was = info->status;
        checked.push_back(t);
        continue;
      }
      if (ids.empty()) {
        skipped.emplace_back(t.id, problem);
      } else {
        problems.push_back(problem);
      }
    }
    if (!problems.empty()) {
      const Status closed = engine->shutdown();
      if (!closed.ok()) {
        std::fprintf(stderr, "cairn %s: %s. Nothing was cancelled.\n", kCommand,
                     join_problems(problems).c_str());
        return engine_failed("closing the engine", closed, args.dir);
      }
      return refuse_ids(args, problems);
    }
    // 3. Cancel them, one durable record each.
    CancelProgress progress(checked.size());
    for (const Target& t : checked) {
      Status st = engine->cancel(t.id, args.reason);
      if (!st.ok()) {
        failed = st;
        failed_id = t.id;
        break;
      }
      cancelled.push_back(t);
      progress.done(cancelled.size());
    }
    const Status closed = engine->shutdown();
    if (failed.ok() && !closed.ok()) {
      failed = closed;
    }
  }

  return finish_cancel(args,
                       CancelOutcome{.targets = targets.size(),
                                     .cancelled = std::move(cancelled),
                                     .skipped = std::move(skipped),
                                     .failed = failed,
                                     .failed_id = failed_id},
                       since, nullptr);
}

}  // namespace runs_cancel_impl

void add_runs_cancel_command(CLI::App& runs_group, CommandRun* selected) {
  auto args = std::make_shared<runs_cancel_impl::RunsCancelArgs>();
  CLI::App* cmd = runs_group.add_subcommand(
      "cancel",
      "Cancel unfinished runs (by id, or every unfinished run of a function): on a stopped "
      "engine's directory (takes its lock), or through the running engine that serves DIR");
  cmd->add_option("DIR", args->dir, "The engine's directory (EngineOptions::dir)")->required();
  CLI::Option* ids =
      cmd->add_option("RUN_ID", args->ids,
                      "Runs to cancel. All or nothing: if any is unknown or already finished, "
                      "none is cancelled (exit 3)")
          ->transform(run_id_number());
  CLI::Option* function =
      cmd->add_option("--function", args->function,
                      "Instead of ids: every unfinished run of this function id")
          ->type_name("F")
          ->excludes(ids);
  cmd->add_option("--since", args->since,
                  "With --function: only runs created at or after T: 2026-11-28T09:14:03Z (RFC "
                  "3339; no zone: UTC), 2026-11-28, or an age: 90s, 15m, 2h, 7d")
      ->check(since_validator())
      ->type_name("T")
      ->needs(function);
  cmd->add_option("--reason", args->reason,
                  "Recorded with each cancellation; runs show and Engine::get_run report it as "
                  "the run's error")
      ->type_name("TEXT")
      ->default_str(args->reason);
  cmd->add_flag("--json", args->json,
                "One JSON object: {\"cancelled\": [{id, function, was}], \"reason\", "
                "\"skipped\": [{id, why}], \"error\"}");
  add_token_option(*cmd, &args->token);
  cmd->footer(
      "Opens the engine in DIR with no functions registered (nothing runs) and calls\n"
      "Engine::cancel for each run; each cancellation is durable when it is printed. Runs are\n"
      "chosen from the log (as runs list reads it); runs whose first records retention already\n"
      "removed are found only by id. When DIR is in use by a running engine that advertises its\n"
      "admin endpoint (DIR/admin.json, written by its dashboard), that engine chooses and cancels\n"
      "them (POST /api/runs/ID/cancel).\n"
      "Exit status: 0 done (also when --function matches no unfinished run), 1 the log is\n"
      "damaged, 2 usage error or DIR cannot be read, 3 an id is unknown or already finished\n"
      "(nothing cancelled), 4 the engine could not do it (DIR is in use by a running engine that\n"
      "serves no admin endpoint, an I/O error; the runs printed before the error are cancelled),\n"
      "5 runs were cancelled, but the report could not be written (`cairn runs list` shows them).");
  cmd->callback([args, selected] {
    *selected = [args] { return runs_cancel_impl::run_runs_cancel(*args); };
  });
}

}  // namespace cairn::tools
