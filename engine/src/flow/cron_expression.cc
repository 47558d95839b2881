// CronExpression (see cron_expression.h): the parser of the five fields and the search for the
// next tick, which jumps by month, day, hour and minute rather than stepping minute by minute.
#include "flow/cron_expression.h"

#include <algorithm>
#include <array>
#include <bit>
#include <string>
#include <utility>

#include "cairn/log/check.h"

namespace cairn::flow {
namespace cron_parse {

constexpr std::array<std::string_view, 12> kMonthNames = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                          "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr std::array<std::string_view, 7> kWeekdayNames = {"SUN", "MON", "TUE", "WED",
                                                           "THU", "FRI", "SAT"};

// One of the five fields: its range as written (day of week takes 0-7) and its names, if any.
struct FieldSpec {
  const char* label;
  unsigned min;
  unsigned max;
  unsigned star_max;  // the top of `*` (6 for day of week: 7 is only an alias of Sunday)
  const std::string_view* names;
  unsigned name_count;
  unsigned first_name_value;
};

constexpr std::array<FieldSpec, 5> kFields = {{
    {"minute", 0, 59, 59, nullptr, 0, 0},
    {"hour", 0, 23, 23, nullptr, 0, 0},
    {"day-of-month", 1, 31, 31, nullptr, 0, 0},
    {"month", 1, 12, 12, kMonthNames.data(), 12, 1},
    {"day-of-week", 0, 7, 6, kWeekdayNames.data(), 7, 0},
}};

constexpr size_t kDayOfWeekField = 4;

struct Macro {
  std::string_view name;
  std::string_view expansion;
};
constexpr std::array<Macro, 7> kMacros = {{{"@yearly", "0 0 1 1 *"},
                                           {"@annually", "0 0 1 1 *"},
                                           {"@monthly", "0 0 1 * *"},
                                           {"@weekly", "0 0 * * 0"},
                                           {"@daily", "0 0 * * *"},
                                           {"@midnight", "0 0 * * *"},
                                           {"@hourly", "0 * * * *"}}};

bool is_blank(char c) {
  return c == ' ' || c == '\t';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
char upper(char c) {
  return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
}

std::string quoted(std::string_view s) {
  std::string out = "\"";
  out.append(s);
  out += '"';
  return out;
}

// Parses one field into a bit mask, reporting errors with the field and column.
class FieldParser {
 public:
  FieldParser(std::string_view whole, size_t field_index, size_t field_offset,
              std::string_view field)
      : whole_(whole),
        index_(field_index),
        offset_(field_offset),
        field_(field),
        spec_(kFields[field_index]) {}

  Result<uint64_t> parse(bool* starred) {
    *starred = !field_.empty() && field_[0] == '*';
    uint64_t bits = 0;
    for (;;) {
      CAIRN_ASSIGN_OR_RETURN(const uint64_t item, parse_item());
      bits |= item;
      if (pos_ == field_.size()) break;
      if (field_[pos_] != ',') return error(pos_, "unexpected " + char_name(field_[pos_]));
      ++pos_;
    }
    return bits;
  }

 private:
  Result<uint64_t> parse_item() {
    const size_t start = pos_;
    unsigned lo = 0;
    unsigned hi = 0;
    bool ranged = false;  // a step may follow `*` or a range only (or a value: value-max)
    if (at('*')) {
      ++pos_;
      lo = spec_.min;
      hi = spec_.star_max;
      ranged = true;
    } else {
      CAIRN_ASSIGN_OR_RETURN(lo, parse_value(/*range_end=*/false, 0));
      hi = lo;
      if (at('-')) {
        ++pos_;
        CAIRN_ASSIGN_OR_RETURN(hi, parse_value(/*range_end=*/true, lo));
        if (hi < lo) {
          return error(start, "range " + std::to_string(lo) + "-" + std::to_string(hi) +
                                  " runs backwards (start after end)");
        }
        ranged = true;
      }
    }
    unsigned step = 1;
    if (at('/')) {
      const size_t step_pos = ++pos_;
      CAIRN_ASSIGN_OR_RETURN(step, parse_number("step"));
      const unsigned span = spec_.star_max - spec_.min + 1;
      if (step == 0) return error(step_pos, "step 0 is not allowed (use 1 or more)");
      if (step > span) {
        return error(step_pos, "step " + std::to_string(step) + " is larger than the field's " +
                                   std::to_string(span) + " values");
      }
      // "5/15" is "5-max/15"; "7/2" (day of week) is Sunday alone, as 7 is above the top of `*`.
      if (!ranged) hi = std::max(spec_.star_max, lo);
    }
    uint64_t bits = 0;
    for (unsigned v = lo; v <= hi; v += step) bits |= uint64_t{1} << v;
    return bits;
  }

  // A number or (where the field has them) a name. `range_end`: Sunday as the end of a range
  // that starts later in the week ("FRI-SUN") is 7.
  Result<unsigned> parse_value(bool range_end, unsigned range_start) {
    const size_t start = pos_;
    if (pos_ < field_.size() && is_alpha(field_[pos_])) {
      if (spec_.names == nullptr) {
        return error(start, std::string("names are not allowed in the ") + spec_.label + " field");
      }
      while (pos_ < field_.size() && is_alpha(field_[pos_])) ++pos_;
      std::string name(field_.substr(start, pos_ - start));
      for (char& c : name) c = upper(c);
      for (unsigned i = 0; i < spec_.name_count; ++i) {
        if (spec_.names[i] == name) {
          const unsigned v = spec_.first_name_value + i;
          return (range_end && index_ == kDayOfWeekField && v == 0 && range_start > 0) ? 7 : v;
        }
      }
      return error(start,
                   quoted(field_.substr(start, pos_ - start)) + " is not a " +
                       (index_ == kDayOfWeekField ? "day name (SUN-SAT)" : "month name (JAN-DEC)"));
    }
    CAIRN_ASSIGN_OR_RETURN(const unsigned v, parse_number("value"));
    if (v < spec_.min || v > spec_.max) {
      return error(start, std::to_string(v) + " is out of range " + std::to_string(spec_.min) +
                              "-" + std::to_string(spec_.max));
    }
    return v;
  }

  // Digits, saturating at a value no field accepts, so "99999999999" is "out of range".
  Result<unsigned> parse_number(const char* what) {
    const size_t start = pos_;
    unsigned v = 0;
    while (pos_ < field_.size() && is_digit(field_[pos_])) {
      v = v > 100000 ? v : v * 10 + static_cast<unsigned>(field_[pos_] - '0');
      ++pos_;
    }
    if (pos_ == start) {
      if (pos_ == field_.size()) return error(pos_, std::string("a ") + what + " is missing");
      return error(pos_, std::string("expected a ") + what + ", found " + char_name(field_[pos_]));
    }
    return v;
  }

  bool at(char c) const { return pos_ < field_.size() && field_[pos_] == c; }

  static std::string char_name(char c) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      return "byte 0x" + std::string(1, "0123456789abcdef"[(c >> 4) & 0xf]) +
             std::string(1, "0123456789abcdef"[c & 0xf]);
    }
    return std::string("'") + c + "'";
  }

