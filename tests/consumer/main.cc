// A program outside Cairn's tree, built against Cairn the two ways a user would (find_package on
// an installed copy, add_subdirectory of the sources) with warnings as errors. One durable
// function with a step, a sleep and a wait for an event that this program sends once the run is
// waiting. Prints "completed 42 history: created, step completed price, ..." (the run's
// records, as run_history reads them from the log).
// Usage: consumer DIR
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <utility>

#include "cairn/engine.h"

namespace {

using namespace std::chrono_literals;

cairn::Task<int> approve_order(cairn::Context& ctx, const cairn::Event& order) {
  const int base = co_await ctx.run(
      "price", [&] { return order.data.find("\"order\"") != std::string::npos ? 40 : 0; });
  co_await ctx.sleep("cooling-off", 10ms);
  // Matches an "order/approved" event whose data.order equals this run's event's data.order.
  // Designated initializers that leave members out, as the README writes them: every member of
  // Cairn's option structs has a default, so -Wextra (-Wmissing-field-initializers) stays quiet.
  const cairn::WaitOptions wait{.event = "order/approved", .match = "data.order", .timeout = 60s};
  auto approval = co_await ctx.wait_for_event("approval", wait);
  if (!approval) co_return -1;
  const int extra = co_await ctx.run(
      "fee", [&](const cairn::StepInfo& step) { return step.idempotency_key.empty() ? 0 : 2; });
  co_return base + extra;
}

int fail(const char* what, const cairn::Status& s) {
  std::fprintf(stderr, "consumer: %s: %s\n", what, s.to_string().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: consumer DIR\n");
    return 2;
  }
  auto engine = cairn::Engine::create({.dir = argv[1], .workers = 2});
  if (auto s = engine->register_function(
          {.id = "approve-order", .triggers = {cairn::on_event("order/created")}}, approve_order);
      !s.ok()) {
    return fail("register_function", s);
  }
  if (auto s = engine->start(); !s.ok()) return fail("start", s);

  auto sent = engine->send({.name = "order/created", .data = R"({"order": "A-17"})"});
  if (!sent.ok()) return fail("send", sent.status());
  if (sent->runs.size() != 1) {
    std::fprintf(stderr, "consumer: the event started %zu runs\n", sent->runs.size());
    return 1;
  }
  const cairn::RunId id = sent->runs[0];

  // A wait sees the events recorded after it started: send the approval once the run waits.
  const auto give_up = std::chrono::steady_clock::now() + 30s;
  for (;;) {
    auto run = engine->get_run(id);
    if (!run.ok()) return fail("get_run", run.status());
    if (run->status == cairn::RunStatus::kWaiting) break;
    if (cairn::is_finished(run->status) || std::chrono::steady_clock::now() > give_up) {
      std::fprintf(stderr, "consumer: run is %s, not waiting\n",
                   std::string(cairn::run_status_name(run->status)).c_str());
      return 1;
    }
    std::this_thread::sleep_for(1ms);
  }
  const cairn::Event approved{.name = "order/approved",
                              .data = R"({"order": "A-17", "by": "consumer"})"};
  if (auto s = engine->send(approved); !s.ok()) return fail("send approval", s.status());

  auto run = engine->wait_run(id, 30s);
  if (!run.ok()) return fail("wait_run", run.status());
  const int total =
      run->status == cairn::RunStatus::kCompleted ? cairn::Codec<int>::decode(run->output) : -1;
  auto history = engine->run_history(id);
  if (!history.ok()) return fail("run_history", history.status());
  std::string records;
  for (const cairn::HistoryEntry& e : *history) {
    records += records.empty() ? "" : ", ";
    records += cairn::history_kind_name(e.kind);
    if (!e.step_id.empty()) records += " " + e.step_id;
  }
  std::printf("%s %d history: %s\n", std::string(cairn::run_status_name(run->status)).c_str(),
              total, records.c_str());
  if (auto s = engine->shutdown(); !s.ok()) return fail("shutdown", s);
  return 0;
}
