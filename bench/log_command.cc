// `cairn-bench log`: the log run, then (same run, same file system) the raw write+fdatasync
// baseline and the raw direct-I/O path at the log's mean batch size, then with --compare the
// peers; prints one JSON line with every figure and the ratios between them.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "bench_dir.h"
#include "json_line.h"
#include "log_throughput.h"
#include "peers.h"
#include "raw_baseline.h"
#include "subcommand.h"

namespace cairn::bench {
namespace {

namespace fs = std::filesystem;

struct LogCommandOptions {
  uint32_t producers = 0;
  uint32_t payload = 0;
  double seconds = 0;
  uint32_t inflight = 1024;
  std::string dir;
  bool compare = false;
  std::string durability = "fsync";
  std::string io = "auto";
  std::string io_queue = "auto";
  uint64_t batch_bytes = log::LogOptions{}.batch_bytes_max;
  uint64_t segment_bytes = log::LogOptions{}.segment_bytes;
  uint32_t recycled = 2;  // full-size segments recycled before the run (0: a new log)
};

// Everything measured after the log run, at the log's batch size.
struct Baselines {
  SyncLoopResult sync;
  std::optional<DirectLoopResult> direct;  // none where O_DIRECT is refused
};

struct PeerRates {
  std::optional<double> rocksdb, rocksdb_batched, sqlite;
  std::optional<double> rocksdb_cpu_cores, sqlite_cpu_cores;  // CPU the peer's run used
  uint32_t rocksdb_batch_records = 0, sqlite_txn_records = 1;
};

int fail(const Status& status) {
  std::fprintf(stderr, "cairn-bench log: %s\n", status.to_string().c_str());
  return status.code() == StatusCode::kInvalidArgument ? kExitUsage : kExitFailed;
}

Result<Baselines> measure_baselines(const fs::path& dir, uint32_t batch_bytes, double seconds) {
  const fs::path file = dir / "cairn-bench-baseline.tmp";
  RemoveOnExit remove(file);  // nothing but the log stays in --dir
  std::fprintf(stderr, "cairn-bench log: baseline: pre-writing %llu MiB, then %u-byte batches\n",
               static_cast<unsigned long long>(kBaselineFileBytes >> 20), batch_bytes);
  CAIRN_RETURN_IF_ERROR(prewrite_zero_file(file.string(), kBaselineFileBytes));
  Baselines b;
  CAIRN_ASSIGN_OR_RETURN(
      b.sync, run_write_fdatasync_loop(file.string(), kBaselineFileBytes, batch_bytes, seconds));
  CAIRN_ASSIGN_OR_RETURN(
      b.direct, run_direct_dsync_loop(file.string(), kBaselineFileBytes, batch_bytes, seconds));
  return b;
}

// A peer's rate, or nullopt (with a note) when cairn-bench was built without it.
Result<std::optional<RecordRate>> peer_rate(const char* name, const PeerWorkload& w,
                                            Result<RecordRate> (*run)(const PeerWorkload&)) {
  RemoveOnExit remove(w.dir);
  std::fprintf(stderr, "cairn-bench log: %s: %u threads, %u records per synchronous write\n", name,
               w.threads, w.records_per_write);
  Result<RecordRate> rate = run(w);
  if (!rate.ok()) {
    if (rate.status().code() != StatusCode::kNotFound) return rate.status().with_context(name);
    std::fprintf(stderr, "cairn-bench log: %s\n", rate.status().message().c_str());
    return std::optional<RecordRate>();
  }
  std::fprintf(stderr, "cairn-bench log: %s: %.0f records/s, %.2f cores busy\n", name,
               rate->records_per_s(), rate->cpu.process_cores);
  return std::optional<RecordRate>(*rate);
}

std::optional<double> records_per_s(const std::optional<RecordRate>& rate) {
  return rate ? std::optional<double>(rate->records_per_s()) : std::nullopt;
}
std::optional<double> cpu_cores(const std::optional<RecordRate>& rate) {
  return rate ? std::optional<double>(rate->cpu.process_cores) : std::nullopt;
}

Result<PeerRates> measure_peers(const fs::path& dir, const LogCommandOptions& o) {
  PeerRates r;
  PeerWorkload w{dir / "rocksdb-peer", o.producers, 1, o.payload, 0.3, o.seconds};
  CAIRN_ASSIGN_OR_RETURN(std::optional<RecordRate> rocksdb,
                         peer_rate("rocksdb", w, run_rocksdb_peer));
  r.rocksdb = records_per_s(rocksdb);
  r.rocksdb_cpu_cores = cpu_cores(rocksdb);
  if (o.inflight > 1) {
    r.rocksdb_batch_records = w.records_per_write = std::min<uint32_t>(o.inflight, 256);
    w.dir = dir / "rocksdb-batched-peer";
    CAIRN_ASSIGN_OR_RETURN(std::optional<RecordRate> batched,
                           peer_rate("rocksdb (batched)", w, run_rocksdb_peer));
    r.rocksdb_batched = records_per_s(batched);
  }
  r.sqlite_txn_records = w.records_per_write = std::min<uint32_t>(o.inflight, 256);
  w.dir = dir / "sqlite-peer";
  CAIRN_ASSIGN_OR_RETURN(std::optional<RecordRate> sqlite, peer_rate("sqlite", w, run_sqlite_peer));
  r.sqlite = records_per_s(sqlite);
  r.sqlite_cpu_cores = cpu_cores(sqlite);
  return r;
}

std::optional<double> ratio(double value, std::optional<double> to) {
  if (!to.has_value() || *to <= 0) return std::nullopt;
  return value / *to;
}

JsonLine result_line(const LogCommandOptions& o, const fs::path& dir, const LogRunResult& run,
                     const Baselines& base, const std::optional<PeerRates>& peers) {
  const double records_per_s = run.records / run.seconds;
  const double mean_batch_records = static_cast<double>(run.batch_records) / run.batches;
  const double mean_batch_bytes = static_cast<double>(run.bytes_written) / run.batches;
  // A raw loop that makes the same writes durable — the log's mean batch, padding included —
  // carries the log's mean number of records per write.
  const double records_per_write = mean_batch_records;
  const double baseline_records_per_s = base.sync.syncs_per_s() * records_per_write;
  std::optional<double> direct_records_per_s, direct_mb_per_s, direct_median_us;
  if (base.direct) {
    direct_records_per_s = base.direct->writes_per_s() * records_per_write;
    direct_mb_per_s = base.direct->mb_per_s();
    direct_median_us = base.direct->write_median_us;
  }
  auto us = [](double ns) { return rounded(ns / 1e3, 1); };
  JsonLine j;
  j["durable_records_per_s"] = rounded(records_per_s, 1);
  j["mb_per_s"] = rounded(records_per_s * run.record_frame_bytes / 1e6, 2);
  j["mean_batch_records"] = rounded(mean_batch_records, 2);
  j["mean_batch_bytes"] = rounded(mean_batch_bytes, 1);
  // The log's own view of its writes: their mean latency, and the share of the window the disk
  // sat idle while records waited for the writer (LogStats::write_ns, disk_idle_ns).
  j["log_write_mean_us"] =
      run.batches > 0 ? us(static_cast<double>(run.write_ns) / run.batches) : 0.0;
  j["disk_idle_fraction"] = rounded(static_cast<double>(run.disk_idle_ns) / 1e9 / run.seconds, 3);
  j["p50_us"] = us(run.latency.percentile(0.50));
  j["p99_us"] = us(run.latency.percentile(0.99));
  j["p999_us"] = us(run.latency.percentile(0.999));
  j["max_us"] = us(static_cast<double>(run.latency.max_ns()));
  j["mean_us"] = us(run.latency.mean_ns());
  j["latency_samples"] = run.latency.count();
  j["baseline_records_per_s"] = rounded(baseline_records_per_s, 1);
  j["baseline_mb_per_s"] = rounded(base.sync.mb_per_s(), 2);
  j["ratio_to_baseline"] = rounded(records_per_s / baseline_records_per_s, 3);
  j["fdatasync_median_us"] = rounded(base.sync.fdatasync_median_us, 1);
  j["baseline_batch_bytes"] = base.sync.batch_bytes;
  j["baseline_syncs_per_s"] = rounded(base.sync.syncs_per_s(), 1);
  j["raw_direct_records_per_s"] = number_or_null(direct_records_per_s, 1);
  j["raw_direct_mb_per_s"] = number_or_null(direct_mb_per_s, 2);
  j["ratio_to_raw_direct"] = number_or_null(ratio(records_per_s, direct_records_per_s), 3);
  j["raw_direct_write_median_us"] = number_or_null(direct_median_us, 1);
  // One raw synchronous write of the kind the log made: O_DIRECT|O_DSYNC through io_uring when
  // the log wrote direct, else pwrite + fdatasync (its p99, for latency targets).
  j["raw_sync_p99_us"] = rounded(
      run.direct_io && base.direct ? base.direct->write_p99_us : base.sync.write_sync_p99_us, 1);
  if (peers) {
    j["rocksdb_records_per_s"] = number_or_null(peers->rocksdb, 1);
    j["ratio_to_rocksdb"] = number_or_null(ratio(records_per_s, peers->rocksdb), 3);
    if (o.inflight > 1) {
      j["rocksdb_batched_records_per_s"] = number_or_null(peers->rocksdb_batched, 1);
      j["rocksdb_batch_records"] = peers->rocksdb_batch_records;
      j["ratio_to_rocksdb_batched"] =
          number_or_null(ratio(records_per_s, peers->rocksdb_batched), 3);
    }
    j["sqlite_records_per_s"] = number_or_null(peers->sqlite, 1);
    j["sqlite_txn_records"] = peers->sqlite_txn_records;
    j["ratio_to_sqlite"] = number_or_null(ratio(records_per_s, peers->sqlite), 3);
    j["rocksdb_cpu_cores_used"] = number_or_null(peers->rocksdb_cpu_cores, 2);
    j["sqlite_cpu_cores_used"] = number_or_null(peers->sqlite_cpu_cores, 2);
  }
  j["cpu_cores_used"] = rounded(run.cpu.process_cores, 2);
  j["machine_cores_busy"] = rounded(run.cpu.machine_cores, 2);
  j["records"] = run.records;
  j["window_s"] = rounded(run.seconds, 3);
  j["batches"] = run.batches;
  j["record_bytes"] = run.record_frame_bytes;
  j["payload_bytes"] = run.payload_bytes;
  j["producers"] = o.producers;
  j["inflight"] = o.inflight;
  j["payload"] = o.payload;
  j["seconds"] = o.seconds;
  j["durability"] = o.durability;
  j["io_queue"] = run.io_queue;
  j["direct_io"] = run.direct_io;
  j["batch_bytes_max"] = o.batch_bytes;
  j["segment_bytes"] = o.segment_bytes;
  j["segments_created"] = run.segments_created;
  j["segments_recycled"] = run.segments_recycled;
  // Where the measured run wrote: into recycled segments (steady state: nothing written twice)
  // or into a new log's zero-filled ones (--recycled 0).
  j["segments"] = o.recycled > 0 ? "recycled" : "new";
  j["dir"] = dir.string();
  return j;
}

void print_summary(const LogRunResult& run, const Baselines& base) {
  std::fprintf(
      stderr,
      "cairn-bench log: %.0f records/s durable in batches of %.1f records; append->durable "
      "p50 %.1f us, p99 %.1f us; raw write+fdatasync: %.0f syncs/s (fdatasync p50 %.1f "
      "us)\n",
      run.records / run.seconds, static_cast<double>(run.batch_records) / run.batches,
      run.latency.percentile(0.5) / 1e3, run.latency.percentile(0.99) / 1e3,
      base.sync.syncs_per_s(), base.sync.fdatasync_median_us);
}

int run_log_command(const LogCommandOptions& o) {
  const fs::path dir = o.dir.empty() ? default_data_dir("log") : fs::path(o.dir);
  if (Status st = prepare_empty_dir(dir); !st.ok()) return fail(st);
  LogRunConfig config;
  config.dir = dir;
  config.producers = o.producers;
  config.inflight = o.inflight;
  config.data_bytes = o.payload;
  config.seconds = o.seconds;
  config.recycled_segments = o.recycled;
  config.options.durability =
      o.durability == "none" ? log::Durability::kNoneUnsafe : log::Durability::kFsync;
  config.options.io_mode = o.io == "direct"     ? log::IoMode::kDirect
                           : o.io == "buffered" ? log::IoMode::kBuffered
                                                : log::IoMode::kAuto;
  if (o.io_queue == "sync") config.options.io_queue_factory = [] { return log::sync_io_queue(); };
  config.options.batch_bytes_max =
      static_cast<uint32_t>(std::min<uint64_t>(o.batch_bytes, 1u << 30));
  config.options.segment_bytes = o.segment_bytes;
  // The log wants 8 KiB of every batch free beside its largest record: with a small
  // --batch-bytes, lower the largest record instead of refusing (the bench's records are small).
  const uint64_t batch_room = config.options.batch_bytes_max > (12u << 10)
                                  ? config.options.batch_bytes_max - (12u << 10)
                                  : 0;
  config.options.record_bytes_max =
      static_cast<uint32_t>(std::min<uint64_t>(config.options.record_bytes_max, batch_room));
  // Encoded Blobs carry ~40 bytes of FlatBuffers framing around the data.
  if (uint64_t{o.payload} + 256 > config.options.record_bytes_max) {
    return fail(Status(StatusCode::kInvalidArgument,
                       "--payload must be below " +
                           std::to_string(config.options.record_bytes_max - 256) +
                           " (the log's record_bytes_max)"));
  }
  std::fprintf(stderr,
               "cairn-bench log: %u producers x %u in flight, %u-byte payload, %s, log in %s\n",
               o.producers, o.inflight, o.payload, o.durability.c_str(), dir.string().c_str());

  Result<LogRunResult> run = run_log_throughput(config);
  if (!run.ok()) return fail(run.status());
  if (run->batches == 0 || run->records == 0) {
    return fail(Status(StatusCode::kFailed, "no record became durable in the measured window"));
  }
  const double mean_batch_bytes = static_cast<double>(run->bytes_written) / run->batches;
  const auto batch_bytes = static_cast<uint32_t>(std::min<uint64_t>(
      (static_cast<uint64_t>(mean_batch_bytes) + 4095) / 4096 * 4096, kBaselineFileBytes / 4));
  Result<Baselines> base = measure_baselines(dir, batch_bytes, std::min(o.seconds, 2.0));
  if (!base.ok()) return fail(base.status());
  print_summary(*run, *base);

  std::optional<PeerRates> peers;
  if (o.compare) {
    Result<PeerRates> rates = measure_peers(dir, o);
    if (!rates.ok()) return fail(rates.status());
    peers = *rates;
  }
  print_json_line(result_line(o, dir, *run, *base, peers));
  return kExitOk;
}

}  // namespace

void add_log_subcommand(CLI::App& root, SubcommandRun* selected) {
  CLI::App* cmd = root.add_subcommand(
      "log",
      "Durable append throughput and latency of the write-ahead log, beside raw write+fdatasync "
      "and raw direct I/O at the same batch size (and RocksDB and SQLite with --compare). The "
      "log stays in --dir.");
  auto o = std::make_shared<LogCommandOptions>();
  cmd->add_option("--producers", o->producers, "Appending threads")
      ->required()
      ->check(CLI::Range(1u, 4096u));
  cmd->add_option("--payload", o->payload, "Bytes of data in each record (a Blob's data vector)")
      ->required()
      ->check(CLI::Range(0u, 1u << 20));
  cmd->add_option("--seconds", o->seconds, "Measured seconds, after a 0.3 s warm-up")
      ->required()
      ->check(CLI::Range(0.1, 3600.0));
  cmd->add_option("--inflight", o->inflight, "Appends each producer keeps in flight")
      ->capture_default_str()
      ->check(CLI::Range(1u, 1u << 20));
  cmd->add_option("--dir", o->dir,
                  "Where the log goes: a new or empty directory (default: "
                  "./cairn-bench-data/log-<pid>)");
  cmd->add_flag("--compare", o->compare,
                "Also run the workload against RocksDB (sync writes) and SQLite (WAL, "
                "synchronous=FULL)");
  cmd->add_option("--durability", o->durability, "fsync, or none (UNSAFE: never synced)")
      ->capture_default_str()
      ->check(CLI::IsMember({"fsync", "none"}));
  cmd->add_option("--io", o->io, "auto (direct I/O where supported), direct or buffered")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "direct", "buffered"}));
  cmd->add_option("--io-queue", o->io_queue,
                  "auto (io_uring where the kernel allows it), or sync (one blocking call at a "
                  "time, the fallback)")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "sync"}));
  cmd->add_option("--batch-bytes", o->batch_bytes,
                  "Largest write of the log (LogOptions::batch_bytes_max; KiB/MiB suffixes)")
      ->capture_default_str()
      ->transform(CLI::AsSizeValue(false));
  cmd->add_option("--segment-bytes", o->segment_bytes,
                  "Segment file size (LogOptions::segment_bytes; KiB/MiB suffixes)")
      ->capture_default_str()
      ->transform(CLI::AsSizeValue(false));
  cmd->add_option("--recycled", o->recycled,
                  "Full-size segments written and recycled before the measured run, so that it "
                  "writes into recycled segments as a log does in steady state (0: a new log)")
      ->capture_default_str()
      ->check(CLI::Range(0u, 64u));
  cmd->callback([o, selected] { *selected = [o] { return run_log_command(*o); }; });
}

}  // namespace cairn::bench
