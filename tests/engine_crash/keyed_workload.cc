// The keyed waiting functions' specification (see keyed_workload.h).
#include "engine_crash/keyed_workload.h"

#include <algorithm>
#include <cstdlib>

#include "engine_crash/workload.h"

namespace cairn::engine_crash {

uint64_t keyed_bursts(uint64_t target_runs) {
  return std::max<uint64_t>(1, target_runs / kJobsPerKeyedBurst);
}

KeyedBurst keyed_burst(uint64_t seed, KeyedKind kind, uint64_t g) {
  const bool debounce = kind == KeyedKind::kDebounce;
  const uint64_t h = mix(mix(seed, debounce ? 0xdeb0 : 0xba7c), g);
  KeyedBurst b;
  b.kind = kind;
  b.g = g;
  b.key = static_cast<uint32_t>(mix(h, 1) % (debounce ? kDebounceKeys : kBatchKeys));
  b.size = 1 + static_cast<uint32_t>(mix(h, 2) % (debounce ? kDebounceBurstMax : kBatchBurstMax));
  return b;
}

std::vector<KeyedBurst> keyed_bursts_of(uint64_t seed, KeyedKind kind, uint64_t target_runs) {
  std::vector<KeyedBurst> out;
  for (uint64_t g = 1; g <= keyed_bursts(target_runs); ++g)
    out.push_back(keyed_burst(seed, kind, g));
  return out;
}

std::string_view keyed_event_name(KeyedKind kind) {
  return kind == KeyedKind::kDebounce ? kDebounceEvent : kBatchEvent;
}
std::string_view keyed_function(KeyedKind kind) {
  return kind == KeyedKind::kDebounce ? kDebouncedFunction : kBatchedFunction;
}

std::string keyed_event_id(KeyedKind kind, uint64_t g, uint32_t j) {
  return std::string(keyed_event_name(kind)) + "-" + std::to_string(g) + "-" + std::to_string(j);
}

std::optional<KeyedEventRef> parse_keyed_event_id(std::string_view id) {
  for (KeyedKind kind : {KeyedKind::kDebounce, KeyedKind::kBatch}) {
    const std::string prefix = std::string(keyed_event_name(kind)) + "-";
    if (!id.starts_with(prefix)) continue;
    const std::string rest(id.substr(prefix.size()));
    char* end = nullptr;
    const uint64_t g = std::strtoull(rest.c_str(), &end, 10);
    if (end == rest.c_str() || *end != '-') return std::nullopt;
    const char* jp = end + 1;
    const uint64_t j = std::strtoull(jp, &end, 10);
    if (end == jp || *end != '\0' || j > UINT32_MAX) return std::nullopt;
    return KeyedEventRef{kind, g, static_cast<uint32_t>(j)};
  }
  return std::nullopt;
}

std::string keyed_key_text(KeyedKind kind, uint32_t key) {
  return (kind == KeyedKind::kDebounce ? "d" : "b") + std::to_string(key);
}

nlohmann::json keyed_event_data(const KeyedBurst& burst, uint32_t j) {
  return nlohmann::json{{"g", burst.g}, {"j", j}, {"key", keyed_key_text(burst.kind, burst.key)}};
}

uint64_t debounce_value(uint64_t g, uint32_t j) {
  return mix(mix(g, 0xdeb), j);
}
nlohmann::json debounce_output(uint64_t g, uint32_t j) {
  return nlohmann::json{{"g", g}, {"j", j}, {"v", debounce_value(g, j)}};
}

uint64_t batch_value(const nlohmann::json& events) {
  uint64_t v = 0xba7c;
  for (const nlohmann::json& e : events) {
    v = mix(mix(v, e.value("g", uint64_t{0})), e.value("j", uint64_t{0}));
  }
  return v;
}
nlohmann::json batch_output(const nlohmann::json& events) {
  return nlohmann::json{{"count", events.size()}, {"v", batch_value(events)}};
}

}  // namespace cairn::engine_crash
