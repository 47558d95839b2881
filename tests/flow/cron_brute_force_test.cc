// CronExpression against a brute-force matcher: random expressions are generated together with
// the sets they select (computed here, not by the parser), and the next tick after random times
// is found by walking minute by minute; next_after, matches and ticks_between must agree with it.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <string>
#include <vector>

#include "flow/cron_expression.h"

namespace cairn::flow {
namespace {

using namespace std::chrono;

constexpr const char* kMonthNames[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                       "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr const char* kDayNames[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

// A field's text and the values it selects, made by the generator.
struct GeneratedField {
  std::string text;
  std::vector<bool> selected;  // indexed by value (day of week: 0-7, 7 folded into 0 later)
};

class ExpressionGenerator {
 public:
  explicit ExpressionGenerator(uint64_t seed) : rng_(seed) {}

  // lo..hi is the written range; star_hi the top of `*`.
  GeneratedField field(unsigned lo, unsigned hi, unsigned star_hi, const char* const* names,
                       unsigned first_name_value) {
    GeneratedField f{"", std::vector<bool>(hi + 1, false)};
    const unsigned kind = pick(10);
    if (kind < 4) {
      f.text = "*";
      mark(f, lo, star_hi, 1);
      return f;
    }
    if (kind == 4) {
      const unsigned step = 1 + pick(star_hi - lo + 1);
      f.text = "*/" + std::to_string(step);
      mark(f, lo, star_hi, step);
      return f;
    }
    const unsigned items = 1 + pick(3);
    for (unsigned i = 0; i < items; ++i) {
      if (i > 0) f.text += ',';
      unsigned a = lo + pick(hi - lo + 1);
      unsigned b = lo + pick(hi - lo + 1);
      if (a > b) std::swap(a, b);
      switch (pick(4)) {
        case 0:  // a value
          f.text += value_text(a, names, first_name_value);
          mark(f, a, a, 1);
          break;
        case 1:  // a range
          f.text +=
              value_text(a, names, first_name_value) + "-" + value_text(b, names, first_name_value);
          mark(f, a, b, 1);
          break;
        case 2: {  // a range with a step
          const unsigned step = 1 + pick(std::min(b - a + 1, star_hi - lo + 1));
          f.text += value_text(a, names, first_name_value) + "-" +
                    value_text(b, names, first_name_value) + "/" + std::to_string(step);
          mark(f, a, b, step);
          break;
        }
        default: {  // a value with a step: value-max (day of week 7/s: Sunday alone)
          const unsigned step = 1 + pick(star_hi - lo + 1);
          f.text += std::to_string(a) + "/" + std::to_string(step);
          mark(f, a, std::max(a, star_hi), step);
        }
      }
    }
    return f;
  }

  unsigned pick(unsigned n) { return static_cast<unsigned>(rng_() % n); }

 private:
  std::string value_text(unsigned v, const char* const* names, unsigned first_name_value) {
    // Names for some values; 7 (Sunday) only as a number, since SUN is 0.
    if (names != nullptr && v >= first_name_value &&
        v < first_name_value + (names == kMonthNames ? 12 : 7) && pick(2) == 0) {
      std::string n = names[v - first_name_value];
      if (pick(2) == 0) n[1] = static_cast<char>(n[1] - 'A' + 'a');  // any case
      return n;
    }
    return std::to_string(v);
  }
  static void mark(GeneratedField& f, unsigned a, unsigned b, unsigned step) {
    for (unsigned v = a; v <= b; v += step) f.selected[v] = true;
  }

  std::mt19937_64 rng_;
};

// An expression and the independent matcher built from what the generator selected.
struct Reference {
  std::string text;
  GeneratedField minute, hour, dom, month, dow;

  bool dow_selected(unsigned weekday) const {
    return dow.selected[weekday] || (weekday == 0 && dow.selected[7]);
  }
  bool day_matches(unsigned day, unsigned weekday) const {
    const bool dom_ok = dom.selected[day];
    const bool dow_ok = dow_selected(weekday);
    const bool either_star = dom.text[0] == '*' || dow.text[0] == '*';
    return either_star ? (dom_ok && dow_ok) : (dom_ok || dow_ok);
  }
  static sys_days day_of_minute(int64_t m) {
    return sys_days{days{m >= 0 ? m / 1440 : (m - 1439) / 1440}};
  }
  // The date part alone: month, day of month, day of week.
  bool date_matches(int64_t m) const {
    const sys_days d = day_of_minute(m);
    const year_month_day ymd{d};
    return month.selected[unsigned{ymd.month()}] &&
           day_matches(unsigned{ymd.day()}, weekday{d}.c_encoding());
  }
  // The time of day alone: hour and minute.
  bool time_matches(int64_t m) const {
    const int64_t in_day = m - day_of_minute(m).time_since_epoch().count() * 1440;
    return hour.selected[static_cast<size_t>(in_day / 60)] &&
           minute.selected[static_cast<size_t>(in_day % 60)];
  }
  bool matches_minute(int64_t m) const { return date_matches(m) && time_matches(m); }
  // Some selected month has a selected day that exists in it (February has 29).
  bool can_fire() const {
    if (dow.text[0] != '*') return true;
    static constexpr unsigned kDays[] = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    for (unsigned m = 1; m <= 12; ++m) {
      for (unsigned d = 1; d <= kDays[m]; ++d) {
        if (month.selected[m] && dom.selected[d]) return true;
      }
    }
    return false;
  }
};

Reference generate(ExpressionGenerator& gen) {
  Reference r;
  r.minute = gen.field(0, 59, 59, nullptr, 0);
  r.hour = gen.field(0, 23, 23, nullptr, 0);
  r.dom = gen.field(1, 31, 31, nullptr, 0);
  r.month = gen.field(1, 12, 12, kMonthNames, 1);
  r.dow = gen.field(0, 7, 6, kDayNames, 0);
  if (gen.pick(8) == 0) {
    // Late days in short months, day of week unrestricted: some fire rarely, some never.
    const unsigned day = 29 + gen.pick(3);
    r.dom = GeneratedField{std::to_string(day), std::vector<bool>(32, false)};
    r.dom.selected[day] = true;
    r.month = GeneratedField{"", std::vector<bool>(13, false)};
    for (unsigned m : {2u, 4u, 6u, 9u, 11u}) {
      if (gen.pick(3) != 0) continue;
      r.month.text += (r.month.text.empty() ? "" : ",") + std::to_string(m);
      r.month.selected[m] = true;
    }
    if (r.month.text.empty()) {
      r.month.text = "2";
      r.month.selected[2] = true;
    }
    r.dow = GeneratedField{"*", std::vector<bool>(8, true)};
    r.dow.selected[7] = false;
  }
  r.text =
      r.minute.text + " " + r.hour.text + " " + r.dom.text + " " + r.month.text + " " + r.dow.text;
  return r;
}

// Minute by minute, at most `limit` minutes; -1 when none is found. A day whose date does not
// match is stepped over whole: each of its minutes would fail the same date test (and a rare
// expression's eight years of minutes took 12 s under AddressSanitizer).
int64_t brute_next_minute(const Reference& r, int64_t after_minute, int64_t limit) {
  for (int64_t m = after_minute + 1; m <= after_minute + limit;) {
    if (!r.date_matches(m)) {
      m = (Reference::day_of_minute(m).time_since_epoch().count() + 1) * 1440;
      continue;
    }
    if (r.time_matches(m)) return m;
    ++m;
  }
  return -1;
}

// 2000-01-01 .. 2120-01-01, at a random second.
CronTime random_time(std::mt19937_64& rng) {
  const int64_t start = sys_days{year{2000} / 1 / 1}.time_since_epoch().count() * 86400;
  const int64_t span = int64_t{120} * 365 * 86400;
  return CronTime{seconds{start + static_cast<int64_t>(rng() % span)}};
}

TEST(CronBruteForce, NextAfterAgreesWithAMinuteByMinuteSearch) {
  ExpressionGenerator gen(20240601);
  std::mt19937_64 rng(99);
  // Eight years: every expression that can fire does so within them except a weekday-bound
  // February 29, which the check below accepts as "later than the limit".
  constexpr int64_t kLimitMinutes = int64_t{8} * 366 * 1440;
  int parsed = 0;
  int refused = 0;
  for (int i = 0; i < 400; ++i) {
    const Reference r = generate(gen);
    Result<CronExpression> e = CronExpression::parse(r.text);
    if (!r.can_fire()) {
      EXPECT_FALSE(e.ok()) << r.text << " can never fire but was accepted";
      ++refused;
      continue;
    }
    ASSERT_TRUE(e.ok()) << r.text << ": " << e.status().to_string();
    ++parsed;
    for (int k = 0; k < 3; ++k) {
      const CronTime t = random_time(rng);
      const int64_t t_minute = t.time_since_epoch().count() / 60;
      const int64_t expected = brute_next_minute(r, t_minute, kLimitMinutes);
      const std::optional<CronTime> next = e->next_after(t);
      ASSERT_TRUE(next.has_value()) << r.text;
      const int64_t got = next->time_since_epoch().count() / 60;
      EXPECT_EQ(next->time_since_epoch().count() % 60, 0) << r.text;
      if (expected < 0) {
        EXPECT_GT(got, t_minute + kLimitMinutes) << r.text;
      } else {
        ASSERT_EQ(got, expected) << r.text << " after " << t.time_since_epoch().count();
      }
      // matches() on random minutes and around the tick.
      EXPECT_TRUE(e->matches(*next)) << r.text;
      const int64_t probe = t_minute + static_cast<int64_t>(rng() % 100000);
      EXPECT_EQ(e->matches(CronTime{seconds{probe * 60 + 17}}), r.matches_minute(probe)) << r.text;
    }
  }
  // The generator must have produced both kinds, or the test proves less than it says.
  EXPECT_GT(parsed, 300);
  EXPECT_GT(refused, 0);
}

TEST(CronBruteForce, TicksBetweenListsEveryMatchingMinuteOfAnInterval) {
  ExpressionGenerator gen(7);
  std::mt19937_64 rng(8);
  for (int i = 0; i < 150; ++i) {
    const Reference r = generate(gen);
    Result<CronExpression> e = CronExpression::parse(r.text);
    if (!r.can_fire()) continue;
    ASSERT_TRUE(e.ok()) << r.text;
    const CronTime from = random_time(rng);
    const CronTime until = from + minutes{static_cast<int64_t>(rng() % (4 * 1440))};
    std::vector<int64_t> expected;
    const int64_t from_minute = from.time_since_epoch().count() / 60;
    for (int64_t m = from_minute + 1; m * 60 <= until.time_since_epoch().count(); ++m) {
      if (r.matches_minute(m)) expected.push_back(m);
    }
    const size_t max = 1 + rng() % 400;
    const CronTicks got = e->ticks_between(from, until, max);
    EXPECT_EQ(got.truncated, expected.size() > max) << r.text;
    ASSERT_EQ(got.ticks.size(), std::min(expected.size(), max)) << r.text;
    for (size_t k = 0; k < got.ticks.size(); ++k) {
      EXPECT_EQ(got.ticks[k].time_since_epoch().count(), expected[k] * 60) << r.text;
    }
  }
}

}  // namespace
}  // namespace cairn::flow
