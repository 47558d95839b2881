// Runs, their history and the engine's numbers as the API's JSON (docs/dashboard.md shows each).
// Times are milliseconds since the Unix epoch (0: none); values are JSON when recorded as JSON,
// else strings.
#pragma once

#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "cairn/engine.h"

namespace cairn::web {

int64_t to_ms(TimePoint t);

// A recorded value: its JSON for ValueFormat::kJson (null when empty, a string when it does not
// parse), else the bytes as a string.
nlohmann::json value_json(std::string_view bytes, ValueFormat format);

// A run in a list: id, function, status, times, steps, error, parent, event {name, id}.
nlohmann::json run_summary_json(const RunInfo& run);
// The same plus the event's data, the output and the history (a timeline's entries).
nlohmann::json run_detail_json(const RunInfo& run, const std::vector<HistoryEntry>& history);

nlohmann::json history_entry_json(const HistoryEntry& entry);
nlohmann::json engine_stats_json(const EngineStats& stats);
nlohmann::json function_stats_json(const FunctionStats& function);

}  // namespace cairn::web
