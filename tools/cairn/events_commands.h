// The `cairn events ...` group: events sent to a stopped engine's directory. Each subcommand lives
// in its own file (events_<name>_command.cc) and registers itself on the group.
#pragma once

#include <CLI/CLI.hpp>

#include "command.h"

namespace cairn::tools {

// Adds `events` and its subcommands to the root app; the selected one leaves its work in
// *selected.
void add_events_commands(CLI::App& root, CommandRun* selected);

void add_events_send_command(CLI::App& events_group, CommandRun* selected);

}  // namespace cairn::tools
