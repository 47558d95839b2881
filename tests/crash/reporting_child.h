// ReportingChild: log_crash_child (a ChildProcess, support/child_process.h) with its report pipe
// (crash_protocol.h). Reads the reports as they arrive, so the test can kill the child at a point
// of its progress rather than at a time since the spawn, kills it with SIGKILL, and hands back
// every acknowledgement report it managed to send.
#pragma once

#include <chrono>
#include <csignal>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "crash/crash_protocol.h"
#include "support/child_process.h"

namespace cairn::testing {

class ReportingChild {
 public:
  using Clock = std::chrono::steady_clock;

  // How far the child got, by the reports read so far, and when each mark arrived (for messages).
  struct Progress {
    std::optional<Clock::time_point> opening;    // it began to open the log
    std::optional<Clock::time_point> opened;     // the log is open
    std::optional<Clock::time_point> first_ack;  // its first record was acknowledged
    size_t acks = 0;
  };

  // Starts `program` with `config` (its report_fd is filled in). Check started() after.
  ReportingChild(const std::string& program, ChildConfig config);

  bool started() const { return process_ && process_->started(); }
  const std::string& start_error() const;
  const Progress& progress() const { return progress_; }

  // Reads reports until `reached(progress())` holds. Gives up when the child closes the pipe (it
  // ended) or when no report arrives for `stall_timeout`: a child that makes progress, however
  // slowly, is waited for.
  Followed wait_until(const std::function<bool(const Progress&)>& reached,
                      std::chrono::milliseconds stall_timeout);
  // Keeps reading reports for `duration` (the pipe must not fill while the child runs on).
  void read_for(std::chrono::microseconds duration);

  // SIGKILLs the child, reaps it and drains the pipe. Returns how it ended, for messages.
  std::string kill_and_reap();
  bool was_killed_by_sigkill() const { return process_ && process_->term_signal() == SIGKILL; }

  // The acknowledgement reports read from the pipe (all of them after kill_and_reap()).
  const std::vector<AckReport>& reports() const { return acks_; }

 private:
  // Waits up to `timeout` for reports and takes them in. False once the pipe is closed.
  bool read_pipe(std::chrono::microseconds timeout);
  // Moves the whole reports in bytes_ to acks_ or progress_.
  void take_reports();

  ChildPipe pipe_;
  std::unique_ptr<ChildProcess> process_;  // once the pipe is open
  std::vector<char> bytes_;                // at most a partial report between reads
  std::vector<AckReport> acks_;
  Progress progress_;
  uint64_t reports_read_ = 0;  // marks too: any report is progress
};

}  // namespace cairn::testing
