// The crash checks can fail: one incarnation of the child runs a few dozen runs to the end
// without a kill, its log and journal pass every check, and then each kind of wrong outcome the
// crash test looks for is planted in a copy of them and must be reported.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "cairn/schema/record_schema.h"
#include "engine_crash/crash_checks.h"
#include "engine_crash/crash_options.h"
#include "engine_crash/fast_clock.h"
#include "engine_crash/guard_workload.h"
#include "engine_crash/journal.h"
#include "engine_crash/log_facts.h"
#include "engine_crash/timed_workload.h"
#include "engine_crash/violation_match.h"
#include "engine_crash/workload.h"
#include "support/child_process.h"
#include "support/temp_dir.h"

#ifndef CAIRN_ENGINE_CRASH_CHILD_PATH
#error "CAIRN_ENGINE_CRASH_CHILD_PATH must name the engine_crash_child executable"
#endif

namespace cairn::engine_crash {
namespace {

constexpr uint64_t kSeed = 7;
// 15 flow bursts: seed 7 gives one key 7 throttled runs, one more than a throttle window holds.
constexpr uint64_t kRuns = 60;

class CrashChecksTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    testing::ChildProcess child(
        {CAIRN_ENGINE_CRASH_CHILD_PATH, (*dir_ / "data").string(), (*dir_ / "journal.txt").string(),
         "1", std::to_string(kRuns), std::to_string(kSeed), std::to_string(steady_now_ns())},
        {.output = *dir_ / "child-output.txt"});
    ASSERT_TRUE(child.started()) << child.start_error();
    ASSERT_TRUE(child.wait_for_exit(std::chrono::minutes(2)));
    ASSERT_TRUE(child.exited_zero()) << child.how() << "\n"
                                     << testing::tail_of_file(*dir_ / "child-output.txt");
    std::string error;
    auto facts = read_log_facts(log_dir_of(*dir_ / "data"), &error);
    ASSERT_TRUE(facts.has_value()) << error;
    facts_ = new LogFacts(std::move(*facts));
    journal_ = new Journal(read_journal(*dir_ / "journal.txt"));
  }
  static void TearDownTestSuite() {
    delete facts_;
    delete journal_;
    delete dir_;
  }
  void SetUp() override {
    ASSERT_NE(facts_, nullptr);
    facts = *facts_;
    journal = *journal_;
  }

  // True when some violation contains `text`.
  ::testing::AssertionResult reported(const std::string& text) const {
    return mentions(check_crash_outcome(facts, journal, kSeed, kRuns, kClockSpeed).violations,
                    text);
  }

  // A run of `function` cancelled by its timeout (nullptr: none). A "late" one cancelled in the
  // nap that took it past its finish deadline (step t2 never ran): on a busy machine an odd run,
  // whose nap is short, may be cancelled too, later.
  RunFacts* cancelled_run_of(std::string_view function) {
    for (auto& [id, r] : facts.runs) {
      if (r.function_id != function || r.cancels.empty()) continue;
      if (function != kLateFunction) return &r;
      const bool in_nap =
          !r.admissions.empty() && r.sleeps.size() == 1 &&
          r.sleeps[0].wake_at_ms > r.admissions[0].started_ms + kLateFinishMs &&
          std::none_of(r.completed.begin(), r.completed.end(),
                       [](const StepCompletedFact& c) { return c.step_id == "t2"; });
      if (in_nap) return &r;
    }
    return nullptr;
  }

  // A main run that completed, and its StepCompleted for step `id`.
  std::pair<RunFacts*, StepCompletedFact*> completed_step(const std::string& id) {
    for (auto& [run_id, r] : facts.runs) {
      if (r.function_id != "main" || r.completions.empty()) continue;
      for (StepCompletedFact& s : r.completed) {
        if (s.step_id == id) return {&r, &s};
      }
    }
    return {nullptr, nullptr};
  }

  // A run of `function` that completed (and was admitted).
  RunFacts* completed_run_of(const std::string& function) {
    for (auto& [id, r] : facts.runs) {
      if (r.function_id == function && !r.completions.empty() && !r.admissions.empty()) return &r;
    }
    return nullptr;
  }

