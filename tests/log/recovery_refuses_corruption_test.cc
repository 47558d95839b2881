// Damage that a crash cannot have left — a bad frame in a segment that is not the last, intact
// records more than one tail window after a bad frame, a frame written whole with invalid
// content, a missing segment — is corruption or a broken sequence. verify_log names the file,
// offset and LSN; Log::open in the default mode refuses with kCorruption and changes no byte.
#include <gtest/gtest.h>

#include <fstream>
#include <memory>

#include "blob_log.h"
#include "cairn/log/log.h"
#include "cairn/log/reader.h"
#include "damage_checks.h"
#include "frame_format.h"
#include "log_dir_files.h"
#include "support/blob_records.h"
#include "support/temp_dir.h"

namespace cairn::log {
namespace {

namespace fs = std::filesystem;
using cairn::testing::BlobLogSpec;
using cairn::testing::BlobRecord;
using cairn::testing::damage_is;
using cairn::testing::expect_open_refused;
using cairn::testing::expect_reader_stops_at;
using cairn::testing::small_log_options;
using cairn::testing::verify_damage;

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// The index of the middle record of segment `seq`.
size_t middle_of_segment(const std::vector<BlobRecord>& records, uint64_t seq) {
  std::vector<size_t> in;
  for (size_t i = 0; i < records.size(); ++i) {
    if (records[i].segment_seq == seq) in.push_back(i);
  }
  EXPECT_GE(in.size(), 3u) << "segment " << seq;
  return in.empty() ? 0 : in[in.size() / 2];
}

// Flips one bit in the middle of the record's payload.
void flip_payload_bit(const fs::path& dir, const BlobRecord& r) {
  cairn::testing::flip_bit(cairn::testing::segment_path(dir, r.segment_seq),
                           r.offset + format::kFrameHeaderSize + r.payload_bytes / 2, 4);
}

// One intact four-segment log per test process, copied for each case.
class RefusesCorruption : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    base_ = std::make_unique<cairn::testing::TempDir>();
    records_ = cairn::testing::write_blob_log(base_->path(), small_log_options(),
                                              cairn::testing::four_segment_spec());
  }
  static void TearDownTestSuite() { base_.reset(); }
  void SetUp() override {
    ASSERT_EQ(records_.size(), cairn::testing::four_segment_spec().records);
    ASSERT_GE(records_.back().segment_seq, 4u);
  }
  // A fresh copy of the intact log.
  fs::path copy(const std::string& name) {
    const fs::path to = work_ / name;
    cairn::testing::copy_log(base_->path(), to);
    return to;
  }
  static std::string segment_name(uint64_t seq) {
    return cairn::testing::segment_path(base_->path(), seq).filename().string();
  }

  static inline std::unique_ptr<cairn::testing::TempDir> base_;
  static inline std::vector<BlobRecord> records_;
  cairn::testing::TempDir work_;
};

TEST_F(RefusesCorruption, FlippedBitInAnOlderSegmentIsRefusedAndNamed) {
  const uint64_t seq = records_.back().segment_seq - 1;  // verified on open by default
  const size_t i = middle_of_segment(records_, seq);
  const BlobRecord& r = records_[i];
  const fs::path dir = copy("flip");
  flip_payload_bit(dir, r);

  EXPECT_TRUE(
      damage_is(verify_damage(dir), DamageKind::kCorruption, segment_name(seq), r.offset, r.lsn));
  const std::string message = expect_open_refused(dir, small_log_options());
  EXPECT_TRUE(contains(message, segment_name(seq))) << message;
  EXPECT_TRUE(contains(message, "offset " + std::to_string(r.offset))) << message;
  EXPECT_TRUE(contains(message, "LSN " + std::to_string(r.lsn))) << message;
  LogOptions verify_all = small_log_options();
  verify_all.segments_verified_on_open = 0;
  expect_open_refused(dir, verify_all);
  expect_reader_stops_at(dir, i, segment_name(seq));
}

TEST_F(RefusesCorruption, FlippedBitBeyondTheVerifiedSegmentsIsLeftToReadersAndVerify) {
  // Log::open checks every frame of the last segments_verified_on_open (2) segments only; older
  // ones are checked by name and header, and fully by readers and verify_log (documented).
  const size_t i = middle_of_segment(records_, 1);
  const BlobRecord& r = records_[i];
  const fs::path dir = copy("flip");
  flip_payload_bit(dir, r);
  EXPECT_TRUE(
      damage_is(verify_damage(dir), DamageKind::kCorruption, segment_name(1), r.offset, r.lsn));
  LogOptions verify_all = small_log_options();
  verify_all.segments_verified_on_open = 0;
  expect_open_refused(dir, verify_all);
  {
    auto log = Log::open(dir, small_log_options());
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    EXPECT_TRUE((*log)->recovery_report().damage.empty());
  }
  expect_reader_stops_at(dir, i, segment_name(1));
}

