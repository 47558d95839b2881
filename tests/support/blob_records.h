// Test helpers: Blob records (the schema's opaque record for tests and benchmarks) built with
// FlatBuffers, and read back.
#pragma once

#include <flatbuffers/flatbuffers.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "cairn/log/log.h"
#include "cairn/log/types.h"
#include "cairn/schema/record_schema.h"

namespace cairn::testing {

inline constexpr log::RecordType kBlobType = static_cast<log::RecordType>(schema::RecordType::Blob);

// Hooks that make a log check its payloads against the record schema (the engine's tables and
// Blob), as the engine's log does: unknown record types and bad payloads are bad frames.
inline log::LogHooks schema_hooks() {
  return log::LogHooks{.payload_verifier = &schema::verify_payload};
}

// A Blob payload whose data is `size` bytes derived from (producer, seq).
inline std::vector<std::byte> make_blob(uint32_t producer, uint64_t seq, size_t size) {
  flatbuffers::FlatBufferBuilder fbb(size + 64);
  std::vector<uint8_t> data(size);
  for (size_t i = 0; i < size; ++i)
    data[i] = static_cast<uint8_t>((producer * 131 + seq * 7 + i) & 0xff);
  auto vec = fbb.CreateVector(data);
  fbb.Finish(schema::CreateBlob(fbb, producer, seq, vec));
  auto* p = reinterpret_cast<const std::byte*>(fbb.GetBufferPointer());
  return std::vector<std::byte>(p, p + fbb.GetSize());
}

struct BlobId {
  uint32_t producer = 0;
  uint64_t seq = 0;
  bool data_ok = false;  // the data bytes are what make_blob wrote
};

inline BlobId read_blob(std::span<const std::byte> payload) {
  auto* b = flatbuffers::GetRoot<schema::Blob>(payload.data());
  BlobId id{b->producer(), b->seq(), true};
  // The bytes through one pointer: the tests' own code may be built at -O0 (test.sh), where each
  // accessor call per byte cost a whole-log check seconds.
  if (const flatbuffers::Vector<uint8_t>* data = b->data(); data != nullptr) {
    const uint8_t* bytes = data->data();
    const size_t n = data->size();
    for (size_t i = 0; i < n; ++i) {
      if (bytes[i] != static_cast<uint8_t>((id.producer * 131 + id.seq * 7 + i) & 0xff)) {
        id.data_ok = false;
      }
    }
  }
  return id;
}

}  // namespace cairn::testing
