// GET /api/runs/ID stays within its byte budget: a run whose steps return large outputs gets an
// answer of at most DashboardOptions::run_detail_bytes_max (4 MiB by default), with each value
// cut past run_detail_value_bytes_max (64 KiB), and the answer says what it left out.
#include <string>

#include "dashboard_fixture.h"

namespace cairn::testing {
namespace {

constexpr size_t kDetailBytesMax = 4u << 20;  // docs/dashboard.md, Limits

// An engine with one function, "big": as many steps as its event's "steps" says, each returning
// "bytes" bytes of text, and an output of that size too.
class RunDetailBudget : public DashboardTest {
 protected:
  void SetUp() override {
    engine_ = Engine::create(test_engine_options(dir_.path(), clock_));
    ASSERT_TRUE(engine_
                    ->register_function({.id = "big", .triggers = {on_event("big")}},
                                        [](Context& ctx, const Event& e) -> Task<std::string> {
                                          const nlohmann::json in = nlohmann::json::parse(e.data);
                                          const int n = in["steps"];
                                          const size_t bytes = in["bytes"];
                                          for (int i = 0; i < n; ++i) {
                                            const std::string id = "s" + std::to_string(i);
                                            co_await ctx.run(id, [bytes, i] {
                                              return std::string(bytes, char('a' + i % 26));
                                            });
                                          }
                                          co_return std::string(bytes, 'z');
                                        })
                    .ok());
    ASSERT_TRUE(engine_->start().ok());
  }

