// BlobEncoder: builds the benchmark's records, schema Blob tables whose data vector is N bytes,
// with one reused FlatBufferBuilder (no allocation per record after the first). Defaults are
// forced so every record of one encoder has the same size, whatever its producer and seq.
#pragma once

#include <flatbuffers/flatbuffers.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "cairn/log/types.h"
#include "cairn/schema/record_schema.h"

namespace cairn::bench {

inline constexpr log::RecordType kBlobRecordType =
    static_cast<log::RecordType>(schema::RecordType::Blob);

class BlobEncoder {
 public:
  // The data bytes are fixed per producer (the pattern tests/support/blob_records.h writes for
  // seq 0), so encoding a record costs one copy of them, as an application's record would.
  BlobEncoder(uint32_t producer, size_t data_bytes)
      : producer_(producer), data_(data_bytes), builder_(data_bytes + 128) {
    builder_.ForceDefaults(true);
    for (size_t i = 0; i < data_bytes; ++i) {
      data_[i] = static_cast<uint8_t>((producer * 131 + i) & 0xff);
    }
  }

  // The encoded record; valid until the next encode().
  std::span<const std::byte> encode(uint64_t seq) {
    builder_.Clear();
    const auto data = builder_.CreateVector(data_.data(), data_.size());
    builder_.Finish(schema::CreateBlob(builder_, producer_, seq, data));
    return {reinterpret_cast<const std::byte*>(builder_.GetBufferPointer()), builder_.GetSize()};
  }

 private:
  uint32_t producer_;
  std::vector<uint8_t> data_;
  flatbuffers::FlatBufferBuilder builder_;
};

}  // namespace cairn::bench
