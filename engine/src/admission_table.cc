// AdmissionTable (see admission_table.h).
#include "admission_table.h"

#include <algorithm>

namespace cairn::detail {
namespace {

constexpr int64_t kSweepEveryMs = 60'000;
// A throttled run of a key the full table cannot take is decided again after this long.
constexpr int64_t kFullTableRetryMs = 1'000;

std::string key_text(std::string_view key) {
  return key.empty() ? std::string("(no key)") : "key \"" + std::string(key) + "\"";
}

}  // namespace

AdmissionTable::Limits& AdmissionTable::limits_of(const FunctionEntry& fn) {
  auto [it, added] = by_fn_.try_emplace(&fn);
  if (added) {
    const FunctionFlow& f = *fn.flow;
    const flow::KeyedLimiterOptions o{.keys_max = keys_max_};
    if (f.throttle) it->second.throttle.emplace(*f.throttle, o);
    if (f.rate_limit) it->second.rate_limit.emplace(*f.rate_limit, o);
  }
  return it->second;
}

void AdmissionTable::sweep_now_and_then(Limits& l, int64_t now_ms) {
  if (now_ms - l.swept_ms < kSweepEveryMs) return;
  l.swept_ms = now_ms;
  if (l.throttle) l.throttle->sweep(now_ms);
  if (l.rate_limit) l.rate_limit->sweep(now_ms);
}

AdmissionTable::LineKey AdmissionTable::line_of(const FunctionEntry& fn, const RunFlow& flow) {
  return {&fn, flow::KeyedLimiter::hash_key(flow.throttle_key)};
}

bool AdmissionTable::wait_in_line(const FunctionEntry& fn, RunRecord& run) {
  std::deque<RunRecord*>& line = lines_[line_of(fn, *run.flow)];
  line.push_back(&run);
  return line.size() == 1;
}

RunRecord* AdmissionTable::first_in_line(const FunctionEntry& fn, const RunFlow& flow) const {
  auto it = lines_.find(line_of(fn, flow));
  return it == lines_.end() || it->second.empty() ? nullptr : it->second.front();
}

bool AdmissionTable::leave_line(const FunctionEntry& fn, RunRecord& run) {
  auto it = lines_.find(line_of(fn, *run.flow));
  if (it == lines_.end()) return false;
  std::deque<RunRecord*>& line = it->second;
  const auto pos = std::find(line.begin(), line.end(), &run);  // the first, but for cancels
  if (pos == line.end()) return false;
  const bool first = pos == line.begin();
  line.erase(pos);
  if (line.empty()) lines_.erase(it);
  return first;
}

AdmissionTable::Verdict AdmissionTable::decide(const FunctionEntry& fn, RunFlow& flow,
                                               int64_t now_ms, bool first_in_line) {
  Limits& l = limits_of(fn);
  sweep_now_and_then(l, now_ms);
  const FunctionFlow& f = *fn.flow;
  // The rate limit first: a run it skips does not use the throttle's budget. A run it counted
  // and the throttle then delays is not counted again when it is decided the next time.
  if (l.rate_limit && !flow.rate_counted) {
    Result<flow::LimitDecision> d = l.rate_limit->decide(flow.rate_limit_key, now_ms);
    if (!d.ok()) {
      flow.skip_reason =
          f.rate_limit_text + " for " + key_text(flow.rate_limit_key) + ": " + d.status().message();
      return {RunFlow::Admission::kToSkip, 0};
    }
    if (!d->allowed) {
      flow.skip_reason = f.rate_limit_text + " reached for " + key_text(flow.rate_limit_key);
      return {RunFlow::Admission::kToSkip, 0};
    }
    flow.rate_counted = true;
  }
  if (l.throttle) {
    if (!first_in_line && lines_.contains(line_of(fn, flow))) {
      return {RunFlow::Admission::kDelayed, 0};  // behind the runs of its key delayed before it
    }
    Result<flow::LimitDecision> d = l.throttle->decide(flow.throttle_key, now_ms);
    if (!d.ok()) return {RunFlow::Admission::kDelayed, now_ms + kFullTableRetryMs};
    if (!d->allowed) return {RunFlow::Admission::kDelayed, d->retry_at_ms};
  }
  flow.decided_ms = now_ms;
  return {RunFlow::Admission::kToRecord, 0};
}

void AdmissionTable::record(const FunctionEntry* fn, bool throttle, std::string_view throttle_key,
                            bool rate_limit, std::string_view rate_limit_key, int64_t at_ms) {
  if (fn == nullptr || fn->flow == nullptr) return;
  Limits& l = limits_of(*fn);
  sweep_now_and_then(l, at_ms);
  if (throttle && l.throttle) {
    l.throttle->record_hashed(flow::KeyedLimiter::hash_key(throttle_key), at_ms);
  }
  if (rate_limit && l.rate_limit) {
    l.rate_limit->record_hashed(flow::KeyedLimiter::hash_key(rate_limit_key), at_ms);
  }
}

void AdmissionTable::restore(const FunctionEntry& fn, LimitKind kind, uint64_t key_hash,
                             uint64_t state) {
  if (fn.flow == nullptr || key_hash == 0) return;
  Limits& l = limits_of(fn);
  auto& limiter = kind == LimitKind::kThrottle ? l.throttle : l.rate_limit;
  if (limiter) limiter->restore(key_hash, state);
}

size_t AdmissionTable::keys() const {
  size_t n = 0;
  for (const auto& [fn, l] : by_fn_) {
    if (l.throttle) n += l.throttle->size();
    if (l.rate_limit) n += l.rate_limit->size();
  }
  return n;
}

}  // namespace cairn::detail
