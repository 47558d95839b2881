// Checks (a), (b), (c) and (e) of crash_checks.h: events, runs, outputs, record counts. The
// flow-controlled functions' events and runs are left to flow_checks.cc.
#include "engine_crash/crash_checks.h"

#include <algorithm>
#include <climits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>

#include "cairn/schema/record_schema.h"
#include "engine_crash/guard_workload.h"
#include "engine_crash/keyed_workload.h"
#include "engine_crash/timed_workload.h"
#include "engine_crash/workload.h"

namespace cairn::engine_crash {
namespace {

using nlohmann::json;

json parse_or_null(const std::string& text) {
  return json::parse(text, nullptr, false);
}

bool is_flow_function(const std::string& id) {
  return id == "metered" || id == "paced";
}

// Checked by cron_checks.cc, timeout_checks.cc, debounce_checks.cc, batch_checks.cc and the
// guarded functions' checks (idempotency_checks.cc, singleton_checks.cc, cancel_on_checks.cc,
// priority_checks.cc).
bool is_timed_function(const std::string& id) {
  return id == kTickerFunction || id == kLateFunction || id == kQueuedFunction ||
         id == kDebouncedFunction || id == kBatchedFunction || id == kOnceFunction ||
         id == kSoloFunction || id == kLatestFunction || id == kCancellableFunction ||
         id == kRankedFunction;
}

std::string run_name(const RunFacts& r) {
  return "run " + std::to_string(r.id) + " (" + r.function_id + ")";
}

class Checker {
 public:
  Checker(const LogFacts& log, const Journal& journal, uint64_t seed, uint64_t target_runs,
          CrashVerdict* verdict)
      : log_(log), journal_(journal), seed_(seed), target_runs_(target_runs), v_(*verdict) {}

  void run() {
    for (const std::string& p : log_.problems) fail("log: " + p);
    for (const std::string& p : journal_.problems) fail(p);
    index_events();
    check_events();
    check_acknowledged_sends();
    for (const auto& [id, r] : log_.runs) {
      if (r.function_id == "main") check_main(r);
    }
    for (const auto& [id, r] : log_.runs) {
      if (r.function_id == "helper") {
        check_helper(r);
      } else if (r.function_id == "listener") {
        check_listener(r);
      } else if (r.function_id == kFailureHandler) {
        check_failure_handler(r);
      } else if (r.function_id != "main" && !is_flow_function(r.function_id) &&
                 !is_timed_function(r.function_id)) {
        fail(run_name(r) + " runs a function the workload does not have");
      }
    }
    if (v_.summary.main_runs != target_runs_) {
      fail(std::to_string(v_.summary.main_runs) + " runs of main exist; " +
           std::to_string(target_runs_) + " were asked for");
    }
    summarize_journal();
  }

 private:
  void fail(std::string what) { v_.violations.push_back(std::move(what)); }

  void index_events() {
    for (const EventFact& e : log_.events) {
      by_id_[e.id].push_back(&e);
      if (e.name == kApproveEvent && !e.duplicate) {
        const json data = parse_or_null(e.data);
        if (data.is_object() && data.contains("key") && data["key"].is_string()) {
          approvals_by_key_[data["key"].get<std::string>()].push_back(e.lsn);
        }
      }
      if (e.has_origin) sent_by_[{e.origin_run, e.origin_position}].push_back(&e);
    }
    for (const auto& [id, r] : log_.runs) {
      if (r.parent_run != 0) invoked_by_[{r.parent_run, r.parent_position}].push_back(&r);
      if (r.handler_for != 0) handlers_of_[r.handler_for].push_back(&r);
    }
  }

