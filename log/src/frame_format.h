// The on-disk format in one place (docs/log_format.md draws it): frame and segment-header layout,
// sizes, the checksum, and the file names of a log directory. Writer, scanner and tools all agree
// through this header and nothing else.
#pragma once

#include <xxhash.h>

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "cairn/log/types.h"

namespace cairn::log::format {

static_assert(std::endian::native == std::endian::little, "the format is little-endian");

// Writes are made of whole blocks; every batch starts on a block boundary.
inline constexpr uint32_t kBlockSize = 4096;

// Frame: [checksum u64][payload_len u32][type u16][flags u16][lsn u64][payload][zero pad to 8].
inline constexpr uint32_t kFrameHeaderSize = 24;
inline constexpr uint32_t kFrameAlign = 8;
inline constexpr size_t kChecksumOffset = 0;
inline constexpr size_t kLengthOffset =
    8;  // payload_len | type << 32 | flags << 48: the "tag word"
inline constexpr size_t kLsnOffset = 16;
// No reader accepts a payload_len above this, whatever the options: it bounds what a corrupt
// length field can make a reader allocate.
inline constexpr uint32_t kPayloadBytesHardMax = 64u << 20;
inline constexpr uint64_t kFrameChecksumSeed = 0x4341'4952'4e46'524dULL;  // "CAIRNFRM"

constexpr uint64_t round_up(uint64_t n, uint64_t align) {
  return (n + align - 1) / align * align;
}
constexpr uint64_t round_down(uint64_t n, uint64_t align) {
  return n / align * align;
}

constexpr uint32_t frame_size(uint32_t payload_len) {
  return kFrameHeaderSize + static_cast<uint32_t>(round_up(payload_len, kFrameAlign));
}

// Flag bit 0: set by the writer only to move a frame's checksum away from zero. A frame's first 8
// bytes are therefore never all zero, which is how readers tell a frame from padding even when
// fewer than 24 bytes are left in a block. No other flag is defined.
inline constexpr uint16_t kFlagChecksumSalt = 1;
inline constexpr uint16_t kKnownFlags = kFlagChecksumSalt;

constexpr uint64_t tag_word(uint32_t payload_len, uint16_t type, uint16_t flags) {
  return uint64_t{payload_len} | (uint64_t{type} << 32) | (uint64_t{flags} << 48);
}

// Covers everything in the frame after the checksum field: the rest of the header (so length,
// type and LSN are protected), the payload and its padding.
inline uint64_t frame_checksum(const std::byte* frame, uint32_t payload_len) {
  return XXH3_64bits_withSeed(frame + 8, frame_size(payload_len) - 8, kFrameChecksumSeed);
}

// Eight zero bytes where a frame could start: the start of padding (or of nothing).
inline bool is_zero_word(const std::byte* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v == 0;
}

// Whether n bytes are all zero: padding, a block never written, an empty segment header.
inline bool all_zero(const std::byte* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (p[i] != std::byte{0}) return false;
  }
  return true;
}

