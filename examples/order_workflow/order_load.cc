// The workload's loop (see order_load.h): sends orders while the window has room, books the runs
// that ended, and shows progress — all on the one thread that calls run_order_load.
#include "order_load.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>

namespace orders {
namespace {

using Clock = std::chrono::steady_clock;

constexpr uint64_t kBatchMax = 256;  // orders per send(): they go into one log record
// With no room to send and no run ended, the loop pauses this long and looks again: then
// on_run_finished need not wake this thread (a system call on the writer thread).
constexpr auto kIdlePause = std::chrono::milliseconds(1);
constexpr auto kProgressEvery = std::chrono::milliseconds(250);

// Customers: orders spread over this many (each customer's orders share a concurrency limit).
constexpr uint64_t kCustomers = 500;
// Every kCancelEvery-th order is cancelled by its customer right after it is placed.
constexpr uint64_t kCancelEvery = 50;

std::string order_id(uint64_t n) {
  return "A-" + std::to_string(n);
}

cairn::Event order_event(uint64_t n) {
  const std::string id = order_id(n);
  const nlohmann::json data = {{"order_id", id},
                               {"customer_id", "C-" + std::to_string(n % kCustomers)},
                               {"amount_cents", 1000 + n % 9000},
                               {"items", 1 + n % 3}};
  // The order id is the event id: sent again (--resume), the event is a duplicate and starts
  // no run.
  return {.name = "order/created", .data = data.dump(), .id = id};
}

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

class OrderLoad {
 public:
  OrderLoad(cairn::Engine& engine, RunEndRing& run_ends, const LoadOptions& options)
      : engine_(engine), run_ends_(run_ends), options_(options) {
    sent_at_.reserve(options.in_flight);
    result_.latency.reserve(options.orders);
  }

  cairn::Result<LoadResult> run();

 private:
  uint64_t orders_ended() const {
    return result_.completed + result_.failed + result_.cancelled + result_.duplicates;
  }
  cairn::Status send_batch();
  void book(cairn::RunId run, cairn::RunStatus status, Clock::time_point at);
  void look_up_orders_in_flight();
  void print_progress(const cairn::EngineStats& s, double seconds) const;

