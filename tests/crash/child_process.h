// ChildProcess: runs log_crash_child with a report pipe, kills it with SIGKILL, and hands back
// every acknowledgement report it managed to send.
#pragma once

#include <sys/types.h>

#include <string>
#include <thread>
#include <vector>

#include "crash/crash_protocol.h"

namespace cairn::testing {

class ChildProcess {
 public:
  // Starts `program` with `config` (its report_fd is filled in). Check started() after.
  ChildProcess(const std::string& program, ChildConfig config);
  ~ChildProcess();  // kills and reaps a child that is still running
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  bool started() const { return pid_ > 0; }
  const std::string& start_error() const { return start_error_; }

  // SIGKILLs the child, reaps it and drains the pipe. Returns how it ended, for messages:
  // "killed by SIGKILL" is the expected answer.
  std::string kill_and_reap();
  bool was_killed_by_sigkill() const { return killed_by_sigkill_; }

  // The reports read from the pipe (after kill_and_reap()).
  const std::vector<AckReport>& reports() const { return reports_; }

 private:
  void read_pipe();

  pid_t pid_ = -1;
  int read_fd_ = -1;
  std::string start_error_;
  std::thread reader_;
  std::vector<char> bytes_;
  std::vector<AckReport> reports_;
  bool killed_by_sigkill_ = false;
};

}  // namespace cairn::testing