inline uint64_t load_u64(const std::byte* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline uint32_t load_u32(const std::byte* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store_u64(std::byte* p, uint64_t v) {
  std::memcpy(p, &v, sizeof v);
}

struct FrameHeader {
  uint64_t checksum = 0;
  uint32_t payload_len = 0;
  uint16_t type = 0;
  uint16_t flags = 0;
  Lsn lsn = 0;
};

inline FrameHeader load_header(const std::byte* p) {
  const uint64_t tag = load_u64(p + kLengthOffset);
  return FrameHeader{load_u64(p + kChecksumOffset), static_cast<uint32_t>(tag),
                     static_cast<uint16_t>(tag >> 32), static_cast<uint16_t>(tag >> 48),
                     load_u64(p + kLsnOffset)};
}

// Segment header: the first block of every segment file.
//   0 magic u64 "CAIRNSEG" | 8 version u32 | 12 block_size u32 | 16 seq u64 | 24 first_lsn u64
//   32 segment_bytes u64 | 40 created_unix_ms u64 | 48 checksum u64 (XXH3 of bytes 0..48)
//   56..4096 zero
inline constexpr uint64_t kSegmentMagic = 0x4745'534e'5249'4143ULL;  // "CAIRNSEG" in memory
inline constexpr uint32_t kFormatVersion = 1;
inline constexpr uint32_t kSegmentHeaderSize = kBlockSize;
inline constexpr size_t kSegmentHeaderChecksummed = 48;

struct SegmentHeader {
  uint32_t version = kFormatVersion;
  uint64_t seq = 0;
  Lsn first_lsn = 0;
  uint64_t segment_bytes = 0;
  uint64_t created_unix_ms = 0;
};

// Writes the header into the first kSegmentHeaderSize bytes of `block` (zero-filling the rest).
void encode_segment_header(const SegmentHeader& header, std::byte* block);

enum class HeaderState { kValid, kEmpty, kInvalid };
// kEmpty: the block is all zeros (a segment that was created but never written).
HeaderState decode_segment_header(const std::byte* block, SegmentHeader* out, std::string* why);

// Sizes a segment file of this log can have: whole blocks, room for the header and a block of
// data, and at most 1 TiB (LogOptions allows 4 GiB; older builds allowed more). A header naming
// another size is invalid, and a file of another size is never written into: a repair writes
// a short file back to its header's size, and the writer fills a segment up to it.
inline constexpr uint64_t kSegmentBytesHardMax = uint64_t{1} << 40;
constexpr bool is_segment_size(uint64_t bytes) {
  return bytes % kBlockSize == 0 && bytes >= 2 * kBlockSize && bytes <= kSegmentBytesHardMax;
}

// Whether an invalid header block can be the torn first write of a header this log wrote into
// segment `seq` starting at `first_lsn` (the spare it was written into held zeros): a prefix of
// that header followed by zeros, the fields it holds equal to what the writer would have put there
// (the creation time and the checksum, which it cannot know, excepted). A header that is not such a
// prefix — another magic, a newer format version, garbage — was not torn by our writer, and
// recovery refuses it instead of cutting it.
bool is_torn_header_prefix(const std::byte* block, uint64_t seq, Lsn first_lsn,
                           uint64_t segment_bytes);

// File names in a log directory.
//   00000007-00000000000123456784.wal   segment 7, whose first record has LSN 123456784
//   prealloc-3.tmp                      a zero-filled file waiting to become the next segment
//   LOCK                                held (flock) by the process that writes the log
//   CLOSED                              the clean-close marker (clean_close.h); CLOSED.tmp while
//                                       Log::close writes it
//   quarantine/                         bytes recovery moved out of the log, never deleted
inline constexpr std::string_view kSegmentSuffix = ".wal";
inline constexpr std::string_view kPreallocPrefix = "prealloc-";
// A segment retention took out of the log, waiting to be reused as a spare (never holds records
// of the log: its old frames' LSNs lie below every segment's that follows).
inline constexpr std::string_view kRecycledPrefix = "recycled-";
// recycled-N.tmp with N at or past this is a zero-filled spare kept at close (SegmentPreparer's
// destructor), not a segment retention took out: no segment's sequence number gets this far (it
// would take 10^19 segments), so the two kinds of name never meet.
inline constexpr uint64_t kKeptSpareNumberBase = 10'000'000'000'000'000'000ull;
inline constexpr std::string_view kLockFileName = "LOCK";
inline constexpr std::string_view kCleanCloseFileName = "CLOSED";
inline constexpr std::string_view kCleanCloseTempFileName = "CLOSED.tmp";
inline constexpr std::string_view kQuarantineDir = "quarantine";

std::string segment_file_name(uint64_t seq, Lsn first_lsn);
struct SegmentName {
  uint64_t seq = 0;
  Lsn first_lsn = 0;
};
std::optional<SegmentName> parse_segment_file_name(std::string_view name);

}  // namespace cairn::log::format
