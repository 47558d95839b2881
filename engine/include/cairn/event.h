// Event: what triggers functions and what wait_for_event receives.
#pragma once

#include <cstdint>
#include <string>

namespace cairn {

struct Event {
  std::string name{};       // "order/created"
  std::string data = "{}";  // a JSON object, as text
  // Optional. An id already seen within EngineOptions::dedup_window is accepted once; later sends
  // with it are reported as duplicates and start nothing. Empty: the engine names the event.
  std::string id{};
  int64_t ts_ms = 0;  // milliseconds since the Unix epoch; 0: the engine's clock at send time
};

}  // namespace cairn
