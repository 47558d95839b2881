// `cairn log recover`: an intact log needs nothing (exit 0, no change); a torn tail and a flipped
// bit in a middle segment are named by --dry-run, which changes no byte, and repaired without it:
// the damaged part is moved aside into LOGDIR/quarantine/ (the moved segments byte for byte), the
// output says where, and the log verifies intact with the records before the damage.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cairn/engine.h"
#include "cairn_cli.h"
#include "engine_logs.h"
#include "support/temp_dir.h"
#include "test_logs.h"

namespace cairn::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string file_bytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Every file under `dir` (relative path -> contents).
std::map<std::string, std::string> tree(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) out[fs::relative(e.path(), dir).string()] = file_bytes(e.path());
  }
  return out;
}

class LogRecoverCommand : public ::testing::Test {
 protected:
  // About 4 MB of records: five 1 MiB segments.
  void SetUp() override {
    records_ = write_blob_log(dir_.path(), 6000, multi_segment_options());
    ASSERT_EQ(records_.size(), 6000u);
    ASSERT_GE(segment_files(dir_.path()).size(), 4u);
  }
  CliResult recover(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"log", "recover", dir_.path().string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_cairn(args);
  }
  // Segments but the last whose last record ends before the file does (where records end varies
  // from run to run, and one may fill its segment): their index in segment_files() and that end.
  std::vector<std::pair<size_t, uint64_t>> segments_with_zeros_after_their_records() {
    const auto segments = segment_files(dir_.path());
    std::vector<std::pair<size_t, uint64_t>> out;
    for (size_t i = 0; i + 1 < segments.size(); ++i) {
      uint64_t end = 0;
      for (const WrittenRecord& w : records_) {
        if (w.segment_seq == i + 1) end = w.offset + frame_bytes(w.payload_bytes);
      }
      if (end > 0 && end < fs::file_size(segments[i])) out.emplace_back(i, end);
    }
    return out;
  }
  json verify_json() {
    const CliResult r = run_cairn({"log", "verify", dir_.path().string(), "--json"});
    return json::parse(r.out, nullptr, false);
  }

  TempDir dir_;
  std::vector<WrittenRecord> records_;
};

