// Which results a replay from the failed step starts with (Engine::replay_run): the original
// run's operations, in position order, up to the first one that did not succeed — each step's
// output, each sleep that ended, each wait with the event that ended it (or its timeout), each
// sent event's id, each invoked run's output. The replay's code gets these back without doing
// anything again: no step body runs, no event is sent twice, no run is invoked twice.
#pragma once

#include <deque>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "cairn/engine.h"
#include "cairn/log/status.h"
#include "record_builder.h"

namespace cairn::detail {

// What the original's history says about an invoked run: its outcome, when known.
using InvokedRunLookup = std::function<std::optional<RunInfo>(RunId)>;

// The copied results (views into `history` and `invoked`, which must outlive them; `invoked` gets
// the outcomes of the runs the original invoked).
// kInvalidArgument, with the reason and "replay it from the start", when a result before the
// failure cannot be copied: an invoked run whose outcome is no longer in memory.
Result<std::vector<CopiedOpArgs>> results_before_failure(std::span<const HistoryEntry> history,
                                                         const InvokedRunLookup& lookup,
                                                         std::deque<RunInfo>* invoked);

}  // namespace cairn::detail
