// A torn write whose first sectors were lost leaves the frames of its later sectors after a clean
// end of the data: intact, with the LSNs the stream would give them there, but never acknowledged.
// Recovery must not leave them in place. The log goes on at that very offset with the same LSNs,
// so a later torn write there (its first sectors landed, the rest not) would put them back
// between its own frames, and a reader would follow them as records no writer ever made
// after that point. So `verify_log` names them a torn tail and `Log::open` cuts them like one:
// the bytes go to the quarantine and are zeroed, and every record before them stays.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

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

constexpr size_t kKept = 6;     // acknowledged records, one batch each
constexpr size_t kInBatch = 8;  // the torn batch's records
// The batch's frames fill 512-byte sectors exactly, as in the worst case: a disk tears a write at
// sector boundaries, so a torn write can then leave whole frames and nothing else.
constexpr uint32_t kBatchFrameBytes = 512;

// Blob data bytes that make a frame of kBatchFrameBytes (for producers and seqs above 0).
size_t data_for_batch_frame() {
  for (size_t d = 0; d < kBatchFrameBytes; ++d) {
    const auto size = static_cast<uint32_t>(cairn::testing::make_blob(1, kKept, d).size());
    if (format::frame_size(size) == kBatchFrameBytes) return d;
  }
  ADD_FAILURE() << "no Blob makes a frame of " << kBatchFrameBytes << " bytes";
  return 0;
}

// A one-segment log of kKept records of producer 1, each in a batch of its own, then one batch of
// kInBatch records of `producer` right after them (packed as one batch holds them: LSNs count the
// stream, not the file, so the moved frames stay valid). Returns every record; `batch_at` is where
// the last batch starts (a block boundary), `batch_end` where its frames end.
std::vector<BlobRecord> write_log_with_last_batch(const fs::path& dir, uint32_t producer,
                                                  uint64_t* batch_at, uint64_t* batch_end) {
  BlobLogSpec kept{.records = kKept,
                   .data_bytes = [](uint64_t seq) { return 300 + (seq * 52) % 400; },
                   .one_batch_each = true};
  cairn::testing::write_blob_log(dir, small_log_options(), kept);
  {
    auto log = Log::open(dir, small_log_options());
    EXPECT_TRUE(log.ok()) << log.status().to_string();
    if (!log.ok()) return {};
    const size_t data = data_for_batch_frame();
    BlobLogSpec batch{.records = kInBatch,
                      .producer = producer,
                      .data_bytes = [data](uint64_t) { return data; },
                      .one_batch_each = true};
    cairn::testing::append_blobs(**log, batch, kKept);
  }
  std::vector<BlobRecord> records = cairn::testing::read_blob_log(dir);
  EXPECT_EQ(records.size(), kKept + kInBatch);
  if (records.size() != kKept + kInBatch) return {};
  const fs::path segment = cairn::testing::segment_path(dir, 1);
  const std::vector<std::byte> old = file_bytes(segment);
  const uint64_t at = records[kKept].offset;
  EXPECT_EQ(at % format::kBlockSize, 0u);
  std::vector<std::byte> packed;
  for (size_t i = kKept; i < records.size(); ++i) {
    EXPECT_EQ(records[i].frame_bytes(), kBatchFrameBytes);
    const auto* f = old.data() + records[i].offset;
    packed.insert(packed.end(), f, f + records[i].frame_bytes());
    records[i].offset = at + (packed.size() - records[i].frame_bytes());
  }
  cairn::testing::zero_bytes(segment, at, cairn::testing::nonzero_end(segment));
  cairn::testing::write_bytes(segment, at, packed);
  *batch_at = at;
  *batch_end = at + packed.size();
  const auto reread = cairn::testing::read_blob_log(dir);
  EXPECT_TRUE(cairn::testing::is_prefix(reread, records, records.size()));
  return records;
}