  // (a) and (b): which events exist and what they started.
  void check_events() {
    std::set<uint64_t> started;
    for (const EventFact& e : log_.events) {
      const std::string where =
          "event " + e.id + " (" + e.name + ") at LSN " + std::to_string(e.lsn);
      if (e.name == kStartEvent) {
        const uint64_t k = k_of_start_event(e.id);
        if (k == 0 || k > target_runs_) fail(where + ": no such job was ever sent");
        if (!started.insert(k).second) fail(where + ": accepted a second time");
        if (e.duplicate || e.has_origin || e.functions != std::vector<std::string>{"main"}) {
          fail(where + ": should start exactly one run of main");
        }
        if (k != 0 &&
            parse_or_null(e.data) != parse_or_null(start_event_data(plan_for(seed_, k)))) {
          fail(where + ": data " + e.data + " is not the input that was sent");
        }
      } else if (e.name == kApproveEvent) {
        if (e.duplicate || e.has_origin || !e.functions.empty()) fail(where + ": starts something");
      } else if (e.name == kMeteredEvent || e.name == kPacedEvent) {
        continue;  // check (g)
      } else if (e.name == kLateEvent || e.name == kQueuedEvent) {
        continue;  // check (i)
      } else if (e.name == kDebounceEvent || e.name == kBatchEvent) {
        continue;  // checks (j) and (k)
      } else if (e.name == kOnceFunction || e.name == kSoloFunction || e.name == kLatestFunction ||
                 e.name == kCancellableFunction || e.name == kHaltEvent ||
                 e.name == kRankedFunction) {
        continue;  // checks (l) to (p)
      } else if (e.name == kNotedEvent) {
        if (!e.has_origin) fail(where + ": only main sends it");
        if (e.duplicate || e.functions != std::vector<std::string>{"listener"}) {
          fail(where + ": should start exactly one run of listener");
        }
      } else {
        fail(where + ": the workload never sends it");
      }
    }
    for (uint64_t k = 1; k <= target_runs_; ++k) {
      if (!started.contains(k))
        fail("job " + std::to_string(k) + " (" + start_event_id(k) + ") is not in the log");
    }
  }

  static uint64_t k_of_start_event(const std::string& id) {
    const std::string prefix = "start-";
    if (id.rfind(prefix, 0) != 0) return 0;
    return std::strtoull(id.c_str() + prefix.size(), nullptr, 10);
  }

  // (a): what send() acknowledged is durable, with the runs it reported.
  void check_acknowledged_sends() {
    for (const JournalEntry& e : journal_.entries) {
      if (e.kind != JournalEntry::Kind::kSent) continue;
      ++v_.summary.acknowledged_sends;
      auto it = by_id_.find(e.event_id);
      if (it == by_id_.end()) {
        fail("acknowledged event " + e.event_id + " is not in the log");
        continue;
      }
      if (e.duplicate) continue;  // reported as a duplicate: the earlier acceptance is there
      const EventFact& fact = *it->second.front();
      std::vector<uint64_t> runs;
      for (size_t i = 0; i < fact.functions.size(); ++i) runs.push_back(fact.first_run_id + i);
      if (runs != e.runs)
        fail("acknowledged event " + e.event_id + " reported other runs than the log has");
    }
  }

  // The log's verdict on a wait: approved when a matching approval comes after the WaitStarted
  // and before any timeout of that wait. nullopt when neither is there.
  std::optional<bool> approved_by_log(const RunFacts& r, uint32_t position, uint64_t k) const {
    const OpFact* wait = nullptr;
    for (const OpFact& w : r.waits) {
      if (w.position == position) {
        wait = &w;
        break;
      }
    }
    if (wait == nullptr) return std::nullopt;
    uint64_t approval = UINT64_MAX;
    if (auto it = approvals_by_key_.find(key_of(k)); it != approvals_by_key_.end()) {
      for (uint64_t lsn : it->second) {
        if (lsn > wait->lsn) {
          approval = lsn;
          break;
        }
      }
    }
    uint64_t timeout = UINT64_MAX;
    for (const OpFact& res : r.resumes) {
      if (res.position == position && res.lsn > wait->lsn &&
          res.reason == static_cast<uint8_t>(schema::ResumeReason::WaitTimedOut)) {
        timeout = std::min(timeout, res.lsn);
      }
    }
    if (approval == UINT64_MAX && timeout == UINT64_MAX) return std::nullopt;
    return approval < timeout;
  }

