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
  size_t shown = std::min(history.size(), limits.entries_max);
  // run_history (history_limits below) reads past the entry whose values take their sum over
  // bytes_max only up to the next entry: one there says the history went on, and is not shown.
  // A history that ends with the entry that passed is whole.
  size_t within = 0;
  size_t values = 0;
  while (within < history.size() && values <= limits.bytes_max) {
    values += history[within].value.size() + history[within].event.data.size();
    ++within;
  }
  if (values > limits.bytes_max && within < shown) {
    shown = within;
    truncated_by = "bytes";
  }
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
