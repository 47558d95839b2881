// The snapshotter goes on after what goes wrong outside it: a read of the log that fails once (an
// I/O error) is reported and the next snapshots are written; a kept snapshot that someone deleted
// by hand does not make every later snapshot's cleanup fail (which stopped retention for good).
#include <filesystem>
#include <memory>
#include <string>

#include "engine_fixture.h"
#include "support/faulty_io.h"

namespace cairn {
namespace {

using testing::EngineTest;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

class SnapshotFaults : public EngineTest {
 protected:
  void SetUp() override {
    options_.snapshots = true;
    options_.snapshot_every_records = 8;
    options_.snapshots_kept = 2;
  }

  static void register_steps(Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "f", .triggers = {on_event("go")}},
                                    [](Context& ctx, const Event& ev) -> Task<std::string> {
                                      co_return co_await ctx.run("a", [&] { return ev.data; });
                                    })
                    .ok());
  }

  // Sends runs until `done` holds (at most 2,000 runs), waiting for each.
  bool run_until(const std::function<bool(const EngineStats&)>& done) {
    for (int i = 0; i < 2000; ++i) {
      if (done(engine_->stats())) return true;
      const RunId id = send_one({.name = "go", .data = "{\"i\":" + std::to_string(i) + "}"});
      if (id == 0 || wait(id).status != RunStatus::kCompleted) return false;
    }
    return done(engine_->stats());
  }
};

TEST_F(SnapshotFaults, AFailedReadOfTheLogIsReportedAndTheNextSnapshotsAreWritten) {
  auto fs = std::make_shared<testing::FaultyFileSystem>();
  options_.log.file_system = fs;
  start(register_steps);
  ASSERT_TRUE(run_until([](const EngineStats& s) { return s.snapshots_written >= 1; }));
  // The snapshotter is the only reader of the segments while the engine runs.
  fs->add_fault(testing::FsFault{.op = testing::FsOp::kPread, .path_contains = ".wal", .times = 1});
  ASSERT_TRUE(run_until([](const EngineStats& s) { return s.snapshot_failures >= 1; }))
      << "the injected read errors never reached the snapshotter";
  const EngineStats failed = engine_->stats();
  EXPECT_NE(failed.snapshot_last_error.find("injected"), std::string::npos)
      << failed.snapshot_last_error;
  EXPECT_TRUE(engine_->health().ok()) << "a snapshot's failure does not stop the engine";
  ASSERT_TRUE(run_until([&](const EngineStats& s) {
    return s.snapshots_written >= failed.snapshots_written + 3;
  })) << "no snapshot after the read error: "
      << engine_->stats().snapshot_last_error;
  EXPECT_EQ(engine_->stats().snapshot_failures, failed.snapshot_failures);
}

TEST_F(SnapshotFaults, AKeptSnapshotDeletedByHandDoesNotStopTheNextOnes) {
  start(register_steps);
  ASSERT_TRUE(run_until([](const EngineStats& s) { return s.snapshots_written >= 3; }));
  for (const auto& e : fs::directory_iterator(options_.dir / "snapshots")) {
    if (e.path().extension() == ".snap") fs::remove(e.path());
  }
  const uint64_t written = engine_->stats().snapshots_written;
  ASSERT_TRUE(run_until([&](const EngineStats& s) {
    return s.snapshots_written >= written + 3 || s.snapshot_failures > 0;
  }));
  const EngineStats after = engine_->stats();
  EXPECT_EQ(after.snapshot_failures, 0u) << after.snapshot_last_error;
  EXPECT_GE(after.snapshots_written, written + 3);
}

}  // namespace
}  // namespace cairn