  // At least `n` admissions of `function` on one key: those of its busiest key, then, if they
  // are too few, others moved to it (re-keyed: those runs are also reported for their key, which
  // the window tests ignore). None when the function has fewer.
  std::vector<AdmittedFact*> admissions_on_one_key(const std::string& function, size_t n) {
    std::map<std::string, std::vector<AdmittedFact*>> by_key;
    for (auto& [id, r] : facts.runs) {
      if (r.function_id != function || r.admissions.empty()) continue;
      AdmittedFact& a = r.admissions.front();
      by_key[a.has_throttle ? a.throttle_key : a.rate_limit_key].push_back(&a);
    }
    auto busiest = std::max_element(by_key.begin(), by_key.end(), [](const auto& a, const auto& b) {
      return a.second.size() < b.second.size();
    });
    if (busiest == by_key.end()) return {};
    std::vector<AdmittedFact*> out = busiest->second;
    for (auto& [key, admissions] : by_key) {
      if (key == busiest->first) continue;
      for (AdmittedFact* a : admissions) {
        if (out.size() >= n) break;
        a->throttle_key = a->has_throttle ? busiest->first : "";
        a->rate_limit_key = a->has_rate_limit ? busiest->first : "";
        out.push_back(a);
      }
    }
    if (out.size() < n) return {};
    return out;
  }

  // Puts window_max admissions of one key at t0 and one more at t0 + `last_offset_ms`, the rest
  // of that key's far apart (alone in their windows).
  // (Offsets and periods on the child's clock: periods scaled by kClockSpeed.)
  void crowd_a_window(const std::vector<AdmittedFact*>& at, const FlowLimit& limit,
                      int64_t last_offset_ms) {
    const int64_t t0 = at.front()->at_ms;
    for (size_t i = 0; i < at.size(); ++i) {
      if (i < limit.window_max) {
        at[i]->at_ms = t0;
      } else if (i == limit.window_max) {
        at[i]->at_ms = t0 + last_offset_ms;
      } else {
        at[i]->at_ms = t0 + static_cast<int64_t>(i) * 10 * limit.period_ms * kClockSpeed;
      }
    }
  }

  ::testing::AssertionResult not_reported(const std::string& text) const {
    const CrashVerdict v = check_crash_outcome(facts, journal, kSeed, kRuns, kClockSpeed);
    for (const std::string& s : v.violations) {
      if (s.find(text) != std::string::npos) {
        return ::testing::AssertionFailure() << "reported: " << s;
      }
    }
    return ::testing::AssertionSuccess();
  }

  const JournalEntry* producer_of(const StepCompletedFact& s) const {
    const auto out = nlohmann::json::parse(s.output);
    for (const JournalEntry& e : journal.entries) {
      if (e.kind == JournalEntry::Kind::kExecuted && e.incarnation == out["inc"] &&
          e.exec == out["n"]) {
        return &e;
      }
    }
    return nullptr;
  }

  static testing::TempDir* dir_;
  static LogFacts* facts_;
  static Journal* journal_;
  LogFacts facts;
  Journal journal;
};

testing::TempDir* CrashChecksTest::dir_ = nullptr;
LogFacts* CrashChecksTest::facts_ = nullptr;
Journal* CrashChecksTest::journal_ = nullptr;

