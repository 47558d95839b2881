// The workload's summary (see order_summary.h).
#include "order_summary.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace orders {
namespace {

std::string human_bytes(uint64_t b) {
  char s[32];
  if (b >= (1ull << 30)) {
    std::snprintf(s, sizeof s, "%.2f GiB", b / double(1ull << 30));
  } else if (b >= (1ull << 20)) {
    std::snprintf(s, sizeof s, "%.1f MiB", b / double(1ull << 20));
  } else {
    std::snprintf(s, sizeof s, "%.1f KiB", b / 1024.0);
  }
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

// Reorders `v` partly.
double percentile_ms(std::vector<std::chrono::nanoseconds>& v, double q) {
  if (v.empty()) return 0;
  const size_t k = static_cast<size_t>(q * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<ptrdiff_t>(k), v.end());
  return std::chrono::duration<double, std::milli>(v[k]).count();
}

using ull = unsigned long long;

}  // namespace

void print_summary(const LoadOptions& options, LoadResult& r, uint64_t payment_calls,
                   const std::filesystem::path& log_dir) {
  const cairn::EngineStats& s = r.at_end;
  const cairn::EngineStats& end = r.settled;
  const double steps_per_s = s.steps_completed / r.seconds;
  const double p50 = percentile_ms(r.latency, 0.50), p99 = percentile_ms(r.latency, 0.99);
  const uint64_t log_bytes = dir_bytes(log_dir);
  std::printf("\nOrder workflow: %llu orders in %.1f s\n", ull(options.orders), r.seconds);
  std::printf("  runs completed      %llu fulfil-order runs (%llu failed), %llu runs in all\n",
              ull(r.completed), ull(r.failed), ull(end.runs_finished));
  std::printf(
      "  orders cancelled    %llu by order/cancelled events (cancel_on), each at its "
      "next step\n",
      ull(r.cancelled));
  std::printf("  durable steps       %llu (%.0f steps/s), each fsynced before its run moved on\n",
              ull(s.steps_completed), steps_per_s);
  std::printf("  durable records     %llu (events, steps, sleeps, waits, completions)\n",
              ull(end.log.records_durable));
  std::printf("  retries taken       %llu failed payment calls of %llu, all retried\n",
              ull(end.step_failures), ull(payment_calls));
  std::printf(
      "  order latency       p50 %.1f ms, p99 %.1f ms (send -> receipt; includes the "
      "cooling-off sleep and the shipment)\n",
      p50, p99);
  std::printf("  step dispatch       p99 %.0f us (step durable -> function resumed)\n",
              end.dispatch_p99_us);
  std::printf("  log                 %s on disk, %llu records, %llu fsync batches (%s)\n",
              human_bytes(log_bytes).c_str(), ull(end.log.records_durable), ull(end.log.batches),
              end.log.direct_io ? "O_DIRECT|O_DSYNC" : "write+fdatasync");
  if (r.run_ends_dropped > 0) {
    std::printf("  run ends dropped    %llu (the ring was full; orders were looked up instead)\n",
                ull(r.run_ends_dropped));
  }
  for (const cairn::RunInfo& run : r.failed_runs) {
    std::printf("  failed run %llu: %s\n", ull(run.id), run.error.c_str());
  }
  std::printf("\nThe log is in %s. Look inside with:\n", log_dir.c_str());
  std::printf("  ./build/release/tools/cairn log verify %s\n", log_dir.c_str());
  std::printf("  ./build/release/tools/cairn log stats %s\n", log_dir.c_str());
  std::printf("  ./build/release/tools/cairn log dump %s --json | head\n", log_dir.c_str());
  const nlohmann::json summary = {{"orders", options.orders},
                                  {"seconds", r.seconds},
                                  {"orders_completed", r.completed},
                                  {"orders_failed", r.failed},
                                  {"orders_cancelled", r.cancelled},
                                  {"durable_steps", s.steps_completed},
                                  {"durable_steps_per_s", steps_per_s},
                                  {"retries", end.step_failures},
                                  {"order_p50_ms", p50},
                                  {"order_p99_ms", p99},
                                  {"dispatch_p99_us", end.dispatch_p99_us},
                                  {"log_bytes", log_bytes}};
  std::printf("%s\n", summary.dump().c_str());
}

}  // namespace orders
