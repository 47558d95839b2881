// The dashboard's routes on an httplib::Server: what each answers is in docs/dashboard.md. The
// runs' routes (list, detail, replay, cancel) and the engine's (events, functions, stats,
// throughput, the page) each live in their own file.
#pragma once

#include "cairn/dashboard.h"
#include "cairn/engine.h"
#include "throughput_sampler.h"

namespace cairn::web {

class RouteTable;

// What the handlers use; it outlives the server (Dashboard::Impl owns both).
struct ApiContext {
  Engine& engine;
  const DashboardOptions& options;
  const ThroughputSampler& throughput;
};

// Entries of a run's history one detail request returns at most (the newest past it are left
// out, and "history_truncated" says so). Bounds the reply: entries carry step outputs.
inline constexpr size_t kHistoryEntriesMax = 2000;

void add_runs_routes(RouteTable& routes, const ApiContext& api);
void add_engine_routes(RouteTable& routes, const ApiContext& api);

}  // namespace cairn::web
