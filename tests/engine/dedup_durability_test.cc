// The dedup window answers "duplicate" only for an id whose first event is durable: a send that
// finds the id reserved by a send still in flight waits for it (and takes the id over when that
// send fails), for send() and ctx.send_event alike, without holding up shutdown. The window is
// keyed on when the engine accepted an event, not on the time the sender put in it.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "dedup_window.h"
#include "engine_fixture.h"

namespace cairn {
namespace {

using testing::EngineTest;
using namespace std::chrono_literals;

// A ManualClock that can stop one thread inside now_ms(): the thread that calls hold_me(n) is held
// at its n-th call from then on, until release(). send() reads the clock once per event before it
// reserves that event's id, so holding a send at its second event's call holds it right after it
// reserved the first event's id and before it appends anything.
class DedupHoldClock final : public Clock {
 public:
  explicit DedupHoldClock(std::shared_ptr<ManualClock> base) : base_(std::move(base)) {}
  int64_t now_ms() const override {
    std::unique_lock lock(mu_);
    if (holding_ && std::this_thread::get_id() == held_thread_ && --calls_left_ == 0) {
      held_ = true;
      cv_.notify_all();
      cv_.wait(lock, [&] { return released_; });
    }
    lock.unlock();
    return base_->now_ms();
  }
  std::chrono::nanoseconds real_wait_until(int64_t deadline_ms) const override {
    return base_->real_wait_until(deadline_ms);
  }
  uint64_t subscribe(std::function<void()> wake) override {
    return base_->subscribe(std::move(wake));
  }
  void unsubscribe(uint64_t subscription) override { base_->unsubscribe(subscription); }

  void hold_me(int call) {
    std::lock_guard lock(mu_);
    holding_ = true;
    held_thread_ = std::this_thread::get_id();
    calls_left_ = call;
  }
  void wait_held() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return held_; });
  }
  void release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  std::shared_ptr<ManualClock> base_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  bool holding_ = false;
  std::thread::id held_thread_;
  mutable int calls_left_ = 0;
  mutable bool held_ = false;
  bool released_ = false;
};

class DedupDurabilityTest : public EngineTest {
 protected:
  void SetUp() override {
    hold_clock_ = std::make_shared<DedupHoldClock>(clock_);
    options_.clock = hold_clock_;
  }
  void register_go(Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "f", .triggers = {on_event("go")}},
                                    [&](Context&, const Event&) -> Task<void> {
                                      ++go_runs_;
                                      co_return;
                                    })
                    .ok());
  }
  // Starts a send of {go with `id`, then events too big for one log record together}: it reserves
  // `id`, is held before it appends, and fails with kLimitExceeded once released.
  std::thread start_doomed_send(const std::string& id) {
    std::thread t([this, id] {
      std::vector<Event> batch;
      batch.push_back({.name = "go", .data = "{}", .id = id});
      const std::string big = "{\"p\":\"" + std::string(50 * 1024, 'x') + "\"}";
      for (int k = 0; k < 4; ++k) batch.push_back({.name = "other", .data = big});
      hold_clock_->hold_me(2);
      doomed_ = engine_->send(batch);
    });
    hold_clock_->wait_held();
    return t;
  }

  std::shared_ptr<DedupHoldClock> hold_clock_;
  std::atomic<int> go_runs_{0};
  std::optional<Result<std::vector<SendResult>>> doomed_;
};

TEST_F(DedupDurabilityTest, ADuplicateIsAnsweredOnlyOnceTheFirstSendIsDurable) {
  start([&](Engine& e) { register_go(e); });
  std::thread first = start_doomed_send("order-1");
  std::atomic<bool> second_done{false};
  std::optional<Result<SendResult>> second;
  std::thread retry([&] {
    second = engine_->send(Event{.name = "go", .data = "{}", .id = "order-1"});
    second_done = true;
  });
  // Before the fix the retry is told "duplicate" at once, though nothing is recorded yet.
  const bool answered_early = eventually([&] { return second_done.load(); }, 300ms);
  hold_clock_->release();
  first.join();
  retry.join();
  ASSERT_TRUE(doomed_.has_value());
  EXPECT_EQ(doomed_->status().code(), StatusCode::kLimitExceeded) << doomed_->status().to_string();
  EXPECT_FALSE(answered_early) << "the retry was answered while the first send was in flight";
  ASSERT_TRUE(second.has_value());
  ASSERT_TRUE(second->ok()) << second->status().to_string();
  EXPECT_FALSE((*second)->duplicate) << "told duplicate of an event that was never recorded";
  ASSERT_EQ((*second)->runs.size(), 1u);
  wait((*second)->runs[0]);
  EXPECT_EQ(go_runs_.load(), 1);
  // Now it is durable: a third send is a duplicate, at once.
  auto third = engine_->send(Event{.name = "go", .data = "{}", .id = "order-1"});
  ASSERT_TRUE(third.ok()) << third.status().to_string();
  EXPECT_TRUE(third->duplicate);
}

