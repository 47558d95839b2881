// Builds the FlatBuffers payload of each engine record (schema/records.fbs) in a thread-local
// builder; the returned bytes are valid until the next build on the same thread, which is long
// enough to hand them to Log::append (it copies).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "cairn/engine.h"
#include "cairn/schema/record_schema.h"

namespace cairn::detail {

using Bytes = std::span<const std::byte>;

struct StepRefArgs {
  RunId run = 0;
  uint32_t position = 0;
  std::string_view step_id;
};

// Every record carries when it happened on the engine's clock (`*_us`, microseconds since the
// Unix epoch) for tools; replay never reads those.
Bytes build_event_accepted(const Event& event, RunId first_run_id,
                           std::span<const std::string_view> functions, const StepRefArgs* origin,
                           bool duplicate, int64_t accepted_us, bool id_generated);
// One event of an EventBatch: the event, the first of its runs, and the functions they run.
struct BatchedEvent {
  const Event* event = nullptr;
  RunId first_run_id = 0;
  std::span<const std::string_view> functions;
  bool id_generated = false;
};
Bytes build_event_batch(std::span<const BatchedEvent> events, int64_t accepted_us);
Bytes build_run_created(RunId run, std::string_view function_id, const Event& event,
                        const StepRefArgs* parent, int64_t created_us);
// A cron trigger's run for one tick, and its cursor moved without a run.
Bytes build_cron_run(RunId run, std::string_view function_id, const Event& event,
                     std::string_view expression, int64_t tick_ms, int64_t created_us);
Bytes build_cron_cursor(std::string_view function_id, std::string_view expression, int64_t tick_ms,
                        uint64_t skipped_ticks, int64_t at_us);
// One result a replayed run starts with (see RunCreated.history).
struct CopiedOpArgs {
  OpKind kind = OpKind::kStep;
  std::string_view step_id;
  std::string_view value;
  ValueFormat format = ValueFormat::kBytes;
  const Event* event = nullptr;  // a wait's matched event (null: it timed out)
  RunId run = 0;                 // an invoke's run
};
// A replay of `original` (Engine::replay_run): the same function and input, and `history`
// (empty: from the start).
Bytes build_run_replay(RunId run, std::string_view function_id, const Event& event, RunId original,
                       std::span<const CopiedOpArgs> history, int64_t created_us);
// One attempt of a step's body: when it began and ended.
struct AttemptTimes {
  int64_t started_us = 0;
  int64_t finished_us = 0;
};
Bytes build_step_completed(const StepRefArgs& step, uint32_t attempt, std::string_view output,
                           ValueFormat format, AttemptTimes times);
Bytes build_step_failed(const StepRefArgs& step, uint32_t attempt, schema::FailureKind kind,
                        std::string_view error, int64_t retry_at_ms, AttemptTimes times);
Bytes build_sleep_started(const StepRefArgs& step, int64_t wake_at_ms, int64_t at_us);
Bytes build_wait_started(const StepRefArgs& step, std::string_view event_name,
                         std::string_view match_path, std::string_view match_value,
                         int64_t timeout_at_ms, int64_t at_us);
Bytes build_run_resumed(const StepRefArgs& step, schema::ResumeReason reason, int64_t at_us);
Bytes build_run_completed(RunId run, std::string_view output, ValueFormat format, int64_t at_us);
Bytes build_run_failed(RunId run, std::string_view error, RunId failure_handler_run, int64_t at_us);
Bytes build_run_cancelled(RunId run, std::string_view reason, int64_t at_us);
// Flow control: a run its throttle and/or rate limit let through at at_ms, with the keys, that a
// worker started at started_ms.
struct AdmittedArgs {
  bool throttle = false;
  std::string_view throttle_key;
  bool rate_limit = false;
  std::string_view rate_limit_key;
  int64_t started_ms = 0;
};
Bytes build_run_admitted(RunId run, int64_t at_ms, const AdmittedArgs& keys);
Bytes build_run_skipped(RunId run, std::string_view reason, std::string_view key, int64_t at_us);

constexpr uint16_t type_of(schema::RecordType t) {
  return static_cast<uint16_t>(t);
}

}  // namespace cairn::detail