  Status error(size_t pos_in_field, const std::string& reason) const {
    return Status(StatusCode::kInvalidArgument, "field " + std::to_string(index_ + 1) + " (" +
                                                    spec_.label + "): " + reason + " (column " +
                                                    std::to_string(offset_ + pos_in_field + 1) +
                                                    " of " + quoted(whole_) + ")");
  }

  std::string_view whole_;
  size_t index_;
  size_t offset_;
  std::string_view field_;
  const FieldSpec& spec_;
  size_t pos_ = 0;
};

Status invalid(std::string_view text, const std::string& reason) {
  return Status(StatusCode::kInvalidArgument, "cron expression " + quoted(text) + ": " + reason);
}

constexpr std::array<unsigned, 13> kDaysInMonthMax = {0,  31, 29, 31, 30, 31, 30,
                                                      31, 31, 30, 31, 30, 31};

// Whether some selected month has a selected day (February 29 counts: leap years come).
// Only needed when the day of week does not widen the choice (it is starred: the AND rule).
bool some_day_exists(const CronFields& f) {
  for (unsigned m = 1; m <= 12; ++m) {
    if ((f.months >> m & 1) == 0) continue;
    const uint32_t days_in_month =
        static_cast<uint32_t>((uint64_t{1} << (kDaysInMonthMax[m] + 1)) - 2);
    if ((f.days_of_month & days_in_month) != 0) return true;
  }
  return false;
}

