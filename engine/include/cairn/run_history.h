// A run's history as its records tell it: every step attempt with its times and value or error,
// sleeps, waits (and the event that ended one), sent events, invoked runs, and how the run ended.
// Engine::run_history() returns it for a live engine; read_run_history() reads it from any
// LogReader (a stopped engine's log, or the log up to an LSN: the run as it stood then).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cairn/codec.h"
#include "cairn/event.h"
#include "cairn/log/reader.h"
#include "cairn/log/status.h"

namespace cairn {

using RunId = uint64_t;
using TimePoint = std::chrono::system_clock::time_point;

struct HistoryEntry {
  enum class Kind : uint8_t {
    kCreated,        // the run was created: `event` is its input; `run` the parent (invoke);
                     // `value` "replay of run N" for Engine::replay_run
    kStepCompleted,  // an attempt of ctx.run succeeded: `value`
    kStepFailed,     // an attempt failed: `value` is the error; `deadline` the retry (or none)
    kSleepStarted,   // ctx.sleep: until `deadline`
    kWaitStarted,    // ctx.wait_for_event: for `event.name`; `deadline` the timeout (or none)
    kWaitMatched,    // the event that ended the wait: `event`
    kResumed,        // a sleep's timer fired, a wait timed out, a retry came due: `value` says
    kEventSent,      // ctx.send_event: `event` (with the id it was given)
    kInvoked,        // ctx.invoke: `run` is the run it started
    kCompleted,      // the end: `value` is the output
    kFailed,         // the end: `value` is the error; `run` the on_failure run, if any
    kCancelled,      // the end: `value` is the reason
    kAdmitted,       // its throttle or rate limit let it start: `value` names the keys
    kSkipped,        // the end: a rate limit refused it; `value` is the reason
    kSendDeferred,   // ctx.send_event found no room (runs_active_max, a full dedup window):
                     // nothing was sent; `value` says why, `deadline` when it is tried again
                     // (the epoch: it is not, and the function got a StepError)
  };
  Kind kind = Kind::kCreated;
  uint64_t lsn = 0;         // of the record that tells it
  uint32_t position = 0;    // the operation's place in the run (not for kCreated and the end)
  std::string step_id{};    // the operation's id
  uint32_t attempt = 0;     // steps (and deferred sends): 1 for the first attempt; 0: a result
                            // a replay copied
  TimePoint at;             // when it happened (a step attempt: when its body began)
  TimePoint finished_at{};  // a step attempt: when its body ended
  TimePoint deadline{};     // sleep wake, wait timeout, next retry; the epoch when none
  std::string value;        // output, error, reason, resume cause (see Kind)
  ValueFormat format = ValueFormat::kText;  // how to read `value`
  // A replay from the failed step (Engine::replay_run) lists the results it starts with right
  // after kCreated, each with attempt 0 and the replay's creation time: kStepCompleted,
  // kSleepStarted (a sleep that ended), kWaitMatched (or kResumed: the wait timed out),
  // kEventSent (the id only: nothing was sent again) and kInvoked (`value` the run's output).
  Event event;    // kCreated, kWaitStarted (name only), kWaitMatched, kEventSent
  RunId run = 0;  // kCreated (parent), kInvoked (child), kFailed (failure handler)
  // Cut to HistoryLimits::value_bytes_max: `value` / `event.data` then hold their first bytes and
  // end with " [... cut: N bytes in all]" (so a cut JSON value is text, no longer JSON).
  bool value_cut = false;
  bool event_data_cut = false;
};

// How much of a history to read. A history can be large (10,000 steps of 512 KiB outputs): a
// caller that shows part of it (the dashboard) bounds what is read into memory here.
struct HistoryLimits {
  size_t entries = 10'000;  // at most this many entries (at least 1)
  // Each entry's `value` and `event.data` longer than this are cut (see HistoryEntry::value_cut).
  size_t value_bytes_max = SIZE_MAX;
  // The entries stop at the one after the one whose values (`value` and `event.data`, as cut)
  // bring their sum past this (all the entries of that one's record): a caller that sees the sum
  // pass this before the last entry knows the history went on. One that ends with the entry that
  // passed it is whole.
  size_t bytes_max = SIZE_MAX;
};

std::string_view history_kind_name(HistoryEntry::Kind kind);

// Reads the history of `run` from `reader` (positioned at or before the run's creation) until
// the run's end, the end of the log, the record at `until` (not included), or `limit` entries.
// Records must be the engine's (schema/records.fbs), verified by the reader.
Result<std::vector<HistoryEntry>> read_run_history(log::LogReader& reader, RunId run,
                                                   size_t limit = 10'000,
                                                   uint64_t until = ~uint64_t{0});
// The same within `limits`.
Result<std::vector<HistoryEntry>> read_run_history(log::LogReader& reader, RunId run,
                                                   const HistoryLimits& limits,
                                                   uint64_t until = ~uint64_t{0});

}  // namespace cairn
