// `cairn-bench scan --dir D`: how fast an existing log reads back. A LogReader reads every record
// with payload verification on (as the tools read), then verify_log scans the same directory.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "bench_clock.h"
#include "cairn/log/reader.h"
#include "cairn/log/verify.h"
#include "cairn/schema/record_schema.h"
#include "frame_format.h"
#include "json_line.h"
#include "subcommand.h"

namespace cairn::bench {
namespace {

struct ScanCommandOptions {
  std::string dir;
};

struct ScanFigures {
  uint64_t records = 0;
  uint64_t frame_bytes = 0;
  double seconds = 0;
};

Result<ScanFigures> read_all(const std::string& dir) {
  log::ReaderOptions options;
  options.payload_verifier = &schema::verify_payload;
  ScanFigures f;
  const int64_t start = now_ns();
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<log::LogReader> reader,
                         log::LogReader::open(dir, options));
  for (;;) {
    CAIRN_ASSIGN_OR_RETURN(const log::ReadRecord* record, reader->next());
    if (record == nullptr) break;
    ++f.records;
    f.frame_bytes += log::format::frame_size(static_cast<uint32_t>(record->payload.size()));
  }
  f.seconds = seconds_between(start, now_ns());
  return f;
}

int fail(const Status& status, int code) {
  std::fprintf(stderr, "cairn-bench scan: %s\n", status.to_string().c_str());
  return code;
}

int run_scan_command(const ScanCommandOptions& o) {
  std::error_code ec;
  if (!std::filesystem::is_directory(o.dir, ec)) {
    return fail(Status(StatusCode::kInvalidArgument, o.dir + " is not a directory"), kExitUsage);
  }
  std::fprintf(stderr, "cairn-bench scan: reading %s\n", o.dir.c_str());
  Result<ScanFigures> scan = read_all(o.dir);
  if (!scan.ok()) return fail(scan.status(), kExitFailed);

  std::fprintf(stderr, "cairn-bench scan: verifying %s\n", o.dir.c_str());
  const int64_t start = now_ns();
  Result<log::VerifyReport> report =
      log::verify_log(o.dir, log::VerifyOptions{.payload_verifier = &schema::verify_payload});
  const double verify_seconds = seconds_between(start, now_ns());
  if (!report.ok()) return fail(report.status(), kExitFailed);
  if (!report->intact()) {
    return fail(Status(StatusCode::kCorruption, report->damage->to_string()), kExitFailed);
  }

  const double mb = static_cast<double>(scan->frame_bytes) / 1e6;
  JsonLine j;
  j["scan_mb_per_s"] = rounded(mb / scan->seconds, 1);
  j["records"] = scan->records;
  j["records_per_s"] = rounded(scan->records / scan->seconds, 1);
  j["seconds"] = rounded(scan->seconds, 4);
  j["frame_bytes"] = scan->frame_bytes;
  j["verify_mb_per_s"] =
      rounded(static_cast<double>(report->frame_bytes) / 1e6 / verify_seconds, 1);
  j["verify_seconds"] = rounded(verify_seconds, 4);
  j["verify_records"] = report->records;
  j["segments"] = report->segments.size();
  j["dir"] = o.dir;
  print_json_line(j);
  return kExitOk;
}

}  // namespace

void add_scan_subcommand(CLI::App& root, SubcommandRun* selected) {
  CLI::App* cmd = root.add_subcommand(
      "scan",
      "Read speed of an existing log: LogReader over every record (payloads verified), then "
      "verify_log over the same directory. Run it twice to measure from the page cache.");
  auto o = std::make_shared<ScanCommandOptions>();
  cmd->add_option("--dir", o->dir, "The log directory (e.g. one `cairn-bench log` left behind)")
      ->required();
  cmd->callback([o, selected] { *selected = [o] { return run_scan_command(*o); }; });
}

}  // namespace cairn::bench
