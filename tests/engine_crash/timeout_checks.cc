// Check (i) of crash_checks.h: timeouts across kills. Every "late" (finish timeout) and "queued"
// (start timeout) event started its one run; each run ended once, completed with its output or
// cancelled by its own timeout, never before the deadline the log's own times give, and nothing
// of it was recorded after its RunCancelled.
#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "cairn/schema/record_schema.h"
#include "engine_crash/crash_checks.h"
#include "engine_crash/timed_workload.h"

namespace cairn::engine_crash {
namespace {

using nlohmann::json;

std::string timed_run_name(const RunFacts& r) {
  return "run " + std::to_string(r.id) + " (" + r.function_id + ", " + r.start_event_id + ")";
}

bool resumed_for(const OpFact& o, schema::ResumeReason reason) {
  return o.reason == static_cast<uint8_t>(reason);
}

class TimeoutChecker {
 public:
  TimeoutChecker(const LogFacts& log, uint64_t target_runs, CrashVerdict* verdict)
      : log_(log), target_runs_(target_runs), v_(*verdict) {}

  void run() {
    check_events();
    for (const auto& [id, r] : log_.runs) {
      if (r.function_id == kLateFunction) {
        check_late(r);
      } else if (r.function_id == kQueuedFunction) {
        check_queued(r);
      }
    }
  }

 private:
  void fail(std::string what) { v_.violations.push_back(std::move(what)); }

  // Every event the driver sends (late_runs, queued_bursts) is in the log once, with one run of
  // its function; no other is.
  void check_events() {
    std::set<std::string> expected;
    for (uint64_t n = 1; n <= late_runs(target_runs_); ++n) expected.insert(late_event_id(n));
    for (uint64_t g = 1; g <= queued_bursts(target_runs_); ++g) {
      for (uint32_t j = 0; j < kQueuedBurst; ++j) expected.insert(queued_event_id(g, j));
    }
    std::set<std::string> seen;
    for (const EventFact& e : log_.events) {
      if (e.name != kLateEvent && e.name != kQueuedEvent) continue;
      const std::string where =
          "event " + e.id + " (" + e.name + ") at LSN " + std::to_string(e.lsn);
      const std::string_view function = e.name == kLateEvent ? kLateFunction : kQueuedFunction;
      if (!expected.contains(e.id)) fail(where + ": the driver never sends it");
      if (!seen.insert(e.id).second) fail(where + ": accepted a second time");
      if (e.duplicate || e.has_origin ||
          e.functions != std::vector<std::string>{std::string(function)}) {
        fail(where + ": should start exactly one run of " + std::string(function));
      }
    }
    // Only a log with timed runs at all is held to the whole list: the power-cut rounds run
    // without them.
    if (seen.empty()) return;
    for (const std::string& id : expected) {
      if (!seen.contains(id)) fail("event " + id + " is not in the log");
    }
  }

  // What every run with a timeout must show; returns its RunCancelled (nullptr: none).
  const CancelFact* check_common(const RunFacts& r, std::string_view reason_prefix) {
    const size_t ends = r.completions.size() + r.failures.size() + r.cancellations + r.skips.size();
    if (ends != 1 || !r.failures.empty() || !r.skips.empty()) {
      fail(timed_run_name(r) + " has " + std::to_string(r.completions.size()) + " RunCompleted, " +
           std::to_string(r.failures.size()) + " RunFailed, " + std::to_string(r.cancellations) +
           " RunCancelled and " + std::to_string(r.skips.size()) +
           " RunSkipped records; exactly one end, completed or cancelled, was expected");
    }
    if (r.admissions.size() > 1) {
      fail(timed_run_name(r) + " was admitted " + std::to_string(r.admissions.size()) + " times");
    }
    const uint64_t first_step = first_step_lsn(r);
    if (!r.admissions.empty()) {
      const AdmittedFact& a = r.admissions.front();
      if (a.has_throttle || a.has_rate_limit || a.started_ms == 0) {
        fail(timed_run_name(r) + ": its RunAdmitted at LSN " + std::to_string(a.lsn) +
             " names a throttle or rate limit, or no start time (started_ms " +
             std::to_string(a.started_ms) + ")");
      }
      if (first_step != 0 && first_step < a.lsn) {
        fail(timed_run_name(r) + ": a step record at LSN " + std::to_string(first_step) +
             " precedes its RunAdmitted at LSN " + std::to_string(a.lsn));
      }
    } else if (first_step != 0) {
      fail(timed_run_name(r) + " ran a step without a RunAdmitted: its start was not recorded");
    }
    if (r.cancels.empty()) return nullptr;
    const CancelFact& c = r.cancels.front();
    if (!c.reason.starts_with(reason_prefix)) {
      fail(timed_run_name(r) + " was cancelled with \"" + c.reason + "\"; only its \"" +
           std::string(reason_prefix) + "\" may cancel it");
    }
    if (const uint64_t last = last_step_lsn(r); last > c.lsn) {
      fail(timed_run_name(r) + ": a step record at LSN " + std::to_string(last) +
           " comes after its RunCancelled at LSN " + std::to_string(c.lsn));
    }
    return &c;
  }

