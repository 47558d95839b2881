// run_cairn (see cairn_cli.h): posix_spawn with stdout and stderr redirected to temporary files,
// which cannot fill up and block the child the way an unread pipe can.
#include "cairn_cli.h"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <memory>
#include <string>

#include <gtest/gtest.h>

extern char** environ;

namespace cairn::testing {
namespace {

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

std::string read_all(std::FILE* f) {
  std::string text;
  std::rewind(f);
  char buf[1 << 16];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) text.append(buf, n);
  return text;
}

}  // namespace

CliResult run_cairn(const std::vector<std::string>& args, const char* stdout_path) {
  CliResult result;
  const bool closed_pipe = stdout_path != nullptr && std::string(stdout_path) == kClosedPipe;
  File out(stdout_path == nullptr || closed_pipe ? std::tmpfile() : std::fopen(stdout_path, "w"));
  File err(std::tmpfile());
  if (!out || !err) {
    ADD_FAILURE() << "tmpfile failed";
    return result;
  }
  int out_fd = fileno(out.get());
  int pipe_fds[2] = {-1, -1};
  if (closed_pipe) {
    if (::pipe(pipe_fds) != 0) {
      ADD_FAILURE() << "pipe failed";
      return result;
    }
    ::close(pipe_fds[0]);  // no reader: every write fails with EPIPE (or raises SIGPIPE)
    out_fd = pipe_fds[1];
  }
  std::vector<std::string> argv_strings = {CAIRN_CLI_PATH};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_fd, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, fileno(err.get()), STDERR_FILENO);
  // SIGPIPE as a shell leaves it (its default action), whatever this process does with it.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, CAIRN_CLI_PATH, &actions, &attr, argv.data(), environ);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  if (closed_pipe) ::close(pipe_fds[1]);
  if (rc != 0) {
    ADD_FAILURE() << "posix_spawn " << CAIRN_CLI_PATH << " failed: " << rc;
    return result;
  }
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) {
    ADD_FAILURE() << "waitpid failed";
    return result;
  }
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.err_signal = WTERMSIG(status);
  if (stdout_path == nullptr) result.out = read_all(out.get());
  result.err = read_all(err.get());
  return result;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

}  // namespace cairn::testing
