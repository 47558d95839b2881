// Decodes one frame from untrusted bytes: every field is checked before it is believed. This is
// the only code that turns disk bytes into records (scanner, readers, verify, the fuzz target).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "frame_format.h"

namespace cairn::log::format {

enum class FrameCheck : uint8_t {
  kOk,
  kEmpty,      // a zero checksum word: no frame starts here (padding or the end of data)
  kTruncated,  // the header or the frame runs past the end of the segment
  kBadLength,  // payload_len above the hard maximum
  kBadChecksum,
  kBadTag,       // type 0 or unknown flags under a valid checksum
  kLsnMismatch,  // intact frame, but not the LSN the chain expects (stale or out of order)
  kBadPayload,   // intact frame whose payload fails FlatBuffers verification
};

const char* frame_check_name(FrameCheck check);

struct DecodedFrame {
  FrameHeader header;
  std::span<const std::byte> payload;
  uint32_t size = 0;  // whole frame, with padding
};

// Checks the frame at the start of `bytes` (everything up to the end of its segment, or at least
// the whole frame). `expected_lsn` = kNoLsn skips the LSN check. When it returns kOk or
// kLsnMismatch, `out` describes the frame.
// `verifier`, if given, checks the payload of an intact frame (kBadPayload when it refuses).
FrameCheck decode_frame(std::span<const std::byte> bytes, Lsn expected_lsn,
                        PayloadVerifier verifier, DecodedFrame* out);

// The size of the frame whose header starts `bytes` (at least 8 bytes), when the header is
// plausible (not the checksum: the caller may not have the whole frame yet). 0 when the first 8
// bytes are zero (no frame); kNoSize for garbage or fewer than 24 bytes.
inline constexpr uint32_t kNoSize = ~uint32_t{0};
uint32_t peek_frame_size(std::span<const std::byte> header_bytes);

}  // namespace cairn::log::format
