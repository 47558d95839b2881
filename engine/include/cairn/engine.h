// Engine: registers durable functions, accepts events, and runs every triggered function to the
// end — across crashes — recording each step in the write-ahead log before moving on.
//
//   auto engine = cairn::Engine::create({.dir = "data"});
//   engine->register_function(
//       {.id = "fulfil-order", .triggers = {cairn::on_event("order/created")}}, fulfil_order);
//   engine->start();                                   // replays the log, resumes unfinished runs
//   engine->send({.name = "order/created", .data = R"({"order_id": "A-17"})"});
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cairn/clock.h"
#include "cairn/context.h"
#include "cairn/event.h"
#include "cairn/log/log.h"
#include "cairn/log/options.h"
#include "cairn/log/status.h"
#include "cairn/run_history.h"
#include "cairn/task.h"

namespace cairn {

namespace detail {
class ErasedTask;  // below: a function's top-level task with its result type erased
}  // namespace detail

enum class RunStatus : uint8_t {
  kQueued,    // created, no step recorded yet
  kRunning,   // has recorded steps and is executing or about to
  kSleeping,  // in ctx.sleep, or waiting for a step retry
  kWaiting,   // in wait_for_event, or waiting for an invoked run
  kCompleted,
  kFailed,
  kCancelled,
  kSkipped,  // never started: a rate limit refused it (RunInfo::error says which)
};
std::string_view run_status_name(RunStatus s);
inline bool is_finished(RunStatus s) {
  return s >= RunStatus::kCompleted;
}

// What starts a run: an event name, or a cron schedule (exactly one of the two).
struct Trigger {
  // An event name; "order/*" matches every name that starts with "order/". A '*' anywhere else
  // ("*", "order.*") is refused: there is no other wildcard.
  std::string event{};
  // A cron expression (docs/flow-control.md: five fields or @daily-style macros). Each tick starts
  // exactly one run, whose event is "cairn/cron.tick" with data {"cron", "timezone", "tick" (ISO
  // 8601, UTC), "tick_ms"}; ticks that fell while the engine was stopped run when it starts again
  // (at most EngineOptions::cron_catch_up_max of them, the newest; older ones are recorded as
  // skipped).
  std::string cron{};
  // The wall clock `cron` runs on: empty (UTC) or an IANA time zone ("Europe/Berlin", from the
  // system's tzdata). A tick in the spring gap fires at the first instant after it; one in the
  // autumn overlap fires once, at its first occurrence.
  std::string timezone{};
};
inline Trigger on_event(std::string name) {
  return Trigger{.event = std::move(name)};
}
inline Trigger on_cron(std::string expression, std::string timezone = {}) {
  return Trigger{.cron = std::move(expression), .timezone = std::move(timezone)};
}

// Flow control (docs/flow-control.md). A *key expression* names a field of the triggering event:
// "data.customer_id" (any depth, "data.a.b"), "event.name" or "event.id". Its value (a string, a
// number, true/false) is the key; a run whose event lacks the field, or has null or an object
// there, counts under the one key "" (a missing field never bypasses a limit).

// At most `limit` runs of the function executing steps at once; with a `key`, at most `limit` per
// key. Sleeping and waiting runs (ctx.sleep, wait_for_event, invoke, a step's retry backoff) hold
// no slot. Runs over the limit wait in a queue that serves keys round-robin (a busy key cannot
// starve the others) and, within a key, by priority with aging. Nothing is recorded: slots are
// taken and given back in memory, so after a restart they start free again.
struct ConcurrencyLimit {
  uint32_t limit = 0;  // 1 .. 100,000
  std::string key{};   // empty: function-wide
};

// Throttle: at most `limit` run starts per `period` per key, `burst` of them back to back after a
// quiet spell (GCRA). Excess runs are delayed until they may start, never dropped. Each start is
// recorded (RunAdmitted) so a restart rebuilds the same state.
struct ThrottleLimit {
  uint32_t limit = 0;                  // 1 .. 1,000,000
  std::chrono::milliseconds period{};  // 1 ms .. 366 days
  uint32_t burst = 1;                  // 1 .. limit
  std::string key{};                   // empty: function-wide
};

// Rate limit: at most `limit` runs per `period` per key over ANY window of that length (exact, in
// 8 bytes per key). Excess runs are skipped: they end at once with RunStatus::kSkipped and the
// reason, recorded. `burst` runs may start back to back after a quiet spell; the price is a lower
// sustained rate of limit - burst + 1 per period. burst 1: evenly spread, one every
// period / limit; burst = limit: `limit` at once, then one per period.
struct RateLimit {
  uint32_t limit = 0;                  // 1 .. 1,000,000
  std::chrono::milliseconds period{};  // 1 ms .. 366 days
  std::string key{};                   // empty: function-wide
  uint32_t burst = 1;                  // 1 .. limit
};

// Singleton: at most one run per key at a time. A new run while one of its key is unfinished is
// skipped (kSkip), or admitted while the unfinished one is cancelled (kCancelRunning: it stops at
// its next step boundary, so the two overlap by at most the step it is in).
struct Singleton {
  enum class Mode : uint8_t { kSkip, kCancelRunning };
  std::string key{};  // empty: function-wide
  Mode mode = Mode::kSkip;
};

// Debounce: a run starts only once no newer event of its key has come for `period`; then it runs
// with the last event. Each event creates a run; a newer one of the same key replaces the waiting
// one, which ends as kSkipped ("debounce: replaced by run N"). `timeout` (0: none) bounds the
// wait from the first event of the key's sequence: then the newest run starts even if events keep
// coming. Decided from the log (every event's record), so a restart rebuilds the waiting runs.
struct Debounce {
  std::chrono::milliseconds period{};   // 1 ms .. 366 days
  std::string key{};                    // empty: function-wide
  std::chrono::milliseconds timeout{};  // 0, or period .. 366 days
};

// Batching: events of a key are collected into one run that gets them all (Context::events()),
// started when `max_events` have come or `timeout` after the first, whichever is first. Each
// event still creates a run; those that join an open batch end as kSkipped ("batched into run
// N"). Decided from the log, so a restart rebuilds the open batches.
struct Batching {
  uint32_t max_events = 0;              // 1 .. 10,000
  std::chrono::milliseconds timeout{};  // 1 ms .. 366 days
  std::string key{};                    // empty: function-wide
};

// Cancels a run when an event named `event` is accepted whose field `match` (a key expression)
// equals the same field of the run's own event ("data.order_id"); empty `match`: any such event.
// The run stops at its next step boundary, is recorded as cancelled with the event named, and the
// runs it invoked and waits for are cancelled too.
struct CancelOn {
  std::string event{};  // an exact name: a '*' is refused (no wildcard here, unlike triggers)
  std::string match{};
};

// Timeouts: a run not started within `start` of being created (queued behind a concurrency limit
// or a throttle) is cancelled; a run not finished within `finish` of starting (its first step,
// sleeping and waiting included) is cancelled. Both are durable timers: measured from recorded
// times, they fire after a restart too. Zero: none. Otherwise 1 ms .. 366 days.
struct Timeouts {
  std::chrono::milliseconds start{0};
  std::chrono::milliseconds finish{0};
};

struct FunctionOptions {
  std::string id{};               // unique; recorded in the log with every run
  std::vector<Trigger> triggers;  // events that start a run (may be empty: invoke() only)
  uint32_t retries = 4;           // retries per step after the first attempt (0..100); also of a
                                  // ctx.send_event that finds no room (Context::send_event)
  // Backoff before retry n: min(backoff_max, backoff_base * 2^(n-1)) with ±25% jitter.
  // 0 < backoff_base <= backoff_max; up to milliseconds::max() (a retry that never comes).
  std::chrono::milliseconds backoff_base{1000};
  std::chrono::milliseconds backoff_max{std::chrono::hours(1)};
  // Runs as a durable function of its own when a run of this function fails; its event is
  // "cairn/function.failed" with data {"function_id", "run_id", "error", "event"}. The data takes
  // at most the failed run's texts (event, error, function id) plus 512 bytes: where JSON escaping
  // would grow it past that, each text is a prefix that fits its own size, "error_bytes" and
  // "event"."data_bytes" give the whole sizes, and "cut" is true (JSON data stays JSON when
  // no longer than its text).
  std::function<Task<void>(Context&, const Event&)> on_failure{};

