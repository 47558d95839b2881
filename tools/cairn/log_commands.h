// The `cairn log ...` group: inspection of a log directory (read-only), and its explicit repair
// (`log recover`). Each subcommand lives in its
// own file (log_<name>_command.cc) and registers itself on the group.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <string_view>

#include "cairn/log/status.h"
#include "command.h"

namespace cairn::tools {

// Adds `log` and its subcommands to the root app; the selected one leaves its work in *selected.
void add_log_commands(CLI::App& root, CommandRun* selected);

void add_log_verify_command(CLI::App& log_group, CommandRun* selected);
void add_log_dump_command(CLI::App& log_group, CommandRun* selected);
void add_log_stats_command(CLI::App& log_group, CommandRun* selected);
void add_log_export_command(CLI::App& log_group, CommandRun* selected);
void add_log_recover_command(CLI::App& log_group, CommandRun* selected);

// Shared by the commands that read records in order (dump, export): the --from option, and how
// a read that stopped ends — kExitOk at the end, kExitDamage with what to run for damage (after
// the `done` records printed), else unreadable.
void add_from_lsn_option(CLI::App& cmd, uint64_t* from);
int finish_record_read(std::string_view command, const Status& read_error, uint64_t done,
                       const std::string& dir);

}  // namespace cairn::tools