// The first `lost` bytes of the last batch never reached the disk (zeros, as in a new segment);
// the rest did. The records before the batch are all there is, and nothing of the batch may
// stay after the open.
void expect_stale_frames_cut(const fs::path& base, const fs::path& work,
                             const std::vector<BlobRecord>& records, uint64_t batch_at,
                             uint64_t lost) {
  const std::string name = cairn::testing::segment_path(base, 1).filename().string();
  fs::remove_all(work);
  cairn::testing::copy_log(base, work);
  cairn::testing::zero_bytes(work / name, batch_at, batch_at + lost);
  const uint64_t extent = cairn::testing::nonzero_end(work / name);
  // Is an intact frame of the batch left after the lost bytes? Only then is there anything to cut.
  bool frame_left = false;
  for (size_t i = kKept; i < records.size(); ++i)
    frame_left |= records[i].offset >= batch_at + lost;
  const Lsn end_lsn = records[kKept - 1].end_lsn();
  // The cut starts where the last kept frame ends (the rest of its block is its padding).
  const uint64_t data_end = records[kKept - 1].offset + records[kKept - 1].frame_bytes();

  const auto damage = cairn::testing::verify_damage(work);
  if (frame_left) {
    EXPECT_TRUE(cairn::testing::damage_is(damage, DamageKind::kTornTail, name, data_end, end_lsn));
  }
  {
    auto log = Log::open(work, cairn::testing::no_sync_log_options());
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    const RecoveryReport& report = (*log)->recovery_report();
    EXPECT_EQ(report.end_lsn, end_lsn);
    if (frame_left) {
      EXPECT_FALSE(report.damage.empty());
      EXPECT_EQ(report.bytes_quarantined, extent - data_end);
    }
  }
  if (frame_left) {
    // Nothing of the batch is left where the next writes will go, and it is kept aside.
    EXPECT_EQ(cairn::testing::nonzero_end(work / name), data_end);
    EXPECT_EQ(cairn::testing::quarantine_names(work),
              std::vector<std::string>{cairn::testing::cut_name(name, data_end, "torn")});
  }
  EXPECT_FALSE(cairn::testing::verify_damage(work).has_value());
  const auto reread = cairn::testing::read_blob_log(work);
  EXPECT_TRUE(cairn::testing::is_prefix(reread, records, kKept));
  EXPECT_EQ(reread.size(), kKept);
}

TEST(StaleFramesAfterTail, FramesOfATornWriteWhoseFirstBytesWereLostAreCut) {
  cairn::testing::TempDir root;
  uint64_t batch_at = 0;
  uint64_t batch_end = 0;
  const auto records = write_log_with_last_batch(root / "base", 1, &batch_at, &batch_end);
  ASSERT_EQ(records.size(), kKept + kInBatch);
  // What is left intact changes only where a frame begins: the losses around each frame's start
  // (8 bytes before, at, and after it, and halfway into the frame), from the first 8 bytes (a
  // zero checksum word where the batch starts: a clean end) to all but the last frame's end.
  std::vector<uint64_t> losses;
  for (size_t i = kKept; i < records.size(); ++i) {
    const uint64_t start = records[i].offset - batch_at;
    for (uint64_t lost : {start - 8, start, start + 8, start + kBatchFrameBytes / 2}) {
      if (lost >= 8 && lost < batch_end - batch_at - 8) losses.push_back(lost);
    }
  }
  // Every k-th loss with CAIRN_EVERY_OFFSET_STRIDE=k (support/every_offset.h).
  const uint64_t stride = cairn::testing::every_offset_stride();
  for (size_t k = 0; k < losses.size(); k += stride) {
    const uint64_t lost = losses[k];
    SCOPED_TRACE("first " + std::to_string(lost) + " bytes of the batch lost");
    expect_stale_frames_cut(root / "base", root / "work", records, batch_at, lost);
    if (::testing::Test::HasFailure()) break;
  }
}

