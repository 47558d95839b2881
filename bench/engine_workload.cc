// The engine workload (see engine_workload.h).
#include "engine_workload.h"
#include "engine_internal.h"

#include <atomic>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#include "bench_clock.h"
#include "cairn/engine.h"
#include "latency_histogram.h"

namespace cairn::bench {
namespace {

// Send times of runs in flight, by run id modulo a power of two larger than any window of ids
// that can be in flight at once.
class SendTimes {
 public:
  void set(RunId id, int64_t t) { slots_[id & kMask].store(t, std::memory_order_relaxed); }
  int64_t take(RunId id) { return slots_[id & kMask].exchange(0, std::memory_order_relaxed); }

 private:
  static constexpr size_t kSlots = size_t{1} << 21;
  static constexpr uint64_t kMask = kSlots - 1;
  std::vector<std::atomic<int64_t>> slots_ = std::vector<std::atomic<int64_t>>(kSlots);
};

// Shared between the sender, the engine's run-finished callback (one thread: the log's writer)
// and the measuring thread.
struct Shared {
  SendTimes sent;
  std::atomic<int64_t> in_flight{0};
  std::atomic<uint64_t> finished{0};
  std::atomic<bool> measuring{false};
  std::atomic<bool> stop{false};
  detail::LatencyHistogram run_latency;  // written by the callback while measuring
};

Task<int> trivial_steps(Context& ctx, uint32_t steps) {
  int sum = 0;
  for (uint32_t i = 0; i < steps; ++i) {
    sum += co_await ctx.run("step", [i] { return static_cast<int>(i); });
  }
  co_return sum;
}

// Sends runs: closed loop keeps `in_flight` runs going; open loop paces `runs_per_s`.
void send_loop(Engine& engine, const EngineWorkload& w, Shared& s, Status* error) {
  std::vector<Event> batch;
  const int64_t start = now_ns();
  uint64_t sent_total = 0;
  while (!s.stop.load(std::memory_order_acquire)) {
    uint64_t n;
    if (w.runs_per_s > 0) {
      const double due = seconds_between(start, now_ns()) * w.runs_per_s;
      if (static_cast<double>(sent_total) >= due) {
        std::this_thread::sleep_for(std::chrono::microseconds(200));
        continue;
      }
      n = std::min<uint64_t>(256, static_cast<uint64_t>(due) - sent_total + 1);
    } else {
      int64_t cur = s.in_flight.load(std::memory_order_acquire);
      if (cur >= static_cast<int64_t>(w.in_flight)) {
        s.in_flight.wait(cur, std::memory_order_acquire);
        continue;
      }
      n = std::min<uint64_t>(256, static_cast<uint64_t>(w.in_flight - cur));
    }
    batch.assign(n, Event{.name = "bench/run"});
    if (w.keys > 0) {
      for (uint64_t i = 0; i < n; ++i) {
        batch[i].data = R"({"customer":"c)" + std::to_string((sent_total + i) % w.keys) + R"("})";
      }
    }
    s.in_flight.fetch_add(static_cast<int64_t>(n));
    const int64_t t = now_ns();
    auto r = engine.send(batch);
    if (!r.ok()) {
      *error = r.status();
      return;
    }
    for (const SendResult& sr : *r) s.sent.set(sr.runs.at(0), t);
    sent_total += n;
  }
}

}  // namespace

Result<EngineWorkloadResult> run_engine_workload(const EngineWorkload& w) {
  auto shared = std::make_unique<Shared>();
  Shared& s = *shared;
  EngineOptions opts;
  opts.dir = w.dir;
  opts.workers = w.workers;
  opts.log.durability = w.durability;
  opts.runs_finished_kept = 1000;
  opts.on_run_finished = [&s](RunId id, RunStatus) {
    const int64_t t = s.sent.take(id);
    if (t != 0 && s.measuring.load(std::memory_order_relaxed)) {
      s.run_latency.record(now_ns() - t);  // only this thread records
    }
    s.finished.fetch_add(1, std::memory_order_relaxed);
    s.in_flight.fetch_sub(1, std::memory_order_release);
    s.in_flight.notify_one();
  };
  auto engine = Engine::create(std::move(opts));
  const uint32_t steps = w.steps;
  FunctionOptions fn{.id = "bench-steps", .triggers = {on_event("bench/run")}};
  if (w.key_concurrency > 0) {
    fn.concurrency = {{.limit = w.key_concurrency, .key = "data.customer"}};
  }
  CAIRN_RETURN_IF_ERROR(engine->register_function(
      std::move(fn),
      [steps](Context& ctx, const Event&) -> Task<int> { return trivial_steps(ctx, steps); }));
  CAIRN_RETURN_IF_ERROR(engine->start());

  Status send_error;
  std::thread sender([&] { send_loop(*engine, w, s, &send_error); });
  sleep_seconds(w.warmup_seconds);
  detail::reset_dispatch_latency(*engine);
  const EngineStats before = engine->stats();
  const uint64_t finished_before = s.finished.load();
  s.measuring.store(true);
  const int64_t t0 = now_ns();
  sleep_seconds(w.seconds);
  const int64_t t1 = now_ns();
  s.measuring.store(false);
  const EngineStats after = engine->stats();
  const uint64_t finished_after = s.finished.load();
  s.stop.store(true, std::memory_order_release);
  s.in_flight.store(-(int64_t{1} << 40));  // release a closed-loop sender waiting for room
  s.in_flight.notify_all();
  sender.join();
  const int64_t shutdown_t0 = now_ns();
  Status shut = engine->shutdown();
  const double shutdown_ms = seconds_between(shutdown_t0, now_ns()) * 1e3;
  if (!send_error.ok()) return send_error;
  CAIRN_RETURN_IF_ERROR(shut);

  EngineWorkloadResult r;
  r.seconds = seconds_between(t0, t1);
  r.shutdown_ms = shutdown_ms;
  r.runs = finished_after - finished_before;
  r.steps = after.steps_completed - before.steps_completed;
  r.steps_per_s = static_cast<double>(r.steps) / r.seconds;
  r.runs_per_s = static_cast<double>(r.runs) / r.seconds;
  r.run_p50_ms = s.run_latency.percentile(0.50) / 1e6;
  r.run_p99_ms = s.run_latency.percentile(0.99) / 1e6;
  r.dispatch_p50_us = after.dispatch_p50_us;
  r.dispatch_p99_us = after.dispatch_p99_us;
  r.dispatch_p999_us = after.dispatch_p999_us;
  r.dispatch_samples = after.dispatch_samples;
  const uint64_t batches = after.log.batches - before.log.batches;
  r.batches_per_s = static_cast<double>(batches) / r.seconds;
  r.records_per_batch =
      batches == 0 ? 0
                   : static_cast<double>(after.log.records_durable - before.log.records_durable) /
                         static_cast<double>(batches);
  r.io = after.log.io_queue;
  r.direct_io = after.log.direct_io;
  return r;
}

}  // namespace cairn::bench
