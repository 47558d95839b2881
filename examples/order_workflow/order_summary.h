// The summary the workload ends with: lines for people on stdout, then one JSON line for scripts
// (orders, seconds, orders_completed, orders_failed, durable_steps, durable_steps_per_s, retries,
// order_p50_ms, order_p99_ms, dispatch_p99_us, log_bytes).
#pragma once

#include <cstdint>
#include <filesystem>

#include "order_load.h"

namespace orders {

// `result` is the workload's; `payment_calls` how often the payment provider was called; the log
// is in `log_dir` (its size is measured here).
void print_summary(const LoadOptions& options, LoadResult& result, uint64_t payment_calls,
                   const std::filesystem::path& log_dir);

}  // namespace orders
