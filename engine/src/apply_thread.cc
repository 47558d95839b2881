// ApplyThread (see apply_thread.h).
#include "apply_thread.h"

#include <cstring>
#include <string>

namespace cairn::detail {
namespace {

inline void pause() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// Pauses before a thread sleeps on a word: long enough to catch the next batch of a busy log,
// short enough not to take a core from the writer or the workers.
constexpr int kSpins = 64;

}  // namespace

ApplyThread::~ApplyThread() {
  stop();
}

void ApplyThread::start() {
  thread_ = std::thread([this] { run(); });
}

void ApplyThread::stop() {
  if (!thread_.joinable()) return;
  stop_requested_.store(true, std::memory_order_seq_cst);
  signal_.fetch_add(1, std::memory_order_seq_cst);
  signal_.notify_one();
  thread_.join();
}

ApplyThread::Slot& ApplyThread::acquire_slot() {
  const uint32_t p = published_.load(std::memory_order_relaxed);  // only this thread writes it
  for (int spin = 0;; ++spin) {
    const uint32_t c = consumed_.load(std::memory_order_acquire);
    if (p - c < kSlots) return slots_[p % kSlots];
    if (spin < kSpins) {
      pause();
      continue;
    }
    writer_waiting_.store(true, std::memory_order_seq_cst);
    if (consumed_.load(std::memory_order_seq_cst) == c) consumed_.wait(c, std::memory_order_seq_cst);
    writer_waiting_.store(false, std::memory_order_relaxed);
  }
}

void ApplyThread::publish() {
  published_.fetch_add(1, std::memory_order_seq_cst);
  if (apply_sleeping_.load(std::memory_order_seq_cst)) {
    signal_.fetch_add(1, std::memory_order_seq_cst);
    signal_.notify_one();
  }
}

void ApplyThread::on_durable(const log::DurableBatch& batch) noexcept {
  Slot& s = acquire_slot();
  s.failure = false;
  s.begin = batch.begin;
  s.end = batch.end;
  s.views.clear();
  // The payloads lie in the writer's batch buffer in LSN order, frame headers between them: one
  // copy of that range, and views at the same offsets into the copy.
  const std::byte* base = nullptr;
  const std::byte* end = nullptr;
  for (const log::RecordView& r : batch.records) {
    if (r.payload.empty()) continue;
    if (base == nullptr) base = r.payload.data();
    end = r.payload.data() + r.payload.size();
  }
  const size_t n = static_cast<size_t>(end - base);
  if (s.bytes.size() < n) s.bytes.resize(n);  // grows to the largest batch, then is reused
  if (n > 0) std::memcpy(s.bytes.data(), base, n);
  for (const log::RecordView& r : batch.records) {
    std::span<const std::byte> payload;
    if (!r.payload.empty()) {
      CAIRN_CHECK(r.payload.data() >= base && r.payload.data() + r.payload.size() <= end);
      payload = {s.bytes.data() + (r.payload.data() - base), r.payload.size()};
    }
    s.views.push_back(log::RecordView{r.lsn, r.type, payload});
  }
  publish();
}

void ApplyThread::on_log_failed(const Status& status) noexcept {
  Slot& s = acquire_slot();
  s.failure = true;
  s.status = status;
  s.views.clear();
  publish();
}

void ApplyThread::run() {
  uint32_t c = consumed_.load(std::memory_order_relaxed);  // only this thread writes it
  int spin = 0;
  for (;;) {
    if (published_.load(std::memory_order_acquire) == c) {
      if (stop_requested_.load(std::memory_order_acquire)) {
        // stop() comes after the log closed: nothing more will be published.
        if (published_.load(std::memory_order_acquire) == c) break;
        continue;
      }
      if (spin++ < kSpins) {
        pause();
        continue;
      }
      apply_sleeping_.store(true, std::memory_order_seq_cst);
      const uint32_t sig = signal_.load(std::memory_order_seq_cst);
      if (published_.load(std::memory_order_seq_cst) == c &&
          !stop_requested_.load(std::memory_order_seq_cst)) {
        signal_.wait(sig, std::memory_order_seq_cst);
      }
      apply_sleeping_.store(false, std::memory_order_relaxed);
      spin = 0;
      continue;
    }
    spin = 0;
    Slot& s = slots_[c % kSlots];
    if (s.failure) {
      target_.on_log_failed(s.status);
      failure_ = s.status;
      failed_.store(true, std::memory_order_seq_cst);
    } else {
      target_.on_durable(log::DurableBatch{s.begin, s.end, s.views});
      applied_lsn_.store(s.end, std::memory_order_seq_cst);
    }
    consumed_.store(++c, std::memory_order_seq_cst);
    if (writer_waiting_.load(std::memory_order_seq_cst)) consumed_.notify_one();
    applied_seq_.fetch_add(1, std::memory_order_seq_cst);
    if (applied_waiters_.load(std::memory_order_seq_cst) > 0) applied_seq_.notify_all();
  }
  exited_.store(true, std::memory_order_seq_cst);
  applied_seq_.fetch_add(1, std::memory_order_seq_cst);
  applied_seq_.notify_all();
}

Status ApplyThread::wait_applied(log::Lsn lsn) {
  for (int spin = 0;; ++spin) {
    if (applied_lsn_.load(std::memory_order_acquire) > lsn) return Status();
    if (failed_.load(std::memory_order_acquire)) return failure_;
    if (exited_.load(std::memory_order_acquire)) {
      return Status(StatusCode::kClosed,
                    "the engine stopped before LSN " + std::to_string(lsn) + " was applied");
    }
    if (spin < 32) {
      pause();
      continue;
    }
    const uint32_t seq = applied_seq_.load(std::memory_order_seq_cst);
    applied_waiters_.fetch_add(1, std::memory_order_seq_cst);
    if (applied_lsn_.load(std::memory_order_seq_cst) <= lsn &&
        !failed_.load(std::memory_order_seq_cst) && !exited_.load(std::memory_order_seq_cst)) {
      applied_seq_.wait(seq, std::memory_order_seq_cst);
    }
    applied_waiters_.fetch_sub(1, std::memory_order_relaxed);
  }
}

}  // namespace cairn::detail
