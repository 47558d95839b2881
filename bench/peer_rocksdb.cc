// The RocksDB peer: P threads, each writing synchronously (WriteOptions::sync = true) and waiting
// for its write before the next; RocksDB's own group commit merges concurrent writers into one
// WAL write + sync. Options are RocksDB's defaults apart from create_if_missing.
#include <cstring>
#include <memory>
#include <string>

#include "peers.h"

#if CAIRN_BENCH_WITH_ROCKSDB
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include "blob_encoder.h"
#endif

namespace cairn::bench {

#if CAIRN_BENCH_WITH_ROCKSDB

namespace {

Status from_rocksdb(const rocksdb::Status& s, const std::string& what) {
  return s.ok() ? Status() : Status(StatusCode::kIoError, what + ": " + s.ToString());
}

// One thread's state: its encoder, a reused batch and its next key (thread, seq), big-endian so
// each thread's keys are appended in order.
class RocksDbWriter {
 public:
  RocksDbWriter(rocksdb::DB* db, uint32_t thread, uint32_t data_bytes, uint32_t records_per_write)
      : db_(db),
        thread_(thread),
        encoder_(thread, data_bytes),
        records_per_write_(records_per_write) {
    write_options_.sync = true;
  }

  Status write() {
    rocksdb::Status s;
    if (records_per_write_ == 1) {
      s = db_->Put(write_options_, next_key(), slice(encoder_.encode(seq_)));
    } else {
      batch_.Clear();
      for (uint32_t i = 0; i < records_per_write_; ++i) {
        const rocksdb::Slice key = next_key();
        s = batch_.Put(key, slice(encoder_.encode(seq_)));
        if (!s.ok()) break;
      }
      if (s.ok()) s = db_->Write(write_options_, &batch_);
    }
    return from_rocksdb(s, "RocksDB write");
  }

 private:
  static rocksdb::Slice slice(std::span<const std::byte> bytes) {
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
  }
  rocksdb::Slice next_key() {
    const uint64_t seq = seq_++;
    for (int i = 0; i < 4; ++i) key_[i] = static_cast<char>(thread_ >> (24 - 8 * i));
    for (int i = 0; i < 8; ++i) key_[4 + i] = static_cast<char>(seq >> (56 - 8 * i));
    return {key_, sizeof key_};
  }

  rocksdb::DB* db_;
  uint32_t thread_;
  BlobEncoder encoder_;
  uint32_t records_per_write_;
  rocksdb::WriteOptions write_options_;
  rocksdb::WriteBatch batch_;
  uint64_t seq_ = 0;
  char key_[12];
};

}  // namespace

Result<RecordRate> run_rocksdb_peer(const PeerWorkload& workload) {
  rocksdb::Options options;
  options.create_if_missing = true;
  rocksdb::DB* raw = nullptr;
  CAIRN_RETURN_IF_ERROR(from_rocksdb(rocksdb::DB::Open(options, workload.dir.string(), &raw),
                                     "opening RocksDB in " + workload.dir.string()));
  std::unique_ptr<rocksdb::DB> db(raw);
  const ClosedLoopConfig loop{workload.threads, workload.records_per_write, workload.warmup_seconds,
                              workload.seconds};
  Result<RecordRate> rate = run_closed_loop(loop, [&](uint32_t thread) -> Result<WorkerOp> {
    auto writer = std::make_shared<RocksDbWriter>(db.get(), thread, workload.data_bytes,
                                                  workload.records_per_write);
    return WorkerOp([writer] { return writer->write(); });
  });
  Status closed = from_rocksdb(db->Close(), "closing RocksDB");
  if (!rate.ok()) return rate;
  if (!closed.ok()) return closed;
  return rate;
}

#else  // built without RocksDB

Result<RecordRate> run_rocksdb_peer(const PeerWorkload&) {
  return Status(StatusCode::kNotFound,
                "cairn-bench was built without RocksDB (install librocksdb-dev and reconfigure)");
}

#endif

}  // namespace cairn::bench
