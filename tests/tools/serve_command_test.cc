// `cairn serve`: its usage errors, and a directory in use by a live engine that serves its own
// dashboard answered with that dashboard's address. (Serving itself runs until a signal; the
// dashboard's API has its own tests in tests/dashboard.)
#include <gtest/gtest.h>

#include "cairn/dashboard.h"
#include "cairn/engine.h"
#include "cairn_cli.h"
#include "engine_logs.h"
#include "fifo_watch.h"
#include "support/temp_dir.h"

namespace cairn::testing {
namespace {

TEST(ServeCommand, ANonLoopbackBindWithoutATokenIsAUsageError) {
  const CliResult no_dir = run_cairn({"serve"});
  EXPECT_EQ(no_dir.exit_code, 2);
  EXPECT_NE(no_dir.err.find("DIR is required"), std::string::npos) << no_dir.err;
  TempDir dir;
  const CliResult r = run_cairn({"serve", (dir / "engine").string(), "--bind", "0.0.0.0"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("token"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "engine")) << "opened the engine before checking";
}

TEST(ServeCommand, ALogDirectoryIsAUsageError) {
  TempDir dir;
  {
    auto engine = Engine::create({.dir = dir.path(), .workers = 1});
    ASSERT_TRUE(engine->start().ok());
  }
  const CliResult r = run_cairn({"serve", (dir / "log").string()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("log directory"), std::string::npos) << r.err;
}

// The engine's own open refuses a FIFO named like a segment in its log, by name: `serve` blocked
// for good on it, and (as it waits for signals) not even SIGTERM ended it.
TEST(ServeCommand, AFifoNamedLikeASegmentExitsTwoNamingIt) {
  TempDir dir;
  const std::filesystem::path fifo = sample_engine_dir_with_fifo_segment(dir.path() / "engine");
  ASSERT_FALSE(fifo.empty());
  FifoWatch watch(fifo);  // so that a command that does open it goes on (and fails below)
  const CliResult r = run_cairn({"serve", (dir.path() / "engine").string(), "--port", "0"});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find(fifo.string() + " is a FIFO, not a regular file"), std::string::npos)
      << r.err;
}

TEST(ServeCommand, ALiveEnginesDashboardIsNamedInstead) {
  TempDir dir;
  auto engine = Engine::create({.dir = dir.path(), .workers = 1});
  ASSERT_TRUE(engine->start().ok());
  auto dashboard = Dashboard::start(*engine, {});
  ASSERT_TRUE(dashboard.ok()) << dashboard.status().to_string();
  const CliResult r = run_cairn({"serve", dir.path().string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("the engine serves its dashboard at " + (*dashboard)->url()),
            std::string::npos)
      << r.out;

  // Without a dashboard, the lock is the usual in-use error.
  (*dashboard)->stop();
  const CliResult locked = run_cairn({"serve", dir.path().string()});
  EXPECT_EQ(locked.exit_code, 4) << locked.err;
  EXPECT_NE(locked.err.find("in use"), std::string::npos) << locked.err;
}

}  // namespace
}  // namespace cairn::testing
