// Calls and options at the ends of their ranges: the longest durations mean "as long as can be"
// (as ctx.sleep and wait_for_event already do), never "at once"; a duration that cannot mean
// anything (negative) is refused, naming it.
#include <future>

#include "engine_fixture.h"

namespace cairn {
namespace {

using testing::EngineTest;
using namespace std::chrono_literals;

bool contains(const std::string& s, std::string_view part) {
  return s.find(part) != std::string::npos;
}

void register_sleeper(Engine& e) {
  ASSERT_TRUE(e.register_function(
                   {.id = "sleeper", .triggers = {on_event("go")}},
                   [](Context& ctx, const Event&) -> Task<void> { co_await ctx.sleep("nap", 1h); })
                  .ok());
}

// wait_run(run, milliseconds::max()) waits until the run finishes. Its deadline,
// steady_clock::now() + timeout, used to overflow (the sum is taken in nanoseconds) into the past:
// the call returned kTimeout at once.
TEST_F(EngineTest, WaitRunWithTheLongestTimeoutWaitsForTheRun) {
  start(register_sleeper);
  const RunId id = send_one({.name = "go"});
  ASSERT_TRUE(eventually([&] { return status_of(id) == RunStatus::kSleeping; }));
  auto waiting = std::async(
      std::launch::async, [&] { return engine_->wait_run(id, std::chrono::milliseconds::max()); });
  ASSERT_EQ(waiting.wait_for(200ms), std::future_status::timeout)
      << "wait_run returned at once: " << waiting.get().status().to_string();
  clock_->advance(2h);
  ASSERT_EQ(waiting.wait_for(20s), std::future_status::ready);
  const Result<RunInfo> r = waiting.get();
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->status, RunStatus::kCompleted);
}

// A negative timeout is a mistake in the caller, not "do not wait": refused, naming it.
TEST_F(EngineTest, WaitRunRefusesANegativeTimeout) {
  start(register_sleeper);
  const RunId id = send_one({.name = "go"});
  const Result<RunInfo> r = engine_->wait_run(id, -1ms);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().to_string();
  EXPECT_TRUE(contains(r.status().message(), "timeout")) << r.status().to_string();
  EXPECT_TRUE(engine_->wait_run(id, 0ms).status().code() == StatusCode::kTimeout);
}

}  // namespace
}  // namespace cairn
