// `cairn events send`: on a new directory (which it creates), on a stopped engine's directory
// (where the event ends a matching wait, and the run completes when the engine starts again), and
// its refusals: bad data, a log directory instead of the engine's, a directory a running engine
// holds.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cairn/engine.h"
#include "cairn_cli.h"
#include "engine_logs.h"
#include "fifo_watch.h"
#include "support/temp_dir.h"

namespace cairn::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

json export_lines(const std::filesystem::path& log_dir) {
  const CliResult r = run_cairn({"log", "export", log_dir.string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  json lines = json::array();
  for (const std::string& line : split_lines(r.out)) lines.push_back(json::parse(line));
  return lines;
}

TEST(EventsSendCommand, NewDirectoryIsCreatedAndTheEventRecorded) {
  TempDir base;
  const std::filesystem::path dir = base.path() / "new" / "engine";
  const CliResult r = run_cairn({"events", "send", dir.string(), "--name", "order/approved",
                                 "--data", R"({"order_id":"A-1","n":3})", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  const std::string id = j["event_id"];
  EXPECT_FALSE(id.empty());
  EXPECT_EQ(j["name"], "order/approved");
  EXPECT_EQ(j["duplicate"], false);
  EXPECT_EQ(j["runs"], json::array());  // no function is registered in the tool
  EXPECT_EQ(j["waits_ended"], json::array());
  ASSERT_TRUE(std::filesystem::is_directory(dir / "log"));

  const json lines = export_lines(dir / "log");
  ASSERT_EQ(lines.size(), 1u) << lines;
  EXPECT_EQ(lines[0]["type"], "EventAccepted");
  EXPECT_EQ(lines[0]["payload"]["event_id"], id);
  EXPECT_EQ(lines[0]["payload"]["data"], json({{"order_id", "A-1"}, {"n", 3}}));

  // The text output names the id and says why no run started.
  const CliResult text = run_cairn({"events", "send", dir.string(), "--name", "x", "--id", "e-7"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("event e-7 (x) accepted"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("runs started: none (no function is registered"), std::string::npos)
      << text.out;
  EXPECT_EQ(export_lines(dir / "log").size(), 2u);

  // The same id again is a duplicate: nothing more is recorded.
  const CliResult again =
      run_cairn({"events", "send", dir.string(), "--name", "x", "--id", "e-7", "--json"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(json::parse(again.out)["duplicate"], true);
  EXPECT_EQ(export_lines(dir / "log").size(), 2u);
}

TEST(EventsSendCommand, EndsAMatchingWaitAndTheRunCompletesOnRestart) {
  TempDir dir;
  const SampleRuns runs = write_sample_engine_dir(dir.path());
  ASSERT_NE(runs.waiting, 0u);

  // Another order's approval does not end the wait.
  CliResult r = run_cairn({"events", "send", dir.path().string(), "--name", "order/approved",
                           "--data", R"({"order_id":"B-2"})", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["waits_ended"], json::array());

  r = run_cairn({"events", "send", dir.path().string(), "--name", "order/approved", "--data",
                 std::string(R"({"order_id":")") + kWaitingOrderId + R"("})", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["waits_ended"], json::array({runs.waiting}));

  // The log says so: the run is no longer waiting, and its history has the event.
  const CliResult list =
      run_cairn({"runs", "list", dir.path().string(), "--status", "waiting", "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_EQ(json::parse(list.out)["runs"].size(), 0u) << list.out;
  const CliResult show =
      run_cairn({"runs", "show", dir.path().string(), std::to_string(runs.waiting)});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_NE(show.out.find("wait #1 approval ended by event order/approved"), std::string::npos)
      << show.out;

  // The application's engine, started again, runs it to the end.
  std::unique_ptr<Engine> engine = Engine::create(sample_engine_options(dir.path()));
  register_sample_functions(*engine);
  Status st = engine->start();
  ASSERT_TRUE(st.ok()) << st.to_string();
  Result<RunInfo> done = engine->wait_run(runs.waiting, 20s);
  ASSERT_TRUE(done.ok()) << done.status().to_string();
  EXPECT_EQ(done->status, RunStatus::kCompleted);
  EXPECT_EQ(done->output, "shipped");
  st = engine->shutdown();
  EXPECT_TRUE(st.ok()) << st.to_string();
}

TEST(EventsSendCommand, BadArgumentsExitTwoAndChangeNothing) {
  TempDir dir;
  const std::string d = (dir.path() / "engine").string();
  CliResult r = run_cairn({"events", "send", d, "--name", "x", "--data", "[1,2]"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--data must be a JSON object"), std::string::npos) << r.err;
  r = run_cairn({"events", "send", d, "--name", "x", "--data", "{not json"});
  EXPECT_EQ(r.exit_code, 2);
  // Bytes that are not UTF-8: the message says so and where, not only "must be a JSON object".
  r = run_cairn({"events", "send", d, "--name", "x", "--data", "{\"k\": \"caf\xe9\"}"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("UTF-8"), std::string::npos) << r.err;
  // A long value is quoted by its start, with its length.
  r = run_cairn({"events", "send", d, "--name", "x", "--data", std::string(5000, '[')});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("5000 bytes in all"), std::string::npos) << r.err;
  EXPECT_LT(r.err.size(), 1200u) << r.err;
  r = run_cairn({"events", "send", d, "--data", "{}"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--name is required"), std::string::npos) << r.err;
  r = run_cairn({"events", "send", d, "--name", ""});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_FALSE(std::filesystem::exists(d));  // nothing was created

  // A log directory, where the engine's directory belongs.
  const SampleRuns runs = write_sample_engine_dir(dir.path() / "engine");
  ASSERT_NE(runs.completed, 0u);
  r = run_cairn({"events", "send", (dir.path() / "engine" / "log").string(), "--name", "x"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("is a log directory"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("try " + (dir.path() / "engine").string() + "\n"), std::string::npos)
      << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "engine" / "log" / "log"));
}

std::vector<std::string> dir_names(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    names.push_back(e.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

// The engine's own open refuses a FIFO named like a segment in its log, by name (it blocked the
// command for good, waiting for a writer); nothing is created or removed.
TEST(EventsSendCommand, AFifoNamedLikeASegmentExitsTwoNamingIt) {
  TempDir dir;
  const std::filesystem::path fifo = sample_engine_dir_with_fifo_segment(dir.path() / "engine");
  ASSERT_FALSE(fifo.empty());
  const std::vector<std::string> before = dir_names(fifo.parent_path());
  {
    FifoWatch watch(fifo);  // so that a command that does open it ends, and the test with it
    const CliResult r =
        run_cairn({"events", "send", (dir.path() / "engine").string(), "--name", "x"});
    EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
    EXPECT_NE(r.err.find(fifo.string() + " is a FIFO, not a regular file"), std::string::npos)
        << r.err;
  }
  EXPECT_EQ(dir_names(fifo.parent_path()), before);
}

// An admin.json that is no regular file (a FIFO) is refused by name: reading it blocked the
// command for good.
TEST(EventsSendCommand, AnAdminFileThatIsAFifoExitsTwoNamingIt) {
  TempDir dir;
  const std::filesystem::path engine = dir.path() / "engine";
  ASSERT_EQ(run_cairn({"events", "send", engine.string(), "--name", "first"}).exit_code, 0);
  const std::filesystem::path admin = engine / "admin.json";
  ASSERT_EQ(::mkfifo(admin.c_str(), 0600), 0);
  FifoWatch watch(admin);  // so that a command that does open it ends, and the test with it
  const CliResult r = run_cairn({"events", "send", engine.string(), "--name", "x"});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find(admin.string() + " is not a live engine's admin file (not a regular file)"),
            std::string::npos)
      << r.err;
}

TEST(EventsSendCommand, DirectoryOfARunningEngineExitsFour) {
  TempDir dir;
  std::unique_ptr<Engine> engine = Engine::create(sample_engine_options(dir.path()));
  register_sample_functions(*engine);
  Status st = engine->start();
  ASSERT_TRUE(st.ok()) << st.to_string();
  const CliResult r = run_cairn({"events", "send", dir.path().string(), "--name", "x"});
  EXPECT_EQ(r.exit_code, 4) << r.out << r.err;
  EXPECT_NE(r.err.find("in use by a running engine"), std::string::npos) << r.err;
  st = engine->shutdown();
  EXPECT_TRUE(st.ok()) << st.to_string();
}

}  // namespace
}  // namespace cairn::testing
