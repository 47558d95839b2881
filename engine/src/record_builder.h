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

Bytes build_event_accepted(const Event& event, RunId first_run_id,
                           std::span<const std::string_view> functions, const StepRefArgs* origin,
                           bool duplicate);
// One event of an EventBatch: the event, the first of its runs, and the functions they run.
struct BatchedEvent {
  const Event* event = nullptr;
  RunId first_run_id = 0;
  std::span<const std::string_view> functions;
};
Bytes build_event_batch(std::span<const BatchedEvent> events);
Bytes build_run_created(RunId run, std::string_view function_id, const Event& event,
                        const StepRefArgs* parent);
Bytes build_step_completed(const StepRefArgs& step, uint32_t attempt, std::string_view output);
Bytes build_step_failed(const StepRefArgs& step, uint32_t attempt, schema::FailureKind kind,
                        std::string_view error, int64_t retry_at_ms);
Bytes build_sleep_started(const StepRefArgs& step, int64_t wake_at_ms);
Bytes build_wait_started(const StepRefArgs& step, std::string_view event_name,
                         std::string_view match_path, std::string_view match_value,
                         int64_t timeout_at_ms);
Bytes build_run_resumed(const StepRefArgs& step, schema::ResumeReason reason);
Bytes build_run_completed(RunId run, std::string_view output);
Bytes build_run_failed(RunId run, std::string_view error, RunId failure_handler_run);
Bytes build_run_cancelled(RunId run, std::string_view reason);

constexpr uint16_t type_of(schema::RecordType t) {
  return static_cast<uint16_t>(t);
}

}  // namespace cairn::detail
