// IoQueue on io_uring: writes, linked write→fdatasync chains and syncs run asynchronously; an
// eventfd read kept armed in the ring lets wake() interrupt a blocked wait().
#include <liburing.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <vector>

#include "cairn/log/check.h"
#include "cairn/log/io.h"
#include "registered_buffers.h"

namespace cairn::log {
namespace {

constexpr uint64_t kWakeUserData = ~uint64_t{0};

class UringIoQueue final : public IoQueue, public BufferRegistry {
 public:
  static std::unique_ptr<IoQueue> create(uint32_t depth) {
    auto q = std::unique_ptr<UringIoQueue>(new UringIoQueue(depth));
    if (!q->init()) return nullptr;
    return q;
  }

  ~UringIoQueue() override {
    if (ring_ready_) io_uring_queue_exit(&ring_);
    if (event_fd_ >= 0) ::close(event_fd_);
  }

  Status submit(std::span<const IoRequest> requests) override {
    for (const IoRequest& r : requests) {
      const uint32_t slot = take_slot();
      ops_[slot] = Op{r.tag, r.op, r.len, 0, true};
      if (r.op == IoOp::kSync) {
        io_uring_sqe* sqe = get_sqe();
        io_uring_prep_fsync(sqe, r.fd, IORING_FSYNC_DATASYNC);
        io_uring_sqe_set_data64(sqe, user_data(slot, /*second=*/true));
        continue;
      }
      io_uring_sqe* w = get_sqe();
      if (const int index = registered_index(r.buf, r.len); index >= 0) {
        io_uring_prep_write_fixed(w, r.fd, r.buf, r.len, r.offset, index);
      } else {
        io_uring_prep_write(w, r.fd, r.buf, r.len, r.offset);
      }
      io_uring_sqe_set_data64(w, user_data(slot, /*second=*/false));
      if (r.op == IoOp::kWriteThenSync) {
        // Take both SQEs before linking so the chain is never split across submissions.
        io_uring_sqe* s = io_uring_get_sqe(&ring_);
        if (s == nullptr) {
          CAIRN_CHECK(io_uring_submit(&ring_) >= 0);
          s = get_sqe();
        }
        w->flags |= IOSQE_IO_LINK;
        io_uring_prep_fsync(s, r.fd, IORING_FSYNC_DATASYNC);
        io_uring_sqe_set_data64(s, user_data(slot, /*second=*/true));
      }
    }
    const int rc = io_uring_submit(&ring_);
    if (rc < 0) return errno_status(-rc, "io_uring_submit");
    return Status();
  }

  Result<size_t> wait(std::span<IoCompletion> out, bool block) override {
    size_t n = 0;
    bool woken = false;
    io_uring_cqe* cqe = nullptr;
    while (n < out.size()) {
      int rc = io_uring_peek_cqe(&ring_, &cqe);
      if (rc == -EAGAIN) {
        if (!block || n > 0 || woken) break;
        rc = io_uring_wait_cqe(&ring_, &cqe);
        if (rc == -EINTR) continue;
      }
      if (rc < 0) return errno_status(-rc, "io_uring_wait_cqe");
      const uint64_t data = io_uring_cqe_get_data64(cqe);
      const int res = cqe->res;
      io_uring_cqe_seen(&ring_, cqe);
      if (data == kWakeUserData) {
        woken = true;
        arm_wake();
        continue;
      }
      if (handle(data, res, &out[n])) ++n;
    }
    return n;
  }

  void wake() override {
    const uint64_t one = 1;
    // A full eventfd counter (never, in practice) still leaves the reader woken.
    [[maybe_unused]] ssize_t rc = ::write(event_fd_, &one, sizeof one);
  }

  const char* name() const override { return "io_uring"; }

  bool register_buffers(std::span<const iovec> buffers) override {
    CAIRN_CHECK(registered_.empty());
    if (io_uring_register_buffers(&ring_, buffers.data(), static_cast<unsigned>(buffers.size())) !=
        0) {
      return false;
    }
    registered_.assign(buffers.begin(), buffers.end());
    return true;
  }

