// FunctionFlow: a function's flow-control options (FunctionOptions::concurrency, throttle,
// rate_limit, priority, cancel_on,
// singleton, idempotency, timeouts) checked and compiled once, at registration: key expressions
// parsed, limiters built, every bad value refused with a message naming the option. Per run it
// gives the keys and priority the run's event yields (RunFlow). Immutable after registration.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cairn/engine.h"
#include "flow/gcra.h"
#include "flow/key_expression.h"
#include "run_state.h"

namespace cairn::detail {

struct FunctionFlow {
  // Concurrency: function-wide and per key (0: none).
  uint32_t running_max = 0;
  uint32_t key_running_max = 0;
  std::optional<flow::KeyExpression> concurrency_key;
  // Throttle (delays) and rate limit (skips), each with its key (none: function-wide).
  std::optional<flow::Limiter> throttle;
  std::optional<flow::KeyExpression> throttle_key;
  std::string throttle_text;  // "throttle 10 per 60000 ms (burst 2)", for reasons
  std::optional<flow::Limiter> rate_limit;
  std::optional<flow::KeyExpression> rate_limit_key;
  std::string rate_limit_text;
  std::optional<flow::KeyExpression> priority;
  // Singleton (with its key; none: function-wide) and idempotency.
  bool singleton = false;
  Singleton::Mode singleton_mode = Singleton::Mode::kSkip;
  std::optional<flow::KeyExpression> singleton_key;
  std::optional<flow::KeyExpression> idempotency;
  int64_t idempotency_window_ms = 0;
  // cancel_on: an event name and the data path both events must agree on (empty: any event).
  struct CancelMatch {
    std::string event;
    std::string path;  // "data.order_id" (json_field's form)
  };
  std::vector<CancelMatch> cancel_on;
  // Debounce (with its key; none: function-wide); timeout 0: none.
  bool debounce = false;
  int64_t debounce_period_ms = 0;
  int64_t debounce_timeout_ms = 0;
  std::optional<flow::KeyExpression> debounce_key;
  // Batching (0 events: none), with its key (none: function-wide).
  uint32_t batch_events_max = 0;
  int64_t batch_timeout_ms = 0;
  std::optional<flow::KeyExpression> batch_key;
  // Timeouts (0: none). Either one makes every run record when it started (RunAdmitted).
  int64_t start_timeout_ms = 0;
  int64_t finish_timeout_ms = 0;

  bool limits_concurrency() const { return running_max != 0 || key_running_max != 0; }
  bool has_timeouts() const { return start_timeout_ms != 0 || finish_timeout_ms != 0; }
  bool limits_admission() const {
    return throttle.has_value() || rate_limit.has_value() || singleton || idempotency.has_value() ||
           has_timeouts() || debounce || batch_events_max != 0;
  }

  // nullptr when the options use no flow control; kInvalidArgument naming the function and the
  // option when one is malformed or out of range.
  static Result<std::unique_ptr<FunctionFlow>> compile(const FunctionOptions& options);

  // Fills the run's keys, priority and cancel_on values from its event.
  void evaluate(const Event& event, RunFlow& flow) const;
};

// The key an expression gives for an event; "" when the field is absent, null, not a scalar or
// too long (one shared key: a missing field never bypasses a limit).
std::string flow_key_of(const flow::KeyExpression& expression, const Event& event);

}  // namespace cairn::detail
