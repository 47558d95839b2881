// Frame decoding and validation (see frame_decoder.h).
#include "frame_decoder.h"

namespace cairn::log::format {

const char* frame_check_name(FrameCheck check) {
  switch (check) {
    case FrameCheck::kOk:
      return "ok";
    case FrameCheck::kEmpty:
      return "zero bytes where a frame should start";
    case FrameCheck::kTruncated:
      return "frame runs past the end of the segment";
    case FrameCheck::kBadLength:
      return "impossible payload length";
    case FrameCheck::kBadChecksum:
      return "checksum mismatch";
    case FrameCheck::kBadTag:
      return "invalid record type or flags";
    case FrameCheck::kLsnMismatch:
      return "LSN out of sequence";
    case FrameCheck::kBadPayload:
      return "payload fails verification (an unknown record type, a value this version does not "
             "know, or bytes that are not its table)";
  }
  return "?";
}

uint32_t peek_frame_size(std::span<const std::byte> header_bytes) {
  if (header_bytes.size() >= 8 && is_zero_word(header_bytes.data())) return 0;
  if (header_bytes.size() < kFrameHeaderSize) return kNoSize;
  const FrameHeader h = load_header(header_bytes.data());
  if (h.payload_len > kPayloadBytesHardMax) return kNoSize;
  return frame_size(h.payload_len);
}

FrameCheck decode_frame(std::span<const std::byte> bytes, Lsn expected_lsn,
                        PayloadVerifier verifier, DecodedFrame* out) {
  if (bytes.size() >= 8 && is_zero_word(bytes.data())) return FrameCheck::kEmpty;
  if (bytes.size() < kFrameHeaderSize) return FrameCheck::kTruncated;
  const uint32_t size = peek_frame_size(bytes);
  if (size == kNoSize) return FrameCheck::kBadLength;
  if (size > bytes.size()) return FrameCheck::kTruncated;
  const FrameHeader h = load_header(bytes.data());
  if (frame_checksum(bytes.data(), h.payload_len) != h.checksum) return FrameCheck::kBadChecksum;
  // The checksum matched, so these fields are what a writer wrote.
  if (h.type == 0 || (h.flags & ~kKnownFlags) != 0) return FrameCheck::kBadTag;
  out->header = h;
  out->payload = bytes.subspan(kFrameHeaderSize, h.payload_len);
  out->size = size;
  if (expected_lsn != kNoLsn && h.lsn != expected_lsn) return FrameCheck::kLsnMismatch;
  if (verifier != nullptr && !verifier(h.type, out->payload)) {
    return FrameCheck::kBadPayload;
  }
  return FrameCheck::kOk;
}

}  // namespace cairn::log::format
