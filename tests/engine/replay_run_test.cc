// Engine::replay_run: a failed run runs again as a new run from its failed step — the steps that
// succeeded, the sleeps that ended, the waits an event or a timeout ended, the events it sent and
// the runs it invoked are not done again, their results come back from the log — or from the
// start; what cannot be copied is refused with the reason; and a replay queued by an
// engine that does not run the function (the `cairn runs replay` tool) runs from its failed step
// after a restart, from a snapshot or from a full replay.
#include <atomic>

#include "cairn/errors.h"
#include "engine_fixture.h"

namespace cairn {
namespace {

using testing::EngineTest;
using namespace std::chrono_literals;
using Kind = HistoryEntry::Kind;
using ReplayFrom = Engine::ReplayFrom;

class ReplayRunTest : public EngineTest {
 protected:
  // "pay": step a, a one-minute sleep, step b (fails for good while `down`), the result.
  // "ask": waits for an event, then fails.
  void setup(Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "pay", .triggers = {on_event("pay")}},
                                    [this](Context& ctx, const Event&) -> Task<std::string> {
                                      std::string a = co_await ctx.run("a", [this] {
                                        ++a_calls;
                                        return std::string("A");
                                      });
                                      co_await ctx.sleep("nap", 1min);
                                      std::string b = co_await ctx.run("b", [this] {
                                        ++b_calls;
                                        if (down.load()) throw NonRetriableError("bank down");
                                        return std::string("B");
                                      });
                                      co_return a + "+" + b;
                                    })
                    .ok());
    // "ask": waits for "yes" (or times out), then a step that fails while `down`; returns the
    // answer's data.
    ASSERT_TRUE(e.register_function({.id = "ask", .triggers = {on_event("ask")}},
                                    [this](Context& ctx, const Event&) -> Task<std::string> {
                                      auto yes = co_await ctx.wait_for_event(
                                          "w", {.event = "yes", .timeout = 1h});
                                      co_await ctx.run("after", [this] {
                                        if (down.load()) throw NonRetriableError("still down");
                                        return 0;
                                      });
                                      co_return yes ? yes->data : std::string("timed out");
                                    })
                    .ok());
    // "fan": sends "note" (whose runs are counted), invokes "child", then a step that fails
    // while `down`; returns the note's id and the child's output.
    ASSERT_TRUE(e.register_function({.id = "fan", .triggers = {on_event("fan")}},
                                    [this](Context& ctx, const Event&) -> Task<std::string> {
                                      std::string note =
                                          co_await ctx.send_event("tell", {.name = "note"});
                                      int c =
                                          co_await ctx.invoke<int>("call", {.function = "child"});
                                      co_await ctx.run("last", [this] {
                                        if (down.load()) throw NonRetriableError("still down");
                                        return 0;
                                      });
                                      co_return note + "/" + std::to_string(c);
                                    })
                    .ok());
    // "solo": invokes "child", then fails.
    ASSERT_TRUE(e.register_function({.id = "solo", .triggers = {on_event("solo")}},
                                    [](Context& ctx, const Event&) -> Task<int> {
                                      co_await ctx.invoke<int>("call", {.function = "child"});
                                      throw NonRetriableError("no");
                                    })
                    .ok());
    ASSERT_TRUE(e.register_function({.id = "child"}, [this](Context&, const Event&) -> Task<int> {
                   ++child_calls;
                   co_return 7;
                 }).ok());
    ASSERT_TRUE(e.register_function({.id = "noted", .triggers = {on_event("note")}},
                                    [this](Context&, const Event&) -> Task<void> {
                                      ++note_runs;
                                      co_return;
                                    })
                    .ok());
  }

  RunId failed_pay_run() {
    const RunId id = send_one({.name = "pay", .data = "{\"order\":1}", .id = "order-1"});
    EXPECT_TRUE(eventually([&] { return status_of(id) == RunStatus::kSleeping; }));
    clock_->advance(2min);
    EXPECT_EQ(wait(id).status, RunStatus::kFailed);
    EXPECT_EQ(a_calls.load(), 1);
    EXPECT_EQ(b_calls.load(), 1);
    return id;
  }

  std::atomic<int> a_calls{0};
  std::atomic<int> b_calls{0};
  std::atomic<int> child_calls{0};
  std::atomic<int> note_runs{0};
  std::atomic<bool> down{true};
};

