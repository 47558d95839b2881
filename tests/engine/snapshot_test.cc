// Snapshots and retention: an engine that loads a snapshot and replays the log after it is in
// exactly the state of one that replays the whole log (compared field by field through
// detail::describe_state, with no functions registered so that nothing runs), and both finish
// every run the same way; damaged snapshots fall back to an older one or a full replay, a newer
// format is refused, and retention takes out old segments but never what recovery needs.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "cairn/log/io.h"
#include "cairn/schema/snapshot_generated.h"
#include "engine_fixture.h"
#include "engine_internal.h"
#include "snapshot_file.h"
#include "support/file_text.h"

namespace cairn {
namespace {

using testing::file_text;

using testing::EngineTest;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

// The i-th of many "go" events, each with its own data.
Event go_event(int i) {
  return {.name = "go", .data = "{\"i\":" + std::to_string(i) + "}"};
}

// Runs that end in every way and runs parked in every way (sleep, wait, retry, invoke).
void register_mixed(Engine& e) {
  auto ok = [](Status st) { ASSERT_TRUE(st.ok()) << st.to_string(); };
  ok(e.register_function({.id = "steps", .triggers = {on_event("steps")}},
                         [](Context& ctx, const Event& ev) -> Task<std::string> {
                           std::string a = co_await ctx.run("a", [&] { return ev.data + "a"; });
                           std::string b = co_await ctx.run("b", [&] { return a + "b"; });
                           co_return b + "c";
                         }));
  ok(e.register_function({.id = "sleepy", .triggers = {on_event("sleepy")}},
                         [](Context& ctx, const Event& ev) -> Task<std::string> {
                           std::string a = co_await ctx.run("a", [&] { return ev.data; });
                           co_await ctx.sleep("nap", 1h);
                           co_return a + " slept";
                         }));
  ok(e.register_function({.id = "waiter", .triggers = {on_event("waiter")}},
                         [](Context& ctx, const Event&) -> Task<std::string> {
                           co_await ctx.run("a", [] { return 1; });
                           auto got = co_await ctx.wait_for_event(
                               "approval", {.event = "approve", .match = "data.k", .timeout = 2h});
                           co_return got ? "approved " + got->data : std::string("timed out");
                         }));
  ok(e.register_function(
      {.id = "flaky", .triggers = {on_event("flaky")}, .retries = 2, .backoff_base = 10min},
      [](Context& ctx, const Event&) -> Task<std::string> {
        co_await ctx.run("a", []() -> int { throw std::runtime_error("down"); });
        co_return "never";
      }));
  ok(e.register_function({.id = "parent", .triggers = {on_event("parent")}},
                         [](Context& ctx, const Event& ev) -> Task<std::string> {
                           std::string child =
                               co_await ctx.invoke("call", {.function = "sleepy", .data = ev.data});
                           co_return "child said " + child;
                         }));
}

// The events of the mixed workload: every function, with distinct data.
void send_mixed(Engine& e, int rounds) {
  for (int i = 0; i < rounds; ++i) {
    const std::string k = std::to_string(i);
    for (const char* name : {"steps", "sleepy", "waiter", "flaky", "parent"}) {
      auto r = e.send({.name = name, .data = "{\"k\":" + k + "}", .id = std::string(name) + k});
      ASSERT_TRUE(r.ok()) << r.status().to_string();
    }
  }
}

std::map<RunId, RunInfo> all_runs(Engine& e) {
  std::map<RunId, RunInfo> out;
  RunQuery q{.limit = 1000};
  for (;;) {
    RunPage p = e.list_runs(q);
    for (RunInfo& r : p.runs) out.emplace(r.id, std::move(r));
    if (p.next == 0) break;
    q.before = p.next;
  }
  return out;
}

std::string describe_runs(const std::map<RunId, RunInfo>& runs) {
  std::string out;
  for (const auto& [id, r] : runs) {
    out += std::to_string(id) + " " + r.function_id + " " +
           std::to_string(static_cast<int>(r.status)) + " " + std::to_string(r.steps) + " [" +
           r.output + "] [" + r.error + "] " + r.event.name + " " + r.event.data + "\n";
  }
  return out;
}

std::vector<fs::path> snapshot_files(const fs::path& dir) {
  std::vector<fs::path> out;
  if (!fs::exists(dir / "snapshots")) return out;
  for (const auto& e : fs::directory_iterator(dir / "snapshots")) out.push_back(e.path());
  std::sort(out.rbegin(), out.rend());  // newest (highest LSN) first
  return out;
}

void flip_byte(const fs::path& file, uint64_t offset) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.get(c);
  f.seekp(static_cast<std::streamoff>(offset));
  f.put(static_cast<char>(c ^ 0x10));
}

class SnapshotTest : public EngineTest {
 protected:
  void SetUp() override {
    options_.snapshot_every_records = 7;  // many snapshots, each with a tail after it
    options_.snapshots_kept = 2;
  }