TEST_F(CrashChecksTest, AnUninterruptedChildPassesEveryCheck) {
  const CrashVerdict v = check_crash_outcome(facts, journal, kSeed, kRuns, kClockSpeed);
  std::string all;
  for (const std::string& s : v.violations) all += "\n  " + s;
  EXPECT_TRUE(v.violations.empty()) << all;
  // The seed gives this short run some of everything the mutations below need.
  EXPECT_EQ(v.summary.main_runs, kRuns);
  EXPECT_GT(v.summary.failed_attempts, 0u);
  EXPECT_GT(v.summary.doomed_runs, 0u);
  EXPECT_EQ(v.summary.handler_runs, v.summary.doomed_runs);
  EXPECT_GT(v.summary.approved, 0u);
  EXPECT_GT(v.summary.helper_runs, 0u);
  // Flow control: the bursts press on both limits (real time decides how hard: only the
  // throttle's delays are certain, its bursts being larger than its burst allowance).
  EXPECT_EQ(v.summary.flow_events, v.summary.metered_runs + v.summary.paced_runs);
  EXPECT_GT(v.summary.metered_runs, 0u);
  EXPECT_GT(v.summary.paced_delayed, 0u);
  EXPECT_LE(v.summary.metered_busiest_window, kMeteredLimit.window_max);
  EXPECT_LE(v.summary.paced_busiest_window, kPacedLimit.window_max);
  // Without kills no decision is taken again, so the throttle's promise holds exactly: per key,
  // runs start in the order they came (docs/flow-control.md). The crash test only counts these.
  EXPECT_EQ(v.summary.paced_out_of_order, 0u)
      << "throttled runs started before an earlier run of their key";
  // Timed functions: tracking of the cron trigger began; the even "late" runs slept past their
  // finish timeout; the third run of each "queued" burst cannot start within its start timeout.
  EXPECT_GE(v.summary.cron_cursors, 1u);
  EXPECT_EQ(v.summary.late_runs, late_runs(kRuns));
  EXPECT_GT(v.summary.late_slept_past, 0u);
  EXPECT_GE(v.summary.late_cancelled, v.summary.late_slept_past);
  EXPECT_EQ(v.summary.queued_runs, queued_bursts(kRuns) * kQueuedBurst);
  EXPECT_GE(v.summary.queued_cancelled, queued_bursts(kRuns));
  // Keyed waiting functions: every event accounted, and each kind's two outcomes (a burst of
  // several events replaces or joins within its own send).
  EXPECT_EQ(v.summary.debounce_events, v.summary.debounce_completed + v.summary.debounce_replaced);
  EXPECT_GT(v.summary.debounce_completed, 0u);
  EXPECT_GT(v.summary.debounce_replaced, 0u);
  EXPECT_EQ(v.summary.batch_events, v.summary.batches + v.summary.batch_joined);
  EXPECT_GT(v.summary.batches, 0u);
  EXPECT_GT(v.summary.batch_joined, 0u);
  // Guarded functions: each key of "once" started one run, the rest were skipped (the bursts of
  // three g share a key); every run of the singletons accounted, and "latest" replaced some
  // (its bursts of several events replace within their own send); the halted "cancellable" runs
  // were cancelled, the early halts (one per burst) ignored.
  const uint64_t guard = guard_bursts(kRuns);
  EXPECT_EQ(v.summary.once_keys, (guard + kOnceBurstsPerKey - 1) / kOnceBurstsPerKey);
  EXPECT_EQ(v.summary.once_started, v.summary.once_keys);
  EXPECT_EQ(v.summary.once_events, v.summary.once_started + v.summary.once_skipped);
  EXPECT_GT(v.summary.once_skipped_across_sends, 0u);
  EXPECT_EQ(v.summary.solo_runs, v.summary.solo_completed + v.summary.solo_skipped);
  EXPECT_GT(v.summary.solo_skipped, 0u);
  EXPECT_EQ(v.summary.latest_runs, v.summary.latest_completed + v.summary.latest_replaced);
  EXPECT_GT(v.summary.latest_replaced, 0u);
  EXPECT_EQ(v.summary.latest_replaced_by_older, 0u);
  EXPECT_EQ(v.summary.cancellable_runs, guard * kCancellableBurst);
  EXPECT_GT(v.summary.cancellable_cancelled, 0u);
  EXPECT_LT(v.summary.cancellable_cancelled, v.summary.cancellable_runs);
  EXPECT_EQ(v.summary.cancellable_early_halts, guard);
  // Priority: without kills nothing is queued again, so within each send() the runs that queued
  // together started by priority (higher first, creation order among equals).
  EXPECT_GT(v.summary.ranked_pairs, 0u);
  EXPECT_EQ(v.summary.ranked_inversions, 0u) << "ranked runs started against their priority";
}

TEST_F(CrashChecksTest, AStepRunAfterItsDurableCompletionIsReported) {
  auto [run, step] = completed_step("c");
  ASSERT_NE(step, nullptr);
  const JournalEntry* p = producer_of(*step);
  ASSERT_NE(p, nullptr);
  JournalEntry again = *p;
  again.exec = 1'000'000;
  again.index = journal.entries.size();
  journal.entries.push_back(again);
  EXPECT_TRUE(reported("ran again after its completion was durable"));
}