  RunId finished_run(int steps, size_t bytes) {
    const RunId id = send_one("big", nlohmann::json{{"steps", steps}, {"bytes", bytes}}.dump());
    EXPECT_EQ(wait(id).status, RunStatus::kCompleted);
    return id;
  }
};

// 100 steps of 60,000 bytes each: the answer was built whole (over 6 MB) with no word of a cut.
TEST_F(RunDetailBudget, LargeOutputsStayUnderTheBudgetAndSaySo) {
  serve({});
  const RunId id = finished_run(100, 60'000);
  const HttpReply r = get("/api/runs/" + std::to_string(id));
  ASSERT_EQ(r.status, 200) << r.body.substr(0, 200);
  EXPECT_LE(r.body.size(), kDetailBytesMax);
  EXPECT_EQ(r.json["history_truncated"], true);
  EXPECT_EQ(r.json["history_truncated_by"], "bytes");
  // The oldest entries are the ones kept, in log order, and each one whole.
  ASSERT_TRUE(r.json["history"].is_array());
  ASSERT_GT(r.json["history"].size(), 1u);
  EXPECT_LT(r.json["history"].size(), 102u);
  EXPECT_EQ(r.json["history"][0]["kind"], "created");
  EXPECT_EQ(r.json["history"][1]["step_id"], "s0");
  EXPECT_EQ(r.json["history"][1]["value"], std::string(60'000, 'a'));
  EXPECT_EQ(r.json["history"][1]["value_truncated"], false);
  EXPECT_EQ(r.json["output"], std::string(60'000, 'z'));
  EXPECT_EQ(r.json["output_truncated"], false);
}

// Every value past run_detail_value_bytes_max is its first bytes with a note of its size, and
// says it was cut; entries that fit the budget are all there.
TEST_F(RunDetailBudget, ValuesPastTheirCapAreCutAndMarked) {
  serve({.run_detail_bytes_max = 64 << 10, .run_detail_value_bytes_max = 1024});
  const RunId id = send_one(
      "big",
      nlohmann::json{{"steps", 20}, {"bytes", 10'000}, {"pad", std::string(5000, 'p')}}.dump());
  ASSERT_EQ(wait(id).status, RunStatus::kCompleted);
  const HttpReply r = get("/api/runs/" + std::to_string(id));
  ASSERT_EQ(r.status, 200) << r.body.substr(0, 200);
  EXPECT_LE(r.body.size(), size_t{64 << 10});
  EXPECT_EQ(r.json["history_truncated"], false);
  EXPECT_TRUE(r.json["history_truncated_by"].is_null());
  EXPECT_EQ(r.json["history"].size(), 22u);  // created, 20 steps, completed

  const std::string note = " [... cut: 10000 bytes in all]";
  ASSERT_TRUE(r.json["output"].is_string());
  const std::string output = r.json["output"];
  EXPECT_LE(output.size(), 1024u);
  EXPECT_TRUE(output.ends_with(note)) << output.substr(output.size() - 60);
  EXPECT_EQ(output.front(), 'z');
  EXPECT_EQ(r.json["output_truncated"], true);
  // The event's data is JSON; cut, it is a string (cut JSON does not parse).
  ASSERT_TRUE(r.json["event"]["data"].is_string());
  EXPECT_LE(r.json["event"]["data"].get<std::string>().size(), 1024u);
  EXPECT_EQ(r.json["event"]["data_truncated"], true);
  EXPECT_EQ(r.json["error_truncated"], false);
  for (const nlohmann::json& e : r.json["history"]) {
    if (e["kind"] != "step completed") continue;
    const std::string value = e["value"];
    EXPECT_LE(value.size(), 1024u);
    EXPECT_TRUE(value.ends_with(note)) << e["step_id"];
    EXPECT_EQ(e["value_truncated"], true);
  }
}

// A whole history whose last entry takes the values read past run_detail_bytes_max: the engine's
// read stops there because the run ended, not because of the budget, and the answer, all of it
// shown, said "history_truncated": true, "history_truncated_by": "bytes". Event data (counted
// in the read's budget, not shown in the entries) puts the values past the budget while the
// answer stays far under it.
constexpr size_t kWholeBytesMax = 16 << 10;
constexpr size_t kWholeValueMax = 1024;
constexpr int kSends = 14;

// An engine with one function, "sender": as many events of 2,000 bytes of data sent as its
// event's "sends" says, and an output of 1,000 bytes.
class RunDetailWholeHistory : public DashboardTest {
 protected:
  void SetUp() override {
    engine_ = Engine::create(test_engine_options(dir_.path(), clock_));
    ASSERT_TRUE(engine_
                    ->register_function(
                        {.id = "sender", .triggers = {on_event("sender")}},
                        [](Context& ctx, const Event& e) -> Task<std::string> {
                          const int sends = nlohmann::json::parse(e.data)["sends"];
                          const std::string data = "{\"pad\":\"" + std::string(2000, 'p') + "\"}";
                          for (int i = 0; i < sends; ++i) {
                            const std::string n = std::to_string(i);
                            const std::string step = "send" + n;
                            const std::string id = "e" + n;
                            co_await ctx.send_event(step,
                                                    {.name = "elsewhere", .data = data, .id = id});
                          }
                          co_return std::string(1000, 'o');
                        })
                    .ok());
    ASSERT_TRUE(engine_->start().ok());
  }
};

TEST_F(RunDetailWholeHistory, ItsLastEntryPassingTheReadsBudgetIsNotTruncated) {
  constexpr size_t kBytesMax = kWholeBytesMax;
  constexpr size_t kValueMax = kWholeValueMax;
  serve({.run_detail_bytes_max = kBytesMax, .run_detail_value_bytes_max = kValueMax});
  const RunId id =
      send_one("sender", nlohmann::json{{"sends", kSends}, {"pad", std::string(2000, 'q')}}.dump());
  ASSERT_EQ(wait(id).status, RunStatus::kCompleted);
  // What the engine reads for the detail, whole: only its last entry passes the budget.
  const auto read = engine_->run_history(id, HistoryLimits{.value_bytes_max = kValueMax});
  ASSERT_TRUE(read.ok()) << read.status().to_string();
  ASSERT_EQ(read->size(), size_t{kSends} + 2);  // created, the sends, completed
  size_t before_last = 0;
  for (size_t i = 0; i + 1 < read->size(); ++i) {
    before_last += (*read)[i].value.size() + (*read)[i].event.data.size();
  }
  ASSERT_LE(before_last, kBytesMax);
  ASSERT_GT(before_last + read->back().value.size(), kBytesMax);

  const HttpReply r = get("/api/runs/" + std::to_string(id));
  ASSERT_EQ(r.status, 200) << r.body.substr(0, 200);
  EXPECT_LE(r.body.size(), kBytesMax);
  EXPECT_EQ(r.json["history"].size(), size_t{kSends} + 2);
  EXPECT_EQ(r.json["history_truncated"], false);
  EXPECT_TRUE(r.json["history_truncated_by"].is_null()) << r.json["history_truncated_by"];
}

// More sends: the read stops at the entry after the one that passed the budget; that one says the
// history went on, and the answer ends before it.
TEST_F(RunDetailWholeHistory, AHistoryThatGoesOnPastTheReadsBudgetIsTruncatedByBytes) {
  serve({.run_detail_bytes_max = kWholeBytesMax, .run_detail_value_bytes_max = kWholeValueMax});
  const RunId id = send_one(
      "sender", nlohmann::json{{"sends", kSends + 6}, {"pad", std::string(2000, 'q')}}.dump());
  ASSERT_EQ(wait(id).status, RunStatus::kCompleted);
  const HttpReply r = get("/api/runs/" + std::to_string(id));
  ASSERT_EQ(r.status, 200) << r.body.substr(0, 200);
  EXPECT_LE(r.body.size(), kWholeBytesMax);
  EXPECT_EQ(r.json["history_truncated"], true);
  EXPECT_EQ(r.json["history_truncated_by"], "bytes");
  // The created entry and the sends up to the one that passed 16 KiB of values (the 15th: where
  // the output did in the whole history above).
  EXPECT_EQ(r.json["history"].size(), size_t{kSends} + 2);
  EXPECT_EQ(r.json["history"].back()["kind"], "event sent");
}

TEST(RunDetailBudgetOptions, ABudgetWithoutRoomForItsValuesIsRefused) {
  EXPECT_EQ(Dashboard::check_options({.run_detail_value_bytes_max = 100}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Dashboard::check_options(
                {.run_detail_bytes_max = 100 << 10, .run_detail_value_bytes_max = 64 << 10})
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(Dashboard::check_options({}).ok());
}

}  // namespace
}  // namespace cairn::testing
