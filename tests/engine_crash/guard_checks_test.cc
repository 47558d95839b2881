// The guarded functions' checks (l) to (p) can fail: a fabricated history of each — runs of a key
// started and skipped, replaced, halted before, during and after their hold, queued by priority —
// passes, and each kind of wrong history the crash test looks for is planted in a copy and must
// be reported. (Made up rather than taken from a child: which runs overlap depends on the
// machine's speed and on where the kills fall.)
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "cairn/schema/record_schema.h"
#include "engine_crash/crash_checks.h"
#include "engine_crash/fast_clock.h"
#include "engine_crash/guard_workload.h"
#include "engine_crash/log_facts.h"
#include "engine_crash/planted_history.h"

namespace cairn::engine_crash {
namespace {

using nlohmann::json;

constexpr int64_t kGuardT0 = kFastClockStartMs + 1'000;
constexpr uint64_t kGuardSeed = 5;

class GuardHistory : public PlantedHistory {
 protected:
  // One send() of a burst: its events share one record.
  std::vector<RunFacts*> send(GuardBurst b, int64_t at_ms = kGuardT0) {
    bursts.push_back(b);
    const uint64_t lsn = next_lsn();
    std::vector<RunFacts*> runs;
    for (uint32_t j = 0; j < b.size; ++j) {
      EventFact e;
      e.lsn = lsn;
      e.id = guard_event_id(b.kind, b.g, j);
      e.name = std::string(guard_function(b.kind));
      e.data = guard_event_data(kGuardSeed, b, j).dump();
      e.functions = {e.name};
      const std::string function = e.name;
      runs.push_back(&accept_with_run(std::move(e), function, at_ms * 1000));
    }
    return runs;
  }

  void halt(uint64_t g, uint32_t j) {
    EventFact e;
    e.lsn = next_lsn();
    e.id = halt_event_id(g, j);
    e.name = std::string(kHaltEvent);
    e.data = halt_event_data(g, j).dump();
    facts.events.push_back(std::move(e));
  }

  void admit(RunFacts& r, int64_t at_ms = kGuardT0) {
    AdmittedFact a{};
    a.lsn = next_lsn();
    a.at_ms = at_ms;
    a.started_ms = at_ms;
    r.admissions.push_back(a);
  }

  // Step n (1-based) of the run's kind, recorded at attempt 1 with its value.
  void step(RunFacts& r, GuardKind kind, uint32_t n) {
    const json in = json::parse(r.input);
    const uint64_t v = guard_value(kind, in["g"], in["j"], n);
    r.completed.push_back({next_lsn(), n == 1 ? 0u : 2u, guard_steps(kind).at(n - 1), 1,
                           json{{"v", v}, {"inc", 1}, {"n", r.id * 10 + n}}.dump()});
  }
  void hold(RunFacts& r, bool wait = false) {
    OpFact o;
    o.lsn = next_lsn();
    o.position = 1;
    o.step_id = "hold";
    (wait ? r.waits : r.sleeps).push_back(o);
  }
  void resume(RunFacts& r) {
    OpFact o;
    o.lsn = next_lsn();
    o.position = 1;
    r.resumes.push_back(o);
  }

  // Every step of its kind (the hold between two), then RunCompleted with its output.
  void finish(RunFacts& r, GuardKind kind) {
    const size_t steps = guard_steps(kind).size();
    for (uint32_t n = 1; n <= steps; ++n) {
      if (r.completed.size() < n) {
        if (n == 2 && r.sleeps.empty() && r.waits.empty()) hold(r);
        if (n == 2 && r.resumes.empty()) resume(r);
        step(r, kind, n);
      }
    }
    const json in = json::parse(r.input);
    r.completions.emplace_back(next_lsn(), guard_output(kind, in["g"], in["j"]).dump());
    r.finished_lsn = r.completions.back().first;
  }

  void cancel(RunFacts& r, std::string reason) {
    ++r.cancellations;
    r.cancels.push_back({next_lsn(), std::move(reason), 0});
    r.finished_lsn = r.cancels.back().lsn;
  }

  // Takes the run's end back (to plant another).
  static void unfinish(RunFacts& r) {
    r.completions.clear();
    r.skips.clear();
    r.cancels.clear();
    r.cancellations = 0;
    r.finished_lsn = 0;
  }

