// Log: opening (options check, lock, recovery), the append path, and closing.
#include "cairn/log/log.h"

#include <atomic>

#include "clean_close.h"
#include "frame_format.h"
#include "log_directory.h"
#include "log_writer.h"
#include "recovery.h"
#include "segment_preparer.h"
#include "segment_retention.h"
#include "staging_ring.h"

namespace cairn::log {

std::unique_ptr<LogReader> make_live_reader(std::shared_ptr<FileSystem> fs, std::string dir,
                                            Lsn from, FramePosition near, PayloadVerifier verifier,
                                            std::function<Lsn()> durable_end,
                                            std::function<void()> on_close, Status* error);

namespace {

Status check_options(const LogOptions& o) {
  auto bad = [](std::string what) { return Status(StatusCode::kInvalidArgument, std::move(what)); };
  const uint64_t block = format::kBlockSize;
  // The upper bound because each new segment is written whole (zeros) before its first record.
  if (o.segment_bytes < (1u << 20) || o.segment_bytes > (1ull << 32) ||
      o.segment_bytes % block != 0) {
    return bad("segment_bytes must be a multiple of 4 KiB, at least 1 MiB and at most 4 GiB");
  }
  if (o.segment_bytes_initial == 0 || o.segment_bytes_initial % block != 0 ||
      o.segment_bytes_initial > o.segment_bytes) {
    return bad("segment_bytes_initial must be a multiple of 4 KiB and at most segment_bytes");
  }
  if (o.batch_bytes_max < (64u << 10) || o.batch_bytes_max % block != 0) {
    return bad("batch_bytes_max must be a multiple of 4 KiB and at least 64 KiB");
  }
  if (o.batch_bytes_max > o.segment_bytes) return bad("batch_bytes_max exceeds segment_bytes");
  if (o.record_bytes_max > format::kPayloadBytesHardMax ||
      uint64_t{format::frame_size(o.record_bytes_max)} + 2 * block > o.batch_bytes_max) {
    return bad("record_bytes_max must leave 8 KiB of batch_bytes_max free and be at most 64 MiB");
  }
  if (o.writes_in_flight_max < 1 || o.writes_in_flight_max > 2) {
    return bad("writes_in_flight_max must be 1 or 2");
  }
  if (o.staging_bytes < 2ull * format::frame_size(o.record_bytes_max) ||
      o.staging_bytes > (1ull << 34)) {
    return bad("staging_bytes must hold two records of record_bytes_max and be at most 16 GiB");
  }
  if (o.io_mode == IoMode::kDirect && o.durability == Durability::kNoneUnsafe) {
    return bad("IoMode::kDirect needs Durability::kFsync");
  }
  return Status();
}

}  // namespace

class Log::Impl {
 public:
  std::filesystem::path dir;
  LogOptions options;
  LogHooks hooks;
  std::shared_ptr<FileSystem> fs;
  int lock_fd = -1;
  RecoveryReport report;
  std::unique_ptr<StagingRing> ring;
  std::unique_ptr<SegmentPreparer> preparer;
  std::shared_ptr<SegmentRetention> retention;  // readers unpin through a weak_ptr
  std::unique_ptr<LogWriter> writer;
  std::atomic<bool> closed{false};
  Status close_status;

  ~Impl() { (void)close(); }  // a destructor cannot report; callers who care call close()

