// Check (j) of crash_checks.h: debounce across kills. Each key's timeline (keyed_timeline.h) is
// walked the way the engine applies it: the key's waiting run has the deadline min(its creation +
// period, its sequence's first event + timeout); an event created before that deadline replaces
// it, one at or after it (or the run's own DebounceDue, earlier in the log) lets it start. So a
// run completes iff no later event of its key came before its deadline; every other run ends
// skipped, naming the run that replaced it. A kill and replay must not change either.
#include <climits>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>

#include "engine_crash/crash_checks.h"
#include "engine_crash/keyed_timeline.h"

namespace cairn::engine_crash {
namespace {

using nlohmann::json;

class DebounceChecker {
 public:
  DebounceChecker(const LogFacts& log, const std::vector<KeyedBurst>& bursts, CrashVerdict* verdict)
      : log_(log), bursts_(bursts), v_(*verdict) {}

  void run() {
    v_.summary.debounce_events = check_keyed_events(log_, KeyedKind::kDebounce, bursts_, &v_);
    for (const auto& [key, items] : keyed_timelines(log_, KeyedKind::kDebounce)) walk(key, items);
    for (const auto& [id, r] : log_.runs) {
      if (r.function_id == kDebouncedFunction && !walked_.contains(id)) {
        fail(keyed_run_name(r) + " was not created by a debounce event");
      }
    }
  }

 private:
  // The key's waiting run.
  struct Waiting {
    const RunFacts* run = nullptr;
    uint64_t lsn = 0;  // of its event
    int64_t since_ms = 0;
    int64_t deadline_ms = 0;
  };

  void fail(std::string what) { v_.violations.push_back(std::move(what)); }

  void walk(const std::string& key, const std::vector<KeyedItem>& items) {
    std::optional<Waiting> w;
    // The deadline of the run its own DebounceDue just let start: an event created before it but
    // logged after the DebounceDue begins a new sequence (apply decides in log order).
    int64_t due_deadline = INT64_MIN;  // none
    for (const KeyedItem& item : items) {
      if (item.due) {
        if (w && item.run == w->run) {
          due_deadline = w->deadline_ms;
          started(*w);
          w.reset();
        }
        continue;  // else stale: the run was replaced before its timer fired
      }
      walked_.insert(item.run->id);
      if (w && w->deadline_ms <= item.created_ms) {
        started(*w);
        w.reset();
      }
      if (item.created_ms < due_deadline) ++v_.summary.debounce_due_first;
      due_deadline = INT64_MIN;
      int64_t since = item.created_ms;
      if (w) {
        since = w->since_ms;
        replaced(*w, *item.run, item.lsn, key);
      }
      const int64_t deadline =
          std::min(item.created_ms + kDebouncePeriodMs, since + kDebounceTimeoutMs);
      w = Waiting{item.run, item.lsn, since, deadline};
    }
    if (w) started(*w);  // the last of the key: nothing came after it
  }

  // No later event of its key came before its deadline: it ran, once, with its own event, and
  // not before the deadline.
  void started(const Waiting& w) {
    const RunFacts& r = *w.run;
    ++v_.summary.debounce_completed;
    v_.summary.debounce_cut_by_timeout += w.deadline_ms < r.created_us / 1000 + kDebouncePeriodMs;
    const std::string name = keyed_run_name(r);
    if (const std::string p = keyed_end_problem(r, true); !p.empty()) {
      fail(name + " should have completed (no later event of its key came before its deadline " +
           std::to_string(w.deadline_ms) + " ms), but it " + p +
           (r.skips.empty() ? "" : " (skipped: " + r.skips.front().reason + ")"));
    }
    if (r.admissions.size() != 1) {
      fail(name + " has " + std::to_string(r.admissions.size()) +
           " RunAdmitted records; a run that started has exactly one");
    } else {
      const AdmittedFact& a = r.admissions.front();
      if (a.at_ms < w.deadline_ms) {
        fail(name + ": admitted at " + std::to_string(a.at_ms) + " ms, before its deadline " +
             std::to_string(w.deadline_ms) + " ms (a debounced run started early)");
      }
      if (a.has_throttle || a.has_rate_limit) fail(name + ": its RunAdmitted names a limit");
      if (const uint64_t first = first_step_lsn(r); first != 0 && first < a.lsn) {
        fail(name + ": a step record at LSN " + std::to_string(first) +
             " precedes its RunAdmitted at LSN " + std::to_string(a.lsn));
      }
    }
    const auto ref = parse_keyed_event_id(r.start_event_id);
    if (!ref) return;  // reported by check_keyed_events
    const json in = json::parse(r.input, nullptr, false);
    if (r.completed.size() != 1 || r.completed[0].step_id != "d1" || !r.failed.empty()) {
      fail(name + ": " + std::to_string(r.completed.size()) +
           " StepCompleted records; expected one, of step d1");
    } else {
      const json out = json::parse(r.completed[0].output, nullptr, false);
      if (!out.is_object() || out.value("event", json()) != in ||
          out.value("v", json()) != debounce_value(ref->g, ref->j)) {
        fail(name + ": step d1 recorded " + r.completed[0].output +
             "; it should have seen its own " + "event " + r.input + " and produced the value " +
             std::to_string(debounce_value(ref->g, ref->j)));
      }
    }
    if (!r.completions.empty() && json::parse(r.completions.front().second, nullptr, false) !=
                                      debounce_output(ref->g, ref->j)) {
      fail(name + ": output " + r.completions.front().second + ", expected " +
           debounce_output(ref->g, ref->j).dump());
    }
  }

  // An event of its key came before its deadline: it ended skipped, naming that event's run, and
  // never ran.
  void replaced(const Waiting& w, const RunFacts& by, uint64_t by_lsn, const std::string& key) {
    const RunFacts& r = *w.run;
    ++v_.summary.debounce_replaced;
    v_.summary.debounce_replaced_across_sends += by_lsn != w.lsn;
    const std::string name = keyed_run_name(r);
    const std::string expected = "debounce: replaced by run " + std::to_string(by.id) + " ";
    if (const std::string p = keyed_end_problem(r, false); !p.empty()) {
      fail(name + " should have been replaced by run " + std::to_string(by.id) + " (created " +
           std::to_string(by.created_us / 1000) + " ms, before its deadline " +
           std::to_string(w.deadline_ms) + " ms), but it " + p);
    } else if (const std::string& reason = r.skips.front().reason;
               !reason.starts_with(expected) || reason.find('"' + key + '"') == std::string::npos) {
      fail(name + " was skipped with \"" + reason + "\"; expected \"" + expected +
           "...\" naming key \"" + key + "\"");
    }
    if (!r.admissions.empty() || first_step_lsn(r) != 0) {
      fail(name + " was replaced, yet it was admitted or ran a step");
    }
  }

  const LogFacts& log_;
  const std::vector<KeyedBurst>& bursts_;
  CrashVerdict& v_;
  std::set<uint64_t> walked_;
};

}  // namespace

void check_debounce(const LogFacts& log, const std::vector<KeyedBurst>& bursts,
                    CrashVerdict* verdict) {
  DebounceChecker(log, bursts, verdict).run();
}

}  // namespace cairn::engine_crash
