// FrozenRuns: the snapshotter's parked runs, each packed into one small buffer instead of a
// RunRecord. The snapshotter keeps every unfinished run a second time (its projection is what a
// snapshot writes), and most of a big engine's runs are parked (sleeping, waiting for an event or
// an invoked run, waiting to retry a step): such a run as a RunRecord with its table slot costs
// about 350 bytes, packed about 130 (both with the table slot). A packed run is unpacked when a
// record touches it again (it wakes, an event or its child ends its wait, it finishes, it is
// cancelled), and for a moment when a snapshot writes it. Only the snapshotter's projection freezes
// runs; the engine's own executes them.
//
// Only runs that nothing else points at can be packed: no flow-control state (the concurrency
// gate, the debounce and batch tables and the admission lines hold RunRecord pointers). The wait
// index holds run ids, so a waiting run packs its wait's details with it. The packing is in
// memory only, never on disk: it may change with any build.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "function_registry.h"
#include "run_state.h"
#include "run_table.h"

namespace cairn::detail {

struct FunctionCounts;

// The projection's interned function ids with their counters (Projection::functions_): a packed
// run refers to its entry, which is never removed.
using FunctionSlot = std::pair<const std::string, FunctionCounts>;

class FrozenRuns {
 public:
  FrozenRuns() = default;
  ~FrozenRuns() { clear(); }
  FrozenRuns(const FrozenRuns&) = delete;
  FrozenRuns& operator=(const FrozenRuns&) = delete;

  // Whether `run` may be packed (see the top of this file).
  static bool can_freeze(const RunRecord& run);

  // Packs `run` (can_freeze; not yet here). `function`: its entry in the projection's functions,
  // whose counters keep counting it.
  void freeze(const RunRecord& run, const FunctionSlot& function);
  // Unpacks the run into a new RunRecord and forgets it; null when it is not here.
  std::unique_ptr<RunRecord> thaw(RunId id, const FunctionRegistry& registry);
  // Unpacks a copy, keeping the packed run (snapshots, describe, queries); null when absent.
  std::unique_ptr<RunRecord> peek(RunId id, const FunctionRegistry& registry) const;
  // The LSN of the run's first record, without unpacking the rest.
  uint64_t created_lsn(RunId id) const;

  bool contains(RunId id) const { return packed_.contains(id); }
  size_t size() const { return packed_.size(); }
  bool empty() const { return packed_.size() == 0; }
  template <typename F>
  void for_each_id(F&& f) const {
    packed_.for_each([&](uint64_t id, uint8_t*) { f(static_cast<RunId>(id)); });
  }
  void clear();

 private:
  U64Map<uint8_t*> packed_;  // each: a varint length, then the packed fields (frozen_runs.cc)
};

}  // namespace cairn::detail
