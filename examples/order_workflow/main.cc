// The order workflow as a workload, and the shape of a program that embeds Cairn: parse the
// arguments, create the engine, register the functions, start it, run the work, report. It sends
// N orders through fulfil-order (with its flaky payment provider, shipments and notifications)
// and ends with a summary: orders fulfilled and refunded, durable steps per second, retries, order
// latency, and where the log is. The README's main command runs this.
//
//   order_workflow [--orders N] [--in-flight W] [--dir DIR] [--resume]
//                  [--payment-failure-rate R] [--workers T] [--dashboard PORT [--hold]]
//
// --dashboard serves the web dashboard (cairn::Dashboard) in this process on 127.0.0.1:PORT while
// the orders run; --hold keeps the engine and the dashboard up after them, until Ctrl-C, so that
// failed runs can be inspected and replayed from the page.
//
// order_functions.{h,cc}: the durable functions. order_load.{h,cc}: sending the orders and keeping
// the books on their runs. order_summary.{h,cc}: the summary. spsc_ring.h: the hand-off from
// on_run_finished.
#include <CLI/CLI.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <string>

#include "cairn/engine.h"
#ifdef CAIRN_EXAMPLE_DASHBOARD
#include "cairn/dashboard.h"
#endif
#include "order_functions.h"
#include "order_load.h"
#include "order_summary.h"

namespace {

using ull = unsigned long long;

int fail(const cairn::Status& st) {
  std::fprintf(stderr, "order_workflow: %s\n", st.to_string().c_str());
  return 1;
}

// Blocks until SIGINT or SIGTERM (blocked in every thread from the start, so none of the engine's
// threads takes them).
void wait_for_ctrl_c(const sigset_t& stop) {
  int sig = 0;
  sigwait(&stop, &sig);
}

}  // namespace

int main(int argc, char** argv) {
  orders::LoadOptions load;
  std::string dir = "cairn-data/orders";
  bool resume = false;
  double failure_rate = 0.2;
  uint32_t workers = 0;
  CLI::App app{"Cairn example: the order workflow as a workload"};
  app.add_option("--orders", load.orders, "orders to send")
      ->check(CLI::Range(1ull, 100'000'000ull));
  app.add_option("--in-flight", load.in_flight, "orders in flight at once")
      ->check(CLI::Range(1ull, 1'000'000ull));
  app.add_option("--dir", dir, "where the engine keeps its log");
  app.add_flag("--resume", resume, "continue the runs of a previous invocation in --dir");
  app.add_option("--payment-failure-rate", failure_rate, "share of failing payment calls")
      ->check(CLI::Range(0.0, 0.9));
  app.add_option("--workers", workers, "worker threads (0: one per core)");
  uint16_t dashboard_port = 0;
  bool hold = false;
#ifdef CAIRN_EXAMPLE_DASHBOARD
  app.add_option("--dashboard", dashboard_port, "serve the web dashboard on 127.0.0.1:PORT");
  app.add_flag("--hold", hold, "with --dashboard: keep serving after the orders, until Ctrl-C");
#endif
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  const std::filesystem::path log_dir = std::filesystem::path(dir) / "log";
  if (!resume && std::filesystem::exists(log_dir) && !std::filesystem::is_empty(log_dir)) {
    std::fprintf(stderr,
                 "order_workflow: %s holds the log of an earlier invocation. Delete it to start "
                 "over, or pass --resume to let the engine finish its runs.\n",
                 dir.c_str());
    return 2;
  }

  // on_run_finished runs on the log's writer thread for every run's end: no lock, no allocation,
  // no waiting. It hands the end to the workload's thread through a ring allocated up front (it
  // outlives the engine); that thread tells order runs from the others and keeps the books.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  hold = hold && dashboard_port != 0;
  if (hold) pthread_sigmask(SIG_BLOCK, &stop, nullptr);  // before any thread starts
  orders::RunEndRing run_ends(orders::run_end_capacity(load));
  auto engine = cairn::Engine::create(
      {.dir = dir,
       .workers = workers,
       .on_run_finished = [&run_ends](cairn::RunId run, cairn::RunStatus status) {
         run_ends.push({run, status, std::chrono::steady_clock::now()});
       }});
  orders::FlakyPayments payments(failure_rate);
  if (auto st = orders::register_order_functions(*engine, payments, {}); !st.ok()) return fail(st);
  if (auto st = engine->start(); !st.ok()) return fail(st);
#ifdef CAIRN_EXAMPLE_DASHBOARD
  std::unique_ptr<cairn::Dashboard> dashboard;
  if (dashboard_port != 0) {
    auto served = cairn::Dashboard::start(*engine, {.port = dashboard_port});
    if (!served.ok()) return fail(served.status());
    dashboard = std::move(*served);
    std::fprintf(stderr, "dashboard: %s\n", dashboard->url().c_str());
  }
#endif
  if (const cairn::RecoveryStats& rec = engine->recovery(); rec.records > 0) {
    std::fprintf(stderr, "recovered %llu records in %.2f s; %llu unfinished runs resumed\n",
                 ull(rec.records), rec.seconds, ull(rec.runs_resumed));
  }

  std::fprintf(stderr, "sending %llu orders, %llu in flight, log in %s\n", ull(load.orders),
               ull(load.in_flight), log_dir.c_str());
  auto result = orders::run_order_load(*engine, run_ends, load);
  if (!result.ok()) return fail(result.status());
  if (hold) {
    std::fprintf(stderr, "orders done; the dashboard stays up until Ctrl-C\n");
    wait_for_ctrl_c(stop);
  }
#ifdef CAIRN_EXAMPLE_DASHBOARD
  dashboard.reset();  // stops serving before the engine stops
#endif
  if (auto st = engine->shutdown(); !st.ok()) return fail(st);
  orders::print_summary(load, *result, payments.calls(), log_dir);
  return result->failed == 0 ? 0 : 1;
}
