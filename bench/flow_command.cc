// `cairn-bench flow`: what flow control costs.
//
//   cairn-bench flow --keys K --seconds T [--steps N] [--in-flight R] [--key-limit L]
//     1. the engine workload (runs of N durable steps, R in flight) over K customer keys with no
//        flow control, then the same with a per-customer concurrency limit of L, twice each and
//        alternating (the machine's drift hits both): ratio_to_unlimited = best limited / best
//        unlimited steps/s;
//     2. decision_ns: the median cost of one throttle decision over K keys (the admission the
//        applying thread makes per run), and gate_ns: one concurrency queue push, pop and release;
//     3. state_bytes_per_key: heap bytes per key of a throttle table holding K keys (glibc's
//        statistics; 0 when the allocator keeps none).
#include <malloc.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "bench_clock.h"
#include "bench_dir.h"
#include "engine_workload.h"
#include "flow/fair_key_queue.h"
#include "flow/keyed_limiter.h"
#include "json_line.h"
#include "subcommand.h"

namespace cairn::bench {
namespace {

struct FlowArgs {
  uint32_t keys = 10'000;
  double seconds = 5;
  uint32_t steps = 10;
  uint32_t in_flight = 4096;
  uint32_t key_limit = 1;
  uint32_t workers = 0;
  std::string dir;
};

size_t heap_in_use() {
  const struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// Median ns per decision over batches of 1,000, keys visited in a scrambled order at a time that
// keeps moving (each decision sees a live state, allowed or delayed).
double decision_ns(uint32_t keys) {
  Result<flow::Limiter> l = flow::Limiter::throttle({.limit = 10, .period_ms = 1000, .burst = 5});
  flow::KeyedLimiter table(*l);
  std::vector<uint64_t> hashes(keys);
  for (uint32_t i = 0; i < keys; ++i) {
    hashes[i] = flow::KeyedLimiter::hash_key("c" + std::to_string(i));
  }
  constexpr int kBatch = 1000;
  std::vector<double> samples;
  uint64_t k = 0, allowed = 0;
  int64_t now_ms = 1'700'000'000'000;
  for (int b = 0; b < 301; ++b) {
    const int64_t t0 = now_ns();
    for (int i = 0; i < kBatch; ++i) {
      k = (k + 7919) % keys;
      auto d = table.decide_hashed(hashes[k], now_ms);
      allowed += d.ok() && d->allowed;
    }
    samples.push_back(static_cast<double>(now_ns() - t0) / kBatch);
    ++now_ms;
  }
  if (allowed == 0) std::fprintf(stderr, "flow: no decision allowed anything\n");
  return median(samples);
}

// Median ns for one run through a concurrency queue: push, pop (it takes the slot), release.
double gate_ns(uint32_t keys) {
  Result<flow::FairKeyQueue> q = flow::FairKeyQueue::create({.per_key_running_max = 1});
  std::vector<std::string> names(keys);
  for (uint32_t i = 0; i < keys; ++i) names[i] = "c" + std::to_string(i);
  constexpr int kBatch = 1000;
  std::vector<double> samples;
  uint64_t handle = 0;
  for (int b = 0; b < 301; ++b) {
    const int64_t t0 = now_ns();
    for (int i = 0; i < kBatch; ++i) {
      const std::string& key = names[handle % keys];
      (void)q->push(key, ++handle, 0, 0);  // never full: each is popped at once
      auto next = q->pop();
      if (next) q->release(next->key);
    }
    samples.push_back(static_cast<double>(now_ns() - t0) / kBatch);
  }
  return median(samples);
}

double state_bytes_per_key(uint32_t keys) {
  Result<flow::Limiter> l = flow::Limiter::throttle({.limit = 10, .period_ms = 1000, .burst = 5});
  const size_t before = heap_in_use();
  flow::KeyedLimiter table(*l);
  for (uint32_t i = 0; i < keys; ++i) {
    (void)table.decide("c" + std::to_string(i), 1'700'000'000'000);
  }
  const size_t after = heap_in_use();
  return after > before ? static_cast<double>(after - before) / keys : 0;
}

int run_flow(const FlowArgs& a, const std::filesystem::path& dir) {
  EngineWorkload w;
  w.steps = a.steps;
  w.seconds = a.seconds;
  w.in_flight = a.in_flight;
  w.workers = a.workers;
  w.keys = a.keys;
  double best_free = 0, best_limited = 0;
  std::vector<double> free_runs, limited_runs;
  for (int round = 0; round < 2; ++round) {
    for (const bool limited : {false, true}) {
      EngineWorkload p = w;
      p.key_concurrency = limited ? a.key_limit : 0;
      p.dir = dir / ((limited ? "limited-" : "unlimited-") + std::to_string(round));
      std::fprintf(stderr, "flow: %s, %u keys (%.0f s)\n",
                   limited ? "per-key concurrency limit" : "no flow control", a.keys, a.seconds);
      auto r = run_engine_workload(p);
      if (!r.ok()) {
        std::fprintf(stderr, "%s\n", r.status().to_string().c_str());
        return kExitFailed;
      }
      std::fprintf(stderr, "  %.0f durable steps/s, run p99 %.2f ms\n", r->steps_per_s,
                   r->run_p99_ms);
      (limited ? limited_runs : free_runs).push_back(r->steps_per_s);
      double& best = limited ? best_limited : best_free;
      best = std::max(best, r->steps_per_s);
      std::filesystem::remove_all(p.dir);
    }
  }
  const double decision = decision_ns(a.keys);
  const double gate = gate_ns(a.keys);
  const double bytes = state_bytes_per_key(a.keys);
  JsonLine j;
  j["keys"] = a.keys;
  j["steps"] = a.steps;
  j["in_flight"] = a.in_flight;
  j["key_limit"] = a.key_limit;
  j["seconds"] = a.seconds;
  j["unlimited_steps_per_s"] = rounded(best_free, 0);
  j["limited_steps_per_s"] = rounded(best_limited, 0);
  j["ratio_to_unlimited"] = rounded(best_free > 0 ? best_limited / best_free : 0, 3);
  j["unlimited_runs"] = std::to_string(free_runs[0]) + "," + std::to_string(free_runs[1]);
  j["limited_runs"] = std::to_string(limited_runs[0]) + "," + std::to_string(limited_runs[1]);
  j["decision_ns"] = rounded(decision, 1);
  j["gate_ns"] = rounded(gate, 1);
  j["state_bytes_per_key"] = rounded(bytes, 1);
  print_json_line(j);
  return kExitOk;
}

}  // namespace

void add_flow_subcommand(CLI::App& root, SubcommandRun* selected) {
  auto args = std::make_shared<FlowArgs>();
  CLI::App* cmd = root.add_subcommand(
      "flow",
      "flow control's cost: the engine workload under a per-key concurrency limit against the "
      "same without one (same run), the cost of one admission decision, state bytes per key");
  cmd->add_option("--keys", args->keys, "customer keys the events spread over")
      ->check(CLI::Range(1u, 10'000'000u));
  cmd->add_option("--seconds", args->seconds, "seconds per phase (4 phases)")
      ->check(CLI::Range(0.5, 600.0));
  cmd->add_option("--steps", args->steps, "steps per run")->check(CLI::Range(1u, 1000u));
  cmd->add_option("--in-flight", args->in_flight, "runs in flight (closed loop)")
      ->check(CLI::Range(1u, 1000000u));
  cmd->add_option("--key-limit", args->key_limit, "runs per key at once in the limited phase")
      ->check(CLI::Range(1u, 100000u));
  cmd->add_option("--workers", args->workers, "engine worker threads (0: one per core)");
  cmd->add_option("--dir", args->dir, "data directory (default: ./cairn-bench-data/flow-PID)");
  cmd->callback([args, selected] {
    *selected = [args]() -> int {
      const std::filesystem::path dir =
          args->dir.empty() ? default_data_dir("flow") : std::filesystem::path(args->dir);
      if (Status st = prepare_empty_dir(dir); !st.ok()) {
        std::fprintf(stderr, "cairn-bench flow: %s\n", st.message().c_str());
        return kExitUsage;
      }
      const int rc = run_flow(*args, dir);
      std::filesystem::remove_all(dir);
      return rc;
    };
  });
}

}  // namespace cairn::bench
