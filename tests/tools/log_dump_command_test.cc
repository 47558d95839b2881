// `cairn log dump`: exactly the appended records, in LSN order, from --from on, as text or JSON
// lines whose payload is the record's table; at damage, the records before it and exit 1.
#include <gtest/gtest.h>

#include <regex>

#include <nlohmann/json.hpp>

#include "cairn_cli.h"
#include "sample_records.h"
#include "support/blob_records.h"
#include "support/temp_dir.h"
#include "test_logs.h"

namespace cairn::testing {
namespace {

using nlohmann::json;

// The LSN of a text line "lsn=<n> ...", or kNoLsn.
log::Lsn lsn_of(const std::string& line) {
  std::smatch m;
  static const std::regex kLsn("^lsn=([0-9]+) ");
  if (!std::regex_search(line, m, kLsn)) return log::kNoLsn;
  return std::stoull(m[1]);
}

class LogDumpCommand : public ::testing::Test {
 protected:
  // 14000 small records fill two 1 MiB segments. Small, because rendering a payload costs about
  // half a microsecond per data byte (payload_to_json) and these tests dump the whole log.
  void SetUp() override {
    records_ = write_blob_log(dir_.path(), kRecords, multi_segment_options(), kSizes);
    ASSERT_EQ(records_.size(), kRecords);
  }
  static constexpr size_t kRecords = 14000;
  static constexpr BlobSizes kSizes{.min = 8, .spread = 24};

