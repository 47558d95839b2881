// Power cuts during the repair of a segment file that something cut short (RecoveryMode::
// kPointInTime: copy the bytes after its last record to the quarantine, zero them, write the file
// back to its header's size — or, for a file cut below a header, zero it and grow it to a size the
// log makes — and scan the log again). The power fails in each operation of the repair in turn,
// sectors not yet durable are torn, and a second repair on what survived must then give the log
// the first one would have: every record before the cut (every record, when none is missing), the
// file at its full size, the log intact for the default open, and the cut bytes in the quarantine.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "cairn/log/log.h"
#include "cairn/log/reader.h"
#include "cairn/log/verify.h"
#include "frame_format.h"
#include "support/every_offset.h"
#include "support/sim_disk.h"
#include "support/sim_log_options.h"

namespace cairn::testing {
namespace {

constexpr const char* kDir = "/sim/log";
constexpr log::RecordType kType = 100;
constexpr int kRecords = 1100;  // about 3.4 MB: four 1 MiB segments

log::LogOptions sim_options(SimDisk& disk, log::RecoveryMode mode) {
  log::LogOptions o = sim_log_options(disk);
  o.recovery_mode = mode;
  return o;
}

std::string text(int i) {
  return "record " + std::to_string(i) + std::string(3000 + i % 97, 'x');
}

struct Found {
  log::Lsn lsn = 0;
  std::string payload;
  uint64_t segment_seq = 0;
  uint64_t offset = 0;
  uint64_t end = 0;  // offset after the frame
};

// The records a reader finds; `complete` says whether it reached the end without an error.
std::vector<Found> read_all(SimDisk& disk, bool* complete) {
  std::vector<Found> out;
  log::ReaderOptions ro;
  ro.file_system = disk.file_system();
  auto reader = log::LogReader::open(kDir, ro);
  *complete = false;
  if (!reader.ok()) return out;
  for (;;) {
    auto r = (*reader)->next();
    if (!r.ok()) return out;
    if (*r == nullptr) break;
    const auto& p = (*r)->payload;
    out.push_back(Found{(*r)->lsn, std::string(reinterpret_cast<const char*>(p.data()), p.size()),
                        (*r)->segment_seq, (*r)->offset,
                        (*r)->offset + log::format::frame_size(static_cast<uint32_t>(p.size()))});
  }
  *complete = true;
  return out;
}

std::string segment_path(SimDisk& disk, uint64_t seq) {
  auto names = disk.list(kDir);
  EXPECT_TRUE(names.ok());
  for (const std::string& n : *names) {
    if (n.ends_with(".wal") && std::stoull(n.substr(0, n.find('-'))) == seq) {
      return std::string(kDir) + "/" + n;
    }
  }
  ADD_FAILURE() << "no segment " << seq;
  return "";
}

struct Case {
  const char* name;
  bool last_segment;       // the last segment is cut, else the one before it
  bool after_last_record;  // cut in the zeros after the segment's last record (nothing missing)
  // Cut to 1,000 bytes, fewer than a header: the repair zeroes it and grows it to a size the log
  // makes. Otherwise the cut is 60 bytes into the fifth record from the segment's end.
  bool below_header = false;
};

class RepairOfAShortSegment : public ::testing::TestWithParam<Case> {};

TEST_P(RepairOfAShortSegment, APowerCutAnywhereInTheRepairLeavesWhatTheNextRepairFinishes) {
  const Case& c = GetParam();
  auto writer_disk = SimDisk::create();
  {
    auto log =
        log::Log::open(kDir, sim_options(*writer_disk, log::RecoveryMode::kTolerateTornTail));
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    for (int i = 0; i < kRecords; ++i) {
      const std::string s = text(i);
      auto lsn =
          (*log)->append_durable(kType, {reinterpret_cast<const std::byte*>(s.data()), s.size()});
      ASSERT_TRUE(lsn.ok()) << lsn.status().to_string();
    }
  }
  // What was durable at the close: every image below starts from it.
  auto base = writer_disk->reboot(1);
  bool complete = false;
  const std::vector<Found> records = read_all(*base, &complete);
  ASSERT_TRUE(complete);
  ASSERT_EQ(records.size(), static_cast<size_t>(kRecords));
  const uint64_t last_seq = records.back().segment_seq;
  ASSERT_GE(last_seq, 3u) << "the log should span several segments";
  const uint64_t seq = c.last_segment ? last_seq : last_seq - 1;
  // The record the cut is at, and how many records stay.
  size_t at = 0;
  for (size_t i = 0; i < records.size(); ++i) {
    if (records[i].segment_seq == seq) at = i;  // the segment's last
  }
  if (c.below_header) {
    while (at > 0 && records[at - 1].segment_seq == seq) --at;  // the segment's first
  } else if (!c.after_last_record) {
    at -= 5;
  }
  const uint64_t cut = c.below_header        ? 1000
                       : c.after_last_record ? records[at].end + 100
                                             : records[at].offset + 60;
  const size_t kept = c.after_last_record ? records.size() : at;
  const std::string path = segment_path(*base, seq);
  auto whole = base->read_file(path);
  ASSERT_TRUE(whole.ok());
  ASSERT_TRUE(base->write_file(path, whole->substr(0, cut)).ok());
  // The bytes a repair must keep in the quarantine: up to the last one that is not zero.
  // Recovery cuts at the end of the last intact frame, before the padding of its batch.
  const uint64_t data_end = c.below_header ? 0 : records[at - 1].end;
  std::string cut_bytes = whole->substr(data_end, cut - data_end);
  if (c.after_last_record) cut_bytes.clear();
  while (!cut_bytes.empty() && cut_bytes.back() == '\0') cut_bytes.pop_back();
  const log::Lsn end_lsn =
      records[kept - 1].lsn +
      log::format::frame_size(static_cast<uint32_t>(records[kept - 1].payload.size()));

  // The sanitizer builds cut at every fourth operation (they look for memory errors on these
  // paths; the normal build cuts at every one).
  const uint64_t stride = std::min<uint64_t>(every_offset_stride(), 4);
  int cuts_that_hit = 0;
  for (uint64_t n = 1;; n += stride) {
    SCOPED_TRACE("power cut at operation " + std::to_string(n) + " of the repair");
    auto disk = base->reboot(n);
    disk->cut_after(n);
    bool repaired = false;
    {
      auto log = log::Log::open(kDir, sim_options(*disk, log::RecoveryMode::kPointInTime));
      repaired = log.ok() && !disk->is_cut();
    }
    if (repaired) break;  // the whole repair ran before the n-th operation
    ++cuts_that_hit;
    ASSERT_LT(n, 10000u) << "the repair never finishes";
    auto after = disk->reboot(n * 7919);  // unsynced sectors torn by this seed
    {
      auto log = log::Log::open(kDir, sim_options(*after, log::RecoveryMode::kPointInTime));
      ASSERT_TRUE(log.ok()) << log.status().to_string();
      EXPECT_EQ((*log)->recovery_report().end_lsn, end_lsn);
    }
    {
      auto log = log::Log::open(kDir, sim_options(*after, log::RecoveryMode::kTolerateTornTail));
      ASSERT_TRUE(log.ok()) << "the default open finds the repaired log intact: "
                            << log.status().to_string();
      EXPECT_TRUE((*log)->recovery_report().damage.empty());
    }
    const std::vector<Found> reread = read_all(*after, &complete);
    EXPECT_TRUE(complete);
    ASSERT_EQ(reread.size(), kept);
    for (size_t i = 0; i < kept; ++i) ASSERT_EQ(reread[i].payload, records[i].payload) << i;
    auto restored = after->read_file(path);
    ASSERT_TRUE(restored.ok());
    EXPECT_EQ(restored->size(), whole->size()) << "back to its header's size";
    if (!cut_bytes.empty()) {
      // Some copy in the quarantine holds the cut bytes whole (an interrupted copy may lie beside
      // it, under another name).
      auto names = after->list(std::string(kDir) + "/quarantine");
      ASSERT_TRUE(names.ok());
      bool found = false;
      for (const std::string& q : *names) {
        auto bytes = after->read_file(std::string(kDir) + "/quarantine/" + q);
        if (bytes.ok() && *bytes == cut_bytes) found = true;
      }
      EXPECT_TRUE(found) << "the cut bytes are in the quarantine";
    }
    if (::testing::Test::HasFatalFailure()) return;
  }
  EXPECT_GT(cuts_that_hit * stride, 2u) << "the power should have failed inside the repair";

  // A whole repair, records appended durably on top of it, and the power cut right after their
  // acknowledgement: the repair's writes must have been durable before the open returned, or the
  // restored file is short again (and the log refused) or the new records are lost.
  auto disk = base->reboot(1);
  {
    auto log = log::Log::open(kDir, sim_options(*disk, log::RecoveryMode::kPointInTime));
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    for (int i = 0; i < 5; ++i) {
      const std::string t = "after the repair " + std::to_string(i);
      ASSERT_TRUE(
          (*log)
              ->append_durable(kType, {reinterpret_cast<const std::byte*>(t.data()), t.size()})
              .ok());
    }
    disk->cut_now();
  }
  // Each sector not yet durable survives or not by the seed: several seeds.
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    SCOPED_TRACE("power cut after the appends, seed " + std::to_string(seed));
    auto after = disk->reboot(seed);
    {
      auto log = log::Log::open(kDir, sim_options(*after, log::RecoveryMode::kTolerateTornTail));
      ASSERT_TRUE(log.ok()) << log.status().to_string();
    }
    const std::vector<Found> reread = read_all(*after, &complete);
    EXPECT_TRUE(complete);
    ASSERT_EQ(reread.size(), kept + 5);
    EXPECT_EQ(reread.back().payload, "after the repair 4");
    auto restored = after->read_file(path);
    ASSERT_TRUE(restored.ok());
    EXPECT_EQ(restored->size(), whole->size());
  }
}

INSTANTIATE_TEST_SUITE_P(Cuts, RepairOfAShortSegment,
                         ::testing::Values(Case{"LastSegmentInsideARecord", true, false},
                                           Case{"OlderSegmentInsideARecord", false, false},
                                           Case{"OlderSegmentAfterItsLastRecord", false, true},
                                           Case{"LastSegmentBelowAHeader", true, false, true}),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace cairn::testing
