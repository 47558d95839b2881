// The commands that open a stopped engine's directory themselves (here `events send` and
// `runs cancel`) apply the limits the application's engine last started with (DIR/OPTIONS, written
// by start()), not the defaults; they do not rewrite that file; a damaged one is refused naming
// its line, with nothing appended; a name a newer build wrote is skipped with a warning.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <stdexcept>
#include <string>

#include "cairn/engine.h"
#include "cairn_cli.h"
#include "engine_logs.h"
#include "support/file_text.h"
#include "support/temp_dir.h"

namespace cairn::testing {
namespace {

namespace fs = std::filesystem;

// Starts and stops an engine in `dir` with `tweak` applied to its options: what an application
// leaves behind.
void run_application_once(const fs::path& dir, const std::function<void(EngineOptions&)>& tweak) {
  EngineOptions o;
  o.dir = dir;
  o.workers = 1;
  o.log.segment_bytes = 4u << 20;
  tweak(o);
  std::unique_ptr<Engine> engine = Engine::create(o);
  Status st = engine->start();
  ASSERT_TRUE(st.ok()) << st.to_string();
  st = engine->shutdown();
  ASSERT_TRUE(st.ok()) << st.to_string();
  ASSERT_TRUE(fs::exists(dir / "OPTIONS"));
}

size_t records_in(const fs::path& dir) {
  const CliResult r = run_cairn({"log", "export", (dir / "log").string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return split_lines(r.out).size();
}

CliResult send_with_id(const fs::path& dir, size_t id_bytes) {
  return run_cairn(
      {"events", "send", dir.string(), "--name", "x", "--id", std::string(id_bytes, 'k')});
}

TEST(ToolOptionsFile, ALimitTheApplicationRaisedIsTheToolsToo) {
  TempDir dir;
  // Without the file, the default (256 bytes) refuses a 300-byte id...
  run_application_once(dir.path(), [](EngineOptions& o) { o.event_id_bytes_max = 1000; });
  const std::string written = file_text(dir.path() / "OPTIONS");
  fs::rename(dir.path() / "OPTIONS", dir.path() / "OPTIONS.away");
  CliResult r = send_with_id(dir.path(), 300);
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_NE(r.err.find("event_id_bytes_max is 256"), std::string::npos) << r.err;
  EXPECT_EQ(records_in(dir.path()), 0u);

  // ...and with it, as the application would, the tool takes it.
  fs::rename(dir.path() / "OPTIONS.away", dir.path() / "OPTIONS");
  r = send_with_id(dir.path(), 300);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.err.empty()) << r.err;
  EXPECT_EQ(records_in(dir.path()), 1u);
  EXPECT_EQ(file_text(dir.path() / "OPTIONS"), written) << "the tool's engine does not rewrite it";
  r = send_with_id(dir.path(), 1001);
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_NE(r.err.find("event_id_bytes_max is 1000"), std::string::npos) << r.err;
}

TEST(ToolOptionsFile, ALimitTheApplicationLoweredIsTheToolsToo) {
  TempDir dir;
  run_application_once(dir.path(), [](EngineOptions& o) { o.event_id_bytes_max = 16; });
  CliResult r = send_with_id(dir.path(), 17);
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_NE(r.err.find("event_id_bytes_max is 16"), std::string::npos) << r.err;
  r = send_with_id(dir.path(), 16);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(records_in(dir.path()), 1u);
}

TEST(ToolOptionsFile, AnApplicationKeepingFewFinishedRunsDoesNotStopAReplay) {
  // Without snapshots the tool's engine finds finished runs by replaying the log into its cache:
  // the application's cache of one run must not be the tool's.
  TempDir dir;
  EngineOptions o;
  o.dir = dir.path();
  o.workers = 1;
  o.snapshots = false;
  o.runs_finished_kept = 1;
  std::unique_ptr<Engine> engine = Engine::create(o);
  ASSERT_TRUE(engine
                  ->register_function({.id = "f", .triggers = {on_event("go")}, .retries = 0},
                                      [](Context& ctx, const Event& e) -> Task<void> {
                                        co_await ctx.run("s", [&] {
                                          if (e.data == R"({"fail":true})") {
                                            throw std::runtime_error("down");
                                          }
                                          return 1;
                                        });
                                      })
                  .ok());
  ASSERT_TRUE(engine->start().ok());
  auto run_of = [&](const std::string& data) -> RunId {
    Result<SendResult> r = engine->send(Event{.name = "go", .data = data});
    EXPECT_TRUE(r.ok() && r->runs.size() == 1);
    if (!r.ok() || r->runs.empty()) return 0;
    EXPECT_TRUE(engine->wait_run(r->runs[0], std::chrono::seconds(20)).ok());
    return r->runs[0];
  };
  const RunId failed = run_of(R"({"fail":true})");
  run_of(R"({"fail":false})");  // the application's one finished run kept in memory
  ASSERT_TRUE(engine->shutdown().ok());
  ASSERT_NE(file_text(dir.path() / "OPTIONS").find("runs_finished_kept = 1\n"), std::string::npos);

  const CliResult r = run_cairn({"runs", "replay", dir.path().string(), std::to_string(failed)});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

TEST(ToolOptionsFile, ADamagedFileIsRefusedNamingItsLineAndNothingIsAppended) {
  TempDir dir;
  const SampleRuns runs = write_sample_engine_dir(dir.path());
  ASSERT_NE(runs.waiting, 0u);
  const size_t records = records_in(dir.path());
  ASSERT_TRUE(replace_in_file(dir.path() / "OPTIONS", "event_id_bytes_max = 256",
                              "event_id_bytes_max = 2x6"))
      << file_text(dir.path() / "OPTIONS");
  const std::string text = file_text(dir.path() / "OPTIONS");
  const size_t at = text.find("event_id_bytes_max = 2x6");
  const size_t line = static_cast<size_t>(std::count(text.begin(), text.begin() + at, '\n')) + 1;

  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"events", "send", dir.path().string(), "--name", "x"},
        std::vector<std::string>{"runs", "cancel", dir.path().string(),
                                 std::to_string(runs.waiting)},
        std::vector<std::string>{"runs", "replay", dir.path().string(),
                                 std::to_string(runs.failed)},
        std::vector<std::string>{"serve", dir.path().string(), "--port", "0"}}) {
    const CliResult r = run_cairn(args);
    EXPECT_EQ(r.exit_code, 2) << args[0] << " " << args[1] << ": " << r.out;
    EXPECT_NE(r.err.find((dir.path() / "OPTIONS").string() + ": line " + std::to_string(line) +
                         ": event_id_bytes_max must be a decimal number"),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("nothing was done: fix it, or remove it"), std::string::npos) << r.err;
  }
  EXPECT_EQ(records_in(dir.path()), records);
}

TEST(ToolOptionsFile, ANameANewerBuildWroteIsSkippedWithAWarning) {
  TempDir dir;
  run_application_once(dir.path(), [](EngineOptions& o) { o.event_id_bytes_max = 20; });
  write_file_text(dir.path() / "OPTIONS", file_text(dir.path() / "OPTIONS") + "warp_factor = 9\n");
  const CliResult r = send_with_id(dir.path(), 20);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("cairn events send: warning: " + (dir.path() / "OPTIONS").string()),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("warp_factor: an option this build does not know (misspelled, or written "
                       "by a newer Cairn), skipped: an option it misspells keeps its default"),
            std::string::npos)
      << r.err;
  EXPECT_NE(send_with_id(dir.path(), 21).exit_code, 0) << "the names it knows still apply";
}

}  // namespace
}  // namespace cairn::testing
