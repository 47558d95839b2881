// The debounce and batching checks (j) and (k) can fail: a fabricated history of each keyed
// function — bursts of events over a few keys, some within a period or batch timeout of the one
// before and some after it, with the ends the engine must record for them — passes, and each kind
// of wrong history the crash test looks for is planted in a copy and must be reported. (Made up
// rather than taken from a child: which events share a period depends on the machine's speed.)
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "cairn/schema/record_schema.h"
#include "engine_crash/crash_checks.h"
#include "engine_crash/fast_clock.h"
#include "engine_crash/keyed_workload.h"
#include "engine_crash/log_facts.h"
#include "engine_crash/planted_history.h"

namespace cairn::engine_crash {
namespace {

using nlohmann::json;

constexpr int64_t kT0 = kFastClockStartMs + 1'000;
constexpr int64_t kP = kDebouncePeriodMs;
constexpr int64_t kBt = kBatchTimeoutMs;

class KeyedHistory : public PlantedHistory {
 protected:
  // One send() of a burst at `at_ms`: its events share one record and one creation time.
  std::vector<RunFacts*> send(KeyedKind kind, uint64_t g, uint32_t key, uint32_t size,
                              int64_t at_ms) {
    const KeyedBurst b{kind, g, key, size};
    bursts.push_back(b);
    const uint64_t lsn = next_lsn();
    std::vector<RunFacts*> runs;
    for (uint32_t j = 0; j < size; ++j) {
      EventFact e;
      e.lsn = lsn;
      e.id = keyed_event_id(kind, g, j);
      e.name = std::string(keyed_event_name(kind));
      e.data = keyed_event_data(b, j).dump();
      e.functions = {std::string(keyed_function(kind))};
      const std::string function = e.functions.front();
      // created_us + 321: floored to at_ms.
      runs.push_back(&accept_with_run(std::move(e), function, at_ms * 1000 + 321));
    }
    return runs;
  }

  // RunAdmitted at `admitted_ms`, the one step with `step_output`, RunCompleted with `output`.
  void complete(RunFacts& r, int64_t admitted_ms, const std::string& step_id, json step_output,
                const json& output) {
    AdmittedFact a{};
    a.lsn = next_lsn();
    a.at_ms = admitted_ms;
    a.started_ms = admitted_ms;
    r.admissions.push_back(a);
    step_output["inc"] = 1;
    step_output["n"] = r.id;
    r.completed.push_back({next_lsn(), 0, step_id, 1, step_output.dump()});
    r.completions.emplace_back(next_lsn(), output.dump());
    r.finished_lsn = r.completions.back().first;
  }

  void due(RunFacts& r, uint64_t lsn, bool debounce) {
    OpFact o;
    o.lsn = lsn;
    o.reason = static_cast<uint8_t>(debounce ? schema::ResumeReason::DebounceDue
                                             : schema::ResumeReason::BatchDue);
    r.resumes.push_back(o);
  }

  std::vector<KeyedBurst> bursts;
};

// ---------------------------------------------------------------------------------------------
// Debounce: key d0 gets two events at once (the first is replaced by the second), a third half a
// period later (replaces the second), then nothing for two periods (the third completes) and a
// fourth (a new sequence); key d1 one event; key d2 three events less than a period apart, so the
// timeout (two periods from the first) cuts the sequence and the third starts then.
class DebounceChecksTest : public KeyedHistory {
 protected:
  void SetUp() override {
    constexpr auto kD = KeyedKind::kDebounce;
    const auto b1 = send(kD, 1, 0, 2, kT0);
    a = b1[0];
    b = b1[1];
    c = send(kD, 2, 0, 1, kT0 + kP / 2)[0];
    d = send(kD, 3, 1, 1, kT0 + kP)[0];
    e = send(kD, 4, 0, 1, kT0 + 3 * kP)[0];
    f = send(kD, 5, 2, 1, kT0 + 10 * kP)[0];
    g = send(kD, 6, 2, 1, kT0 + 10 * kP + kP * 9 / 10)[0];
    h = send(kD, 7, 2, 1, kT0 + 11 * kP + kP * 8 / 10)[0];
    replace(*a, *b, "d0");
    replace(*b, *c, "d0");
    replace(*f, *g, "d2");
    replace(*g, *h, "d2");
    run(*c, kT0 + kP / 2 + kP);
    run(*d, kT0 + 2 * kP);
    run(*e, kT0 + 4 * kP);
    run(*h, kT0 + 12 * kP);  // the timeout: 10 P + 2 P, before its own quiet period ends
  }

