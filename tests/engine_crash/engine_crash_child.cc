// engine_crash_child DIR JOURNAL INCARNATION TARGET_RUNS SEED CLOCK_EPOCH: the process the engine
// crash test kills. It runs one incarnation of the crash workload (workload_driver.h), timed
// functions included (timed_workload.h: cron, timeouts), on DIR and exits 0 once every run has
// finished. Its engine runs on a FastClock (fast_clock.h) from CLOCK_EPOCH, a steady-clock
// instant in nanoseconds the parent passes to every incarnation alike: the clock runs on across
// restarts, kClockSpeed times faster than real time.
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
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "engine_crash/crash_options.h"
#include "engine_crash/fast_clock.h"
#include "engine_crash/journal.h"
#include "engine_crash/timed_workload.h"
#include "engine_crash/workload_driver.h"

namespace cairn::engine_crash {
namespace {

std::atomic<bool> stop_requested{false};
static_assert(std::atomic<bool>::is_always_lock_free, "set from a signal handler");
void on_sigterm(int) {
  stop_requested.store(true);
}

int exit_code_of(DriverResult::Outcome outcome) {
  switch (outcome) {
    case DriverResult::Outcome::kFinished:
      return kExitFinished;
    case DriverResult::Outcome::kStopped:
      return kExitStopped;
    case DriverResult::Outcome::kNoStart:
      return kExitNoStart;
    case DriverResult::Outcome::kEngineFailed:
      return kExitEngineError;
    case DriverResult::Outcome::kAcceptedTwice:
      return kExitAcceptedTwice;
  }
  return kExitEngineError;
}

}  // namespace
}  // namespace cairn::engine_crash

int main(int argc, char** argv) {
  using namespace cairn::engine_crash;
  struct sigaction sa {};
  sa.sa_handler = on_sigterm;
  ::sigaction(SIGTERM, &sa, nullptr);
  if (argc != 7) {
    std::fprintf(stderr, "usage: %s DIR JOURNAL INCARNATION TARGET_RUNS SEED CLOCK_EPOCH\n",
                 argv[0]);
    return kExitBadArguments;
  }
  DriverConfig config;
  config.engine = child_engine_options(argv[1]);
  const int64_t epoch = std::strtoll(argv[6], nullptr, 10);
  config.engine.clock = std::make_shared<FastClock>(epoch, kClockSpeed);
  config.engine.cron_catch_up_max = kCronCatchUpMax;
  config.time_scale = kClockSpeed;
  config.timed_functions = true;
  config.journal = argv[2];
  config.incarnation = std::strtoull(argv[3], nullptr, 10);
  config.target_runs = std::strtoull(argv[4], nullptr, 10);
  config.seed = std::strtoull(argv[5], nullptr, 10);
  if (std::string(argv[1]).empty() || config.journal.empty() || config.incarnation == 0 ||
      config.target_runs == 0 || epoch <= 0) {
    std::fprintf(stderr, "engine_crash_child: bad arguments\n");
    return kExitBadArguments;
  }
  JournalWriter journal(config.journal);
  journal.began(config.incarnation, ::getpid());
  WorkloadDriver driver(config, journal);
  const DriverResult r = driver.run([] { return stop_requested.load(); });
  if (!r.error.empty()) std::fprintf(stderr, "engine_crash_child: %s\n", r.error.c_str());
  std::fflush(stderr);
  const int code = exit_code_of(r.outcome);
  // An engine shut down cleanly: a normal exit (LeakSanitizer checks it). Else leave at once, as
  // a crash would: what is left is the next incarnation's to recover.
  if (code == kExitFinished || code == kExitStopped) return code;
  std::_Exit(code);
}
