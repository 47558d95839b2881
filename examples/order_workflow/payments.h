// A stand-in for a payment provider that fails a share of its calls, the way real ones do
// (timeouts, 503s). Cairn's retries are what turn it into a reliable dependency.
#pragma once

#include <atomic>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>

namespace orders {

struct Charge {
  std::string order_id;
  int64_t amount_cents = 0;
  std::string charge_id;
};

class FlakyPayments {
 public:
  explicit FlakyPayments(double failure_rate) : failure_rate_(failure_rate) {}

  // `idempotency_key` is what a real provider would deduplicate retried charges by.
  Charge charge(const std::string& order_id, int64_t amount_cents,
                std::string_view idempotency_key) {
    calls_.fetch_add(1, std::memory_order_relaxed);
    if (fail()) {
      failures_.fetch_add(1, std::memory_order_relaxed);
      throw std::runtime_error("payment provider: 503 Service Unavailable");
    }
    return Charge{order_id, amount_cents, "ch_" + std::string(idempotency_key)};
  }

  std::string refund(const Charge& c) {
    calls_.fetch_add(1, std::memory_order_relaxed);
    if (fail()) {
      failures_.fetch_add(1, std::memory_order_relaxed);
      throw std::runtime_error("payment provider: timeout");
    }
    return "re_" + c.charge_id;
  }

  uint64_t calls() const { return calls_.load(); }
  uint64_t failures() const { return failures_.load(); }

 private:
  bool fail() {
    thread_local std::minstd_rand rng(std::random_device{}());
    return std::uniform_real_distribution<double>(0, 1)(rng) < failure_rate_;
  }
  const double failure_rate_;
  std::atomic<uint64_t> calls_{0};
  std::atomic<uint64_t> failures_{0};
};

}  // namespace orders
