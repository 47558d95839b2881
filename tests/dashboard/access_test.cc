// Who may use the dashboard and what it serves: 401 without the token when one is set, a
// non-loopback bind refused without a token, 404 for anything but the API and the page (405 for
// a method one of them does not take), 413 for large bodies, requests from other sites refused,
// and admin.json written and removed.
#include <httplib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "dashboard_fixture.h"

namespace cairn::testing {
namespace {

using DashboardAccess = DashboardTest;

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST_F(DashboardAccess, ATokenIsRequiredOnEveryRequestWhenSet) {
  dashboard_->stop();
  auto d = start_dashboard({.token = "s3cret"});
  ASSERT_TRUE(d.ok()) << d.status().to_string();
  dashboard_ = std::move(*d);
  port_ = dashboard_->port();

  for (const char* path : {"/", "/api/runs", "/api/stats", "/api/nothing"}) {
    EXPECT_EQ(get(path).status, 401) << path;
    EXPECT_EQ(get(path, "wrong").status, 401) << path;
  }
  EXPECT_EQ(post("/api/events", R"({"name":"order/ok"})").status, 401);
  EXPECT_EQ(get("/api/runs", "s3cret").status, 200);
  EXPECT_EQ(get("/api/runs?token=s3cret").status, 200);
  EXPECT_EQ(get("/?token=s3cret").status, 200);
  EXPECT_EQ(get("/api/nothing", "s3cret").status, 404);
  const HttpReply sent = post("/api/events", R"({"name":"order/ok"})", "s3cret");
  EXPECT_EQ(sent.status, 200) << sent.body;
  // admin.json says a token is needed, and never holds it.
  const std::string admin = read_file(dir_.path() / "admin.json");
  EXPECT_EQ(nlohmann::json::parse(admin)["token_required"], true) << admin;
  EXPECT_EQ(admin.find("s3cret"), std::string::npos) << admin;
}

TEST_F(DashboardAccess, ANonLoopbackBindNeedsAToken) {
  auto refused = start_dashboard({.bind = "0.0.0.0", .advertise = false});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("token"), std::string::npos);
  auto with_token = start_dashboard({.bind = "0.0.0.0", .token = "t", .advertise = false});
  ASSERT_TRUE(with_token.ok()) << with_token.status().to_string();
  EXPECT_EQ((*with_token)->url(),
            "http://127.0.0.1:" + std::to_string((*with_token)->port()) + "/");
  EXPECT_TRUE(start_dashboard({.bind = "::1", .advertise = false}).ok());
}

TEST_F(DashboardAccess, AdminJsonIsWrittenAtStartAndRemovedAtStop) {
  const std::filesystem::path admin = dir_.path() / "admin.json";
  ASSERT_TRUE(std::filesystem::exists(admin));
  const nlohmann::json doc = nlohmann::json::parse(read_file(admin));
  EXPECT_EQ(doc["url"], dashboard_->url());
  EXPECT_EQ(doc["url"], "http://127.0.0.1:" + std::to_string(port_) + "/");
  EXPECT_EQ(doc["pid"], static_cast<int64_t>(::getpid()));
  EXPECT_EQ(doc["token_required"], false);
  dashboard_->stop();
  EXPECT_FALSE(std::filesystem::exists(admin));
  dashboard_->stop();  // idempotent
  EXPECT_EQ(get("/api/runs").status, 0) << "still answering after stop()";
}

// httplib's default socket options add SO_REUSEPORT, with which a second dashboard bound the same
// port and took some of the first one's requests: the `cairn` tool's writes for one engine then
// landed in the other's log.
TEST_F(DashboardAccess, ASecondDashboardCannotBindAPortInUse) {
  auto second = start_dashboard({.port = port_});
  ASSERT_FALSE(second.ok()) << "two dashboards listen on port " << port_;
  EXPECT_EQ(second.status().code(), StatusCode::kIoError) << second.status().to_string();
  EXPECT_NE(second.status().message().find("in use"), std::string::npos)
      << second.status().to_string();
  EXPECT_EQ(get("/api/stats").status, 200);  // the first one still serves
}

// The tool checks who answers against admin.json's pid.
TEST_F(DashboardAccess, StatsNameTheServingProcess) {
  const nlohmann::json doc = nlohmann::json::parse(get("/api/stats").body);
  EXPECT_EQ(doc["pid"], static_cast<int64_t>(::getpid()));
}

TEST_F(DashboardAccess, OnlyTheApiAndThePageAreServed) {
  for (const char* path : {"/index.html", "/dashboard.js", "/api", "/api/runs/1/history", "/../log",
                           "/admin.json", "/log/"}) {
    const HttpReply r = get(path);
    EXPECT_EQ(r.status, 404) << path << ": " << r.body;
    EXPECT_TRUE(r.json.contains("error")) << path;
  }
  // A served path asked with a method it does not take is 405 (methods_test.cc).
  EXPECT_EQ(post("/", "").status, 405);
  EXPECT_EQ(post("/api/runs", "").status, 405);
}

TEST_F(DashboardAccess, LargeBodiesAre413) {
  dashboard_->stop();
  auto d = start_dashboard({.request_bytes_max = 1024});
  ASSERT_TRUE(d.ok());
  dashboard_ = std::move(*d);
  port_ = dashboard_->port();
  const std::string big = R"({"name":"order/ok","data":{"pad":")" + std::string(2000, 'x') + "\"}}";
  const HttpReply r = post("/api/events", big);
  EXPECT_EQ(r.status, 413) << r.body;
  EXPECT_EQ(engine_->stats().events, 0u);
  EXPECT_EQ(post("/api/events", R"({"name":"order/ok"})").status, 200);
}

