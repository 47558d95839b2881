// RunScanner: what `cairn runs` knows about each run, derived from the log alone — the records go
// by once, in LSN order, and each run is kept as a small summary while it is unfinished and handed
// out when it finishes. So a scan's memory is the unfinished runs, not the log.
//
// The rules are the engine's projection (engine/src/projection.cc) restated for summaries: a run
// is queued when created; running once an operation resolved; sleeping in a sleep or before a
// step retry; waiting in wait_for_event or for an invoked run; an event ends only the waits
// recorded before it; a resume counts only when it matches what the run waits for.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>

#include "cairn/engine.h"
#include "cairn/log/reader.h"
#include "cairn/schema/record_schema.h"

namespace cairn::tools {

struct RunSummary {
  RunId id = 0;
  std::string function;
  RunStatus status = RunStatus::kQueued;
  std::string event_name;   // what started it
  RunId parent = 0;         // invoke(): the run that invoked it
  int64_t created_us = 0;   // the engine's clock
  int64_t finished_us = 0;  // 0 while unfinished
  uint32_t steps = 0;       // durable operations that resolved (the engine's RunInfo::steps)
  uint32_t attempts = 0;    // step attempts recorded, successful or not
  // A failed run's error, a cancelled run's reason, or the last failed attempt's error of a
  // run that has not moved past it; at most kErrorKept bytes of it.
  std::string error;
  uint64_t error_bytes = 0;  // the whole error's size
  uint64_t created_lsn = 0;
  uint64_t last_lsn = 0;  // of the last record that changed it
  static constexpr size_t kErrorKept = 512;
};

class RunScanner {
 public:
  // `finished` gets each run when its end is read.
  explicit RunScanner(std::function<void(RunSummary&&)> finished);

  // The next record of the log (payload verified as an engine record, or of a type the engine
  // ignores).
  void add(const log::ReadRecord& record);

  // The runs not finished at the point the scan reached, in no particular order.
  void for_each_unfinished(const std::function<void(const RunSummary&)>& fn) const;
  const RunSummary* unfinished(RunId id) const;
  size_t unfinished_count() const { return runs_.size(); }

 private:
  enum class Pending : uint8_t { kNone, kSleep, kWait, kRetry, kInvoke };
  struct Wait {
    std::string event, path, value;
  };
  struct Active {
    RunSummary summary;
    Pending pending = Pending::kNone;
    uint32_t position = 0;  // of the pending operation
    std::optional<Wait> wait;
    uint32_t parent_position = 0;  // the parent's invoke
    bool send_deferred = false;    // summary.error says why a send waits for room
  };

  Active* created(RunId id, std::string_view function, std::string_view event_name, int64_t at_us);
  Active* find(RunId id);
  void resolve(Active& run, uint32_t position);
  void remove_wait(Active& run);
  void finish(RunId id, RunStatus status, std::string_view error, int64_t at_us);
  void set_error(RunSummary& s, std::string_view error);

  void event_accepted(const schema::EventAccepted& e);
  void match_waits(std::string_view name, std::string_view data);

  std::function<void(RunSummary&&)> finished_;
  uint64_t lsn_ = 0;
  std::unordered_map<RunId, Active> runs_;
  // Pending waits: event name -> match path -> value (canonical JSON; "" for no path) -> runs.
  std::unordered_map<std::string, std::map<std::string, std::map<std::string, std::set<RunId>>>>
      waits_;
};

}  // namespace cairn::tools