  void replace(RunFacts& r, const RunFacts& by, const std::string& key) {
    skip(r, "debounce: replaced by run " + std::to_string(by.id) + " (a newer event of key \"" +
                key + "\")");
  }

  void run(RunFacts& r, int64_t admitted_ms) {
    const auto ref = *parse_keyed_event_id(r.start_event_id);
    complete(r, admitted_ms, "d1",
             json{{"v", debounce_value(ref.g, ref.j)}, {"event", json::parse(r.input)}},
             debounce_output(ref.g, ref.j));
  }

  CrashVerdict verdict() const override {
    CrashVerdict v;
    check_debounce(facts, bursts, &v);
    return v;
  }

  RunFacts *a, *b, *c, *d, *e, *f, *g, *h;
};

TEST_F(DebounceChecksTest, AHistoryWithRunsReplacedAndStartedPasses) {
  const CrashVerdict v = verdict();
  EXPECT_TRUE(v.violations.empty()) << all_violations();
  EXPECT_EQ(v.summary.debounce_events, 8u);
  EXPECT_EQ(v.summary.debounce_completed, 4u);
  EXPECT_EQ(v.summary.debounce_replaced, 4u);
  EXPECT_EQ(v.summary.debounce_replaced_across_sends, 3u);
  EXPECT_EQ(v.summary.debounce_cut_by_timeout, 1u);
}

// A run completes iff no later event of its key came before its deadline.
TEST_F(DebounceChecksTest, AReplacedRunThatRanIsReported) {
  a->skips.clear();
  run(*a, kT0 + kP);
  EXPECT_TRUE(reported("should have been replaced by run " + std::to_string(b->id)));
  EXPECT_TRUE(reported("was replaced, yet it was admitted or ran a step"));
}

TEST_F(DebounceChecksTest, AQuietRunThatWasSkippedIsReported) {
  c->admissions.clear();
  c->completed.clear();
  c->completions.clear();
  replace(*c, *e, "d0");
  EXPECT_TRUE(reported("should have completed"));
}

// An event exactly at the waiting run's deadline lets it start (the deadline is exclusive).
TEST_F(DebounceChecksTest, AnEventAtTheDeadlineDoesNotReplace) {
  c->created_us = (kT0 + kP) * 1000;  // b's deadline
  EXPECT_TRUE(reported("run " + std::to_string(b->id) +
                       " (debounced, debounce-1-1) should have "
                       "completed"));
}

// The timeout counts from the sequence's first event.
TEST_F(DebounceChecksTest, AStartBeforeTheDeadlineOrTheTimeoutIsReported) {
  h->admissions.front().at_ms = kT0 + 12 * kP - 1;
  EXPECT_TRUE(reported("before its deadline " + std::to_string(kT0 + 12 * kP)));
  h->admissions.front().at_ms = kT0 + 12 * kP;
  c->admissions.front().at_ms = kT0 + kP / 2 + kP - 1;
  EXPECT_TRUE(reported("a debounced run started early"));
}

TEST_F(DebounceChecksTest, ASkipNamingAnotherRunIsReported) {
  b->skips.front().reason = "debounce: replaced by run " + std::to_string(e->id) + " (key \"d0\")";
  EXPECT_TRUE(reported("expected \"debounce: replaced by run " + std::to_string(c->id) + " ...\""));
}

TEST_F(DebounceChecksTest, ARunThatEndedTwiceIsReported) {
  d->completions.emplace_back(next_lsn(), d->completions.front().second);
  EXPECT_TRUE(reported("has 2 RunCompleted"));
  e->skips.push_back({next_lsn(), "debounce: replaced by run 1", "", 0});
  EXPECT_TRUE(reported("has 1 RunCompleted, 1 RunSkipped"));
}

TEST_F(DebounceChecksTest, AStepThatSawAnotherEventIsReported) {
  json out = json::parse(c->completed.front().output);
  out["event"] = json::parse(b->input);
  c->completed.front().output = out.dump();
  EXPECT_TRUE(reported("it should have seen its own event"));
}

TEST_F(DebounceChecksTest, ALostOrRepeatedEventIsReported) {
  facts.events.pop_back();  // h's
  facts.runs.erase(h->id);
  EXPECT_TRUE(reported("event debounce-7-0 is not in the log"));
  facts.events.push_back(facts.events.front());
  EXPECT_TRUE(reported("accepted a second time"));
}

// Apply decides in log order: a DebounceDue before an event lets the waiting run start even if
// the event was created before the deadline (it was logged after the timer fired).
TEST_F(DebounceChecksTest, ADebounceDueEarlierInTheLogLetsTheRunStart) {
  due(*b, b->created_lsn + 1, true);
  EXPECT_TRUE(reported("run " + std::to_string(b->id) +
                       " (debounced, debounce-1-1) should have "
                       "completed"));
  EXPECT_EQ(verdict().summary.debounce_due_first, 1u);
  due(*b, c->created_lsn + 1, true);  // only a stale one, after b was replaced
  b->resumes.erase(b->resumes.begin());
  EXPECT_TRUE(verdict().violations.empty()) << all_violations();
}

// ---------------------------------------------------------------------------------------------
// Batching: key b0 gets four events at once (three fill a batch, the fourth opens the next), one
// more half a timeout later (joins it), and one two timeouts later (a batch of its own); key b1
// one event (a batch that closes at its timeout).
class BatchChecksTest : public KeyedHistory {
 protected:
  void SetUp() override {
    constexpr auto kB = KeyedKind::kBatch;
    first = send(kB, 1, 0, 4, kT0);
    joiner = send(kB, 2, 0, 1, kT0 + kBt / 2)[0];
    alone = send(kB, 3, 1, 1, kT0 + kBt / 4)[0];
    late = send(kB, 4, 0, 1, kT0 + 2 * kBt)[0];
    hold({first[0], first[1], first[2]}, kT0);
    hold({first[3], joiner}, kT0 + kBt);
    hold({alone}, kT0 + kBt / 4 + kBt);
    hold({late}, kT0 + 3 * kBt);
  }

