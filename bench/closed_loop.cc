// The peers' closed-loop driver (see closed_loop.h).
#include "closed_loop.h"

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "bench_clock.h"

namespace cairn::bench {
namespace {

struct alignas(64) OpCounter {
  std::atomic<uint64_t> ops{0};
};

// The first error any thread reports.
class FirstError {
 public:
  void set(const Status& status) {
    std::lock_guard lock(mu_);
    if (first_.ok()) first_ = status;
  }
  Status get() {
    std::lock_guard lock(mu_);
    return first_;
  }

 private:
  std::mutex mu_;
  Status first_;
};

}  // namespace

Result<RecordRate> run_closed_loop(const ClosedLoopConfig& config, const MakeWorker& make_worker) {
  std::vector<OpCounter> counters(config.threads);
  std::atomic<uint32_t> ready{0};
  std::atomic<bool> go{false}, stop{false};
  FirstError error;
  std::vector<std::thread> threads;
  for (uint32_t i = 0; i < config.threads; ++i) {
    threads.emplace_back([&, i] {
      Result<WorkerOp> op = make_worker(i);
      ready.fetch_add(1);
      if (!op.ok()) {
        error.set(op.status());
        return;
      }
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      while (!stop.load(std::memory_order_relaxed)) {
        if (Status st = (*op)(); !st.ok()) {
          error.set(st);
          return;
        }
        counters[i].ops.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  while (ready.load() < config.threads) sleep_seconds(0.001);
  go.store(true, std::memory_order_release);
  auto total_ops = [&] {
    uint64_t n = 0;
    for (const OpCounter& c : counters) n += c.ops.load(std::memory_order_relaxed);
    return n;
  };
  sleep_seconds(config.warmup_seconds);
  const uint64_t ops_before = total_ops();
  const CpuSnapshot cpu_before = cpu_snapshot();
  const int64_t start = now_ns();
  sleep_seconds(config.seconds);
  const uint64_t ops_after = total_ops();
  const int64_t end = now_ns();
  const CpuSnapshot cpu_after = cpu_snapshot();
  stop.store(true);
  for (std::thread& t : threads) t.join();
  if (Status st = error.get(); !st.ok()) return st;
  const double seconds = seconds_between(start, end);
  return RecordRate{(ops_after - ops_before) * config.records_per_op, seconds,
                    cpu_use_between(cpu_before, cpu_after, seconds)};
}

}  // namespace cairn::bench
