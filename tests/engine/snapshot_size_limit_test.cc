// Snapshots at their limits: one that would pass snapshot_bytes_max is never committed, and one
// on disk over the limit (written under a larger one) is skipped on load for an older snapshot or
// a full replay instead of stopping start(). The dedup window a snapshot restores expires its ids
// exactly as after a full replay, whatever order the file lists them in. And a snapshot writer
// whose close fails does not close that descriptor again.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cairn/log/io.h"
#include "cairn/schema/snapshot_generated.h"
#include "engine_fixture.h"
#include "engine_internal.h"
#include "snapshot_file.h"
#include "support/forwarding_file_system.h"

namespace cairn {
namespace {

using testing::EngineTest;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace ss = schema::snapshot;

constexpr uint64_t kSmallLimit = 64u << 10;

// The whole snapshot files in dir/snapshots (not quarantine/, not .tmp), newest first.
std::vector<fs::path> whole_snapshot_files(const fs::path& dir) {
  std::vector<fs::path> out;
  if (!fs::exists(dir / "snapshots")) return out;
  for (const auto& e : fs::directory_iterator(dir / "snapshots")) {
    if (e.is_regular_file() && e.path().extension() == ".snap") out.push_back(e.path());
  }
  std::sort(out.rbegin(), out.rend());
  return out;
}

// An id of about 200 bytes: a thousand of them make a snapshot of over 200 KiB.
std::string long_id(int i) {
  return std::string(200, 'x') + std::to_string(i);
}

void no_functions(Engine&) {}

class SnapshotLimitTest : public EngineTest {
 protected:
  void SetUp() override {
    options_.snapshot_every_records = ~uint64_t{0};  // at shutdown only
  }
  // Sends events [from, to) with ids `id(i)` and times `ts(i)`. No function is registered: each
  // is an EventAccepted record and an id in the dedup window (which the snapshot holds).
  void send_ids(
      int from, int to, const std::function<std::string(int)>& id,
      const std::function<int64_t(int)>& ts = [](int) { return int64_t{0}; }) {
    std::vector<Event> batch;
    for (int i = from; i < to; ++i) {
      batch.push_back({.name = "x", .data = "{}", .id = id(i), .ts_ms = ts(i)});
      if (batch.size() == 100 || i + 1 == to) {
        auto r = engine_->send(batch);
        ASSERT_TRUE(r.ok()) << r.status().to_string();
        for (const SendResult& s : *r) EXPECT_FALSE(s.duplicate) << s.event_id;
        batch.clear();
      }
    }
  }
  // How many of the events [from, to) with ids `id(i)` are refused as duplicates, sent now (in
  // one call: one log sync).
  int duplicates(int from, int to, const std::function<std::string(int)>& id) {
    std::vector<Event> batch;
    for (int i = from; i < to; ++i) batch.push_back({.name = "x", .data = "{}", .id = id(i)});
    auto r = engine_->send(batch);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    if (!r.ok()) return -1;
    return static_cast<int>(
        std::count_if(r->begin(), r->end(), [](const SendResult& s) { return s.duplicate; }));
  }
};

TEST_F(SnapshotLimitTest, ASnapshotOverTheLimitIsNeverCommitted) {
  options_.snapshot_bytes_max = kSmallLimit;
  ASSERT_NO_FATAL_FAILURE(start(no_functions));
  send_ids(0, 1000, long_id);
  ASSERT_TRUE(engine_->shutdown().ok());
  const EngineStats s = engine_->stats();
  engine_.reset();
  // The whole snapshot (about 220 KiB) never reached the disk in full: the limit counts what the
  // writer still buffers, not only what it wrote.
  EXPECT_EQ(s.snapshots_written, 0u);
  EXPECT_GE(s.snapshot_failures, 1u);
  EXPECT_NE(s.snapshot_last_error.find("snapshot_bytes_max"), std::string::npos)
      << s.snapshot_last_error;
  EXPECT_TRUE(whole_snapshot_files(dir_.path()).empty());
  EXPECT_FALSE(fs::exists(dir_.path() / "snapshots" / "quarantine"));

  ASSERT_NO_FATAL_FAILURE(start(no_functions));  // a full replay, nothing to complain about
  EXPECT_TRUE(engine_->recovery().snapshot.empty());
  EXPECT_TRUE(engine_->recovery().snapshot_problems.empty())
      << engine_->recovery().snapshot_problems.front();
  EXPECT_EQ(duplicates(0, 1000, long_id), 1000);
}

TEST_F(SnapshotLimitTest, ASnapshotOverTheLimitOnDiskFallsBackToAnOlderOneThenToAFullReplay) {
  // Under the default limit: a small snapshot, then a large one.
  ASSERT_NO_FATAL_FAILURE(start(no_functions));
  send_ids(0, 10, long_id);
  stop();
  ASSERT_NO_FATAL_FAILURE(start(no_functions));
  send_ids(10, 1000, long_id);
  stop();
  const std::vector<fs::path> snaps = whole_snapshot_files(dir_.path());
  ASSERT_EQ(snaps.size(), 2u);
  ASSERT_GT(fs::file_size(snaps[0]), kSmallLimit);
  ASSERT_LT(fs::file_size(snaps[1]), kSmallLimit);

  options_.snapshot_on_shutdown = false;  // leave the directory as it is
  options_.snapshots = false;
  ASSERT_NO_FATAL_FAILURE(start(no_functions));
  const std::string full = detail::describe_state(*engine_);
  const uint64_t all_records = engine_->recovery().records;  // a record per send() batch
  stop();

  // The limit lowered: the large snapshot is refused, with the reason; the older one is loaded
  // and the log after it replayed, to the same state.
  options_.snapshots = true;
  options_.snapshot_bytes_max = kSmallLimit;
  ASSERT_NO_FATAL_FAILURE(start(no_functions));
  RecoveryStats rec = engine_->recovery();
  EXPECT_EQ(rec.snapshot, snaps[1].string());
  EXPECT_EQ(rec.records, all_records - 1);  // the older snapshot holds the first record
  ASSERT_EQ(rec.snapshot_problems.size(), 1u);
  EXPECT_NE(rec.snapshot_problems[0].find(snaps[0].string()), std::string::npos)
      << rec.snapshot_problems[0];
  EXPECT_NE(rec.snapshot_problems[0].find("snapshot_bytes_max"), std::string::npos)
      << rec.snapshot_problems[0];
  EXPECT_EQ(detail::describe_state(*engine_), full);
  EXPECT_EQ(duplicates(0, 1000, long_id), 1000);
  stop();
  // Whole, only too large for this limit: left where it is (a larger limit loads it again).
  EXPECT_TRUE(fs::exists(snaps[0]));

  // Without the older one: a full replay.
  fs::remove(snaps[1]);
  ASSERT_NO_FATAL_FAILURE(start(no_functions));
  rec = engine_->recovery();
  EXPECT_TRUE(rec.snapshot.empty());
  EXPECT_EQ(rec.records, all_records);
  ASSERT_EQ(rec.snapshot_problems.size(), 1u);
  EXPECT_NE(rec.snapshot_problems[0].find("snapshot_bytes_max"), std::string::npos)
      << rec.snapshot_problems[0];
  EXPECT_EQ(detail::describe_state(*engine_), full);
  EXPECT_EQ(duplicates(0, 1000, long_id), 1000);
}

// The real file system, except that close() reports a failure once (after really closing, as
// Linux does: the descriptor is released whatever close returns), and every close is counted.
class CloseFailsOnce final : public testing::ForwardingFileSystem {
 public:
  Status close(int fd) override {
    ++closes[fd];
    Status st = real_->close(fd);
    if (!st.ok() || failed_) return st;
    failed_ = true;
    return Status(StatusCode::kIoError, "close: injected EIO");
  }

