// Check (h) of crash_checks.h: cron triggers across kills. Each trigger's records — its
// CronCursors and the RunCreated of its ticks — are walked in log order, the way the engine moves
// the trigger's cursor: tracking begins with a CronCursor; then each tick's run must be for the
// very next tick after the cursor, and each later CronCursor must skip exactly the ticks it
// counts. A tick run twice, lost, or run out of order breaks the walk, and the walk spans
// everything from where tracking began to the last tick recorded.
#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine_crash/crash_checks.h"
#include "engine_crash/timed_workload.h"

namespace cairn::engine_crash {
namespace {

// One record of a trigger: a tick's run or a CronCursor.
struct CronRecord {
  uint64_t lsn = 0;
  const RunFacts* run = nullptr;
  const CronCursorFact* cursor = nullptr;
};

std::string cron_run_name(const RunFacts& r) {
  return "run " + std::to_string(r.id) + " (" + r.function_id + ", tick " +
         std::to_string(r.cron_tick_ms) + ")";
}

// Ticks of the ticker in (after, until].
int64_t ticks_between(int64_t after, int64_t until) {
  if (until <= after) return 0;
  return (next_tick_after(until) - next_tick_after(after)) / kTickMs;
}

class CronChecker {
 public:
  CronChecker(const LogFacts& log, CrashVerdict* verdict) : log_(log), v_(*verdict) {}

  void run() {
    std::map<std::pair<std::string, std::string>, std::vector<CronRecord>> by_trigger;
    for (const CronCursorFact& c : log_.cron_cursors) {
      by_trigger[{c.function_id, c.expression}].push_back({c.lsn, nullptr, &c});
    }
    for (const auto& [id, r] : log_.runs) {
      if (r.cron_expression.empty()) {
        if (r.function_id == kTickerFunction) fail(cron_run_name(r) + " was not started by a tick");
        continue;
      }
      by_trigger[{r.function_id, r.cron_expression}].push_back({r.created_lsn, &r, nullptr});
    }
    for (auto& [trigger, records] : by_trigger) {
      if (trigger.first != kTickerFunction || trigger.second != kTickerCron) {
        fail("cron records of function " + trigger.first + " with expression \"" + trigger.second +
             "\": the workload has no such trigger");
        continue;
      }
      std::sort(records.begin(), records.end(),
                [](const CronRecord& a, const CronRecord& b) { return a.lsn < b.lsn; });
      walk(records);
    }
  }

 private:
  void fail(std::string what) { v_.violations.push_back(std::move(what)); }

  void walk(const std::vector<CronRecord>& records) {
    std::optional<int64_t> cursor;       // the last tick accounted for
    std::map<int64_t, uint64_t> run_of;  // tick -> its first run
    const RunFacts* newest = nullptr;    // the run of the largest tick
    for (const CronRecord& rec : records) {
      if (rec.cursor != nullptr) {
        moved_by_cursor(*rec.cursor, &cursor);
        continue;
      }
      const RunFacts& r = *rec.run;
      ++v_.summary.cron_runs;
      if (auto [it, added] = run_of.emplace(r.cron_tick_ms, r.id); !added) {
        fail("tick " + std::to_string(r.cron_tick_ms) +
             " has two runs: " + std::to_string(it->second) + " and " + std::to_string(r.id));
      }
      if (!cursor) {
        fail(cron_run_name(r) + " at LSN " + std::to_string(r.created_lsn) +
             " comes before any CronCursor: tracking never began");
      } else if (const int64_t expected = next_tick_after(*cursor); r.cron_tick_ms != expected) {
        fail(cron_run_name(r) + " at LSN " + std::to_string(r.created_lsn) +
             ": the next tick after the cursor " + std::to_string(*cursor) + " is " +
             std::to_string(expected) +
             (r.cron_tick_ms < expected
                  ? " (this tick was accounted for already: it ran twice or out of order)"
                  : "; " + std::to_string(ticks_between(*cursor, r.cron_tick_ms) - 1) +
                        " ticks before it have no run and no CronCursor skipping them"));
      }
      cursor = std::max(cursor.value_or(r.cron_tick_ms), r.cron_tick_ms);
      if (newest == nullptr || r.cron_tick_ms > newest->cron_tick_ms) newest = &r;
    }
    for (const auto& [tick, id] : run_of)
      check_tick_run(log_.runs.at(id), &log_.runs.at(id) == newest);
    if (newest != nullptr) {
      v_.summary.cron_last_tick_ms = std::max(v_.summary.cron_last_tick_ms, newest->cron_tick_ms);
    }
  }

