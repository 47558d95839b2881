// engine_crash_child DIR JOURNAL INCARNATION TARGET_RUNS SEED: the process the engine crash test
// kills. It starts an engine on DIR (recovering whatever the previous incarnation left), keeps
// about a dozen runs of "main" going by sending "job" events start-1 .. start-TARGET_RUNS (ids the
// engine deduplicates, so an event whose acknowledgement was lost to a kill is not run twice),
// approves waiting runs whose plan says so, and exits 0 once every run has finished. Every
// acknowledged send and every step execution goes to the side journal (journal.h).
//
// SIGTERM asks for a graceful stop, as a deploy would: the engine shuts down with runs in flight
// and the next incarnation resumes them. After a restart the child also sends the last few
// acknowledged start events again: each must come back as a duplicate.
//
// Exit codes: crash_options.h. Anything but kExitFinished or kExitStopped (or the parent's
// SIGKILL) fails the test; the reason is on stderr.
#include <signal.h>
#include <unistd.h>

#include <atomic>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>

#include "cairn/engine.h"
#include "engine_crash/crash_functions.h"
#include "engine_crash/crash_options.h"
#include "engine_crash/journal.h"
#include "engine_crash/workload.h"

namespace cairn::engine_crash {
namespace {

using Clock = std::chrono::steady_clock;

// Unfinished runs (main, helper, listener) the child keeps going at once.
constexpr uint64_t kRunsInFlight = 12;
// A waiting run is sent its approval again after this long (the first may have come too early).
constexpr auto kApprovalResend = std::chrono::milliseconds(10);
// Acknowledged start events sent again after a restart.
constexpr size_t kResentAfterRestart = 3;

std::atomic<bool> stop_requested{false};
static_assert(std::atomic<bool>::is_always_lock_free, "set from a signal handler");
void on_sigterm(int) {
  stop_requested.store(true);
}

[[noreturn]] void die(int code, const std::string& what) {
  std::fprintf(stderr, "engine_crash_child: %s\n", what.c_str());
  std::fflush(stderr);
  std::_Exit(code);
}

struct Args {
  std::string dir;
  std::string journal;
  uint64_t incarnation = 0;
  uint64_t target_runs = 0;
  uint64_t seed = 0;
};

class Child {
 public:
  Child(const Args& args, JournalWriter& journal)
      : args_(args), journal_(journal), runner_(journal, args.seed, args.incarnation) {}