Result<CronFields> parse_fields(std::string_view text, std::string_view fields_text, size_t base) {
  std::array<std::string_view, 5> fields{};
  std::array<size_t, 5> offsets{};
  size_t count = 0;
  size_t i = 0;
  while (i < fields_text.size()) {
    while (i < fields_text.size() && is_blank(fields_text[i])) ++i;
    if (i == fields_text.size()) break;
    const size_t start = i;
    while (i < fields_text.size() && !is_blank(fields_text[i])) ++i;
    if (count < fields.size()) {
      fields[count] = fields_text.substr(start, i - start);
      offsets[count] = base + start;
    }
    ++count;
  }
  if (count != 5) {
    return invalid(text, "expected 5 fields (minute hour day-of-month month day-of-week), found " +
                             std::to_string(count));
  }
  CronFields f;
  std::array<uint64_t, 5> bits{};
  std::array<bool, 5> starred{};
  for (size_t k = 0; k < 5; ++k) {
    FieldParser parser(text, k, offsets[k], fields[k]);
    CAIRN_ASSIGN_OR_RETURN(bits[k], parser.parse(&starred[k]));
    CAIRN_CHECK(bits[k] != 0);  // every item selects at least its start value
  }
  f.minutes = bits[0];
  f.hours = static_cast<uint32_t>(bits[1]);
  f.days_of_month = static_cast<uint32_t>(bits[2]);
  f.months = static_cast<uint16_t>(bits[3]);
  f.days_of_week = static_cast<uint8_t>((bits[4] | bits[4] >> 7) & 0x7f);  // 7 is Sunday (0)
  f.day_of_month_star = starred[2];
  f.day_of_week_star = starred[4];
  return f;
}

}  // namespace cron_parse

Result<CronExpression> CronExpression::parse(std::string_view text, const CronOptions& options) {
  using namespace cron_parse;
  if (text.size() > options.expression_bytes_max) {
    return Status(StatusCode::kInvalidArgument,
                  "cron expression is " + std::to_string(text.size()) + " bytes, more than " +
                      "expression_bytes_max (" + std::to_string(options.expression_bytes_max) +
                      ")");
  }
  size_t begin = 0;
  size_t end = text.size();
  while (begin < end && is_blank(text[begin])) ++begin;
  while (end > begin && is_blank(text[end - 1])) --end;
  const std::string_view body = text.substr(begin, end - begin);
  if (body.empty()) return invalid(text, "it is empty");
  Result<CronFields> fields = Status(StatusCode::kInternal, "unset");
  if (body[0] == '@') {
    std::string lower(body);
    for (char& c : lower) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    const Macro* found = nullptr;
    for (const Macro& m : kMacros) {
      if (m.name == lower) found = &m;
    }
    if (found == nullptr) {
      return invalid(text, "unknown macro " + quoted(body) +
                               " (known: @yearly @annually @monthly @weekly @daily @midnight "
                               "@hourly)");
    }
    fields = parse_fields(found->expansion, found->expansion, 0);
    CAIRN_CHECK(fields.ok());
  } else {
    fields = parse_fields(text, body, begin);
    if (!fields.ok()) return fields.status();
  }
  if (fields->day_of_week_star && !some_day_exists(*fields)) {
    return invalid(text, "it can never fire: no selected month has a selected day of the month");
  }
  return CronExpression(std::string(text), *fields);
}