// The whole scenario. After the cut the log's next batch goes where the torn one was, with the
// same LSNs. Say it holds records of the same sizes and is torn in turn: its first sector lands,
// the rest keeps what the disk held before. A reader must find the new batch's first record and
// nothing after it, never a record of the first batch (before the cut existed, it found the
// new first record followed by seven old ones).
TEST(StaleFramesAfterTail, ASecondTornWriteAtTheSameOffsetNeverBringsOldFramesBack) {
  cairn::testing::TempDir root;
  uint64_t batch_at = 0;
  uint64_t batch_end = 0;
  const auto records = write_log_with_last_batch(root / "first", 1, &batch_at, &batch_end);
  ASSERT_EQ(records.size(), kKept + kInBatch);
  // The second batch's bytes: the same sizes from producer 2, so the same LSNs at the same offsets.
  uint64_t second_at = 0;
  uint64_t second_end = 0;
  const auto second = write_log_with_last_batch(root / "second", 2, &second_at, &second_end);
  ASSERT_EQ(second.size(), kKept + kInBatch);
  ASSERT_EQ(second_at, batch_at);
  ASSERT_EQ(second[kKept].lsn, records[kKept].lsn);
  const std::string name = cairn::testing::segment_path(root / "first", 1).filename().string();
  const std::vector<std::byte> second_sector =
      file_bytes(root / "second" / name, second_at, second_at + 512);

  // Crash 1: the first batch lost its first sector. The open cuts the rest.
  const fs::path work = root / "work";
  cairn::testing::copy_log(root / "first", work);
  cairn::testing::zero_bytes(work / name, batch_at, batch_at + 512);
  {
    auto log = Log::open(work, small_log_options());
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    ASSERT_EQ((*log)->recovery_report().end_lsn, records[kKept - 1].end_lsn());
  }
  // The writer's next batch does start there (checked on a copy).
  {
    const fs::path probe = root / "probe";
    cairn::testing::copy_log(work, probe);
    auto log = Log::open(probe, small_log_options());
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    BlobLogSpec one{.records = 1, .producer = 3, .data_bytes = [](uint64_t) { return 100; }};
    cairn::testing::append_blobs(**log, one, 1);
  }
  const auto probed = cairn::testing::read_blob_log(root / "probe");
  ASSERT_EQ(probed.size(), kKept + 1);
  ASSERT_EQ(probed.back().offset, batch_at);
  ASSERT_EQ(probed.back().lsn, records[kKept].lsn);

  // Crash 2: the second batch's first sector landed over what the open left there.
  cairn::testing::write_bytes(work / name, batch_at, second_sector);
  const auto reread = cairn::testing::read_blob_log(work);
  ASSERT_EQ(reread.size(), kKept + 1);
  EXPECT_TRUE(cairn::testing::is_prefix({reread.begin(), reread.begin() + kKept}, records, kKept));
  EXPECT_EQ(reread[kKept].producer, 2u);
  EXPECT_EQ(reread[kKept].lsn, records[kKept].lsn);
}

// The same in a segment whose header was never written: the first write (header and first
// frames) lost its first sectors, and frames of its later sectors are on disk. They are cut from
// offset 0, and the log goes on in that segment.
TEST(StaleFramesAfterTail, FramesAfterAHeaderThatNeverLandedAreCut) {
  cairn::testing::TempDir root;
  const fs::path base = root / "base";
  // The header and the first frames lost; from a frame in the middle of a block on, the write
  // landed. The first frame kept must start mid-block (only the fine search sees it). The writer
  // batches the records as it finds them published, so which ones share a block depends on
  // timing (a loaded machine made the first past the header's next sector a batch's first, at a
  // block): the log is written again, a few times at most, until one starts mid-block.
  std::vector<BlobRecord> records;
  const BlobRecord* survivor = nullptr;
  for (int attempt = 0; attempt < 5 && survivor == nullptr; ++attempt) {
    fs::remove_all(base);
    BlobLogSpec spec{.records = 12, .data_bytes = [](uint64_t) { return 200; }};
    cairn::testing::write_blob_log(base, small_log_options(), spec);
    records = cairn::testing::read_blob_log(base);
    ASSERT_EQ(records.size(), 12u);
    for (const BlobRecord& r : records) {
      if (r.offset > format::kSegmentHeaderSize + 600 && r.offset % format::kBlockSize != 0) {
        survivor = &r;
        break;
      }
    }
  }
  ASSERT_NE(survivor, nullptr) << "in five logs every record went out alone";
  const std::string name = cairn::testing::segment_path(base, 1).filename().string();
  cairn::testing::zero_bytes(base / name, 0, survivor->offset);
  const uint64_t extent = cairn::testing::nonzero_end(base / name);
  EXPECT_TRUE(cairn::testing::damage_is(cairn::testing::verify_damage(base), DamageKind::kTornTail,
                                        name, 0, 0));
  {
    auto log = Log::open(base, small_log_options());
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    EXPECT_EQ((*log)->recovery_report().end_lsn, 0u);
    EXPECT_EQ((*log)->recovery_report().bytes_quarantined, extent);
    BlobLogSpec more{.records = 3, .producer = 5};
    const auto lsns = cairn::testing::append_blobs(**log, more);
    ASSERT_EQ(lsns.size(), 3u);
    EXPECT_EQ(lsns.front(), 0u);
  }
  const auto reread = cairn::testing::read_blob_log(base);
  ASSERT_EQ(reread.size(), 3u);
  for (const BlobRecord& r : reread) EXPECT_EQ(r.producer, 5u);
}

}  // namespace
}  // namespace cairn::log