  // Flow control (above). At most one function-wide and one keyed concurrency limit.
  std::vector<ConcurrencyLimit> concurrency{};
  std::optional<ThrottleLimit> throttle{};
  std::optional<RateLimit> rate_limit{};
  // A key expression whose value is an integer -600 .. 600 (others count as 0): higher starts
  // first among the function's runs queued for a concurrency slot of the same key; one level is
  // worth one second of waiting, so a low-priority run is never starved for more than 20 minutes.
  std::string priority{};
  std::vector<CancelOn> cancel_on{};  // at most 8
  std::optional<Singleton> singleton{};
  // Idempotency: a key expression; at most one run per key per idempotency_window (1 s .. 366
  // days), later ones are skipped with the run that had the key named. Empty: none.
  std::string idempotency{};
  std::chrono::milliseconds idempotency_window = std::chrono::hours(24);
  Timeouts timeouts{};
  std::optional<Debounce> debounce{};
  std::optional<Batching> batch{};
};

struct EngineOptions {
  std::filesystem::path dir = "cairn-data";  // the log lives in dir/log; not empty
  uint32_t workers = 0;                      // step-executing threads; 0: one per core; <= 1024
  std::shared_ptr<Clock> clock{};            // default: the system clock
  // The log's options: segment and batch sizes, durability, I/O mode, recovery mode, and where
  // file operations go (file_system, io_queue_factory: tests put a simulated disk there).
  log::LogOptions log{};

