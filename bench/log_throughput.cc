// The log run (see log_throughput.h). Each producer owns a ring of W preallocated completion slots
// that hold the append timestamps. The writer thread acknowledges a record by calling the slot's
// on_durable, which records the latency and bumps the producer's `completed` counter; the
// producer computes its in-flight count from its own append count and that counter, so the only
// shared write per record is the writer's, and a producer only reads it when its window is full.
//
// Reading the clock costs ~65 ns on this VM, as much as the log's own work per record, so the
// harness reads it sparingly: the durable time is read once per batch (BatchClock, a
// DurableListener the writer calls before the batch's completions), and with deep windows only
// every kSampleStrideDeep-th append of a producer is timestamped (latency is sampled).
#include "log_throughput.h"

#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench_clock.h"
#include "blob_encoder.h"
#include "frame_format.h"
#include "futex.h"
#include "watchdog.h"

namespace cairn::bench {
namespace {

// Phases of the run, set by the main thread, read by producers and the writer thread.
struct RunControl {
  std::atomic<bool> stop{false};       // producers append no more and drain their window
  std::atomic<bool> recording{false};  // the measured window: latencies are recorded
  std::atomic<bool> abort{false};      // give up waiting (a hang is being reported)
};

// Appends timestamped per producer: all of them with shallow windows (few records, each one
// matters for the percentiles), every 16th with deep ones (millions per second).
constexpr uint32_t kSampleStrideDeep = 16;
constexpr uint32_t kDeepWindow = 64;

// The time each batch became durable, read once per batch on the writer thread.
class BatchClock final : public log::DurableListener {
 public:
  void on_durable(const log::DurableBatch& batch) noexcept override {
    begin_ = batch.begin;
    end_ = batch.end;
    durable_ns_ = now_ns();
  }
  void on_log_failed(const Status&) noexcept override {}

  // When the record at `lsn` became durable. Writer thread only. Reads the clock itself should
  // the log ever call a completion outside the batch it last announced.
  int64_t durable_ns(log::Lsn lsn) const {
    return lsn >= begin_ && lsn < end_ ? durable_ns_ : now_ns();
  }

 private:
  log::Lsn begin_ = 0;
  log::Lsn end_ = 0;
  int64_t durable_ns_ = 0;
};

class Producer;

// One append in flight: the producer's completion object, reused every W appends.
struct InflightSlot final : log::AppendCompletion {
  Producer* owner = nullptr;
  int64_t appended_ns = 0;  // 0: not sampled
  void on_durable(log::Lsn lsn, const Status& status) noexcept override;
};

class Producer {
 public:
  Producer(uint32_t id, uint32_t window, uint32_t data_bytes, const RunControl& control,
           const BatchClock& clock)
      : id_(id),
        window_(window),
        sample_stride_(window >= kDeepWindow ? kSampleStrideDeep : 1),
        data_bytes_(data_bytes),
        control_(control),
        clock_(clock),
        slots_(std::make_unique<InflightSlot[]>(window)) {
    for (uint32_t i = 0; i < window; ++i) slots_[i].owner = this;
  }

  // The producer thread: append until told to stop, then wait for every append to be durable.
  void run(log::Log& log) {
    if (window_ == 1) {
      run_synchronous(log);
      return;
    }
    BlobEncoder encoder(id_, data_bytes_);
    uint64_t appended = 0;
    while (!control_.stop.load(std::memory_order_relaxed)) {
      if (!wait_until_in_flight_at_most(appended, window_ - 1)) return;
      InflightSlot& slot = slots_[appended % window_];
      const std::span<const std::byte> payload = encoder.encode(appended);
      slot.appended_ns = appended % sample_stride_ == 0 ? now_ns() : 0;
      ++appended;  // before append(): the acknowledgement may come before append() returns
      appended_.store(appended, std::memory_order_relaxed);
      Result<log::Lsn> lsn = log.append(kBlobRecordType, payload, &slot);
      if (!lsn.ok()) {
        --appended;
        appended_.store(appended, std::memory_order_relaxed);
        append_error_ = lsn.status();
        break;
      }
    }
    (void)wait_until_in_flight_at_most(appended, 0);
  }

