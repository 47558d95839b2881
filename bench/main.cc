// cairn-bench: parses the command line and runs the selected benchmark subcommand. Each
// subcommand lives in its own file and registers itself through kSubcommands.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <string>

#include "subcommand.h"

namespace {

using cairn::bench::AddSubcommand;
using cairn::bench::kExitOk;
using cairn::bench::kExitUsage;
using cairn::bench::SubcommandRun;

// Every subcommand, in the order `cairn-bench --help` lists them.
constexpr AddSubcommand kSubcommands[] = {
    cairn::bench::add_log_subcommand,    cairn::bench::add_scan_subcommand,
    cairn::bench::add_engine_subcommand, cairn::bench::add_recovery_subcommand,
    cairn::bench::add_soak_subcommand,   cairn::bench::add_flow_subcommand,
    cairn::bench::add_micro_subcommand,
};

// "cairn-bench log": the path of the deepest subcommand the parser reached.
std::string command_path(const CLI::App& root) {
  std::string path = root.get_name();
  const CLI::App* app = &root;
  while (!app->get_subcommands().empty()) {
    app = app->get_subcommands().front();
    path += " " + app->get_name();
  }
  return path;
}

// Help exits 0. Every other parse error (an unknown flag, a value out of range) prints its
// message and a pointer to the help, and exits 2 (CLI11's own codes are 1xx).
int exit_for_parse_error(const CLI::App& root, const CLI::ParseError& e) {
  if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
    (void)root.exit(e);
    return kExitOk;
  }
  const std::string path = command_path(root);
  std::fprintf(stderr, "%s: %s\nRun `%s --help` for usage.\n", path.c_str(), e.what(),
               path.c_str());
  return kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Cairn's benchmark harness. Every measuring subcommand prints one flat JSON object "
      "as the last line of stdout; progress goes to stderr.",
      "cairn-bench"};
  app.require_subcommand(1);
  app.footer(
      "Examples:\n"
      "  cairn-bench log --producers 8 --payload 128 --seconds 3\n"
      "  cairn-bench log --producers 64 --inflight 1 --payload 128 --seconds 3 --compare\n"
      "  cairn-bench scan --dir cairn-bench-data/log-1234\n"
      "  cairn-bench micro --benchmark_filter=Blob\n"
      "Exit status: 0 done, 1 the benchmark failed (stderr says why), 2 usage error.");

  SubcommandRun selected;
  for (AddSubcommand add : kSubcommands) add(app, &selected);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return exit_for_parse_error(app, e);
  }
  if (!selected) return kExitUsage;  // require_subcommand makes this unreachable
  try {
    return selected();
  } catch (const std::exception& e) {
    // Nothing here throws on purpose; a library exception (RocksDB, nlohmann) or an allocation
    // failure still gets a message instead of an abort.
    std::fprintf(stderr, "%s: %s\n", command_path(app).c_str(), e.what());
    return cairn::bench::kExitFailed;
  }
}
