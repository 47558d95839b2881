// The keyed checks' shared part (see keyed_timeline.h).
#include "engine_crash/keyed_timeline.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "cairn/schema/record_schema.h"

namespace cairn::engine_crash {
namespace {

using nlohmann::json;

std::string keyed_key_of(const RunFacts& r) {
  const json in = json::parse(r.input, nullptr, false);
  if (!in.is_object() || !in.contains("key") || !in["key"].is_string()) return "";
  return in["key"].get<std::string>();
}

}  // namespace

std::map<std::string, std::vector<KeyedItem>> keyed_timelines(const LogFacts& log, KeyedKind kind) {
  const std::string function(keyed_function(kind));
  const auto due =
      static_cast<uint8_t>(kind == KeyedKind::kDebounce ? schema::ResumeReason::DebounceDue
                                                        : schema::ResumeReason::BatchDue);
  std::map<std::string, std::vector<KeyedItem>> out;
  for (size_t i = 0; i < log.events.size(); ++i) {
    const EventFact& e = log.events[i];
    for (size_t f = 0; f < e.functions.size(); ++f) {
      auto run = log.runs.find(e.first_run_id + f);
      if (e.functions[f] != function || run == log.runs.end()) continue;
      const RunFacts& r = run->second;
      out[keyed_key_of(r)].push_back({e.lsn, i + 1, &r, false, r.created_us / 1000});
    }
  }
  for (const auto& [id, r] : log.runs) {
    if (r.function_id != function) continue;
    for (const OpFact& o : r.resumes) {
      if (o.reason == due) out[keyed_key_of(r)].push_back({o.lsn, 0, &r, true, 0});
    }
  }
  for (auto& [key, items] : out) {
    std::sort(items.begin(), items.end(), [](const KeyedItem& a, const KeyedItem& b) {
      return a.lsn != b.lsn ? a.lsn < b.lsn : a.order < b.order;
    });
  }
  return out;
}

uint64_t check_keyed_events(const LogFacts& log, KeyedKind kind,
                            const std::vector<KeyedBurst>& bursts, CrashVerdict* verdict) {
  auto fail = [&](std::string what) { verdict->violations.push_back(std::move(what)); };
  const std::string function(keyed_function(kind));
  std::map<std::string, json> expected;  // id -> data
  for (const KeyedBurst& b : bursts) {
    for (uint32_t j = 0; j < b.size; ++j)
      expected[keyed_event_id(kind, b.g, j)] = keyed_event_data(b, j);
  }
  std::set<std::string> seen;
  for (const EventFact& e : log.events) {
    if (e.name != keyed_event_name(kind)) continue;
    const std::string where = "event " + e.id + " (" + e.name + ") at LSN " + std::to_string(e.lsn);
    auto it = expected.find(e.id);
    if (it == expected.end()) {
      fail(where + ": the driver never sends it");
    } else if (json::parse(e.data, nullptr, false) != it->second) {
      fail(where + ": data " + e.data + " is not what was sent");
    }
    if (!seen.insert(e.id).second) fail(where + ": accepted a second time");
    if (e.duplicate || e.has_origin || e.functions != std::vector<std::string>{function}) {
      fail(where + ": should start exactly one run of " + function);
    }
  }
  if (seen.empty()) return 0;
  for (const auto& [id, data] : expected) {
    if (!seen.contains(id)) fail("event " + id + " is not in the log");
  }
  return seen.size();
}

std::string keyed_run_name(const RunFacts& r) {
  return "run " + std::to_string(r.id) + " (" + r.function_id + ", " + r.start_event_id + ")";
}

std::string keyed_end_problem(const RunFacts& r, bool completed) {
  const size_t ends = r.completions.size() + r.failures.size() + r.cancellations + r.skips.size();
  if (ends == 1 && (completed ? r.completions.size() : r.skips.size()) == 1) return "";
  return "has " + std::to_string(r.completions.size()) + " RunCompleted, " +
         std::to_string(r.skips.size()) + " RunSkipped, " + std::to_string(r.failures.size()) +
         " RunFailed and " + std::to_string(r.cancellations) +
         " RunCancelled records; exactly one " + (completed ? "RunCompleted" : "RunSkipped") +
         " was expected";
}

}  // namespace cairn::engine_crash