  CliResult dump(std::vector<std::string> extra) {
    std::vector<std::string> args = {"log", "dump", dir_.path().string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_cairn(args);
  }

  TempDir dir_;
  std::vector<WrittenRecord> records_;
};

TEST_F(LogDumpCommand, PrintsExactlyTheAppendedRecordsInOrder) {
  const CliResult r = dump({});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto lines = split_lines(r.out);
  ASSERT_EQ(lines.size(), records_.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    const WrittenRecord& w = records_[i];
    const std::string prefix =
        "lsn=" + std::to_string(w.lsn) + " type=Blob bytes=" + std::to_string(w.payload_bytes) +
        " segment=" + std::to_string(w.segment_seq) + " offset=" + std::to_string(w.offset) + " {";
    ASSERT_EQ(lines[i].substr(0, prefix.size()), prefix) << "line " << i;
    // Every field, also one FlatBuffers did not store because it holds its default (seq 0).
    ASSERT_NE(lines[i].find("\"seq\":" + std::to_string(w.seq) + ","), std::string::npos)
        << lines[i];
  }
  EXPECT_GT(records_.back().segment_seq, 1u);  // the dump crossed segments
}

TEST_F(LogDumpCommand, FromStartsAtThatRecordOrTheNextOne) {
  const size_t k = kRecords / 3;
  CliResult r = dump({"--from", std::to_string(records_[k].lsn)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto lines = split_lines(r.out);
  ASSERT_EQ(lines.size(), records_.size() - k);
  EXPECT_EQ(lsn_of(lines.front()), records_[k].lsn);
  EXPECT_EQ(lsn_of(lines.back()), records_.back().lsn);

  // An LSN inside a record starts at the next record.
  r = dump({"--from", std::to_string(records_[k].lsn + 8)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  lines = split_lines(r.out);
  ASSERT_EQ(lines.size(), records_.size() - k - 1);
  EXPECT_EQ(lsn_of(lines.front()), records_[k + 1].lsn);

  // Past the end: nothing, and that is not an error.
  r = dump({"--from", "999999999999"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST_F(LogDumpCommand, LimitStopsAfterNRecords) {
  const CliResult r = dump({"--limit", "10", "--from", std::to_string(records_[5].lsn)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto lines = split_lines(r.out);
  ASSERT_EQ(lines.size(), 10u);
  for (size_t i = 0; i < lines.size(); ++i) EXPECT_EQ(lsn_of(lines[i]), records_[5 + i].lsn);
}

TEST_F(LogDumpCommand, JsonLinesParseAndCarryThePayloadFields) {
  const CliResult r = dump({"--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto lines = split_lines(r.out);
  ASSERT_EQ(lines.size(), records_.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    const WrittenRecord& w = records_[i];
    const json j = json::parse(lines[i]);
    ASSERT_EQ(j["lsn"], w.lsn) << lines[i];
    ASSERT_EQ(j["type"], "Blob");
    ASSERT_EQ(j["type_id"], kBlobType);
    ASSERT_EQ(j["payload_bytes"], w.payload_bytes);
    ASSERT_EQ(j["segment"], w.segment_seq);
    ASSERT_EQ(j["offset"], w.offset);
    ASSERT_EQ(j["payload"]["producer"], 7);
    ASSERT_EQ(j["payload"].value("seq", uint64_t{0}), w.seq);  // absent when 0, the default
    ASSERT_EQ(j["payload"]["data"].size(), w.data_bytes);
    ASSERT_FALSE(j.contains("payload_error"));
  }
}

TEST_F(LogDumpCommand, StopsAtDamageAfterPrintingTheRecordsBeforeIt) {
  const size_t k = kRecords * 2 / 3;
  const WrittenRecord& victim = records_[k];
  const auto segments = segment_files(dir_.path());
  flip_bit(segments[victim.segment_seq - 1], victim.offset + 17, 5);
  const CliResult r = dump({});
  EXPECT_EQ(r.exit_code, 1);
  const auto lines = split_lines(r.out);
  ASSERT_EQ(lines.size(), k);
  EXPECT_EQ(lsn_of(lines.back()), records_[k - 1].lsn);
  EXPECT_NE(r.err.find("offset " + std::to_string(victim.offset)), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("LSN " + std::to_string(victim.lsn)), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(segments[victim.segment_seq - 1].filename().string()), std::string::npos)
      << r.err;
}

TEST(LogDumpCommandTypes, EveryRecordTypeDumpsAsJsonLines) {
  TempDir dir;
  const std::string text = tricky_text();
  std::vector<Payload> payloads;
  const auto samples = sample_record_of_each_type(text, false);
  for (const SampleRecord& s : samples) payloads.emplace_back(s.type, s.payload);
  ASSERT_EQ(write_log(dir.path(), payloads, multi_segment_options()).size(), samples.size());
  const CliResult r = run_cairn({"log", "dump", "--json", dir.path().string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto lines = split_lines(r.out);
  ASSERT_EQ(lines.size(), samples.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    const json j = json::parse(lines[i], nullptr, /*allow_exceptions=*/false);
    ASSERT_FALSE(j.is_discarded()) << lines[i];
    EXPECT_EQ(j["type"], samples[i].type_name);
    EXPECT_EQ(j["type_id"], samples[i].type);
    EXPECT_TRUE(j["payload"].is_object()) << lines[i];
    if (j["payload"].contains("step")) {
      EXPECT_EQ(j["payload"]["step"]["step_id"], text);
    }
  }
}

// Strings in records hold what users send, and FlatBuffers does not check them for UTF-8: a byte
// that is not UTF-8 is shown as U+FFFD, so every line stays valid JSON and the rest of the
// payload is still shown.
TEST(LogDumpCommandTypes, AStringThatIsNotUtf8IsShownWithAReplacementCharacter) {
  TempDir dir;
  std::vector<Payload> payloads;
  for (const SampleRecord& s : sample_record_of_each_type("bad \xff byte", false)) {
    if (s.type_name == "RunCancelled") payloads.emplace_back(s.type, s.payload);
  }
  ASSERT_EQ(write_log(dir.path(), payloads, multi_segment_options()).size(), 1u);
  const CliResult r = run_cairn({"log", "dump", "--json", dir.path().string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["type"], "RunCancelled");
  EXPECT_FALSE(j.contains("payload_error")) << r.out;
  EXPECT_EQ(j["payload"]["run_id"], 11);
  EXPECT_EQ(j["payload"]["reason"], "bad \uFFFD byte");
  const CliResult text = run_cairn({"log", "dump", dir.path().string()});
  EXPECT_EQ(text.exit_code, 0);
  EXPECT_NE(text.out.find("type=RunCancelled"), std::string::npos) << text.out;
}

TEST(LogDumpCommandTypes, NoPayloadCheckPrintsRecordsThatDoNotVerifyWithAnError) {
  TempDir dir;
  const auto records = write_log_with_bad_payloads(dir.path());
  ASSERT_EQ(records.size(), 5u);
  // With the check, the reader stops at the Blob that is not a FlatBuffers table.
  const CliResult checked = run_cairn({"log", "dump", "--json", dir.path().string()});
  EXPECT_EQ(checked.exit_code, 1);
  ASSERT_EQ(split_lines(checked.out).size(), 1u) << checked.out;
  EXPECT_NE(checked.err.find("LSN " + std::to_string(records[1].lsn)), std::string::npos)
      << checked.err;

  const CliResult r =
      run_cairn({"log", "dump", "--json", "--no-payload-check", dir.path().string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto lines = split_lines(r.out);
  ASSERT_EQ(lines.size(), 5u) << r.out;
  const json bad = json::parse(lines[1]);
  EXPECT_EQ(bad["lsn"], records[1].lsn);
  EXPECT_TRUE(bad["payload"].is_null());
  EXPECT_NE(bad["payload_error"].get<std::string>().find("fails FlatBuffers verification"),
            std::string::npos);
  const json unknown = json::parse(lines[3]);
  EXPECT_TRUE(unknown["type"].is_null());
  EXPECT_EQ(unknown["type_id"], 555);
  EXPECT_NE(unknown["payload_error"].get<std::string>().find("unknown"), std::string::npos);
  EXPECT_EQ(json::parse(lines[4])["payload"]["seq"], 4);

  const CliResult text = run_cairn({"log", "dump", "--no-payload-check", dir.path().string()});
  EXPECT_EQ(text.exit_code, 0);
  EXPECT_NE(text.out.find("type=unknown(555)"), std::string::npos) << text.out;
}

TEST(LogDumpCommandInput, DirectoryWithoutSegmentsExitsTwo) {
  TempDir dir;
  const CliResult r = run_cairn({"log", "dump", dir.path().string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no log segments"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace cairn::testing
