// Segment rotation: with 1 MiB segments a few MiB of records make many segments whose names are
// consecutive, each starting at the LSN where the previous one ends, with headers that agree with
// their names; no spare file outlives close(), and every record reads back across the whole range.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <map>
#include <thread>

#include "blob_log.h"
#include "cairn/log/log.h"
#include "cairn/log/verify.h"
#include "damage_checks.h"
#include "frame_format.h"
#include "log_dir_files.h"
#include "support/blob_records.h"
#include "support/temp_dir.h"

namespace cairn::log {
namespace {

using cairn::testing::BlobRecord;
using cairn::testing::small_log_options;

bool has_spare_files(const std::filesystem::path& dir) {
  for (const std::string& name : cairn::testing::file_names(dir)) {
    if (name.starts_with(format::kPreallocPrefix)) return true;
  }
  return false;
}

// Appends from several threads until about `bytes` of frames are durable; returns how many records.
uint64_t fill(Log& log, uint64_t bytes, int threads) {
  std::vector<std::thread> appenders;
  const uint64_t per_thread = bytes / threads / 2000;  // records average ~2 KB
  for (int t = 0; t < threads; ++t) {
    appenders.emplace_back([&, t] {
      cairn::testing::BlobLogSpec spec{
          .records = per_thread,
          .producer = static_cast<uint32_t>(t),
          .data_bytes = [](uint64_t seq) { return 100 + (seq * 997) % 3800; }};
      cairn::testing::append_blobs(log, spec);
    });
  }
  for (auto& a : appenders) a.join();
  return per_thread * threads;
}

// Checks names, headers and the LSN chain of every segment; returns the segment count.
size_t expect_contiguous_segments(const std::filesystem::path& dir, uint64_t segment_bytes) {
  const auto paths = cairn::testing::segment_paths(dir);
  auto report = verify_log(dir, {});
  EXPECT_TRUE(report.ok()) << report.status().to_string();
  if (!report.ok()) return 0;
  EXPECT_TRUE(report->intact()) << report->damage->to_string();
  EXPECT_EQ(report->segments.size(), paths.size());
  for (size_t i = 0; i < paths.size() && i < report->segments.size(); ++i) {
    SCOPED_TRACE(paths[i].filename().string());
    auto name = format::parse_segment_file_name(paths[i].filename().string());
    EXPECT_TRUE(name.has_value());
    if (!name) continue;
    EXPECT_EQ(name->seq, i + 1) << "sequence numbers are consecutive from 1";
    EXPECT_EQ(std::filesystem::file_size(paths[i]), segment_bytes) << "segments are pre-sized";
    const auto block = cairn::testing::file_bytes(paths[i], 0, format::kSegmentHeaderSize);
    format::SegmentHeader header;
    std::string why;
    EXPECT_EQ(format::decode_segment_header(block.data(), &header, &why),
              format::HeaderState::kValid)
        << why;
    EXPECT_EQ(header.seq, name->seq);
    EXPECT_EQ(header.first_lsn, name->first_lsn);
    EXPECT_EQ(header.segment_bytes, segment_bytes);
    const SegmentSummary& s = report->segments[i];
    EXPECT_EQ(s.first_lsn, name->first_lsn);
    if (i > 0) {
      EXPECT_EQ(s.first_lsn, report->segments[i - 1].end_lsn)
          << "a segment starts where the previous one ends";
    }
    if (i + 1 < paths.size()) {
      EXPECT_GT(s.records, 0u) << "no segment but the last is empty";
    }
  }
  return paths.size();
}

// The records read back form one unbroken LSN chain from 0, each producer's in its own order, and
// each segment's first record has the segment's first LSN.
void expect_whole_chain(const std::vector<BlobRecord>& records, uint64_t expected_count) {
  ASSERT_EQ(records.size(), expected_count);
  std::map<uint32_t, uint64_t> next_seq;
  Lsn lsn = 0;
  uint64_t segment = 0;
  for (const BlobRecord& r : records) {
    ASSERT_EQ(r.lsn, lsn);
    EXPECT_TRUE(r.data_ok);
    EXPECT_EQ(r.seq, next_seq[r.producer]++) << "producer " << r.producer;
    ASSERT_GE(r.segment_seq, segment);
    if (r.segment_seq != segment) {
      EXPECT_EQ(r.segment_seq, segment + 1) << "records fill segments in order";
      EXPECT_EQ(r.offset, format::kSegmentHeaderSize)
          << "a segment's first record follows its header";
      segment = r.segment_seq;
    }
    lsn = r.end_lsn();
  }
}

TEST(SegmentRotation, ManySmallSegmentsFormOneContiguousLog) {
  cairn::testing::TempDir dir;
  const LogOptions options = small_log_options();
  uint64_t count = 0;
  {
    auto log = Log::open(dir.path(), options);
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    count = fill(**log, 8ull << 20, 3);
    EXPECT_EQ((*log)->stats().records_durable, count);
    ASSERT_TRUE((*log)->close().ok());
    EXPECT_FALSE(has_spare_files(dir.path())) << "close() removes the unused spare";
  }
  EXPECT_FALSE(has_spare_files(dir.path()));
  const size_t segments = expect_contiguous_segments(dir.path(), options.segment_bytes);
  EXPECT_GE(segments, 7u);
  expect_whole_chain(cairn::testing::read_blob_log(dir.path()), count);
}

TEST(SegmentRotation, ReopenedLogKeepsRotatingFromItsLastSegment) {
  cairn::testing::TempDir dir;
  const LogOptions options = small_log_options();
  uint64_t count = 0;
  size_t segments_before = 0;
  {
    auto log = Log::open(dir.path(), options);
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    count = fill(**log, 3ull << 20, 1);
  }
  segments_before = cairn::testing::segment_paths(dir.path()).size();
  {
    auto log = Log::open(dir.path(), options);
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    EXPECT_EQ((*log)->recovery_report().segments, segments_before);
    EXPECT_TRUE((*log)->recovery_report().damage.empty());
    // Producer 1 continues with fresh records (seq from 0 again, a producer of its own).
    cairn::testing::BlobLogSpec spec{.records = 1500,
                                     .producer = 1,
                                     .data_bytes = [](uint64_t seq) { return 500 + seq % 3000; }};
    cairn::testing::append_blobs(**log, spec);
    count += spec.records;
  }
  EXPECT_FALSE(has_spare_files(dir.path()));
  EXPECT_GT(expect_contiguous_segments(dir.path(), options.segment_bytes), segments_before);
  expect_whole_chain(cairn::testing::read_blob_log(dir.path()), count);
}

// A zero-filled spare made before close() (or being made then: close waits for it) is kept, as a
// recycled file of a number no segment reaches, and after the reopen it becomes the next segment:
// a restart does not cost the log a new file of zeros.
TEST(SegmentRotation, ASpareMadeBeforeCloseBecomesTheNextSegmentAfterTheReopen) {
  cairn::testing::TempDir dir;
  const LogOptions options = small_log_options();
  uint64_t count = 0;
  {
    auto log = Log::open(dir.path(), options);
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    count = fill(**log, 512u << 10, 1);  // half the first segment: a spare was asked for
    EXPECT_EQ(cairn::testing::segment_paths(dir.path()).size(), 1u);
    // Close waits for a spare being made, but one asked for and not yet begun is not made: on a
    // loaded machine the preparer may not have begun yet (this test failed so under ctest -j2).
    for (int i = 0; i < 1000 && !has_spare_files(dir.path()); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_TRUE(has_spare_files(dir.path())) << "the preparer made no spare in 10 s";
  }
  std::vector<std::string> kept;
  for (const std::string& name : cairn::testing::file_names(dir.path())) {
    if (name.starts_with(format::kRecycledPrefix)) kept.push_back(name);
  }
  EXPECT_FALSE(has_spare_files(dir.path()));
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0], std::string(format::kRecycledPrefix) +
                         std::to_string(format::kKeptSpareNumberBase) + ".tmp");
  {
    auto log = Log::open(dir.path(), options);
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    while (cairn::testing::segment_paths(dir.path()).size() < 2) {
      cairn::testing::BlobLogSpec spec{.records = 100, .producer = 1};
      cairn::testing::append_blobs(**log, spec, count);
      count += spec.records;
    }
    const LogStats stats = (*log)->stats();
    EXPECT_EQ(stats.segments_recycled, 1u) << stats.segments_created << " segments made";
    EXPECT_FALSE(std::filesystem::exists(dir.path() / kept[0]));
  }
  EXPECT_FALSE(has_spare_files(dir.path()));
  expect_contiguous_segments(dir.path(), options.segment_bytes);
}

// After a reopen no spare was asked for yet, so the first rotation asks for one then: of the size
// the next record needs. (It once asked for 1 MiB whatever the record: a record of about
// record_bytes_max did not fit, the writer rotated again, and the empty segment it left between
// two that hold records made the next open refuse the log.)
TEST(SegmentRotation, FirstRotationAfterAReopenMakesRoomForTheLargestRecord) {
  cairn::testing::TempDir dir;
  LogOptions options;  // the defaults: records up to 1 MiB, 2 MiB segments first
  options.segment_bytes = 8 << 20;
  const auto big = [](uint64_t) { return size_t{1'048'000}; };  // two do not fit in 2 MiB
  for (uint64_t round = 0; round < 3; ++round) {
    auto log = Log::open(dir.path(), options);
    ASSERT_TRUE(log.ok()) << "round " << round << ": " << log.status().to_string();
    EXPECT_TRUE((*log)->recovery_report().damage.empty()) << (*log)->recovery_report().damage;
    cairn::testing::BlobLogSpec spec{.records = 1, .data_bytes = big, .one_batch_each = true};
    ASSERT_EQ(cairn::testing::append_blobs(**log, spec, round).size(), 1u);
  }
  EXPECT_FALSE(cairn::testing::verify_damage(dir.path()).has_value());
  const auto records = cairn::testing::read_blob_log(dir.path());
  ASSERT_EQ(records.size(), 3u);
  for (uint64_t i = 0; i < records.size(); ++i) EXPECT_EQ(records[i].seq, i);
}

// A last segment that was made and never written (its writer died before the first batch), by a
// process whose records were smaller than the next one: the writer cannot seal it empty (an
// empty segment between two that hold records is refused), so a spare takes its place, under
// its name.
TEST(SegmentRotation, AnUnwrittenSegmentTooSmallForTheNextRecordIsReplaced) {
  cairn::testing::TempDir dir;
  const LogOptions small = small_log_options();  // records up to 64 KiB, 1 MiB segments
  std::vector<BlobRecord> before;
  {
    cairn::testing::BlobLogSpec spec{.records = 5};
    before = cairn::testing::write_blob_log(dir.path(), small, spec);
  }
  ASSERT_EQ(before.size(), 5u);
  const std::string empty = format::segment_file_name(2, before.back().end_lsn());
  std::ofstream(dir.path() / empty).close();
  std::filesystem::resize_file(dir.path() / empty, 1 << 20);  // zeros: made, never written
  LogOptions larger = small;
  larger.record_bytes_max = 2 << 20;
  larger.segment_bytes = 8 << 20;
  larger.batch_bytes_max = 4 << 20;
  larger.staging_bytes = 8 << 20;
  {
    auto log = Log::open(dir.path(), larger);
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    cairn::testing::BlobLogSpec spec{.records = 1,
                                     .producer = 2,
                                     .data_bytes = [](uint64_t) { return size_t{1'500'000}; },
                                     .one_batch_each = true};
    ASSERT_EQ(cairn::testing::append_blobs(**log, spec).size(), 1u);
  }
  const auto paths = cairn::testing::segment_paths(dir.path());
  ASSERT_EQ(paths.size(), 2u);
  EXPECT_EQ(paths.back().filename().string(), empty);
  EXPECT_GT(std::filesystem::file_size(paths.back()), uint64_t{1} << 20);
  EXPECT_FALSE(has_spare_files(dir.path()));
  EXPECT_FALSE(cairn::testing::verify_damage(dir.path()).has_value());
  auto again = Log::open(dir.path(), larger);
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_TRUE((*again)->recovery_report().damage.empty());
  const auto records = cairn::testing::read_blob_log(dir.path());
  ASSERT_EQ(records.size(), 6u);
  EXPECT_TRUE(cairn::testing::is_prefix({records.begin(), records.begin() + 5}, before, 5));
  EXPECT_EQ(records.back().producer, 2u);
  EXPECT_EQ(records.back().segment_seq, 2u);
}

}  // namespace
}  // namespace cairn::log