TEST_F(ReplayRunTest, FromTheFailedStepRunsOnlyThatStepAgain) {
  start([this](Engine& e) { setup(e); });
  const RunId original = failed_pay_run();
  down.store(false);
  auto replay = engine_->replay_run(original);
  ASSERT_TRUE(replay.ok()) << replay.status().to_string();
  ASSERT_NE(*replay, original);
  // No clock advance: the sleep that ended is not slept again.
  const RunInfo r = wait(*replay, 5s);
  ASSERT_EQ(r.status, RunStatus::kCompleted) << r.error;
  EXPECT_EQ(r.output, "A+B");
  EXPECT_EQ(r.function_id, "pay");
  EXPECT_EQ(r.event.data, "{\"order\":1}");
  EXPECT_EQ(a_calls.load(), 1) << "a step that succeeded ran again";
  EXPECT_EQ(b_calls.load(), 2);
  auto history = engine_->run_history(*replay);
  ASSERT_TRUE(history.ok()) << history.status().to_string();
  ASSERT_GE(history->size(), 4u);
  EXPECT_EQ((*history)[0].kind, Kind::kCreated);
  EXPECT_EQ((*history)[0].value, "replay of run " + std::to_string(original));
  EXPECT_EQ((*history)[0].event.id, "order-1");
  EXPECT_EQ((*history)[1].kind, Kind::kStepCompleted);
  EXPECT_EQ((*history)[1].attempt, 0u);  // copied
  EXPECT_EQ((*history)[1].value, "A");
  EXPECT_EQ((*history)[2].kind, Kind::kSleepStarted);
  EXPECT_EQ((*history)[3].kind, Kind::kStepCompleted);
  EXPECT_EQ((*history)[3].step_id, "b");
  EXPECT_EQ((*history)[3].attempt, 1u);
}

TEST_F(ReplayRunTest, FromTheStartRunsEverythingAgain) {
  start([this](Engine& e) { setup(e); });
  const RunId original = failed_pay_run();
  down.store(false);
  auto replay = engine_->replay_run(original, ReplayFrom::kStart);
  ASSERT_TRUE(replay.ok()) << replay.status().to_string();
  ASSERT_TRUE(eventually([&] { return status_of(*replay) == RunStatus::kSleeping; }));
  clock_->advance(2min);
  EXPECT_EQ(wait(*replay).output, "A+B");
  EXPECT_EQ(a_calls.load(), 2);
  // A completed run can be run again from the start, not from a failed step.
  auto again = engine_->replay_run(*replay);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(again.status().message().find("from the start"), std::string::npos);
  EXPECT_TRUE(engine_->replay_run(*replay, ReplayFrom::kStart).ok());
}

TEST_F(ReplayRunTest, AWaitIsNotWaitedForAgain) {
  start([this](Engine& e) { setup(e); });
  const RunId asking = send_one({.name = "ask"});
  ASSERT_TRUE(eventually([&] { return status_of(asking) == RunStatus::kWaiting; }));
  auto unfinished = engine_->replay_run(asking);
  ASSERT_FALSE(unfinished.ok());
  EXPECT_NE(unfinished.status().message().find("not finished"), std::string::npos);
  send_one({.name = "yes", .data = "{\"answer\":42}"});
  ASSERT_EQ(wait(asking).status, RunStatus::kFailed);
  down.store(false);
  auto replay = engine_->replay_run(asking);
  ASSERT_TRUE(replay.ok()) << replay.status().to_string();
  // No "yes" is sent again: the replay gets the event that ended the original's wait.
  const RunInfo r = wait(*replay, 5s);
  ASSERT_EQ(r.status, RunStatus::kCompleted) << r.error;
  EXPECT_EQ(r.output, "{\"answer\":42}");
  auto history = engine_->run_history(*replay);
  ASSERT_TRUE(history.ok()) << history.status().to_string();
  ASSERT_GE(history->size(), 2u);
  EXPECT_EQ((*history)[1].kind, Kind::kWaitMatched);
  EXPECT_EQ((*history)[1].event.data, "{\"answer\":42}");
  EXPECT_EQ(engine_->replay_run(987654).status().code(), StatusCode::kNotFound);
}

