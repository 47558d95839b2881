// log_crash_child: the process the crash test kills. It opens the log in the directory it is
// given and appends Blob records from several threads until it is killed, reporting each record
// to its parent over a pipe only once the log has acknowledged it; it also reports when it begins
// to open the log and when the log is open, so the parent can kill it during its startup. Any
// error from the log is a test failure: the child prints it and exits (the parent expects to find
// it killed, not exited).
#include <sys/prctl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "cairn/log/log.h"
#include "crash/crash_protocol.h"
#include "support/blob_records.h"

namespace cairn::testing {
namespace {

[[noreturn]] void die(const char* what, const Status& status) {
  std::fprintf(stderr, "log_crash_child: %s: %s\n", what, status.to_string().c_str());
  std::fflush(stderr);
  _exit(3);
}

// Reports from one producing thread to the reporter thread: single producer, single consumer, no
// lock, so that acknowledging never blocks the log's writer thread on a mutex.
class ReportQueue {
 public:
  void push(const AckReport& r) {
    const uint64_t tail = tail_.load(std::memory_order_relaxed);
    while (tail - head_.load(std::memory_order_acquire) >= kCapacity) std::this_thread::yield();
    slots_[tail & (kCapacity - 1)] = r;
    tail_.store(tail + 1, std::memory_order_release);
  }

  size_t pop(AckReport* out, size_t max) {
    const uint64_t head = head_.load(std::memory_order_relaxed);
    const uint64_t available = tail_.load(std::memory_order_acquire) - head;
    const size_t n = static_cast<size_t>(std::min<uint64_t>(available, max));
    for (size_t i = 0; i < n; ++i) out[i] = slots_[(head + i) & (kCapacity - 1)];
    head_.store(head + n, std::memory_order_release);
    return n;
  }

