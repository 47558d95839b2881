// `cairn runs replay DIR (RUN_ID... | --failed [--function F] [--since T]) [--from-start]`: runs
// finished runs again. By default a failed run resumes at its failed step as a new run
// (Engine::replay_run: the steps that succeeded are not run again); with --from-start a new run
// starts from the beginning with the same input.
//
// On a stopped engine's directory the tool opens the engine itself, with no function registered,
// so the new runs are queued: the application's engine runs them when it next starts. When DIR is
// in use by a running engine that advertises its admin endpoint (DIR/admin.json, written by its
// cairn::Dashboard), the replays go to that engine over its API (admin_client.h) and run now;
// the output is the same.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "admin_client.h"
#include "cairn/engine.h"
#include "engine_dir.h"
#include "run_scan.h"
#include "runs_commands.h"
#include "time_text.h"

namespace cairn::tools {
// A named namespace: the unity build joins anonymous namespaces of neighbouring files.
namespace runs_replay_impl {

constexpr const char* kCommand = "runs replay";

struct RunsReplayArgs {
  std::string dir;
  std::vector<RunId> ids;
  bool failed = false;
  std::string function;
  std::string since;
  bool from_start = false;
  bool json = false;
  std::string token;  // a live engine's token (--token; else CAIRN_TOKEN)
};

struct Outcome {
  RunId original = 0;
  RunId replay = 0;  // 0: not replayed (`why` says why)
  std::string function;
  std::string why;
};

// --failed: the failed runs in the log (of F, created since T), oldest first.
Result<std::vector<RunId>> failed_runs(const std::filesystem::path& log_dir,
                                       const std::string& function, std::optional<int64_t> since) {
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<log::LogReader> reader, open_engine_log(log_dir));
  std::vector<RunId> out;
  RunScanner scanner([&](RunSummary&& r) {
    if (r.status == RunStatus::kFailed && (function.empty() || r.function == function) &&
        (!since || r.created_us >= *since)) {
      out.push_back(r.id);
    }
  });
  for (;;) {
    CAIRN_ASSIGN_OR_RETURN(const log::ReadRecord* record, reader->next());
    if (record == nullptr) break;
    scanner.add(*record);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Shows "replaying: 40 of 300" on stderr while many runs are replayed (not with --json).
void show_progress(const RunsReplayArgs& args, size_t done, size_t total) {
  if (!args.json && total >= 20 && done % 10 == 0) {
    std::fprintf(stderr, "replaying: %zu of %zu\n", done, total);
  }
}

// The replays, done by an engine the tool opens in DIR (a stopped engine's directory). Returns
// an exit code when the engine could not be opened; *closed is how it shut down.
std::optional<int> replay_offline(const RunsReplayArgs& args, const std::vector<RunId>& ids,
                                  std::vector<Outcome>* outcomes, Status* closed) {
  Result<EngineOptions> options = tool_engine_options(args.dir, kCommand);
  if (!options.ok()) return fail_unreadable(kCommand, options.status());
  std::unique_ptr<Engine> engine = Engine::create(std::move(*options));
  if (Status s = engine->start(); !s.ok()) {
    return report_engine_error(kCommand, "opening the engine", s, args.dir,
                               "replay through it (Engine::replay_run). Nothing was replayed.");
  }
  const auto from = args.from_start ? Engine::ReplayFrom::kStart : Engine::ReplayFrom::kFailedStep;
  for (size_t i = 0; i < ids.size(); ++i) {
    Outcome o{.original = ids[i]};
    if (Result<RunInfo> info = engine->get_run(ids[i]); info.ok()) o.function = info->function_id;
    Result<RunId> r = engine->replay_run(ids[i], from);
    if (r.ok()) {
      o.replay = *r;
    } else {
      o.why = r.status().message();
    }
    show_progress(args, i + 1, ids.size());
    outcomes->push_back(std::move(o));
  }
  *closed = engine->shutdown();
  return std::nullopt;
}

// The replays, sent to the running engine's API. A refusal of one run (not failed, unknown) is
// that run's outcome; an endpoint that stops answering (or refuses the token) ends the command
// with the runs replayed so far in *outcomes and the error in *stopped.
void replay_live(const RunsReplayArgs& args, AdminClient& client, const std::vector<RunId>& ids,
                 std::vector<Outcome>* outcomes, Status* stopped) {
  const auto from = args.from_start ? Engine::ReplayFrom::kStart : Engine::ReplayFrom::kFailedStep;
  for (size_t i = 0; i < ids.size(); ++i) {
    Outcome o{.original = ids[i]};
    if (Result<LiveRun> info = client.get_run(ids[i]); info.ok()) o.function = info->function;
    Result<RunId> r = client.replay_run(ids[i], from);
    if (r.ok()) {
      o.replay = *r;
    } else if (r.status().code() == StatusCode::kInvalidArgument ||
               r.status().code() == StatusCode::kNotFound) {
      o.why = r.status().message();
    } else {
      *stopped = r.status();
      return;
    }
    show_progress(args, i + 1, ids.size());
    outcomes->push_back(std::move(o));
  }
}

// What was replayed, as text or JSON; `live_url` names the running engine that did it ("" when
// the tool's own engine queued them), `live_runs_functions` whether that engine runs them.
std::string replay_report(const RunsReplayArgs& args, const std::vector<RunId>& ids,
                          const std::vector<Outcome>& outcomes, std::optional<int64_t> since,
                          const std::string& live_url, bool live_runs_functions) {
  const size_t queued = static_cast<size_t>(
      std::count_if(outcomes.begin(), outcomes.end(), [](const Outcome& o) { return o.replay; }));
  if (args.json) {
    nlohmann::json runs = nlohmann::json::array();
    for (const Outcome& o : outcomes) {
      runs.push_back(
          {{"run", o.original},
           {"function", o.function},
           {"replay", o.replay == 0 ? nlohmann::json(nullptr) : nlohmann::json(o.replay)},
           {"error", o.why.empty() ? nlohmann::json(nullptr) : nlohmann::json(o.why)}});
    }
    return nlohmann::json{{"from", args.from_start ? "start" : "failed step"},
                          {"runs", std::move(runs)},
                          {"queued", queued}}
               .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
           "\n";
  }
  std::string out;
  for (const Outcome& o : outcomes) {
    if (o.replay != 0) {
      out += "run " + std::to_string(o.original) + " (" + o.function + ") -> run " +
             std::to_string(o.replay) +
             (args.from_start ? ", from the start\n" : ", from its failed step\n");
    } else {
      out += "run " + std::to_string(o.original) + " not replayed: " + o.why + "\n";
    }
  }
  if (ids.empty()) {
    out += "no failed runs" + (args.function.empty() ? "" : " of function " + args.function) +
           (since ? " created since " + utc_time(*since) : std::string()) + ": nothing to replay\n";
  } else if (live_url.empty()) {
    out += std::to_string(queued) + " of " + std::to_string(ids.size()) +
           " queued; they run when the application's engine starts on " + args.dir + "\n";
  } else if (live_runs_functions) {
    out += std::to_string(queued) + " of " + std::to_string(ids.size()) +
           " queued in the running engine (" + live_url + "), which runs them now\n";
  } else {
    out += std::to_string(queued) + " of " + std::to_string(ids.size()) + " queued through " +
           live_url + " (an engine with no function registered, such as `cairn serve`'s); they " +
           "run when the application's engine starts on " + args.dir + "\n";
  }
  return out;
}

int run_runs_replay(const RunsReplayArgs& args) {
  if (args.ids.empty() && !args.failed) {
    std::fprintf(stderr,
                 "cairn %s: name the runs to replay: RUN_ID... or --failed\nRun `cairn %s "
                 "--help` for usage.\n",
                 kCommand, kCommand);
    return kExitUsage;
  }
  std::optional<int64_t> since;
  if (!args.since.empty()) {
    Result<int64_t> t = parse_time(args.since, system_now_us());
    if (!t.ok()) return fail_unreadable(kCommand, t.status());
    since = *t;
  }
  Result<std::filesystem::path> log_dir = engine_log_dir(args.dir);
  if (!log_dir.ok()) return fail_unreadable(kCommand, log_dir.status());
  Result<std::optional<std::unique_ptr<AdminClient>>> live =
      AdminClient::connect(args.dir, admin_token(args.token));
  if (!live.ok()) return report_admin_error(kCommand, live.status());
  AdminClient* client = live->has_value() ? live->value().get() : nullptr;

  std::vector<RunId> ids = without_repeats(args.ids);
  if (args.failed && client != nullptr) {
    // The running engine's failed runs (those it keeps in memory: runs_finished_kept).
    Result<std::vector<LiveRun>> found = client->list_runs(
        {.function = args.function,
         .status = RunStatus::kFailed,
         .since_ms = since ? std::optional<int64_t>(*since / 1000) : std::nullopt});
    if (!found.ok()) return report_admin_error(kCommand, found.status());
    ids.clear();
    for (const LiveRun& r : *found) {
      if (!since || r.created_at_ms * 1000 >= *since) ids.push_back(r.id);
    }
    std::sort(ids.begin(), ids.end());
  } else if (args.failed) {
    Result<std::vector<RunId>> found = failed_runs(*log_dir, args.function, since);
    if (!found.ok()) {
      std::fprintf(stderr, "cairn %s: reading the log: %s\n", kCommand,
                   found.status().message().c_str());
      return found.status().code() == StatusCode::kCorruption ? kExitDamage : kExitUsage;
    }
    ids = std::move(*found);
  }

  std::vector<Outcome> outcomes;
  Status closed;  // offline: how the engine shut down; live: why the endpoint stopped answering
  if (!ids.empty() && client != nullptr) {
    replay_live(args, *client, ids, &outcomes, &closed);
  } else if (!ids.empty()) {
    if (std::optional<int> failed = replay_offline(args, ids, &outcomes, &closed)) return *failed;
  }

  // Whether the live engine runs what it queued (`cairn serve`'s registers no function).
  bool live_runs_functions = true;
  if (client != nullptr && closed.ok()) {
    Result<size_t> functions = client->registered_function_count();
    live_runs_functions = !functions.ok() || *functions > 0;
  }
  const std::string out =
      replay_report(args, ids, outcomes, since, client != nullptr ? client->endpoint().url : "",
                    live_runs_functions);
  if (!write_output(kCommand, out)) {
    const bool replayed = std::any_of(outcomes.begin(), outcomes.end(),
                                      [](const Outcome& o) { return o.replay != 0; });
    return replayed ? kExitDoneUnreported : kExitUsage;
  }
  if (!closed.ok() && client != nullptr) {
    std::fprintf(stderr,
                 "cairn %s: the running engine stopped answering: %s (the runs printed "
                 "above are replayed; the others were not tried)\n",
                 kCommand, closed.message().c_str());
    return kExitRefused;
  }
  if (!closed.ok()) {
    std::fprintf(stderr, "cairn %s: closing the engine: %s\n", kCommand, closed.message().c_str());
    return kExitRefused;
  }
  const bool all =
      std::all_of(outcomes.begin(), outcomes.end(), [](const Outcome& o) { return o.replay != 0; });
  return all ? kExitOk : kExitNotFound;
}

}  // namespace runs_replay_impl

void add_runs_replay_command(CLI::App& runs_group, CommandRun* selected) {
  auto args = std::make_shared<runs_replay_impl::RunsReplayArgs>();
  CLI::App* cmd = runs_group.add_subcommand(
      "replay",
      "Run finished runs again (a failed run from its failed step, or --from-start): on a stopped "
      "engine's directory (takes its lock), or through the running engine that serves DIR");
  cmd->add_option("DIR", args->dir, "The engine's directory (EngineOptions::dir)")->required();
  CLI::Option* ids =
      cmd->add_option("RUN_ID", args->ids, "Runs to replay")->transform(run_id_number());
  CLI::Option* failed =
      cmd->add_flag("--failed", args->failed,
                    "Instead of ids: every failed run in the log (of a running engine: those it "
                    "keeps in memory)")
          ->excludes(ids);
  cmd->add_option("--function", args->function, "With --failed: only runs of this function id")
      ->type_name("F")
      ->needs(failed);
  cmd->add_option("--since", args->since,
                  "With --failed: only runs created at or after T: 2026-11-28T09:14:03Z (RFC "
                  "3339; no zone: UTC), 2026-11-28, or an age: 90s, 15m, 2h, 7d")
      ->check(since_validator())
      ->type_name("T")
      ->needs(failed);
  cmd->add_flag("--from-start", args->from_start,
                "Start each again from the beginning with the same input (any finished run); by "
                "default a failed run resumes at its failed step, the steps that succeeded kept");
  cmd->add_flag("--json", args->json,
                "One JSON object: {\"from\", \"runs\": [{run, function, replay, error}], "
                "\"queued\"}");
  add_token_option(*cmd, &args->token);
  cmd->footer(
      "Each replay is a new run (Engine::replay_run; RunCreated.replay_of names the original),\n"
      "durable when it is printed. On a stopped engine's directory the tool registers no\n"
      "function: the new runs run when the application's engine next starts on DIR. When DIR is\n"
      "in use by a running engine that advertises its admin endpoint (DIR/admin.json, written by\n"
      "its dashboard), the replays go to that engine and run now. From the failed step, the\n"
      "replay gets back the original's step outputs, ended sleeps and waits, sent event ids and\n"
      "invoked runs' outputs without doing them again.\n"
      "Exit status: 0 every run queued (also when --failed finds none), 1 the log is damaged,\n"
      "2 usage error or DIR cannot be read, 3 some runs were not replayed (each is named; the\n"
      "others are queued), 4 the engine could not do it (DIR is in use by a running engine that\n"
      "serves no admin endpoint, or that endpoint stopped answering), 5 runs were queued, but the\n"
      "report could not be written (`cairn runs list` shows them; do not replay them again).");
  cmd->callback([args, selected] {
    *selected = [args] { return runs_replay_impl::run_runs_replay(*args); };
  });
}

}  // namespace cairn::tools
