// Check (g) of crash_checks.h: flow control across kills. The flow events against the bursts the
// workload specifies, every run of "metered" and "paced" (its end, its RunAdmitted, its step), no
// flow-control record for any other run, and the sliding-window bounds over the RunAdmitted
// times, key by key. The windows are counted from the log alone: what a restart rebuilds must
// keep the bound over admissions made before and after it.
#include <algorithm>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "cairn/schema/record_schema.h"
#include "engine_crash/crash_checks.h"
#include "engine_crash/guard_workload.h"
#include "engine_crash/keyed_workload.h"
#include "engine_crash/timed_workload.h"
#include "engine_crash/workload.h"

namespace cairn::engine_crash {
namespace {

using nlohmann::json;

// (Named apart from crash_checks.cc's helpers: the unity build puts both in one file.)
json json_or_null(const std::string& text) {
  return json::parse(text, nullptr, false);
}

std::string flow_run_name(const RunFacts& r) {
  return "run " + std::to_string(r.id) + " (" + r.function_id + ")";
}

bool throttle_due(const OpFact& resume) {
  return resume.reason == static_cast<uint8_t>(schema::ResumeReason::ThrottleDue);
}

// One RunAdmitted of one key.
struct Admission {
  int64_t at_ms = 0;
  uint64_t run = 0;
  uint64_t lsn = 0;
};

// Violations shown per key and limit: one broken window usually has neighbours that overlap it.
constexpr size_t kWindowsShownPerKey = 3;

class FlowChecker {
 public:
  FlowChecker(const LogFacts& log, uint64_t seed, uint64_t target_runs, uint32_t time_scale,
              CrashVerdict* verdict)
      : log_(log),
        seed_(seed),
        bursts_(flow_bursts(target_runs)),
        time_scale_(time_scale),
        v_(*verdict) {}

  void run() {
    check_events();
    for (const auto& [id, r] : log_.runs) {
      if (r.function_id == "metered" || r.function_id == "paced") {
        check_flow_run(r);
      } else if (r.function_id != kLateFunction && r.function_id != kQueuedFunction &&
                 r.function_id != kDebouncedFunction && r.function_id != kBatchedFunction &&
                 r.function_id != kOnceFunction && r.function_id != kSoloFunction &&
                 r.function_id != kLatestFunction) {
        // A timeout, a debounce, a batch, idempotency or a singleton records RunAdmitted too
        // (timeout_checks.cc, debounce_checks.cc, batch_checks.cc, idempotency_checks.cc,
        // singleton_checks.cc), and all but the first RunSkipped. (cancel_on and priority do
        // not: "cancellable" and "ranked" are held to none here.)
        check_unlimited_run(r);
      }
    }
    v_.summary.metered_busiest_window = check_windows("rate limit", kMeteredLimit, metered_);
    v_.summary.paced_busiest_window = check_windows("throttle", kPacedLimit, paced_);
    count_out_of_order();
  }

 private:
  void fail(std::string what) { v_.violations.push_back(std::move(what)); }

  // Every event of every burst is in the log once, as sent, and started its one run; no other
  // flow event is.
  void check_events() {
    std::set<std::pair<uint64_t, uint32_t>> seen;
    for (const EventFact& e : log_.events) {
      if (e.name != kMeteredEvent && e.name != kPacedEvent) continue;
      ++v_.summary.flow_events;
      const std::string where =
          "flow event " + e.id + " (" + e.name + ") at LSN " + std::to_string(e.lsn);
      const auto gj = parse_flow_event_id(e.id);
      if (!gj || gj->first == 0 || gj->first > bursts_) {
        fail(where + ": no burst has it");
        continue;
      }
      const FlowBurst burst = flow_burst(seed_, gj->first);
      if (gj->second >= burst.size || e.name != flow_event_name(burst)) {
        fail(where + ": burst " + std::to_string(burst.g) + " has no such event");
        continue;
      }
      if (!seen.insert(*gj).second) fail(where + ": accepted a second time");
      if (e.duplicate || e.has_origin ||
          e.functions != std::vector<std::string>{std::string(flow_function(burst))}) {
        fail(where + ": should start exactly one run of " + std::string(flow_function(burst)));
      }
      if (json_or_null(e.data) != json_or_null(flow_event_data(seed_, burst, gj->second))) {
        fail(where + ": data " + e.data + " is not what was sent");
      }
    }
    for (uint64_t g = 1; g <= bursts_; ++g) {
      const FlowBurst burst = flow_burst(seed_, g);
      for (uint32_t j = 0; j < burst.size; ++j) {
        if (!seen.contains({g, j})) {
          fail("flow event " + flow_event_id(g, j) + " of burst " + std::to_string(g) +
               " is not in the log");
        }
      }
    }
  }

