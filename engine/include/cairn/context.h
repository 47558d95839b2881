// Context: what a durable function uses to do durable things. Each operation is identified by an
// id the function chooses; its result is recorded in the log before the function sees it, and on
// replay after a restart the recorded result is returned instead of doing the work again.
//
//   auto charge = co_await ctx.run("charge-card", [&] { return payments.charge(order); });
//   co_await ctx.sleep("cooling-off", std::chrono::hours(24));
//   auto shipped = co_await ctx.wait_for_event("shipment", {.event = "shipment/confirmed",
//                                              .match = "data.order_id", .timeout = days(7)});
#pragma once

#include <chrono>
#include <coroutine>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

#include "cairn/codec.h"
#include "cairn/errors.h"
#include "cairn/event.h"

namespace cairn {

// The option structs below hold views, not strings: they are built in co_await expressions, and
// GCC 12 destroys an aggregate temporary with non-trivial members twice when it is created inside
// a co_await expression. Views make them trivially destructible; the awaiter copies what it needs
// before the coroutine suspends.

struct StepOptions {
  // Retries after the first attempt, any number (UINT32_MAX: until it succeeds or throws
  // NonRetriableError); unset: the function's `retries`.
  std::optional<uint32_t> retries{};
};

struct WaitOptions {
  std::string_view event{};  // name of the event to wait for
  // A field path such as "data.order_id": the incoming event matches when that field equals the
  // same field of the event that started this run (or `value`, when given). Empty: any event of
  // that name matches.
  std::string_view match{};
  // JSON text of an explicit value the `match` field must equal (needs `match`: alone, the wait
  // fails with StepError).
  std::optional<std::string_view> value{};
  // 0: wait without a timeout. Negative: the operation fails (StepError naming the timeout).
  std::chrono::milliseconds timeout{0};
};

struct InvokeOptions {
  std::string_view function{};   // id of a registered function
  std::string_view data = "{}";  // its input event's data (JSON object)
};

// An event a function sends (see Event for the fields).
struct OutgoingEvent {
  std::string_view name{};
  std::string_view data = "{}";
  std::string_view id{};
  int64_t ts_ms = 0;
};

// Passed to a step body that takes it: which attempt this is (1, 2, ...) and a key that is the
// same for every attempt of this step, for making side effects idempotent ("<run_id>:<step_id>").
struct StepInfo {
  uint32_t attempt = 1;
  std::string_view idempotency_key{};
};

class Context;

namespace detail {

enum class OpKind : uint8_t { kStep = 1, kSleep = 2, kWait = 3, kSend = 4, kInvoke = 5 };

// Runs a step body once: stores the value for the function and encodes it into `out`.
// Thrown by StepAwaiter::run when the body returned but its value's Codec could not encode it
// (nlohmann's dump of a string that is not UTF-8, say): the body's effects happened, so running it
// again would repeat them. A NonRetriableError: the step fails at once, naming the codec.
class ValueNotEncoded : public NonRetriableError {
 public:
  using NonRetriableError::NonRetriableError;
};

class StepBody {
 public:
  virtual void run(const StepInfo& info, std::string& out) = 0;
  // How tools read the encoded value (the value's Codec says).
  virtual ValueFormat format() const = 0;

