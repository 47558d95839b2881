// FrozenRuns: a packed run unpacks to exactly the run that was packed (every field a snapshot
// writes, a wait's details with and without its matched event, history with and without events,
// extreme integers), it keeps counting in its function's counters, and runs that flow control
// points at are never packed.
#include <gtest/gtest.h>

#include <limits>
#include <tuple>
#include <utility>

#include "frozen_runs.h"
#include "projection.h"

namespace cairn::detail {
namespace {

// describe_run's text (every durable fact a snapshot keeps), and whether the run has a history at
// all (describe_run prints an empty one and none alike; a packed run keeps the difference).
std::string text_of(const RunRecord& r) {
  return describe_run(r) + (r.history ? "history" : "no history");
}

class FrozenRunsTest : public ::testing::Test {
 protected:
  FunctionSlot slot{std::piecewise_construct, std::forward_as_tuple("checkout"),
                    std::forward_as_tuple()};
  FunctionRegistry registry;  // empty: the function is not registered here (fn stays null)

  std::unique_ptr<RunRecord> sleeping_run(RunId id) {
    auto r = std::make_unique<RunRecord>(
        id, nullptr, slot.first,
        Event{.name = "order/created", .data = "{\"a\":1}", .id = "evt-1", .ts_ms = -5});
    r->counts = &slot.second;
    r->parent_run = 7;
    r->parent_position = 3;
    r->created_us = std::numeric_limits<int64_t>::min();
    r->created_lsn = std::numeric_limits<uint64_t>::max() - 1;
    r->status.store(RunStatus::kSleeping);
    r->positions.store(4);
    r->op.reset(OpKind::kSleep, 3);
    r->op.state = OpState::kPending;
    r->op.attempts = 2;
    r->op.deadline_ms = std::numeric_limits<int64_t>::max();
    r->op.child = 99;
    r->op.step_id = "nap";
    r->op.value = std::string("bin\0ary", 7);
    return r;
  }
};

TEST_F(FrozenRunsTest, APackedRunUnpacksToTheSameRun) {
  FrozenRuns frozen;
  auto plain = sleeping_run(1);
  auto with_history = sleeping_run(2);
  with_history->history = std::make_unique<std::vector<ReplayEntry>>();
  with_history->history->push_back(
      ReplayEntry{OpKind::kStep, false, "charge", "{\"ok\":true}", {}});
  with_history->history->push_back(ReplayEntry{OpKind::kWait, false, "approve", "",
                                               std::make_unique<Event>(Event{.name = "approved"})});
  with_history->history->push_back(ReplayEntry{OpKind::kStep, true, "", std::string(300, 'x'), {}});
  auto empty_history = sleeping_run(3);
  empty_history->history = std::make_unique<std::vector<ReplayEntry>>();
  auto waiting = sleeping_run(4);
  waiting->op.reset(OpKind::kWait, 3);
  waiting->op.state = OpState::kPending;
  waiting->op.wait = std::make_unique<WaitDetails>();
  waiting->op.wait->event = "payment/settled";
  waiting->op.wait->path = "data.order";
  waiting->op.wait->value = "\"o-17\"";
  auto matched = sleeping_run(5);
  matched->op.reset(OpKind::kWait, 3);
  matched->op.wait = std::make_unique<WaitDetails>();
  matched->op.wait->event = "payment/settled";
  matched->op.wait->matched = Event{.name = "payment/settled", .data = "{}", .id = "e", .ts_ms = 1};

  const std::vector<const RunRecord*> all = {plain.get(), with_history.get(), empty_history.get(),
                                             waiting.get(), matched.get()};
  for (const auto* r : all) {
    ASSERT_TRUE(FrozenRuns::can_freeze(*r));
    frozen.freeze(*r, slot);
  }
  EXPECT_EQ(frozen.size(), all.size());
  for (const auto* r : all) {
    SCOPED_TRACE(r->id);
    EXPECT_TRUE(frozen.contains(r->id));
    EXPECT_EQ(frozen.created_lsn(r->id), r->created_lsn);
    const auto peeked = frozen.peek(r->id, registry);
    ASSERT_NE(peeked, nullptr);
    EXPECT_EQ(text_of(*peeked), text_of(*r));
    EXPECT_EQ(peeked->counts, &slot.second);
    EXPECT_EQ(&peeked->function_id, &slot.first);  // the interned id, not a copy
    EXPECT_EQ(peeked->fn, nullptr);
  }
  const auto thawed = frozen.thaw(2, registry);
  ASSERT_NE(thawed, nullptr);
  EXPECT_EQ(text_of(*thawed), text_of(*with_history));
  EXPECT_FALSE(frozen.contains(2));
  EXPECT_EQ(frozen.thaw(2, registry), nullptr);
  EXPECT_EQ(frozen.peek(2, registry), nullptr);
  EXPECT_EQ(frozen.size(), all.size() - 1);
}

TEST_F(FrozenRunsTest, RunsThatFlowControlPointsAtAreNeverPacked) {
  auto flow = sleeping_run(2);
  flow->flow = std::make_unique<RunFlow>();
  EXPECT_FALSE(FrozenRuns::can_freeze(*flow));
  auto slot_holder = sleeping_run(3);
  slot_holder->holds_slot = true;
  EXPECT_FALSE(FrozenRuns::can_freeze(*slot_holder));
  auto finished = sleeping_run(4);
  finished->finished.store(true);
  EXPECT_FALSE(FrozenRuns::can_freeze(*finished));
}

}  // namespace
}  // namespace cairn::detail
