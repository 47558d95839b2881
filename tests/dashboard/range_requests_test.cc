// Range headers: every answer is whole. httplib cuts a body to the ranges a request asks for,
// which turned a JSON answer into invalid JSON and a small request into a huge answer.
#include <httplib.h>

#include <string>

#include "dashboard_fixture.h"

namespace cairn::testing {
namespace {

using RangeRequests = DashboardTest;

// One range: the answer kept status 200 (the route set it) but held 11 bytes of the JSON,
// "{\"dispatch\"", which no client can parse.
TEST_F(RangeRequests, OneRangeGetsTheWholeJson) {
  httplib::Client client("127.0.0.1", port_);
  const httplib::Result r = client.Get("/api/stats", {{"Range", "bytes=0-10"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_FALSE(nlohmann::json::parse(r->body, nullptr, false).is_discarded()) << r->body;
}

// 2,600 ranges of the whole body fit in one 8 KB header: the page (about 30 KB) came back 2,600
// times, some 80 MB built in memory for one request, and four requests at once took 4 threads'
// worth of that from the application that embeds the dashboard.
TEST_F(RangeRequests, ManyRangesDoNotMultiplyTheAnswer) {
  httplib::Client client("127.0.0.1", port_);
  const httplib::Result whole = client.Get("/");
  ASSERT_TRUE(whole);
  std::string ranges = "bytes=0-";
  for (int i = 1; i < 2600; ++i) ranges += ",0-";
  const httplib::Result r = client.Get("/", {{"Range", ranges}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body.size(), whole->body.size());
}

}  // namespace
}  // namespace cairn::testing
