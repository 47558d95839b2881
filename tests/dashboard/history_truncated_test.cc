// GET /api/runs/ID's history_truncated: true only when the run has more history entries than the
// detail returns (2,000), never for one that has exactly that many.
#include <string>

#include "dashboard_fixture.h"

namespace cairn::testing {
namespace {

constexpr size_t kDetailEntriesMax = 2000;  // docs/dashboard.md

// An engine with one function, "many", that runs as many steps as its event's "steps" says.
class HistoryTruncated : public DashboardTest {
 protected:
  void SetUp() override {
    engine_ = Engine::create(test_engine_options(dir_.path(), clock_));
    ASSERT_TRUE(engine_
                    ->register_function({.id = "many", .triggers = {on_event("many")}},
                                        [](Context& ctx, const Event& e) -> Task<void> {
                                          const int n = nlohmann::json::parse(e.data)["steps"];
                                          for (int i = 0; i < n; ++i) {
                                            const std::string id = "s" + std::to_string(i);
                                            co_await ctx.run(id, [] { return std::string("x"); });
                                          }
                                        })
                    .ok());
    ASSERT_TRUE(engine_->start().ok());
    serve();
  }

  // A finished run with exactly `entries` history entries.
  RunId run_with_entries(size_t entries) {
    const RunId probe = send_one("many", R"({"steps":1})");
    wait(probe);
    const size_t overhead = engine_->run_history(probe, 100)->size() - 1;  // created, completed
    const RunId id = send_one("many", nlohmann::json{{"steps", entries - overhead}}.dump());
    EXPECT_EQ(wait(id).status, RunStatus::kCompleted);
    EXPECT_EQ(engine_->run_history(id, 10'000)->size(), entries);
    return id;
  }
};

// The route asked the engine for at most 2,000 entries and called any answer of 2,000 truncated:
// a run with exactly 2,000 said "history_truncated": true though nothing was left out.
TEST_F(HistoryTruncated, ExactlyTheLimitIsNotTruncated) {
  const RunId id = run_with_entries(kDetailEntriesMax);
  const HttpReply r = get("/api/runs/" + std::to_string(id));
  ASSERT_EQ(r.status, 200) << r.body.substr(0, 200);
  EXPECT_EQ(r.json["history"].size(), kDetailEntriesMax);
  EXPECT_EQ(r.json["history_truncated"], false);
  EXPECT_TRUE(r.json["history_truncated_by"].is_null());
}

TEST_F(HistoryTruncated, OneMoreThanTheLimitIsTruncated) {
  const RunId id = run_with_entries(kDetailEntriesMax + 1);
  const HttpReply r = get("/api/runs/" + std::to_string(id));
  ASSERT_EQ(r.status, 200) << r.body.substr(0, 200);
  EXPECT_EQ(r.json["history"].size(), kDetailEntriesMax);
  EXPECT_EQ(r.json["history_truncated"], true);
  EXPECT_EQ(r.json["history_truncated_by"], "entries");
}

// The fixture's engine and dashboard, started by the test itself with its own clock.
class HistoryRemoved : public DashboardTest {
 protected:
  void SetUp() override {}
};

// A finished run the engine still keeps, whose first records retention removed (history_window 0):
// its detail shows the run without history and says why (it was a 404, as for no run at all).
TEST_F(HistoryRemoved, ARunWhoseHistoryRetentionRemovedIsShownWithoutIt) {
  // Retention compares segment ages on the engine's clock with the times the log wrote them (the
  // real clock's): start an hour ahead, so that the segments written here are old at once.
  const auto ahead = std::chrono::system_clock::now() + std::chrono::hours(1);
  clock_ = std::make_shared<ManualClock>(
      std::chrono::duration_cast<std::chrono::milliseconds>(ahead.time_since_epoch()).count());
  start_engine([&](EngineOptions& o) {
    o.clock = clock_;
    o.history_window = std::chrono::milliseconds(0);
    o.snapshot_every_records = 200;
  });
  serve();
  const std::string pad = R"({"pad":")" + std::string(6000, 'x') + R"("})";
  const RunId first = send_one("order/ok", pad);
  ASSERT_EQ(wait(first).status, RunStatus::kCompleted);
  ASSERT_TRUE(eventually([&] {
    if (!engine_->run_history(first).ok()) return true;
    RunId last = 0;
    for (int i = 0; i < 20; ++i) last = send_one("order/ok", pad);
    wait(last);
    return false;
  })) << engine_->stats().snapshot_last_error;
  EXPECT_EQ(engine_->run_history(first).status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(engine_->get_run(first).ok());
  const HttpReply r = get("/api/runs/" + std::to_string(first));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json["id"], first);
  EXPECT_EQ(r.json["status"], "completed");
  EXPECT_TRUE(r.json["history"].empty());
  ASSERT_TRUE(r.json["history_removed"].is_string()) << r.body;
  EXPECT_NE(r.json["history_removed"].get<std::string>().find("retention"), std::string::npos)
      << r.body;
  // A run whose history is whole says so.
  const RunId now = send_one("order/ok");
  ASSERT_EQ(wait(now).status, RunStatus::kCompleted);
  const HttpReply whole = get("/api/runs/" + std::to_string(now));
  ASSERT_EQ(whole.status, 200) << whole.body;
  EXPECT_TRUE(whole.json["history_removed"].is_null());
  EXPECT_FALSE(whole.json["history"].empty());
}

}  // namespace
}  // namespace cairn::testing
