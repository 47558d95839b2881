// StagingRing: frames go in and come out unchanged across the wrap point, released space reads as
// zero (so an unpublished frame is never mistaken for a published one), and a full ring makes
// appenders wait until the writer releases space.
#include "staging_ring.h"

#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <thread>
#include <vector>

namespace cairn::log {
namespace {

using format::kFrameHeaderSize;

constexpr uint16_t kType = 100;

// The payload byte at index i of the frame with this id.
std::byte pattern(uint64_t id, size_t i) {
  return std::byte((id * 37 + i * 11 + 1) & 0xff);
}

// Stages one frame as Log::append does: checksum slot, LSN, payload, then the tag word last.
void stage(StagingRing& ring, Lsn pos, uint32_t payload_len, uint64_t id) {
  std::vector<std::byte> payload(payload_len);
  for (size_t i = 0; i < payload_len; ++i) payload[i] = pattern(id, i);
  ring.write_u64(pos + format::kChecksumOffset, id);
  ring.write_u64(pos + format::kLsnOffset, pos);
  ring.write(pos + kFrameHeaderSize, payload.data(), payload.size());
  ring.publish(pos, format::tag_word(payload_len, kType, 0));
}

// Reads the frame back as the writer does and checks every byte of it.
void expect_staged(const StagingRing& ring, Lsn pos, uint32_t payload_len, uint64_t id) {
  ASSERT_EQ(ring.published_tag(pos), format::tag_word(payload_len, kType, 0)) << "at " << pos;
  const uint32_t size = format::frame_size(payload_len);
  std::vector<std::byte> frame(size);
  ring.read(pos, frame.data(), size);
  EXPECT_EQ(format::load_u64(&frame[format::kChecksumOffset]), id);
  EXPECT_EQ(format::load_u64(&frame[format::kLsnOffset]), pos);
  EXPECT_EQ(ring.read_u64(pos + format::kLsnOffset), pos);
  for (size_t i = 0; i < payload_len; ++i) {
    ASSERT_EQ(frame[kFrameHeaderSize + i], pattern(id, i)) << "frame " << id << " byte " << i;
  }
}

std::unique_ptr<StagingRing> ring_of(uint64_t capacity, Lsn start) {
  Result<std::unique_ptr<StagingRing>> ring = StagingRing::create(capacity, start);
  CAIRN_CHECK_MSG(ring.ok(), ring.status().to_string().c_str());
  return std::move(*ring);
}

TEST(StagingRing, CapacityIsAPowerOfTwoOfAtLeastABlock) {
  EXPECT_EQ(ring_of(1, 0)->capacity(), 4096u);
  EXPECT_EQ(ring_of(4096, 0)->capacity(), 4096u);
  EXPECT_EQ(ring_of(5000, 0)->capacity(), 8192u);
}

// Stages frames from `start` for ten laps of a 4 KiB ring, three at a time (so the ring is mostly
// full), reading each back before releasing it. Odd frame sizes make later laps cross the wrap
// point at ever different offsets.
void run_laps(Lsn start) {
  const std::unique_ptr<StagingRing> owned = ring_of(4096, start);
  StagingRing& ring = *owned;
  Lsn next = start;
  uint64_t id = 0;
  while (next < start + 10 * 4096) {
    std::vector<std::pair<Lsn, uint32_t>> staged;
    for (int k = 0; k < 3; ++k, ++id) {
      const uint32_t len = static_cast<uint32_t>(40 + (id * 173) % 900);
      const Lsn pos = ring.reserve(format::frame_size(len));
      ASSERT_EQ(pos, next);
      EXPECT_EQ(ring.published_tag(pos), 0u) << "reserved but unpublished space reads as zero";
      stage(ring, pos, len, id);
      staged.emplace_back(pos, len);
      next = pos + format::frame_size(len);
    }
    for (size_t k = 0; k < staged.size(); ++k) {
      expect_staged(ring, staged[k].first, staged[k].second, id - staged.size() + k);
    }
    ring.release(next);
    EXPECT_EQ(ring.released(), next);
    EXPECT_EQ(ring.reserved_end(), next);
  }
}

TEST(StagingRing, FramesRoundTripAcrossTheWrapPoint) {
  // The first frame crosses the wrap point: after its checksum slot (4096 - 8), after its tag
  // word (4096 - 16), right after its header (4096 - 24), and inside its payload (4096 - 64).
  for (Lsn back : {8, 16, 24, 64}) {
    SCOPED_TRACE(back);
    run_laps(4096 - back);
  }
}

TEST(StagingRing, ReleaseZeroesTheSpace) {
  const std::unique_ptr<StagingRing> owned = ring_of(4096, 0);
  StagingRing& ring = *owned;
  const Lsn a = ring.reserve(format::frame_size(1000));
  stage(ring, a, 1000, 1);
  const Lsn b = ring.reserve(format::frame_size(2000));
  stage(ring, b, 2000, 2);
  ring.release(b);  // only the first frame
  std::vector<std::byte> bytes(format::frame_size(1000), std::byte{0x77});
  ring.read(a, bytes.data(), bytes.size());
  for (size_t i = 0; i < bytes.size(); ++i) ASSERT_EQ(bytes[i], std::byte{0}) << i;
  // The same memory one lap later is not a published frame.
  EXPECT_EQ(ring.published_tag(a + ring.capacity()), 0u);
  expect_staged(ring, b, 2000, 2);  // the frame not released is untouched
  ring.release(b + format::frame_size(2000));
  EXPECT_EQ(ring.published_tag(b), 0u);
}

TEST(StagingRing, FullRingBlocksTheProducerUntilRelease) {
  const std::unique_ptr<StagingRing> owned = ring_of(4096, 0);
  StagingRing& ring = *owned;
  const Lsn first = ring.reserve(2048);
  const Lsn second = ring.reserve(2048);  // the ring is now full
  ASSERT_EQ(second, 2048u);
  stage(ring, first, 2048 - kFrameHeaderSize, 1);
  stage(ring, second, 2048 - kFrameHeaderSize, 2);

  std::latch started(1);
  std::atomic<bool> returned{false};
  Lsn got = 0;
  std::thread producer([&] {
    started.count_down();
    got = ring.reserve(64);
    returned.store(true);
    stage(ring, got, 64 - kFrameHeaderSize, 3);
  });
  started.wait();
  // reserve() claims its position before it waits, so this shows the producer is inside it.
  while (ring.reserved_end() != 4096 + 64) std::this_thread::yield();
  // Nothing was released, so the producer cannot have got space (no timing involved: it stays
  // blocked until the release below, however long this thread takes).
  EXPECT_FALSE(returned.load());

  expect_staged(ring, first, 2048 - kFrameHeaderSize, 1);
  ring.release(first + 2048);
  producer.join();
  EXPECT_TRUE(returned.load());
  EXPECT_EQ(got, 4096u);
  expect_staged(ring, got, 64 - kFrameHeaderSize, 3);  // it landed where the first frame was
}

TEST(StagingRing, ManyProducersOneConsumerThroughASmallRing) {
  // Producers outrun the consumer through a 4 KiB ring: they wait for space all the time, and every
  // frame still arrives whole, once, and in each producer's order.
  constexpr int kProducers = 4;
  constexpr uint64_t kFramesEach = 3000;
  const std::unique_ptr<StagingRing> owned = ring_of(4096, 0);
  StagingRing& ring = *owned;
  std::latch go(kProducers + 1);
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      go.arrive_and_wait();
      for (uint64_t i = 0; i < kFramesEach; ++i) {
        const uint64_t id = (uint64_t(p) << 32) | i;
        const uint32_t len = static_cast<uint32_t>(8 + (id * 7 + i * 13) % 500);
        stage(ring, ring.reserve(format::frame_size(len)), len, id);
      }
    });
  }
  go.arrive_and_wait();
  std::vector<uint64_t> next_seq(kProducers, 0);
  Lsn pos = 0;
  // No ASSERT in this loop: the producers can only finish (and be joined) if it keeps releasing.
  for (uint64_t n = 0; n < kProducers * kFramesEach; ++n) {
    uint64_t tag;
    while ((tag = ring.published_tag(pos)) == 0) std::this_thread::yield();
    const uint32_t len = static_cast<uint32_t>(tag);
    const uint64_t id = ring.read_u64(pos + format::kChecksumOffset);
    const uint32_t p = static_cast<uint32_t>(id >> 32);
    if (p < static_cast<uint32_t>(kProducers)) {
      EXPECT_EQ(id & 0xffff'ffff, next_seq[p]) << "producer " << p;
      ++next_seq[p];
    } else {
      ADD_FAILURE() << "frame at " << pos << " names producer " << p;
    }
    expect_staged(ring, pos, len, id);
    pos += format::frame_size(len);
    ring.release(pos);
  }
  for (auto& t : producers) t.join();
  for (int p = 0; p < kProducers; ++p) EXPECT_EQ(next_seq[p], kFramesEach);
  EXPECT_EQ(ring.reserved_end(), pos);
}

}  // namespace
}  // namespace cairn::log
