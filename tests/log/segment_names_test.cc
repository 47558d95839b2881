// Segment file names and segment headers: names round-trip (the sequence field widens past
// 99,999,999) and anything that is not exactly such a name is not a segment; a header decodes to
// what was encoded, and a damaged or foreign header is kInvalid while an all-zero block is kEmpty.
#include <gtest/gtest.h>
#include <xxhash.h>

#include <cstring>
#include <limits>
#include <vector>

#include "frame_format.h"

namespace cairn::log::format {
namespace {

TEST(SegmentNames, FormatIsZeroPaddedDigits) {
  EXPECT_EQ(segment_file_name(7, 123456784), "00000007-00000000000123456784.wal");
  EXPECT_EQ(segment_file_name(1, 0), "00000001-00000000000000000000.wal");
  EXPECT_EQ(segment_file_name(99'999'999, std::numeric_limits<uint64_t>::max()),
            "99999999-18446744073709551615.wal");
  // Past eight digits the field widens: naming the 100,000,000th segment was an assertion that
  // ended the process, at every restart again.
  EXPECT_EQ(segment_file_name(100'000'000, 5), "100000000-00000000000000000005.wal");
  EXPECT_EQ(segment_file_name(std::numeric_limits<uint64_t>::max(), 5),
            "18446744073709551615-00000000000000000005.wal");
}

TEST(SegmentNames, ParseRoundTrips) {
  const std::pair<uint64_t, Lsn> cases[] = {{0, 0},
                                            {1, 0},
                                            {7, 123456784},
                                            {12345678, 1ull << 40},
                                            {99'999'999, std::numeric_limits<uint64_t>::max()},
                                            {100'000'000, 1},
                                            {123'456'789'012, 1ull << 40},
                                            {std::numeric_limits<uint64_t>::max(), 0}};
  for (auto [seq, lsn] : cases) {
    auto parsed = parse_segment_file_name(segment_file_name(seq, lsn));
    ASSERT_TRUE(parsed.has_value()) << seq << " " << lsn;
    EXPECT_EQ(parsed->seq, seq);
    EXPECT_EQ(parsed->first_lsn, lsn);
  }
}

TEST(SegmentNames, NamesOrderLikeTheirSequenceNumbers) {
  EXPECT_LT(segment_file_name(9, 1ull << 50), segment_file_name(10, 0));
  EXPECT_LT(segment_file_name(1, 999), segment_file_name(2, 1000));
}

TEST(SegmentNames, RejectsAnythingElse) {
  const char* bad[] = {
      "",
      ".wal",
      "0000007-00000000000123456784.wal",    // 7 sequence digits
      "000000007-0000000000123456784.wal",   // 9 and 19
      "000000007-00000000000123456784.wal",  // 9 sequence digits with a leading zero
      "0100000000-00000000000123456784.wal",
      "18446744073709551616-00000000000123456784.wal",   // sequence above 2^64 - 1
      "123456789012345678901-00000000000123456784.wal",  // 21 sequence digits
      "00000007-0000000000123456784.wal",                // 19 LSN digits
      "00000007-000000000000123456784.wal",              // 21 LSN digits
      "0000000a-00000000000123456784.wal",               // a letter
      "00000007-0000000000012345678x.wal",
      "+0000007-00000000000123456784.wal",  // a sign
      "-0000007-00000000000123456784.wal",
      " 0000007-00000000000123456784.wal",  // a space
      "00000007_00000000000123456784.wal",  // wrong separator
      "00000007-00000000000123456784.WAL",  // suffix case
      "00000007-00000000000123456784.wav",
      "00000007-00000000000123456784.wal.tmp",
      "00000007-00000000000123456784.wa",
      "00000007-00000000000123456784wal",
      "00000007-00000000000123456784",
      "99999999-99999999999999999999.wal",  // LSN above 2^64 - 1
      "99999999-18446744073709551616.wal",
      "prealloc-3.tmp",
      "LOCK",
      "quarantine",
  };
  for (const char* name : bad) {
    EXPECT_FALSE(parse_segment_file_name(name).has_value()) << '"' << name << '"';
  }
  // A NUL inside the name is not a digit either.
  std::string with_nul = "00000007-00000000000123456784.wal";
  with_nul[3] = '\0';
  EXPECT_FALSE(parse_segment_file_name(with_nul).has_value());
}

SegmentHeader sample_header() {
  SegmentHeader h;
  h.seq = 42;
  h.first_lsn = 0x1234'5678'9abc'def0;
  h.segment_bytes = 64ull << 20;
  h.created_unix_ms = 1'700'000'000'123;
  return h;
}

std::vector<std::byte> encoded(const SegmentHeader& h) {
  std::vector<std::byte> block(kSegmentHeaderSize, std::byte{0xee});  // encode must clear it
  encode_segment_header(h, block.data());
  return block;
}

HeaderState decode(const std::vector<std::byte>& block, SegmentHeader* out = nullptr,
                   std::string* why = nullptr) {
  SegmentHeader ignored;
  std::string ignored_why;
  return decode_segment_header(block.data(), out ? out : &ignored, why ? why : &ignored_why);
}

// Rewrites the header's checksum so that a deliberate change is the only thing wrong.
void reseal(std::vector<std::byte>& block) {
  const uint64_t sum = XXH3_64bits(block.data(), kSegmentHeaderChecksummed);
  std::memcpy(&block[48], &sum, 8);
}

TEST(SegmentHeaderCodec, RoundTripsTheDocumentedLayout) {
  const SegmentHeader h = sample_header();
  const auto block = encoded(h);
  EXPECT_EQ(std::memcmp(block.data(), "CAIRNSEG", 8), 0);
  EXPECT_EQ(load_u32(&block[8]), kFormatVersion);
  EXPECT_EQ(load_u32(&block[12]), 4096u);
  EXPECT_EQ(load_u64(&block[16]), h.seq);
  EXPECT_EQ(load_u64(&block[24]), h.first_lsn);
  EXPECT_EQ(load_u64(&block[32]), h.segment_bytes);
  EXPECT_EQ(load_u64(&block[40]), h.created_unix_ms);
  EXPECT_EQ(load_u64(&block[48]), XXH3_64bits(block.data(), 48));
  for (size_t i = 56; i < block.size(); ++i) ASSERT_EQ(block[i], std::byte{0}) << i;

  SegmentHeader out;
  ASSERT_EQ(decode(block, &out), HeaderState::kValid);
  EXPECT_EQ(out.version, kFormatVersion);
  EXPECT_EQ(out.seq, h.seq);
  EXPECT_EQ(out.first_lsn, h.first_lsn);
  EXPECT_EQ(out.segment_bytes, h.segment_bytes);
  EXPECT_EQ(out.created_unix_ms, h.created_unix_ms);
}

TEST(SegmentHeaderCodec, ZeroBlockIsEmpty) {
  const std::vector<std::byte> zeros(kSegmentHeaderSize);
  EXPECT_EQ(decode(zeros), HeaderState::kEmpty);
  // One non-zero byte anywhere makes it a (bad) header rather than an unwritten block.
  auto almost = zeros;
  almost[4095] = std::byte{1};
  EXPECT_EQ(decode(almost), HeaderState::kInvalid);
}

TEST(SegmentHeaderCodec, BadMagicIsInvalid) {
  auto block = encoded(sample_header());
  block[3] ^= std::byte{0x20};
  reseal(block);
  std::string why;
  EXPECT_EQ(decode(block, nullptr, &why), HeaderState::kInvalid);
  EXPECT_NE(why.find("magic"), std::string::npos) << why;
}

TEST(SegmentHeaderCodec, AnyFlippedBitOfTheChecksummedBytesIsInvalid) {
  const auto good = encoded(sample_header());
  for (size_t byte = 0; byte < kSegmentHeaderChecksummed + 8; ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      auto block = good;
      block[byte] ^= std::byte(1u << bit);
      EXPECT_EQ(decode(block), HeaderState::kInvalid) << "byte " << byte << " bit " << bit;
    }
  }
}

TEST(SegmentHeaderCodec, UnknownVersionIsInvalid) {
  SegmentHeader h = sample_header();
  h.version = kFormatVersion + 1;
  std::string why;
  EXPECT_EQ(decode(encoded(h), nullptr, &why), HeaderState::kInvalid);
  EXPECT_NE(why.find("version"), std::string::npos) << why;
}

// A repair writes a file cut short back to the size its header names: a size no log writes is
// refused under a valid checksum, not believed (it could ask for zeros up to 2^64 bytes).
TEST(SegmentHeaderCodec, ASegmentSizeNoLogWritesIsInvalid) {
  for (const uint64_t size : {uint64_t{0}, uint64_t{4096}, uint64_t{(1u << 20) + 1},
                              (uint64_t{1} << 40) + 4096, ~uint64_t{0}}) {
    SegmentHeader h = sample_header();
    h.segment_bytes = size;
    std::string why;
    EXPECT_EQ(decode(encoded(h), nullptr, &why), HeaderState::kInvalid) << size;
    EXPECT_NE(why.find("segment size of " + std::to_string(size)), std::string::npos) << why;
  }
  // Up to 1 TiB: logs of builds that allowed segments above today's 4 GiB still open.
  for (const uint64_t size :
       {uint64_t{8192}, uint64_t{1} << 20, (uint64_t{1} << 32) + 4096, uint64_t{1} << 40}) {
    SegmentHeader h = sample_header();
    h.segment_bytes = size;
    EXPECT_EQ(decode(encoded(h)), HeaderState::kValid) << size;
  }
}

TEST(SegmentHeaderCodec, AnotherBlockSizeIsInvalid) {
  auto block = encoded(sample_header());
  const uint32_t other = 512;
  std::memcpy(&block[12], &other, 4);
  reseal(block);
  std::string why;
  EXPECT_EQ(decode(block, nullptr, &why), HeaderState::kInvalid);
  EXPECT_NE(why.find("block size"), std::string::npos) << why;
}

}  // namespace
}  // namespace cairn::log::format