  // Runs the mixed workload until every run is finished or parked, then stops.
  void build_history(int rounds) {
    start(register_mixed);
    send_mixed(*engine_, rounds);
    // steps: done; sleepy, waiter, flaky, parent (and its child): parked.
    ASSERT_TRUE(eventually([&] {
      const EngineStats s = engine_->stats();
      return s.runs_finished == static_cast<uint64_t>(rounds) &&
             s.runs_active == static_cast<uint64_t>(5 * rounds) &&
             s.waiting_for_events == static_cast<uint64_t>(rounds) &&
             s.timers == static_cast<uint64_t>(4 * rounds);
    })) << "runs did not settle";
    // The snapshotter packs its copy of every parked run (none of these uses flow control): the
    // snapshots these tests load wrote them from the packed form.
    EXPECT_TRUE(eventually([&] {
      return engine_->stats().snapshot_runs_packed == static_cast<uint64_t>(5 * rounds);
    })) << engine_->stats().snapshot_runs_packed
        << " of " << 5 * rounds << " parked runs packed";
    stop();
  }

  // Opens `dir` without functions (nothing runs) and returns its state and runs.
  std::pair<std::string, std::string> state_of(const fs::path& dir, bool snapshots,
                                               RecoveryStats* recovery = nullptr) {
    EngineOptions o = options_;
    o.dir = dir;
    o.snapshots = snapshots;
    o.snapshot_on_shutdown = false;  // leave the directory as it was
    o.snapshot_every_records = ~uint64_t{0};
    auto e = Engine::create(o);
    Status st = e->start();
    EXPECT_TRUE(st.ok()) << st.to_string();
    if (!st.ok()) return {};
    if (recovery != nullptr) *recovery = e->recovery();
    auto out = std::make_pair(detail::describe_state(*e), describe_runs(all_runs(*e)));
    EXPECT_TRUE(e->shutdown().ok());
    return out;
  }

