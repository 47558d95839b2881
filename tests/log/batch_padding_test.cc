// A batch ends on a frame boundary and is padded with zeros to the next block; that padding can be
// as short as 8 bytes. Readers, verify_log and recovery must step over any padding, also one
// shorter than a frame header, and read the next batch at the block boundary.
#include <gtest/gtest.h>

#include "blob_log.h"
#include "cairn/log/log.h"
#include "damage_checks.h"
#include "frame_format.h"
#include "support/blob_records.h"
#include "support/temp_dir.h"

namespace cairn::log {
namespace {

using cairn::testing::BlobLogSpec;
using cairn::testing::make_blob;

// Data bytes of a Blob (producer 1, this seq) whose frame is exactly `frame_bytes` long.
size_t data_for_frame(uint64_t seq, uint32_t frame_bytes) {
  for (size_t data = 0; data < frame_bytes; ++data) {
    if (format::frame_size(static_cast<uint32_t>(make_blob(1, seq, data).size())) == frame_bytes) {
      return data;
    }
  }
  ADD_FAILURE() << "no Blob has a frame of " << frame_bytes << " bytes";
  return 0;
}

// The log's first record starts right after the segment header, on a block boundary; each record
// is a batch of its own. A first frame of 4096 - `padding` bytes leaves exactly `padding` zero
// bytes before the second batch.
class BatchPadding : public ::testing::TestWithParam<uint32_t> {};

TEST_P(BatchPadding, RecordsAfterThePaddingAreReadVerifiedAndKept) {
  const uint32_t padding = GetParam();
  cairn::testing::TempDir dir;
  const size_t first_data = data_for_frame(0, format::kBlockSize - padding);
  BlobLogSpec spec{.records = 3,
                   .data_bytes = [first_data](uint64_t seq) { return seq == 0 ? first_data : 200; },
                   .one_batch_each = true};
  // write_blob_log reads the log back and fails the test if a record is missing.
  const auto records =
      cairn::testing::write_blob_log(dir.path(), cairn::testing::small_log_options(), spec);
  ASSERT_FALSE(records.empty());
  EXPECT_EQ(records[0].offset, format::kBlockSize);
  EXPECT_EQ(records[0].frame_bytes(), format::kBlockSize - padding);

  const auto damage = cairn::testing::verify_damage(dir.path());
  EXPECT_FALSE(damage.has_value()) << damage->to_string();

  // Reopening must keep every record: they were all acknowledged.
  auto log = Log::open(dir.path(), cairn::testing::small_log_options());
  ASSERT_TRUE(log.ok()) << log.status().to_string();
  EXPECT_TRUE((*log)->recovery_report().damage.empty()) << (*log)->recovery_report().damage;
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ((*log)->recovery_report().end_lsn, records.back().end_lsn());
}

INSTANTIATE_TEST_SUITE_P(PaddingBytes, BatchPadding, ::testing::Values(8u, 16u, 24u, 32u, 4000u),
                         [](const auto& info) { return std::to_string(info.param); });

}  // namespace
}  // namespace cairn::log
