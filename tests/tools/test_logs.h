// Real logs for the cairn CLI tests: written with cairn::log::Log, read back for where each record
// landed on disk, and damaged on purpose (torn tail, flipped bit, missing segment).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "cairn/log/options.h"
#include "cairn/log/types.h"

namespace cairn::testing {

struct WrittenRecord {
  log::Lsn lsn = 0;
  log::RecordType type = 0;
  size_t payload_bytes = 0;
  uint64_t segment_seq = 0;  // where the reader found it
  uint64_t offset = 0;
  uint32_t producer = 0;  // Blob records only
  uint64_t seq = 0;
  size_t data_bytes = 0;
};

using Payload = std::pair<log::RecordType, std::vector<std::byte>>;

// The data sizes of test Blob records: record `seq` starts from min + (seq * 37) % spread bytes.
struct BlobSizes {
  size_t min = 200;
  size_t spread = 800;
  size_t for_seq(uint64_t seq) const { return min + (seq * 37) % spread; }
};

// 1 MiB segments and small batches: a few thousand records fill several segments in little time.
log::LogOptions multi_segment_options();

// Appends the records, closes the log, and returns them as the reader finds them on disk (empty,
// with a test failure, if anything went wrong). Without the clean-close marker, as a crash leaves
// a log: the tests damage these as torn writes would.
std::vector<WrittenRecord> write_log(const std::filesystem::path& dir,
                                     const std::vector<Payload>& payloads,
                                     const log::LogOptions& options);

// Makes `dir` hold one empty segment numbered `seq` (its header only), so that a log written there
// next numbers its segments from `seq` on: a log that has rotated that often, without the writing.
void start_log_at_segment(const std::filesystem::path& dir, uint64_t seq,
                          const log::LogOptions& options);

// A Blob payload with sizes.for_seq(seq) bytes of data.
std::vector<std::byte> test_blob(uint32_t producer, uint64_t seq, BlobSizes sizes = {});

// `count` test_blob(7, seq, sizes) records, seq = 0, 1, 2, ...
std::vector<WrittenRecord> write_blob_log(const std::filesystem::path& dir, size_t count,
                                          const log::LogOptions& options, BlobSizes sizes = {});

// A log of Blob records around two that readers reject although their frames are intact: a Blob
// whose payload is not a FlatBuffers table (at index 1), and a record of type 555, which no schema
// defines (at index 3). Log::append checks neither.
std::vector<WrittenRecord> write_log_with_bad_payloads(const std::filesystem::path& dir);

// The *.wal files of a log directory, in sequence order.
std::vector<std::filesystem::path> segment_files(const std::filesystem::path& dir);

// The size of the frame that holds a payload of this many bytes.
uint64_t frame_bytes(size_t payload_bytes);

// Damage, done the way a disk or a crash would.
void flip_bit(const std::filesystem::path& file, uint64_t offset, int bit);
// Zeroes the last `count` non-zero bytes of the file (the end of the last write).
void zero_last_nonzero_bytes(const std::filesystem::path& file, size_t count);

}  // namespace cairn::testing