  static int position_of(const std::vector<PlannedOp>& ops, OpKind kind) {
    for (size_t i = 0; i < ops.size(); ++i) {
      if (ops[i].kind == kind) return static_cast<int>(i);
    }
    return -1;
  }

  void check_main(const RunFacts& r) {
    ++v_.summary.main_runs;
    const uint64_t k = k_of_start_event(r.start_event_id);
    if (k == 0) {
      fail(run_name(r) + " was not started by a job event");
      return;
    }
    const RunPlan plan = plan_for(seed_, k);
    const std::vector<PlannedOp> ops = main_ops(plan);
    check_lifecycle(r, plan.doomed);
    check_ops(r, ops, k);
    bool approved = false;
    if (const int pos = position_of(ops, OpKind::kWait); pos >= 0) {
      std::optional<bool> verdict = approved_by_log(r, static_cast<uint32_t>(pos), k);
      if (!verdict) {
        fail(run_name(r) + ": its wait was neither approved nor timed out in the log");
      } else {
        approved = *verdict;
        ++(approved ? v_.summary.approved : v_.summary.timed_out);
      }
    }
    approved_[r.id] = approved;
    k_of_main_[r.id] = k;
    if (const int pos = position_of(ops, OpKind::kSleep); pos >= 0) {
      ++v_.summary.sleeps;
      const bool fired = std::any_of(r.resumes.begin(), r.resumes.end(), [&](const OpFact& o) {
        return o.position == static_cast<uint32_t>(pos) &&
               o.reason == static_cast<uint8_t>(schema::ResumeReason::TimerFired);
      });
      if (!fired) fail(run_name(r) + ": its sleep ended without a TimerFired record");
    }
    if (const int pos = position_of(ops, OpKind::kInvoke); pos >= 0) {
      auto it = invoked_by_.find({r.id, static_cast<uint32_t>(pos)});
      const size_t n = it == invoked_by_.end() ? 0 : it->second.size();
      if (n != 1) fail(run_name(r) + ": invoke created " + std::to_string(n) + " runs, not 1");
    }
    if (const int pos = position_of(ops, OpKind::kSend); pos >= 0) {
      auto it = sent_by_.find({r.id, static_cast<uint32_t>(pos)});
      const size_t n = it == sent_by_.end() ? 0 : it->second.size();
      if (n != 1) {
        fail(run_name(r) + ": send_event recorded " + std::to_string(n) + " events, not 1");
      }
    }
    const size_t handlers = handlers_of_.contains(r.id) ? handlers_of_.at(r.id).size() : 0;
    if (handlers != (plan.doomed ? 1u : 0u)) {
      fail(run_name(r) + ": " + std::to_string(handlers) + " failure handler runs");
    }
    if (plan.doomed) {
      ++v_.summary.doomed_runs;
      // The run's error names the step that failed it: "g" failed: doomed step g: ...
      const std::string expected = "\"g\" failed: " + std::string(kDoomedError);
      if (r.failures.size() == 1 && r.failures[0].second.rfind(expected, 0) != 0) {
        fail(run_name(r) + " failed with an unexpected error: " + r.failures[0].second);
      }
    } else {
      check_output(r, main_output(plan, approved));
    }
    const MainValues v = main_values(plan, approved);
    check_step_values(r, {{"a", v.a},
                          {"b", v.b},
                          {"c", v.c},
                          {"d", v.d},
                          {"e", mix(v.d + v.r, 5)},  // before the compensation folds in
                          {"f", v.f}});
  }