TEST_F(DashboardAccess, RequestsFromOtherSitesAreRefused) {
  httplib::Client client("127.0.0.1", port_);
  // DNS rebinding: a page of evil.example whose name now resolves to 127.0.0.1.
  auto rebound = client.Get("/api/runs", {{"Host", "evil.example"}});
  ASSERT_TRUE(rebound);
  EXPECT_EQ(rebound->status, 403);
  // A cross-site write from a browser carries the other site's Origin.
  auto cross = client.Post("/api/events", {{"Origin", "http://evil.example"}},
                           R"({"name":"order/ok"})", "application/json");
  ASSERT_TRUE(cross);
  EXPECT_EQ(cross->status, 403);
  auto own = client.Post("/api/events", {{"Origin", "http://127.0.0.1:" + std::to_string(port_)}},
                         R"({"name":"order/ok"})", "application/json");
  ASSERT_TRUE(own);
  EXPECT_EQ(own->status, 200) << own->body;
}

// docs/dashboard.md sends users across machines through a TLS proxy. One that keeps the Host
// (Caddy does by default) forwards the page's writes with Origin https://HOST: comparing it
// with http://HOST refused every Replay, Cancel and event from the page (403).
TEST_F(DashboardAccess, ThePageBehindATlsProxyMayWrite) {
  dashboard_->stop();
  auto d = start_dashboard({.bind = "0.0.0.0", .token = "t", .advertise = false});
  ASSERT_TRUE(d.ok()) << d.status().to_string();
  dashboard_ = std::move(*d);
  httplib::Client client("127.0.0.1", dashboard_->port());
  const httplib::Headers proxied = {
      {"Host", "dash.example"}, {"Origin", "https://dash.example"}, {"Authorization", "Bearer t"}};
  auto own = client.Post("/api/events", proxied, R"({"name":"order/ok"})", "application/json");
  ASSERT_TRUE(own);
  EXPECT_EQ(own->status, 200) << own->body;
  const httplib::Headers other = {
      {"Host", "dash.example"}, {"Origin", "https://evil.example"}, {"Authorization", "Bearer t"}};
  auto cross = client.Post("/api/events", other, R"({"name":"order/ok"})", "application/json");
  ASSERT_TRUE(cross);
  EXPECT_EQ(cross->status, 403) << cross->body;
}

}  // namespace
}  // namespace cairn::testing