 protected:
  ~StepBody() = default;
};

// Owned copies of the requests (the option structs above only hold views).
struct WaitRequest {
  std::string event{};
  std::string match{};
  std::optional<std::string> value{};
  std::chrono::milliseconds timeout{0};
};
struct InvokeRequest {
  std::string function{};
  std::string data{};
};

// One durable operation: its request, and its result once the engine has it. Lives in the
// awaiter, in the suspended coroutine's frame.
struct OpSlot {
  OpKind kind = OpKind::kStep;
  bool resolved = false;  // the result below is known
  bool failed = false;
  uint32_t position = 0;  // assigned when the function reaches the operation
  std::string id;         // as the function named it (a repeat gets a ":n" suffix)
  // Request: a sleep's deadline, or what a wait, a send or an invoke asks for (owned by the
  // awaiter, like the slot).
  int64_t deadline_ms = 0;
  std::variant<std::monostate, const WaitRequest*, const Event*, const InvokeRequest*> request{};
  std::optional<uint32_t> retries{};
  StepBody* body = nullptr;
  // Result: a replayed step's or an invoked run's output, a sent event's id, or the error.
  std::string value{};
  std::optional<Event>* event_out = nullptr;  // where a wait's event goes
};

// Codec<T>::decode of a recorded value (a replayed step's output, an invoked run's output), as a
// StepError naming the operation: a decode error alone ("not a number of this type") does not say
// which one, and the function may catch it like a failed step.
template <typename T>
T decode_recorded(const OpSlot& slot) {
  try {
    return Codec<T>::decode(slot.value);
  } catch (const std::exception& e) {
    throw StepError(slot.id, "the recorded value of \"" + slot.id +
                                 "\" does not decode as the type the code asks for: " + e.what());
  }
}

struct RunState;

// Implemented by the engine (engine/src/executor.cc). await_ready: true when the result is known
// without suspending (replay). await_resume: throws StepError for a failed step or invoke.
bool op_ready(RunState& run, OpSlot& slot);
void op_suspend(RunState& run, OpSlot& slot, std::coroutine_handle<> h);
void op_resume(RunState& run, OpSlot& slot);

uint64_t run_id_of(const RunState& run);
std::string_view function_id_of(const RunState& run);
std::span<const Event> events_of(const RunState& run);
int64_t now_ms_of(const RunState& run);
// a + b in milliseconds, held at the ends of int64_t: "sleep for milliseconds::max()" is forever,
// not a sum that wrapped around to a moment long past (which fired at once).
constexpr int64_t add_ms_saturated(int64_t a, int64_t b) {
  int64_t sum = 0;
  if (__builtin_add_overflow(a, b, &sum)) {
    return b > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
  }
  return sum;
}

// The body of ctx.now_ms(): reads the engine's clock once, as a step, so the time is recorded.
struct ClockRead {
  RunState* run{};
  int64_t operator()() const { return now_ms_of(*run); }
};

template <typename F>
using step_result_t = typename std::conditional_t<std::is_invocable_v<F&, const StepInfo&>,
                                                  std::invoke_result<F&, const StepInfo&>,
                                                  std::invoke_result<F&>>::type;

// co_await ctx.run(...). Holds the step body itself (no allocation) and, after a live attempt,
// its value, so the function gets it without decoding. Never moved: it lives in the frame.
template <typename T, typename F>
class StepAwaiter final : public StepBody {
 public:
  StepAwaiter(RunState& run, std::string_view id, F fn, StepOptions opts)
      : run_(run), fn_(std::move(fn)) {
    slot_.kind = OpKind::kStep;
    slot_.id = id;
    slot_.retries = opts.retries;
    slot_.body = this;
  }
  StepAwaiter(const StepAwaiter&) = delete;
  StepAwaiter& operator=(const StepAwaiter&) = delete;

  bool await_ready() { return op_ready(run_, slot_); }
  void await_suspend(std::coroutine_handle<> h) { op_suspend(run_, slot_, h); }
  T await_resume() {
    op_resume(run_, slot_);
    if constexpr (!std::is_void_v<T>) {
      if (value_) return std::move(*value_);
      return decode_recorded<T>(slot_);
    }
  }
  void run(const StepInfo& info, std::string& out) override {
    if constexpr (std::is_void_v<T>) {
      call(info);
      out.clear();
    } else {
      value_.emplace(call(info));
      try {
        Codec<T>::encode(*value_, out);
      } catch (const std::exception& e) {
        throw ValueNotEncoded(
            std::string("the step's body returned, but its value's Codec could not encode it (") +
            e.what() + "); the body is not run again, as its effects happened");
      }
    }
  }
  ValueFormat format() const override {
    if constexpr (std::is_void_v<T>) {
      return value_format<Unit>();
    } else {
      return value_format<T>();
    }
  }

 private:
  T call(const StepInfo& info) {
    if constexpr (std::is_invocable_v<F&, const StepInfo&>) {
      return fn_(info);
    } else {
      return fn_();
    }
  }
  RunState& run_;
  F fn_;
  OpSlot slot_;
  std::optional<std::conditional_t<std::is_void_v<T>, Unit, T>> value_;
};

// Awaiter for operations whose result the engine fills into the slot.
template <typename Result>
class OpAwaiter {
 public:
  explicit OpAwaiter(RunState& run) : run_(run) {}
  OpAwaiter(const OpAwaiter&) = delete;  // the slot points into the awaiter: it never moves
  OpAwaiter& operator=(const OpAwaiter&) = delete;
  bool await_ready() { return op_ready(run_, slot_); }
  void await_suspend(std::coroutine_handle<> h) { op_suspend(run_, slot_, h); }
  Result await_resume() {
    op_resume(run_, slot_);
    if constexpr (std::is_same_v<Result, std::optional<Event>>) {
      return std::move(*slot_.event_out);
    } else if constexpr (std::is_same_v<Result, std::string>) {
      return std::move(slot_.value);
    } else if constexpr (!std::is_void_v<Result>) {
      return decode_recorded<Result>(slot_);
    }
  }

 protected:
  RunState& run_;
  OpSlot slot_;
};

class SleepAwaiter : public OpAwaiter<void> {
 public:
  SleepAwaiter(RunState& run, std::string_view id, int64_t deadline_ms) : OpAwaiter(run) {
    slot_.kind = OpKind::kSleep;
    slot_.id = id;
    slot_.deadline_ms = deadline_ms;
  }
};

class WaitAwaiter : public OpAwaiter<std::optional<Event>> {
 public:
  WaitAwaiter(RunState& run, std::string_view id, const WaitOptions& o)
      : OpAwaiter(run),
        req_{std::string(o.event), std::string(o.match),
             o.value ? std::optional<std::string>(std::string(*o.value)) : std::nullopt,
             o.timeout} {
    slot_.kind = OpKind::kWait;
    slot_.id = id;
    slot_.request = &req_;
    slot_.event_out = &event_;
  }

