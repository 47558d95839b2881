// Engine directories for the CLI's run commands, written by a real cairn::Engine: a completed run
// (text and JSON step outputs), a failed one (a step that throws until its retries are spent) and
// one waiting for an event.
#pragma once

#include <filesystem>
#include <string>

#include "cairn/engine.h"

namespace cairn::testing {

// The runs write_sample_engine_dir leaves behind, in the order they were started.
struct SampleRuns {
  RunId completed = 0;  // "greet": steps hello -> "hello, Ada" (text), count -> 42 (JSON); "done"
  RunId failed = 0;     // "charge": step call-api throws "payment API down", 2 attempts
  RunId waiting = 0;    // "approve": step reserve, then waits for order/approved with order_id
};

inline constexpr const char* kWaitingOrderId = "A-17";

// Registers the three functions (a restarted engine needs them to resume the waiting run).
void register_sample_functions(Engine& engine);

// The EngineOptions the sample directories are written with (small segments, system clock).
EngineOptions sample_engine_options(const std::filesystem::path& dir);

// Starts an engine in `dir`, runs the three runs until each is completed, failed or waiting, and
// shuts it down. Adds a test failure (and returns what it has) when anything goes wrong.
SampleRuns write_sample_engine_dir(const std::filesystem::path& dir);

// Writes a sample engine directory in `dir`, then moves its log's last segment out to
// `dir`/../segment.kept and puts a FIFO by its name in its place. Returns the FIFO's path (empty,
// with a test failure, when that could not be done).
std::filesystem::path sample_engine_dir_with_fifo_segment(const std::filesystem::path& dir);

}  // namespace cairn::testing
