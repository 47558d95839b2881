// Steps run once, their values reach the function only after they are durable, and a restarted
// engine resumes a run without running completed steps again.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>

#include "cairn/engine.h"
#include "support/temp_dir.h"
#include "support/test_engine_options.h"

namespace cairn {
namespace {

using namespace std::chrono_literals;

TEST(EngineSteps, ThreeStepsRunOnceAndTheOutputIsRecorded) {
  testing::TempDir dir;
  std::atomic<int> calls{0};
  auto engine = Engine::create(testing::test_engine_options(dir.path(), system_clock()));
  ASSERT_TRUE(engine
                  ->register_function({.id = "add", .triggers = {on_event("numbers/add")}},
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
