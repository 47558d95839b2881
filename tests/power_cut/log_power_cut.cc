// A log power-cut round (see log_power_cut.h).
#include "power_cut/log_power_cut.h"
#include "cairn/schema/record_schema.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "cairn/log/log.h"
#include "support/blob_records.h"
#include "support/sim_disk.h"

namespace cairn::testing {
namespace {

constexpr const char* kLogDir = "/data/log";

// The ways a writer learns that its record is durable.
enum class AckWay : uint8_t { kAppendDurable, kCompletion, kWaitDurable, kPollDurableLsn };
constexpr int kAckWays = 4;

// Every record known to be in the log: acknowledged (by any way, including the listener) or found
// by a recovery. A later recovery must find each again, byte for byte, at the same LSN.
class KnownRecords {
 public:
  void add(log::Lsn lsn, std::span<const std::byte> payload, const char* how) {
    std::lock_guard lock(mu_);
    auto [it, fresh] = records_.try_emplace(lsn, Entry{{payload.begin(), payload.end()}, how});
    if (!fresh && it->second.bytes != std::vector<std::byte>(payload.begin(), payload.end()) &&
        problem_.empty()) {
      problem_ = "LSN " + std::to_string(lsn) + " was acknowledged (" + how +
                 ") with other bytes than before (" + it->second.how + ")";
    }
  }
  std::string problem() const {
    std::lock_guard lock(mu_);
    return problem_;
  }
  uint64_t size() const {
    std::lock_guard lock(mu_);
    return records_.size();
  }

  // What is missing or different in `found` (the log as a recovery left it); empty when nothing.
  // Records below `retained_from` may be gone: retention was told the log need not keep them.
  std::string check(const std::map<log::Lsn, std::vector<std::byte>>& found,
                    log::Lsn retained_from) const {
    std::lock_guard lock(mu_);
    for (const auto& [lsn, e] : records_) {
      auto it = found.find(lsn);
      if (it == found.end() && lsn < retained_from) continue;
      if (it == found.end()) {
        return "the record at LSN " + std::to_string(lsn) + " (" + e.how +
               ") is not in the log after the power cut (" + std::to_string(found.size()) +
               " records there, the last at LSN " +
               (found.empty() ? std::string("-") : std::to_string(found.rbegin()->first)) + ")";
      }
      if (it->second != e.bytes) {
        return "the record at LSN " + std::to_string(lsn) + " (" + e.how +
               ") came back with other bytes";
      }
    }
    return {};
  }

 private:
  struct Entry {
    std::vector<std::byte> bytes;
    std::string how;
  };
  mutable std::mutex mu_;
  std::map<log::Lsn, Entry> records_;
  std::string problem_;
};

// Records every record of every durable batch: the strongest acknowledgement there is.
class ListenerAcks final : public log::DurableListener {
 public:
  explicit ListenerAcks(KnownRecords& known) : known_(known) {}
  void on_durable(const log::DurableBatch& batch) noexcept override {
    for (const log::RecordView& r : batch.records) known_.add(r.lsn, r.payload, "listener");
  }
  void on_log_failed(const Status&) noexcept override {}

 private:
  KnownRecords& known_;
};

// An AppendCompletion per record, kept alive until the log called it (the writer calls every
// completion, with an error if the record never became durable).
class CompletionAck final : public log::AppendCompletion {
 public:
  CompletionAck(KnownRecords& known, std::vector<std::byte> payload)
      : known_(known), payload_(std::move(payload)) {}
  void on_durable(log::Lsn lsn, const Status& status) noexcept override {
    if (status.ok()) known_.add(lsn, payload_, "AppendCompletion");
    done_.store(true, std::memory_order_release);
  }
  bool done() const { return done_.load(std::memory_order_acquire); }