  // Limits (all of them, the log's and the dashboard's too, in docs/limits.md). Unless a limit says
  // otherwise below, the call that would pass it gets kLimitExceeded and nothing durable changes;
  // kUnavailable says a later call may pass (runs_active_max, dedup_ids_max).
  // Bytes of one event (name + data + id). Also bounds the data of ctx.invoke() and what a
  // wait_for_event records (event name, match path and value); those and ctx.send_event throw a
  // StepError past it. start() refuses a trigger or cancel_on whose event name is longer (no
  // event could match it). Default: 256 KiB.
  uint32_t event_bytes_max = 256u << 10;
  // Bytes of an event's id (Event::id, as send() and ctx.send_event name it). A longer id is
  // refused (kLimitExceeded; StepError in ctx.send_event; nothing recorded): the dedup window
  // keeps each id for dedup_window, so this bounds what one id costs there. Ids in a log written
  // under a larger limit are still read. Positive. Default: 256 (an idempotency key, a UUID, a
  // hash).
  uint32_t event_id_bytes_max = 256;
  // Bytes of one step's serialized output; a step that returns more fails (not retried).
  // Default: 512 KiB (must fit a log record).
  uint32_t step_output_bytes_max = 512u << 10;
  // Durable operations (steps, sleeps, waits, ...) per run; the run fails past it. Default: 10,000.
  uint32_t steps_per_run_max = 10'000;
  // Bytes of an operation's id (ctx.run("charge-card", ...)). An operation with a longer id fails
  // with StepError naming this limit, and nothing is recorded. Default: 256.
  uint32_t step_id_bytes_max = 256;
  // Bytes of an error message kept in the log (a step's exception text, a run's failure, a cancel
  // reason). Longer text is cut to this size with a note saying how long it was: the failure is
  // still recorded. Default: 16 KiB.
  uint32_t error_bytes_max = 16u << 10;
  // Runs not finished, including parked ones; send() and replay_run() refuse new runs past it
  // (kUnavailable: retry once some finish; a ctx.send_event that would pass it waits, deferred,
  // and is tried again with its function's retries and backoff: see Context::send_event). One
  // send() that would start more runs than this on its own is kLimitExceeded: it never fits.
  // Default: 10 M.
  uint64_t runs_active_max = 10'000'000;
  // Finished runs kept in memory for get_run, list_runs and wait_run, and the bytes their events,
  // outputs and errors may take there: past either, the oldest are dropped (the log keeps them
  // all; run_history still reads them). Defaults: 100,000 runs, 256 MiB.
  uint64_t runs_finished_kept = 100'000;
  uint64_t runs_finished_bytes_max = 256ull << 20;
  // Window in which a repeated event id is a duplicate (0: none; not negative). Default: 24 h.
  std::chrono::milliseconds dedup_window = std::chrono::hours(24);
  // Event ids held for that window (each id a sender names, about 220 bytes for a 36-byte id).
  // Past it, send() refuses an event naming a new id (kUnavailable, 503 on the dashboard: retry
  // once the oldest leave the window; a ctx.send_event doing so waits, as at runs_active_max);
  // a repeated id is still a duplicate, and events without an id are taken. One
  // send() naming more distinct ids than this could never be taken: kLimitExceeded. A restart
  // keeps every id in the log's window, even past it. Positive. Default: 10 M (about 2 GB; 115 ids
  // a second for 24 h).
  uint64_t dedup_ids_max = 10'000'000;
  // Runs executing steps at once across all functions (flow control, like a function's
  // concurrency limit; docs/flow-control.md). Queued runs wait their turn, functions served
  // round-robin. 0: no limit (the default).
  uint32_t runs_executing_max = 0;
  // Runs waiting for a concurrency slot, per function. At the limit a run that would queue is
  // failed with the reason (it cannot be dropped silently). Default: 1 M.
  uint32_t runs_queued_per_function_max = 1'000'000;
  // Keys with throttle or rate-limit state, per function (each 16-64 bytes). At the limit idle
  // states are swept; if the table is still full, a run of a new key is delayed (throttle) or
  // skipped (rate limit) with the reason. Default: 1 M.
  uint32_t flow_keys_max = 1'000'000;
  // Idempotency keys held within their window, per function (FunctionOptions::idempotency; about
  // 48 bytes each in memory). At the limit a run with a new key waits, queued, and is let in once
  // keys past their window are dropped (a sweep a minute; docs/flow-control.md): it is neither
  // skipped nor run without its key. A repeated key is still skipped. A restart keeps every key
  // the log holds, even past it. Positive. Default: 10 M (about 480 MB; 115 new keys a second for
  // a 24 h window).
  uint64_t idempotency_keys_max = 10'000'000;
  // Cron ticks that fell while the engine was stopped and still run at start, per trigger: the
  // newest this many; older ones are skipped and recorded (a CronCursor record with the count,
  // EngineStats::cron_ticks_skipped). Default: 1,000.
  uint32_t cron_catch_up_max = 1'000;

