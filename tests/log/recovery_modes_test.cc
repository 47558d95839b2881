// The recovery modes do what their names promise: kAbsoluteConsistency refuses any damage, even a
// torn tail; kPointInTime opens at the first damage wherever it is, keeping the damaged segment's
// cut bytes and every later segment in DIR/quarantine/; both open an intact log as it is.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "blob_log.h"
#include "cairn/log/log.h"
#include "damage_checks.h"
#include "frame_format.h"
#include "log_dir_files.h"
#include "support/temp_dir.h"

namespace cairn::log {
namespace {

namespace fs = std::filesystem;
using cairn::testing::BlobLogSpec;
using cairn::testing::BlobRecord;
using cairn::testing::expect_log_continues;
using cairn::testing::small_log_options;

LogOptions with_mode(RecoveryMode mode) {
  LogOptions o = small_log_options();
  o.recovery_mode = mode;
  return o;
}

class RecoveryModes : public ::testing::Test {
 protected:
  // Twenty records in one segment, each a batch of its own.
  std::vector<BlobRecord> write_small(const fs::path& dir) {
    return cairn::testing::write_blob_log(dir, small_log_options(),
                                          BlobLogSpec{.records = 20, .one_batch_each = true});
  }
  // Zeroes the second half of the last frame: a torn tail.
  void tear_last(const fs::path& dir, const BlobRecord& last) {
    cairn::testing::zero_bytes(cairn::testing::segment_path(dir, last.segment_seq),
                               last.offset + last.frame_bytes() / 2,
                               last.offset + last.frame_bytes());
  }

  cairn::testing::TempDir root_;
};

TEST_F(RecoveryModes, AbsoluteConsistencyRefusesATornTail) {
  const auto records = write_small(root_ / "log");
  ASSERT_EQ(records.size(), 20u);
  tear_last(root_ / "log", records.back());
  const auto damage = cairn::testing::verify_damage(root_ / "log");
  ASSERT_TRUE(damage.has_value());
  EXPECT_EQ(damage->kind, DamageKind::kTornTail);
  const std::string message = cairn::testing::expect_open_refused(
      root_ / "log", with_mode(RecoveryMode::kAbsoluteConsistency));
  EXPECT_NE(message.find("torn tail"), std::string::npos) << message;
  // The default mode then cuts it.
  auto log = Log::open(root_ / "log", small_log_options());
  ASSERT_TRUE(log.ok()) << log.status().to_string();
  EXPECT_EQ((*log)->recovery_report().end_lsn, records.back().lsn);
}

TEST_F(RecoveryModes, EveryModeOpensAnIntactLogAsItIs) {
  const auto records = write_small(root_ / "log");
  ASSERT_EQ(records.size(), 20u);
  for (RecoveryMode mode : {RecoveryMode::kTolerateTornTail, RecoveryMode::kAbsoluteConsistency,
                            RecoveryMode::kPointInTime}) {
    SCOPED_TRACE(static_cast<int>(mode));
    const auto before = cairn::testing::snapshot(root_ / "log");
    {
      auto log = Log::open(root_ / "log", with_mode(mode));
      ASSERT_TRUE(log.ok()) << log.status().to_string();
      EXPECT_TRUE((*log)->recovery_report().damage.empty());
      EXPECT_EQ((*log)->recovery_report().end_lsn, records.back().end_lsn());
    }
    // The clean-close marker its close wrote is the only change.
    std::filesystem::remove(root_ / "log" / "CLOSED");
    EXPECT_EQ(cairn::testing::snapshot(root_ / "log"), before);
  }
}

TEST_F(RecoveryModes, PointInTimeCutsATornTailLikeTheDefault) {
  const auto records = write_small(root_ / "log");
  ASSERT_EQ(records.size(), 20u);
  tear_last(root_ / "log", records.back());
  {
    auto log = Log::open(root_ / "log", with_mode(RecoveryMode::kPointInTime));
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    EXPECT_EQ((*log)->recovery_report().end_lsn, records.back().lsn);
  }
  const BlobRecord& prev = records[records.size() - 2];
  const std::string name = cairn::testing::segment_path(root_ / "log", 1).filename().string();
  EXPECT_EQ(cairn::testing::quarantine_names(root_ / "log"),
            std::vector<std::string>{
                cairn::testing::cut_name(name, prev.offset + prev.frame_bytes(), "torn")});
  expect_log_continues(root_ / "log", small_log_options(), records.back().lsn, records, 19);
}

// Point in time on the four-segment log.
class PointInTime : public RecoveryModes {
 protected:
  void SetUp() override {
    records_ = cairn::testing::write_blob_log(root_ / "log", small_log_options(),
                                              cairn::testing::four_segment_spec());
    ASSERT_EQ(records_.size(), cairn::testing::four_segment_spec().records);
    ASSERT_GE(records_.back().segment_seq, 4u);
    for (const fs::path& p : cairn::testing::segment_paths(root_ / "log")) {
      originals_[p.filename().string()] = cairn::testing::file_bytes(p);
    }
  }
  std::vector<std::string> segment_names() const {
    std::vector<std::string> out;
    for (const auto& p : cairn::testing::segment_paths(root_ / "log")) {
      out.push_back(p.filename().string());
    }
    return out;
  }
  // Each of these segment files is in the quarantine, byte for byte as it was.
  void expect_moved_whole(const std::vector<std::string>& names) {
    for (const std::string& name : names) {
      const fs::path moved = root_ / "log" / std::string(format::kQuarantineDir) / name;
      ASSERT_TRUE(fs::exists(moved)) << name;
      EXPECT_TRUE(cairn::testing::file_bytes(moved) == originals_[name]) << name << " changed";
    }
  }