TEST_F(DedupDurabilityTest, SendEventWaitsForAnIdStillInFlight) {
  start([&](Engine& e) {
    register_go(e);
    ASSERT_TRUE(e.register_function({.id = "relay", .triggers = {on_event("kick")}},
                                    [](Context& ctx, const Event&) -> Task<std::string> {
                                      co_return co_await ctx.send_event(
                                          "tell", {.name = "go", .data = "{}", .id = "order-2"});
                                    })
                    .ok());
  });
  std::thread first = start_doomed_send("order-2");
  const RunId relay = send_one({.name = "kick"});
  // Before the fix the relay's send_event is recorded as a duplicate at once and the relay ends.
  const bool relay_ended_early =
      eventually([&] { return status_of(relay) == RunStatus::kCompleted; }, 300ms);
  hold_clock_->release();
  first.join();
  EXPECT_FALSE(relay_ended_early) << "send_event was answered while the first send was in flight";
  RunInfo info = wait(relay);
  EXPECT_EQ(info.status, RunStatus::kCompleted);
  EXPECT_TRUE(eventually([&] { return go_runs_.load() == 1; }, 5s))
      << "the event send_event was told about was never recorded";
}

TEST_F(DedupDurabilityTest, ShutdownEndsAWaitForAnIdInFlight) {
  start([&](Engine& e) { register_go(e); });
  std::thread first = start_doomed_send("order-3");
  std::atomic<bool> second_done{false};
  std::optional<Result<SendResult>> second;
  std::thread retry([&] {
    second = engine_->send(Event{.name = "go", .data = "{}", .id = "order-3"});
    second_done = true;
  });
  std::this_thread::sleep_for(50ms);  // the retry finds the id in flight and waits
  EXPECT_TRUE(engine_->shutdown().ok());
  EXPECT_TRUE(eventually([&] { return second_done.load(); }, 10s)) << "shutdown left it waiting";
  hold_clock_->release();
  first.join();
  retry.join();
  ASSERT_TRUE(second.has_value());
  EXPECT_FALSE(second->ok() && (*second)->duplicate) << "told duplicate of an unrecorded event";
}

TEST_F(EngineTest, DedupRemembersAnEventWithAnOldTimestamp) {
  auto setup = [&](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "f", .triggers = {on_event("go")}},
                                    [](Context&, const Event&) -> Task<void> { co_return; })
                    .ok());
  };
  start(setup);
  const int64_t two_days_ago = clock_->now_ms() - 48LL * 3600 * 1000;
  const Event e{.name = "go", .data = "{}", .id = "late-1", .ts_ms = two_days_ago};
  auto a = engine_->send(e);
  auto b = engine_->send(e);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_FALSE(a->duplicate);
  EXPECT_TRUE(b->duplicate) << "the same id, sent twice at once, started two runs";
  for (bool snapshots : {false, true}) {
    stop();
    use_snapshots(snapshots);
    start(setup);  // replay (or the snapshot) remembers it as of its acceptance
    auto c = engine_->send(e);
    ASSERT_TRUE(c.ok());
    EXPECT_TRUE(c->duplicate) << "after a restart, snapshots " << snapshots;
  }
}

TEST_F(EngineTest, DedupForgetsAnEventWithAFutureTimestampAfterTheWindow) {
  auto setup = [&](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "f", .triggers = {on_event("go")}},
                                    [](Context&, const Event&) -> Task<void> { co_return; })
                    .ok());
  };
  start(setup);
  const int64_t in_ten_days = clock_->now_ms() + 240LL * 3600 * 1000;
  const Event e{.name = "go", .data = "{}", .id = "early-1", .ts_ms = in_ten_days};
  ASSERT_TRUE(engine_->send(e).ok());
  clock_->advance(25h);  // past the 24 h window since it was accepted
  auto b = engine_->send(e);
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(b->duplicate) << "kept past the window: its own time was in the future";
}

