// Runs the built `cairn` binary (its path comes from the CAIRN_CLI_PATH compile definition) in a
// child process and captures its exit code, stdout and stderr.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace cairn::testing {

struct CliResult {
  int exit_code = -1;  // -1 when the child did not exit normally (killed by a signal)
  int err_signal = 0;  // the signal that ended it, if one did
  std::string out;
  std::string err;
};

// Makes `dir` the process's working directory (which run_cairn's children inherit) until the end
// of the scope: for commands given relative paths.
class ScopedCurrentDir {
 public:
  explicit ScopedCurrentDir(const std::filesystem::path& dir)
      : old_(std::filesystem::current_path()) {
    std::filesystem::current_path(dir);
  }
  ~ScopedCurrentDir() { std::filesystem::current_path(old_); }
  ScopedCurrentDir(const ScopedCurrentDir&) = delete;
  ScopedCurrentDir& operator=(const ScopedCurrentDir&) = delete;

 private:
  std::filesystem::path old_;
};

// As `stdout_path`: stdout is a pipe whose reader is gone (`cairn ... | head` after head exited).
inline constexpr const char* kClosedPipe = "|closed-pipe|";

// `cairn args...`, with no shell in between, SIGPIPE at its default action; its stdout goes to
// `stdout_path` when given (such as /dev/full, which fails every write with ENOSPC, or
// kClosedPipe), and `out` is then empty.
CliResult run_cairn(const std::vector<std::string>& args, const char* stdout_path = nullptr);

// The lines of `text`, without their '\n'.
std::vector<std::string> split_lines(const std::string& text);

}  // namespace cairn::testing
