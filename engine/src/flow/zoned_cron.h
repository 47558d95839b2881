// ZonedCron: a cron expression evaluated on the wall clock of a time zone — UTC, or a named IANA
// zone ("Europe/Berlin") read from the system's tzdata through the date library (Debian:
// libhowardhinnant-date-dev). Where the wall clock jumps: a tick at a local time that does not
// exist (the spring gap) fires once, at the first instant after the gap (with a tick at that
// instant, if any); a local time that occurs twice (the autumn overlap) fires once, at its first
// occurrence. Immutable; safe to share between threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "cairn/log/status.h"
#include "flow/cron_expression.h"

namespace date {
class time_zone;
}

namespace cairn::flow {

class ZonedCron {
 public:
  // `zone` empty or "UTC": UTC. Otherwise an IANA name; kInvalidArgument when the time zone
  // database does not know it (or cannot be read).
  static Result<ZonedCron> make(CronExpression expression, std::string_view zone);

  // The first tick strictly after unix_ms, in milliseconds since the Unix epoch; nullopt only
  // when it would fall after the year 9999.
  std::optional<int64_t> next_after_ms(int64_t unix_ms) const;

  const CronExpression& expression() const { return expression_; }
  const std::string& zone() const { return zone_; }  // empty: UTC

 private:
  ZonedCron(CronExpression e, std::string zone, const date::time_zone* tz)
      : expression_(std::move(e)), zone_(std::move(zone)), tz_(tz) {}

  CronExpression expression_;
  std::string zone_;
  const date::time_zone* tz_;  // null: UTC; else owned by the date library's database
};

}  // namespace cairn::flow
