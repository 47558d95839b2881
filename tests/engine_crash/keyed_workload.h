// The crash test's keyed waiting functions as a specification: "debounced" (a debounce on
// data.key) and "batched" (batching on data.key), the bursts of events the driver sends them, and
// the values their steps produce. A burst is one send() of `size` events of one key; bursts go
// out as the jobs do, so consecutive bursts of a key come sometimes within a debounce period or
// batch timeout of each other and sometimes further apart. Durations are in milliseconds of the
// child's engine clock (timed_workload.h: kClockSpeed times real time).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine_crash/timed_workload.h"

namespace cairn::engine_crash {

enum class KeyedKind : uint8_t { kDebounce, kBatch };

// "debounced" (event "debounce", id "debounce-<g>-<j>"): one step "d1" that records the event
// it saw. Period 150 ms of real time: about the time between two bursts, so the next burst of a
// key (one in three) often comes within it; the timeout (two periods) cuts a key's long sequence.
inline constexpr std::string_view kDebouncedFunction = "debounced";
inline constexpr std::string_view kDebounceEvent = "debounce";
inline constexpr int64_t kDebouncePeriodMs = 150 * int64_t{kClockSpeed};
inline constexpr int64_t kDebounceTimeoutMs = 2 * kDebouncePeriodMs;
inline constexpr uint32_t kDebounceKeys = 3;
inline constexpr uint32_t kDebounceBurstMax = 3;

// "batched" (event "batch", id "batch-<g>-<j>"): one step "b1" that records ctx.events(). A batch
// closes at kBatchMax events (a burst of 4 always fills one) or 100 ms of real time after its
// first event (so the next burst of a key sometimes joins the batch of the one before).
inline constexpr std::string_view kBatchedFunction = "batched";
inline constexpr std::string_view kBatchEvent = "batch";
inline constexpr uint32_t kBatchMax = 3;
inline constexpr int64_t kBatchTimeoutMs = 100 * int64_t{kClockSpeed};
inline constexpr uint32_t kBatchKeys = 2;
inline constexpr uint32_t kBatchBurstMax = 4;

// The key path of both, and the jobs per burst of each kind.
inline constexpr std::string_view kKeyedKeyPath = "data.key";
inline constexpr uint64_t kJobsPerKeyedBurst = 10;

struct KeyedBurst {
  KeyedKind kind = KeyedKind::kDebounce;
  uint64_t g = 0;    // 1..keyed_bursts()
  uint32_t key = 0;  // 0..kDebounceKeys-1 or 0..kBatchKeys-1
  uint32_t size = 0;
};
uint64_t keyed_bursts(uint64_t target_runs);
KeyedBurst keyed_burst(uint64_t seed, KeyedKind kind, uint64_t g);
// Every burst of `kind` the driver sends for a workload of `target_runs` jobs.
std::vector<KeyedBurst> keyed_bursts_of(uint64_t seed, KeyedKind kind, uint64_t target_runs);

std::string_view keyed_event_name(KeyedKind kind);
std::string_view keyed_function(KeyedKind kind);
std::string keyed_event_id(KeyedKind kind, uint64_t g, uint32_t j);
// (kind, g, j) of a keyed event's id; nullopt for any other id.
struct KeyedEventRef {
  KeyedKind kind;
  uint64_t g;
  uint32_t j;
};
std::optional<KeyedEventRef> parse_keyed_event_id(std::string_view id);
// "d<key>" or "b<key>": the value of data.key, and the key the engine names in its reasons.
std::string keyed_key_text(KeyedKind kind, uint32_t key);
// {"g": g, "j": j, "key": keyed_key_text(...)}
nlohmann::json keyed_event_data(const KeyedBurst& burst, uint32_t j);

// "debounced": step "d1" returns {"v": debounce_value, "event": the event's data, ...}; the run's
// output is {"g", "j", "v"}.
uint64_t debounce_value(uint64_t g, uint32_t j);
nlohmann::json debounce_output(uint64_t g, uint32_t j);
// "batched": step "b1" returns {"v": batch_value, "events": [data, ...], ...} for ctx.events();
// the run's output is {"count", "v"}.
uint64_t batch_value(const nlohmann::json& events);
nlohmann::json batch_output(const nlohmann::json& events);

}  // namespace cairn::engine_crash