// Past dedup_ids_max an event naming a new id is refused (kUnavailable, so a sender retries) and
// nothing is recorded; a repeated id is still a duplicate, an event without an id is taken, and
// once the oldest ids leave the window new ones are taken again. A restart keeps them all, snapshot
// or not. A ctx.send_event naming a new id waits (deferred, through the restarts) and sends once
// there is room, as at runs_active_max.
TEST_F(EngineTest, PastDedupIdsMaxANewIdIsRefusedUntilTheOldestLeaveTheWindow) {
  auto setup = [&](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "f", .triggers = {on_event("go")}},
                                    [](Context&, const Event&) -> Task<void> { co_return; })
                    .ok());
    ASSERT_TRUE(e.register_function({.id = "relay", .triggers = {on_event("relay")}},
                                    [](Context& ctx, const Event&) -> Task<void> {
                                      co_await ctx.send_event("s",
                                                              {.name = "go", .id = "from-run"});
                                    })
                    .ok());
  };
  options_.dedup_ids_max = 3;
  start(setup);
  for (const char* id : {"a", "b"}) ASSERT_TRUE(engine_->send({.name = "go", .id = id}).ok());
  clock_->advance(1h);
  ASSERT_TRUE(engine_->send({.name = "go", .id = "c"}).ok());
  const uint64_t runs = engine_->stats().runs_created;
  EXPECT_EQ(engine_->stats().dedup_ids, 3u);
  const Status full = engine_->send({.name = "go", .id = "d"}).status();
  EXPECT_EQ(full.code(), StatusCode::kUnavailable) << full.to_string();
  EXPECT_TRUE(testing::contains(full.message(), "dedup_ids_max (3)")) << full.to_string();
  EXPECT_EQ(engine_->stats().runs_created, runs);
  auto again = engine_->send({.name = "go", .id = "a"});
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_TRUE(again->duplicate);
  // A send naming more ids than the window ever holds could never be taken: refused for good
  // (kLimitExceeded), not "try again". As many as it holds is only full for now.
  const std::vector<Event> four = {{.name = "go", .id = "w"},
                                   {.name = "go", .id = "x"},
                                   {.name = "go", .id = "y"},
                                   {.name = "go", .id = "z"}};
  const Status never = engine_->send(four).status();
  EXPECT_EQ(never.code(), StatusCode::kLimitExceeded) << never.to_string();
  EXPECT_TRUE(testing::contains(never.message(), "names 4 event ids")) << never.to_string();
  EXPECT_TRUE(testing::contains(never.message(), "dedup_ids_max (3)")) << never.to_string();
  const std::vector<Event> three_and_repeats = {{.name = "go", .id = "w"},
                                                {.name = "go", .id = "x"},
                                                {.name = "go", .id = "y"},
                                                {.name = "go", .id = "x"},
                                                {.name = "go"}};
  EXPECT_EQ(engine_->send(three_and_repeats).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(engine_->stats().runs_created, runs);
  const RunId relay = send_one({.name = "relay"});  // no id: taken
  auto deferred_for = [&](std::string_view why) {
    auto h = engine_->run_history(relay);
    if (!h.ok()) return false;
    for (const HistoryEntry& e : *h) {
      if (e.kind == HistoryEntry::Kind::kSendDeferred && testing::contains(e.value, why)) {
        return true;
      }
    }
    return false;
  };
  EXPECT_TRUE(eventually([&] { return deferred_for("dedup_ids_max (3)"); }));
  EXPECT_EQ(status_of(relay), RunStatus::kSleeping);
  for (const bool snapshots : {false, true}) {
    stop();
    use_snapshots(snapshots);
    start(setup);
    EXPECT_EQ(engine_->send({.name = "go", .id = "d"}).status().code(), StatusCode::kUnavailable)
        << "snapshots " << snapshots;
    EXPECT_EQ(status_of(relay), RunStatus::kSleeping) << "snapshots " << snapshots;
  }
  clock_->advance(23h + 1min);  // "a" and "b" leave the window, "c" stays
  auto d = engine_->send({.name = "go", .id = "d"});
  ASSERT_TRUE(d.ok()) << d.status().to_string();
  EXPECT_FALSE(d->duplicate);
  auto c = engine_->send({.name = "go", .id = "c"});
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_TRUE(c->duplicate);
  // Its retry came due with the same hour: "from-run" fits beside "c" and "d".
  EXPECT_EQ(wait(relay).status, RunStatus::kCompleted);
  auto from_run = engine_->send({.name = "go", .id = "from-run"});
  ASSERT_TRUE(from_run.ok()) << from_run.status().to_string();
  EXPECT_TRUE(from_run->duplicate);
  stop();
  EngineOptions o = options_;
  o.dedup_ids_max = 0;
  const Status st = Engine::create(o)->start();
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(
      testing::contains(st.message(), "dedup_ids_max and idempotency_keys_max must be positive"))
      << st.to_string();
}

TEST(DedupWindowDurability, AFutureTimeDoesNotHoldBackExpiry) {
  detail::DedupWindow w(1000);
  int64_t now = 1'000'000;
  w.confirm("future", now + 1'000'000'000, now);  // e.g. a time in microseconds by mistake
  for (int i = 0; i < 100000; ++i) {
    now += 10;
    w.confirm("id" + std::to_string(i), now, now);
  }
  EXPECT_LT(w.size(), 200u) << "ids older than the 1 s window are still kept";
}

}  // namespace
}  // namespace cairn
