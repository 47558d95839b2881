// Engine limits (see engine_limits.h).
#include "engine_limits.h"

#include <algorithm>

#include "snapshot_file.h"

namespace cairn::detail {

Status check_engine_limits(const EngineOptions& o) {
  auto bad = [](std::string m) { return Status(StatusCode::kInvalidArgument, std::move(m)); };
  const uint64_t record_max = o.log.record_bytes_max;
  auto fits = [&](uint64_t field) { return field + kRecordOverheadBytes <= record_max; };
  if (!fits(o.step_output_bytes_max) || !fits(o.event_bytes_max) || !fits(o.error_bytes_max)) {
    return bad("step_output_bytes_max, event_bytes_max and error_bytes_max must each be at least " +
               std::to_string(kRecordOverheadBytes / 1024) + " KiB below log.record_bytes_max (" +
               std::to_string(record_max) + ")");
  }
  if (o.step_id_bytes_max == 0 || o.step_id_bytes_max > kStepIdBytesLimit) {
    return bad("step_id_bytes_max must be 1.." + std::to_string(kStepIdBytesLimit));
  }
  // Not checked against event_bytes_max, which bounds the whole event (id included) anyway: a
  // small event_bytes_max set before this option existed still starts.
  if (o.event_id_bytes_max == 0) return bad("event_id_bytes_max must be positive");
  if (o.error_bytes_max < 256) return bad("error_bytes_max must be at least 256");
  if (o.event_bytes_max == 0 || o.step_output_bytes_max == 0) {
    return bad("event_bytes_max and step_output_bytes_max must be positive");
  }
  if (o.steps_per_run_max == 0) return bad("steps_per_run_max must be positive");
  // An empty dir would put the log and the snapshots in the working directory, wherever that is.
  if (o.dir.empty()) return bad("dir must name a directory (it is empty)");
  if (o.dedup_ids_max == 0 || o.idempotency_keys_max == 0) {
    return bad("dedup_ids_max and idempotency_keys_max must be positive");
  }
  // A negative window meant nothing (the engine read it as 0); say so instead.
  if (o.dedup_window.count() < 0 || o.history_window.count() < 0) {
    return bad("dedup_window and history_window must not be negative (0: none)");
  }
  if (o.snapshots) {
    if (o.snapshots_kept == 0) {
      return bad("snapshots_kept must be at least 1 (to write none, set snapshots = false)");
    }
    if (o.snapshot_every_records == 0 || o.snapshot_every_bytes == 0) {
      return bad(
          "snapshot_every_records and snapshot_every_bytes must be positive (a snapshot "
          "after every batch would stall the log; UINT64_MAX leaves one trigger out)");
    }
    if (o.snapshot_bytes_max == 0) return bad("snapshot_bytes_max must be positive");
    // One run's frame holds its event, its newest operation's value, a wait's fields and the
    // event that matched it, its cancel and skip reasons, and up to a piece each of history and
    // batch. An on_failure run's event also holds the failed run's error (failure_input.h). Past
    // the frame limit no snapshot could be written while such a run is unfinished, and retention,
    // which waits for snapshots, would never free the disk.
    const uint64_t event = o.event_bytes_max;
    const uint64_t value = std::max<uint64_t>({o.step_output_bytes_max, event, o.error_bytes_max});
    const uint64_t run_max = 3 * event + value + 3 * uint64_t{o.error_bytes_max} +
                             2 * kSnapshotPieceBytes + kSnapshotRunOverheadBytes;
    if (run_max > kSnapshotFrameBytesMax) {
      return bad("with snapshots on, one run's snapshot frame could reach " +
                 std::to_string(run_max) + " bytes, past its limit of " +
                 std::to_string(kSnapshotFrameBytesMax) +
                 ": lower event_bytes_max, step_output_bytes_max or error_bytes_max (3 × " +
                 std::to_string(event) + " + " + std::to_string(value) + " + 3 × " +
                 std::to_string(o.error_bytes_max) + " + " +
                 std::to_string(2 * kSnapshotPieceBytes + kSnapshotRunOverheadBytes) +
                 "), or set snapshots = false");
    }
  }
  if (o.workers > kWorkersLimit) {
    return bad("workers must be at most " + std::to_string(kWorkersLimit) +
               " (0: one per core), not " + std::to_string(o.workers));
  }
  return Status();
}

size_t utf8_prefix_end(std::string_view text, size_t pos) {
  // Continuation bytes are 10xxxxxx: step back over them to the byte that starts the sequence.
  while (pos > 0 && (static_cast<unsigned char>(text[pos]) & 0xC0) == 0x80) --pos;
  return pos;
}

std::optional<std::string> event_size_problem(const Event& e, const EngineOptions& o) {
  const size_t bytes = e.name.size() + e.data.size() + e.id.size();
  if (bytes > o.event_bytes_max) {
    return "the event has " + std::to_string(bytes) + " bytes; event_bytes_max is " +
           std::to_string(o.event_bytes_max);
  }
  if (e.id.size() > o.event_id_bytes_max) {
    return "its id has " + std::to_string(e.id.size()) + " bytes; event_id_bytes_max is " +
           std::to_string(o.event_id_bytes_max);
  }
  return std::nullopt;
}

std::string bounded_text(std::string_view text, uint32_t max) {
  if (text.size() <= max) return std::string(text);
  const std::string note = " [... cut: " + std::to_string(text.size()) + " bytes in all]";
  // Ends on a character's boundary so that the kept part stays valid text.
  const size_t keep = utf8_prefix_end(text, max > note.size() ? max - note.size() : 0);
  std::string out(text.substr(0, keep));
  out += note;
  return out.size() <= max ? out : out.substr(0, max);
}

}  // namespace cairn::detail
