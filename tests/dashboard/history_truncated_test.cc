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

}  // namespace
}  // namespace cairn::testing
