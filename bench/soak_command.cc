// `cairn-bench soak [--seconds S] [--rate R] [--window W] [--dir D]`: does a Cairn that runs for
// a long time stay the same size? An order workload (a function of three steps: reserve, charge,
// ship) at a steady R orders/s, with retention's history window set to W seconds and snapshots
// every 200,000 records. The bench warms up until retention has removed its first segment and
// the kept finished runs are at their limit (it says how long that took), then samples the data
// directory's bytes (log segments, spares, snapshots) and the process's resident memory every
// second for S seconds, and reports the mean of the last 10 s over the mean of the first 10 s.
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>
#include <vector>

#include "bench_clock.h"
#include "bench_dir.h"
#include "cairn/engine.h"
#include "json_line.h"
#include "subcommand.h"

namespace cairn::bench {
namespace {

struct SoakArgs {
  double seconds = 60;
  double rate = 10'000;
  double window_s = 10;
  uint64_t finished_kept = 20'000;
  std::string dir;
  bool keep = false;
};

uint64_t dir_bytes(const std::filesystem::path& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec)) total += it->file_size(ec);
  }
  return total;
}

uint64_t rss_bytes() {
  std::ifstream f("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  f >> size >> resident;
  return resident * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

Task<std::string> order(Context& ctx, const Event& ev) {
  std::string reserved = co_await ctx.run("reserve", [&] { return "reserved " + ev.data; });
  std::string charged = co_await ctx.run("charge", [&] { return std::string("charged"); });
  co_await ctx.run("ship", [&] { return reserved.size() + charged.size(); });
  co_return std::string("shipped");
}

double mean(const std::vector<uint64_t>& v, size_t from, size_t to) {
  double s = 0;
  for (size_t i = from; i < to; ++i) s += static_cast<double>(v[i]);
  return to > from ? s / static_cast<double>(to - from) : 0;
}

int run_soak(const SoakArgs& a, const std::filesystem::path& dir) {
  EngineOptions o;
  o.dir = dir;
  o.history_window = std::chrono::milliseconds(static_cast<int64_t>(a.window_s * 1000));
  o.snapshot_every_records = 200'000;
  o.log.segment_bytes = 16u << 20;
  o.runs_finished_kept = a.finished_kept;
  auto engine = Engine::create(o);
  Status st =
      engine->register_function({.id = "order", .triggers = {on_event("order/created")}}, order);
  if (st.ok()) st = engine->start();
  if (!st.ok()) {
    std::fprintf(stderr, "soak: %s\n", st.to_string().c_str());
    return kExitFailed;
  }
  // The sender: batches of events every 10 ms at the rate asked for.
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> sent{0};
  Status send_error;
  std::thread sender([&] {
    const uint64_t per_tick = std::max<uint64_t>(1, static_cast<uint64_t>(a.rate / 100));
    std::vector<Event> batch;
    uint64_t n = 0;
    auto next = std::chrono::steady_clock::now();
    while (!stop.load()) {
      batch.clear();
      for (uint64_t i = 0; i < per_tick; ++i, ++n) {
        batch.push_back(Event{.name = "order/created",
                              .data = "{\"order\":" + std::to_string(n) + ",\"sku\":\"A-1\"}"});
      }
      auto r = engine->send(batch);
      if (!r.ok()) {
        send_error = r.status();
        return;
      }
      sent.fetch_add(batch.size());
      next += std::chrono::milliseconds(10);
      std::this_thread::sleep_until(next);
    }
  });
  const int64_t w0 = now_ns();
  std::fprintf(stderr,
               "soak: %.0f orders/s, history window %.0f s; warming up until retention "
               "removes a segment\n",
               a.rate, a.window_s);
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const EngineStats s = engine->stats();
    const double t = seconds_between(w0, now_ns());
    if ((s.segments_removed > 0 && t >= a.window_s) || t > 180 || !send_error.ok()) break;
  }
  const double warmup_s = seconds_between(w0, now_ns());
  std::fprintf(stderr, "  warmed up in %.1f s; sampling for %.0f s\n", warmup_s, a.seconds);
  std::vector<uint64_t> disk, rss;
  const EngineStats s0 = engine->stats();
  const uint64_t sent0 = sent.load();
  const int64_t m0 = now_ns();
  for (int i = 1; i <= static_cast<int>(a.seconds) && send_error.ok(); ++i) {
    std::this_thread::sleep_until(std::chrono::steady_clock::time_point(
        std::chrono::nanoseconds(m0 + static_cast<int64_t>(i) * 1'000'000'000)));
    disk.push_back(dir_bytes(dir));
    rss.push_back(rss_bytes());
    if (i % 10 == 0) {
      std::fprintf(stderr, "  %3d s: disk %.1f MB, rss %.1f MB\n", i, disk.back() / 1e6,
                   rss.back() / 1e6);
    }
  }
  const double measured_s = seconds_between(m0, now_ns());
  const EngineStats s1 = engine->stats();
  const uint64_t sent1 = sent.load();
  stop.store(true);
  sender.join();
  st = engine->shutdown();
  if (!send_error.ok() || !st.ok() || disk.size() < 20) {
    std::fprintf(stderr, "soak: %s\n",
                 (!send_error.ok() ? send_error
                  : st.ok()        ? Status(StatusCode::kInvalidArgument, "--seconds must be >= 20")
                                   : st)
                     .to_string()
                     .c_str());
    return kExitFailed;
  }
  const size_t n = disk.size();
  const double disk_first = mean(disk, 0, 10), disk_last = mean(disk, n - 10, n);
  const double rss_first = mean(rss, 0, 10), rss_last = mean(rss, n - 10, n);
  JsonLine j;
  j["seconds"] = rounded(measured_s, 1);
  j["warmup_seconds"] = rounded(warmup_s, 1);
  j["orders_per_s"] = rounded(static_cast<double>(sent1 - sent0) / measured_s, 0);
  j["runs_finished_per_s"] =
      rounded(static_cast<double>(s1.runs_finished - s0.runs_finished) / measured_s, 0);
  j["runs_active_at_end"] = s1.runs_active;
  j["disk_mb_first_10s"] = rounded(disk_first / 1e6, 1);
  j["disk_mb_last_10s"] = rounded(disk_last / 1e6, 1);
  j["disk_growth_ratio"] = rounded(disk_last / disk_first, 3);
  j["rss_mb_first_10s"] = rounded(rss_first / 1e6, 1);
  j["rss_mb_last_10s"] = rounded(rss_last / 1e6, 1);
  j["rss_growth_ratio"] = rounded(rss_last / rss_first, 3);
  j["segments_removed"] = s1.segments_removed;
  j["segments_recycled"] = s1.log.segments_recycled;
  j["snapshots_written"] = s1.snapshots_written;
  j["snapshot_longest_ms"] = s1.snapshot_longest_ms;
  j["snapshot_failures"] = s1.snapshot_failures;
  if (!a.keep) std::filesystem::remove_all(dir);
  print_json_line(j);
  return kExitOk;
}

}  // namespace

void add_soak_subcommand(CLI::App& root, SubcommandRun* selected) {
  auto args = std::make_shared<SoakArgs>();
  CLI::App* cmd = root.add_subcommand(
      "soak", "flat over time: a steady order workload with retention; disk and memory growth");
  cmd->add_option("--seconds", args->seconds, "seconds sampled after the warm-up")
      ->check(CLI::Range(20.0, 86400.0));
  cmd->add_option("--rate", args->rate, "orders per second")->check(CLI::Range(100.0, 1e6));
  cmd->add_option("--window", args->window_s, "retention's history window, seconds")
      ->check(CLI::Range(1.0, 3600.0));
  cmd->add_option("--finished-kept", args->finished_kept,
                  "EngineOptions::runs_finished_kept (finished runs kept in memory)")
      ->check(CLI::Range(uint64_t{1}, uint64_t{10'000'000}));
  cmd->add_option("--dir", args->dir, "data directory (default: ./cairn-bench-data/soak-PID)");
  cmd->add_flag("--keep", args->keep, "keep the data directory");
  cmd->callback([args, selected] {
    *selected = [args]() -> int {
      const std::filesystem::path dir =
          args->dir.empty() ? default_data_dir("soak") : std::filesystem::path(args->dir);
      if (Status st = prepare_empty_dir(dir); !st.ok()) {
        std::fprintf(stderr, "cairn-bench soak: %s\n", st.message().c_str());
        return kExitUsage;
      }
      return run_soak(*args, dir);
    };
  });
}

}  // namespace cairn::bench
