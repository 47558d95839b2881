// The `cairn events` group (see events_commands.h): wiring only.
#include "events_commands.h"

namespace cairn::tools {

void add_events_commands(CLI::App& root, CommandRun* selected) {
  CLI::App* events_group = root.add_subcommand(
      "events", "Send events to a stopped engine's directory (takes the engine's lock)");
  events_group->require_subcommand(1);
  events_group->footer(
      "DIR is the engine's directory (EngineOptions::dir); its log is DIR/log.\n"
      "Exit status: 0 accepted, 1 the log is damaged, 2 usage error or DIR cannot be used,\n"
      "4 the engine could not accept it (DIR is in use by a running engine, a limit, an I/O "
      "error),\n5 accepted, but the report could not be written (do not send it again).");
  add_events_send_command(*events_group, selected);
}

}  // namespace cairn::tools
