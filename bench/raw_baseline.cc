// The raw durable write loops (see raw_baseline.h).
#include "raw_baseline.h"

#include <fcntl.h>
#include <liburing.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "bench_clock.h"
#include "write_buffer.h"

namespace cairn::bench {
namespace {

// A file descriptor closed on scope exit.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// A block-aligned buffer of non-zero bytes: a virtual disk may treat all-zero writes specially,
// and the log never writes pure zeros either. The log's own kind of buffer (huge pages from
// 2 MiB), so that the raw direct writes are as fast as direct writes can be here.
log::WriteBuffer pattern_buffer(size_t bytes) {
  log::WriteBuffer buf(bytes);
  std::memset(buf.data(), 0x5a, bytes);
  return buf;
}

double percentile_us(std::vector<double>& values_us, double p) {
  if (values_us.empty()) return 0;
  auto at = values_us.begin() +
            static_cast<std::ptrdiff_t>(static_cast<double>(values_us.size() - 1) * p);
  std::nth_element(values_us.begin(), at, values_us.end());
  return *at;
}

double median_us(std::vector<double>& values_us) {
  return percentile_us(values_us, 0.5);
}

uint64_t next_offset(uint64_t offset, uint32_t batch_bytes, uint64_t file_bytes) {
  offset += batch_bytes;
  return offset + batch_bytes > file_bytes ? 0 : offset;
}

}  // namespace

Status prewrite_zero_file(const std::string& path, uint64_t bytes) {
  Fd fd(::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644));
  if (fd.get() < 0) return errno_status(errno, "creating " + path);
  constexpr size_t kChunk = size_t{1} << 20;
  std::vector<std::byte> zeros(kChunk);
  for (uint64_t off = 0; off < bytes; off += kChunk) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kChunk, bytes - off));
    if (::pwrite(fd.get(), zeros.data(), n, static_cast<off_t>(off)) != static_cast<ssize_t>(n)) {
      return errno_status(errno, "pre-writing " + path);
    }
  }
  if (::fdatasync(fd.get()) != 0) return errno_status(errno, "syncing " + path);
  return Status();
}

Result<SyncLoopResult> run_write_fdatasync_loop(const std::string& path, uint64_t file_bytes,
                                                uint32_t batch_bytes, double seconds) {
  CAIRN_CHECK(batch_bytes > 0 && batch_bytes <= file_bytes);
  Fd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (fd.get() < 0) return errno_status(errno, "opening " + path);
  const log::WriteBuffer buf = pattern_buffer(batch_bytes);
  std::vector<double> sync_us, write_sync_us;
  sync_us.reserve(1 << 16);
  write_sync_us.reserve(1 << 16);
  SyncLoopResult r;
  r.batch_bytes = batch_bytes;
  uint64_t offset = 0;
  const int64_t start = now_ns();
  const int64_t end = start + static_cast<int64_t>(seconds * 1e9);
  int64_t t = start;
  while (t < end) {
    const int64_t before_write = now_ns();
    if (::pwrite(fd.get(), buf.data(), batch_bytes, static_cast<off_t>(offset)) !=
        static_cast<ssize_t>(batch_bytes)) {
      return errno_status(errno, "baseline pwrite to " + path);
    }
    const int64_t before_sync = now_ns();
    if (::fdatasync(fd.get()) != 0) return errno_status(errno, "baseline fdatasync of " + path);
    t = now_ns();
    sync_us.push_back(static_cast<double>(t - before_sync) / 1e3);
    write_sync_us.push_back(static_cast<double>(t - before_write) / 1e3);
    ++r.syncs;
    offset = next_offset(offset, batch_bytes, file_bytes);
  }
  r.seconds = seconds_between(start, t);
  r.fdatasync_median_us = median_us(sync_us);
  r.write_sync_p99_us = percentile_us(write_sync_us, 0.99);
  return r;
}

Result<std::optional<DirectLoopResult>> run_direct_dsync_loop(const std::string& path,
                                                              uint64_t file_bytes,
                                                              uint32_t batch_bytes,
                                                              double seconds) {
  CAIRN_CHECK(batch_bytes % 4096 == 0 && batch_bytes > 0 && 2ull * batch_bytes <= file_bytes);
  Fd fd(::open(path.c_str(), O_WRONLY | O_DIRECT | O_DSYNC | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == EINVAL) return std::optional<DirectLoopResult>();  // no O_DIRECT here
    return errno_status(errno, "opening " + path + " with O_DIRECT|O_DSYNC");
  }
  const log::WriteBuffer buf = pattern_buffer(batch_bytes);
  io_uring ring;
  if (int rc = io_uring_queue_init(8, &ring, 0); rc < 0) {
    return errno_status(-rc, "io_uring_queue_init");
  }
  std::vector<double> write_us;
  write_us.reserve(1 << 16);
  DirectLoopResult r;
  r.batch_bytes = batch_bytes;
  uint64_t offset = 0;
  int64_t submitted_ns[2] = {0, 0};
  Status error;
  // Submits the next write as request `k` (0 or 1); the next one goes out while this one is
  // becoming durable, the way the log keeps two batches in flight.
  auto submit = [&](int k) {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring);
    io_uring_prep_write(sqe, fd.get(), buf.data(), batch_bytes, offset);
    sqe->user_data = static_cast<uint64_t>(k);
    offset = next_offset(offset, batch_bytes, file_bytes);
    submitted_ns[k] = now_ns();
    return io_uring_submit(&ring);
  };
  const int64_t start = now_ns();
  const int64_t end = start + static_cast<int64_t>(seconds * 1e9);
  int in_flight = 0;
  for (int k = 0; k < 2; ++k) {
    if (int rc = submit(k); rc < 0)
      error = errno_status(-rc, "io_uring_submit");
    else
      ++in_flight;
  }
  int64_t t = start;
  while (in_flight > 0) {
    io_uring_cqe* cqe = nullptr;
    if (int rc = io_uring_wait_cqe(&ring, &cqe); rc < 0) {
      if (rc == -EINTR) continue;
      error = errno_status(-rc, "io_uring_wait_cqe");
      break;
    }
    const int k = static_cast<int>(cqe->user_data);
    const int res = cqe->res;
    io_uring_cqe_seen(&ring, cqe);
    --in_flight;
    t = now_ns();
    if (res != static_cast<int>(batch_bytes)) {
      if (error.ok()) {
        error = res < 0 ? errno_status(-res, "direct write to " + path)
                        : Status(StatusCode::kIoError, "short direct write to " + path);
      }
      continue;
    }
    ++r.writes;
    write_us.push_back(static_cast<double>(t - submitted_ns[k]) / 1e3);
    if (t < end && error.ok()) {
      if (int rc = submit(k); rc < 0)
        error = errno_status(-rc, "io_uring_submit");
      else
        ++in_flight;
    }
  }
  io_uring_queue_exit(&ring);
  if (!error.ok()) return error;
  r.seconds = seconds_between(start, t);
  r.write_p99_us = percentile_us(write_us, 0.99);
  r.write_median_us = median_us(write_us);
  return std::optional<DirectLoopResult>(r);
}

}  // namespace cairn::bench
