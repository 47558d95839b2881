// Request parameters (see api_params.h).
#include "api_params.h"

#include <charconv>
#include <chrono>
#include <ctime>
#include <string>

#include "cairn/schema/record_schema.h"

namespace cairn::web {
namespace {

Status bad(std::string message) {
  return Status(StatusCode::kInvalidArgument, std::move(message));
}

// Parses exactly `n` decimal digits at text[at...], or returns -1.
int digits_at(std::string_view text, size_t at, size_t n) {
  if (at + n > text.size()) return -1;
  int v = 0;
  for (size_t i = at; i < at + n; ++i) {
    if (text[i] < '0' || text[i] > '9') return -1;
    v = v * 10 + (text[i] - '0');
  }
  return v;
}

// 28 to 31. A day past it is refused: timegm would roll it into the next month (02-30: 03-02).
int days_in_month(int year, int month) {
  constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

// RFC 3339: YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM); 't', ' ' and 'z' accepted too.
// The latest time a TimePoint holds (system_clock counts nanoseconds: about 2262-04-11), in ms.
constexpr int64_t kLatestMs =
    std::chrono::duration_cast<std::chrono::milliseconds>(TimePoint::duration::max()).count() - 1;

Status out_of_range(std::string_view t) {
  return Status(StatusCode::kInvalidArgument,
                "'" + std::string(t.substr(0, 40)) + "' is out of range (the clock ends in 2262)");
}

Result<TimePoint> parse_rfc3339(std::string_view t) {
  const Status wrong = bad(std::string("since: '").append(t.substr(0, 64)) +
                           "' is neither milliseconds since the epoch nor an RFC 3339 time "
                           "(2026-01-31T12:00:00Z)");
  const int year = digits_at(t, 0, 4), month = digits_at(t, 5, 2), day = digits_at(t, 8, 2);
  const int hour = digits_at(t, 11, 2), minute = digits_at(t, 14, 2), second = digits_at(t, 17, 2);
  if (year < 0 || month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) ||
      hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 60 ||
      t[4] != '-' || t[7] != '-' || (t[10] != 'T' && t[10] != 't' && t[10] != ' ') ||
      t[13] != ':' || t[16] != ':') {
    return wrong;
  }
  size_t at = 19;
  int64_t micros = 0;
  if (at < t.size() && t[at] == '.') {
    if (digits_at(t, at + 1, 1) < 0) return wrong;  // RFC 3339: a fraction has a digit at least
    int64_t scale = 100'000;
    for (++at; at < t.size() && t[at] >= '0' && t[at] <= '9'; ++at) {
      micros += (t[at] - '0') * scale;
      scale /= 10;
    }
  }
  int offset_minutes = 0;
  if (at < t.size() && (t[at] == 'Z' || t[at] == 'z')) {
    ++at;
  } else if (at < t.size() && (t[at] == '+' || t[at] == '-')) {
    const int oh = digits_at(t, at + 1, 2), om = digits_at(t, at + 4, 2);
    if (oh < 0 || oh > 23 || om < 0 || om > 59 || at + 3 >= t.size() || t[at + 3] != ':') {
      return wrong;
    }
    offset_minutes = (t[at] == '-' ? -1 : 1) * (oh * 60 + om);
    at += 6;
  } else {
    return wrong;
  }
  if (at != t.size()) return wrong;
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  const int64_t seconds = static_cast<int64_t>(timegm(&tm)) - offset_minutes * 60;
  if (seconds >= kLatestMs / 1000 || seconds <= -kLatestMs / 1000) return out_of_range(t);
  return TimePoint(std::chrono::seconds(seconds) + std::chrono::microseconds(micros));
}

}  // namespace

Result<RunId> parse_run_id(std::string_view text) {
  RunId id = 0;
  const bool digits_only =
      !text.empty() && text.size() <= 20 && text.find_first_not_of("0123456789") == text.npos;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (!digits_only || ec != std::errc() || end != text.data() + text.size() || id == 0) {
    return bad(std::string("'").append(text.substr(0, 40)) +
               "' is not a run id (a decimal number from 1 to 18446744073709551615)");
  }
  return id;
}

Result<RunId> run_id_from_json(const nlohmann::json& value) {
  if (value.is_number_unsigned() && value.get<uint64_t>() != 0) return value.get<uint64_t>();
  if (value.is_string()) return parse_run_id(value.get<std::string>());
  return bad("a run id must be a positive integer or a string of digits");
}

Result<size_t> parse_page_limit(std::string_view text, size_t limit_max) {
  size_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || n == 0 ||
      n > limit_max) {
    return bad("limit must be a number from 1 to " + std::to_string(limit_max) + ", not '" +
               std::string(text.substr(0, 40)) + "'");
  }
  return n;
}

Result<RunStatus> parse_run_status(std::string_view text) {
  for (RunStatus s :
       {RunStatus::kQueued, RunStatus::kRunning, RunStatus::kSleeping, RunStatus::kWaiting,
        RunStatus::kCompleted, RunStatus::kFailed, RunStatus::kCancelled, RunStatus::kSkipped}) {
    if (run_status_name(s) == text) return s;
  }
  return bad(
      "status must be one of queued, running, sleeping, waiting, completed, failed, "
      "cancelled, skipped; not '" +
      std::string(text.substr(0, 40)) + "'");
}

Result<TimePoint> parse_time(std::string_view text) {
  if (!text.empty() && text.size() <= 19 && text.find_first_not_of("0123456789") == text.npos) {
    int64_t ms = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), ms);
    if (ec == std::errc() && end == text.data() + text.size()) {
      if (ms > kLatestMs) return out_of_range(text);
      return TimePoint(std::chrono::milliseconds(ms));
    }
  }
  return parse_rfc3339(text);
}

Result<nlohmann::json> parse_json_object_body(std::string_view body) {
  if (body.find_first_not_of(" \t\r\n") == body.npos) return nlohmann::json::object();
  // Parsing is iterative, but dumping a value (an event's data) recurses once per level: a body
  // of a few hundred KB nested 100,000 deep overflowed the handler's stack and killed the process.
  // One level for the body itself, so an event's data nests as deep as the engine accepts.
  constexpr size_t kBodyDepthMax = schema::kJsonDepthMax + 1;
  if (schema::json_nests_deeper_than(body, kBodyDepthMax)) {
    return bad("the request body nests arrays and objects deeper than " +
               std::to_string(kBodyDepthMax) + " levels");
  }
  nlohmann::json doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return bad("the request body is not valid JSON");
  if (!doc.is_object()) return bad("the request body must be a JSON object");
  return doc;
}

}  // namespace cairn::web