  // Snapshots and retention (docs/snapshots.md). A background thread writes the engine's state
  // as of an LSN to dir/snapshots every snapshot_every_records records or snapshot_every_bytes
  // payload bytes (and at shutdown), so start() loads the newest valid snapshot and replays only
  // the log after it. The step path never waits for it. Defaults: on, 1 M records, 256 MiB, the
  // newest 2 kept (start() refuses 0 kept, and 0 for either trigger or the size), and snapshots
  // over 4 GiB not written (EngineStats::snapshot_failures says so) and refused on load (an older
  // one, or a full replay, is used instead; recovery().snapshot_problems says why). With
  // snapshots on, start() refuses limits under which one run could not fit a 64 MiB snapshot
  // frame: 3 × event_bytes_max + max(step_output_bytes_max, event_bytes_max, error_bytes_max) +
  // 3 × error_bytes_max + 9 MiB (docs/snapshots.md).
  bool snapshots = true;
  uint64_t snapshot_every_records = 1'000'000;
  uint64_t snapshot_every_bytes = 256ull << 20;
  uint32_t snapshots_kept = 2;
  bool snapshot_on_shutdown = true;
  uint64_t snapshot_bytes_max = 4ull << 30;
  // After each snapshot, log segments leave the log (recycled as spares) when they hold only
  // records below the oldest kept snapshot, the oldest unfinished run and the earliest run that
  // finished within history_window, and were sealed longer than history_window ago: a run stays
  // whole for run_history while it is unfinished and for history_window after it ends (kept up to
  // history_window / 64 longer). After that run_history refuses it (kNotFound, naming retention)
  // rather than hand back a history without its start. Times are `clock`'s; not negative.
  // Default: on, 7 days.
  bool retention = true;
  std::chrono::milliseconds history_window = std::chrono::hours(24 * 7);

  // start() writes the limits above (and the log's record, batch and staging sizes) to
  // dir/OPTIONS, so that the cairn tool, opening this directory while the engine is stopped,
  // applies them instead of the defaults (docs/tools.md). The engine never reads the file. A
  // failure to write it does not stop start(): recovery().options_file_problem says why, and the
  // tool then uses its defaults (or an older file's). Default: on.
  bool options_file = true;