TEST_F(RefusesCorruption, MissingMiddleSegmentIsABrokenSequence) {
  const fs::path dir = copy("gap");
  fs::remove(cairn::testing::segment_path(dir, 2));
  const auto third = format::parse_segment_file_name(segment_name(3));
  ASSERT_TRUE(third.has_value());
  EXPECT_TRUE(damage_is(verify_damage(dir), DamageKind::kBrokenSequence, segment_name(3), 0,
                        third->first_lsn));
  const std::string message = expect_open_refused(dir, small_log_options());
  EXPECT_TRUE(contains(message, segment_name(3))) << message;
  size_t in_first = 0;
  for (const BlobRecord& r : records_) in_first += r.segment_seq == 1 ? 1 : 0;
  expect_reader_stops_at(dir, in_first, segment_name(3));
}

TEST_F(RefusesCorruption, RefusedOpenLeavesASpareFileInPlace) {
  // A process that died with a spare segment ready leaves prealloc-N.tmp behind. A refused open
  // says "Nothing was changed", so the spare must still be there too.
  const size_t i = middle_of_segment(records_, records_.back().segment_seq - 1);
  const fs::path dir = copy("spare");
  flip_payload_bit(dir, records_[i]);
  const std::vector<std::byte> zeros(small_log_options().segment_bytes);
  {
    std::ofstream spare(dir / "prealloc-7.tmp", std::ios::binary);
    spare.write(reinterpret_cast<const char*>(zeros.data()),
                static_cast<std::streamsize>(zeros.size()));
  }
  expect_open_refused(dir, small_log_options());
}

// A one-segment log written with a small tail window: 64 KiB batches, one in flight.
LogOptions small_window_options() {
  LogOptions o = small_log_options();
  o.batch_bytes_max = 64 << 10;
  o.writes_in_flight_max = 1;
  o.record_bytes_max = 16 << 10;
  return o;
}
constexpr uint64_t kSmallWindow = 64 << 10;

class TailWindow : public ::testing::Test {
 protected:
  void SetUp() override {
    BlobLogSpec spec{.records = 250, .data_bytes = [](uint64_t seq) { return 1000 + seq % 400; }};
    records_ = cairn::testing::write_blob_log(root_ / "base", small_window_options(), spec);
    ASSERT_EQ(records_.size(), 250u);
    ASSERT_EQ(records_.back().segment_seq, 1u);
    ASSERT_GT(records_.back().offset, 4 * kSmallWindow);
    name_ = cairn::testing::segment_path(root_ / "base", 1).filename().string();
  }
  // The first record at or after file offset `at`.
  size_t first_at(uint64_t at) const {
    size_t i = 0;
    while (i + 1 < records_.size() && records_[i].offset < at) ++i;
    return i;
  }
  // The first record at or after file offset `at` that directly follows the frame before it (same
  // batch): zeroing it leaves zeros exactly from the end of the intact data.
  size_t first_contiguous_at(uint64_t at) const {
    size_t i = std::max<size_t>(first_at(at), 1);
    while (i + 1 < records_.size() &&
           records_[i - 1].offset + records_[i - 1].frame_bytes() != records_[i].offset) {
      ++i;
    }
    return i;
  }
  fs::path copy(const std::string& name) {
    cairn::testing::copy_log(root_ / "base", root_ / name);
    return root_ / name;
  }

  cairn::testing::TempDir root_;
  std::vector<BlobRecord> records_;
  std::string name_;
};

TEST_F(TailWindow, BadFrameWithIntactFramesBeyondTheWindowIsCorruption) {
  const BlobRecord& r = records_[first_at(kSmallWindow + 4096)];
  const fs::path dir = copy("early");
  flip_payload_bit(dir, r);
  EXPECT_TRUE(
      damage_is(verify_damage(dir, kSmallWindow), DamageKind::kCorruption, name_, r.offset, r.lsn));
  // With the default 8 MiB window the same bytes could be a torn write: the window decides.
  EXPECT_TRUE(damage_is(verify_damage(dir), DamageKind::kTornTail, name_, r.offset, r.lsn));
  expect_open_refused(dir, small_window_options());
}

TEST_F(TailWindow, ZeroedFrameWithIntactFramesBeyondTheWindowIsCorruption) {
  const size_t i = first_contiguous_at(kSmallWindow + 4096);
  ASSERT_LT(records_[i].offset, 3 * kSmallWindow);
  const BlobRecord& r = records_[i];
  const fs::path dir = copy("zeroed");
  cairn::testing::zero_bytes(dir / name_, r.offset, r.offset + r.frame_bytes());
  EXPECT_TRUE(
      damage_is(verify_damage(dir, kSmallWindow), DamageKind::kCorruption, name_, r.offset, r.lsn));
  expect_open_refused(dir, small_window_options());
}

