// EngineCore (see engine_core.h): lifecycle, sends, queries, and the log's listener.
#include "engine_core.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <deque>
#include <iterator>
#include <random>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "engine_limits.h"
#include "json_field.h"
#include "options_file.h"
#include "replay_copy.h"

namespace cairn::detail {

namespace {
// The engine whose on_run_finished callback this thread is in (shutdown() refuses it there).
thread_local const EngineCore* t_in_run_finished = nullptr;

uint32_t default_workers(uint32_t requested) {
  if (requested != 0) return requested;
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 2 : n;
}

EngineOptions normalized(EngineOptions o) {
  if (!o.clock) o.clock = system_clock();
  o.workers = default_workers(o.workers);
  return o;
}

}  // namespace

EngineCore::EngineCore(EngineOptions options)
    : options_(normalized(std::move(options))),
      clock_(options_.clock),
      dedup_(options_.dedup_window.count(), options_.dedup_ids_max),
      finished_(options_.runs_finished_kept, options_.runs_finished_bytes_max),
      projection_(*this, options_, registry_, dedup_, *this, *clock_, ProjectedRuns::kExecutable),
      executor_(*this),
      scheduler_(options_.workers, [this](RunState& run) { executor_.drive(run); }),
      gate_(options_.runs_executing_max, options_.runs_queued_per_function_max,
            [this](RunState& run) { scheduler_.notify_deferred(run); }),
      timers_(clock_, [this](const std::vector<TimerEntry>& due) { fire_timers(due); }) {}

EngineCore::~EngineCore() {
  (void)shutdown();  // a destructor cannot report; callers who care call shutdown()
}

Status EngineCore::register_function(FunctionOptions options, ValueFormat output_format,
                                     TypedBody body) {
  std::lock_guard lock(lifecycle_mu_);
  if (started_.load()) {
    return Status(StatusCode::kInvalidArgument,
                  "register_function(" + options.id +
                      ") after start(): register every function "
                      "first, so that recovery can resume their runs");
  }
  return registry_.add(std::move(options), output_format, std::move(body));
}

Status EngineCore::start() {
  std::lock_guard lock(lifecycle_mu_);
  if (!start_failure_.ok()) {
    return Status(StatusCode::kInvalidArgument,
                  "start() failed before (" + start_failure_.to_string() +
                      "): this Engine holds part of a recovery; create a new one to try again");
  }
  if (started_.load() || stopped_.load()) {
    return Status(StatusCode::kInvalidArgument, "start() may be called once");
  }
  Status st = start_once();
  if (!st.ok() && !started_.load()) {
    // The log's lock stays with nobody: another Engine (a retry once the cause is fixed) may
    // open the directory at once, not only after this one is destroyed.
    if (log_) {
      (void)log_->close();  // nothing was appended: the failure came first, and is what we report
      log_.reset();
      executor_.set_log(nullptr);
    }
    start_failure_ = st;
  }
  return st;
}

Status EngineCore::start_once() {
  CAIRN_RETURN_IF_ERROR(check_engine_limits(options_));
  CAIRN_RETURN_IF_ERROR(registry_.check_event_names(options_.event_bytes_max));
  crons_ = std::make_unique<CronSchedule>(registry_);
  log::LogOptions lo = options_.log;
  fs_ = lo.file_system ? lo.file_system : log::posix_file_system();
  snapshot_dir_ = (options_.dir / "snapshots").string();
  if (options_.snapshots) {
    // The newest snapshot covers the records before its LSN: the log's open checks what comes
    // after (if that snapshot turns out damaged, the reader still checks every record replayed).
    // Before the log's lock is taken: list only (a running engine may be writing one).
    CAIRN_ASSIGN_OR_RETURN(std::vector<SnapshotName> snaps,
                           list_snapshots(*fs_, snapshot_dir_, /*remove_leftovers=*/false));
    if (std::optional<SnapshotName> newest = newest_snapshot_by_name(*fs_, snapshot_dir_, snaps)) {
      lo.open_checks_from = newest->lsn;
      // Where its last record is: the log's open starts following that segment there.
      lo.open_checks_from_frame =
          read_snapshot_last_frame(*fs_, snapshot_dir_ + "/" + newest->name);
    }
  }
  // The log checks frames; what a valid payload is, is the engine's to say (its record tables).
  const log::LogHooks hooks{.listener = this, .payload_verifier = &schema::verify_payload};
  auto log = log::Log::open(options_.dir / "log", lo, hooks);
  if (!log.ok()) return log.status().with_context("starting the engine");
  log_ = std::move(*log);
  executor_.set_log(log_.get());
  recovery_.log = log_->recovery_report();
  CAIRN_RETURN_IF_ERROR(replay());
  next_run_id_.store(projection_.max_run_id() + 1);
  recovery_.runs_resumed = projection_.finish_replay(&recovery_.runs_of_unknown_functions);
  scheduler_.flush_deferred();
  if (options_.options_file) {
    // Advice for the tools, under the log's lock: a failure costs them the application's limits,
    // not the engine anything it needs, so it is reported rather than refusing the start.
    if (Status st = write_options_file(*fs_, options_.dir, options_); !st.ok()) {
      recovery_.options_file_problem =
          "writing " + (options_.dir / kOptionsFileName).string() + ": " + st.message();
    }
  }
  if (options_.snapshots) {
    snapshotter_ = std::make_unique<Snapshotter>(*this, fs_, snapshot_dir_);
    snapshotter_->start(*log_, loaded_snapshot_, std::move(loaded_snapshot_contents_));
    snapshotter_ptr_.store(snapshotter_.get(), std::memory_order_release);
  }
  started_.store(true, std::memory_order_release);
  timers_.start();
  CAIRN_RETURN_IF_ERROR(scheduler_.start().with_context("starting the engine"));
  return start_crons();
}

Status EngineCore::start_crons() {
  const int64_t now_ms = clock_->now_ms();
  for (size_t i = 0; i < crons_->size(); ++i) {
    const CronSchedule::Slot& s = crons_->slot(i);
    const std::optional<int64_t> cursor = projection_.cron_cursor(s.fn->id, s.trigger->text);
    const CronSchedule::StartPlan plan =
        crons_->plan_start(i, cursor, now_ms, options_.cron_catch_up_max);
    if (plan.append_cursor) {
      // Its apply arms the next tick.
      CAIRN_RETURN_IF_ERROR(append(schema::RecordType::CronCursor,
                                   build_cron_cursor(s.fn->id, s.trigger->text, plan.tick_ms,
                                                     plan.skipped, clock_->now_us()))
                                .with_context("starting cron trigger \"" + s.trigger->text +
                                              "\" of function " + s.fn->id));
    } else {
      cron_applied(s.fn->id, s.trigger->text, *cursor);
    }
  }
  return Status();
}

void EngineCore::cron_applied(std::string_view function_id, std::string_view expression,
                              int64_t tick_ms) {
  if (crons_ == nullptr) return;
  if (auto timer = crons_->next_timer(function_id, expression, tick_ms)) {
    timers_.arm(timer->first, 0, 0, timer->second);
  }
}

void EngineCore::fire_cron(size_t i) {
  const CronSchedule::Slot& s = crons_->slot(i);
  const int64_t tick = crons_->due_tick(i);
  const RunId run = allocate_run_ids(1);
  const Event event = cron_tick_event(s.fn->id, *s.trigger, tick);
  const Status st =
      append(schema::RecordType::RunCreated,
             build_cron_run(run, s.fn->id, event, s.trigger->text, tick, clock_->now_us()));
  // A full disk refuses it for now (the log goes on when space returns): try the tick again in
  // a second. Any other failure stops the engine, cron with it.
  if (st.code() == StatusCode::kNoSpace) {
    timers_.arm(kCronTimerBit | i, 0, 0, clock_->now_ms() + 1000);
  }
}

Result<std::optional<SnapshotName>> EngineCore::load_newest_snapshot() {
  std::optional<SnapshotName> loaded;
  // Listed (leftovers of interrupted writes removed: the log's lock is held now) whether or not
  // snapshots are on: one that cannot describe this log is moved aside in any case, before
  // anything is appended.
  CAIRN_ASSIGN_OR_RETURN(std::vector<SnapshotName> snaps, list_snapshots(*fs_, snapshot_dir_));
  const log::Lsn first = log_->first_lsn();
  const log::Lsn end = log_->durable_lsn();
  auto set_aside = [&](const SnapshotName& s, const std::string& why) -> Status {
    CAIRN_ASSIGN_OR_RETURN(const std::string moved, move_snapshot_aside(s.name));
    recovery_.snapshot_problems.push_back(snapshot_dir_ + "/" + s.name + ": " + why +
                                          "; moved to " + moved);
    return Status();
  };
  for (const SnapshotName& s : snaps) {
    const std::string path = snapshot_dir_ + "/" + s.name;
    if (s.lsn > end) {
      // The log ends before records this snapshot includes (it was repaired, or cut in
      // point-in-time mode): the snapshot does not describe this log, and once new records take
      // the log past its LSN it would seem to.
      CAIRN_RETURN_IF_ERROR(set_aside(s, "covers records up to LSN " + std::to_string(s.lsn) +
                                             " but the log ends at " + std::to_string(end)));
      continue;
    }
    if (!options_.snapshots || loaded) continue;
    if (s.lsn < first) {
      recovery_.snapshot_problems.push_back(path + ": the log after it begins only at LSN " +
                                            std::to_string(first));
      continue;
    }
    bool newer = false;
    const auto t0 = std::chrono::steady_clock::now();
    Result<SnapshotContents> c =
        read_snapshot_file(*fs_, path, options_.snapshot_bytes_max, &newer);
    if (newer) return c.status().with_context("starting the engine (refusing a newer snapshot)");
    if (!c.ok() && c.status().code() == StatusCode::kLimitExceeded) {
      // Over snapshot_bytes_max (lowered since it was written): refused like a damaged one, for
      // the next older one or a full replay. It is whole, so it stays where it is: a larger limit
      // loads it again, and it is removed like any older snapshot once newer ones are kept.
      recovery_.snapshot_problems.push_back(c.status().message() + "; skipped");
      continue;
    }
    // A damaged snapshot is kept (moved aside), never used: the next older one, or a full replay.
    // load_snapshot checks everything before it changes anything.
    Result<uint64_t> lsn = c.ok() ? projection_.load_snapshot(*c, finished_, s.lsn) : c.status();
    if (!lsn.ok()) {
      if (lsn.status().code() != StatusCode::kCorruption) return lsn.status();  // I/O: stop
      CAIRN_RETURN_IF_ERROR(set_aside(s, lsn.status().message()));
      continue;
    }
    recovery_.snapshot = path;
    recovery_.snapshot_lsn = *lsn;
    // The snapshotter starts from the same state: it takes these bytes instead of reading the
    // file again.
    loaded_snapshot_contents_ = std::make_shared<const SnapshotContents>(std::move(*c));
    recovery_.snapshot_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    loaded = s;
  }
  if (!loaded && first > 0) {
    return Status(
        StatusCode::kCorruption,
        "starting the engine: the log begins at LSN " + std::to_string(first) +
            " (retention removed what came before) and no usable snapshot covers it" +
            (recovery_.snapshot_problems.empty() ? std::string()
                                                 : ": " + recovery_.snapshot_problems.front()));
  }
  return loaded;
}

Result<std::string> EngineCore::move_snapshot_aside(const std::string& name) {
  const std::string quarantine = snapshot_dir_ + "/quarantine";
  Status made = fs_->create_dir(quarantine);
  if (!made.ok() && made.code() != StatusCode::kAlreadyExists) return made;
  CAIRN_RETURN_IF_ERROR(fs_->fsync_dir(snapshot_dir_));
  // Never over an earlier one of the same name (a snapshot at the same LSN, written again after
  // the log was cut back and grew past it): a rename would delete what that one kept.
  CAIRN_ASSIGN_OR_RETURN(std::string to, log::unused_path_in(*fs_, quarantine, name));
  CAIRN_RETURN_IF_ERROR(fs_->rename(snapshot_dir_ + "/" + name, to));
  CAIRN_RETURN_IF_ERROR(fs_->fsync_dir(quarantine));
  CAIRN_RETURN_IF_ERROR(fs_->fsync_dir(snapshot_dir_));
  return to;
}

Status EngineCore::replay() {
  const auto t0 = std::chrono::steady_clock::now();
  CAIRN_ASSIGN_OR_RETURN(loaded_snapshot_, load_newest_snapshot());
  // From where the snapshot's last record is, when one was loaded.
  const log::FramePosition near = loaded_snapshot_contents_
                                      ? snapshot_last_frame(*loaded_snapshot_contents_)
                                      : log::FramePosition{};
  CAIRN_ASSIGN_OR_RETURN(auto reader, log_->read_from(recovery_.snapshot_lsn, near));
  uint64_t records = 0;
  uint64_t bytes = 0;
  for (;;) {
    auto rec = reader->next();
    if (!rec.ok()) return rec.status().with_context("replaying the log");
    if (*rec == nullptr) break;
    projection_.apply((*rec)->lsn, (*rec)->type, (*rec)->payload, /*live=*/false);
    ++records;
    bytes += (*rec)->payload.size();
  }
  recovery_.records = records;
  recovery_.bytes = bytes;
  recovery_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return Status();
}

Status EngineCore::shutdown() {
  // It waits for the workers and the log's threads to end: called from one of them (a step, a
  // function, on_run_finished) it would wait for itself. Refused before anything is stopped.
  if (scheduler_.on_worker_thread() || t_in_run_finished == this) {
    return Status(StatusCode::kInvalidArgument,
                  "shutdown() called from the engine's own thread (inside a function, a step or "
                  "on_run_finished): it waits for that thread to end, so it could never return "
                  "there; call it from another thread");
  }
  std::lock_guard lock(lifecycle_mu_);
  if (stopped_.exchange(true)) return Status();
  Status st;
  if (started_.load()) {
    timers_.stop();
    scheduler_.stop();
    // Nothing appends any more: the last snapshot covers all that is durable now (a record
    // still in flight is replayed after it at the next start).
    if (snapshotter_) snapshotter_->stop();  // note_durable stays safe: it only pokes
    st = log_->close();                      // everything appended becomes durable and is applied
  }
  for (RunState* r : scheduler_.drain()) {
    if (r->finished.load()) Executor::destroy(r);  // unfinished ones are in the table
  }
  for (RunRecord* r : projection_.take_all()) Executor::destroy(static_cast<RunState*>(r));
  finished_.fail(Status(StatusCode::kClosed, "the engine was shut down"));
  return st;
}

Status EngineCore::check_running() const {
  if (failed_.load(std::memory_order_acquire)) {
    std::lock_guard lock(failure_mu_);
    return failure_;
  }
  if (!started_.load(std::memory_order_acquire)) {
    return Status(StatusCode::kInvalidArgument, "the engine is not started (call start())");
  }
  if (stopped_.load(std::memory_order_acquire)) {
    return Status(StatusCode::kClosed, "the engine is shut down");
  }
  return Status();
}

Status EngineCore::health() const {
  CAIRN_RETURN_IF_ERROR(check_running());
  return log_->health();
}

Status EngineCore::append(schema::RecordType type, Bytes payload) {
  Result<log::Lsn> lsn = log_->append(static_cast<log::RecordType>(type), payload);
  return lsn.ok() ? Status() : lsn.status();
}

namespace {

// The send() call this thread is in (0: none, as for ctx.send_event). A send() that names an id
// twice holds the first reservation itself: the second is a duplicate, not something to wait for.
thread_local uint64_t t_send_owner = 0;
std::atomic<uint64_t> next_send_owner{1};

}  // namespace

Status EngineCore::prepare_event(Event& e, bool* duplicate, std::vector<std::string_view>* fns) {
  *duplicate = false;
  fns->clear();
  if (e.name.empty()) return Status(StatusCode::kInvalidArgument, "an event needs a name");
  if (std::optional<std::string> why = event_size_problem(e, options_)) {
    // The name may be what is too long: a message quotes only its start.
    return Status(StatusCode::kLimitExceeded,
                  "event " + bounded_text(e.name, kQuotedNameBytes) + ": " + *why);
  }
  if (std::optional<std::string> why = event_data_problem(e.data)) {
    return Status(StatusCode::kInvalidArgument, "event " + bounded_text(e.name, kQuotedNameBytes) +
                                                    ": " + *why +
                                                    ", got: " + bounded_text(e.data, 120));
  }
  const int64_t now = clock_->now_ms();
  if (e.ts_ms == 0) e.ts_ms = now;
  if (e.id.empty()) {
    // Unique without coordination — time, a per-process random salt and a counter — and short
    // enough (15 characters) to live inside the std::string of every run it starts.
    static const uint64_t salt = std::random_device{}();
    const uint64_t n = (salt + event_counter_.fetch_add(1)) & ((uint64_t{1} << 30) - 1);
    const uint64_t t = static_cast<uint64_t>(e.ts_ms) & ((uint64_t{1} << 40) - 1);
    static constexpr char kDigits[] = "0123456789abcdefghijklmnopqrstuv";
    char id[16];
    id[0] = 'e';
    for (int i = 0; i < 8; ++i) id[1 + i] = kDigits[(t >> (35 - 5 * i)) & 31];
    for (int i = 0; i < 6; ++i) id[9 + i] = kDigits[(n >> (25 - 5 * i)) & 31];
    e.id.assign(id, 15);
  } else {
    // Keyed on when the engine accepts it, not on the sender's time. An id another send has
    // reserved but not yet made durable is waited for: "duplicate" is only ever said of an event
    // that is in the log (if that send fails, this one takes the id over).
    switch (dedup_.reserve(e.id, now, t_send_owner, [this] { return !check_running().ok(); })) {
      case DedupWindow::Reserve::kReserved:
        break;
      case DedupWindow::Reserve::kDuplicate:
        *duplicate = true;
        return Status();
      case DedupWindow::Reserve::kGaveUp: {
        Status st = check_running();
        return st.ok() ? Status(StatusCode::kClosed, "the engine is shut down") : st;
      }
      case DedupWindow::Reserve::kFull:
        // kUnavailable, as for runs_active_max: the oldest ids leave the window and make room.
        return Status(StatusCode::kUnavailable,
                      "dedup_ids_max (" + std::to_string(options_.dedup_ids_max) +
                          ") event ids are held within dedup_window: an event naming a new id is "
                          "refused until the oldest leave the window (events without an id are "
                          "taken)");
    }
  }
  registry_.match(e.name, fns);
  return Status();
}

Status EngineCore::check_ids_can_fit(std::span<const Event> events) const {
  if (events.size() <= options_.dedup_ids_max) return Status();
  std::unordered_set<std::string_view> ids;
  for (const Event& e : events) {
    if (!e.id.empty()) ids.insert(e.id);
  }
  if (ids.size() <= options_.dedup_ids_max) return Status();
  // kLimitExceeded, not kUnavailable: the window never holds more than dedup_ids_max ids, so
  // waiting for the oldest to leave would never make room for all of them.
  return Status(StatusCode::kLimitExceeded,
                "one send() names " + std::to_string(ids.size()) +
                    " event ids and the dedup window holds at most dedup_ids_max (" +
                    std::to_string(options_.dedup_ids_max) +
                    "): it could never be taken; send fewer at once (none was accepted)");
}

Status EngineCore::check_room_for_runs(size_t runs) const {
  if (runs == 0 || projection_.active_runs() + runs <= options_.runs_active_max) return Status();
  // More runs than the limit itself: no run's end ever makes room, so "retry later" would be a
  // promise a retrying client follows for ever.
  if (runs > options_.runs_active_max) {
    return Status(StatusCode::kLimitExceeded,
                  "this would start " + std::to_string(runs) +
                      " runs, more than runs_active_max (" +
                      std::to_string(options_.runs_active_max) +
                      ") unfinished runs at once: it never fits, whatever finishes");
  }
  // kUnavailable, not kLimitExceeded: nothing is wrong with what was asked, and it can be asked
  // again once runs finish (the dashboard answers 503 with Retry-After, not 413).
  return Status(StatusCode::kUnavailable,
                "runs_active_max (" + std::to_string(options_.runs_active_max) +
                    ") unfinished runs reached: no new run is accepted until some finish");
}

Result<std::vector<SendResult>> EngineCore::send(std::span<const Event> events) {
  CAIRN_RETURN_IF_ERROR(check_running());
  // A full disk: the log waits for space (keeping all that is durable) and the runs in progress
  // stall at their next record; new work is refused at once rather than queued behind them.
  if (Status h = log_->health(); h.code() == StatusCode::kNoSpace) {
    return Status(StatusCode::kNoSpace,
                  "the engine takes no new events while the disk is full (it goes on by itself "
                  "when space returns; what is durable is kept): " +
                      h.message());
  }
  // Every event is checked and its id reserved before anything is appended, and one record holds
  // them all: the batch is accepted whole or not at all, so a caller that retries after an error
  // never duplicates part of it.
  CAIRN_RETURN_IF_ERROR(check_ids_can_fit(events));
  std::vector<Event> accepted;
  accepted.reserve(events.size());
  std::vector<std::string_view> functions;  // of every accepted event, in order
  std::vector<size_t> function_count;       // per accepted event
  std::vector<char> id_generated;           // per accepted event
  std::vector<SendResult> results(events.size());
  auto release_ids = [&] {  // a send waiting for one of them may then reserve it
    for (const Event& e : accepted) dedup_.erase(e.id);
  };
  std::vector<std::string_view> fns;
  struct OwnerScope {
    uint64_t outer;
    ~OwnerScope() { t_send_owner = outer; }
  } owner_scope{std::exchange(t_send_owner, next_send_owner.fetch_add(1))};
  for (size_t i = 0; i < events.size(); ++i) {
    Event e = events[i];
    const bool generated = e.id.empty();
    bool duplicate = false;
    if (Status st = prepare_event(e, &duplicate, &fns); !st.ok()) {
      release_ids();
      if (events.size() == 1) return st;
      return st.with_context("event " + std::to_string(i + 1) + " of " +
                             std::to_string(events.size()) + " (none was accepted)");
    }
    results[i].event_id = e.id;
    results[i].duplicate = duplicate;
    if (duplicate) continue;
    functions.insert(functions.end(), fns.begin(), fns.end());
    function_count.push_back(fns.size());
    id_generated.push_back(generated);
    accepted.push_back(std::move(e));
  }
  if (accepted.empty()) return results;
  if (Status st = check_room_for_runs(functions.size()); !st.ok()) {
    release_ids();
    return st;
  }
  const RunId first =
      functions.empty() ? 0 : allocate_run_ids(static_cast<uint32_t>(functions.size()));
  Result<log::Lsn> lsn = append_events(accepted, functions, function_count, id_generated, first);
  if (!lsn.ok()) {
    release_ids();
    if (lsn.status().code() == StatusCode::kLimitExceeded && accepted.size() > 1) {
      return lsn.status().with_context(
          "the " + std::to_string(accepted.size()) +
          " events of one send() go into one log record and together exceed its limit; send "
          "fewer at once (none was accepted)");
    }
    return lsn.status();
  }
  // The writer applies a batch before it reports it durable: the runs are visible once this
  // returns (see log::DurableListener), and applying it confirmed the ids reserved above (sends of
  // them waiting meanwhile now get "duplicate").
  CAIRN_RETURN_IF_ERROR(log_->wait_durable(*lsn));
  RunId next = first;
  size_t a = 0;
  for (SendResult& r : results) {
    if (r.duplicate) continue;
    for (size_t k = 0; k < function_count[a]; ++k) r.runs.push_back(next++);
    ++a;
  }
  return results;
}

Result<log::Lsn> EngineCore::append_events(const std::vector<Event>& events,
                                           std::span<const std::string_view> functions,
                                           std::span<const size_t> function_count,
                                           std::span<const char> id_generated, RunId first) {
  if (events.size() == 1) {
    return log_->append(type_of(schema::RecordType::EventAccepted),
                        build_event_accepted(events[0], first, functions, nullptr, false,
                                             clock_->now_us(), id_generated[0] != 0));
  }
  std::vector<BatchedEvent> batch(events.size());
  RunId next = first;
  size_t f = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    const size_t n = function_count[i];
    batch[i] =
        BatchedEvent{&events[i], n == 0 ? 0 : next, functions.subspan(f, n), id_generated[i] != 0};
    next += n;
    f += n;
  }
  return log_->append(type_of(schema::RecordType::EventBatch),
                      build_event_batch(batch, clock_->now_us()));
}

