// A test's child process, for the crash tests that kill a child at a point of its progress:
// spawning it (ChildProcess, with its output in a file if asked, and in a TSan build the suite's
// suppressions), a pipe it reports on (ChildPipe), waiting until its progress reaches a point or
// it ends or goes silent (follow_progress), signalling, SIGKILLing and reaping it, and saying how
// it ended; and reading its output for failure messages.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace cairn::testing {

struct ChildOptions {
  std::filesystem::path output;  // stdout and stderr appended here; empty: the test's own
};

// The TSan suppressions file children run with (tests/tsan.supp, passed in TSAN_OPTIONS): in a
// TSan build, unless TSAN_OPTIONS is set already (so a run can still see everything, or name its
// own). "" when they run without.
std::string child_tsan_suppressions();

class ChildProcess {
 public:
  // Starts `argv[0]` with `argv`. Check started() after.
  explicit ChildProcess(const std::vector<std::string>& argv, const ChildOptions& options = {});
  ~ChildProcess();  // kills and reaps a child that is still running
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  bool started() const { return spawned_; }
  const std::string& start_error() const { return start_error_; }

  // Waits up to `timeout` for the child to end; true when it did (by itself, or of a signal), or
  // was reaped already.
  bool wait_for_exit(std::chrono::milliseconds timeout);
  // Sends `sig` (a child that dies of it did not end by itself).
  void send_signal(int sig);
  // SIGKILLs the child (unless it was reaped already) and reaps it.
  void kill_and_reap();

  bool running() const { return pid_ > 0; }
  // Ended by itself: with exit() (exit_code() says how), or of a signal nobody here sent (SIGSEGV,
  // SIGABRT, ...). False when a signal we sent ended it.
  bool exited() const { return exited_; }
  int exit_code() const { return exit_code_; }
  bool exited_zero() const { return exited_ && exit_code_ == 0; }
  // The signal that ended it; 0 when none did (or it is still running).
  int term_signal() const { return term_signal_; }
  // How it ended, for messages: "exited with status 0", "killed by signal Killed", ...
  const std::string& how() const { return how_; }

 private:
  void record(int wait_status);

  pid_t pid_ = -1;
  bool spawned_ = false;
  std::string start_error_;
  bool exited_ = false;
  int exit_code_ = -1;
  int term_signal_ = 0;
  uint64_t signals_sent_ = 0;  // bit n: we sent signal n
  std::string how_ = "running";
};

// A pipe the child writes its reports to: it inherits the write end (write_fd(), to name on its
// command line), the test reads the other. One child at a time: the write end is open to exec.
class ChildPipe {
 public:
  ChildPipe();  // check ok() after
  ~ChildPipe();
  ChildPipe(const ChildPipe&) = delete;
  ChildPipe& operator=(const ChildPipe&) = delete;

  bool ok() const { return read_fd_ >= 0; }
  const std::string& error() const { return error_; }
  int write_fd() const { return write_fd_; }
  // Closes the test's copy of the write end once the child was spawned, so the pipe ends with it.
  void close_write_end();

  // Waits up to `timeout` for bytes and appends what arrived to `bytes`. False once the pipe is
  // closed: every writer (the child) is gone and everything it wrote was read.
  bool read(std::chrono::microseconds timeout, std::vector<char>* bytes);

 private:
  int read_fd_ = -1;
  int write_fd_ = -1;
  bool closed_ = false;
  std::string error_;
};

// What one look at the child's progress found: news (progress since the last look), nothing new,
// or that the child has ended (no more will come).
enum class Poll { kNews, kQuiet, kChildGone };
enum class Followed { kReached, kChildGone, kStalled };

// Takes in the child's progress with `poll` (which waits a little for news) until `reached()`
// holds. Gives up when the child ends, or when no news comes for `stall_timeout`: only silence
// counts, so a child that makes progress, however slowly, is waited for.
Followed follow_progress(const std::function<Poll()>& poll, const std::function<bool()>& reached,
                         std::chrono::milliseconds stall_timeout);

// The last `max_bytes` of a file (a child's output), for failure messages.
std::string tail_of_file(const std::filesystem::path& path, size_t max_bytes = 4000);

// A sanitizer's report in a child's output (ASan, UBSan, TSan), or "" when there is none. A
// killed child never reaches its exit code, so the output is the only place a report shows.
std::string sanitizer_report(const std::filesystem::path& output);

}  // namespace cairn::testing