  // (c) for every step: the value each StepCompleted recorded is the one recomputed.
  void check_step_values(const RunFacts& r, const std::map<std::string, uint64_t>& expected) {
    for (const StepCompletedFact& s : r.completed) {
      auto it = expected.find(s.step_id);
      if (it == expected.end()) continue;  // not a step with a value (reported by check_ops)
      const json out = parse_or_null(s.output);
      if (!out.is_object() || !out.contains("v") || out["v"] != it->second) {
        fail(run_name(r) + ": step " + s.step_id + " recorded " + s.output +
             ", expected the value " + std::to_string(it->second));
      }
    }
  }

  void check_helper(const RunFacts& r) {
    ++v_.summary.helper_runs;
    auto parent = log_.runs.find(r.parent_run);
    if (r.parent_run == 0 || parent == log_.runs.end() || parent->second.function_id != "main" ||
        !k_of_main_.contains(r.parent_run)) {
      fail(run_name(r) + " was not invoked by a run of main");
      return;
    }
    const uint64_t k = k_of_main_[r.parent_run];
    const RunPlan plan = plan_for(seed_, k);
    const std::vector<PlannedOp> ops = main_ops(plan);
    if (position_of(ops, OpKind::kInvoke) != static_cast<int>(r.parent_position)) {
      fail(run_name(r) + " was invoked from position " + std::to_string(r.parent_position) +
           " of run " + std::to_string(r.parent_run) + ", which is not its invoke");
    }
    const uint64_t y = main_values(plan, approved_[r.parent_run]).d;
    if (parse_or_null(r.input) != json{{"k", k}, {"y", y}}) {
      fail(run_name(r) + ": input " + r.input + " is not what its parent passed");
    }
    check_lifecycle(r, false);
    check_ops(r, helper_ops(), k);
    check_step_values(r, {{"h1", mix(y, 10)}, {"h2", helper_value(y)}});
    check_output(r, helper_output(y));
  }

  void check_listener(const RunFacts& r) {
    ++v_.summary.listener_runs;
    auto ev = by_id_.find(r.start_event_id);
    if (ev == by_id_.end() || !ev->second.front()->has_origin ||
        !k_of_main_.contains(ev->second.front()->origin_run)) {
      fail(run_name(r) + " was not started by an event a run of main sent");
      return;
    }
    const uint64_t k = k_of_main_[ev->second.front()->origin_run];
    if (parse_or_null(r.input) != json{{"k", k}}) {
      fail(run_name(r) + ": unexpected input " + r.input);
    }
    check_lifecycle(r, false);
    check_ops(r, listener_ops(), k);
    check_step_values(r, {{"l1", mix(k, 77)}});
    check_output(r, listener_output(k));
  }

  // main's on_failure run: once per doomed run, its step's value derived from the failed input.
  void check_failure_handler(const RunFacts& r) {
    ++v_.summary.handler_runs;
    if (!k_of_main_.contains(r.handler_for)) {
      fail(run_name(r) + " handles the failure of run " + std::to_string(r.handler_for) +
           ", which is not a run of main");
      return;
    }
    const uint64_t k = k_of_main_[r.handler_for];
    if (!plan_for(seed_, k).doomed) fail(run_name(r) + " handles a run that was not doomed");
    check_lifecycle(r, false);
    check_ops(r, failure_handler_ops(), k);
    check_step_values(r, {{"alert", alert_value(k)}});
    if (!r.completions.empty() && !r.completions.front().second.empty()) {
      fail(run_name(r) + ": output " + r.completions.front().second + ", expected none");
    }
  }

  // (b): created once, finished once, the planned way.
  void check_lifecycle(const RunFacts& r, bool doomed) {
    const size_t ends = r.completions.size() + r.failures.size() + r.cancellations + r.skips.size();
    if (ends != 1) {
      fail(run_name(r) + " has " + std::to_string(r.completions.size()) + " RunCompleted, " +
           std::to_string(r.failures.size()) + " RunFailed, " + std::to_string(r.cancellations) +
           " RunCancelled and " + std::to_string(r.skips.size()) +
           " RunSkipped records; exactly one end was expected");
    }
    if (doomed && r.failures.empty())
      fail(run_name(r) + " should have failed (step g always fails)");
    if (!doomed && !r.failures.empty()) {
      fail(run_name(r) + " failed: " + r.failures.front().second);
    }
  }