Status EngineCore::cancel(RunId run, const std::string& reason) {
  CAIRN_RETURN_IF_ERROR(check_running());
  // A run that just ended is still in the table, with its end's status, until it moves to the
  // finished runs: that status decides, not where it is.
  std::optional<RunInfo> info = projection_.info(run);
  if (!info || is_finished(info->status)) {
    if (!info) info = finished_.find(run);
    if (info) {
      return Status(StatusCode::kInvalidArgument,
                    "run " + std::to_string(run) + " already finished (" +
                        std::string(run_status_name(info->status)) + ")");
    }
    return Status(StatusCode::kNotFound, "no run " + std::to_string(run));
  }
  Result<log::Lsn> lsn = log_->append(
      type_of(schema::RecordType::RunCancelled),
      build_run_cancelled(run, bounded_text(reason, options_.error_bytes_max), clock_->now_us()));
  if (!lsn.ok()) return lsn.status();
  return log_->wait_durable(*lsn);
}

Result<uint64_t> EngineCore::cancel_runs(RunQuery query, const std::string& reason) {
  CAIRN_RETURN_IF_ERROR(check_running());
  if (query.status && is_finished(*query.status)) return uint64_t{0};
  const std::string text = bounded_text(reason, options_.error_bytes_max);
  // Pages of unfinished runs, newest first; each page's cancellations are appended before the
  // next is read, so memory stays at one page however many runs match.
  constexpr size_t kPage = 1024;
  query.before = 0;
  query.limit = kPage;
  uint64_t cancelled = 0;
  log::Lsn last = 0;
  for (;;) {
    std::vector<RunInfo> page = projection_.page(query);
    const bool more = page.size() > kPage;
    if (more) page.resize(kPage);
    for (const RunInfo& r : page) {
      Result<log::Lsn> lsn = log_->append(type_of(schema::RecordType::RunCancelled),
                                          build_run_cancelled(r.id, text, clock_->now_us()));
      if (!lsn.ok()) return lsn.status();
      last = *lsn;
      ++cancelled;
    }
    if (!more || page.empty()) break;
    query.before = page.back().id;
  }
  if (cancelled > 0) CAIRN_RETURN_IF_ERROR(log_->wait_durable(last));
  return cancelled;
}

