// write_sample_engine_dir (see engine_logs.h).
#include "engine_logs.h"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <thread>

#include "support/test_engine_options.h"

namespace cairn::testing {

using namespace std::chrono_literals;

void register_sample_functions(Engine& engine) {
  Status st = engine.register_function(
      {.id = "greet", .triggers = {on_event("greet/requested")}},
      [](Context& ctx, const Event&) -> Task<std::string> {
        std::string hello = co_await ctx.run("hello", [] { return std::string("hello, Ada"); });
        int count = co_await ctx.run("count", [] { return 42; });
        co_return hello.empty() || count != 42 ? std::string("wrong") : std::string("done");
      });
  EXPECT_TRUE(st.ok()) << st.to_string();
  st = engine.register_function({.id = "charge",
                                 .triggers = {on_event("charge/requested")},
                                 .retries = 1,
                                 .backoff_base = 1ms,
                                 .backoff_max = 2ms},
                                [](Context& ctx, const Event&) -> Task<int> {
                                  co_return co_await ctx.run("call-api", []() -> int {
                                    throw std::runtime_error("payment API down");
                                  });
                                });
  EXPECT_TRUE(st.ok()) << st.to_string();
  st = engine.register_function(
      {.id = "approve", .triggers = {on_event("order/placed")}},
      [](Context& ctx, const Event&) -> Task<std::string> {
        co_await ctx.run("reserve", [] { return std::string("reserved"); });
        std::optional<Event> approval = co_await ctx.wait_for_event(
            "approval", {.event = "order/approved", .match = "data.order_id", .timeout = 1h});
        if (!approval) co_return std::string("timed out");
        co_return co_await ctx.run("ship", [] { return std::string("shipped"); });
      });
  EXPECT_TRUE(st.ok()) << st.to_string();
}

EngineOptions sample_engine_options(const std::filesystem::path& dir) {
  return test_engine_options(dir, system_clock());
}

namespace {

RunId send(Engine& engine, const std::string& name, const std::string& data) {
  Result<SendResult> r = engine.send(Event{.name = name, .data = data});
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  if (!r.ok() || r->runs.size() != 1) {
    ADD_FAILURE() << name << " started " << (r.ok() ? r->runs.size() : 0) << " runs";
    return 0;
  }
  return r->runs.front();
}

RunStatus wait_for(Engine& engine, RunId id, RunStatus want) {
  const auto end = std::chrono::steady_clock::now() + 20s;
  RunStatus now = RunStatus::kQueued;
  while (std::chrono::steady_clock::now() < end) {
    Result<RunInfo> info = engine.get_run(id);
    if (info.ok()) now = info->status;
    if (now == want) return now;
    std::this_thread::sleep_for(1ms);
  }
  ADD_FAILURE() << "run " << id << " is " << run_status_name(now) << ", not "
                << run_status_name(want);
  return now;
}

}  // namespace

SampleRuns write_sample_engine_dir(const std::filesystem::path& dir) {
  SampleRuns runs;
  std::unique_ptr<Engine> engine = Engine::create(sample_engine_options(dir));
  register_sample_functions(*engine);
  Status st = engine->start();
  if (!st.ok()) {
    ADD_FAILURE() << st.to_string();
    return runs;
  }
  // One after the other, so their records (and ids) come in this order.
  runs.completed = send(*engine, "greet/requested", R"({"name":"Ada"})");
  wait_for(*engine, runs.completed, RunStatus::kCompleted);
  runs.failed = send(*engine, "charge/requested", R"({"amount":12})");
  wait_for(*engine, runs.failed, RunStatus::kFailed);
  runs.waiting =
      send(*engine, "order/placed", std::string(R"({"order_id":")") + kWaitingOrderId + R"("})");
  wait_for(*engine, runs.waiting, RunStatus::kWaiting);
  st = engine->shutdown();
  EXPECT_TRUE(st.ok()) << st.to_string();
  return runs;
}

std::filesystem::path sample_engine_dir_with_fifo_segment(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  write_sample_engine_dir(dir);
  std::vector<fs::path> segments;
  for (const fs::directory_entry& e : fs::directory_iterator(dir / "log")) {
    if (e.path().extension() == ".wal") segments.push_back(e.path());
  }
  if (segments.empty()) {
    ADD_FAILURE() << "no segments in " << dir / "log";
    return {};
  }
  const fs::path last = *std::max_element(segments.begin(), segments.end());
  fs::rename(last, dir.parent_path() / "segment.kept");
  if (::mkfifo(last.c_str(), 0600) != 0) {
    ADD_FAILURE() << "mkfifo " << last;
    return {};
  }
  return last;
}

}  // namespace cairn::testing
