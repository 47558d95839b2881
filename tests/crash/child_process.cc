// ChildProcess (see child_process.h).
#include "crash/child_process.h"

#include <fcntl.h>
#include <poll.h>
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
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) (void)kill_and_reap();
  if (read_fd_ >= 0) ::close(read_fd_);
}

bool ChildProcess::read_pipe(std::chrono::microseconds timeout) {
  if (pipe_closed_ || read_fd_ < 0) return false;
  pollfd p{.fd = read_fd_, .events = POLLIN, .revents = 0};
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(timeout);
  const timespec ts{.tv_sec = secs.count(),
                    .tv_nsec = std::chrono::nanoseconds(timeout - secs).count()};
  if (::ppoll(&p, 1, &ts, nullptr) <= 0) return true;  // nothing yet (or EINTR)
  char buf[1 << 16];
  const ssize_t n = ::read(read_fd_, buf, sizeof buf);
  if (n < 0 && errno == EINTR) return true;
  if (n <= 0) {  // EOF: the child (the only writer) is gone
    pipe_closed_ = true;
    return false;
  }
  bytes_.insert(bytes_.end(), buf, buf + n);
  take_reports();
  return true;
}

void ChildProcess::take_reports() {
  const size_t n = bytes_.size() / sizeof(AckReport);
  const auto now = Clock::now();
  for (size_t i = 0; i < n; ++i) {
    AckReport r;
    std::memcpy(&r, bytes_.data() + i * sizeof(AckReport), sizeof r);
    switch (r.kind) {
      case ReportKind::kOpening:
        progress_.opening = now;
        break;
      case ReportKind::kOpened:
        progress_.opened = now;
        break;
      default:
        acks_.push_back(r);
        if (!progress_.first_ack) progress_.first_ack = now;
        break;
    }
  }
  progress_.acks = acks_.size();
  reports_read_ += n;
  // Pipe writes of whole reports are atomic, so no partial one should remain; be strict anyway.
  bytes_.erase(bytes_.begin(), bytes_.begin() + static_cast<ptrdiff_t>(n * sizeof(AckReport)));
}

ChildProcess::Wait ChildProcess::wait_until(const std::function<bool(const Progress&)>& reached,
                                            std::chrono::milliseconds stall_timeout) {
  auto last_report = Clock::now();
  uint64_t reports_before = reports_read_;
  while (!reached(progress_)) {
    if (!read_pipe(std::chrono::milliseconds(100))) return Wait::kChildGone;
    const auto now = Clock::now();
    if (reports_read_ != reports_before) {
      reports_before = reports_read_;
      last_report = now;
    } else if (now - last_report > stall_timeout) {
      return Wait::kStalled;
    }
  }
  return Wait::kReached;
}

void ChildProcess::read_for(std::chrono::microseconds duration) {
  const auto end = Clock::now() + duration;
  for (auto now = Clock::now(); now < end; now = Clock::now()) {
    if (!read_pipe(std::chrono::duration_cast<std::chrono::microseconds>(end - now))) {
      return;  // the child is gone; kill_and_reap will say how
    }
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
  // The child is gone, so the pipe ends after what it wrote: read up to the EOF.
  while (read_pipe(std::chrono::seconds(1))) {
  }
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
