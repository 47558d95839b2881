// The awaiter protocol of cairn/context.h, forwarded to the run's executor.
#include "cairn/context.h"
#include "engine_core.h"

namespace cairn::detail {

bool op_ready(RunState& run, OpSlot& slot) {
  return run.engine.executor().op_ready(run, slot);
}

void op_suspend(RunState& run, OpSlot& slot, std::coroutine_handle<> h) {
  run.suspended = h;
  run.engine.executor().op_suspend(run, slot);
}

void op_resume(RunState& run, OpSlot& slot) {
  run.engine.executor().op_resume(run, slot);
}

uint64_t run_id_of(const RunState& run) {
  return run.id;
}
std::string_view function_id_of(const RunState& run) {
  return run.function_id;
}
int64_t now_ms_of(const RunState& run) {
  return run.engine.clock().now_ms();
}

}  // namespace cairn::detail
