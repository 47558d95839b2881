// The SQLite peer: one database in WAL mode with synchronous=FULL (every commit syncs the WAL), P
// threads with a connection each; a thread commits records_per_write rows per transaction. Writers
// serialize on SQLite's write lock; busy_timeout makes them wait for it instead of failing.
#include <memory>
#include <string>

#include "peers.h"

#if CAIRN_BENCH_WITH_SQLITE
#include <sqlite3.h>

#include "blob_encoder.h"
#endif

namespace cairn::bench {

#if CAIRN_BENCH_WITH_SQLITE

namespace {

constexpr int kBusyTimeoutMs = 30'000;

Status sqlite_error(sqlite3* db, int rc, const std::string& what) {
  return Status(StatusCode::kIoError,
                what + ": " + (db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
}

// One connection with its prepared statements, finalized and closed with the object.
class SqliteWriter {
 public:
  SqliteWriter(uint32_t thread, uint32_t data_bytes, uint32_t rows_per_txn)
      : thread_(thread), encoder_(thread, data_bytes), rows_per_txn_(rows_per_txn) {}
  ~SqliteWriter() {
    for (sqlite3_stmt* s : {begin_, insert_, commit_}) sqlite3_finalize(s);
    sqlite3_close(db_);
  }
  SqliteWriter(const SqliteWriter&) = delete;
  SqliteWriter& operator=(const SqliteWriter&) = delete;

  Status open(const std::string& path) {
    int rc =
        sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
    if (rc != SQLITE_OK) return sqlite_error(db_, rc, "opening " + path);
    sqlite3_busy_timeout(db_, kBusyTimeoutMs);
    rc = sqlite3_exec(db_, "PRAGMA synchronous=FULL", nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) return sqlite_error(db_, rc, "PRAGMA synchronous=FULL");
    CAIRN_RETURN_IF_ERROR(prepare("BEGIN IMMEDIATE", &begin_));
    CAIRN_RETURN_IF_ERROR(prepare("INSERT INTO records(id, data) VALUES(?, ?)", &insert_));
    return prepare("COMMIT", &commit_);
  }

  Status write() {
    CAIRN_RETURN_IF_ERROR(step(begin_, "BEGIN IMMEDIATE"));
    for (uint32_t i = 0; i < rows_per_txn_; ++i) {
      const std::span<const std::byte> record = encoder_.encode(seq_);
      sqlite3_bind_int64(insert_, 1, static_cast<sqlite3_int64>((uint64_t{thread_} << 40) | seq_));
      sqlite3_bind_blob(insert_, 2, record.data(), static_cast<int>(record.size()), SQLITE_STATIC);
      ++seq_;
      CAIRN_RETURN_IF_ERROR(step(insert_, "INSERT"));
    }
    return step(commit_, "COMMIT");
  }

 private:
  Status prepare(const char* sql, sqlite3_stmt** out) {
    const int rc = sqlite3_prepare_v2(db_, sql, -1, out, nullptr);
    return rc == SQLITE_OK ? Status() : sqlite_error(db_, rc, std::string("preparing ") + sql);
  }
  Status step(sqlite3_stmt* stmt, const char* what) {
    const int rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    return rc == SQLITE_DONE ? Status() : sqlite_error(db_, rc, what);
  }

  uint32_t thread_;
  BlobEncoder encoder_;
  uint32_t rows_per_txn_;
  uint64_t seq_ = 0;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* begin_ = nullptr;
  sqlite3_stmt* insert_ = nullptr;
  sqlite3_stmt* commit_ = nullptr;
};

// Creates the database, switches it to WAL (persistent) and creates the table.
Status create_database(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  Status st;
  if (rc != SQLITE_OK) {
    st = sqlite_error(db, rc, "creating " + path);
  } else if ((rc = sqlite3_exec(db,
                                "PRAGMA journal_mode=WAL;"
                                "CREATE TABLE records(id INTEGER PRIMARY KEY, data BLOB);",
                                nullptr, nullptr, nullptr)) != SQLITE_OK) {
    st = sqlite_error(db, rc, "setting up " + path);
  }
  sqlite3_close(db);
  return st;
}

}  // namespace

Result<RecordRate> run_sqlite_peer(const PeerWorkload& workload) {
  std::error_code ec;
  std::filesystem::create_directories(workload.dir, ec);
  if (ec)
    return Status(StatusCode::kIoError, "creating " + workload.dir.string() + ": " + ec.message());
  const std::string path = (workload.dir / "bench.sqlite").string();
  CAIRN_RETURN_IF_ERROR(create_database(path));
  const ClosedLoopConfig loop{workload.threads, workload.records_per_write, workload.warmup_seconds,
                              workload.seconds};
  return run_closed_loop(loop, [&](uint32_t thread) -> Result<WorkerOp> {
    auto writer =
        std::make_shared<SqliteWriter>(thread, workload.data_bytes, workload.records_per_write);
    CAIRN_RETURN_IF_ERROR(writer->open(path));
    return WorkerOp([writer] { return writer->write(); });
  });
}

#else  // built without SQLite

Result<RecordRate> run_sqlite_peer(const PeerWorkload&) {
  return Status(StatusCode::kNotFound,
                "cairn-bench was built without SQLite (install libsqlite3-dev and reconfigure)");
}

#endif

}  // namespace cairn::bench