Result<RunId> EngineCore::replay_run(RunId run, bool from_start) {
  CAIRN_RETURN_IF_ERROR(check_running());
  // The finished runs first: a run enters them before it leaves the run table.
  std::optional<RunInfo> original = finished_.find(run);
  if (!original && projection_.info(run)) {
    return Status(StatusCode::kInvalidArgument,
                  "run " + std::to_string(run) + " is not finished: cancel it first to replay it");
  }
  if (!original) {
    return Status(StatusCode::kNotFound,
                  "no finished run " + std::to_string(run) +
                      " in memory (unknown, or older than the runs_finished_kept newest)");
  }
  std::vector<HistoryEntry> history;
  std::deque<RunInfo> invoked;  // outcomes of the runs it invoked (`copied` refers into them)
  std::vector<CopiedOpArgs> copied;
  if (!from_start) {
    if (original->status != RunStatus::kFailed) {
      return Status(StatusCode::kInvalidArgument,
                    "run " + std::to_string(run) + " did not fail (it is " +
                        std::string(run_status_name(original->status)) +
                        "): only a failed run is replayed from its failed step; replay it from "
                        "the start");
    }
    CAIRN_ASSIGN_OR_RETURN(
        history,
        run_history(run, HistoryLimits{
                             .entries = static_cast<size_t>(options_.steps_per_run_max) * 4 + 16}));
    auto lookup = [this](RunId child) -> std::optional<RunInfo> {
      if (auto done = finished_.find(child)) return done;
      return projection_.info(child);
    };
    Result<std::vector<CopiedOpArgs>> results = results_before_failure(history, lookup, &invoked);
    if (!results.ok()) {
      return results.status().with_context("run " + std::to_string(run));
    }
    copied = std::move(*results);
  }
  CAIRN_RETURN_IF_ERROR(check_room_for_runs(1));
  const RunId id = allocate_run_ids(1);
  Result<log::Lsn> lsn = log_->append(
      type_of(schema::RecordType::RunCreated),
      build_run_replay(id, original->function_id, original->event, run, copied, clock_->now_us()));
  if (!lsn.ok()) {
    if (lsn.status().code() == StatusCode::kLimitExceeded) {
      return lsn.status().with_context("the results of run " + std::to_string(run) +
                                       " do not fit one record: replay it from the start");
    }
    return lsn.status();
  }
  CAIRN_RETURN_IF_ERROR(log_->wait_durable(*lsn));
  return id;
}