TEST_F(TailWindow, BadFrameWithinTheWindowOfTheEndIsATornTail) {
  const size_t i = first_at(records_.back().offset - kSmallWindow / 2);
  const BlobRecord& r = records_[i];
  const fs::path dir = copy("late");
  flip_payload_bit(dir, r);
  EXPECT_TRUE(
      damage_is(verify_damage(dir, kSmallWindow), DamageKind::kTornTail, name_, r.offset, r.lsn));
  {
    auto log = Log::open(dir, small_window_options());
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    EXPECT_EQ((*log)->recovery_report().end_lsn, r.lsn);
  }
  EXPECT_TRUE(cairn::testing::is_prefix(cairn::testing::read_blob_log(dir), records_, i));
}

// Found by the power-cut rounds: when the last intact batch ends inside a block, the writes that
// were in flight begin at the next block boundary, so the tail window counts from there, not from
// the end of the intact frames. Here the first sector of a batch is lost (the rest of it and the
// batch after it landed) and the two torn batches together span exactly the window: a torn tail,
// although their data ends more than a window after the last intact frame.
TEST_F(TailWindow, WindowCountsFromTheBlockWhereTheTornWritesBegan) {
  // Batch starts: frames at a block boundary that do not follow the frame before them.
  std::vector<size_t> starts;
  for (size_t i = 1; i < records_.size(); ++i) {
    const BlobRecord& prev = records_[i - 1];
    if (records_[i].offset % 4096 == 0 && prev.offset + prev.frame_bytes() != records_[i].offset) {
      starts.push_back(i);
    }
  }
  // A batch whose padding before it is longer than the padding after the batch that follows it.
  auto end_of = [&](size_t i) { return records_[i].offset + records_[i].frame_bytes(); };
  for (size_t k = 0; k + 2 < starts.size(); ++k) {
    const size_t first = starts[k];
    const size_t second_end = starts[k + 2] - 1;  // last frame of the batch after `first`'s
    const uint64_t b = records_[first].offset;
    const uint64_t gap_before = b - end_of(first - 1);
    const uint64_t data_end = end_of(second_end);
    const uint64_t padded_end = format::round_up(data_end, 4096);
    if (gap_before <= padded_end - data_end + 8) continue;
    SCOPED_TRACE("torn batch at offset " + std::to_string(b));
    const fs::path dir = copy("torn-at-" + std::to_string(b));
    cairn::testing::zero_bytes(dir / name_, b, b + 512);  // its first sector never landed
    cairn::testing::zero_bytes(dir / name_, padded_end,
                               cairn::testing::nonzero_end(dir / name_));  // nothing was after
    const uint64_t window = padded_end - b;  // the two batches in flight: the whole window
    EXPECT_TRUE(damage_is(verify_damage(dir, window), DamageKind::kTornTail, name_,
                          end_of(first - 1), records_[first].lsn));
    return;
  }
  GTEST_SKIP() << "no two batches of this log have the padding this case needs";
}

// Rewrites the last frame with other header fields or payload and a checksum that matches them:
// the frame was written whole, so it cannot be a torn write.
void reseal_last_frame(const fs::path& segment, const BlobRecord& last, uint16_t type,
                       uint16_t flags, bool garble_payload) {
  std::vector<std::byte> frame =
      cairn::testing::file_bytes(segment, last.offset, last.offset + last.frame_bytes());
  format::store_u64(&frame[format::kLengthOffset],
                    format::tag_word(last.payload_bytes, type, flags));
  if (garble_payload) {
    for (size_t i = format::kFrameHeaderSize; i < format::kFrameHeaderSize + last.payload_bytes;
         ++i) {
      frame[i] = std::byte(i * 151);
    }
  }
  format::store_u64(&frame[0], format::frame_checksum(frame.data(), last.payload_bytes));
  cairn::testing::write_bytes(segment, last.offset, frame);
}

TEST(RefusesIntactFrameWithBadContent, EvenAsTheLastFrame) {
  cairn::testing::TempDir root;
  const auto records = cairn::testing::write_blob_log(
      root / "base", small_log_options(), BlobLogSpec{.records = 20, .one_batch_each = true});
  ASSERT_EQ(records.size(), 20u);
  const BlobRecord& last = records.back();
  const std::string name = cairn::testing::segment_path(root / "base", 1).filename().string();
  const uint16_t blob = static_cast<uint16_t>(schema::RecordType::Blob);
  struct Case {
    const char* what;
    uint16_t type;
    uint16_t flags;
    bool garble;
  };
  for (const Case& c : {Case{"type 0", 0, 0, false}, Case{"unknown flag", blob, 2, false},
                        Case{"unknown type", 777, 0, false}, Case{"payload", blob, 0, true}}) {
    SCOPED_TRACE(c.what);
    const fs::path dir = root / c.what;
    cairn::testing::copy_log(root / "base", dir);
    reseal_last_frame(dir / name, last, c.type, c.flags, c.garble);
    EXPECT_TRUE(
        damage_is(verify_damage(dir), DamageKind::kCorruption, name, last.offset, last.lsn));
    expect_open_refused(dir, small_log_options());
  }
}

}  // namespace
}  // namespace cairn::log
