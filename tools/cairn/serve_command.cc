// `cairn serve DIR [--port P] [--bind ADDR] [--token T]`: the dashboard (cairn/dashboard.h) over a
// stopped engine's directory (or a new one). It opens the engine there with no function
// registered — replays, cancels and events made on the page are recorded in the log and run when
// the application's engine next starts — serves until SIGINT or SIGTERM, then shuts down.
// A DIR in use by a live engine that serves its own dashboard (DIR/admin.json) is answered with
// that dashboard's address.
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "admin_client.h"
#include "cairn/dashboard.h"
#include "cairn/engine.h"
#include "command.h"
#include "engine_dir.h"
#include "serve_command.h"

namespace cairn::tools {
namespace {

struct ServeArgs {
  std::string dir;
  uint16_t port = 0;
  std::string bind = "127.0.0.1";
  std::string token;
};

int usage(const std::string& message) {
  std::fprintf(stderr, "cairn serve: %s\n", message.c_str());
  return kExitUsage;
}

// DIR is locked by a running engine: its own dashboard, if it advertises one, is the answer.
int answer_in_use(const ServeArgs& args, const Status& st) {
  Result<std::optional<AdminEndpoint>> live = read_admin_endpoint(args.dir);
  if (live.ok() && live->has_value()) {
    std::printf("the engine serves its dashboard at %s%s\n", (*live)->url.c_str(),
                (*live)->token_required ? " (it needs its token: open it as /?token=...)" : "");
    return kExitOk;
  }
  return report_engine_error("serve", "opening the engine", st, args.dir,
                             "it serves no dashboard (no admin.json): start one in the "
                             "application with cairn::Dashboard::start.");
}

// Blocks SIGINT and SIGTERM in this thread and every thread started after it (the engine's, the
// server's), so that sigwait() below is the one place they arrive.
sigset_t block_stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

int run_serve(ServeArgs args) {
  args.token = admin_token(args.token);
  const DashboardOptions options{.bind = args.bind, .port = args.port, .token = args.token};
  if (Status st = Dashboard::check_options(options); !st.ok()) {
    return usage(st.message() + " (--token T, or $CAIRN_TOKEN)");
  }
  if (std::string wrong = wrong_new_engine_dir(args.dir, "serve"); !wrong.empty()) {
    return usage(wrong);
  }

  const sigset_t stop_signals = block_stop_signals();
  Result<EngineOptions> engine_options = tool_engine_options(args.dir, "serve");
  if (!engine_options.ok()) return fail_unreadable("serve", engine_options.status());
  std::unique_ptr<Engine> engine = Engine::create(std::move(*engine_options));
  if (Status st = engine->start(); !st.ok()) {
    if (st.code() == StatusCode::kLocked) return answer_in_use(args, st);
    return report_engine_error("serve", "opening the engine", st, args.dir, "");
  }
  Result<std::unique_ptr<Dashboard>> dashboard = Dashboard::start(*engine, options);
  if (!dashboard.ok()) {
    (void)engine->shutdown();
    std::fprintf(stderr, "cairn serve: %s\n", dashboard.status().message().c_str());
    return dashboard.status().code() == StatusCode::kInvalidArgument ? kExitUsage : kExitRefused;
  }
  std::printf("cairn serve: the dashboard of %s is at %s%s\n", args.dir.c_str(),
              (*dashboard)->url().c_str(), args.token.empty() ? "" : "?token=<your token>");
  std::printf(
      "No function runs in this process: replays, cancels and events are recorded and run "
      "when the application's engine starts. Ctrl-C stops.\n");
  std::fflush(stdout);

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  (*dashboard)->stop();
  if (Status st = engine->shutdown(); !st.ok()) {
    return report_engine_error("serve", "closing the engine", st, args.dir, "");
  }
  std::printf("cairn serve: stopped\n");
  return kExitOk;
}

}  // namespace

void add_serve_command(CLI::App& root, CommandRun* selected) {
  auto args = std::make_shared<ServeArgs>();
  CLI::App* cmd = root.add_subcommand(
      "serve",
      "Serve the web dashboard of a stopped engine's directory (runs, timelines, replay, cancel, "
      "events) until Ctrl-C");
  cmd->add_option("DIR", args->dir, "The engine's directory (EngineOptions::dir)")->required();
  cmd->add_option("--port", args->port, "Port to listen on; 0 picks a free one")
      ->type_name("P")
      ->default_str("0");
  cmd->add_option("--bind", args->bind,
                  "Address to listen on; any other than a loopback address needs --token")
      ->type_name("ADDR")
      ->default_str("127.0.0.1");
  cmd->add_option("--token", args->token,
                  "Require this token on every request (Authorization: Bearer T, or open the "
                  "page as /?token=T); default: $CAIRN_TOKEN, else none")
      ->type_name("T");
  cmd->footer(
      "The engine is opened with no function registered: what the page does (replay, cancel,\n"
      "send an event) is recorded in the log and runs when the application's engine starts.\n"
      "When DIR is in use by a running engine that serves its own dashboard (DIR/admin.json),\n"
      "its address is printed instead. docs/dashboard.md describes the page and its JSON API.\n"
      "Exit status: 0 served until stopped (or the running engine's dashboard printed), 1 the log\n"
      "is damaged, 2 usage error (a non-loopback --bind without a token, DIR is not an engine\n"
      "directory), 4 the engine or the port could not be opened (DIR in use, port taken).");
  cmd->callback([args, selected] { *selected = [args] { return run_serve(*args); }; });
}

}  // namespace cairn::tools