 private:
  WaitRequest req_;
  std::optional<Event> event_;  // the result
};

class SendAwaiter : public OpAwaiter<std::string> {
 public:
  SendAwaiter(RunState& run, std::string_view id, const OutgoingEvent& e)
      : OpAwaiter(run),
        outgoing_{std::string(e.name), std::string(e.data), std::string(e.id), e.ts_ms} {
    slot_.kind = OpKind::kSend;
    slot_.id = id;
    slot_.request = &outgoing_;
  }

 private:
  Event outgoing_;
};

template <typename R>
class InvokeAwaiter : public OpAwaiter<R> {
 public:
  InvokeAwaiter(RunState& run, std::string_view id, const InvokeOptions& o)
      : OpAwaiter<R>(run), req_{std::string(o.function), std::string(o.data)} {
    this->slot_.kind = OpKind::kInvoke;
    this->slot_.id = id;
    this->slot_.request = &req_;
  }

 private:
  InvokeRequest req_;
};

}  // namespace detail

// Every operation returns an awaiter that does nothing until it is co_awaited: a call without
// co_await compiles, runs nothing and records nothing, hence [[nodiscard]].
#define CAIRN_AWAIT_IT [[nodiscard("co_await it: without co_await the operation never runs")]]

class Context {
 public:
  explicit Context(detail::RunState& run) : run_(run) {}
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  // A step: `fn` runs on a worker (with retries), its value is recorded, and the function gets
  // it only once the record is durable. `fn` may take a `const StepInfo&`.
  template <typename F>
  CAIRN_AWAIT_IT detail::StepAwaiter<detail::step_result_t<std::decay_t<F>>, std::decay_t<F>> run(
      std::string_view id, F&& fn, StepOptions opts = {}) {
    return {run_, id, std::forward<F>(fn), opts};
  }

  // A durable timer: a restart resumes it with the time that is left.
  CAIRN_AWAIT_IT detail::SleepAwaiter sleep(std::string_view id,
                                            std::chrono::milliseconds duration) {
    // The deadline is recorded when the sleep starts; a replay uses the recorded one.
    return {run_, id, detail::add_ms_saturated(detail::now_ms_of(run_), duration.count())};
  }
  CAIRN_AWAIT_IT detail::SleepAwaiter sleep_until(std::string_view id,
                                                  std::chrono::system_clock::time_point when) {
    return {run_, id,
            std::chrono::duration_cast<std::chrono::milliseconds>(when.time_since_epoch()).count()};
  }

  // Waits for an event of exactly the name `opts.event` ('*' is refused: no wildcard here, unlike
  // a trigger's "order/*"); returns std::nullopt when the timeout passes first.
  CAIRN_AWAIT_IT detail::WaitAwaiter wait_for_event(std::string_view id, const WaitOptions& opts) {
    return {run_, id, opts};
  }

  // Sends an event (durably, once); returns its id. An event over EngineOptions::event_bytes_max
  // or event_id_bytes_max (or without a name, or with data that is not a JSON object or nests
  // too deeply) throws a StepError the function may catch, and nothing is recorded. When the
  // engine has no room for it for now (EngineOptions::runs_active_max, or dedup_ids_max for a new
  // id) the send waits instead: it is recorded as deferred (run_history: kSendDeferred) and tried
  // again with the function's retries and backoff, the run kSleeping meanwhile; past them, or
  // at once when the event starts runs_active_max runs or more, it throws a StepError.
  CAIRN_AWAIT_IT detail::SendAwaiter send_event(std::string_view id, const OutgoingEvent& event) {
    return {run_, id, event};
  }

  // Starts a run of another function and waits for its output, decoded with Codec<R> (R must be
  // what that function returns, or std::string for the bytes as recorded). Throws StepError when
  // that run fails.
  template <typename R = std::string>
  CAIRN_AWAIT_IT detail::InvokeAwaiter<R> invoke(std::string_view id, const InvokeOptions& opts) {
    return {run_, id, opts};
  }

  // The engine clock's time in milliseconds since the Unix epoch, recorded once like a step's
  // value (it is a durable operation with an id): a replay after a restart returns the recorded
  // time, so code that branches on it takes the same path again. Use it, not the system clock,
  // for time a function's control flow depends on (tests drive the engine's clock).
  CAIRN_AWAIT_IT detail::StepAwaiter<int64_t, detail::ClockRead> now_ms(std::string_view id) {
    return {run_, id, detail::ClockRead{&run_}, StepOptions{}};
  }

  uint64_t run_id() const { return detail::run_id_of(run_); }
  std::string_view function_id() const { return detail::function_id_of(run_); }
  // The events the run got: for a function with batching (FunctionOptions::batch), every event of
  // its batch in the order they were accepted (the run's own event first); otherwise its one event.
  std::span<const Event> events() const { return detail::events_of(run_); }

 private:
  detail::RunState& run_;
};

#undef CAIRN_AWAIT_IT

}  // namespace cairn