  // A synchronous writer (--inflight 1) as an application writes one: append_durable, which
  // returns once the record is durable. Its latency is what the caller sees, wake-up included.
  void run_synchronous(log::Log& log) {
    BlobEncoder encoder(id_, data_bytes_);
    uint64_t appended = 0;
    while (!control_.stop.load(std::memory_order_relaxed)) {
      const std::span<const std::byte> payload = encoder.encode(appended);
      const int64_t start_ns = now_ns();
      appended_.store(++appended, std::memory_order_relaxed);
      Result<log::Lsn> lsn = log.append_durable(kBlobRecordType, payload);
      if (!lsn.ok()) {
        appended_.store(--appended, std::memory_order_relaxed);
        append_error_ = lsn.status();
        break;
      }
      if (control_.recording.load(std::memory_order_relaxed)) latency_.record(now_ns() - start_ns);
      completed_.store(completed_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    }
  }

  // The writer thread, once per acknowledged record of this producer, in append order.
  void on_durable(const InflightSlot& slot, log::Lsn lsn, const Status& status) noexcept {
    if (slot.appended_ns != 0 && status.ok() &&
        control_.recording.load(std::memory_order_relaxed)) {
      latency_.record(clock_.durable_ns(lsn) - slot.appended_ns);
    }
    if (!status.ok() && failed_acks_++ == 0) first_failed_ack_ = status;
    // The slot is free once `completed_` moves past it: read it before this store.
    completed_.store(completed_.load(std::memory_order_relaxed) + 1, std::memory_order_seq_cst);
    if (waiting_.load(std::memory_order_seq_cst) && waiting_.exchange(false)) {
      log::futex_wake_all(&completed_);
    }
  }

  uint32_t completed() const { return completed_.load(std::memory_order_acquire); }
  uint64_t appended() const { return appended_.load(std::memory_order_relaxed); }
  // Valid once the producer thread joined and the log closed.
  const detail::LatencyHistogram& latency() const { return latency_; }
  const Status& append_error() const { return append_error_; }
  uint64_t failed_acks() const { return failed_acks_; }
  const Status& first_failed_ack() const { return first_failed_ack_; }

 private:
  // Spins briefly, then sleeps on `completed_` until at most `limit` appends are in flight.
  // `completed_` counts modulo 2^32, which is fine while the window is below 2^31.
  bool wait_until_in_flight_at_most(uint64_t appended, uint32_t limit) {
    // Briefly: a durable write takes >= 100 us, and PAUSE costs 75-95 ns on this CPU, so longer
    // spinning only takes CPU from the writer thread (64 producers share 2 cores).
    constexpr int kSpins = 16;
    const auto appended32 = static_cast<uint32_t>(appended);
    for (int spin = 0;; ++spin) {
      uint32_t done = completed_.load(std::memory_order_acquire);
      if (appended32 - done <= limit) return true;
      if (control_.abort.load(std::memory_order_relaxed)) return false;
      if (spin < kSpins) {
        log::cpu_relax();
        continue;
      }
      // Dekker with on_durable: either it sees waiting_ and wakes us, or we see its new count.
      waiting_.store(true, std::memory_order_seq_cst);
      done = completed_.load(std::memory_order_seq_cst);
      if (appended32 - done > limit) log::futex_wait_for(&completed_, done, 50'000'000);
      waiting_.store(false, std::memory_order_relaxed);
    }
  }

  const uint32_t id_;
  const uint32_t window_;
  const uint32_t sample_stride_;
  const uint32_t data_bytes_;
  const RunControl& control_;
  const BatchClock& clock_;
  std::unique_ptr<InflightSlot[]> slots_;
  Status append_error_;
  alignas(64) std::atomic<uint64_t> appended_{0};  // for totals and hang reports only
  // Written by the writer thread only (by the producer itself when it is synchronous).
  alignas(64) std::atomic<uint32_t> completed_{0};
  std::atomic<bool> waiting_{false};
  uint64_t failed_acks_ = 0;
  Status first_failed_ack_;
  detail::LatencyHistogram latency_;
};

void InflightSlot::on_durable(log::Lsn lsn, const Status& status) noexcept {
  owner->on_durable(*this, lsn, status);
}

uint64_t completed_sum(const std::vector<std::unique_ptr<Producer>>& producers,
                       std::vector<uint32_t>* snapshot) {
  uint64_t sum = 0;
  snapshot->resize(producers.size());
  for (size_t i = 0; i < producers.size(); ++i) (*snapshot)[i] = producers[i]->completed();
  for (uint32_t c : *snapshot) sum += c;
  return sum;
}

// Records acknowledged between two snapshots (per-producer counters wrap at 2^32).
uint64_t completed_between(const std::vector<uint32_t>& before,
                           const std::vector<uint32_t>& after) {
  uint64_t n = 0;
  for (size_t i = 0; i < before.size(); ++i) n += static_cast<uint32_t>(after[i] - before[i]);
  return n;
}

void report_stuck(const std::vector<std::unique_ptr<Producer>>& producers, const log::Log& log) {
  for (size_t i = 0; i < producers.size(); ++i) {
    const uint64_t appended = producers[i]->appended();
    const uint32_t completed = producers[i]->completed();
    const uint32_t in_flight = static_cast<uint32_t>(appended) - completed;
    if (in_flight != 0) {
      std::fprintf(stderr, "  producer %zu: %llu appended, %u not acknowledged\n", i,
                   static_cast<unsigned long long>(appended), in_flight);
    }
  }
  const log::LogStats s = log.stats();
  std::fprintf(stderr,
               "  log: durable_lsn %llu, %llu records durable in %llu batches, health: %s\n",
               static_cast<unsigned long long>(log.durable_lsn()),
               static_cast<unsigned long long>(s.records_durable),
               static_cast<unsigned long long>(s.batches), log.health().to_string().c_str());
}

// Fills the log until `config.recycled_segments` full-size segments are sealed, then lets
// retention take every sealed segment: they become the spares the measured run writes into.
Status warm_recycled_segments(log::Log& log, const LogRunConfig& config, LogRunResult* result) {
  const uint64_t target = config.options.segment_bytes;
  const std::vector<std::byte> blob(std::min<uint64_t>(config.options.record_bytes_max, 60u << 10),
                                    std::byte{0x5a});
  std::fprintf(stderr, "cairn-bench log: warming up %u recycled segments of %llu MiB\n",
               config.recycled_segments, static_cast<unsigned long long>(target >> 20));
  // A new log's segments grow to segment_bytes: all of those, then the full-size ones.
  uint64_t bytes = 0;
  for (uint64_t s = config.options.segment_bytes_initial; s < target; s *= 2) bytes += s;
  bytes += (uint64_t{config.recycled_segments} + 1) * target;
  log::Lsn last = 0;
  for (uint64_t written = 0; written < bytes; written += blob.size()) {
    CAIRN_ASSIGN_OR_RETURN(last, log.append(100, blob));  // a Blob, as the producers write
  }
  CAIRN_RETURN_IF_ERROR(log.wait_durable(last));
  CAIRN_ASSIGN_OR_RETURN(
      log::SegmentsRemoved removed,
      log.remove_segments_before(log.durable_lsn(),
                                 std::chrono::system_clock::now() + std::chrono::hours(1)));
  result->spares_recycled_before =
      std::min<uint64_t>(removed.segments, config.options.recycled_segments_max);
  std::fprintf(stderr, "  %u segments left the log and became spares\n", removed.segments);
  return Status();
}

}  // namespace

Result<LogRunResult> run_log_throughput(const LogRunConfig& config) {
  CAIRN_CHECK(config.producers >= 1 && config.inflight >= 1 && config.inflight < (1u << 31));
  LogRunResult result;
  {
    BlobEncoder probe(0, config.data_bytes);
    result.payload_bytes = static_cast<uint32_t>(probe.encode(0).size());
  }
  result.record_frame_bytes = log::format::frame_size(result.payload_bytes);

  BatchClock clock;
  Result<std::unique_ptr<log::Log>> opened =
      log::Log::open(config.dir, config.options, {.listener = &clock});
  if (!opened.ok()) return opened.status();
  std::unique_ptr<log::Log> log = std::move(*opened);
  if (config.recycled_segments > 0) {
    CAIRN_RETURN_IF_ERROR(warm_recycled_segments(*log, config, &result));
  }

  RunControl control;
  std::vector<std::unique_ptr<Producer>> producers;
  for (uint32_t i = 0; i < config.producers; ++i) {
    producers.push_back(
        std::make_unique<Producer>(i, config.inflight, config.data_bytes, control, clock));
  }
  std::vector<std::thread> threads;
  for (auto& p : producers) threads.emplace_back([&p, &log] { p->run(*log); });
  // With recycled segments, retention runs beside the producers as an engine's does after each
  // snapshot: every sealed segment leaves the log and becomes a spare, so the run keeps writing
  // into recycled segments instead of running out of them after the first few.
  std::thread retention;
  if (config.recycled_segments > 0) {
    retention = std::thread([&] {
      while (!control.stop.load(std::memory_order_relaxed)) {
        (void)log->remove_segments_before(log->durable_lsn(),
                                          std::chrono::system_clock::now() + std::chrono::hours(1));
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    });
  }

  std::fprintf(stderr, "cairn-bench log: warm-up %.1f s\n", config.warmup_seconds);
  sleep_seconds(config.warmup_seconds);
  std::vector<uint32_t> before, after;
  (void)completed_sum(producers, &before);
  const log::LogStats stats_before = log->stats();
  const CpuSnapshot cpu_before = cpu_snapshot();
  const int64_t start_ns = now_ns();
  control.recording.store(true, std::memory_order_relaxed);
  std::fprintf(stderr, "cairn-bench log: measuring %.1f s\n", config.seconds);
  sleep_seconds(config.seconds);
  control.recording.store(false, std::memory_order_relaxed);
  const int64_t end_ns = now_ns();
  (void)completed_sum(producers, &after);
  const log::LogStats stats_after = log->stats();
  const CpuSnapshot cpu_after = cpu_snapshot();
  control.stop.store(true, std::memory_order_relaxed);

  Status closed;
  {
    Watchdog watchdog("draining the producers' appends and closing the log",
                      std::chrono::seconds(60), [&] {
                        control.abort.store(true);
                        report_stuck(producers, *log);
                      });
    for (std::thread& t : threads) t.join();
    if (retention.joinable()) retention.join();
    closed = log->close();
  }

  result.records = completed_between(before, after);
  result.seconds = seconds_between(start_ns, end_ns);
  result.cpu = cpu_use_between(cpu_before, cpu_after, result.seconds);
  result.batches = stats_after.batches - stats_before.batches;
  result.batch_records = stats_after.records_durable - stats_before.records_durable;
  result.bytes_written = stats_after.bytes_written - stats_before.bytes_written;
  result.frame_bytes = stats_after.bytes_durable - stats_before.bytes_durable;
  result.segments_created = stats_after.segments_created - stats_before.segments_created;
  result.segments_recycled = stats_after.segments_recycled - stats_before.segments_recycled;
  result.write_ns = stats_after.write_ns - stats_before.write_ns;
  result.disk_idle_ns = stats_after.disk_idle_ns - stats_before.disk_idle_ns;
  result.io_queue = stats_after.io_queue;
  result.direct_io = stats_after.direct_io;

  uint64_t acked = 0;
  for (const auto& p : producers) {
    if (!p->append_error().ok()) return p->append_error().with_context("append");
    if (p->failed_acks() > 0) {
      return Status(StatusCode::kFailed,
                    std::to_string(p->failed_acks()) +
                        " appends were not made durable: " + p->first_failed_ack().to_string());
    }
    result.records_appended += p->appended();
    acked += p->completed();
    result.latency.merge(p->latency());
  }
  if (!closed.ok()) return closed.with_context("closing the log");
  // Every append was acknowledged (the drain waited for it); a mismatch here is a counting bug.
  CAIRN_CHECK(static_cast<uint32_t>(acked) == static_cast<uint32_t>(result.records_appended));
  return result;
}

}  // namespace cairn::bench