TEST_F(LogRecoverCommand, IntactLogNeedsNothing) {
  const auto before = tree(dir_.path());
  CliResult r = recover({"--dry-run"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("is intact: nothing to repair"), std::string::npos) << r.out;
  r = recover();
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("is intact: nothing to repair"), std::string::npos) << r.out;
  r = recover({"--json"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["intact_before"], true);
  EXPECT_EQ(j["repaired"], false);
  EXPECT_EQ(j["records"], 6000);
  EXPECT_EQ(tree(dir_.path()), before);
  EXPECT_FALSE(fs::exists(dir_.path() / "quarantine"));
}

TEST_F(LogRecoverCommand, TornTailDryRunNamesItAndTheRepairCutsIt) {
  const auto segments = segment_files(dir_.path());
  zero_last_nonzero_bytes(segments.back(), 100);
  const WrittenRecord& last = records_.back();
  const auto before = tree(dir_.path());

  const CliResult dry = recover({"--dry-run"});
  EXPECT_EQ(dry.exit_code, 1) << dry.out << dry.err;
  EXPECT_NE(dry.out.find("DAMAGED: torn tail"), std::string::npos) << dry.out;
  EXPECT_NE(dry.out.find("cut       " + segments.back().filename().string() + " from offset " +
                         std::to_string(last.offset)),
            std::string::npos)
      << dry.out;
  EXPECT_NE(dry.out.find("Nothing was changed"), std::string::npos) << dry.out;
  EXPECT_EQ(tree(dir_.path()), before);  // not a byte

  const CliResult r = recover();
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("was DAMAGED: torn tail"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("is intact now: 5999 records"), std::string::npos) << r.out;
  const fs::path copy =
      dir_.path() / "quarantine" /
      (segments.back().filename().string() + ".at-" + std::to_string(last.offset) + ".torn");
  EXPECT_TRUE(fs::exists(copy)) << r.out;
  EXPECT_NE(r.out.find(copy.string()), std::string::npos) << r.out;
  const json v = verify_json();
  EXPECT_EQ(v["intact"], true) << v;
  EXPECT_EQ(v["records"], 5999);
  EXPECT_EQ(v["end_lsn"], last.lsn);
}

TEST_F(LogRecoverCommand, FlippedBitInAMiddleSegmentIsMovedAsideToTheQuarantine) {
  const auto segments = segment_files(dir_.path());
  // The first record of the second segment: every record from it on leaves the log.
  const WrittenRecord* victim = nullptr;
  size_t kept = 0;
  for (const WrittenRecord& w : records_) {
    if (w.segment_seq == 2) {
      victim = &w;
      break;
    }
    ++kept;
  }
  ASSERT_NE(victim, nullptr);
  flip_bit(segments[1], victim->offset + 17, 3);
  const auto before = tree(dir_.path());

  const CliResult dry = recover({"--dry-run", "--json"});
  EXPECT_EQ(dry.exit_code, 1) << dry.out << dry.err;
  const json d = json::parse(dry.out);
  EXPECT_EQ(d["damage"]["kind"], "corruption");
  EXPECT_EQ(d["damage"]["file"], segments[1].filename().string());
  EXPECT_EQ(d["damage"]["offset"], victim->offset);
  EXPECT_EQ(d["damage"]["lsn"], victim->lsn);
  EXPECT_EQ(d["plan"]["cut"]["file"], segments[1].filename().string());
  EXPECT_EQ(d["plan"]["cut"]["offset"], victim->offset);
  ASSERT_EQ(d["plan"]["move"].size(), segments.size() - 2) << d;
  EXPECT_EQ(d["plan"]["move"][0]["file"], segments[2].filename().string());
  EXPECT_EQ(d["plan"]["records_kept"], kept);
  EXPECT_EQ(d["plan"]["end_lsn"], victim->lsn);
  EXPECT_EQ(d["repaired"], false);
  const CliResult dry_text = recover({"--dry-run"});
  EXPECT_EQ(dry_text.exit_code, 1);
  EXPECT_NE(dry_text.out.find("DAMAGED: corruption"), std::string::npos) << dry_text.out;
  EXPECT_NE(dry_text.out.find("move      " + segments[2].filename().string()), std::string::npos)
      << dry_text.out;
  EXPECT_EQ(tree(dir_.path()), before);  // not a byte

  const CliResult r = recover();
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("was DAMAGED: corruption"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("moved aside into " + (dir_.path() / "quarantine").string()),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("is intact now: " + std::to_string(kept) + " records"), std::string::npos)
      << r.out;
  // The later segments are in the quarantine, byte for byte; the damaged one's end is copied.
  for (size_t i = 2; i < segments.size(); ++i) {
    const fs::path moved = dir_.path() / "quarantine" / segments[i].filename();
    EXPECT_FALSE(fs::exists(segments[i]));
    ASSERT_TRUE(fs::exists(moved)) << moved;
    EXPECT_EQ(file_bytes(moved), before.at(segments[i].filename().string()));
    EXPECT_NE(r.out.find(moved.string()), std::string::npos) << r.out;
  }
  const fs::path copy =
      dir_.path() / "quarantine" /
      (segments[1].filename().string() + ".at-" + std::to_string(victim->offset) + ".damaged");
  ASSERT_TRUE(fs::exists(copy)) << r.out;
  // The copy starts with the damaged frame as it was.
  const std::string& original = before.at(segments[1].filename().string());
  const std::string copied = file_bytes(copy);
  ASSERT_GT(copied.size(), 64u);
  EXPECT_EQ(copied.substr(0, 64), original.substr(victim->offset, 64));

  const json v = verify_json();
  EXPECT_EQ(v["intact"], true) << v;
  EXPECT_EQ(v["records"], kept);
  EXPECT_EQ(v["end_lsn"], victim->lsn);
  // Nothing more to do.
  EXPECT_EQ(recover().exit_code, 0);
}

// Past segment 99,999,999 the names widen (100000000-....wal), so name order as text is no longer
// sequence order. A flipped bit just before the ninth digit moves aside every later segment, the
// wide ones too: a plan in text order took 100000000 and on for earlier segments and left them.
TEST(LogRecoverCommandWideNames, AFlippedBitBeforeTheNinthDigitMovesAsideEverySegmentAfterIt) {
  TempDir dir;
  start_log_at_segment(dir.path(), 99'999'998, multi_segment_options());
  const std::vector<WrittenRecord> records =
      write_blob_log(dir.path(), 6000, multi_segment_options());
  ASSERT_EQ(records.size(), 6000u);
  const auto segments = segment_files(dir.path());
  ASSERT_GE(segments.size(), 4u);
  ASSERT_TRUE(segments[1].filename().string().starts_with("99999999-")) << segments[1];
  ASSERT_TRUE(segments[2].filename().string().starts_with("100000000-")) << segments[2];
  const WrittenRecord* victim = nullptr;
  size_t kept = 0;
  for (const WrittenRecord& w : records) {
    if (w.segment_seq == 99'999'999) {
      victim = &w;
      break;
    }
    ++kept;
  }
  ASSERT_NE(victim, nullptr);
  flip_bit(segments[1], victim->offset + 17, 3);

  const CliResult dry = run_cairn({"log", "recover", dir.path().string(), "--dry-run", "--json"});
  EXPECT_EQ(dry.exit_code, 1) << dry.out << dry.err;
  const json d = json::parse(dry.out, nullptr, false);
  ASSERT_FALSE(d.is_discarded()) << dry.out;
  EXPECT_EQ(d["plan"]["cut"]["file"], segments[1].filename().string());
  ASSERT_EQ(d["plan"]["move"].size(), segments.size() - 2) << d;
  for (size_t i = 2; i < segments.size(); ++i) {
    EXPECT_EQ(d["plan"]["move"][i - 2]["file"], segments[i].filename().string()) << d;
  }

  const CliResult r = run_cairn({"log", "recover", dir.path().string()});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  for (size_t i = 2; i < segments.size(); ++i) {
    EXPECT_FALSE(fs::exists(segments[i])) << segments[i];
    EXPECT_TRUE(fs::exists(dir.path() / "quarantine" / segments[i].filename())) << segments[i];
  }
  const CliResult v = run_cairn({"log", "verify", dir.path().string(), "--json"});
  const json vj = json::parse(v.out, nullptr, false);
  EXPECT_EQ(vj["intact"], true) << v.out;
  EXPECT_EQ(vj["records"], kept);
  EXPECT_EQ(vj["end_lsn"], victim->lsn);
}

// Batches start on a block boundary: a bad frame that begins a batch follows zeros, and the
// repair cuts after the last intact frame, before them. The dry run's plan names the same offset
// and the same quarantine file as the repair then makes.
TEST_F(LogRecoverCommand, DryRunPlanCutsWhereTheRepairCuts) {
  const auto segments = segment_files(dir_.path());
  // A record of the second segment that does not start where the one before it ends.
  const WrittenRecord* victim = nullptr;
  uint64_t intact_end = 0;
  for (size_t i = 1; i < records_.size() && victim == nullptr; ++i) {
    const WrittenRecord& prev = records_[i - 1];
    const uint64_t prev_end = prev.offset + frame_bytes(prev.payload_bytes);
    if (records_[i].segment_seq == 2 && prev.segment_seq == 2 && records_[i].offset > prev_end) {
      victim = &records_[i];
      intact_end = prev_end;
    }
  }
  ASSERT_NE(victim, nullptr) << "no record after padding in the second segment";
  flip_bit(segments[1], victim->offset + 17, 3);

  const CliResult dry = recover({"--dry-run", "--json"});
  EXPECT_EQ(dry.exit_code, 1) << dry.out << dry.err;
  const json d = json::parse(dry.out);
  EXPECT_EQ(d["damage"]["offset"], victim->offset);
  EXPECT_EQ(d["plan"]["cut"]["offset"], intact_end) << d;
  const std::string copy_to = d["plan"]["cut"]["copy_to"];
  EXPECT_TRUE(copy_to.ends_with(".at-" + std::to_string(intact_end) + ".damaged")) << copy_to;
  const CliResult dry_text = recover({"--dry-run"});
  EXPECT_NE(dry_text.out.find("from offset " + std::to_string(intact_end)), std::string::npos)
      << dry_text.out;
  EXPECT_EQ(dry_text.out.find("from offset " + std::to_string(victim->offset)), std::string::npos)
      << dry_text.out;

  const CliResult r = recover({"--json"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  const json j = json::parse(r.out);
  const std::vector<std::string> quarantined = j["quarantined_files"];
  EXPECT_NE(std::find(quarantined.begin(), quarantined.end(), copy_to), quarantined.end())
      << j["quarantined_files"] << " has no " << copy_to;
  ASSERT_TRUE(fs::exists(copy_to));
  const uint64_t planned = d["plan"]["cut"]["bytes"];
  const uint64_t copied = fs::file_size(copy_to);
  EXPECT_LE(copied, planned);
  EXPECT_GT(copied + 4096, planned);  // "about": the plan counts to the end of the data
}

// A segment file something cut short (here right after its last record, in the zeros before the
// next segment): verify names the cut and says no record is missing, the plan only writes the file
// back to its size, and the repair keeps every record of every segment.
TEST_F(LogRecoverCommand, ASegmentCutAfterItsLastRecordIsWrittenBackKeepingEveryRecord) {
  const auto candidates = segments_with_zeros_after_their_records();
  ASSERT_FALSE(candidates.empty()) << "every segment's last record fills it";
  const auto [index, end] = candidates.front();
  const std::vector<fs::path> all = segment_files(dir_.path());
  const fs::path segment = all[index];
  const uint64_t full = fs::file_size(segment);
  fs::resize_file(segment, end);

  const json v = verify_json();
  EXPECT_EQ(v["intact"], false) << v;
  EXPECT_EQ(v["damage"]["size_only"], true) << v;
  EXPECT_EQ(v["damage"]["offset"], end) << v;
  EXPECT_EQ(v["damage"]["records_after"], 0) << v;
  EXPECT_EQ(v["damage"]["records_before"], 6000) << v;
  const CliResult dry = recover({"--dry-run"});
  EXPECT_EQ(dry.exit_code, 1) << dry.out << dry.err;
  EXPECT_NE(dry.out.find("none of its records is missing"), std::string::npos) << dry.out;
  EXPECT_NE(dry.out.find("restore   " + segment.filename().string() +
                         " to the size its header names: zeros from byte " + std::to_string(end) +
                         " to " + std::to_string(full)),
            std::string::npos)
      << dry.out;
  EXPECT_EQ(dry.out.find("move      "), std::string::npos) << dry.out;
  EXPECT_EQ(dry.out.find("leave     "), std::string::npos) << dry.out;

  const CliResult r = recover({"--json"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["restored_files"], json::array({segment.filename().string()})) << j;
  EXPECT_EQ(j["quarantined_files"], json::array()) << j;
  EXPECT_EQ(j["intact_after"], true) << j;
  EXPECT_EQ(j["records"], 6000) << j;
  EXPECT_EQ(fs::file_size(segment), full);
}

// The last segment cut inside a record: the records before the cut stay, the cut record's bytes
// that were left go to the quarantine, and the file gets its size back so the log can go on in it.
TEST_F(LogRecoverCommand, TheLastSegmentCutInsideARecordKeepsTheRecordsBeforeIt) {
  const auto segments = segment_files(dir_.path());
  const size_t victim = records_.size() - 40;
  const WrittenRecord& w = records_[victim];
  ASSERT_EQ(w.segment_seq, segments.size());
  const uint64_t full = fs::file_size(segments.back());
  const std::string left = file_bytes(segments.back()).substr(w.offset, 50);
  fs::resize_file(segments.back(), w.offset + 50);

  const CliResult dry = recover({"--dry-run"});
  EXPECT_EQ(dry.exit_code, 1) << dry.out << dry.err;
  EXPECT_NE(dry.out.find("cut short"), std::string::npos) << dry.out;
  EXPECT_NE(dry.out.find("cut       " + segments.back().filename().string() + " from offset " +
                         std::to_string(w.offset)),
            std::string::npos)
      << dry.out;
  EXPECT_NE(dry.out.find("restore   "), std::string::npos) << dry.out;

  const CliResult r = recover();
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("is intact now: " + std::to_string(victim) + " records"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("written back with zeros to a size the log can fill"), std::string::npos)
      << r.out;
  EXPECT_EQ(fs::file_size(segments.back()), full);
  // Up to the last byte that is not zero.
  const std::string copied = file_bytes(
      dir_.path() / "quarantine" /
      (segments.back().filename().string() + ".at-" + std::to_string(w.offset) + ".damaged"));
  EXPECT_GT(copied.size(), 40u);
  EXPECT_EQ(copied, left.substr(0, copied.size()));
  EXPECT_EQ(left.find_first_not_of('\0', copied.size()), std::string::npos);
}

// A last segment cut to 0 bytes (a copy that stopped at once): the plan copies nothing, says the
// file grows to a size a log makes, and the repair keeps every record before it.
TEST_F(LogRecoverCommand, ALastSegmentCutToNothingIsGrownToASizeALogMakes) {
  const auto segments = segment_files(dir_.path());
  size_t before = 0;
  for (const WrittenRecord& w : records_) before += w.segment_seq < segments.size() ? 1 : 0;
  fs::resize_file(segments.back(), 0);

  const CliResult dry = recover({"--dry-run"});
  EXPECT_EQ(dry.exit_code, 1) << dry.out << dry.err;
  EXPECT_NE(dry.out.find("nothing to copy"), std::string::npos) << dry.out;
  EXPECT_NE(dry.out.find("restore   " + segments.back().filename().string() +
                         ": zeros from byte 0 on, up to a size a log makes"),
            std::string::npos)
      << dry.out;
  const CliResult r = recover({"--json"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["plan"]["restore"]["from_bytes"], 0) << j;
  EXPECT_EQ(j["restored_files"], json::array({segments.back().filename().string()})) << j;
  EXPECT_EQ(j["intact_after"], true) << j;
  EXPECT_EQ(j["records"], before) << j;
  EXPECT_GE(fs::file_size(segments.back()), 8192u);
  EXPECT_EQ(fs::file_size(segments.back()) % 4096, 0u);
}

// Two segments each cut right after their last record: the first names no damage after it (the
// second is restored the same way), so every claim is that every record stays, and it does.
TEST_F(LogRecoverCommand, TwoSegmentsCutAfterTheirLastRecordsKeepEveryRecord) {
  const auto segments = segment_files(dir_.path());
  const auto candidates = segments_with_zeros_after_their_records();
  ASSERT_GE(candidates.size(), 2u) << "the last records fill their segments";
  for (size_t k = 0; k < 2; ++k)
    fs::resize_file(segments[candidates[k].first], candidates[k].second);
  const json v = verify_json();
  EXPECT_EQ(v["damage"]["size_only"], true) << v;
  EXPECT_EQ(v["damage"]["damage_after"], nullptr) << v;
  EXPECT_EQ(v["damage"]["records_before"], 6000) << v;
  const CliResult r = recover();
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("keeping every record"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("is intact now: 6000 records"), std::string::npos) << r.out;
}

// An engine's log (LOGDIR/../snapshots exists): snapshot names are read as the engine reads them,
// so a stray name whose number does not fit in 64 bits is no snapshot (it made the command die
// with "stoull"). A real snapshot above the damage makes it corruption (those records were
// durable), which Log::open, not knowing the snapshots, still cuts as a torn tail: the plan names
// the copy as the repair will.
TEST(LogRecoverCommandSnapshots, StrayNamesAreNoSnapshotsAndTheRealOnesCount) {
  TempDir root;
  const fs::path log = root / "log";
  const std::vector<WrittenRecord> records = write_blob_log(log, 3000, multi_segment_options());
  ASSERT_EQ(records.size(), 3000u);
  zero_last_nonzero_bytes(segment_files(log).back(), 100);
  const fs::path snapshots = root / "snapshots";
  fs::create_directories(snapshots / "quarantine");
  const log::Lsn beyond = records.back().lsn + 1000;
  char valid[64];
  std::snprintf(valid, sizeof valid, "snapshot-%020llu.snap",
                static_cast<unsigned long long>(beyond));
  for (const std::string& name : {std::string("snapshot-99999999999999999999999.snap"),
                                  std::string("snapshot-99999999999999999999.snap"),
                                  std::string("snapshot-00000000000000000001.snap.tmp")}) {
    std::ofstream(snapshots / name) << "not checked";
  }
  // The engine's own snapshot, damaged after its magic: its name still proves the records before
  // it durable. A file by a snapshot's name that does not begin as one proves nothing.
  std::ofstream(snapshots / valid) << "CAIRNSNP, then damaged";
  char stray[64];
  std::snprintf(stray, sizeof stray, "snapshot-%020llu.snap",
                static_cast<unsigned long long>(beyond + 1000));
  std::ofstream(snapshots / stray) << "not a snapshot at all";
  std::ofstream(snapshots / "quarantine" / "snapshot-09999999999999999999.snap") << "set aside";

  const CliResult dry = run_cairn({"log", "recover", log.string(), "--dry-run", "--json"});
  EXPECT_EQ(dry.exit_code, 1) << dry.out << dry.err;
  EXPECT_EQ(dry.err, "");
  const json d = json::parse(dry.out, nullptr, false);
  ASSERT_FALSE(d.is_discarded()) << dry.out;
  EXPECT_EQ(d["damage"]["kind"], "corruption") << d["damage"];
  // Both names lie past what the repair keeps: the engine moves both aside at its next start.
  ASSERT_EQ(d["stale_snapshots"].size(), 2u) << d["stale_snapshots"];
  EXPECT_TRUE(d["stale_snapshots"][1].get<std::string>().ends_with("/" + std::string(stray)));
  EXPECT_TRUE(d["stale_snapshots"][0].get<std::string>().ends_with("/" + std::string(valid)));
  const std::string copy_to = d["plan"]["cut"]["copy_to"];
  EXPECT_TRUE(copy_to.ends_with(".torn")) << copy_to;
  const CliResult dry_text = run_cairn({"log", "recover", log.string(), "--dry-run"});
  EXPECT_EQ(dry_text.exit_code, 1) << dry_text.err;
  EXPECT_EQ(dry_text.out.find("loses nothing that was acknowledged"), std::string::npos)
      << dry_text.out;
  EXPECT_NE(dry_text.out.find("named .torn"), std::string::npos) << dry_text.out;

  const CliResult r = run_cairn({"log", "recover", log.string(), "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  const json j = json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_EQ(j["quarantined_files"], json::array({copy_to}));
  EXPECT_EQ(j["intact_after"], true);
}

// Damage before the engine's newest snapshot: the engine starts from that snapshot and reads only
// the log after it, so it opens the log as it is. The tools said it refused, and pointed to a
// repair that would have cut every record after the damage; the repair now refuses unless
// --force, and the report says the engine opens it.
TEST(LogRecoverCommandSnapshots, DamageBeforeTheNewestSnapshotIsNotRepairedUnlessForced) {
  TempDir dir;
  write_sample_engine_dir(dir.path());  // its shutdown wrote a snapshot of the whole log
  const fs::path log_dir = dir.path() / "log";
  const CliResult dumped = run_cairn({"log", "dump", "--json", log_dir.string()});
  ASSERT_EQ(dumped.exit_code, 0) << dumped.err;
  const std::vector<std::string> lines = split_lines(dumped.out);
  ASSERT_GT(lines.size(), 6u);
  const json victim = json::parse(lines[3]);  // a record in the middle of the first segment
  ASSERT_EQ(victim["segment"], 1) << victim;
  fs::path segment;
  for (const auto& e : fs::directory_iterator(log_dir)) {
    if (e.path().filename().string().starts_with("00000001-")) segment = e.path();
  }
  ASSERT_FALSE(segment.empty());
  flip_bit(segment, victim["offset"].get<uint64_t>() + 40, 0);

  const CliResult verified = run_cairn({"log", "verify", "--json", log_dir.string()});
  ASSERT_EQ(verified.exit_code, 1) << verified.err << verified.out;
  const json damage = json::parse(verified.out)["damage"];
  EXPECT_EQ(damage["lsn"], victim["lsn"]) << damage;
  EXPECT_EQ(damage["engine_opens"], true) << damage;
  EXPECT_TRUE(damage["engine_snapshot"].get<std::string>().ends_with(".snap")) << damage;

  const std::map<std::string, std::string> before = tree(dir.path());
  const CliResult refused = run_cairn({"log", "recover", log_dir.string()});
  EXPECT_EQ(refused.exit_code, 2) << refused.err << refused.out;
  EXPECT_NE(refused.err.find("opens it as it is"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("--force"), std::string::npos) << refused.err;
  EXPECT_EQ(tree(dir.path()), before) << "nothing may change";

  // What the report says holds: the application's engine starts.
  {
    auto engine = Engine::create(sample_engine_options(dir.path()));
    register_sample_functions(*engine);
    const Status started = engine->start();
    ASSERT_TRUE(started.ok()) << started.to_string();
    ASSERT_TRUE(engine->shutdown().ok());
  }

  const CliResult forced = run_cairn({"log", "recover", "--force", log_dir.string()});
  EXPECT_EQ(forced.exit_code, 0) << forced.err << forced.out;
}

TEST(LogRecoverCommandInput, HelpNamesItsOptionsAndExitCodes) {
  const CliResult r = run_cairn({"log", "recover", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* w : {"--dry-run", "--json", "quarantine", "kPointInTime", "Exit status"}) {
    EXPECT_NE(r.out.find(w), std::string::npos) << w << " in " << r.out;
  }
  EXPECT_NE(run_cairn({"log", "--help"}).out.find("recover"), std::string::npos);
}

TEST(LogRecoverCommandInput, MissingDirectoryExitsTwo) {
  TempDir dir;
  const CliResult r = run_cairn({"log", "recover", (dir / "nothing-here").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no such directory"), std::string::npos) << r.err;
  EXPECT_EQ(run_cairn({"log", "recover", dir.path().string(), "--dry-run"}).exit_code, 2);
}

}  // namespace
}  // namespace cairn::testing
