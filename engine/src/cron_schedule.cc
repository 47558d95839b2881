// CronSchedule (see cron_schedule.h).
#include "cron_schedule.h"

#include <chrono>
#include <ctime>
#include <deque>

#include <nlohmann/json.hpp>

namespace cairn::detail {
namespace {

std::string iso_utc(int64_t ms) {
  const time_t secs = static_cast<time_t>(ms / 1000);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[32];
  const size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(buf, n);
}

flow::CronTime to_cron_time(int64_t ms) {
  return flow::CronTime(std::chrono::seconds(ms / 1000));
}

int64_t to_ms(flow::CronTime t) {
  return static_cast<int64_t>(t.time_since_epoch().count()) * 1000;
}

}  // namespace

Event cron_tick_event(std::string_view function_id, std::string_view expression, int64_t tick_ms) {
  const std::string tick = iso_utc(tick_ms);
  nlohmann::json data = {{"cron", std::string(expression)}, {"tick", tick}, {"tick_ms", tick_ms}};
  return Event{.name = "cairn/cron.tick",
               .data = data.dump(),
               .id = "cron:" + std::string(function_id) + ":" + tick,
               .ts_ms = tick_ms};
}

CronSchedule::CronSchedule(const FunctionRegistry& registry) {
  registry.for_each([&](const FunctionEntry& f) {
    for (const CronTrigger& t : f.crons) {
      auto s = std::make_unique<Slot>();
      s->fn = &f;
      s->trigger = &t;
      slots_.push_back(std::move(s));
    }
  });
}

CronSchedule::StartPlan CronSchedule::plan_start(size_t i, std::optional<int64_t> cursor,
                                                 int64_t now_ms, uint32_t catch_up_max) const {
  if (!cursor) return StartPlan{.append_cursor = true, .tick_ms = now_ms, .skipped = 0};
  // Walk the missed ticks, keeping the newest catch_up_max + 1: past the limit, the oldest kept is
  // the last one skipped. A long outage of a frequent trigger walks many ticks (a year of every
  // minute: about 525,000 steps), once, at start.
  const flow::CronExpression& e = slots_[i]->trigger->expression;
  const flow::CronTime until = to_cron_time(now_ms);
  std::deque<flow::CronTime> newest;
  uint64_t missed = 0;
  flow::CronTime after = to_cron_time(*cursor);
  for (;;) {
    flow::CronTicks chunk = e.ticks_between(after, until, 4096);
    for (flow::CronTime t : chunk.ticks) {
      newest.push_back(t);
      if (newest.size() > size_t{catch_up_max} + 1) newest.pop_front();
    }
    missed += chunk.ticks.size();
    if (!chunk.truncated || chunk.ticks.empty()) break;
    after = chunk.ticks.back();
  }
  if (missed <= catch_up_max) return StartPlan{};
  return StartPlan{
      .append_cursor = true, .tick_ms = to_ms(newest.front()), .skipped = missed - catch_up_max};
}

std::optional<std::pair<RunId, int64_t>> CronSchedule::next_timer(std::string_view function_id,
                                                                  std::string_view expression,
                                                                  int64_t tick_ms) {
  for (size_t i = 0; i < slots_.size(); ++i) {
    Slot& s = *slots_[i];
    if (s.fn->id != function_id || s.trigger->text != expression) continue;
    const std::optional<int64_t> next = s.trigger->expression.next_after_ms(tick_ms);
    if (!next) return std::nullopt;
    s.next_ms.store(*next, std::memory_order_release);
    return std::pair{kCronTimerBit | i, *next};
  }
  return std::nullopt;
}

}  // namespace cairn::detail
