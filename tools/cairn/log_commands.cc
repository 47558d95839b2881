// The `cairn log` group (see log_commands.h): wiring, and what the record readers share.
#include "log_commands.h"

#include <cstdio>

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
      "the log is in use by a running engine, 5 (recover) repaired, but the report could not be\n"
      "written.");
  add_log_verify_command(*log_group, selected);
  add_log_dump_command(*log_group, selected);
  add_log_stats_command(*log_group, selected);
  add_log_export_command(*log_group, selected);
  add_log_recover_command(*log_group, selected);
}

void add_from_lsn_option(CLI::App& cmd, uint64_t* from) {
  cmd.add_option("--from", *from, "Start at the record with this LSN, or the first one after it")
      ->transform(decimal_number())
      ->type_name("LSN")
      ->default_str("0");
}

int finish_record_read(std::string_view command, const Status& read_error, uint64_t done,
                       const std::string& dir) {
  if (read_error.ok()) return kExitOk;
  if (read_error.code() != StatusCode::kCorruption) return fail_unreadable(command, read_error);
  std::fprintf(stderr,
               "cairn %.*s: stopped after %llu records: %s\n"
               "`cairn log verify %s` says what the damage is and what Log::open will do.\n",
               static_cast<int>(command.size()), command.data(),
               static_cast<unsigned long long>(done), read_error.message().c_str(), dir.c_str());
  return kExitDamage;
}

}  // namespace cairn::tools
