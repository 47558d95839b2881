// CronExpression: known expressions with known next ticks (month ends, February 29, the
// day-of-month / day-of-week OR rule, year rollover, macros), catch-up intervals, and the errors
// the parser gives for malformed expressions.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "flow/cron_expression.h"

namespace cairn::flow {
namespace {

using namespace std::chrono;

// "2024-02-29 13:05" (UTC), optionally ":SS".
CronTime at(const char* text) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  const int n = std::sscanf(text, "%d-%d-%d %d:%d:%d", &y, &mo, &d, &h, &mi, &s);
  EXPECT_GE(n, 5) << text;
  const sys_days day{year{y} / month{static_cast<unsigned>(mo)} / d};
  return CronTime{day} + hours{h} + minutes{mi} + seconds{s};
}

std::string show(CronTime t) {
  const sys_days day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss hms{t - day};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u %02ld:%02ld:%02ld", int{ymd.year()},
                unsigned{ymd.month()}, unsigned{ymd.day()}, static_cast<long>(hms.hours().count()),
                static_cast<long>(hms.minutes().count()), static_cast<long>(hms.seconds().count()));
  return buf;
}

CronExpression parse_ok(const char* text) {
  Result<CronExpression> e = CronExpression::parse(text);
  EXPECT_TRUE(e.ok()) << text << ": " << e.status().to_string();
  if (!e.ok()) std::abort();
  return *e;
}

struct NextCase {
  const char* expr;
  const char* after;
  const char* expected;
};

TEST(CronExpression, KnownExpressionsGiveKnownNextTicks) {
  const NextCase cases[] = {
      // Steps, ranges and lists.
      {"*/15 * * * *", "2024-01-01 00:00", "2024-01-01 00:15"},
      {"*/15 * * * *", "2024-01-01 00:14:59", "2024-01-01 00:15"},
      {"*/15 * * * *", "2024-01-01 00:45", "2024-01-01 01:00"},
      {"1-30/5 * * * *", "2024-01-01 00:26", "2024-01-01 01:01"},
      {"5/15 * * * *", "2024-01-01 00:50", "2024-01-01 01:05"},
      {"0,30 9-17 * * *", "2024-01-01 17:30", "2024-01-02 09:00"},
      // Strictly after: a tick at `after` itself is not returned.
      {"30 2 * * *", "2024-01-01 02:30", "2024-01-02 02:30"},
      {"30 2 * * *", "2024-01-01 02:29:59", "2024-01-01 02:30"},
      // Year rollover.
      {"0 0 1 1 *", "2024-12-31 23:59", "2025-01-01 00:00"},
      {"59 23 31 12 *", "2024-12-31 23:59", "2025-12-31 23:59"},
      {"* * * * *", "2024-12-31 23:59:30", "2025-01-01 00:00"},
      // Month ends: the 31st skips the months without one.
      {"0 0 31 * *", "2024-04-01 00:00", "2024-05-31 00:00"},
      {"0 0 31 * *", "2024-07-31 00:00", "2024-08-31 00:00"},
      {"0 0 31 * *", "2024-08-31 00:00", "2024-10-31 00:00"},
      {"0 0 30 * *", "2024-01-30 00:00", "2024-03-30 00:00"},
      // February 29: leap years only, and 2100 is not one.
      {"0 0 29 2 *", "2024-03-01 00:00", "2028-02-29 00:00"},
      {"0 0 29 2 *", "2096-03-01 00:00", "2104-02-29 00:00"},
      {"0 0 29 2 *", "2000-01-01 00:00", "2000-02-29 00:00"},
      // Day of week: names, 0 and 7 both Sunday, ranges across the end of the week.
      {"0 12 * * MON-FRI", "2024-06-01 00:00", "2024-06-03 12:00"},  // a Saturday
      {"0 0 * * 7", "2024-09-02 00:00", "2024-09-08 00:00"},
      {"0 0 * * 0", "2024-09-02 00:00", "2024-09-08 00:00"},
      {"0 0 * * sun", "2024-09-02 00:00", "2024-09-08 00:00"},
      {"0 0 * * FRI-SUN", "2024-09-08 00:00", "2024-09-13 00:00"},
      {"0 0 * * 5-7", "2024-09-07 00:00", "2024-09-08 00:00"},
      {"0 0 * * 7/2", "2024-09-02 00:00", "2024-09-08 00:00"},  // found by the fuzzer
      // The OR rule: both day fields restricted, either matches.
      {"0 0 1 * MON", "2024-09-01 00:00", "2024-09-02 00:00"},  // Monday the 2nd
      {"0 0 1 * MON", "2024-09-30 00:00", "2024-10-01 00:00"},  // Tuesday the 1st
      {"0 0 13 * FRI", "2024-09-06 00:00", "2024-09-13 00:00"},
      {"0 0 30 2 MON", "2024-02-01 00:00", "2024-02-05 00:00"},  // Feb 30 never, Mondays do
      // A starred day field makes it AND (Vixie cron): odd days that are Mondays.
      {"0 0 */2 * MON", "2024-09-01 00:00", "2024-09-09 00:00"},
      {"0 0 1 * *", "2024-09-01 00:00", "2024-10-01 00:00"},
      // Month names, any case.
      {"0 0 1 jan,Jul *", "2024-02-01 00:00", "2024-07-01 00:00"},
      {"0 0 1 FEB-MAR *", "2024-03-01 00:00", "2025-02-01 00:00"},
      // Macros.
      {"@hourly", "2024-05-05 10:30", "2024-05-05 11:00"},
      {"@daily", "2024-05-05 10:30", "2024-05-06 00:00"},
      {"@midnight", "2024-05-05 10:30", "2024-05-06 00:00"},
      {"@weekly", "2024-05-05 00:00", "2024-05-12 00:00"},  // Sundays
      {"@monthly", "2024-05-05 10:30", "2024-06-01 00:00"},
      {"@yearly", "2024-05-05 10:30", "2025-01-01 00:00"},
      {"@ANNUALLY", "2024-05-05 10:30", "2025-01-01 00:00"},
      // Blanks around and between fields.
      {"  0\t12  * *  * ", "2024-01-01 00:00", "2024-01-01 12:00"},
  };
  for (const NextCase& c : cases) {
    const CronExpression e = parse_ok(c.expr);
    const std::optional<CronTime> next = e.next_after(at(c.after));
    ASSERT_TRUE(next.has_value()) << c.expr;
    EXPECT_EQ(show(*next), show(at(c.expected))) << c.expr << " after " << c.after;
    EXPECT_TRUE(e.matches(*next)) << c.expr;
  }
}