  void check_flow_run(const RunFacts& r) {
    const auto gj = parse_flow_event_id(r.start_event_id);
    if (!gj || gj->first == 0 || gj->first > bursts_) {
      fail(flow_run_name(r) + " was not started by a flow event");
      return;
    }
    const FlowBurst burst = flow_burst(seed_, gj->first);
    if (r.function_id != flow_function(burst)) {
      fail(flow_run_name(r) + " was started by " + r.start_event_id + ", which starts " +
           std::string(flow_function(burst)));
      return;
    }
    const bool paced = burst.paced;
    ++(paced ? v_.summary.paced_runs : v_.summary.metered_runs);
    v_.summary.metered_skipped += !paced && !r.skips.empty();
    if (json_or_null(r.input) != json_or_null(flow_event_data(seed_, burst, gj->second))) {
      fail(flow_run_name(r) + ": input " + r.input + " is not its event's data");
    }
    check_end(r, paced);
    check_admission(r, burst);
    check_step(r, burst, gj->second);
  }

  // Exactly one end: RunCompleted, or (rate limit only) RunSkipped.
  void check_end(const RunFacts& r, bool paced) {
    const size_t ends = r.completions.size() + r.failures.size() + r.cancellations + r.skips.size();
    if (ends != 1) {
      fail(flow_run_name(r) + " has " + std::to_string(r.completions.size()) + " RunCompleted, " +
           std::to_string(r.skips.size()) + " RunSkipped, " + std::to_string(r.failures.size()) +
           " RunFailed and " + std::to_string(r.cancellations) +
           " RunCancelled records; exactly one end was expected");
    }
    if (paced && !r.skips.empty()) {
      fail(flow_run_name(r) + " was skipped (" + r.skips.front().reason +
           "): a throttle delays runs, it never drops one");
    }
    if (paced && r.completions.empty() && ends == 0) {
      fail(flow_run_name(r) + " never completed: a throttled run was lost");
    }
    if (!r.failures.empty()) fail(flow_run_name(r) + " failed: " + r.failures.front().second);
    if (r.cancellations != 0) fail(flow_run_name(r) + " was cancelled; nothing cancels it");
    for (const SkippedFact& s : r.skips) {
      if (s.key != flow_key_text(burst_of(r)) || s.reason.find("rate limit") == std::string::npos) {
        fail(flow_run_name(r) + ": RunSkipped at LSN " + std::to_string(s.lsn) + " names key \"" +
             s.key + "\" and reason \"" + s.reason + "\"; expected the rate limit of key \"" +
             flow_key_text(burst_of(r)) + "\"");
      }
    }
  }

  FlowBurst burst_of(const RunFacts& r) const {
    return flow_burst(seed_, parse_flow_event_id(r.start_event_id)->first);
  }

