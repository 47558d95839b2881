// The `cairn` command-line tool: builds the command tree, parses the command line and runs the
// selected command. Command groups (log, runs, events, serve) register themselves here.
#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>
#include <exception>
#include <string>

#include "command.h"
#include "events_commands.h"
#include "log_commands.h"
#include "runs_commands.h"
#include "serve_command.h"

namespace {

using cairn::tools::CommandRun;
using cairn::tools::kExitOk;
using cairn::tools::kExitUsage;

// The deepest subcommand the parser reached ("verify" in `cairn log verify ...`).
const CLI::App& deepest_command(const CLI::App& root) {
  const CLI::App* app = &root;
  while (!app->get_subcommands().empty()) app = app->get_subcommands().front();
  return *app;
}

// "cairn log verify": the path from the root to the deepest subcommand the parser reached.
std::string command_path(const CLI::App& root) {
  std::string path = root.get_name();
  for (const CLI::App* app = &root; !app->get_subcommands().empty();) {
    app = app->get_subcommands().front();
    path += " " + app->get_name();
  }
  return path;
}

// CLI11 reports `cairn log frobnicate` as "A subcommand is required"; name the word instead.
std::string describe_parse_error(const CLI::App& root, const CLI::ParseError& e) {
  const CLI::App& cmd = deepest_command(root);
  const std::vector<std::string> unparsed = root.remaining(/*recurse=*/true);
  if (cmd.get_require_subcommand_min() == 0 || unparsed.empty()) return e.what();
  std::string known;
  for (const CLI::App* sub : cmd.get_subcommands({})) {
    known += (known.empty() ? "" : ", ") + sub->get_name();
  }
  if (unparsed.front().starts_with('-')) return "unknown option '" + unparsed.front() + "'";
  return "unknown command '" + unparsed.front() + "' (commands: " + known + ")";
}

// Help and --version exit 0. Every other parse error prints its message and a pointer to the
// help of the command it belongs to, and exits 2 (CLI11's own codes are 1xx).
int exit_for_parse_error(const CLI::App& root, const CLI::ParseError& e) {
  if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
    (void)root.exit(e);
    return kExitOk;
  }
  const std::string path = command_path(root);
  std::fprintf(stderr, "%s: %s\nRun `%s --help` for usage.\n", path.c_str(),
               describe_parse_error(root, e).c_str(), path.c_str());
  return kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Cairn's command-line tool: inspect and verify a Cairn log, list and inspect the runs of a "
      "stopped engine, send it events, cancel runs, repair a damaged log.",
      "cairn"};
  app.set_version_flag("--version", std::string("cairn ") + CAIRN_VERSION);
  app.set_help_all_flag("--help-all", "Print help for every command");
  app.require_subcommand(1);
  app.footer(
      "Examples:\n"
      "  cairn log verify data/log          is the log intact? (exit 1 if not)\n"
      "  cairn log stats data/log           segments, records and bytes by record type\n"
      "  cairn log dump data/log --json     every record as a JSON line\n"
      "  cairn runs list data --status failed       which runs failed, newest first\n"
      "  cairn runs show data 42                    run 42's steps, attempts, errors, output\n"
      "  cairn runs cancel data 42 --reason 'duplicate order'     cancel an unfinished run\n"
      "  cairn runs replay data --failed            run every failed run again, as new runs\n"
      "  cairn log recover data/log --dry-run       what a repair of a damaged log would move "
      "aside\n"
      "  cairn events send data --name order/approved --data '{\"order_id\":\"A-17\"}'\n"
      "  cairn serve data --port 8080               the web dashboard at http://127.0.0.1:8080/\n"
      "(data is an engine's directory, EngineOptions::dir; data/log its log.)\n"
      "Exit status: 0 OK, 1 the log is damaged, 2 usage error or the directory cannot be read,\n"
      "3 no such run, 4 the engine could not do it (its directory is in use by a running engine),\n"
      "5 done, but the report could not be written: do not run the command again.");

  // A closed pipe (`cairn log dump ... | head`) is a failed write like any other, with its
  // message and exit status (2, or 5 once something was changed), not a silent death by SIGPIPE
  // after an event was already sent.
  std::signal(SIGPIPE, SIG_IGN);

  CommandRun selected;
  cairn::tools::add_log_commands(app, &selected);
  cairn::tools::add_runs_commands(app, &selected);
  cairn::tools::add_events_commands(app, &selected);
  cairn::tools::add_serve_command(app, &selected);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return exit_for_parse_error(app, e);
  }
  if (!selected) return kExitUsage;  // require_subcommand makes this unreachable
  try {
    return selected();
  } catch (const std::exception& e) {
    // Nothing in the commands throws on purpose; an allocation failure or a library exception
    // still gets a message instead of an abort.
    std::fprintf(stderr, "%s: %s\n", command_path(app).c_str(), e.what());
    return kExitUsage;
  }
}
