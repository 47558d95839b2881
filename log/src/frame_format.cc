// Segment header encoding and segment file names (the layout lives in frame_format.h).
#include "frame_format.h"

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "cairn/log/check.h"

namespace cairn::log::format {

void encode_segment_header(const SegmentHeader& header, std::byte* block) {
  std::memset(block, 0, kSegmentHeaderSize);
  store_u64(block + 0, kSegmentMagic);
  const uint32_t version = header.version;
  const uint32_t block_size = kBlockSize;
  std::memcpy(block + 8, &version, 4);
  std::memcpy(block + 12, &block_size, 4);
  store_u64(block + 16, header.seq);
  store_u64(block + 24, header.first_lsn);
  store_u64(block + 32, header.segment_bytes);
  store_u64(block + 40, header.created_unix_ms);
  store_u64(block + 48, XXH3_64bits(block, kSegmentHeaderChecksummed));
}

HeaderState decode_segment_header(const std::byte* block, SegmentHeader* out, std::string* why) {
  if (all_zero(block, kSegmentHeaderSize)) return HeaderState::kEmpty;
  auto invalid = [&](const char* reason) {
    *why = reason;
    return HeaderState::kInvalid;
  };
  if (load_u64(block) != kSegmentMagic) return invalid("segment header has no CAIRNSEG magic");
  if (load_u64(block + 48) != XXH3_64bits(block, kSegmentHeaderChecksummed)) {
    return invalid("segment header checksum mismatch");
  }
  out->version = load_u32(block + 8);
  if (out->version != kFormatVersion) {
    *why = "segment header names format version " + std::to_string(out->version) +
           (out->version > kFormatVersion
                ? ", newer than this build reads (" + std::to_string(kFormatVersion) +
                      "): it was written by a newer Cairn; open it with that version"
                : ", which this build does not read");
    return HeaderState::kInvalid;
  }
  if (load_u32(block + 12) != kBlockSize) return invalid("segment header has another block size");
  out->seq = load_u64(block + 16);
  out->first_lsn = load_u64(block + 24);
  out->segment_bytes = load_u64(block + 32);
  // A repair writes a file cut short back to this size: a size no log writes is not believed.
  if (!is_segment_size(out->segment_bytes)) {
    *why = "segment header names a segment size of " + std::to_string(out->segment_bytes) +
           " bytes, which no log writes (whole 4 KiB blocks, at least 8 KiB, at most 1 TiB)";
    return HeaderState::kInvalid;
  }
  out->created_unix_ms = load_u64(block + 40);
  for (size_t i = 56; i < kSegmentHeaderSize; ++i) {
    if (block[i] != std::byte{0}) return invalid("segment header has non-zero bytes after byte 56");
  }
  return HeaderState::kValid;
}

bool is_torn_header_prefix(const std::byte* block, uint64_t seq, Lsn first_lsn,
                           uint64_t segment_bytes) {
  // The bytes the writer put before the creation time: magic, version, block size, sequence,
  // first LSN, segment size.
  constexpr size_t kKnown = 40;
  size_t end = kSegmentHeaderSize;
  while (end > 0 && block[end - 1] == std::byte{0}) --end;
  if (end == 0 || end >= kSegmentHeaderChecksummed + 8) return false;  // empty, or whole
  SegmentHeader expected;
  expected.seq = seq;
  expected.first_lsn = first_lsn;
  expected.segment_bytes = segment_bytes;
  std::byte want[kSegmentHeaderSize];
  encode_segment_header(expected, want);
  return std::memcmp(block, want, std::min(end, kKnown)) == 0;
}

std::string segment_file_name(uint64_t seq, Lsn first_lsn) {
  // At least 8 digits: past 99,999,999 the field widens. It used to be an assertion, which a log
  // of 1 MiB segments written at 1 GB/s reached in about a day, and then at every restart.
  char name[64];
  const int n =
      std::snprintf(name, sizeof name, "%08llu-%020llu%.*s", static_cast<unsigned long long>(seq),
                    static_cast<unsigned long long>(first_lsn),
                    static_cast<int>(kSegmentSuffix.size()), kSegmentSuffix.data());
  CAIRN_CHECK(n > 0 && static_cast<size_t>(n) < sizeof name);
  return std::string(name, static_cast<size_t>(n));
}

std::optional<SegmentName> parse_segment_file_name(std::string_view name) {
  // 8 digits (or more, the first not a zero, past 99,999,999), '-', 20 digits, ".wal": only the
  // name segment_file_name gives. Anything else is not a segment.
  const size_t dash = name.find('-');
  if (dash == std::string_view::npos || dash < 8 || dash > 20) return std::nullopt;
  if (name.size() != dash + 1 + 20 + kSegmentSuffix.size()) return std::nullopt;
  if (name.substr(dash + 1 + 20) != kSegmentSuffix) return std::nullopt;
  if (dash > 8 && name[0] == '0') return std::nullopt;
  SegmentName out;
  auto digits = [](std::string_view s, uint64_t* v) {
    for (char c : s) {
      if (c < '0' || c > '9') return false;
    }
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
    return ec == std::errc() && ptr == s.data() + s.size();
  };
  if (!digits(name.substr(0, dash), &out.seq) ||
      !digits(name.substr(dash + 1, 20), &out.first_lsn)) {
    return std::nullopt;
  }
  return out;
}

}  // namespace cairn::log::format
