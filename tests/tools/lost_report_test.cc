// A command that changes something (events send, runs cancel, runs replay, log recover) and then
// cannot write its report (a full disk, a closed pipe) exits 5, not 2: a script that read 2 as
// "nothing happened" and ran it again would send a second event or replay a run twice. The same
// command that changed nothing still exits 2.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cairn_cli.h"
#include "engine_logs.h"
#include "support/temp_dir.h"
#include "test_logs.h"

namespace cairn::testing {
namespace {

using nlohmann::json;

constexpr int kDoneUnreported = 5;

void expect_lost_report(const CliResult& r, int exit_code, const std::string& what) {
  EXPECT_EQ(r.exit_code, exit_code) << what << ": " << r.err;
  EXPECT_NE(r.err.find("writing the output: No space left on device"), std::string::npos)
      << what << ": " << r.err;
}

TEST(LostReport, EventsSendThatWasAcceptedExitsFive) {
  TempDir dir;
  const std::string d = (dir.path() / "engine").string();
  expect_lost_report(
      run_cairn({"events", "send", d, "--name", "order/placed", "--id", "evt-1"}, "/dev/full"),
      kDoneUnreported, "events send");
  // The event is in the log: the same id again is a duplicate.
  const CliResult again =
      run_cairn({"events", "send", d, "--name", "order/placed", "--id", "evt-1", "--json"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(json::parse(again.out).at("duplicate"), true) << again.out;
}

TEST(LostReport, RunsCancelAndReplayExitFiveWhenTheyDidSomethingAndTwoWhenNot) {
  TempDir dir;
  const SampleRuns runs = write_sample_engine_dir(dir.path());
  const std::string d = dir.path().string();
  expect_lost_report(run_cairn({"runs", "cancel", d, std::to_string(runs.waiting)}, "/dev/full"),
                     kDoneUnreported, "runs cancel");
  const CliResult shown = run_cairn({"runs", "show", d, std::to_string(runs.waiting), "--json"});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_EQ(json::parse(shown.out).at("run").at("status"), "cancelled") << shown.out;
  // --function with no unfinished run left: nothing cancelled, so the lost report is a 2.
  expect_lost_report(run_cairn({"runs", "cancel", d, "--function", "approve"}, "/dev/full"), 2,
                     "runs cancel (nothing to cancel)");

  expect_lost_report(run_cairn({"runs", "replay", d, std::to_string(runs.failed)}, "/dev/full"),
                     kDoneUnreported, "runs replay");
  const CliResult listed = run_cairn({"runs", "list", d, "--function", "charge", "--json"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_EQ(json::parse(listed.out).at("runs").size(), 2u) << listed.out;  // the replay is queued
}

// A closed pipe is a failed write like a full disk: the tool must not die of SIGPIPE (exit 141 in
// a shell, no message) after it sent the event.
TEST(LostReport, AClosedPipeIsAFailedWriteNotASilentDeath) {
  TempDir dir;
  const std::string d = (dir.path() / "engine").string();
  const CliResult sent =
      run_cairn({"events", "send", d, "--name", "order/placed", "--id", "evt-1"}, kClosedPipe);
  EXPECT_EQ(sent.err_signal, 0) << "killed by signal " << sent.err_signal;
  EXPECT_EQ(sent.exit_code, kDoneUnreported) << sent.err;
  EXPECT_NE(sent.err.find("writing the output: Broken pipe"), std::string::npos) << sent.err;
  // A reader that changed nothing: 2, with the message.
  const CliResult dumped = run_cairn({"log", "dump", d + "/log"}, kClosedPipe);
  EXPECT_EQ(dumped.err_signal, 0) << "killed by signal " << dumped.err_signal;
  EXPECT_EQ(dumped.exit_code, 2) << dumped.err;
  EXPECT_NE(dumped.err.find("Broken pipe"), std::string::npos) << dumped.err;
}

TEST(LostReport, LogRecoverThatRepairedExitsFive) {
  TempDir dir;
  write_blob_log(dir.path(), 200, multi_segment_options());
  zero_last_nonzero_bytes(segment_files(dir.path()).back(), 100);
  expect_lost_report(run_cairn({"log", "recover", dir.path().string()}, "/dev/full"),
                     kDoneUnreported, "log recover");
  const CliResult verified = run_cairn({"log", "verify", dir.path().string()});
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
}

}  // namespace
}  // namespace cairn::testing
