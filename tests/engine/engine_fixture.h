// Test fixture for engine tests: test_engine_options on a manual clock shared across restarts,
// and helpers to start, restart and wait.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string_view>
#include <thread>
#include <vector>

#include "cairn/engine.h"
#include "support/race_iterations.h"
#include "support/temp_dir.h"
#include "support/test_engine_options.h"

namespace cairn::testing {

// Whether an error message or output holds `part` (shared: the unity build joins test files).
inline bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

using namespace std::chrono_literals;

class EngineTest : public ::testing::Test {
 protected:
  // Registers functions with `setup`, then starts. Called again after shutdown() it restarts on
  // the same directory and clock (a new process would do the same).
  void start(const std::function<void(Engine&)>& setup) {
    engine_ = Engine::create(options_);
    setup(*engine_);
    Status st = engine_->start();
    ASSERT_TRUE(st.ok()) << st.to_string();
  }
  void stop() {
    if (engine_) {
      Status st = engine_->shutdown();
      EXPECT_TRUE(st.ok()) << st.to_string();
      engine_.reset();
    }
  }
  void TearDown() override { stop(); }

  RunInfo wait(RunId id, std::chrono::milliseconds timeout = 20s) {
    auto r = engine_->wait_run(id, timeout);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? *r : RunInfo{};
  }
  RunId send_one(Event e) {
    auto r = engine_->send(e);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    if (!r.ok() || r->runs.empty()) return 0;
    return r->runs.front();
  }
  // Sends `n` events made by `make(i)`, a hundred per call (one log sync each, where one event per
  // call would be a sync each); returns the last event's run.
  RunId send_many(int n, const std::function<Event(int)>& make) {
    RunId last = 0;
    std::vector<Event> batch;
    for (int i = 0; i < n; ++i) {
      batch.push_back(make(i));
      if (batch.size() == 100 || i + 1 == n) {
        auto r = engine_->send(batch);
        EXPECT_TRUE(r.ok()) << r.status().to_string();
        if (!r.ok() || r->empty() || r->back().runs.empty()) return 0;
        last = r->back().runs.back();
        batch.clear();
      }
    }
    return last;
  }
  // Polls until `pred` holds (the engine works on other threads); fails after `timeout`.
  bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 20s) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      if (pred()) return true;
      std::this_thread::sleep_for(1ms);
    }
    return pred();
  }
  // Restarts load the snapshot written at shutdown when `on`; else they replay the whole log.
  void use_snapshots(bool on) {
    options_.snapshots = on;
    options_.snapshot_on_shutdown = on;
  }
  RunStatus status_of(RunId id) {
    auto r = engine_->get_run(id);
    return r.ok() ? r->status : RunStatus::kCancelled;
  }

  TempDir dir_;
  std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>();
  EngineOptions options_ = test_engine_options(dir_.path(), clock_);
  std::unique_ptr<Engine> engine_;
};

// Registering a function with `o` is refused (kInvalidArgument) with a message that holds `says`,
// and registers nothing.
inline void expect_refused(Engine& engine, FunctionOptions o, std::string_view says) {
  auto body = [](Context&, const Event&) -> Task<void> { co_return; };
  const Status st = engine.register_function(std::move(o), body);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.to_string();
  EXPECT_NE(st.message().find(says), std::string::npos) << st.to_string();
}

}  // namespace cairn::testing
