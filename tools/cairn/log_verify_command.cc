// `cairn log verify DIR`: a full scan of every frame (verify_log) that says whether the log is
// intact and, if not, what the damage is, where it is and what Log::open will do about it.
#include <cstdio>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "cairn/log/verify.h"
#include "cairn/schema/record_schema.h"
#include "damage_report.h"
#include "format.h"
#include "log_commands.h"
#include "log_dir_check.h"
#include "scan_progress.h"

namespace cairn::tools {
namespace {

struct LogVerifyArgs {
  std::string dir;
  bool json = false;
  bool no_payload_check = false;
  uint64_t tail_window_bytes = log::VerifyOptions{}.tail_window_bytes;
};

std::string intact_text(const std::string& dir, const log::VerifyReport& r, double seconds) {
  std::string s = "log " + dir + " is intact\n";
  s += "  segments  " + std::to_string(r.segments.size());
  if (r.segments.size() == 1) s += " (" + r.segments.front().file + ")";
  if (r.segments.size() > 1) {
    s += " (" + r.segments.front().file + " .. " + r.segments.back().file + ")";
  }
  s += "\n  records   " + std::to_string(r.records) + "\n";
  s += "  bytes     " + bytes_with_human(r.frame_bytes) + " of records, " +
       bytes_with_human(r.bytes_scanned) + " read\n";
  s += "  LSN       " + std::to_string(r.first_lsn) + " .. " + std::to_string(r.end_lsn) +
       " (first record .. end of log)\n";
  char secs[32];
  std::snprintf(secs, sizeof secs, "%.3f s", seconds);
  s += "  scan      " + std::string(secs) + ", " + megabytes_per_second(r.bytes_scanned, seconds) +
       "\n";
  return s;
}

nlohmann::json report_json(const std::string& dir, const log::VerifyReport& r, double seconds) {
  nlohmann::json j{
      {"dir", dir},
      {"intact", r.intact()},
      {"segments", r.segments.size()},
      {"records", r.records},
      {"frame_bytes", r.frame_bytes},
      {"bytes_scanned", r.bytes_scanned},
      {"first_lsn", r.first_lsn},
      {"end_lsn", r.end_lsn},
      {"seconds", seconds},
      {"mb_per_s", seconds > 0 ? static_cast<double>(r.bytes_scanned) / 1e6 / seconds : 0.0},
      {"damage", nullptr},
  };
  if (!r.intact()) j["damage"] = damage_json(dir, r, snapshot_past(dir, *r.damage));
  return j;
}

int run_log_verify(const LogVerifyArgs& args) {
  if (Status st = check_log_dir(args.dir); !st.ok()) return fail_unreadable("log verify", st);
  log::VerifyOptions options;
  options.payload_verifier = args.no_payload_check ? nullptr : &schema::verify_payload;
  options.tail_window_bytes = args.tail_window_bytes;
  // An engine's log: damage before its newest snapshot was durable, so it is no torn tail.
  Result<log::Lsn> durable = known_durable_lsn(args.dir);
  if (!durable.ok()) return fail_unreadable("log verify", durable.status());
  options.known_durable_lsn = *durable;
  double seconds = 0;
  Result<log::VerifyReport> report =
      verify_log_with_progress(args.dir, options, "verifying " + args.dir, &seconds);
  if (!report.ok()) return fail_unreadable("log verify", report.status());
  std::string out;
  if (args.json) {
    out = report_json(args.dir, *report, seconds)
              .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
          "\n";
  } else {
    out = report->intact()
              ? intact_text(args.dir, *report, seconds)
              : damage_text(args.dir, *report, snapshot_past(args.dir, *report->damage));
  }
  if (!write_output("log verify", out)) return kExitUsage;
  return report->intact() ? kExitOk : kExitDamage;
}

}  // namespace

void add_log_verify_command(CLI::App& log_group, CommandRun* selected) {
  auto args = std::make_shared<LogVerifyArgs>();
  CLI::App* cmd = log_group.add_subcommand(
      "verify", "Check every frame of the log: intact, or which damage, where, and what it means");
  cmd->add_option("DIR", args->dir, "Log directory")->required();
  cmd->add_flag("--json", args->json, "Print the report as one JSON object");
  cmd->add_flag("--no-payload-check", args->no_payload_check,
                "Check frames only, not each payload against its FlatBuffers table (faster)");
  cmd->add_option("--tail-window", args->tail_window_bytes,
                  "Bytes after a bad frame that may still belong to one interrupted write: "
                  "writes_in_flight_max x batch_bytes_max of the LogOptions the log was written "
                  "with. Decides torn tail vs corruption. Suffixes KiB, MiB, GiB allowed")
      ->transform(decimal_number())
      ->transform(byte_size())
      ->type_name("BYTES")
      ->default_str(std::to_string(args->tail_window_bytes));
  cmd->footer("Exit status: 0 intact, 1 damage found, 2 usage error or DIR cannot be read.");
  cmd->callback([args, selected] { *selected = [args] { return run_log_verify(*args); }; });
}

}  // namespace cairn::tools
