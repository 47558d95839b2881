// The engine's options file (engine/src/options_file.h): start() writes the limits it was given
// to DIR/OPTIONS, a failure to write it does not stop the start, and the decoder reads back what
// the encoder wrote and refuses what is not such a file, naming the line.
#include "options_file.h"

#include <sys/stat.h>

#include <string>

#include "engine_fixture.h"
#include "support/faulty_io.h"
#include "support/file_text.h"

namespace cairn {
namespace {

using testing::contains;
using testing::EngineTest;
using testing::file_text;
namespace fs = std::filesystem;

void no_functions(Engine&) {}

EngineOptions unusual_options() {
  EngineOptions o;
  o.event_bytes_max = 700'001;
  o.event_id_bytes_max = 77;
  o.step_output_bytes_max = 600'003;
  o.steps_per_run_max = 123;
  o.step_id_bytes_max = 99;
  o.error_bytes_max = 5'000;
  o.runs_active_max = 4'000'000'000'000ull;
  o.runs_finished_kept = 17;
  o.runs_finished_bytes_max = 1ull << 40;
  o.dedup_window = std::chrono::milliseconds(3'600'001);
  o.dedup_ids_max = 18'000'000'000'000'000'000ull;
  o.runs_executing_max = 4'294'967'295u;
  o.runs_queued_per_function_max = 9;
  o.flow_keys_max = 10;
  o.idempotency_keys_max = 11;
  o.cron_catch_up_max = 0;
  o.snapshots = false;
  o.snapshots_kept = 3;
  o.snapshot_bytes_max = 12;
  o.retention = false;
  o.history_window = std::chrono::milliseconds(0);
  o.log.record_bytes_max = 2u << 20;
  o.log.batch_bytes_max = 8u << 20;
  o.log.staging_bytes = 1ull << 33;
  o.log.segment_bytes = 3ull << 30;
  o.log.segment_bytes_initial = 5u << 20;
  return o;
}

void expect_same_limits(const EngineOptions& a, const EngineOptions& b) {
  EXPECT_EQ(a.event_bytes_max, b.event_bytes_max);
  EXPECT_EQ(a.event_id_bytes_max, b.event_id_bytes_max);
  EXPECT_EQ(a.step_output_bytes_max, b.step_output_bytes_max);
  EXPECT_EQ(a.steps_per_run_max, b.steps_per_run_max);
  EXPECT_EQ(a.step_id_bytes_max, b.step_id_bytes_max);
  EXPECT_EQ(a.error_bytes_max, b.error_bytes_max);
  EXPECT_EQ(a.runs_active_max, b.runs_active_max);
  EXPECT_EQ(a.runs_finished_kept, b.runs_finished_kept);
  EXPECT_EQ(a.runs_finished_bytes_max, b.runs_finished_bytes_max);
  EXPECT_EQ(a.dedup_window, b.dedup_window);
  EXPECT_EQ(a.dedup_ids_max, b.dedup_ids_max);
  EXPECT_EQ(a.runs_executing_max, b.runs_executing_max);
  EXPECT_EQ(a.runs_queued_per_function_max, b.runs_queued_per_function_max);
  EXPECT_EQ(a.flow_keys_max, b.flow_keys_max);
  EXPECT_EQ(a.idempotency_keys_max, b.idempotency_keys_max);
  EXPECT_EQ(a.cron_catch_up_max, b.cron_catch_up_max);
  EXPECT_EQ(a.snapshots, b.snapshots);
  EXPECT_EQ(a.snapshots_kept, b.snapshots_kept);
  EXPECT_EQ(a.snapshot_bytes_max, b.snapshot_bytes_max);
  EXPECT_EQ(a.retention, b.retention);
  EXPECT_EQ(a.history_window, b.history_window);
  EXPECT_EQ(a.log.record_bytes_max, b.log.record_bytes_max);
  EXPECT_EQ(a.log.batch_bytes_max, b.log.batch_bytes_max);
  EXPECT_EQ(a.log.staging_bytes, b.log.staging_bytes);
  EXPECT_EQ(a.log.segment_bytes, b.log.segment_bytes);
  EXPECT_EQ(a.log.segment_bytes_initial, b.log.segment_bytes_initial);
}

TEST(OptionsFileText, WhatIsWrittenReadsBackAsTheSameOptions) {
  const EngineOptions written = unusual_options();
  EngineOptions read;  // the defaults, each of which the file must replace
  Result<OptionsFileRead> r = decode_options_file(encode_options_file(written), &read);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_TRUE(r->skipped.empty());
  expect_same_limits(read, written);
  // What the file does not name (this process's own) is left alone.
  EXPECT_EQ(read.workers, EngineOptions{}.workers);
  EXPECT_EQ(read.dir, EngineOptions{}.dir);
}

TEST(OptionsFileText, APersonsEditsAreRead) {
  EngineOptions o;
  Result<OptionsFileRead> r = decode_options_file(
      "\r\n# mine\n   format=1\r\n\tevent_bytes_max   =  4096 \r\n\n  # retention = true\n"
      "retention = false",
      &o);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(o.event_bytes_max, 4096u);
  EXPECT_FALSE(o.retention);
  EXPECT_EQ(o.step_output_bytes_max, EngineOptions{}.step_output_bytes_max);
}

TEST(OptionsFileText, NamesOfANewerBuildAreSkippedAndReported) {
  EngineOptions o;
  Result<OptionsFileRead> r =
      decode_options_file("format = 1\nwarp_factor = 9\nevent_id_bytes_max = 12\nx\x01y = 1\n", &o);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  ASSERT_EQ(r->skipped.size(), 2u);
  EXPECT_EQ(r->skipped[0], "line 2: warp_factor");
  EXPECT_EQ(r->skipped[1], "line 4: x?y") << "no control bytes in the report";
  EXPECT_EQ(o.event_id_bytes_max, 12u);
}

TEST(OptionsFileText, WhatIsNotSuchAFileIsRefusedNamingTheLineAndChangesNothing) {
  struct Case {
    const char* text;
    const char* says;
  };
  const Case cases[] = {
      {"", "no `format = N` line"},
      {"event_bytes_max = 5\n", "no `format = N` line"},
      {"format = 2\nevent_bytes_max = 5\n", "line 1: format 2 is newer than this build reads (1)"},
      {"format = 0\n", "line 1: format must be a positive number"},
      {"format = 1\nformat = 1\n", "line 2: format is given twice"},
      {"format = 1\nevent_bytes_max\n", "line 2: no '='"},
      {"format = 1\n = 5\n", "line 2: no name before '='"},
      {"format = 1\nevent_bytes_max = 4294967296\n", "line 2: event_bytes_max must be a decimal"},
      {"format = 1\nevent_bytes_max = -1\n", "line 2: event_bytes_max must be a decimal"},
      {"format = 1\nevent_bytes_max = 0x10\n", "line 2: event_bytes_max must be a decimal"},
      {"format = 1\nevent_bytes_max = 1 KiB\n", "line 2: event_bytes_max must be a decimal"},
      {"format = 1\nevent_bytes_max =\n", "line 2: event_bytes_max must be a decimal"},
      {"format = 1\nruns_active_max = 18446744073709551616\n", "must be a decimal"},
      {"format = 1\nhistory_window_ms = 9223372036854775808\n", "must be a decimal"},
      {"format = 1\nretention = yes\n", "line 2: retention must be true or false"},
      {"format = 1\n\nsteps_per_run_max = 5\nsteps_per_run_max = 6\n",
       "line 4: steps_per_run_max is given twice"},
  };
  for (const Case& c : cases) {
    EngineOptions o;
    o.event_bytes_max = 1234;
    Result<OptionsFileRead> r = decode_options_file(c.text, &o);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << c.text;
    EXPECT_TRUE(contains(r.status().message(), c.says)) << c.text << " -> " << r.status().message();
    EXPECT_EQ(o.event_bytes_max, 1234u) << "a refused file changes nothing: " << c.text;
    EXPECT_EQ(o.steps_per_run_max, EngineOptions{}.steps_per_run_max) << c.text;
  }
  EngineOptions o;
  const std::string huge = "format = 1\n" + std::string(kOptionsFileBytesMax, '#');
  EXPECT_EQ(decode_options_file(huge, &o).status().code(), StatusCode::kLimitExceeded);
}

class OptionsFileOfAnEngine : public EngineTest {};

TEST_F(OptionsFileOfAnEngine, StartWritesTheLimitsItWasGivenAndAgainAtTheNextStart) {
  options_.event_bytes_max = 50'000;
  options_.dedup_window = std::chrono::milliseconds(60'000);
  start(no_functions);
  EXPECT_TRUE(engine_->recovery().options_file_problem.empty())
      << engine_->recovery().options_file_problem;
  stop();
  EngineOptions read;
  ASSERT_TRUE(decode_options_file(file_text(dir_.path() / "OPTIONS"), &read).ok());
  expect_same_limits(read, options_);

  // The same options again: the file is not written again (the same inode, not a renamed copy).
  struct stat before {};
  ASSERT_EQ(::stat((dir_.path() / "OPTIONS").c_str(), &before), 0);
  start(no_functions);
  stop();
  struct stat same {};
  ASSERT_EQ(::stat((dir_.path() / "OPTIONS").c_str(), &same), 0);
  EXPECT_EQ(same.st_ino, before.st_ino);

  options_.event_bytes_max = 40'000;  // a later start with other limits replaces the file
  start(no_functions);
  stop();
  ASSERT_TRUE(decode_options_file(file_text(dir_.path() / "OPTIONS"), &read).ok());
  EXPECT_EQ(read.event_bytes_max, 40'000u);
  EXPECT_FALSE(fs::exists(dir_.path() / "OPTIONS.tmp"));
}

TEST_F(OptionsFileOfAnEngine, OffItWritesNoneAndLeavesAnOlderOneAlone) {
  options_.options_file = false;
  start(no_functions);
  stop();
  EXPECT_FALSE(fs::exists(dir_.path() / "OPTIONS"));

  options_.options_file = true;
  start(no_functions);
  stop();
  const std::string written = file_text(dir_.path() / "OPTIONS");
  options_.options_file = false;
  options_.event_bytes_max = 1'000;
  start(no_functions);
  stop();
  EXPECT_EQ(file_text(dir_.path() / "OPTIONS"), written);
}

TEST_F(OptionsFileOfAnEngine, AFailureToWriteItIsReportedAndTheEngineStillStarts) {
  start(no_functions);  // an older file, which the failed write must leave whole
  stop();
  const std::string older = file_text(dir_.path() / "OPTIONS");
  for (testing::FsOp op : {testing::FsOp::kOpen, testing::FsOp::kPwrite, testing::FsOp::kFdatasync,
                           testing::FsOp::kRename}) {
    auto faulty = std::make_shared<testing::FaultyFileSystem>();
    faulty->add_fault(testing::FsFault{.op = op, .path_contains = "OPTIONS.tmp", .err = ENOSPC});
    options_.log.file_system = faulty;
    options_.event_bytes_max = 2'000;
    start([](Engine& e) {
      ASSERT_TRUE(e.register_function({.id = "f", .triggers = {on_event("go")}},
                                      [](Context&, const Event&) -> Task<void> { co_return; })
                      .ok());
    });
    const std::string problem = engine_->recovery().options_file_problem;
    EXPECT_TRUE(contains(problem, "OPTIONS")) << problem;
    EXPECT_TRUE(contains(problem, "No space left on device")) << problem;
    EXPECT_EQ(wait(send_one({.name = "go"})).status, RunStatus::kCompleted);
    stop();
    EXPECT_EQ(file_text(dir_.path() / "OPTIONS"), older) << static_cast<int>(op);
  }
}

}  // namespace
}  // namespace cairn
