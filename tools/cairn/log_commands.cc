// The `cairn log` group (see log_commands.h): wiring only.
#include "log_commands.h"

namespace cairn::tools {

void add_log_commands(CLI::App& root, CommandRun* selected) {
  CLI::App* log_group = root.add_subcommand(
      "log",
      "Inspect a write-ahead log directory (read-only: changes nothing, takes no lock); repair "
      "a damaged one (recover)");
  log_group->require_subcommand(1);
  log_group->footer(
      "DIR is the directory passed to Log::open (it holds the *.wal segment files).\n"
      "Exit status: 0 OK, 1 the log is damaged, 2 usage error or DIR cannot be read, 4 (recover)\n"
      "the log is in use by a running engine.");
  add_log_verify_command(*log_group, selected);
  add_log_dump_command(*log_group, selected);
  add_log_stats_command(*log_group, selected);
  add_log_export_command(*log_group, selected);
  add_log_recover_command(*log_group, selected);
}

}  // namespace cairn::tools
