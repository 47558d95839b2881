// Exceptions a function's code throws or catches. Errors of the engine's own API are Status
// values; exceptions are how a step body reports failure and how a failed step surfaces in the
// function, as in Inngest and Temporal.
#pragma once

#include <chrono>
#include <stdexcept>
#include <string>

namespace cairn {

// Thrown by a step body: fail the step now, without retries.
class NonRetriableError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Thrown by a step body: retry the step after `delay` (counts as an attempt).
class RetryAfterError : public std::runtime_error {
 public:
  RetryAfterError(std::chrono::milliseconds delay, const std::string& what)
      : std::runtime_error(what), delay_(delay) {}
  std::chrono::milliseconds delay() const { return delay_; }

 private:
  std::chrono::milliseconds delay_;
};

// Thrown into the function by `co_await ctx.run(...)` when the step failed for good (retries
// spent or non-retriable), and by invoke() when the invoked run failed. Catch it to compensate;
// left uncaught it fails the run.
class StepError : public std::runtime_error {
 public:
  StepError(std::string step_id, const std::string& what)
      : std::runtime_error(what), step_id_(std::move(step_id)) {}
  const std::string& step_id() const { return step_id_; }

 private:
  std::string step_id_;
};

}  // namespace cairn
