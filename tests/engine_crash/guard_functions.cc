// The crash test's guarded functions (guard_workload.h): "once" (idempotency), "solo" and
// "latest" (singleton, kSkip and kCancelRunning), "cancellable" (cancel_on) and "ranked"
// (priority behind a concurrency limit of 1). Their steps run through the same StepRunner as the
// others', so the execution checks (execution_checks.cc) cover them too.
//
// The step lambdas capture only scalars, and the wait's options are built from views of
// constants: GCC 12 destroys a co_await operand's temporaries holding non-trivial members twice
// (see crash_functions.cc).
#include <chrono>
#include <string>

#include "engine_crash/crash_functions.h"
#include "engine_crash/guard_workload.h"

namespace cairn::engine_crash {
namespace {

using nlohmann::json;

struct GuardInput {
  uint64_t g;
  uint32_t j;
};

GuardInput input_of(const Event& event) {
  const json in = json::parse(event.data);
  return {in.at("g").get<uint64_t>(), in.at("j").get<uint32_t>()};
}

// Step `n` (1-based) of a run of `kind`: journaled, and {"v": guard_value(...)} with its nonce.
auto guard_step(StepRunner& r, uint64_t run, GuardKind kind, GuardInput in, uint32_t n,
                uint32_t busy_ms = 0) {
  return [&r, run, kind, in, n, busy_ms](const StepInfo& s) {
    const std::string id = guard_steps(kind).at(n - 1);
    return r.execute(run, in.g, id, s.attempt, guard_value(kind, in.g, in.j, n), busy_ms);
  };
}

// "once" and "ranked": one step.
Task<json> one_step_function(StepRunner& r, Context& ctx, const Event& event, GuardKind kind) {
  const GuardInput in = input_of(event);
  const uint64_t run = ctx.run_id();
  const uint32_t busy = kind == GuardKind::kRanked ? kRankedBusyRealMs : 0;
  const std::string id = guard_steps(kind).front();
  co_await ctx.run(id, guard_step(r, run, kind, in, 1, busy));
  co_return guard_output(kind, in.g, in.j);
}

// "solo" and "latest": a step, the hold, a step.
Task<json> singleton_function(StepRunner& r, Context& ctx, const Event& event, GuardKind kind) {
  const GuardInput in = input_of(event);
  const uint64_t run = ctx.run_id();
  const std::vector<std::string> ids = guard_steps(kind);
  co_await ctx.run(ids[0], guard_step(r, run, kind, in, 1));
  co_await ctx.sleep("hold", std::chrono::milliseconds(kSingletonHoldMs));
  co_await ctx.run(ids[1], guard_step(r, run, kind, in, 2));
  co_return guard_output(kind, in.g, in.j);
}

// "cancellable": c1, the hold (a sleep for j = 0, a wait that times out for j = 1), c2.
Task<json> cancellable_function(StepRunner& r, Context& ctx, const Event& event) {
  constexpr GuardKind kKind = GuardKind::kCancellable;
  const GuardInput in = input_of(event);
  const uint64_t run = ctx.run_id();
  co_await ctx.run("c1", guard_step(r, run, kKind, in, 1));
  if (in.j == 0) {
    co_await ctx.sleep("hold", std::chrono::milliseconds(kCancelHoldMs));
  } else {
    const WaitOptions wait{.event = kReleaseEvent,
                           .match = kGuardKeyPath,
                           .timeout = std::chrono::milliseconds(kCancelHoldMs)};
    (void)co_await ctx.wait_for_event("hold", wait);
  }
  co_await ctx.run("c2", guard_step(r, run, kKind, in, 2));
  co_return guard_output(kKind, in.g, in.j);
}

FunctionOptions guard_options(GuardKind kind) {
  FunctionOptions o;
  o.id = std::string(guard_function(kind));
  o.retries = 2;  // their steps never fail
  o.triggers.push_back(on_event(std::string(guard_function(kind))));
  return o;
}

}  // namespace

Status register_guard_functions(Engine& engine, StepRunner& runner) {
  FunctionOptions once = guard_options(GuardKind::kOnce);
  once.idempotency = std::string(kGuardKeyPath);
  once.idempotency_window = std::chrono::milliseconds(kOnceWindowMs);
  Status st = engine.register_function(std::move(once), [&runner](Context& ctx, const Event& ev) {
    return one_step_function(runner, ctx, ev, GuardKind::kOnce);
  });
  if (!st.ok()) return st;
  for (GuardKind kind : {GuardKind::kSolo, GuardKind::kLatest}) {
    FunctionOptions o = guard_options(kind);
    o.singleton = Singleton{.key = std::string(kGuardKeyPath),
                            .mode = kind == GuardKind::kSolo ? Singleton::Mode::kSkip
                                                             : Singleton::Mode::kCancelRunning};
    st = engine.register_function(std::move(o), [&runner, kind](Context& ctx, const Event& ev) {
      return singleton_function(runner, ctx, ev, kind);
    });
    if (!st.ok()) return st;
  }
  FunctionOptions cancellable = guard_options(GuardKind::kCancellable);
  cancellable.cancel_on.push_back(
      CancelOn{.event = std::string(kHaltEvent), .match = std::string(kGuardKeyPath)});
  st = engine.register_function(std::move(cancellable), [&runner](Context& ctx, const Event& ev) {
    return cancellable_function(runner, ctx, ev);
  });
  if (!st.ok()) return st;
  FunctionOptions ranked = guard_options(GuardKind::kRanked);
  ranked.concurrency.push_back(ConcurrencyLimit{.limit = 1});
  ranked.priority = "data.p";
  return engine.register_function(std::move(ranked), [&runner](Context& ctx, const Event& ev) {
    return one_step_function(runner, ctx, ev, GuardKind::kRanked);
  });
}

}  // namespace cairn::engine_crash
