// The clean-close marker (log/src/clean_close.h): a clean Log::close leaves one, the next open
// uses it only when the log ends exactly where it says and removes it before anything is written,
// and a damaged, unmatched or half-written marker is no marker.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "blob_log.h"
#include "cairn/log/log.h"
#include "cairn/log/verify.h"
#include "clean_close.h"
#include "frame_format.h"
#include "log_dir_files.h"
#include "support/blob_records.h"
#include "support/temp_dir.h"

namespace cairn::log {
namespace {

namespace fs = std::filesystem;
using testing::kBlobType;
using testing::make_blob;

fs::path marker_path(const fs::path& dir) {
  return dir / std::string(format::kCleanCloseFileName);
}

// A log of `n` records, closed cleanly; returns its end LSN.
Lsn write_and_close(const fs::path& dir, int n) {
  auto log = Log::open(dir, testing::small_log_options());
  EXPECT_TRUE(log.ok()) << log.status().to_string();
  if (!log.ok()) return 0;
  for (int i = 0; i < n; ++i) {
    EXPECT_TRUE((*log)->append_durable(kBlobType, make_blob(0, i, 300 + i)).ok());
  }
  const Lsn end = (*log)->durable_lsn();
  EXPECT_TRUE((*log)->close().ok());
  return end;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::optional<CleanClose> read_marker(const fs::path& dir, std::string* why) {
  const std::string bytes = read_file(marker_path(dir));
  return decode_clean_close(std::as_bytes(std::span(bytes.data(), bytes.size())), why);
}

void write_file(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Opens the log and returns its report; the marker must be gone while the log is open.
RecoveryReport open_and_check(const fs::path& dir, Lsn end) {
  auto log = Log::open(dir, testing::small_log_options());
  EXPECT_TRUE(log.ok()) << log.status().to_string();
  if (!log.ok()) return {};
  EXPECT_EQ((*log)->recovery_report().end_lsn, end);
  EXPECT_TRUE((*log)->recovery_report().damage.empty()) << (*log)->recovery_report().damage;
  EXPECT_FALSE(fs::exists(marker_path(dir))) << "the open left the marker in place";
  EXPECT_FALSE(fs::exists(dir / std::string(format::kCleanCloseTempFileName)));
  // The log goes on where it ended.
  auto lsn = (*log)->append_durable(kBlobType, make_blob(1, 0, 100));
  EXPECT_TRUE(lsn.ok() && *lsn == end);
  RecoveryReport report = (*log)->recovery_report();
  (void)(*log)->close();
  return report;
}

TEST(CleanClose, AMarkerEncodesAndDecodesAndAnyChangedByteIsRefused) {
  const CleanClose m{7, 123456, 123999};
  const auto bytes = encode_clean_close(m);
  std::string why;
  auto back = decode_clean_close(bytes, &why);
  ASSERT_TRUE(back.has_value()) << why;
  EXPECT_EQ(*back, m);
  for (size_t i = 0; i < bytes.size(); ++i) {
    auto changed = bytes;
    changed[i] ^= std::byte{0x10};
    why.clear();
    EXPECT_FALSE(decode_clean_close(changed, &why).has_value()) << "byte " << i;
    EXPECT_FALSE(why.empty());
  }
  EXPECT_FALSE(decode_clean_close(std::span(bytes.data(), bytes.size() - 1), &why).has_value());
}

TEST(CleanClose, ACleanCloseLeavesAMarkerTheNextOpenUsesAndRemovesBeforeWriting) {
  testing::TempDir dir;
  const Lsn end = write_and_close(dir.path(), 40);
  ASSERT_TRUE(fs::exists(marker_path(dir.path())));
  std::string why;
  auto m = read_marker(dir.path(), &why);
  ASSERT_TRUE(m.has_value()) << why;
  EXPECT_EQ(m->end_lsn, end);
  EXPECT_TRUE(open_and_check(dir.path(), end).closed_cleanly);
}

TEST(CleanClose, AMarkerThatDoesNotMatchTheLogsEndIsNoMarker) {
  testing::TempDir dir;
  const Lsn end = write_and_close(dir.path(), 40);
  std::string why;
  auto m = read_marker(dir.path(), &why);
  ASSERT_TRUE(m.has_value()) << why;
  // An end one record earlier or later, another segment: each is some other state of the log.
  const std::vector<CleanClose> others = {CleanClose{m->seq, m->first_lsn, m->end_lsn - 1},
                                          CleanClose{m->seq, m->first_lsn, m->end_lsn + 4096},
                                          CleanClose{m->seq + 1, m->first_lsn, m->end_lsn}};
  for (const CleanClose& other : others) {
    testing::TempDir copy;
    fs::copy(dir.path(), copy.path(), fs::copy_options::recursive);
    const auto bytes = encode_clean_close(other);
    write_file(marker_path(copy.path()),
               std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
    EXPECT_FALSE(open_and_check(copy.path(), end).closed_cleanly);
  }
}

TEST(CleanClose, ADamagedOrHalfWrittenMarkerIsNoMarkerAndIsRemoved) {
  testing::TempDir dir;
  const Lsn end = write_and_close(dir.path(), 40);
  const std::string good = read_file(marker_path(dir.path()));
  ASSERT_EQ(good.size(), kCleanCloseBytes);
  std::string flipped = good;
  flipped[20] ^= 0x01;
  for (const std::string& bad : {flipped, good.substr(0, 10), good + "x", std::string()}) {
    testing::TempDir copy;
    fs::copy(dir.path(), copy.path(), fs::copy_options::recursive);
    write_file(marker_path(copy.path()), bad);
    EXPECT_FALSE(open_and_check(copy.path(), end).closed_cleanly);
  }
  // A close killed before its rename leaves only the temporary file: no marker, and it goes too.
  testing::TempDir copy;
  fs::copy(dir.path(), copy.path(), fs::copy_options::recursive);
  fs::rename(marker_path(copy.path()), copy / std::string(format::kCleanCloseTempFileName));
  EXPECT_FALSE(open_and_check(copy.path(), end).closed_cleanly);
}

// The marker proves every record before its end LSN was durable: a frame damaged before it (a
// flipped bit) is corruption, refused with nothing changed, where without the marker it would be
// taken for a torn write and cut — with every acknowledged record after it (they went to
// quarantine/ and the open went on as if they had never been).
TEST(CleanClose, DamageBeforeTheMarkersEndIsCorruptionNotATornTail) {
  testing::TempDir dir;
  const Lsn end = write_and_close(dir.path(), 40);
  ASSERT_GT(end, 0u);
  const fs::path segment = testing::segment_paths(dir.path()).front();
  testing::flip_bit(segment, 4096 + 40, 3);  // inside the first record's frame
  const testing::DirSnapshot before = testing::snapshot(dir.path());

  auto refused = Log::open(dir.path(), testing::small_log_options());
  ASSERT_FALSE(refused.ok()) << "opened; recovery: " << (*refused)->recovery_report().damage;
  EXPECT_EQ(refused.status().code(), StatusCode::kCorruption) << refused.status().to_string();
  EXPECT_NE(refused.status().message().find("which was durable: not a torn write"),
            std::string::npos)
      << refused.status().to_string();
  EXPECT_EQ(testing::snapshot(dir.path()), before) << "a refused open changed the directory";
  auto report = verify_log(dir.path(), VerifyOptions{});
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  ASSERT_TRUE(report->damage.has_value());
  EXPECT_EQ(report->damage->kind, DamageKind::kCorruption) << report->damage->to_string();

  // Without the marker nothing proves those records durable: the documented limit (a bit flipped
  // inside the tail window reads as a torn write).
  fs::remove(marker_path(dir.path()));
  auto without = verify_log(dir.path(), VerifyOptions{});
  ASSERT_TRUE(without.ok()) << without.status().to_string();
  ASSERT_TRUE(without->damage.has_value());
  EXPECT_EQ(without->damage->kind, DamageKind::kTornTail) << without->damage->to_string();
}

TEST(CleanClose, NoMarkerWithoutFsyncDurability) {
  testing::TempDir dir;
  LogOptions o = testing::small_log_options();
  o.durability = Durability::kNoneUnsafe;
  auto log = Log::open(dir.path(), o);
  ASSERT_TRUE(log.ok()) << log.status().to_string();
  ASSERT_TRUE((*log)->append(kBlobType, make_blob(0, 0, 100)).ok());
  ASSERT_TRUE((*log)->close().ok());
  EXPECT_FALSE(fs::exists(marker_path(dir.path())))
      << "records that were never synced are not known to be on disk";
}

}  // namespace
}  // namespace cairn::log
