// `cairn log export DIR`: every record as one JSON line for other tools (jq, a data warehouse):
// lsn, type, time and the payload with every field of its table, values as JSON by their format.
// Unlike `log dump --json` it leaves out where a frame lies on disk, so an export of the same
// records is the same text however the segments were laid out.
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "cairn/log/reader.h"
#include "cairn/schema/record_schema.h"
#include "log_commands.h"
#include "log_dir_check.h"
#include "output_buffer.h"
#include "record_display.h"
#include "time_text.h"

namespace cairn::tools {
namespace {

struct LogExportArgs {
  std::string dir;
  log::Lsn from = 0;
};

void append_export_line(const log::ReadRecord& record, OutputBuffer& out) {
  out.append("{\"lsn\":");
  out.append_uint(record.lsn);
  out.append(",\"type\":\"");
  out.append(schema::record_type_name(record.type));  // the reader verified it: a known name
  out.append("\",\"type_id\":");
  out.append_uint(record.type);
  const std::optional<int64_t> us = record_time_us(record.type, record.payload);
  if (us) {
    out.append(",\"time\":\"");
    out.append(utc_time(*us));
    out.append("\",\"time_us\":");
    out.append(std::to_string(*us));
  } else {
    out.append(",\"time\":null,\"time_us\":null");
  }
  out.append(",\"payload\":");
  out.append(schema::payload_to_json(record.type, record.payload));
  out.append("}\n");
}

int run_log_export(const LogExportArgs& args) {
  if (Status st = check_log_dir(args.dir); !st.ok()) return fail_unreadable("log export", st);
  log::ReaderOptions reader_options;
  reader_options.from = args.from;
  reader_options.payload_verifier = &schema::verify_payload;  // payload_to_json needs it
  auto reader = log::LogReader::open(args.dir, reader_options);
  if (!reader.ok()) return fail_unreadable("log export", reader.status());

  OutputBuffer out(stdout);
  uint64_t exported = 0;
  Status read_error;
  for (;;) {
    Result<const log::ReadRecord*> record = (*reader)->next();
    if (!record.ok()) {
      read_error = record.status();
      break;
    }
    if (*record == nullptr) break;
    append_export_line(**record, out);
    ++exported;
  }
  if (Status st = out.flush(); !st.ok()) return fail_unreadable("log export", st);
  return finish_record_read("log export", read_error, exported, args.dir);
}

}  // namespace

void add_log_export_command(CLI::App& log_group, CommandRun* selected) {
  auto args = std::make_shared<LogExportArgs>();
  CLI::App* cmd = log_group.add_subcommand(
      "export", "Every record as a JSON line: lsn, type, time and the complete payload");
  cmd->add_option("DIR", args->dir, "Log directory")->required();
  add_from_lsn_option(*cmd, &args->from);
  cmd->footer(
      "Each line: {\"lsn\":..,\"type\":\"StepCompleted\",\"type_id\":3,\"time\":\"<RFC 3339 UTC>\","
      "\"time_us\":..,\"payload\":{..}}\n"
      "time is when the record happened on the engine's clock (null for records without one).\n"
      "The payload has every field of the record's table (defaults included), in schema order;\n"
      "recorded values (output) are JSON by their format: JSON as JSON, text as a string, bytes "
      "as\n"
      "byte values; event data and match values are JSON.\n"
      "Exit status: 0 exported to the end, 1 stopped at damage (the records before it are\n"
      "exported), 2 usage error or DIR cannot be read.");
  cmd->callback([args, selected] { *selected = [args] { return run_log_export(*args); }; });
}

}  // namespace cairn::tools
