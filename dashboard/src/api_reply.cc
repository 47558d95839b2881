// API replies (see api_reply.h).
#include "api_reply.h"

#include <httplib.h>

namespace cairn::web {
namespace {

// Retry-After of a 503: the engine cannot say when runs will finish or space return; a few seconds
// keeps clients that retry from adding load to an engine at its limit.
constexpr int kRetryAfterSeconds = 5;

}  // namespace

void reply_json(httplib::Response& res, const nlohmann::json& body, int http_status) {
  res.status = http_status;
  // Invalid UTF-8 in a value (a step's bytes, a broken event) becomes U+FFFD, never an exception.
  res.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                  "application/json");
  res.set_header("Cache-Control", "no-store");
}

void reply_error(httplib::Response& res, int http_status, std::string_view message) {
  reply_json(res, nlohmann::json{{"error", message}}, http_status);
}

void reply_engine_error(httplib::Response& res, const Status& status, int invalid_status) {
  int http_status = 500;
  switch (status.code()) {
    case StatusCode::kNotFound:
      http_status = 404;
      break;
    case StatusCode::kInvalidArgument:
      http_status = invalid_status;
      break;
    case StatusCode::kLimitExceeded:
      http_status = 413;
      break;
    case StatusCode::kUnavailable:  // runs_active_max, dedup_ids_max: finishing, expiring make room
    case StatusCode::kNoSpace:      // a full disk: the engine goes on when space returns
      http_status = 503;
      res.set_header("Retry-After", std::to_string(kRetryAfterSeconds));
      break;
    default:
      break;
  }
  reply_error(res, http_status, status.message());
}

}  // namespace cairn::web
