// WorkloadDriver (see workload_driver.h).
#include "engine_crash/workload_driver.h"

#include <chrono>
#include <cstdio>
#include <optional>
#include <span>
#include <thread>
#include <vector>

#include "engine_crash/guard_workload.h"
#include "engine_crash/keyed_workload.h"
#include "engine_crash/timed_workload.h"
#include "engine_crash/workload.h"

namespace cairn::engine_crash {
namespace {

using SteadyClock = std::chrono::steady_clock;
using Outcome = DriverResult::Outcome;

// Unfinished runs (main, helper, listener) kept going at once.
constexpr uint64_t kRunsInFlight = 12;
// A waiting run is sent its approval again after this long (the first may have come too early).
constexpr auto kApprovalResend = std::chrono::milliseconds(10);
// Acknowledged start events sent again after a restart: each must come back as a duplicate.
constexpr size_t kResentAfterRestart = 3;

DriverResult failed(Outcome outcome, std::string error) {
  return DriverResult{outcome, std::move(error)};
}

uint32_t wait_position(const RunPlan& plan) {
  const std::vector<PlannedOp> ops = main_ops(plan);
  for (uint32_t i = 0; i < ops.size(); ++i) {
    if (ops[i].kind == OpKind::kWait) return i;
  }
  return ~0u;
}

}  // namespace

WorkloadDriver::WorkloadDriver(DriverConfig config, JournalWriter& journal)
    : config_(std::move(config)),
      journal_(journal),
      runner_(journal, config_.seed, config_.incarnation, config_.time_scale) {}

WorkloadDriver::~WorkloadDriver() = default;

DriverResult WorkloadDriver::run(const std::function<bool()>& should_stop) {
  learn_from_journal();
  if (std::optional<DriverResult> stop = start_engine()) return *stop;
  if (std::optional<DriverResult> stop = resend_acknowledged()) return *stop;
  uint64_t k = 1;
  auto last_progress = SteadyClock::now();
  for (;;) {
    if (should_stop()) {
      if (Status st = engine_->shutdown(); !st.ok()) {
        return failed(Outcome::kEngineFailed, "shutdown: " + st.to_string());
      }
      journal_.stopped(config_.incarnation);
      return failed(Outcome::kStopped, "");
    }
    while (k <= config_.target_runs && runs_active_but_flow() < kRunsInFlight) {
      if (!acknowledged_.contains(k)) {
        if (Status st = start_run(k); !st.ok())
          return failed(Outcome::kEngineFailed, st.to_string());
      }
      ++k;
    }
    if (Status st = send_flow_bursts(k); !st.ok()) {
      return failed(Outcome::kEngineFailed, st.to_string());
    }
    if (Status st = send_timed_events(k); !st.ok()) {
      return failed(Outcome::kEngineFailed, st.to_string());
    }
    if (Status st = send_keyed_events(k); !st.ok()) {
      return failed(Outcome::kEngineFailed, st.to_string());
    }
    if (Status st = send_guard_events(k); !st.ok()) {
      return failed(Outcome::kEngineFailed, st.to_string());
    }
    if (Status st = approve_waiting_runs(); !st.ok()) {
      return failed(Outcome::kEngineFailed, st.to_string());
    }
    if (k > config_.target_runs && next_burst_ > flow_bursts(config_.target_runs) &&
        timed_events_sent() && all_finished()) {
      break;
    }
    if (Status h = engine_->health(); !h.ok()) {
      return failed(Outcome::kEngineFailed, "engine health: " + h.to_string());
    }
    if (SteadyClock::now() - last_progress > std::chrono::seconds(5)) {
      print_unfinished(k);
      last_progress = SteadyClock::now();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (Status st = engine_->shutdown(); !st.ok()) {
    return failed(Outcome::kEngineFailed, "shutdown: " + st.to_string());
  }
  journal_.exited(config_.incarnation);
  return failed(Outcome::kFinished, "");
}

// Start events acknowledged by earlier incarnations are not sent again, and the runs they
// started can still be approved.
void WorkloadDriver::learn_from_journal() {
  const Journal past = read_journal(config_.journal);
  const std::string prefix = start_event_id(0).substr(0, 6);  // "start-"
  for (const JournalEntry& e : past.entries) {
    if (e.kind != JournalEntry::Kind::kSent) continue;
    if (parse_flow_event_id(e.event_id)) flow_acknowledged_.insert(e.event_id);
    if (parse_late_event_id(e.event_id) || parse_queued_event_id(e.event_id) ||
        parse_keyed_event_id(e.event_id) || parse_guard_event_id(e.event_id)) {
      timed_acknowledged_.insert(e.event_id);
    }
    if (e.event_id.rfind(prefix, 0) != 0) continue;
    const uint64_t k = std::strtoull(e.event_id.c_str() + prefix.size(), nullptr, 10);
    acknowledged_.insert(k);
    if (!e.duplicate && e.runs.size() == 1) k_of_run_[e.runs[0]] = k;
  }
}

std::optional<DriverResult> WorkloadDriver::start_engine() {
  engine_ = Engine::create(config_.engine);
  if (Status st = register_crash_functions(*engine_, runner_); !st.ok()) {
    return failed(Outcome::kNoStart, "register: " + st.to_string());
  }
  if (config_.timed_functions) {
    if (Status st = register_timed_functions(*engine_, runner_); !st.ok()) {
      return failed(Outcome::kNoStart, "register: " + st.to_string());
    }
    if (Status st = register_keyed_functions(*engine_, runner_); !st.ok()) {
      return failed(Outcome::kNoStart, "register: " + st.to_string());
    }
    if (Status st = register_guard_functions(*engine_, runner_); !st.ok()) {
      return failed(Outcome::kNoStart, "register: " + st.to_string());
    }
  }
  const auto t0 = SteadyClock::now();
  if (Status st = engine_->start(); !st.ok()) {
    return failed(Outcome::kNoStart, "start: " + st.to_string());
  }
  const auto us =
      std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - t0).count();
  const RecoveryStats& r = engine_->recovery();
  journal_.recovered(config_.incarnation, r.records, r.runs_resumed, static_cast<uint64_t>(us));
  if (r.runs_of_unknown_functions != 0) {
    return failed(Outcome::kNoStart, "recovery found runs of unknown functions");
  }
  return std::nullopt;
}

// The dedup window is rebuilt from the log: what was acknowledged is a duplicate now.
std::optional<DriverResult> WorkloadDriver::resend_acknowledged() {
  size_t n = 0;
  for (auto k = acknowledged_.rbegin(); k != acknowledged_.rend() && n < kResentAfterRestart;
       ++k, ++n) {
    const Event event{.name = std::string(kStartEvent),
                      .data = start_event_data(plan_for(config_.seed, *k)),
                      .id = start_event_id(*k)};
    Result<SendResult> sent = engine_->send(event);
    if (!sent.ok()) {
      return failed(Outcome::kEngineFailed, "send " + event.id + ": " + sent.status().to_string());
    }
    journal_.sent(sent->event_id, sent->duplicate, sent->runs);
    if (!sent->duplicate) {
      return failed(Outcome::kAcceptedTwice,
                    "the acknowledged event " + event.id + " was accepted again");
    }
  }
  return std::nullopt;
}

Status WorkloadDriver::start_run(uint64_t k) {
  const RunPlan plan = plan_for(config_.seed, k);
  const Event event{
      .name = std::string(kStartEvent), .data = start_event_data(plan), .id = start_event_id(k)};
  Result<SendResult> sent = engine_->send(event);
  if (!sent.ok()) return sent.status().with_context("send " + event.id);
  journal_.sent(sent->event_id, sent->duplicate, sent->runs);
  if (!sent->duplicate && sent->runs.size() == 1) k_of_run_[sent->runs[0]] = k;
  return Status();
}

// A burst is one send(): the engine creates its runs, and decides their admission, together. Its
// events acknowledged before are left out (a kill can fall between the journal's lines of one
// send); the others go again, and come back as duplicates if they were durable after all.
Status WorkloadDriver::send_flow_bursts(uint64_t k) {
  const uint64_t bursts = flow_bursts(config_.target_runs);
  for (; next_burst_ <= bursts; ++next_burst_) {
    if (k <= config_.target_runs && k - 1 < next_burst_ * kJobsPerFlowBurst) break;  // not due
    const FlowBurst burst = flow_burst(config_.seed, next_burst_);
    std::vector<Event> events;
    for (uint32_t j = 0; j < burst.size; ++j) {
      std::string id = flow_event_id(burst.g, j);
      if (flow_acknowledged_.contains(id)) continue;
      events.push_back(Event{.name = std::string(flow_event_name(burst)),
                             .data = flow_event_data(config_.seed, burst, j),
                             .id = std::move(id)});
    }
    if (events.empty()) continue;
    Result<std::vector<SendResult>> sent = engine_->send(std::span<const Event>(events));
    if (!sent.ok()) {
      return sent.status().with_context("send flow burst " + std::to_string(burst.g));
    }
    for (const SendResult& r : *sent) journal_.sent(r.event_id, r.duplicate, r.runs);
  }
  return Status();
}

// Like the flow bursts: a burst's events acknowledged before are left out, the rest go again.
Status WorkloadDriver::send_timed_events(uint64_t k) {
  if (!config_.timed_functions) return Status();
  auto due = [&](uint64_t n, uint64_t jobs_per) {
    return k > config_.target_runs || k - 1 >= n * jobs_per;
  };
  for (; next_late_ <= late_runs(config_.target_runs) && due(next_late_, kJobsPerLate);
       ++next_late_) {
    const std::string data = nlohmann::json{{"n", next_late_}}.dump();
    CAIRN_RETURN_IF_ERROR(send_unacknowledged(
        {Event{.name = std::string(kLateEvent), .data = data, .id = late_event_id(next_late_)}}));
  }
  for (;
       next_queued_ <= queued_bursts(config_.target_runs) && due(next_queued_, kJobsPerQueuedBurst);
       ++next_queued_) {
    std::vector<Event> burst;
    for (uint32_t j = 0; j < kQueuedBurst; ++j) {
      burst.push_back(Event{.name = std::string(kQueuedEvent),
                            .data = nlohmann::json{{"g", next_queued_}, {"j", j}}.dump(),
                            .id = queued_event_id(next_queued_, j)});
    }
    CAIRN_RETURN_IF_ERROR(send_unacknowledged(std::move(burst)));
  }
  return Status();
}

// A burst of each kind every kJobsPerKeyedBurst jobs: a burst is one send() (its events share
// their creation time), so the spacing between a key's bursts follows the jobs' pace.
Status WorkloadDriver::send_keyed_events(uint64_t k) {
  if (!config_.timed_functions) return Status();
  for (; next_keyed_ <= keyed_bursts(config_.target_runs) &&
         (k > config_.target_runs || k - 1 >= next_keyed_ * kJobsPerKeyedBurst);
       ++next_keyed_) {
    for (KeyedKind kind : {KeyedKind::kDebounce, KeyedKind::kBatch}) {
      const KeyedBurst b = keyed_burst(config_.seed, kind, next_keyed_);
      std::vector<Event> burst;
      for (uint32_t j = 0; j < b.size; ++j) {
        burst.push_back(Event{.name = std::string(keyed_event_name(kind)),
                              .data = keyed_event_data(b, j).dump(),
                              .id = keyed_event_id(kind, b.g, j)});
      }
      CAIRN_RETURN_IF_ERROR(send_unacknowledged(std::move(burst)));
    }
  }
  return Status();
}

// Burst g of every guarded kind once jobs 1..g * kJobsPerGuardBurst have gone out: one send() of
// the halts due (those of burst g - 1, and the early one of burst g, before the runs it must not
// cancel), then one send() of every kind's burst; and at the end, once every job has gone out,
// the last burst's halts.
Status WorkloadDriver::send_guard_events(uint64_t k) {
  if (!config_.timed_functions) return Status();
  const uint64_t bursts = guard_bursts(config_.target_runs);
  for (; next_guard_ <= bursts + 1; ++next_guard_) {
    const uint64_t g = next_guard_;
    if (k <= config_.target_runs && k - 1 < g * kJobsPerGuardBurst) break;  // not due
    std::vector<Event> halts;
    for (const auto& [hg, hj] : halts_sent_with(config_.seed, g, bursts)) {
      halts.push_back(Event{.name = std::string(kHaltEvent),
                            .data = halt_event_data(hg, hj).dump(),
                            .id = halt_event_id(hg, hj)});
    }
    CAIRN_RETURN_IF_ERROR(send_unacknowledged(std::move(halts)));
    if (g > bursts) continue;
    std::vector<Event> events;
    for (GuardKind kind : kGuardKinds) {
      const GuardBurst b = guard_burst(config_.seed, kind, g);
      for (uint32_t j = 0; j < b.size; ++j) {
        events.push_back(Event{.name = std::string(guard_function(kind)),
                               .data = guard_event_data(config_.seed, b, j).dump(),
                               .id = guard_event_id(kind, g, j)});
      }
    }
    CAIRN_RETURN_IF_ERROR(send_unacknowledged(std::move(events)));
  }
  return Status();
}

Status WorkloadDriver::send_unacknowledged(std::vector<Event> events) {
  std::erase_if(events, [&](const Event& e) { return timed_acknowledged_.contains(e.id); });
  if (events.empty()) return Status();
  Result<std::vector<SendResult>> sent = engine_->send(std::span<const Event>(events));
  if (!sent.ok()) return sent.status().with_context("send " + events.front().id);
  for (const SendResult& r : *sent) journal_.sent(r.event_id, r.duplicate, r.runs);
  return Status();
}

bool WorkloadDriver::timed_events_sent() const {
  return !config_.timed_functions || (next_late_ > late_runs(config_.target_runs) &&
                                      next_queued_ > queued_bursts(config_.target_runs) &&
                                      next_keyed_ > keyed_bursts(config_.target_runs) &&
                                      next_guard_ > guard_bursts(config_.target_runs) + 1);
}

uint64_t WorkloadDriver::runs_active_but_flow() const {
  uint64_t flow = 0;
  for (const FunctionStats& f : engine_->function_stats()) {
    if (f.id == "metered" || f.id == "paced" || f.id == kTickerFunction || f.id == kLateFunction ||
        f.id == kQueuedFunction || f.id == kDebouncedFunction || f.id == kBatchedFunction ||
        f.id == kOnceFunction || f.id == kSoloFunction || f.id == kLatestFunction ||
        f.id == kCancellableFunction || f.id == kRankedFunction) {
      flow += f.queued + f.running + f.sleeping + f.waiting;
    }
  }
  const uint64_t active = engine_->stats().runs_active;
  return active > flow ? active - flow : 0;
}

Status WorkloadDriver::approve_waiting_runs() {
  const auto now = SteadyClock::now();
  for (const RunInfo& r :
       engine_->list_runs({.function_id = "main", .status = RunStatus::kWaiting, .limit = 1u << 20})
           .runs) {
    auto k = k_of_run_.find(r.id);
    if (k == k_of_run_.end()) continue;  // its acknowledgement was lost: let it time out
    const RunPlan plan = plan_for(config_.seed, k->second);
    if (!plan.approve || r.steps != wait_position(plan)) continue;  // not at the wait yet
    auto [last, first_time] = approval_sent_at_.try_emplace(r.id, now);
    if (!first_time && now - last->second < kApprovalResend) continue;
    last->second = now;
    const nlohmann::json data{{"key", key_of(plan.k)}, {"token", token_of(plan)}};
    const Event event{.name = std::string(kApproveEvent),
                      .data = data.dump(),
                      .id = "approve-" + std::to_string(plan.k) + "-" +
                            std::to_string(config_.incarnation) + "-" +
                            std::to_string(++approvals_)};
    Result<SendResult> sent = engine_->send(event);
    if (!sent.ok()) return sent.status().with_context("send " + event.id);
    journal_.sent(sent->event_id, sent->duplicate, sent->runs);
  }
  return Status();
}

bool WorkloadDriver::all_finished() const {
  if (engine_->stats().runs_active != 0) return false;
  uint64_t finished = 0;
  for (const RunInfo& r : engine_->list_runs({.function_id = "main", .limit = 1u << 30}).runs) {
    finished += is_finished(r.status);
  }
  return finished == config_.target_runs;
}

void WorkloadDriver::print_unfinished(uint64_t next_k) const {
  const auto runs = engine_->list_runs({.limit = 1u << 30}).runs;
  std::fprintf(stderr, "workload incarnation %llu: next k %llu, runs active %llu\n",
               static_cast<unsigned long long>(config_.incarnation),
               static_cast<unsigned long long>(next_k),
               static_cast<unsigned long long>(engine_->stats().runs_active));
  for (const RunInfo& r : runs) {
    if (is_finished(r.status)) continue;
    std::fprintf(stderr, "  run %llu %s: %s after %u operations\n",
                 static_cast<unsigned long long>(r.id), r.function_id.c_str(),
                 std::string(run_status_name(r.status)).c_str(), r.steps);
  }
  std::fflush(stderr);
}

}  // namespace cairn::engine_crash
