// Segment files that something other than the log made shorter or longer than their header says.
// The writer never changes a segment's size, so neither is ever a torn write: Log::open refuses
// both and changes nothing. A file cut short still holds good frames before the cut: readers and
// verify read them and name the cut where they end, and point-in-time recovery keeps them,
// copies any bytes after them to the quarantine, and writes the file back to its size with zeros
// (when the next segment begins where its records end, nothing is missing and every later
// segment stays). A longer file is refused as a bad header, as before.
#include <gtest/gtest.h>

#include <cerrno>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "blob_log.h"
#include "cairn/log/log.h"
#include "damage_checks.h"
#include "frame_format.h"
#include "log_dir_files.h"
#include "support/faulty_io.h"
#include "support/temp_dir.h"

namespace cairn::log {
namespace {

namespace fs = std::filesystem;
using cairn::testing::BlobRecord;
using cairn::testing::damage_is;
using cairn::testing::expect_log_continues;
using cairn::testing::expect_open_refused;
using cairn::testing::expect_reader_stops_at;
using cairn::testing::small_log_options;
using cairn::testing::verify_damage;

bool mentions(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

LogOptions point_in_time() {
  LogOptions o = small_log_options();
  o.recovery_mode = RecoveryMode::kPointInTime;
  return o;
}

// One intact four-segment log per test process, copied for each case.
class SegmentCutShort : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    base_ = std::make_unique<cairn::testing::TempDir>();
    records_ = cairn::testing::write_blob_log(base_->path(), small_log_options(),
                                              cairn::testing::four_segment_spec());
  }
  static void TearDownTestSuite() { base_.reset(); }
  void SetUp() override { ASSERT_GE(records_.back().segment_seq, 4u); }
  fs::path copy(const std::string& name) {
    const fs::path to = work_.path() / name;
    cairn::testing::copy_log(base_->path(), to);
    return to;
  }
  static std::string segment_name(uint64_t seq) {
    return cairn::testing::segment_path(base_->path(), seq).filename().string();
  }
  static uint64_t segment_size(uint64_t seq) {
    return fs::file_size(cairn::testing::segment_path(base_->path(), seq));
  }
  // Indexes into records_ of the records in segment `seq`.
  // The first segment but the last whose last record ends before the file does (where records
  // end varies from run to run, and one may fill its segment); 0 when there is none.
  static uint64_t segment_with_zeros_after_its_records() {
    for (uint64_t seq = 1; seq < records_.back().segment_seq; ++seq) {
      const BlobRecord& last = records_[in_segment(seq).back()];
      if (last.offset + last.frame_bytes() < segment_size(seq)) return seq;
    }
    return 0;
  }
  static std::vector<size_t> in_segment(uint64_t seq) {
    std::vector<size_t> in;
    for (size_t i = 0; i < records_.size(); ++i) {
      if (records_[i].segment_seq == seq) in.push_back(i);
    }
    return in;
  }