TEST(CronExpression, MillisecondsAreFlooredToTheSecond) {
  const CronExpression e = parse_ok("30 2 * * *");
  const int64_t tick_ms = at("2024-01-01 02:30").time_since_epoch().count() * 1000;
  EXPECT_EQ(e.next_after_ms(tick_ms - 1), tick_ms);
  EXPECT_EQ(e.next_after_ms(tick_ms), tick_ms + 24 * 3600 * 1000);
  EXPECT_EQ(e.next_after_ms(tick_ms + 999), tick_ms + 24 * 3600 * 1000);
}

TEST(CronExpression, GivesNothingAfterTheYear9999) {
  const CronExpression e = parse_ok("0 0 1 1 *");
  EXPECT_EQ(show(*e.next_after(at("9998-06-01 00:00"))), "9999-01-01 00:00:00");
  EXPECT_FALSE(e.next_after(at("9999-01-01 00:00")).has_value());
}

TEST(CronExpression, FieldsHoldTheSelectedSets) {
  const CronFields f = parse_ok("0,59 */6 1-3,31 DEC 7").fields();
  EXPECT_EQ(f.minutes, (uint64_t{1} << 0) | (uint64_t{1} << 59));
  EXPECT_EQ(f.hours, (1u << 0) | (1u << 6) | (1u << 12) | (1u << 18));
  EXPECT_EQ(f.days_of_month, (1u << 1) | (1u << 2) | (1u << 3) | (1u << 31));
  EXPECT_EQ(f.months, 1u << 12);
  EXPECT_EQ(f.days_of_week, 1u);  // 7 is Sunday
  EXPECT_FALSE(f.day_of_month_star);
  EXPECT_FALSE(f.day_of_week_star);
  EXPECT_TRUE(parse_ok("* * */2 * *").fields().day_of_month_star);
}

