// Blob logs for the log's tests: written with the real Log, read back with LogReader, and compared
// record by record (where each record is, and whether its bytes are the ones that were appended).
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <vector>

#include "cairn/log/log.h"
#include "cairn/log/options.h"
#include "cairn/log/reader.h"
#include "frame_format.h"

namespace cairn::testing {

// 1 MiB segments, 256 KiB batches, 64 KiB records, 1 MiB staging: a few MiB of records rotate
// through several segments in little time.
log::LogOptions small_log_options();

// small_log_options() on a NoSyncFileSystem: for the loops that open hundreds of damaged copies,
// recovery as usual without the syncs.
log::LogOptions no_sync_log_options();

// One Blob record as a reader found it on disk.
struct BlobRecord {
  log::Lsn lsn = 0;
  uint32_t producer = 0;
  uint64_t seq = 0;
  uint32_t payload_bytes = 0;
  uint64_t segment_seq = 0;  // where the frame is
  uint64_t offset = 0;
  bool data_ok = false;  // the payload's data bytes are those make_blob wrote

  uint32_t frame_bytes() const { return log::format::frame_size(payload_bytes); }
  log::Lsn end_lsn() const { return lsn + frame_bytes(); }
};

// Bytes of Blob data for the record with this seq.
using DataBytes = std::function<size_t(uint64_t seq)>;

struct BlobLogSpec {
  size_t records = 0;
  uint32_t producer = 1;
  DataBytes data_bytes = [](uint64_t seq) { return 100 + (seq * 37) % 900; };
  // Make each record durable before appending the next: every record is then a batch of its
  // own and starts on a block boundary. Otherwise records go in as fast as the writer takes them.
  bool one_batch_each = false;
};

// About 3.3 MiB of records of 300..4300 bytes, written as fast as the writer takes them: with
// small_log_options() four segments.
BlobLogSpec four_segment_spec();

// Appends records to an open log (seq = first_seq, first_seq + 1, ...) and waits until all are
// durable. Returns their LSNs.
std::vector<log::Lsn> append_blobs(log::Log& log, const BlobLogSpec& spec, uint64_t first_seq = 0);

// Creates a log in `dir` with `options`, appends the records, closes it, and returns the records
// as LogReader finds them (with a test failure when that is not exactly what was appended). The
// log is left as a crash right after its last record became durable leaves it: without the
// clean-close marker, which would prove every record durable and make any damage the damage tests
// do corruption, never a torn tail (clean_close.h).
std::vector<BlobRecord> write_blob_log(const std::filesystem::path& dir,
                                       const log::LogOptions& options, const BlobLogSpec& spec);

// Every record of the log in `dir` from `from`, through LogReader::open. A reader error is a test
// failure (and ends the list); so is a record whose payload is not the Blob that was written.
std::vector<BlobRecord> read_blob_log(const std::filesystem::path& dir, log::Lsn from = 0);

// Reads on until the end or the first error: that error, or OK at the end. Each record's LSN goes
// into `lsns` when one is given.
Status read_to_end(log::LogReader& reader, std::vector<log::Lsn>* lsns = nullptr);

// The record a reader returned, as a BlobRecord.
BlobRecord to_blob_record(const log::ReadRecord& record);

// `got` is exactly the first `n` records of `all` (same LSNs, producers and seqs).
::testing::AssertionResult is_prefix(const std::vector<BlobRecord>& got,
                                     const std::vector<BlobRecord>& all, size_t n);

}  // namespace cairn::testing
