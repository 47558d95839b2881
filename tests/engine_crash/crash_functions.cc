// The crash test's durable functions (see crash_functions.h). Their control flow mirrors
// main_ops() and main_values() in workload.cc (and flow_value() for the flow-controlled ones),
// which the parent checks the log against.
//
// The option structs passed in co_await expressions are built from views of named locals: GCC 12
// destroys aggregate temporaries with std::string members twice inside co_await (context.h).
#include "engine_crash/crash_functions.h"

#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>

#include "cairn/errors.h"
#include "engine_crash/workload.h"

namespace cairn::engine_crash {
namespace {

using nlohmann::json;

uint64_t value_of(const json& step_output) {
  return step_output.at("v").get<uint64_t>();
}

// A step body for `step_id` of run `run` (whose workload index is k) that produces `value`.
auto body(StepRunner& runner, uint64_t run, uint64_t k, const char* step_id, uint64_t value,
          uint32_t busy_ms = 0) {
  return [&runner, run, k, step_id, value, busy_ms](const StepInfo& s) {
    return runner.execute(run, k, step_id, s.attempt, value, busy_ms);
  };
}

Task<json> main_function(StepRunner& r, Context& ctx, const Event& event) {
  const uint64_t k = json::parse(event.data).at("k").get<uint64_t>();
  const RunPlan p = plan_for(r.seed(), k);
  const uint64_t run = ctx.run_id();
  const uint64_t a = value_of(co_await ctx.run("a", body(r, run, k, "a", mix(p.x, 1))));
  const uint64_t b = value_of(co_await ctx.run("b", body(r, run, k, "b", mix(a, 2))));
  if (p.sleep_ms != 0) co_await ctx.sleep("nap", r.scaled(p.sleep_ms));
  const uint64_t c = value_of(co_await ctx.run("c", body(r, run, k, "c", mix(b, 3), p.busy_ms)));
  bool approved = false;
  uint64_t token = 0;
  if (p.wait) {
    const WaitOptions wait{
        .event = kApproveEvent, .match = "data.key", .timeout = r.scaled(kWaitTimeoutMs)};
    std::optional<Event> approval = co_await ctx.wait_for_event("approval", wait);
    if (approval) {
      approved = true;
      token = json::parse(approval->data).at("token").get<uint64_t>();
    }
  }
  const uint64_t d = value_of(co_await ctx.run("d", body(r, run, k, "d", mix(c ^ token, 4))));
  uint64_t helper = 0;
  if (p.invoke) {
    const std::string data = json{{"k", k}, {"y", d}}.dump();
    const InvokeOptions invoke{.function = "helper", .data = data};
    helper = value_of(co_await ctx.invoke<json>("sq", invoke));
  }
  uint64_t e = value_of(co_await ctx.run("e", body(r, run, k, "e", mix(d + helper, 5))));
  if (p.compensate) {
    bool refused = false;
    try {
      co_await ctx.run("h", body(r, run, k, "h", 0));
    } catch (const StepError&) {
      refused = true;  // the compensation: fold a marker into the value
    }
    if (!refused) throw std::logic_error("step h succeeded; it must be refused");
    e = mix(e, 0xdead);
  }
  if (p.emit) {
    const std::string data = json{{"k", k}}.dump();
    const OutgoingEvent noted{.name = kNotedEvent, .data = data};
    co_await ctx.send_event("emit", noted);
  }
  if (p.doomed) {
    const StepOptions doomed{.retries = kDoomedRetries};
    co_await ctx.run("g", body(r, run, k, "g", 0), doomed);  // throws StepError: the run fails
  }
  const uint64_t f = value_of(co_await ctx.run("f", body(r, run, k, "f", mix(e, 6))));
  co_return json{{"k", k}, {"v", f}, {"approved", approved}};
}

Task<json> helper_function(StepRunner& r, Context& ctx, const Event& event) {
  const json in = json::parse(event.data);
  const uint64_t k = in.at("k").get<uint64_t>();
  const uint64_t y = in.at("y").get<uint64_t>();
  const uint64_t run = ctx.run_id();
  const uint64_t h1 = value_of(co_await ctx.run("h1", body(r, run, k, "h1", mix(y, 10))));
  const uint64_t h2 = value_of(co_await ctx.run("h2", body(r, run, k, "h2", mix(h1, 11))));
  co_return json{{"v", h2}};
}

Task<json> listener_function(StepRunner& r, Context& ctx, const Event& event) {
  const uint64_t k = json::parse(event.data).at("k").get<uint64_t>();
  const uint64_t run = ctx.run_id();
  const uint64_t v = value_of(co_await ctx.run("l1", body(r, run, k, "l1", mix(k, 77))));
  co_return json{{"k", k}, {"v", v}};
}

// "metered" and "paced": one step each. Their limits (registered below) decide when, or whether,
// a run starts; the body only proves the run ran once.
Task<json> flow_function(StepRunner& r, Context& ctx, const Event& event, const char* step_id) {
  const json in = json::parse(event.data);
  const uint64_t g = in.at("g").get<uint64_t>();
  const uint32_t j = in.at("j").get<uint32_t>();
  const uint64_t run = ctx.run_id();
  const uint64_t v =
      value_of(co_await ctx.run(step_id, body(r, run, g, step_id, flow_value(g, j))));
  co_return json{{"g", g}, {"j", j}, {"v", v}};
}

// main's on_failure handler: its input is {"function_id", "run_id", "error", "event": {"name",
// "data", "id"}} of the failed run.
Task<void> failure_handler(StepRunner& r, Context& ctx, const Event& event) {
  const json in = json::parse(event.data);
  const uint64_t k = in.at("event").at("data").at("k").get<uint64_t>();
  const uint64_t run = ctx.run_id();
  co_await ctx.run("alert", body(r, run, k, "alert", alert_value(k)));
}

FunctionOptions options_for(const StepRunner& r, std::string id, std::string trigger) {
  FunctionOptions o;
  o.id = std::move(id);
  if (!trigger.empty()) o.triggers.push_back(on_event(std::move(trigger)));
  o.retries = kStepRetries;
  o.backoff_base = r.scaled(5);
  o.backoff_max = r.scaled(50);
  return o;
}

}  // namespace

json StepRunner::execute(uint64_t run, uint64_t k, std::string_view step_id, uint32_t attempt,
                         uint64_t value, uint32_t busy_ms) {
  const StepFate fate = step_fate(seed_, k, step_id, attempt);
  const uint64_t exec = exec_.fetch_add(1, std::memory_order_relaxed) + 1;
  journal_.executed(run, step_id, attempt, incarnation_, exec, fate != StepFate::kSucceeds);
  const std::string nonce = "inc=" + std::to_string(incarnation_) + " n=" + std::to_string(exec);
  switch (fate) {
    case StepFate::kThrows:
      if (step_id == "g") throw std::runtime_error(std::string(kDoomedError) + ": " + nonce);
      throw std::runtime_error("flaky step " + std::string(step_id) + ": " + nonce);
    case StepFate::kThrowsNonRetriable:
      throw NonRetriableError("refused step " + std::string(step_id) + ": " + nonce);
    case StepFate::kSucceeds:
      break;
  }
  if (busy_ms != 0) std::this_thread::sleep_for(std::chrono::milliseconds(busy_ms));
  return json{{"v", value}, {"inc", incarnation_}, {"n", exec}};
}

Status register_crash_functions(Engine& engine, StepRunner& runner) {
  FunctionOptions main = options_for(runner, "main", std::string(kStartEvent));
  main.on_failure = [&runner](Context& ctx, const Event& ev) {
    return failure_handler(runner, ctx, ev);
  };
  Status st = engine.register_function(std::move(main), [&runner](Context& ctx, const Event& ev) {
    return main_function(runner, ctx, ev);
  });
  if (!st.ok()) return st;
  st = engine.register_function(
      options_for(runner, "helper", ""),
      [&runner](Context& ctx, const Event& ev) { return helper_function(runner, ctx, ev); });
  if (!st.ok()) return st;
  FunctionOptions metered = options_for(runner, "metered", std::string(kMeteredEvent));
  metered.rate_limit = RateLimit{.limit = kMeteredLimit.limit,
                                 .period = runner.scaled(kMeteredLimit.period_ms),
                                 .key = std::string(kFlowKeyPath),
                                 .burst = kMeteredLimit.burst};
  st = engine.register_function(std::move(metered), [&runner](Context& ctx, const Event& ev) {
    return flow_function(runner, ctx, ev, "m1");
  });
  if (!st.ok()) return st;
  FunctionOptions paced = options_for(runner, "paced", std::string(kPacedEvent));
  paced.throttle = ThrottleLimit{.limit = kPacedLimit.limit,
                                 .period = runner.scaled(kPacedLimit.period_ms),
                                 .burst = kPacedLimit.burst,
                                 .key = std::string(kFlowKeyPath)};
  st = engine.register_function(std::move(paced), [&runner](Context& ctx, const Event& ev) {
    return flow_function(runner, ctx, ev, "p1");
  });
  if (!st.ok()) return st;
  return engine.register_function(
      options_for(runner, "listener", std::string(kNotedEvent)),
      [&runner](Context& ctx, const Event& ev) { return listener_function(runner, ctx, ev); });
}

}  // namespace cairn::engine_crash
