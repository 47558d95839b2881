// Record payload builders (see record_builder.h).
#include "record_builder.h"

namespace cairn::detail {
namespace {

flatbuffers::FlatBufferBuilder& builder() {
  thread_local flatbuffers::FlatBufferBuilder fbb(1024);
  fbb.Clear();
  return fbb;
}

Bytes finish(flatbuffers::FlatBufferBuilder& fbb) {
  return {reinterpret_cast<const std::byte*>(fbb.GetBufferPointer()), fbb.GetSize()};
}

flatbuffers::Offset<schema::StepRef> step_ref(flatbuffers::FlatBufferBuilder& fbb,
                                              const StepRefArgs& s) {
  auto id = fbb.CreateString(s.step_id.data(), s.step_id.size());
  return schema::CreateStepRef(fbb, s.run, s.position, id);
}

flatbuffers::Offset<flatbuffers::String> str(flatbuffers::FlatBufferBuilder& fbb,
                                             std::string_view s) {
  return fbb.CreateString(s.data(), s.size());
}

flatbuffers::Offset<flatbuffers::Vector<uint8_t>> bytes(flatbuffers::FlatBufferBuilder& fbb,
                                                        std::string_view s) {
  return fbb.CreateVector(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

schema::ValueFormat format_of(ValueFormat f) {
  return static_cast<schema::ValueFormat>(f);
}

flatbuffers::Offset<schema::EventAccepted> event_accepted(
    flatbuffers::FlatBufferBuilder& fbb, const Event& event, RunId first_run_id,
    std::span<const std::string_view> functions, const StepRefArgs* origin, bool duplicate,
    int64_t accepted_us, bool id_generated) {
  std::vector<flatbuffers::Offset<flatbuffers::String>> fns;
  fns.reserve(functions.size());
  for (std::string_view f : functions) fns.push_back(str(fbb, f));
  auto fn_vec = fbb.CreateVector(fns);
  auto id = str(fbb, event.id);
  auto name = str(fbb, event.name);
  auto data = str(fbb, event.data);
  auto org = origin ? step_ref(fbb, *origin) : flatbuffers::Offset<schema::StepRef>();
  return schema::CreateEventAccepted(fbb, id, name, data, event.ts_ms, first_run_id, fn_vec, org,
                                     duplicate, accepted_us, id_generated);
}

}  // namespace

Bytes build_event_accepted(const Event& event, RunId first_run_id,
                           std::span<const std::string_view> functions, const StepRefArgs* origin,
                           bool duplicate, int64_t accepted_us, bool id_generated) {
  auto& fbb = builder();
  fbb.Finish(event_accepted(fbb, event, first_run_id, functions, origin, duplicate, accepted_us,
                            id_generated));
  return finish(fbb);
}

Bytes build_event_batch(std::span<const BatchedEvent> events, int64_t accepted_us) {
  auto& fbb = builder();
  std::vector<flatbuffers::Offset<schema::EventAccepted>> tables;
  tables.reserve(events.size());
  for (const BatchedEvent& e : events) {
    tables.push_back(event_accepted(fbb, *e.event, e.first_run_id, e.functions, nullptr, false,
                                    accepted_us, e.id_generated));
  }
  fbb.Finish(schema::CreateEventBatch(fbb, fbb.CreateVector(tables)));
  return finish(fbb);
}

Bytes build_run_created(RunId run, std::string_view function_id, const Event& event,
                        const StepRefArgs* parent, int64_t created_us) {
  auto& fbb = builder();
  auto f = str(fbb, function_id);
  auto name = str(fbb, event.name);
  auto data = str(fbb, event.data);
  auto p = parent ? step_ref(fbb, *parent) : flatbuffers::Offset<schema::StepRef>();
  fbb.Finish(schema::CreateRunCreated(fbb, run, f, name, data, event.ts_ms, p, created_us));
  return finish(fbb);
}

Bytes build_cron_run(RunId run, std::string_view function_id, const Event& event,
                     std::string_view expression, int64_t tick_ms, int64_t created_us) {
  auto& fbb = builder();
  auto f = str(fbb, function_id);
  auto name = str(fbb, event.name);
  auto data = str(fbb, event.data);
  auto id = str(fbb, event.id);
  auto expr = str(fbb, expression);
  schema::RunCreatedBuilder b(fbb);
  b.add_run_id(run);
  b.add_function_id(f);
  b.add_event_name(name);
  b.add_event_data(data);
  b.add_ts_ms(event.ts_ms);
  b.add_created_us(created_us);
  b.add_event_id(id);
  b.add_cron_expression(expr);
  b.add_cron_tick_ms(tick_ms);
  fbb.Finish(b.Finish());
  return finish(fbb);
}

Bytes build_cron_cursor(std::string_view function_id, std::string_view expression, int64_t tick_ms,
                        uint64_t skipped_ticks, int64_t at_us) {
  auto& fbb = builder();
  auto f = str(fbb, function_id);
  auto expr = str(fbb, expression);
  fbb.Finish(schema::CreateCronCursor(fbb, f, expr, tick_ms, skipped_ticks, at_us));
  return finish(fbb);
}

Bytes build_run_replay(RunId run, std::string_view function_id, const Event& event, RunId original,
                       std::span<const CopiedOpArgs> history, int64_t created_us) {
  auto& fbb = builder();
  std::vector<flatbuffers::Offset<schema::CopiedOp>> ops;
  ops.reserve(history.size());
  for (const CopiedOpArgs& h : history) {
    auto id = str(fbb, h.step_id);
    auto value = bytes(fbb, h.value);
    flatbuffers::Offset<flatbuffers::String> name, data, event_id;
    if (h.event != nullptr) {
      name = str(fbb, h.event->name);
      data = str(fbb, h.event->data);
      event_id = str(fbb, h.event->id);
    }
    ops.push_back(schema::CreateCopiedOp(fbb, static_cast<uint8_t>(h.kind), id, value,
                                         static_cast<schema::ValueFormat>(h.format), name, data,
                                         event_id, h.event != nullptr ? h.event->ts_ms : 0, h.run));
  }
  auto hist = fbb.CreateVector(ops);
  auto f = str(fbb, function_id);
  auto name = str(fbb, event.name);
  auto data = str(fbb, event.data);
  auto event_id = str(fbb, event.id);
  fbb.Finish(schema::CreateRunCreated(fbb, run, f, name, data, event.ts_ms, 0, created_us, event_id,
                                      original, hist));
  return finish(fbb);
}

Bytes build_step_completed(const StepRefArgs& step, uint32_t attempt, std::string_view output,
                           ValueFormat format, AttemptTimes times) {
  auto& fbb = builder();
  auto out = bytes(fbb, output);
  auto s = step_ref(fbb, step);
  fbb.Finish(schema::CreateStepCompleted(fbb, s, attempt, out, format_of(format), times.started_us,
                                         times.finished_us));
  return finish(fbb);
}

Bytes build_step_failed(const StepRefArgs& step, uint32_t attempt, schema::FailureKind kind,
                        std::string_view error, int64_t retry_at_ms, AttemptTimes times) {
  auto& fbb = builder();
  auto e = str(fbb, error);
  auto s = step_ref(fbb, step);
  fbb.Finish(schema::CreateStepFailed(fbb, s, attempt, kind, e, retry_at_ms, times.started_us,
                                      times.finished_us));
  return finish(fbb);
}

Bytes build_sleep_started(const StepRefArgs& step, int64_t wake_at_ms, int64_t at_us) {
  auto& fbb = builder();
  auto s = step_ref(fbb, step);
  fbb.Finish(schema::CreateSleepStarted(fbb, s, wake_at_ms, at_us));
  return finish(fbb);
}

Bytes build_wait_started(const StepRefArgs& step, std::string_view event_name,
                         std::string_view match_path, std::string_view match_value,
                         int64_t timeout_at_ms, int64_t at_us) {
  auto& fbb = builder();
  auto s = step_ref(fbb, step);
  auto n = str(fbb, event_name);
  auto p = str(fbb, match_path);
  auto v = str(fbb, match_value);
  fbb.Finish(schema::CreateWaitStarted(fbb, s, n, p, v, timeout_at_ms, at_us));
  return finish(fbb);
}

Bytes build_run_resumed(const StepRefArgs& step, schema::ResumeReason reason, int64_t at_us) {
  auto& fbb = builder();
  auto s = step_ref(fbb, step);
  fbb.Finish(schema::CreateRunResumed(fbb, s, reason, at_us));
  return finish(fbb);
}

Bytes build_run_completed(RunId run, std::string_view output, ValueFormat format, int64_t at_us) {
  auto& fbb = builder();
  auto out = bytes(fbb, output);
  fbb.Finish(schema::CreateRunCompleted(fbb, run, out, format_of(format), at_us));
  return finish(fbb);
}

Bytes build_run_failed(RunId run, std::string_view error, RunId failure_handler_run,
                       int64_t at_us) {
  auto& fbb = builder();
  auto e = str(fbb, error);
  fbb.Finish(schema::CreateRunFailed(fbb, run, e, failure_handler_run, at_us));
  return finish(fbb);
}

Bytes build_run_cancelled(RunId run, std::string_view reason, int64_t at_us) {
  auto& fbb = builder();
  auto r = str(fbb, reason);
  fbb.Finish(schema::CreateRunCancelled(fbb, run, r, at_us));
  return finish(fbb);
}

Bytes build_run_admitted(RunId run, int64_t at_ms, const AdmittedArgs& keys) {
  auto& fbb = builder();
  auto t = str(fbb, keys.throttle_key);
  auto r = str(fbb, keys.rate_limit_key);
  fbb.Finish(schema::CreateRunAdmitted(fbb, run, at_ms, t, r, keys.throttle, keys.rate_limit,
                                       keys.started_ms));
  return finish(fbb);
}

Bytes build_run_skipped(RunId run, std::string_view reason, std::string_view key, int64_t at_us) {
  auto& fbb = builder();
  auto r = str(fbb, reason);
  auto k = str(fbb, key);
  fbb.Finish(schema::CreateRunSkipped(fbb, run, r, k, at_us));
  return finish(fbb);
}

}  // namespace cairn::detail