  std::map<int, int> closes;

 private:
  bool failed_ = false;
};

// A commit whose close fails reports it, and the writer never closes that descriptor again: by
// then the number may be another file's.
TEST(SnapshotFileWriter, ACloseThatFailsIsNotRepeated) {
  testing::TempDir dir;
  auto fsys = std::make_shared<CloseFailsOnce>();
  {
    auto w = detail::SnapshotFileWriter::create(fsys, dir.path().string(), 7);
    ASSERT_TRUE(w.ok()) << w.status().to_string();
    const uint8_t payload[8] = {};
    ASSERT_TRUE((*w)->add(detail::SnapshotFrameKind::kEnd, payload).ok());
    const Status st = (*w)->commit();
    EXPECT_EQ(st.code(), StatusCode::kIoError) << st.to_string();
  }  // destroyed uncommitted: its .tmp file is removed
  ASSERT_EQ(fsys->closes.size(), 1u);
  EXPECT_EQ(fsys->closes.begin()->second, 1) << "descriptor " << fsys->closes.begin()->first;
  EXPECT_TRUE(fs::is_empty(dir.path()));
}

// Rewrites the snapshot at `path` (one with only dedup ids: no runs, finished runs or limiter
// tables) with its ids in the reverse of the order it lists them, as one chunk.
void reverse_dedup_ids(const fs::path& path, uint64_t lsn) {
  std::shared_ptr<log::FileSystem> fsys = log::posix_file_system();
  bool newer = false;
  Result<detail::SnapshotContents> c =
      detail::read_snapshot_file(*fsys, path.string(), ~uint64_t{0}, &newer);
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  std::vector<std::pair<std::string, int64_t>> ids;
  for (size_t i = 1; i + 1 < c->frames.size(); ++i) {
    const auto* chunk = flatbuffers::GetRoot<ss::SnapshotChunk>(c->frames[i].payload.data());
    ASSERT_TRUE(chunk->runs() == nullptr || chunk->runs()->size() == 0);
    ASSERT_TRUE(chunk->finished() == nullptr || chunk->finished()->size() == 0);
    ASSERT_TRUE(chunk->limiters() == nullptr || chunk->limiters()->size() == 0);
    if (chunk->dedup() == nullptr) continue;
    for (const ss::SnapDedup* d : *chunk->dedup()) ids.emplace_back(d->id()->str(), d->ts_ms());
  }
  std::reverse(ids.begin(), ids.end());
  flatbuffers::FlatBufferBuilder b;
  std::vector<flatbuffers::Offset<ss::SnapDedup>> v;
  for (const auto& [id, ts] : ids) v.push_back(ss::CreateSnapDedup(b, b.CreateString(id), ts));
  b.Finish(ss::CreateSnapshotChunk(b, 0, 0, b.CreateVector(v), 0));
  flatbuffers::FlatBufferBuilder eb;
  eb.Finish(ss::CreateSnapshotEnd(eb, 1, lsn));
  fs::remove(path);
  auto w = detail::SnapshotFileWriter::create(fsys, path.parent_path().string(), lsn);
  ASSERT_TRUE(w.ok()) << w.status().to_string();
  ASSERT_TRUE((*w)->add(detail::SnapshotFrameKind::kHeader, c->frames.front().payload).ok());
  ASSERT_TRUE(
      (*w)->add(detail::SnapshotFrameKind::kChunk, {b.GetBufferPointer(), b.GetSize()}).ok());
  ASSERT_TRUE(
      (*w)->add(detail::SnapshotFrameKind::kEnd, {eb.GetBufferPointer(), eb.GetSize()}).ok());
  ASSERT_TRUE((*w)->commit().ok());
}

// A thousand ids at t0 + i ms in a 10 s window; a restart 1 s later, then 9.5 s more: ids 0-499
// have left the window (new again), ids 500-999 are still in it (duplicates). Run with a full
// replay, a restart from the snapshot written at shutdown, and from that snapshot with its ids
// listed newest first (the loader must not rely on the order a file lists them in).
TEST_F(SnapshotLimitTest, DedupIdsRestoredFromASnapshotExpireAsAfterAFullReplay) {
  options_.dedup_window = 10s;
  auto id = [](int i) { return "id" + std::to_string(i); };
  const int64_t t0 = clock_->now_ms();
  for (int pass = 0; pass < 3; ++pass) {
    SCOPED_TRACE(pass == 0 ? "full replay" : pass == 1 ? "snapshot" : "snapshot, ids reversed");
    options_.dir = dir_.path() / ("pass" + std::to_string(pass));
    use_snapshots(pass > 0);
    clock_ = std::make_shared<ManualClock>(t0);
    options_.clock = clock_;
    ASSERT_NO_FATAL_FAILURE(start(no_functions));
    for (int b = 0; b < 10; ++b) {  // ids 100b.. accepted at t0 + 100b ms
      send_ids(100 * b, 100 * b + 100, id);
      clock_->advance(100ms);
    }
    stop();
    if (pass == 2) {
      const std::vector<fs::path> snaps = whole_snapshot_files(options_.dir);
      ASSERT_EQ(snaps.size(), 1u);
      const std::string name = snaps[0].filename().string();  // snapshot-<20 digits>.snap
      reverse_dedup_ids(snaps[0], std::stoull(name.substr(9, 20)));
    }
    clock_->advance(1s);
    options_.snapshot_on_shutdown = false;  // a restart leaves the directory as it is
    ASSERT_NO_FATAL_FAILURE(start(no_functions));
    EXPECT_EQ(engine_->recovery().snapshot.empty(), pass == 0);
    EXPECT_TRUE(engine_->recovery().snapshot_problems.empty())
        << engine_->recovery().snapshot_problems.front();
    clock_->advance(8500ms);  // now t0 + 10.5 s: the window begins at t0 + 500 ms
    EXPECT_EQ(duplicates(0, 500, id), 0) << "ids older than the window are still remembered";
    EXPECT_EQ(duplicates(500, 1000, id), 500) << "ids within the window are forgotten";
    stop();
  }
}

// The history test below writes 72 MB into one run: past the 64 MiB a snapshot frame may hold,
// the size that failed before. Copying it is most of its time (8 s); under a sanitizer, which
// looks for memory errors and races in the pieces' code rather than at the size, 12 MB does
// (still three pieces: version 2 all the same).
#ifdef CAIRN_SANITIZER_BUILD
constexpr int kFourMegabyteItems = 3;
#else
constexpr int kFourMegabyteItems = 18;
#endif

// The format version in a snapshot file's header (after the 8-byte magic).
uint32_t format_version_of(const fs::path& snapshot) {
  std::ifstream f(snapshot, std::ios::binary);
  uint32_t version = 0;
  f.seekg(8);
  f.read(reinterpret_cast<char*>(&version), 4);
  return version;
}

// Log options under which one record may hold 4 MiB.
void allow_four_megabyte_records(log::LogOptions& o) {
  o.segment_bytes = 32u << 20;
  o.batch_bytes_max = 8u << 20;
  o.record_bytes_max = 4u << 20;
  o.staging_bytes = 16u << 20;
}

// One unfinished run whose recorded history is larger than a snapshot frame may be (64 MiB): 18
// steps of 4 MB each, within every limit the engine enforces (steps_per_run_max 10,000 of
// step_output_bytes_max each would be 5 GiB at the defaults). Its history was written into one
// frame, so every snapshot failed ("a snapshot frame of ... bytes is over the limit") for as
// long as the run lived, and with none written retention never ran. The history goes into the
// file in pieces; the snapshot loads to the state of a full replay, and the run finishes from it
// with every step's output as recorded.
TEST_F(SnapshotLimitTest, ARunWhoseHistoryIsLargerThanAFrameIsSnapshotted) {
  constexpr int kSteps = kFourMegabyteItems;
  constexpr size_t kOutput = 4'000'000;
  allow_four_megabyte_records(options_.log);
  options_.step_output_bytes_max = (4u << 20) - 4096;
  auto ran = std::make_shared<std::atomic<int>>(0);
  auto big = [ran](Engine& e) {
    Status st = e.register_function(
        {.id = "big", .triggers = {on_event("big")}},
        [ran](Context& ctx, const Event&) -> Task<std::string> {
          std::string firsts;
          size_t bytes = 0;
          for (int i = 0; i < kSteps; ++i) {
            std::string out = co_await ctx.run("s" + std::to_string(i), [&, i] {
              ran->fetch_add(1);
              return std::string(kOutput, static_cast<char>('a' + i % 26));
            });
            firsts += out.front();
            bytes += out.size();
          }
          auto got = co_await ctx.wait_for_event(
              "approval", {.event = "approve", .match = "data.k", .timeout = 2h});
          co_return firsts + " " + std::to_string(bytes) + (got ? " approved" : " timed out");
        });
    ASSERT_TRUE(st.ok()) << st.to_string();
  };
  ASSERT_NO_FATAL_FAILURE(start(big));
  const RunId run = send_one({.name = "big", .data = "{\"k\":1}"});
  ASSERT_TRUE(eventually([&] { return engine_->stats().waiting_for_events == 1; }, 60s));
  ASSERT_TRUE(engine_->shutdown().ok());
  const EngineStats s = engine_->stats();
  engine_.reset();
  EXPECT_EQ(s.snapshot_failures, 0u) << s.snapshot_last_error;
  ASSERT_EQ(s.snapshots_written, 1u) << s.snapshot_last_error;
  // Format version 2, which an older Cairn refuses rather than load the run without its pieces.
  const std::vector<fs::path> snaps = whole_snapshot_files(dir_.path());
  ASSERT_EQ(snaps.size(), 1u);
  EXPECT_EQ(format_version_of(snaps[0]), 2u);

  // The state a full replay builds, then the one the snapshot gives.
  options_.snapshot_on_shutdown = false;
  options_.snapshots = false;
  ASSERT_NO_FATAL_FAILURE(start(no_functions));
  const std::string full = detail::describe_state(*engine_);
  stop();
  options_.snapshots = true;
  ASSERT_NO_FATAL_FAILURE(start(no_functions));
  const RecoveryStats rec = engine_->recovery();
  EXPECT_FALSE(rec.snapshot.empty());
  EXPECT_TRUE(rec.snapshot_problems.empty()) << rec.snapshot_problems.front();
  EXPECT_EQ(rec.records, 0u);
  const std::string loaded = detail::describe_state(*engine_);
  stop();
  EXPECT_EQ(loaded.size(), full.size());
  EXPECT_TRUE(loaded == full) << "the snapshot's state differs from a full replay's";

  // The run finishes from the snapshot, its steps' outputs coming from the history it holds.
  ASSERT_NO_FATAL_FAILURE(start(big));
  EXPECT_FALSE(engine_->recovery().snapshot.empty());
  ASSERT_TRUE(engine_->send({.name = "approve", .data = "{\"k\":1}"}).ok());
  const RunInfo done = wait(run, 60s);
  std::string firsts;
  for (int i = 0; i < kSteps; ++i) firsts += static_cast<char>('a' + i % 26);
  EXPECT_EQ(done.output, firsts + " " + std::to_string(kSteps * kOutput) + " approved");
  EXPECT_EQ(ran->load(), kSteps) << "a step ran again";
}

// The same for a batch: a run that collects large events (18 of 4 MB before a restart were more
// than a frame may hold) was never snapshotted either. Its batch follows in pieces, the loaded
// batch is whole (the restart goes on collecting into it), and the run gets every event once the
// batch is full. Three events of 1.5 MB (4.5 MB: the run's share and one piece) check that in
// every build: each event is parsed as JSON several times, and the 72 MB took 12 s (the 72 MB
// failure is the history test's).
TEST_F(SnapshotLimitTest, ARunWhoseBatchIsLargerThanAPieceIsSnapshotted) {
  constexpr int kBefore = 3;  // 1.5 MB each, sent before the restart: more than one piece
  constexpr int kEvents = kBefore + 2;
  allow_four_megabyte_records(options_.log);
  options_.event_bytes_max = (4u << 20) - 4096;
  auto got = std::make_shared<std::atomic<int>>(0);
  auto batched = [got](Engine& e) {
    Status st = e.register_function({.id = "batched",
                                     .triggers = {on_event("item")},
                                     .batch = Batching{.max_events = kEvents, .timeout = 1h}},
                                    [got](Context& ctx, const Event&) -> Task<std::string> {
                                      std::string ns;
                                      for (const Event& ev : ctx.events())
                                        ns += ev.data[ev.data.size() - 2];
                                      got->store(static_cast<int>(ctx.events().size()));
                                      co_return ns;
                                    });
    ASSERT_TRUE(st.ok()) << st.to_string();
  };
  auto item = [](int n) {
    // {"pad":"...","n":N}: 1.5 MB, N's last digit its next-to-last character.
    return Event{.name = "item",
                 .data = "{\"pad\":\"" + std::string(1'500'000, 'p') +
                         "\",\"n\":" + std::to_string(n) + "}"};
  };
  ASSERT_NO_FATAL_FAILURE(start(batched));
  const RunId first = send_one(item(0));
  for (int i = 1; i < kBefore; ++i) send_one(item(i));
  ASSERT_TRUE(engine_->shutdown().ok());
  const EngineStats s = engine_->stats();
  engine_.reset();
  EXPECT_EQ(s.snapshot_failures, 0u) << s.snapshot_last_error;
  const std::vector<fs::path> snaps = whole_snapshot_files(dir_.path());
  ASSERT_EQ(snaps.size(), 1u) << s.snapshot_last_error;
  EXPECT_EQ(format_version_of(snaps[0]), 2u) << "the batch fit one piece: no piece was tested";

  options_.snapshot_on_shutdown = false;
  options_.snapshots = false;
  // The runs that joined the batch are recorded skipped by the workers after a start, so the
  // state is compared once only the batch's run is left: in the table too, which a finished run
  // leaves just after it leaves runs_active (a state described in between held one more run, with
  // its 1.5 MB event, about once in 60 runs of this test beside other tests' I/O).
  std::string state;
  auto settled = [&] {
    if (engine_->stats().runs_active != 1) return false;
    state = detail::describe_state(*engine_);
    size_t runs = 0;
    for (size_t at = state.find("\nrun "); at != std::string::npos;
         at = state.find("\nrun ", at + 1)) {
      ++runs;
    }
    return runs == 1;
  };
  ASSERT_NO_FATAL_FAILURE(start(batched));
  ASSERT_TRUE(eventually(settled));
  const std::string full = state;
  stop();
  options_.snapshots = true;
  ASSERT_NO_FATAL_FAILURE(start(batched));
  EXPECT_EQ(engine_->recovery().snapshot, snaps.front().string());
  EXPECT_TRUE(engine_->recovery().snapshot_problems.empty())
      << engine_->recovery().snapshot_problems.front();
  ASSERT_TRUE(eventually(settled));
  const std::string loaded = state;
  EXPECT_EQ(loaded.size(), full.size());
  EXPECT_TRUE(loaded == full) << "the snapshot's state differs from a full replay's";
  for (int i = kBefore; i < kEvents; ++i) send_one(item(i));
  const RunInfo done = wait(first, 60s);
  EXPECT_EQ(done.status, RunStatus::kCompleted) << done.error;
  std::string digits;
  for (int i = 0; i < kEvents; ++i) digits += static_cast<char>('0' + i % 10);
  EXPECT_EQ(done.output, digits);
  EXPECT_EQ(got->load(), kEvents);
}

}  // namespace
}  // namespace cairn