  // "late": a finish-timeout cancel only once the deadline (started_ms + the timeout) passed; a
  // run that slept past the deadline must have been cancelled.
  void check_late(const RunFacts& r) {
    ++v_.summary.late_runs;
    const auto n = parse_late_event_id(r.start_event_id);
    if (!n || json::parse(r.input, nullptr, false) != json{{"n", *n}}) {
      fail(timed_run_name(r) + " was not started by a late event as sent (input " + r.input + ")");
      return;
    }
    const CancelFact* cancel = check_common(r, "finish timeout:");
    const int64_t deadline =
        r.admissions.empty() ? 0 : r.admissions.front().started_ms + kLateFinishMs;
    const bool slept_past =
        deadline != 0 && std::any_of(r.sleeps.begin(), r.sleeps.end(),
                                     [&](const OpFact& s) { return s.wake_at_ms > deadline; });
    v_.summary.late_slept_past += slept_past;
    if (cancel != nullptr) {
      ++v_.summary.late_cancelled;
      if (deadline == 0) {
        fail(timed_run_name(r) +
             " was cancelled by its finish timeout, but never started (no RunAdmitted)");
      } else if (cancel->at_us / 1000 < deadline) {
        fail(timed_run_name(r) + ": RunCancelled at LSN " + std::to_string(cancel->lsn) + " at " +
             std::to_string(cancel->at_us / 1000) + " ms, before its finish deadline " +
             std::to_string(deadline) + " ms (started " +
             std::to_string(r.admissions.front().started_ms) + " + " +
             std::to_string(kLateFinishMs) + ")");
      }
      if (std::none_of(r.resumes.begin(), r.resumes.end(), [&](const OpFact& o) {
            return resumed_for(o, schema::ResumeReason::FinishTimedOut) && o.lsn < cancel->lsn;
          })) {
        fail(timed_run_name(r) + ": cancelled without a RunResumed{FinishTimedOut} before it");
      }
    } else if (slept_past) {
      fail(timed_run_name(r) + " slept past its finish deadline " + std::to_string(deadline) +
           " ms, yet was not cancelled");
    }
    if (!r.completions.empty() &&
        json::parse(r.completions.front().second, nullptr, false) != late_output(*n)) {
      fail(timed_run_name(r) + ": output " + r.completions.front().second + ", expected " +
           late_output(*n).dump());
    }
  }

  // "queued": a start-timeout cancel only for a run whose RunAdmitted did not come first (the log
  // decides the race), and only once its deadline (creation + the timeout) passed.
  void check_queued(const RunFacts& r) {
    ++v_.summary.queued_runs;
    const auto gj = parse_queued_event_id(r.start_event_id);
    if (!gj || json::parse(r.input, nullptr, false) != json{{"g", gj->first}, {"j", gj->second}}) {
      fail(timed_run_name(r) + " was not started by a queued event as sent (input " + r.input +
           ")");
      return;
    }
    const CancelFact* cancel = check_common(r, "start timeout:");
    if (cancel != nullptr) {
      ++v_.summary.queued_cancelled;
      uint64_t timed_out = UINT64_MAX;  // the first StartTimedOut
      for (const OpFact& o : r.resumes) {
        if (resumed_for(o, schema::ResumeReason::StartTimedOut))
          timed_out = std::min(timed_out, o.lsn);
      }
      if (timed_out > cancel->lsn) {
        fail(timed_run_name(r) + ": cancelled without a RunResumed{StartTimedOut} before it");
      } else if (!r.admissions.empty() && r.admissions.front().lsn < timed_out) {
        fail(timed_run_name(r) + ": cancelled by its start timeout (StartTimedOut at LSN " +
             std::to_string(timed_out) + "), but it had started: RunAdmitted at LSN " +
             std::to_string(r.admissions.front().lsn));
      }
      const int64_t deadline = r.created_us / 1000 + kQueuedStartMs;
      if (cancel->at_us / 1000 < deadline) {
        fail(timed_run_name(r) + ": RunCancelled at " + std::to_string(cancel->at_us / 1000) +
             " ms, before its start deadline " + std::to_string(deadline) + " ms");
      }
    }
    if (!r.completions.empty() && json::parse(r.completions.front().second, nullptr, false) !=
                                      queued_output(gj->first, gj->second)) {
      fail(timed_run_name(r) + ": output " + r.completions.front().second + ", expected " +
           queued_output(gj->first, gj->second).dump());
    }
  }

  const LogFacts& log_;
  const uint64_t target_runs_;
  CrashVerdict& v_;
};

}  // namespace

void check_timeouts(const LogFacts& log, uint64_t target_runs, CrashVerdict* verdict) {
  TimeoutChecker(log, target_runs, verdict).run();
}

}  // namespace cairn::engine_crash
