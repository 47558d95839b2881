// The engine's internals as its own benchmarks and white-box tests reach them (never a user):
// hooks cairn-bench uses between its phases. Light on purpose: no private engine headers.
#pragma once

#include "cairn/engine.h"

namespace cairn::detail {

class EngineCore;
EngineCore& core_of(Engine& engine);

// Starts the step-dispatch latency histogram afresh (cairn-bench measures after a warm-up).
void reset_dispatch_latency(Engine& engine);

}  // namespace cairn::detail
