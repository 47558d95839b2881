// The crash test's keyed waiting functions (keyed_workload.h): "debounced" and "batched". Each
// has one step that puts what the run was given (its event, or ctx.events()) into its recorded
// output, so the checks can tell from the log which events each run saw. The steps run through
// the same StepRunner as the others', so the execution checks (execution_checks.cc) cover them.
//
// The step lambdas capture their json by reference to the coroutine's named locals (which live
// in its frame until it ends): GCC 12 destroys a co_await operand's temporaries holding
// non-trivial members twice (see crash_functions.cc).
#include <chrono>
#include <string>

#include "engine_crash/crash_functions.h"
#include "engine_crash/keyed_workload.h"

namespace cairn::engine_crash {
namespace {

using nlohmann::json;

Task<json> debounced_function(StepRunner& r, Context& ctx, const Event& event) {
  const json in = json::parse(event.data);
  const uint64_t g = in.at("g").get<uint64_t>();
  const uint32_t j = in.at("j").get<uint32_t>();
  const uint64_t run = ctx.run_id();
  co_await ctx.run("d1", [&r, run, g, j, &in](const StepInfo& s) {
    json out = r.execute(run, g, "d1", s.attempt, debounce_value(g, j), 0);
    out["event"] = in;
    return out;
  });
  co_return debounce_output(g, j);
}

Task<json> batched_function(StepRunner& r, Context& ctx, const Event&) {
  json events = json::array();
  for (const Event& e : ctx.events()) events.push_back(json::parse(e.data));
  const uint64_t run = ctx.run_id();
  const uint64_t g = events.empty() ? 0 : events.front().value("g", uint64_t{0});
  co_await ctx.run("b1", [&r, run, g, &events](const StepInfo& s) {
    json out = r.execute(run, g, "b1", s.attempt, batch_value(events), 0);
    out["events"] = events;
    return out;
  });
  co_return batch_output(events);
}

}  // namespace

Status register_keyed_functions(Engine& engine, StepRunner& runner) {
  FunctionOptions debounced;
  debounced.id = std::string(kDebouncedFunction);
  debounced.retries = 2;  // its step never fails
  debounced.triggers.push_back(on_event(std::string(kDebounceEvent)));
  debounced.debounce = Debounce{.period = std::chrono::milliseconds(kDebouncePeriodMs),
                                .key = std::string(kKeyedKeyPath),
                                .timeout = std::chrono::milliseconds(kDebounceTimeoutMs)};
  Status st = engine.register_function(
      std::move(debounced),
      [&runner](Context& ctx, const Event& ev) { return debounced_function(runner, ctx, ev); });
  if (!st.ok()) return st;
  FunctionOptions batched;
  batched.id = std::string(kBatchedFunction);
  batched.retries = 2;
  batched.triggers.push_back(on_event(std::string(kBatchEvent)));
  batched.batch = Batching{.max_events = kBatchMax,
                           .timeout = std::chrono::milliseconds(kBatchTimeoutMs),
                           .key = std::string(kKeyedKeyPath)};
  return engine.register_function(std::move(batched), [&runner](Context& ctx, const Event& ev) {
    return batched_function(runner, ctx, ev);
  });
}

}  // namespace cairn::engine_crash