  fs::path copy_without_snapshots() {
    const fs::path copy = dir_.path() / "replay-copy";
    fs::create_directories(copy);
    fs::copy(dir_.path() / "log", copy / "log", fs::copy_options::recursive);
    return copy;
  }
};

TEST_F(SnapshotTest, LoadedSnapshotPlusTailIsTheStateOfAFullReplay) {
  options_.snapshot_on_shutdown = false;  // the last snapshot has a tail of records after it
  build_history(12);
  ASSERT_FALSE(snapshot_files(dir_.path()).empty());
  const fs::path copy = copy_without_snapshots();
  RecoveryStats with, without;
  const auto snap = state_of(dir_.path(), true, &with);
  const auto full = state_of(copy, false, &without);
  EXPECT_FALSE(with.snapshot.empty());
  EXPECT_GT(with.snapshot_lsn, 0u);
  EXPECT_TRUE(with.snapshot_problems.empty()) << with.snapshot_problems.front();
  EXPECT_LT(with.records, without.records);
  // The snapshot says where its last record is: the log's open checks from there and follows no
  // frame before it (the full replay's open follows none either: it checks them all).
  EXPECT_EQ(with.log.records_followed, 0u);
  EXPECT_EQ(with.log.records_verified, with.records + 1);
  EXPECT_EQ(snap.first, full.first);
  EXPECT_EQ(snap.second, full.second);
  EXPECT_NE(snap.first.find("wait approve data.k"), std::string::npos) << snap.first;
}

TEST_F(SnapshotTest, ShutdownSnapshotLeavesNothingToReplay) {
  build_history(5);
  RecoveryStats rec;
  const auto snap = state_of(dir_.path(), true, &rec);
  EXPECT_EQ(rec.records, 0u);
  EXPECT_EQ(rec.log.records_followed, 0u);
  EXPECT_EQ(rec.log.records_verified, 1u);  // the snapshot's last record, where the open began
  const auto full = state_of(copy_without_snapshots(), false);
  EXPECT_EQ(snap, full);
}

TEST_F(SnapshotTest, RunsLoadedFromASnapshotFinishAsAfterAFullReplay) {
  options_.snapshot_on_shutdown = false;
  build_history(6);
  const fs::path copy = copy_without_snapshots();
  std::map<RunId, std::string> outcome[2];
  const int64_t t0 = clock_->now_ms();
  for (int pass = 0; pass < 2; ++pass) {
    options_.dir = pass == 0 ? dir_.path() : copy;
    options_.snapshots = pass == 0;
    clock_ = std::make_shared<ManualClock>(t0);  // both passes see the same times
    options_.clock = clock_;
    start(register_mixed);
    EXPECT_EQ(engine_->recovery().snapshot.empty(), pass == 1);
    for (int i = 0; i < 3; ++i) {  // half the waits are approved, the rest time out
      ASSERT_TRUE(
          engine_->send({.name = "approve", .data = "{\"k\":" + std::to_string(i) + "}"}).ok());
    }
    for (int hop = 0; hop < 12; ++hop) {  // sleeps (1 h), timeouts (2 h), retries (10, 20 min)
      clock_->advance(30min);
      std::this_thread::sleep_for(5ms);
    }
    ASSERT_TRUE(eventually([&] { return engine_->stats().runs_active == 0; }));
    for (const auto& [id, r] : all_runs(*engine_)) {
      outcome[pass][id] = std::to_string(static_cast<int>(r.status)) + " " + r.output + r.error;
    }
    stop();
  }
  EXPECT_EQ(outcome[0], outcome[1]);
  EXPECT_EQ(outcome[0].size(), 6u * 6u);
}

// A file named like a snapshot that does not begin as one is no snapshot the engine wrote: its name
// proves nothing durable. A torn tail after a crash is cut as without it (the stray file, named
// with an LSN past the log's end, made the first start refuse the log as corrupt, and the second,
// after moving it aside, cut the same damage).
TEST_F(SnapshotTest, AStrayFileNamedLikeASnapshotProvesNothingDurable) {
  options_.snapshots = false;
  start(register_mixed);
  send_mixed(*engine_, 2);
  ASSERT_TRUE(eventually([&] { return engine_->stats().runs_finished == 2u; }));
  stop();
  const fs::path log_dir = dir_.path() / "log";
  fs::remove(log_dir / "CLOSED");  // as after a crash
  fs::path last;
  for (const auto& e : fs::directory_iterator(log_dir)) {
    if (e.path().extension() == ".wal" && e.path() > last) last = e.path();
  }
  ASSERT_FALSE(last.empty());
  {
    // A torn last write: the end of its last frame never landed.
    std::fstream f(last, std::ios::in | std::ios::out | std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    const size_t end = bytes.find_last_not_of('\0') + 1;
    ASSERT_GT(end, 4096u + 64u);
    f.seekp(static_cast<std::streamoff>(end - 40));
    f.write(std::string(40, '\0').data(), 40);
  }
  fs::create_directories(dir_.path() / "snapshots");
  std::ofstream(dir_.path() / "snapshots" / "snapshot-00000000099999999999.snap")
      << "not a snapshot at all";

  options_.snapshots = true;
  engine_ = Engine::create(options_);
  const Status st = engine_->start();
  ASSERT_TRUE(st.ok()) << st.to_string();
  EXPECT_NE(engine_->recovery().log.damage.find("torn tail"), std::string::npos)
      << engine_->recovery().log.damage;
  ASSERT_EQ(engine_->recovery().snapshot_problems.size(), 1u);
  EXPECT_TRUE(
      fs::exists(dir_.path() / "snapshots" / "quarantine" / "snapshot-00000000099999999999.snap"));
  stop();
}

TEST_F(SnapshotTest, DamagedSnapshotsFallBackToAnOlderOneThenToAFullReplay) {
  options_.snapshot_on_shutdown = false;
  build_history(8);
  const std::vector<fs::path> snaps = snapshot_files(dir_.path());
  ASSERT_EQ(snaps.size(), 2u);
  const auto full = state_of(copy_without_snapshots(), false);
  const fs::path quarantine = dir_.path() / "snapshots" / "quarantine";

  flip_byte(snaps[0], fs::file_size(snaps[0]) / 2);
  RecoveryStats rec;
  EXPECT_EQ(state_of(dir_.path(), true, &rec), full);
  EXPECT_EQ(rec.snapshot, snaps[1].string());
  ASSERT_EQ(rec.snapshot_problems.size(), 1u);
  EXPECT_NE(rec.snapshot_problems[0].find(snaps[0].string()), std::string::npos);
  EXPECT_NE(rec.snapshot_problems[0].find("checksum"), std::string::npos)
      << rec.snapshot_problems[0];
  // Kept, never deleted, and out of the way: moved aside.
  EXPECT_TRUE(fs::exists(quarantine / snaps[0].filename()));

  fs::resize_file(snaps[1], fs::file_size(snaps[1]) - 3);  // a torn copy
  EXPECT_EQ(state_of(dir_.path(), true, &rec), full);
  EXPECT_TRUE(rec.snapshot.empty());
  ASSERT_EQ(rec.snapshot_problems.size(), 1u);
  EXPECT_NE(rec.snapshot_problems[0].find("past the file's end"), std::string::npos)
      << rec.snapshot_problems[0];
  EXPECT_TRUE(fs::exists(quarantine / snaps[1].filename()));
}

TEST_F(SnapshotTest, ASnapshotWhoseContentsContradictThemselvesIsSkipped) {
  options_.snapshot_on_shutdown = false;
  build_history(4);
  const std::vector<fs::path> snaps = snapshot_files(dir_.path());
  ASSERT_EQ(snaps.size(), 2u);
  // Whole and checksummed, but named for another LSN than its header says (one past it: still
  // within the log, and the newest).
  const std::string name = snaps[0].filename().string();
  const uint64_t lsn = std::stoull(name.substr(9, 20));
  char renamed[64];
  std::snprintf(renamed, sizeof renamed, "snapshot-%020llu.snap",
                static_cast<unsigned long long>(lsn + 1));
  fs::rename(snaps[0], dir_.path() / "snapshots" / renamed);
  RecoveryStats rec;
  EXPECT_EQ(state_of(dir_.path(), true, &rec), state_of(copy_without_snapshots(), false));
  EXPECT_EQ(rec.snapshot, snaps[1].string());
  ASSERT_EQ(rec.snapshot_problems.size(), 1u) << rec.snapshot;
  EXPECT_NE(rec.snapshot_problems[0].find("the header says"), std::string::npos)
      << rec.snapshot_problems[0];
}

TEST_F(SnapshotTest, SnapshotOfANewerFormatIsRefusedUnchanged) {
  build_history(3);
  const std::vector<fs::path> snaps = snapshot_files(dir_.path());
  ASSERT_FALSE(snaps.empty());
  {
    std::fstream f(snaps[0], std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(8);
    const uint32_t newer = detail::kSnapshotFormatVersion + 1;
    f.write(reinterpret_cast<const char*>(&newer), 4);
  }
  const uintmax_t size = fs::file_size(snaps[0]);
  auto e = Engine::create(options_);
  register_mixed(*e);
  Status st = e->start();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("newer"), std::string::npos) << st.to_string();
  EXPECT_NE(st.message().find(snaps[0].filename().string()), std::string::npos) << st.to_string();
  EXPECT_EQ(fs::file_size(snaps[0]), size);

  // The failed start let go of the log: with the newer snapshot moved out of the way, another
  // Engine in this same process starts while `e` still exists (it got kLocked, "another process").
  // `e` itself refuses a second start: part of a recovery is in its memory.
  Status again = e->start();
  EXPECT_EQ(again.code(), StatusCode::kInvalidArgument) << again.to_string();
  EXPECT_NE(again.message().find("create a new one"), std::string::npos) << again.to_string();
  fs::rename(snaps[0], dir_.path() / "newer.snap.aside");
  auto retry = Engine::create(options_);
  register_mixed(*retry);
  Status started = retry->start();
  EXPECT_TRUE(started.ok()) << started.to_string();
  EXPECT_TRUE(retry->shutdown().ok());
  EXPECT_TRUE(e->shutdown().ok());
}

TEST_F(SnapshotTest, ASnapshotBeyondTheLogsEndIsMovedAsideBeforeAnythingIsAppended) {
  build_history(3);
  const std::vector<fs::path> snaps = snapshot_files(dir_.path());
  ASSERT_FALSE(snaps.empty());
  // As after a repair that cut the log: a snapshot of records the log no longer has.
  const fs::path beyond = dir_.path() / "snapshots" / "snapshot-00000000009999999992.snap";
  fs::copy_file(snaps[0], beyond);
  RecoveryStats rec;
  const auto with = state_of(dir_.path(), true, &rec);
  EXPECT_EQ(rec.snapshot, snaps[0].string());
  ASSERT_EQ(rec.snapshot_problems.size(), 1u);
  EXPECT_NE(rec.snapshot_problems[0].find("moved to"), std::string::npos)
      << rec.snapshot_problems[0];
  EXPECT_FALSE(fs::exists(beyond));
  const fs::path quarantine = dir_.path() / "snapshots" / "quarantine";
  EXPECT_TRUE(fs::exists(quarantine / beyond.filename()));
  EXPECT_EQ(with, state_of(copy_without_snapshots(), false));

  // Another one of the same name (here: not a snapshot at all) goes beside the first, which
  // keeps its bytes. A rename over it once deleted them.
  const std::string first_bytes = file_text(quarantine / beyond.filename());
  std::ofstream(beyond) << "written again at the same LSN";
  EXPECT_EQ(state_of(dir_.path(), true, &rec), with);
  const fs::path second = quarantine / (beyond.filename().string() + ".1");
  ASSERT_EQ(rec.snapshot_problems.size(), 1u);
  EXPECT_NE(rec.snapshot_problems[0].find("moved to " + second.string()), std::string::npos)
      << rec.snapshot_problems[0];
  EXPECT_EQ(file_text(quarantine / beyond.filename()), first_bytes);
  EXPECT_EQ(file_text(second), "written again at the same LSN");
}

// Retention measures segment ages with the engine's clock against the times the log wrote (the
// real clock's): a test clock for retention starts an hour ahead of the real time, so that the
// segments a test writes are an hour old at once.
void start_clock_ahead_of_real_time(std::shared_ptr<ManualClock>& clock, EngineOptions& options) {
  const auto start = std::chrono::system_clock::now() + 1h;
  clock = std::make_shared<ManualClock>(
      std::chrono::duration_cast<std::chrono::milliseconds>(start.time_since_epoch()).count());
  options.clock = clock;
}

// "go" runs of one padded step (6 KB in the log, a short output: the finished runs each snapshot
// keeps stay small), and "long" runs that sleep for a day.
void register_short_and_long(Engine& e) {
  ASSERT_TRUE(e.register_function({.id = "f", .triggers = {on_event("go")}},
                                  [](Context& ctx, const Event& ev) -> Task<size_t> {
                                    const std::string pad = co_await ctx.run(
                                        "pad", [&] { return std::string(6000, 'x') + ev.data; });
                                    co_return pad.size();
                                  })
                  .ok());
  ASSERT_TRUE(e.register_function({.id = "long", .triggers = {on_event("long")}},
                                  [](Context& ctx, const Event&) -> Task<int> {
                                    co_await ctx.sleep("nap", 24h);
                                    co_return 1;
                                  })
                  .ok());
}

TEST_F(SnapshotTest, RetentionRemovesOldSegmentsAndRestartNeedsOnlyWhatIsKept) {
  start_clock_ahead_of_real_time(clock_, options_);
  options_.history_window = 0ms;
  options_.snapshot_every_records = 200;
  start(register_short_and_long);
  RunId last = send_many(600, go_event);
  wait(last);
  // Retention runs at each snapshot (every 200 records): more events until one has removed
  // segments (a run of the first ones may still be running at the last snapshot, holding the log).
  ASSERT_TRUE(eventually([&] {
    if (engine_->stats().segments_removed > 0) return true;
    wait(send_many(20, go_event));
    return false;
  })) << engine_->stats().snapshot_last_error;
  const RunInfo before = wait(last);
  stop();
  // A restart loads the newest snapshot: the log before it is gone, the runs are not.
  start([](Engine&) {});
  EXPECT_FALSE(engine_->recovery().snapshot.empty());
  EXPECT_GT(engine_->recovery().log.first_lsn, 0u);
  auto after = engine_->get_run(last);
  ASSERT_TRUE(after.ok()) << after.status().to_string();
  EXPECT_EQ(after->output, before.output);
  stop();
  // Without the snapshots the log cannot be replayed: refused, with the reason.
  fs::remove_all(dir_.path() / "snapshots");
  auto e = Engine::create(options_);
  Status st = e->start();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("retention removed"), std::string::npos) << st.to_string();
}

class RetentionWindowTest : public SnapshotTest {
 protected:
  void SetUp() override {
    SnapshotTest::SetUp();
    start_clock_ahead_of_real_time(clock_, options_);
    options_.history_window = 1h;
    options_.snapshot_every_records = 200;
  }
  // `events` "go" runs, and a snapshot (then retention) that covers all of them. Not only the
  // last one sent: until every run has ended (all but `unfinished`), an earlier one still running
  // holds the log from its start, and a test would see too little removed.
  void traffic(int events, uint64_t unfinished = 0) {
    wait(send_many(events, go_event));
    ASSERT_TRUE(eventually([&] { return engine_->stats().runs_active == unfinished; }));
    // Every record of the runs that ended lies before the first record of a run sent now.
    const RunId probe = send_one(go_event(0));
    wait(probe);
    auto history = engine_->run_history(probe);
    ASSERT_TRUE(history.ok()) << history.status().to_string();
    snapshot_past(history->front().lsn);
    // Retention runs after a snapshot is counted, on the snapshotter's thread, before it writes
    // the next one: one more snapshot, and the first one's retention is done.
    snapshot_past(engine_->stats().snapshot_last_lsn);
  }
  // Snapshots come every 200 records: a few more events at a time until one lies past `lsn`.
  void snapshot_past(uint64_t lsn) {
    ASSERT_TRUE(eventually([&] {
      if (engine_->stats().snapshot_last_lsn > lsn) return true;
      wait(send_many(20, go_event));
      return false;
    })) << engine_->stats().snapshot_last_error;
  }
  // run_history(run) has every record, from its creation to its completion.
  void expect_whole(RunId run, const char* when) {
    auto history = engine_->run_history(run);
    ASSERT_TRUE(history.ok()) << when << ": " << history.status().to_string();
    ASSERT_FALSE(history->empty()) << when;
    EXPECT_EQ(history->front().kind, HistoryEntry::Kind::kCreated) << when;
    EXPECT_EQ(history->back().kind, HistoryEntry::Kind::kCompleted) << when;
  }
  // A day-long run ends at `residue` modulo `modulus` ms under a 1 h window; the engine restarts
  // with `new_window` just before that end leaves it.
  void check_window_change(std::chrono::milliseconds new_window, int64_t modulus, int64_t residue);
};

// A run that lived longer than history_window: while unfinished it keeps the log from its first
// record; once it ends its history stays whole for the window after its end — across a restart,
// which finds where it began in the snapshot, not in the log — and only then goes, refused with the
// reason rather than handed back without its start.
TEST_F(RetentionWindowTest, ARunThatOutlivedTheWindowStaysWholeForTheWindowAfterItEnds) {
  start(register_short_and_long);
  const RunId sleeper = send_one({.name = "long"});
  traffic(300, /*unfinished=*/1);
  EXPECT_EQ(engine_->stats().segments_removed, 0u);
  clock_->advance(25h);  // every segment so far is now older than the window
  wait(sleeper);
  traffic(30);
  EXPECT_EQ(engine_->stats().segments_removed, 0u) << "the run that just ended lost its start";
  expect_whole(sleeper, "right after it ended");
  stop();
  start(register_short_and_long);
  traffic(30);
  EXPECT_EQ(engine_->stats().segments_removed, 0u) << "a restart forgot where the run began";
  expect_whole(sleeper, "after a restart");
  clock_->advance(2h);  // its end is older than the window
  traffic(30);
  ASSERT_GT(engine_->stats().segments_removed, 0u) << engine_->stats().snapshot_last_error;
  auto partial = engine_->run_history(sleeper);
  ASSERT_FALSE(partial.ok()) << "a history of " << partial->size() << " entries, "
                             << (partial->empty() ||
                                         partial->front().kind != HistoryEntry::Kind::kCreated
                                     ? "without"
                                     : "with")
                             << " its creation";
  EXPECT_EQ(partial.status().code(), StatusCode::kNotFound);
  EXPECT_NE(partial.status().message().find("retention removed the start"), std::string::npos)
      << partial.status().to_string();
  // A run that never existed is still just not found.
  auto none = engine_->run_history(sleeper + 100000);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), StatusCode::kNotFound);
}

