// POST /api/runs/ID/replay and /cancel: a failed run replayed (from its failed step, or from the
// start) completes once the dependency is back; an unfinished run is cancelled; actions the
// run's state refuses are 409, unknown runs 404, bad bodies 400.
#include "dashboard_fixture.h"

namespace cairn::testing {
namespace {

using RunActionsApi = DashboardTest;

TEST_F(RunActionsApi, ReplayOfAFailedRunCompletesOnceTheStepSucceeds) {
  const RunId failed = send_one("order/flaky");
  ASSERT_EQ(wait(failed).status, RunStatus::kFailed);
  ASSERT_EQ(charge_calls_.load(), 1);
  down_.store(false);

  const HttpReply r = post("/api/runs/" + std::to_string(failed) + "/replay", "");
  ASSERT_EQ(r.status, 200) << r.body;
  const RunId replay = r.json["run"].get<RunId>();
  ASSERT_NE(replay, failed);
  const RunInfo done = wait(replay);
  EXPECT_EQ(done.status, RunStatus::kCompleted) << done.error;
  EXPECT_EQ(done.output, "charged");
  EXPECT_EQ(charge_calls_.load(), 2);
  const HttpReply shown = get("/api/runs/" + std::to_string(replay));
  EXPECT_EQ(shown.json["status"], "completed");
  EXPECT_EQ(shown.json["output"], "charged");
}

TEST_F(RunActionsApi, ReplayFromTheStartOfAnyFinishedRun) {
  const RunId ok = send_one("order/ok");
  ASSERT_EQ(wait(ok).status, RunStatus::kCompleted);
  // From the failed step needs a failed run: 409 with the engine's reason.
  const HttpReply refused = post("/api/runs/" + std::to_string(ok) + "/replay", "{}");
  EXPECT_EQ(refused.status, 409) << refused.body;
  const HttpReply r = post("/api/runs/" + std::to_string(ok) + "/replay", R"({"from":"start"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(wait(r.json["run"].get<RunId>()).status, RunStatus::kCompleted);
}

TEST_F(RunActionsApi, CancelEndsAnUnfinishedRunOnce) {
  const RunId slow = send_one("order/slow");
  ASSERT_TRUE(eventually([&] {
    auto r = engine_->get_run(slow);
    return r.ok() && r->status == RunStatus::kSleeping;
  }));
  // Unfinished: replay is refused.
  EXPECT_EQ(post("/api/runs/" + std::to_string(slow) + "/replay", "").status, 409);
  const HttpReply r =
      post("/api/runs/" + std::to_string(slow) + "/cancel", R"({"reason":"customer left"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json, nlohmann::json({{"ok", true}}));
  const RunInfo cancelled = wait(slow);
  EXPECT_EQ(cancelled.status, RunStatus::kCancelled);
  EXPECT_EQ(cancelled.error, "customer left");
  const HttpReply again = post("/api/runs/" + std::to_string(slow) + "/cancel", "");
  EXPECT_EQ(again.status, 409) << again.body;
}

TEST_F(RunActionsApi, UnknownRunsAre404BadBodiesAre400) {
  EXPECT_EQ(post("/api/runs/777/replay", "").status, 404);
  EXPECT_EQ(post("/api/runs/777/cancel", "").status, 404);
  EXPECT_EQ(post("/api/runs/x/cancel", "").status, 400);
  const RunId failed = send_one("order/flaky");
  ASSERT_EQ(wait(failed).status, RunStatus::kFailed);
  const std::string replay = "/api/runs/" + std::to_string(failed) + "/replay";
  for (const char* body : {"{", "[1]", R"({"from":"middle"})", R"({"from":3})"}) {
    const HttpReply r = post(replay, body);
    EXPECT_EQ(r.status, 400) << body << ": " << r.body;
  }
  EXPECT_EQ(post("/api/runs/" + std::to_string(failed) + "/cancel", R"({"reason":7})").status, 400);
}

}  // namespace
}  // namespace cairn::testing
