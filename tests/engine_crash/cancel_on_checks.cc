// Check (o) of crash_checks.h: cancel_on across kills. The log decides: a run of "cancellable"
// whose key a (not duplicate) "halt" event names after the run's creation and before its end is
// stopped by it — also when a kill came between the halt and the RunCancelled — so after the
// halt it carries on by at most one record (the step in flight, or a RunCompleted the worker was
// already appending when the halt was applied: it checks for a stop before it records the end,
// and the end's append is the one moment left) and, unless that
// one was its RunCompleted, ends cancelled once, naming that (first) halt, with nothing recorded
// after its RunCancelled. Every other run completes (a halt before its creation, or after its
// end, changes nothing). Every halt the driver sends is in the log once and starts nothing.
#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "engine_crash/crash_checks.h"
#include "engine_crash/guard_timeline.h"

namespace cairn::engine_crash {
namespace {

using nlohmann::json;

struct Halt {
  LogPlace place;
  const EventFact* event = nullptr;
};

class CancelOnChecker {
 public:
  CancelOnChecker(const LogFacts& log, uint64_t seed, const std::vector<GuardBurst>& bursts,
                  CrashVerdict* verdict)
      : log_(log), seed_(seed), bursts_(bursts), v_(*verdict) {}

  void run() {
    check_guard_events(log_, seed_, GuardKind::kCancellable, bursts_, &v_);
    check_halts();
    for (const auto& [key, runs] : guard_runs_by_key(log_, GuardKind::kCancellable, &v_)) {
      for (const GuardRun& g : runs) check_run(g);
    }
  }

 private:
  void fail(std::string what) { v_.violations.push_back(std::move(what)); }

  // Every halt of halts_sent_with() is in the log once, as sent, starting nothing; the first
  // acceptance of each (a resend comes back as a duplicate) is what may cancel a run.
  void check_halts() {
    std::map<std::string, json> expected;
    for (uint64_t g = 1; g <= bursts_.size() + 1; ++g) {
      for (const auto& [hg, hj] : halts_sent_with(seed_, g, bursts_.size()))
        expected[halt_event_id(hg, hj)] = halt_event_data(hg, hj);
    }
    std::set<std::string> seen;
    for (size_t i = 0; i < log_.events.size(); ++i) {
      const EventFact& e = log_.events[i];
      if (e.name != kHaltEvent) continue;
      const std::string where = "event " + e.id + " (halt) at LSN " + std::to_string(e.lsn);
      auto it = expected.find(e.id);
      if (it == expected.end()) {
        fail(where + ": the driver never sends it");
      } else if (json::parse(e.data, nullptr, false) != it->second) {
        fail(where + ": data " + e.data + " is not what was sent");
      }
      if (e.has_origin || !e.functions.empty()) fail(where + ": starts a run");
      if (e.duplicate) continue;
      if (!seen.insert(e.id).second) fail(where + ": accepted a second time");
      const json data = json::parse(e.data, nullptr, false);
      if (data.is_object() && data.contains("key") && data["key"].is_string()) {
        halts_[data["key"].get<std::string>()].push_back({{e.lsn, i + 1}, &e});
      }
    }
    v_.summary.halt_events = seen.size();
    if (seen.empty()) return;
    for (const auto& [id, data] : expected) {
      if (!seen.contains(id)) fail("event " + id + " is not in the log");
    }
  }

  void check_run(const GuardRun& g) {
    ++v_.summary.cancellable_runs;
    const RunFacts& r = *g.run;
    const std::string name = guard_run_name(r);
    const Halt* halt = nullptr;  // the first after the run's creation
    uint64_t early = 0;
    if (auto it = halts_.find(g.key); it != halts_.end()) {
      for (const Halt& h : it->second) {
        if (h.place < g.created) {
          ++early;
        } else if (halt == nullptr) {
          halt = &h;
        }
      }
    }
    v_.summary.cancellable_early_halts += early;
    const uint64_t end = r.finished_lsn == 0 ? UINT64_MAX : r.finished_lsn;
    if (halt == nullptr || halt->place.lsn > end) {
      v_.summary.cancellable_halted_after_end += halt != nullptr;
      if (const std::string p = guard_end_problem(r, "RunCompleted"); !p.empty()) {
        fail(name +
             (halt == nullptr ? std::string(" had no halt after its creation")
                              : " was halted only after it ended (at LSN " +
                                    std::to_string(halt->place.lsn) + ")") +
             ", so it should have completed, but it " + p +
             (r.cancels.empty() ? "" : " (cancelled: " + r.cancels.front().reason + ")"));
      }
      check_guard_completed(g, GuardKind::kCancellable, /*admitted=*/false, &v_);
      return;
    }
    if (const uint32_t on = guard_went_on_after(r, halt->place.lsn); on > 1) {
      fail(name + " went on after the halt " + halt->event->id + " at LSN " +
           std::to_string(halt->place.lsn) + ": " + std::to_string(on) +
           " step records or RunCompleted after it; at most the step in flight");
    }
    if (r.cancels.empty() && r.completions.size() == 1 &&
        guard_went_on_after(r, halt->place.lsn) == 1 &&
        guard_steps_after(r, halt->place.lsn) == 0) {
      // The halt came between its last step's record and its RunCompleted.
      ++v_.summary.cancellable_completed_at_halt;
      check_guard_completed(g, GuardKind::kCancellable, /*admitted=*/false, &v_);
      return;
    }
    ++v_.summary.cancellable_cancelled;
    v_.summary.cancellable_cancelled_holding += holding_at(r, halt->place.lsn);
    const std::string expected =
        "cancel_on: event halt (id " + halt->event->id + ") with the same data.key";
    if (const std::string p = guard_end_problem(r, "RunCancelled"); !p.empty()) {
      fail(name + ": the halt " + halt->event->id + " at LSN " + std::to_string(halt->place.lsn) +
           " came before it ended, so it should have been cancelled, but it " + p);
    } else if (r.cancels.front().reason != expected) {
      fail(name + " was cancelled with \"" + r.cancels.front().reason + "\"; expected \"" +
           expected + "\"");
    }
    check_guard_cut_short(g, GuardKind::kCancellable, &v_);
  }

  // The run was in its hold (sleeping or waiting) at `lsn`: the hold had begun and not ended.
  static bool holding_at(const RunFacts& r, uint64_t lsn) {
    const auto before = [&](const OpFact& o) { return o.lsn < lsn; };
    const bool began = std::any_of(r.sleeps.begin(), r.sleeps.end(), before) ||
                       std::any_of(r.waits.begin(), r.waits.end(), before);
    const bool ended = std::any_of(r.resumes.begin(), r.resumes.end(), before);
    return began && !ended;
  }

  const LogFacts& log_;
  const uint64_t seed_;
  const std::vector<GuardBurst>& bursts_;
  CrashVerdict& v_;
  std::map<std::string, std::vector<Halt>> halts_;  // key -> its halts in log order
};

}  // namespace

void check_cancel_on(const LogFacts& log, uint64_t seed, const std::vector<GuardBurst>& bursts,
                     CrashVerdict* verdict) {
  CancelOnChecker(log, seed, bursts, verdict).run();
}

}  // namespace cairn::engine_crash
