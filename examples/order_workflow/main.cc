// The order workflow as a workload: sends N orders through fulfil-order (with its flaky payment
// provider, shipments and notifications), keeps a window of orders in flight, shows progress, and
// ends with a summary: orders fulfilled and refunded, durable steps per second, retries, order
// latency, and where the log is. The README's main command runs this.
//
//   order_workflow [--orders N] [--in-flight W] [--dir DIR] [--resume]
#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "cairn/engine.h"
#include "order_functions.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Args {
  uint64_t orders = 40000;
  uint64_t in_flight = 4000;
  std::string dir = "cairn-data/orders";
  bool resume = false;
  double failure_rate = 0.2;
  uint32_t workers = 0;
};

int64_t now_ns() {
  return Clock::now().time_since_epoch().count();
}

// What the run-finished callback (on the log's writer thread) records about order runs.
struct Tally {
  explicit Tally(uint64_t max_run_id) : sent_at(max_run_id + 1) {}
  std::vector<std::atomic<int64_t>> sent_at;  // by run id; 0: not an order run
  std::atomic<uint64_t> fulfilled{0}, failed{0}, in_flight{0}, finished{0};
  std::mutex mu;
  std::vector<int64_t> latency_ns;
};

std::string human_bytes(uint64_t b) {
  char s[32];
  if (b >= (1ull << 30))
    std::snprintf(s, sizeof s, "%.2f GiB", b / double(1ull << 30));
  else if (b >= (1ull << 20))
    std::snprintf(s, sizeof s, "%.1f MiB", b / double(1ull << 20));
  else
    std::snprintf(s, sizeof s, "%.1f KiB", b / 1024.0);
  return s;
}

uint64_t dir_bytes(const std::filesystem::path& p) {
  uint64_t total = 0;
  std::error_code ec;
  for (auto& e : std::filesystem::recursive_directory_iterator(p, ec)) {
    if (e.is_regular_file(ec)) total += e.file_size(ec);
  }
  return total;
}

void progress(const Args& a, const Tally& t, const cairn::EngineStats& s, double secs) {
  const uint64_t done = t.finished.load();
  const int width = 30;
  const int filled = static_cast<int>(width * done / std::max<uint64_t>(1, a.orders));
  std::fprintf(stderr, "\r[%.*s%*s] %llu/%llu orders  %.0f orders/s  %.0f steps/s  retries %llu ",
               filled, "##############################", width - filled, "",
               static_cast<unsigned long long>(done), static_cast<unsigned long long>(a.orders),
               done / secs, s.steps_completed / secs,
               static_cast<unsigned long long>(s.step_failures));
  std::fflush(stderr);
}

double percentile_ms(std::vector<int64_t>& v, double q) {
  if (v.empty()) return 0;
  const size_t k = static_cast<size_t>(q * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<ptrdiff_t>(k), v.end());
  return static_cast<double>(v[k]) / 1e6;
}

