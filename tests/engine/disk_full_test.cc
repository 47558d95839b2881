// A full disk under the engine: the log waits for space and keeps what is durable, send()
// refuses new events at once with kNoSpace (naming the cause), runs in progress wait, and when
// space returns everything goes on — the events accepted before are not lost, and a restart finds
// every acknowledged run finished once.
#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "engine_fixture.h"
#include "support/faulty_io.h"

namespace cairn {
namespace {

using testing::EngineTest;
using namespace std::chrono_literals;

TEST_F(EngineTest, FullDiskRefusesNewEventsKeepsWhatIsDurableAndGoesOnWhenSpaceReturns) {
  auto fs = std::make_shared<testing::FaultyFileSystem>();
  options_.log.file_system = fs;
  options_.snapshots = false;  // the snapshotter would also hit the full disk; not the subject
  std::atomic<int> bodies{0};
  auto setup = [&](Engine& e) {
    ASSERT_TRUE(e.register_function({.id = "f", .triggers = {on_event("go")}},
                                    [&](Context& ctx, const Event& ev) -> Task<std::string> {
                                      co_return co_await ctx.run("pad", [&] {
                                        ++bodies;
                                        return std::string(3000, 'x') + ev.data;
                                      });
                                    })
                    .ok());
  };
  start(setup);
  // The disk fills 64 KiB into the next segment file the log prepares.
  fs->add_fault(testing::FsFault{.op = testing::FsOp::kPwrite,
                                 .path_contains = "prealloc-",
                                 .err = ENOSPC,
                                 .times = 0,
                                 .after_bytes = 64 << 10});
  std::vector<RunId> acked;
  std::mutex acked_mu;
  std::atomic<bool> stop_sending{false};
  std::thread sender([&] {
    for (int i = 0; !stop_sending.load(); ++i) {
      auto r = engine_->send({.name = "go", .data = "{\"i\":" + std::to_string(i) + "}"});
      if (!r.ok()) return;  // refused: the disk is full (checked below)
      std::lock_guard lock(acked_mu);
      acked.push_back(r->runs.at(0));
    }
  });
  ASSERT_TRUE(eventually([&] { return engine_->health().code() == StatusCode::kNoSpace; }, 30s))
      << engine_->health().to_string();
  // New work is refused at once, with the reason.
  auto now = engine_->send({.name = "go", .data = "{}"});
  ASSERT_FALSE(now.ok());
  EXPECT_EQ(now.status().code(), StatusCode::kNoSpace);
  EXPECT_NE(now.status().message().find("disk is full"), std::string::npos)
      << now.status().to_string();
  std::this_thread::sleep_for(200ms);  // it waits; nothing fails meanwhile
  EXPECT_EQ(engine_->health().code(), StatusCode::kNoSpace);

  fs->clear();  // space is back
  ASSERT_TRUE(eventually([&] { return engine_->health().ok(); }, 30s))
      << engine_->health().to_string();
  stop_sending.store(true);
  sender.join();
  std::vector<RunId> all;
  {
    std::lock_guard lock(acked_mu);
    all = acked;
  }
  ASSERT_GT(all.size(), 10u);
  for (RunId id : all) EXPECT_EQ(wait(id).status, RunStatus::kCompleted);
  auto after = engine_->send({.name = "go", .data = "{\"again\":1}"});
  ASSERT_TRUE(after.ok()) << after.status().to_string();
  all.push_back(after->runs.at(0));
  wait(all.back());
  const int ran = bodies.load();
  EXPECT_GE(fs->faults_injected(), 1u);

  stop();
  start(setup);
  for (RunId id : all) {
    auto r = engine_->get_run(id);
    ASSERT_TRUE(r.ok()) << "run " << id << ": " << r.status().to_string();
    EXPECT_EQ(r->status, RunStatus::kCompleted);
  }
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(bodies.load(), ran) << "a completed step ran again after the restart";
}

}  // namespace
}  // namespace cairn
