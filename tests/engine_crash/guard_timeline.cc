// The guarded functions' checks' shared part (see guard_timeline.h).
#include "engine_crash/guard_timeline.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

namespace cairn::engine_crash {
namespace {

using nlohmann::json;

void fail(CrashVerdict* v, std::string what) {
  v->violations.push_back(std::move(what));
}

}  // namespace

std::map<std::string, std::vector<GuardRun>> guard_runs_by_key(const LogFacts& log, GuardKind kind,
                                                               CrashVerdict* verdict) {
  const std::string function(guard_function(kind));
  std::map<std::string, std::vector<GuardRun>> out;
  std::set<uint64_t> seen;
  for (size_t i = 0; i < log.events.size(); ++i) {
    const EventFact& e = log.events[i];
    for (size_t f = 0; f < e.functions.size(); ++f) {
      auto run = log.runs.find(e.first_run_id + f);
      if (e.functions[f] != function || run == log.runs.end()) continue;
      GuardRun g;
      g.run = &run->second;
      g.created = {e.lsn, i + 1};
      const json in = json::parse(run->second.input, nullptr, false);
      if (in.is_object()) {
        if (in.contains("key") && in["key"].is_string()) g.key = in["key"].get<std::string>();
        g.g = in.value("g", uint64_t{0});
        g.j = in.value("j", uint32_t{0});
      }
      seen.insert(g.run->id);
      out[g.key].push_back(std::move(g));
    }
  }
  for (const auto& [id, r] : log.runs) {
    if (r.function_id == function && !seen.contains(id)) {
      fail(verdict, guard_run_name(r) + " was not created by a " + function + " event");
    }
  }
  return out;
}

uint64_t check_guard_events(const LogFacts& log, uint64_t seed, GuardKind kind,
                            const std::vector<GuardBurst>& bursts, CrashVerdict* verdict) {
  const std::string function(guard_function(kind));
  std::map<std::string, json> expected;  // id -> data
  for (const GuardBurst& b : bursts) {
    for (uint32_t j = 0; j < b.size; ++j)
      expected[guard_event_id(kind, b.g, j)] = guard_event_data(seed, b, j);
  }
  std::set<std::string> seen;
  for (const EventFact& e : log.events) {
    if (e.name != function) continue;
    const std::string where = "event " + e.id + " (" + e.name + ") at LSN " + std::to_string(e.lsn);
    auto it = expected.find(e.id);
    if (it == expected.end()) {
      fail(verdict, where + ": the driver never sends it");
    } else if (json::parse(e.data, nullptr, false) != it->second) {
      fail(verdict, where + ": data " + e.data + " is not what was sent");
    }
    if (!seen.insert(e.id).second) fail(verdict, where + ": accepted a second time");
    if (e.duplicate || e.has_origin || e.functions != std::vector<std::string>{function}) {
      fail(verdict, where + ": should start exactly one run of " + function);
    }
  }
  if (seen.empty()) return 0;
  for (const auto& [id, data] : expected) {
    if (!seen.contains(id)) fail(verdict, "event " + id + " is not in the log");
  }
  return seen.size();
}

std::string guard_run_name(const RunFacts& r) {
  return "run " + std::to_string(r.id) + " (" + r.function_id + ", " + r.start_event_id + ")";
}

std::string guard_end_problem(const RunFacts& r, std::string_view expected) {
  const size_t ends = r.completions.size() + r.failures.size() + r.cancellations + r.skips.size();
  const size_t of_kind = expected == "RunCompleted" ? r.completions.size()
                         : expected == "RunSkipped" ? r.skips.size()
                                                    : r.cancellations;
  if (ends == 1 && of_kind == 1) return "";
  return "has " + std::to_string(r.completions.size()) + " RunCompleted, " +
         std::to_string(r.skips.size()) + " RunSkipped, " + std::to_string(r.failures.size()) +
         " RunFailed and " + std::to_string(r.cancellations) +
         " RunCancelled records; exactly one " + std::string(expected) + " was expected";
}

uint32_t guard_steps_after(const RunFacts& r, uint64_t lsn) {
  uint32_t n = 0;
  for (const auto& s : r.completed) n += s.lsn > lsn;
  for (const auto& s : r.failed) n += s.lsn > lsn;
  for (const auto& s : r.sleeps) n += s.lsn > lsn;
  for (const auto& s : r.waits) n += s.lsn > lsn;
  return n;
}

uint32_t guard_went_on_after(const RunFacts& r, uint64_t lsn) {
  uint32_t n = guard_steps_after(r, lsn);
  for (const auto& c : r.completions) n += c.first > lsn;
  return n;
}

namespace {

// The recorded steps of a run: each of its kind's ids at most once, at attempt 1, with its value.
void check_step_values(const GuardRun& g, GuardKind kind, CrashVerdict* verdict) {
  const RunFacts& r = *g.run;
  const std::vector<std::string> ids = guard_steps(kind);
  std::map<std::string, int> count;
  for (const StepCompletedFact& s : r.completed) {
    const auto it = std::find(ids.begin(), ids.end(), s.step_id);
    if (it == ids.end()) {
      fail(verdict, guard_run_name(r) + ": a StepCompleted of \"" + s.step_id +
                        "\", which its function does not have");
      continue;
    }
    const auto n = static_cast<uint32_t>(it - ids.begin()) + 1;
    if (++count[s.step_id] > 1) {
      fail(verdict, guard_run_name(r) + ": step " + s.step_id + " completed more than once");
    }
    const json out = json::parse(s.output, nullptr, false);
    if (s.attempt != 1 || !out.is_object() ||
        out.value("v", json()) != guard_value(kind, g.g, g.j, n)) {
      fail(verdict, guard_run_name(r) + ": step " + s.step_id + " recorded " + s.output +
                        " at attempt " + std::to_string(s.attempt) + ", expected the value " +
                        std::to_string(guard_value(kind, g.g, g.j, n)) + " at attempt 1");
    }
  }
  if (!r.failed.empty()) {
    fail(verdict, guard_run_name(r) + ": a StepFailed, but its steps never fail");
  }
}

}  // namespace

void check_guard_completed(const GuardRun& g, GuardKind kind, bool admitted,
                           CrashVerdict* verdict) {
  const RunFacts& r = *g.run;
  check_step_values(g, kind, verdict);
  if (r.completed.size() != guard_steps(kind).size()) {
    fail(verdict, guard_run_name(r) + " completed with " + std::to_string(r.completed.size()) +
                      " StepCompleted records; its function has " +
                      std::to_string(guard_steps(kind).size()) + " steps");
  }
  if (!r.completions.empty() &&
      json::parse(r.completions.front().second, nullptr, false) != guard_output(kind, g.g, g.j)) {
    fail(verdict, guard_run_name(r) + ": output " + r.completions.front().second + ", expected " +
                      guard_output(kind, g.g, g.j).dump());
  }
  if (!admitted) return;
  if (r.admissions.size() != 1) {
    fail(verdict, guard_run_name(r) + " has " + std::to_string(r.admissions.size()) +
                      " RunAdmitted records; a run that started has exactly one");
    if (r.admissions.empty()) return;
  }
  const AdmittedFact& a = r.admissions.front();
  if (a.has_throttle || a.has_rate_limit) {
    fail(verdict, guard_run_name(r) + ": its RunAdmitted names a throttle or rate limit");
  }
  if (const uint64_t first = first_step_lsn(r); first != 0 && first < a.lsn) {
    fail(verdict, guard_run_name(r) + ": a step record at LSN " + std::to_string(first) +
                      " precedes its RunAdmitted at LSN " + std::to_string(a.lsn));
  }
}

void check_guard_cut_short(const GuardRun& g, GuardKind kind, CrashVerdict* verdict) {
  const RunFacts& r = *g.run;
  check_step_values(g, kind, verdict);
  if (r.cancels.empty()) return;
  const uint64_t cancelled = r.cancels.front().lsn;
  if (const uint64_t last = last_step_lsn(r); last > cancelled) {
    fail(verdict, guard_run_name(r) + ": a step record at LSN " + std::to_string(last) +
                      " comes after its RunCancelled at LSN " + std::to_string(cancelled));
  }
  if (r.admissions.size() > 1) {
    fail(verdict,
         guard_run_name(r) + " was admitted " + std::to_string(r.admissions.size()) + " times");
  }
  if (!r.admissions.empty() && first_step_lsn(r) != 0 &&
      first_step_lsn(r) < r.admissions.front().lsn) {
    fail(verdict, guard_run_name(r) + ": a step record precedes its RunAdmitted");
  }
}

}  // namespace cairn::engine_crash