  std::vector<BlobRecord> records_;
  std::map<std::string, std::vector<std::byte>> originals_;
};

TEST_F(PointInTime, OpensBeforeCorruptionInAnOlderSegment) {
  const std::vector<std::string> names = segment_names();
  const uint64_t seq = records_.back().segment_seq - 1;
  size_t i = 0;  // the middle record of segment `seq`
  {
    std::vector<size_t> in;
    for (size_t k = 0; k < records_.size(); ++k) {
      if (records_[k].segment_seq == seq) in.push_back(k);
    }
    ASSERT_GE(in.size(), 3u);
    i = in[in.size() / 2];
  }
  const BlobRecord& r = records_[i];
  const BlobRecord& prev = records_[i - 1];
  const fs::path damaged = cairn::testing::segment_path(root_ / "log", seq);
  cairn::testing::flip_bit(damaged, r.offset + format::kFrameHeaderSize + 7, 0);
  const std::vector<std::byte> damaged_bytes = cairn::testing::file_bytes(damaged);
  const uint64_t cut = prev.offset + prev.frame_bytes();
  const uint64_t extent = cairn::testing::nonzero_end(damaged);
  {
    auto log = Log::open(root_ / "log", with_mode(RecoveryMode::kPointInTime));
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    const RecoveryReport& report = (*log)->recovery_report();
    EXPECT_FALSE(report.damage.empty());
    EXPECT_EQ(report.end_lsn, r.lsn);
    EXPECT_EQ(report.segments, seq);
    EXPECT_EQ(report.quarantined_files.size(), names.size() - seq + 1);
  }
  // The damaged segment stays, cut at its last intact record; its cut bytes and every later
  // segment are in the quarantine.
  std::vector<std::string> expected_quarantine(names.begin() + static_cast<ptrdiff_t>(seq),
                                               names.end());
  expected_quarantine.push_back(
      cairn::testing::cut_name(damaged.filename().string(), cut, "damaged"));
  std::sort(expected_quarantine.begin(), expected_quarantine.end());
  EXPECT_EQ(cairn::testing::quarantine_names(root_ / "log"), expected_quarantine);
  expect_moved_whole({names.begin() + static_cast<ptrdiff_t>(seq), names.end()});
  const auto kept = cairn::testing::file_bytes(
      root_ / "log" / std::string(format::kQuarantineDir) /
      cairn::testing::cut_name(damaged.filename().string(), cut, "damaged"));
  ASSERT_EQ(kept.size(), extent - cut);
  EXPECT_TRUE(
      std::equal(kept.begin(), kept.end(), damaged_bytes.begin() + static_cast<ptrdiff_t>(cut)));
  EXPECT_EQ(segment_names(),
            std::vector<std::string>(names.begin(), names.begin() + static_cast<ptrdiff_t>(seq)));
  EXPECT_TRUE(cairn::testing::is_prefix(cairn::testing::read_blob_log(root_ / "log"), records_, i));
  expect_log_continues(root_ / "log", small_log_options(), r.lsn, records_, i);
}

TEST_F(PointInTime, OpensBeforeAMissingSegment) {
  const std::vector<std::string> names = segment_names();
  fs::remove(cairn::testing::segment_path(root_ / "log", 2));
  size_t in_first = 0;
  for (const BlobRecord& r : records_) in_first += r.segment_seq == 1 ? 1 : 0;
  const Lsn end = records_[in_first - 1].end_lsn();
  {
    auto log = Log::open(root_ / "log", with_mode(RecoveryMode::kPointInTime));
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    const RecoveryReport& report = (*log)->recovery_report();
    EXPECT_FALSE(report.damage.empty());
    EXPECT_EQ(report.end_lsn, end);
    EXPECT_EQ(report.segments, 1u);
  }
  const std::vector<std::string> after_gap(names.begin() + 2, names.end());
  EXPECT_EQ(cairn::testing::quarantine_names(root_ / "log"), after_gap);
  expect_moved_whole(after_gap);
  EXPECT_EQ(segment_names(), std::vector<std::string>{names[0]});
  EXPECT_TRUE(
      cairn::testing::is_prefix(cairn::testing::read_blob_log(root_ / "log"), records_, in_first));
  expect_log_continues(root_ / "log", small_log_options(), end, records_, in_first);
}

// A segment whose data ends before the next one's name says it should (its last records zeroed,
// as a repair killed between cutting it and moving the segments after it leaves it): the
// scan finds a broken sequence. Point in time moves that next segment and every later one
// aside whole, and opens at the end of the shortened one. (It once "cut" the next segment at
// its own end and kept it: the log stayed damaged, and no repair could ever mend it.)
TEST_F(PointInTime, OpensBeforeASegmentThatDoesNotBeginWhereThePreviousEnds) {
  const std::vector<std::string> names = segment_names();
  std::vector<size_t> in_second;
  for (size_t k = 0; k < records_.size(); ++k) {
    if (records_[k].segment_seq == 2) in_second.push_back(k);
  }
  ASSERT_GE(in_second.size(), 3u);
  const size_t kept = in_second[in_second.size() / 2];  // records before this one stay
  const BlobRecord& r = records_[kept];
  const fs::path second = cairn::testing::segment_path(root_ / "log", 2);
  // From r's frame on: zeros where a frame would start read as the end of the data (padding,
  // then a zero block), a clean end.
  cairn::testing::zero_bytes(second, r.offset, cairn::testing::nonzero_end(second));
  const size_t intact = kept;
  const Lsn end = records_[intact - 1].end_lsn();
  const auto damage = cairn::testing::verify_damage(root_ / "log");
  ASSERT_TRUE(damage.has_value());
  EXPECT_EQ(damage->kind, DamageKind::kBrokenSequence) << damage->to_string();
  EXPECT_EQ(damage->file, names[2]);
  {
    auto log = Log::open(root_ / "log", with_mode(RecoveryMode::kPointInTime));
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    const RecoveryReport& report = (*log)->recovery_report();
    EXPECT_FALSE(report.damage.empty());
    EXPECT_EQ(report.end_lsn, end);
    EXPECT_EQ(report.segments, 2u);
  }
  const std::vector<std::string> moved(names.begin() + 2, names.end());
  EXPECT_EQ(cairn::testing::quarantine_names(root_ / "log"), moved);
  expect_moved_whole(moved);
  EXPECT_EQ(segment_names(), std::vector<std::string>(names.begin(), names.begin() + 2));
  EXPECT_FALSE(cairn::testing::verify_damage(root_ / "log").has_value());
  expect_log_continues(root_ / "log", small_log_options(), end, records_, intact);
}

// A second repair that moves aside a segment of the same name as one the first repair moved (an
// operator restored the segments from a copy and tried again, or the repaired log grew again
// through the same names) keeps both: the later one beside the first as NAME.1. (A rename into
// the quarantine once replaced the first one's bytes, which no repair may drop.)
TEST_F(PointInTime, ASecondRepairKeepsWhatTheFirstMovedAside) {
  const std::vector<std::string> names = segment_names();
  ASSERT_GE(names.size(), 4u);
  const fs::path saved = root_ / "saved";
  fs::create_directories(saved);
  for (const std::string& n : names) fs::copy_file(root_ / "log" / n, saved / n);
  const fs::path quarantine = root_ / "log" / std::string(format::kQuarantineDir);

  fs::remove(root_ / "log" / names[1]);  // the first repair: names[2] and after go aside
  {
    auto log = Log::open(root_ / "log", with_mode(RecoveryMode::kPointInTime));
    ASSERT_TRUE(log.ok()) << log.status().to_string();
  }
  expect_moved_whole({names.begin() + 2, names.end()});

  // Restored from the copy, with the last segment changed and a frame of the one before it
  // damaged: the second repair cuts names[2] and moves the last segment aside again.
  for (size_t k = 1; k < names.size(); ++k) {
    fs::copy_file(saved / names[k], root_ / "log" / names[k], fs::copy_options::overwrite_existing);
  }
  const fs::path last = root_ / "log" / names.back();
  const fs::path before_last = root_ / "log" / names[names.size() - 2];
  const BlobRecord* in_last = nullptr;
  const BlobRecord* in_before_last = nullptr;
  for (const BlobRecord& r : records_) {
    const std::string seg = cairn::testing::segment_path(root_ / "log", r.segment_seq).filename();
    if (seg == names.back() && in_last == nullptr) in_last = &r;
    if (seg == names[names.size() - 2] && in_before_last == nullptr) in_before_last = &r;
  }
  ASSERT_NE(in_last, nullptr);
  ASSERT_NE(in_before_last, nullptr);
  cairn::testing::flip_bit(last, in_last->offset + format::kFrameHeaderSize + 3, 1);
  cairn::testing::flip_bit(before_last, in_before_last->offset + format::kFrameHeaderSize + 3, 1);
  const std::vector<std::byte> changed_last = cairn::testing::file_bytes(last);
  {
    auto log = Log::open(root_ / "log", with_mode(RecoveryMode::kPointInTime));
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    const RecoveryReport& report = (*log)->recovery_report();
    EXPECT_NE(std::find(report.quarantined_files.begin(), report.quarantined_files.end(),
                        (quarantine / (names.back() + ".1")).string()),
              report.quarantined_files.end());
  }
  expect_moved_whole({names.begin() + 2, names.end()});  // the first repair's, unchanged
  ASSERT_TRUE(fs::exists(quarantine / (names.back() + ".1")));
  EXPECT_TRUE(cairn::testing::file_bytes(quarantine / (names.back() + ".1")) == changed_last);
}

}  // namespace
}  // namespace cairn::log
