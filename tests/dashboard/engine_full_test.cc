// A full engine and a request too large are different answers: an event or a replay the engine
// refuses because runs_active_max unfinished runs exist is 503 with Retry-After and the limit's
// name (the same request may succeed later), while an event over event_bytes_max stays 413 (it
// never will). Both were 413 "too large": the engine reported both as kLimitExceeded. A full
// disk is 503 with Retry-After too (the engine goes on when space returns); it was 500.
#include <httplib.h>

#include <memory>
#include <string>

#include "dashboard_fixture.h"
#include "support/faulty_io.h"

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

// The fixture's engine on a disk that can fill.
class DiskFull : public DashboardTest {
 protected:
  void SetUp() override {
    start_engine([&](EngineOptions& o) {
      o.log.file_system = fs_;
      o.snapshots = false;  // the snapshotter would meet the full disk too; not the subject
    });
    serve();
  }

  std::shared_ptr<FaultyFileSystem> fs_ = std::make_shared<FaultyFileSystem>();
};

TEST_F(DiskFull, AnEventTheFullDiskRefusesIs503WithRetryAfter) {
  FaultyFileSystem* fs = fs_.get();
  // The disk fills as soon as the log prepares its next segment file.
  fs->add_fault(
      FsFault{.op = FsOp::kPwrite, .path_contains = "prealloc-", .err = ENOSPC, .times = 0});
  httplib::Client client("127.0.0.1", port_);
  const std::string pad = std::string(4000, 'x');
  ASSERT_TRUE(eventually([&] {
    if (engine_->health().code() == StatusCode::kNoSpace) return true;
    (void)client.Post("/api/events", R"({"name": "order/ok", "data": {"pad": ")" + pad + R"("}})",
                      "application/json");
    return false;
  })) << engine_->health().to_string();
  const httplib::Result r =
      client.Post("/api/events", R"({"name": "order/ok"})", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503) << r->body;
  EXPECT_FALSE(r->get_header_value("Retry-After").empty());
  EXPECT_NE(r->body.find("disk is full"), std::string::npos) << r->body;
  fs->clear();  // space returns: the same request succeeds
  ASSERT_TRUE(eventually([&] { return engine_->health().ok(); })) << engine_->health().to_string();
  const httplib::Result again =
      client.Post("/api/events", R"({"name": "order/ok"})", "application/json");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200) << again->body;
}

}  // namespace
}  // namespace cairn::testing
