// LogWriter (see log_writer.h).
#include "log_writer.h"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "frame_format.h"
#include "futex.h"
#include "log_directory.h"
#include "registered_buffers.h"

namespace cairn::log {

using format::kBlockSize;

namespace {
// While no spare can be made (a full disk), rotation is tried again this often.
constexpr auto kNoSpaceRetry = std::chrono::milliseconds(100);

uint64_t smallest_segment_bytes(const LogOptions& o) {
  // A header, one frame of the largest record, padding, and a block to spare.
  const uint64_t need = format::kSegmentHeaderSize +
                        format::round_up(format::frame_size(o.record_bytes_max), kBlockSize) +
                        kBlockSize;
  return format::round_up(need, 1u << 20);
}
}  // namespace

int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

uint32_t durable_wait_bit(Lsn lsn) {
  return uint32_t{1} << ((lsn / kDurableWaitBucketBytes) % 32);
}

uint32_t durable_wake_mask(Lsn begin, Lsn end) {
  if (end <= begin) return 0;
  const uint64_t first = begin / kDurableWaitBucketBytes;
  const uint64_t last = (end - 1) / kDurableWaitBucketBytes;
  if (last - first >= 31) return ~uint32_t{0};
  uint32_t mask = 0;
  for (uint64_t i = first; i <= last; ++i) mask |= uint32_t{1} << (i % 32);
  return mask;
}

uint64_t unix_ms_now() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

uint64_t first_segment_bytes(const LogOptions& o) {
  return std::min(o.segment_bytes, std::max(o.segment_bytes_initial, smallest_segment_bytes(o)));
}

uint64_t next_segment_bytes(const LogOptions& o, uint64_t current) {
  return std::min(o.segment_bytes, std::max(current * 2, first_segment_bytes(o)));
}

LogWriter::LogWriter(WriterConfig config, StagingRing& ring, std::unique_ptr<IoQueue> io,
                     SegmentPreparer& preparer)
    : cfg_(std::move(config)),
      ring_(ring),
      io_(std::move(io)),
      preparer_(preparer),
      listener_(cfg_.listener),
      seg_(cfg_.segment),
      consumed_(cfg_.start_lsn),
      durable_lsn_(std::make_shared<DurableMark>(cfg_.start_lsn)) {
  CAIRN_CHECK(seg_.write_offset % kBlockSize == 0);
  CAIRN_CHECK(cfg_.options.batch_bytes_max % kBlockSize == 0);
  // One buffer more than writes may be in flight: the next batch can go out while a finished one
  // is still being acknowledged. Not with the synchronous queue, which writes inside submit(): a
  // batch sent out first would only hold the acknowledgement back.
  overlap_acks_ = std::string_view(io_->name()) != "sync";
  batches_.resize(cfg_.options.writes_in_flight_max + (overlap_acks_ ? 1 : 0));
}

void LogWriter::allocate_batch_buffers() {
  for (Batch& b : batches_) b.memory = WriteBuffer(cfg_.options.batch_bytes_max);
  if (auto* registry = dynamic_cast<BufferRegistry*>(io_.get())) {
    std::vector<iovec> buffers;
    for (Batch& b : batches_) {
      buffers.push_back(iovec{b.memory.data(), cfg_.options.batch_bytes_max});
    }
    (void)registry->register_buffers(buffers);  // refused: each write pins its pages instead
  }
}

LogWriter::~LogWriter() {
  stop();
  // Every acknowledged batch was synced before it was acknowledged: the close loses nothing.
  if (seg_.fd >= 0) (void)cfg_.fs->close(seg_.fd);
}

void LogWriter::start() {
  thread_ = std::thread([this] {
    // Here, not in the constructor: registering pins (faults in) every page, and getting huge
    // pages can mean compacting memory first. That took 30 to 35 ms of Log::open on this VM,
    // most of an engine's start from a snapshot; on this thread it overlaps the
    // engine's replay, and only the first write waits for it.
    allocate_batch_buffers();
    run();
    exited_.store(true, std::memory_order_seq_cst);
    durable_seq_.fetch_add(1, std::memory_order_seq_cst);
    futex_wake_all(&durable_seq_);
  });
}

void LogWriter::stop() {
  if (!thread_.joinable()) return;
  stop_requested_.store(true, std::memory_order_seq_cst);
  io_->wake();
  thread_.join();
}

Status LogWriter::failure() const {
  std::lock_guard lock(failure_mu_);
  return failure_;
}

LogStats LogWriter::stats() const {
  LogStats s;
  s.records_durable = stat_records_.load(std::memory_order_relaxed);
  s.bytes_durable = stat_frame_bytes_.load(std::memory_order_relaxed);
  s.batches = stat_batches_.load(std::memory_order_relaxed);
  s.bytes_written = stat_bytes_written_.load(std::memory_order_relaxed);
  s.segments_created = stat_segments_created_.load(std::memory_order_relaxed);
  s.segments_recycled = stat_segments_recycled_.load(std::memory_order_relaxed);
  s.write_ns = stat_write_ns_.load(std::memory_order_relaxed);
  s.disk_idle_ns = stat_disk_idle_ns_.load(std::memory_order_relaxed);
  s.io_queue = io_->name();
  s.direct_io = cfg_.direct_io;
  return s;
}

Status LogWriter::wait_durable(Lsn lsn) {
  for (int spin = 0;; ++spin) {
    if (durable_lsn() > lsn) return Status();
    if (failed()) return failure();
    if (exited_.load(std::memory_order_acquire)) {
      return Status(StatusCode::kClosed,
                    "the log was closed before LSN " + std::to_string(lsn) + " became durable");
    }
    if (spin < 32) {
      cpu_relax();
      continue;
    }
    const uint32_t seq = durable_seq_.load(std::memory_order_acquire);
    durable_waiters_.fetch_add(1, std::memory_order_seq_cst);
    if (durable_lsn_->lsn.load(std::memory_order_seq_cst) <= lsn && !failed() &&
        !exited_.load(std::memory_order_seq_cst)) {
      futex_wait_bits(&durable_seq_, seq, durable_wait_bit(lsn));
    }
    durable_waiters_.fetch_sub(1, std::memory_order_relaxed);
  }
}

size_t LogWriter::in_flight() const {
  size_t n = 0;
  for (const Batch& b : batches_) n += b.in_flight ? 1 : 0;
  return n;
}

size_t LogWriter::writes_at_risk() const {
  size_t n = 0;
  bool counting = false;
  for (size_t k = 0; k < batches_.size(); ++k) {
    const Batch& b = batches_[(head_ + k) % batches_.size()];
    if (!b.in_flight && !b.done) break;  // the first free buffer: nothing submitted after it
    counting = counting || b.in_flight;
    n += counting ? 1 : 0;
  }
  return n;
}

bool LogWriter::can_gather() const {
  return !rotation_pending_ && !write_failed_ && !batches_[next_].in_flight &&
         !batches_[next_].done && writes_at_risk() < cfg_.options.writes_in_flight_max;
}

bool LogWriter::should_gather() const {
  if (!can_gather()) return false;
  if (in_flight() == 0 || stop_requested_.load(std::memory_order_relaxed)) return true;
  // A second write while one is in flight pays off only when it carries enough: a small one would
  // cost a sync of its own, while waiting for the write in flight lets the next batch grow.
  return ring_.reserved_end() - consumed_ >= kSecondWriteMinBytes;
}

bool LogWriter::worth_a_write_ahead() const {
  return can_gather() && ring_.reserved_end() - consumed_ >= kSecondWriteMinBytes;
}

bool LogWriter::poll_for_completion() {
  const auto until = std::chrono::steady_clock::now() + kPollTime;
  const uint64_t seen = completions_;
  for (;;) {
    if (Status st = reap(/*block=*/false); !st.ok()) {
      fail(st);
      return true;
    }
    if (completions_ != seen || (should_gather() && ring_.published_tag(consumed_) != 0)) {
      return true;
    }
    if (std::chrono::steady_clock::now() >= until) return false;
    for (int i = 0; i < 16; ++i) cpu_relax();
  }
}

bool LogWriter::gather_and_submit() {
  if (!gather(batches_[next_])) return false;
  if (Status st = submit(batches_[next_]); !st.ok()) {
    fail(st);
    return true;
  }
  next_ = (next_ + 1) % batches_.size();
  return true;
}

void LogWriter::run() {
  for (;;) {
    if (failed()) {
      drain_after_failure();
      return;
    }
    Status st = reap(/*block=*/false);
    if (!st.ok()) {
      fail(st);
      continue;
    }
    // The disk would idle while a finished batch is acknowledged: the next one goes out first,
    // if it is worth a write of its own. A few records would not be: with synchronous writers,
    // most of the next batch's are those this acknowledgement wakes, and sending the few early
    // halves every batch and doubles the syncs per record.
    if (overlap_acks_ && batches_[head_].done && in_flight() == 0 && worth_a_write_ahead()) {
      (void)gather_and_submit();  // nothing to send is fine; a failure went through fail()
    }
    complete_in_order();
    if (failed()) continue;
    if (rotation_pending_ && in_flight() == 0) {
      st = rotate();
      if (st.code() == StatusCode::kNoSpace && !stop_requested_.load()) {
        wait_for_space(st);
        continue;
      }
      if (!st.ok()) {
        fail(st);
        continue;
      }
      no_space_.store(false, std::memory_order_release);
    }
    if (should_gather()) {
      if (gather_and_submit()) continue;
      if (rotation_pending_) continue;  // the next frame needs a new segment
    }
    const bool nothing_pending = ring_.published_tag(consumed_) == 0;
    if (stop_requested_.load(std::memory_order_acquire) && in_flight() == 0 && nothing_pending &&
        consumed_ == ring_.reserved_end()) {
      return;
    }
    // At light load, wait for the write in flight by watching the completion queue for a moment:
    // it saves the sleep and wake-up that would otherwise add to every record's latency.
    if (in_flight() > 0 && last_batch_records_ <= kPollBatchRecordsMax && poll_for_completion()) {
      continue;
    }
    // Sleep until an I/O completes or, when another batch could go out, enough is published for
    // it: any frame with no write in flight, kSecondWriteMinBytes beside one (without that wake,
    // the second write would only ever start by chance, and the disk would idle between writes).
    if (can_gather()) {
      const bool first = in_flight() == 0 || stop_requested_.load(std::memory_order_relaxed);
      wake_at_.store(consumed_ + (first ? 1 : kSecondWriteMinBytes), std::memory_order_relaxed);
      idle_.store(true, std::memory_order_release);
      std::atomic_thread_fence(std::memory_order_seq_cst);
      if ((should_gather() && ring_.published_tag(consumed_) != 0) || stop_requested_.load()) {
        idle_.store(false, std::memory_order_relaxed);
        continue;
      }
    }
    st = reap(/*block=*/true);
    idle_.store(false, std::memory_order_relaxed);
    if (!st.ok()) fail(st);
  }
}

bool LogWriter::gather(Batch& b) {
  const uint64_t segment_bytes = seg_.bytes;
  // In a recycled segment the blocks after the data hold the old segment's bytes, which a reader
  // could not tell from a torn write: each batch there carries one more block of zeros (the end
  // marker, overwritten by the next batch), so the data always ends at a zero block, as in a new
  // segment. Never past the segment's end, and within batch_bytes_max.
  const bool marker = seg_.recycled;
  const uint32_t cap = cfg_.options.batch_bytes_max - (marker ? kBlockSize : 0);
  // The batch in flight wrote its marker where this one would start: two writes in flight must
  // never touch the same block, so this one starts a block later (readers step over one zero
  // block when the LSN chain goes on right after it).
  const uint64_t start =
      seg_.write_offset + (marker && seg_.write_offset > 0 && in_flight() > 0 ? kBlockSize : 0);
  uint32_t len = 0;
  if (seg_.write_offset == 0) {
    format::SegmentHeader h;
    h.seq = seg_.seq;
    h.first_lsn = seg_.first_lsn;
    h.segment_bytes = segment_bytes;
    h.created_unix_ms = unix_ms_now();
    format::encode_segment_header(h, b.memory.data());
    len = format::kSegmentHeaderSize;
  }
  Lsn pos = consumed_;
  b.views.clear();
  b.completions.clear();
  // Only what was reserved when the gather began: following appenders that keep publishing would
  // hold this batch back, and the disk idle, for as long as they do.
  const Lsn until = ring_.reserved_end();
  while (pos < until) {
    const uint64_t tag = ring_.published_tag(pos);
    if (tag == 0) break;
    const uint32_t payload_len = static_cast<uint32_t>(tag);
    const uint32_t size = format::frame_size(payload_len);
    if (len + size > cap) break;
    if (start + len + size > segment_bytes) {
      rotation_pending_ = true;
      break;
    }
    std::byte* f = b.memory.data() + len;
    ring_.read(pos, f, size);
    const uint64_t completion = format::load_u64(f + format::kChecksumOffset);
    CAIRN_CHECK(format::load_u64(f + format::kLsnOffset) == pos);
    uint64_t checksum = format::frame_checksum(f, payload_len);
    if (checksum == 0) {
      // A zero first word would read as padding: salt the frame and checksum it again.
      format::store_u64(f + format::kLengthOffset,
                        tag | (uint64_t{format::kFlagChecksumSalt} << 48));
      checksum = format::frame_checksum(f, payload_len);
      CAIRN_CHECK(checksum != 0);
    }
    format::store_u64(f + format::kChecksumOffset, checksum);
    if (completion != 0) {
      b.completions.emplace_back(pos, reinterpret_cast<AppendCompletion*>(completion));
    }
    b.views.push_back(RecordView{
        pos, static_cast<RecordType>(tag >> 32), {f + format::kFrameHeaderSize, payload_len}});
    len += size;
    pos += size;
  }
  if (pos == consumed_) return false;  // nothing published (the header waits for a record)
  // Completions and the listener read the frames in the batch: zero their ring space now, while
  // it is in this core's cache, rather than at release.
  ring_.clear(pos);
  const uint32_t padded = static_cast<uint32_t>(format::round_up(len, kBlockSize));
  const uint32_t with_marker =
      marker && start + padded + kBlockSize <= segment_bytes ? padded + kBlockSize : padded;
  std::memset(b.memory.data() + len, 0, with_marker - len);
  CAIRN_CHECK(padded <= cap && start + with_marker <= segment_bytes);
  b.len = with_marker;
  b.written = 0;
  b.offset = start;
  b.fd = seg_.fd;
  b.begin = consumed_;
  b.end = pos;
  b.frame_bytes = pos - consumed_;
  last_batch_records_ = static_cast<uint32_t>(b.views.size());
  consumed_ = pos;
  seg_.write_offset = start + padded;  // the marker block, if any, is where the next batch goes
  if (!spare_requested_ && seg_.write_offset > segment_bytes / 4) {
    preparer_.request(next_segment_bytes(cfg_.options, seg_.bytes));
    spare_requested_ = true;
  }
  return true;
}

Status LogWriter::submit(Batch& b) {
  const bool sync_separately = cfg_.options.durability == Durability::kFsync && !cfg_.direct_io;
  b.piece = b.len - b.written;
  const int64_t now = steady_ns();
  if (b.written == 0) b.submitted_ns = now;
  if (disk_idle_since_ns_ != 0) {
    stat_disk_idle_ns_.fetch_add(static_cast<uint64_t>(now - disk_idle_since_ns_),
                                 std::memory_order_relaxed);
    disk_idle_since_ns_ = 0;
  }
  IoRequest r{sync_separately ? IoOp::kWriteThenSync : IoOp::kWrite,
              b.fd,
              b.memory.data() + b.written,
              b.piece,
              b.offset + b.written,
              static_cast<uint64_t>(&b - batches_.data())};
  b.in_flight = true;
  b.done = false;
  return io_->submit({&r, 1});
}

Status LogWriter::reap(bool block) {
  IoCompletion done[8];
  CAIRN_ASSIGN_OR_RETURN(size_t n, io_->wait(done, block));
  for (size_t i = 0; i < n; ++i) {
    CAIRN_CHECK(done[i].tag < batches_.size());
    Batch& b = batches_[done[i].tag];
    CAIRN_CHECK(b.in_flight);
    CAIRN_RETURN_IF_ERROR(on_io_done(b, done[i].result));
  }
  return Status();
}

Status LogWriter::on_io_done(Batch& b, int64_t result) {
  ++completions_;
  b.in_flight = false;
  const int64_t now = steady_ns();
  stat_write_ns_.fetch_add(static_cast<uint64_t>(now - b.submitted_ns), std::memory_order_relaxed);
  b.submitted_ns = now;  // a short write's rest counts from here
  if (in_flight() == 0 && ring_.published_tag(consumed_) != 0) disk_idle_since_ns_ = now;
  if (result < 0) {
    b.done = true;
    b.error = result;
    write_failed_ = true;
    return Status();
  }
  const uint32_t n = static_cast<uint32_t>(result);
  CAIRN_CHECK(n <= b.piece);
  if (n < b.piece) {
    // A short write: the rest goes out again. Direct I/O can only continue on a block boundary,
    // and a write that makes no progress is an error rather than a loop.
    if (n == 0 || (cfg_.direct_io && n % kBlockSize != 0)) {
      b.done = true;
      b.error = -EIO;
      write_failed_ = true;
      return Status();
    }
    b.written += n;
    return submit(b);
  }
  b.written += n;
  b.done = true;
  return Status();
}

void LogWriter::complete_in_order() {
  while (batches_[head_].done && !failed()) {
    Batch& b = batches_[head_];
    if (b.error != 0) {
      fail(errno_status(static_cast<int>(-b.error), "writing " + std::to_string(b.len) +
                                                        " bytes to segment " + seg_.name +
                                                        " at offset " + std::to_string(b.offset)));
      return;
    }
    acknowledge(b);
    reset(b);
    head_ = (head_ + 1) % batches_.size();
  }
}

void LogWriter::acknowledge(Batch& b) {
  // Counters first: whoever sees the new durable LSN also sees them counted.
  stat_records_.fetch_add(b.views.size(), std::memory_order_relaxed);
  stat_frame_bytes_.fetch_add(b.frame_bytes, std::memory_order_relaxed);
  stat_batches_.fetch_add(1, std::memory_order_relaxed);
  stat_bytes_written_.fetch_add(b.len, std::memory_order_relaxed);
  // Completions and the listener read the batch buffer, not the ring: release the ring first.
  ring_.release(b.end);
  // The listener (the engine's projection) sees the batch before anyone can learn that it is
  // durable: whoever returns from wait_durable or sees durable_lsn() pass a record finds every
  // effect of that record already applied (send() then get_run() never misses its runs).
  if (listener_ != nullptr) {
    listener_->on_durable(DurableBatch{b.begin, b.end, b.views});
  }
  durable_lsn_->lsn.store(b.end, std::memory_order_seq_cst);
  const Status ok;
  for (size_t i = 0; i < b.completions.size(); ++i) {
    // Thousands of completions take long enough (the appenders they wake take the CPU too) for
    // the disk to run dry: between them, the next batch goes out as soon as it is worth a write.
    if (overlap_acks_ && i % kAckStride == kAckStride - 1 && worth_a_write_ahead()) {
      (void)gather_and_submit();  // nothing to send is fine; a failure went through fail()
    }
    b.completions[i].second->on_durable(b.completions[i].first, ok);
  }
  durable_seq_.fetch_add(1, std::memory_order_seq_cst);
  if (durable_waiters_.load(std::memory_order_seq_cst) > 0) {
    futex_wake_bits(&durable_seq_, durable_wake_mask(b.begin, b.end));
  }
}

void LogWriter::reset(Batch& b) {
  b.in_flight = false;
  b.done = false;
  b.error = 0;
  b.len = b.written = b.piece = 0;
  b.views.clear();
  b.completions.clear();
}

Status LogWriter::rotate() {
  CAIRN_CHECK(in_flight() == 0);
  CAIRN_ASSIGN_OR_RETURN(Spare spare, preparer_.take(next_segment_bytes(cfg_.options, seg_.bytes)));
  // A segment with nothing written (not even its header) that cannot hold the next record — one a
  // process with a smaller record_bytes_max made and left empty — is not sealed: the spare takes
  // its place under the same name (rename replaces it atomically). Sealing it would leave an empty
  // segment between two that hold records, which no recovery accepts.
  const bool replace = seg_.write_offset == 0;
  CAIRN_CHECK(!replace || consumed_ == seg_.first_lsn);
  const uint64_t seq = replace ? seg_.seq : seg_.seq + 1;
  const std::string name = format::segment_file_name(seq, consumed_);
  const std::string path = join_path(cfg_.dir, name);
  CAIRN_RETURN_IF_ERROR(cfg_.fs->rename(spare.path, path));
  // The new name must be durable before any record in the file is acknowledged.
  CAIRN_RETURN_IF_ERROR(cfg_.fs->fsync_dir(cfg_.dir));
  const bool dsync = cfg_.direct_io && cfg_.options.durability == Durability::kFsync;
  CAIRN_ASSIGN_OR_RETURN(
      int fd,
      cfg_.fs->open(path, OpenFlags{.write = true, .direct = cfg_.direct_io, .dsync = dsync}));
  // The sealed segment's batches were all synced (no write is in flight at rotation): the close
  // loses nothing.
  (void)cfg_.fs->close(seg_.fd);
  seg_ = ActiveSegment{seq, consumed_, name, fd, 0, spare.bytes, spare.recycled};
  rotation_pending_ = false;
  stat_segments_created_.fetch_add(1, std::memory_order_relaxed);
  stat_segments_recycled_.fetch_add(spare.recycled ? 1 : 0, std::memory_order_relaxed);
  // A replaced segment keeps its name: retention knows it already.
  if (cfg_.on_new_segment && !replace) cfg_.on_new_segment(seg_, unix_ms_now());
  // The log is busy: have the next spare ready before this segment fills.
  preparer_.request(next_segment_bytes(cfg_.options, seg_.bytes));
  spare_requested_ = true;
  return Status();
}

Status LogWriter::no_space_status() const {
  std::lock_guard lock(failure_mu_);
  return no_space_status_;
}

void LogWriter::wait_for_space(const Status& why) {
  if (!no_space_.load(std::memory_order_relaxed)) {
    {
      std::lock_guard lock(failure_mu_);
      no_space_status_ =
          Status(StatusCode::kNoSpace,
                 "the log waits for disk space: no new segment could be made (" + why.message() +
                     "); appended records wait, nothing durable is lost, and the "
                     "log goes on once space is freed");
    }
    no_space_.store(true, std::memory_order_release);
  }
  // Appenders keep queueing (until the staging ring is full). Space freed on the disk, or a
  // segment retention recycles, lets the next rotation succeed.
  std::this_thread::sleep_for(kNoSpaceRetry);
}

void LogWriter::fail(const Status& status) {
  if (failed()) return;
  {
    std::lock_guard lock(failure_mu_);
    failure_ = Status(StatusCode::kFailed,
                      "the log writer stopped after an I/O error and accepts no more records "
                      "(reopen the log to recover): " +
                          status.to_string());
  }
  failed_.store(true, std::memory_order_seq_cst);
  durable_seq_.fetch_add(1, std::memory_order_seq_cst);
  futex_wake_all(&durable_seq_);
  if (listener_ != nullptr) listener_->on_log_failed(failure());
}

void LogWriter::drain_after_failure() {
  // Nothing more becomes durable. Every staged record (including those of batches still in
  // flight, which the kernel may still be reading) is told so, and its ring space is released so
  // that appenders blocked on a full ring return.
  const Status err = failure();
  for (;;) {
    if (in_flight() > 0) {
      if (!reap(/*block=*/true).ok()) {
        // The queue itself is broken: the kernel owns the buffers, so never free them.
        for (Batch& b : batches_) {
          if (b.in_flight) b.memory.leak();
        }
        for (Batch& b : batches_) b.in_flight = false;
      }
      continue;
    }
    for (Batch& b : batches_) {
      for (auto& [lsn, c] : b.completions) c->on_durable(lsn, err);
      reset(b);
    }
    bool progressed = false;
    for (uint64_t tag; (tag = ring_.published_tag(consumed_)) != 0;) {
      const uint32_t size = format::frame_size(static_cast<uint32_t>(tag));
      const uint64_t completion = ring_.read_u64(consumed_ + format::kChecksumOffset);
      if (completion != 0)
        reinterpret_cast<AppendCompletion*>(completion)->on_durable(consumed_, err);
      consumed_ += size;
      progressed = true;
    }
    if (progressed) ring_.release(consumed_);
    if (stop_requested_.load(std::memory_order_acquire) && consumed_ == ring_.reserved_end()) {
      return;
    }
    if (!progressed) {
      wake_at_.store(0, std::memory_order_relaxed);  // any frame
      idle_.store(true, std::memory_order_release);
      std::atomic_thread_fence(std::memory_order_seq_cst);
      if (ring_.published_tag(consumed_) == 0 && !stop_requested_.load()) {
        (void)reap(/*block=*/true);  // the log failed already: only wakes on what still ends
      }
      idle_.store(false, std::memory_order_relaxed);
    }
  }
}

}  // namespace cairn::log
