// An engine power-cut round (see engine_power_cut.h).
#include "power_cut/engine_power_cut.h"

#include <unistd.h>

#include <random>

#include "cairn/log/verify.h"
#include "engine_crash/crash_checks.h"
#include "engine_crash/crash_options.h"
#include "engine_crash/journal.h"
#include "engine_crash/log_facts.h"
#include "engine_crash/workload_driver.h"
#include "engine_internal.h"
#include "support/sim_disk.h"
#include "support/temp_dir.h"

namespace cairn::testing {
namespace {

using engine_crash::DriverConfig;
using engine_crash::DriverResult;
using Outcome = DriverResult::Outcome;

constexpr const char* kDataDir = "/data";

DriverConfig driver_config(const std::shared_ptr<SimDisk>& disk,
                           const std::filesystem::path& journal, uint64_t incarnation,
                           const EngineCutConfig& c) {
  DriverConfig d;
  d.engine = engine_crash::child_engine_options(kDataDir);
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

// After the last incarnation: the log (read from the sim, copied out) and the journal against the
// workload's specification.
std::string check_outcome(const std::shared_ptr<SimDisk>& disk, const TempDir& tmp,
                          const std::filesystem::path& journal, const EngineCutConfig& c,
                          std::string* summary) {
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
  const engine_crash::CrashVerdict verdict = engine_crash::check_crash_outcome(
      *facts, engine_crash::read_journal(journal), c.seed, c.target_runs);
  *summary = verdict.summary.to_string();
  if (verdict.violations.empty()) return {};
  std::string out = std::to_string(verdict.violations.size()) + " violations, the first:";
  for (size_t i = 0; i < verdict.violations.size() && i < 5; ++i) {
    out += "\n    " + verdict.violations[i];
  }
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
  for (uint64_t inc = 1;; ++inc) {
    const bool cut = inc <= config.incarnations;
    if (cut) {
      // At a seeded operation — the first dozen or so are the start()'s recovery and log
      // creation — and, one time in three, earlier if a write completes while another is still
      // in flight.
      disk->cut_after(1 + rng() % config.cut_ops_max);
      if (rng() % 3 == 0) disk->cut_in_flight_window(rng() % config.cut_ops_max);
    }
    journal.began(inc, ::getpid());
    DriverResult r;
    {
      engine_crash::WorkloadDriver driver(driver_config(disk, journal_path, inc, config), journal);
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
  result.failure = check_outcome(disk, tmp, journal_path, config, &result.summary);
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

}  // namespace cairn::testing
