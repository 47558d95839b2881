// Request bodies a client or another program could send to hurt the dashboard's process: JSON
// nested far deeper than anything renders is refused with a 400, and the server keeps serving.
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

}  // namespace
}  // namespace cairn::testing