namespace cron_search {

constexpr int64_t kMinutesPerDay = 1440;
// The last minute searched: 9999-12-31 23:59 UTC.
constexpr int64_t kLastDay =
    std::chrono::sys_days{std::chrono::year{9999} / 12 / 31}.time_since_epoch().count();

int64_t floor_div(int64_t a, int64_t b) {
  const int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

// The smallest set bit >= from, or -1.
int next_bit(uint64_t mask, unsigned from) {
  if (from >= 64) return -1;
  const uint64_t rest = mask >> from;
  return rest == 0 ? -1 : static_cast<int>(from) + std::countr_zero(rest);
}

int64_t day_number(std::chrono::year_month_day ymd) {
  return std::chrono::sys_days{ymd}.time_since_epoch().count();
}

}  // namespace cron_search

bool CronExpression::day_matches(unsigned day_of_month, unsigned weekday) const {
  const bool dom = (fields_.days_of_month >> day_of_month & 1) != 0;
  const bool dow = (fields_.days_of_week >> weekday & 1) != 0;
  if (fields_.day_of_month_star || fields_.day_of_week_star) return dom && dow;
  return dom || dow;
}

bool CronExpression::matches(CronTime t) const {
  using namespace std::chrono;
  const int64_t minute = cron_search::floor_div(t.time_since_epoch().count(), 60);
  const int64_t day = cron_search::floor_div(minute, cron_search::kMinutesPerDay);
  const int64_t minute_of_day = minute - day * cron_search::kMinutesPerDay;
  const sys_days d{days{day}};
  const year_month_day ymd{d};
  return (fields_.months >> unsigned{ymd.month()} & 1) != 0 &&
         day_matches(unsigned{ymd.day()}, weekday{d}.c_encoding()) &&
         (fields_.hours >> (minute_of_day / 60) & 1) != 0 &&
         (fields_.minutes >> (minute_of_day % 60) & 1) != 0;
}

std::optional<CronTime> CronExpression::next_after(CronTime t) const {
  using namespace std::chrono;
  using namespace cron_search;
  int64_t m = floor_div(t.time_since_epoch().count(), 60) + 1;  // the first candidate minute
  // Each pass moves to the next month, day, hour or minute that can match; parse() refused
  // expressions that never fire, so a tick comes within 28 years of passes (a weekday-bound
  // February 29 across a non-leap 2100 is the worst case, under 2,000 passes).
  for (int pass = 0; pass < 1'000'000; ++pass) {
    const int64_t day = floor_div(m, kMinutesPerDay);
    if (day > kLastDay) return std::nullopt;
    const sys_days d{days{day}};
    const year_month_day ymd{d};
    const unsigned month = unsigned{ymd.month()};
    if ((fields_.months >> month & 1) == 0) {
      const int next = next_bit(fields_.months, month + 1);
      const year_month_day first =
          next > 0 ? ymd.year() / std::chrono::month{static_cast<unsigned>(next)} / 1
                   : (ymd.year() + years{1}) /
                         std::chrono::month{static_cast<unsigned>(next_bit(fields_.months, 1))} / 1;
      m = day_number(first) * kMinutesPerDay;
      continue;
    }
    if (!day_matches(unsigned{ymd.day()}, weekday{d}.c_encoding())) {
      m = (day + 1) * kMinutesPerDay;
      continue;
    }
    const int64_t minute_of_day = m - day * kMinutesPerDay;
    const unsigned hour = static_cast<unsigned>(minute_of_day / 60);
    const int next_hour = next_bit(fields_.hours, hour);
    if (next_hour < 0) {
      m = (day + 1) * kMinutesPerDay;
      continue;
    }
    const unsigned first_minute =
        static_cast<unsigned>(next_hour) == hour ? static_cast<unsigned>(minute_of_day % 60) : 0;
    const int next_minute = next_bit(fields_.minutes, first_minute);
    if (next_minute < 0) {  // none left in this hour: the next hour
      m = day * kMinutesPerDay + (hour + 1) * 60;
      continue;
    }
    const int64_t tick = day * kMinutesPerDay + next_hour * 60 + next_minute;
    CAIRN_DCHECK(tick >= m);
    return CronTime{seconds{tick * 60}};
  }
  CAIRN_CHECK_MSG(false,
                  "cron search did not end: parse() let through an expression that never fires");
  return std::nullopt;
}

std::optional<int64_t> CronExpression::next_after_ms(int64_t unix_ms) const {
  // The second holding unix_ms: a tick after it is after unix_ms too (ticks are whole minutes).
  const CronTime t{std::chrono::seconds{cron_search::floor_div(unix_ms, 1000)}};
  const std::optional<CronTime> next = next_after(t);
  if (!next) return std::nullopt;
  return next->time_since_epoch().count() * 1000;
}

CronTicks CronExpression::ticks_between(CronTime after, CronTime until, size_t max) const {
  CronTicks out;
  CronTime cursor = after;
  while (cursor < until) {
    const std::optional<CronTime> next = next_after(cursor);
    if (!next || *next > until) break;
    if (out.ticks.size() == max) {
      out.truncated = true;
      break;
    }
    out.ticks.push_back(*next);
    cursor = *next;
  }
  return out;
}

}  // namespace cairn::flow
