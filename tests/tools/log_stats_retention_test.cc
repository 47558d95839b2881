// `cairn log stats` on an engine's log says what retention keeps and why: the snapshots beside
// the log (LSN, size, unfinished runs, damage) and the reasons the log begins where it does —
// and reads them without changing anything.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "cairn_cli.h"
#include "engine_logs.h"
#include "support/file_text.h"
#include "support/temp_dir.h"

namespace cairn::testing {
namespace {

namespace fs = std::filesystem;

TEST(LogStatsRetention, NamesTheSnapshotsAndWhyTheLogIsKept) {
  TempDir dir;
  write_sample_engine_dir(dir.path());  // its shutdown writes a snapshot with the waiting run
  ASSERT_TRUE(fs::exists(dir / "snapshots"));
  std::ofstream(dir / "snapshots" / "snapshot-00000000000000000008.snap.tmp") << "half written";
  const CliResult r = run_cairn({"log", "stats", (dir / "log").string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  const nlohmann::json& kept = j.at("retention");
  ASSERT_TRUE(kept.is_object()) << r.out;
  ASSERT_GE(kept.at("snapshots").size(), 1u);
  const nlohmann::json& newest = kept.at("snapshots").at(0);
  EXPECT_TRUE(newest.at("problem").is_null()) << newest.dump();
  EXPECT_EQ(newest.at("unfinished_runs"), 1);  // the waiting run
  EXPECT_TRUE(newest.at("oldest_unfinished_run_lsn").is_number()) << newest.dump();
  // Its finished runs ended within the history window: the log stays from where they began.
  EXPECT_TRUE(newest.at("finished_within_window_lsn").is_number()) << newest.dump();
  EXPECT_EQ(newest.at("finished_floor_unknown"), false) << newest.dump();
  ASSERT_GE(kept.at("kept_because").size(), 3u);
  EXPECT_NE(kept.at("kept_because").dump().find("oldest unfinished run"), std::string::npos);
  EXPECT_NE(kept.at("kept_because").dump().find("finished within the history window"),
            std::string::npos)
      << kept.dump();
  // Read-only: the leftover of an interrupted write is still there.
  EXPECT_TRUE(fs::exists(dir / "snapshots" / "snapshot-00000000000000000008.snap.tmp"));

  // A damaged snapshot is named as such, in text too.
  const fs::path snap = dir / "snapshots" / newest.at("file").get<std::string>();
  fs::resize_file(snap, fs::file_size(snap) - 5);
  const CliResult t = run_cairn({"log", "stats", (dir / "log").string()});
  ASSERT_EQ(t.exit_code, 0) << t.err;
  EXPECT_NE(t.out.find("retention (snapshots in"), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("DAMAGED"), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("kept because"), std::string::npos) << t.out;
}

TEST(LogStatsRetention, NamesTheEnginesRetentionSettingsFromItsOptionsFile) {
  TempDir dir;
  write_sample_engine_dir(dir.path());
  const std::string options = (dir / "OPTIONS").string();
  CliResult r = run_cairn({"log", "stats", (dir / "log").string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json kept = nlohmann::json::parse(r.out).at("retention");
  EXPECT_EQ(kept.at("options_file"), options) << kept.dump();
  EXPECT_TRUE(kept.at("options_problem").is_null()) << kept.dump();
  EXPECT_EQ(kept.at("retention_on"), true);
  EXPECT_EQ(kept.at("history_window_ms"), 7 * 24 * 3600 * 1000ll);

  // Retention turned off by the application: the first reason says so.
  ASSERT_TRUE(replace_in_file(options, "retention = true", "retention = false"))
      << file_text(options);
  const std::string text = file_text(options);
  r = run_cairn({"log", "stats", (dir / "log").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("kept because:\n    - retention is off (retention = false in " + options +
                       "): the engine removes no segment"),
            std::string::npos)
      << r.out;

  // A damaged file is named, and the report is still made.
  write_file_text(options, "format = 1\nhistory_window_ms = soon\n");
  r = run_cairn({"log", "stats", (dir / "log").string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  kept = nlohmann::json::parse(r.out).at("retention");
  EXPECT_NE(kept.at("options_problem").get<std::string>().find("line 2: history_window_ms"),
            std::string::npos)
      << kept.dump();
  EXPECT_TRUE(kept.at("history_window_ms").is_null());
  EXPECT_NE(kept.at("kept_because").dump().find("does not read"), std::string::npos) << kept.dump();

  // No snapshot yet: the settings are still named.
  write_file_text(options, text);  // retention = false
  for (const fs::directory_entry& e : fs::directory_iterator(dir / "snapshots")) {
    fs::remove_all(e.path());
  }
  r = run_cairn({"log", "stats", (dir / "log").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("kept because:\n    - retention is off (retention = false in " + options +
                       "): the engine removes no segment\n    - no snapshot yet"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("history window"), std::string::npos) << r.out;
}

TEST(LogStatsRetention, AnEngineWithoutSnapshotsIsToldThatNothingLeavesItsLog) {
  TempDir dir;
  write_sample_engine_dir(dir.path());
  fs::remove_all(dir / "snapshots");
  ASSERT_TRUE(replace_in_file(dir / "OPTIONS", "snapshots = true", "snapshots = false"))
      << file_text(dir / "OPTIONS");
  const CliResult r = run_cairn({"log", "stats", (dir / "log").string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json kept = nlohmann::json::parse(r.out).at("retention");
  ASSERT_TRUE(kept.is_object()) << r.out;
  EXPECT_EQ(kept.at("snapshots_on"), false);
  EXPECT_EQ(kept.at("snapshots").size(), 0u);
  ASSERT_EQ(kept.at("kept_because").size(), 1u) << kept.dump();
  EXPECT_NE(kept.at("kept_because")
                .at(0)
                .get<std::string>()
                .find("snapshots are off (snapshots = false in " + (dir / "OPTIONS").string() +
                      "): retention runs after each snapshot, so the whole log is kept"),
            std::string::npos)
      << kept.dump();
}

TEST(LogStatsRetention, APlainLogHasNoRetentionSection) {
  TempDir dir;
  write_sample_engine_dir(dir.path());
  fs::remove_all(dir / "snapshots");
  fs::remove(dir / "OPTIONS");  // as an engine older than the file left it
  const CliResult r = run_cairn({"log", "stats", (dir / "log").string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(nlohmann::json::parse(r.out).at("retention").is_null()) << r.out;
}

}  // namespace
}  // namespace cairn::testing
