// A full engine and a request too large are different answers: an event or a replay the engine
// refuses because runs_active_max unfinished runs exist is 503 with Retry-After and the limit's
// name (the same request may succeed later), while an event over event_bytes_max stays 413 (it
// never will). Both were 413 "too large": the engine reported both as kLimitExceeded.
#include <httplib.h>

#include <string>

#include "dashboard_fixture.h"

namespace cairn::testing {
namespace {

// The fixture's engine and functions with room for one unfinished run.
class EngineFull : public DashboardTest {
 protected:
  void SetUp() override {
    start_engine([](EngineOptions& o) { o.runs_active_max = 1; });
    serve();
  }

  httplib::Result post_raw(const std::string& path, const std::string& body) {
    httplib::Client client("127.0.0.1", port_);
    return client.Post(path, body, "application/json");
  }
};

TEST_F(EngineFull, AnEventTheFullEngineRefusesIs503WithRetryAfter) {
  send_one("order/slow");  // the one unfinished run it has room for, asleep for an hour
  const httplib::Result r = post_raw("/api/events", R"({"name": "order/ok"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503) << r->body;
  EXPECT_FALSE(r->get_header_value("Retry-After").empty());
  EXPECT_NE(r->body.find("runs_active_max"), std::string::npos) << r->body;
}

TEST_F(EngineFull, AReplayTheFullEngineRefusesIs503WithRetryAfter) {
  const RunId done = send_one("order/ok");
  ASSERT_EQ(wait(done).status, RunStatus::kCompleted);
  send_one("order/slow");
  const httplib::Result r =
      post_raw("/api/runs/" + std::to_string(done) + "/replay", R"({"from": "start"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503) << r->body;
  EXPECT_FALSE(r->get_header_value("Retry-After").empty());
  EXPECT_NE(r->body.find("runs_active_max"), std::string::npos) << r->body;
}

// An event over event_bytes_max (64 KiB here) is too large whatever the engine's load: 413,
// with no Retry-After.
TEST_F(EngineFull, AnEventOverEventBytesMaxStays413) {
  const std::string data = R"({"pad": ")" + std::string(100'000, 'x') + R"("})";
  const httplib::Result r =
      post_raw("/api/events", R"({"name": "order/ok", "data": )" + data + "}");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413) << r->body.substr(0, 300);
  EXPECT_EQ(r->get_header_value("Retry-After"), "");
  EXPECT_NE(r->body.find("event_bytes_max"), std::string::npos) << r->body.substr(0, 300);
}

}  // namespace
}  // namespace cairn::testing