 private:
  static constexpr uint64_t kCapacity = 1u << 16;
  std::unique_ptr<AckReport[]> slots_ = std::make_unique<AckReport[]>(kCapacity);
  alignas(64) std::atomic<uint64_t> head_{0};
  alignas(64) std::atomic<uint64_t> tail_{0};
};

// A pipe write of at most PIPE_BUF bytes is atomic, so a kill never leaves half a report in the
// pipe.
void write_reports(int fd, const AckReport* reports, size_t n) {
  const char* p = reinterpret_cast<const char*>(reports);
  size_t left = n * sizeof(AckReport);
  while (left > 0) {
    const ssize_t w = ::write(fd, p, left);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) _exit(4);  // the parent is gone
    p += w;
    left -= static_cast<size_t>(w);
  }
}

// Startup marks go straight to the pipe: no reporter thread runs yet, so nothing interleaves.
void send_mark(int fd, ReportKind mark) {
  const AckReport report{.kind = mark};
  write_reports(fd, &report, 1);
}

// Moves reports from every queue to the pipe.
[[noreturn]] void report_loop(int fd, std::vector<std::unique_ptr<ReportQueue>>& queues) {
  constexpr size_t kPerWrite = 4096 / sizeof(AckReport);
  AckReport buf[kPerWrite];
  for (;;) {
    bool any = false;
    for (auto& q : queues) {
      for (size_t n; (n = q->pop(buf, kPerWrite)) > 0;) {
        any = true;
        write_reports(fd, buf, n);
      }
    }
    if (!any) std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
}

// Record sizes: mostly 50..3000 bytes with a few of 4..64 KiB, or (large_records) half of them
// 4..32 KiB.
class SizeSource {
 public:
  SizeSource(uint64_t seed, bool large) : rng_(seed), large_(large) {}
  size_t next() {
    const uint64_t r = rng_() % 1000;
    if (large_) return r >= 500 ? 4096 + rng_() % (28u << 10) : 50 + rng_() % 2951;
    return r >= 970 ? 4096 + rng_() % (60u << 10) : 50 + rng_() % 2951;
  }

 private:
  std::mt19937_64 rng_;
  bool large_;
};

class PendingAppend final : public log::AppendCompletion {
 public:
  void on_durable(log::Lsn lsn, const Status& status) noexcept override {
    if (!status.ok()) die("append completion", status);
    queue->push(AckReport{lsn, seq, producer, ReportKind::kAck});
    busy.store(false, std::memory_order_release);
    busy.notify_one();
  }

  ReportQueue* queue = nullptr;
  uint32_t producer = 0;
  uint64_t seq = 0;
  std::atomic<bool> busy{false};
};

// Keeps `window` appends in flight; each slot is reused once its record was acknowledged.
[[noreturn]] void async_producer(log::Log& log, ReportQueue& queue, uint32_t producer,
                                 SizeSource sizes, uint32_t window) {
  auto slots = std::make_unique<PendingAppend[]>(window);
  for (uint32_t i = 0; i < window; ++i) {
    slots[i].queue = &queue;
    slots[i].producer = producer;
  }
  for (uint64_t seq = 0;; ++seq) {
    PendingAppend& slot = slots[seq % window];
    slot.busy.wait(true, std::memory_order_acquire);
    slot.seq = seq;
    slot.busy.store(true, std::memory_order_relaxed);
    const auto payload = make_blob(producer, seq, sizes.next());
    Result<log::Lsn> lsn = log.append(kBlobType, payload, &slot);
    if (!lsn.ok()) die("append", lsn.status());
  }
}

[[noreturn]] void durable_producer(log::Log& log, ReportQueue& queue, uint32_t producer,
                                   SizeSource sizes) {
  for (uint64_t seq = 0;; ++seq) {
    const auto payload = make_blob(producer, seq, sizes.next());
    Result<log::Lsn> lsn = log.append_durable(kBlobType, payload);
    if (!lsn.ok()) die("append_durable", lsn.status());
    queue.push(AckReport{*lsn, seq, producer, ReportKind::kAck});
  }
}

int run(const ChildConfig& cfg) {
  // Never outlive the test: die with the parent, and on our own after ten minutes. (The parent
  // kills after a number of acknowledgements, not a time: on a slow machine, under a sanitizer,
  // a round with many of them can take minutes.)
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  ::alarm(600);
  send_mark(cfg.report_fd, ReportKind::kOpening);
  Result<std::unique_ptr<log::Log>> log = log::Log::open(cfg.dir, cfg.log_options());
  if (!log.ok()) die("Log::open", log.status());
  send_mark(cfg.report_fd, ReportKind::kOpened);
  log::Log& l = **log;

  const uint32_t threads = cfg.async_threads + cfg.durable_threads;
  std::vector<std::unique_ptr<ReportQueue>> queues;
  for (uint32_t t = 0; t < threads; ++t) queues.push_back(std::make_unique<ReportQueue>());
  std::vector<std::thread> workers;
  workers.emplace_back([&] { report_loop(cfg.report_fd, queues); });
  for (uint32_t t = 0; t < threads; ++t) {
    const uint32_t producer = cfg.producer_base + t;
    SizeSource sizes(cfg.seed * 1000003 + t, cfg.large_records);
    if (t < cfg.async_threads) {
      workers.emplace_back(
          [&, t, producer, sizes] { async_producer(l, *queues[t], producer, sizes, cfg.window); });
    } else {
      workers.emplace_back(
          [&, t, producer, sizes] { durable_producer(l, *queues[t], producer, sizes); });
    }
  }
  for (auto& w : workers) w.join();  // never: the threads run until the kill
  return 0;
}

}  // namespace
}  // namespace cairn::testing

int main(int argc, char** argv) {
  std::string error;
  auto cfg = cairn::testing::ChildConfig::parse(argc, argv, &error);
  if (!cfg) {
    std::fprintf(stderr, "log_crash_child: %s\n", error.c_str());
    return 2;
  }
  return cairn::testing::run(*cfg);
}
