// AdmissionTable's singleton and idempotency state on its own: which run a singleton key keeps
// when admissions come out of creation order (a restart decides a run again, or replays its
// RunAdmitted, after a newer run of its key took it), and an idempotency key whose window passed
// before the once-a-minute sweep dropped it.
#include <gtest/gtest.h>

#include <memory>

#include "admission_table.h"
#include "function_flow.h"
#include "function_registry.h"
#include "run_state.h"

namespace cairn::detail {
namespace {

using namespace std::chrono_literals;

struct Function {
  explicit Function(FunctionOptions options) {
    entry.id = options.id;
    auto flow = FunctionFlow::compile(options);
    EXPECT_TRUE(flow.ok()) << flow.status().to_string();
    if (flow.ok()) entry.flow = std::move(*flow);
    entry.options = std::move(options);
  }
  std::unique_ptr<RunRecord> run(RunId id, std::string key) {
    auto r = std::make_unique<RunRecord>(id, &entry, entry.id, Event{.name = "go"});
    r->flow = std::make_unique<RunFlow>();
    r->flow->singleton_key = key;
    r->flow->idempotency_key = std::move(key);
    return r;
  }
  FunctionEntry entry;
};

Function latest() {
  return Function(FunctionOptions{
      .id = "latest",
      .singleton = Singleton{.key = "data.k", .mode = Singleton::Mode::kCancelRunning}});
}

TEST(AdmissionTable, ASingletonInCancelModeReplacesTheOlderRunLive) {
  Function fn = latest();
  auto a = fn.run(1, "k"), b = fn.run(2, "k");
  AdmissionTable t(1000);
  EXPECT_EQ(t.decide(fn.entry, *a, 0, false).replaced.run, nullptr);
  const AdmissionTable::Replaced r = t.decide(fn.entry, *b, 0, false).replaced;
  EXPECT_EQ(r.run, a.get());
  EXPECT_EQ(r.by, 2u);
}

// The newer run's RunAdmitted came first in the log: replaying the older one's must not cancel
// the newer run (which would leave the key to a run that is already cancelled).
TEST(AdmissionTable, AnOlderRunsAdmissionReplayedAfterANewerOnesIsTheOneReplaced) {
  Function fn = latest();
  auto a = fn.run(1, "k"), b = fn.run(2, "k");
  AdmissionTable t(1000);
  EXPECT_EQ(t.record(*b, false, "", false, "", 0).run, nullptr);
  const AdmissionTable::Replaced r = t.record(*a, false, "", false, "", 0);
  EXPECT_EQ(r.run, a.get());
  EXPECT_EQ(r.by, 2u);
  // The key stays with the newer run: a third one replaces it, not the older.
  auto c = fn.run(3, "k");
  EXPECT_EQ(t.decide(fn.entry, *c, 0, false).replaced.run, b.get());
}

// The older run lost its RunAdmitted to a crash and is decided again after the restart, when the
// newer one already holds the key.
TEST(AdmissionTable, AnOlderRunDecidedAgainAfterANewerOneTookTheKeyIsTheOneReplaced) {
  Function fn = latest();
  auto a = fn.run(1, "k"), b = fn.run(2, "k");
  AdmissionTable t(1000);
  t.record(*b, false, "", false, "", 0);
  const AdmissionTable::Verdict v = t.decide(fn.entry, *a, 0, false);
  EXPECT_EQ(v.replaced.run, a.get());
  EXPECT_EQ(v.replaced.by, 2u);
  // Other keys are not involved.
  auto other = fn.run(4, "j");
  EXPECT_EQ(t.decide(fn.entry, *other, 0, false).replaced.run, nullptr);
}

TEST(AdmissionTable, AnIdempotencyKeyPastItsWindowIsTakenByTheNextRunBeforeTheSweep) {
  Function fn(FunctionOptions{.id = "once", .idempotency = "data.k", .idempotency_window = 1h});
  const int64_t hour = 3'600'000;
  AdmissionTable t(1000);
  auto a = fn.run(1, "o-1");
  EXPECT_EQ(t.decide(fn.entry, *a, 0, false).admission, RunFlow::Admission::kToRecord);
  auto other = fn.run(2, "o-2");  // a decision 10 s before o-1 expires: the sweep keeps o-1
  EXPECT_EQ(t.decide(fn.entry, *other, hour - 10'000, false).admission,
            RunFlow::Admission::kToRecord);
  auto b = fn.run(3, "o-1");  // the window has passed: starts, and holds the key from now
  EXPECT_EQ(t.decide(fn.entry, *b, hour + 1'000, false).admission, RunFlow::Admission::kToRecord);
  for (RunId id : {4, 5}) {
    auto c = fn.run(id, "o-1");
    EXPECT_EQ(t.decide(fn.entry, *c, hour + 1'000 + 1'000 * (id - 3), false).admission,
              RunFlow::Admission::kToSkip)
        << "run " << id;
    EXPECT_NE(c->flow->skip_reason.find("already started run 3"), std::string::npos)
        << c->flow->skip_reason;
  }
  // Replay does the same from the recorded times.
  AdmissionTable r(1000);
  r.record(*a, false, "", false, "", 0);
  r.record(*other, false, "", false, "", hour - 10'000);
  r.record(*b, false, "", false, "", hour + 1'000);
  auto d = fn.run(6, "o-1");
  EXPECT_EQ(r.decide(fn.entry, *d, hour + 5'000, false).admission, RunFlow::Admission::kToSkip);
  EXPECT_NE(d->flow->skip_reason.find("already started run 3"), std::string::npos)
      << d->flow->skip_reason;
}

// A function holding idempotency_keys_max keys delays a run of a new key (decided again a second
// later) until keys past their window leave at the sweep; a repeated key is still skipped. Replay
// takes every recorded key.
TEST(AdmissionTable, PastIdempotencyKeysMaxARunOfANewKeyWaitsForRoom) {
  Function fn(FunctionOptions{.id = "once", .idempotency = "data.k", .idempotency_window = 1h});
  const int64_t hour = 3'600'000;
  AdmissionTable t(1000, 2);
  auto a = fn.run(1, "a");
  auto b = fn.run(2, "b");
  EXPECT_EQ(t.decide(fn.entry, *a, 0, false).admission, RunFlow::Admission::kToRecord);
  EXPECT_EQ(t.decide(fn.entry, *b, 30 * 60'000, false).admission, RunFlow::Admission::kToRecord);
  auto c = fn.run(3, "c");
  AdmissionTable::Verdict v = t.decide(fn.entry, *c, 40 * 60'000, false);
  EXPECT_EQ(v.admission, RunFlow::Admission::kDelayed);
  EXPECT_EQ(v.retry_at_ms, 41 * 60'000) << "decided again at the next sweep";
  auto again = fn.run(4, "a");
  EXPECT_EQ(t.decide(fn.entry, *again, 40 * 60'000, false).admission, RunFlow::Admission::kToSkip);
  auto a_later = fn.run(5, "a");  // past a's window: the sweep drops it, and "a" starts again
  EXPECT_EQ(t.decide(fn.entry, *a_later, hour + 1, false).admission, RunFlow::Admission::kToRecord);
  v = t.decide(fn.entry, *c, hour + 1'001, true);
  EXPECT_EQ(v.admission, RunFlow::Admission::kDelayed);
  EXPECT_EQ(v.retry_at_ms, hour + 1 + 60'000) << "the sweep at hour + 1 ran: the next one";
  // b leaves its window at 1.5 h, and the sweep (once a minute) drops it by the next decision.
  EXPECT_EQ(t.decide(fn.entry, *c, hour + 30 * 60'000 + 61'000, true).admission,
            RunFlow::Admission::kToRecord);
  // Replay never delays: the log says the runs were admitted.
  AdmissionTable r(1000, 1);
  r.record(*a, false, "", false, "", 0);
  r.record(*b, false, "", false, "", 30 * 60'000);
  auto dup = fn.run(6, "b");
  EXPECT_EQ(r.decide(fn.entry, *dup, 31 * 60'000, false).admission, RunFlow::Admission::kToSkip);
}

}  // namespace
}  // namespace cairn::detail
