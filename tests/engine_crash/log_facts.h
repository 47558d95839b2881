// LogFacts: what the engine's log says about every run and event, read straight from the segment
// files with LogReader and decoded with the record tables of schema/records.fbs. The crash
// checks compare it with the workload's specification and the child's journal.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace cairn::engine_crash {

struct StepCompletedFact {
  uint64_t lsn = 0;
  uint32_t position = 0;
  std::string step_id;
  uint32_t attempt = 0;
  std::string output;
};

struct StepFailedFact {
  uint64_t lsn = 0;
  uint32_t position = 0;
  std::string step_id;
  uint32_t attempt = 0;
  uint8_t kind = 0;  // schema::FailureKind
  std::string error;
  int64_t retry_at_ms = 0;
};

// SleepStarted, WaitStarted, RunResumed: where and when.
struct OpFact {
  uint64_t lsn = 0;
  uint32_t position = 0;
  std::string step_id;
  uint8_t reason = 0;      // RunResumed: schema::ResumeReason
  int64_t wake_at_ms = 0;  // SleepStarted: when the sleep ends (the engine's clock)
};

// RunAdmitted: flow control let the run start (the throttle's or rate limit's key it counted
// under, and the time the engine decided at).
struct AdmittedFact {
  uint64_t lsn = 0;
  int64_t at_ms = 0;
  bool has_throttle = false;
  bool has_rate_limit = false;
  std::string throttle_key;
  std::string rate_limit_key;
  int64_t started_ms = 0;  // when a worker took the run (finish timeouts count from here)
};

// RunCancelled: why, and when (the engine's clock).
struct CancelFact {
  uint64_t lsn = 0;
  std::string reason;
  int64_t at_us = 0;
};

// RunSkipped: a rate limit refused the run; it ended without starting.
struct SkippedFact {
  uint64_t lsn = 0;
  std::string reason;
  std::string key;
  int64_t at_us = 0;
};

struct RunFacts {
  uint64_t id = 0;
  std::string function_id;
  std::string input;  // the data of the event the run sees
  uint64_t created_lsn = 0;
  uint32_t times_created = 0;
  std::string start_event_id;  // created by an EventAccepted
  uint64_t parent_run = 0;     // created by invoke(): the parent's step
  uint32_t parent_position = 0;
  uint64_t handler_for = 0;  // created by a RunFailed: the run whose failure it handles
  int64_t created_us = 0;    // the engine's clock at creation (0 for a failure handler)
  // A cron trigger's run (RunCreated naming the tick): its expression and tick; empty otherwise.
  std::string cron_expression;
  int64_t cron_tick_ms = 0;
  std::vector<StepCompletedFact> completed;
  std::vector<StepFailedFact> failed;
  std::vector<OpFact> sleeps;
  std::vector<OpFact> waits;
  std::vector<OpFact> resumes;
  std::vector<std::pair<uint64_t, std::string>> completions;  // (lsn, output)
  std::vector<std::pair<uint64_t, std::string>> failures;     // (lsn, error)
  uint32_t cancellations = 0;
  std::vector<CancelFact> cancels;  // one per RunCancelled (cancellations counts them too)
  std::vector<AdmittedFact> admissions;
  std::vector<SkippedFact> skips;  // terminal, like a completion
  uint64_t finished_lsn = 0;       // the first terminal record
};

struct EventFact {
  uint64_t lsn = 0;  // the events of one EventBatch share its LSN
  std::string id;
  std::string name;
  std::string data;
  uint64_t first_run_id = 0;
  std::vector<std::string> functions;
  bool has_origin = false;
  uint64_t origin_run = 0;
  uint32_t origin_position = 0;
  std::string origin_step_id;
  bool duplicate = false;
};

// CronCursor: a cron trigger's cursor moved without a run (tracking began, or missed ticks up
// to tick_ms were skipped).
struct CronCursorFact {
  uint64_t lsn = 0;
  std::string function_id;
  std::string expression;
  int64_t tick_ms = 0;
  uint64_t skipped_ticks = 0;
};

struct LogFacts {
  std::map<uint64_t, RunFacts> runs;
  std::vector<CronCursorFact> cron_cursors;  // in LSN order
  std::vector<EventFact> events;             // in LSN order
  uint64_t records = 0;
  std::map<std::string, uint64_t> records_by_type;
  // Records that make no sense on their own: for a run never created, before its creation, a
  // step record after the run finished, ...
  std::vector<std::string> problems;
};

// The LSNs of the run's first and last step records (StepCompleted, StepFailed, SleepStarted,
// WaitStarted); 0 when it has none.
uint64_t first_step_lsn(const RunFacts& r);
uint64_t last_step_lsn(const RunFacts& r);

// Reads the whole log in `log_dir`. nullopt and `error` set when it cannot be read to its end.
std::optional<LogFacts> read_log_facts(const std::filesystem::path& log_dir, std::string* error);

}  // namespace cairn::engine_crash
