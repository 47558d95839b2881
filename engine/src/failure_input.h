// The input of an on_failure run ("cairn/function.failed"), built from the failed run's record
// on the projection's path, live and on replay alike.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "cairn/event.h"
#include "cairn/run_history.h"

namespace cairn::detail {

// Bytes the input may take beyond the failed run's event (name, data, id), its error and its
// function id: the JSON keys, the run id, and the notes of a cut.
inline constexpr size_t kFailureInputOverheadBytes = 512;

// {"function_id", "run_id", "error", "event": {"name", "data", "id"}}, the event's data as JSON
// when it is JSON. Never larger than the sum of its texts plus kFailureInputOverheadBytes, so a
// handler's run fits a snapshot wherever the failed run's event and error did: when escaping would
// grow it past that (control bytes become \u0001, six bytes each), each text is kept as a prefix
// that fits its own size once escaped (JSON data stays JSON if it is no longer than its text), and
// "cut" is true. Bytes that are not UTF-8 become U+FFFD. Depends only on its arguments, so replay
// rebuilds the same input.
std::string failure_event_data(std::string_view function_id, RunId run_id, const Event& event,
                               std::string_view error);

}  // namespace cairn::detail
