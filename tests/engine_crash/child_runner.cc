// SpawnedChild (see child_runner.h).
#include "engine_crash/child_runner.h"

#include <fcntl.h>
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

namespace cairn::engine_crash {

namespace {

// The child's environment: ours, plus TSan's suppressions in a TSan build (unless TSAN_OPTIONS is
// set already, so a run can still see everything).
std::vector<std::string> child_environment() {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
#ifdef CAIRN_ENGINE_CRASH_TSAN_SUPPRESSIONS
  if (std::getenv("TSAN_OPTIONS") == nullptr) {
    env.emplace_back("TSAN_OPTIONS=suppressions=" CAIRN_ENGINE_CRASH_TSAN_SUPPRESSIONS);
  }
#endif
  return env;
}

}  // namespace

SpawnedChild::SpawnedChild(const std::vector<std::string>& argv,
                           const std::filesystem::path& output) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, output.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  std::vector<std::string> args = argv;
  std::vector<char*> cargs;
  for (std::string& a : args) cargs.push_back(a.data());
  cargs.push_back(nullptr);
  std::vector<std::string> env = child_environment();
  std::vector<char*> cenv;
  for (std::string& e : env) cenv.push_back(e.data());
  cenv.push_back(nullptr);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, cargs[0], &actions, nullptr, cargs.data(), cenv.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    start_error_ = "posix_spawn " + args[0] + ": " + std::strerror(rc);
    return;
  }
  pid_ = pid;
}

SpawnedChild::~SpawnedChild() {
  if (pid_ > 0) kill_and_reap();
}

void SpawnedChild::record(int status) {
  pid_ = -1;
  if (WIFEXITED(status)) {
    exited_ = true;
    exit_code_ = WEXITSTATUS(status);
    how_ = "exited with status " + std::to_string(exit_code_);
  } else if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    // A signal nobody here sent (SIGSEGV, SIGABRT, ...) is the child's own end: a failure.
    exited_ = (signals_sent_ & (uint64_t{1} << sig)) == 0;
    how_ = std::string("killed by signal ") + strsignal(sig);
  } else {
    exited_ = true;
    how_ = "ended with wait status " + std::to_string(status);
  }
}

bool SpawnedChild::wait_for_exit(std::chrono::milliseconds timeout) {
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

void SpawnedChild::send_signal(int sig) {
  if (pid_ <= 0) return;
  signals_sent_ |= uint64_t{1} << sig;
  ::kill(pid_, sig);
}

void SpawnedChild::kill_and_reap() {
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

std::string tail_of_file(const std::filesystem::path& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream all;
  all << in.rdbuf();
  const std::string s = all.str();
  return s.size() <= max_bytes ? s : "..." + s.substr(s.size() - max_bytes);
}

std::string sanitizer_report(const std::filesystem::path& output) {
  std::ifstream in(output, std::ios::binary);
  std::stringstream all;
  all << in.rdbuf();
  const std::string s = all.str();
  size_t at = std::string::npos;
  for (const char* marker : {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                             "WARNING: ThreadSanitizer", "runtime error:"}) {
    at = std::min(at, s.find(marker));
  }
  return at == std::string::npos ? std::string() : s.substr(at, 6000);
}

}  // namespace cairn::engine_crash
