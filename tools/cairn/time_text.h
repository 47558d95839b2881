// Times and durations as the run commands print and read them: UTC in RFC 3339 with milliseconds
// ("2026-11-28T09:14:03.250Z"), which sorts as text and parses everywhere.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

#include "cairn/log/status.h"

namespace cairn::tools {

// Microseconds since the Unix epoch as "2026-11-28T09:14:03.250Z"; "-" for 0 (no time).
std::string utc_time(int64_t us);

// "850 µs", "12.4 ms", "3.20 s", "4m05s", "2h03m", "3d04h".
std::string duration_text(int64_t us);

// A point in time for --since, in microseconds since the Unix epoch: an RFC 3339 time
// ("2026-11-28T09:14:03Z", fraction and a "+02:00" offset allowed; without a zone it is UTC), a
// date ("2026-11-28", midnight UTC), or an age before `now_us` ("90s", "15m", "2h", "7d").
Result<int64_t> parse_time(std::string_view text, int64_t now_us);

// The system clock now, microseconds since the Unix epoch (what a --since age counts back from).
int64_t system_now_us();

// The CLI11 check of a --since value: it parses (parse_time), else the message says why.
CLI::Validator since_validator();

}  // namespace cairn::tools