  // Called when a run finishes, on the log's writer thread, right after its last record became
  // durable: every run's end passes through it, so it must be quick — count, store into an atomic,
  // wake a waiter. It must not block, take a lock others hold long, or call the engine. For
  // anything more, hand the id to your own thread. Default: none.
  std::function<void(RunId, RunStatus)> on_run_finished{};
};

struct SendResult {
  std::string event_id{};
  bool duplicate = false;     // the id was seen within the window; no run was started
  std::vector<RunId> runs{};  // runs this event started
};

struct RunInfo {
  RunId id = 0;
  std::string function_id{};
  RunStatus status = RunStatus::kQueued;
  // What started the run: the triggering event, the data an invoke() passed (as the event
  // "cairn/function.invoked"), or a failed run's description for an on_failure handler.
  Event event{};
  RunId parent = 0;      // invoke(): the run that invoked this one
  std::string output{};  // completed runs: the function's result, encoded by its Codec
  ValueFormat output_format = ValueFormat::kBytes;  // how tools read `output`
  std::string error{};                              // failed and cancelled runs
  uint32_t steps = 0;                               // durable operations recorded
  TimePoint created_at{};
  TimePoint finished_at{};  // the epoch while unfinished
};

struct RunQuery {
  std::string function_id{};          // empty: any
  std::optional<RunStatus> status{};  // unset: any
  TimePoint created_after{};          // the epoch: any
  TimePoint created_before{};         // only runs created before this; the epoch: any
  // Paging, newest first: only runs with an id below this (RunPage::next of the page before).
  // 0: from the newest.
  RunId before = 0;
  size_t limit = 100;  // at most 100,000 per page (a larger limit gets that many, and `next`)
};

struct RunPage {
  std::vector<RunInfo> runs{};  // newest first
  RunId next = 0;               // `before` for the next page; 0 when there is none
};

// One function's unfinished runs by status (Engine::function_stats): its queue depth (queued) and
// the concurrency it uses (running).
struct FunctionStats {
  std::string id{};
  bool registered = false;              // registered in this process (else only seen in runs)
  std::vector<std::string> triggers{};  // event names ("cron: 0 * * * *" for a cron trigger)
  uint64_t queued = 0;
  uint64_t running = 0;
  uint64_t sleeping = 0;
  uint64_t waiting = 0;
};

struct RecoveryStats {
  uint64_t records = 0;
  uint64_t bytes = 0;
  double seconds = 0;
  uint64_t runs_resumed = 0;
  uint64_t runs_of_unknown_functions = 0;  // not resumed: register the function and restart
  // The snapshot start() loaded (replay began at its LSN); empty when it replayed the whole log.
  std::string snapshot{};
  uint64_t snapshot_lsn = 0;
  double snapshot_seconds = 0;  // loading it (included in `seconds`)
  // Snapshots found damaged or unusable, newest first, each with its reason (they were skipped).
  std::vector<std::string> snapshot_problems{};
  // Why start() could not write dir/OPTIONS (EngineOptions::options_file); empty when it did.
  std::string options_file_problem{};
  log::RecoveryReport log{};
};

struct EngineStats {
  uint64_t runs_active = 0;
  uint64_t runs_created = 0;
  uint64_t runs_finished = 0;
  uint64_t steps_completed = 0;
  uint64_t step_failures = 0;  // attempts that failed (retried or not)
  // ctx.send_event tries that found no room (runs_active_max, a full dedup window) and waited, or
  // gave up: the engine is pushing back on runs that send (see Context::send_event).
  uint64_t sends_deferred = 0;
  uint64_t events = 0;
  // Armed: sleeps, wait timeouts, retries, throttled runs, timeouts, debounce and batch
  // deadlines, cron triggers' next ticks.
  uint64_t timers = 0;
  uint64_t waiting_for_events = 0;  // runs in wait_for_event now
  // Event ids held in the dedup window now (sends naming a new one are refused past
  // EngineOptions::dedup_ids_max).
  uint64_t dedup_ids = 0;
  // Step dispatch latency: a step's record applied (durable) -> the function resumed.
  uint64_t dispatch_samples = 0;
  double dispatch_p50_us = 0;
  double dispatch_p99_us = 0;
  double dispatch_p999_us = 0;
  log::LogStats log{};
  // Snapshots (written in the background) and retention.
  uint64_t snapshots_written = 0;
  uint64_t snapshot_failures = 0;  // attempts that failed (retried at the next turn)
  uint64_t snapshot_last_lsn = 0;  // the newest snapshot covers every record below this
  uint64_t snapshot_last_bytes = 0;
  uint64_t snapshot_longest_ms = 0;  // the longest snapshot write; the step path never waits
  // Parked runs the snapshotter keeps packed (its copy of a sleeping or waiting run: about 100
  // bytes instead of about 350; docs/snapshots.md).
  uint64_t snapshot_runs_packed = 0;
  std::string snapshot_last_error{};
  uint64_t segments_removed = 0;    // by retention
  uint64_t cron_ticks_skipped = 0;  // missed cron ticks beyond cron_catch_up_max, since start
};

class Engine {
 public:
  static std::unique_ptr<Engine> create(EngineOptions options);
  ~Engine();  // shutdown()
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Registers a function before start(). `fn(Context&, const Event&)` returns Task<R>; R is
  // recorded as the run's output with Codec<R>.
  template <typename F>
  Status register_function(FunctionOptions options, F fn);

