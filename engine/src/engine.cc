// Engine: the public facade over EngineCore.
#include "cairn/engine.h"

#include "engine_core.h"
#include "engine_internal.h"

namespace cairn {

std::string_view run_status_name(RunStatus s) {
  switch (s) {
    case RunStatus::kQueued:
      return "queued";
    case RunStatus::kRunning:
      return "running";
    case RunStatus::kSleeping:
      return "sleeping";
    case RunStatus::kWaiting:
      return "waiting";
    case RunStatus::kCompleted:
      return "completed";
    case RunStatus::kFailed:
      return "failed";
    case RunStatus::kCancelled:
      return "cancelled";
    case RunStatus::kSkipped:
      return "skipped";
  }
  return "?";
}

class Engine::Impl {
 public:
  explicit Impl(EngineOptions o) : core(std::move(o)) {}
  detail::EngineCore core;
};

Engine::Impl& engine_impl(Engine& engine) {
  return *engine.impl_;
}

namespace detail {
EngineCore& core_of(Engine& engine) {
  return engine_impl(engine).core;
}
void reset_dispatch_latency(Engine& engine) {
  core_of(engine).reset_dispatch_latency();
}
std::string describe_state(Engine& engine) {
  return core_of(engine).describe_state();
}
}  // namespace detail

std::unique_ptr<Engine> Engine::create(EngineOptions options) {
  return std::unique_ptr<Engine>(new Engine(std::make_unique<Impl>(std::move(options))));
}

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Engine::~Engine() = default;

Status Engine::register_erased(FunctionOptions options, ValueFormat output_format,
                               std::function<detail::ErasedTask(Context&, const Event&)> body) {
  return impl_->core.register_function(std::move(options), output_format, std::move(body));
}

Status Engine::start() {
  return impl_->core.start();
}

Result<SendResult> Engine::send(const Event& event) {
  CAIRN_ASSIGN_OR_RETURN(std::vector<SendResult> r, impl_->core.send({&event, 1}));
  return std::move(r.front());
}

Result<std::vector<SendResult>> Engine::send(std::span<const Event> events) {
  return impl_->core.send(events);
}

Status Engine::cancel(RunId run, std::string reason) {
  return impl_->core.cancel(run, reason);
}
Result<RunId> Engine::replay_run(RunId run, ReplayFrom from) {
  return impl_->core.replay_run(run, from == ReplayFrom::kStart);
}
Result<RunInfo> Engine::get_run(RunId run) const {
  return impl_->core.get_run(run);
}
Result<uint64_t> Engine::cancel_runs(const RunQuery& query, std::string reason) {
  return impl_->core.cancel_runs(query, reason);
}

RunPage Engine::list_runs(const RunQuery& q) const {
  return impl_->core.list_runs(q);
}
Result<std::vector<HistoryEntry>> Engine::run_history(RunId run, size_t limit) const {
  return impl_->core.run_history(run, HistoryLimits{.entries = limit});
}

Result<std::vector<HistoryEntry>> Engine::run_history(RunId run,
                                                      const HistoryLimits& limits) const {
  return impl_->core.run_history(run, limits);
}
Result<RunInfo> Engine::wait_run(RunId run, std::chrono::milliseconds timeout) {
  return impl_->core.wait_run(run, timeout);
}
Status Engine::shutdown() {
  return impl_->core.shutdown();
}
const RecoveryStats& Engine::recovery() const {
  return impl_->core.recovery();
}
EngineStats Engine::stats() const {
  return impl_->core.stats();
}
std::vector<FunctionStats> Engine::function_stats() const {
  return impl_->core.function_stats();
}
const std::filesystem::path& Engine::dir() const {
  return impl_->core.options().dir;
}
Status Engine::health() const {
  return impl_->core.health();
}

}  // namespace cairn
