// `cairn log stats DIR`: what a log holds, from verify_log's report: its segments, records and
// bytes by record type, totals, and the damage if there is any (then it exits 1, like verify);
// for an engine's log, what retention keeps and why (retention_report.h).
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
#include "retention_report.h"
#include "scan_progress.h"

namespace cairn::tools {
namespace {

struct LogStatsArgs {
  std::string dir;
  bool json = false;
};

std::string type_label(log::RecordType type) {
  const std::string_view name = schema::record_type_name(type);
  return (name.empty() ? std::string("unknown") : std::string(name)) + " (" + std::to_string(type) +
         ")";
}

std::string stats_text(const std::string& dir, const log::VerifyReport& r) {
  char line[256];
  std::string s = "log " + dir + "\n";
  s += "  segments  " + std::to_string(r.segments.size()) + "\n";
  s += "  records   " + std::to_string(r.records) + "\n";
  s += "  bytes     " + bytes_with_human(r.frame_bytes) + " of records, " +
       bytes_with_human(r.bytes_scanned) + " in segment files\n";
  s += "  LSN       " + std::to_string(r.first_lsn) + " .. " + std::to_string(r.end_lsn) + "\n\n";
  std::snprintf(line, sizeof line, "%-34s %12s %14s  %s\n", "segment", "records", "data bytes",
                "LSN first .. end");
  s += line;
  for (const log::SegmentSummary& seg : r.segments) {
    std::snprintf(line, sizeof line, "%-34s %12llu %14llu  %llu .. %llu\n", seg.file.c_str(),
                  static_cast<unsigned long long>(seg.records),
                  static_cast<unsigned long long>(seg.data_bytes),
                  static_cast<unsigned long long>(seg.first_lsn),
                  static_cast<unsigned long long>(seg.end_lsn));
    s += line;
  }
  std::snprintf(line, sizeof line, "\n%-34s %12s %14s\n", "record type", "records", "bytes");
  s += line;
  for (const auto& [type, count] : r.by_type) {
    std::snprintf(line, sizeof line, "%-34s %12llu %14llu  %s\n", type_label(type).c_str(),
                  static_cast<unsigned long long>(count.records),
                  static_cast<unsigned long long>(count.bytes), human_bytes(count.bytes).c_str());
    s += line;
  }
  std::snprintf(line, sizeof line, "%-34s %12llu %14llu  %s\n", "total",
                static_cast<unsigned long long>(r.records),
                static_cast<unsigned long long>(r.frame_bytes), human_bytes(r.frame_bytes).c_str());
  s += line;
  if (!r.intact()) s += "\n" + damage_text(dir, r, snapshot_past(dir, *r.damage));
  return s;
}

nlohmann::json stats_json(const std::string& dir, const log::VerifyReport& r) {
  nlohmann::json segments = nlohmann::json::array();
  for (const log::SegmentSummary& seg : r.segments) {
    segments.push_back({{"file", seg.file},
                        {"seq", seg.seq},
                        {"records", seg.records},
                        {"data_bytes", seg.data_bytes},
                        {"first_lsn", seg.first_lsn},
                        {"end_lsn", seg.end_lsn}});
  }
  nlohmann::json by_type = nlohmann::json::array();
  for (const auto& [type, count] : r.by_type) {
    const std::string_view name = schema::record_type_name(type);
    by_type.push_back({{"type", name.empty() ? nlohmann::json(nullptr) : nlohmann::json(name)},
                       {"type_id", type},
                       {"records", count.records},
                       {"bytes", count.bytes}});
  }
  return nlohmann::json{
      {"dir", dir},
      {"segments", std::move(segments)},
      {"by_type", std::move(by_type)},
      {"records", r.records},
      {"frame_bytes", r.frame_bytes},
      {"bytes_scanned", r.bytes_scanned},
      {"first_lsn", r.first_lsn},
      {"end_lsn", r.end_lsn},
      {"intact", r.intact()},
      {"damage",
       r.intact() ? nlohmann::json(nullptr) : damage_json(dir, r, snapshot_past(dir, *r.damage))},
  };
}

int run_log_stats(const LogStatsArgs& args) {
  if (Status st = check_log_dir(args.dir); !st.ok()) return fail_unreadable("log stats", st);
  // An engine's log: damage before its newest snapshot was durable, so it is no torn tail.
  Result<log::Lsn> durable = known_durable_lsn(args.dir);
  if (!durable.ok()) return fail_unreadable("log stats", durable.status());
  double seconds = 0;
  Result<log::VerifyReport> report =
      verify_log_with_progress(args.dir,
                               log::VerifyOptions{.payload_verifier = &schema::verify_payload,
                                                  .known_durable_lsn = *durable},
                               "reading " + args.dir, &seconds);
  if (!report.ok()) return fail_unreadable("log stats", report.status());
  // An engine's log: what retention keeps, and why (from the snapshots beside it).
  const std::optional<RetentionReport> kept = read_retention(args.dir, report->first_lsn);
  std::string out;
  if (args.json) {
    nlohmann::json j = stats_json(args.dir, *report);
    j["retention"] = kept ? retention_json(*kept) : nlohmann::json(nullptr);
    out = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  } else {
    out = stats_text(args.dir, *report) + (kept ? retention_text(*kept) : std::string());
  }
  if (!write_output("log stats", out)) return kExitUsage;
  return report->intact() ? kExitOk : kExitDamage;
}

}  // namespace

void add_log_stats_command(CLI::App& log_group, CommandRun* selected) {
  auto args = std::make_shared<LogStatsArgs>();
  CLI::App* cmd = log_group.add_subcommand(
      "stats", "Segments, records and bytes by record type, totals, and damage if any");
  cmd->add_option("DIR", args->dir, "Log directory")->required();
  cmd->add_flag("--json", args->json, "Print the statistics as one JSON object");
  cmd->footer(
      "Record bytes are whole frames (header, payload, padding). A segment's data bytes run from "
      "the start of its file to the end of its last intact record.\n"
      "Exit status: 0 intact, 1 damage found (the counts include intact records after it), 2 usage "
      "error or DIR cannot be read.");
  cmd->callback([args, selected] { *selected = [args] { return run_log_stats(*args); }; });
}

}  // namespace cairn::tools
