// LogReader over a closed log of several segments: it starts at the record at `from` or the first
// one after it (also across a segment boundary), returns nothing past the end, and says exactly
// where each frame is on disk.
#include <gtest/gtest.h>

#include <limits>
#include <memory>

#include "blob_log.h"
#include "cairn/log/reader.h"
#include "cairn/schema/record_schema.h"
#include "frame_decoder.h"
#include "log_dir_files.h"
#include "support/temp_dir.h"

namespace cairn::log {
namespace {

using cairn::testing::BlobRecord;

class Reader : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<cairn::testing::TempDir>();
    all_ = cairn::testing::write_blob_log(dir_->path(), cairn::testing::small_log_options(),
                                          cairn::testing::four_segment_spec());
  }
  static void TearDownTestSuite() { dir_.reset(); }
  void SetUp() override {
    ASSERT_EQ(all().size(), cairn::testing::four_segment_spec().records);
    ASSERT_GE(all().back().segment_seq, 4u);
  }

  static const std::vector<BlobRecord>& all() { return all_; }
  static const std::filesystem::path& dir() { return dir_->path(); }
  // The records from index i on.
  static std::vector<BlobRecord> from_index(size_t i) {
    return std::vector<BlobRecord>(all().begin() + static_cast<ptrdiff_t>(i), all().end());
  }
  // Index of the middle record of a segment.
  static size_t middle_of_segment(uint64_t seq) {
    size_t first = all().size(), last = 0;
    for (size_t i = 0; i < all().size(); ++i) {
      if (all()[i].segment_seq == seq) {
        first = std::min(first, i);
        last = i;
      }
    }
    EXPECT_LT(first, last) << "segment " << seq << " has records";
    return (first + last) / 2;
  }

 private:
  // One log for the whole suite (written once per process; CTest runs each test in its own).
  static inline std::unique_ptr<cairn::testing::TempDir> dir_;
  static inline std::vector<BlobRecord> all_;
};

TEST_F(Reader, FromZeroReadsEveryRecordInOrder) {
  const auto got = cairn::testing::read_blob_log(dir(), 0);
  EXPECT_TRUE(cairn::testing::is_prefix(got, all(), all().size()));
  Lsn lsn = 0;
  for (const BlobRecord& r : got) {
    ASSERT_EQ(r.lsn, lsn);
    lsn = r.end_lsn();
  }
}

TEST_F(Reader, FromARecordInTheMiddleOfALaterSegment) {
  const size_t i = middle_of_segment(3);
  const auto got = cairn::testing::read_blob_log(dir(), all()[i].lsn);
  EXPECT_TRUE(cairn::testing::is_prefix(got, from_index(i), all().size() - i));
}

TEST_F(Reader, FromAnLsnInsideARecordStartsAtTheNextRecord) {
  const size_t i = middle_of_segment(2);
  for (Lsn inside : {all()[i].lsn + 8, all()[i].lsn + 24, all()[i].end_lsn() - 8}) {
    SCOPED_TRACE(inside);
    const auto got = cairn::testing::read_blob_log(dir(), inside);
    EXPECT_TRUE(cairn::testing::is_prefix(got, from_index(i + 1), all().size() - i - 1));
  }
}

TEST_F(Reader, FromInsideTheLastRecordOfASegmentContinuesInTheNext) {
  size_t last_of_2 = 0;
  for (size_t i = 0; i < all().size(); ++i) {
    if (all()[i].segment_seq == 2) last_of_2 = i;
  }
  ASSERT_EQ(all()[last_of_2 + 1].segment_seq, 3u);
  const auto got = cairn::testing::read_blob_log(dir(), all()[last_of_2].lsn + 8);
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got.front().segment_seq, 3u);
  EXPECT_TRUE(
      cairn::testing::is_prefix(got, from_index(last_of_2 + 1), all().size() - last_of_2 - 1));
}

