// The peers `cairn-bench log --compare` runs the same workload against: RocksDB with synchronous
// writes and SQLite in WAL mode with synchronous=FULL. Each is measured closed-loop with one
// thread per producer (peers.h names the knobs; peer_*.cc hold the details).
#pragma once

#include <cstdint>
#include <filesystem>

#include "cairn/log/status.h"
#include "closed_loop.h"

namespace cairn::bench {

struct PeerWorkload {
  std::filesystem::path dir;       // created by the peer, removed again by the caller
  uint32_t threads = 1;            // = the log run's producers
  uint32_t records_per_write = 1;  // records made durable by one synchronous write / transaction
  uint32_t data_bytes = 128;       // the Blob's data vector: values are the log's encoded records
  double warmup_seconds = 0.3;
  double seconds = 3;
};

// WriteOptions::sync = true; one Put per write when records_per_write is 1, else a WriteBatch of
// that many Puts. kNotFound when cairn-bench was built without RocksDB.
Result<RecordRate> run_rocksdb_peer(const PeerWorkload& workload);

// journal_mode=WAL, synchronous=FULL, one connection per thread, records_per_write rows per
// transaction (BEGIN IMMEDIATE ... COMMIT). kNotFound when built without SQLite.
Result<RecordRate> run_sqlite_peer(const PeerWorkload& workload);

}  // namespace cairn::bench
