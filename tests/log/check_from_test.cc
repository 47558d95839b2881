// open_checks_from and ReaderOptions::from: what comes before the LSN an owner needs (the
// engine's snapshot) is followed by its frame headers, not checked — a restart after a snapshot
// reads what it will replay, not the whole history — while everything from that LSN on is
// checked as always, and `verify` still finds damage anywhere.
#include <gtest/gtest.h>

#include "blob_log.h"
#include "cairn/log/log.h"
#include "cairn/log/verify.h"
#include "damage_checks.h"
#include "log_dir_files.h"
#include "support/temp_dir.h"

namespace cairn::log {
namespace {

using cairn::testing::BlobLogSpec;
using cairn::testing::small_log_options;

constexpr size_t kRecords = 3000;  // several segments of small_log_options

struct Written {
  std::vector<Lsn> lsns;
  std::vector<std::filesystem::path> segments;
};

Written write_log(const std::filesystem::path& dir) {
  Written w;
  auto log = Log::open(dir, small_log_options());
  EXPECT_TRUE(log.ok()) << log.status().to_string();
  BlobLogSpec spec{.records = kRecords, .data_bytes = [](uint64_t) { return 1500; }};
  w.lsns = cairn::testing::append_blobs(**log, spec);
  EXPECT_TRUE((*log)->close().ok());
  w.segments = cairn::testing::segment_paths(dir);
  return w;
}

TEST(CheckFrom, OpenChecksOnlyFromTheLsnAndStillFindsTheEnd) {
  cairn::testing::TempDir dir;
  const Written w = write_log(dir.path());
  ASSERT_GE(w.segments.size(), 3u);
  // A flipped bit in the first segment's data: before the LSN the owner needs.
  cairn::testing::flip_bit(w.segments[0], 8192 + 100, 3);
  LogOptions o = small_log_options();
  o.segments_verified_on_open = 0;  // all of them
  o.open_checks_from = w.lsns[kRecords - 10];
  {
    auto log = Log::open(dir.path(), o);
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    EXPECT_LE((*log)->recovery_report().records_verified, 20u);
    EXPECT_GT((*log)->durable_lsn(), w.lsns.back());
    // A reader from there returns exactly the records from there, checked.
    auto reader = (*log)->read_from(w.lsns[kRecords - 10]);
    ASSERT_TRUE(reader.ok()) << reader.status().to_string();
    size_t n = 0;
    for (;;) {
      auto r = (*reader)->next();
      ASSERT_TRUE(r.ok()) << r.status().to_string();
      if (*r == nullptr) break;
      EXPECT_EQ((*r)->lsn, w.lsns[kRecords - 10 + n]);
      ++n;
    }
    EXPECT_EQ(n, 10u);
    // From before the damage, the reader reports it.
    auto early = (*log)->read_from(0);
    ASSERT_TRUE(early.ok());
    Status st;
    for (;;) {
      auto r = (*early)->next();
      if (!r.ok()) {
        st = r.status();
        break;
      }
      if (*r == nullptr) break;
    }
    EXPECT_EQ(st.code(), StatusCode::kCorruption) << st.to_string();
  }
  // Without the LSN, the same open refuses: the damage is in what it would need.
  o.open_checks_from = 0;
  auto refused = Log::open(dir.path(), o);
  EXPECT_FALSE(refused.ok());
  // And verify always finds it.
  EXPECT_TRUE(cairn::testing::verify_damage(dir.path()).has_value());
}

TEST(CheckFrom, DamageAfterTheLsnIsStillFound) {
  cairn::testing::TempDir dir;
  const Written w = write_log(dir.path());
  ASSERT_GE(w.segments.size(), 3u);
  // Damage in the first record of the last sealed segment: records follow it in the next one, so
  // it can never pass for a torn tail (in the last segment it could, when batching happens to
  // leave it the log's last frame). The owner needs everything from the second record on.
  cairn::testing::flip_bit(w.segments[w.segments.size() - 2], 4096 + 100, 3);
  LogOptions o = small_log_options();
  o.segments_verified_on_open = 0;  // all of them: the damage is not in the newest segment
  o.open_checks_from = w.lsns[1];
  auto log = Log::open(dir.path(), o);
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), StatusCode::kCorruption) << log.status().to_string();
}

TEST(CheckFrom, ADamagedLengthBeforeTheLsnIsCorruptionNeverATornTail) {
  cairn::testing::TempDir dir;
  const Written w = write_log(dir.path());
  // The length field of the last segment's first frame: followed, not checked, it would lead the
  // reader into the middle of a frame — which must not look like a torn write to cut.
  const std::filesystem::path last = w.segments.back();
  const auto size_before = std::filesystem::file_size(last);
  cairn::testing::flip_bit(last, 4096 + 8, 6);
  LogOptions o = small_log_options();
  o.open_checks_from = w.lsns.back();
  auto log = Log::open(dir.path(), o);
  ASSERT_FALSE(log.ok()) << "opened: the damage was cut as a torn tail";
  EXPECT_EQ(log.status().code(), StatusCode::kCorruption) << log.status().to_string();
  EXPECT_NE(log.status().message().find("offset 4096"), std::string::npos)
      << log.status().to_string();
  EXPECT_EQ(std::filesystem::file_size(last), size_before);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "quarantine"));
}

}  // namespace
}  // namespace cairn::log