Result<RunInfo> EngineCore::get_run(RunId run) const {
  // Apply finishes a run in three moves: its status in the table says finished, it enters the
  // finished runs (with its output), it leaves the table. So: the table first (a run not there
  // and not in the finished runs after was never there, or was dropped); a run the table already
  // calls finished is read from the finished runs, which it enters a moment later.
  for (int tries = 0;; ++tries) {
    std::optional<RunInfo> live = projection_.info(run);
    if (live && !is_finished(live->status)) return *live;
    if (auto done = finished_.find(run)) return *done;
    if (!live) {
      // Not started, or shut down: the table is empty, and "no run" would be wrong for a run
      // that is in the log.
      CAIRN_RETURN_IF_ERROR(check_running());
      return Status(
          StatusCode::kNotFound,
          "no run " + std::to_string(run) + " (unknown, or finished and no longer kept in memory)");
    }
    // Between the first two moves (or never kept: runs_finished_kept 0): wait a little, then
    // take the table's word, without the output.
    if (tries == 1000) return *live;
    std::this_thread::yield();
  }
}

RunPage EngineCore::list_runs(const RunQuery& query) const {
  if (query.limit == 0) return RunPage{};  // an empty page, and no cursor to go on from
  // A larger page is cut to this many, with `next` to go on from (limit + 1 below overflowed for
  // SIZE_MAX, and the page came back empty).
  RunQuery q = query;
  q.limit = std::min(q.limit, kRunPageMax);
  // The newest limit + 1 of each source; the newest limit + 1 of both decide the page and whether
  // another follows. A run that finishes meanwhile may show in both: the unfinished copy goes.
  std::vector<RunInfo> active = projection_.page(q);
  std::vector<RunInfo> finished = finished_.page(q);
  std::vector<RunInfo> all;
  all.reserve(active.size() + finished.size());
  std::merge(std::make_move_iterator(active.begin()), std::make_move_iterator(active.end()),
             std::make_move_iterator(finished.begin()), std::make_move_iterator(finished.end()),
             std::back_inserter(all),
             [](const RunInfo& a, const RunInfo& b) { return a.id > b.id; });
  RunPage page;
  for (RunInfo& r : all) {
    if (!page.runs.empty() && page.runs.back().id == r.id) {
      if (is_finished(r.status)) page.runs.back() = std::move(r);
      continue;
    }
    if (page.runs.size() == q.limit) {
      page.next = page.runs.back().id;
      break;
    }
    page.runs.push_back(std::move(r));
  }
  return page;
}

