// CronSchedule: the registered functions' cron triggers and the tick each one fires next. A
// trigger's cursor — the last tick accounted for — is durable: a tick's run is a RunCreated that
// names the tick, and a CronCursor record marks where tracking began or which missed ticks were
// skipped. Apply reports every cursor move (next_timer), which arms the timer for the next tick;
// when it fires, the engine appends that tick's run (due_tick). So each trigger has one tick in
// flight at a time, and a restart goes on from the last recorded tick: no tick runs twice, and
// none is lost (beyond the catch-up limit, skips are recorded).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cairn/engine.h"
#include "function_registry.h"
#include "timer_wheel.h"

namespace cairn::detail {

// The event a tick's run receives: "cairn/cron.tick" with data {"cron", "timezone" (empty: UTC),
// "tick" (ISO 8601 UTC), "tick_ms"}, the tick as its time, and an id naming the function and the
// tick.
Event cron_tick_event(std::string_view function_id, const CronTrigger& trigger, int64_t tick_ms);

class CronSchedule {
 public:
  explicit CronSchedule(const FunctionRegistry& registry);

  struct Slot {
    const FunctionEntry* fn = nullptr;
    const CronTrigger* trigger = nullptr;
    std::atomic<int64_t> next_ms{0};  // the tick its timer is armed for
  };
  size_t size() const { return slots_.size(); }
  const Slot& slot(size_t i) const { return *slots_[i]; }
  static bool is_timer_key(RunId key) { return (key & kCronTimerBit) != 0; }
  static size_t index_of(RunId key) { return static_cast<size_t>(key & ~kCronTimerBit); }

  // At start, for trigger i with its recorded cursor (nullopt: never recorded): whether a
  // CronCursor must be appended first, and with what. Without a cursor, tracking begins at now
  // (ticks after it are due). With one, the ticks missed since are due, but at most
  // `catch_up_max` of them, the newest: the cursor skips the older ones, counted.
  struct StartPlan {
    bool append_cursor = false;
    int64_t tick_ms = 0;
    uint64_t skipped = 0;
  };
  StartPlan plan_start(size_t i, std::optional<int64_t> cursor, int64_t now_ms,
                       uint32_t catch_up_max) const;

  // Apply: the cursor of (function, expression) moved to tick_ms. Returns the timer to arm (key,
  // deadline) for the next tick; nullopt when the trigger is not registered here or never fires
  // again.
  std::optional<std::pair<RunId, int64_t>> next_timer(std::string_view function_id,
                                                      std::string_view expression, int64_t tick_ms);
  // The tick trigger i's timer fired for.
  int64_t due_tick(size_t i) const { return slots_[i]->next_ms.load(std::memory_order_acquire); }

 private:
  std::vector<std::unique_ptr<Slot>> slots_;
};

}  // namespace cairn::detail
