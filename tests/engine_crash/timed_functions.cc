// The crash test's timed functions (timed_workload.h): "ticker" (cron), "late" (finish timeout)
// and "queued" (start timeout behind a concurrency limit of 1). Their steps run through the same
// StepRunner as the others', so the execution checks (execution_checks.cc) cover them too.
#include <chrono>
#include <string>

#include "engine_crash/crash_functions.h"
#include "engine_crash/timed_workload.h"

namespace cairn::engine_crash {
namespace {

using nlohmann::json;

Task<json> ticker_function(StepRunner& r, Context& ctx, const Event& event) {
  const int64_t tick_ms = json::parse(event.data).at("tick_ms").get<int64_t>();
  const uint64_t run = ctx.run_id();
  co_await ctx.run("tick", [&r, run, tick_ms](const StepInfo& s) {
    return r.execute(run, 0, "tick", s.attempt, tick_value(tick_ms), 0);
  });
  co_return tick_output(tick_ms);
}

Task<json> late_function(StepRunner& r, Context& ctx, const Event& event) {
  const uint64_t n = json::parse(event.data).at("n").get<uint64_t>();
  const uint64_t run = ctx.run_id();
  co_await ctx.run("t1", [&r, run, n](const StepInfo& s) {
    return r.execute(run, n, "t1", s.attempt, late_value(n, 1), 0);
  });
  co_await ctx.sleep("nap", std::chrono::milliseconds(late_sleep_ms(n)));
  co_await ctx.run("t2", [&r, run, n](const StepInfo& s) {
    return r.execute(run, n, "t2", s.attempt, late_value(n, 2), 0);
  });
  co_return late_output(n);
}

Task<json> queued_function(StepRunner& r, Context& ctx, const Event& event) {
  const json in = json::parse(event.data);
  const uint64_t g = in.at("g").get<uint64_t>();
  const uint32_t j = in.at("j").get<uint32_t>();
  const uint64_t run = ctx.run_id();
  co_await ctx.run("q1", [&r, run, g, j](const StepInfo& s) {
    return r.execute(run, g, "q1", s.attempt, queued_value(g, j), kQueuedBusyRealMs);
  });
  co_return queued_output(g, j);
}

FunctionOptions timed_options(std::string_view id) {
  FunctionOptions o;
  o.id = std::string(id);
  o.retries = 2;  // their steps never fail
  return o;
}

}  // namespace

Status register_timed_functions(Engine& engine, StepRunner& runner) {
  FunctionOptions ticker = timed_options(kTickerFunction);
  ticker.triggers.push_back(on_cron(std::string(kTickerCron)));
  Status st = engine.register_function(std::move(ticker), [&runner](Context& ctx, const Event& ev) {
    return ticker_function(runner, ctx, ev);
  });
  if (!st.ok()) return st;
  FunctionOptions late = timed_options(kLateFunction);
  late.triggers.push_back(on_event(std::string(kLateEvent)));
  late.timeouts.finish = std::chrono::milliseconds(kLateFinishMs);
  st = engine.register_function(std::move(late), [&runner](Context& ctx, const Event& ev) {
    return late_function(runner, ctx, ev);
  });
  if (!st.ok()) return st;
  FunctionOptions queued = timed_options(kQueuedFunction);
  queued.triggers.push_back(on_event(std::string(kQueuedEvent)));
  queued.concurrency.push_back(ConcurrencyLimit{.limit = 1});
  queued.timeouts.start = std::chrono::milliseconds(kQueuedStartMs);
  return engine.register_function(std::move(queued), [&runner](Context& ctx, const Event& ev) {
    return queued_function(runner, ctx, ev);
  });
}

}  // namespace cairn::engine_crash
