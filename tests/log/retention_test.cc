// Segment sizes, retention and recycled segments: a new log starts small and its segments grow;
// remove_segments_before takes whole old segments out (never the one being written, never what an
// open reader may read, never a segment sealed within the window) and recycles them into spares,
// so the next segments are written over old blocks; and readers and recovery tell a recycled
// segment's old frames from new ones by their LSNs, wherever the new data ends.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "blob_log.h"
#include "cairn/log/io.h"
#include "cairn/log/log.h"
#include "cairn/log/reader.h"
#include "cairn/log/verify.h"
#include "damage_checks.h"
#include "frame_format.h"
#include "log_dir_files.h"
#include "support/blob_records.h"
#include "support/every_offset.h"
#include "support/forwarding_file_system.h"
#include "support/temp_dir.h"

namespace cairn::log {
namespace {

namespace fs = std::filesystem;
using cairn::testing::BlobLogSpec;
using cairn::testing::BlobRecord;
using cairn::testing::small_log_options;
using std::chrono::system_clock;

const auto kLongAgo = system_clock::now() + std::chrono::hours(1);  // "sealed before": any time

std::vector<uint64_t> segment_sizes(const fs::path& dir) {
  std::vector<uint64_t> out;
  for (const fs::path& p : cairn::testing::segment_paths(dir)) out.push_back(fs::file_size(p));
  return out;
}

size_t files_with_prefix(const fs::path& dir, std::string_view prefix) {
  size_t n = 0;
  for (const std::string& name : cairn::testing::file_names(dir)) n += name.starts_with(prefix);
  return n;
}

TEST(SegmentSizes, ANewLogStartsSmallAndEachSegmentDoublesUpToTheMaximum) {
  cairn::testing::TempDir dir;
  LogOptions o = small_log_options();
  o.segment_bytes = 8 << 20;
  o.segment_bytes_initial = 1 << 20;
  {
    auto log = Log::open(dir.path(), o);
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    EXPECT_EQ(segment_sizes(dir.path()), std::vector<uint64_t>{1u << 20});
    BlobLogSpec spec{.records = 6000, .data_bytes = [](uint64_t) { return 4000; }};
    cairn::testing::append_blobs(**log, spec);  // about 24 MiB
  }
  const std::vector<uint64_t> sizes = segment_sizes(dir.path());
  ASSERT_GE(sizes.size(), 5u);
  EXPECT_EQ(std::vector<uint64_t>(sizes.begin(), sizes.begin() + 5),
            (std::vector<uint64_t>{1u << 20, 2u << 20, 4u << 20, 8u << 20, 8u << 20}));
  EXPECT_FALSE(cairn::testing::verify_damage(dir.path()).has_value());
  EXPECT_EQ(cairn::testing::read_blob_log(dir.path()).size(), 6000u);
}

TEST(SegmentSizes, TheFirstSegmentHoldsTheLargestRecord) {
  cairn::testing::TempDir dir;
  LogOptions o = small_log_options();
  o.segment_bytes = 16 << 20;
  o.record_bytes_max = 1500u << 10;  // over 1 MiB
  o.batch_bytes_max = 2 << 20;
  o.staging_bytes = 4 << 20;
  auto log = Log::open(dir.path(), o);
  ASSERT_TRUE(log.ok()) << log.status().to_string();
  EXPECT_EQ(segment_sizes(dir.path()), std::vector<uint64_t>{2u << 20});
  ASSERT_TRUE(
      (*log)
          ->append_durable(cairn::testing::kBlobType, cairn::testing::make_blob(1, 1, 1400u << 10))
          .ok());
}

class Retention : public ::testing::Test {
 protected:
  void SetUp() override {
    options_ = small_log_options();  // 1 MiB segments
    options_.recycled_segments_max = 2;
    auto log = Log::open(dir_.path(), options_);
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    log_ = std::move(*log);
    lsns_ = cairn::testing::append_blobs(*log_, cairn::testing::four_segment_spec());
    ASSERT_GE(cairn::testing::segment_paths(dir_.path()).size(), 4u);
  }
  // The first LSN of segment `seq` (from its name).
  Lsn first_lsn_of(uint64_t seq) const {
    const auto name = cairn::testing::segment_path(dir_.path(), seq).filename().string();
    return format::parse_segment_file_name(name)->first_lsn;
  }

