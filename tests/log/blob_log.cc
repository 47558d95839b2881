// Writing and reading back Blob logs for the log's tests (see blob_log.h).
#include "blob_log.h"
#include "cairn/schema/record_schema.h"

#include <string>

#include "no_sync_file_system.h"
#include "support/blob_records.h"

namespace cairn::testing {

log::LogOptions small_log_options() {
  return log::LogOptions{.segment_bytes = 1 << 20,
                         .record_bytes_max = 64 << 10,
                         .batch_bytes_max = 256 << 10,
                         .staging_bytes = 1 << 20};
}

log::LogOptions no_sync_log_options() {
  log::LogOptions o = small_log_options();
  o.file_system = std::make_shared<NoSyncFileSystem>();
  return o;
}

BlobLogSpec four_segment_spec() {
  return BlobLogSpec{.records = 1400,
                     .data_bytes = [](uint64_t seq) { return 300 + (seq * 389) % 4000; }};
}

std::vector<log::Lsn> append_blobs(log::Log& log, const BlobLogSpec& spec, uint64_t first_seq) {
  std::vector<log::Lsn> lsns;
  for (size_t i = 0; i < spec.records; ++i) {
    const uint64_t seq = first_seq + i;
    const auto payload = make_blob(spec.producer, seq, spec.data_bytes(seq));
    auto lsn = spec.one_batch_each ? log.append_durable(kBlobType, payload)
                                   : log.append(kBlobType, payload);
    if (!lsn.ok()) {
      ADD_FAILURE() << "append of seq " << seq << ": " << lsn.status().to_string();
      return lsns;
    }
    lsns.push_back(*lsn);
  }
  if (!lsns.empty()) {
    Status st = log.wait_durable(lsns.back());
    if (!st.ok()) ADD_FAILURE() << "wait_durable: " << st.to_string();
  }
  return lsns;
}

std::vector<BlobRecord> write_blob_log(const std::filesystem::path& dir,
                                       const log::LogOptions& options, const BlobLogSpec& spec) {
  {
    auto log = log::Log::open(dir, options);
    if (!log.ok()) {
      ADD_FAILURE() << "Log::open: " << log.status().to_string();
      return {};
    }
    append_blobs(**log, spec);
    Status st = (*log)->close();
    if (!st.ok()) ADD_FAILURE() << "close: " << st.to_string();
  }
  std::filesystem::remove(dir / "CLOSED");
  std::vector<BlobRecord> records = read_blob_log(dir);
  EXPECT_EQ(records.size(), spec.records) << "records read back from the new log";
  for (size_t i = 0; i < records.size(); ++i) {
    EXPECT_EQ(records[i].producer, spec.producer);
    EXPECT_EQ(records[i].seq, i);
  }
  return records;
}

Status read_to_end(log::LogReader& reader, std::vector<log::Lsn>* lsns) {
  for (;;) {
    Result<const log::ReadRecord*> r = reader.next();
    if (!r.ok()) return r.status();
    if (*r == nullptr) return Status();
    if (lsns != nullptr) lsns->push_back((*r)->lsn);
  }
}

BlobRecord to_blob_record(const log::ReadRecord& record) {
  const BlobId id = read_blob(record.payload);
  return BlobRecord{
      record.lsn,         id.producer,   id.seq,    static_cast<uint32_t>(record.payload.size()),
      record.segment_seq, record.offset, id.data_ok};
}

std::vector<BlobRecord> read_blob_log(const std::filesystem::path& dir, log::Lsn from) {
  std::vector<BlobRecord> out;
  auto reader = log::LogReader::open(
      dir, log::ReaderOptions{.from = from, .payload_verifier = &schema::verify_payload});
  if (!reader.ok()) {
    ADD_FAILURE() << "LogReader::open: " << reader.status().to_string();
    return out;
  }
  for (;;) {
    auto r = (*reader)->next();
    if (!r.ok()) {
      ADD_FAILURE() << "LogReader::next after " << out.size()
                    << " records: " << r.status().to_string();
      return out;
    }
    if (*r == nullptr) return out;
    if ((*r)->type != kBlobType) {
      ADD_FAILURE() << "record at LSN " << (*r)->lsn << " has type " << (*r)->type;
      return out;
    }
    out.push_back(to_blob_record(**r));
    if (!out.back().data_ok) ADD_FAILURE() << "bad Blob data at LSN " << out.back().lsn;
  }
}

::testing::AssertionResult is_prefix(const std::vector<BlobRecord>& got,
                                     const std::vector<BlobRecord>& all, size_t n) {
  if (n > all.size()) {
    return ::testing::AssertionFailure() << "asked for " << n << " of " << all.size() << " records";
  }
  if (got.size() != n) {
    return ::testing::AssertionFailure()
           << got.size() << " records where " << n << " were expected";
  }
  for (size_t i = 0; i < n; ++i) {
    if (got[i].lsn != all[i].lsn || got[i].producer != all[i].producer ||
        got[i].seq != all[i].seq) {
      return ::testing::AssertionFailure()
             << "record " << i << " is LSN " << got[i].lsn << " (" << got[i].producer << ", "
             << got[i].seq << "), expected LSN " << all[i].lsn << " (" << all[i].producer << ", "
             << all[i].seq << ")";
    }
  }
  return ::testing::AssertionSuccess();
}

}  // namespace cairn::testing