// A snapshot written before the floor of finished runs was saved (SnapshotHeader without
// finished_floor) cannot tell which finished runs need what: the whole log stays for one window
// after the snapshot's time, then retention goes on as usual.
TEST_F(RetentionWindowTest, ASnapshotWithoutTheFinishedRunsFloorKeepsTheLogForAWindow) {
  options_.retention = false;  // the whole log stays until the restart below
  start(register_short_and_long);
  traffic(300);
  clock_->advance(2h);  // every run so far ended more than a window ago
  stop();               // the shutdown snapshot: an empty floor
  const std::vector<fs::path> snaps = snapshot_files(dir_.path());
  ASSERT_FALSE(snaps.empty());
  {  // Written again as an older engine wrote it: the same frames, the header without the floor.
    auto fsys = log::posix_file_system();
    bool newer = false;
    auto c = detail::read_snapshot_file(*fsys, snaps[0].string(), ~uint64_t{0}, &newer);
    ASSERT_TRUE(c.ok()) << c.status().to_string();
    namespace ss = schema::snapshot;
    const auto* h = flatbuffers::GetRoot<ss::SnapshotHeader>(c->frames.front().payload.data());
    ASSERT_NE(h->finished_floor(), nullptr);
    EXPECT_EQ(h->finished_floor()->size(), 0u);
    flatbuffers::FlatBufferBuilder b;
    std::vector<flatbuffers::Offset<ss::SnapCron>> crons;
    b.Finish(ss::CreateSnapshotHeader(b, h->lsn(), h->written_us(), h->max_run_id(), h->runs(),
                                      h->finished(), h->dedup(), h->oldest_live_created_lsn(),
                                      h->steps_completed(), h->step_failures(), h->runs_created(),
                                      h->runs_finished(), h->events(), b.CreateVector(crons),
                                      h->last_frame_segment(), h->last_frame_offset()));
    auto out = detail::SnapshotFileWriter::create(fsys, snaps[0].parent_path().string(), h->lsn());
    ASSERT_TRUE(out.ok()) << out.status().to_string();
    ASSERT_TRUE(
        (*out)->add(detail::SnapshotFrameKind::kHeader, {b.GetBufferPointer(), b.GetSize()}).ok());
    for (size_t i = 1; i < c->frames.size(); ++i) {
      ASSERT_TRUE((*out)->add(c->frames[i].kind, c->frames[i].payload).ok());
    }
    ASSERT_TRUE((*out)->commit().ok());
  }
  options_.retention = true;
  start(register_short_and_long);
  EXPECT_EQ(engine_->recovery().snapshot, snaps[0].string());
  traffic(30);
  EXPECT_EQ(engine_->stats().segments_removed, 0u)
      << "an old snapshot's unknown floor was no floor";
  clock_->advance(2h);  // a window after the snapshot
  traffic(30);
  EXPECT_GT(engine_->stats().segments_removed, 0u);
}

