// A torn tail (damage in the last segment with nothing intact beyond one tail window) is what a
// crash mid-write leaves. verify_log names it, and Log::open in the default mode cuts it: every
// record before it stays, the cut bytes are kept in DIR/quarantine/, and the log goes on from the
// last intact record. Each case damages a copy of one intact log.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <fstream>

#include "blob_log.h"
#include "cairn/log/log.h"
#include "damage_checks.h"
#include "frame_format.h"
#include "log_dir_files.h"
#include "support/blob_records.h"
#include "support/every_offset.h"
#include "support/temp_dir.h"

namespace cairn::log {
namespace {

namespace fs = std::filesystem;
using cairn::testing::BlobLogSpec;
using cairn::testing::BlobRecord;
using cairn::testing::file_bytes;
using cairn::testing::small_log_options;

constexpr size_t kRecords = 30;

// One segment of kRecords records, each made durable on its own: every frame starts a block.
// The last one is small so that damaging it at every offset stays quick.
std::vector<BlobRecord> write_one_batch_each(const fs::path& dir) {
  BlobLogSpec spec{
      .records = kRecords,
      .data_bytes = [](uint64_t seq) { return seq + 1 == kRecords ? 13 : 150 + seq * 10; },
      .one_batch_each = true};
  return cairn::testing::write_blob_log(dir, small_log_options(), spec);
}

// Moves the frames of a one-segment log next to each other right after the header, as one batch
// would hold them. LSNs count positions in the stream of frames, not in the file, so the moved
// frames stay valid.
void pack_frames(const fs::path& segment, const std::vector<BlobRecord>& records) {
  const std::vector<std::byte> old = file_bytes(segment);
  std::vector<std::byte> packed(old.size());
  std::memcpy(packed.data(), old.data(), format::kSegmentHeaderSize);
  uint64_t at = format::kSegmentHeaderSize;
  for (const BlobRecord& r : records) {
    std::memcpy(&packed[at], &old[r.offset], r.frame_bytes());
    at += r.frame_bytes();
  }
  cairn::testing::write_bytes(segment, 0, packed);
}

// One segment whose last frame starts in one block and ends in the next, right after the frame
// before it: cutting it must rewrite that block and keep the frames at its start.
std::vector<BlobRecord> write_packed_across_a_block(const fs::path& dir) {
  // Filler records of fixed size, then one sized so that the last frame starts 24..48 bytes before
  // a block boundary (its header before the boundary, its payload across it).
  const uint32_t last_frame =
      format::frame_size(static_cast<uint32_t>(cairn::testing::make_blob(1, 5, 13).size()));
  uint64_t filler_frames = 0;
  for (uint64_t seq = 0; seq < 4; ++seq) {
    filler_frames +=
        format::frame_size(static_cast<uint32_t>(cairn::testing::make_blob(1, seq, 1500).size()));
  }
  size_t pad_data = 0;
  for (; pad_data < 4000; ++pad_data) {
    const uint64_t start =
        filler_frames +
        format::frame_size(static_cast<uint32_t>(cairn::testing::make_blob(1, 4, pad_data).size()));
    if (start % 4096 >= 4096 - 48 && start % 4096 <= 4096 - 24) break;
  }
  EXPECT_LT(pad_data, 4000u) << "no filler size puts the last frame across a block boundary";
  BlobLogSpec spec{.records = 6, .data_bytes = [pad_data](uint64_t seq) {
                     return seq < 4 ? 1500 : seq == 4 ? pad_data : 13;
                   }};
  std::vector<BlobRecord> records = cairn::testing::write_blob_log(dir, small_log_options(), spec);
  pack_frames(cairn::testing::segment_path(dir, 1), records);
  uint64_t at = format::kSegmentHeaderSize;
  for (BlobRecord& r : records) {
    r.offset = at;
    at += r.frame_bytes();
  }
  EXPECT_EQ(records.back().frame_bytes(), last_frame);
  EXPECT_LT(records.back().offset / 4096, (records.back().offset + last_frame - 1) / 4096);
  // The packed log is a valid log: the same records, now at the packed offsets.
  const auto reread = cairn::testing::read_blob_log(dir);
  EXPECT_TRUE(cairn::testing::is_prefix(reread, records, records.size()));
  for (size_t i = 0; i < reread.size() && i < records.size(); ++i) {
    EXPECT_EQ(reread[i].offset, records[i].offset);
  }
  return records;
}

// Opens the damaged log in `work` with the default mode and checks the cut: the records before
// the torn one are there, the cut bytes [cut, end of non-zero data) are in the quarantine and
// zero in the segment, and every byte before the cut is unchanged.
void expect_cut(const fs::path& work, const std::vector<BlobRecord>& records, size_t kept,
                uint64_t cut, const LogOptions& options = small_log_options()) {
  const fs::path segment = cairn::testing::segment_path(work, records.back().segment_seq);
  const std::vector<std::byte> damaged = file_bytes(segment);
  const uint64_t extent = cairn::testing::nonzero_end(segment);
  ASSERT_GT(extent, cut);
  {
    auto log = Log::open(work, options);
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    const RecoveryReport& report = (*log)->recovery_report();
    EXPECT_FALSE(report.damage.empty());
    EXPECT_EQ(report.end_lsn, kept == 0 ? 0 : records[kept - 1].end_lsn());
    EXPECT_EQ(report.bytes_quarantined, extent - cut);
    ASSERT_EQ(report.quarantined_files.size(), 1u);
  }
  EXPECT_TRUE(cairn::testing::is_prefix(cairn::testing::read_blob_log(work), records, kept));
  const std::string qname = cairn::testing::cut_name(segment.filename().string(), cut, "torn");
  ASSERT_EQ(cairn::testing::quarantine_names(work), std::vector<std::string>{qname});
  const auto kept_bytes = file_bytes(work / std::string(format::kQuarantineDir) / qname);
  ASSERT_EQ(kept_bytes.size(), extent - cut);
  EXPECT_TRUE(std::equal(kept_bytes.begin(), kept_bytes.end(), damaged.begin() + cut))
      << "the quarantine holds the cut bytes";
  const std::vector<std::byte> after = file_bytes(segment);
  EXPECT_TRUE(std::equal(after.begin(), after.begin() + cut, damaged.begin()))
      << "bytes before the cut are unchanged";
  EXPECT_TRUE(format::all_zero(after.data() + cut, after.size() - cut))
      << "the cut bytes are zero in the log";
}

// For each k in [0, size of the last frame]: zeroes the last frame from byte k to its end in a
// copy of `base`, then checks verify_log and Log::open against what those bytes still say. One
// copy serves all k: after each case the segment is restored (and compared with `base`) and the
// files in quarantine/ are removed, which spares the disk a directory tree per case. (The empty
// quarantine directory stays; recovery neither reads it nor minds it.)
void zero_last_frame_at_every_offset(const fs::path& root, const fs::path& base,
                                     const std::vector<BlobRecord>& records) {
  ASSERT_GE(records.size(), 2u);
  const BlobRecord& last = records.back();
  const BlobRecord& before_last = records[records.size() - 2];
  const uint64_t start = last.offset;
  const uint64_t size = last.frame_bytes();
  const uint64_t cut = before_last.offset + before_last.frame_bytes();  // end of intact data
  const std::string name = cairn::testing::segment_path(base, last.segment_seq).filename().string();
  const std::vector<std::byte> intact = file_bytes(base / name);
  const std::vector<std::byte> original(intact.begin() + start, intact.begin() + start + size);
  const fs::path work = root / "work";
  cairn::testing::copy_log(base, work);
  int torn_cases = 0;
  const uint64_t stride = cairn::testing::every_offset_stride();
  for (uint64_t k = 0; k <= size; k += stride) {
    SCOPED_TRACE("zeroed from byte " + std::to_string(k) + " of the last frame");
    cairn::testing::zero_bytes(work / name, start + k, start + size);
    const std::vector<std::byte> damaged = file_bytes(work / name, start, start + size);
    // What the bytes still say: unchanged (zeros over zeros), a clean end (the checksum word is
    // zero now: no frame starts there), or a torn frame.
    const bool unchanged = damaged == original;
    const bool header_gone = format::is_zero_word(damaged.data());
    const auto damage = cairn::testing::verify_damage(work);
    if (unchanged || header_gone) {
      EXPECT_FALSE(damage.has_value()) << damage->to_string();
      auto log = Log::open(work, cairn::testing::no_sync_log_options());
      ASSERT_TRUE(log.ok()) << log.status().to_string();
      EXPECT_TRUE((*log)->recovery_report().damage.empty());
      log->reset();
      const size_t kept = unchanged ? records.size() : records.size() - 1;
      EXPECT_TRUE(cairn::testing::is_prefix(cairn::testing::read_blob_log(work), records, kept));
      EXPECT_TRUE(cairn::testing::quarantine_names(work).empty());
    } else {
      ++torn_cases;
      EXPECT_TRUE(cairn::testing::damage_is(damage, DamageKind::kTornTail, name, start, last.lsn));
      expect_cut(work, records, records.size() - 1, cut, cairn::testing::no_sync_log_options());
    }
    // Back to the intact log for the next case.
    cairn::testing::write_bytes(work / name, cut,
                                std::span(intact).subspan(cut, start + size - cut));
    for (const std::string& q : cairn::testing::quarantine_names(work)) {
      fs::remove(work / std::string(format::kQuarantineDir) / q);
    }
    ASSERT_TRUE(file_bytes(work / name) == intact) << "restoring the copy";
  }
  // Zeroing from anywhere after the checksum word up to the end of the payload tears the frame.
  EXPECT_GT(torn_cases, static_cast<int>(format::kFrameHeaderSize / stride));
}

TEST(RecoveryCutsTornTail, LastFrameZeroedFromEveryOffset) {
  cairn::testing::TempDir root;
  const auto records = write_one_batch_each(root / "base");
  ASSERT_EQ(records.size(), kRecords);
  ASSERT_EQ(records.back().offset % format::kBlockSize, 0u);
  zero_last_frame_at_every_offset(root.path(), root / "base", records);
}

TEST(RecoveryCutsTornTail, LastFrameAcrossABlockBoundaryZeroedFromEveryOffset) {
  cairn::testing::TempDir root;
  const auto records = write_packed_across_a_block(root / "base");
  ASSERT_EQ(records.size(), 6u);
  zero_last_frame_at_every_offset(root.path(), root / "base", records);
}

TEST(RecoveryCutsTornTail, EveryFlippedBitOfTheLastFrameIsATornTail) {
  cairn::testing::TempDir root;
  const auto records = write_one_batch_each(root / "base");
  ASSERT_EQ(records.size(), kRecords);
  const BlobRecord& last = records.back();
  const std::string name = cairn::testing::segment_path(root / "base", 1).filename().string();
  const fs::path work = root / "work";
  cairn::testing::copy_log(root / "base", work);
  for (uint64_t byte = 0; byte < last.frame_bytes();
       byte += cairn::testing::every_offset_stride()) {
    for (int bit = 0; bit < 8; ++bit) {
      cairn::testing::flip_bit(work / name, last.offset + byte, bit);
      EXPECT_TRUE(cairn::testing::damage_is(cairn::testing::verify_damage(work),
                                            DamageKind::kTornTail, name, last.offset, last.lsn))
          << "byte " << byte << " bit " << bit;
      cairn::testing::flip_bit(work / name, last.offset + byte, bit);
    }
  }
  EXPECT_FALSE(cairn::testing::verify_damage(work).has_value());
  // Open cuts it, wherever the bit is: checksum, length, type, flags, LSN, payload, padding.
  const BlobRecord& prev = records[records.size() - 2];
  for (uint64_t byte : {0u, 9u, 12u, 15u, 16u, 30u, last.frame_bytes() - 1}) {
    SCOPED_TRACE("flipped byte " + std::to_string(byte));
    const fs::path copy = root / ("flip" + std::to_string(byte));
    cairn::testing::copy_log(root / "base", copy);
    cairn::testing::flip_bit(copy / name, last.offset + byte, 7);
    expect_cut(copy, records, records.size() - 1, prev.offset + prev.frame_bytes());
  }
}

TEST(RecoveryCutsTornTail, GarbageAfterTheLastFrameIsCutAndNoRecordIsLost) {
  cairn::testing::TempDir root;
  const auto records = write_one_batch_each(root / "base");
  ASSERT_EQ(records.size(), kRecords);
  const BlobRecord& last = records.back();
  const uint64_t end = last.offset + last.frame_bytes();
  ASSERT_NE(end % format::kBlockSize, 0u) << "the frame must leave padding in its block";
  const std::string name = cairn::testing::segment_path(root / "base", 1).filename().string();
  // A non-zero byte where a next frame's header would be, and one deeper in the padding.
  for (uint64_t at : {end + 3, end + 100}) {
    SCOPED_TRACE("garbage at " + std::to_string(at));
    const fs::path work = root / ("at" + std::to_string(at));
    cairn::testing::copy_log(root / "base", work);
    cairn::testing::flip_bit(work / name, at, 2);
    EXPECT_TRUE(cairn::testing::damage_is(cairn::testing::verify_damage(work),
                                          DamageKind::kTornTail, name, end, last.end_lsn()));
    expect_cut(work, records, records.size(), end);
  }
}

TEST(RecoveryCutsTornTail, LogContinuesAfterTheCutAndReopensIntact) {
  cairn::testing::TempDir root;
  const auto records = write_one_batch_each(root / "base");
  ASSERT_EQ(records.size(), kRecords);
  const BlobRecord& last = records.back();
  const fs::path segment = cairn::testing::segment_path(root / "base", 1);
  cairn::testing::zero_bytes(segment, last.offset + 30, last.offset + last.frame_bytes());
  {
    auto log = Log::open(root / "base", small_log_options());
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    BlobLogSpec more{.records = 5, .producer = 2};
    const auto lsns = cairn::testing::append_blobs(**log, more);
    ASSERT_EQ(lsns.size(), 5u);
    EXPECT_EQ(lsns.front(), last.lsn) << "the log goes on at the torn record's LSN";
  }
  EXPECT_FALSE(cairn::testing::verify_damage(root / "base").has_value());
  auto reread = cairn::testing::read_blob_log(root / "base");
  ASSERT_EQ(reread.size(), kRecords - 1 + 5);
  EXPECT_TRUE(cairn::testing::is_prefix({reread.begin(), reread.begin() + kRecords - 1}, records,
                                        kRecords - 1));
  EXPECT_EQ(reread[kRecords - 1].producer, 2u);
  {
    auto again = Log::open(root / "base", small_log_options());
    ASSERT_TRUE(again.ok()) << again.status().to_string();
    EXPECT_TRUE((*again)->recovery_report().damage.empty());
  }
}

// A log whose last segment was just created: its first write (header and first frames) is the
// one that was torn.
std::vector<BlobRecord> write_into_a_fresh_segment(const fs::path& dir, size_t records_after) {
  std::vector<BlobRecord> out;
  {
    auto log = Log::open(dir, small_log_options());
    EXPECT_TRUE(log.ok()) << log.status().to_string();
    if (!log.ok()) return out;
    // Most of the first segment in a few batches, then one durable record at a time until one
    // of them opens segment 2.
    BlobLogSpec bulk{.records = 300, .data_bytes = [](uint64_t) { return 2400; }};
    uint64_t seq = cairn::testing::append_blobs(**log, bulk).size();
    BlobLogSpec one{
        .records = 1, .data_bytes = [](uint64_t) { return 300; }, .one_batch_each = true};
    while (cairn::testing::segment_paths(dir).size() < 2 && seq < 2000) {
      cairn::testing::append_blobs(**log, one, seq++);
    }
    for (size_t i = 1; i < records_after; ++i) cairn::testing::append_blobs(**log, one, seq++);
  }
  out = cairn::testing::read_blob_log(dir);
  return out;
}

TEST(RecoveryCutsTornTail, PartlyWrittenHeaderOfAFreshLastSegmentIsCutAndTheLogContinuesThere) {
  cairn::testing::TempDir root;
  const auto records = write_into_a_fresh_segment(root / "base", 3);
  ASSERT_FALSE(records.empty());
  ASSERT_EQ(cairn::testing::segment_paths(root / "base").size(), 2u);
  const size_t in_first = std::count_if(records.begin(), records.end(),
                                        [](const BlobRecord& r) { return r.segment_seq == 1; });
  ASSERT_EQ(records.size() - in_first, 3u) << "three records in the fresh segment";
  const BlobRecord& first_new = records[in_first];
  const std::string name = cairn::testing::segment_path(root / "base", 2).filename().string();

  // The first write into the segment (header and first frames) was torn: only a prefix of the
  // header reached the disk (the rest of the spare still holds zeros). Three lengths: the magic
  // alone, up to the first LSN, up to the creation time.
  const auto original_header = file_bytes(root / "base" / name, 0, format::kSegmentHeaderSize);
  for (const size_t kept : {8u, 28u, 44u}) {
    SCOPED_TRACE("header prefix of " + std::to_string(kept) + " bytes");
    const fs::path work = root / "work";
    fs::remove_all(work);
    cairn::testing::copy_log(root / "base", work);
    cairn::testing::zero_bytes(work / name, 0, cairn::testing::nonzero_end(work / name));
    cairn::testing::write_bytes(work / name, 0, std::span(original_header).first(kept));
    EXPECT_TRUE(cairn::testing::damage_is(cairn::testing::verify_damage(work),
                                          DamageKind::kTornTail, name, 0, first_new.lsn));
    const uint64_t extent = cairn::testing::nonzero_end(work / name);
    {
      auto log = Log::open(work, small_log_options());
      ASSERT_TRUE(log.ok()) << log.status().to_string();
      const RecoveryReport& report = (*log)->recovery_report();
      EXPECT_FALSE(report.damage.empty());
      EXPECT_EQ(report.end_lsn, first_new.lsn);
      EXPECT_EQ(report.segments, 2u);
      EXPECT_EQ(report.bytes_quarantined, extent);
      // The log continues in the same segment, which gets a new header.
      BlobLogSpec more{.records = 4, .producer = 9};
      const auto lsns = cairn::testing::append_blobs(**log, more);
      ASSERT_EQ(lsns.size(), 4u);
      EXPECT_EQ(lsns.front(), first_new.lsn);
    }
    EXPECT_EQ(cairn::testing::quarantine_names(work),
              std::vector<std::string>{cairn::testing::cut_name(name, 0, "torn")});
    EXPECT_EQ(cairn::testing::segment_paths(work).size(), 2u);
    EXPECT_EQ(cairn::testing::segment_paths(work).back().filename().string(), name);
    EXPECT_FALSE(cairn::testing::verify_damage(work).has_value());
    const auto reread = cairn::testing::read_blob_log(work);
    ASSERT_EQ(reread.size(), in_first + 4);
    EXPECT_TRUE(cairn::testing::is_prefix(
        std::vector<BlobRecord>(reread.begin(), reread.begin() + in_first), records, in_first));
    EXPECT_EQ(reread[in_first].producer, 9u);
    EXPECT_EQ(reread[in_first].segment_seq, 2u);
    EXPECT_EQ(reread[in_first].offset, format::kSegmentHeaderSize);
  }
}

// What our writer cannot have left in the last segment's header — a newer format version under a
// valid checksum, another program's file named like a segment, garbage — is refused like any
// corruption: the error names the file and the reason, and not a byte changes (no quarantine, no
// zeroing), whatever the last segment holds after it.
TEST(RecoveryCutsTornTail, HeaderOurWriterCannotHaveWrittenIsRefusedAndNothingChanges) {
  cairn::testing::TempDir root;
  const auto records = write_into_a_fresh_segment(root / "base", 3);
  ASSERT_FALSE(records.empty());
  const std::string name = cairn::testing::segment_path(root / "base", 2).filename().string();
  const auto parsed = format::parse_segment_file_name(name);
  ASSERT_TRUE(parsed.has_value());

  format::SegmentHeader newer;
  newer.version = format::kFormatVersion + 1;
  newer.seq = parsed->seq;
  newer.first_lsn = parsed->first_lsn;
  newer.segment_bytes = small_log_options().segment_bytes;
  std::vector<std::byte> newer_header(format::kSegmentHeaderSize);
  format::encode_segment_header(newer, newer_header.data());
  std::vector<std::byte> garbage(format::kSegmentHeaderSize + 4096);
  for (size_t i = 0; i < garbage.size(); ++i) garbage[i] = std::byte((i * 2654435761u) >> 13);
  const std::string text = "#!/bin/sh\necho not a segment\n";
  const std::vector<std::byte> foreign(
      reinterpret_cast<const std::byte*>(text.data()),
      reinterpret_cast<const std::byte*>(text.data()) + text.size());
  struct Case {
    const char* what;
    std::span<const std::byte> bytes;
    bool whole_file;  // the file is replaced by these bytes
    const char* reason;
  };
  const Case cases[] = {
      {"newer format version", newer_header, false, "newer"},
      {"garbage over the header", std::span(garbage).first(format::kSegmentHeaderSize), false,
       "magic"},
      {"garbage over the header and first frame", garbage, false, "magic"},
      {"a foreign file", foreign, true, "shorter than a segment header"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    const fs::path work = root / "work";
    fs::remove_all(work);
    cairn::testing::copy_log(root / "base", work);
    if (c.whole_file) {
      std::ofstream(work / name, std::ios::binary | std::ios::trunc)
          .write(reinterpret_cast<const char*>(c.bytes.data()),
                 static_cast<std::streamsize>(c.bytes.size()));
    } else {
      cairn::testing::write_bytes(work / name, 0, c.bytes);
    }
    const auto damage = cairn::testing::verify_damage(work);
    ASSERT_TRUE(damage.has_value());
    EXPECT_EQ(damage->kind, DamageKind::kCorruption) << damage->to_string();
    EXPECT_EQ(damage->file, name);
    const std::string message = cairn::testing::expect_open_refused(work, small_log_options());
    EXPECT_NE(message.find(name), std::string::npos) << message;
    EXPECT_NE(message.find(c.reason), std::string::npos) << message;
    EXPECT_TRUE(cairn::testing::quarantine_names(work).empty());
  }
}

}  // namespace
}  // namespace cairn::log
