// The log run of `cairn-bench log`: P producer threads append Blob records to a cairn::log::Log,
// each keeping up to W appends in flight, and the run counts what became durable in a measured
// window after a warm-up, with the append-to-durable latency of every acknowledged record.
#pragma once

#include <cstdint>
#include <filesystem>

#include "cairn/log/log.h"
#include "cairn/log/options.h"
#include "cairn/log/status.h"
#include "cpu_usage.h"
#include "latency_histogram.h"

namespace cairn::bench {

struct LogRunConfig {
  std::filesystem::path dir;  // an empty or new directory; the log stays there afterwards
  uint32_t producers = 1;
  uint32_t inflight = 1024;     // appends one producer keeps in flight
  uint32_t data_bytes = 128;    // the Blob's data vector
  double warmup_seconds = 0.3;  // not measured
  // Before the producers start: write this many full-size segments and hand every sealed one
  // to retention, so the measured run writes into recycled segments (as a log does in steady
  // state) instead of new, zero-filled ones. 0: a new log's first segments.
  uint32_t recycled_segments = 0;
  double seconds = 3;  // the measured window
  log::LogOptions options;
};

struct LogRunResult {
  uint64_t records = 0;  // acknowledged (durable) in the window
  double seconds = 0;    // length of the window as measured
  uint64_t batches = 0;  // Log::stats() deltas over the window
  uint64_t batch_records = 0;
  uint64_t bytes_written = 0;  // with padding and segment headers
  uint64_t frame_bytes = 0;    // frames only
  uint64_t segments_created = 0;
  uint64_t segments_recycled = 0;       // of those, recycled ones (in the window)
  uint64_t write_ns = 0;                // LogStats::write_ns over the window
  uint64_t disk_idle_ns = 0;            // LogStats::disk_idle_ns over the window
  uint64_t spares_recycled_before = 0;  // recycled spares ready when the producers started
  uint32_t payload_bytes = 0;           // encoded Blob size
  uint32_t record_frame_bytes = 0;      // one record's frame: header + payload padded to 8
  uint64_t records_appended = 0;        // over the whole run, warm-up and drain included
  // append -> durable of records acknowledged in the window: every record with --inflight below
  // 64, every 16th of each producer above (the clock costs ~65 ns here).
  detail::LatencyHistogram latency;
  std::string io_queue;
  bool direct_io = false;
  CpuUse cpu;  // over the window
};

// Runs the workload, then closes the log (leaving it in config.dir). A failed append or a failed
// acknowledgement is an error; a run that stops making progress ends the process (Watchdog).
Result<LogRunResult> run_log_throughput(const LogRunConfig& config);

}  // namespace cairn::bench
