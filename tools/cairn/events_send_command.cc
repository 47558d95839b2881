// `cairn events send DIR --name N --data JSON [--id ID]`: opens the engine in DIR (a stopped
// engine's directory, or a new one, which it creates) with no functions registered, sends the
// event through Engine::send and shuts the engine down again. When DIR is in use by a running
// engine that advertises its admin endpoint (DIR/admin.json, written by its cairn::Dashboard),
// the event goes to that engine over its API (POST /api/events) instead, and starts the runs its
// functions' triggers say.
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

#include "admin_client.h"
#include "cairn/engine.h"
#include "engine_dir.h"
#include "engine_limits.h"
#include "events_commands.h"

namespace cairn::tools {
// A named namespace: the unity build joins anonymous namespaces of neighbouring files.
namespace events_send_impl {

struct EventsSendArgs {
  std::string dir;
  std::string name;
  std::string data = "{}";
  std::string id;
  bool json = false;
  std::string token;  // a live engine's token (--token; else CAIRN_TOKEN)
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

// What sending did, whichever engine accepted it.
struct Sent {
  std::string event_id;
  bool duplicate = false;
  std::vector<RunId> runs;          // runs it started
  std::vector<RunId> waits_ended;   // runs waiting before it that are not any more
  std::string live_url;             // the running engine that accepted it; "": the tool's own
  bool live_runs_functions = true;  // false: that engine registers none (`cairn serve`)
};

// Prints what `sent` says (text or JSON); the exit code.
int print_sent(const EventsSendArgs& args, const Sent& sent) {
  std::string out;
  if (args.json) {
    const nlohmann::json doc{
        {"event_id", sent.event_id},
        {"name", args.name},
        {"duplicate", sent.duplicate},
        {"runs", sent.runs},
        {"waits_ended", sent.waits_ended},
        // Through a running engine the list is the waiting runs that went on meanwhile, whatever
        // ended their wait (this event, a timeout, another event).
        {"waits_ended_exact", sent.live_url.empty()},
    };
    out = doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  } else {
    out = "event " + sent.event_id + " (" + args.name + ")";
    if (sent.duplicate) {
      out +=
          " is a duplicate: an event with this id was accepted within the dedup window, so "
          "nothing was recorded for it again\n";
    } else {
      out += sent.live_url.empty() ? " accepted\n"
                                   : " accepted by the running engine (" + sent.live_url + ")\n";
      out += "runs started: ";
      if (sent.runs.empty() && sent.live_url.empty()) {
        out +=
            "none (no function is registered in this tool, and the engine chooses the "
            "functions an event starts when it accepts it: send events that must start runs "
            "through the application's engine)\n";
      } else if (sent.runs.empty() && !sent.live_runs_functions) {
        out += "none (the engine at " + sent.live_url +
               " registers no function, as `cairn serve`'s does not; the engine chooses the "
               "functions an event starts when it accepts it: send events that must start runs "
               "through the application's engine)\n";
      } else if (sent.runs.empty()) {
        out += "none (no function of the running engine is triggered by " + args.name + ")\n";
      } else {
        for (size_t i = 0; i < sent.runs.size(); ++i) {
          out += (i > 0 ? ", " : "") + std::to_string(sent.runs[i]);
        }
        out += "\n";
      }
      out += sent.live_url.empty() ? "waits ended: " : "waiting runs that went on meanwhile: ";
      if (sent.waits_ended.empty()) {
        out += "none\n";
      } else {
        for (size_t i = 0; i < sent.waits_ended.size(); ++i) {
          out += (i > 0 ? ", run " : "run ") + std::to_string(sent.waits_ended[i]);
        }
        if (!sent.live_url.empty()) {
          // Compared before and after the send: a running engine also ends waits by timeouts
          // and by other events in between, and may not have applied this one yet.
          out += " (ended by this event, a timeout or another event: `runs show` says which)\n";
        } else {
          out += " (they go on when the application's engine starts)\n";
        }
      }
    }
  }
  if (!write_output("events send", out)) return kExitDoneUnreported;
  return kExitOk;
}

// The waiting runs of a running engine, over its API.
Result<std::set<RunId>> live_waiting_runs(AdminClient& client) {
  CAIRN_ASSIGN_OR_RETURN(std::vector<LiveRun> runs,
                         client.list_runs({.status = RunStatus::kWaiting}));
  std::set<RunId> ids;
  for (const LiveRun& r : runs) ids.insert(r.id);
  return ids;
}

// The event, sent to the running engine that serves DIR (POST /api/events). The waits it ended
// are the runs waiting before it that are not after: in a running engine something else (a
// timeout, another event) may have ended one of them meanwhile.
int send_live(const EventsSendArgs& args, AdminClient& client) {
  Result<std::set<RunId>> before = live_waiting_runs(client);
  if (!before.ok()) return report_admin_error("events send", before.status());
  Result<LiveSendResult> sent = client.send_event(args.name, args.data, args.id);
  if (!sent.ok()) {
    return report_admin_error(
        "events send", sent.status().with_context("the running engine did not accept the event"));
  }
  Sent out{.event_id = sent->event_id,
           .duplicate = sent->duplicate,
           .runs = sent->runs,
           .live_url = client.endpoint().url};
  // The event is accepted: a failure to ask more afterwards only leaves that unreported.
  if (Result<size_t> functions = client.registered_function_count(); functions.ok()) {
    out.live_runs_functions = *functions > 0;
  }
  // The event is accepted: a failure to list the waits afterwards only leaves them unreported.
  if (Result<std::set<RunId>> after = live_waiting_runs(client); after.ok()) {
    for (RunId id : *before) {
      if (!after->contains(id)) out.waits_ended.push_back(id);
    }
  }
  return print_sent(args, out);
}

int run_events_send(const EventsSendArgs& args) {
  if (args.name.empty()) return usage("--name must not be empty");
  std::string not_json;  // the parser's own words: where, and what (bad UTF-8, a stray comma)
  nlohmann::json data;
  try {
    data = nlohmann::json::parse(args.data);
  } catch (const nlohmann::json::parse_error& e) {
    not_json = detail::bounded_text(e.what(), 240);
  }
  if (!not_json.empty() || !data.is_object()) {
    return usage(
        "--data must be a JSON object, such as '{\"order_id\": \"A-17\"}'; got: " +
        detail::bounded_text(args.data, 120) +
        (not_json.empty() ? " (" + std::string(data.type_name()) + ")" : " (" + not_json + ")"));
  }
  if (std::string wrong = wrong_new_engine_dir(args.dir, "events send"); !wrong.empty()) {
    return usage(wrong);
  }

  Result<std::optional<std::unique_ptr<AdminClient>>> live =
      AdminClient::connect(args.dir, admin_token(args.token));
  if (!live.ok()) return report_admin_error("events send", live.status());
  if (live->has_value()) return send_live(args, *live->value());

  Result<EngineOptions> options = tool_engine_options(args.dir, "events send");
  if (!options.ok()) return fail_unreadable("events send", options.status());
  std::unique_ptr<Engine> engine = Engine::create(std::move(*options));
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
  return print_sent(args, Sent{.event_id = sent->event_id,
                               .duplicate = sent->duplicate,
                               .runs = sent->runs,
                               .waits_ended = std::move(waits_ended)});
}

}  // namespace events_send_impl

void add_events_send_command(CLI::App& events_group, CommandRun* selected) {
  auto args = std::make_shared<events_send_impl::EventsSendArgs>();
  CLI::App* cmd = events_group.add_subcommand(
      "send",
      "Record an event in a stopped engine's log (creating DIR if there is none), or send it to "
      "the running engine that serves DIR; print its id, the runs it started and the waits it "
      "ended");
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
  add_token_option(*cmd, &args->token);
  cmd->footer(
      "The event goes through Engine::send with no function registered, so it starts no runs\n"
      "(the engine decides which functions an event starts when it accepts it, and that decision\n"
      "is in the log). It does end waits (ctx.wait_for_event) recorded before it that it matches:\n"
      "those runs go on when the application's engine starts. When DIR is in use by a running\n"
      "engine that advertises its admin endpoint (DIR/admin.json, written by its dashboard), the\n"
      "event goes to that engine instead, and starts the runs its functions' triggers say.\n"
      "Exit status: 0 accepted (or a duplicate id), 1 the log is damaged, 2 usage error (bad\n"
      "--data, DIR is not an engine directory, a token is missing), 4 the engine could not\n"
      "accept it (DIR is in use by a running engine that serves no admin endpoint, a limit, an\n"
      "I/O error), 5 accepted, but the report could not be written (do not send it again).");
  cmd->callback([args, selected] {
    *selected = [args] { return events_send_impl::run_events_send(*args); };
  });
}

}  // namespace cairn::tools
