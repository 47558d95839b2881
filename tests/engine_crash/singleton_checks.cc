// Checks (m) and (n) of crash_checks.h: singletons across kills. Per key of "solo" (kSkip), the
// runs it admitted never overlap in the log (each RunAdmitted comes after the previous admitted
// run's end) and each other run ends skipped once, naming a run of its key that was admitted and
// unfinished when the skipped one was created. Per key of "latest" (kCancelRunning), each run
// ends once, completed or cancelled "singleton: replaced by run N" by a run N of its key decided
// while it was unfinished; a run that another's admission overtook is cancelled (or had only its
// RunCompleted left to record), and records at most one step after that admission and nothing
// after its RunCancelled.
#include <algorithm>
#include <string>

#include "engine_crash/crash_checks.h"
#include "engine_crash/guard_timeline.h"

namespace cairn::engine_crash {
namespace {

// Admitted runs of one key, by their RunAdmitted's LSN.
std::vector<const GuardRun*> admitted_in_log_order(const std::vector<GuardRun>& runs) {
  std::vector<const GuardRun*> out;
  for (const GuardRun& g : runs) {
    if (!g.run->admissions.empty()) out.push_back(&g);
  }
  std::sort(out.begin(), out.end(), [](const GuardRun* a, const GuardRun* b) {
    return a->run->admissions.front().lsn < b->run->admissions.front().lsn;
  });
  return out;
}

// The run's end, or "never" for a run that did not end (it still holds its key at the end).
uint64_t end_lsn(const RunFacts& r) {
  return r.finished_lsn == 0 ? UINT64_MAX : r.finished_lsn;
}

const GuardRun* find_run(const std::vector<GuardRun>& runs, uint64_t id) {
  for (const GuardRun& g : runs) {
    if (g.run->id == id) return &g;
  }
  return nullptr;
}

// The run a reason "<prefix><digits><rest>" names (0: it does not have that form).
uint64_t run_named(const std::string& reason, const std::string& prefix) {
  if (!reason.starts_with(prefix)) return 0;
  return std::strtoull(reason.c_str() + prefix.size(), nullptr, 10);
}

class SoloChecker {
 public:
  SoloChecker(const LogFacts& log, uint64_t seed, const std::vector<GuardBurst>& bursts,
              CrashVerdict* verdict)
      : log_(log), seed_(seed), bursts_(bursts), v_(*verdict) {}

  void run() {
    check_guard_events(log_, seed_, GuardKind::kSolo, bursts_, &v_);
    for (const auto& [key, runs] : guard_runs_by_key(log_, GuardKind::kSolo, &v_)) {
      check_no_overlap(key, runs);
      for (const GuardRun& g : runs) {
        ++v_.summary.solo_runs;
        if (g.run->admissions.empty()) {
          check_skipped(g, key, runs);
        } else {
          ++v_.summary.solo_completed;
          if (const std::string p = guard_end_problem(*g.run, "RunCompleted"); !p.empty()) {
            fail(guard_run_name(*g.run) + " was admitted; nothing stops it, but it " + p);
          }
          check_guard_completed(g, GuardKind::kSolo, /*admitted=*/true, &v_);
        }
      }
    }
  }

 private:
  void fail(std::string what) { v_.violations.push_back(std::move(what)); }

  // Never two admitted unfinished runs of a key: each admission after the previous one's end.
  void check_no_overlap(const std::string& key, const std::vector<GuardRun>& runs) {
    const std::vector<const GuardRun*> admitted = admitted_in_log_order(runs);
    for (size_t i = 1; i < admitted.size(); ++i) {
      const RunFacts& a = *admitted[i - 1]->run;
      const RunFacts& b = *admitted[i]->run;
      if (b.admissions.front().lsn < end_lsn(a)) {
        fail("singleton key \"" + key + "\" held twice: " + guard_run_name(b) +
             " was admitted at LSN " + std::to_string(b.admissions.front().lsn) + " while " +
             guard_run_name(a) + ", admitted at LSN " + std::to_string(a.admissions.front().lsn) +
             ", was unfinished (it ended at LSN " + std::to_string(a.finished_lsn) + ")");
      }
    }
  }

  // A run of the key held it when `g` was created: admitted, created before it, not ended yet.
  static bool held_at_creation(const GuardRun& g, const std::vector<GuardRun>& runs) {
    return std::any_of(runs.begin(), runs.end(), [&](const GuardRun& h) {
      return h.created < g.created && !h.run->admissions.empty() && end_lsn(*h.run) > g.created.lsn;
    });
  }

  void check_skipped(const GuardRun& g, const std::string& key, const std::vector<GuardRun>& runs) {
    ++v_.summary.solo_skipped;
    const RunFacts& r = *g.run;
    const std::string name = guard_run_name(r);
    if (const std::string p = guard_end_problem(r, "RunSkipped"); !p.empty()) {
      fail(name + " was not admitted, so it should have been skipped, but it " + p);
      return;
    }
    if (first_step_lsn(r) != 0) fail(name + " was skipped, yet it ran a step");
    const std::string& reason = r.skips.front().reason;
    const uint64_t n = run_named(reason, "singleton: run ");
    const GuardRun* holder = find_run(runs, n);
    if (holder == nullptr || holder == &g ||
        reason !=
            "singleton: run " + std::to_string(n) + " of key \"" + key + "\" is not finished") {
      fail(name + " was skipped with \"" + reason + "\"; expected \"singleton: run N of key \\\"" +
           key + "\\\" is not finished\" naming another run of its key");
      return;
    }
    if (holder->run->admissions.empty() || end_lsn(*holder->run) <= g.created.lsn) {
      fail(name + " was skipped for run " + std::to_string(n) + ", which " +
           (holder->run->admissions.empty()
                ? std::string("was never admitted")
                : "had ended at LSN " + std::to_string(holder->run->finished_lsn) +
                      ", before the skipped run was created at LSN " +
                      std::to_string(g.created.lsn)));
    }
    if (!held_at_creation(g, runs)) {
      fail(name + " was skipped, but no run of key \"" + key +
           "\" created before it was admitted and unfinished when it was created");
    }
    v_.summary.solo_skipped_across_sends += holder->created.lsn != g.created.lsn;
  }

