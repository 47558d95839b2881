// The crash checks can fail: one incarnation of the child runs a few dozen runs to the end
// without a kill, its log and journal pass every check, and then each kind of wrong outcome the
// crash test looks for is planted in a copy of them and must be reported.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>

#include "engine_crash/crash_checks.h"
#include "engine_crash/crash_options.h"
#include "engine_crash/journal.h"
#include "engine_crash/log_facts.h"
#include "engine_crash/workload.h"
#include "support/child_process.h"
#include "support/temp_dir.h"

#ifndef CAIRN_ENGINE_CRASH_CHILD_PATH
#error "CAIRN_ENGINE_CRASH_CHILD_PATH must name the engine_crash_child executable"
#endif

namespace cairn::engine_crash {
namespace {

constexpr uint64_t kSeed = 7;
constexpr uint64_t kRuns = 40;

class CrashChecksTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    testing::ChildProcess child(
        {CAIRN_ENGINE_CRASH_CHILD_PATH, (*dir_ / "data").string(), (*dir_ / "journal.txt").string(),
         "1", std::to_string(kRuns), std::to_string(kSeed)},
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
    const CrashVerdict v = check_crash_outcome(facts, journal, kSeed, kRuns);
    for (const std::string& s : v.violations) {
      if (s.find(text) != std::string::npos) return ::testing::AssertionSuccess();
    }
    auto r = ::testing::AssertionFailure()
             << "no violation mentions \"" << text << "\"; got " << v.violations.size() << ":";
    for (const std::string& s : v.violations) r << "\n  " << s;
    return r;
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
  const CrashVerdict v = check_crash_outcome(facts, journal, kSeed, kRuns);
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

}  // namespace
}  // namespace cairn::engine_crash
