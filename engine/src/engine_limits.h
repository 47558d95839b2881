// The engine's input limits (EngineOptions): checking that they fit the log's record size at
// start(), and bounding the free text (error messages, cancel reasons) that goes into records, so
// that every record the engine builds fits the log and no append can fail for its size.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "cairn/engine.h"

namespace cairn::detail {

// Room in a record for everything but its one large field (ids, numbers, FlatBuffers tables).
inline constexpr uint32_t kRecordOverheadBytes = 4096;
// The largest step_id_bytes_max allowed: several ids share a record's overhead.
inline constexpr uint32_t kStepIdBytesLimit = 1024;
// EngineOptions::workers: threads, each with its stack; more only cost memory and switches.
inline constexpr uint32_t kWorkersLimit = 1024;
// RunQuery::limit: a larger page is cut to this many runs (RunPage::next goes on from there).
inline constexpr size_t kRunPageMax = 100'000;

// kInvalidArgument naming the option when a limit is out of range or does not fit a log record.
Status check_engine_limits(const EngineOptions& options);

// The log refused a record for its size (kLimitExceeded): a problem of this record alone. Any
// other append error means the log has failed.
inline bool is_size_error(const Status& s) {
  return s.code() == StatusCode::kLimitExceeded;
}

// Why an event is too large for `options` (event_bytes_max for name, data and id together, or
// event_id_bytes_max for its id), as a clause ("the event has N bytes; event_bytes_max is M");
// nullopt when it fits. send() and ctx.send_event both check with it: the same limits, the same
// words.
std::optional<std::string> event_size_problem(const Event& event, const EngineOptions& options);

// Bytes of a user's name (an event's) quoted in an error message; the rest is cut with a note.
inline constexpr uint32_t kQuotedNameBytes = 160;
// A run's fixed fields in a snapshot beyond the bytes they carry (ids, times, counters, a
// FlatBuffers table's framing), generously.
inline constexpr size_t kSnapshotRunOverheadBytes = 1u << 20;
// The smallest HistoryLimits::value_bytes_max: room for the note a cut value ends with.
inline constexpr size_t kHistoryValueBytesMin = 64;

// `text` if it fits `max` bytes, else its first bytes (not splitting a UTF-8 sequence) and a note
// saying how long it was — at most `max` bytes in all.
std::string bounded_text(std::string_view text, uint32_t max);
// The largest position at most `pos` (< text.size()) that does not fall inside a UTF-8 sequence:
// text.substr(0, that) is a prefix that ends on a character's boundary.
size_t utf8_prefix_end(std::string_view text, size_t pos);

}  // namespace cairn::detail
