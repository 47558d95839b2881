// FairKeyQueue: round-robin across keys (a busy key cannot starve the others), aged priority
// within a key, the slot limits overall and per key, the bound on queued runs, and a property
// test that checks all of it against a model on random operations. Memory per entry is measured.
#include <gtest/gtest.h>

#include <malloc.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "flow/fair_key_queue.h"

namespace cairn::flow {
namespace {

FairKeyQueue make(const FairKeyQueueOptions& o = {}) {
  Result<FairKeyQueue> q = FairKeyQueue::create(o);
  EXPECT_TRUE(q.ok()) << q.status().to_string();
  if (!q.ok()) std::abort();
  return std::move(q).value();
}

std::string pop_key(FairKeyQueue& q) {
  std::optional<QueuedRun> r = q.pop();
  return r ? r->key : "-";
}

TEST(FairKeyQueue, RefusesBadOptions) {
  EXPECT_FALSE(FairKeyQueue::create({.queued_max = 0}).ok());
  EXPECT_FALSE(FairKeyQueue::create({.priority_abs_max = -1}).ok());
  EXPECT_FALSE(FairKeyQueue::create({.aging_ms_per_priority = 0}).ok());
  Result<FairKeyQueue> q = FairKeyQueue::create({.aging_ms_per_priority = 86'400'001});
  ASSERT_FALSE(q.ok());
  EXPECT_NE(q.status().message().find("aging_ms_per_priority 86400001 is out of range"),
            std::string::npos);
}

TEST(FairKeyQueue, OneBusyKeyDoesNotStarveTheOthers) {
  FairKeyQueue q = make();
  for (uint64_t i = 0; i < 100; ++i) ASSERT_TRUE(q.push("busy", i, 0, 1000).ok());
  ASSERT_TRUE(q.push("b", 1000, 0, 2000).ok());
  ASSERT_TRUE(q.push("c", 1001, 0, 3000).ok());
  std::vector<std::string> order;
  for (int i = 0; i < 6; ++i) order.push_back(pop_key(q));
  EXPECT_EQ(order, (std::vector<std::string>{"busy", "b", "c", "busy", "busy", "busy"}));
  EXPECT_EQ(q.running(), 6u);
  EXPECT_EQ(q.queued(), 96u);
}

TEST(FairKeyQueue, WithinAKeyFirstInFirstOutAtOnePriority) {
  FairKeyQueue q = make();
  for (uint64_t i = 1; i <= 5; ++i) ASSERT_TRUE(q.push("k", i, 0, 1000).ok());
  for (uint64_t i = 1; i <= 5; ++i) EXPECT_EQ(q.pop()->handle, i);
  EXPECT_FALSE(q.pop().has_value());
}

TEST(FairKeyQueue, HigherPriorityFirstWithinAKey) {
  FairKeyQueue q = make();
  ASSERT_TRUE(q.push("k", 1, 0, 1000).ok());
  ASSERT_TRUE(q.push("k", 2, 5, 1000).ok());
  ASSERT_TRUE(q.push("k", 3, -5, 1000).ok());
  ASSERT_TRUE(q.push("k", 4, 5, 1000).ok());
  std::vector<uint64_t> order;
  while (std::optional<QueuedRun> r = q.pop()) order.push_back(r->handle);
  EXPECT_EQ(order, (std::vector<uint64_t>{2, 4, 1, 3}));
}

// Aging: waiting aging_ms_per_priority is worth one level, so a run of priority p queued at t
// goes before any run of priority p + d queued after t + d * aging_ms_per_priority.
TEST(FairKeyQueue, AgingServesLowPriorityAfterABoundedWait) {
  FairKeyQueue q = make({.priority_abs_max = 600, .aging_ms_per_priority = 1000});
  ASSERT_TRUE(q.push("k", 1, -600, 0).ok());  // the lowest priority, at t = 0
  // A high-priority run every second, twice as fast as runs start.
  uint64_t next = 2;
  int64_t served_low_at = -1;
  for (int64_t t = 0; t <= 3'000'000 && served_low_at < 0; t += 1000) {
    ASSERT_TRUE(q.push("k", next++, 600, t).ok());
    if (t % 2000 == 0) {
      const std::optional<QueuedRun> r = q.pop();
      ASSERT_TRUE(r.has_value());
      if (r->handle == 1) {
        served_low_at = t;
      } else {
        // Every high run served first was queued before 0 + 1200 s: its place is earlier.
        EXPECT_LT(r->enqueued_ms, 1'200'000);
      }
      q.release("k");
    }
  }
  ASSERT_GE(served_low_at, 0) << "the low-priority run starved";
  // 1,200 high runs were queued before 1,200 s, one starts every 2 s: the 1,201st start.
  EXPECT_EQ(served_low_at, 2'400'000);
}

TEST(FairKeyQueue, PerKeySlotLimitPassesTheKeyOverUntilRelease) {
  FairKeyQueue q = make({.per_key_running_max = 2});
  for (uint64_t i = 0; i < 5; ++i) ASSERT_TRUE(q.push("a", i, 0, 0).ok());
  ASSERT_TRUE(q.push("b", 10, 0, 0).ok());
  EXPECT_EQ(pop_key(q), "a");
  EXPECT_EQ(pop_key(q), "b");
  EXPECT_EQ(pop_key(q), "a");
  EXPECT_EQ(pop_key(q), "-");  // a holds 2 slots, b has nothing queued
  EXPECT_EQ(q.keys_in_turn(), 0u);
  q.release("a");
  EXPECT_EQ(pop_key(q), "a");
  EXPECT_EQ(pop_key(q), "-");
  q.release("b");  // b is done: it goes away
  EXPECT_EQ(q.keys(), 1u);
}

TEST(FairKeyQueue, FunctionSlotLimitStopsPopUntilRelease) {
  FairKeyQueue q = make({.running_max = 2});
  for (uint64_t i = 0; i < 4; ++i) ASSERT_TRUE(q.push(i % 2 ? "a" : "b", i, 0, 0).ok());
  EXPECT_TRUE(q.pop().has_value());
  EXPECT_TRUE(q.pop().has_value());
  EXPECT_FALSE(q.pop().has_value());
  q.release("b");
  EXPECT_TRUE(q.pop().has_value());
  EXPECT_EQ(q.running(), 2u);
}

TEST(FairKeyQueue, TryTakeTakesASlotOnlyWhenItPassesNobody) {
  FairKeyQueue q = make({.running_max = 3, .per_key_running_max = 1});
  EXPECT_TRUE(q.try_take("a"));
  EXPECT_FALSE(q.try_take("a"));  // a is at its limit
  EXPECT_EQ(q.keys(), 1u);
  ASSERT_TRUE(q.push("a", 1, 0, 0).ok());  // waits for a's slot
  EXPECT_TRUE(q.try_take("b"));            // b passes nobody: a waits for its own key
  ASSERT_TRUE(q.push("c", 2, 0, 0).ok());  // c may take a turn: nothing may pass it now
  EXPECT_EQ(q.keys_in_turn(), 1u);
  EXPECT_FALSE(q.try_take("d"));
  EXPECT_EQ(q.keys(), 3u);  // d left no state behind
  EXPECT_EQ(pop_key(q), "c");
  EXPECT_FALSE(q.try_take("d"));  // 3 slots held: the function's limit
  q.release("b");
  q.release("a");
  EXPECT_EQ(pop_key(q), "a");
  EXPECT_EQ(q.running(), 2u);
}

TEST(FairKeyQueue, PushRefusesBeyondTheBoundDuplicatesAndBadPriorities) {
  FairKeyQueue q = make({.queued_max = 3, .priority_abs_max = 10});
  for (uint64_t i = 0; i < 3; ++i) ASSERT_TRUE(q.push("k", i, 0, 0).ok());
  const Status full = q.push("other", 99, 0, 0);
  EXPECT_EQ(full.code(), StatusCode::kLimitExceeded);
  EXPECT_NE(full.message().find("queued_max"), std::string::npos);
  EXPECT_EQ(q.keys(), 1u);  // nothing changed
  ASSERT_TRUE(q.pop().has_value());
  EXPECT_EQ(q.push("k", 1, 0, 0).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(q.push("k", 50, 11, 0).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(q.push("k", 50, -11, 0).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(q.push("k", 50, -10, 0).ok());
  EXPECT_EQ(q.queued(), 3u);
}

TEST(FairKeyQueue, RemoveTakesAQueuedRunOut) {
  FairKeyQueue q = make();
  ASSERT_TRUE(q.push("a", 1, 0, 0).ok());
  ASSERT_TRUE(q.push("b", 2, 0, 0).ok());
  ASSERT_TRUE(q.push("b", 3, 0, 0).ok());
  EXPECT_TRUE(q.remove(1));
  EXPECT_FALSE(q.remove(1));
  EXPECT_EQ(q.keys(), 1u);
  EXPECT_EQ(q.keys_in_turn(), 1u);
  EXPECT_TRUE(q.remove(3));
  EXPECT_EQ(q.pop()->handle, 2u);
  EXPECT_FALSE(q.pop().has_value());
  q.release("b");
  EXPECT_EQ(q.keys(), 0u);
}

TEST(FairKeyQueue, SurvivesAMove) {
  FairKeyQueue q = make();
  ASSERT_TRUE(q.push("a", 1, 0, 0).ok());
  ASSERT_TRUE(q.push("b", 2, 0, 0).ok());
  FairKeyQueue moved = std::move(q);
  EXPECT_EQ(pop_key(moved), "a");
  EXPECT_TRUE(moved.remove(2));
  EXPECT_EQ(moved.keys_in_turn(), 0u);
}

// Random operations against a model that knows counts and places but not the turn order; it
// checks the order's promise instead: a key that has been waiting since before another key's
// last turn is served before that key is served again.
TEST(FairKeyQueueProperty, RandomOperationsKeepEveryPromise) {
  std::mt19937_64 rng(4242);
  for (int round = 0; round < 20; ++round) {
    const FairKeyQueueOptions o{.queued_max = 200,
                                .running_max = static_cast<uint32_t>(rng() % 12),
                                .per_key_running_max = static_cast<uint32_t>(rng() % 4),
                                .priority_abs_max = 5,
                                .aging_ms_per_priority = 1 + static_cast<int64_t>(rng() % 50)};
    FairKeyQueue q = make(o);
    struct ModelKey {
      std::set<std::tuple<int64_t, uint64_t, uint64_t>> queued;  // (place, push number, handle)
      uint32_t running = 0;
      bool eligible = false;
      uint64_t waiting_since = 0;  // pop count when it last became eligible or was served
      uint64_t last_served = 0;
    };
    std::map<std::string, ModelKey> model;
    std::map<uint64_t, std::string> key_of;
    uint64_t pops = 0;
    uint64_t pushes = 0;
    uint64_t next_handle = 1;
    size_t running = 0;
    auto refresh = [&](const std::string& name) {
      ModelKey& k = model[name];
      const bool now =
          !k.queued.empty() && (o.per_key_running_max == 0 || k.running < o.per_key_running_max);
      if (now && !k.eligible) k.waiting_since = pops;
      k.eligible = now;
    };
    int64_t t = 0;
    for (int step = 0; step < 3000; ++step) {
      t += static_cast<int64_t>(rng() % 20);
      const std::string name = std::string("k").append(std::to_string(rng() % 6));
      switch (rng() % 5) {
        case 0:
        case 1: {
          const int32_t prio = static_cast<int32_t>(rng() % 11) - 5;
          const uint64_t h = next_handle++;
          const Status s = q.push(name, h, prio, t);
          if (key_of.size() >= o.queued_max) {
            ASSERT_EQ(s.code(), StatusCode::kLimitExceeded);
            break;
          }
          ASSERT_TRUE(s.ok()) << s.to_string();
          model[name].queued.emplace(t - int64_t{prio} * o.aging_ms_per_priority, pushes++, h);
          key_of[h] = name;
          refresh(name);
          break;
        }
        case 2: {
          const std::optional<QueuedRun> r = q.pop();
          bool any_eligible = false;
          for (auto& [n, k] : model) any_eligible |= k.eligible;
          const bool slot = o.running_max == 0 || running < o.running_max;
          ASSERT_EQ(r.has_value(), any_eligible && slot);
          if (!r) break;
          ModelKey& k = model.at(r->key);
          ASSERT_TRUE(k.eligible);
          // Within the key: the lowest place (aged priority), first pushed among equals.
          ASSERT_EQ(std::get<2>(*k.queued.begin()), r->handle);
          // Across keys: nobody waiting since before this key's last turn is overtaken.
          for (const auto& [n, other] : model) {
            if (n == r->key || !other.eligible) continue;
            ASSERT_FALSE(k.last_served > 0 && other.waiting_since < k.last_served)
                << r->key << " served twice while " << n << " waited";
          }
          k.queued.erase(k.queued.begin());
          key_of.erase(r->handle);
          ++k.running;
          ++running;
          ++pops;
          k.last_served = pops;
          k.eligible = false;
          refresh(r->key);
          ASSERT_TRUE(o.per_key_running_max == 0 || k.running <= o.per_key_running_max);
          break;
        }
        case 3: {
          auto it = model.find(name);
          if (it == model.end() || it->second.running == 0) break;
          q.release(name);
          --it->second.running;
          --running;
          refresh(name);
          break;
        }
        default: {
          if (key_of.empty()) break;
          auto it = key_of.begin();
          std::advance(it, static_cast<long>(rng() % key_of.size()));
          const uint64_t h = it->first;
          const std::string n = it->second;
          ASSERT_TRUE(q.remove(h));
          auto& queued = model[n].queued;
          for (auto e = queued.begin(); e != queued.end(); ++e) {
            if (std::get<2>(*e) == h) {
              queued.erase(e);
              break;
            }
          }
          key_of.erase(h);
          refresh(n);
        }
      }
      ASSERT_EQ(q.queued(), key_of.size());
      ASSERT_EQ(q.running(), running);
      size_t eligible = 0;
      size_t live = 0;
      for (const auto& [n, k] : model) {
        eligible += k.eligible ? 1 : 0;
        live += (!k.queued.empty() || k.running > 0) ? 1 : 0;
      }
      ASSERT_EQ(q.keys_in_turn(), eligible);
      ASSERT_EQ(q.keys(), live);
    }
  }
}

size_t queue_heap_bytes_in_use() {
  const struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

// Memory per queued entry (1,000 keys, 100 runs each), measured with glibc's statistics; the
// figure is printed for docs/flow-control.md.
TEST(FairKeyQueue, MemoryPerQueuedEntryIsMeasured) {
  const size_t before = queue_heap_bytes_in_use();
  FairKeyQueue q = make({.queued_max = 200'000});
  constexpr uint64_t kEntries = 100'000;
  for (uint64_t i = 0; i < kEntries; ++i) {
    ASSERT_TRUE(q.push("customer-" + std::to_string(i % 1000), i, 0, 0).ok());
  }
  const size_t after = queue_heap_bytes_in_use();
  if (after <= before) GTEST_SKIP() << "the allocator keeps no statistics (a sanitizer build)";
  const size_t per_entry = (after - before) / kEntries;
  std::printf("fair key queue: %zu bytes per queued entry (1,000 keys)\n", per_entry);
  EXPECT_LE(per_entry, 200u);
  EXPECT_GE(per_entry, 40u);
}

}  // namespace
}  // namespace cairn::flow
