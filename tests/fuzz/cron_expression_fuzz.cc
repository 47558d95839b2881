// Fuzz target for cron expressions (engine/src/flow/cron_expression.h): any text goes to the
// parser; an expression it accepts must give ticks that are after the time asked for, match
// the expression, and agree with ticks_between.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "flow/cron_expression.h"

namespace {

void require(bool promise) {
  if (!promise) __builtin_trap();
}

using cairn::flow::CronTime;

// Times around the edges the search crosses: a leap day, a year end, the epoch, late years.
constexpr int64_t kTimes[] = {
    0, 951'782'400, 1'709'164'799, 1'735'689'599, 4'107'542'400, 253'402'000'000};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  cairn::Result<cairn::flow::CronExpression> e = cairn::flow::CronExpression::parse(text);
  if (!e.ok()) {
    require(!e.status().message().empty());
    return 0;
  }
  for (int64_t s : kTimes) {
    const CronTime t{std::chrono::seconds{s}};
    const std::optional<CronTime> next = e->next_after(t);
    if (!next) continue;  // after the year 9999
    require(*next > t);
    require(next->time_since_epoch().count() % 60 == 0);
    require(e->matches(*next));
    const cairn::flow::CronTicks ticks = e->ticks_between(t, *next, 3);
    require(ticks.ticks.size() == 1 && ticks.ticks[0] == *next && !ticks.truncated);
    require(!e->matches(*next - std::chrono::seconds{60}) || *next - std::chrono::seconds{60} <= t);
  }
  return 0;
}
