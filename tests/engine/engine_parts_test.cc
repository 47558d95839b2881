// White-box tests of the engine's small parts: the run table, the wait index, JSON fields, the
// dedup window, the latency histogram and the retention floor of finished runs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <thread>
#include <unordered_map>
#include <vector>

#include "dedup_window.h"
#include "json_field.h"
#include "latency_histogram.h"
#include "retention_floor.h"
#include "run_table.h"
#include "wait_index.h"

namespace cairn::detail {
namespace {

TEST(U64Map, BehavesLikeAMapThroughGrowthShrinkAndDeletion) {
  U64Map<uint64_t> map;
  std::unordered_map<uint64_t, uint64_t> model;
  std::mt19937_64 rng(7);
  for (int i = 0; i < 200000; ++i) {
    const uint64_t key = 1 + rng() % 5000;  // a small key space: many collisions and erasures
    switch (rng() % 3) {
      case 0:
        map.set(key, i);
        model[key] = i;
        break;
      case 1:
        EXPECT_EQ(map.erase(key), model.erase(key) == 1);
        break;
      default: {
        const uint64_t* v = map.find(key);
        auto it = model.find(key);
        ASSERT_EQ(v != nullptr, it != model.end()) << key;
        if (v != nullptr) {
          EXPECT_EQ(*v, it->second);
        }
      }
    }
    ASSERT_EQ(map.size(), model.size());
  }
  size_t seen = 0;
  map.for_each([&](uint64_t k, uint64_t v) {
    ++seen;
    EXPECT_EQ(model.at(k), v);
  });
  EXPECT_EQ(seen, model.size());
  EXPECT_EQ(map.find(0), nullptr);
}

TEST(WaitIndex, MatchesByNameAndFieldValueAndRemovesWhatItReturns) {
  WaitIndex index;
  index.add("shipment/confirmed", "data.order_id", "\"A-17\"", {1, 4});
  index.add("shipment/confirmed", "data.order_id", "\"B-2\"", {2, 4});
  index.add("shipment/confirmed", "", "", {3, 0});  // any event of the name
  index.add("other", "", "", {4, 0});
  std::vector<Waiter> out;
  index.take_matches("shipment/confirmed", R"({"order_id":"A-17"})", &out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE((out[0] == Waiter{1, 4} && out[1] == Waiter{3, 0}) ||
              (out[1] == Waiter{1, 4} && out[0] == Waiter{3, 0}));
  out.clear();
  index.take_matches("shipment/confirmed", R"({"order_id":"A-17"})", &out);
  EXPECT_TRUE(out.empty()) << "a wait was resolved twice";
  index.remove("shipment/confirmed", "data.order_id", "\"B-2\"", {2, 4});
  index.take_matches("shipment/confirmed", R"({"order_id":"B-2"})", &out);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(index.size(), 1u);
  EXPECT_FALSE(index.has_waiters_for("shipment/confirmed"));
}

TEST(JsonField, ReadsNestedFieldsAsCanonicalJson) {
  EXPECT_EQ(json_field(R"({"a":{"b":[1, 2]}})", "data.a.b"), "[1,2]");
  EXPECT_EQ(json_field(R"({"id":17})", "data.id"), "17");
  EXPECT_EQ(json_field(R"({"id": "x"})", "data.id"), "\"x\"");
  EXPECT_FALSE(json_field(R"({"id":17})", "data.missing"));
  EXPECT_FALSE(json_field(R"({"id":17})", "id"));  // not a data path
  EXPECT_FALSE(json_field("not json", "data.id"));
  EXPECT_EQ(canonical_json(" { \"x\" : 1 } "), "{\"x\":1}");
  EXPECT_TRUE(is_json_object("{}"));
  EXPECT_FALSE(is_json_object("[]"));
}

// A field nested deeper than event data may be (a log recorded before send() checked it) is none:
// dumping it recursed once per level and overflowed the stack. Its neighbours are still read.
TEST(JsonField, AFieldNestedDeeperThanTheLimitIsNone) {
  const std::string deep = std::string(100'000, '[') + std::string(100'000, ']');
  const std::string doc = R"({"a":)" + deep + R"(,"id":"x"})";
  EXPECT_FALSE(json_field(doc, "data.a"));
  EXPECT_EQ(json_field(doc, "data.id"), "\"x\"");
  EXPECT_FALSE(canonical_json(deep));
  const std::string limit = std::string(256, '[') + std::string(256, ']');
  EXPECT_EQ(json_field(R"({"a":)" + limit + R"(,"b":)" + deep + "}", "data.a"), limit);
  EXPECT_EQ(canonical_json(limit), limit);
}

TEST(DedupWindow, RemembersIdsForTheWindowOnly) {
  DedupWindow w(1000);
  EXPECT_TRUE(w.try_insert("a", 100, 100));
  EXPECT_FALSE(w.try_insert("a", 500, 500));
  EXPECT_TRUE(w.try_insert("b", 600, 600));
  EXPECT_TRUE(w.try_insert("a", 1200, 1200)) << "the first 'a' is older than the window";
  w.erase("b");
  EXPECT_TRUE(w.try_insert("b", 1300, 1300));
}

// Past ids_max a new id is refused, pending ones counting; a held id is still a duplicate; ids
// leaving the window make room; ids already durable (replay, a snapshot) are taken past it.
TEST(DedupWindow, RefusesANewIdPastIdsMaxUntilOldOnesLeave) {
  DedupWindow w(1000, 2);
  EXPECT_EQ(w.reserve("a", 100, 1, nullptr), DedupWindow::Reserve::kReserved);
  EXPECT_EQ(w.reserve("b", 100, 1, nullptr), DedupWindow::Reserve::kReserved);
  EXPECT_EQ(w.reserve("c", 100, 2, nullptr), DedupWindow::Reserve::kFull);  // a, b pending
  w.erase("b");  // as a failed append releases its reservation
  EXPECT_EQ(w.reserve("c", 300, 2, nullptr), DedupWindow::Reserve::kReserved);
  w.confirm("a", 100, 100);
  w.confirm("c", 300, 300);
  EXPECT_EQ(w.reserve("a", 300, 3, nullptr), DedupWindow::Reserve::kDuplicate);
  EXPECT_EQ(w.reserve("b", 300, 3, nullptr), DedupWindow::Reserve::kFull);
  w.confirm("d", 350, 350);  // durable already: taken past the limit
  EXPECT_EQ(w.size(), 3u);
  EXPECT_EQ(w.reserve("e", 400, 3, nullptr), DedupWindow::Reserve::kFull);
  EXPECT_EQ(w.reserve("e", 1150, 3, nullptr), DedupWindow::Reserve::kFull);      // "a" left: 2 held
  EXPECT_EQ(w.reserve("e", 1301, 3, nullptr), DedupWindow::Reserve::kReserved);  // "c" left too
  w.restore({{1301, "f"}, {1301, "g"}}, 1301);
  EXPECT_EQ(w.size(), 4u);  // d, e, f, g
}

// Nanosecond latencies from 1 ns to about 10 s, as likely 1..10 us as 1..10 ms.
std::vector<int64_t> log_uniform_latencies(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> exponent(0, 10);
  std::vector<int64_t> v(n);
  for (int64_t& x : v) x = static_cast<int64_t>(std::pow(10.0, exponent(rng)));
  return v;
}

// Against a list of every run that ended: the floor never lies above a run that ended within the
// window (retention would take its start), and keeps a run at most one bucket longer.
TEST(RetentionFloor, KeepsEveryRunThatEndedWithinTheWindowAndLittleMore) {
  constexpr int64_t kWindowMs = 64'000;  // buckets of 1 s
  RetentionFloor floor{std::chrono::milliseconds(kWindowMs)};
  std::vector<std::pair<int64_t, uint64_t>> ended;  // (end ms, creation LSN)
  std::mt19937_64 rng(11);
  int64_t now = 1'700'000'000'000;
  for (int i = 0; i < 20000; ++i) {
    now += static_cast<int64_t>(rng() % 400);
    // Ends a little in the past too: records reach the snapshotter in LSN order, not time order.
    const int64_t end = now - static_cast<int64_t>(rng() % 3000);
    const uint64_t lsn = rng() % 1'000'000;
    floor.add(end, lsn);
    ended.emplace_back(end, lsn);
    if (rng() % 16 != 0) continue;
    uint64_t must_keep = log::kNoLsn, may_keep = log::kNoLsn;
    for (const auto& [e, l] : ended) {
      if (e + kWindowMs >= now) must_keep = std::min(must_keep, l);
      if (e + kWindowMs + 1000 >= now) may_keep = std::min(may_keep, l);
    }
    const uint64_t got = floor.floor(now);
    ASSERT_LE(got, must_keep) << "step " << i;
    ASSERT_GE(got, may_keep) << "step " << i;
    EXPECT_LE(floor.buckets().size(), static_cast<size_t>(RetentionFloor::kBucketsPerWindow + 4));
  }
  // Long after the last end, nothing is kept.
  EXPECT_EQ(floor.floor(now + 2 * kWindowMs), log::kNoLsn);
  EXPECT_TRUE(floor.buckets().empty());
}

// What a snapshot saves, restored under another window (a restart with a new history_window):
// the floor still never lies above a run that ended within the new window, whatever the two
// bucket widths (narrower, wider, not multiples of each other).
TEST(RetentionFloor, RestoredUnderAnotherWindowKeepsEveryRunThatEndedWithinIt) {
  for (const int64_t old_ms : {64'000, 90'000}) {
    for (const int64_t new_ms : {32'000, 64'000, 96'000, 100'000, 640'000}) {
      RetentionFloor before{std::chrono::milliseconds(old_ms)};
      std::vector<std::pair<int64_t, uint64_t>> ended;
      std::mt19937_64 rng(static_cast<uint64_t>(old_ms * 7 + new_ms));
      int64_t now = 1'700'000'000'000;
      for (int i = 0; i < 2000; ++i) {
        now += static_cast<int64_t>(rng() % 200);
        const uint64_t lsn = rng() % 1'000'000;
        before.add(now, lsn);
        ended.emplace_back(now, lsn);
      }
      (void)before.floor(now);  // as the snapshotter prunes before it saves
      for (int64_t later : {int64_t{0}, new_ms / 2, new_ms - 1, new_ms + old_ms}) {
        RetentionFloor after{std::chrono::milliseconds(new_ms)};
        for (const auto& [end, lsn] : before.saved()) after.add(end, lsn);
        uint64_t must_keep = log::kNoLsn;
        for (const auto& [e, l] : ended) {
          // Kept across the restart only what the old window still kept when it was saved.
          if (e + new_ms >= now + later && e + old_ms >= now) must_keep = std::min(must_keep, l);
        }
        EXPECT_LE(after.floor(now + later), must_keep)
            << "old window " << old_ms << " ms, new " << new_ms << " ms, " << later << " ms later";
      }
    }
  }
}

TEST(RetentionFloor, AZeroWindowKeepsNothingAndScatteredTimesStayBounded) {
  RetentionFloor none{std::chrono::milliseconds(0)};
  none.add(1000, 5);
  EXPECT_EQ(none.floor(1000), log::kNoLsn);

  // End times far apart (a clock set back and forth): the buckets merge, oldest into the next,
  // so the floor can only be lower (keep more) than the true one, never higher.
  RetentionFloor floor{std::chrono::hours(1)};
  std::mt19937_64 rng(5);
  uint64_t lowest = log::kNoLsn;
  for (int i = 0; i < 5000; ++i) {
    const uint64_t lsn = 1000 + rng() % 1'000'000;
    floor.add(static_cast<int64_t>(rng() % (int64_t{1} << 50)), lsn);
    lowest = std::min(lowest, lsn);
  }
  EXPECT_LE(floor.buckets().size(), RetentionFloor::kBucketsMax);
  EXPECT_EQ(floor.floor(0), lowest);
  // Extreme times and windows do not overflow.
  RetentionFloor forever{std::chrono::milliseconds::max()};
  forever.add(std::numeric_limits<int64_t>::max(), 7);
  forever.add(std::numeric_limits<int64_t>::min(), 9);
  EXPECT_EQ(forever.floor(std::numeric_limits<int64_t>::max()), 7u);
}

TEST(LatencyHistogram, PercentilesAreWithinOnePercentOfTheTrueValues) {
  std::vector<int64_t> values = log_uniform_latencies(100000, 11);
  LatencyHistogram h;
  for (int64_t v : values) h.record(v);
  std::sort(values.begin(), values.end());
  for (double q : {0.0, 0.001, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 0.9999, 1.0}) {
    // The smallest value with a fraction q of the values at or below it (nearest rank).
    const auto rank = std::max<size_t>(1, static_cast<size_t>(q * values.size() + 0.5));
    const auto truth = static_cast<double>(values[rank - 1]);
    EXPECT_NEAR(h.percentile(q), truth, truth * 0.01) << "q " << q;
  }
  EXPECT_LE(h.percentile(1.0), static_cast<double>(values.back())) << "never above the maximum";
}

TEST(LatencyHistogram, CountsMaxAndMeanAreExact) {
  LatencyHistogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.percentile(0.5), 0.0);
  EXPECT_EQ(h.mean_ns(), 0.0);
  for (int64_t v : {3, 100, 255, 256, 1'000'000, -5}) h.record(v);
  EXPECT_EQ(h.count(), 6u);
  EXPECT_EQ(h.max_ns(), 1'000'000u);
  EXPECT_DOUBLE_EQ(h.mean_ns(), (3 + 100 + 255 + 256 + 1'000'000 + 0) / 6.0);
  EXPECT_EQ(h.percentile(0.0), 0.0) << "a negative latency counts as 0";
  EXPECT_EQ(h.percentile(0.5), 100.0) << "below 256 ns every value has a bucket of its own";
  EXPECT_EQ(h.percentile(4.0 / 6), 255.0);
}

TEST(LatencyHistogram, MergeAddsCopiesSnapshotAndResetForgets) {
  const std::vector<int64_t> values = log_uniform_latencies(20000, 12);
  LatencyHistogram all, a, b;
  for (size_t i = 0; i < values.size(); ++i) {
    all.record(values[i]);
    (i % 3 == 0 ? a : b).record(values[i]);
  }
  LatencyHistogram merged = a;  // a copy, then b added
  merged.merge(b);
  EXPECT_EQ(a.count() + b.count(), values.size()) << "the copy left `a` as it was";
  EXPECT_EQ(merged.count(), all.count());
  EXPECT_EQ(merged.max_ns(), all.max_ns());
  EXPECT_DOUBLE_EQ(merged.mean_ns(), all.mean_ns());
  for (double q : {0.01, 0.5, 0.99, 0.999}) EXPECT_EQ(merged.percentile(q), all.percentile(q));

  merged.reset();
  EXPECT_EQ(merged.count(), 0u);
  EXPECT_EQ(merged.max_ns(), 0u);
  EXPECT_EQ(merged.percentile(0.99), 0.0);
  merged.record(1000);
  EXPECT_NEAR(merged.percentile(0.5), 1000.0, 10.0);
  merged = all;
  EXPECT_EQ(merged.count(), all.count()) << "assignment replaces what was recorded";
}

TEST(LatencyHistogram, ThreadsRecordConcurrentlyWithoutLosingSamples) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 50000;
  LatencyHistogram h;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&h, t] {
      for (int i = 0; i < kPerThread; ++i) h.record(1000 * (t + 1) + i % 7);
    });
  }
  // A reader meanwhile sees a value among those being recorded, or 0 before the first.
  for (int i = 0; i < 100; ++i) {
    const double p = h.percentile(0.5);
    EXPECT_TRUE(p == 0.0 || (p >= 990.0 && p <= 4020.0)) << p;
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(h.count(), uint64_t{kThreads} * kPerThread);
  EXPECT_EQ(h.max_ns(), 4006u);
  EXPECT_NEAR(h.percentile(0.125), 1003.0, 10.0);
  EXPECT_NEAR(h.percentile(1.0), 4006.0, 0.5);
}

}  // namespace
}  // namespace cairn::detail