TEST_F(CrashChecksTest, AStepThatSucceededTwiceInOneIncarnationIsReported) {
  auto [run, step] = completed_step("a");
  ASSERT_NE(step, nullptr);
  const JournalEntry* p = producer_of(*step);
  ASSERT_NE(p, nullptr);
  JournalEntry before = *p;
  before.exec = 1'000'001;
  before.index = 0;  // earlier in the journal than the producer, same incarnation
  journal.entries.insert(journal.entries.begin(), before);
  for (size_t i = 1; i < journal.entries.size(); ++i) journal.entries[i].index = i;
  EXPECT_TRUE(reported("succeeded twice in incarnation"));
}

TEST_F(CrashChecksTest, AStepResultNoExecutionProducedIsReported) {
  auto [run, step] = completed_step("b");
  ASSERT_NE(step, nullptr);
  step->output = nlohmann::json{{"v", 1}, {"inc", 99}, {"n", 1}}.dump();
  EXPECT_TRUE(reported("which the journal does not have"));
}

TEST_F(CrashChecksTest, ALostAcknowledgedEventIsReported) {
  auto it = std::find_if(facts.events.begin(), facts.events.end(),
                         [](const EventFact& e) { return e.name == kApproveEvent; });
  ASSERT_NE(it, facts.events.end()) << "the workload should approve some waits";
  facts.events.erase(it);
  EXPECT_TRUE(reported("is not in the log"));
}

TEST_F(CrashChecksTest, AWrongOutputIsReported) {
  auto [run, step] = completed_step("f");
  ASSERT_NE(run, nullptr);
  run->completions.front().second = R"({"k":1,"v":2,"approved":false})";
  EXPECT_TRUE(reported(": output "));
}

TEST_F(CrashChecksTest, ASecondCompletionOfAStepIsReported) {
  auto [run, step] = completed_step("d");
  ASSERT_NE(step, nullptr);
  run->completed.push_back(*step);
  EXPECT_TRUE(reported("2 StepCompleted records, expected 1"));
}

TEST_F(CrashChecksTest, ARunCompletedTwiceOrNeverIsReported) {
  auto [run, step] = completed_step("f");
  ASSERT_NE(run, nullptr);
  run->completions.push_back(run->completions.front());
  EXPECT_TRUE(reported("2 RunCompleted"));
  run->completions.clear();
  EXPECT_TRUE(reported("0 RunCompleted"));
}

TEST_F(CrashChecksTest, AMissingFailureHandlerIsReported) {
  auto it = std::find_if(facts.runs.begin(), facts.runs.end(),
                         [](const auto& r) { return r.second.function_id == kFailureHandler; });
  ASSERT_NE(it, facts.runs.end());
  facts.runs.erase(it);
  EXPECT_TRUE(reported("0 failure handler runs"));
}

TEST_F(CrashChecksTest, AMissingRunIsReported) {
  auto it = std::find_if(facts.runs.begin(), facts.runs.end(),
                         [](const auto& r) { return r.second.function_id == "main"; });
  ASSERT_NE(it, facts.runs.end());
  facts.runs.erase(it);
  EXPECT_TRUE(reported("runs of main exist"));
}

// (g) The windows are half-open and exact: limit admissions at t0 and one more at t0 + period - 1
// break the rate limit; at t0 + period they do not.
TEST_F(CrashChecksTest, ARateLimitedAdmissionTooManyInAWindowIsReported) {
  const std::vector<AdmittedFact*> at =
      admissions_on_one_key("metered", kMeteredLimit.window_max + 1);
  ASSERT_FALSE(at.empty()) << "too few rate-limited runs were admitted";
  crowd_a_window(at, kMeteredLimit, kMeteredLimit.period_ms * kClockSpeed - 1);
  EXPECT_TRUE(reported("rate limit exceeded for key"));
  EXPECT_TRUE(reported("4 RunAdmitted in the " + std::to_string(200 * kClockSpeed) + " ms from"));
  crowd_a_window(at, kMeteredLimit, kMeteredLimit.period_ms * kClockSpeed);
  EXPECT_TRUE(not_reported("exceeded for key"));
}

TEST_F(CrashChecksTest, AThrottledAdmissionTooManyInAWindowIsReported) {
  const std::vector<AdmittedFact*> at = admissions_on_one_key("paced", kPacedLimit.window_max + 1);
  ASSERT_FALSE(at.empty()) << "too few throttled runs";
  crowd_a_window(at, kPacedLimit, kPacedLimit.period_ms * kClockSpeed - 1);
  EXPECT_TRUE(reported("throttle exceeded for key"));
  EXPECT_TRUE(reported("7 RunAdmitted in the " + std::to_string(100 * kClockSpeed) + " ms from"));
  crowd_a_window(at, kPacedLimit, kPacedLimit.period_ms * kClockSpeed);
  EXPECT_TRUE(not_reported("exceeded for key"));
}