  std::vector<GuardBurst> bursts;
};

std::string id_of(const RunFacts* r) {
  return std::to_string(r->id);
}

// ---------------------------------------------------------------------------------------------
// Idempotency: key i0 (bursts 1..3) gets two events at once and one more later; key i1 (bursts
// 4..6) one, then two at once. The first run of each key starts, the others are skipped for it.
class IdempotencyChecksTest : public GuardHistory {
 protected:
  void SetUp() override {
    constexpr auto kO = GuardKind::kOnce;
    const auto b1 = send({kO, 1, 2});
    a = b1[0];
    b = b1[1];
    c = send({kO, 3, 1})[0];
    d = send({kO, 4, 1})[0];
    const auto b6 = send({kO, 6, 2});
    e = b6[0];
    f = b6[1];
    admit(*a);
    skip(*b, duplicate_of(*a, "i0"));
    finish(*a, kO);
    skip(*c, duplicate_of(*a, "i0"));
    admit(*d, kGuardT0 + 5'000);
    finish(*d, kO);
    skip(*e, duplicate_of(*d, "i1"));
    skip(*f, duplicate_of(*d, "i1"));
  }

  static std::string duplicate_of(const RunFacts& holder, const std::string& key) {
    return "idempotency key \"" + key + "\" already started run " + id_of(&holder) + " within " +
           std::to_string(kOnceWindowMs) + " ms";
  }

  CrashVerdict verdict() const override {
    CrashVerdict v;
    check_idempotency(facts, kGuardSeed, bursts, &v);
    return v;
  }

  RunFacts *a, *b, *c, *d, *e, *f;
};

TEST_F(IdempotencyChecksTest, AHistoryWithOneRunPerKeyPasses) {
  const CrashVerdict v = verdict();
  EXPECT_TRUE(v.violations.empty()) << all_violations();
  EXPECT_EQ(v.summary.once_events, 6u);
  EXPECT_EQ(v.summary.once_keys, 2u);
  EXPECT_EQ(v.summary.once_started, 2u);
  EXPECT_EQ(v.summary.once_skipped, 4u);
  EXPECT_EQ(v.summary.once_skipped_across_sends, 3u);
}

// What a kill between a duplicate's decision and its record must not do: start it as well.
TEST_F(IdempotencyChecksTest, ASecondRunOfAKeyStartedIsReported) {
  unfinish(*c);
  admit(*c, kGuardT0 + 60'000);
  finish(*c, GuardKind::kOnce);
  EXPECT_TRUE(reported("run " + id_of(c) + " (once, once-3-0) was admitted at"));
  EXPECT_TRUE(reported("two runs of one idempotency key"));
}

// Once the window has passed, the key's next run starts and holds the key for a window of its
// own: a third run right after it must be skipped (the engine kept the old holder until its
// once-a-minute sweep and started every run of the key meanwhile).
TEST_F(IdempotencyChecksTest, ARunWithinTheWindowOfARunThatTookOverTheKeyIsReported) {
  unfinish(*e);
  unfinish(*f);
  e->created_us = (kGuardT0 + 5'000 + kOnceWindowMs) * 1000;
  f->created_us = e->created_us;
  admit(*e, kGuardT0 + 5'000 + kOnceWindowMs);  // the window of d has just passed: it starts
  finish(*e, GuardKind::kOnce);
  skip(*f, duplicate_of(*e, "i1"));
  EXPECT_TRUE(verdict().violations.empty()) << all_violations();
  unfinish(*f);
  admit(*f, kGuardT0 + 5'000 + kOnceWindowMs + 1'000);
  finish(*f, GuardKind::kOnce);
  EXPECT_TRUE(reported("run " + id_of(f) + " (once, once-6-1) was admitted at"));
}

TEST_F(IdempotencyChecksTest, ASkipNamingAnotherRunIsReported) {
  c->skips.front().reason = duplicate_of(*b, "i0");
  EXPECT_TRUE(reported("expected \"" + duplicate_of(*a, "i0") + "\""));
}

TEST_F(IdempotencyChecksTest, AFirstRunThatWasSkippedIsReported) {
  unfinish(*a);
  a->admissions.clear();
  a->completed.clear();
  skip(*a, duplicate_of(*b, "i0"));
  EXPECT_TRUE(reported("it should have started"));
}

TEST_F(IdempotencyChecksTest, ASkippedRunThatRanOrEndedTwiceIsReported) {
  step(*b, GuardKind::kOnce, 1);
  EXPECT_TRUE(reported("was skipped, yet it ran a step"));
  skip(*e, duplicate_of(*d, "i1"));
  EXPECT_TRUE(reported("has 0 RunCompleted, 2 RunSkipped"));
  a->completions.clear();
  EXPECT_TRUE(
      reported("run " + id_of(a) + " (once, once-1-0) started its key's run, but it has 0"));
}

TEST_F(IdempotencyChecksTest, ALostEventIsReported) {
  facts.runs.erase(c->id);
  facts.events.erase(facts.events.begin() + 2);  // c's
  EXPECT_TRUE(reported("event once-3-0 is not in the log"));
}

// ---------------------------------------------------------------------------------------------
// Singleton kSkip: key s0 gets two events at once (the second is skipped), one more while the
// first runs (skipped), and one after it ended (starts); key s1 one.
class SoloChecksTest : public GuardHistory {
 protected:
  void SetUp() override {
    constexpr auto kS = GuardKind::kSolo;
    const auto b1 = send({kS, 1, 2, 0});
    a = b1[0];
    b = b1[1];
    admit(*a);
    skip(*b, held_by(*a, "s0"));
    c = send({kS, 2, 1, 0})[0];
    skip(*c, held_by(*a, "s0"));
    finish(*a, kS);
    d = send({kS, 3, 1, 0})[0];
    admit(*d);
    e = send({kS, 4, 1, 1})[0];
    admit(*e);
    finish(*d, kS);
    finish(*e, kS);
  }

  static std::string held_by(const RunFacts& holder, const std::string& key) {
    return "singleton: run " + id_of(&holder) + " of key \"" + key + "\" is not finished";
  }

  CrashVerdict verdict() const override {
    CrashVerdict v;
    check_singleton_skip(facts, kGuardSeed, bursts, &v);
    return v;
  }

  RunFacts *a, *b, *c, *d, *e;
};

TEST_F(SoloChecksTest, AHistoryWithOneRunPerKeyAtATimePasses) {
  const CrashVerdict v = verdict();
  EXPECT_TRUE(v.violations.empty()) << all_violations();
  EXPECT_EQ(v.summary.solo_runs, 5u);
  EXPECT_EQ(v.summary.solo_completed, 3u);
  EXPECT_EQ(v.summary.solo_skipped, 2u);
  EXPECT_EQ(v.summary.solo_skipped_across_sends, 1u);
}

TEST_F(SoloChecksTest, ARunAdmittedWhileItsKeyWasHeldIsReported) {
  unfinish(*c);
  c->admissions.push_back(
      {a->admissions.front().lsn + 1, kGuardT0, false, false, "", "", kGuardT0});
  finish(*c, GuardKind::kSolo);
  EXPECT_TRUE(reported("singleton key \"s0\" held twice: run " + id_of(c)));
}

TEST_F(SoloChecksTest, ASkipForARunThatHadEndedIsReported) {
  unfinish(*d);
  d->admissions.clear();
  d->completed.clear();
  d->sleeps.clear();
  d->resumes.clear();
  skip(*d, held_by(*a, "s0"));
  EXPECT_TRUE(reported("run " + id_of(d) + " (solo, solo-3-0) was skipped for run " + id_of(a) +
                       ", which had ended at LSN"));
  EXPECT_TRUE(reported("no run of key \"s0\" created before it was admitted and unfinished"));
}

TEST_F(SoloChecksTest, ASkipNamingARunOfAnotherKeyIsReported) {
  b->skips.front().reason = held_by(*e, "s0");
  EXPECT_TRUE(reported("naming another run of its key"));
}

TEST_F(SoloChecksTest, AnAdmittedRunThatDidNotCompleteIsReported) {
  unfinish(*e);
  cancel(*e, "cancelled");
  EXPECT_TRUE(reported("was admitted; nothing stops it, but it has 0 RunCompleted"));
}

TEST_F(SoloChecksTest, ASkippedRunThatRanIsReported) {
  step(*c, GuardKind::kSolo, 1);
  EXPECT_TRUE(reported("run " + id_of(c) + " (solo, solo-2-0) was skipped, yet it ran a step"));
}

// ---------------------------------------------------------------------------------------------
// Singleton kCancelRunning: key l0 gets two events at once (the first is replaced before it
// starts), then one while the second holds (it replaces the second, which is in its hold); key
// l1 one.
class LatestChecksTest : public GuardHistory {
 protected:
  void SetUp() override {
    constexpr auto kL = GuardKind::kLatest;
    const auto b1 = send({kL, 1, 2, 0});
    a = b1[0];
    b = b1[1];
    cancel(*a, "singleton: replaced by run " + id_of(b));
    admit(*b);
    step(*b, kL, 1);
    hold(*b);
    c = send({kL, 2, 1, 0})[0];
    admit(*c);
    cancel(*b, "singleton: replaced by run " + id_of(c));
    d = send({kL, 3, 1, 1})[0];
    admit(*d);
    finish(*c, kL);
    finish(*d, kL);
  }

  CrashVerdict verdict() const override {
    CrashVerdict v;
    check_singleton_cancel(facts, kGuardSeed, bursts, &v);
    return v;
  }

  RunFacts *a, *b, *c, *d;
};

TEST_F(LatestChecksTest, AHistoryWithRunsReplacedPasses) {
  const CrashVerdict v = verdict();
  EXPECT_TRUE(v.violations.empty()) << all_violations();
  EXPECT_EQ(v.summary.latest_runs, 4u);
  EXPECT_EQ(v.summary.latest_completed, 2u);
  EXPECT_EQ(v.summary.latest_replaced, 2u);
  EXPECT_EQ(v.summary.latest_replaced_across_sends, 1u);
  EXPECT_EQ(v.summary.latest_replaced_by_older, 0u);
  EXPECT_EQ(v.summary.latest_overlap_steps, 0u);
}

TEST_F(LatestChecksTest, AnOvertakenRunThatCompletedIsReported) {
  unfinish(*b);
  finish(*b, GuardKind::kLatest);
  EXPECT_TRUE(reported("run " + id_of(b) + " (latest, latest-1-1) was not cancelled, though run " +
                       id_of(c)));
  // Unless only its RunCompleted came after the replacement's admission.
  for (auto& s : b->completed) s.lsn = c->admissions.front().lsn - 3;
  for (auto& o : b->resumes) o.lsn = c->admissions.front().lsn - 4;
  const CrashVerdict v = verdict();
  EXPECT_TRUE(v.violations.empty()) << all_violations();
  EXPECT_EQ(v.summary.latest_completed_at_replacement, 1u);
}

TEST_F(LatestChecksTest, ACancelNamingAnotherKeysRunIsReported) {
  b->cancels.front().reason = "singleton: replaced by run " + id_of(d);
  EXPECT_TRUE(reported("naming another run of key \"l0\""));
}

TEST_F(LatestChecksTest, AStepAfterTheCancelIsReported) {
  step(*b, GuardKind::kLatest, 2);
  EXPECT_TRUE(reported("comes after its RunCancelled"));
}

// The old run may finish the step it is in after the new one's admission; not two.
TEST_F(LatestChecksTest, MoreThanTheStepInFlightAfterTheReplacementIsReported) {
  const uint64_t cancelled = b->cancels.front().lsn;
  b->completed.push_back({cancelled - 2, 2, "n2", 1, b->completed.front().output});
  EXPECT_FALSE(mentions(verdict().violations, "at most the step in flight"));
  EXPECT_EQ(verdict().summary.latest_overlap_steps, 1u);
  b->sleeps.push_back({cancelled - 1, 3, "more", 0, 0});
  EXPECT_TRUE(reported("recorded 2 step records after run " + id_of(c)));
}

TEST_F(LatestChecksTest, ASkippedRunIsReported) {
  unfinish(*d);
  skip(*d, "singleton");
  EXPECT_TRUE(reported("was never replaced, but it has 0 RunCompleted, 1 RunSkipped"));
}

// ---------------------------------------------------------------------------------------------
// cancel_on: two bursts of two runs (j = 0 sleeps in its hold, j = 1 waits), each preceded by the
// early halt of its j = 1 run; the halts of burst 1 go out with burst 2, those of burst 2 after
// it. A seed whose halted() picks run 0 of burst 1 and run 1 of burst 2, not the others.
class CancelOnChecksTest : public GuardHistory {
 protected:
  void SetUp() override {
    seed = 0;
    while (
        !(halted(seed, 1, 0) && !halted(seed, 1, 1) && !halted(seed, 2, 0) && halted(seed, 2, 1))) {
      ++seed;
    }
    constexpr auto kC = GuardKind::kCancellable;
    halt(1, kEarlyHaltJ);
    const auto b1 = send({kC, 1, 2});
    for (RunFacts* r : b1) {
      step(*r, kC, 1);
      hold(*r, r == b1[1]);
    }
    halt(1, 0);
    const uint64_t halt_1_0 = facts.events.back().lsn;
    cancel(*b1[0], halted_by("halt-1-0"));
    halt(2, kEarlyHaltJ);
    const auto b2 = send({kC, 2, 2});
    for (RunFacts* r : b2) step(*r, kC, 1);
    hold(*b2[0]);
    finish(*b1[1], kC);
    finish(*b2[0], kC);
    halt(2, 1);  // before run 1 of burst 2 reached its hold: cancelled between its steps
    cancel(*b2[1], halted_by("halt-2-1"));
    runs = {b1[0], b1[1], b2[0], b2[1]};
    ASSERT_LT(halt_1_0, b1[0]->finished_lsn);
  }

  static std::string halted_by(const std::string& id) {
    return "cancel_on: event halt (id " + id + ") with the same data.key";
  }

  CrashVerdict verdict() const override {
    CrashVerdict v;
    check_cancel_on(facts, seed, bursts, &v);
    return v;
  }

  uint64_t seed = 0;
  std::vector<RunFacts*> runs;
};

TEST_F(CancelOnChecksTest, AHistoryWithRunsHaltedAndNotPasses) {
  const CrashVerdict v = verdict();
  EXPECT_TRUE(v.violations.empty()) << all_violations();
  EXPECT_EQ(v.summary.halt_events, 4u);
  EXPECT_EQ(v.summary.cancellable_runs, 4u);
  EXPECT_EQ(v.summary.cancellable_cancelled, 2u);
  EXPECT_EQ(v.summary.cancellable_cancelled_holding, 1u);
  EXPECT_EQ(v.summary.cancellable_early_halts, 2u);
}

// A run halted in its hold must not go on to its next step and its end.
TEST_F(CancelOnChecksTest, AHaltedRunThatCompletedIsReported) {
  unfinish(*runs[0]);
  finish(*runs[0], GuardKind::kCancellable);
  EXPECT_TRUE(reported("went on after the halt halt-1-0 at LSN"));
  EXPECT_TRUE(reported("so it should have been cancelled, but it has 1 RunCompleted"));
}

// A halt between the last step's record and the RunCompleted: the worker had passed its last
// step boundary. Counted; any more after the halt is reported.
TEST_F(CancelOnChecksTest, AHaltJustBeforeTheEndLetsTheRunComplete) {
  RunFacts& r = *runs[3];  // halted after c1, before its hold
  unfinish(r);
  hold(r, true);
  resume(r);
  step(r, GuardKind::kCancellable, 2);
  std::swap(facts.events.back().lsn, r.completed.back().lsn);  // halt-2-1 after c2's record
  r.completions.emplace_back(next_lsn(), guard_output(GuardKind::kCancellable, 2, 1).dump());
  r.finished_lsn = r.completions.back().first;
  const CrashVerdict v = verdict();
  EXPECT_TRUE(v.violations.empty()) << all_violations();
  EXPECT_EQ(v.summary.cancellable_completed_at_halt, 1u);
  std::swap(facts.events.back().lsn, r.completed.back().lsn);  // now c2 ran after the halt
  EXPECT_TRUE(reported("went on after the halt halt-2-1"));
}

// A halt accepted before a kill must still cancel the run after the restart: a run that went on
// past it (its hold ended, its next step ran) is reported even if cancelled in the end.
TEST_F(CancelOnChecksTest, ARunThatWentOnAfterItsHaltIsReported) {
  RunFacts& r = *runs[0];
  const uint64_t cancelled = r.cancels.front().lsn;
  r.completed.push_back({cancelled + 1, 2, "c2", 1, r.completed.front().output});
  EXPECT_TRUE(reported("comes after its RunCancelled"));
}

// The early halt came before its run existed: it cancels nothing.
TEST_F(CancelOnChecksTest, ARunCancelledByAHaltBeforeItsCreationIsReported) {
  unfinish(*runs[1]);
  cancel(*runs[1], halted_by("halt-1-9"));
  EXPECT_TRUE(reported("had no halt after its creation, so it should have completed"));
}

// A halt after the run's end changes nothing; a duplicate halt (a resend) cancels nothing.
TEST_F(CancelOnChecksTest, AHaltAfterTheEndOrADuplicateHaltChangesNothing) {
  RunFacts& r = *runs[3];
  unfinish(r);
  facts.events.back().lsn = next_lsn() + 100;  // halt-2-1 comes after the end
  hold(r, true);
  resume(r);
  step(r, GuardKind::kCancellable, 2);
  r.completions.emplace_back(next_lsn(), guard_output(GuardKind::kCancellable, 2, 1).dump());
  r.finished_lsn = r.completions.back().first;
  EventFact again = facts.events.back();
  again.lsn = r.created_lsn + 1;
  again.duplicate = true;
  facts.events.insert(facts.events.end() - 1, again);
  const CrashVerdict v = verdict();
  EXPECT_TRUE(v.violations.empty()) << all_violations();
  EXPECT_EQ(v.summary.cancellable_halted_after_end, 1u);
}

TEST_F(CancelOnChecksTest, ACancelNamingAnotherEventIsReported) {
  runs[3]->cancels.front().reason = halted_by("halt-1-0");
  EXPECT_TRUE(reported("expected \"" + halted_by("halt-2-1") + "\""));
}

TEST_F(CancelOnChecksTest, ALostOrStrayHaltIsReported) {
  facts.events.erase(facts.events.begin());  // halt-1-9
  EXPECT_TRUE(reported("event halt-1-9 is not in the log"));
  halt(7, 0);
  EXPECT_TRUE(reported("event halt-7-0 (halt) at LSN"));
}

// ---------------------------------------------------------------------------------------------
// Priority: a burst of four runs behind a concurrency limit of 1: the first takes the free slot,
// the others start by priority, higher first, in creation order among equals.
class PriorityChecksTest : public GuardHistory {
 protected:
  void SetUp() override {
    runs = send({GuardKind::kRanked, 1, 4});
    order = {runs[0]};
    std::vector<RunFacts*> queued(runs.begin() + 1, runs.end());
    std::stable_sort(queued.begin(), queued.end(),
                     [](RunFacts* x, RunFacts* y) { return priority(*x) > priority(*y); });
    order.insert(order.end(), queued.begin(), queued.end());
    for (RunFacts* r : order) finish(*r, GuardKind::kRanked);
  }

  static int priority(const RunFacts& r) { return json::parse(r.input)["p"]; }

  CrashVerdict verdict() const override {
    CrashVerdict v;
    check_priority(facts, kGuardSeed, bursts, &v);
    return v;
  }

  std::vector<RunFacts*> runs;
  std::vector<RunFacts*> order;  // as they started
};

TEST_F(PriorityChecksTest, RunsStartedInPriorityOrderPass) {
  const CrashVerdict v = verdict();
  EXPECT_TRUE(v.violations.empty()) << all_violations();
  EXPECT_EQ(v.summary.ranked_runs, 4u);
  EXPECT_EQ(v.summary.ranked_pairs, 3u);
  EXPECT_EQ(v.summary.ranked_inversions, 0u);
}

// Out of order is counted, not reported (a restart may reorder): only the unit test of an
// uninterrupted child expects none.
TEST_F(PriorityChecksTest, RunsStartedOutOfOrderAreCounted) {
  std::swap(order[1]->completed.front().lsn, order[3]->completed.front().lsn);
  const CrashVerdict v = verdict();
  EXPECT_TRUE(v.violations.empty()) << all_violations();
  EXPECT_GT(v.summary.ranked_inversions, 0u);
}

TEST_F(PriorityChecksTest, ALostOrRepeatedRunIsReported) {
  unfinish(*runs[2]);
  EXPECT_TRUE(reported("a queued run must complete once, but it has 0 RunCompleted"));
  finish(*runs[2], GuardKind::kRanked);
  runs[2]->completions.push_back(runs[2]->completions.front());
  EXPECT_TRUE(reported("but it has 2 RunCompleted"));
}

TEST_F(PriorityChecksTest, AStepRunTwiceOrWithAnotherValueIsReported) {
  runs[1]->completed.push_back(runs[1]->completed.front());
  EXPECT_TRUE(reported("step r1 completed more than once"));
  runs[1]->completed.pop_back();
  runs[1]->completed.front().output = json{{"v", 1}, {"inc", 1}, {"n", 1}}.dump();
  EXPECT_TRUE(reported("expected the value"));
}

}  // namespace
}  // namespace cairn::engine_crash
