// The `cairn log ...` group: inspection of a log directory (read-only), and its explicit repair
// (`log recover`). Each subcommand lives in its
// own file (log_<name>_command.cc) and registers itself on the group.
#pragma once

#include <CLI/CLI.hpp>

#include "command.h"

namespace cairn::tools {

// Adds `log` and its subcommands to the root app; the selected one leaves its work in *selected.
void add_log_commands(CLI::App& root, CommandRun* selected);

void add_log_verify_command(CLI::App& log_group, CommandRun* selected);
void add_log_dump_command(CLI::App& log_group, CommandRun* selected);
void add_log_stats_command(CLI::App& log_group, CommandRun* selected);
void add_log_export_command(CLI::App& log_group, CommandRun* selected);
void add_log_recover_command(CLI::App& log_group, CommandRun* selected);

}  // namespace cairn::tools
