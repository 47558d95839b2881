// The durable functions the crash test's child runs: "main" (the workload of workload.h, started
// by "job" events) with its on_failure handler, "helper" (invoked by main), "listener" (started
// by the "noted" event main sends), and the flow-controlled "metered" (a rate limit) and "paced"
// (a throttle), started by the driver's bursts; and, with a fast clock, the timed functions
// (timed_workload.h: cron, timeouts), the keyed waiting ones (keyed_workload.h: debounce,
// batching) and the guarded ones (guard_workload.h: idempotency, singleton, cancel_on, priority).
// Every step body journals its execution before it returns or throws, and returns
// {"v": value, "inc": incarnation, "n": exec}, so the parent can tell which execution produced a
// durable result.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string_view>

#include "cairn/engine.h"
#include "cairn/json_codec.h"
#include "engine_crash/journal.h"

namespace cairn::engine_crash {

class StepRunner {
 public:
  // `time_scale`: engine-clock milliseconds per real millisecond (kClockSpeed on the child's fast
  // clock, 1 on a real one). The functions' sleeps, wait timeouts, backoffs and flow-control
  // periods are their real-time lengths times it, so they behave alike on either clock.
  StepRunner(JournalWriter& journal, uint64_t seed, uint64_t incarnation, uint32_t time_scale = 1)
      : journal_(journal), seed_(seed), incarnation_(incarnation), time_scale_(time_scale) {}

  // One execution of a step body: journals it, then throws as step_fate() says or (after
  // `busy_ms` of work) returns the value with this execution's nonce.
  nlohmann::json execute(uint64_t run, uint64_t k, std::string_view step_id, uint32_t attempt,
                         uint64_t value, uint32_t busy_ms);
  uint64_t seed() const { return seed_; }
  uint32_t time_scale() const { return time_scale_; }
  // `real_ms` of real time on the engine's clock.
  std::chrono::milliseconds scaled(uint32_t real_ms) const {
    return std::chrono::milliseconds(int64_t{real_ms} * time_scale_);
  }

 private:
  JournalWriter& journal_;
  const uint64_t seed_;
  const uint64_t incarnation_;
  const uint32_t time_scale_;
  std::atomic<uint64_t> exec_{0};
};

// Registers the functions; `runner` must outlive the engine.
Status register_crash_functions(Engine& engine, StepRunner& runner);
// Registers "ticker", "late" and "queued" (timed_functions.cc). Their durations are in fast-clock
// milliseconds: only for an engine on the child's FastClock.
Status register_timed_functions(Engine& engine, StepRunner& runner);
// Registers "debounced" and "batched" (keyed_functions.cc). Fast-clock durations too.
Status register_keyed_functions(Engine& engine, StepRunner& runner);
// Registers "once", "solo", "latest", "cancellable" and "ranked" (guard_functions.cc).
// Fast-clock durations too.
Status register_guard_functions(Engine& engine, StepRunner& runner);

}  // namespace cairn::engine_crash
