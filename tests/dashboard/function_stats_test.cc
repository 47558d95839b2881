// Engine::function_stats: every registered function with its triggers, and the unfinished runs
// of each by status, kept by the projection as runs move — and rebuilt by recovery.
#include <optional>

#include "dashboard_fixture.h"

namespace cairn::testing {
namespace {

using FunctionStatsTest = DashboardTest;

// A copy: callers pass the vector function_stats() returned, which dies with the expression.
std::optional<FunctionStats> find(const std::vector<FunctionStats>& all, const std::string& id) {
  for (const FunctionStats& f : all) {
    if (f.id == id) return f;
  }
  return std::nullopt;
}

TEST_F(FunctionStatsTest, CountsFollowRunsAndSurviveARestart) {
  std::vector<FunctionStats> stats = engine_->function_stats();
  ASSERT_EQ(stats.size(), 3u);
  EXPECT_EQ(stats[0].id, "ok");  // registration order
  EXPECT_TRUE(stats[0].registered);
  EXPECT_EQ(stats[0].triggers, std::vector<std::string>{"order/ok"});
  EXPECT_EQ(stats[2].queued + stats[2].running + stats[2].sleeping + stats[2].waiting, 0u);

  const RunId s1 = send_one("order/slow");
  const RunId s2 = send_one("order/slow");
  ASSERT_TRUE(eventually([&] {
    const std::optional<FunctionStats> slow = find(engine_->function_stats(), "slow");
    return slow.has_value() && slow->sleeping == 2;
  }));
  std::optional<FunctionStats> slow = find(engine_->function_stats(), "slow");
  ASSERT_TRUE(slow.has_value());
  EXPECT_EQ(slow->queued + slow->running + slow->waiting, 0u);

  ASSERT_TRUE(engine_->cancel(s1).ok());
  EXPECT_EQ(wait(s1).status, RunStatus::kCancelled);
  EXPECT_EQ(find(engine_->function_stats(), "slow")->sleeping, 1u);

  // A restart without functions: recovery rebuilds the counts, and "slow" is now a function
  // seen in runs only.
  dashboard_->stop();
  ASSERT_TRUE(engine_->shutdown().ok());
  engine_ = Engine::create(test_engine_options(dir_.path(), clock_));
  ASSERT_TRUE(engine_->start().ok());
  stats = engine_->function_stats();
  slow = find(stats, "slow");
  ASSERT_TRUE(slow.has_value());
  EXPECT_FALSE(slow->registered);
  EXPECT_TRUE(slow->triggers.empty());
  EXPECT_EQ(slow->sleeping, 1u);
  EXPECT_EQ(slow->queued + slow->running + slow->waiting, 0u);
  (void)s2;
}

}  // namespace
}  // namespace cairn::testing