  // (c)
  void check_output(const RunFacts& r, const json& expected) {
    if (r.completions.empty()) return;  // reported by check_lifecycle
    const json got = parse_or_null(r.completions.front().second);
    if (got != expected) {
      fail(run_name(r) + ": output " + r.completions.front().second + ", expected " +
           expected.dump());
    }
  }

  // (e) and the shape of the run: each record at the position its plan gives the operation.
  void check_ops(const RunFacts& r, const std::vector<PlannedOp>& ops, uint64_t k) {
    auto at = [&](uint32_t position, const std::string& step_id, OpKind kind, const char* what) {
      if (position >= ops.size() || ops[position].id != step_id || ops[position].kind != kind) {
        fail(run_name(r) + ": " + what + " for \"" + step_id + "\" at position " +
             std::to_string(position) + ", where the plan has no such operation");
      }
    };
    std::map<uint32_t, std::vector<const StepCompletedFact*>> completed;
    std::map<uint32_t, std::vector<const StepFailedFact*>> failed;
    std::map<uint32_t, int> sleeps, waits;
    for (const auto& s : r.completed) {
      at(s.position, s.step_id, OpKind::kStep, "StepCompleted");
      completed[s.position].push_back(&s);
    }
    for (const auto& s : r.failed) {
      at(s.position, s.step_id, OpKind::kStep, "StepFailed");
      failed[s.position].push_back(&s);
    }
    for (const auto& s : r.sleeps) {
      at(s.position, s.step_id, OpKind::kSleep, "SleepStarted");
      ++sleeps[s.position];
    }
    for (const auto& s : r.waits) {
      at(s.position, s.step_id, OpKind::kWait, "WaitStarted");
      ++waits[s.position];
    }
    for (uint32_t pos = 0; pos < ops.size(); ++pos) {
      const std::string where =
          run_name(r) + " position " + std::to_string(pos) + " (" + ops[pos].id + ")";
      switch (ops[pos].kind) {
        case OpKind::kStep:
          check_step(where, ops[pos].id, k, completed[pos], failed[pos]);
          break;
        case OpKind::kSleep:
          if (sleeps[pos] != 1)
            fail(where + ": " + std::to_string(sleeps[pos]) + " SleepStarted records");
          break;
        case OpKind::kWait:
          if (waits[pos] != 1)
            fail(where + ": " + std::to_string(waits[pos]) + " WaitStarted records");
          break;
        case OpKind::kInvoke:
        case OpKind::kSend:
          break;  // checked by the caller
      }
    }
  }

