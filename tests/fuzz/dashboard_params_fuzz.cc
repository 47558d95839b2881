// Fuzz target for what the dashboard reads from a request (dashboard/src/api_params.h): the
// input's first byte picks the parser (run id, page limit, status, time, JSON body), the rest is
// the text. Whatever a parser accepts must keep its promise: an id of digits only and above 0, a
// limit within 1..limit_max, a known status name, a body that is a JSON object.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "api_params.h"

namespace {

void require(bool promise) {
  if (!promise) __builtin_trap();
}

constexpr size_t kLimitMax = 500;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 5) {
    case 0:
      if (auto id = cairn::web::parse_run_id(text); id.ok()) {
        require(*id > 0 && !text.empty());
        for (char c : text) require(c >= '0' && c <= '9');
      }
      break;
    case 1:
      if (auto n = cairn::web::parse_page_limit(text, kLimitMax); n.ok()) {
        require(*n >= 1 && *n <= kLimitMax);
      }
      break;
    case 2:
      if (auto s = cairn::web::parse_run_status(text); s.ok()) {
        require(cairn::run_status_name(*s) == text);
      }
      break;
    case 3:
      (void)cairn::web::parse_time(text);  // any answer, as long as it answers
      break;
    default:
      if (auto body = cairn::web::parse_json_object_body(text); body.ok()) {
        require(body->is_object());
        if (body->contains("run")) (void)cairn::web::run_id_from_json((*body)["run"]);
      }
      break;
  }
  return 0;
}