  cairn::Engine& engine_;
  RunEndRing& run_ends_;
  const LoadOptions options_;
  uint64_t sent_ = 0;  // orders sent
  // The window: order runs in flight, by the run id send() returned, with when they were sent.
  std::unordered_map<cairn::RunId, Clock::time_point> sent_at_;
  std::vector<cairn::Event> batch_;
  LoadResult result_;
};

cairn::Result<LoadResult> OrderLoad::run() {
  const Clock::time_point start = Clock::now();
  Clock::time_point next_progress = start + kProgressEvery;
  // Ends the ring dropped before the first order was sent are not ours: runs of an earlier
  // invocation (start() reports those it replays from the log as ending too).
  const uint64_t dropped_before = run_ends_.dropped();
  uint64_t dropped_seen = dropped_before;
  while (orders_ended() < options_.orders) {
    bool idle = run_ends_.drain([this](const RunEnd& e) { book(e.run, e.status, e.at); }) == 0;
    if (sent_ < options_.orders && sent_at_.size() < options_.in_flight) {
      CAIRN_RETURN_IF_ERROR(send_batch());
      idle = false;
    }
    if (const uint64_t dropped = run_ends_.dropped(); dropped != dropped_seen) {
      dropped_seen = dropped;
      look_up_orders_in_flight();
    }
    if (Clock::now() >= next_progress) {
      next_progress += kProgressEvery;
      print_progress(engine_.stats(), seconds_since(start));
      if (cairn::Status st = engine_.health(); !st.ok()) {
        std::fputc('\n', stderr);
        return st;
      }
    }
    if (idle) std::this_thread::sleep_for(kIdlePause);
  }
  result_.seconds = seconds_since(start);
  result_.at_end = engine_.stats();
  result_.run_ends_dropped = run_ends_.dropped() - dropped_before;
  print_progress(result_.at_end, result_.seconds);
  std::fputc('\n', stderr);

  // The last orders' shipment and notification runs may still be running: give them up to 2 s.
  for (int i = 0; i < 200 && engine_.stats().runs_active > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  result_.settled = engine_.stats();
  result_.failed_runs =
      engine_.list_runs({.function_id = "fulfil-order", .status = cairn::RunStatus::kFailed}).runs;
  return std::move(result_);
}

cairn::Status OrderLoad::send_batch() {
  const uint64_t n =
      std::min({options_.in_flight - sent_at_.size(), options_.orders - sent_, kBatchMax});
  batch_.clear();
  for (uint64_t i = 0; i < n; ++i) batch_.push_back(order_event(sent_ + i));
  const Clock::time_point at = Clock::now();
  auto sent = engine_.send(batch_);
  if (!sent.ok()) {
    std::fputc('\n', stderr);
    return sent.status().with_context("send failed");
  }
  // Some customers change their mind: order/cancelled stops that order's run (cancel_on).
  std::vector<cairn::Event> cancels;
  for (uint64_t i = 0; i < n; ++i) {
    if ((sent_ + i) % kCancelEvery == kCancelEvery - 1) {
      cancels.push_back({.name = "order/cancelled",
                         .data = nlohmann::json{{"order_id", order_id(sent_ + i)}}.dump()});
    }
  }
  if (!cancels.empty()) {
    if (auto c = engine_.send(cancels); !c.ok()) {
      std::fputc('\n', stderr);
      return c.status().with_context("sending cancellations failed");
    }
  }
  sent_ += n;
  // Each order's run id comes from send(). A run that ended already has its end waiting in the
  // ring, which this thread drains only after the id is in the window.
  for (const cairn::SendResult& r : *sent) {
    if (r.runs.empty()) {
      ++result_.duplicates;  // sent by an earlier invocation (--resume): nothing to wait for
    } else {
      sent_at_.emplace(r.runs[0], at);
    }
  }
  return cairn::Status();
}

// Books a run's end if it is an order run in the window. Shipment and notification runs, and
// runs of an earlier invocation, are not in it: their ends are ignored.
void OrderLoad::book(cairn::RunId run, cairn::RunStatus status, Clock::time_point at) {
  const auto it = sent_at_.find(run);
  if (it == sent_at_.end()) return;
  ++(status == cairn::RunStatus::kCompleted   ? result_.completed
     : status == cairn::RunStatus::kCancelled ? result_.cancelled
                                              : result_.failed);
  result_.latency.push_back(at - it->second);
  sent_at_.erase(it);
}

// The ring was full and dropped an end, maybe an order's. The engine knows: a run's end is
// recorded there before on_run_finished is called. Rare (the ring is sized not to fill), so a
// lookup per order in flight is fine; the latency booked is up to now, a little over the truth.
void OrderLoad::look_up_orders_in_flight() {
  std::vector<std::pair<cairn::RunId, cairn::RunStatus>> ended;
  for (const auto& [run, sent_at] : sent_at_) {
    auto info = engine_.get_run(run);
    if (info.ok() && cairn::is_finished(info->status)) ended.emplace_back(run, info->status);
  }
  const Clock::time_point now = Clock::now();
  for (const auto& [run, status] : ended) book(run, status, now);
}

void OrderLoad::print_progress(const cairn::EngineStats& s, double seconds) const {
  const uint64_t done = orders_ended();
  const int width = 30;
  const int filled = static_cast<int>(width * done / std::max<uint64_t>(1, options_.orders));
  std::fprintf(stderr, "\r[%.*s%*s] %llu/%llu orders  %.0f orders/s  %.0f steps/s  retries %llu ",
               filled, "##############################", width - filled, "",
               static_cast<unsigned long long>(done),
               static_cast<unsigned long long>(options_.orders), done / seconds,
               s.steps_completed / seconds, static_cast<unsigned long long>(s.step_failures));
  std::fflush(stderr);
}

}  // namespace

cairn::Result<LoadResult> run_order_load(cairn::Engine& engine, RunEndRing& run_ends,
                                         const LoadOptions& options) {
  return OrderLoad(engine, run_ends, options).run();
}

}  // namespace orders
