// DashboardTest: an Engine on a manual clock with three real functions, a Dashboard serving it
// on a free loopback port, and an HTTP client for it.
//   "ok"    (event "order/ok"):    one step, returns {"paid": true}
//   "flaky" (event "order/flaky"): step "charge" fails for good while `down` is set
//   "slow"  (event "order/slow"):  sleeps an hour (the manual clock never gets there)
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "cairn/dashboard.h"
#include "cairn/engine.h"
#include "support/temp_dir.h"
#include "support/test_engine_options.h"

namespace cairn::testing {

struct HttpReply {
  int status = 0;  // 0: no answer (connection failed)
  nlohmann::json json;
  std::string body;
};

class DashboardTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Starts the engine with the functions above; `adjust` may change the test options first.
  void start_engine(const std::function<void(EngineOptions&)>& adjust = nullptr);
  Result<std::unique_ptr<Dashboard>> start_dashboard(DashboardOptions options);
  // Starts a dashboard with `options` as dashboard_ and port_ (a failure fails the test).
  void serve(DashboardOptions options = {});

  HttpReply get(const std::string& path, const std::string& token = "");
  HttpReply post(const std::string& path, const std::string& body, const std::string& token = "");

  RunId send_one(const std::string& name, const std::string& data = "{}");
  RunInfo wait(RunId id);
  // Polls until `pred` holds (the engine works on other threads); false after 20 s.
  bool eventually(const std::function<bool()>& pred);

  TempDir dir_;
  std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>();
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<Dashboard> dashboard_;
  uint16_t port_ = 0;
  std::atomic<bool> down_{true};
  std::atomic<int> charge_calls_{0};
};

}  // namespace cairn::testing