TEST_F(ReplayRunTest, AWaitThatTimedOutTimesOutAgainAtOnce) {
  start([this](Engine& e) { setup(e); });
  const RunId asking = send_one({.name = "ask"});
  ASSERT_TRUE(eventually([&] { return status_of(asking) == RunStatus::kWaiting; }));
  clock_->advance(2h);
  ASSERT_EQ(wait(asking).status, RunStatus::kFailed);
  down.store(false);
  auto replay = engine_->replay_run(asking);
  ASSERT_TRUE(replay.ok()) << replay.status().to_string();
  const RunInfo r = wait(*replay, 5s);  // no clock advance: the timeout is not waited for again
  ASSERT_EQ(r.status, RunStatus::kCompleted) << r.error;
  EXPECT_EQ(r.output, "timed out");
}

TEST_F(ReplayRunTest, SentEventsAndInvokedRunsAreNotDoneAgain) {
  start([this](Engine& e) { setup(e); });
  const RunId fan = send_one({.name = "fan"});
  ASSERT_EQ(wait(fan).status, RunStatus::kFailed);
  ASSERT_TRUE(eventually([&] { return note_runs.load() == 1; }));
  ASSERT_EQ(child_calls.load(), 1);
  const uint64_t events_before = engine_->stats().events;
  down.store(false);
  auto replay = engine_->replay_run(fan);
  ASSERT_TRUE(replay.ok()) << replay.status().to_string();
  const RunInfo r = wait(*replay, 5s);
  ASSERT_EQ(r.status, RunStatus::kCompleted) << r.error;
  EXPECT_EQ(child_calls.load(), 1) << "the invoked run ran again";
  EXPECT_EQ(engine_->stats().events, events_before) << "the event was sent again";
  EXPECT_EQ(note_runs.load(), 1);
  auto original = engine_->run_history(fan);
  ASSERT_TRUE(original.ok());
  std::string sent_id;
  for (const HistoryEntry& e : *original) {
    if (e.kind == Kind::kEventSent) sent_id = e.value;
  }
  ASSERT_FALSE(sent_id.empty());
  EXPECT_EQ(r.output, sent_id + "/7") << "the replay got another id, or another output";
  auto history = engine_->run_history(*replay);
  ASSERT_TRUE(history.ok()) << history.status().to_string();
  ASSERT_GE(history->size(), 3u);
  EXPECT_EQ((*history)[1].kind, Kind::kEventSent);
  EXPECT_EQ((*history)[1].attempt, 0u);
  EXPECT_EQ((*history)[2].kind, Kind::kInvoked);
  EXPECT_EQ((*history)[2].value, "7");
}

TEST_F(ReplayRunTest, AnInvokedRunNoLongerInMemoryIsRefusedWithTheReason) {
  options_.runs_finished_kept = 1;  // the parent, which ends after its child, pushes it out
  start([this](Engine& e) { setup(e); });
  const RunId solo = send_one({.name = "solo"});
  ASSERT_EQ(wait(solo).status, RunStatus::kFailed);
  auto replay = engine_->replay_run(solo);
  ASSERT_FALSE(replay.ok());
  EXPECT_EQ(replay.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(replay.status().message().find("no longer in memory"), std::string::npos)
      << replay.status().message();
  EXPECT_NE(replay.status().message().find("from the start"), std::string::npos);
}

// The tool's way: an engine without the function queues the replay; the application's engine
// runs it after a restart — loading a snapshot, or replaying the whole log.
class ReplayAcrossRestart : public ReplayRunTest, public ::testing::WithParamInterface<bool> {};

TEST_P(ReplayAcrossRestart, AQueuedReplayRunsFromItsFailedStepAfterARestart) {
  options_.snapshots = GetParam();
  start([this](Engine& e) { setup(e); });
  const RunId original = failed_pay_run();
  stop();
  start([](Engine&) {});  // no functions: nothing runs here
  auto replay = engine_->replay_run(original);
  ASSERT_TRUE(replay.ok()) << replay.status().to_string();
  stop();
  down.store(false);
  start([this](Engine& e) { setup(e); });
  EXPECT_EQ(engine_->recovery().snapshot.empty(), !GetParam());
  const RunInfo r = wait(*replay, 5s);
  ASSERT_EQ(r.status, RunStatus::kCompleted) << r.error;
  EXPECT_EQ(r.output, "A+B");
  EXPECT_EQ(a_calls.load(), 1);
  EXPECT_EQ(b_calls.load(), 2);
}

INSTANTIATE_TEST_SUITE_P(SnapshotOrFullReplay, ReplayAcrossRestart, ::testing::Bool());

}  // namespace
}  // namespace cairn
