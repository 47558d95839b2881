// Status and Result<T>: how the log and the engine report failures that come from outside the
// program (disk, user input). Nothing is thrown across the public API.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "cairn/log/check.h"

namespace cairn {

enum class StatusCode : uint8_t {
  kOk = 0,
  kInvalidArgument,  // the caller passed something wrong; nothing changed
  kNotFound,
  kAlreadyExists,
  kLocked,         // another process holds the log's lock
  kCorruption,     // bytes on disk are damaged; the message says where
  kIoError,        // the OS reported an I/O error (EIO and friends)
  kNoSpace,        // ENOSPC
  kLimitExceeded,  // a configured limit was reached; the message names it
  kClosed,         // the object was closed
  kFailed,         // an earlier fatal error stopped the component; the message says which
  kTimeout,
  kCancelled,
  kInternal,
  // Refused for now, not for what was asked: an admission limit is reached (the engine's
  // runs_active_max) and the same call may succeed once runs finish. The message names the limit.
  // (kLimitExceeded is a request that is too large, and stays so.)
  kUnavailable,
};

std::string_view status_code_name(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message)
      : rep_(code == StatusCode::kOk ? nullptr
                                     : std::make_shared<const Rep>(Rep{code, std::move(message)})) {
  }

  static Status Ok() { return Status(); }

  bool ok() const { return rep_ == nullptr; }
  StatusCode code() const { return rep_ ? rep_->code : StatusCode::kOk; }
  // Empty for OK.
  const std::string& message() const;
  // "Corruption: bad checksum in 00000001-....wal at offset 4096 (LSN 0)", or "OK".
  std::string to_string() const;

  // The same status with `context` put in front of the message ("opening log: ...").
  Status with_context(std::string_view context) const;

 private:
  struct Rep {
    StatusCode code{};
    std::string message{};
  };
  std::shared_ptr<const Rep> rep_;  // shared so copies of an error are cheap
};

// An error from a failed system call: EIO, ENOSPC, ... map to their codes.
Status errno_status(int err, std::string_view what);

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design, like absl::StatusOr
  Result(Status status) : v_(std::move(status)) {  // NOLINT
    CAIRN_CHECK(!std::get<Status>(v_).ok());
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  Status status() const { return ok() ? Status() : std::get<Status>(v_); }

  T& value() & {
    CAIRN_CHECK(ok());
    return std::get<T>(v_);
  }
  const T& value() const& {
    CAIRN_CHECK(ok());
    return std::get<T>(v_);
  }
  T&& value() && {
    CAIRN_CHECK(ok());
    return std::get<T>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace cairn

#define CAIRN_CONCAT_INNER_(a, b) a##b
#define CAIRN_CONCAT_(a, b) CAIRN_CONCAT_INNER_(a, b)

// Returns the status from the enclosing function when `expr` is not OK.
#define CAIRN_RETURN_IF_ERROR(expr)                \
  do {                                             \
    ::cairn::Status cairn_status_ = (expr);        \
    if (!cairn_status_.ok()) return cairn_status_; \
  } while (0)

// `lhs = value of expr`, or returns its status from the enclosing function.
#define CAIRN_ASSIGN_OR_RETURN(lhs, expr)                   \
  auto CAIRN_CONCAT_(cairn_result_, __LINE__) = (expr);     \
  if (!CAIRN_CONCAT_(cairn_result_, __LINE__).ok())         \
    return CAIRN_CONCAT_(cairn_result_, __LINE__).status(); \
  lhs = std::move(CAIRN_CONCAT_(cairn_result_, __LINE__)).value()
