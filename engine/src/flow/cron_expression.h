// CronExpression: a parsed 5-field cron expression (minute hour day-of-month month day-of-week)
// or macro (@hourly ...), and the UTC ticks it names: the next tick after a time, and the ticks of
// an interval for catching up after downtime. Building block for cron triggers
// (docs/flow-control.md; ZonedCron evaluates one on a named time zone's wall clock). Immutable
// after parse; safe to share between threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cairn/log/status.h"

namespace cairn::flow {

using CronTime = std::chrono::sys_seconds;

struct CronOptions {
  // Longest expression text accepted; a longer one is refused at parse (kInvalidArgument).
  // Default: 256.
  uint32_t expression_bytes_max = 256;
};

// The sets an expression selects, as bit masks (bit i set = value i selected).
struct CronFields {
  uint64_t minutes = 0;        // 0-59
  uint32_t hours = 0;          // 0-23
  uint32_t days_of_month = 0;  // 1-31
  uint16_t months = 0;         // 1-12
  uint8_t days_of_week = 0;    // 0-6, 0 = Sunday (7 in the text is folded into 0)
  // The day fields written starting with '*' ("*", "*/2"), as Vixie cron and cronie decide it.
  // A day matches when both day fields match if either of them is starred, and when either of
  // them matches if neither is (the day-of-month / day-of-week OR rule).
  bool day_of_month_star = false;
  bool day_of_week_star = false;
};

// The ticks of an interval, in order, at most `max` of them.
struct CronTicks {
  std::vector<CronTime> ticks;
  // True when the interval holds more ticks than `max`: the caller resumes after ticks.back()
  // (or after the interval's start when max was 0), or records the rest as skipped.
  bool truncated = false;
};

class CronExpression {
 public:
  // Parses `text`: five fields separated by spaces or tabs, each a comma list of items; an item is
  // `*`, a value, a range `a-b`, and optionally `/step` after `*` or a range (`a/step` means
  // `a-max/step`). Months take JAN-DEC, days of week SUN-SAT (any case); 0 and 7 are Sunday.
  // Macros: @yearly @annually @monthly @weekly @daily @midnight @hourly. An expression that can
  // never fire ("0 0 30 2 *") is refused. Errors are kInvalidArgument naming the field, the
  // column and the reason: `field 2 (hour): 25 is out of range 0-23 (column 3 of "0 25 * * *")`.
  static Result<CronExpression> parse(std::string_view text, const CronOptions& options = {});

  // The first tick strictly after `t` (ticks are whole UTC minutes). Nullopt only when that tick
  // would fall after the year 9999. Precondition: t is in the years 1970-9999.
  std::optional<CronTime> next_after(CronTime t) const;
  // The same in milliseconds since the Unix epoch (the engine's clock).
  std::optional<int64_t> next_after_ms(int64_t unix_ms) const;

  // The ticks t with after < t <= until, in order, at most `max` of them (see CronTicks).
  CronTicks ticks_between(CronTime after, CronTime until, size_t max) const;

  // Whether the minute that holds `t` is a tick.
  bool matches(CronTime t) const;

  const CronFields& fields() const { return fields_; }
  const std::string& text() const { return text_; }

 private:
  CronExpression(std::string text, CronFields fields) : text_(std::move(text)), fields_(fields) {}
  bool day_matches(unsigned day_of_month, unsigned weekday) const;

  std::string text_;
  CronFields fields_;
};

}  // namespace cairn::flow