  const LogFacts& log_;
  const uint64_t seed_;
  const std::vector<GuardBurst>& bursts_;
  CrashVerdict& v_;
};

class LatestChecker {
 public:
  LatestChecker(const LogFacts& log, uint64_t seed, const std::vector<GuardBurst>& bursts,
                CrashVerdict* verdict)
      : log_(log), seed_(seed), bursts_(bursts), v_(*verdict) {}

  void run() {
    check_guard_events(log_, seed_, GuardKind::kLatest, bursts_, &v_);
    for (const auto& [key, runs] : guard_runs_by_key(log_, GuardKind::kLatest, &v_)) {
      check_overtaken_are_cancelled(runs);
      for (const GuardRun& g : runs) {
        ++v_.summary.latest_runs;
        if (!g.run->cancels.empty()) {
          check_replaced(g, key, runs);
        } else {
          ++v_.summary.latest_completed;
          if (const std::string p = guard_end_problem(*g.run, "RunCompleted"); !p.empty()) {
            fail(guard_run_name(*g.run) + " was never replaced, but it " + p);
          }
          check_guard_completed(g, GuardKind::kLatest, /*admitted=*/true, &v_);
        }
      }
    }
  }

 private:
  void fail(std::string what) { v_.violations.push_back(std::move(what)); }

  // A run admitted while another run of its key was admitted and unfinished replaced it: the
  // older one must end cancelled — unless the replacement came after its last step's record and
  // only its RunCompleted followed (its worker had passed the last step boundary: see (o)).
  void check_overtaken_are_cancelled(const std::vector<GuardRun>& runs) {
    const std::vector<const GuardRun*> admitted = admitted_in_log_order(runs);
    for (size_t i = 1; i < admitted.size(); ++i) {
      const RunFacts& a = *admitted[i - 1]->run;
      const RunFacts& b = *admitted[i]->run;
      const uint64_t at = b.admissions.front().lsn;
      if (at > end_lsn(a) || !a.cancels.empty()) continue;
      if (a.completions.size() == 1 && guard_steps_after(a, at) == 0) {
        ++v_.summary.latest_completed_at_replacement;
        continue;
      }
      fail(guard_run_name(a) + " was not cancelled, though " + guard_run_name(b) +
           " was admitted at LSN " + std::to_string(at) + " before it ended (at LSN " +
           std::to_string(a.finished_lsn) + ") and it recorded " +
           std::to_string(guard_steps_after(a, at)) + " step records after that");
    }
  }

  void check_replaced(const GuardRun& g, const std::string& key,
                      const std::vector<GuardRun>& runs) {
    ++v_.summary.latest_replaced;
    const RunFacts& r = *g.run;
    const std::string name = guard_run_name(r);
    if (const std::string p = guard_end_problem(r, "RunCancelled"); !p.empty()) {
      fail(name + " was cancelled, but it " + p);
    }
    check_guard_cut_short(g, GuardKind::kLatest, &v_);
    const std::string& reason = r.cancels.front().reason;
    const uint64_t n = run_named(reason, "singleton: replaced by run ");
    const GuardRun* by = find_run(runs, n);
    if (by == nullptr || by == &g || reason != "singleton: replaced by run " + std::to_string(n)) {
      fail(name + " was cancelled with \"" + reason +
           "\"; expected \"singleton: replaced by run N\" naming another run of key \"" + key +
           "\"");
      return;
    }
    if (end_lsn(r) <= by->created.lsn) {
      fail(name + " was replaced by run " + std::to_string(n) + ", created at LSN " +
           std::to_string(by->created.lsn) + ", after it had already ended");
    }
    v_.summary.latest_replaced_across_sends += by->created.lsn != g.created.lsn;
    v_.summary.latest_replaced_by_older += n < r.id;
    // Two runs of one key overlap by at most the step the old one is in.
    if (!by->run->admissions.empty()) {
      const uint32_t after = guard_steps_after(r, by->run->admissions.front().lsn);
      v_.summary.latest_overlap_steps += after;
      if (after > 1) {
        fail(name + " recorded " + std::to_string(after) + " step records after run " +
             std::to_string(n) + ", which replaced it, was admitted at LSN " +
             std::to_string(by->run->admissions.front().lsn) + "; at most the step in flight");
      }
    }
  }

  const LogFacts& log_;
  const uint64_t seed_;
  const std::vector<GuardBurst>& bursts_;
  CrashVerdict& v_;
};

}  // namespace

void check_singleton_skip(const LogFacts& log, uint64_t seed, const std::vector<GuardBurst>& bursts,
                          CrashVerdict* verdict) {
  SoloChecker(log, seed, bursts, verdict).run();
}

void check_singleton_cancel(const LogFacts& log, uint64_t seed,
                            const std::vector<GuardBurst>& bursts, CrashVerdict* verdict) {
  LatestChecker(log, seed, bursts, verdict).run();
}

}  // namespace cairn::engine_crash