  void check_step(const std::string& where, const std::string& id, uint64_t k,
                  const std::vector<const StepCompletedFact*>& completed,
                  const std::vector<const StepFailedFact*>& failed) {
    // The attempts that must have failed, and how each failure must be recorded.
    uint32_t failures = failing_attempts(seed_, k, id);
    uint8_t kind = static_cast<uint8_t>(schema::FailureKind::Retriable);
    uint32_t last_retry = 0;  // the attempt recorded with no retry left (0: none)
    if (id == "h") {
      failures = 1;
      kind = static_cast<uint8_t>(schema::FailureKind::NonRetriable);
      last_retry = 1;
    } else if (id == "g") {
      failures = kDoomedRetries + 1;
      last_retry = failures;
    }
    const size_t completions_expected = last_retry == 0 ? 1 : 0;
    if (completed.size() != completions_expected) {
      fail(where + ": " + std::to_string(completed.size()) + " StepCompleted records, expected " +
           std::to_string(completions_expected));
    }
    if (!completed.empty() && completed.front()->attempt != failures + 1) {
      fail(where + ": completed at attempt " + std::to_string(completed.front()->attempt) +
           ", expected " + std::to_string(failures + 1));
    }
    std::vector<uint32_t> attempts;
    for (const StepFailedFact* f : failed) {
      attempts.push_back(f->attempt);
      const bool last = f->attempt == last_retry;
      if (f->kind != kind || (f->retry_at_ms == 0) != last) {
        fail(where + ": attempt " + std::to_string(f->attempt) + " recorded as kind " +
             std::to_string(f->kind) + " with retry_at_ms " + std::to_string(f->retry_at_ms));
      }
    }
    std::vector<uint32_t> expected(failures);
    for (uint32_t i = 0; i < failures; ++i) expected[i] = i + 1;
    if (attempts != expected) {
      std::ostringstream got;
      for (uint32_t a : attempts) got << a << ' ';
      fail(where + ": failed attempts recorded [ " + got.str() + "], expected 1.." +
           std::to_string(failures));
    }
  }

  void summarize_journal() {
    CrashSummary& s = v_.summary;
    s.cut_journal_lines = journal_.cut_lines;
    uint64_t last_began = 0;
    bool exited = false;
    bool started = true;
    for (const JournalEntry& e : journal_.entries) {
      switch (e.kind) {
        case JournalEntry::Kind::kBegan:
          ++s.incarnations;
          s.starts_interrupted += !started;
          started = false;
          last_began = e.incarnation;
          exited = false;
          break;
        case JournalEntry::Kind::kRecovered:
          started = true;
          s.runs_resumed += e.runs_resumed;
          s.recovery_us_max = std::max(s.recovery_us_max, e.recovery_us);
          break;
        case JournalEntry::Kind::kExited:
          exited = e.incarnation == last_began;
          break;
        default:
          break;
      }
    }
    if (!exited) fail("the journal does not end with the last incarnation's clean exit");
  }

