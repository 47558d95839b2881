// What the crash test and its child process agree on: the child's command line (ChildConfig, which
// also gives the LogOptions both sides open the log with) and the reports the child writes to its
// pipe (AckReport): one per acknowledged record, and two marks of its startup. The parent kills
// the child at a point of this progress, not at a time since the spawn (log_crash_test.cc).
#pragma once

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cairn/log/options.h"
#include "cairn/schema/record_schema.h"

namespace cairn::testing {

// What a report says. The marks carry no record: kOpening is sent just before Log::open (so a
// kill soon after it lands in the open and its recovery), kOpened once the log is open and before
// the first append.
enum class ReportKind : uint32_t { kAck = 0, kOpening = 1, kOpened = 2 };

// One acknowledged record (kAck): written to the pipe only after the log said it is durable.
struct AckReport {
  uint64_t lsn = 0;
  uint64_t seq = 0;
  uint32_t producer = 0;
  ReportKind kind = ReportKind::kAck;
};
static_assert(sizeof(AckReport) == 24, "the pipe carries fixed 24-byte reports");

struct ChildConfig {
  std::string dir;
  int report_fd = -1;
  uint64_t seed = 0;           // record sizes
  uint32_t producer_base = 0;  // producers are producer_base + thread index: unique per round
  bool buffered = false;       // IoMode::kBuffered instead of kAuto (direct I/O)
  uint32_t writes_in_flight_max = 2;
  uint64_t segment_bytes = 1u << 20;
  uint32_t batch_bytes_max = 256u << 10;
  bool large_records = false;    // mostly 4..64 KiB records: segments fill within milliseconds
  uint32_t async_threads = 2;    // threads appending with AppendCompletion, many in flight
  uint32_t durable_threads = 2;  // threads calling append_durable
  uint32_t window = 8;           // appends in flight per async thread

  log::LogOptions log_options() const {
    log::LogOptions o;
    o.segment_bytes = segment_bytes;
    o.batch_bytes_max = batch_bytes_max;
    o.record_bytes_max = 128u << 10;
    o.writes_in_flight_max = writes_in_flight_max;
    o.staging_bytes = 4u << 20;
    o.io_mode = buffered ? log::IoMode::kBuffered : log::IoMode::kAuto;
    return o;
  }

  std::vector<std::string> to_args(const std::string& program) const {
    auto num = [](uint64_t v) { return std::to_string(v); };
    return {program,
            "--dir=" + dir,
            "--report-fd=" + num(static_cast<uint64_t>(report_fd)),
            "--seed=" + num(seed),
            "--producer-base=" + num(producer_base),
            "--buffered=" + num(buffered),
            "--in-flight=" + num(writes_in_flight_max),
            "--segment-bytes=" + num(segment_bytes),
            "--batch-bytes=" + num(batch_bytes_max),
            "--large-records=" + num(large_records),
            "--async-threads=" + num(async_threads),
            "--durable-threads=" + num(durable_threads),
            "--window=" + num(window)};
  }

  // The inverse of to_args (argv[0] is skipped). Returns nothing and sets `error` on a bad flag.
  static std::optional<ChildConfig> parse(int argc, char** argv, std::string* error) {
    ChildConfig c;
    for (int i = 1; i < argc; ++i) {
      const std::string_view arg = argv[i];
      const size_t eq = arg.find('=');
      if (arg.substr(0, 2) != "--" || eq == std::string_view::npos) {
        *error = "bad argument: " + std::string(arg);
        return std::nullopt;
      }
      const std::string_view key = arg.substr(2, eq - 2);
      const std::string value(arg.substr(eq + 1));
      const uint64_t n = std::strtoull(value.c_str(), nullptr, 10);
      if (key == "dir") {
        c.dir = value;
      } else if (key == "report-fd") {
        c.report_fd = static_cast<int>(n);
      } else if (key == "seed") {
        c.seed = n;
      } else if (key == "producer-base") {
        c.producer_base = static_cast<uint32_t>(n);
      } else if (key == "buffered") {
        c.buffered = n != 0;
      } else if (key == "in-flight") {
        c.writes_in_flight_max = static_cast<uint32_t>(n);
      } else if (key == "segment-bytes") {
        c.segment_bytes = n;
      } else if (key == "batch-bytes") {
        c.batch_bytes_max = static_cast<uint32_t>(n);
      } else if (key == "large-records") {
        c.large_records = n != 0;
      } else if (key == "async-threads") {
        c.async_threads = static_cast<uint32_t>(n);
      } else if (key == "durable-threads") {
        c.durable_threads = static_cast<uint32_t>(n);
      } else if (key == "window") {
        c.window = static_cast<uint32_t>(n);
      } else {
        *error = "unknown flag: " + std::string(arg);
        return std::nullopt;
      }
    }
    if (c.dir.empty() || c.report_fd < 0 || c.window == 0) {
      *error = "--dir and --report-fd are required and --window must be positive";
      return std::nullopt;
    }
    return c;
  }
};

}  // namespace cairn::testing
