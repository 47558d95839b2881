// ChildProcess, ChildPipe and follow_progress (see child_process.h).
#include "support/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace cairn::testing {

namespace {

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// The child's environment: ours, plus TSAN_OPTIONS naming the suppressions in a TSan build.
std::vector<std::string> child_environment() {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
  if (const std::string supp = child_tsan_suppressions(); !supp.empty()) {
    env.push_back("TSAN_OPTIONS=suppressions=" + supp);
  }
  return env;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream all;
  all << in.rdbuf();
  return all.str();
}

}  // namespace

std::string child_tsan_suppressions() {
#ifdef CAIRN_TSAN_SUPPRESSIONS
  if (std::getenv("TSAN_OPTIONS") == nullptr) return CAIRN_TSAN_SUPPRESSIONS;
#endif
  return {};
}

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const ChildOptions& options) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (!options.output.empty()) {
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, options.output.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  }
  std::vector<std::string> args = argv;
  std::vector<char*> cargs = c_strings(args);
  std::vector<std::string> env = child_environment();
  std::vector<char*> cenv = c_strings(env);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, cargs[0], &actions, nullptr, cargs.data(), cenv.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    start_error_ = "posix_spawn " + args[0] + ": " + std::strerror(rc);
    how_ = "not started";
    return;
  }
  pid_ = pid;
  spawned_ = true;
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) kill_and_reap();
}

void ChildProcess::record(int status) {
  pid_ = -1;
  if (WIFEXITED(status)) {
    exited_ = true;
    exit_code_ = WEXITSTATUS(status);
    how_ = "exited with status " + std::to_string(exit_code_);
  } else if (WIFSIGNALED(status)) {
    term_signal_ = WTERMSIG(status);
    // A signal nobody here sent (SIGSEGV, SIGABRT, ...) is the child's own end: a failure.
    exited_ = (signals_sent_ & (uint64_t{1} << term_signal_)) == 0;
    how_ = std::string("killed by signal ") + strsignal(term_signal_);
  } else {
    exited_ = true;
    how_ = "ended with wait status " + std::to_string(status);
  }
}

bool ChildProcess::wait_for_exit(std::chrono::milliseconds timeout) {
  // Reaped already (or never started): there is nothing left to wait for. (Not `exited_`: that
  // says whether it ended by itself, and a child that died of our SIGTERM has ended too.)
  if (pid_ <= 0) return true;
  const auto end = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      record(status);
      return true;
    }
    if (r < 0 && errno != EINTR) {
      how_ = std::string("waitpid: ") + std::strerror(errno);
      pid_ = -1;
      exited_ = true;
      return true;
    }
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
}

void ChildProcess::send_signal(int sig) {
  if (pid_ <= 0) return;
  signals_sent_ |= uint64_t{1} << sig;
  ::kill(pid_, sig);
}

void ChildProcess::kill_and_reap() {
  if (pid_ <= 0) return;
  signals_sent_ |= uint64_t{1} << SIGKILL;
  ::kill(pid_, SIGKILL);
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &status, 0);
  } while (r < 0 && errno == EINTR);
  if (r == pid_) {
    record(status);
  } else {
    how_ = std::string("waitpid: ") + std::strerror(errno);
    pid_ = -1;
  }
}

ChildPipe::ChildPipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    error_ = std::string("pipe2: ") + std::strerror(errno);
    return;
  }
  // Only the write end goes to the child; it is the one fd the child inherits on purpose.
  ::fcntl(fds[1], F_SETFD, 0);
  read_fd_ = fds[0];
  write_fd_ = fds[1];
}

ChildPipe::~ChildPipe() {
  close_write_end();
  if (read_fd_ >= 0) ::close(read_fd_);
}

void ChildPipe::close_write_end() {
  if (write_fd_ >= 0) ::close(write_fd_);
  write_fd_ = -1;
}

bool ChildPipe::read(std::chrono::microseconds timeout, std::vector<char>* bytes) {
  if (closed_ || read_fd_ < 0) return false;
  pollfd p{.fd = read_fd_, .events = POLLIN, .revents = 0};
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(timeout);
  const timespec ts{.tv_sec = secs.count(),
                    .tv_nsec = std::chrono::nanoseconds(timeout - secs).count()};
  if (::ppoll(&p, 1, &ts, nullptr) <= 0) return true;  // nothing yet (or EINTR)
  char buf[1 << 16];
  const ssize_t n = ::read(read_fd_, buf, sizeof buf);
  if (n < 0 && errno == EINTR) return true;
  if (n <= 0) {  // EOF: the child (the only writer) is gone
    closed_ = true;
    return false;
  }
  bytes->insert(bytes->end(), buf, buf + n);
  return true;
}

Followed follow_progress(const std::function<Poll()>& poll, const std::function<bool()>& reached,
                         std::chrono::milliseconds stall_timeout) {
  auto last_news = std::chrono::steady_clock::now();
  while (!reached()) {
    const Poll p = poll();
    if (p == Poll::kChildGone) return Followed::kChildGone;
    const auto now = std::chrono::steady_clock::now();
    if (p == Poll::kNews) {
      last_news = now;
    } else if (now - last_news > stall_timeout) {
      return Followed::kStalled;
    }
  }
  return Followed::kReached;
}

std::string tail_of_file(const std::filesystem::path& path, size_t max_bytes) {
  const std::string s = read_file(path);
  return s.size() <= max_bytes ? s : "..." + s.substr(s.size() - max_bytes);
}

std::string sanitizer_report(const std::filesystem::path& output) {
  const std::string s = read_file(output);
  size_t at = std::string::npos;
  for (const char* marker : {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                             "WARNING: ThreadSanitizer", "runtime error:"}) {
    at = std::min(at, s.find(marker));
  }
  return at == std::string::npos ? std::string() : s.substr(at, 6000);
}

}  // namespace cairn::testing
