// decode_frame accepts exactly the frames docs/log_format.md describes: a frame encoded by hand
// from that layout decodes, and each kind of damage comes back as the FrameCheck that names it.
#include <gtest/gtest.h>
#include <xxhash.h>

#include <cstring>
#include <vector>

#include "cairn/schema/record_schema.h"
#include "frame_decoder.h"
#include "support/blob_records.h"

namespace cairn::log::format {
namespace {

using cairn::testing::kBlobType;
using cairn::testing::make_blob;

// The seed the format document gives ("CAIRNFRM"), spelled out rather than taken from the code.
constexpr uint64_t kDocumentedSeed = 0x434149524e46524dULL;

struct RawHeader {
  uint32_t payload_len = 0;
  uint16_t type = 0;
  uint16_t flags = 0;
  Lsn lsn = 0;
};

// A frame laid out byte by byte as the document draws it, with a correct checksum.
std::vector<std::byte> encode_frame(const RawHeader& h, std::span<const std::byte> payload) {
  const size_t padded = (payload.size() + 7) / 8 * 8;
  std::vector<std::byte> f(24 + padded);
  std::memcpy(&f[8], &h.payload_len, 4);
  std::memcpy(&f[12], &h.type, 2);
  std::memcpy(&f[14], &h.flags, 2);
  std::memcpy(&f[16], &h.lsn, 8);
  if (!payload.empty()) std::memcpy(&f[24], payload.data(), payload.size());
  const uint64_t checksum = XXH3_64bits_withSeed(f.data() + 8, f.size() - 8, kDocumentedSeed);
  std::memcpy(&f[0], &checksum, 8);
  return f;
}

// A Blob payload whose size is not a multiple of 8, so that its frame ends in padding. (With its
// 8-byte seq field set FlatBuffers pads the buffer to 8; producer 0 and seq 0 are left out.)
std::vector<std::byte> unaligned_blob() {
  for (size_t data = 40; data < 48; ++data) {
    auto payload = make_blob(0, 0, data);
    if (payload.size() % 8 != 0) return payload;
  }
  ADD_FAILURE() << "no Blob payload of 40..47 data bytes has a size that is not a multiple of 8";
  return make_blob(0, 0, 40);
}

std::vector<std::byte> blob_frame(Lsn lsn) {
  const auto payload = unaligned_blob();
  return encode_frame({static_cast<uint32_t>(payload.size()), kBlobType, 0, lsn}, payload);
}

FrameCheck decode(std::span<const std::byte> bytes, Lsn expected, bool verify = true) {
  DecodedFrame out;
  return decode_frame(bytes, expected, verify ? &schema::verify_payload : nullptr, &out);
}

TEST(FrameDecoder, HandEncodedFrameDecodes) {
  const auto payload = unaligned_blob();
  const auto frame =
      encode_frame({static_cast<uint32_t>(payload.size()), kBlobType, 0, 4096}, payload);
  ASSERT_EQ(frame.size() % 8, 0u);
  ASSERT_NE(frame.size(), 24 + payload.size()) << "the test wants a frame with padding";
  DecodedFrame out;
  ASSERT_EQ(decode_frame(frame, 4096, &schema::verify_payload, &out), FrameCheck::kOk);
  EXPECT_EQ(out.size, frame.size());
  EXPECT_EQ(out.size, frame_size(static_cast<uint32_t>(payload.size())));
  EXPECT_EQ(out.header.lsn, 4096u);
  EXPECT_EQ(out.header.type, kBlobType);
  EXPECT_EQ(out.header.flags, 0u);
  EXPECT_EQ(out.header.payload_len, payload.size());
  ASSERT_EQ(out.payload.size(), payload.size());
  EXPECT_EQ(std::memcmp(out.payload.data(), payload.data(), payload.size()), 0);
  EXPECT_EQ(out.payload.data(), frame.data() + 24);
  EXPECT_EQ(frame_checksum(frame.data(), static_cast<uint32_t>(payload.size())),
            load_u64(frame.data()));
}

TEST(FrameDecoder, IgnoresTheBytesAfterTheFrame) {
  auto bytes = blob_frame(0);
  const size_t size = bytes.size();
  bytes.resize(size + 4096, std::byte{0x5a});
  DecodedFrame out;
  ASSERT_EQ(decode_frame(bytes, 0, &schema::verify_payload, &out), FrameCheck::kOk);
  EXPECT_EQ(out.size, size);
}

TEST(FrameDecoder, EverySingleBitFlipIsDetected) {
  const auto frame = blob_frame(800);
  ASSERT_EQ(decode(frame, 800), FrameCheck::kOk);
  for (size_t byte = 0; byte < frame.size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      auto damaged = frame;
      damaged[byte] ^= std::byte(1u << bit);
      EXPECT_NE(decode(damaged, 800), FrameCheck::kOk) << "byte " << byte << " bit " << bit;
      // Without the LSN and payload checks the checksum alone still catches it.
      EXPECT_NE(decode(damaged, kNoLsn, false), FrameCheck::kOk)
          << "byte " << byte << " bit " << bit;
    }
  }
}

TEST(FrameDecoder, IntactFrameWithAnotherLsnIsAMismatch) {
  const auto frame = blob_frame(1024);
  DecodedFrame out;
  EXPECT_EQ(decode_frame(frame, 1032, &schema::verify_payload, &out), FrameCheck::kLsnMismatch);
  EXPECT_EQ(out.header.lsn, 1024u) << "a mismatch still describes the frame";
  EXPECT_EQ(out.size, frame.size());
  EXPECT_EQ(decode(frame, 0), FrameCheck::kLsnMismatch);
  EXPECT_EQ(decode(frame, kNoLsn), FrameCheck::kOk) << "kNoLsn skips the LSN check";
}

TEST(FrameDecoder, TypeZeroOrUnknownFlagsUnderAValidChecksumAreABadTag) {
  const auto payload = make_blob(1, 1, 10);
  const uint32_t len = static_cast<uint32_t>(payload.size());
  EXPECT_EQ(decode(encode_frame({len, 0, 0, 0}, payload), 0), FrameCheck::kBadTag);
  EXPECT_EQ(decode(encode_frame({len, 0, 0, 0}, payload), kNoLsn, false), FrameCheck::kBadTag);
  for (uint16_t flags :
       {uint16_t{2}, uint16_t{3}, uint16_t{0x80}, uint16_t{0x8000}, uint16_t{0xffff}}) {
    EXPECT_EQ(decode(encode_frame({len, kBlobType, flags, 0}, payload), 0), FrameCheck::kBadTag)
        << "flags " << flags;
  }
}

TEST(FrameDecoder, SaltFlagIsAccepted) {
  // Bit 0 (salt) is what the writer sets when a frame's checksum would otherwise be zero.
  const auto payload = make_blob(1, 1, 10);
  const auto frame = encode_frame(
      {static_cast<uint32_t>(payload.size()), kBlobType, kFlagChecksumSalt, 64}, payload);
  DecodedFrame out;
  ASSERT_EQ(decode_frame(frame, 64, &schema::verify_payload, &out), FrameCheck::kOk);
  EXPECT_EQ(out.header.flags, kFlagChecksumSalt);
}

TEST(FrameDecoder, ZeroChecksumWordIsNeverAFrame) {
  // Eight zero bytes where a frame could start are padding, whatever follows them: that is how a
  // reader finds the end of a batch even 8 or 16 bytes before a block boundary.
  auto frame = blob_frame(0);
  std::fill(frame.begin(), frame.begin() + 8, std::byte{0});
  EXPECT_EQ(decode(frame, 0), FrameCheck::kEmpty);
  EXPECT_EQ(decode(std::span(frame).first(8), 0), FrameCheck::kEmpty);
  EXPECT_EQ(decode(std::span(frame).first(16), 0), FrameCheck::kEmpty);
  EXPECT_EQ(peek_frame_size(std::span(frame).first(8)), 0u);
}

TEST(FrameDecoder, ShortInputIsTruncated) {
  const auto frame = blob_frame(0);
  ASSERT_NE(load_u64(frame.data()), 0u);
  for (size_t n = 0; n < frame.size(); ++n) {
    EXPECT_EQ(decode(std::span(frame).first(n), 0), FrameCheck::kTruncated) << n << " bytes";
  }
  // A header that claims the hard maximum is plausible, but the bytes are not there.
  const auto header = encode_frame({kPayloadBytesHardMax, kBlobType, 0, 0}, {});
  EXPECT_EQ(decode(std::span(header).first(24), 0), FrameCheck::kTruncated);
}

TEST(FrameDecoder, AbsurdLengthIsABadLength) {
  for (uint32_t len : {kPayloadBytesHardMax + 1, 0x8000'0000u, 0xffff'ffffu}) {
    std::vector<std::byte> header(24 + 4096);
    std::memcpy(&header[8], &len, 4);
    std::memcpy(&header[12], &kBlobType, 2);
    std::fill(header.begin(), header.begin() + 8, std::byte{0x11});
    EXPECT_EQ(decode(header, 0), FrameCheck::kBadLength) << len;
    EXPECT_EQ(peek_frame_size(header), kNoSize) << len;
  }
}

TEST(FrameDecoder, ZeroBytesAreEmpty) {
  const std::vector<std::byte> zeros(4096);
  EXPECT_EQ(decode(std::span(zeros).first(24), 0), FrameCheck::kEmpty);
  EXPECT_EQ(decode(zeros, 0), FrameCheck::kEmpty);
  EXPECT_EQ(decode(zeros, kNoLsn, false), FrameCheck::kEmpty);
  EXPECT_EQ(peek_frame_size(zeros), 0u);
}

TEST(FrameDecoder, PayloadThatIsNotItsTableIsABadPayload) {
  std::vector<std::byte> garbage(64);
  for (size_t i = 0; i < garbage.size(); ++i) garbage[i] = std::byte(0xa5 ^ (i * 29));
  const auto frame = encode_frame({64, kBlobType, 0, 0}, garbage);
  EXPECT_EQ(decode(frame, 0, /*verify=*/true), FrameCheck::kBadPayload);
  EXPECT_EQ(decode(frame, 0, /*verify=*/false), FrameCheck::kOk);
  // An empty payload is no FlatBuffers buffer either.
  const auto empty = encode_frame({0, kBlobType, 0, 0}, {});
  EXPECT_EQ(empty.size(), 24u);
  EXPECT_EQ(decode(empty, 0, true), FrameCheck::kBadPayload);
  EXPECT_EQ(decode(empty, 0, false), FrameCheck::kOk);
}

TEST(FrameDecoder, UnknownRecordTypeFailsPayloadVerification) {
  // An older build reading a newer log must reject types it does not know, not guess.
  const auto payload = make_blob(1, 1, 10);
  const auto frame = encode_frame({static_cast<uint32_t>(payload.size()), 4242, 0, 0}, payload);
  EXPECT_EQ(decode(frame, 0, true), FrameCheck::kBadPayload);
  EXPECT_EQ(decode(frame, 0, false), FrameCheck::kOk);
}

TEST(FrameDecoder, PeekGivesTheFrameSizeFromTheHeaderAlone) {
  const auto frame = blob_frame(0);
  EXPECT_EQ(peek_frame_size(std::span(frame).first(24)), frame.size());
  EXPECT_EQ(peek_frame_size(std::span(frame).first(23)), kNoSize);
  EXPECT_EQ(frame_size(0), 24u);
  EXPECT_EQ(frame_size(1), 32u);
  EXPECT_EQ(frame_size(8), 32u);
  EXPECT_EQ(frame_size(9), 40u);
}

TEST(FrameDecoder, CheckNamesAreDistinct) {
  const FrameCheck all[] = {FrameCheck::kOk,          FrameCheck::kEmpty,
                            FrameCheck::kTruncated,   FrameCheck::kBadLength,
                            FrameCheck::kBadChecksum, FrameCheck::kBadTag,
                            FrameCheck::kLsnMismatch, FrameCheck::kBadPayload};
  for (FrameCheck a : all) {
    for (FrameCheck b : all) {
      if (a != b) {
        EXPECT_STRNE(frame_check_name(a), frame_check_name(b));
      }
    }
  }
}

}  // namespace
}  // namespace cairn::log::format
