// engine_log_dir, tool_engine_options and the write commands' error reports (see engine_dir.h).
#include "engine_dir.h"

#include <algorithm>
#include <cstdio>
#include <system_error>
#include <unordered_set>

#include "cairn/log/io.h"
#include "command.h"
#include "log_dir_check.h"
#include "options_file.h"

namespace cairn::tools {
namespace {

bool holds_segments(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  for (; !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    if (it->path().extension() == ".wal") return true;
  }
  return false;
}

// The directory that holds `dir`, for "try ..." hints: "data/engine/log/" and "log" (relative,
// with no parent in the text) both have one.
std::string enclosing_dir(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::path p = std::filesystem::absolute(dir, ec).lexically_normal();
  if (ec) p = dir.lexically_normal();
  if (p.filename().empty()) p = p.parent_path();  // a trailing '/'
  return p.parent_path().string();
}

// `who_takes`: "serve takes", "the run commands take".
std::string log_dir_instead(const std::filesystem::path& dir, std::string_view who_takes) {
  return dir.string() + " is a log directory (it holds *.wal segments); " + std::string(who_takes) +
         " the engine's directory, the one that holds log/: try " + enclosing_dir(dir);
}

}  // namespace

std::string wrong_new_engine_dir(const std::filesystem::path& dir, std::string_view command) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status st = fs::status(dir, ec);
  if (!fs::exists(st)) return {};
  if (!fs::is_directory(st)) {
    return dir.string() + " is not a directory (DIR is an engine's directory, EngineOptions::dir)";
  }
  return holds_segments(dir) ? log_dir_instead(dir, std::string(command) + " takes")
                             : std::string();
}

Result<std::filesystem::path> engine_log_dir(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status st = fs::status(dir, ec);
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return Status(StatusCode::kIoError, "cannot read " + dir.string() + ": " + ec.message());
  }
  if (!fs::exists(st)) return Status(StatusCode::kNotFound, "no such directory: " + dir.string());
  if (!fs::is_directory(st)) {
    return Status(StatusCode::kInvalidArgument,
                  dir.string() +
                      " is not a directory (DIR is an engine's directory, "
                      "EngineOptions::dir, which holds the log in DIR/log)");
  }
  const fs::path log_dir = dir / "log";
  if (!fs::is_directory(log_dir, ec)) {
    if (holds_segments(dir)) {
      return Status(StatusCode::kInvalidArgument, log_dir_instead(dir, "the run commands take"));
    }
    return Status(StatusCode::kNotFound, "no log in " + dir.string() +
                                             " (no log/ subdirectory): is it an engine's "
                                             "directory (EngineOptions::dir)?");
  }
  CAIRN_RETURN_IF_ERROR(check_log_dir(log_dir));
  return log_dir;
}

Result<EngineOptions> tool_engine_options(const std::filesystem::path& dir,
                                          std::string_view command) {
  EngineOptions o;
  const std::string path = (dir / kOptionsFileName).string();
  Result<std::optional<OptionsFileRead>> read =
      apply_options_file(*log::posix_file_system(), dir, &o);
  if (!read.ok()) {
    return Status(StatusCode::kInvalidArgument,
                  path + ": " + read.status().message() +
                      " (the engine's start() writes this file; nothing was done: fix it, or "
                      "remove it for the tool to use the default limits)");
  }
  if (read->has_value()) {
    for (const std::string& name : (*read)->skipped) {
      std::fprintf(
          stderr,
          "cairn %.*s: warning: %s %s: an option this build does not know (misspelled, "
          "or written by a newer Cairn), skipped: an option it misspells keeps its default\n",
          static_cast<int>(command.size()), command.data(), path.c_str(), name.c_str());
    }
  }
  o.dir = dir;
  // The staging ring bounds how much a process may queue, which is the application's to size, not
  // the tool's: a few records need only room for two of the largest (what Log::open asks), and an
  // application's 16 GiB could be refused on the machine where the directory is inspected.
  o.log.staging_bytes = std::max(log::LogOptions{}.staging_bytes,
                                 2 * (uint64_t{o.log.record_bytes_max} + (64u << 10)));
  // So is the cache of finished runs, which `runs replay` replays from: an application that keeps
  // few in memory must not make the tool refuse a run it could replay before.
  const EngineOptions defaults;
  o.runs_finished_kept = std::max(o.runs_finished_kept, defaults.runs_finished_kept);
  o.runs_finished_bytes_max = std::max(o.runs_finished_bytes_max, defaults.runs_finished_bytes_max);
  o.workers = 1;
  o.snapshot_on_shutdown = false;
  o.snapshot_every_records = ~uint64_t{0};
  o.snapshot_every_bytes = ~uint64_t{0};
  o.retention = false;
  o.options_file = false;
  return o;
}

int report_engine_error(std::string_view command, std::string_view what, const Status& st,
                        const std::filesystem::path& dir, std::string_view in_use_hint) {
  std::string hint;
  int code = kExitRefused;
  switch (st.code()) {
    case StatusCode::kLocked:
      // Commands reach a running engine through the admin endpoint its dashboard advertises;
      // this one does not advertise one (or it stopped answering).
      hint = "\n" + dir.string() + " is in use by a running engine that serves no admin " +
             "endpoint (no live " + (dir / "admin.json").string() +
             ": start a cairn::Dashboard in it, or `cairn serve` while it is stopped); " +
             std::string(in_use_hint);
      break;
    case StatusCode::kCorruption:
      hint = "\n`cairn log verify " + (dir / "log").string() +
             "` says what the damage is; `cairn log recover` repairs it.";
      code = kExitDamage;
      break;
    case StatusCode::kInvalidArgument:
      // What the engine was given cannot be used as it is (a FIFO named like a segment in its
      // log, an event it refuses): as a running engine's refusal of it is (report_admin_error).
      code = kExitUsage;
      break;
    default:  // a limit, an I/O error, a log this build cannot open
      break;
  }
  std::fprintf(stderr, "cairn %.*s: %.*s: %s%s\n", static_cast<int>(command.size()), command.data(),
               static_cast<int>(what.size()), what.data(), st.message().c_str(), hint.c_str());
  return code;
}

}  // namespace cairn::tools

namespace cairn::tools {

void add_token_option(CLI::App& cmd, std::string* token) {
  cmd.add_option("--token", *token,
                 "When DIR is served by a running engine whose admin endpoint requires a token: "
                 "the token (default: $CAIRN_TOKEN)")
      ->type_name("T");
}

int report_admin_error(std::string_view command, const Status& st) {
  std::fprintf(stderr, "cairn %.*s: %s\n", static_cast<int>(command.size()), command.data(),
               st.message().c_str());
  return st.code() == StatusCode::kInvalidArgument ? kExitUsage : kExitRefused;
}

std::vector<RunId> without_repeats(const std::vector<RunId>& ids) {
  std::vector<RunId> once;
  std::unordered_set<RunId> seen;
  for (RunId id : ids) {
    if (seen.insert(id).second) once.push_back(id);
  }
  return once;
}

}  // namespace cairn::tools
