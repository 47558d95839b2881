// ZonedCron (see zoned_cron.h).
#include "flow/zoned_cron.h"

#include <date/tz.h>

#include <exception>

namespace cairn::flow {

Result<ZonedCron> ZonedCron::make(CronExpression expression, std::string_view zone) {
  if (zone.empty() || zone == "UTC") return ZonedCron(std::move(expression), {}, nullptr);
  try {
    const date::time_zone* tz = date::locate_zone(zone);
    return ZonedCron(std::move(expression), std::string(zone), tz);
  } catch (const std::exception& e) {
    return Status(StatusCode::kInvalidArgument,
                  "time zone \"" + std::string(zone) + "\" is not known: " + e.what());
  }
}

std::optional<int64_t> ZonedCron::next_after_ms(int64_t unix_ms) const {
  if (tz_ == nullptr) return expression_.next_after_ms(unix_ms);
  using std::chrono::seconds;
  const date::sys_seconds t{seconds{unix_ms >= 0 ? unix_ms / 1000 : (unix_ms - 999) / 1000}};
  // The expression runs on local wall-clock minutes: treat local time as if it were UTC for the
  // search, then map each candidate back. A candidate that maps to t or before is one that
  // already fired (the second pass of an overlap) or that the gap folded into an earlier instant.
  const date::local_seconds local_now = tz_->to_local(t);
  CronTime candidate{local_now.time_since_epoch()};
  // Each loop step moves on by at least a minute; an overlap holds at most a few hours of them.
  for (int guard = 0; guard < 100'000; ++guard) {
    const std::optional<CronTime> next = expression_.next_after(candidate);
    if (!next) return std::nullopt;
    candidate = *next;
    const date::local_seconds local{candidate.time_since_epoch()};
    const date::local_info info = tz_->get_info(local);
    date::sys_seconds at;
    switch (info.result) {
      case date::local_info::unique:
        at = date::sys_seconds{local.time_since_epoch() - info.first.offset};
        break;
      case date::local_info::nonexistent:
        at = info.second.begin;  // the first instant after the gap
        break;
      case date::local_info::ambiguous:
        at = date::sys_seconds{local.time_since_epoch() - info.first.offset};  // the earlier
        break;
    }
    if (at > t) return static_cast<int64_t>(at.time_since_epoch().count()) * 1000;
  }
  return std::nullopt;
}

}  // namespace cairn::flow