TEST_F(CrashChecksTest, ARunAdmittedTwiceIsReported) {
  RunFacts* run = completed_run_of("paced");
  ASSERT_NE(run, nullptr);
  AdmittedFact again = run->admissions.front();
  again.lsn += 1;
  again.at_ms += 1;
  run->admissions.push_back(again);
  EXPECT_TRUE(reported("was admitted 2 times (a restart admitted it again)"));
}

TEST_F(CrashChecksTest, AStepBeforeItsAdmissionIsReported) {
  RunFacts* run = completed_run_of("metered");
  ASSERT_NE(run, nullptr);
  ASSERT_FALSE(run->completed.empty());
  run->admissions.front().lsn = run->completed.front().lsn + 1;
  EXPECT_TRUE(reported("precedes its RunAdmitted"));
}

TEST_F(CrashChecksTest, ARunThatStartedWithoutAnAdmissionIsReported) {
  RunFacts* run = completed_run_of("metered");
  ASSERT_NE(run, nullptr);
  run->admissions.clear();
  EXPECT_TRUE(reported("ran without a RunAdmitted: its rate limit did not count it"));
}

TEST_F(CrashChecksTest, AnAdmissionUnderTheWrongKeyIsReported) {
  RunFacts* run = completed_run_of("paced");
  ASSERT_NE(run, nullptr);
  run->admissions.front().throttle_key += "x";
  EXPECT_TRUE(reported("expected its throttle key"));
}

TEST_F(CrashChecksTest, ASkippedOrLostThrottledRunIsReported) {
  RunFacts* run = completed_run_of("paced");
  ASSERT_NE(run, nullptr);
  run->completions.clear();
  EXPECT_TRUE(reported("never completed: a throttled run was lost"));
  run->skips.push_back({run->admissions.front().lsn + 1, "throttle", "", 0});
  EXPECT_TRUE(reported("a throttle delays runs, it never drops one"));
}

TEST_F(CrashChecksTest, ARateLimitedRunCompletedAndSkippedIsReported) {
  RunFacts* run = completed_run_of("metered");
  ASSERT_NE(run, nullptr);
  run->skips.push_back({run->completions.front().first + 1, "rate limit 3 per 200 ms reached",
                        run->admissions.front().rate_limit_key, 0});
  EXPECT_TRUE(reported("has 1 RunCompleted, 1 RunSkipped"));
  EXPECT_TRUE(reported("was both admitted"));
}

TEST_F(CrashChecksTest, AnAdmissionOfAnUnlimitedFunctionIsReported) {
  auto [run, step] = completed_step("a");
  ASSERT_NE(run, nullptr);
  run->admissions.push_back({run->created_lsn + 1, 0, true, false, "", ""});
  EXPECT_TRUE(reported("but its function has no throttle or rate limit"));
}

TEST_F(CrashChecksTest, ALostFlowEventIsReported) {
  auto it = std::find_if(facts.events.begin(), facts.events.end(),
                         [](const EventFact& e) { return e.name == kPacedEvent; });
  ASSERT_NE(it, facts.events.end());
  const std::string id = it->id;
  facts.runs.erase(it->first_run_id);
  facts.events.erase(it);
  EXPECT_TRUE(reported("flow event " + id + " of burst"));
}

// (i) A finish-timeout cancel must come at or after RunAdmitted.started_ms + the timeout.
TEST_F(CrashChecksTest, AFinishTimeoutCancelBeforeItsDeadlineIsReported) {
  RunFacts* run = cancelled_run_of(kLateFunction);
  ASSERT_NE(run, nullptr) << "the late runs that sleep past their timeout should be cancelled";
  ASSERT_FALSE(run->admissions.empty());
  const int64_t deadline = run->admissions.front().started_ms + kLateFinishMs;
  run->cancels.front().at_us = deadline * 1000;
  EXPECT_TRUE(not_reported("before its finish deadline"));
  run->cancels.front().at_us = deadline * 1000 - 1000;
  EXPECT_TRUE(reported("before its finish deadline"));
}

