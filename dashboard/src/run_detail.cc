// A run's detail within its byte budget (see run_detail.h).
#include "run_detail.h"

#include <algorithm>

#include "run_json.h"

namespace cairn::web {
namespace {

// Bytes the answer takes on the wire: dumped as reply_json dumps it.
size_t dumped_bytes(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).size();
}

}  // namespace

nlohmann::json run_detail_json(const RunInfo& run, const std::vector<HistoryEntry>& history,
                               const DetailLimits& limits) {
  const size_t cap = limits.value_bytes_max;
  nlohmann::json doc = run_summary_json(run);
  doc["error"] = value_json(run.error, ValueFormat::kBytes, cap);
  doc["error_truncated"] = run.error.size() > cap;
  doc["event"]["data"] = value_json(run.event.data, ValueFormat::kJson, cap);
  doc["event"]["data_truncated"] = run.event.data.size() > cap;
  doc["event"]["ts"] = run.event.ts_ms;
  const bool completed = run.status == RunStatus::kCompleted;
  doc["output"] = completed ? value_json(run.output, run.output_format, cap) : nullptr;
  doc["output_truncated"] = completed && run.output.size() > cap;
  doc["history"] = nlohmann::json::array();
  // Measured with the longest values the two fields can take, so setting them cannot pass the
  // budget.
  doc["history_truncated"] = false;
  doc["history_truncated_by"] = "entries";
  size_t bytes = dumped_bytes(doc);
  const char* truncated_by = history.size() > limits.entries_max ? "entries" : nullptr;
  const size_t shown = std::min(history.size(), limits.entries_max);
  nlohmann::json& entries = doc["history"];
  for (size_t i = 0; i < shown; ++i) {
    nlohmann::json entry = history_entry_json(history[i], cap);
    const size_t more = dumped_bytes(entry) + (i == 0 ? 0 : 1);  // the comma before it
    if (bytes + more > limits.bytes_max) {
      truncated_by = "bytes";
      break;
    }
    bytes += more;
    entries.push_back(std::move(entry));
  }
  // run_history stopped after the entry whose values took their sum past bytes_max (history_limits
  // below): the history goes on past what it gave.
  if (truncated_by == nullptr) {
    size_t values = 0;
    for (const HistoryEntry& e : history) values += e.value.size() + e.event.data.size();
    if (values > limits.bytes_max) truncated_by = "bytes";
  }
  doc["history_truncated"] = truncated_by != nullptr;
  doc["history_truncated_by"] =
      truncated_by == nullptr ? nlohmann::json(nullptr) : nlohmann::json(truncated_by);
  return doc;
}

HistoryLimits history_limits(const DetailLimits& limits) {
  return HistoryLimits{.entries = limits.entries_max + 1,
                       .value_bytes_max = limits.value_bytes_max,
                       .bytes_max = limits.bytes_max};
}

}  // namespace cairn::web
