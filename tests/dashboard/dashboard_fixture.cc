// DashboardTest (see dashboard_fixture.h).
#include "dashboard_fixture.h"

#include <httplib.h>

#include <thread>

#include "cairn/errors.h"

namespace cairn::testing {
namespace {

HttpReply to_reply(const httplib::Result& r) {
  HttpReply reply;
  if (!r) return reply;
  reply.status = r->status;
  reply.body = r->body;
  reply.json = nlohmann::json::parse(r->body, nullptr, false);
  return reply;
}

httplib::Headers auth(const std::string& token) {
  if (token.empty()) return {};
  return {{"Authorization", "Bearer " + token}};
}

}  // namespace

void DashboardTest::SetUp() {
  start_engine();
  serve();
}

void DashboardTest::serve(DashboardOptions options) {
  auto d = start_dashboard(std::move(options));
  ASSERT_TRUE(d.ok()) << d.status().to_string();
  dashboard_ = std::move(*d);
  port_ = dashboard_->port();
}

void DashboardTest::TearDown() {
  if (dashboard_) dashboard_->stop();
  dashboard_.reset();
  if (engine_) {
    EXPECT_TRUE(engine_->shutdown().ok());
  }
  engine_.reset();
}

void DashboardTest::start_engine(const std::function<void(EngineOptions&)>& adjust) {
  EngineOptions options = test_engine_options(dir_.path(), clock_);
  if (adjust) adjust(options);
  engine_ = Engine::create(std::move(options));
  ASSERT_TRUE(engine_
                  ->register_function({.id = "ok", .triggers = {on_event("order/ok")}},
                                      [](Context& ctx, const Event&) -> Task<std::string> {
                                        co_await ctx.run("pay", [] { return std::string("p"); });
                                        co_return std::string("done");
                                      })
                  .ok());
  ASSERT_TRUE(engine_
                  ->register_function({.id = "flaky", .triggers = {on_event("order/flaky")}},
                                      [this](Context& ctx, const Event&) -> Task<std::string> {
                                        co_await ctx.run("reserve",
                                                         [] { return std::string("r"); });
                                        std::string c = co_await ctx.run("charge", [this] {
                                          ++charge_calls_;
                                          if (down_.load()) throw NonRetriableError("bank down");
                                          return std::string("charged");
                                        });
                                        co_return c;
                                      })
                  .ok());
  ASSERT_TRUE(engine_
                  ->register_function({.id = "slow", .triggers = {on_event("order/slow")}},
                                      [](Context& ctx, const Event&) -> Task<void> {
                                        co_await ctx.sleep("nap", std::chrono::hours(1));
                                      })
                  .ok());
  Status st = engine_->start();
  ASSERT_TRUE(st.ok()) << st.to_string();
}

Result<std::unique_ptr<Dashboard>> DashboardTest::start_dashboard(DashboardOptions options) {
  return Dashboard::start(*engine_, std::move(options));
}

HttpReply DashboardTest::get(const std::string& path, const std::string& token) {
  httplib::Client client("127.0.0.1", port_);
  return to_reply(client.Get(path, auth(token)));
}

HttpReply DashboardTest::post(const std::string& path, const std::string& body,
                              const std::string& token) {
  httplib::Client client("127.0.0.1", port_);
  return to_reply(client.Post(path, auth(token), body, "application/json"));
}

RunId DashboardTest::send_one(const std::string& name, const std::string& data) {
  auto r = engine_->send({.name = name, .data = data});
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  if (!r.ok() || r->runs.empty()) return 0;
  return r->runs.front();
}

RunInfo DashboardTest::wait(RunId id) {
  auto r = engine_->wait_run(id, std::chrono::seconds(20));
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return r.ok() ? *r : RunInfo{};
}

bool DashboardTest::eventually(const std::function<bool()>& pred) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return pred();
}

}  // namespace cairn::testing
