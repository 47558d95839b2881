// Runs, their history and the engine's numbers as the API's JSON (docs/dashboard.md shows each).
// Times are milliseconds since the Unix epoch (0: none); values are JSON when recorded as JSON,
// else strings.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "cairn/engine.h"

namespace cairn::web {

int64_t to_ms(TimePoint t);

// A recorded value: its JSON for ValueFormat::kJson (null when empty, a string when it does not
// parse), else the bytes as a string. One over `bytes_max` is its first bytes as a string, with a
// note of its size (cut JSON does not parse).
nlohmann::json value_json(std::string_view bytes, ValueFormat format, size_t bytes_max = SIZE_MAX);

// A run in a list: id, function, status, times, steps, error, parent, event {name, id}.
nlohmann::json run_summary_json(const RunInfo& run);
// One entry of a run's history, its value cut past `value_bytes_max` ("value_truncated" says so).
// The run's detail (run_detail.h) is made of them.
nlohmann::json history_entry_json(const HistoryEntry& entry, size_t value_bytes_max);
nlohmann::json engine_stats_json(const EngineStats& stats);
nlohmann::json function_stats_json(const FunctionStats& function);

}  // namespace cairn::web