  // The first CronCursor begins tracking (it skips nothing); later ones skip exactly the ticks
  // from the cursor up to theirs.
  void moved_by_cursor(const CronCursorFact& c, std::optional<int64_t>* cursor) {
    ++v_.summary.cron_cursors;
    v_.summary.cron_ticks_skipped += c.skipped_ticks;
    const std::string where = "CronCursor at LSN " + std::to_string(c.lsn) + " (tick " +
                              std::to_string(c.tick_ms) + ", " + std::to_string(c.skipped_ticks) +
                              " skipped)";
    if (!*cursor) {
      if (c.skipped_ticks != 0) fail(where + " begins tracking, yet skips ticks");
      *cursor = c.tick_ms;
      return;
    }
    const int64_t skipped = ticks_between(**cursor, c.tick_ms);
    if (c.skipped_ticks == 0 || c.tick_ms <= **cursor ||
        static_cast<uint64_t>(skipped) != c.skipped_ticks || c.tick_ms % kTickMs != 0) {
      fail(where + ": the cursor was at " + std::to_string(**cursor) + ", so it skips " +
           std::to_string(skipped) +
           " ticks (tracking begins once; later cursors only skip missed ticks)");
    }
    *cursor = std::max(**cursor, c.tick_ms);
  }

  // A tick's run: its event names the tick, it ran its one step and completed exactly once. The
  // newest may have no end: the final incarnation shuts down once it sees every run finished,
  // and a tick can come between the two.
  void check_tick_run(const RunFacts& r, bool newest) {
    const nlohmann::json in = nlohmann::json::parse(r.input, nullptr, false);
    if (!in.is_object() || in.value("tick_ms", int64_t{-1}) != r.cron_tick_ms ||
        in.value("cron", std::string()) != r.cron_expression) {
      fail(cron_run_name(r) + ": its event data " + r.input + " does not name its tick");
    }
    const size_t ends = r.completions.size() + r.failures.size() + r.cancellations + r.skips.size();
    if (ends == 0 && newest) {
      ++v_.summary.cron_unfinished_at_end;
      return;
    }
    if (ends != 1 || r.completions.size() != 1) {
      fail(cron_run_name(r) + " has " + std::to_string(r.completions.size()) + " RunCompleted, " +
           std::to_string(r.failures.size()) + " RunFailed, " + std::to_string(r.cancellations) +
           " RunCancelled and " + std::to_string(r.skips.size()) +
           " RunSkipped records; exactly one RunCompleted was expected");
    }
    if (r.completed.size() != 1 || r.completed[0].step_id != "tick" || !r.failed.empty()) {
      fail(cron_run_name(r) + ": " + std::to_string(r.completed.size()) +
           " StepCompleted records; expected one, of step tick");
    }
    if (!r.completions.empty() && nlohmann::json::parse(r.completions.front().second, nullptr,
                                                        false) != tick_output(r.cron_tick_ms)) {
      fail(cron_run_name(r) + ": output " + r.completions.front().second + ", expected " +
           tick_output(r.cron_tick_ms).dump());
    }
  }

  const LogFacts& log_;
  CrashVerdict& v_;
};

}  // namespace

void check_cron(const LogFacts& log, CrashVerdict* verdict) {
  CronChecker(log, verdict).run();
}

uint64_t cron_ticks_within(const LogFacts& log,
                           const std::vector<std::pair<int64_t, int64_t>>& intervals) {
  uint64_t n = 0;
  for (const auto& entry : log.runs) {
    const int64_t tick = entry.second.cron_tick_ms;
    if (entry.second.cron_expression.empty()) continue;
    n += std::any_of(intervals.begin(), intervals.end(),
                     [&](const auto& span) { return span.first <= tick && tick <= span.second; });
  }
  return n;
}

}  // namespace cairn::engine_crash