  // Returns the exit code: kExitFinished, or kExitStopped when asked to stop.
  int run() {
    learn_from_journal();
    start_engine();
    resend_acknowledged();
    uint64_t k = 1;
    auto last_progress = Clock::now();
    for (;;) {
      if (stop_requested.load()) {
        if (Status st = engine_->shutdown(); !st.ok())
          die(kExitEngineError, "shutdown: " + st.to_string());
        journal_.stopped(args_.incarnation);
        return kExitStopped;
      }
      while (k <= args_.target_runs && engine_->stats().runs_active < kRunsInFlight) {
        if (!acknowledged_.contains(k)) start_run(k);
        ++k;
      }
      approve_waiting_runs();
      if (k > args_.target_runs && all_finished()) break;
      if (Status h = engine_->health(); !h.ok())
        die(kExitEngineError, "engine health: " + h.to_string());
      if (Clock::now() - last_progress > std::chrono::seconds(5)) {
        print_unfinished(k);
        last_progress = Clock::now();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (Status st = engine_->shutdown(); !st.ok())
      die(kExitEngineError, "shutdown: " + st.to_string());
    journal_.exited(args_.incarnation);
    return kExitFinished;
  }

 private:
  // Start events acknowledged by earlier incarnations are not sent again, and the runs they
  // started can still be approved.
  void learn_from_journal() {
    const Journal past = read_journal(args_.journal);
    const std::string prefix = start_event_id(0).substr(0, 6);  // "start-"
    for (const JournalEntry& e : past.entries) {
      if (e.kind != JournalEntry::Kind::kSent || e.event_id.rfind(prefix, 0) != 0) continue;
      const uint64_t k = std::strtoull(e.event_id.c_str() + prefix.size(), nullptr, 10);
      acknowledged_.insert(k);
      if (!e.duplicate && e.runs.size() == 1) k_of_run_[e.runs[0]] = k;
    }
  }

  void start_engine() {
    engine_ = Engine::create(child_engine_options(args_.dir));
    if (Status st = register_crash_functions(*engine_, runner_); !st.ok()) {
      die(kExitNoStart, "register: " + st.to_string());
    }
    const auto t0 = Clock::now();
    if (Status st = engine_->start(); !st.ok()) die(kExitNoStart, "start: " + st.to_string());
    const auto us =
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count();
    const RecoveryStats& r = engine_->recovery();
    journal_.recovered(args_.incarnation, r.records, r.runs_resumed, static_cast<uint64_t>(us));
    if (r.runs_of_unknown_functions != 0)
      die(kExitNoStart, "recovery found runs of unknown functions");
  }

  // The dedup window is rebuilt from the log: what was acknowledged is a duplicate now.
  void resend_acknowledged() {
    size_t n = 0;
    for (auto k = acknowledged_.rbegin(); k != acknowledged_.rend() && n < kResentAfterRestart;
         ++k, ++n) {
      const Event event{.name = std::string(kStartEvent),
                        .data = start_event_data(plan_for(args_.seed, *k)),
                        .id = start_event_id(*k)};
      Result<SendResult> sent = engine_->send(event);
      if (!sent.ok()) die(kExitEngineError, "send " + event.id + ": " + sent.status().to_string());
      journal_.sent(sent->event_id, sent->duplicate, sent->runs);
      if (!sent->duplicate)
        die(kExitAcceptedTwice, "the acknowledged event " + event.id + " was accepted again");
    }
  }

  void start_run(uint64_t k) {
    const RunPlan plan = plan_for(args_.seed, k);
    const Event event{
        .name = std::string(kStartEvent), .data = start_event_data(plan), .id = start_event_id(k)};
    Result<SendResult> sent = engine_->send(event);
    if (!sent.ok()) die(kExitEngineError, "send " + event.id + ": " + sent.status().to_string());
    journal_.sent(sent->event_id, sent->duplicate, sent->runs);
    if (!sent->duplicate && sent->runs.size() == 1) k_of_run_[sent->runs[0]] = k;
  }

  void approve_waiting_runs() {
    const auto now = Clock::now();
    for (const RunInfo& r : engine_->list_runs(
             {.function_id = "main", .status = RunStatus::kWaiting, .limit = 1u << 20})) {
      auto k = k_of_run_.find(r.id);
      if (k == k_of_run_.end()) continue;  // its acknowledgement was lost: let it time out
      const RunPlan plan = plan_for(args_.seed, k->second);
      if (!plan.approve || r.steps != wait_position(plan)) continue;  // not at the wait yet
      auto [last, first_time] = approval_sent_at_.try_emplace(r.id, now);
      if (!first_time && now - last->second < kApprovalResend) continue;
      last->second = now;
      const nlohmann::json data{{"key", key_of(plan.k)}, {"token", token_of(plan)}};
      const Event event{.name = std::string(kApproveEvent),
                        .data = data.dump(),
                        .id = "approve-" + std::to_string(plan.k) + "-" +
                              std::to_string(args_.incarnation) + "-" +
                              std::to_string(++approvals_)};
      Result<SendResult> sent = engine_->send(event);
      if (!sent.ok()) die(kExitEngineError, "send " + event.id + ": " + sent.status().to_string());
      journal_.sent(sent->event_id, sent->duplicate, sent->runs);
    }
  }

  static uint32_t wait_position(const RunPlan& plan) {
    const std::vector<PlannedOp> ops = main_ops(plan);
    for (uint32_t i = 0; i < ops.size(); ++i) {
      if (ops[i].kind == OpKind::kWait) return i;
    }
    return ~0u;
  }

  bool all_finished() const {
    if (engine_->stats().runs_active != 0) return false;
    uint64_t finished = 0;
    for (const RunInfo& r : engine_->list_runs({.function_id = "main", .limit = 1u << 30})) {
      finished += is_finished(r.status);
    }
    return finished == args_.target_runs;
  }

  void print_unfinished(uint64_t next_k) const {
    const auto runs = engine_->list_runs({.limit = 1u << 30});
    std::fprintf(stderr, "engine_crash_child %llu: next k %llu, runs active %llu\n",
                 static_cast<unsigned long long>(args_.incarnation),
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

  const Args& args_;
  JournalWriter& journal_;
  StepRunner runner_;
  std::unique_ptr<Engine> engine_;
  std::set<uint64_t> acknowledged_;               // k of start events acknowledged before
  std::unordered_map<RunId, uint64_t> k_of_run_;  // main runs whose k this process knows
  std::unordered_map<RunId, Clock::time_point> approval_sent_at_;
  uint64_t approvals_ = 0;
};

}  // namespace
}  // namespace cairn::engine_crash

int main(int argc, char** argv) {
  using namespace cairn::engine_crash;
  struct sigaction sa {};
  sa.sa_handler = on_sigterm;
  ::sigaction(SIGTERM, &sa, nullptr);
  if (argc != 6) {
    std::fprintf(stderr, "usage: %s DIR JOURNAL INCARNATION TARGET_RUNS SEED\n", argv[0]);
    return kExitBadArguments;
  }
  Args args;
  args.dir = argv[1];
  args.journal = argv[2];
  args.incarnation = std::strtoull(argv[3], nullptr, 10);
  args.target_runs = std::strtoull(argv[4], nullptr, 10);
  args.seed = std::strtoull(argv[5], nullptr, 10);
  if (args.dir.empty() || args.journal.empty() || args.incarnation == 0 || args.target_runs == 0) {
    std::fprintf(stderr, "engine_crash_child: bad arguments\n");
    return kExitBadArguments;
  }
  JournalWriter journal(args.journal);
  journal.began(args.incarnation, ::getpid());
  Child child(args, journal);
  return child.run();
}
