// The engine's internals as its own benchmarks and white-box tests reach them (never a user):
// hooks cairn-bench uses between its phases. Light on purpose: no private engine headers.
#pragma once

#include <string>

#include "cairn/engine.h"

namespace cairn::detail {

class EngineCore;
EngineCore& core_of(Engine& engine);

// Starts the step-dispatch latency histogram afresh (cairn-bench measures after a warm-up).
void reset_dispatch_latency(Engine& engine);

// The projection's state — every unfinished run with its status, newest operation and recorded
// history, the waits, the counters — as canonical text: tests compare an engine that loaded a
// snapshot with one that replayed the whole log (both started without functions registered, so
// nothing runs).
std::string describe_state(Engine& engine);

}  // namespace cairn::detail
