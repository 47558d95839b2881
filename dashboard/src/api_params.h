// Reading what a request asks for: run ids, page limits, statuses, times and JSON bodies, each
// validated. A bad value is kInvalidArgument with a message the API returns as its 400 error.
#pragma once

#include <cstddef>
#include <string_view>

#include <nlohmann/json.hpp>

#include "cairn/engine.h"
#include "cairn/log/status.h"

namespace cairn::web {

// A run id: decimal digits only, 1 to 2^64 - 1 (no sign, no spaces, no leading "0x").
Result<RunId> parse_run_id(std::string_view text);
// A JSON body's id: a number or a string of decimal digits, as parse_run_id.
Result<RunId> run_id_from_json(const nlohmann::json& value);

// A page size: 1..limit_max (more is refused, never silently cut).
Result<size_t> parse_page_limit(std::string_view text, size_t limit_max);

// One of the engine's status names (run_status_name): queued, running, ... cancelled.
Result<RunStatus> parse_run_status(std::string_view text);

// A time: milliseconds since the Unix epoch ("1767225600000"), or RFC 3339
// ("2026-01-01T00:00:00Z", "2026-01-01T01:00:00.250+01:00").
Result<TimePoint> parse_time(std::string_view text);

// A request body that must be a JSON object; an empty body is the empty object.
Result<nlohmann::json> parse_json_object_body(std::string_view body);

}  // namespace cairn::web