 private:
  KnownRecords& known_;
  std::vector<std::byte> payload_;
  std::atomic<bool> done_{false};
};

size_t record_size(std::mt19937_64& rng) {
  switch (rng() % 8) {
    case 0:
      return 2000 + rng() % 6000;  // a few large ones fill segments and cross batch boundaries
    case 1:
      return 0;
    default:
      return 8 + rng() % 400;
  }
}

// One writer thread: appends until its quota is done or the log fails, learning durability its
// way. Returns nothing; failures of the log are expected (the power is cut).
void write_records(log::Log& log, KnownRecords& known, AckWay way, uint32_t producer,
                   uint32_t quota, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::unique_ptr<CompletionAck>> completions;
  std::vector<std::pair<log::Lsn, std::vector<std::byte>>> polled;
  // One append (and, its way, learning what is durable); false once the log has failed.
  auto one = [&](uint64_t seq) {
    std::vector<std::byte> payload = make_blob(producer, seq, record_size(rng));
    switch (way) {
      case AckWay::kAppendDurable: {
        Result<log::Lsn> lsn = log.append_durable(kBlobType, payload);
        if (!lsn.ok()) return false;
        known.add(*lsn, payload, "append_durable");
        return true;
      }
      case AckWay::kCompletion: {
        auto c = std::make_unique<CompletionAck>(known, payload);
        if (!log.append(kBlobType, payload, c.get()).ok()) return false;
        completions.push_back(std::move(c));
        return true;
      }
      case AckWay::kWaitDurable: {
        Result<log::Lsn> lsn = log.append(kBlobType, payload);
        if (!lsn.ok()) return false;
        polled.emplace_back(*lsn, std::move(payload));
        // Several appends, then one wait that covers all of them.
        if (rng() % 4 == 0 || seq == quota) {
          if (!log.wait_durable(*lsn).ok()) return false;
          for (auto& [l, p] : polled) known.add(l, p, "wait_durable");
          polled.clear();
        }
        return true;
      }
      case AckWay::kPollDurableLsn: {
        Result<log::Lsn> lsn = log.append(kBlobType, payload);
        if (!lsn.ok()) return false;
        polled.emplace_back(*lsn, std::move(payload));
        while (!polled.empty() && log.health().ok()) {
          const log::Lsn durable = log.durable_lsn();
          while (!polled.empty() && polled.front().first < durable) {
            known.add(polled.front().first, polled.front().second, "durable_lsn()");
            polled.erase(polled.begin());
          }
          if (polled.size() < 8) break;  // keep a few in flight
          std::this_thread::yield();
        }
        return true;
      }
    }
    return false;
  };
  for (uint64_t seq = 1; seq <= quota && one(seq);) ++seq;
  // Whatever the log says is durable by now counts too (kWaitDurable's and kPoll's leftovers).
  const log::Lsn durable = log.durable_lsn();
  for (auto& [l, p] : polled) {
    if (l < durable) known.add(l, p, "durable_lsn() at the end");
  }
  // Every completion is called, durable or not, before it may go away.
  for (auto& c : completions) {
    while (!c->done()) std::this_thread::yield();
  }
}

log::LogOptions options_for(const LogCutConfig& c, const std::shared_ptr<SimDisk>& disk) {
  log::LogOptions o;
  o.segment_bytes = 1u << 20;
  o.batch_bytes_max = 64u << 10;
  o.record_bytes_max = 16u << 10;
  o.writes_in_flight_max = c.writes_in_flight;
  o.staging_bytes = 1u << 20;
  o.io_mode = c.direct_io ? log::IoMode::kDirect : log::IoMode::kBuffered;
  o.file_system = disk->file_system();
  o.io_queue_factory = disk->io_queue_factory();
  return o;
}

// Reads the whole log; "" or what is wrong with it (an error, a gap, a malformed record).
std::string read_all(log::Log& log, std::map<log::Lsn, std::vector<std::byte>>* out) {
  auto reader = log.read_from(0);
  if (!reader.ok()) return "opening a reader: " + reader.status().to_string();
  log::Lsn expected = log.recovery_report().first_lsn;
  for (;;) {
    auto rec = (*reader)->next();
    if (!rec.ok()) return "reading the recovered log: " + rec.status().to_string();
    if (*rec == nullptr) break;
    const log::ReadRecord& r = **rec;
    if (r.lsn != expected) {
      return "LSN " + std::to_string(r.lsn) + " where " + std::to_string(expected) +
             " was expected";
    }
    if (r.type != kBlobType || !read_blob(r.payload).data_ok) {
      return "a record at LSN " + std::to_string(r.lsn) + " that no writer wrote";
    }
    out->emplace(r.lsn, std::vector<std::byte>(r.payload.begin(), r.payload.end()));
    expected += 24 + (r.payload.size() + 7) / 8 * 8;
  }
  if (expected != log.recovery_report().end_lsn) {
    return "the log reads to LSN " + std::to_string(expected) + " but recovery says it ends at " +
           std::to_string(log.recovery_report().end_lsn);
  }
  return {};
}

}  // namespace

LogCutResult run_log_cut_round(const LogCutConfig& config) {
  LogCutResult result;
  std::mt19937_64 rng(config.seed);
  SimDiskOptions disk_options;
  disk_options.seed = rng();
  std::shared_ptr<SimDisk> disk = SimDisk::create(disk_options);
  KnownRecords known;
  log::Lsn retained_from = 0;  // what retention may have taken out of the log (all below)
  auto fail = [&](const std::string& what, uint32_t incarnation) {
    result.failure = "incarnation " + std::to_string(incarnation) + ": " + what;
    return result;
  };
  for (uint32_t inc = 0; inc <= config.incarnations; ++inc) {
    const bool last = inc == config.incarnations;
    // One cut in five falls while the log opens: recovering the previous cut, creating segments.
    const bool cut_in_open = !last && inc > 0 && rng() % 5 == 0;
    if (cut_in_open) disk->cut_after(1 + rng() % 12);
    ListenerAcks listener(known);
    auto opened =
        log::Log::open(kLogDir, options_for(config, disk),
                       {.listener = &listener, .payload_verifier = &schema::verify_payload});
    if (!opened.ok()) {
      if (!disk->is_cut()) return fail("Log::open failed: " + opened.status().to_string(), inc);
      ++result.cuts_during_open;
    } else {
      log::Log& log = **opened;
      if (!log.recovery_report().damage.empty()) ++result.torn_tails_cut;
      std::map<log::Lsn, std::vector<std::byte>> found;
      if (!disk->is_cut()) {
        if (std::string bad = read_all(log, &found); !bad.empty()) return fail(bad, inc);
        if (std::string missing = known.check(found, retained_from); !missing.empty()) {
          return fail(missing, inc);
        }
        // What this recovery found is in the log for good now: every later one must find it.
        for (const auto& [lsn, bytes] : found) known.add(lsn, bytes, "recovered");
        result.recovered = found.size();
        result.segments = log.recovery_report().segments;
      }
      if (last) break;
      if (!disk->is_cut()) {
        // Most cuts fall at any operation; one in three right after a write completed while
        // another is still in flight, where acknowledging too much would show.
        if (rng() % 3 == 0) {
          disk->cut_in_flight_window(rng() % config.cut_ops_max);
          ++result.in_flight_window_cuts_planned;
        } else {
          disk->cut_after(1 + rng() % config.cut_ops_max);
        }
        std::vector<std::thread> writers;
        for (uint32_t w = 0; w < config.writers; ++w) {
          const auto way = static_cast<AckWay>(w % kAckWays);
          const uint32_t producer = inc * 100 + w + 1;
          const uint32_t quota = 1 + static_cast<uint32_t>(rng() % config.records_per_writer_max);
          const uint64_t seed = rng();
          writers.emplace_back([&log, &known, way, producer, quota, seed] {
            write_records(log, known, way, producer, quota, seed);
          });
        }
        // Retention runs beside the writers: old segments are recycled into spares while
        // records are written, and cuts fall in the renames and the reuse too.
        std::atomic<bool> writing{true};
        std::thread retainer;
        if (config.retention) {
          retainer = std::thread([&log, &writing, &retained_from] {
            while (writing.load()) {
              const log::Lsn durable = log.durable_lsn();
              if (durable > (2u << 20)) {
                const log::Lsn keep = durable - (1u << 20);
                retained_from = std::max<log::Lsn>(retained_from, keep);
                if (!log.remove_segments_before(
                            keep, std::chrono::system_clock::now() + std::chrono::hours(1))
                         .ok()) {
                  return;  // the power is out
                }
              }
              std::this_thread::sleep_for(std::chrono::microseconds(500));
            }
          });
        }
        for (std::thread& t : writers) t.join();
        writing.store(false);
        if (retainer.joinable()) retainer.join();
      }
      disk->cut_now();  // if the workload ended first, the power fails after it
      (void)log.close();
    }
    if (std::string p = known.problem(); !p.empty()) return fail(p, inc);
    CutReport report;
    disk = disk->reboot(rng(), &report);
    result.sectors_torn += report.sectors_new + report.in_flight_sectors_landed;
    result.writes_in_flight_at_cut += report.writes_in_flight;
  }
  result.acknowledged = known.size();
  return result;
}

}  // namespace cairn::testing
