// Request bodies a client or another program could send to hurt the dashboard's process: JSON
// nested far deeper than anything renders, and bodies whose content type httplib limits on its
// own. Each is refused with a 400 or 413 that says why, and the server keeps serving.
#include <httplib.h>

#include "dashboard_fixture.h"

namespace cairn::testing {
namespace {

using HostileBodies = DashboardTest;

// 200,000 levels (400 KB, well under request_bytes_max) parse fine, but copying `data` into the
// event by dumping it recursed once per level and overflowed the handler thread's stack: the
// whole process (the application that embeds the dashboard) died of SIGSEGV.
TEST_F(HostileBodies, DeeplyNestedEventDataIsRefusedNotACrash) {
  constexpr size_t kLevels = 200'000;
  const std::string body = R"({"name":"order/ok","data":{"a":)" + std::string(kLevels, '[') +
                           std::string(kLevels, ']') + "}}";
  const HttpReply r = post("/api/events", body);
  EXPECT_EQ(r.status, 400) << r.body.substr(0, 200);
  EXPECT_TRUE(r.json.contains("error")) << r.body.substr(0, 200);
  EXPECT_EQ(get("/api/stats").status, 200);
  EXPECT_EQ(engine_->stats().events, 0u);

  // As deep as the engine takes (data nested 256 levels) is still accepted.
  const std::string ok =
      R"({"name":"order/ok","data":{"a":)" + std::string(255, '[') + std::string(255, ']') + "}}";
  const HttpReply accepted = post("/api/events", ok);
  EXPECT_EQ(accepted.status, 200) << accepted.body.substr(0, 200);
}

// httplib refuses a form-encoded body over 8 KiB by itself (curl -d sends that content type); the
// 413 claimed the body was over request_bytes_max (1 MiB), which sent users looking at the wrong
// limit.
TEST_F(HostileBodies, FormEncodedBodyOver8KiBSaysWhichLimit) {
  const std::string body = R"({"name":"order/ok","data":{"a":")" + std::string(9000, 'x') + "\"}}";
  httplib::Client client("127.0.0.1", port_);
  const httplib::Result r = client.Post("/api/events", body, "application/x-www-form-urlencoded");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413) << r->body;
  const nlohmann::json error = nlohmann::json::parse(r->body, nullptr, false);
  const std::string message = error.value("error", "");
  EXPECT_NE(message.find("8192 bytes"), std::string::npos) << message;
  EXPECT_NE(message.find("application/json"), std::string::npos) << message;

  const HttpReply json = post("/api/events", body);  // the same body as JSON is accepted
  EXPECT_EQ(json.status, 200) << json.body.substr(0, 200);
}

}  // namespace
}  // namespace cairn::testing