namespace cairn::log {
namespace {

// A log whose newest segment is number 99,999,999 (1 MiB segments written at 1 GB/s get there in
// about a day) rotates on into 100000000-....wal, and reopens with every record. Naming that
// segment was an assertion that ended the process, and again at every restart.
TEST(SegmentRotation, GoesOnPastTheEightDigitSequenceNumbers) {
  cairn::testing::TempDir dir;
  const LogOptions options = small_log_options();
  {
    format::SegmentHeader header;
    header.seq = 99'999'999;
    header.first_lsn = 0;
    header.segment_bytes = options.segment_bytes;
    std::vector<std::byte> bytes(options.segment_bytes);
    format::encode_segment_header(header, bytes.data());
    std::ofstream out(dir.path() / format::segment_file_name(99'999'999, 0), std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    ASSERT_TRUE(out.good());
  }
  uint64_t count = 0;
  {
    auto log = Log::open(dir.path(), options);
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    count = fill(**log, 3ull << 20, 1);
    ASSERT_TRUE((*log)->close().ok());
  }
  const auto paths = cairn::testing::segment_paths(dir.path());
  ASSERT_GE(paths.size(), 3u);
  EXPECT_EQ(paths[0].filename().string(), format::segment_file_name(99'999'999, 0));
  EXPECT_TRUE(paths[1].filename().string().starts_with("100000000-")) << paths[1];
  auto report = verify_log(dir.path(), {});
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  EXPECT_TRUE(report->intact()) << report->damage->to_string();
  EXPECT_EQ(report->segments.size(), paths.size());
  {
    auto log = Log::open(dir.path(), options);  // and on again after a restart
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    EXPECT_EQ((*log)->recovery_report().segments, paths.size());
    count += fill(**log, 2ull << 20, 1);
    ASSERT_TRUE((*log)->close().ok());
  }
  const std::vector<BlobRecord> records = cairn::testing::read_blob_log(dir.path());
  ASSERT_EQ(records.size(), count);
  Lsn lsn = 0;
  for (const BlobRecord& r : records) {
    ASSERT_EQ(r.lsn, lsn);
    EXPECT_TRUE(r.data_ok);
    EXPECT_GE(r.segment_seq, 99'999'999u);
    lsn = r.end_lsn();
  }
}

}  // namespace
}  // namespace cairn::log
