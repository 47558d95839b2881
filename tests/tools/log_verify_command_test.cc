// `cairn log verify`: exit 0 and a summary for an intact log; exit 1 naming the kind of damage,
// the file, the offset and the LSN for a torn tail, a flipped bit and a missing segment; exit 2
// when there is no log to read.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "cairn_cli.h"
#include "fifo_watch.h"
#include "support/temp_dir.h"
#include "test_logs.h"

namespace cairn::testing {
namespace {

// `text` has a line "<label>   <value>" (the report's aligned key/value lines).
::testing::AssertionResult has_field(const std::string& text, const std::string& label,
                                     const std::string& value) {
  const std::regex line("(^|\n) +" + label + " +" + value + "(\n| )");
  if (std::regex_search(text, line)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "no line '" << label << " " << value << "' in:\n" << text;
}

class LogVerifyCommand : public ::testing::Test {
 protected:
  // About 4 MB of records: five 1 MiB segments.
  void write_multi_segment_log() {
    records_ = write_blob_log(dir_.path(), 6000, multi_segment_options());
    ASSERT_EQ(records_.size(), 6000u);
    ASSERT_GE(segment_files(dir_.path()).size(), 4u);
  }

  TempDir dir_;
  std::vector<WrittenRecord> records_;
};

TEST_F(LogVerifyCommand, IntactLogExitsZeroAndSummarizesIt) {
  write_multi_segment_log();
  const CliResult r = run_cairn({"log", "verify", dir_.path().string()});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("is intact"), std::string::npos) << r.out;
  EXPECT_TRUE(has_field(r.out, "records", "6000"));
  EXPECT_TRUE(has_field(r.out, "segments", std::to_string(segment_files(dir_.path()).size())));
  const WrittenRecord& last = records_.back();
  EXPECT_TRUE(has_field(r.out, "LSN",
                        "0 \\.\\. " + std::to_string(last.lsn + frame_bytes(last.payload_bytes))));
  EXPECT_NE(r.out.find("MB/s"), std::string::npos) << r.out;
  EXPECT_EQ(r.err, "");  // no progress line: stderr is not a terminal
}

TEST_F(LogVerifyCommand, IntactLogAsJson) {
  write_multi_segment_log();
  const CliResult r = run_cairn({"log", "verify", dir_.path().string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["intact"], true);
  EXPECT_EQ(j["records"], 6000);
  EXPECT_EQ(j["segments"], segment_files(dir_.path()).size());
  EXPECT_TRUE(j["damage"].is_null());
}

TEST_F(LogVerifyCommand, TornTailExitsOneNamingFileOffsetAndLsn) {
  write_multi_segment_log();
  const auto segments = segment_files(dir_.path());
  zero_last_nonzero_bytes(segments.back(), 100);
  // The last record was at least 200 bytes of data, so the damage is in it and nowhere else.
  const WrittenRecord& last = records_.back();
  const CliResult r = run_cairn({"log", "verify", dir_.path().string()});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("DAMAGED: torn tail"), std::string::npos) << r.out;
  EXPECT_TRUE(has_field(r.out, "file", segments.back().filename().string()));
  EXPECT_TRUE(has_field(r.out, "offset", std::to_string(last.offset)));
  EXPECT_TRUE(has_field(r.out, "LSN", std::to_string(last.lsn)));
  EXPECT_TRUE(has_field(r.out, "intact", std::to_string(records_.size() - 1) + " records"));
  // What it means: the unacknowledged end of a write, cut on open and kept in the quarantine.
  EXPECT_NE(r.out.find("unacknowledged"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find((dir_.path() / "quarantine").string()), std::string::npos) << r.out;
}

TEST_F(LogVerifyCommand, FlippedBitInFirstSegmentIsCorruption) {
  write_multi_segment_log();
  const auto segments = segment_files(dir_.path());
  // The first frame starts after the 4 KiB segment header; byte 17 is inside its LSN field.
  flip_bit(segments.front(), 4096 + 17, 3);
  const CliResult r = run_cairn({"log", "verify", dir_.path().string()});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("DAMAGED: corruption"), std::string::npos) << r.out;
  EXPECT_TRUE(has_field(r.out, "file", segments.front().filename().string()));
  EXPECT_TRUE(has_field(r.out, "offset", "4096"));
  EXPECT_TRUE(has_field(r.out, "LSN", "0"));
  EXPECT_NE(r.out.find("refuses to open"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("RecoveryMode::kPointInTime"), std::string::npos) << r.out;
}

TEST_F(LogVerifyCommand, FlippedBitAsJson) {
  write_multi_segment_log();
  flip_bit(segment_files(dir_.path()).front(), 4096 + 17, 3);
  const CliResult r = run_cairn({"log", "verify", "--json", dir_.path().string()});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["intact"], false);
  EXPECT_EQ(j["damage"]["kind"], "corruption");
  EXPECT_EQ(j["damage"]["offset"], 4096);
  EXPECT_EQ(j["damage"]["lsn"], 0);
  EXPECT_EQ(j["damage"]["records_before"], 0);
  EXPECT_EQ(j["damage"]["intact_end_lsn"], 0);
}

TEST_F(LogVerifyCommand, DeletedMiddleSegmentIsABrokenSequence) {
  write_multi_segment_log();
  const auto segments = segment_files(dir_.path());
  std::filesystem::remove(segments[1]);
  // The first record after the gap is the first one of the third segment.
  uint64_t third_seq = 0;
  log::Lsn third_first_lsn = 0;
  uint64_t records_in_first = 0;
  for (const WrittenRecord& w : records_) {
    if (w.segment_seq == 1) ++records_in_first;
    if (third_seq == 0 && w.segment_seq == 3) {
      third_seq = 3;
      third_first_lsn = w.lsn;
    }
  }
  ASSERT_EQ(third_seq, 3u);
  const CliResult r = run_cairn({"log", "verify", dir_.path().string()});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("DAMAGED: broken segment sequence"), std::string::npos) << r.out;
  EXPECT_TRUE(has_field(r.out, "file", segments[2].filename().string()));
  EXPECT_TRUE(has_field(r.out, "offset", "0"));
  EXPECT_TRUE(has_field(r.out, "LSN", std::to_string(third_first_lsn)));
  EXPECT_TRUE(has_field(r.out, "intact", std::to_string(records_in_first) + " records"));
  EXPECT_NE(r.out.find("missing"), std::string::npos) << r.out;
}

TEST_F(LogVerifyCommand, NoPayloadCheckStillChecksFrames) {
  write_multi_segment_log();
  EXPECT_EQ(run_cairn({"log", "verify", "--no-payload-check", dir_.path().string()}).exit_code, 0);
  flip_bit(segment_files(dir_.path()).front(), 4096 + 17, 3);
  EXPECT_EQ(run_cairn({"log", "verify", "--no-payload-check", dir_.path().string()}).exit_code, 1);
}

TEST_F(LogVerifyCommand, TailWindowDecidesBetweenTornTailAndCorruption) {
  write_multi_segment_log();
  const auto segments = segment_files(dir_.path());
  // Damage the first record of the last segment; the batches after it hold more than 512 KiB.
  const uint64_t last_seq = records_.back().segment_seq;
  const WrittenRecord* victim = nullptr;
  for (const WrittenRecord& w : records_) {
    if (w.segment_seq == last_seq) {
      victim = &w;
      break;
    }
  }
  ASSERT_NE(victim, nullptr);
  const WrittenRecord& last = records_.back();
  ASSERT_GT(last.lsn - victim->lsn, uint64_t{600} << 10);
  flip_bit(segments.back(), victim->offset + 17, 0);
  const auto with_window = [&](const std::string& window) {
    return run_cairn({"log", "verify", dir_.path().string(), "--tail-window", window});
  };
  // Within the default window (that of LogOptions{}: 2 x 4 MiB) this could be one torn write.
  const CliResult wide = with_window("8MiB");
  EXPECT_EQ(wide.exit_code, 1);
  EXPECT_NE(wide.out.find("DAMAGED: torn tail"), std::string::npos) << wide.out;
  // The window of the options the log was written with (2 x 256 KiB) says it cannot be.
  const CliResult narrow = with_window("512KiB");
  EXPECT_EQ(narrow.exit_code, 1);
  EXPECT_NE(narrow.out.find("DAMAGED: corruption"), std::string::npos) << narrow.out;
  EXPECT_TRUE(has_field(narrow.out, "offset", std::to_string(victim->offset)));
  EXPECT_TRUE(has_field(narrow.out, "LSN", std::to_string(victim->lsn)));
}

TEST(LogVerifyCommandPayloads, PayloadThatIsNotItsTableIsCorruptionUnlessNotChecked) {
  TempDir dir;
  const auto records = write_log_with_bad_payloads(dir.path());
  ASSERT_EQ(records.size(), 5u);
  const CliResult r = run_cairn({"log", "verify", dir.path().string()});
  EXPECT_EQ(r.exit_code, 1);
  // Its checksum is valid: it was written that way, so it cannot be a torn write.
  EXPECT_NE(r.out.find("DAMAGED: corruption"), std::string::npos) << r.out;
  EXPECT_TRUE(has_field(r.out, "LSN", std::to_string(records[1].lsn)));
  const CliResult unchecked =
      run_cairn({"log", "verify", "--no-payload-check", dir.path().string()});
  EXPECT_EQ(unchecked.exit_code, 0) << unchecked.out;
  EXPECT_TRUE(has_field(unchecked.out, "records", "5"));
}

TEST(LogVerifyCommandInput, MissingDirectoryExitsTwo) {
  TempDir dir;
  const CliResult r = run_cairn({"log", "verify", (dir / "nothing-here").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no such directory"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST(LogVerifyCommandInput, DirectoryWithoutSegmentsExitsTwo) {
  TempDir dir;
  const CliResult r = run_cairn({"log", "verify", dir.path().string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no log segments"), std::string::npos) << r.err;
}

// Every *.wal file is opened and read: one that is no regular file is refused up front, by name
// (a FIFO blocked `log verify` and `runs list` for good; a directory failed with "pread: Is a
// directory" and no file name).
TEST(LogVerifyCommandInput, SegmentNameThatIsNoRegularFileExitsTwoNamingIt) {
  TempDir root;
  const std::filesystem::path log = root / "log";
  write_blob_log(log, 20, multi_segment_options());
  const std::filesystem::path odd = log / "00000003-00000000000009999999.wal";
  ASSERT_EQ(::mkfifo(odd.c_str(), 0600), 0);
  {
    FifoWatch watch(odd);
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"log", "verify", log.string()},
          std::vector<std::string>{"log", "dump", log.string()},
          std::vector<std::string>{"runs", "list", root.path().string()}}) {
      const CliResult r = run_cairn(args);
      EXPECT_EQ(r.exit_code, 2) << args[1] << ": " << r.err;
      EXPECT_NE(r.err.find(odd.string() + " is named like a log segment but is a FIFO"),
                std::string::npos)
          << r.err;
    }
    EXPECT_FALSE(watch.opened()) << "a command opened the FIFO";
  }
  std::filesystem::remove(odd);
  std::filesystem::create_directory(odd);
  const CliResult r = run_cairn({"log", "verify", log.string()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find(odd.string() + " is named like a log segment but is a directory"),
            std::string::npos)
      << r.err;
}

// A report that cannot be written (a full disk, a closed pipe) is no report: exit 2 saying so, for
// every command that reads (they exited 0 or 1 as if it had been read).
TEST(LogVerifyCommandInput, OutputThatCannotBeWrittenExitsTwoSayingSo) {
  TempDir root;
  write_blob_log(root / "log", 20, multi_segment_options());
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"log", "verify", (root / "log").string()},
        std::vector<std::string>{"log", "verify", (root / "log").string(), "--json"},
        std::vector<std::string>{"log", "stats", (root / "log").string()},
        std::vector<std::string>{"log", "stats", (root / "log").string(), "--json"},
        std::vector<std::string>{"log", "recover", (root / "log").string()},
        std::vector<std::string>{"log", "dump", (root / "log").string()}}) {
    const CliResult r = run_cairn(args, "/dev/full");
    EXPECT_EQ(r.exit_code, 2) << args[1] << ": " << r.err;
    EXPECT_NE(r.err.find("writing the output: No space left on device"), std::string::npos)
        << args[1] << ": " << r.err;
  }
}

// An engine's directory given to a `log` command: it names the log directory to use instead.
TEST(LogVerifyCommandInput, EngineDirectoryNamesItsLog) {
  TempDir root;
  write_blob_log(root / "log", 20, multi_segment_options());
  for (const char* command : {"verify", "stats", "dump", "export", "recover"}) {
    const CliResult r = run_cairn({"log", command, root.path().string()});
    EXPECT_EQ(r.exit_code, 2) << command << ": " << r.err;
    EXPECT_NE(r.err.find("is an engine's directory"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("try " + (root / "log").string()), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace cairn::testing