  // At most one RunAdmitted, exactly one for a run that started, none for a skipped one; with
  // the run's limit and key; before every other record of the run.
  void check_admission(const RunFacts& r, const FlowBurst& burst) {
    if (r.admissions.size() > 1) {
      std::string at;
      for (const AdmittedFact& a : r.admissions) {
        at += " LSN " + std::to_string(a.lsn) + " at " + std::to_string(a.at_ms) + " ms;";
      }
      fail(flow_run_name(r) + " was admitted " + std::to_string(r.admissions.size()) +
           " times (a restart admitted it again):" + at);
    }
    const bool started = !r.completed.empty() || !r.failed.empty() || !r.completions.empty();
    if (started && r.admissions.empty()) {
      fail(flow_run_name(r) + " ran without a RunAdmitted: its " +
           (burst.paced ? "throttle" : "rate limit") + " did not count it");
    }
    if (!r.skips.empty() && !r.admissions.empty()) {
      fail(flow_run_name(r) + " was both admitted (LSN " +
           std::to_string(r.admissions.front().lsn) + ") and skipped (LSN " +
           std::to_string(r.skips.front().lsn) + ")");
    }
    if (!r.skips.empty() && started) fail(flow_run_name(r) + " was skipped but ran its step");
    for (const OpFact& res : r.resumes) {
      if (!throttle_due(res)) continue;
      ++v_.summary.throttle_due_records;
      if (!burst.paced) {
        fail(flow_run_name(r) + ": RunResumed{ThrottleDue} at LSN " + std::to_string(res.lsn) +
             ", but its function has no throttle");
      }
    }
    if (burst.paced && std::any_of(r.resumes.begin(), r.resumes.end(), throttle_due)) {
      ++v_.summary.paced_delayed;
    }
    if (r.admissions.empty()) return;
    const AdmittedFact& a = r.admissions.front();
    const std::string key = flow_key_text(burst);
    const bool right = burst.paced ? a.has_throttle && !a.has_rate_limit && a.throttle_key == key
                                   : a.has_rate_limit && !a.has_throttle && a.rate_limit_key == key;
    if (!right) {
      fail(flow_run_name(r) + ": RunAdmitted at LSN " + std::to_string(a.lsn) + " counts it under" +
           (a.has_throttle ? " throttle key \"" + a.throttle_key + "\"" : "") +
           (a.has_rate_limit ? " rate-limit key \"" + a.rate_limit_key + "\"" : "") +
           (a.has_throttle || a.has_rate_limit ? "" : " no limit") + "; expected its " +
           (burst.paced ? "throttle" : "rate limit") + " key \"" + key + "\"");
    }
    if (const uint64_t first = first_other_record(r); first != 0 && first < a.lsn) {
      fail(flow_run_name(r) + ": a record at LSN " + std::to_string(first) +
           " precedes its RunAdmitted at LSN " + std::to_string(a.lsn) +
           " (the run acted before its admission was durable)");
    }
    (burst.paced ? paced_ : metered_)[key].push_back({a.at_ms, r.id, a.lsn});
  }

  // The LSN of the run's first record that only an admitted run writes (0: none). A ThrottleDue
  // resume comes before the admission it leads to.
  static uint64_t first_other_record(const RunFacts& r) {
    uint64_t first = UINT64_MAX;
    auto see = [&](uint64_t lsn) { first = std::min(first, lsn); };
    for (const auto& s : r.completed) see(s.lsn);
    for (const auto& s : r.failed) see(s.lsn);
    for (const auto& s : r.sleeps) see(s.lsn);
    for (const auto& s : r.waits) see(s.lsn);
    for (const auto& s : r.resumes) {
      if (!throttle_due(s)) see(s.lsn);
    }
    for (const auto& c : r.completions) see(c.first);
    for (const auto& f : r.failures) see(f.first);
    return first == UINT64_MAX ? 0 : first;
  }

  // A run that started ran its one step once, at its first attempt, with the value recomputed.
  void check_step(const RunFacts& r, const FlowBurst& burst, uint32_t j) {
    if (!r.failed.empty() || !r.sleeps.empty() || !r.waits.empty()) {
      fail(flow_run_name(r) +
           ": records its one step cannot have written (a failure, a sleep, a wait)");
    }
    if (!r.skips.empty()) return;  // ran nothing: reported above if it did
    const std::string step(flow_step(burst));
    if (r.completed.size() != 1 || r.completed[0].step_id != step || r.completed[0].position != 0 ||
        r.completed[0].attempt != 1) {
      fail(flow_run_name(r) + ": " + std::to_string(r.completed.size()) +
           " StepCompleted records; expected one, of step " + step + " at position 0, attempt 1");
    } else {
      const json out = json_or_null(r.completed[0].output);
      if (!out.is_object() || !out.contains("v") || out["v"] != flow_value(burst.g, j)) {
        fail(flow_run_name(r) + ": step " + step + " recorded " + r.completed[0].output +
             ", expected the value " + std::to_string(flow_value(burst.g, j)));
      }
    }
    if (!r.completions.empty() &&
        json_or_null(r.completions.front().second) != flow_output(burst.g, j)) {
      fail(flow_run_name(r) + ": output " + r.completions.front().second + ", expected " +
           flow_output(burst.g, j).dump());
    }
  }