Result<std::vector<cairn::HistoryEntry>> EngineCore::run_history(
    RunId run, const HistoryLimits& limits) const {
  CAIRN_RETURN_IF_ERROR(check_running());
  if (limits.entries == 0) {
    return Status(StatusCode::kInvalidArgument, "run_history: limit must be at least 1");
  }
  // A cut value ends with a note of its whole length; below this there is no room for it.
  if (limits.value_bytes_max < kHistoryValueBytesMin) {
    return Status(StatusCode::kInvalidArgument, "run_history: value_bytes_max must be at least " +
                                                    std::to_string(kHistoryValueBytesMin) +
                                                    ", got " +
                                                    std::to_string(limits.value_bytes_max));
  }
  std::optional<uint64_t> from = projection_.created_lsn(run);
  if (!from) from = finished_.created_lsn(run);
  const bool known_start = from.has_value();
  // A run no longer in memory: its history is still in the log, from wherever it begins.
  if (!from && run < next_run_id_.load()) from = log_->recovery_report().first_lsn;
  if (!from) return Status(StatusCode::kNotFound, "no run " + std::to_string(run));
  // A run shown finished may have its last record in a batch the log has not announced durable
  // yet (it does so after this engine's on_durable returns): the reader must reach it.
  if (const log::Lsn seen = applied_end_.load(std::memory_order_acquire); seen > 0) {
    CAIRN_RETURN_IF_ERROR(log_->wait_durable(seen - 1));
  }
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<log::LogReader> reader, log_->read_from(*from));
  // Checked with the reader open (it holds the log from here on): a run that finished after
  // living longer than history_window can have its first records in segments retention removed
  // since. Part of a history is not a history: a replay from the failed step would miss the
  // results before it, and a caller would read it as the whole story.
  if (const log::Lsn first = log_->first_lsn(); known_start && *from < first) {
    return Status(StatusCode::kNotFound,
                  "run " + std::to_string(run) + " began at LSN " + std::to_string(*from) +
                      ", before the log's first retained record (LSN " + std::to_string(first) +
                      "): retention removed the start of its history (history_window)");
  }
  CAIRN_ASSIGN_OR_RETURN(std::vector<cairn::HistoryEntry> history,
                         read_run_history(*reader, run, limits));
  if (history.empty()) {
    const log::Lsn first = log_->first_lsn();
    return Status(StatusCode::kNotFound,
                  "no run " + std::to_string(run) +
                      (first > 0 ? " in the retained log (from LSN " + std::to_string(first) +
                                       "; retention removes what is older than history_window)"
                                 : ""));
  }
  return history;
}

