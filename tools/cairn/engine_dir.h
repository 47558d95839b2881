// The check the run commands make before they read: that DIR is an engine's directory
// (EngineOptions::dir) whose log (DIR/log) has segments. Its failures are usage errors (exit 2).
// Also what the write commands (events send, runs cancel, runs replay) share: the engine they
// open, how they report its errors, and their way to a running engine (--token, its errors).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#include "cairn/engine.h"
#include "cairn/log/status.h"

namespace cairn::tools {

// DIR/log when it is a readable log directory; else a message that says what is wrong and what
// DIR should be (a log directory passed by mistake is named as such).
Result<std::filesystem::path> engine_log_dir(const std::filesystem::path& dir);

// For the commands that create the engine when DIR does not exist yet (events send, serve): a
// message when DIR is a file or a log directory (naming the engine's directory to try instead),
// else empty.
std::string wrong_new_engine_dir(const std::filesystem::path& dir, std::string_view command);

// The options of the engine a command opens in DIR itself (events send, runs cancel, runs
// replay, serve): the limits the application's engine last started with, from DIR/OPTIONS
// (EngineOptions::options_file; the defaults when there is none) but a staging ring of its own
// size (room for a few records of log.record_bytes_max) and at least the default cache of
// finished runs (runs replay finds its runs there), with one worker and no
// function (nothing runs), and it neither writes a snapshot, nor runs retention, nor rewrites
// DIR/OPTIONS: the application's next start replays what the tool appended after its newest
// snapshot. Names in the file this build does not know are skipped with a warning on stderr
// ("cairn <command>: warning: ..."). A damaged file is refused (kInvalidArgument, naming the
// file and line): the tool would otherwise hold events to limits the application does not.
Result<EngineOptions> tool_engine_options(const std::filesystem::path& dir,
                                          std::string_view command);

// An error of the engine a command opened, printed with what to do about it, as the exit code:
// DIR in use by a running engine (exit 4, with `in_use_hint`: what to use instead), a damaged
// log (exit 1, pointing to `cairn log verify` and `recover`), input it refuses (exit 2: a file in
// its directory it cannot use, an event without a name), anything else (exit 4).
int report_engine_error(std::string_view command, std::string_view what, const Status& st,
                        const std::filesystem::path& dir, std::string_view in_use_hint);

// `--token T`: the token of a running engine's admin endpoint (else $CAIRN_TOKEN).
void add_token_option(CLI::App& cmd, std::string* token);

// An error of a running engine's admin endpoint (AdminClient), printed, as the exit code: what
// the user must fix (a missing token, a bad admin.json) exit 2; the engine refusing or not
// answering exit 4.
int report_admin_error(std::string_view command, const Status& st);

// The run ids a write command was given, each once, in the order given: `runs replay 7 7` makes
// one replay, `runs cancel 7 7` one cancellation.
std::vector<RunId> without_repeats(const std::vector<RunId>& ids);

}  // namespace cairn::tools
