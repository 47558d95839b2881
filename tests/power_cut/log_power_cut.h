// One power-cut round of the log: the log runs on a SimDisk, several writers append Blob records
// and learn of their durability every way the API offers (append_durable, an AppendCompletion,
// wait_durable, polling durable_lsn(), the DurableListener), the power fails at a seeded
// operation — while writing, rotating segments, preparing spares, or while a recovery is cutting a
// torn tail — and the log is reopened on what survived. Every record that any of those ways
// reported durable, and every record an earlier recovery found, must be there, byte for byte, at
// its LSN, with consecutive LSNs. Several incarnations per round: each recovers the last one's cut.
#pragma once

#include <cstdint>
#include <string>

namespace cairn::testing {

struct LogCutConfig {
  uint64_t seed = 0;
  bool direct_io = true;  // O_DIRECT|O_DSYNC segments; false: buffered writes + fdatasync
  uint32_t writes_in_flight = 2;
  uint32_t incarnations = 4;  // cuts per round; each is recovered by the next open
  uint32_t writers = 4;       // one per way of learning durability, round-robin
  uint32_t records_per_writer_max = 400;
  uint64_t cut_ops_max = 400;  // the cut falls in operation 1..cut_ops_max of an incarnation
  // Old segments are taken out of the log and recycled while the writers write.
  bool retention = true;
};

struct LogCutResult {
  std::string failure;  // empty when every check held; else what broke, with the round's seed
  uint64_t acknowledged = 0;
  uint64_t recovered = 0;  // records in the log after the last recovery
  uint64_t cuts_during_open = 0;
  uint64_t torn_tails_cut = 0;
  uint64_t segments = 0;
  uint64_t sectors_torn = 0;  // kept their new bytes at a cut (the rest went back)
  uint64_t writes_in_flight_at_cut = 0;
  uint64_t in_flight_window_cuts_planned = 0;  // cuts aimed right after a completion (see SimDisk)
};

LogCutResult run_log_cut_round(const LogCutConfig& config);

}  // namespace cairn::testing
