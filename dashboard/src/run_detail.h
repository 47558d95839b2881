// A run's detail (GET /api/runs/ID) built within a byte budget. A run may have 2,000 history
// entries of up to step_output_bytes_max (512 KiB) each: built whole, one answer could take a
// gigabyte. So each value (the event's data, the output, the error, an entry's value) is cut past
// value_bytes_max, and entries are added in log order only while the answer stays within
// bytes_max; the answer says what it left out (docs/dashboard.md, "Limits").
#pragma once

#include <cstddef>
#include <vector>

#include <nlohmann/json.hpp>

#include "cairn/engine.h"

namespace cairn::web {

struct DetailLimits {
  size_t bytes_max;        // DashboardOptions::run_detail_bytes_max
  size_t value_bytes_max;  // DashboardOptions::run_detail_value_bytes_max
  size_t entries_max;      // kHistoryEntriesMax
};

// RUN plus the event's data and time, the output and the history, with "error_truncated",
// "event.data_truncated", "output_truncated", each entry's "value_truncated", and
// "history_truncated" / "history_truncated_by" ("entries": more than entries_max; "bytes": the
// next entry would have taken the answer past bytes_max; null: the whole history). `history` is
// what run_history gave for a limit of entries_max + 1 (one more than is shown tells a history
// cut short from one of exactly the maximum) within history_limits(limits).
nlohmann::json run_detail_json(const RunInfo& run, const std::vector<HistoryEntry>& history,
                               const DetailLimits& limits);

// What to ask run_history for: entries_max + 1 entries, values cut at value_bytes_max, and no
// more entries past the one after those whose values pass bytes_max. What the engine reads into
// memory for one answer is then bounded by the same limits as the answer (not 2,001 whole values:
// up to a GB).
HistoryLimits history_limits(const DetailLimits& limits);

}  // namespace cairn::web
