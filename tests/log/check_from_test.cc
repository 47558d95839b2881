// open_checks_from and ReaderOptions::from: what comes before the LSN an owner needs (the
// engine's snapshot) is followed by its frame headers, not checked — a restart after a snapshot
// reads what it will replay, not the whole history — while everything from that LSN on is
// checked as always, and `verify` still finds damage anywhere. With a FramePosition (where a
// record at or before the LSN is), open and readers start at that frame and read nothing before
// it in its segment; a position that does not hold is ignored.
#include <gtest/gtest.h>

#include "blob_log.h"
#include "cairn/log/log.h"
#include "cairn/log/verify.h"
#include "damage_checks.h"
#include "log_dir_files.h"
#include "support/temp_dir.h"

namespace cairn::log {
namespace {

using cairn::testing::BlobLogSpec;
using cairn::testing::small_log_options;

constexpr size_t kRecords = 3000;  // several segments of small_log_options

struct Written {
  std::vector<Lsn> lsns;
  std::vector<std::filesystem::path> segments;
};

Written write_log(const std::filesystem::path& dir) {
  Written w;
  auto log = Log::open(dir, small_log_options());
  EXPECT_TRUE(log.ok()) << log.status().to_string();
  BlobLogSpec spec{.records = kRecords, .data_bytes = [](uint64_t) { return 1500; }};
  w.lsns = cairn::testing::append_blobs(**log, spec);
  EXPECT_TRUE((*log)->close().ok());
  w.segments = cairn::testing::segment_paths(dir);
  return w;
}

TEST(CheckFrom, OpenChecksOnlyFromTheLsnAndStillFindsTheEnd) {
  cairn::testing::TempDir dir;
  const Written w = write_log(dir.path());
  ASSERT_GE(w.segments.size(), 3u);
  // A flipped bit in the first segment's data: before the LSN the owner needs.
  cairn::testing::flip_bit(w.segments[0], 8192 + 100, 3);
  LogOptions o = small_log_options();
  o.segments_verified_on_open = 0;  // all of them
  o.open_checks_from = w.lsns[kRecords - 10];
  {
    auto log = Log::open(dir.path(), o);
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    EXPECT_LE((*log)->recovery_report().records_verified, 20u);
    EXPECT_GT((*log)->durable_lsn(), w.lsns.back());
    // A reader from there returns exactly the records from there, checked.
    auto reader = (*log)->read_from(w.lsns[kRecords - 10]);
    ASSERT_TRUE(reader.ok()) << reader.status().to_string();
    size_t n = 0;
    for (;;) {
      auto r = (*reader)->next();
      ASSERT_TRUE(r.ok()) << r.status().to_string();
      if (*r == nullptr) break;
      EXPECT_EQ((*r)->lsn, w.lsns[kRecords - 10 + n]);
      ++n;
    }
    EXPECT_EQ(n, 10u);
    // From before the damage, the reader reports it.
    auto early = (*log)->read_from(0);
    ASSERT_TRUE(early.ok());
    const Status st = cairn::testing::read_to_end(**early);
    EXPECT_EQ(st.code(), StatusCode::kCorruption) << st.to_string();
  }
  // Without the LSN, the same open refuses: the damage is in what it would need.
  o.open_checks_from = 0;
  auto refused = Log::open(dir.path(), o);
  EXPECT_FALSE(refused.ok());
  // And verify always finds it.
  EXPECT_TRUE(cairn::testing::verify_damage(dir.path()).has_value());
}

TEST(CheckFrom, DamageAfterTheLsnIsStillFound) {
  cairn::testing::TempDir dir;
  const Written w = write_log(dir.path());
  ASSERT_GE(w.segments.size(), 3u);
  // Damage in the first record of the last sealed segment: records follow it in the next one, so
  // it can never pass for a torn tail (in the last segment it could, when batching happens to
  // leave it the log's last frame). The owner needs everything from the second record on.
  cairn::testing::flip_bit(w.segments[w.segments.size() - 2], 4096 + 100, 3);
  LogOptions o = small_log_options();
  o.segments_verified_on_open = 0;  // all of them: the damage is not in the newest segment
  o.open_checks_from = w.lsns[1];
  auto log = Log::open(dir.path(), o);
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), StatusCode::kCorruption) << log.status().to_string();
}

TEST(CheckFrom, ADamagedLengthBeforeTheLsnIsCorruptionNeverATornTail) {
  cairn::testing::TempDir dir;
  const Written w = write_log(dir.path());
  // The length field of the last segment's first frame: followed, not checked, it would lead the
  // reader into the middle of a frame — which must not look like a torn write to cut.
  const std::filesystem::path last = w.segments.back();
  const auto size_before = std::filesystem::file_size(last);
  cairn::testing::flip_bit(last, 4096 + 8, 6);
  LogOptions o = small_log_options();
  o.open_checks_from = w.lsns.back();
  auto log = Log::open(dir.path(), o);
  ASSERT_FALSE(log.ok()) << "opened: the damage was cut as a torn tail";
  EXPECT_EQ(log.status().code(), StatusCode::kCorruption) << log.status().to_string();
  EXPECT_NE(log.status().message().find("offset 4096"), std::string::npos)
      << log.status().to_string();
  EXPECT_EQ(std::filesystem::file_size(last), size_before);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "quarantine"));
}