Result<RunInfo> EngineCore::wait_run(RunId run, std::chrono::milliseconds timeout) {
  if (timeout.count() < 0) {
    return Status(StatusCode::kInvalidArgument,
                  "wait_run: timeout must not be negative (0 .. milliseconds::max(); 0: do not "
                  "wait), got " +
                      std::to_string(timeout.count()) + " ms");
  }
  if (!projection_.info(run) && !finished_.find(run)) {
    CAIRN_RETURN_IF_ERROR(check_running());  // not started, or shut down: not "no run"
    return Status(StatusCode::kNotFound,
                  "no run " + std::to_string(run) +
                      " (unknown, or finished and no longer kept in memory: runs_finished_kept, "
                      "runs_finished_bytes_max; run_history reads it from the log)");
  }
  // now + timeout is taken in nanoseconds: a timeout of more than ~292 years (milliseconds::max(),
  // "forever") overflowed into the past and the call returned kTimeout at once. Saturate instead.
  using Clock = std::chrono::steady_clock;
  const Clock::time_point now = Clock::now();
  const auto room =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::time_point::max() - now);
  const Clock::time_point deadline = timeout >= room ? Clock::time_point::max() : now + timeout;
  return finished_.wait(run, deadline, [this, run] { return projection_.info(run).has_value(); });
}

