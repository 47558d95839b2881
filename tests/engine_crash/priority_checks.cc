// Check (p) of crash_checks.h: priority across kills. Every run of "ranked" (a concurrency limit
// of 1, priority data.p) completes once with its step's value: queueing by priority never loses
// or repeats a run. Which runs started first is only counted (a restart queues the unfinished
// runs again, so a kill may reorder them): within one send(), after the run that started first,
// a run that started before another of higher priority (or of equal priority and created
// earlier) is an inversion. The checks' unit test, whose child is never killed, expects none.
#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>

#include "engine_crash/crash_checks.h"
#include "engine_crash/guard_timeline.h"

namespace cairn::engine_crash {
namespace {

using nlohmann::json;

class PriorityChecker {
 public:
  PriorityChecker(const LogFacts& log, uint64_t seed, const std::vector<GuardBurst>& bursts,
                  CrashVerdict* verdict)
      : log_(log), seed_(seed), bursts_(bursts), v_(*verdict) {}

  void run() {
    check_guard_events(log_, seed_, GuardKind::kRanked, bursts_, &v_);
    std::map<uint64_t, std::vector<const GuardRun*>> by_send;  // event LSN -> its runs
    const auto by_key = guard_runs_by_key(log_, GuardKind::kRanked, &v_);
    for (const auto& [key, runs] : by_key) {
      for (const GuardRun& g : runs) {
        ++v_.summary.ranked_runs;
        if (const std::string p = guard_end_problem(*g.run, "RunCompleted"); !p.empty()) {
          fail(guard_run_name(*g.run) + ": a queued run must complete once, but it " + p);
        }
        check_guard_completed(g, GuardKind::kRanked, /*admitted=*/false, &v_);
        if (!g.run->completed.empty()) by_send[g.created.lsn].push_back(&g);
      }
    }
    for (auto& [lsn, runs] : by_send) count_inversions(runs);
  }

 private:
  void fail(std::string what) { v_.violations.push_back(std::move(what)); }

  static int priority_of(const RunFacts& r) {
    const json in = json::parse(r.input, nullptr, false);
    return in.is_object() && in.contains("p") && in["p"].is_number_integer() ? in["p"].get<int>()
                                                                             : 0;
  }

  // The runs of one send(), in the order they started (their step's record: one slot, one run
  // at a time). The first may have found the slot free; the others queued together.
  void count_inversions(std::vector<const GuardRun*>& runs) {
    std::sort(runs.begin(), runs.end(), [](const GuardRun* a, const GuardRun* b) {
      return a->run->completed.front().lsn < b->run->completed.front().lsn;
    });
    for (size_t a = 1; a < runs.size(); ++a) {
      for (size_t b = a + 1; b < runs.size(); ++b) {
        const int pa = priority_of(*runs[a]->run);
        const int pb = priority_of(*runs[b]->run);
        ++v_.summary.ranked_pairs;
        v_.summary.ranked_inversions +=
            pa < pb || (pa == pb && runs[a]->run->id > runs[b]->run->id);
      }
    }
  }

  const LogFacts& log_;
  const uint64_t seed_;
  const std::vector<GuardBurst>& bursts_;
  CrashVerdict& v_;
};

}  // namespace

void check_priority(const LogFacts& log, uint64_t seed, const std::vector<GuardBurst>& bursts,
                    CrashVerdict* verdict) {
  PriorityChecker(log, seed, bursts, verdict).run();
}

}  // namespace cairn::engine_crash
