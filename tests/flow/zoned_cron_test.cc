// ZonedCron: cron expressions on a named time zone's wall clock (Europe/Berlin from the system
// tzdata): summer and winter offsets, the spring gap (ticks in it fire once, at the first instant
// after it), the autumn overlap (a repeated wall-clock time fires once, at its first occurrence),
// UTC passing straight through, and unknown zones refused.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "flow/zoned_cron.h"

namespace cairn::flow {
namespace {

using namespace std::chrono;

// "2026-03-29 01:00" (UTC) in milliseconds since the Unix epoch.
int64_t utc(const char* text) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0;
  EXPECT_EQ(std::sscanf(text, "%d-%d-%d %d:%d", &y, &mo, &d, &h, &mi), 5) << text;
  const sys_days day{year{y} / month{static_cast<unsigned>(mo)} / d};
  return duration_cast<milliseconds>((day + hours{h} + minutes{mi}).time_since_epoch()).count();
}

ZonedCron berlin(const char* expression) {
  Result<CronExpression> e = CronExpression::parse(expression);
  EXPECT_TRUE(e.ok()) << e.status().to_string();
  Result<ZonedCron> z = ZonedCron::make(std::move(*e), "Europe/Berlin");
  EXPECT_TRUE(z.ok()) << z.status().to_string();
  return std::move(*z);
}

// The ticks after `from` up to `until` (UTC text), in UTC milliseconds.
std::vector<int64_t> ticks(const ZonedCron& c, const char* from, const char* until) {
  std::vector<int64_t> out;
  for (std::optional<int64_t> t = c.next_after_ms(utc(from)); t && *t <= utc(until);
       t = c.next_after_ms(*t)) {
    out.push_back(*t);
  }
  return out;
}

TEST(ZonedCron, LocalTimeFollowsTheZonesOffsetInSummerAndWinter) {
  const ZonedCron nine = berlin("0 9 * * *");
  EXPECT_EQ(nine.next_after_ms(utc("2026-06-01 00:00")), utc("2026-06-01 07:00"));  // CEST, +2
  EXPECT_EQ(nine.next_after_ms(utc("2026-12-01 00:00")), utc("2026-12-01 08:00"));  // CET, +1
  EXPECT_EQ(nine.zone(), "Europe/Berlin");
}

TEST(ZonedCron, ATickInTheSpringGapFiresOnceAtTheFirstInstantAfterIt) {
  // 2026-03-29: 02:00 CET becomes 03:00 CEST at 01:00 UTC; 02:30 does not exist that day.
  const ZonedCron half_past_two = berlin("30 2 * * *");
  EXPECT_EQ(ticks(half_past_two, "2026-03-28 12:00", "2026-03-30 12:00"),
            (std::vector<int64_t>{utc("2026-03-29 01:00"), utc("2026-03-30 00:30")}));
  // Every quarter hour: 02:00-02:45 and 03:00 all fall on the gap's end, which fires once.
  EXPECT_EQ(ticks(berlin("*/15 * * * *"), "2026-03-29 00:40", "2026-03-29 01:20"),
            (std::vector<int64_t>{utc("2026-03-29 00:45"), utc("2026-03-29 01:00"),
                                  utc("2026-03-29 01:15")}));
}

TEST(ZonedCron, ARepeatedLocalTimeInTheAutumnOverlapFiresOnceAtItsFirstOccurrence) {
  // 2026-10-25: 03:00 CEST becomes 02:00 CET at 01:00 UTC; 02:00-02:59 happen twice.
  EXPECT_EQ(ticks(berlin("30 2 * * *"), "2026-10-24 12:00", "2026-10-26 12:00"),
            (std::vector<int64_t>{utc("2026-10-25 00:30"), utc("2026-10-26 01:30")}));
  EXPECT_EQ(ticks(berlin("0 * * * *"), "2026-10-24 23:30", "2026-10-25 03:30"),
            (std::vector<int64_t>{utc("2026-10-25 00:00"), utc("2026-10-25 02:00"),
                                  utc("2026-10-25 03:00")}));
}

TEST(ZonedCron, UtcAndNoZoneAreTheExpressionItself) {
  for (const char* zone : {"", "UTC"}) {
    Result<CronExpression> e = CronExpression::parse("*/5 * * * *");
    ASSERT_TRUE(e.ok());
    Result<ZonedCron> z = ZonedCron::make(*e, zone);
    ASSERT_TRUE(z.ok()) << z.status().to_string();
    EXPECT_EQ(z->zone(), "");
    EXPECT_EQ(z->next_after_ms(utc("2026-03-29 01:02")), e->next_after_ms(utc("2026-03-29 01:02")));
  }
}

TEST(ZonedCron, AnUnknownZoneIsRefused) {
  Result<CronExpression> e = CronExpression::parse("@daily");
  ASSERT_TRUE(e.ok());
  Result<ZonedCron> z = ZonedCron::make(*e, "Mars/Olympus_Mons");
  ASSERT_FALSE(z.ok());
  EXPECT_EQ(z.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(z.status().message().find("time zone \"Mars/Olympus_Mons\" is not known"),
            std::string::npos)
      << z.status().to_string();
}

}  // namespace
}  // namespace cairn::flow
