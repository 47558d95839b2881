// The timed functions' specification (see timed_workload.h).
#include "engine_crash/timed_workload.h"

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "engine_crash/workload.h"

namespace cairn::engine_crash {
namespace {

// The numbers of "<prefix><a>-<b>-..." (`count` of them); nullopt for any other id.
std::optional<std::vector<uint64_t>> numbers_of_id(std::string_view id, std::string_view prefix,
                                                   size_t count) {
  if (!id.starts_with(prefix)) return std::nullopt;
  const std::string rest(id.substr(prefix.size()));
  std::vector<uint64_t> out;
  const char* p = rest.c_str();
  for (size_t i = 0; i < count; ++i) {
    char* end = nullptr;
    const uint64_t v = std::strtoull(p, &end, 10);
    if (end == p || *end != (i + 1 == count ? '\0' : '-')) return std::nullopt;
    out.push_back(v);
    p = end + 1;
  }
  return out;
}

}  // namespace

int64_t next_tick_after(int64_t ms) {
  const int64_t floor_ticks = ms / kTickMs - (ms % kTickMs < 0 ? 1 : 0);
  return (floor_ticks + 1) * kTickMs;
}

uint64_t tick_value(int64_t tick_ms) {
  return mix(static_cast<uint64_t>(tick_ms), 0x71c);
}
nlohmann::json tick_output(int64_t tick_ms) {
  return nlohmann::json{{"tick_ms", tick_ms}, {"v", tick_value(tick_ms)}};
}

uint64_t late_runs(uint64_t target_runs) {
  return std::max<uint64_t>(1, target_runs / kJobsPerLate);
}
int64_t late_sleep_ms(uint64_t n) {
  return n % 2 == 0 ? 3 * kLateFinishMs : kLateFinishMs / 8;
}
std::string late_event_id(uint64_t n) {
  return "late-" + std::to_string(n);
}
std::optional<uint64_t> parse_late_event_id(std::string_view id) {
  const auto n = numbers_of_id(id, "late-", 1);
  if (!n) return std::nullopt;
  return n->front();
}
uint64_t late_value(uint64_t n, uint32_t step) {
  return mix(mix(n, 0x1a7e), step);
}
nlohmann::json late_output(uint64_t n) {
  return nlohmann::json{{"n", n}, {"v", late_value(n, 2)}};
}

uint64_t queued_bursts(uint64_t target_runs) {
  return std::max<uint64_t>(1, target_runs / kJobsPerQueuedBurst);
}
std::string queued_event_id(uint64_t g, uint32_t j) {
  return "queued-" + std::to_string(g) + "-" + std::to_string(j);
}
std::optional<std::pair<uint64_t, uint32_t>> parse_queued_event_id(std::string_view id) {
  const auto n = numbers_of_id(id, "queued-", 2);
  if (!n || (*n)[1] > UINT32_MAX) return std::nullopt;
  return std::pair{(*n)[0], static_cast<uint32_t>((*n)[1])};
}
uint64_t queued_value(uint64_t g, uint32_t j) {
  return mix(mix(g, 0x9e), j);
}
nlohmann::json queued_output(uint64_t g, uint32_t j) {
  return nlohmann::json{{"g", g}, {"j", j}, {"v", queued_value(g, j)}};
}

}  // namespace cairn::engine_crash
