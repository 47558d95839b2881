// Debounce and batching against a model, with random events over a few keys, random clock
// advances and random restarts (with snapshots): which events run follows from their keys, times
// and order alone. Debounce (no timeout): an event's run completes exactly when no later event of
// its key came within the period; every other run is skipped. Batching: a key's events, in order,
// form batches of at most max_events that each end before the first one's timeout; the first
// event's run gets exactly its batch's events, in order, and every other run is skipped into it.
// So no event is lost or delivered twice.
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "engine_fixture.h"

namespace cairn {
namespace {

using testing::EngineTest;
using namespace std::chrono_literals;

constexpr int64_t kPeriodMs = 2'900;  // clock steps are multiples of 500 ms: no gap equals it
constexpr uint32_t kBatchMax = 4;
constexpr int64_t kBatchTimeoutMs = 4'900;

struct Sent {
  int n = 0;
  std::string key;
  int64_t at_ms = 0;
  RunId debounced = 0;
  RunId batched = 0;
};

class DebounceBatchingProperty : public EngineTest {
 protected:
  DebounceBatchingProperty() {
    options_.workers = 2;
    use_snapshots(true);
  }

  void setup(Engine& e) {
    auto debounced = [this](Context& ctx, const Event& event) -> Task<void> {
      auto body = [this, run = ctx.run_id(), data = event.data] {
        std::lock_guard lock(mu_);
        debounced_ran_[run] = data;
      };
      co_await ctx.run("work", body);
    };
    ASSERT_TRUE(
        e.register_function({.id = "debounced",
                             .triggers = {on_event("go")},
                             .debounce = Debounce{.period = std::chrono::milliseconds(kPeriodMs),
                                                  .key = "data.k"}},
                            debounced)
            .ok());
    auto batched = [this](Context& ctx, const Event&) -> Task<void> {
      std::vector<std::string> events;
      for (const Event& ev : ctx.events()) events.push_back(ev.data);
      auto body = [this, run = ctx.run_id(), events] {
        std::lock_guard lock(mu_);
        batches_ran_[run] = events;
      };
      co_await ctx.run("work", body);
    };
    ASSERT_TRUE(e.register_function(
                     {.id = "batched",
                      .triggers = {on_event("go")},
                      .batch = Batching{.max_events = kBatchMax,
                                        .timeout = std::chrono::milliseconds(kBatchTimeoutMs),
                                        .key = "data.k"}},
                     batched)
                    .ok());
  }

  static std::string data(const Sent& s) {
    return R"({"k":")" + s.key + R"(","n":)" + std::to_string(s.n) + "}";
  }

  std::mutex mu_;
  std::map<RunId, std::string> debounced_ran_;             // run -> its event's data
  std::map<RunId, std::vector<std::string>> batches_ran_;  // run -> its events' data
};

TEST_F(DebounceBatchingProperty, WhichEventsRunFollowsFromTheirKeysTimesAndOrder) {
  std::mt19937_64 rng(20261201);
  start([this](Engine& e) { setup(e); });
  std::vector<Sent> sent;
  for (int i = 0; i < 300; ++i) {
    Sent s{.n = i, .key = "k" + std::to_string(rng() % 3), .at_ms = clock_->now_ms()};
    auto r = engine_->send({.name = "go", .data = data(s)});
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    ASSERT_EQ(r->runs.size(), 2u);
    s.debounced = r->runs[0];
    s.batched = r->runs[1];
    sent.push_back(s);
    if (rng() % 3 == 0) clock_->advance(std::chrono::milliseconds(500 * (rng() % 8)));
    if (rng() % 50 == 0) {
      stop();
      start([this](Engine& e) { setup(e); });
    }
  }
  clock_->advance(1min);  // every quiet period and batch timeout ends

  // The model.
  std::map<std::string, std::vector<const Sent*>> by_key;
  for (const Sent& s : sent) by_key[s.key].push_back(&s);
  size_t completed = 0;
  for (const auto& [key, events] : by_key) {
    for (size_t i = 0; i < events.size(); ++i) {
      const bool quiet =
          i + 1 == events.size() || events[i + 1]->at_ms >= events[i]->at_ms + kPeriodMs;
      const RunInfo info = wait(events[i]->debounced);
      EXPECT_EQ(info.status, quiet ? RunStatus::kCompleted : RunStatus::kSkipped)
          << "event " << events[i]->n << " of key " << key;
      completed += quiet;
    }
    for (size_t first = 0; first < events.size();) {
      size_t end = first + 1;
      while (end < events.size() && end - first < kBatchMax &&
             events[end]->at_ms < events[first]->at_ms + kBatchTimeoutMs) {
        ++end;
      }
      std::vector<std::string> expected;
      for (size_t i = first; i < end; ++i) expected.push_back(data(*events[i]));
      const RunId head = events[first]->batched;
      EXPECT_EQ(wait(head).status, RunStatus::kCompleted) << "batch of event " << events[first]->n;
      {
        std::lock_guard lock(mu_);
        EXPECT_EQ(batches_ran_[head], expected) << "batch of event " << events[first]->n;
      }
      for (size_t i = first + 1; i < end; ++i) {
        const RunInfo joined = wait(events[i]->batched);
        EXPECT_EQ(joined.status, RunStatus::kSkipped);
        EXPECT_EQ(joined.error,
                  "batched into run " + std::to_string(head) + " (key \"" + key + "\")");
      }
      first = end;
    }
  }
  std::lock_guard lock(mu_);
  EXPECT_EQ(debounced_ran_.size(), completed) << "a debounced run ran that should not have";
  EXPECT_GT(completed, 10u);
  EXPECT_LT(completed, sent.size() / 2) << "debounce hardly replaced anything";
}

}  // namespace
}  // namespace cairn
