// POST /api/events, GET /api/functions, /api/stats, /api/throughput and the page at /.
#include "dashboard_fixture.h"

namespace cairn::testing {
namespace {

using EngineApi = DashboardTest;

TEST_F(EngineApi, EventsStartRunsAndDuplicatesStartNone) {
  const HttpReply r =
      post("/api/events", R"({"name":"order/ok","data":{"order":"A-1"},"id":"evt-1"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json["event_id"], "evt-1");
  EXPECT_EQ(r.json["duplicate"], false);
  ASSERT_EQ(r.json["runs"].size(), 1u);
  const RunInfo run = wait(r.json["runs"][0].get<RunId>());
  EXPECT_EQ(run.status, RunStatus::kCompleted);
  EXPECT_EQ(nlohmann::json::parse(run.event.data), nlohmann::json({{"order", "A-1"}}));

  const HttpReply dup = post("/api/events", R"({"name":"order/ok","id":"evt-1"})");
  ASSERT_EQ(dup.status, 200) << dup.body;
  EXPECT_EQ(dup.json["duplicate"], true);
  EXPECT_TRUE(dup.json["runs"].empty());

  for (const char* body : {"", "nope", R"({"data":{}})", R"({"name":""})",
                           R"({"name":"x","data":[1]})", R"({"name":"x","id":{}})"}) {
    const HttpReply bad = post("/api/events", body);
    EXPECT_EQ(bad.status, 400) << body << ": " << bad.body;
    EXPECT_TRUE(bad.json.contains("error")) << body;
  }
}

TEST_F(EngineApi, FunctionsShowTriggersAndUnfinishedRunsByStatus) {
  const RunId a = send_one("order/slow");
  const RunId b = send_one("order/slow");
  ASSERT_TRUE(eventually([&] {
    return engine_->get_run(a)->status == RunStatus::kSleeping &&
           engine_->get_run(b)->status == RunStatus::kSleeping;
  }));
  const HttpReply r = get("/api/functions");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(r.json.is_array());
  std::map<std::string, nlohmann::json> by_id;
  for (const auto& f : r.json) by_id[f["id"]] = f;
  ASSERT_EQ(by_id.count("slow"), 1u) << r.body;
  EXPECT_EQ(by_id["slow"]["triggers"], nlohmann::json::array({"order/slow"}));
  EXPECT_EQ(by_id["slow"]["sleeping"], 2);
  EXPECT_EQ(by_id["slow"]["queued"], 0);
  EXPECT_EQ(by_id["slow"]["running"], 0);
  EXPECT_EQ(by_id["ok"]["sleeping"], 0);
  EXPECT_EQ(by_id["ok"]["registered"], true);
}

TEST_F(EngineApi, StatsAndThroughputAnswer) {
  const RunId id = send_one("order/ok");
  ASSERT_EQ(wait(id).status, RunStatus::kCompleted);
  // The engine counts a finished run just after wait_run() wakes: poll for it.
  ASSERT_TRUE(eventually([&] { return get("/api/stats").json["runs_finished"] == 1; }));
  const HttpReply stats = get("/api/stats");
  ASSERT_EQ(stats.status, 200) << stats.body;
  EXPECT_GE(stats.json["steps_completed"].get<uint64_t>(), 1u);
  EXPECT_TRUE(stats.json["dispatch"].contains("p99_us"));
  EXPECT_GT(stats.json["log"]["records_durable"].get<uint64_t>(), 0u);
  EXPECT_EQ(stats.json["functions_registered"], 3);
  EXPECT_EQ(stats.json["dedup_ids"], 0) << "send_one names no id";
  auto named = engine_->send(Event{.name = "order/ok", .id = "order-1"});
  ASSERT_TRUE(named.ok()) << named.status().to_string();
  EXPECT_EQ(get("/api/stats").json["dedup_ids"], 1);

  // The sampler takes one sample a second: wait for the first (polled, no timing assumption).
  ASSERT_TRUE(eventually([&] { return !get("/api/throughput").json["samples"].empty(); }));
  const HttpReply t = get("/api/throughput");
  EXPECT_EQ(t.json["interval_s"], 1);
  const nlohmann::json& s = t.json["samples"][0];
  EXPECT_GT(s["t"].get<int64_t>(), 0);
  EXPECT_TRUE(s.contains("steps") && s.contains("runs_finished"));
}

TEST_F(EngineApi, ThePageCarriesTheHooksItsScriptAndTestsUse) {
  const HttpReply r = get("/");
  ASSERT_EQ(r.status, 200);
  for (const char* hook :
       {"<table id=\"runs\"", "id=\"filter-function\"", "id=\"filter-status\"",
        "id=\"filter-since\"", "id=\"next-page\"", "id=\"prev-page\"", "id=\"run-detail\"",
        "id=\"timeline\"", "data-action=\"replay\"", "data-action=\"replay-start\"",
        "data-action=\"cancel\"", "id=\"action-result\"", "<section id=\"functions\"",
        "id=\"throughput\"", "Authorization"}) {
    EXPECT_NE(r.body.find(hook), std::string::npos) << hook;
  }
  // Inlined at build time: the page loads nothing else.
  EXPECT_EQ(r.body.find("src=\"dashboard.js\""), std::string::npos);
  EXPECT_EQ(r.body.find("href=\"dashboard.css\""), std::string::npos);
  EXPECT_EQ(r.body.find("http://"), r.body.find("http://www.w3.org/2000/svg"));
}

}  // namespace
}  // namespace cairn::testing
