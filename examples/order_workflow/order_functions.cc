// The order workflow's functions (see order_functions.h).
#include "order_functions.h"

#include <nlohmann/json.hpp>

using nlohmann::json;

void cairn::Codec<orders::Receipt>::encode(const orders::Receipt& r, std::string& out) {
  out = json{{"order_id", r.order_id},
             {"status", r.status},
             {"charge_id", r.charge_id},
             {"carrier", r.carrier}}
            .dump();
}

orders::Receipt cairn::Codec<orders::Receipt>::decode(std::string_view bytes) {
  json j = json::parse(bytes);
  return {j.at("order_id"), j.at("status"), j.at("charge_id"), j.at("carrier")};
}

void cairn::Codec<orders::Charge>::encode(const orders::Charge& c, std::string& out) {
  out = json{{"order_id", c.order_id}, {"amount", c.amount_cents}, {"id", c.charge_id}}.dump();
}

orders::Charge cairn::Codec<orders::Charge>::decode(std::string_view bytes) {
  json j = json::parse(bytes);
  return {j.at("order_id"), j.at("amount"), j.at("id")};
}

namespace orders {
namespace {

bool parcel_lost(const std::string& order_id, double rate) {
  // Deterministic per order, so a replayed run makes the same decision.
  const uint64_t h = std::hash<std::string>{}(order_id);
  return static_cast<double>(h % 10000) < rate * 10000;
}

}  // namespace

cairn::Status register_order_functions(cairn::Engine& engine, FlakyPayments& payments,
                                       const WorkflowSettings& s) {
  auto fulfil = [&payments, s](cairn::Context& ctx,
                               const cairn::Event& order) -> cairn::Task<Receipt> {
    const json data = json::parse(order.data);
    const std::string order_id = data.at("order_id");
    const int64_t amount = data.value("amount_cents", 0);

    co_await ctx.run("reserve-inventory", [&] { return data.value("items", 1); });
    Charge charge = co_await ctx.run("charge-card", [&](const cairn::StepInfo& step) {
      return payments.charge(order_id, amount, step.idempotency_key);
    });
    const std::string ship_request = json{{"order_id", order_id}}.dump();
    co_await ctx.send_event("request-shipment",
                            {.name = "shipment/requested", .data = ship_request});
    co_await ctx.sleep("cooling-off", s.cooling_off);
    auto shipped = co_await ctx.wait_for_event(
        "shipment",
        {.event = "shipment/confirmed", .match = "data.order_id", .timeout = s.shipment_timeout});
    if (!shipped) {
      co_await ctx.run("refund", [&] { return payments.refund(charge); });
      co_return Receipt{order_id, "refunded", charge.charge_id, ""};
    }
    const std::string carrier = json::parse(shipped->data).value("carrier", "");
    const std::string fulfilled = json{{"order_id", order_id}, {"carrier", carrier}}.dump();
    co_await ctx.send_event("notify", {.name = "order/fulfilled", .data = fulfilled});
    co_return Receipt{order_id, "fulfilled", charge.charge_id, carrier};
  };

  auto ship = [s](cairn::Context& ctx, const cairn::Event& request) -> cairn::Task<std::string> {
    const std::string order_id = json::parse(request.data).at("order_id");
    const std::string parcel = co_await ctx.run("pick-and-pack", [&] { return "P-" + order_id; });
    co_await ctx.sleep("truck", s.truck_delay);
    if (parcel_lost(order_id, s.lost_parcel_rate)) co_return std::string("lost");
    const std::string confirmed =
        json{{"order_id", order_id}, {"parcel", parcel}, {"carrier", "cairn-post"}}.dump();
    co_await ctx.send_event("confirm", {.name = "shipment/confirmed", .data = confirmed});
    co_return parcel;
  };

  auto notify = [](cairn::Context& ctx, const cairn::Event& e) -> cairn::Task<void> {
    co_await ctx.run("send-email", [&] { return e.data.size(); });
  };

  CAIRN_RETURN_IF_ERROR(engine.register_function(
      {.id = "fulfil-order",
       .triggers = {cairn::on_event("order/created")},
       .retries = 10,
       .backoff_base = std::chrono::milliseconds(10),
       .backoff_max = std::chrono::seconds(1),
       // At most 2 of one customer's orders take steps at once (a waiting order holds no slot),
       // and an order/cancelled event for the same order_id stops the order at its next step.
       .concurrency = {{.limit = 2, .key = "data.customer_id"}},
       .cancel_on = {{.event = "order/cancelled", .match = "data.order_id"}}},
      fulfil));
  CAIRN_RETURN_IF_ERROR(engine.register_function(
      {.id = "ship-order", .triggers = {cairn::on_event("shipment/requested")}}, ship));
  return engine.register_function(
      {.id = "notify-customer", .triggers = {cairn::on_event("order/fulfilled")}}, notify);
}

}  // namespace orders
