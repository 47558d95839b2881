// failure_event_data (see failure_input.h): the on_failure run's input and its bound.
#include "failure_input.h"

#include <nlohmann/json.hpp>

#include "cairn/schema/record_schema.h"
#include "engine_limits.h"

namespace cairn::detail {
namespace {

using nlohmann::json;

std::string dump(const json& j) {
  // The error is what the code threw and the id what the sender gave: any bytes. A strict dump
  // threw on one that is not UTF-8, inside the projection, and ended the process, at every
  // restart again (the record is durable).
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

// Bytes a dumped JSON string may spend on `c`, at most: an escaped control byte is six (\u0001),
// a quote or backslash two, and a byte of a multi-byte sequence three (U+FFFD if not UTF-8).
size_t escaped_bytes_max(unsigned char c) {
  if (c < 0x20) return 6;
  if (c == '"' || c == '\\') return 2;
  return c < 0x80 ? 1 : 3;
}

// The longest prefix of `text` whose dumped string (without its quotes) takes at most `budget`
// bytes, never ending inside a UTF-8 sequence.
std::string_view prefix_within(std::string_view text, size_t budget) {
  size_t keep = 0;
  for (size_t used = 0; keep < text.size(); ++keep) {
    used += escaped_bytes_max(static_cast<unsigned char>(text[keep]));
    if (used > budget) break;
  }
  return text.substr(0, keep < text.size() ? utf8_prefix_end(text, keep) : keep);
}

json text_within_own_size(std::string_view text) {
  return std::string(prefix_within(text, text.size()));
}

}  // namespace

std::string failure_event_data(std::string_view function_id, RunId run_id, const Event& event,
                               std::string_view error) {
  // Deeper data is text: dumping it again would recurse once per level (send() refuses such
  // data, but a log from before that check may hold it, and this runs at every replay).
  json original = schema::json_nests_deeper_than(event.data, schema::kJsonDepthMax)
                      ? json(json::value_t::discarded)
                      : json::parse(event.data, nullptr, false);
  const bool data_is_json = !original.is_discarded();
  if (!data_is_json) original = event.data;
  std::string whole =
      dump(json{{"function_id", std::string(function_id)},
                {"run_id", run_id},
                {"error", std::string(error)},
                {"event", {{"name", event.name}, {"data", original}, {"id", event.id}}}});
  const size_t bound = function_id.size() + error.size() + event.name.size() + event.data.size() +
                       event.id.size() + kFailureInputOverheadBytes;
  if (whole.size() <= bound) return whole;
  // Escaping grew it (control bytes, or numbers JSON spells longer, 1E15 as
  // 1000000000000000.0): each text keeps what fits its own size, and the whole sizes are noted.
  // JSON data that is no longer than its text stays JSON, whole.
  json data = data_is_json && dump(original).size() <= event.data.size()
                  ? std::move(original)
                  : text_within_own_size(event.data);
  return dump(json{{"function_id", text_within_own_size(function_id)},
                   {"run_id", run_id},
                   {"error", text_within_own_size(error)},
                   {"error_bytes", error.size()},
                   {"event",
                    {{"name", text_within_own_size(event.name)},
                     {"data", std::move(data)},
                     {"data_bytes", event.data.size()},
                     {"id", text_within_own_size(event.id)}}},
                   {"cut", true}});
}

}  // namespace cairn::detail
