// `cairn-bench engine`: durable functions of N trivial steps.
//
//   cairn-bench engine --steps 10 --seconds T [--in-flight K] [--dir D]
//     1. fsync, closed loop with K runs in flight: the maximum durable steps/s
//     2. the same with Durability::kNoneUnsafe: what durability costs, as a ratio
//     3. fsync, open loop at half the runs/s of (1): step dispatch latency at half load
//     4. fsync, one run at a time: what a single client waits for a whole run
//   cairn-bench engine --parked N [--no-snapshots]
//     N runs parked in a one-hour sleep: resident memory per parked run
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "bench_clock.h"
#include "bench_dir.h"
#include "cairn/engine.h"
#include "engine_workload.h"
#include "json_line.h"
#include "subcommand.h"

namespace cairn::bench {
namespace {

struct EngineArgs {
  uint32_t steps = 10;
  double seconds = 5;
  uint32_t in_flight = 4096;
  uint32_t workers = 0;
  uint64_t parked = 0;
  std::string dir;
  bool keep = false;
  bool no_snapshots = false;
};

// Resident and peak resident memory of this process, in bytes (/proc/self/status).
struct Rss {
  uint64_t now = 0;
  uint64_t peak = 0;
};
Rss read_rss() {
  std::ifstream f("/proc/self/status");
  Rss r;
  std::string key;
  uint64_t kb;
  while (f >> key) {
    if (key == "VmRSS:" && f >> kb) r.now = kb * 1024;
    if (key == "VmHWM:" && f >> kb) r.peak = kb * 1024;
  }
  return r;
}

Result<EngineWorkloadResult> phase(const char* name, EngineWorkload w) {
  std::fprintf(stderr, "engine: %s (%.0f s) in %s\n", name, w.seconds, w.dir.c_str());
  auto r = run_engine_workload(w);
  if (r.ok()) {
    std::fprintf(stderr,
                 "  %.0f durable steps/s, %.0f runs/s, run p50 %.2f ms p99 %.2f ms, dispatch "
                 "p99 %.0f us, %.0f records/batch\n",
                 r->steps_per_s, r->runs_per_s, r->run_p50_ms, r->run_p99_ms, r->dispatch_p99_us,
                 r->records_per_batch);
  }
  return r;
}

int run_throughput(const EngineArgs& a, const std::filesystem::path& dir) {
  EngineWorkload w;
  w.steps = a.steps;
  w.seconds = a.seconds;
  w.in_flight = a.in_flight;
  w.workers = a.workers;
  w.dir = dir / "fsync";
  auto max = phase("fsync, closed loop", w);
  if (!max.ok()) return std::fprintf(stderr, "%s\n", max.status().to_string().c_str()), kExitFailed;
  if (!a.keep) std::filesystem::remove_all(w.dir);

  EngineWorkload none = w;
  none.dir = dir / "none";
  none.durability = log::Durability::kNoneUnsafe;
  auto unsafe = phase("durability=none (UNSAFE), closed loop", none);
  if (!unsafe.ok())
    return std::fprintf(stderr, "%s\n", unsafe.status().to_string().c_str()), kExitFailed;
  if (!a.keep) std::filesystem::remove_all(none.dir);

  EngineWorkload half = w;
  half.dir = dir / "half-load";
  half.runs_per_s = max->runs_per_s / 2;
  auto h = phase("fsync, open loop at half the maximum runs/s", half);
  if (!h.ok()) return std::fprintf(stderr, "%s\n", h.status().to_string().c_str()), kExitFailed;
  if (!a.keep) std::filesystem::remove_all(half.dir);

  EngineWorkload single = w;
  single.dir = dir / "single";
  single.in_flight = 1;
  single.seconds = std::min(2.0, a.seconds);
  auto one = phase("fsync, one run at a time", single);
  if (!one.ok()) return std::fprintf(stderr, "%s\n", one.status().to_string().c_str()), kExitFailed;
  if (!a.keep) std::filesystem::remove_all(single.dir);

  JsonLine j;
  j["steps"] = a.steps;
  j["seconds"] = a.seconds;
  j["in_flight"] = a.in_flight;
  j["durable_steps_per_s"] = rounded(max->steps_per_s, 0);
  j["none_steps_per_s"] = rounded(unsafe->steps_per_s, 0);
  j["durability_cost_ratio"] = rounded(unsafe->steps_per_s / max->steps_per_s, 3);
  j["runs_per_s"] = rounded(max->runs_per_s, 1);
  j["shutdown_ms"] = rounded(max->shutdown_ms, 1);
  j["run_p50_ms"] = rounded(max->run_p50_ms, 3);
  j["run_p99_ms"] = rounded(max->run_p99_ms, 3);
  j["dispatch_p99_us"] = rounded(h->dispatch_p99_us, 1);
  j["dispatch_p50_us"] = rounded(h->dispatch_p50_us, 1);
  j["dispatch_p999_us"] = rounded(h->dispatch_p999_us, 1);
  j["half_load_runs_per_s"] = rounded(h->runs_per_s, 1);
  j["half_load_run_p50_ms"] = rounded(h->run_p50_ms, 3);
  j["half_load_run_p99_ms"] = rounded(h->run_p99_ms, 3);
  j["max_load_dispatch_p99_us"] = rounded(max->dispatch_p99_us, 1);
  j["single_run_p50_ms"] = rounded(one->run_p50_ms, 3);
  j["single_run_p99_ms"] = rounded(one->run_p99_ms, 3);
  j["records_per_batch"] = rounded(max->records_per_batch, 1);
  j["fsync_batches_per_s"] = rounded(max->batches_per_s, 0);
  j["io_queue"] = max->io;
  j["direct_io"] = max->direct_io;
  print_json_line(j);
  return kExitOk;
}

Task<void> park(Context& ctx) {
  co_await ctx.sleep("park", std::chrono::hours(1));
}

int run_parked(const EngineArgs& a, const std::filesystem::path& dir) {
  EngineOptions opts;
  opts.dir = dir;
  opts.workers = a.workers;
  opts.snapshots = !a.no_snapshots;
  auto engine = Engine::create(std::move(opts));
  Status st = engine->register_function({.id = "parked", .triggers = {on_event("bench/park")}},
                                        [](Context& ctx, const Event&) { return park(ctx); });
  if (st.ok()) st = engine->start();
  if (!st.ok()) return std::fprintf(stderr, "engine: %s\n", st.to_string().c_str()), kExitFailed;
  const Rss before = read_rss();
  const int64_t t0 = now_ns();
  std::vector<Event> batch;
  constexpr uint64_t kBatch = 2000;
  for (uint64_t sent = 0; sent < a.parked; sent += batch.size()) {
    batch.assign(std::min(kBatch, a.parked - sent), Event{.name = "bench/park"});
    auto r = engine->send(batch);
    if (!r.ok())
      return std::fprintf(stderr, "engine: %s\n", r.status().to_string().c_str()), kExitFailed;
    if (sent % 100000 < kBatch) {
      std::fprintf(stderr, "\rparking: %llu sent, %llu parked ",
                   static_cast<unsigned long long>(sent),
                   static_cast<unsigned long long>(engine->stats().timers));
    }
  }
  while (engine->stats().timers < a.parked) {
    sleep_seconds(0.05);
    if (!engine->health().ok()) return kExitFailed;
  }
  const double park_s = seconds_between(t0, now_ns());
  const Rss after = read_rss();
  const EngineStats s = engine->stats();
  std::fprintf(stderr, "\rparked %llu runs in %.1f s\n", static_cast<unsigned long long>(s.timers),
               park_s);
  const double per_run =
      static_cast<double>(after.now - before.now) / static_cast<double>(a.parked);
  JsonLine j;
  j["parked_runs"] = s.timers;
  j["bytes_per_parked_run"] = rounded(per_run, 1);
  j["snapshots"] = !a.no_snapshots;
  j["snapshot_runs_packed"] = s.snapshot_runs_packed;  // the snapshotter's packed copies
  j["rss_before_mb"] = rounded(before.now / 1e6, 1);
  j["rss_after_mb"] = rounded(after.now / 1e6, 1);
  j["peak_rss_mb"] = rounded(after.peak / 1e6, 1);
  j["seconds_to_park"] = rounded(park_s, 2);
  j["runs_active"] = s.runs_active;
  st = engine->shutdown();
  if (!a.keep) std::filesystem::remove_all(dir);
  print_json_line(j);
  return st.ok() ? kExitOk : kExitFailed;
}

}  // namespace

void add_engine_subcommand(CLI::App& root, SubcommandRun* selected) {
  auto args = std::make_shared<EngineArgs>();
  CLI::App* cmd = root.add_subcommand(
      "engine",
      "durable functions of trivial steps: throughput, durability cost, dispatch "
      "latency; or memory per parked run (--parked N)");
  cmd->add_option("--steps", args->steps, "steps per run")->check(CLI::Range(1u, 1000u));
  cmd->add_option("--seconds", args->seconds, "seconds per phase")->check(CLI::Range(0.5, 600.0));
  cmd->add_option("--in-flight", args->in_flight, "runs in flight (closed loop)")
      ->check(CLI::Range(1u, 1000000u));
  cmd->add_option("--workers", args->workers, "engine worker threads (0: one per core)");
  cmd->add_option("--parked", args->parked, "park this many sleeping runs and measure memory")
      ->check(CLI::Range(uint64_t{1}, uint64_t{100'000'000}));
  cmd->add_option("--dir", args->dir, "data directory (default: ./cairn-bench-data/engine-PID)");
  cmd->add_flag("--keep", args->keep, "keep the data directories");
  cmd->add_flag("--no-snapshots", args->no_snapshots,
                "with --parked: snapshots off, which shows the snapshotter's share of the memory");
  cmd->callback([args, selected] {
    *selected = [args]() -> int {
      const std::filesystem::path dir =
          args->dir.empty() ? default_data_dir("engine") : std::filesystem::path(args->dir);
      if (Status st = prepare_empty_dir(dir); !st.ok()) {
        std::fprintf(stderr, "cairn-bench engine: %s\n", st.message().c_str());
        return kExitUsage;
      }
      const int rc = args->parked > 0 ? run_parked(*args, dir) : run_throughput(*args, dir);
      if (!args->keep) std::filesystem::remove(dir);
      return rc;
    };
  });
}

}  // namespace cairn::bench
