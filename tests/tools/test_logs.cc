// Writing, reading back and damaging test logs (see test_logs.h).
#include "test_logs.h"
#include "cairn/schema/record_schema.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "cairn/log/log.h"
#include "cairn/log/reader.h"
#include "frame_format.h"
#include "support/blob_records.h"

namespace cairn::testing {

uint64_t frame_bytes(size_t payload_bytes) {
  return 24 + (payload_bytes + 7) / 8 * 8;
}

log::LogOptions multi_segment_options() {
  return log::LogOptions{.segment_bytes = 1 << 20,
                         .record_bytes_max = 64 << 10,
                         .batch_bytes_max = 256 << 10,
                         .staging_bytes = 1 << 20};
}

std::vector<WrittenRecord> write_log(const std::filesystem::path& dir,
                                     const std::vector<Payload>& payloads,
                                     const log::LogOptions& options) {
  std::vector<log::Lsn> lsns;
  {
    auto log = log::Log::open(dir, options);
    if (!log.ok()) {
      ADD_FAILURE() << log.status().to_string();
      return {};
    }
    for (const auto& [type, bytes] : payloads) {
      auto lsn = (*log)->append(type, bytes);
      if (!lsn.ok()) {
        ADD_FAILURE() << lsn.status().to_string();
        return {};
      }
      lsns.push_back(*lsn);
    }
    if (Status st = (*log)->close(); !st.ok()) {
      ADD_FAILURE() << st.to_string();
      return {};
    }
  }
  // As a crash leaves it: the tests damage these logs as torn writes would (log/src/clean_close.h).
  std::filesystem::remove(dir / "CLOSED");
  auto reader = log::LogReader::open(dir, {});
  if (!reader.ok()) {
    ADD_FAILURE() << reader.status().to_string();
    return {};
  }
  std::vector<WrittenRecord> out;
  for (size_t i = 0;; ++i) {
    auto r = (*reader)->next();
    if (!r.ok()) {
      ADD_FAILURE() << r.status().to_string();
      return {};
    }
    if (*r == nullptr) break;
    const log::ReadRecord& rec = **r;
    if (i >= lsns.size() || rec.lsn != lsns[i]) {
      ADD_FAILURE() << "record " << i << " read back at LSN " << rec.lsn;
      return {};
    }
    WrittenRecord w{rec.lsn, rec.type, rec.payload.size(), rec.segment_seq, rec.offset};
    if (rec.type == kBlobType) {
      const BlobId id = read_blob(rec.payload);
      w.producer = id.producer;
      w.seq = id.seq;
      const auto* data = flatbuffers::GetRoot<schema::Blob>(rec.payload.data())->data();
      w.data_bytes = data == nullptr ? 0 : data->size();
    }
    out.push_back(w);
  }
  EXPECT_EQ(out.size(), payloads.size());
  return out;
}

std::vector<std::byte> test_blob(uint32_t producer, uint64_t seq, BlobSizes sizes) {
  return make_blob(producer, seq, sizes.for_seq(seq));
}

std::vector<WrittenRecord> write_blob_log(const std::filesystem::path& dir, size_t count,
                                          const log::LogOptions& options, BlobSizes sizes) {
  std::vector<Payload> payloads;
  payloads.reserve(count);
  for (size_t seq = 0; seq < count; ++seq) {
    payloads.emplace_back(kBlobType, test_blob(7, seq, sizes));
  }
  return write_log(dir, payloads, options);
}

std::vector<WrittenRecord> write_log_with_bad_payloads(const std::filesystem::path& dir) {
  const std::vector<std::byte> not_a_table(16, std::byte{0xff});
  const std::vector<Payload> payloads = {{kBlobType, test_blob(7, 0)},
                                         {kBlobType, not_a_table},
                                         {kBlobType, test_blob(7, 2)},
                                         {log::RecordType{555}, test_blob(7, 3)},
                                         {kBlobType, test_blob(7, 4)}};
  // Read back here without the payload check, which would stop at record 1.
  std::vector<log::Lsn> lsns;
  {
    auto log = log::Log::open(dir, multi_segment_options());
    if (!log.ok()) {
      ADD_FAILURE() << log.status().to_string();
      return {};
    }
    for (const auto& [type, bytes] : payloads) {
      auto lsn = (*log)->append(type, bytes);
      if (!lsn.ok()) {
        ADD_FAILURE() << lsn.status().to_string();
        return {};
      }
      lsns.push_back(*lsn);
    }
  }
  std::vector<WrittenRecord> out;
  for (size_t i = 0; i < payloads.size(); ++i) {
    out.push_back(WrittenRecord{lsns[i], payloads[i].first, payloads[i].second.size()});
  }
  return out;
}

std::vector<std::filesystem::path> segment_files(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".wal") files.push_back(entry.path());
  }
  // Names start with the sequence number, zero-padded to 8 digits and wider past 99,999,999
  // (never with a leading zero): a shorter name comes first, and names of one length sort as text.
  std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) {
    const std::string x = a.filename().string(), y = b.filename().string();
    return x.size() != y.size() ? x.size() < y.size() : x < y;
  });
  return files;
}

void start_log_at_segment(const std::filesystem::path& dir, uint64_t seq,
                          const log::LogOptions& options) {
  log::format::SegmentHeader header;
  header.seq = seq;
  header.first_lsn = 0;
  header.segment_bytes = options.segment_bytes;
  std::vector<std::byte> bytes(options.segment_bytes);
  log::format::encode_segment_header(header, bytes.data());
  std::ofstream out(dir / log::format::segment_file_name(seq, 0), std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << dir;
}

void flip_bit(const std::filesystem::path& file, uint64_t offset, int bit) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  ASSERT_TRUE(f) << file;
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  ASSERT_TRUE(f.get(c)) << "no byte at " << offset << " in " << file;
  c = static_cast<char>(c ^ (1 << bit));
  f.seekp(static_cast<std::streamoff>(offset));
  ASSERT_TRUE(f.put(c));
}

void zero_last_nonzero_bytes(const std::filesystem::path& file, size_t count) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  ASSERT_TRUE(f) << file;
  std::vector<char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  size_t zeroed = 0;
  for (size_t i = bytes.size(); i > 0 && zeroed < count; --i) {
    if (bytes[i - 1] != 0) {
      bytes[i - 1] = 0;
      ++zeroed;
    }
  }
  ASSERT_EQ(zeroed, count) << "fewer than " << count << " non-zero bytes in " << file;
  f.clear();
  f.seekp(0);
  ASSERT_TRUE(f.write(bytes.data(), static_cast<std::streamsize>(bytes.size())));
}

}  // namespace cairn::testing
