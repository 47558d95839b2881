// check_log_after_crash and AckedRecords (see crash_log_check.h).
#include "crash/crash_log_check.h"
#include "cairn/schema/record_schema.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "cairn/log/reader.h"
#include "cairn/log/verify.h"
#include "support/blob_records.h"

namespace cairn::testing {
namespace {

// A frame is a 24-byte header and the payload padded to 8 bytes (docs/log_format.md); the next
// record's LSN is this record's LSN plus its frame size.
uint64_t frame_size(size_t payload_len) {
  return 24 + (payload_len + 7) / 8 * 8;
}

// What the kill left behind, before recovery touches it.
void inspect_directory(const std::filesystem::path& dir, CrashCheck* out) {
  std::vector<std::string> segments;
  // A kill before the child's first open leaves no directory at all (seen under ASan, where a
  // process starts slowly): nothing to inspect, and the reopen creates the log.
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) return;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.starts_with("prealloc-")) out->spare_left_behind = true;
    if (name.ends_with(".wal")) segments.push_back(name);
  }
  if (segments.empty()) return;
  std::sort(segments.begin(), segments.end());  // zero-padded sequence numbers sort by name
  std::ifstream f(dir / segments.back(), std::ios::binary);
  std::vector<char> header(4096, 0);
  f.read(header.data(), static_cast<std::streamsize>(header.size()));
  out->empty_last_segment =
      std::all_of(header.begin(), header.end(), [](char c) { return c == 0; });
}

}  // namespace

std::string AckedRecords::add(const std::vector<AckReport>& reports) {
  for (const AckReport& r : reports) {
    if (r.seq >= (uint64_t{1} << 40)) return "a report has seq " + std::to_string(r.seq);
    const auto [it, inserted] = lsn_by_id_.emplace(key(r.producer, r.seq), r.lsn);
    if (!inserted) {
      return "producer " + std::to_string(r.producer) + " seq " + std::to_string(r.seq) +
             " was acknowledged twice (LSN " + std::to_string(it->second) + " and " +
             std::to_string(r.lsn) + ")";
    }
  }
  return "";
}

const log::Lsn* AckedRecords::find(uint32_t producer, uint64_t seq) const {
  auto it = lsn_by_id_.find(key(producer, seq));
  return it == lsn_by_id_.end() ? nullptr : &it->second;
}

std::vector<std::string> AckedRecords::missing(const std::unordered_set<uint64_t>& present,
                                               log::Lsn from, size_t max) const {
  std::vector<std::string> out;
  for (const auto& [k, lsn] : lsn_by_id_) {
    if (out.size() >= max) break;
    if (lsn < from || present.count(k) != 0) continue;
    out.push_back("producer " + std::to_string(k >> 40) + " seq " +
                  std::to_string(k & ((uint64_t{1} << 40) - 1)) + " acknowledged at LSN " +
                  std::to_string(lsn));
  }
  return out;
}

namespace {

// Reopens the log as an application would after the crash, and closes it again.
void reopen(const std::filesystem::path& dir, const log::LogOptions& options, CrashCheck* out) {
  auto log = log::Log::open(dir, options);
  ASSERT_TRUE(log.ok()) << "reopening the log after the kill failed: " << log.status().to_string();
  out->recovery = (*log)->recovery_report();
  const Status closed = (*log)->close();
  ASSERT_TRUE(closed.ok()) << closed.to_string();
}

struct ReadResult {
  std::unordered_set<uint64_t> ids;  // (producer, seq) of the records at or after the old end
  LogSnapshot seen;
  uint64_t records_before = 0;  // records below the previous check's end
};

// Reads the records from LSN 0 (full) or from the previous check's end. Records of this round's
// child all lie at or after that end (it was the end of the log when the child started, and
// producers are new each round), so either read finds every one of them and every duplicate; a
// full read also proves that the older records are all still there.
void read_records(const std::filesystem::path& dir, const AckedRecords& acked,
                  const LogSnapshot& before, bool full, log::Lsn first_lsn, ReadResult* out) {
  log::ReaderOptions ro;
  ro.from = full ? 0 : before.end_lsn;
  ro.payload_verifier = &schema::verify_payload;
  auto reader = log::LogReader::open(dir, ro);
  ASSERT_TRUE(reader.ok()) << reader.status().to_string();
  log::Lsn expected = full ? first_lsn : before.end_lsn;
  uint64_t records = full ? 0 : before.records;
  out->records_before = full ? 0 : before.records;
  for (;;) {
    auto next = (*reader)->next();
    ASSERT_TRUE(next.ok()) << "reading the reopened log after LSN " << expected << ": "
                           << next.status().to_string();
    if (*next == nullptr) break;
    const log::ReadRecord& rec = **next;
    ASSERT_EQ(rec.lsn, expected) << "the LSN chain breaks in segment " << rec.segment_seq
                                 << " at offset " << rec.offset;
    ASSERT_EQ(rec.type, kBlobType) << "at LSN " << rec.lsn;
    expected = rec.lsn + frame_size(rec.payload.size());
    ++records;
    if (rec.lsn < before.end_lsn) {
      ++out->records_before;  // its payload was checked when it was new
      continue;
    }
    const BlobId id = read_blob(rec.payload);
    ASSERT_TRUE(id.data_ok) << "damaged payload of producer " << id.producer << " seq " << id.seq
                            << " at LSN " << rec.lsn;
    ASSERT_TRUE(out->ids.insert(AckedRecords::key(id.producer, id.seq)).second)
        << "producer " << id.producer << " seq " << id.seq << " appears twice, again at LSN "
        << rec.lsn;
    if (const log::Lsn* at = acked.find(id.producer, id.seq)) {
      ASSERT_EQ(*at, rec.lsn) << "producer " << id.producer << " seq " << id.seq
                              << " was acknowledged at another LSN";
    }
  }
  out->seen = LogSnapshot{expected, records};
}

}  // namespace

void check_log_after_crash(const std::filesystem::path& dir, const log::LogOptions& options,
                           const AckedRecords& acked, const LogSnapshot& before, bool full,
                           CrashCheck* out) {
  inspect_directory(dir, out);
  reopen(dir, options, out);
  if (::testing::Test::HasFatalFailure()) return;
  ReadResult read;
  read_records(dir, acked, before, full, out->recovery.first_lsn, &read);
  if (::testing::Test::HasFatalFailure()) return;
  out->seen = read.seen;

  // Acknowledged records of earlier rounds were found by earlier checks; those of this round
  // must be among the ids just read.
  const std::vector<std::string> lost = acked.missing(read.ids, before.end_lsn, 10);
  EXPECT_TRUE(lost.empty()) << "acknowledged records are missing after the reopen, e.g. "
                            << ::testing::PrintToString(lost);
  EXPECT_EQ(read.seen.end_lsn, out->recovery.end_lsn)
      << "the reader and recovery disagree on the end";
  EXPECT_GE(read.seen.end_lsn, before.end_lsn)
      << "the log is shorter than after the previous reopen";
  EXPECT_EQ(read.records_before, before.records)
      << "records below LSN " << before.end_lsn << " changed since the previous reopen";

  log::VerifyOptions vo;
  vo.payload_verifier = &schema::verify_payload;
  vo.tail_window_bytes = uint64_t{options.writes_in_flight_max} * options.batch_bytes_max;
  auto report = log::verify_log(dir, vo);
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  EXPECT_TRUE(report->intact()) << report->damage->to_string();
  EXPECT_EQ(report->records, read.seen.records);
  EXPECT_EQ(report->end_lsn, read.seen.end_lsn);
  out->segments = report->segments.size();
}

}  // namespace cairn::testing
