// The functions registered in this process and which events trigger them.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cairn/engine.h"
#include "flow/zoned_cron.h"
#include "function_flow.h"

namespace cairn::detail {

using TypedBody = std::function<ErasedTask(Context&, const Event&)>;

// A cron trigger, parsed at registration.
struct CronTrigger {
  // The expression as registered, with " TZ=<zone>" for a named time zone: with the function id,
  // the key of its durable cursor.
  std::string text;
  flow::ZonedCron cron;
};

struct FunctionEntry {
  std::string id;
  FunctionOptions options;
  TypedBody body;
  ValueFormat output_format = ValueFormat::kBytes;  // the result's Codec's
  const FunctionEntry* on_failure = nullptr;        // the handler, registered as "<id>/on-failure"
  std::unique_ptr<const FunctionFlow> flow;         // its flow control; null: none
  std::vector<CronTrigger> crons;                   // its cron triggers
};

class FunctionRegistry {
 public:
  // Not thread-safe: everything is registered before the engine starts, then only read.
  Status add(FunctionOptions options, ValueFormat output_format, TypedBody body);
  const FunctionEntry* find(std::string_view id) const;
  // Ids of the functions an event with this name starts, in registration order.
  void match(std::string_view event_name, std::vector<std::string_view>* out) const;
  size_t size() const { return entries_.size(); }
  // kInvalidArgument naming the function when a trigger or cancel_on names an event longer than
  // an event may be (`event_bytes_max`, known at start): no event could ever match it.
  Status check_event_names(uint32_t event_bytes_max) const;
  // Calls f(const FunctionEntry&) for each function, in registration order.
  template <typename F>
  void for_each(F&& f) const {
    for (const auto& e : entries_) f(*e);
  }

 private:
  std::vector<std::unique_ptr<FunctionEntry>> entries_;
  std::unordered_map<std::string, const FunctionEntry*> by_id_;
};

}  // namespace cairn::detail