TEST(CronExpression, TicksBetweenCatchesUpInOrderAndStopsAtTheLimit) {
  const CronExpression e = parse_ok("0 * * * *");
  const CronTime from = at("2024-03-10 00:00");
  const CronTime until = at("2024-03-10 05:00");
  CronTicks all = e.ticks_between(from, until, 100);
  ASSERT_EQ(all.ticks.size(), 5u);  // 01:00 .. 05:00: after `from`, up to and with `until`
  EXPECT_FALSE(all.truncated);
  EXPECT_EQ(show(all.ticks.front()), "2024-03-10 01:00:00");
  EXPECT_EQ(show(all.ticks.back()), "2024-03-10 05:00:00");

  CronTicks exact = e.ticks_between(from, until, 5);
  EXPECT_EQ(exact.ticks.size(), 5u);
  EXPECT_FALSE(exact.truncated);  // exactly max ticks: nothing was left out

  CronTicks first = e.ticks_between(from, until, 3);
  ASSERT_EQ(first.ticks.size(), 3u);
  EXPECT_TRUE(first.truncated);
  CronTicks rest = e.ticks_between(first.ticks.back(), until, 3);  // resume after the last
  ASSERT_EQ(rest.ticks.size(), 2u);
  EXPECT_FALSE(rest.truncated);
  EXPECT_EQ(show(rest.ticks[0]), "2024-03-10 04:00:00");

  CronTicks none = e.ticks_between(from, until, 0);
  EXPECT_TRUE(none.ticks.empty());
  EXPECT_TRUE(none.truncated);
  EXPECT_TRUE(e.ticks_between(until, until, 10).ticks.empty());
  EXPECT_TRUE(e.ticks_between(at("2024-03-10 00:01"), at("2024-03-10 00:59"), 10).ticks.empty());
}

struct ErrorCase {
  const char* expr;
  const char* message_part;
};

TEST(CronExpression, RefusesMalformedExpressionsSayingWhereAndWhy) {
  const ErrorCase cases[] = {
      {"0 25 * * *", "field 2 (hour): 25 is out of range 0-23 (column 3 of \"0 25 * * *\")"},
      {"0 0 32 * *", "field 3 (day-of-month): 32 is out of range 1-31"},
      {"0 0 0 * *", "field 3 (day-of-month): 0 is out of range 1-31"},
      {"0 0 * 13 *", "field 4 (month): 13 is out of range 1-12"},
      {"0 0 * * 8", "field 5 (day-of-week): 8 is out of range 0-7"},
      {"60 * * * *", "field 1 (minute): 60 is out of range 0-59 (column 1"},
      {"99999999999 * * * *", "is out of range 0-59"},
      {"", "it is empty"},
      {"   ", "it is empty"},
      {"* * * *", "expected 5 fields (minute hour day-of-month month day-of-week), found 4"},
      {"* * * * * *", "found 6"},
      {"*/0 * * * *", "field 1 (minute): step 0 is not allowed"},
      {"*/61 * * * *", "step 61 is larger than the field's 60 values"},
      {"5-1 * * * *", "range 5-1 runs backwards"},
      {"0 0 * * SAT-MON", "range 6-1 runs backwards"},
      {"1,,2 * * * *", "expected a value, found ','"},
      {"1, * * * *", "a value is missing"},
      {"1- * * * *", "a value is missing"},
      {"*/ * * * *", "a step is missing"},
      {"*5 * * * *", "unexpected '5'"},
      {"1-5-7 * * * *", "unexpected '-'"},
      {"0 0 * FOO *", "field 4 (month): \"FOO\" is not a month name (JAN-DEC)"},
      {"0 0 * * FUN", "\"FUN\" is not a day name (SUN-SAT)"},
      {"MON * * * *", "names are not allowed in the minute field"},
      {"0 0 1 * MON/x", "expected a step, found 'x'"},
      {"0 0 30 2 *", "it can never fire"},
      {"0 0 31 4,6,9,11 *", "it can never fire"},
      {"0 0 31 2 */2", "it can never fire"},
      {"@reboot", "unknown macro \"@reboot\""},
      {"@daily extra", "unknown macro"},
      {"0 0 * * \x01", "byte 0x01"},
  };
  for (const ErrorCase& c : cases) {
    Result<CronExpression> e = CronExpression::parse(c.expr);
    ASSERT_FALSE(e.ok()) << c.expr;
    EXPECT_EQ(e.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(e.status().message().find(c.message_part), std::string::npos)
        << c.expr << " gave: " << e.status().message();
  }
}

TEST(CronExpression, RefusesTextLongerThanTheOption) {
  const std::string long_text = "0 0 * * " + std::string(300, '1');
  Result<CronExpression> e = CronExpression::parse(long_text);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("expression_bytes_max (256)"), std::string::npos);
  EXPECT_TRUE(CronExpression::parse("0 0 * * *", CronOptions{.expression_bytes_max = 9}).ok());
  EXPECT_FALSE(CronExpression::parse("0 0 * * *", CronOptions{.expression_bytes_max = 8}).ok());
}

}  // namespace
}  // namespace cairn::flow