std::vector<FunctionStats> EngineCore::function_stats() const {
  std::vector<FunctionStats> out;
  std::unordered_map<std::string, size_t> index;  // function id -> its place in `out`
  registry_.for_each([&](const FunctionEntry& f) {
    FunctionStats s{.id = f.id, .registered = true};
    for (const Trigger& t : f.options.triggers)
      s.triggers.push_back(t.event.empty() ? "cron: " + t.cron : t.event);
    index.emplace(f.id, out.size());
    out.push_back(std::move(s));
  });
  auto counts = projection_.function_counts();
  // Functions with runs but not registered here follow the registered ones, by id.
  std::sort(counts.begin(), counts.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [id, n] : counts) {
    auto [it, added] = index.emplace(id, out.size());
    if (added) out.push_back(FunctionStats{.id = id});
    FunctionStats& s = out[it->second];
    s.queued = n[static_cast<size_t>(RunStatus::kQueued)];
    s.running = n[static_cast<size_t>(RunStatus::kRunning)];
    s.sleeping = n[static_cast<size_t>(RunStatus::kSleeping)];
    s.waiting = n[static_cast<size_t>(RunStatus::kWaiting)];
  }
  return out;
}

EngineStats EngineCore::stats() const {
  EngineStats s;
  const ProjectionCounters& c = projection_.counters();
  s.runs_active = projection_.active_runs();
  s.runs_created = c.runs_created.load();
  s.runs_finished = c.runs_finished.load();
  s.steps_completed = c.steps_completed.load();
  s.step_failures = c.step_failures.load();
  s.sends_deferred = c.sends_deferred.load();
  s.events = c.events.load();
  s.timers = timers_.size();
  s.cron_ticks_skipped = projection_.counters().cron_ticks_skipped.load(std::memory_order_relaxed);
  s.waiting_for_events = projection_.waiting_for_events();
  s.dedup_ids = dedup_.size();
  s.dispatch_samples = dispatch_latency_.count();
  s.dispatch_p50_us = static_cast<double>(dispatch_latency_.percentile(0.50)) / 1e3;
  s.dispatch_p99_us = static_cast<double>(dispatch_latency_.percentile(0.99)) / 1e3;
  s.dispatch_p999_us = static_cast<double>(dispatch_latency_.percentile(0.999)) / 1e3;
  if (log_) s.log = log_->stats();
  if (snapshotter_) {
    const SnapshotterStats ss = snapshotter_->stats();
    s.snapshots_written = ss.written;
    s.snapshot_failures = ss.failed;
    s.snapshot_last_lsn = ss.last_lsn;
    s.snapshot_last_bytes = ss.last_bytes;
    s.snapshot_longest_ms = ss.longest_ms;
    s.snapshot_runs_packed = ss.runs_packed;
    s.snapshot_last_error = ss.last_error;
    s.segments_removed = ss.segments_removed;
  }
  return s;
}

