// IoQueue that performs each request synchronously inside submit(): the fallback where io_uring
// is unavailable, and a simple reference for tests.
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <deque>

#include "cairn/log/check.h"
#include "cairn/log/io.h"

namespace cairn::log {
namespace {

int64_t do_write(const IoRequest& r) {
  for (;;) {
    const ssize_t n = ::pwrite(r.fd, r.buf, r.len, static_cast<off_t>(r.offset));
    if (n >= 0) return n;
    if (errno != EINTR) return -errno;
  }
}

int64_t do_sync(int fd) {
  return ::fdatasync(fd) == 0 ? 0 : -errno;
}

class SyncIoQueue final : public IoQueue {
 public:
  SyncIoQueue() : event_fd_(::eventfd(0, EFD_CLOEXEC)) { CAIRN_CHECK(event_fd_ >= 0); }
  ~SyncIoQueue() override { ::close(event_fd_); }

  Status submit(std::span<const IoRequest> requests) override {
    for (const IoRequest& r : requests) {
      int64_t result = 0;
      switch (r.op) {
        case IoOp::kWrite:
          result = do_write(r);
          break;
        case IoOp::kSync:
          result = do_sync(r.fd);
          break;
        case IoOp::kWriteThenSync:
          result = do_write(r);
          if (result == static_cast<int64_t>(r.len)) {
            const int64_t s = do_sync(r.fd);
            if (s < 0) result = s;
          }
          break;
      }
      done_.push_back(IoCompletion{r.tag, result});
    }
    return Status();
  }

  Result<size_t> wait(std::span<IoCompletion> out, bool block) override {
    if (done_.empty() && block) {
      uint64_t v;
      ssize_t n;
      do {
        n = ::read(event_fd_, &v, sizeof v);
      } while (n < 0 && errno == EINTR);
      return size_t{0};
    }
    size_t n = 0;
    while (n < out.size() && !done_.empty()) {
      out[n++] = done_.front();
      done_.pop_front();
    }
    return n;
  }

  void wake() override {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t rc = ::write(event_fd_, &one, sizeof one);
  }

  const char* name() const override { return "sync"; }

 private:
  int event_fd_;
  std::deque<IoCompletion> done_;
};

}  // namespace

std::unique_ptr<IoQueue> sync_io_queue() {
  return std::make_unique<SyncIoQueue>();
}

}  // namespace cairn::log
