// ChildProcess (see child_process.h).
#include "crash/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

extern char** environ;

namespace cairn::testing {

ChildProcess::ChildProcess(const std::string& program, ChildConfig config) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    start_error_ = std::string("pipe2: ") + std::strerror(errno);
    return;
  }
  // Only the write end goes to the child; it is the one fd the child inherits on purpose.
  ::fcntl(fds[1], F_SETFD, 0);
  config.report_fd = fds[1];
  std::vector<std::string> args = config.to_args(program);
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, program.c_str(), nullptr, nullptr, argv.data(), environ);
  ::close(fds[1]);
  read_fd_ = fds[0];
  if (rc != 0) {
    start_error_ = "posix_spawn " + program + ": " + std::strerror(rc);
    return;
  }
  pid_ = pid;
  reader_ = std::thread([this] { read_pipe(); });
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) (void)kill_and_reap();
  if (reader_.joinable()) reader_.join();
  if (read_fd_ >= 0) ::close(read_fd_);
}

void ChildProcess::read_pipe() {
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(read_fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // EOF: the child (the only writer) is gone
    bytes_.insert(bytes_.end(), buf, buf + n);
  }
}

std::string ChildProcess::kill_and_reap() {
  if (pid_ <= 0) return "not running";
  ::kill(pid_, SIGKILL);
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &status, 0);
  } while (r < 0 && errno == EINTR);
  pid_ = -1;
  if (reader_.joinable()) reader_.join();
  // Whole reports only: the pipe never holds a partial one (atomic writes), but be strict.
  const size_t n = bytes_.size() / sizeof(AckReport);
  reports_.resize(n);
  if (n > 0) std::memcpy(reports_.data(), bytes_.data(), n * sizeof(AckReport));
  if (r < 0) return std::string("waitpid: ") + std::strerror(errno);
  if (WIFSIGNALED(status)) {
    killed_by_sigkill_ = WTERMSIG(status) == SIGKILL;
    return std::string("killed by ") +
           (killed_by_sigkill_ ? "SIGKILL" : strsignal(WTERMSIG(status)));
  }
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  return "ended with wait status " + std::to_string(status);
}

}  // namespace cairn::testing
