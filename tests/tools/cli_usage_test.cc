// The cairn command line itself: useful help, and a clear message with exit 2 for anything it
// does not understand.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "cairn_cli.h"
#include "support/temp_dir.h"

namespace cairn::testing {
namespace {

TEST(CairnUsage, UnknownFlagExitsTwoNamingIt) {
  TempDir dir;
  const CliResult r = run_cairn({"log", "verify", dir.path().string(), "--frobnicate"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--frobnicate"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("cairn log verify --help"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST(CairnUsage, MissingDirectoryArgumentExitsTwo) {
  for (const char* cmd : {"verify", "dump", "stats"}) {
    const CliResult r = run_cairn({"log", cmd});
    EXPECT_EQ(r.exit_code, 2) << cmd;
    EXPECT_NE(r.err.find("DIR is required"), std::string::npos) << r.err;
  }
}

TEST(CairnUsage, RunAndEventCommandsNeedTheirDirectory) {
  for (const std::vector<std::string>& args : {std::vector<std::string>{"runs", "list"},
                                               {"runs", "show"},
                                               {"log", "export"},
                                               {"events", "send", "--name", "x"}}) {
    const CliResult r = run_cairn(args);
    EXPECT_EQ(r.exit_code, 2) << args[1];
    EXPECT_NE(r.err.find("DIR is required"), std::string::npos) << r.err;
  }
  TempDir dir;
  const CliResult r = run_cairn({"runs", "show", dir.path().string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("RUN_ID is required"), std::string::npos) << r.err;
}

TEST(CairnUsage, HelpDescribesTheRunAndEventCommands) {
  const CliResult root = run_cairn({"--help"});
  EXPECT_EQ(root.exit_code, 0);
  for (const char* group : {"runs", "events", "3 no such run"}) {
    EXPECT_NE(root.out.find(group), std::string::npos) << root.out;
  }
  struct Help {
    std::vector<std::string> command;
    std::vector<std::string> words;
  };
  const Help helps[] = {
      {{"runs", "--help"}, {"list", "show", "Exit status"}},
      {{"runs", "list", "--help"},
       {"--function", "--status", "--since", "--limit", "--before", "--json", "Exit status"}},
      {{"runs", "show", "--help"}, {"RUN_ID", "--at", "--json", "3 no such"}},
      {{"events", "--help"}, {"send"}},
      {{"events", "send", "--help"}, {"--name", "--data", "--id", "--json", "4 the engine"}},
      {{"log", "export", "--help"}, {"--from", "time", "Exit status"}},
      {{"serve", "--help"},
       {"Usage: cairn serve", "DIR", "--port", "--bind", "--token", "Exit status"}},
  };
  for (const Help& h : helps) {
    const CliResult r = run_cairn(h.command);
    EXPECT_EQ(r.exit_code, 0) << h.command[0] << " " << h.command[1];
    for (const std::string& w : h.words) {
      EXPECT_NE(r.out.find(w), std::string::npos) << w << " in " << r.out;
    }
  }
}

TEST(CairnUsage, MissingOrUnknownSubcommandExitsTwo) {
  EXPECT_EQ(run_cairn({}).exit_code, 2);
  EXPECT_EQ(run_cairn({"log"}).exit_code, 2);
  const CliResult r = run_cairn({"log", "frobnicate"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("frobnicate"), std::string::npos) << r.err;
}

TEST(CairnUsage, BadNumbersExitTwo) {
  TempDir dir;
  const std::string d = dir.path().string();
  EXPECT_EQ(run_cairn({"log", "dump", d, "--from", "-5"}).exit_code, 2);
  EXPECT_EQ(run_cairn({"log", "dump", d, "--from", "abc"}).exit_code, 2);
  EXPECT_EQ(run_cairn({"log", "dump", d, "--limit", "-1"}).exit_code, 2);
  EXPECT_EQ(run_cairn({"log", "verify", d, "--tail-window", "8 parsecs"}).exit_code, 2);
}

// CLI11 turned a number too large for 64 bits into 2^64 - 1 (`runs show DIR
// 99999999999999999999999` said "no run 18446744073709551615"; --at, --before and --from took it
// and went on): a usage error that names the option and the value instead.
TEST(CairnUsage, NumbersTooLargeFor64BitsExitTwoNamingOptionAndValue) {
  TempDir dir;
  const std::string d = dir.path().string();
  const std::string huge = "99999999999999999999999";
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"log", "dump", d, "--from", huge}, "--from"},
      {{"log", "export", d, "--from", huge}, "--from"},
      {{"log", "dump", d, "--limit", huge}, "--limit"},
      {{"log", "verify", d, "--tail-window", huge}, "--tail-window"},
      {{"runs", "show", d, huge}, "RUN_ID"},
      {{"runs", "show", d, "1", "--at", huge}, "--at"},
      {{"runs", "list", d, "--before", huge}, "--before"},
      {{"runs", "cancel", d, huge}, "RUN_ID"},
      {{"runs", "replay", d, huge}, "RUN_ID"},
  };
  for (const auto& [args, option] : cases) {
    const CliResult r = run_cairn(args);
    EXPECT_EQ(r.exit_code, 2) << args[1] << " " << option << ": " << r.err;
    EXPECT_NE(r.err.find(option + ": " + huge + " is too large"), std::string::npos) << r.err;
  }
  // The largest that fits is a number like any other (there is no such run: exit 2 for the
  // empty directory, not for the number).
  const CliResult max = run_cairn({"runs", "show", d, "18446744073709551615"});
  EXPECT_EQ(max.err.find("too large"), std::string::npos) << max.err;
}

TEST(CairnUsage, HelpDescribesTheCommands) {
  const CliResult root = run_cairn({"--help"});
  EXPECT_EQ(root.exit_code, 0);
  EXPECT_NE(root.out.find("log"), std::string::npos) << root.out;
  EXPECT_NE(root.out.find("Exit status"), std::string::npos) << root.out;
  const CliResult log = run_cairn({"log", "--help"});
  EXPECT_EQ(log.exit_code, 0);
  for (const char* cmd : {"verify", "dump", "stats"}) {
    EXPECT_NE(log.out.find(cmd), std::string::npos) << log.out;
  }
  const CliResult dump = run_cairn({"log", "dump", "--help"});
  EXPECT_EQ(dump.exit_code, 0);
  for (const char* opt : {"--from", "--json", "--limit", "--no-payload-check"}) {
    EXPECT_NE(dump.out.find(opt), std::string::npos) << dump.out;
  }
}

}  // namespace
}  // namespace cairn::testing