 private:
  struct Op {
    uint64_t tag = 0;
    IoOp op = IoOp::kWrite;
    uint32_t len = 0;
    int64_t write_result = 0;
    bool busy = false;
  };

  explicit UringIoQueue(uint32_t depth) : depth_(depth) {}

  bool init() {
    event_fd_ = ::eventfd(0, EFD_CLOEXEC);
    if (event_fd_ < 0) return false;
    // Two SQEs per request (write + sync) plus the armed wake-up read.
    if (io_uring_queue_init(2 * depth_ + 8, &ring_, 0) != 0) return false;
    ring_ready_ = true;
    ops_.resize(depth_ + 8);
    for (uint32_t i = 0; i < ops_.size(); ++i) free_slots_.push_back(i);
    arm_wake();
    return io_uring_submit(&ring_) >= 0;
  }

  void arm_wake() {
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_read(sqe, event_fd_, &wake_buf_, sizeof wake_buf_, 0);
    io_uring_sqe_set_data64(sqe, kWakeUserData);
    // Submitted with the next submit() or now, so a wake that comes first is not lost.
    CAIRN_CHECK(io_uring_submit(&ring_) >= 0);
  }

  io_uring_sqe* get_sqe() {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (sqe == nullptr) {
      CAIRN_CHECK(io_uring_submit(&ring_) >= 0);
      sqe = io_uring_get_sqe(&ring_);
    }
    CAIRN_CHECK(sqe != nullptr);
    return sqe;
  }

  // The registered buffer that holds [buf, buf + len), or -1.
  int registered_index(const void* buf, uint32_t len) const {
    const auto* p = static_cast<const std::byte*>(buf);
    for (size_t i = 0; i < registered_.size(); ++i) {
      const auto* base = static_cast<const std::byte*>(registered_[i].iov_base);
      if (p >= base && p + len <= base + registered_[i].iov_len) return static_cast<int>(i);
    }
    return -1;
  }

  static uint64_t user_data(uint32_t slot, bool second) { return uint64_t{slot} * 2 + second; }

  uint32_t take_slot() {
    CAIRN_CHECK_MSG(!free_slots_.empty(), "more requests in flight than the queue depth");
    const uint32_t s = free_slots_.back();
    free_slots_.pop_back();
    return s;
  }

  // Returns true when `out` got a completion for the caller.
  bool handle(uint64_t data, int res, IoCompletion* out) {
    const uint32_t slot = static_cast<uint32_t>(data / 2);
    const bool second = (data & 1) != 0;
    CAIRN_CHECK(slot < ops_.size() && ops_[slot].busy);
    Op& op = ops_[slot];
    if (op.op == IoOp::kWriteThenSync && !second) {
      op.write_result = res;  // the linked sync reports for both
      return false;
    }
    int64_t result = res;
    if (op.op == IoOp::kWriteThenSync) {
      const bool write_ok = op.write_result == static_cast<int64_t>(op.len);
      result = !write_ok ? op.write_result : (res < 0 ? res : op.len);
    }
    *out = IoCompletion{op.tag, result};
    op.busy = false;
    free_slots_.push_back(slot);
    return true;
  }

  uint32_t depth_;
  io_uring ring_{};
  bool ring_ready_ = false;
  int event_fd_ = -1;
  uint64_t wake_buf_ = 0;
  std::vector<Op> ops_;
  std::vector<uint32_t> free_slots_;
  std::vector<iovec> registered_;
};

}  // namespace

std::unique_ptr<IoQueue> make_uring_io_queue(uint32_t depth) {
  return UringIoQueue::create(depth);
}

std::unique_ptr<IoQueue> default_io_queue(uint32_t depth) {
  if (auto q = make_uring_io_queue(depth)) return q;
  return sync_io_queue();
}

}  // namespace cairn::log