// history_window changed between restarts: a run that ended within the new window stays whole,
// wherever its end fell in the old window's bucket (restored at their start, the saved buckets of
// a wider window fell into narrower ones that left the window up to an old bucket early: the end
// late in a bucket of 56,250 ms, then a window of 30 min, lost the run's start 20 s before its
// end left the window; the same for windows that do not nest, 1 h then 1.5 h).
void RetentionWindowTest::check_window_change(std::chrono::milliseconds new_window, int64_t modulus,
                                              int64_t residue) {
  start(register_short_and_long);  // history_window 1 h: buckets of 56,250 ms
  const RunId sleeper = send_one({.name = "long"});
  traffic(300, /*unfinished=*/1);
  // Past the sleeper's day-long sleep, to an end time at `residue` modulo `modulus`.
  int64_t end = clock_->now_ms() + 25 * 3600 * 1000;
  end += ((residue - end) % modulus + modulus) % modulus;
  clock_->advance(std::chrono::milliseconds(end - clock_->now_ms()));
  wait(sleeper);
  traffic(30);
  EXPECT_EQ(engine_->stats().segments_removed, 0u);
  stop();

  options_.history_window = new_window;
  // 20 s before the run's end leaves the new window.
  clock_->advance(std::chrono::milliseconds(end + new_window.count() - 20'000 - clock_->now_ms()));
  start(register_short_and_long);
  traffic(30);
  EXPECT_EQ(engine_->stats().segments_removed, 0u)
      << "a run that ended " << clock_->now_ms() - end
      << " ms ago lost its start under a window of " << new_window.count() << " ms";
  expect_whole(sleeper, "after a restart with another window, its end still within it");
}

TEST_F(RetentionWindowTest, ANarrowerWindowAfterARestartKeepsARunThatEndedWithinIt) {
  check_window_change(std::chrono::minutes(30), 56'250, 56'000);
}

TEST_F(RetentionWindowTest, AWindowThatDoesNotNestAfterARestartKeepsARunThatEndedWithinIt) {
  check_window_change(std::chrono::minutes(90), 168'750, 112'250);
}

}  // namespace
}  // namespace cairn
