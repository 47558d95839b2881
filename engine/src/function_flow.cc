// FunctionFlow (see function_flow.h).
#include "function_flow.h"

#include <charconv>
#include <tuple>

#include "flow/keyed_limiter.h"
#include "json_field.h"

namespace cairn::detail {
namespace {

constexpr uint32_t kConcurrencyMax = 100'000;
constexpr size_t kCancelOnMax = 8;
constexpr int32_t kPriorityAbsMax = 600;
constexpr int64_t kPeriodMaxMs = int64_t{366} * 24 * 3600 * 1000;
constexpr uint32_t kBatchEventsMax = 10'000;

Status bad(const FunctionOptions& o, const std::string& what) {
  return Status(StatusCode::kInvalidArgument, "function " + o.id + ": " + what);
}

Result<std::optional<flow::KeyExpression>> compile_key(const FunctionOptions& o,
                                                       const std::string& text,
                                                       std::string_view option) {
  if (text.empty()) return std::optional<flow::KeyExpression>();
  Result<flow::KeyExpression> k = flow::KeyExpression::compile(text);
  if (!k.ok()) return bad(o, std::string(option) + ": " + k.status().message());
  return std::optional<flow::KeyExpression>(std::move(*k));
}

std::string period_text(uint32_t limit, std::chrono::milliseconds period) {
  return std::to_string(limit) + " per " + std::to_string(period.count()) + " ms";
}

}  // namespace

Result<std::unique_ptr<FunctionFlow>> FunctionFlow::compile(const FunctionOptions& o) {
  if (o.concurrency.empty() && !o.throttle && !o.rate_limit && o.priority.empty() &&
      o.cancel_on.empty() && !o.singleton && o.idempotency.empty() &&
      o.timeouts.start.count() == 0 && o.timeouts.finish.count() == 0 && !o.debounce && !o.batch) {
    return std::unique_ptr<FunctionFlow>();
  }
  auto f = std::make_unique<FunctionFlow>();
  bool keyless = false, keyed = false;
  for (const ConcurrencyLimit& c : o.concurrency) {
    if (c.limit == 0 || c.limit > kConcurrencyMax) {
      return bad(o, "concurrency limit " + std::to_string(c.limit) + " is out of range 1-" +
                        std::to_string(kConcurrencyMax));
    }
    if (c.key.empty()) {
      if (keyless) return bad(o, "more than one function-wide concurrency limit");
      keyless = true;
      f->running_max = c.limit;
    } else {
      if (keyed) return bad(o, "more than one keyed concurrency limit (one key per function)");
      keyed = true;
      f->key_running_max = c.limit;
      CAIRN_ASSIGN_OR_RETURN(f->concurrency_key, compile_key(o, c.key, "concurrency key"));
    }
  }
  if (o.throttle) {
    const ThrottleLimit& t = *o.throttle;
    Result<flow::Limiter> l = flow::Limiter::throttle(
        {.limit = t.limit, .period_ms = t.period.count(), .burst = t.burst});
    if (!l.ok()) return bad(o, l.status().message());
    f->throttle = *l;
    CAIRN_ASSIGN_OR_RETURN(f->throttle_key, compile_key(o, t.key, "throttle key"));
    f->throttle_text = "throttle " + period_text(t.limit, t.period) +
                       (t.burst > 1 ? " (burst " + std::to_string(t.burst) + ")" : "");
  }
  if (o.rate_limit) {
    const RateLimit& r = *o.rate_limit;
    Result<flow::Limiter> l = flow::Limiter::rate_limit(
        {.limit = r.limit, .period_ms = r.period.count(), .burst = r.burst});
    if (!l.ok()) return bad(o, l.status().message());
    f->rate_limit = *l;
    CAIRN_ASSIGN_OR_RETURN(f->rate_limit_key, compile_key(o, r.key, "rate_limit key"));
    f->rate_limit_text = "rate limit " + period_text(r.limit, r.period) +
                         (r.burst > 1 ? " (burst " + std::to_string(r.burst) + ")" : "");
  }
  CAIRN_ASSIGN_OR_RETURN(f->priority, compile_key(o, o.priority, "priority"));
  if (o.singleton) {
    f->singleton = true;
    f->singleton_mode = o.singleton->mode;
    CAIRN_ASSIGN_OR_RETURN(f->singleton_key, compile_key(o, o.singleton->key, "singleton key"));
  }
  if (!o.idempotency.empty()) {
    const int64_t w = o.idempotency_window.count();
    if (w < 1000 || w > kPeriodMaxMs) {
      return bad(o, "idempotency_window " + std::to_string(w) + " ms is out of range 1000-" +
                        std::to_string(kPeriodMaxMs));
    }
    f->idempotency_window_ms = w;
    CAIRN_ASSIGN_OR_RETURN(f->idempotency, compile_key(o, o.idempotency, "idempotency"));
  }
  for (auto [name, value, out] :
       {std::tuple{"timeouts.start", o.timeouts.start.count(), &f->start_timeout_ms},
        std::tuple{"timeouts.finish", o.timeouts.finish.count(), &f->finish_timeout_ms}}) {
    if (value < 0 || value > kPeriodMaxMs) {
      return bad(o, std::string(name) + " " + std::to_string(value) + " ms is out of range 1-" +
                        std::to_string(kPeriodMaxMs) + " (0: none)");
    }
    *out = value;
  }
  if (o.debounce) {
    const Debounce& d = *o.debounce;
    const int64_t period = d.period.count();
    const int64_t timeout = d.timeout.count();
    if (period < 1 || period > kPeriodMaxMs) {
      return bad(o, "debounce period " + std::to_string(period) + " ms is out of range 1-" +
                        std::to_string(kPeriodMaxMs));
    }
    if (timeout != 0 && (timeout < period || timeout > kPeriodMaxMs)) {
      return bad(o, "debounce timeout " + std::to_string(timeout) + " ms is out of range " +
                        std::to_string(period) + " (the period)-" + std::to_string(kPeriodMaxMs) +
                        " (0: none)");
    }
    f->debounce = true;
    f->debounce_period_ms = period;
    f->debounce_timeout_ms = timeout;
    CAIRN_ASSIGN_OR_RETURN(f->debounce_key, compile_key(o, d.key, "debounce key"));
  }
  if (o.batch && o.debounce) {
    // A debounced batch has no one meaning (which events, closed when?): refuse it.
    return bad(o, "debounce and batch cannot be combined (choose one)");
  }
  if (o.batch) {
    const Batching& b = *o.batch;
    if (b.max_events < 1 || b.max_events > kBatchEventsMax) {
      return bad(o, "batch max_events " + std::to_string(b.max_events) + " is out of range 1-" +
                        std::to_string(kBatchEventsMax));
    }
    const int64_t timeout = b.timeout.count();
    if (timeout < 1 || timeout > kPeriodMaxMs) {
      return bad(o, "batch timeout " + std::to_string(timeout) + " ms is out of range 1-" +
                        std::to_string(kPeriodMaxMs));
    }
    f->batch_events_max = b.max_events;
    f->batch_timeout_ms = timeout;
    CAIRN_ASSIGN_OR_RETURN(f->batch_key, compile_key(o, b.key, "batch key"));
  }
  if (o.cancel_on.size() > kCancelOnMax) {
    return bad(o, std::to_string(o.cancel_on.size()) + " cancel_on entries (at most " +
                      std::to_string(kCancelOnMax) + ")");
  }
  for (const CancelOn& c : o.cancel_on) {
    if (c.event.empty()) return bad(o, "a cancel_on entry needs an event name");
    // Matched exactly (a hash lookup): a trigger-style "order/*" was accepted and then cancelled
    // nothing.
    if (c.event.find('*') != std::string::npos) {
      return bad(o, "cancel_on event \"" + c.event +
                        "\": names are matched exactly, '*' is no wildcard here (give one "
                        "cancel_on entry per event name)");
    }
    FunctionFlow::CancelMatch m{c.event, {}};
    if (!c.match.empty()) {
      Result<flow::KeyExpression> k = flow::KeyExpression::compile(c.match);
      if (!k.ok()) return bad(o, "cancel_on match: " + k.status().message());
      if (!k->path().starts_with("data.")) {
        return bad(o, "cancel_on match \"" + c.match +
                          "\" must name a field of the event data (data.order_id)");
      }
      m.path = k->path();
    }
    f->cancel_on.push_back(std::move(m));
  }
  return f;
}

std::string flow_key_of(const flow::KeyExpression& expression, const Event& event) {
  flow::KeyValue v = expression.evaluate({event.name, event.id, event.data});
  return v.outcome == flow::KeyValue::Outcome::kKey ? std::move(v.key) : std::string();
}

void FunctionFlow::evaluate(const Event& event, RunFlow& flow) const {
  if (concurrency_key)
    flow.concurrency_key = flow::KeyedLimiter::hash_key(flow_key_of(*concurrency_key, event));
  if (throttle_key) flow.throttle_key = flow_key_of(*throttle_key, event);
  if (rate_limit_key) flow.rate_limit_key = flow_key_of(*rate_limit_key, event);
  if (singleton_key) flow.singleton_key = flow_key_of(*singleton_key, event);
  if (idempotency) flow.idempotency_key = flow_key_of(*idempotency, event);
  if (debounce_key) flow.debounce_key = flow_key_of(*debounce_key, event);
  if (batch_key) flow.batch_key = flow_key_of(*batch_key, event);
  if (priority) {
    const std::string p = flow_key_of(*priority, event);
    int32_t v = 0;
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
    if (ec == std::errc() && end == p.data() + p.size() && v >= -kPriorityAbsMax &&
        v <= kPriorityAbsMax) {
      flow.priority = v;
    }
  }
  flow.cancel_values.clear();
  for (const CancelMatch& c : cancel_on) {
    if (c.path.empty()) {
      flow.cancel_values.emplace_back();
      continue;
    }
    std::optional<std::string> v = json_field(event.data, c.path);
    flow.cancel_values.push_back(v ? std::move(*v) : std::string());
  }
}

}  // namespace cairn::detail
