// Log::open makes durable what its recovery found before it acknowledges anything on top of it:
// the log directory's entries (a segment renamed from a spare by a writer that died before its
// directory sync) and the last segment's bytes (a killed buffered writer's records, still only in
// the page cache). Otherwise a power cut after the open can take those away from under records
// acknowledged later: the renamed segment goes back to being a spare, which recovery removes, or
// a hole opens before the new records. Each case builds the state on a SimDisk, opens, appends
// durably, cuts the power and checks that every acknowledged record came back.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cairn/log/log.h"
#include "cairn/log/reader.h"
#include "frame_format.h"
#include "support/sim_disk.h"
#include "support/sim_log_options.h"

namespace cairn::testing {
namespace {

constexpr const char* kDir = "/sim/log";
constexpr log::RecordType kType = 100;

log::LogOptions sim_options(SimDisk& disk, log::IoMode mode) {
  log::LogOptions o = sim_log_options(disk);
  o.io_mode = mode;
  return o;
}

std::vector<std::byte> payload(int i) {
  const std::string s = "record " + std::to_string(i);
  const auto* p = reinterpret_cast<const std::byte*>(s.data());
  return {p, p + s.size()};
}

// Appends records [from, to) durably, each acknowledged before the next.
void append_durably(log::Log& log, int from, int to) {
  for (int i = from; i < to; ++i) {
    auto lsn = log.append_durable(kType, payload(i));
    ASSERT_TRUE(lsn.ok()) << lsn.status().to_string();
  }
}

// The records a reader finds, as their payload strings.
std::vector<std::string> read_all(SimDisk& disk) {
  std::vector<std::string> out;
  log::ReaderOptions ro;
  ro.file_system = disk.file_system();
  auto reader = log::LogReader::open(kDir, ro);
  EXPECT_TRUE(reader.ok()) << reader.status().to_string();
  if (!reader.ok()) return out;
  for (;;) {
    auto r = (*reader)->next();
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    if (!r.ok() || *r == nullptr) break;
    const auto& bytes = (*r)->payload;
    out.emplace_back(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }
  return out;
}

std::vector<std::string> expected(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back("record " + std::to_string(i));
  return out;
}

// A writer made the first segment from a spare and died between the rename and its directory
// sync: on disk the segment's name is not durable yet.
TEST(OpenMakesFoundStateDurable, ASegmentRenamedWithoutItsDirectorySync) {
  auto disk = SimDisk::create(SimDiskOptions{.tear_sectors = false});
  const std::string spare =
      std::string(kDir) + "/" + std::string(log::format::kPreallocPrefix) + "0.tmp";
  ASSERT_TRUE(disk->write_file(spare, std::string(1 << 20, '\0')).ok());
  ASSERT_TRUE(disk->file_system()
                  ->rename(spare, std::string(kDir) + "/" + log::format::segment_file_name(1, 0))
                  .ok());
  {
    auto log = log::Log::open(kDir, sim_options(*disk, log::IoMode::kDirect));
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    EXPECT_FALSE((*log)->recovery_report().created) << "the open must use the renamed segment";
    append_durably(**log, 0, 5);
    disk->cut_now();  // right after the acknowledgements: nothing else may be needed
  }
  auto after = disk->reboot(1);
  {
    auto log = log::Log::open(kDir, sim_options(*after, log::IoMode::kDirect));
    ASSERT_TRUE(log.ok()) << log.status().to_string();
  }
  EXPECT_EQ(read_all(*after), expected(5));
}

// A buffered writer wrote records and was killed before its fdatasync: they are in the page
// cache, so the next open finds them, but they are not durable. The records acknowledged after
// them must not end up behind a hole.
TEST(OpenMakesFoundStateDurable, RecordsAKilledWriterLeftInThePageCache) {
  // The bytes such a writer leaves: a log of three records, made on another disk.
  std::string segment_bytes;
  const std::string segment = std::string(kDir) + "/" + log::format::segment_file_name(1, 0);
  {
    auto source = SimDisk::create(SimDiskOptions{.tear_sectors = false});
    {
      auto log = log::Log::open(kDir, sim_options(*source, log::IoMode::kBuffered));
      ASSERT_TRUE(log.ok()) << log.status().to_string();
      append_durably(**log, 0, 3);
    }
    auto bytes = source->read_file(segment);
    ASSERT_TRUE(bytes.ok()) << bytes.status().to_string();
    segment_bytes = *bytes;
  }
  for (const log::IoMode mode : {log::IoMode::kDirect, log::IoMode::kBuffered}) {
    SCOPED_TRACE(mode == log::IoMode::kDirect ? "direct" : "buffered");
    auto disk = SimDisk::create(SimDiskOptions{.tear_sectors = false});
    // Durably: the segment, made and named, with nothing written. Not durably: its records.
    ASSERT_TRUE(disk->write_file(segment, std::string(segment_bytes.size(), '\0')).ok());
    {
      auto fs = disk->file_system();
      auto fd = fs->open(segment, log::OpenFlags{.write = true});
      ASSERT_TRUE(fd.ok()) << fd.status().to_string();
      const Status wrote = fs->pwrite(*fd, segment_bytes.data(), segment_bytes.size(), 0);
      ASSERT_TRUE(wrote.ok()) << wrote.to_string();
      ASSERT_TRUE(fs->close(*fd).ok());
    }
    {
      auto log = log::Log::open(kDir, sim_options(*disk, mode));
      ASSERT_TRUE(log.ok()) << log.status().to_string();
      ASSERT_EQ((*log)->recovery_report().end_lsn, log::format::frame_size(payload(0).size()) * 3)
          << "the open finds the three records";
      append_durably(**log, 3, 6);
      disk->cut_now();
    }
    auto after = disk->reboot(1);
    {
      auto log = log::Log::open(kDir, sim_options(*after, mode));
      ASSERT_TRUE(log.ok()) << log.status().to_string();
      EXPECT_TRUE((*log)->recovery_report().damage.empty()) << (*log)->recovery_report().damage;
    }
    EXPECT_EQ(read_all(*after), expected(6));
  }
}

// A clean close left its marker (log/src/clean_close.h), which says nothing was written past the
// log's end. Once the next open acknowledges a record, that is false: the marker's removal must be
// durable by then, or a power cut brings it back and a later open trusts it (and skips the search
// for a torn write past the end).
TEST(OpenMakesFoundStateDurable, TheCleanCloseMarkerIsGoneBeforeTheFirstAcknowledgedRecord) {
  auto disk = SimDisk::create(SimDiskOptions{.tear_sectors = false});
  const std::string marker =
      std::string(kDir) + "/" + std::string(log::format::kCleanCloseFileName);
  {
    auto log = log::Log::open(kDir, sim_options(*disk, log::IoMode::kDirect));
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    append_durably(**log, 0, 3);
    ASSERT_TRUE((*log)->close().ok());
  }
  {
    auto exists = disk->file_system()->exists(marker);
    ASSERT_TRUE(exists.ok() && *exists) << "a clean close leaves the marker";
  }
  {
    auto log = log::Log::open(kDir, sim_options(*disk, log::IoMode::kDirect));
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    EXPECT_TRUE((*log)->recovery_report().closed_cleanly);
    append_durably(**log, 3, 5);
    disk->cut_now();
  }
  auto after = disk->reboot(1);
  auto exists = after->file_system()->exists(marker);
  ASSERT_TRUE(exists.ok());
  EXPECT_FALSE(*exists) << "the marker came back after records were acknowledged past its end";
  EXPECT_EQ(read_all(*after), expected(5));
}

}  // namespace
}  // namespace cairn::testing
