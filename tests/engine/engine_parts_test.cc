// White-box tests of the engine's small parts: the run table, the wait index, JSON fields and the
// dedup window.
#include <gtest/gtest.h>

#include <random>
#include <unordered_map>

#include "dedup_window.h"
#include "json_field.h"
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

TEST(DedupWindow, RemembersIdsForTheWindowOnly) {
  DedupWindow w(1000);
  EXPECT_TRUE(w.try_insert("a", 100, 100));
  EXPECT_FALSE(w.try_insert("a", 500, 500));
  EXPECT_TRUE(w.try_insert("b", 600, 600));
  EXPECT_TRUE(w.try_insert("a", 1200, 1200)) << "the first 'a' is older than the window";
  w.erase("b");
  EXPECT_TRUE(w.try_insert("b", 1300, 1300));
}

}  // namespace
}  // namespace cairn::detail