void EngineCore::on_durable(const log::DurableBatch& batch) noexcept {
  applied_end_.store(batch.end, std::memory_order_release);
  // The scheduler queues the runs this makes runnable in groups (Scheduler::notify_deferred); the
  // last group goes at the end of the batch.
  for (const log::RecordView& r : batch.records) {
    projection_.apply(r.lsn, r.type, r.payload, /*live=*/true);
  }
  if (Snapshotter* s = snapshotter_ptr_.load(std::memory_order_acquire)) {
    s->note_durable(batch.records.size());
  }
  scheduler_.flush_deferred();
}

void EngineCore::on_log_failed(const Status& status) noexcept {
  {
    std::lock_guard lock(failure_mu_);
    failure_ = status.with_context("the engine stopped because its log failed");
  }
  failed_.store(true, std::memory_order_release);
  finished_.fail(failure_);
}

void EngineCore::arm_timer(RunId run, uint32_t position, schema::ResumeReason reason,
                           int64_t deadline_ms) {
  timers_.arm(run, position, static_cast<uint8_t>(reason), deadline_ms);
}

void EngineCore::run_finished(const RunInfo& info, uint64_t created_lsn, uint64_t, bool live) {
  finished_.add(info, created_lsn);
  // Runs that finished in an earlier incarnation were reported then; recovery only remembers them.
  if (live && options_.on_run_finished) {
    t_in_run_finished = this;
    options_.on_run_finished(info.id, info.status);
    t_in_run_finished = nullptr;
  }
}

void EngineCore::release_finished(RunRecord& record) {
  auto& run = static_cast<RunState&>(record);  // its projection executes
  // One atomic step decides who frees it, and is the last touch of the run here: parked (or
  // abandoned), we take it and free it now; queued or being driven, kFinished tells the worker
  // that has it (or will dequeue it) to free it. A worker never frees a run on `finished` alone.
  Sched s = run.sched.load(std::memory_order_acquire);
  for (;;) {
    if (s == Sched::kIdle || s == Sched::kAbandoned) {
      if (run.sched.compare_exchange_weak(s, Sched::kQueued, std::memory_order_acq_rel)) {
        Executor::destroy(&run);
        return;
      }
    } else {
      CAIRN_CHECK(s == Sched::kQueued || s == Sched::kNotified);
      if (run.sched.compare_exchange_weak(s, Sched::kFinished, std::memory_order_acq_rel)) return;
    }
  }
}

void EngineCore::make_runnable(RunRecord& r) {
  auto& run = static_cast<RunState&>(r);  // its projection executes
  RunFlow* f = run.flow.get();
  // A run that holds a slot goes on (a cancel or skip it was asked for is the same wake-up).
  if (f == nullptr || run.holds_slot) {
    scheduler_.notify_deferred(run);
    return;
  }
  const RunFlow::Admission a =
      f != nullptr ? f->admission.load(std::memory_order_relaxed) : RunFlow::Admission::kAdmitted;
  // A run that is to record its cancellation, skip or failure needs no slot.
  if (!gate_.applies_to(*run.fn) || a == RunFlow::Admission::kToSkip ||
      a == RunFlow::Admission::kToFail || f->cancel_requested.load(std::memory_order_relaxed)) {
    scheduler_.notify_deferred(run);
    return;
  }
  // A run that has not started yet queues (its place ages) from when it could first start: its
  // creation (the time its creating record was accepted, from the log), or its admission when its
  // throttle delayed it. Not the clock now: the runs of one send() queue as of one instant, in
  // priority order however long apply takes over them. One that slept or waited queues again
  // from now.
  const int64_t enqueue_ms = run.positions.load(std::memory_order_relaxed) > 0 ? clock_->now_ms()
                             : f->throttled                                    ? f->decided_ms
                                            : run.created_us / 1000;
  const Status queued = gate_.want(run, enqueue_ms);
  if (queued.ok()) return;
  f->skip_reason = "its function's concurrency queue is full (runs_queued_per_function_max " +
                   std::to_string(options_.runs_queued_per_function_max) + "): " + queued.message();
  f->admission.store(RunFlow::Admission::kToFail, std::memory_order_release);
  scheduler_.notify_deferred(run);
}

void EngineCore::leave_gate(RunRecord& r) {
  auto& run = static_cast<RunState&>(r);
  if (run.flow != nullptr && (run.flow->queued || run.holds_slot)) gate_.forget(run);
}

void EngineCore::fire_timers(const std::vector<TimerEntry>& due) {
  for (const TimerEntry& t : due) {
    if (CronSchedule::is_timer_key(t.run)) {
      fire_cron(CronSchedule::index_of(t.run));
      continue;
    }
    const StepRefArgs ref{t.run & ~kTimeoutTimerBit, t.position, {}};
    const Status st = append(
        schema::RecordType::RunResumed,
        build_run_resumed(ref, static_cast<schema::ResumeReason>(t.reason), clock_->now_us()));
    // A RunResumed is a few dozen bytes: only a failed log refuses it, and that stops the engine
    // (health() and every later call report it); the timers go with it.
    CAIRN_CHECK_MSG(st.ok() || !is_size_error(st), "a RunResumed record was refused for its size");
    if (!st.ok()) return;
  }
}

}  // namespace cairn::detail
