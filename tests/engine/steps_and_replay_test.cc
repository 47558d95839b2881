// Steps run once, their values reach the function only after they are durable, and a restarted
// engine resumes a run without running completed steps again.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>

#include "cairn/engine.h"
#include "support/temp_dir.h"

namespace cairn {
namespace {

using namespace std::chrono_literals;

EngineOptions test_options(const std::filesystem::path& dir) {
  EngineOptions o;
  o.dir = dir;
  o.workers = 2;
  o.log.segment_bytes = 1 << 20;
  o.log.batch_bytes_max = 256 << 10;
  o.log.record_bytes_max = 128 << 10;
  o.step_output_bytes_max = 64 << 10;
  o.event_bytes_max = 64 << 10;
  o.log.staging_bytes = 4 << 20;
  return o;
}

TEST(EngineSteps, ThreeStepsRunOnceAndTheOutputIsRecorded) {
  testing::TempDir dir;
  std::atomic<int> calls{0};
  auto engine = Engine::create(test_options(dir.path()));
  ASSERT_TRUE(engine
                  ->register_function({.id = "add", .trigger = on_event("numbers/add")},
                                      [&](Context& ctx, const Event&) -> Task<int> {
                                        int a = co_await ctx.run("a", [&] {
                                          ++calls;
                                          return 20;
                                        });
                                        int b = co_await ctx.run("b", [&] {
                                          ++calls;
                                          return 22;
                                        });
                                        std::string s = co_await ctx.run("c", [&] {
                                          ++calls;
                                          return std::to_string(a + b);
                                        });
                                        co_return std::stoi(s);
                                      })
                  .ok());
  ASSERT_TRUE(engine->start().ok());
  auto sent = engine->send({.name = "numbers/add"});
  ASSERT_TRUE(sent.ok()) << sent.status().to_string();
  ASSERT_EQ(sent->runs.size(), 1u);
  auto info = engine->wait_run(sent->runs[0], 10s);
  ASSERT_TRUE(info.ok()) << info.status().to_string();
  EXPECT_EQ(info->status, RunStatus::kCompleted);
  EXPECT_EQ(Codec<int>::decode(info->output), 42);
  EXPECT_EQ(calls.load(), 3);
  EXPECT_EQ(info->steps, 3u);
  ASSERT_TRUE(engine->shutdown().ok());
}

}  // namespace
}  // namespace cairn
