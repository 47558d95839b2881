// `cairn log stats`: per-segment lines, records and bytes by record type and totals that match
// what was written; damage is reported with exit 1, like `cairn log verify`.
#include <gtest/gtest.h>

#include <map>

#include <nlohmann/json.hpp>

#include "cairn_cli.h"
#include "sample_records.h"
#include "support/blob_records.h"
#include "support/temp_dir.h"
#include "test_logs.h"

namespace cairn::testing {
namespace {

using nlohmann::json;

class LogStatsCommand : public ::testing::Test {
 protected:
  // 5000 Blob records with every engine record type sprinkled in (one of each per 500 blobs).
  void SetUp() override {
    std::vector<Payload> payloads;
    const auto samples = sample_record_of_each_type("stats", false);
    for (uint64_t seq = 0; seq < 5000; ++seq) {
      payloads.emplace_back(kBlobType, test_blob(1, seq));
      if (seq % 500 == 0) {
        for (const SampleRecord& s : samples) payloads.emplace_back(s.type, s.payload);
      }
    }
    records_ = write_log(dir_.path(), payloads, multi_segment_options());
    ASSERT_EQ(records_.size(), payloads.size());
    for (const WrittenRecord& w : records_) {
      expected_by_type_[w.type].first += 1;
      expected_by_type_[w.type].second += frame_bytes(w.payload_bytes);
      expected_by_segment_[w.segment_seq] += 1;
    }
  }

  TempDir dir_;
  std::vector<WrittenRecord> records_;
  std::map<log::RecordType, std::pair<uint64_t, uint64_t>> expected_by_type_;  // records, bytes
  std::map<uint64_t, uint64_t> expected_by_segment_;                           // seq -> records
};

TEST_F(LogStatsCommand, JsonCountsMatchWhatWasWritten) {
  const CliResult r = run_cairn({"log", "stats", "--json", dir_.path().string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["intact"], true);
  EXPECT_EQ(j["records"], records_.size());
  uint64_t total_bytes = 0;
  for (const auto& [type, count] : expected_by_type_) total_bytes += count.second;
  EXPECT_EQ(j["frame_bytes"], total_bytes);
  EXPECT_EQ(j["first_lsn"], 0);
  EXPECT_EQ(j["end_lsn"], total_bytes);  // LSNs count frame bytes from 0

  ASSERT_EQ(j["segments"].size(), segment_files(dir_.path()).size());
  ASSERT_GE(j["segments"].size(), 3u);
  for (const json& seg : j["segments"]) {
    EXPECT_EQ(seg["records"], expected_by_segment_[seg["seq"].get<uint64_t>()]) << seg;
  }
  ASSERT_EQ(j["by_type"].size(), expected_by_type_.size());
  for (const json& t : j["by_type"]) {
    const auto type = t["type_id"].get<log::RecordType>();
    EXPECT_EQ(t["records"], expected_by_type_[type].first) << t;
    EXPECT_EQ(t["bytes"], expected_by_type_[type].second) << t;
    EXPECT_TRUE(t["type"].is_string()) << t;
  }
}

TEST_F(LogStatsCommand, TextListsSegmentsTypesAndTotals) {
  const CliResult r = run_cairn({"log", "stats", dir_.path().string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const auto& file : segment_files(dir_.path())) {
    EXPECT_NE(r.out.find(file.filename().string()), std::string::npos) << r.out;
  }
  EXPECT_NE(r.out.find("Blob (100)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("StepCompleted (3)"), std::string::npos) << r.out;
  // Appended, not `" " + std::to_string(..) + " "`: GCC 12 warns (-Wstringop-overflow) on the
  // inlined insert of that form.
  std::string blob_count(" ");
  blob_count += std::to_string(expected_by_type_[kBlobType].first);
  blob_count += ' ';
  EXPECT_NE(r.out.find(blob_count), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("records   " + std::to_string(records_.size())), std::string::npos) << r.out;
}

TEST_F(LogStatsCommand, DamageIsReportedWithExitOne) {
  flip_bit(segment_files(dir_.path()).front(), 4096 + 17, 1);
  const CliResult text = run_cairn({"log", "stats", dir_.path().string()});
  EXPECT_EQ(text.exit_code, 1);
  EXPECT_NE(text.out.find("DAMAGED: corruption"), std::string::npos) << text.out;
  const CliResult j = run_cairn({"log", "stats", "--json", dir_.path().string()});
  EXPECT_EQ(j.exit_code, 1);
  const json parsed = json::parse(j.out);
  EXPECT_EQ(parsed["intact"], false);
  EXPECT_EQ(parsed["damage"]["offset"], 4096);
}

}  // namespace
}  // namespace cairn::testing
