// The crash test's verdict on a log after a kill: it reopens the log (default recovery) and checks
// that every acknowledged record is there with its payload, that the log reads to its end with an
// unbroken LSN chain and verifies intact, that no record appears twice, and that nothing the
// previous check saw has gone.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "cairn/log/log.h"
#include "crash/crash_protocol.h"

namespace cairn::testing {

// Every record acknowledged to any child so far, by (producer, seq).
class AckedRecords {
 public:
  // Adds one round's reports. Returns "" or what is wrong (an id reported twice).
  std::string add(const std::vector<AckReport>& reports);
  size_t size() const { return lsn_by_id_.size(); }
  // The LSN the record was acknowledged at, or nullptr.
  const log::Lsn* find(uint32_t producer, uint64_t seq) const;
  // Up to `max` records acknowledged at or after `from` whose key is not in `present`, described
  // for a message.
  std::vector<std::string> missing(const std::unordered_set<uint64_t>& present, log::Lsn from,
                                   size_t max) const;
  static uint64_t key(uint32_t producer, uint64_t seq) { return uint64_t{producer} << 40 | seq; }

 private:
  std::unordered_map<uint64_t, log::Lsn> lsn_by_id_;
};

// What one check saw; the next check must find at least this again.
struct LogSnapshot {
  log::Lsn end_lsn = 0;
  uint64_t records = 0;
};

struct CrashCheck {
  log::RecoveryReport recovery;  // of the reopen
  LogSnapshot seen;
  size_t segments = 0;
  bool spare_left_behind = false;   // a prealloc file was there before the reopen
  bool empty_last_segment = false;  // the kill came right after a rotation
};

// Runs the checks with gtest assertions; a fatal failure returns early (HasFatalFailure()).
// Payloads, duplicates and acknowledgements are checked for the records at or after
// before.end_lsn (all a round can add); `full` also reads every older record again and checks the
// chain from LSN 0. verify_log always scans the whole log.
void check_log_after_crash(const std::filesystem::path& dir, const log::LogOptions& options,
                           const AckedRecords& acked, const LogSnapshot& before, bool full,
                           CrashCheck* out);

}  // namespace cairn::testing
