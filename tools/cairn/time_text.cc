// Time formatting and parsing for the run commands (see time_text.h).
#include "time_text.h"

#include <charconv>
#include <chrono>
#include <cstdio>
#include <optional>

namespace cairn::tools {
namespace {

// Reads exactly `digits` decimal digits at text[*pos], advancing *pos.
std::optional<int> read_digits(std::string_view text, size_t* pos, size_t digits) {
  if (*pos + digits > text.size()) return std::nullopt;
  int value = 0;
  for (size_t i = 0; i < digits; ++i) {
    const char c = text[*pos + i];
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  *pos += digits;
  return value;
}

bool take(std::string_view text, size_t* pos, char c) {
  if (*pos < text.size() && text[*pos] == c) {
    ++*pos;
    return true;
  }
  return false;
}

Status bad_time(std::string_view text, std::string_view why) {
  return Status(StatusCode::kInvalidArgument,
                "cannot read the time '" + std::string(text) + "': " + std::string(why) +
                    " (use an RFC 3339 time such as 2026-11-28T09:14:03Z, a date such as "
                    "2026-11-28, or an age such as 90s, 15m, 2h or 7d)");
}

// "15m" and friends: microseconds before now.
std::optional<Result<int64_t>> parse_age(std::string_view text, int64_t now_us) {
  if (text.size() < 2) return std::nullopt;
  const char unit = text.back();
  int64_t unit_us = 0;
  switch (unit) {
    case 's':
      unit_us = 1'000'000;
      break;
    case 'm':
      unit_us = 60'000'000;
      break;
    case 'h':
      unit_us = 3'600'000'000;
      break;
    case 'd':
      unit_us = 86'400'000'000;
      break;
    default:
      return std::nullopt;
  }
  const std::string_view digits = text.substr(0, text.size() - 1);
  uint64_t n = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  // Ages beyond the epoch (or overflowing) mean "everything".
  if (n > static_cast<uint64_t>(now_us / unit_us)) return Result<int64_t>(int64_t{0});
  return Result<int64_t>(now_us - static_cast<int64_t>(n) * unit_us);
}

}  // namespace

std::string utc_time(int64_t us) {
  if (us == 0) return "-";
  using namespace std::chrono;
  const sys_time<microseconds> t{microseconds(us)};
  const sys_days day = floor<days>(t);
  const year_month_day ymd(day);
  const hh_mm_ss<microseconds> tod(t - day);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02lld.%03lldZ",
                static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()), static_cast<int>(tod.hours().count()),
                static_cast<int>(tod.minutes().count()),
                static_cast<long long>(tod.seconds().count()),
                static_cast<long long>(tod.subseconds().count() / 1000));
  return buf;
}

std::string duration_text(int64_t us) {
  char buf[48];
  const char* sign = us < 0 ? "-" : "";
  const uint64_t a = us < 0 ? static_cast<uint64_t>(-(us + 1)) + 1 : static_cast<uint64_t>(us);
  if (a < 1000) {
    std::snprintf(buf, sizeof buf, "%s%llu µs", sign, static_cast<unsigned long long>(a));
  } else if (a < 1'000'000) {
    std::snprintf(buf, sizeof buf, "%s%.1f ms", sign, static_cast<double>(a) / 1e3);
  } else if (a < 60'000'000) {
    std::snprintf(buf, sizeof buf, "%s%.2f s", sign, static_cast<double>(a) / 1e6);
  } else {
    const unsigned long long s = a / 1'000'000;
    if (s < 3600) {
      std::snprintf(buf, sizeof buf, "%s%llum%02llus", sign, s / 60, s % 60);
    } else if (s < 86400) {
      std::snprintf(buf, sizeof buf, "%s%lluh%02llum", sign, s / 3600, (s % 3600) / 60);
    } else {
      std::snprintf(buf, sizeof buf, "%s%llud%02lluh", sign, s / 86400, (s % 86400) / 3600);
    }
  }
  return buf;
}

Result<int64_t> parse_time(std::string_view text, int64_t now_us) {
  if (text.empty()) return bad_time(text, "it is empty");
  if (auto age = parse_age(text, now_us)) return *age;
  using namespace std::chrono;
  size_t pos = 0;
  const auto y = read_digits(text, &pos, 4);
  std::optional<int> mo, d;
  if (y && take(text, &pos, '-')) mo = read_digits(text, &pos, 2);
  if (mo && take(text, &pos, '-')) d = read_digits(text, &pos, 2);
  if (!d) return bad_time(text, "it is neither a date nor an age");
  const year_month_day ymd{year(*y), month(static_cast<unsigned>(*mo)),
                           day(static_cast<unsigned>(*d))};
  if (!ymd.ok()) return bad_time(text, "no such date");
  int64_t us = duration_cast<microseconds>(sys_days(ymd).time_since_epoch()).count();
  if (pos == text.size()) return us;
  if (!take(text, &pos, 'T') && !take(text, &pos, 't') && !take(text, &pos, ' ')) {
    return bad_time(text, "expected 'T' after the date");
  }
  const auto h = read_digits(text, &pos, 2);
  std::optional<int> mi;
  if (h && take(text, &pos, ':')) mi = read_digits(text, &pos, 2);
  if (!mi) return bad_time(text, "expected HH:MM after the date");
  int s = 0;
  int64_t frac_us = 0;
  if (take(text, &pos, ':')) {
    const auto sec = read_digits(text, &pos, 2);
    if (!sec) return bad_time(text, "expected two digits of seconds");
    s = *sec;
    if (take(text, &pos, '.')) {
      int64_t scale = 100'000;
      size_t n = 0;
      while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
        frac_us += (text[pos] - '0') * scale;
        scale /= 10;
        ++pos;
        ++n;
      }
      if (n == 0) return bad_time(text, "expected digits after '.'");
    }
  }
  if (*h > 23 || *mi > 59 || s > 60) return bad_time(text, "no such time of day");
  us += ((int64_t{*h} * 60 + *mi) * 60 + s) * 1'000'000 + frac_us;
  if (pos == text.size() || take(text, &pos, 'Z') || take(text, &pos, 'z')) {
    if (pos == text.size()) return us;
    return bad_time(text, "unexpected text after the time");
  }
  const char sign = text[pos];
  if (sign != '+' && sign != '-') return bad_time(text, "unexpected text after the time");
  ++pos;
  const auto oh = read_digits(text, &pos, 2);
  std::optional<int> om;
  if (oh && take(text, &pos, ':')) om = read_digits(text, &pos, 2);
  if (!om || pos != text.size() || *oh > 23 || *om > 59) {
    return bad_time(text, "expected a zone offset such as +02:00");
  }
  const int64_t offset_us = (int64_t{*oh} * 60 + *om) * 60'000'000;
  return sign == '+' ? us - offset_us : us + offset_us;
}

int64_t system_now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

CLI::Validator since_validator() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        Result<int64_t> t = parse_time(value, system_now_us());
        return t.ok() ? "" : t.status().message();
      },
      "TIME", "time");
}

}  // namespace cairn::tools
