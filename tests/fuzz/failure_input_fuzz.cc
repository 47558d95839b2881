// Fuzz target for an on_failure run's input (engine/src/failure_input.h), built from bytes a user
// gave: a step's error text and an event's name, data and id. The input is split at its first
// three 0x1F bytes into error, name, data and id. Whatever they hold, the result must be JSON
// that parses, within the bound the snapshot limits count on, and the same when built again.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "failure_input.h"

namespace {

void require(bool promise) {
  if (!promise) __builtin_trap();
}

std::string_view next_part(std::string_view& rest) {
  const size_t at = rest.find('\x1f');
  const std::string_view part = rest.substr(0, at);
  rest = at == std::string_view::npos ? std::string_view() : rest.substr(at + 1);
  return part;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  const std::string_view error = next_part(rest);
  cairn::Event event;
  event.name = std::string(next_part(rest));
  event.data = std::string(next_part(rest));
  event.id = std::string(rest);
  const std::string function_id = "fuzz/function";
  const std::string input = cairn::detail::failure_event_data(function_id, 42, event, error);
  require(input.size() <= function_id.size() + error.size() + event.name.size() +
                              event.data.size() + event.id.size() +
                              cairn::detail::kFailureInputOverheadBytes);
  const nlohmann::json parsed = nlohmann::json::parse(input, nullptr, false);
  require(parsed.is_object());
  require(parsed["run_id"] == 42);
  require(parsed["event"].is_object());
  require(input == cairn::detail::failure_event_data(function_id, 42, event, error));
  return 0;
}
