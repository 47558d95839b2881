// Where cairn-bench puts its data: a fresh directory per run (an existing one must be empty, so a
// benchmark never mixes with or destroys earlier data), and scratch files that are removed again.
#pragma once

#include <filesystem>
#include <string>

#include "cairn/log/status.h"

namespace cairn::bench {

// ./cairn-bench-data/<kind>-<pid>
std::filesystem::path default_data_dir(const std::string& kind);

// Creates `dir` (and its parents) unless it exists; an existing `dir` must be an empty directory.
// kInvalidArgument otherwise, with a message that says what to do.
Status prepare_empty_dir(const std::filesystem::path& dir);

// Removes a scratch file or directory tree when it goes out of scope (also on early returns).
class RemoveOnExit {
 public:
  explicit RemoveOnExit(std::filesystem::path path) : path_(std::move(path)) {}
  ~RemoveOnExit() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  RemoveOnExit(const RemoveOnExit&) = delete;
  RemoveOnExit& operator=(const RemoveOnExit&) = delete;

 private:
  std::filesystem::path path_;
};

}  // namespace cairn::bench
