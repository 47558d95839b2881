// How a cairn-bench subcommand plugs into main(): it registers its options on the root CLI::App
// and, when the command line selects it, leaves behind the function that runs it. Adding a
// subcommand = one source file with an add_*_subcommand function, one line in kSubcommands
// (main.cc) and one line in CMakeLists.txt.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

namespace cairn::bench {

// Exit codes of every subcommand (the target scripts and the README rely on them).
enum ExitCode : int {
  kExitOk = 0,
  kExitFailed = 1,  // the benchmark ran into an error or a hang; stderr says what
  kExitUsage = 2,   // bad command line or an unusable --dir
};

// The selected subcommand's work, run after the whole command line parsed; returns an ExitCode.
using SubcommandRun = std::function<int()>;

// Adds one subcommand to `root`; its parse callback stores the work in `*selected`.
using AddSubcommand = void (*)(CLI::App& root, SubcommandRun* selected);

void add_log_subcommand(CLI::App& root, SubcommandRun* selected);
void add_scan_subcommand(CLI::App& root, SubcommandRun* selected);
void add_engine_subcommand(CLI::App& root, SubcommandRun* selected);
void add_recovery_subcommand(CLI::App& root, SubcommandRun* selected);
void add_soak_subcommand(CLI::App& root, SubcommandRun* selected);
void add_micro_subcommand(CLI::App& root, SubcommandRun* selected);
void add_flow_subcommand(CLI::App& root, SubcommandRun* selected);

}  // namespace cairn::bench
