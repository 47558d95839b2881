// The order workflow as durable functions (copy this file to start your own):
//
//   fulfil-order   (order/created)       reserve stock, charge the card (flaky, retried), ask the
//                                        warehouse to ship, wait out a cooling-off period, wait
//                                        for the shipment — refund if it never comes — and tell
//                                        the customer; at most 2 orders of one customer take
//                                        steps at once, and order/cancelled stops an order
//   ship-order     (shipment/requested)  pick and pack, hand to a carrier, confirm the shipment
//                                        (a few parcels get lost and are never confirmed)
//   notify-customer (order/fulfilled)    send the e-mail
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "cairn/engine.h"
#include "payments.h"

namespace orders {

struct Receipt {
  std::string order_id;
  std::string status;  // "fulfilled" or "refunded"
  std::string charge_id;
  std::string carrier;
};

// Time in the example is compressed: a day of cooling off becomes milliseconds. The truck takes
// longer than the cooling-off, so the order is waiting when the confirmation comes: a wait sees
// only events recorded after it started (an event that came earlier would need a lookback).
struct WorkflowSettings {
  std::chrono::milliseconds cooling_off{20};
  std::chrono::milliseconds truck_delay{200};
  std::chrono::milliseconds shipment_timeout{2000};
  double lost_parcel_rate = 0.02;  // shipments never confirmed: those orders are refunded
};

// Registers the three functions on `engine` (before engine.start()).
cairn::Status register_order_functions(cairn::Engine& engine, FlakyPayments& payments,
                                       const WorkflowSettings& settings);

}  // namespace orders

// How a Receipt and a Charge are stored in the log: JSON, through Codec specializations that say
// so (`format`), so that the tools and the dashboard show them as JSON values.
template <>
struct cairn::Codec<orders::Receipt> {
  static constexpr cairn::ValueFormat format = cairn::ValueFormat::kJson;
  static void encode(const orders::Receipt& r, std::string& out);
  static orders::Receipt decode(std::string_view bytes);
};
template <>
struct cairn::Codec<orders::Charge> {
  static constexpr cairn::ValueFormat format = cairn::ValueFormat::kJson;
  static void encode(const orders::Charge& c, std::string& out);
  static orders::Charge decode(std::string_view bytes);
};
