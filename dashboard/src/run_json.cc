// The API's JSON of runs and stats (see run_json.h).
#include "run_json.h"

#include <algorithm>

#include "cairn/schema/record_schema.h"
#include "engine_limits.h"

namespace cairn::web {

int64_t to_ms(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

nlohmann::json value_json(std::string_view bytes, ValueFormat format, size_t bytes_max) {
  if (bytes.size() > bytes_max) {
    return detail::bounded_text(bytes,
                                static_cast<uint32_t>(std::min<size_t>(bytes_max, UINT32_MAX)));
  }
  if (format != ValueFormat::kJson) return std::string(bytes);
  if (bytes.empty()) return nullptr;  // a step or function that returns nothing
  // Dumping JSON recurses once per level: a value nested deeper than the tools render (a step
  // output is whatever the code returned) is shown as its text, as text that does not parse is.
  if (schema::json_nests_deeper_than(bytes, schema::kJsonDepthMax)) return std::string(bytes);
  nlohmann::json v = nlohmann::json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  return v.is_discarded() ? nlohmann::json(std::string(bytes)) : v;
}

nlohmann::json run_summary_json(const RunInfo& run) {
  return nlohmann::json{
      {"id", run.id},
      {"function", run.function_id},
      {"status", run_status_name(run.status)},
      {"created_at", to_ms(run.created_at)},
      {"finished_at", is_finished(run.status) ? to_ms(run.finished_at) : 0},
      {"steps", run.steps},
      {"error", run.error},
      {"parent", run.parent},
      {"event", {{"name", run.event.name}, {"id", run.event.id}}},
  };
}

nlohmann::json history_entry_json(const HistoryEntry& e, size_t value_bytes_max) {
  const auto ms_or_zero = [](TimePoint t) { return t == TimePoint{} ? int64_t{0} : to_ms(t); };
  nlohmann::json doc{
      {"kind", history_kind_name(e.kind)},
      {"lsn", e.lsn},
      {"position", e.position},
      {"step_id", e.step_id},
      {"attempt", e.attempt},
      {"at", ms_or_zero(e.at)},
      {"finished_at", ms_or_zero(e.finished_at)},
      {"deadline", ms_or_zero(e.deadline)},
      // Cut by run_history already (HistoryLimits): text ending in a note, no longer JSON.
      {"value", value_json(e.value, e.value_cut ? ValueFormat::kBytes : e.format, value_bytes_max)},
      {"value_truncated", e.value_cut || e.value.size() > value_bytes_max},
      {"run", e.run},
  };
  if (!e.event.name.empty()) {
    doc["event"] = {{"name", e.event.name}, {"id", e.event.id}};
  }
  return doc;
}

nlohmann::json engine_stats_json(const EngineStats& s) {
  return nlohmann::json{
      {"runs_active", s.runs_active},
      {"runs_created", s.runs_created},
      {"runs_finished", s.runs_finished},
      {"steps_completed", s.steps_completed},
      {"step_failures", s.step_failures},
      {"sends_deferred", s.sends_deferred},
      {"events", s.events},
      {"timers", s.timers},
      {"waiting_for_events", s.waiting_for_events},
      {"dedup_ids", s.dedup_ids},
      {"dispatch",
       {{"samples", s.dispatch_samples},
        {"p50_us", s.dispatch_p50_us},
        {"p99_us", s.dispatch_p99_us},
        {"p999_us", s.dispatch_p999_us}}},
      {"log",
       {{"records_durable", s.log.records_durable},
        {"bytes_durable", s.log.bytes_durable},
        {"batches", s.log.batches},
        {"bytes_written", s.log.bytes_written},
        {"segments_created", s.log.segments_created},
        {"segments_recycled", s.log.segments_recycled},
        {"write_ns", s.log.write_ns},
        {"disk_idle_ns", s.log.disk_idle_ns},
        {"io_queue", s.log.io_queue == nullptr ? "" : s.log.io_queue},
        {"direct_io", s.log.direct_io}}},
      {"snapshots",
       {{"written", s.snapshots_written},
        {"failures", s.snapshot_failures},
        {"last_lsn", s.snapshot_last_lsn},
        {"last_bytes", s.snapshot_last_bytes},
        {"longest_ms", s.snapshot_longest_ms},
        {"runs_packed", s.snapshot_runs_packed},
        {"last_error", s.snapshot_last_error}}},
      {"segments_removed", s.segments_removed},
  };
}

nlohmann::json function_stats_json(const FunctionStats& f) {
  return nlohmann::json{
      {"id", f.id},           {"registered", f.registered}, {"triggers", f.triggers},
      {"queued", f.queued},   {"running", f.running},       {"sleeping", f.sleeping},
      {"waiting", f.waiting},
  };
}

}  // namespace cairn::web
