// An engine power-cut round (see engine_power_cut.h).
#include "power_cut/engine_power_cut.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <random>
#include <utility>
#include <vector>

#include "cairn/log/verify.h"
#include "engine_crash/crash_checks.h"
#include "engine_crash/crash_options.h"
#include "engine_crash/fast_clock.h"
#include "engine_crash/journal.h"
#include "engine_crash/log_facts.h"
#include "engine_crash/timed_workload.h"
#include "engine_crash/workload_driver.h"
#include "engine_internal.h"
#include "support/sim_disk.h"
#include "support/temp_dir.h"

namespace cairn::testing {
namespace {

using engine_crash::DriverConfig;
using engine_crash::DriverResult;
using engine_crash::FastClock;
using engine_crash::kClockSpeed;
using engine_crash::kCronCatchUpMax;
using engine_crash::kTickMs;
using Outcome = DriverResult::Outcome;

constexpr const char* kDataDir = "/data";

// The round's engine clock: a FastClock from the round's start, moved forward by every pause (the
// time the power stayed off). Each incarnation gets the clock as it is then; between two
// incarnations no engine runs, so moving it on is a restart after that long, and within one it
// never jumps.
class RoundClock {
 public:
  RoundClock() : epoch_ns_(engine_crash::steady_now_ns()) {}
  std::shared_ptr<FastClock> current() const {
    return std::make_shared<FastClock>(epoch_ns_ - paused_ns_, kClockSpeed);
  }
  int64_t now_ms() const { return current()->now_ms(); }
  void pause(double ticks) {
    paused_ns_ += static_cast<int64_t>(ticks * kTickMs * 1e6 / kClockSpeed);
  }

