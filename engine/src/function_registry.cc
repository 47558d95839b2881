// FunctionRegistry (see function_registry.h).
#include "function_registry.h"

#include "engine_limits.h"

namespace cairn::detail {
namespace {

// "order/*": every name that starts with "order/". The only wildcard a trigger has.
bool is_prefix_trigger(std::string_view event) {
  return event.size() >= 2 && event.ends_with("/*");
}

bool trigger_matches(const Trigger& t, std::string_view name) {
  if (t.event.empty()) return false;  // a cron trigger
  if (is_prefix_trigger(t.event)) {
    return name.starts_with(std::string_view(t.event).substr(0, t.event.size() - 1));
  }
  return t.event == name;
}

Status validate(const FunctionOptions& o) {
  auto bad = [](std::string m) { return Status(StatusCode::kInvalidArgument, std::move(m)); };
  if (o.id.empty()) return bad("a function needs an id");
  if (o.id.size() > 256) {
    return bad("function id longer than 256 bytes (" + std::to_string(o.id.size()) +
               "): " + bounded_text(o.id, kQuotedNameBytes));
  }
  if (o.retries > 100) return bad("function " + o.id + ": retries must be at most 100");
  if (o.backoff_base.count() <= 0 || o.backoff_max < o.backoff_base) {
    return bad("function " + o.id + ": need 0 < backoff_base <= backoff_max");
  }
  for (const Trigger& t : o.triggers) {
    if (t.event.empty() && t.cron.empty()) {
      return bad("function " + o.id + ": a trigger needs an event name or a cron expression");
    }
    if (!t.timezone.empty() && t.cron.empty()) {
      return bad("function " + o.id + ": a trigger has a time zone (" + t.timezone +
                 ") but no cron expression");
    }
    if (!t.event.empty() && !t.cron.empty()) {
      return bad("function " + o.id + ": a trigger has both an event name (" + t.event +
                 ") and a cron expression (" + t.cron + "); use one trigger for each");
    }
    // trigger_matches reads a '*' only as a trailing "/*"; anywhere else it compared names
    // literally, so on_event("*") or on_event("order.*") was accepted and matched nothing.
    const size_t star = t.event.find('*');
    if (star != std::string::npos && (star + 1 != t.event.size() || !is_prefix_trigger(t.event))) {
      return bad("function " + o.id + ": trigger \"" + t.event +
                 "\": '*' is allowed only as a trailing \"/*\" (\"order/*\" matches every name "
                 "that starts with \"order/\")");
    }
  }
  return Status();
}

Result<std::vector<CronTrigger>> compile_crons(const FunctionOptions& o) {
  std::vector<CronTrigger> out;
  for (const Trigger& t : o.triggers) {
    if (t.cron.empty()) continue;
    Result<flow::CronExpression> e = flow::CronExpression::parse(t.cron);
    if (!e.ok()) {
      return Status(StatusCode::kInvalidArgument,
                    "function " + o.id + ": cron trigger: " + e.status().message());
    }
    Result<flow::ZonedCron> zoned = flow::ZonedCron::make(std::move(*e), t.timezone);
    if (!zoned.ok()) {
      return Status(StatusCode::kInvalidArgument, "function " + o.id + ": cron trigger \"" +
                                                      t.cron + "\": " + zoned.status().message());
    }
    const std::string text = zoned->zone().empty() ? t.cron : t.cron + " TZ=" + zoned->zone();
    for (const CronTrigger& c : out) {
      if (c.text == text) {
        return Status(StatusCode::kInvalidArgument,
                      "function " + o.id + ": cron trigger \"" + text + "\" given twice");
      }
    }
    out.push_back(CronTrigger{text, std::move(*zoned)});
  }
  return out;
}

}  // namespace

Status FunctionRegistry::add(FunctionOptions options, ValueFormat output_format, TypedBody body) {
  CAIRN_RETURN_IF_ERROR(validate(options));
  // A Codec's format is recorded with every output and kept in snapshots, which refuse one they do
  // not know: an output of such a function made every later snapshot unusable at start.
  if (!is_known_value_format(static_cast<uint8_t>(output_format))) {
    return Status(StatusCode::kInvalidArgument,
                  "function " + options.id + ": its output Codec's format (" +
                      std::to_string(static_cast<unsigned>(output_format)) +
                      ") is none of ValueFormat::kBytes, kJson and kText");
  }
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<FunctionFlow> flow, FunctionFlow::compile(options));
  CAIRN_ASSIGN_OR_RETURN(std::vector<CronTrigger> crons, compile_crons(options));
  if (by_id_.contains(options.id)) {
    return Status(StatusCode::kAlreadyExists, "function " + options.id + " is already registered");
  }
  // Only a failure handler takes "<id>/on-failure": a function without one was refused as
  // "already registered" when a function of that name existed.
  if (options.on_failure && by_id_.contains(options.id + "/on-failure")) {
    return Status(StatusCode::kAlreadyExists, "function " + options.id +
                                                  ": its failure handler's id, " + options.id +
                                                  "/on-failure, is already registered");
  }
  auto entry = std::make_unique<FunctionEntry>();
  entry->id = options.id;
  entry->body = std::move(body);
  entry->output_format = output_format;
  entry->flow = std::move(flow);
  entry->crons = std::move(crons);
  if (options.on_failure) {
    auto handler = std::make_unique<FunctionEntry>();
    handler->id = options.id + "/on-failure";
    handler->options.id = handler->id;
    handler->options.retries = options.retries;
    handler->options.backoff_base = options.backoff_base;
    handler->options.backoff_max = options.backoff_max;
    auto fb = options.on_failure;
    handler->body = [fb](Context& ctx, const Event& e) { return ErasedTask::of<void>(fb(ctx, e)); };
    handler->output_format = value_format<Unit>();
    entry->on_failure = handler.get();
    by_id_[handler->id] = handler.get();
    entries_.push_back(std::move(handler));
  }
  entry->options = std::move(options);
  by_id_[entry->id] = entry.get();
  entries_.push_back(std::move(entry));
  return Status();
}

Status FunctionRegistry::check_event_names(uint32_t event_bytes_max) const {
  for (const auto& e : entries_) {
    std::vector<std::string_view> names;
    for (const Trigger& t : e->options.triggers) names.push_back(t.event);
    for (const CancelOn& c : e->options.cancel_on) names.push_back(c.event);
    for (std::string_view name : names) {
      // A trailing "/*" matches longer names, but none longer than the limit either.
      const size_t least = is_prefix_trigger(name) ? name.size() - 1 : name.size();
      if (least > event_bytes_max) {
        return Status(
            StatusCode::kInvalidArgument,
            "function " + e->id + ": event name \"" + bounded_text(name, kQuotedNameBytes) +
                "\" (" + std::to_string(name.size()) +
                " bytes, in a trigger or cancel_on) can never match: event_bytes_max is " +
                std::to_string(event_bytes_max));
      }
    }
  }
  return Status();
}

const FunctionEntry* FunctionRegistry::find(std::string_view id) const {
  auto it = by_id_.find(std::string(id));
  return it == by_id_.end() ? nullptr : it->second;
}

void FunctionRegistry::match(std::string_view event_name,
                             std::vector<std::string_view>* out) const {
  out->clear();
  for (const auto& e : entries_) {
    for (const Trigger& t : e->options.triggers) {
      if (trigger_matches(t, event_name)) {
        out->push_back(e->id);
        break;
      }
    }
  }
}

}  // namespace cairn::detail
