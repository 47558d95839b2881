// `cairn log dump DIR`: every record from an LSN on, one line each, streamed through LogReader.
// At damage it prints the records before it, then the reader's error, and exits 1.
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "cairn/log/reader.h"
#include "cairn/schema/record_schema.h"
#include "log_commands.h"
#include "log_dir_check.h"
#include "output_buffer.h"
#include "record_line.h"

namespace cairn::tools {
namespace {

struct LogDumpArgs {
  std::string dir;
  log::Lsn from = 0;
  bool json = false;
  std::optional<uint64_t> limit;
  bool no_payload_check = false;
};

int run_log_dump(const LogDumpArgs& args) {
  if (Status st = check_log_dir(args.dir); !st.ok()) return fail_unreadable("log dump", st);
  log::ReaderOptions reader_options;
  reader_options.from = args.from;
  reader_options.payload_verifier = args.no_payload_check ? nullptr : &schema::verify_payload;
  auto reader = log::LogReader::open(args.dir, reader_options);
  if (!reader.ok()) return fail_unreadable("log dump", reader.status());

  OutputBuffer out(stdout);
  const RecordLineOptions line_options{.json = args.json,
                                       .payload_verified = !args.no_payload_check};
  uint64_t printed = 0;
  Status read_error;
  while (!args.limit || printed < *args.limit) {
    Result<const log::ReadRecord*> record = (*reader)->next();
    if (!record.ok()) {
      read_error = record.status();
      break;
    }
    if (*record == nullptr) break;  // end of the log
    append_record_line(**record, line_options, out);
    ++printed;
  }
  // The records before the damage go out first, so they are not lost behind the error.
  if (Status st = out.flush(); !st.ok()) return fail_unreadable("log dump", st);
  return finish_record_read("log dump", read_error, printed, args.dir);
}

}  // namespace

void add_log_dump_command(CLI::App& log_group, CommandRun* selected) {
  auto args = std::make_shared<LogDumpArgs>();
  CLI::App* cmd = log_group.add_subcommand(
      "dump", "Print records in LSN order, one per line, with their payloads as JSON");
  cmd->add_option("DIR", args->dir, "Log directory")->required();
  add_from_lsn_option(*cmd, &args->from);
  cmd->add_flag("--json", args->json,
                "One JSON object per line: lsn, type, type_id, payload_bytes, segment, offset, "
                "payload");
  cmd->add_option("--limit", args->limit, "Print at most N records")
      ->transform(decimal_number())
      ->type_name("N");
  cmd->add_flag("--no-payload-check", args->no_payload_check,
                "Do not stop at a record whose payload fails FlatBuffers verification: print it "
                "with a payload_error instead");
  cmd->footer(
      "Text lines: lsn=<n> type=<Name> bytes=<payload bytes> segment=<seq> offset=<off> <payload>\n"
      "Exit status: 0 printed to the end (or --limit), 1 stopped at damage (the records before it "
      "are printed), 2 usage error or DIR cannot be read.");
  cmd->callback([args, selected] { *selected = [args] { return run_log_dump(*args); }; });
}

}  // namespace cairn::tools
