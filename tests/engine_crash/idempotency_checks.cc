// Check (l) of crash_checks.h: idempotency across kills. Each key's runs are walked in the order
// their events are in the log, the way the engine decides them: a run whose key no run started
// within the window before it starts (one RunAdmitted, completes once) and from then holds the
// key; every other run ends skipped once, naming the run that holds the key. A kill between a
// decision and its RunAdmitted must not let a key start two runs.
#include <string>

#include "engine_crash/crash_checks.h"
#include "engine_crash/guard_timeline.h"

namespace cairn::engine_crash {
namespace {

class IdempotencyChecker {
 public:
  IdempotencyChecker(const LogFacts& log, uint64_t seed, const std::vector<GuardBurst>& bursts,
                     CrashVerdict* verdict)
      : log_(log), seed_(seed), bursts_(bursts), v_(*verdict) {}

  void run() {
    v_.summary.once_events = check_guard_events(log_, seed_, GuardKind::kOnce, bursts_, &v_);
    for (const auto& [key, runs] : guard_runs_by_key(log_, GuardKind::kOnce, &v_)) {
      ++v_.summary.once_keys;
      walk(key, runs);
    }
  }

 private:
  void fail(std::string what) { v_.violations.push_back(std::move(what)); }

  void walk(const std::string& key, const std::vector<GuardRun>& runs) {
    const GuardRun* holder = nullptr;  // the run that started the key last
    int64_t held_since_ms = 0;         // its RunAdmitted's decision time
    for (const GuardRun& g : runs) {
      const RunFacts& r = *g.run;
      const std::string name = guard_run_name(r);
      if (!r.admissions.empty()) {
        const int64_t at = r.admissions.front().at_ms;
        if (holder != nullptr && at - held_since_ms < kOnceWindowMs) {
          fail(name + " was admitted at " + std::to_string(at) + " ms, but run " +
               std::to_string(holder->run->id) + " started key \"" + key + "\" at " +
               std::to_string(held_since_ms) + " ms, within the window of " +
               std::to_string(kOnceWindowMs) + " ms: two runs of one idempotency key");
        }
        started(g);
        holder = &g;
        held_since_ms = at;
        continue;
      }
      if (r.skips.empty()) {
        fail(name + " was neither admitted nor skipped (" + guard_end_problem(r, "RunSkipped") +
             ")");
        continue;
      }
      if (holder == nullptr || r.created_us / 1000 - held_since_ms >= kOnceWindowMs) {
        fail(name + " was skipped (\"" + r.skips.front().reason + "\"), but no run of key \"" +
             key + "\" started within the window before it was created: it should have started");
        continue;
      }
      skipped(g, *holder, key);
    }
  }

  void started(const GuardRun& g) {
    ++v_.summary.once_started;
    const RunFacts& r = *g.run;
    if (const std::string p = guard_end_problem(r, "RunCompleted"); !p.empty()) {
      fail(guard_run_name(r) + " started its key's run, but it " + p);
    }
    check_guard_completed(g, GuardKind::kOnce, /*admitted=*/true, &v_);
  }

  void skipped(const GuardRun& g, const GuardRun& holder, const std::string& key) {
    ++v_.summary.once_skipped;
    v_.summary.once_skipped_across_sends += g.created.lsn != holder.created.lsn;
    const RunFacts& r = *g.run;
    const std::string name = guard_run_name(r);
    const std::string expected = "idempotency key \"" + key + "\" already started run " +
                                 std::to_string(holder.run->id) + " within " +
                                 std::to_string(kOnceWindowMs) + " ms";
    if (const std::string p = guard_end_problem(r, "RunSkipped"); !p.empty()) {
      fail(name + " is a duplicate of run " + std::to_string(holder.run->id) + ", but it " + p);
    } else if (r.skips.front().reason != expected) {
      fail(name + " was skipped with \"" + r.skips.front().reason + "\"; expected \"" + expected +
           "\"");
    }
    if (first_step_lsn(r) != 0) fail(name + " was skipped, yet it ran a step");
  }

  const LogFacts& log_;
  const uint64_t seed_;
  const std::vector<GuardBurst>& bursts_;
  CrashVerdict& v_;
};

}  // namespace

void check_idempotency(const LogFacts& log, uint64_t seed, const std::vector<GuardBurst>& bursts,
                       CrashVerdict* verdict) {
  IdempotencyChecker(log, seed, bursts, verdict).run();
}

}  // namespace cairn::engine_crash