  Status close() {
    if (closed.exchange(true)) return close_status;
    if (writer) writer->stop();
    close_status = writer && writer->failed() ? writer->failure() : Status();
    retention.reset();
    preparer.reset();  // keeps recycled files for the next open; the stopped writer is done
    // Every appended record is durable and no write is in flight: the next open may skip the
    // search for a torn write past the end (clean_close.h). Only with fsync durability, where
    // "durable" means on disk. A marker that fails to be written is no marker: the next open
    // searches, as after a crash, so its failure does not fail the close.
    if (writer && options.durability == Durability::kFsync && writer->drained()) {
      const ActiveSegment& s = writer->last_segment();
      (void)write_clean_close(*fs, dir.string(),
                              CleanClose{s.seq, s.first_lsn, writer->durable_lsn()});
    }
    if (lock_fd >= 0) {
      (void)fs->close(lock_fd);  // the next writer may open the directory now
      lock_fd = -1;
    }
    return close_status;
  }
};

Log::Log(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Log::~Log() = default;

namespace {
Result<int> open_segment(FileSystem& fs, const std::string& path, const LogOptions& o,
                         bool* direct) {
  const bool want_direct = o.io_mode != IoMode::kBuffered && o.durability == Durability::kFsync;
  if (want_direct) {
    Result<int> fd = fs.open(path, OpenFlags{.write = true, .direct = true, .dsync = true});
    if (fd.ok() || o.io_mode == IoMode::kDirect ||
        fd.status().code() != StatusCode::kInvalidArgument) {
      *direct = fd.ok();
      return fd;
    }
  }
  *direct = false;
  return fs.open(path, OpenFlags{.write = true});
}
}  // namespace

namespace {
// The recycled files an earlier process left (recovery removed only half-made zero-filled spares)
// go back into the preparer's pool, up to recycled_segments_max (it deletes the rest). A file the
// log could not have made (format::is_segment_size) is deleted: spares hold no
// records. Failures only cost a spare: the preparer makes a new one when it needs one.
void adopt_recycled_files(FileSystem& fs, const std::string& dir,
                          const std::vector<std::string>& spare_names, SegmentPreparer& preparer) {
  for (const std::string& name : spare_names) {
    if (!name.starts_with(format::kRecycledPrefix)) continue;
    const std::string path = join_path(dir, name);
    Result<uint64_t> bytes = file_size_at(fs, path);
    if (bytes.ok() && format::is_segment_size(*bytes)) {
      preparer.add_recycled(path, *bytes);
    } else if (bytes.ok()) {
      (void)fs.remove(path);  // a spare holds no records: failing to delete it loses nothing
    }
  }
}
}  // namespace

Result<std::unique_ptr<Log>> Log::open(const std::filesystem::path& dir_path, LogOptions options,
                                       LogHooks hooks) {
  CAIRN_RETURN_IF_ERROR(check_options(options));
  auto impl = std::make_unique<Impl>();
  impl->dir = dir_path;
  impl->options = options;
  impl->hooks = hooks;
  impl->fs = options.file_system ? options.file_system : posix_file_system();
  FileSystem& fs = *impl->fs;
  const std::string dir = dir_path.string();
  const std::string where = "opening log " + dir;

  CAIRN_ASSIGN_OR_RETURN(bool exists, fs.exists(dir));
  if (!exists && !options.create_if_missing) {
    return Status(StatusCode::kNotFound, where + ": no such directory");
  }
  // Also when the directory exists: an earlier open may have created it and died before the
  // sync that makes its entry durable, and every record acknowledged here depends on that entry.
  CAIRN_RETURN_IF_ERROR(create_dirs_durably(fs, dir).with_context(where));
  Result<int> lock_fd = fs.open(join_path(dir, std::string(format::kLockFileName)),
                                OpenFlags{.write = true, .create = true});
  if (!lock_fd.ok()) return lock_fd.status().with_context(where);
  impl->lock_fd = *lock_fd;
  if (Status st = fs.lock(impl->lock_fd); !st.ok()) {
    if (st.code() == StatusCode::kLocked) {
      return Status(
          StatusCode::kLocked,
          where + ": another Log has it open for writing, in another process or in this one (" +
              std::string(format::kLockFileName) + " is locked)");
    }
    return st.with_context(where);
  }

  CAIRN_ASSIGN_OR_RETURN(RecoveredLog rec, recover_log(fs, dir, options, hooks.payload_verifier,
                                                       read_clean_close(fs, dir), &impl->report));
  // The marker describes the log as its last close left it: it goes before anything is written
  // (the directory sync below makes that durable).
  CAIRN_RETURN_IF_ERROR(remove_clean_close(fs, dir).with_context(where));
  bool direct = false;
  CAIRN_ASSIGN_OR_RETURN(int fd,
                         open_segment(fs, join_path(dir, rec.active.name), options, &direct));
  rec.active.fd = fd;
  impl->report.end_lsn = rec.end_lsn;
  // Records acknowledged from here on stand on what recovery found, so that must be durable
  // before the first of them: the last segment's bytes (a killed buffered writer's last batches
  // can still be only in the page cache) and the directory's entries (a segment renamed from a
  // spare by a writer that died before its directory sync would go back to being a spare, which
  // the next recovery removes). Both syncs cost next to nothing when all is durable already.
  Status synced = fs.fdatasync(fd);
  if (synced.ok()) synced = fs.fsync_dir(dir);
  if (!synced.ok()) {
    (void)fs.close(fd);  // the open fails; this fd wrote nothing
    return synced.with_context(where + ": making what recovery found durable");
  }

  Result<std::unique_ptr<StagingRing>> ring =
      StagingRing::create(options.staging_bytes, rec.end_lsn);
  if (!ring.ok()) {
    (void)fs.close(fd);  // the open fails; this fd wrote nothing
    return ring.status().with_context(where);
  }
  impl->ring = std::move(*ring);
  impl->preparer = std::make_unique<SegmentPreparer>(impl->fs, dir, options.recycled_segments_max);
  impl->retention = std::make_shared<SegmentRetention>(impl->fs, dir, *impl->preparer);
  CAIRN_ASSIGN_OR_RETURN(DirectoryListing listing, list_log_directory(fs, dir));
  impl->retention->reset(std::move(listing.segments));
  adopt_recycled_files(fs, dir, listing.prealloc_files, *impl->preparer);
  std::unique_ptr<IoQueue> io = options.io_queue_factory
                                    ? options.io_queue_factory()
                                    : default_io_queue(options.writes_in_flight_max + 2);
  CAIRN_CHECK_MSG(io != nullptr, "io_queue_factory returned null");
  SegmentRetention* retention = impl->retention.get();
  WriterConfig cfg{impl->fs,
                   dir,
                   options,
                   hooks.listener,
                   [retention](const ActiveSegment& s, uint64_t) {
                     retention->add(SegmentFile{s.name, s.seq, s.first_lsn});
                   },
                   direct,
                   rec.active,
                   rec.end_lsn};
  impl->writer =
      std::make_unique<LogWriter>(std::move(cfg), *impl->ring, std::move(io), *impl->preparer);
  impl->writer->start();
  return std::unique_ptr<Log>(new Log(std::move(impl)));
}

Result<Lsn> Log::append(RecordType type, std::span<const std::byte> payload,
                        AppendCompletion* done) {
  Impl& m = *impl_;
  if (type == 0) return Status(StatusCode::kInvalidArgument, "record type 0 is reserved");
  if (payload.size() > m.options.record_bytes_max) {
    return Status(StatusCode::kLimitExceeded, "record of " + std::to_string(payload.size()) +
                                                  " bytes exceeds record_bytes_max (" +
                                                  std::to_string(m.options.record_bytes_max) + ")");
  }
  if (m.closed.load(std::memory_order_acquire)) {
    return Status(StatusCode::kClosed, "append after the log was closed");
  }
  if (m.writer->failed()) return m.writer->failure();
  const uint32_t len = static_cast<uint32_t>(payload.size());
  const uint32_t size = format::frame_size(len);
  const Lsn pos = m.ring->reserve(size);
  m.ring->write_u64(pos + format::kChecksumOffset, reinterpret_cast<uint64_t>(done));
  m.ring->write_u64(pos + format::kLsnOffset, pos);
  if (len > 0) m.ring->write(pos + format::kFrameHeaderSize, payload.data(), len);
  m.ring->publish(pos, format::tag_word(len, type, 0));
  m.writer->notify_published(pos + size);
  return pos;
}

Result<Lsn> Log::append_durable(RecordType type, std::span<const std::byte> payload) {
  // wait_durable, not a completion per record: all synchronous appenders sleep on the writer's one
  // durable-LSN word (by LSN bucket), and a batch wakes its own with one system call instead of one
  // per record.
  CAIRN_ASSIGN_OR_RETURN(Lsn lsn, append(type, payload));
  // Straight to the writer: `lsn` was just appended, and wait_durable's check of it would read the
  // reservation counter every appender writes, on the synchronous appenders' hot path.
  CAIRN_RETURN_IF_ERROR(impl_->writer->wait_durable(lsn));
  return lsn;
}

Status Log::wait_durable(Lsn lsn) {
  // An LSN no append has reached names no record: waiting for it lasted until later appends
  // happened to cover it, and with none (wait_durable(0) on an empty log) until close().
  const Lsn end = impl_->ring->reserved_end();
  if (lsn >= end) {
    return Status(StatusCode::kInvalidArgument,
                  "wait_durable: LSN " + std::to_string(lsn) +
                      " is not appended yet (pass an LSN append() returned; the next append "
                      "starts at " +
                      std::to_string(end) + ")");
  }
  return impl_->writer->wait_durable(lsn);
}

Lsn Log::durable_lsn() const {
  return impl_->writer->durable_lsn();
}

Status Log::health() const {
  if (impl_->closed.load()) return Status(StatusCode::kClosed, "the log is closed");
  if (impl_->writer->failed()) return impl_->writer->failure();
  if (impl_->writer->waiting_for_space()) return impl_->writer->no_space_status();
  return Status();
}

Status Log::close() {
  return impl_->close();
}

Result<std::unique_ptr<LogReader>> Log::read_from(Lsn from, FramePosition near) {
  Impl* m = impl_.get();
  if (m->closed.load()) return Status(StatusCode::kClosed, "the log is closed");
  Status error;
  // Pinned from where it starts: retention leaves everything it may read in place.
  m->retention->pin(from);
  std::weak_ptr<SegmentRetention> retention = m->retention;
  auto reader = make_live_reader(
      m->fs, m->dir.string(), from, near, m->hooks.payload_verifier,
      [mark = m->writer->durable_mark()] { return mark->load(std::memory_order_acquire); },
      [retention, from] {
        if (auto r = retention.lock()) r->unpin(from);
      },
      &error);
  if (!reader) return error;
  return reader;
}

Result<SegmentsRemoved> Log::remove_segments_before(
    Lsn lsn, std::chrono::system_clock::time_point sealed_before) {
  if (impl_->closed.load()) return Status(StatusCode::kClosed, "the log is closed");
  return impl_->retention->remove_before(lsn, sealed_before);
}

Lsn Log::first_lsn() const {
  return impl_->retention->first_lsn();
}

const RecoveryReport& Log::recovery_report() const {
  return impl_->report;
}

LogStats Log::stats() const {
  return impl_->writer->stats();
}

const std::filesystem::path& Log::dir() const {
  return impl_->dir;
}

}  // namespace cairn::log
