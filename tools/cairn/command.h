// How a subcommand hands its work to main(): it registers its options on a CLI::App and, when the
// command line selects it, leaves behind the function that runs it. Also the exit codes every
// command shares and how a command reports that it could not read its input at all.
#pragma once

#include <functional>
#include <string_view>

#include <CLI/CLI.hpp>

#include "cairn/log/status.h"

namespace cairn::tools {

// Exit codes of every cairn command (scripts rely on them).
enum ExitCode : int {
  kExitOk = 0,        // done; for a check: nothing wrong
  kExitDamage = 1,    // the log is damaged (the message says where and what it means)
  kExitUsage = 2,     // bad command line, or the log directory cannot be read at all
  kExitNotFound = 3,  // no such run (or event) in the log
  kExitRefused = 4,   // the engine could not do it: its directory is in use by a running
                      // engine, a limit, a damaged log it refuses to open, an I/O error
  // Done (an event sent, runs cancelled or replayed, a log repaired), but the report could not be
  // written: a script must not run the command again to see it (a second `events send` without
  // --id is a second event).
  kExitDoneUnreported = 5,
};

// The selected command's work, run after the whole command line parsed; returns an ExitCode.
using CommandRun = std::function<int()>;

// Prints "cairn <command>: <message>" on stderr and returns kExitUsage: for input the command
// cannot read at all (no such directory, no segments, an I/O error).
int fail_unreadable(std::string_view command, const Status& status);

// Writes `out` to stdout and flushes it: true when all of it went out; else prints why ("cairn
// <command>: writing the output: ...") and returns false, and the command exits kExitUsage, or
// kExitDoneUnreported when it has changed something by then (a report lost to a full disk or a
// closed pipe must not pass for one that was read).
bool write_output(std::string_view command, const std::string& out);

// For ->transform(): a decimal number (leading zeros dropped: CLI11 would read "0415" as octal and
// "0x10" as hex; a base prefix is refused), with no leading minus sign and at most 2^64 - 1 (CLI11
// reads "-5" into an unsigned option as 2^64 - 5 and a number too large for 64 bits as 2^64 - 1).
// Run ids, LSNs, counts and sizes must say no instead of meaning another number.
CLI::Validator decimal_number();

// decimal_number, and not 0: no run has id 0, and a stopped engine and a live one would each say
// so in their own way (exit 3 "no run 0", exit 2 "not a run id").
CLI::Validator run_id_number();

// Accepts "65536", "64KiB", "8MiB", "1GiB" (also k, m, g; 1024-based) for a byte count.
CLI::Validator byte_size();

}  // namespace cairn::tools