  static inline std::unique_ptr<cairn::testing::TempDir> base_;
  static inline std::vector<BlobRecord> records_;
  cairn::testing::TempDir work_;
};

TEST_F(SegmentCutShort, TheLastSegmentIsReadUpToTheCutRefusedAndRepairedKeepingThoseRecords) {
  const uint64_t seq = records_.back().segment_seq;
  const std::vector<size_t> in = in_segment(seq);
  ASSERT_GE(in.size(), 3u);
  const size_t i = in[in.size() / 2];
  const BlobRecord& r = records_[i];
  struct Cut {
    const char* where;
    uint64_t size;  // the file's size after the cut
    size_t kept;    // records before the cut
  };
  for (const Cut& cut : {Cut{"right after a record", r.offset + r.frame_bytes(), i + 1},
                         Cut{"inside a record", r.offset + 100, i}}) {
    SCOPED_TRACE(cut.where);
    const fs::path dir = copy(std::to_string(cut.size));
    const fs::path file = cairn::testing::segment_path(dir, seq);
    const std::vector<std::byte> original = cairn::testing::file_bytes(file);
    fs::resize_file(file, cut.size);
    const BlobRecord& last_kept = records_[cut.kept - 1];
    const uint64_t data_end = last_kept.offset + last_kept.frame_bytes();

    const auto damage = verify_damage(dir);
    EXPECT_TRUE(damage_is(damage, DamageKind::kCorruption, segment_name(seq), data_end,
                          last_kept.end_lsn()));
    ASSERT_TRUE(damage.has_value());
    EXPECT_TRUE(mentions(damage->what, "cut short")) << damage->what;
    EXPECT_FALSE(damage->size_only) << "nothing says what followed the cut";
    const std::string message = expect_open_refused(dir, small_log_options());
    EXPECT_TRUE(mentions(message, segment_name(seq))) << message;
    EXPECT_TRUE(mentions(message, "cut short")) << message;
    // Every record before the cut is still readable; the reader then names the cut.
    expect_reader_stops_at(dir, cut.kept, segment_name(seq));

    {
      auto log = Log::open(dir, point_in_time());
      ASSERT_TRUE(log.ok()) << log.status().to_string();
      const RecoveryReport& report = (*log)->recovery_report();
      EXPECT_EQ(report.end_lsn, last_kept.end_lsn());
      EXPECT_EQ(report.files_restored, std::vector<std::string>{segment_name(seq)});
      EXPECT_TRUE(mentions(report.damage, "cut short")) << report.damage;
    }
    EXPECT_EQ(fs::file_size(file), segment_size(seq)) << "back to the size its header names";
    // The bytes of the cut record that were left go to the quarantine, as they were.
    if (cut.size > data_end) {
      const std::string qname = cairn::testing::cut_name(segment_name(seq), data_end, "damaged");
      EXPECT_EQ(cairn::testing::quarantine_names(dir), std::vector<std::string>{qname});
      EXPECT_EQ(cairn::testing::file_bytes(dir / std::string(format::kQuarantineDir) / qname),
                std::vector<std::byte>(original.begin() + static_cast<ptrdiff_t>(data_end),
                                       original.begin() + static_cast<ptrdiff_t>(cut.size)));
    } else {
      EXPECT_TRUE(cairn::testing::quarantine_names(dir).empty());
    }
    expect_log_continues(dir, small_log_options(), last_kept.end_lsn(), records_, cut.kept);
  }
}

// Cut only in the zeros after its last record, an older segment has lost nothing: the next
// segment begins where its records end. The repair restores its size and keeps every record of
// every segment.
TEST_F(SegmentCutShort, AnOlderSegmentCutAfterItsLastRecordLosesNothing) {
  const uint64_t seq = segment_with_zeros_after_its_records();
  ASSERT_NE(seq, 0u) << "every segment's last record fills it";
  const BlobRecord& last = records_[in_segment(seq).back()];
  const fs::path dir = copy("after-last");
  const fs::path file = cairn::testing::segment_path(dir, seq);
  // Into the zeros after the last record.
  const uint64_t end = last.offset + last.frame_bytes();
  fs::resize_file(file, std::min(end + 1000, segment_size(seq) - 8));

  const auto damage = verify_damage(dir);
  EXPECT_TRUE(damage_is(damage, DamageKind::kCorruption, segment_name(seq),
                        last.offset + last.frame_bytes(), last.end_lsn()));
  ASSERT_TRUE(damage.has_value());
  EXPECT_TRUE(damage->size_only);
  EXPECT_TRUE(mentions(damage->what, "none of its records is missing")) << damage->what;
  LogOptions verify_all = small_log_options();  // the segment may be older than the last two
  verify_all.segments_verified_on_open = 0;
  const std::string message = expect_open_refused(dir, verify_all);
  EXPECT_TRUE(mentions(message, "writes the file back to its size")) << message;

  {
    auto log = Log::open(dir, point_in_time());
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    const RecoveryReport& report = (*log)->recovery_report();
    EXPECT_EQ(report.end_lsn, records_.back().end_lsn());
    EXPECT_EQ(report.files_restored, std::vector<std::string>{segment_name(seq)});
    EXPECT_TRUE(report.quarantined_files.empty());
    EXPECT_TRUE(mentions(report.damage, "every record kept")) << report.damage;
  }
  EXPECT_EQ(fs::file_size(file), segment_size(seq));
  EXPECT_TRUE(cairn::testing::quarantine_names(dir).empty());
  expect_log_continues(dir, small_log_options(), records_.back().end_lsn(), records_,
                       records_.size());
}

// Cut before its last record, an older segment has lost records that later segments follow: the
// log is kept up to the cut, the later segments go to the quarantine, and the log goes on in the
// cut segment, written back to its size.
TEST_F(SegmentCutShort, AnOlderSegmentCutBeforeItsLastRecordKeepsTheLogUpToTheCut) {
  const uint64_t seq = records_.back().segment_seq - 1;
  const std::vector<size_t> in = in_segment(seq);
  const size_t i = in[in.size() / 2];
  const BlobRecord& r = records_[i];
  const fs::path dir = copy("before-last");
  fs::resize_file(cairn::testing::segment_path(dir, seq), r.offset + r.frame_bytes());
  const auto damage = verify_damage(dir);
  EXPECT_TRUE(damage_is(damage, DamageKind::kCorruption, segment_name(seq),
                        r.offset + r.frame_bytes(), r.end_lsn()));
  ASSERT_TRUE(damage.has_value());
  EXPECT_FALSE(damage->size_only);
  expect_open_refused(dir, small_log_options());
  {
    auto log = Log::open(dir, point_in_time());
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    const RecoveryReport& report = (*log)->recovery_report();
    EXPECT_EQ(report.end_lsn, r.end_lsn());
    EXPECT_EQ(report.files_restored, std::vector<std::string>{segment_name(seq)});
  }
  std::vector<std::string> moved;
  for (uint64_t s = seq + 1; s <= records_.back().segment_seq; ++s)
    moved.push_back(segment_name(s));
  EXPECT_EQ(cairn::testing::quarantine_names(dir), moved);
  EXPECT_EQ(fs::file_size(cairn::testing::segment_path(dir, seq)), segment_size(seq));
  expect_log_continues(dir, small_log_options(), r.end_lsn(), records_, i + 1);
}

// A repair that fails while it writes the zeros (a full disk) leaves the file short, and the
// next repair finishes it: nothing is lost either way.
TEST_F(SegmentCutShort, ARepairCutShortByAFullDiskIsFinishedByTheNext) {
  const uint64_t seq = records_.back().segment_seq;
  const BlobRecord& r = records_[in_segment(seq)[1]];
  const fs::path dir = copy("full-disk");
  const fs::path file = cairn::testing::segment_path(dir, seq);
  fs::resize_file(file, r.offset + r.frame_bytes());
  const size_t kept = in_segment(seq)[1] + 1;
  {
    auto faulty = std::make_shared<cairn::testing::FaultyFileSystem>();
    faulty->add_fault(cairn::testing::FsFault{.op = cairn::testing::FsOp::kPwrite,
                                              .path_contains = segment_name(seq),
                                              .err = ENOSPC,
                                              .times = 0,
                                              .after_bytes = 8192});
    LogOptions o = point_in_time();
    o.file_system = faulty;
    auto log = Log::open(dir, o);
    ASSERT_FALSE(log.ok()) << "the repair cannot finish on a full disk";
    EXPECT_TRUE(mentions(log.status().to_string(), "writing zeros to")) << log.status().to_string();
    EXPECT_GT(faulty->faults_injected(), 0u);
  }
  EXPECT_LT(fs::file_size(file), segment_size(seq));
  expect_reader_stops_at(dir, kept, segment_name(seq));
  {
    auto log = Log::open(dir, point_in_time());
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    EXPECT_EQ((*log)->recovery_report().files_restored,
              std::vector<std::string>{segment_name(seq)});
  }
  EXPECT_EQ(fs::file_size(file), segment_size(seq));
  expect_log_continues(dir, small_log_options(), r.end_lsn(), records_, kept);
}

// Several files cut after their last record (one bad copy can cut many): the repair restores
// each in turn and keeps every record (it used to give up after 8 passes, each a success).
TEST_F(SegmentCutShort, EverySegmentCutAfterItsLastRecordIsRestored) {
  const fs::path dir = copy("all-cut");
  const uint64_t last_seq = records_.back().segment_seq;
  std::vector<std::string> cut;
  for (uint64_t seq = 1; seq < last_seq; ++seq) {
    const BlobRecord& last = records_[in_segment(seq).back()];
    const uint64_t end = last.offset + last.frame_bytes();
    if (end == segment_size(seq)) continue;  // the last record fills it: nothing to cut
    fs::resize_file(cairn::testing::segment_path(dir, seq), end);
    cut.push_back(segment_name(seq));
  }
  ASSERT_GE(cut.size(), 2u);
  const auto damage = verify_damage(dir);
  ASSERT_TRUE(damage.has_value());
  EXPECT_TRUE(damage->size_only);
  // The others are cut the same way, which the repair restores in turn: no damage after it that
  // would take records.
  EXPECT_EQ(damage->damage_after, "");
  {
    auto log = Log::open(dir, point_in_time());
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    EXPECT_EQ((*log)->recovery_report().files_restored, cut);
    EXPECT_TRUE((*log)->recovery_report().quarantined_files.empty());
  }
  for (uint64_t seq = 1; seq < last_seq; ++seq) {
    EXPECT_EQ(fs::file_size(cairn::testing::segment_path(dir, seq)), segment_size(seq)) << seq;
  }
  expect_log_continues(dir, small_log_options(), records_.back().end_lsn(), records_,
                       records_.size());
}

// A file cut after its last record, and damage further on: the first says its records are all
// there but not that every record stays, and names the damage after it, which the repair then
// repairs as usual.
TEST_F(SegmentCutShort, ACutAfterTheLastRecordNamesTheDamageAfterIt) {
  const uint64_t seq = segment_with_zeros_after_its_records();
  ASSERT_NE(seq, 0u) << "every segment's last record fills it";
  const BlobRecord& last = records_[in_segment(seq).back()];
  const fs::path dir = copy("then-more");
  fs::resize_file(cairn::testing::segment_path(dir, seq), last.offset + last.frame_bytes());
  const std::vector<size_t> next = in_segment(seq + 1);
  const BlobRecord& r = records_[next[next.size() / 2]];
  fs::resize_file(cairn::testing::segment_path(dir, seq + 1), r.offset + 100);
  const auto damage = verify_damage(dir);
  ASSERT_TRUE(damage.has_value());
  EXPECT_EQ(damage->file, segment_name(seq));
  EXPECT_TRUE(damage->size_only);
  EXPECT_TRUE(mentions(damage->what, "but a later segment is damaged")) << damage->what;
  EXPECT_TRUE(mentions(damage->damage_after, segment_name(seq + 1))) << damage->damage_after;
  // (By default Log::open checks the last two segments' frames only: the later damage there.)
  LogOptions verify_all = small_log_options();
  verify_all.segments_verified_on_open = 0;
  const std::string message = expect_open_refused(dir, verify_all);
  EXPECT_TRUE(mentions(message, "then repairs any damage after it")) << message;
  {
    auto log = Log::open(dir, point_in_time());
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    EXPECT_EQ((*log)->recovery_report().end_lsn, r.lsn);
  }
  expect_log_continues(dir, small_log_options(), r.lsn, records_, next[next.size() / 2]);
}

// A last segment cut to fewer bytes than a header (a copy that stopped at once): refused, and the
// repair keeps the segments before it and makes the file an empty segment the log can fill (it
// used to zero it in place, find it too short again, and give up).
TEST_F(SegmentCutShort, ALastSegmentShorterThanAHeaderIsRepaired) {
  const uint64_t seq = records_.back().segment_seq;
  const size_t kept = in_segment(seq).front();
  for (const uint64_t size : {uint64_t{0}, uint64_t{1000}}) {
    SCOPED_TRACE(std::to_string(size) + " bytes");
    const fs::path dir = copy("tiny" + std::to_string(size));
    const fs::path file = cairn::testing::segment_path(dir, seq);
    fs::resize_file(file, size);
    expect_open_refused(dir, small_log_options());
    {
      auto log = Log::open(dir, point_in_time());
      ASSERT_TRUE(log.ok()) << log.status().to_string();
      EXPECT_EQ((*log)->recovery_report().files_restored,
                std::vector<std::string>{segment_name(seq)});
    }
    EXPECT_TRUE(format::is_segment_size(fs::file_size(file))) << fs::file_size(file);
    expect_log_continues(dir, small_log_options(), records_[kept].lsn, records_, kept);
  }
}

// An empty last segment (no header yet) of a size no log makes: the writer would fill it up to that
// size and name it in a header its readers refuse, losing what it acknowledged there. Refused; the
// repair grows it to a size the log makes, and the log goes on in it.
TEST_F(SegmentCutShort, AnEmptyLastSegmentOfASizeNoLogMakesIsRefusedAndRepaired) {
  const fs::path dir = copy("odd-empty");
  const fs::path file =
      dir / format::segment_file_name(records_.back().segment_seq + 1, records_.back().end_lsn());
  fs::copy_file(cairn::testing::segment_path(dir, 1), file);
  fs::resize_file(file, 0);
  fs::resize_file(file, 10000);
  const auto damage = verify_damage(dir);
  ASSERT_TRUE(damage.has_value());
  EXPECT_TRUE(mentions(damage->what, "a size no log makes")) << damage->what;
  expect_open_refused(dir, small_log_options());
  {
    auto log = Log::open(dir, point_in_time());
    ASSERT_TRUE(log.ok()) << log.status().to_string();
  }
  EXPECT_TRUE(format::is_segment_size(fs::file_size(file))) << fs::file_size(file);
  expect_log_continues(dir, small_log_options(), records_.back().end_lsn(), records_,
                       records_.size());
}

// A torn header in a file of a size no log makes (as a build before this one could leave, having
// written into such a file): not ours to cut, since our writer now writes headers only into
// files of sizes a log makes. The default open refuses it (it used to cut it and hand the writer
// the odd size again); the repair zeroes the file and grows it to a size the log makes.
TEST_F(SegmentCutShort, ATornHeaderInAFileOfASizeNoLogMakesIsNotCutByTheDefaultOpen) {
  const fs::path dir = copy("odd-torn");
  const uint64_t seq = records_.back().segment_seq + 1;
  const fs::path file = dir / format::segment_file_name(seq, records_.back().end_lsn());
  std::vector<std::byte> bytes(10000);
  format::encode_segment_header(
      format::SegmentHeader{format::kFormatVersion, seq, records_.back().end_lsn(), 4096, 1},
      bytes.data());
  format::store_u64(bytes.data() + 32, 10000);  // the size a writer of the odd file named
  std::fill(bytes.begin() + 40, bytes.end(), std::byte{0});  // torn after the size
  fs::copy_file(cairn::testing::segment_path(dir, 1), file);
  fs::resize_file(file, 0);
  cairn::testing::write_bytes(file, 0, bytes);
  const std::string message = expect_open_refused(dir, small_log_options());
  EXPECT_TRUE(mentions(message, "corruption")) << message;
  {
    auto log = Log::open(dir, point_in_time());
    ASSERT_TRUE(log.ok()) << log.status().to_string();
  }
  EXPECT_TRUE(format::is_segment_size(fs::file_size(file))) << fs::file_size(file);
  expect_log_continues(dir, small_log_options(), records_.back().end_lsn(), records_,
                       records_.size());
}

// A last segment something extended: refused as a bad header; the repair zeroes it (its bytes go
// to the quarantine) and gives it a size the log makes, so that what is appended after the repair
// is read back (it was appended under a header naming 100 bytes more than whole blocks, which the
// next open refused).
TEST_F(SegmentCutShort, AnExtendedLastSegmentIsRepairedToASizeTheLogCanFill) {
  const uint64_t seq = records_.back().segment_seq;
  const size_t kept = in_segment(seq).front();
  const fs::path dir = copy("extended");
  const fs::path file = cairn::testing::segment_path(dir, seq);
  fs::resize_file(file, segment_size(seq) + 100);
  expect_open_refused(dir, small_log_options());
  {
    auto log = Log::open(dir, point_in_time());
    ASSERT_TRUE(log.ok()) << log.status().to_string();
  }
  EXPECT_TRUE(format::is_segment_size(fs::file_size(file))) << fs::file_size(file);
  expect_log_continues(dir, small_log_options(), records_[kept].lsn, records_, kept);
}

// What lies past the size the header names is not the log's: refused as a bad header, and a reader
// stops at the segment's start without reading past it.
TEST_F(SegmentCutShort, ASegmentFileLongerThanItsHeaderSaysIsRefused) {
  const uint64_t seq = records_.back().segment_seq;
  const fs::path dir = copy("longer");
  fs::resize_file(cairn::testing::segment_path(dir, seq), segment_size(seq) + 4096);
  const auto damage = verify_damage(dir);
  EXPECT_TRUE(damage_is(damage, DamageKind::kCorruption, segment_name(seq), 0,
                        records_[in_segment(seq).front()].lsn));
  const std::string message = expect_open_refused(dir, small_log_options());
  EXPECT_TRUE(mentions(message, "extended by something other than the log")) << message;
  expect_reader_stops_at(dir, in_segment(seq).front(), segment_name(seq));
}

}  // namespace
}  // namespace cairn::log