 private:
  const int64_t epoch_ns_;
  int64_t paused_ns_ = 0;
};

// The pause after a cut, in cron ticks: none one time in three; a short one (0.05..1.55 ticks: a
// tick falls in it or not, and the timeouts, debounce periods and batch timeouts, all far shorter
// than a tick, expire in it); or a long one, more than kCronCatchUpMax + 1 ticks, so the next
// start() must skip some.
double draw_pause_ticks(std::mt19937_64& rng) {
  const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;
  switch (rng() % 3) {
    case 0:
      return 0;
    case 1:
      return 0.05 + 1.5 * u;
    default:
      return kCronCatchUpMax + 1.2 + u;
  }
}

// Operations into an incarnation at which its power fails: half the time in its first
// cut_ops_max (the start()'s recovery, log creation and catch-up, the first sends), else
// log-uniformly up to late_cut_ops_max, deep into the workload: the timed and keyed events go
// out only once ten jobs have, and a whole round is a few thousand operations.
uint64_t draw_cut_ops(std::mt19937_64& rng, const EngineCutConfig& c) {
  if (rng() % 2 == 0 || c.late_cut_ops_max <= c.cut_ops_max) return 1 + rng() % c.cut_ops_max;
  const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;
  return static_cast<uint64_t>(static_cast<double>(c.cut_ops_max) *
                               std::exp(u * std::log(static_cast<double>(c.late_cut_ops_max) /
                                                     static_cast<double>(c.cut_ops_max))));
}

DriverConfig driver_config(const std::shared_ptr<SimDisk>& disk,
                           const std::filesystem::path& journal, uint64_t incarnation,
                           const EngineCutConfig& c, const RoundClock& clock) {
  DriverConfig d;
  d.engine = engine_crash::child_engine_options(kDataDir);
  // As engine_crash_child: the fast clock, a small catch-up, every duration scaled.
  d.engine.clock = clock.current();
  d.engine.cron_catch_up_max = kCronCatchUpMax;
  d.time_scale = kClockSpeed;
  d.timed_functions = true;
  d.engine.log.file_system = disk->file_system();
  d.engine.log.io_queue_factory = disk->io_queue_factory();
  // Snapshots every few records: the power fails while they are written, renamed and rotated.
  d.engine.snapshot_every_records = 5 + (c.seed + incarnation) % 20;
  d.journal = journal;
  d.incarnation = incarnation;
  d.target_runs = c.target_runs;
  d.seed = c.seed;
  return d;
}

// The ticker kept firing while the engine worked: its last tick is at most a few ticks before
// the last activity the log shows (a run created, a sleep ending), as the crash test demands.
std::string check_ticker_kept_firing(const engine_crash::LogFacts& facts,
                                     const engine_crash::CrashSummary& summary) {
  int64_t last_activity_ms = 0;
  for (const auto& [id, r] : facts.runs) {
    if (!r.cron_expression.empty()) continue;
    last_activity_ms = std::max(last_activity_ms, r.created_us / 1000);
    if (r.cancellations != 0) continue;  // its sleep may have been cut short
    for (const engine_crash::OpFact& s : r.sleeps) {
      last_activity_ms = std::max(last_activity_ms, s.wake_at_ms);
    }
  }
  if (summary.cron_last_tick_ms >= last_activity_ms - 3 * kTickMs) return {};
  return "the cron trigger stopped firing " +
         std::to_string(last_activity_ms - summary.cron_last_tick_ms) +
         " ms (engine clock) before the last activity in the log";
}

// What of the timed and keyed functions' work the journal puts in incarnations the power cut
// (before `last`): their step executions, and their events acknowledged.
void count_timed_work_before(const engine_crash::Journal& journal, uint64_t last,
                             EngineCutTimed* t) {
  using Kind = engine_crash::JournalEntry::Kind;
  uint64_t incarnation = 0;
  for (const engine_crash::JournalEntry& e : journal.entries) {
    if (e.kind == Kind::kBegan) incarnation = e.incarnation;
    if (e.kind == Kind::kExecuted && e.incarnation < last &&
        (e.step_id == "tick" || e.step_id == "t1" || e.step_id == "t2" || e.step_id == "q1" ||
         e.step_id == "d1" || e.step_id == "b1")) {
      ++t->timed_steps_cut;
    }
    if (e.kind == Kind::kSent && incarnation < last &&
        (engine_crash::parse_late_event_id(e.event_id) ||
         engine_crash::parse_queued_event_id(e.event_id) ||
         engine_crash::parse_keyed_event_id(e.event_id))) {
      ++t->timed_sends_cut;
    }
  }
}

// After the last incarnation: the log (read from the sim, copied out) and the journal against the
// workload's specification. `off_spans`: when the power was off, on the engine clock.
// `last_incarnation`: the one that ran to the end (the others were cut).
std::string check_outcome(const std::shared_ptr<SimDisk>& disk, const TempDir& tmp,
                          const std::filesystem::path& journal, const EngineCutConfig& c,
                          uint64_t last_incarnation,
                          const std::vector<std::pair<int64_t, int64_t>>& off_spans,
                          EngineCutResult* result) {
  const std::filesystem::path log_dir = tmp / "log";
  if (Status st = disk->export_to(std::string(kDataDir) + "/log", log_dir); !st.ok()) {
    return "exporting the log: " + st.to_string();
  }
  auto report = log::verify_log(log_dir, engine_crash::verify_options());
  if (!report.ok()) return "verifying the log: " + report.status().to_string();
  if (!report->intact()) return "the final log is damaged: " + report->damage->to_string();
  std::string error;
  std::optional<engine_crash::LogFacts> facts = engine_crash::read_log_facts(log_dir, &error);
  if (!facts) return "reading the log: " + error;
  const engine_crash::Journal journal_read = engine_crash::read_journal(journal);
  const engine_crash::CrashVerdict verdict =
      engine_crash::check_crash_outcome(*facts, journal_read, c.seed, c.target_runs, kClockSpeed);
  const engine_crash::CrashSummary& s = verdict.summary;
  result->summary = s.to_string();
  EngineCutTimed& t = result->timed;
  t.cron_runs = s.cron_runs;
  t.cron_ticks_skipped = s.cron_ticks_skipped;
  t.cron_caught_up = engine_crash::cron_ticks_within(*facts, off_spans);
  t.late_cancelled = s.late_cancelled;
  t.queued_cancelled = s.queued_cancelled;
  t.debounce_completed = s.debounce_completed;
  t.debounce_replaced = s.debounce_replaced;
  t.debounce_replaced_across_sends = s.debounce_replaced_across_sends;
  t.batches = s.batches;
  t.batches_full = s.batches_full;
  t.batch_joined = s.batch_joined;
  t.batch_joined_across_sends = s.batch_joined_across_sends;
  count_timed_work_before(journal_read, last_incarnation, &t);
  std::vector<std::string> violations = verdict.violations;
  // As the crash test: the timed functions ran, every event the driver had for them.
  if (s.late_runs != engine_crash::late_runs(c.target_runs) ||
      s.queued_runs != engine_crash::queued_bursts(c.target_runs) * engine_crash::kQueuedBurst) {
    violations.push_back("the log has " + std::to_string(s.late_runs) + " runs of \"late\" and " +
                         std::to_string(s.queued_runs) + " of \"queued\", not all the driver sent");
  }
  if (std::string v = check_ticker_kept_firing(*facts, s); !v.empty()) {
    violations.push_back(std::move(v));
  }
  if (violations.empty()) return {};
  std::string out = std::to_string(violations.size()) + " violations, the first:";
  for (size_t i = 0; i < violations.size() && i < 5; ++i) out += "\n    " + violations[i];
  return out;
}

// The state an engine reaches on `disk` (a copy of it: the disk is unchanged) with or without
// its snapshots, started without functions so that nothing runs.
std::string state_on_copy(const std::shared_ptr<SimDisk>& disk, bool snapshots,
                          uint64_t* snapshot_loads = nullptr) {
  std::shared_ptr<SimDisk> copy = disk->reboot(0);  // each copy: the same image
  EngineOptions o = engine_crash::child_engine_options(kDataDir);
  o.log.file_system = copy->file_system();
  o.log.io_queue_factory = copy->io_queue_factory();
  o.snapshots = snapshots;
  o.snapshot_on_shutdown = false;
  o.snapshot_every_records = ~uint64_t{0};
  auto engine = Engine::create(o);
  Status st = engine->start();
  if (!st.ok()) return "start failed: " + st.to_string();
  std::string out = detail::describe_state(*engine);
  const RecoveryStats& r = engine->recovery();
  if (snapshot_loads != nullptr && !r.snapshot.empty()) ++*snapshot_loads;
  if (snapshots && !r.snapshot_problems.empty()) {
    out += "snapshot problem: " + r.snapshot_problems.front();
  }
  (void)engine->shutdown();
  return out;
}

// After a cut: loading the newest snapshot and replaying the log after it gives exactly the
// state of replaying the whole log.
std::string compare_snapshot_with_replay(const std::shared_ptr<SimDisk>& disk,
                                         uint64_t* snapshot_loads) {
  const std::string with = state_on_copy(disk, true, snapshot_loads);
  const std::string without = state_on_copy(disk, false);
  if (with == without) return {};
  size_t at = 0;
  while (at < with.size() && at < without.size() && with[at] == without[at]) ++at;
  const size_t from = at > 200 ? at - 200 : 0;
  return "the state from the snapshot differs from a full replay at byte " + std::to_string(at) +
         ":\n  snapshot: ..." + with.substr(from, 400) + "\n  replay:   ..." +
         without.substr(from, 400);
}

}  // namespace

EngineCutResult run_engine_cut_round(const EngineCutConfig& config) {
  EngineCutResult result;
  std::mt19937_64 rng(config.seed);
  SimDiskOptions disk_options;
  disk_options.seed = rng();
  std::shared_ptr<SimDisk> disk = SimDisk::create(disk_options);
  TempDir tmp;
  const std::filesystem::path journal_path = tmp / "journal.txt";
  engine_crash::JournalWriter journal(journal_path);
  RoundClock clock;
  // When the power was off (from a cut incarnation's shutdown to the next start, pauses
  // included), on the engine clock: a tick in one of these that ran was caught up by a start().
  std::vector<std::pair<int64_t, int64_t>> off_spans;
  std::optional<int64_t> off_since;
  uint64_t inc = 1;
  for (;; ++inc) {
    const bool cut = inc <= config.incarnations;
    if (cut) {
      // At a seeded operation (draw_cut_ops: the first dozen or so are the start()'s recovery
      // and log creation) and, one time in three, earlier if a write completes while another is
      // still in flight.
      const uint64_t ops = draw_cut_ops(rng, config);
      disk->cut_after(ops);
      if (rng() % 3 == 0) disk->cut_in_flight_window(rng() % std::max(ops, config.cut_ops_max));
    }
    if (off_since) off_spans.emplace_back(*off_since, clock.now_ms());
    journal.began(inc, ::getpid());
    DriverResult r;
    {
      engine_crash::WorkloadDriver driver(driver_config(disk, journal_path, inc, config, clock),
                                          journal);
      r = driver.run([] { return false; });
    }  // the engine is shut down (after a cut its log has failed) before the disk is rebooted
    const std::string where = "incarnation " + std::to_string(inc) + ": ";
    if (r.outcome == Outcome::kAcceptedTwice) {
      result.failure = where + r.error;
      return result;
    }
    if (r.outcome == Outcome::kFinished) break;  // every run ended (before a planned cut, maybe)
    if (!disk->is_cut()) {
      result.failure = where + "the engine failed without a power cut: " + r.error;
      return result;
    }
    if (!cut) {
      result.failure = where + "the last incarnation did not finish: " + r.error;
      return result;
    }
    ++result.cuts;
    if (r.outcome == Outcome::kNoStart) ++result.cuts_during_start;
    off_since = clock.now_ms();
    if (const double ticks = draw_pause_ticks(rng); ticks > 0) {
      clock.pause(ticks);
      ++result.timed.pauses;
      result.timed.long_pauses += ticks > kCronCatchUpMax + 1;
    }
    // reboot() cuts the disk it copies: the comparison and the next incarnation each get their
    // own copy of what survived.
    std::shared_ptr<SimDisk> survived = disk->reboot(rng());
    if (std::string diff = compare_snapshot_with_replay(survived, &result.snapshot_loads);
        !diff.empty()) {
      result.failure = where + diff;
      return result;
    }
    disk = survived->reboot(0);
  }
  result.failure = check_outcome(disk, tmp, journal_path, config, inc, off_spans, &result);
  if (result.failure.empty()) {
    // The last incarnation shut down cleanly and wrote its snapshot: however the cuts fell on
    // the snapshotter's timing, every round compares at least this one with a full replay.
    std::shared_ptr<SimDisk> final_image = disk->reboot(0);
    if (std::string diff = compare_snapshot_with_replay(final_image, &result.snapshot_loads);
        !diff.empty()) {
      result.failure = "after the last incarnation: " + diff;
    }
  }
  return result;
}

void EngineCutTimed::add(const EngineCutTimed& o) {
  cron_runs += o.cron_runs;
  cron_ticks_skipped += o.cron_ticks_skipped;
  cron_caught_up += o.cron_caught_up;
  pauses += o.pauses;
  long_pauses += o.long_pauses;
  late_cancelled += o.late_cancelled;
  queued_cancelled += o.queued_cancelled;
  debounce_completed += o.debounce_completed;
  debounce_replaced += o.debounce_replaced;
  debounce_replaced_across_sends += o.debounce_replaced_across_sends;
  batches += o.batches;
  batches_full += o.batches_full;
  batch_joined += o.batch_joined;
  batch_joined_across_sends += o.batch_joined_across_sends;
  timed_steps_cut += o.timed_steps_cut;
  timed_sends_cut += o.timed_sends_cut;
}

std::string EngineCutTimed::to_string() const {
  auto n = [](uint64_t v) { return std::to_string(v); };
  return "cron: " + n(cron_runs) + " tick runs (" + n(cron_caught_up) +
         " for ticks while the power was off), " + n(cron_ticks_skipped) + " ticks skipped, " +
         n(pauses) + " pauses (" + n(long_pauses) + " long); timeouts: " + n(late_cancelled) +
         " finish, " + n(queued_cancelled) + " start; debounce: " + n(debounce_completed) +
         " completed, " + n(debounce_replaced) + " replaced (" + n(debounce_replaced_across_sends) +
         " by a later send); batching: " + n(batches) + " batches (" + n(batches_full) +
         " full), " + n(batch_joined) + " runs joined (" + n(batch_joined_across_sends) +
         " from a later send); in incarnations the power cut: " + n(timed_steps_cut) +
         " of their step executions, " + n(timed_sends_cut) + " of their events acknowledged";
}

}  // namespace cairn::testing