  // Opens the log, replays it into state, resumes every unfinished run, starts the workers.
  Status start();

  // Accepts an event: returns once it (and the runs it starts) is durable, and visible to every
  // query made after it returns.
  Result<SendResult> send(const Event& event);
  // Many events at once, all or nothing: one log record holds them all (so together they must
  // fit log.record_bytes_max), and an error accepts none of them. Results in the same order.
  Result<std::vector<SendResult>> send(std::span<const Event> events);

  // Cancels an unfinished run: returns once its RunCancelled record is durable. A step body
  // already running finishes (its result is then ignored); code of the run that is running
  // between two operations starts nothing more after this returns (no step, no invoke, no
  // record), and a run it invoked just before is cancelled too. A finished run is
  // kInvalidArgument ("already finished (completed)"); one that finishes between this check and
  // its RunCancelled record keeps its end (wait_run or get_run tell which it was).
  Status cancel(RunId run, std::string reason = "cancelled");
  // Cancels every unfinished run that matches `query` (function, status, created_after,
  // created_before; its paging fields are ignored) with one RunCancelled each, and returns once
  // they are durable: how many were cancelled. A run that finishes meanwhile keeps its end.
  Result<uint64_t> cancel_runs(const RunQuery& query, std::string reason = "cancelled");

  Result<RunInfo> get_run(RunId run) const;
  // A page of runs, newest first (unfinished ones, and finished ones still kept in memory).
  RunPage list_runs(const RunQuery& query = {}) const;
  // Waits until the run finishes (or `timeout` passes: kTimeout). 0 .. milliseconds::max()
  // (forever); a negative timeout is refused (kInvalidArgument).
  Result<RunInfo> wait_run(RunId run,
                           std::chrono::milliseconds timeout = std::chrono::hours(24 * 365));
  // Every record of the run, read from the log: steps with their attempts, times and outputs,
  // sleeps, waits, sent events, invoked runs, the end (see cairn/run_history.h). At most `limit`
  // entries (at least 1, else kInvalidArgument); kNotFound for a run this engine does not know, and
  // for one whose first records retention has removed (the message says so): a history is whole or
  // not given.
  Result<std::vector<HistoryEntry>> run_history(RunId run, size_t limit = 10'000) const;
  // The same within `limits` (cairn/run_history.h): values cut to a length, a byte budget for
  // them all. limits.entries at least 1 and value_bytes_max at least 64, else kInvalidArgument.
  Result<std::vector<HistoryEntry>> run_history(RunId run, const HistoryLimits& limits) const;

  // Runs a finished run again, as a new run of the same function with the same input (its id is
  // returned; RunCreated.replay_of names the original). kFailedStep, for a failed run: the new
  // run starts with the original's results up to the first operation that did not succeed —
  // step outputs, sleeps that ended, waits with the event that ended them (or their timeout),
  // the ids of events it sent, the outputs of runs it invoked — and its code gets them back
  // without doing anything again (no step body runs, no event is sent, no run is invoked twice);
  // it runs that operation again, then goes on. A run that invoked a run whose outcome is no
  // longer kept in memory is refused with the reason (replay it from the start). kStart: from the
  // beginning, any finished run. kInvalidArgument for a run that is not finished (or not failed,
  // for kFailedStep), kNotFound for one no longer kept in memory (runs_finished_kept).
  enum class ReplayFrom : uint8_t { kFailedStep, kStart };
  Result<RunId> replay_run(RunId run, ReplayFrom from = ReplayFrom::kFailedStep);

  // Lets steps that are executing finish and become durable, then stops. Unfinished runs stay in
  // the log and resume on the next start(). Idempotent. From the engine's own threads (inside a
  // function, a step or on_run_finished) it is refused (kInvalidArgument) and stops nothing: it
  // waits for those threads to end.
  Status shutdown();

  const RecoveryStats& recovery() const;
  EngineStats stats() const;
  // Every function registered here (in registration order) and every other function with runs
  // this engine has seen since start(), with its unfinished runs by status. Counters the
  // projection keeps as runs change status: O(functions), no scan of the runs.
  std::vector<FunctionStats> function_stats() const;
  // EngineOptions::dir (the log is in dir()/log).
  const std::filesystem::path& dir() const;
  // Health of the log (an I/O error stops the engine: every later call reports it).
  Status health() const;

 private:
  class Impl;
  friend Impl& engine_impl(Engine& engine);  // the engine's internals (engine/src) reach it here
  explicit Engine(std::unique_ptr<Impl> impl);
  Status register_erased(FunctionOptions options, ValueFormat output_format,
                         std::function<detail::ErasedTask(Context&, const Event&)> body);
  std::unique_ptr<Impl> impl_;
};

namespace detail {
// A function's top-level Task<R> with R erased: its coroutine, and how to take its result
// encoded by Codec<R>. The engine keeps this per run instead of wrapping the function in a second
// coroutine, so a parked run holds only the frames of its own code (a wrapper's frame was about
// 230 bytes per run, a quarter of a parked run's memory).
class ErasedTask {
 public:
  ErasedTask() = default;
  template <typename R>
  static ErasedTask of(Task<R> task) {
    ErasedTask t;
    t.h_ = task.release();
    t.take_ = &take_encoded<R>;
    return t;
  }
  ErasedTask(ErasedTask&& o) noexcept
      : h_(std::exchange(o.h_, {})), take_(std::exchange(o.take_, nullptr)) {}
  ErasedTask& operator=(ErasedTask&& o) noexcept {
    if (this != &o) {
      if (h_) h_.destroy();
      h_ = std::exchange(o.h_, {});
      take_ = std::exchange(o.take_, nullptr);
    }
    return *this;
  }
  ErasedTask(const ErasedTask&) = delete;
  ErasedTask& operator=(const ErasedTask&) = delete;
  ~ErasedTask() {
    if (h_) h_.destroy();
  }

