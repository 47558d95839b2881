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

}  // namespace

Event cron_tick_event(std::string_view function_id, const CronTrigger& trigger, int64_t tick_ms) {
  const std::string tick = iso_utc(tick_ms);
  nlohmann::json data = {{"cron", trigger.cron.expression().text()},
                         {"timezone", trigger.cron.zone()},
                         {"tick", tick},
                         {"tick_ms", tick_ms}};
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
  const flow::ZonedCron& cron = slots_[i]->trigger->cron;
  std::deque<int64_t> newest;
  uint64_t missed = 0;
  for (std::optional<int64_t> t = cron.next_after_ms(*cursor); t && *t <= now_ms;
       t = cron.next_after_ms(*t)) {
    newest.push_back(*t);
    if (newest.size() > size_t{catch_up_max} + 1) newest.pop_front();
    ++missed;
  }
  if (missed <= catch_up_max) return StartPlan{};
  return StartPlan{
      .append_cursor = true, .tick_ms = newest.front(), .skipped = missed - catch_up_max};
}

std::optional<std::pair<RunId, int64_t>> CronSchedule::next_timer(std::string_view function_id,
                                                                  std::string_view expression,
                                                                  int64_t tick_ms) {
  for (size_t i = 0; i < slots_.size(); ++i) {
    Slot& s = *slots_[i];
    if (s.fn->id != function_id || s.trigger->text != expression) continue;
    const std::optional<int64_t> next = s.trigger->cron.next_after_ms(tick_ms);
    if (!next) return std::nullopt;
    s.next_ms.store(*next, std::memory_order_release);
    return std::pair{kCronTimerBit | i, *next};
  }
  return std::nullopt;
}

}  // namespace cairn::detail