  void hold(const std::vector<RunFacts*>& batch, int64_t admitted_ms) {
    json events = json::array();
    for (RunFacts* r : batch) events.push_back(json::parse(r->input));
    complete(*batch.front(), admitted_ms, "b1",
             json{{"v", batch_value(events)}, {"events", events}}, batch_output(events));
    for (size_t i = 1; i < batch.size(); ++i) {
      const std::string key = json::parse(batch[i]->input)["key"];
      skip(*batch[i],
           "batched into run " + std::to_string(batch.front()->id) + " (key \"" + key + "\")");
    }
  }

  void set_events(RunFacts& holder, const std::vector<RunFacts*>& batch) {
    json events = json::array();
    for (RunFacts* r : batch) events.push_back(json::parse(r->input));
    json out = json::parse(holder.completed.front().output);
    out["events"] = events;
    out["v"] = batch_value(events);
    holder.completed.front().output = out.dump();
  }

  CrashVerdict verdict() const override {
    CrashVerdict v;
    check_batching(facts, bursts, &v);
    return v;
  }

  std::vector<RunFacts*> first;
  RunFacts *joiner, *alone, *late;
};

TEST_F(BatchChecksTest, AHistoryWithFullAndTimedOutBatchesPasses) {
  const CrashVerdict v = verdict();
  EXPECT_TRUE(v.violations.empty()) << all_violations();
  EXPECT_EQ(v.summary.batch_events, 7u);
  EXPECT_EQ(v.summary.batches, 4u);
  EXPECT_EQ(v.summary.batches_full, 1u);
  EXPECT_EQ(v.summary.batch_joined, 3u);
  EXPECT_EQ(v.summary.batch_joined_across_sends, 1u);
}

// A batch's run gets exactly its batch's events, in order.
TEST_F(BatchChecksTest, ABatchMissingAnEventIsReportedAndTheEventLost) {
  set_events(*first[3], {first[3]});
  EXPECT_TRUE(reported("its batch is exactly the events"));
  EXPECT_TRUE(reported("event batch-2-0 was delivered to 0 batch runs"));
}

TEST_F(BatchChecksTest, ABatchInAnotherOrderIsReported) {
  set_events(*first[0], {first[0], first[2], first[1]});
  EXPECT_TRUE(reported("its batch is exactly the events"));
}

TEST_F(BatchChecksTest, AnEventDeliveredTwiceIsReported) {
  set_events(*late, {late, alone});
  EXPECT_TRUE(reported("event batch-3-0 was delivered to 2 batch runs"));
}

TEST_F(BatchChecksTest, AJoinedRunThatRanIsReported) {
  joiner->skips.clear();
  complete(*joiner, kT0 + kBt, "b1", json{{"events", json::array()}}, json());
  EXPECT_TRUE(reported("joined the batch of run " + std::to_string(first[3]->id) +
                       " but it has 1 "
                       "RunCompleted"));
  EXPECT_TRUE(reported("joined a batch, yet it was admitted or ran a step"));
}

TEST_F(BatchChecksTest, AHolderThatWasSkippedIsReported) {
  alone->completions.clear();
  skip(*alone, "batched into run 1 (key \"b1\")");
  EXPECT_TRUE(reported("should have completed"));
}

TEST_F(BatchChecksTest, ASkipNamingAnotherRunIsReported) {
  joiner->skips.front().reason =
      "batched into run " + std::to_string(first[0]->id) + " (key \"b0\")";
  EXPECT_TRUE(reported("expected \"batched into run " + std::to_string(first[3]->id) + "\""));
}

// A batch full at kBatchMax, and one whose timeout passed, take no more events: an event created
// exactly at the timeout opens a batch of its own.
TEST_F(BatchChecksTest, AnEventAtTheTimeoutOpensANewBatch) {
  joiner->created_us = (kT0 + kBt) * 1000;
  EXPECT_TRUE(
      reported("run " + std::to_string(joiner->id) + " (batched, batch-2-0) holds a batch"));
}

TEST_F(BatchChecksTest, AStartBeforeTheBatchClosedIsReported) {
  first[3]->admissions.front().at_ms = kT0 + kBt - 1;
  EXPECT_TRUE(reported("before its batch closed at " + std::to_string(kT0 + kBt)));
}

TEST_F(BatchChecksTest, ALostEventIsReported) {
  facts.events.pop_back();  // late's
  facts.runs.erase(late->id);
  EXPECT_TRUE(reported("event batch-4-0 is not in the log"));
}

// Apply decides in log order: a BatchDue before an event closes the batch even if the event was
// created before the timeout.
TEST_F(BatchChecksTest, ABatchDueEarlierInTheLogClosesTheBatch) {
  due(*first[3], first[3]->created_lsn + 1, false);
  EXPECT_TRUE(
      reported("run " + std::to_string(joiner->id) + " (batched, batch-2-0) holds a batch"));
  EXPECT_EQ(verdict().summary.batch_due_first, 1u);
}

}  // namespace
}  // namespace cairn::engine_crash
