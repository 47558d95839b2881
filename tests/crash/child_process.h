// ChildProcess: runs log_crash_child with a report pipe, reads its reports as they arrive (so the
// test can kill it at a point of its progress rather than at a time since the spawn), kills it
// with SIGKILL, and hands back every acknowledgement report it managed to send.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "crash/crash_protocol.h"

namespace cairn::testing {

class ChildProcess {
 public:
  using Clock = std::chrono::steady_clock;

  // How far the child got, by the reports read so far, and when each mark arrived (for messages).
  struct Progress {
    std::optional<Clock::time_point> opening;    // it began to open the log
    std::optional<Clock::time_point> opened;     // the log is open
    std::optional<Clock::time_point> first_ack;  // its first record was acknowledged
    size_t acks = 0;
  };

  // What wait_until saw.
  enum class Wait { kReached, kChildGone, kStalled };

  // Starts `program` with `config` (its report_fd is filled in). Check started() after.
  ChildProcess(const std::string& program, ChildConfig config);
  ~ChildProcess();  // kills and reaps a child that is still running
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  bool started() const { return pid_ > 0; }
  const std::string& start_error() const { return start_error_; }
  const Progress& progress() const { return progress_; }

  // Reads reports until `reached(progress())` holds. Gives up when the child closes the pipe (it
  // ended) or when no report arrives for `stall_timeout`: a child that makes progress, however
  // slowly, is waited for.
  Wait wait_until(const std::function<bool(const Progress&)>& reached,
                  std::chrono::milliseconds stall_timeout);
  // Keeps reading reports for `duration` (the pipe must not fill while the child runs on).
  void read_for(std::chrono::microseconds duration);

  // SIGKILLs the child, reaps it and drains the pipe. Returns how it ended, for messages:
  // "killed by SIGKILL" is the expected answer.
  std::string kill_and_reap();
  bool was_killed_by_sigkill() const { return killed_by_sigkill_; }

  // The acknowledgement reports read from the pipe (all of them after kill_and_reap()).
  const std::vector<AckReport>& reports() const { return acks_; }

 private:
  // Waits up to `timeout` for bytes on the pipe and reads them. False once the pipe is closed.
  bool read_pipe(std::chrono::microseconds timeout);
  // Moves the whole reports in bytes_ to acks_ or progress_.
  void take_reports();

  pid_t pid_ = -1;
  int read_fd_ = -1;
  bool pipe_closed_ = false;
  std::string start_error_;
  std::vector<char> bytes_;  // at most a partial report between reads
  std::vector<AckReport> acks_;
  Progress progress_;
  uint64_t reports_read_ = 0;  // marks too: any report is progress
  bool killed_by_sigkill_ = false;
};

}  // namespace cairn::testing
