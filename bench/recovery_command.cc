// `cairn-bench recovery --records N [--steps S] [--dir D]`: how fast a restarted engine replays
// its log into run state. It first writes a log of N records shaped like real traffic — runs of
// an S-step function (an event, S completed steps, a completion), the last 1% of runs left
// unfinished at every stage — then starts an engine on it and reports the replay rate.
//
// `cairn-bench recovery --history N --live L`: what snapshots do for restart time. The log holds
// N records with L runs left unfinished, spread over the whole history (long-lived runs started
// at any time). In one run it times start() with snapshots off (a full replay: open_ms_replay),
// then has an engine write its shutdown snapshot, then times start() again loading it
// (open_ms_snapshot), and checks that both found the same L unfinished runs. No function is
// registered, so nothing runs and the log stays the same between the opens.
#include <cstdio>
#include <string>

#include "bench_clock.h"
#include "bench_dir.h"
#include "cairn/engine.h"
#include "cairn/log/log.h"
#include "json_line.h"
#include "record_builder.h"
#include "subcommand.h"

namespace cairn::bench {
namespace {

struct RecoveryArgs {
  uint64_t records = 1'000'000;
  uint64_t history = 0;  // --history: the snapshot comparison
  uint64_t live = 10'000;
  uint32_t steps = 10;
  std::string dir;
  bool keep = false;
};

// Appends records shaped like runs of the bench function until `records` are written.
Result<uint64_t> write_history(const std::filesystem::path& log_dir, const RecoveryArgs& a,
                               uint64_t* unfinished) {
  log::LogOptions lo;
  lo.durability = log::Durability::kNoneUnsafe;  // generation only; the replay reads it back
  CAIRN_ASSIGN_OR_RETURN(auto log, log::Log::open(log_dir, lo));
  const uint64_t per_run = a.steps + 2;
  const uint64_t full_runs = a.records / per_run;
  const uint64_t tail_runs = std::max<uint64_t>(1, full_runs / 100);
  // --history: every stride-th run is left unfinished, from the first record to the last.
  const uint64_t stride =
      a.history > 0 ? std::max<uint64_t>(1, full_runs / std::max<uint64_t>(1, a.live)) : 0;
  const std::string_view functions[] = {"bench-steps"};
  uint64_t written = 0;
  uint64_t runs = 0;
  auto append = [&](schema::RecordType type, detail::Bytes payload) -> Status {
    auto lsn = log->append(static_cast<log::RecordType>(type), payload);
    if (!lsn.ok()) return lsn.status();
    ++written;
    return Status();
  };
  std::string output;
  while (written < a.records) {
    const RunId run = ++runs;
    // The last runs stop after a varying number of steps: they are resumed on start().
    const bool tail = stride > 0 ? run % stride == 0 && *unfinished < a.live
                                 : runs > full_runs - std::min(full_runs, tail_runs);
    const uint32_t steps =
        tail ? static_cast<uint32_t>((run / std::max<uint64_t>(1, stride)) % (a.steps + 1))
             : a.steps;
    Event e{.name = "bench/run", .data = "{}", .id = "e" + std::to_string(run), .ts_ms = 1};
    CAIRN_RETURN_IF_ERROR(append(schema::RecordType::EventAccepted,
                                 detail::build_event_accepted(e, run, functions, nullptr, false,
                                                              1'700'000'000'000'000, false)));
    for (uint32_t i = 0; i < steps && written < a.records; ++i) {
      Codec<int>::encode(static_cast<int>(i), output);
      CAIRN_RETURN_IF_ERROR(append(
          schema::RecordType::StepCompleted,
          detail::build_step_completed({run, i, "step"}, 1, output, value_format<int>(), {})));
    }
    if (!tail && written < a.records) {
      Codec<int>::encode(static_cast<int>(a.steps * (a.steps - 1) / 2), output);
      CAIRN_RETURN_IF_ERROR(
          append(schema::RecordType::RunCompleted,
                 detail::build_run_completed(run, output, value_format<int>(), 0)));
    } else {
      ++*unfinished;
    }
  }
  CAIRN_RETURN_IF_ERROR(log->close());
  return written;
}

Task<int> bench_steps(Context& ctx, uint32_t steps) {
  int sum = 0;
  for (uint32_t i = 0; i < steps; ++i) {
    sum += co_await ctx.run("step", [i] { return static_cast<int>(i); });
  }
  co_return sum;
}

int run_recovery(const RecoveryArgs& a, const std::filesystem::path& dir) {
  std::fprintf(stderr, "recovery: writing %llu records to %s\n",
               static_cast<unsigned long long>(a.records), dir.c_str());
  const int64_t g0 = now_ns();
  uint64_t unfinished = 0;
  auto written = write_history(dir / "log", a, &unfinished);
  if (!written.ok()) {
    std::fprintf(stderr, "recovery: %s\n", written.status().to_string().c_str());
    return kExitFailed;
  }
  std::fprintf(stderr, "  written in %.1f s; starting an engine on it\n",
               seconds_between(g0, now_ns()));
  EngineOptions opts;
  opts.dir = dir;
  opts.runs_finished_kept = 1000;
  auto engine = Engine::create(std::move(opts));
  const uint32_t steps = a.steps;
  Status st = engine->register_function(
      {.id = "bench-steps", .triggers = {on_event("bench/run")}},
      [steps](Context& ctx, const Event&) -> Task<int> { return bench_steps(ctx, steps); });
  const int64_t t0 = now_ns();
  if (st.ok()) st = engine->start();
  const double start_s = seconds_between(t0, now_ns());
  if (!st.ok()) {
    std::fprintf(stderr, "recovery: %s\n", st.to_string().c_str());
    return kExitFailed;
  }
  const RecoveryStats& r = engine->recovery();
  std::fprintf(stderr, "  replayed %llu records in %.2f s (%.0f records/s); %llu runs resumed\n",
               static_cast<unsigned long long>(r.records), r.seconds,
               static_cast<double>(r.records) / r.seconds,
               static_cast<unsigned long long>(r.runs_resumed));
  JsonLine j;
  j["records"] = r.records;
  j["recovery_seconds"] = rounded(r.seconds, 3);
  j["recovery_records_per_s"] = rounded(static_cast<double>(r.records) / r.seconds, 0);
  j["recovery_mb_per_s"] = rounded(static_cast<double>(r.bytes) / r.seconds / 1e6, 1);
  j["start_seconds"] = rounded(start_s, 3);
  j["runs_resumed"] = r.runs_resumed;
  j["runs_unfinished_written"] = unfinished;
  j["log_open_verified_records"] = r.log.records_verified;
  st = engine->shutdown();
  if (!a.keep) std::filesystem::remove_all(dir);
  print_json_line(j);
  return st.ok() ? kExitOk : kExitFailed;
}

// Starts an engine on `dir` without functions and returns how long start() took (or -1).
double timed_open(const std::filesystem::path& dir, bool snapshots, RecoveryStats* rec,
                  uint64_t* live) {
  EngineOptions opts;
  opts.dir = dir;
  opts.runs_finished_kept = 1000;
  opts.snapshots = snapshots;
  opts.snapshot_on_shutdown = false;
  auto engine = Engine::create(std::move(opts));
  const int64_t t0 = now_ns();
  Status st = engine->start();
  const double ms = seconds_between(t0, now_ns()) * 1e3;
  if (!st.ok()) {
    std::fprintf(stderr, "recovery: %s\n", st.to_string().c_str());
    return -1;
  }
  *rec = engine->recovery();
  *live = engine->stats().runs_active;
  return engine->shutdown().ok() ? ms : -1;
}

int run_snapshot_recovery(RecoveryArgs a, const std::filesystem::path& dir) {
  a.records = a.history;
  std::fprintf(stderr, "recovery: writing %llu records (%llu runs left unfinished) to %s\n",
               static_cast<unsigned long long>(a.records), static_cast<unsigned long long>(a.live),
               dir.c_str());
  uint64_t unfinished = 0;
  auto written = write_history(dir / "log", a, &unfinished);
  if (!written.ok()) {
    std::fprintf(stderr, "recovery: %s\n", written.status().to_string().c_str());
    return kExitFailed;
  }
  RecoveryStats replay, snap;
  uint64_t live_replay = 0, live_snap = 0;
  std::fprintf(stderr, "  opening with a full replay\n");
  const double replay_ms = timed_open(dir, false, &replay, &live_replay);
  // The snapshot: an engine that starts (replaying everything) and stops writes one.
  std::fprintf(stderr, "  writing a snapshot (an engine's shutdown snapshot)\n");
  const int64_t w0 = now_ns();
  {
    EngineOptions opts;
    opts.dir = dir;
    opts.runs_finished_kept = 1000;
    auto engine = Engine::create(std::move(opts));
    Status st = engine->start();
    if (st.ok()) st = engine->shutdown();
    if (!st.ok()) {
      std::fprintf(stderr, "recovery: %s\n", st.to_string().c_str());
      return kExitFailed;
    }
  }
  const double write_s = seconds_between(w0, now_ns());
  std::fprintf(stderr, "  opening from the snapshot\n");
  const double snap_ms = timed_open(dir, true, &snap, &live_snap);
  if (replay_ms < 0 || snap_ms < 0) return kExitFailed;
  if (snap.snapshot.empty() || live_snap != live_replay || live_snap != unfinished) {
    std::fprintf(stderr,
                 "recovery: the opens disagree: snapshot '%s', unfinished runs %llu (replay) vs "
                 "%llu (snapshot), %llu written\n",
                 snap.snapshot.c_str(), static_cast<unsigned long long>(live_replay),
                 static_cast<unsigned long long>(live_snap),
                 static_cast<unsigned long long>(unfinished));
    return kExitFailed;
  }
  std::fprintf(stderr,
               "  full replay: %.0f ms (%llu records); from the snapshot: %.1f ms (%.1f ms "
               "loading it, %llu records after it); %llu unfinished runs both ways\n",
               replay_ms, static_cast<unsigned long long>(replay.records), snap_ms,
               snap.snapshot_seconds * 1e3, static_cast<unsigned long long>(snap.records),
               static_cast<unsigned long long>(live_snap));
  JsonLine j;
  j["history_records"] = *written;
  j["live_runs"] = live_snap;
  j["open_ms_replay"] = rounded(replay_ms, 1);
  j["open_ms_snapshot"] = rounded(snap_ms, 1);
  j["speedup"] = rounded(replay_ms / snap_ms, 1);
  j["snapshot_load_ms"] = rounded(snap.snapshot_seconds * 1e3, 1);
  j["records_after_snapshot"] = snap.records;
  j["snapshot_bytes"] = std::filesystem::file_size(snap.snapshot);
  j["snapshot_write_s"] = rounded(write_s, 2);
  if (!a.keep) std::filesystem::remove_all(dir);
  print_json_line(j);
  return kExitOk;
}

}  // namespace

void add_recovery_subcommand(CLI::App& root, SubcommandRun* selected) {
  auto args = std::make_shared<RecoveryArgs>();
  CLI::App* cmd = root.add_subcommand(
      "recovery", "replay speed: write a log of N records, then time an engine's start on it");
  cmd->add_option("--records", args->records, "records in the log")
      ->check(CLI::Range(uint64_t{100}, uint64_t{1'000'000'000}));
  cmd->add_option("--steps", args->steps, "steps per run")->check(CLI::Range(1u, 1000u));
  cmd->add_option("--history", args->history,
                  "snapshot comparison: records of history (opens with and without a snapshot)")
      ->check(CLI::Range(uint64_t{100}, uint64_t{1'000'000'000}));
  cmd->add_option("--live", args->live, "with --history: runs left unfinished")
      ->check(CLI::Range(uint64_t{1}, uint64_t{10'000'000}));
  cmd->add_option("--dir", args->dir, "data directory (default: ./cairn-bench-data/recovery-PID)");
  cmd->add_flag("--keep", args->keep, "keep the data directory");
  cmd->callback([args, selected] {
    *selected = [args]() -> int {
      const std::filesystem::path dir =
          args->dir.empty() ? default_data_dir("recovery") : std::filesystem::path(args->dir);
      if (Status st = prepare_empty_dir(dir); !st.ok()) {
        std::fprintf(stderr, "cairn-bench recovery: %s\n", st.message().c_str());
        return kExitUsage;
      }
      return args->history > 0 ? run_snapshot_recovery(*args, dir) : run_recovery(*args, dir);
    };
  });
}

}  // namespace cairn::bench
