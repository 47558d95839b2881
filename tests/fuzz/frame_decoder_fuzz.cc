// Fuzz target for everything that turns untrusted log bytes into structure: decode_frame (with
// and without payload verification), decode_segment_header, parse_segment_file_name and
// decode_clean_close (the CLOSED marker). Beyond
// "never crash", it checks what each accepted input promises, and traps when a promise breaks.
//
// Input: [control u8][expected LSN u64][frame bytes ...]
//   control bit 0: first rewrite the frame's checksum to match its bytes, so that mutations reach
//                  the checks behind the checksum (type, flags, LSN, payload);
//   control bit 1: expected LSN = kNoLsn (no LSN check).
// The whole input is also a segment header block (zero-padded to 4 KiB), a file name and a
// clean-close marker (as is, and with its checksum rewritten when it is 48 bytes long).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include "cairn/schema/record_schema.h"
#include "clean_close.h"
#include "frame_decoder.h"
#include "frame_format.h"

namespace {

using namespace cairn::log;
using namespace cairn::log::format;

// Traps rather than returns: libFuzzer and the plain driver both stop on it and keep the input.
void require(bool promise) {
  if (!promise) __builtin_trap();
}

void fuzz_file_name(std::string_view name) {
  const auto parsed = parse_segment_file_name(name);
  if (!parsed) return;
  // Only the canonical name is accepted (8 sequence digits, or more without a leading zero, and
  // 20 LSN digits), so formatting gives the same name back.
  require(segment_file_name(parsed->seq, parsed->first_lsn) == name);
}

void fuzz_segment_header(const uint8_t* data, size_t size) {
  std::vector<std::byte> block(kSegmentHeaderSize);
  if (size > 0) std::memcpy(block.data(), data, std::min<size_t>(size, block.size()));
  SegmentHeader header;
  std::string why;
  const HeaderState state = decode_segment_header(block.data(), &header, &why);
  if (state == HeaderState::kEmpty) {
    for (std::byte b : block) require(b == std::byte{0});
    return;
  }
  if (state == HeaderState::kInvalid) {
    require(!why.empty());
    return;
  }
  // A valid header encodes back to the same checksummed bytes.
  std::vector<std::byte> again(kSegmentHeaderSize);
  encode_segment_header(header, again.data());
  require(std::memcmp(again.data(), block.data(), kSegmentHeaderChecksummed + 8) == 0);
}

void fuzz_clean_close(const uint8_t* data, size_t size) {
  std::vector<std::byte> bytes(size);
  if (size > 0) std::memcpy(bytes.data(), data, size);
  for (int pass = 0; pass < 2; ++pass) {
    if (pass == 1) {
      if (size != kCleanCloseBytes) return;
      store_u64(bytes.data() + 40, XXH3_64bits(bytes.data(), 40));  // reach the checks behind it
    }
    std::string why;
    const auto marker = decode_clean_close(bytes, &why);
    if (!marker) {
      require(!why.empty());
      continue;
    }
    // Accepted: exactly the bytes its fields encode to, and a sane range.
    require(size == kCleanCloseBytes);
    require(marker->end_lsn >= marker->first_lsn);
    const auto again = encode_clean_close(*marker);
    require(std::memcmp(again.data(), bytes.data(), kCleanCloseBytes) == 0);
  }
}

void check_described(std::span<const std::byte> bytes, const DecodedFrame& f) {
  require(f.size == frame_size(f.header.payload_len));
  require(f.size <= bytes.size());
  require(f.payload.data() == bytes.data() + kFrameHeaderSize);
  require(f.payload.size() == f.header.payload_len);
  require(f.header.type != 0 && (f.header.flags & ~kKnownFlags) == 0);
  require(frame_checksum(bytes.data(), f.header.payload_len) == f.header.checksum);
}

void fuzz_frame(std::span<const std::byte> bytes, Lsn expected) {
  DecodedFrame plain;
  const FrameCheck without = decode_frame(bytes, expected, nullptr, &plain);
  DecodedFrame verified;
  const FrameCheck with = decode_frame(bytes, expected, &cairn::schema::verify_payload, &verified);
  // Payload verification comes last: it can only turn an OK into kBadPayload.
  if (without == FrameCheck::kOk) {
    require(with == FrameCheck::kOk || with == FrameCheck::kBadPayload);
  } else {
    require(with == without);
  }
  require(without != FrameCheck::kBadPayload);
  // A zero checksum word, and only that, means "no frame here".
  const bool zero_word = bytes.size() >= 8 && is_zero_word(bytes.data());
  require((without == FrameCheck::kEmpty) == zero_word);
  require((peek_frame_size(bytes) == 0) == zero_word);
  if (bytes.size() < kFrameHeaderSize && !zero_word) require(without == FrameCheck::kTruncated);
  if (without == FrameCheck::kOk || without == FrameCheck::kLsnMismatch) {
    check_described(bytes, plain);
    require((without == FrameCheck::kOk) == (expected == kNoLsn || plain.header.lsn == expected));
  }
  if (with == FrameCheck::kOk) {
    check_described(bytes, verified);
    // A verified payload is safe to render (the tools print every record this way).
    require(!cairn::schema::payload_to_json(verified.header.type, verified.payload).empty());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz_file_name(std::string_view(reinterpret_cast<const char*>(data), size));
  fuzz_segment_header(data, size);
  fuzz_clean_close(data, size);
  if (size < 9) return 0;
  const uint8_t control = data[0];
  uint64_t expected;
  std::memcpy(&expected, data + 1, 8);
  if (control & 2) expected = kNoLsn;
  // A copy: frames sit 8-byte aligned in the log, and the checksum may be rewritten.
  std::vector<std::byte> frame(size - 9);
  if (!frame.empty()) std::memcpy(frame.data(), data + 9, frame.size());
  if ((control & 1) && frame.size() >= kFrameHeaderSize) {
    const FrameHeader h = load_header(frame.data());
    if (h.payload_len <= kPayloadBytesHardMax && frame_size(h.payload_len) <= frame.size()) {
      store_u64(frame.data(), frame_checksum(frame.data(), h.payload_len));
    }
  }
  fuzz_frame(frame, expected);
  return 0;
}
