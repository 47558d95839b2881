// deferred_send_child DIR REPORT_FD MODE: the process deferred_send_crash_test kills. Its engine
// (runs_active_max 2) holds a "blocker" run asleep for an hour and a "parent" run whose
// ctx.send_event finds no room beside the two, so the send is deferred and tried again every 20 ms
// or so (100 retries at most: far more than the test's kills let it make). MODE "hold": start those
// two runs unless the log has them already, then write "deferred N\n" (EngineStats::sends_deferred)
// to REPORT_FD every millisecond until killed. MODE "release": cancel the blocker, wait for the
// parent to finish, write "done\n", shut down and exit 0. Any other end is a failure the test
// reports: exit codes below, the reason on stderr.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

#include "cairn/engine.h"

namespace {

using namespace cairn;
using namespace std::chrono_literals;

constexpr int kExitBadArguments = 2;
constexpr int kExitEngine = 3;
constexpr int kExitParentNotCompleted = 4;

int fail(int code, const std::string& what) {
  std::fprintf(stderr, "deferred_send_child: %s\n", what.c_str());
  std::fflush(stderr);
  std::_Exit(code);
}

void report(int fd, const std::string& line) {
  // A short or failed write only delays the test's kill: it reads progress, not every line.
  if (::write(fd, line.data(), line.size()) < 0) return;
}

std::unique_ptr<Engine> open_engine(const std::string& dir) {
  EngineOptions o;
  o.dir = dir;
  o.runs_active_max = 2;
  std::unique_ptr<Engine> engine = Engine::create(o);
  Status st = engine->register_function(
      {.id = "blocker", .triggers = {on_event("block")}},
      [](Context& ctx, const Event&) -> Task<void> { co_await ctx.sleep("long", 1h); });
  if (st.ok()) {
    st = engine->register_function({.id = "parent",
                                    .triggers = {on_event("parent")},
                                    .retries = 100,
                                    .backoff_base = 20ms,
                                    .backoff_max = 20ms},
                                   [](Context& ctx, const Event&) -> Task<std::string> {
                                     co_return co_await ctx.send_event("spawn", {.name = "child"});
                                   });
  }
  if (st.ok()) {
    st = engine->register_function(
        {.id = "child", .triggers = {on_event("child")}},
        [](Context&, const Event&) -> Task<std::string> { co_return "ok"; });
  }
  if (st.ok()) st = engine->start();
  if (!st.ok()) fail(kExitEngine, "starting the engine: " + st.to_string());
  return engine;
}

// The one run of `function`, or 0 when there is none.
RunId only_run(Engine& engine, const std::string& function) {
  const RunPage page = engine.list_runs({.function_id = function});
  if (page.runs.size() > 1) fail(kExitEngine, "more than one run of " + function);
  return page.runs.empty() ? 0 : page.runs.front().id;
}

void hold(Engine& engine, int fd) {
  // The blocker first: the parent's send must find the engine full. A kill between the two sends
  // leaves the blocker alone, and the next incarnation sends the parent.
  for (const char* name : {"blocker", "parent"}) {
    if (only_run(engine, name) != 0) continue;
    const std::string event = std::string(name) == "blocker" ? "block" : "parent";
    Result<SendResult> sent = engine.send(Event{.name = event, .data = "{}"});
    if (!sent.ok()) fail(kExitEngine, "sending " + event + ": " + sent.status().to_string());
  }
  for (;;) {
    report(fd, "deferred " + std::to_string(engine.stats().sends_deferred) + "\n");
    std::this_thread::sleep_for(1ms);
  }
}

int release(Engine& engine, int fd) {
  const RunId blocker = only_run(engine, "blocker");
  const RunId parent = only_run(engine, "parent");
  if (blocker == 0 || parent == 0) fail(kExitEngine, "no blocker or no parent run in the log");
  if (Status st = engine.cancel(blocker, "make room"); !st.ok()) {
    Result<RunInfo> b = engine.get_run(blocker);
    if (!b.ok() || b->status == RunStatus::kSleeping) {
      fail(kExitEngine, "cancelling the blocker: " + st.to_string());
    }
  }
  Result<RunInfo> done = engine.wait_run(parent, 120s);
  if (!done.ok())
    fail(kExitParentNotCompleted, "waiting for the parent: " + done.status().to_string());
  if (done->status != RunStatus::kCompleted) {
    fail(kExitParentNotCompleted,
         "the parent ended " + std::string(run_status_name(done->status)) + ": " + done->error);
  }
  report(fd, "done\n");
  if (Status st = engine.shutdown(); !st.ok()) fail(kExitEngine, "shutdown: " + st.to_string());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s DIR REPORT_FD hold|release\n", argv[0]);
    return kExitBadArguments;
  }
  const std::string mode = argv[3];
  const int fd = std::atoi(argv[2]);
  if (fd <= 2 || (mode != "hold" && mode != "release")) {
    std::fprintf(stderr, "deferred_send_child: bad arguments\n");
    return kExitBadArguments;
  }
  std::unique_ptr<Engine> engine = open_engine(argv[1]);
  if (mode == "hold") hold(*engine, fd);
  return release(*engine, fd);
}
