// SpawnedChild: one incarnation of engine_crash_child, with its stdout and stderr in a file. The
// parent waits for it to exit by itself for a while, or SIGKILLs it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace cairn::engine_crash {

class SpawnedChild {
 public:
  // Starts `argv[0]` with `argv`, its output appended to `output`. Check started() after.
  SpawnedChild(const std::vector<std::string>& argv, const std::filesystem::path& output);
  ~SpawnedChild();  // kills and reaps a child that is still running
  SpawnedChild(const SpawnedChild&) = delete;
  SpawnedChild& operator=(const SpawnedChild&) = delete;

  bool started() const { return pid_ > 0 || exited_; }
  const std::string& start_error() const { return start_error_; }

  // Waits up to `timeout` for the child to end; true when it did (by itself, or of a signal).
  bool wait_for_exit(std::chrono::milliseconds timeout);
  // Sends `sig` (a child that dies of it did not end by itself).
  void send_signal(int sig);
  // SIGKILLs the child (unless it already ended) and reaps it.
  void kill_and_reap();

  bool running() const { return pid_ > 0; }
  // Ended with exit(): exit_code() says how. False when a signal we sent ended it.
  bool exited() const { return exited_; }
  int exit_code() const { return exit_code_; }
  bool exited_zero() const { return exited_ && exit_code_ == 0; }
  // How it ended, for messages: "exited with status 0", "killed by signal Killed", ...
  const std::string& how() const { return how_; }

 private:
  void record(int wait_status);

  pid_t pid_ = -1;
  std::string start_error_;
  bool exited_ = false;
  int exit_code_ = -1;
  uint64_t signals_sent_ = 0;  // bit n: we sent signal n
  std::string how_ = "running";
};

// The last `max_bytes` of a file, for failure messages.
std::string tail_of_file(const std::filesystem::path& path, size_t max_bytes = 4000);

// A sanitizer's report in the child's output (ASan, UBSan, TSan), or "" when there is none. A
// killed child never reaches its exit code, so the output is the only place a report shows.
std::string sanitizer_report(const std::filesystem::path& output);

}  // namespace cairn::engine_crash
