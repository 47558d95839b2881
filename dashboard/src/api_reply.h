// How the API answers: JSON bodies, and errors as {"error": "..."} with the HTTP status that
// fits a cairn::Status (400 bad input, 404 unknown, 409 not in a state that allows it, 413 too
// large, 503 the engine is full for now, 500 anything else).
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "cairn/log/status.h"

namespace httplib {
struct Response;
}

namespace cairn::web {

void reply_json(httplib::Response& res, const nlohmann::json& body, int http_status = 200);
void reply_error(httplib::Response& res, int http_status, std::string_view message);
// The engine's error for a request whose input was valid: kNotFound 404; kInvalidArgument
// `invalid_status` (409 for an action the run's state refuses, 400 for bad input);
// kLimitExceeded 413 (the request is too large: asking again will not help); kUnavailable 503
// with Retry-After (the engine is at an admission limit such as runs_active_max: it may take the
// same request once runs finish); anything else (the log failed, the engine stopped) 500.
void reply_engine_error(httplib::Response& res, const Status& status, int invalid_status);

}  // namespace cairn::web