  void resume() { h_.resume(); }
  bool done() const { return h_.done(); }
  // The finished function's output, encoded; rethrows the function's exception (or the codec's).
  std::string result() { return take_(h_); }
  explicit operator bool() const { return static_cast<bool>(h_); }

 private:
  template <typename R>
  static std::string take_encoded(std::coroutine_handle<> h) {
    auto typed = std::coroutine_handle<TaskPromise<R>>::from_address(h.address());
    std::string out;
    if constexpr (std::is_void_v<R>) {
      typed.promise().take();
    } else {
      R value = typed.promise().take();
      Codec<R>::encode(value, out);
    }
    return out;
  }

  std::coroutine_handle<> h_{};
  std::string (*take_)(std::coroutine_handle<>) = nullptr;
};
}  // namespace detail

template <typename F>
Status Engine::register_function(FunctionOptions options, F fn) {
  using TaskType = std::invoke_result_t<F&, Context&, const Event&>;
  using R = typename TaskType::value_type;
  // The callable is kept at a stable address for the coroutine that refers to it.
  auto stored = std::make_shared<F>(std::move(fn));
  auto typed = [stored](Context& ctx, const Event& event) {
    return detail::ErasedTask::of<R>((*stored)(ctx, event));
  };
  const ValueFormat format = std::is_void_v<R> ? value_format<Unit>() : value_format<R>();
  return register_erased(std::move(options), format, std::move(typed));
}

}  // namespace cairn