  const LogFacts& log_;
  const Journal& journal_;
  const uint64_t seed_;
  const uint64_t target_runs_;
  CrashVerdict& v_;
  std::map<std::string, std::vector<const EventFact*>> by_id_;
  std::map<std::string, std::vector<uint64_t>> approvals_by_key_;  // LSNs, ascending
  std::map<std::pair<uint64_t, uint32_t>, std::vector<const EventFact*>> sent_by_;
  std::map<std::pair<uint64_t, uint32_t>, std::vector<const RunFacts*>> invoked_by_;
  std::map<uint64_t, std::vector<const RunFacts*>> handlers_of_;  // failed run -> handler runs
  std::map<uint64_t, bool> approved_;  // main run -> the log's verdict on its wait
  std::map<uint64_t, uint64_t> k_of_main_;
};

}  // namespace

std::string CrashSummary::to_string() const {
  std::ostringstream o;
  o << main_runs << " runs of main (" << doomed_runs << " failed as planned), " << helper_runs
    << " invoked, " << listener_runs << " started by send_event, " << handler_runs
    << " failure handlers; waits approved " << approved << ", timed out " << timed_out
    << "; sleeps " << sleeps << "; " << executions << " step executions (" << failed_attempts
    << " failed attempts, " << lost_executions << " lost to kills and run again); "
    << acknowledged_sends << " sends acknowledged; " << incarnations << " incarnations ("
    << starts_interrupted << " ended inside start()), " << runs_resumed
    << " runs resumed by recovery, slowest start " << recovery_us_max / 1000 << " ms; "
    << cut_journal_lines << " journal lines cut; flow control: " << flow_events << " events, "
    << metered_runs << " rate-limited runs (" << metered_skipped << " skipped), " << paced_runs
    << " throttled runs (" << paced_delayed << " delayed, " << throttle_due_records
    << " ThrottleDue records, " << paced_out_of_order
    << " started before an earlier run of their key); busiest windows " << metered_busiest_window
    << "/" << kMeteredLimit.window_max << " rate-limited, " << paced_busiest_window << "/"
    << kPacedLimit.window_max << " throttled; cron: " << cron_runs << " tick runs, " << cron_cursors
    << " CronCursor records, " << cron_ticks_skipped << " ticks skipped, " << cron_unfinished_at_end
    << " unfinished at the end; timeouts: " << late_runs << " finish-timeout runs ("
    << late_slept_past << " slept past the deadline, " << late_cancelled << " cancelled), "
    << queued_runs << " start-timeout runs (" << queued_cancelled << " cancelled), "
    << cancelled_lost_executions
    << " unrecorded step executions of cancelled runs; debounce: " << debounce_events << " events, "
    << debounce_completed << " runs completed (" << debounce_cut_by_timeout << " at the timeout), "
    << debounce_replaced << " replaced (" << debounce_replaced_across_sends << " by a later send), "
    << debounce_due_first << " events after a DebounceDue they predate; batching: " << batch_events
    << " events, " << batches << " batches (" << batches_full << " full), " << batch_joined
    << " runs joined (" << batch_joined_across_sends << " from a later send), " << batch_due_first
    << " events after a BatchDue they predate; idempotency: " << once_events << " events, "
    << once_keys << " keys, " << once_started << " runs started, " << once_skipped << " skipped ("
    << once_skipped_across_sends << " for a run of another send)"
    << "; singleton skip: " << solo_runs << " runs, " << solo_completed << " completed, "
    << solo_skipped << " skipped (" << solo_skipped_across_sends << " for a run of another send)"
    << "; singleton cancel: " << latest_runs << " runs, " << latest_completed << " completed, "
    << latest_replaced << " replaced (" << latest_replaced_across_sends << " by another send, "
    << latest_replaced_by_older << " by an older run), " << latest_overlap_steps
    << " overlapping step records, " << latest_completed_at_replacement
    << " completed as they were replaced; cancel_on: " << halt_events << " halts, "
    << cancellable_runs << " runs, " << cancellable_cancelled << " cancelled ("
    << cancellable_cancelled_holding << " while holding), " << cancellable_completed_at_halt
    << " completed as they were halted, " << cancellable_halted_after_end
    << " halted after their end, " << cancellable_early_halts
    << " halts before their run; priority: " << ranked_runs << " runs, " << ranked_inversions
    << " of " << ranked_pairs << " pairs out of priority order";
  return o.str();
}

CrashVerdict check_crash_outcome(const LogFacts& log, const Journal& journal, uint64_t seed,
                                 uint64_t target_runs, uint32_t time_scale) {
  CrashVerdict verdict;
  Checker(log, journal, seed, target_runs, &verdict).run();
  check_executions(log, journal, &verdict);
  check_flow_control(log, seed, target_runs, time_scale, &verdict);
  check_cron(log, &verdict);
  check_timeouts(log, target_runs, &verdict);
  check_debounce(log, keyed_bursts_of(seed, KeyedKind::kDebounce, target_runs), &verdict);
  check_batching(log, keyed_bursts_of(seed, KeyedKind::kBatch, target_runs), &verdict);
  check_idempotency(log, seed, guard_bursts_of(seed, GuardKind::kOnce, target_runs), &verdict);
  check_singleton_skip(log, seed, guard_bursts_of(seed, GuardKind::kSolo, target_runs), &verdict);
  check_singleton_cancel(log, seed, guard_bursts_of(seed, GuardKind::kLatest, target_runs),
                         &verdict);
  check_cancel_on(log, seed, guard_bursts_of(seed, GuardKind::kCancellable, target_runs), &verdict);
  check_priority(log, seed, guard_bursts_of(seed, GuardKind::kRanked, target_runs), &verdict);
  return verdict;
}

}  // namespace cairn::engine_crash
