// `cairn events send DIR --name N --data JSON [--id ID]`: opens the engine in DIR (a stopped
// engine's directory, or a new one, which it creates) with no functions registered, sends the
// event through Engine::send and shuts the engine down again.
//
// What that means, because the engine decides when it accepts an event which functions it starts:
// with no function registered here, the event starts no runs, now or later (the log records it
// with no runs, and the application's engine does not re-decide that when it starts). It is still
// a real event: it is in the log, counts for deduplication by id, and ends every wait_for_event
// recorded before it whose event and match it fits, so those runs go on when the application's
// engine starts again.
#include <cerrno>
#include <cstdio>
#include <memory>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "cairn/engine.h"
#include "engine_dir.h"
#include "events_commands.h"

namespace cairn::tools {
namespace {

struct EventsSendArgs {
  std::string dir;
  std::string name;
  std::string data = "{}";
  std::string id;
  bool json = false;
};

int usage(const std::string& message) {
  std::fprintf(stderr, "cairn events send: %s\n", message.c_str());
  return kExitUsage;
}

// An engine error as an exit code, with what to do about it.
int engine_failed(std::string_view what, const Status& st, const std::string& dir) {
  return report_engine_error("events send", what, st, dir,
                             "send the event through that engine (its send() API); this command "
                             "works on a stopped engine's directory.");
}

// The runs waiting (in wait_for_event or for an invoked run) in the engine now.
std::set<RunId> waiting_runs(const Engine& engine) {
  const RunPage page =
      engine.list_runs(RunQuery{.status = RunStatus::kWaiting, .limit = 10'000'000});
  std::set<RunId> ids;
  for (const RunInfo& r : page.runs) ids.insert(r.id);
  return ids;
}

int run_events_send(const EventsSendArgs& args) {
  namespace fs = std::filesystem;
  if (args.name.empty()) return usage("--name must not be empty");
  const nlohmann::json data = nlohmann::json::parse(args.data, nullptr, false);
  if (data.is_discarded() || !data.is_object()) {
    return usage("--data must be a JSON object, such as '{\"order_id\": \"A-17\"}'; got: " +
                 args.data.substr(0, 80));
  }
  std::error_code ec;
  const fs::file_status st = fs::status(args.dir, ec);
  if (fs::exists(st)) {
    if (!fs::is_directory(st)) {
      return usage(args.dir +
                   " is not a directory (DIR is an engine's directory, "
                   "EngineOptions::dir)");
    }
    for (fs::directory_iterator it(args.dir, ec); !ec && it != fs::directory_iterator();
         it.increment(ec)) {
      if (it->path().extension() == ".wal") {
        return usage(args.dir +
                     " is a log directory (it holds *.wal segments); events send takes the "
                     "engine's directory, the one that holds log/: try " +
                     fs::path(args.dir).parent_path().string());
      }
    }
  }

  std::unique_ptr<Engine> engine = Engine::create(tool_engine_options(args.dir));
  if (Status s = engine->start(); !s.ok()) return engine_failed("opening the engine", s, args.dir);

  const std::set<RunId> waiting_before = waiting_runs(*engine);
  Result<SendResult> sent =
      engine->send(Event{.name = args.name, .data = args.data, .id = args.id, .ts_ms = 0});
  std::vector<RunId> waits_ended;
  if (sent.ok()) {
    for (RunId id : waiting_before) {
      Result<RunInfo> info = engine->get_run(id);
      if (info.ok() && info->status != RunStatus::kWaiting) waits_ended.push_back(id);
    }
  }
  const Status closed = engine->shutdown();
  if (!sent.ok())
    return engine_failed("the engine did not accept the event", sent.status(), args.dir);
  if (!closed.ok()) return engine_failed("closing the engine", closed, args.dir);

  std::string out;
  if (args.json) {
    const nlohmann::json doc{
        {"event_id", sent->event_id}, {"name", args.name},          {"duplicate", sent->duplicate},
        {"runs", sent->runs},         {"waits_ended", waits_ended},
    };
    out = doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  } else {
    out = "event " + sent->event_id + " (" + args.name + ")";
    if (sent->duplicate) {
      out +=
          " is a duplicate: an event with this id was accepted within the dedup window, so "
          "nothing was recorded for it again\n";
    } else {
      out += " accepted\n";
      out += "runs started: ";
      if (sent->runs.empty()) {
        out +=
            "none (no function is registered in this tool, and the engine chooses the "
            "functions an event starts when it accepts it: send events that must start runs "
            "through the application's engine)\n";
      } else {
        for (size_t i = 0; i < sent->runs.size(); ++i) {
          out += (i > 0 ? ", " : "") + std::to_string(sent->runs[i]);
        }
        out += "\n";
      }
      out += "waits ended: ";
      if (waits_ended.empty()) {
        out += "none\n";
      } else {
        for (size_t i = 0; i < waits_ended.size(); ++i) {
          out += (i > 0 ? ", run " : "run ") + std::to_string(waits_ended[i]);
        }
        out += " (they go on when the application's engine starts)\n";
      }
    }
  }
  if (std::fwrite(out.data(), 1, out.size(), stdout) != out.size() || std::fflush(stdout) != 0) {
    return fail_unreadable("events send", errno_status(errno, "writing the output"));
  }
  return kExitOk;
}

}  // namespace

void add_events_send_command(CLI::App& events_group, CommandRun* selected) {
  auto args = std::make_shared<EventsSendArgs>();
  CLI::App* cmd = events_group.add_subcommand(
      "send",
      "Record an event in a stopped engine's log (creating DIR if there is none); print its id, "
      "the runs it started and the waits it ended");
  cmd->add_option("DIR", args->dir, "The engine's directory (EngineOptions::dir)")->required();
  cmd->add_option("--name", args->name, "The event's name, e.g. order/approved")
      ->required()
      ->type_name("N");
  cmd->add_option("--data", args->data, "The event's data: a JSON object")
      ->type_name("JSON")
      ->default_str("{}");
  cmd->add_option("--id", args->id,
                  "The event's id, for deduplication (an id seen within the engine's dedup "
                  "window is not accepted twice); default: the engine names it")
      ->type_name("ID");
  cmd->add_flag("--json", args->json,
                "One JSON object: {\"event_id\", \"name\", \"duplicate\", \"runs\": [run ids "
                "started], \"waits_ended\": [run ids whose wait_for_event it ended]}");
  cmd->footer(
      "The event goes through Engine::send with no function registered, so it starts no runs\n"
      "(the engine decides which functions an event starts when it accepts it, and that decision\n"
      "is in the log). It does end waits (ctx.wait_for_event) recorded before it that it matches:\n"
      "those runs go on when the application's engine starts. DIR must not be in use by a running\n"
      "engine (its log is locked).\n"
      "Exit status: 0 accepted (or a duplicate id), 1 the log is damaged, 2 usage error (bad\n"
      "--data, DIR is not an engine directory), 4 the engine could not accept it (DIR is in use\n"
      "by a running engine, a limit, an I/O error).");
  cmd->callback([args, selected] { *selected = [args] { return run_events_send(*args); }; });
}

}  // namespace cairn::tools