TEST_F(CrashChecksTest, ARunThatSleptPastItsFinishDeadlineAndCompletedIsReported) {
  RunFacts* run = cancelled_run_of(kLateFunction);
  ASSERT_NE(run, nullptr);
  ASSERT_FALSE(run->sleeps.empty());
  const CancelFact cancel = run->cancels.front();
  run->cancels.clear();
  run->cancellations = 0;
  run->completions.emplace_back(cancel.lsn, "{}");
  EXPECT_TRUE(reported("slept past its finish deadline"));
}

TEST_F(CrashChecksTest, AStepRecordedAfterRunCancelledIsReported) {
  RunFacts* run = cancelled_run_of(kLateFunction);
  ASSERT_NE(run, nullptr);
  ASSERT_FALSE(run->completed.empty());
  StepCompletedFact late = run->completed.front();
  late.lsn = run->cancels.front().lsn + 1;
  run->completed.push_back(late);
  EXPECT_TRUE(reported("comes after its RunCancelled"));
}

TEST_F(CrashChecksTest, ACancelForAnotherReasonOrASecondEndIsReported) {
  RunFacts* run = cancelled_run_of(kLateFunction);
  ASSERT_NE(run, nullptr);
  run->cancels.front().reason = "start timeout: not started within 1 ms of being created";
  EXPECT_TRUE(reported("only its \"finish timeout:\" may cancel it"));
  run->completions.emplace_back(run->cancels.front().lsn + 1, "{}");
  EXPECT_TRUE(reported("exactly one end, completed or cancelled, was expected"));
}

// A start-timeout cancel only for a run whose RunAdmitted did not come before its StartTimedOut.
TEST_F(CrashChecksTest, AStartTimeoutCancelOfARunThatHadStartedIsReported) {
  RunFacts* run = cancelled_run_of(kQueuedFunction);
  ASSERT_NE(run, nullptr) << "the third run of a queued burst should be cancelled";
  auto timed_out = std::find_if(run->resumes.begin(), run->resumes.end(), [](const OpFact& o) {
    return o.reason == static_cast<uint8_t>(schema::ResumeReason::StartTimedOut);
  });
  ASSERT_NE(timed_out, run->resumes.end());
  EXPECT_TRUE(not_reported("but it had started"));
  AdmittedFact admitted{};
  admitted.lsn = timed_out->lsn - 1;
  admitted.started_ms = run->created_us / 1000;
  run->admissions = {admitted};
  EXPECT_TRUE(reported("but it had started"));
  run->admissions.front().lsn = timed_out->lsn + 1;  // the log decided the race for the timeout
  EXPECT_TRUE(not_reported("but it had started"));
  run->cancels.front().at_us = (run->created_us / 1000 + kQueuedStartMs - 1) * 1000;
  EXPECT_TRUE(reported("before its start deadline"));
}

TEST_F(CrashChecksTest, ALostTimedEventIsReported) {
  auto it = std::find_if(facts.events.begin(), facts.events.end(),
                         [](const EventFact& e) { return e.name == kLateEvent; });
  ASSERT_NE(it, facts.events.end());
  const std::string id = it->id;
  facts.runs.erase(it->first_run_id);
  facts.events.erase(it);
  EXPECT_TRUE(reported("event " + id + " is not in the log"));
}

// An unrecorded step of a cancelled run is a lost execution only when a kill took it: never in
// the last incarnation, which ran to its end.
TEST_F(CrashChecksTest, AnUnrecordedStepOfACancelledRunIsReportedUnlessAKillTookIt) {
  RunFacts* run = cancelled_run_of(kLateFunction);
  ASSERT_NE(run, nullptr);
  JournalEntry t2;
  t2.kind = JournalEntry::Kind::kExecuted;
  t2.index = journal.entries.size();
  t2.incarnation = 1;  // the only, so the last, incarnation
  t2.run = run->id;
  t2.step_id = "t2";
  t2.attempt = 1;
  t2.exec = 1'000'002;
  journal.entries.push_back(t2);
  EXPECT_TRUE(reported("step t2 of run " + std::to_string(run->id) + " ran 1 times"));
  journal.entries.back().incarnation = 0;  // an earlier incarnation, killed
  EXPECT_TRUE(not_reported("step t2 of run " + std::to_string(run->id)));
}

}  // namespace
}  // namespace cairn::engine_crash