TEST_F(Reader, FromTheEndOrBeyondReturnsNothing) {
  for (Lsn from : {all().back().end_lsn(), all().back().end_lsn() + 4096,
                   std::numeric_limits<Lsn>::max() - 7}) {
    SCOPED_TRACE(from);
    auto reader = LogReader::open(
        dir(), ReaderOptions{.from = from, .payload_verifier = &schema::verify_payload});
    ASSERT_TRUE(reader.ok()) << reader.status().to_string();
    auto r = (*reader)->next();
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_EQ(*r, nullptr);
    r = (*reader)->next();  // and stays at the end
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*r, nullptr);
  }
  // The last record itself is still found from its own LSN.
  const auto last = cairn::testing::read_blob_log(dir(), all().back().lsn);
  EXPECT_TRUE(cairn::testing::is_prefix(last, from_index(all().size() - 1), 1));
}

TEST_F(Reader, SmallChunksAndNoPayloadChecksReadTheSame) {
  // Chunks smaller than many frames make the reader fetch frames across chunk ends.
  auto reader = LogReader::open(dir(), ReaderOptions{.chunk_bytes = 4096});
  ASSERT_TRUE(reader.ok()) << reader.status().to_string();
  size_t n = 0;
  for (;; ++n) {
    auto r = (*reader)->next();
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    if (*r == nullptr) break;
    ASSERT_LT(n, all().size());
    const BlobRecord got = cairn::testing::to_blob_record(**r);
    EXPECT_EQ(got.lsn, all()[n].lsn);
    EXPECT_EQ(got.seq, all()[n].seq);
    EXPECT_TRUE(got.data_ok);
  }
  EXPECT_EQ(n, all().size());
}

TEST_F(Reader, SegmentAndOffsetPointAtTheFrame) {
  // Every 97th record: the bytes at (segment, offset) decode to that very frame.
  for (size_t i = 0; i < all().size(); i += 97) {
    const BlobRecord& r = all()[i];
    const auto path = cairn::testing::segment_path(dir(), r.segment_seq);
    const auto bytes = cairn::testing::file_bytes(path, r.offset, r.offset + r.frame_bytes());
    format::DecodedFrame frame;
    ASSERT_EQ(format::decode_frame(bytes, r.lsn, &schema::verify_payload, &frame),
              format::FrameCheck::kOk)
        << "record " << i;
    EXPECT_EQ(frame.header.payload_len, r.payload_bytes);
  }
}

// A second file named for LSN 0 after the log's segments (a copy of another log's first segment,
// say): the reader must not take it for the segment that holds LSN 0. It reads the log's own
// segments and then reports the break, as verify does (found by segment_scan_fuzz).
TEST_F(Reader, AFileNamedForAnEarlierLsnAfterTheSegmentsIsABreakNotTheStart) {
  cairn::testing::TempDir work;
  const std::filesystem::path copy = work.path() / "log";
  cairn::testing::copy_log(dir(), copy);
  const uint64_t next_seq = all().back().segment_seq + 1;
  const std::filesystem::path stray = copy / format::segment_file_name(next_seq, 0);
  std::filesystem::copy_file(cairn::testing::segment_path(dir(), 1), stray);
  std::vector<std::byte> header(format::kSegmentHeaderSize);
  format::encode_segment_header(
      format::SegmentHeader{format::kFormatVersion, next_seq, 0, std::filesystem::file_size(stray),
                            1700000000000},
      header.data());
  cairn::testing::write_bytes(stray, 0, header);

  auto reader = LogReader::open(copy, {});
  ASSERT_TRUE(reader.ok()) << reader.status().to_string();
  for (size_t i = 0; i < all().size(); ++i) {
    auto r = (*reader)->next();
    ASSERT_TRUE(r.ok() && *r != nullptr) << "record " << i;
    ASSERT_EQ((*r)->lsn, all()[i].lsn) << "record " << i;
  }
  auto r = (*reader)->next();
  ASSERT_FALSE(r.ok()) << "the stray file read as more records";
  EXPECT_NE(r.status().message().find(stray.filename().string()), std::string::npos)
      << r.status().to_string();
}

TEST(ReaderOpen, MissingDirectoryIsNotFoundAndAnEmptyOneHasNoRecords) {
  cairn::testing::TempDir dir;
  auto missing = LogReader::open(dir / "nope", {});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  auto empty = LogReader::open(dir.path(), {});
  ASSERT_TRUE(empty.ok()) << empty.status().to_string();
  auto r = (*empty)->next();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, nullptr);
}

}  // namespace
}  // namespace cairn::log