  // Runs of functions without limits or timeouts have no flow-control record.
  void check_unlimited_run(const RunFacts& r) {
    if (!r.admissions.empty() || !r.skips.empty() ||
        std::any_of(r.resumes.begin(), r.resumes.end(), throttle_due)) {
      fail(flow_run_name(r) +
           " has a RunAdmitted, RunSkipped or ThrottleDue record, but its function "
           "has no throttle or rate limit");
    }
  }

  // The sliding-window bound, exact: for each admission at t, the admissions of its key in
  // [t, t + period) (a window holding the most admissions can always be moved to start at one).
  // Returns the most found in one window.
  uint32_t check_windows(const char* what, const FlowLimit& limit,
                         std::map<std::string, std::vector<Admission>>& by_key) {
    uint32_t busiest = 0;
    // The child's periods were scaled to its clock (StepRunner::scaled).
    const int64_t period_ms = int64_t{limit.period_ms} * time_scale_;
    for (auto& [key, at] : by_key) {
      std::sort(at.begin(), at.end(), [](const Admission& a, const Admission& b) {
        return a.at_ms != b.at_ms ? a.at_ms < b.at_ms : a.run < b.run;
      });
      size_t shown = 0;
      size_t end = 0;
      for (size_t i = 0; i < at.size(); ++i) {
        end = std::max(end, i);
        while (end < at.size() && at[end].at_ms < at[i].at_ms + period_ms) ++end;
        const auto n = static_cast<uint32_t>(end - i);
        busiest = std::max(busiest, n);
        if (n <= limit.window_max) continue;
        if (++shown > kWindowsShownPerKey) continue;
        std::string runs;
        for (size_t k = i; k < end; ++k) {
          runs += " run " + std::to_string(at[k].run) + " at " + std::to_string(at[k].at_ms) +
                  " (LSN " + std::to_string(at[k].lsn) + ");";
        }
        fail(std::string(what) + " exceeded for key \"" + key + "\": " + std::to_string(n) +
             " RunAdmitted in the " + std::to_string(period_ms) + " ms from " +
             std::to_string(at[i].at_ms) + " ms, at most " + std::to_string(limit.window_max) +
             " allowed (limit " + std::to_string(limit.limit) + ", burst " +
             std::to_string(limit.burst) + "):" + runs);
      }
      if (shown > kWindowsShownPerKey) {
        fail(std::string(what) + " of key \"" + key +
             "\": " + std::to_string(shown - kWindowsShownPerKey) + " more windows over the bound");
      }
    }
    return busiest;
  }

  // Paced runs admitted strictly before a run of their key created earlier (run ids are given
  // in creation order). Sorted by time: a run counts when an earlier-created run comes after it.
  void count_out_of_order() {
    for (const auto& [key, at] : paced_) {  // sorted by check_windows
      uint64_t min_later = UINT64_MAX;      // the smallest run id admitted at a later time
      for (size_t i = at.size(); i-- > 0;) {
        size_t same = i;  // admissions at the same millisecond are in no order among themselves
        while (same > 0 && at[same - 1].at_ms == at[i].at_ms) --same;
        for (size_t k = same; k <= i; ++k) v_.summary.paced_out_of_order += at[k].run > min_later;
        for (size_t k = same; k <= i; ++k) min_later = std::min(min_later, at[k].run);
        i = same;
      }
    }
  }

  const LogFacts& log_;
  const uint64_t seed_;
  const uint64_t bursts_;
  const uint32_t time_scale_;
  CrashVerdict& v_;
  // RunAdmitted per key, of each limited function.
  std::map<std::string, std::vector<Admission>> metered_;
  std::map<std::string, std::vector<Admission>> paced_;
};

}  // namespace

void check_flow_control(const LogFacts& log, uint64_t seed, uint64_t target_runs,
                        uint32_t time_scale, CrashVerdict* verdict) {
  FlowChecker(log, seed, target_runs, time_scale, verdict).run();
}

}  // namespace cairn::engine_crash