// Every record from `from` on through a reader of the open log, given `near`.
std::vector<Lsn> read_lsns(Log& log, Lsn from, FramePosition near) {
  std::vector<Lsn> lsns;
  auto reader = log.read_from(from, near);
  EXPECT_TRUE(reader.ok()) << reader.status().to_string();
  if (!reader.ok()) return lsns;
  for (;;) {
    auto r = (*reader)->next();
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    if (!r.ok() || *r == nullptr) break;
    lsns.push_back((*r)->lsn);
  }
  return lsns;
}

// A log of several segments, and what its owner knows: it needs the last 10 records (from
// `from` on) and where the one before them is (`near`, in the last segment, not its first frame).
struct KnownPosition {
  Written w;
  std::vector<cairn::testing::BlobRecord> last;  // the last segment's records, with positions
  cairn::testing::BlobRecord known;
  Lsn from = 0;
  FramePosition near;

  explicit KnownPosition(const std::filesystem::path& dir) : w(write_log(dir)) {
    const std::vector<cairn::testing::BlobRecord> all = cairn::testing::read_blob_log(dir);
    for (const auto& r : all) {
      if (r.segment_seq == all.back().segment_seq) last.push_back(r);
    }
    EXPECT_GE(last.size(), 20u);
    known = last[last.size() - 11];
    from = last[last.size() - 10].lsn;
    near = FramePosition{known.segment_seq, known.offset, known.lsn};
  }
  std::vector<Lsn> last_ten() const { return std::vector<Lsn>(w.lsns.end() - 10, w.lsns.end()); }
  Lsn end() const { return w.lsns.back() + last.back().frame_bytes(); }
};

TEST(CheckFrom, AFramePositionStartsOpenAndReadersThereReadingNothingBeforeIt) {
  cairn::testing::TempDir dir;
  const KnownPosition k(dir.path());
  // The length of the segment's first frame, damaged: followed from the segment's start, it is
  // corruption (CheckFrom.ADamagedLength...); from the position, it is never read.
  cairn::testing::flip_bit(k.w.segments.back(), 4096 + 8, 6);
  LogOptions o = small_log_options();
  o.open_checks_from = k.from;
  EXPECT_FALSE(Log::open(dir.path(), o).ok());
  o.open_checks_from_frame = k.near;
  auto log = Log::open(dir.path(), o);
  ASSERT_TRUE(log.ok()) << log.status().to_string();
  // Only the known frame is passed over (start_at checked it whole), then the 10 are checked.
  EXPECT_EQ((*log)->recovery_report().records_followed, 1u);
  EXPECT_EQ((*log)->recovery_report().records_verified, 10u);
  EXPECT_EQ((*log)->durable_lsn(), k.end());
  EXPECT_EQ(read_lsns(**log, k.from, k.near), k.last_ten());
  // Without the position the reader follows the segment from its start, into the damage.
  auto reader = (*log)->read_from(k.from);
  ASSERT_TRUE(reader.ok());
  auto first = (*reader)->next();
  EXPECT_FALSE(first.ok());
}

TEST(CheckFrom, AFramePositionThatDoesNotHoldIsIgnored) {
  cairn::testing::TempDir dir;
  const KnownPosition k(dir.path());
  const cairn::testing::BlobRecord& known = k.known;
  const auto& last = k.last;
  const FramePosition wrong[] = {
      {known.segment_seq, known.offset + 8, known.lsn},   // inside the frame
      {known.segment_seq, known.offset, known.lsn + 8},   // another LSN
      {known.segment_seq, last[3].offset, known.lsn},     // another frame
      {known.segment_seq, known.offset + 3, known.lsn},   // not 8-aligned
      {known.segment_seq, uint64_t{1} << 40, known.lsn},  // past the file's end
      // So far past it that the offset plus a frame header wraps around to a small number: the
      // bounds check passed, and the frame header was read from before the read buffer.
      {known.segment_seq, ~uint64_t{0} - 7, known.lsn},
      {known.segment_seq, 0, known.lsn},                 // the segment header
      {known.segment_seq + 7, known.offset, known.lsn},  // no such segment
      {known.segment_seq, last[last.size() - 5].offset, last[last.size() - 5].lsn},  // after
  };
  for (const FramePosition& near : wrong) {
    SCOPED_TRACE("segment " + std::to_string(near.segment_seq) + " offset " +
                 std::to_string(near.offset) + " lsn " + std::to_string(near.lsn));
    LogOptions o = small_log_options();
    o.open_checks_from = k.from;
    o.open_checks_from_frame = near;
    auto log = Log::open(dir.path(), o);
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    // Followed from the segment's start, as without a position.
    EXPECT_GE((*log)->recovery_report().records_followed, last.size() - 11);
    EXPECT_EQ((*log)->durable_lsn(), k.end());
    EXPECT_EQ(read_lsns(**log, k.from, near), k.last_ten());
  }
}

}  // namespace
}  // namespace cairn::log
