// Fuzz target for record payloads: the same bytes go to cairn::schema::verify_payload as every
// record type (and some numbers no schema defines), and whatever it accepts is rendered with
// payload_to_json, which relies on that verification and must not crash.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "cairn/schema/record_schema.h"

namespace {

void require(bool promise) {
  if (!promise) __builtin_trap();
}

// Every type number up to one past Blob (100) covers all defined types and the gap after
// RunCancelled; the largest number stands for the types a newer schema may add.
constexpr uint32_t kTypesUpTo = 101;

void fuzz_as(uint16_t type, std::span<const std::byte> payload) {
  if (!cairn::schema::verify_payload(type, payload)) return;
  require(cairn::schema::is_known_record_type(type));
  require(!cairn::schema::payload_to_json(type, payload).empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // A copy in memory of its own: heap-aligned like a payload inside a frame, and ASan sees any
  // read past its end.
  std::vector<std::byte> payload(size);
  if (size > 0) std::memcpy(payload.data(), data, size);
  for (uint32_t type = 0; type <= kTypesUpTo; ++type) {
    fuzz_as(static_cast<uint16_t>(type), payload);
  }
  fuzz_as(0xffff, payload);
  return 0;
}