  cairn::testing::TempDir dir_;
  LogOptions options_;
  std::unique_ptr<Log> log_;
  std::vector<Lsn> lsns_;
};

TEST_F(Retention, RemovedSegmentsAreRecycledAndTheLogStaysWholeFromItsNewFirstRecord) {
  const Lsn keep_from = first_lsn_of(3);
  auto removed = log_->remove_segments_before(keep_from, kLongAgo);
  ASSERT_TRUE(removed.ok()) << removed.status().to_string();
  EXPECT_EQ(removed->segments, 2u);
  EXPECT_EQ(removed->first_lsn, keep_from);
  EXPECT_EQ(log_->first_lsn(), keep_from);
  EXPECT_EQ(cairn::testing::segment_paths(dir_.path()).front().filename().string(),
            format::segment_file_name(3, keep_from));
  EXPECT_EQ(files_with_prefix(dir_.path(), format::kRecycledPrefix), 2u);

  // The next segments are made from the recycled files: nothing is written twice.
  const auto more = cairn::testing::append_blobs(*log_, cairn::testing::four_segment_spec(), 5000);
  EXPECT_GE(log_->stats().segments_recycled, 2u);
  ASSERT_TRUE(log_->close().ok());
  log_.reset();
  EXPECT_FALSE(cairn::testing::verify_damage(dir_.path()).has_value());
  auto reopened = Log::open(dir_.path(), options_);
  ASSERT_TRUE(reopened.ok()) << reopened.status().to_string();
  EXPECT_EQ((*reopened)->recovery_report().damage, "");
  EXPECT_EQ((*reopened)->first_lsn(), keep_from);
  ASSERT_TRUE((*reopened)->close().ok());
  // Every record from the new first one on, and nothing before it (a reader from 0 starts there).
  const auto records = cairn::testing::read_blob_log(dir_.path());
  ASSERT_FALSE(records.empty());
  EXPECT_EQ(records.front().lsn, keep_from);
  EXPECT_EQ(records.back().lsn, more.back());
  const size_t kept = static_cast<size_t>(
      std::count_if(lsns_.begin(), lsns_.end(), [&](Lsn l) { return l >= keep_from; }));
  EXPECT_EQ(records.size(), kept + more.size());
}

// Recycled files outlive a restart (and so does the zero-filled spare made before the close): the
// reopened log's next segments are made from them, not from new files of zeros; a file the log
// could not have made is deleted at the open, and one that holds junk is as good as any recycled
// file.
TEST_F(Retention, RecycledFilesOutliveARestart) {
  auto removed = log_->remove_segments_before(first_lsn_of(3), kLongAgo);
  ASSERT_TRUE(removed.ok()) << removed.status().to_string();
  ASSERT_EQ(removed->segments, 2u);
  ASSERT_TRUE(log_->close().ok());
  log_.reset();
  // The two segments, and the zero-filled spare made for the next segment, kept as one too.
  EXPECT_EQ(files_with_prefix(dir_.path(), format::kRecycledPrefix), 3u);
  EXPECT_TRUE(fs::exists(dir_.path() / (std::string(format::kRecycledPrefix) +
                                        std::to_string(format::kKeptSpareNumberBase) + ".tmp")));
  EXPECT_EQ(files_with_prefix(dir_.path(), format::kPreallocPrefix), 0u);
  // Junk over one of them, and a file of a size the log never makes.
  std::string junk_path;
  for (const auto& e : std::filesystem::directory_iterator(dir_.path())) {
    if (e.path().filename().string().starts_with(format::kRecycledPrefix)) junk_path = e.path();
  }
  {
    std::ofstream junk(junk_path, std::ios::binary | std::ios::in | std::ios::out);
    const std::string noise(64 << 10, '\x5a');
    junk.write(noise.data(), static_cast<std::streamsize>(noise.size()));
  }
  const auto odd = dir_.path() / (std::string(format::kRecycledPrefix) + "999.tmp");
  std::ofstream(odd) << "not a whole block";

  auto reopened = Log::open(dir_.path(), options_);
  ASSERT_TRUE(reopened.ok()) << reopened.status().to_string();
  log_ = std::move(*reopened);
  EXPECT_FALSE(std::filesystem::exists(odd));
  const auto more = cairn::testing::append_blobs(*log_, cairn::testing::four_segment_spec(), 5000);
  const LogStats stats = log_->stats();
  EXPECT_GE(stats.segments_recycled, 2u) << stats.segments_created << " segments made";
  ASSERT_TRUE(log_->close().ok());
  log_.reset();
  EXPECT_FALSE(cairn::testing::verify_damage(dir_.path()).has_value());
  auto again = Log::open(dir_.path(), options_);
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_EQ((*again)->recovery_report().damage, "");
  ASSERT_TRUE((*again)->close().ok());
  const auto records = cairn::testing::read_blob_log(dir_.path());
  ASSERT_FALSE(records.empty());
  EXPECT_EQ(records.front().lsn, first_lsn_of(3));
  EXPECT_EQ(records.back().lsn, more.back());
}

// Recycled files beside no segment at all (the segments deleted by hand, or moved elsewhere): the
// log starts afresh at LSN 0, and a recycled file's old frames could carry LSNs at or past the new
// stream's, where readers and recovery rely on old frames having lower ones. They are deleted,
// not reused (they were, since recycled files outlive a restart); the new log reopens whole after
// a crash.
TEST_F(Retention, RecycledFilesBesideNoSegmentAreNotReused) {
  ASSERT_TRUE(log_->close().ok());
  log_.reset();
  // A recycled file made of the last segment (frames at LSNs past a new log's first megabyte),
  // and no segment left.
  const std::vector<fs::path> segments = cairn::testing::segment_paths(dir_.path());
  ASSERT_GE(segments.size(), 3u);
  fs::rename(segments.back(), dir_.path() / (std::string(format::kRecycledPrefix) + "9.tmp"));
  for (const fs::path& p : cairn::testing::segment_paths(dir_.path())) fs::remove(p);
  fs::remove(dir_.path() / "CLOSED");

  auto fresh = Log::open(dir_.path(), options_);
  ASSERT_TRUE(fresh.ok()) << fresh.status().to_string();
  log_ = std::move(*fresh);
  EXPECT_EQ(log_->recovery_report().end_lsn, 0u);
  // Into the second segment, a little way.
  std::vector<Lsn> lsns;
  while (cairn::testing::segment_paths(dir_.path()).size() < 2) {
    const auto more = cairn::testing::append_blobs(*log_, BlobLogSpec{.records = 50}, lsns.size());
    ASSERT_EQ(more.size(), 50u);
    lsns.insert(lsns.end(), more.begin(), more.end());
  }
  const auto last = cairn::testing::append_blobs(*log_, BlobLogSpec{.records = 5}, lsns.size());
  lsns.insert(lsns.end(), last.begin(), last.end());
  EXPECT_EQ(log_->stats().segments_recycled, 0u);
  ASSERT_TRUE(log_->close().ok());
  log_.reset();
  fs::remove(dir_.path() / "CLOSED");  // as after a crash: the open searches past the end

  auto again = Log::open(dir_.path(), options_);
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_EQ((*again)->recovery_report().damage, "");
  ASSERT_TRUE((*again)->close().ok());
  const auto records = cairn::testing::read_blob_log(dir_.path());
  ASSERT_EQ(records.size(), lsns.size());
  EXPECT_EQ(records.back().lsn, lsns.back());
}

TEST_F(Retention, TheSegmentBeingWrittenNeverLeaves) {
  auto removed = log_->remove_segments_before(kNoLsn, kLongAgo);
  ASSERT_TRUE(removed.ok()) << removed.status().to_string();
  EXPECT_EQ(cairn::testing::segment_paths(dir_.path()).size(), 1u);
  EXPECT_GT(removed->segments, 0u);
  ASSERT_TRUE(
      log_->append_durable(cairn::testing::kBlobType, cairn::testing::make_blob(9, 1, 99)).ok());
}

TEST_F(Retention, SegmentsSealedWithinTheWindowStay) {
  auto removed = log_->remove_segments_before(kNoLsn, system_clock::now() - std::chrono::hours(1));
  ASSERT_TRUE(removed.ok()) << removed.status().to_string();
  EXPECT_EQ(removed->segments, 0u);
  EXPECT_EQ(log_->first_lsn(), 0u);
}

TEST_F(Retention, AnOpenReaderKeepsWhatItMayRead) {
  {
    auto reader = log_->read_from(lsns_.front());
    ASSERT_TRUE(reader.ok()) << reader.status().to_string();
    auto removed = log_->remove_segments_before(kNoLsn, kLongAgo);
    ASSERT_TRUE(removed.ok());
    EXPECT_EQ(removed->segments, 0u) << "a segment an open reader starts in left the log";
    // It reads on to the end.
    std::vector<Lsn> read;
    const Status st = cairn::testing::read_to_end(**reader, &read);
    ASSERT_TRUE(st.ok()) << st.to_string();
    EXPECT_EQ(read, lsns_);
  }
  auto removed = log_->remove_segments_before(kNoLsn, kLongAgo);
  ASSERT_TRUE(removed.ok());
  EXPECT_GT(removed->segments, 0u) << "the reader is gone: nothing holds the segments now";
}

// A live reader that reached the end of the last segment it listed lists the directory again to
// find the next one. Retention may have taken older segments (below the reader's pin) out since
// its first listing: it must go on in the segment after its own, wherever that now stands in the
// listing. It kept its index into the old listing, so it took a later segment for its own and
// reported the next one as "does not follow" (kCorruption); with more removed than added it
// indexed past the listing's end.
TEST_F(Retention, ALiveReaderGoesOnAfterRetentionRemovedSegmentsItListed) {
  const size_t segments = cairn::testing::segment_paths(dir_.path()).size();
  ASSERT_GE(segments, 4u);
  const Lsn from = first_lsn_of(segments);  // the last segment, the one being written
  auto reader = log_->read_from(from);
  ASSERT_TRUE(reader.ok()) << reader.status().to_string();
  std::vector<Lsn> read;
  const Status st = cairn::testing::read_to_end(**reader, &read);
  ASSERT_TRUE(st.ok()) << st.to_string();
  const size_t before = static_cast<size_t>(
      std::count_if(lsns_.begin(), lsns_.end(), [&](Lsn l) { return l >= from; }));
  ASSERT_EQ(read.size(), before);

  auto removed = log_->remove_segments_before(first_lsn_of(3), kLongAgo);
  ASSERT_TRUE(removed.ok()) << removed.status().to_string();
  ASSERT_EQ(removed->segments, 2u);
  // More segments than were removed, so that the stale index still names a segment.
  const auto more = cairn::testing::append_blobs(*log_, cairn::testing::four_segment_spec(), 5000);
  ASSERT_GE(cairn::testing::segment_paths(dir_.path()).size(), segments - 2 + 3);

  std::vector<Lsn> got;
  const Status after = cairn::testing::read_to_end(**reader, &got);
  ASSERT_TRUE(after.ok()) << after.to_string();
  EXPECT_EQ(got, more);
}

// A recycled segment holds the old segment's frames after the new data: readers and recovery
// must take them for the end of the data — never for records, never for damage — wherever the
// new data ends; and where the new data ends in a torn write, only the torn write is cut.
TEST(RecycledSegments, OldFramesAfterTheNewDataAreItsEndWhereverItEnds) {
  cairn::testing::TempDir root;
  // An old segment full of frames (LSNs 0..) and, in a later log, a segment whose frames have
  // higher LSNs: the later one written over the old one is a recycled segment.
  const auto old_records = cairn::testing::write_blob_log(root / "old", small_log_options(),
                                                          cairn::testing::four_segment_spec());
  const fs::path old_segment = cairn::testing::segment_path(root / "old", 1);
  BlobLogSpec fresh_spec{.records = 3000, .producer = 7, .data_bytes = [](uint64_t seq) {
                           return 200 + (seq * 97) % 3000;
                         }};
  const auto fresh_records =
      cairn::testing::write_blob_log(root / "new", small_log_options(), fresh_spec);
  // Segment 3 is full: it becomes the last one (the ones after it are left out of each copy).
  // A segment is recycled from earlier in the same log, so every old frame's LSN is below the new
  // segment's first: segment 3 of the later log begins past all of the old segment 1 (how far
  // each segment reaches depends on how the writes were batched, so it is checked, not assumed).
  const uint64_t fresh_seq = 3;
  ASSERT_GE(fresh_records.back().segment_seq, 4u);
  uint64_t old_max_lsn = 0;
  for (const BlobRecord& r : old_records) {
    if (r.segment_seq == 1) old_max_lsn = std::max<uint64_t>(old_max_lsn, r.lsn);
  }
  for (const BlobRecord& r : fresh_records) {
    if (r.segment_seq == fresh_seq) {
      ASSERT_GT(r.lsn, old_max_lsn) << "the premise: old frames have lower LSNs";
      break;
    }
  }
  const fs::path fresh_segment = cairn::testing::segment_path(root / "new", fresh_seq);
  const auto fresh_bytes = cairn::testing::file_bytes(fresh_segment);
  const auto old_bytes = cairn::testing::file_bytes(old_segment);
  ASSERT_EQ(fresh_bytes.size(), old_bytes.size());
  const uint64_t fresh_end = cairn::testing::nonzero_end(fresh_segment);
  std::vector<BlobRecord> in_fresh;
  size_t before_fresh = 0;
  for (const BlobRecord& r : fresh_records) {
    if (r.segment_seq == fresh_seq) in_fresh.push_back(r);
    before_fresh += r.segment_seq < fresh_seq;
  }
  ASSERT_GT(in_fresh.size(), 20u);

  // Every block boundary (every k-th with CAIRN_EVERY_OFFSET_STRIDE=k: support/every_offset.h).
  const uint64_t stride = cairn::testing::every_offset_stride();
  uint64_t checked = 0, torn = 0;
  for (uint64_t end = format::kBlockSize; end <= format::round_up(fresh_end, 4096);
       end += stride * format::kBlockSize) {
    SCOPED_TRACE("new data up to offset " + std::to_string(end));
    const fs::path work = root / "work";
    fs::remove_all(work);
    cairn::testing::copy_log(root / "new", work);
    for (uint64_t seq = fresh_seq + 1; seq <= fresh_records.back().segment_seq; ++seq) {
      fs::remove(cairn::testing::segment_path(work, seq));
    }
    // The last segment: new bytes up to `end`, the old segment's bytes after it.
    std::vector<std::byte> mixed(fresh_bytes.begin(), fresh_bytes.begin() + end);
    mixed.insert(mixed.end(), old_bytes.begin() + end, old_bytes.end());
    cairn::testing::write_bytes(work / fresh_segment.filename(), 0, mixed);
    // The records wholly before `end` that a reader can reach: up to the first one that is not.
    size_t whole = 0;
    while (whole < in_fresh.size() &&
           in_fresh[whole].offset + in_fresh[whole].frame_bytes() <= end) {
      ++whole;
    }
    const auto damage = cairn::testing::verify_damage(work);
    if (damage) {
      EXPECT_EQ(damage->kind, DamageKind::kTornTail) << damage->to_string();
      ++torn;
    }
    auto log = Log::open(work, small_log_options(), cairn::testing::schema_hooks());
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    ASSERT_TRUE((*log)->close().ok());
    const auto reread = cairn::testing::read_blob_log(work);
    ASSERT_GE(reread.size(), before_fresh);
    ASSERT_LE(reread.size(), before_fresh + whole);
    for (const BlobRecord& r : reread) EXPECT_EQ(r.producer, 7u) << "an old frame came back";
    // A clean end (at a batch boundary) keeps every record before it.
    if (!damage) {
      EXPECT_EQ(reread.size(), before_fresh + whole);
    }
    ++checked;
  }
  EXPECT_GT(checked * stride, 50u);
  EXPECT_GT(torn, 0u) << "no end fell inside a batch: the torn cases went untested";
  EXPECT_LT(torn, checked) << "no end fell at a batch boundary: the clean cases went untested";
  (void)old_records;
}

// The tools read a running engine's log without a pin: its retention may remove and recycle the
// segment an offline reader is in, and write the next segments over the recycled file it still
// has open. The reader then read new frames where it expected old ones and said "damage"
// (kCorruption) in a healthy log; it now says the segment left the log (kNotFound), naming it.
TEST_F(Retention, AnOfflineReaderWhoseSegmentLeftTheLogSaysSoNotDamage) {
  ReaderOptions small_reads;
  small_reads.chunk_bytes = 4096;  // so that it reads segment 1 while segment 1 is rewritten
  const std::string first_segment = cairn::testing::segment_path(dir_.path(), 1).filename();
  auto reader = LogReader::open(dir_.path(), small_reads);
  ASSERT_TRUE(reader.ok()) << reader.status().to_string();
  auto first = (*reader)->next();
  ASSERT_TRUE(first.ok() && *first != nullptr);
  auto removed = log_->remove_segments_before(first_lsn_of(3), kLongAgo);
  ASSERT_TRUE(removed.ok()) << removed.status().to_string();
  ASSERT_EQ(removed->segments, 2u);
  cairn::testing::append_blobs(*log_, cairn::testing::four_segment_spec(), 5000);
  ASSERT_GE(log_->stats().segments_recycled, 2u) << "the removed files were not written over";
  const Status error = cairn::testing::read_to_end(**reader);
  ASSERT_FALSE(error.ok()) << "read on through a segment that left the log";
  EXPECT_EQ(error.code(), StatusCode::kNotFound) << error.to_string();
  EXPECT_NE(error.message().find(first_segment), std::string::npos) << error.to_string();
  EXPECT_NE(error.message().find("left the log while it was read"), std::string::npos)
      << error.to_string();
  ASSERT_TRUE(log_->close().ok());
  EXPECT_FALSE(cairn::testing::verify_damage(dir_.path()).has_value());
}

// The real file system, but `on_first_read` runs once, at the first pread.
class FirstReadHook final : public cairn::testing::ForwardingFileSystem {
 public:
  explicit FirstReadHook(std::function<void()> on_first_read) : hook_(std::move(on_first_read)) {}
  Result<size_t> pread(int fd, void* buf, size_t len, uint64_t offset) override {
    if (hook_) std::exchange(hook_, nullptr)();
    return real_->pread(fd, buf, len, offset);
  }

 private:
  std::function<void()> hook_;
};

// verify_log on a running engine's log while its retention takes out the first segments: the
// scan found them gone (or rewritten) and failed; it scans again and reports the log intact from
// its new first record.
TEST_F(Retention, VerifyWhileRetentionRemovesSegmentsScansAgain) {
  VerifyOptions o;
  o.file_system = std::make_shared<FirstReadHook>([&] {
    auto removed = log_->remove_segments_before(first_lsn_of(3), kLongAgo);
    ASSERT_TRUE(removed.ok()) << removed.status().to_string();
    ASSERT_EQ(removed->segments, 2u);
    cairn::testing::append_blobs(*log_, cairn::testing::four_segment_spec(), 5000);
  });
  const Lsn new_first = first_lsn_of(3);
  Result<VerifyReport> report = verify_log(dir_.path(), o);
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  EXPECT_TRUE(report->intact()) << report->damage->to_string();
  EXPECT_EQ(report->first_lsn, new_first);
  EXPECT_GE(log_->stats().segments_recycled, 2u);
}

}  // namespace
}  // namespace cairn::log