int fail(const cairn::Status& st) {
  std::fprintf(stderr, "order_workflow: %s\n", st.to_string().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  CLI::App app{"Cairn example: the order workflow as a workload"};
  app.add_option("--orders", a.orders, "orders to send")->check(CLI::Range(1ull, 100'000'000ull));
  app.add_option("--in-flight", a.in_flight, "orders in flight at once")
      ->check(CLI::Range(1ull, 1'000'000ull));
  app.add_option("--dir", a.dir, "where the engine keeps its log");
  app.add_flag("--resume", a.resume, "continue the runs of a previous invocation in --dir");
  app.add_option("--payment-failure-rate", a.failure_rate, "share of failing payment calls")
      ->check(CLI::Range(0.0, 0.9));
  app.add_option("--workers", a.workers, "worker threads (0: one per core)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  const std::filesystem::path log_dir = std::filesystem::path(a.dir) / "log";
  if (!a.resume && std::filesystem::exists(log_dir) && !std::filesystem::is_empty(log_dir)) {
    std::fprintf(stderr,
                 "order_workflow: %s holds the log of an earlier invocation. Delete it to start "
                 "over, or pass --resume to let the engine finish its runs.\n",
                 a.dir.c_str());
    return 2;
  }

  orders::FlakyPayments payments(a.failure_rate);
  // Order runs are among the first ~4 runs per order (shipping and notification runs interleave).
  Tally tally(a.orders * 4 + 1024);
  cairn::EngineOptions opts;
  opts.dir = a.dir;
  opts.workers = a.workers;
  opts.on_run_finished = [&tally](cairn::RunId id, cairn::RunStatus st) {
    if (id >= tally.sent_at.size()) return;
    const int64_t sent = tally.sent_at[id].exchange(0, std::memory_order_relaxed);
    if (sent == 0) return;
    (st == cairn::RunStatus::kCompleted ? tally.fulfilled : tally.failed).fetch_add(1);
    {
      std::lock_guard lock(tally.mu);
      tally.latency_ns.push_back(now_ns() - sent);
    }
    tally.finished.fetch_add(1);
    tally.in_flight.fetch_sub(1);
    tally.in_flight.notify_one();
  };
  auto engine = cairn::Engine::create(std::move(opts));
  if (auto st = orders::register_order_functions(*engine, payments, {}); !st.ok()) return fail(st);
  if (auto st = engine->start(); !st.ok()) return fail(st);
  const auto& rec = engine->recovery();
  if (rec.records > 0) {
    std::fprintf(stderr, "recovered %llu records in %.2f s; %llu unfinished runs resumed\n",
                 static_cast<unsigned long long>(rec.records), rec.seconds,
                 static_cast<unsigned long long>(rec.runs_resumed));
  }

  std::fprintf(stderr, "sending %llu orders, %llu in flight, log in %s\n",
               static_cast<unsigned long long>(a.orders),
               static_cast<unsigned long long>(a.in_flight), log_dir.c_str());
  const auto t0 = Clock::now();
  std::thread sender([&] {
    std::vector<cairn::Event> batch;
    for (uint64_t next = 0; next < a.orders;) {
      uint64_t cur = tally.in_flight.load();
      while (cur >= a.in_flight) {
        tally.in_flight.wait(cur);
        cur = tally.in_flight.load();
      }
      const uint64_t n = std::min<uint64_t>({a.in_flight - cur, a.orders - next, 256});
      batch.clear();
      for (uint64_t i = 0; i < n; ++i, ++next) {
        const std::string id = "A-" + std::to_string(next);
        batch.push_back({.name = "order/created",
                         .data = nlohmann::json{{"order_id", id},
                                                {"amount_cents", 1000 + next % 9000},
                                                {"items", 1 + next % 3}}
                                     .dump(),
                         .id = id});
      }
      tally.in_flight.fetch_add(n);
      const int64_t t = now_ns();
      auto sent = engine->send(batch);
      if (!sent.ok()) {
        std::fprintf(stderr, "\norder_workflow: send failed: %s\n",
                     sent.status().to_string().c_str());
        std::exit(1);
      }
      for (const cairn::SendResult& r : *sent) {
        if (r.runs.empty()) {  // a duplicate (after --resume): nothing to wait for
          tally.in_flight.fetch_sub(1);
          tally.finished.fetch_add(1);
          continue;
        }
        if (r.runs[0] < tally.sent_at.size()) tally.sent_at[r.runs[0]].store(t);
      }
    }
  });
  while (tally.finished.load() < a.orders) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    progress(a, tally, engine->stats(), std::chrono::duration<double>(Clock::now() - t0).count());
    if (!engine->health().ok()) return fail(engine->health());
  }
  sender.join();
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  const cairn::EngineStats s = engine->stats();
  progress(a, tally, s, secs);
  std::fprintf(stderr, "\n");
  // Let notifications and shipments still in flight finish, then stop cleanly.
  for (int i = 0; i < 200 && engine->stats().runs_active > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const cairn::EngineStats end = engine->stats();
  const auto failed_runs =
      engine->list_runs({.function_id = "fulfil-order", .status = cairn::RunStatus::kFailed});
  if (auto st = engine->shutdown(); !st.ok()) return fail(st);

  std::vector<int64_t>& lat = tally.latency_ns;
  const double p50 = percentile_ms(lat, 0.50), p99 = percentile_ms(lat, 0.99);
  const uint64_t log_bytes = dir_bytes(log_dir);
  std::printf("\nOrder workflow: %llu orders in %.1f s\n",
              static_cast<unsigned long long>(a.orders), secs);
  std::printf("  runs completed      %llu fulfil-order runs (%llu failed), %llu runs in all\n",
              static_cast<unsigned long long>(tally.fulfilled.load()),
              static_cast<unsigned long long>(tally.failed.load()),
              static_cast<unsigned long long>(end.runs_finished));
  std::printf("  durable steps       %llu (%.0f steps/s), each fsynced before its run moved on\n",
              static_cast<unsigned long long>(s.steps_completed), s.steps_completed / secs);
  std::printf("  durable records     %llu (events, steps, sleeps, waits, completions)\n",
              static_cast<unsigned long long>(end.log.records_durable));
  std::printf("  retries taken       %llu failed payment calls of %llu, all retried\n",
              static_cast<unsigned long long>(end.step_failures),
              static_cast<unsigned long long>(payments.calls()));
  std::printf(
      "  order latency       p50 %.1f ms, p99 %.1f ms (send -> receipt; includes the "
      "cooling-off sleep and the shipment)\n",
      p50, p99);
  std::printf("  step dispatch       p99 %.0f us (step durable -> function resumed)\n",
              end.dispatch_p99_us);
  std::printf("  log                 %s on disk, %llu records, %llu fsync batches (%s)\n",
              human_bytes(log_bytes).c_str(),
              static_cast<unsigned long long>(end.log.records_durable),
              static_cast<unsigned long long>(end.log.batches),
              end.log.direct_io ? "O_DIRECT|O_DSYNC" : "write+fdatasync");
  for (const cairn::RunInfo& r : failed_runs) {
    std::printf("  failed run %llu: %s\n", static_cast<unsigned long long>(r.id), r.error.c_str());
  }
  std::printf("\nThe log is in %s. Look inside with:\n", log_dir.c_str());
  std::printf("  ./build/release/tools/cairn log verify %s\n", log_dir.c_str());
  std::printf("  ./build/release/tools/cairn log stats %s\n", log_dir.c_str());
  std::printf("  ./build/release/tools/cairn log dump %s --json | head\n", log_dir.c_str());
  nlohmann::json summary = {{"orders", a.orders},
                            {"seconds", secs},
                            {"orders_completed", tally.fulfilled.load()},
                            {"orders_failed", tally.failed.load()},
                            {"durable_steps", s.steps_completed},
                            {"durable_steps_per_s", s.steps_completed / secs},
                            {"retries", end.step_failures},
                            {"order_p50_ms", p50},
                            {"order_p99_ms", p99},
                            {"dispatch_p99_us", end.dispatch_p99_us},
                            {"log_bytes", log_bytes}};
  std::printf("%s\n", summary.dump().c_str());
  return tally.failed.load() == 0 ? 0 : 1;
}
